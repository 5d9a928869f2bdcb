//! Corpus test: recall on every positive format, no false positive on look-alikes, strict-only
//! cases, with the measured counts printed (`cargo test -p fichier-scan -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{ALNUM, Rng};
use fichier_scan::{Finding, ScanOptions, Scanner};

/// Rounds of fresh random values per run: more placements, same cost class (milliseconds).
const ROUNDS: usize = 20;

fn corpus_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(sub)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("corpus directory is readable") {
            let p = e.expect("corpus entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// An expected key: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    path: String,
    line: usize,
    column: usize,
    key: String,
}

/// Replaces placeholders with random values; returns the text and the keys' positions.
fn materialize(rng: &mut Rng, template: &str, rel: &str) -> (String, Vec<Expected>) {
    let mut out = String::new();
    let mut expected = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        let name = &rest[i + 2..i + j];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            // Not a placeholder (e.g. GitHub's `${{ secrets.X }}`): copy it as is.
            out.push_str(&rest[i..i + j + 2]);
            rest = &rest[i + j + 2..];
            continue;
        }
        rest = &rest[i + j + 2..];
        let value = match name {
            "KEY" => {
                let key = rng.key();
                let line = out.matches('\n').count() + 1;
                let line_start = out.rfind('\n').map_or(0, |p| p + 1);
                let column = out[line_start..].chars().count() + 1;
                expected.push(Expected {
                    path: rel.to_owned(),
                    line,
                    column,
                    key: key.clone(),
                });
                key
            }
            "HEX32U" => rng.pick(b"0123456789ABCDEF", 32),
            "UUID" => {
                let h = rng.pick(b"0123456789abcdef", 32);
                format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            }
            "UUIDNODASH" => rng.pick(b"0123456789abcdef", 32),
            "PEM" => {
                let n = 400 + rng.below(400);
                let b = rng.base64(n);
                b.as_bytes()
                    .chunks(64)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            "JWT" => format!(
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
                rng.b64url(60),
                rng.b64url(43)
            ),
            "OBSCURED32" => rng.b64url(32),
            // Placeholders people paste in docs; assembled here so no key-shaped literal is
            // committed, and the scanner must still not report them.
            "PLACEHOLDER_FAKE" => format!("FAKEkeyForEmulator{}1", "0".repeat(13)),
            "PLACEHOLDER_YOURS" => format!("YourApiKeyGoesHere{}abcd", "1234567890"),
            "STRIPE" => format!("sk_live_{}", rng.pick(ALNUM, 24)),
            "STRIPE_RK" => format!("rk_live_{}", rng.pick(ALNUM, 24)),
            "GHP" => format!("ghp_{}", rng.pick(ALNUM, 36)),
            "SLACK" => format!(
                "xoxb-{}-{}-{}",
                rng.pick(b"0123456789", 12),
                rng.pick(b"0123456789", 13),
                rng.pick(ALNUM, 24)
            ),
            "AWS_ID" => format!("AKIA{}", rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
            "AWS_SECRET" => rng.base64(30),
            "NPM" => format!("npm_{}", rng.pick(ALNUM, 36)),
            "HF" => format!("hf_{}", rng.pick(ALNUM, 34)),
            "GLPAT" => format!("glpat-{}", rng.b64url(20)),
            other => {
                let num = |prefix: &str| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|n| n.parse::<usize>().ok())
                };
                if let Some(n) = num("KEY") {
                    rng.pick(ALNUM, n)
                } else if let Some(n) = num("HEX") {
                    rng.pick(b"0123456789abcdef", n)
                } else if let Some(n) = num("LOWER") {
                    rng.pick(b"abcdefghijklmnopqrstuvwxyz0123456789", n)
                } else if let Some(n) = num("DIGITS") {
                    rng.pick(b"0123456789", n)
                } else if let Some(n) = num("B64_") {
                    rng.base64(n)
                } else {
                    panic!("unknown placeholder {{{{{other}}}}} in {rel}");
                }
            }
        };
        out.push_str(&value);
    }
    out.push_str(rest);
    (out, expected)
}

/// Writes a corpus directory into `dest` with placeholders filled; returns the expected keys.
fn write_corpus(rng: &mut Rng, src: &Path, dest: &Path) -> Vec<Expected> {
    let mut expected = Vec::new();
    for file in files_under(src) {
        if file.file_name().is_some_and(|n| n == "README.md") && file.parent() == src.parent() {
            continue;
        }
        let rel = file
            .strip_prefix(src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).expect("corpus files are UTF-8");
        let (rel, text, exp) = match rel.strip_suffix(".tmpl") {
            Some(stripped) => {
                let (t, e) = materialize(rng, &text, stripped);
                (stripped.to_owned(), t, e)
            }
            None => (rel.clone(), text, Vec::new()),
        };
        let target = dest.join(&rel);
        std::fs::create_dir_all(target.parent().expect("has parent")).expect("create dirs");
        std::fs::write(&target, text).expect("write corpus file");
        expected.extend(exp);
    }
    expected
}

fn scan(dir: &Path, strict: bool) -> Vec<Finding> {
    let scanner = Scanner::new(ScanOptions {
        strict,
        ..ScanOptions::default()
    });
    let report = scanner.scan_paths(&[dir]).expect("scan succeeds");
    assert!(
        report.errors.is_empty(),
        "unexpected input errors: {:?}",
        report.errors
    );
    report.findings
}

fn rel_path(f: &Finding, root: &Path) -> String {
    let root = root.to_string_lossy().replace('\\', "/");
    f.path
        .strip_prefix(&format!("{root}/"))
        .unwrap_or(&f.path)
        .to_owned()
}

fn as_expected(findings: &[Finding], root: &Path) -> BTreeSet<Expected> {
    findings
        .iter()
        .map(|f| Expected {
            path: rel_path(f, root),
            line: f.line,
            column: f.column,
            key: f.expose_key_for_verification().to_owned(),
        })
        .collect()
}

#[test]
fn corpus_recall_and_false_positives() {
    let (mut rng, seed) = Rng::from_env();
    println!("corpus seed: {seed} (rerun with FICHIER_SCAN_SEED={seed})");
    let (mut pos_total, mut pos_found, mut neg_files, mut neg_found, mut neg_strict) =
        (0, 0, 0, 0, 0);
    let (mut strict_total, mut strict_found, mut strict_default) = (0, 0, 0);
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..ROUNDS {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();

        // Positives: exactly the planted keys, at their positions, in default mode.
        let pos_dir = root.join("positives");
        let expected: BTreeSet<Expected> =
            write_corpus(&mut rng, &corpus_dir("positives"), &pos_dir)
                .into_iter()
                .collect();
        let findings = scan(&pos_dir, false);
        let found = as_expected(&findings, &pos_dir);
        let missed: Vec<_> = expected
            .difference(&found)
            .map(|e| (&e.path, e.line, e.column))
            .collect();
        let extra: Vec<_> = found
            .difference(&expected)
            .map(|e| (&e.path, e.line, e.column))
            .collect();
        assert!(
            missed.is_empty(),
            "round {round} (seed {seed}): missed positives {missed:?}"
        );
        assert!(
            extra.is_empty(),
            "round {round} (seed {seed}): unexpected findings {extra:?}"
        );
        pos_total += expected.len();
        pos_found += found.len();
        for f in &findings {
            *per_rule
                .entry(format!("{} ({})", f.rule, f.confidence))
                .or_default() += 1;
        }

        // Negatives: nothing in default mode.
        let neg_dir = root.join("negatives");
        write_corpus(&mut rng, &corpus_dir("negatives"), &neg_dir);
        neg_files += files_under(&neg_dir).len();
        let fps = scan(&neg_dir, false);
        let shown: Vec<String> = fps
            .iter()
            .map(|f| format!("{}:{} {} {}", rel_path(f, &neg_dir), f.line, f.rule, f.why))
            .collect();
        assert!(
            fps.is_empty(),
            "round {round} (seed {seed}): false positives {shown:#?}"
        );
        neg_found += fps.len();
        neg_strict += scan(&neg_dir, true).len();

        // Strict-only cases: reported with strict, silent without.
        let strict_dir = root.join("strict");
        let expected: BTreeSet<Expected> =
            write_corpus(&mut rng, &corpus_dir("strict"), &strict_dir)
                .into_iter()
                .collect();
        let found = as_expected(&scan(&strict_dir, true), &strict_dir);
        assert_eq!(
            found, expected,
            "round {round} (seed {seed}): strict mode must report exactly the planted keys"
        );
        strict_total += expected.len();
        strict_found += found.len();
        strict_default += scan(&strict_dir, false).len();
        assert_eq!(
            strict_default, 0,
            "default mode must not report context-free values"
        );
    }
    println!(
        "positives: {pos_found}/{pos_total} found (recall {:.1}%), over {ROUNDS} rounds of fresh keys",
        100.0 * pos_found as f64 / pos_total as f64
    );
    println!(
        "negatives: {neg_found} findings in {neg_files} files (default mode); {neg_strict} in strict mode"
    );
    println!(
        "strict-only: {strict_found}/{strict_total} found with --strict, {strict_default} without"
    );
    println!("findings by rule: {per_rule:?}");
}
