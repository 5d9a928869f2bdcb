//! Outputs, baselines, exit codes and the no-leak guarantee: a canary key planted in real
//! files must never appear in text, JSON, SARIF, summaries, Debug output or baseline files.

use std::io::Cursor;

use crate::common::Rng;
use fichier_scan::{
    Baseline, Confidence, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, InputError, Report, RuleId,
    ScanError, ScanOptions, Scanner, Verification, exit_code_for, render_json, render_sarif,
    render_summary, render_text,
};
use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    canary: String,
    other: String,
}

fn fixture() -> Fixture {
    let (mut rng, seed) = Rng::from_env();
    println!("seed {seed}");
    let (canary, other) = (rng.key(), rng.key());
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    std::fs::write(root.join(".env"), format!("FICHIER_API_KEY={canary}\n")).expect("write");
    std::fs::create_dir(root.join("dir with space")).expect("mkdir");
    std::fs::write(
        root.join("dir with space/up.sh"),
        format!(
            "curl -H 'Authorization: Bearer {canary}' https://api.1fichier.com/v1/user/info.cgi\n"
        ),
    )
    .expect("write");
    std::fs::write(
        root.join("rclone.conf"),
        format!("[f]\ntype = fichier\napi_key = {other}\n"),
    )
    .expect("write");
    std::fs::write(root.join("binary.bin"), [b'F', b'I', 0, 1, 2]).expect("write");
    Fixture {
        _dir: dir,
        root,
        canary,
        other,
    }
}

fn assert_no_key(text: &str, f: &Fixture, what: &str) {
    assert!(!text.contains(&f.canary), "{what} leaks the canary key");
    assert!(!text.contains(&f.other), "{what} leaks a key");
}

#[test]
fn no_output_contains_a_key() {
    let f = fixture();
    let mut report = Scanner::default().scan_paths(&[&f.root]).expect("scan");
    assert_eq!(report.findings.len(), 3, "{:?}", report.findings);
    assert_eq!(report.stats.skipped_binary, 1);
    let fp = report.findings[0].fingerprint.clone();
    report.set_verification(
        &fp,
        Verification::Unknown {
            reason: "flood lock".into(),
        },
    );
    let outputs = [
        ("text", render_text(&report)),
        ("json", render_json(&report)),
        ("sarif", render_sarif(&report, "0.1.0")),
        ("summary", render_summary(&report)),
        ("debug", format!("{report:?}")),
        ("pretty debug", format!("{:#?}", report.findings)),
        (
            "baseline",
            Baseline::from_findings(&report.findings).to_json(),
        ),
    ];
    for (what, text) in &outputs {
        assert_no_key(text, &f, what);
    }
    // The masked form is all that is shown: first and last two characters.
    let masked = format!("{}…{}", &f.canary[..2], &f.canary[30..]);
    assert!(outputs[0].1.contains(&masked), "{}", outputs[0].1);
    // The explicit accessor is the one way to the key.
    let keys: Vec<&str> = report
        .distinct_keys()
        .iter()
        .map(|f| f.expose_key_for_verification())
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "the canary appears twice but is verified once"
    );
    assert!(keys.contains(&f.canary.as_str()) && keys.contains(&f.other.as_str()));
}

#[test]
fn text_and_json_shapes() {
    let f = fixture();
    let mut report = Scanner::default().scan_paths(&[&f.root]).expect("scan");
    let root = f.root.to_string_lossy().into_owned();
    let text = render_text(&report);
    let first = text.lines().next().expect("a line");
    assert!(
        first.starts_with(&format!("{root}/.env:1:17  fichier-named-key  high  ")),
        "{first}"
    );
    let live = report.findings[0].fingerprint.clone();
    report.set_verification(&live, Verification::Live);
    assert!(
        render_text(&report)
            .lines()
            .next()
            .expect("line")
            .ends_with("  [live]")
    );

    let json: Value = serde_json::from_str(&render_json(&report)).expect("valid JSON");
    assert_eq!(json["version"], 1);
    let finding = &json["findings"][0];
    for field in [
        "path",
        "line",
        "column",
        "end_column",
        "rule",
        "confidence",
        "masked",
        "why",
        "fingerprint",
    ] {
        assert!(
            !finding[field].is_null(),
            "JSON finding lacks {field}: {finding}"
        );
    }
    assert_eq!(finding["verification"]["status"], "live");
    assert!(finding.get("key").is_none());
    assert_eq!(json["stats"]["skipped_binary"], 1);
}

#[test]
fn sarif_is_a_code_scanning_log() {
    let f = fixture();
    let report = Scanner::default().scan_paths(&[&f.root]).expect("scan");
    let sarif: Value = serde_json::from_str(&render_sarif(&report, "0.1.0")).expect("valid JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["$schema"]
            .as_str()
            .expect("schema")
            .contains("sarif-2.1.0")
    );
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "fichier-scan");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), RuleId::ALL.len());
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule["id"], RuleId::ALL[i].id());
        assert!(rule["shortDescription"]["text"].is_string() && rule["help"]["text"].is_string());
        assert!(rule["properties"]["security-severity"].is_string());
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    for r in results {
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(matches!(r["level"].as_str(), Some("error" | "warning")));
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(!uri.contains(' '), "URIs are percent-encoded: {uri}");
        assert!(loc["region"]["startLine"].as_u64().expect("line") >= 1);
        assert!(loc["region"]["endColumn"].as_u64() > loc["region"]["startColumn"].as_u64());
        assert_eq!(
            r["partialFingerprints"]["fichierKey/v1"]
                .as_str()
                .expect("fp")
                .len(),
            32
        );
    }
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.contains("dir%20with%20space/up.sh"))
    }));
}

#[test]
fn baseline_round_trip_suppresses_by_fingerprint() {
    let f = fixture();
    let scanner = Scanner::default();
    let report = scanner.scan_paths(&[&f.root]).expect("scan");
    let path = f.root.join("baseline.json");
    // Accept only the canary: both of its findings go, the other key stays.
    let canary_findings: Vec<_> = report
        .findings
        .iter()
        .filter(|x| x.expose_key_for_verification() == f.canary)
        .cloned()
        .collect();
    Baseline::from_findings(&canary_findings)
        .save(&path)
        .expect("save");
    let saved = std::fs::read_to_string(&path).expect("read");
    assert_no_key(&saved, &f, "baseline file");
    let baseline = Baseline::load(&path).expect("load");
    let mut again = scanner.scan_paths(&[&f.root]).expect("scan");
    assert_eq!(again.apply_baseline(&baseline), 2);
    assert_eq!(again.findings.len(), 1);
    assert_eq!(again.findings[0].expose_key_for_verification(), f.other);
    assert_eq!(again.stats.suppressed_by_baseline, 2);
    assert!(render_summary(&again).contains("2 accepted by the baseline"));

    std::fs::write(&path, "{not json").expect("write");
    let err = Baseline::load(&path).expect_err("bad baseline");
    assert!(
        matches!(err, ScanError::Baseline { .. }) && err.to_string().contains("baseline.json"),
        "{err}"
    );
    // A key pasted where a fingerprint belongs is refused rather than kept around.
    std::fs::write(
        &path,
        format!(
            r#"{{"version":1,"accepted":[{{"fingerprint":"{}"}}]}}"#,
            f.canary
        ),
    )
    .expect("write");
    let err = Baseline::load(&path).expect_err("not a fingerprint");
    assert!(!err.to_string().contains(&f.canary), "{err}");
}

/// `--json` once spelled three ids differently (`bearer1fichier`): every output of a real scan
/// names each finding's rule the same way, and a baseline holding the old spelling still loads.
#[test]
fn rule_ids_agree_across_text_json_sarif_and_baselines() {
    let f = fixture();
    let report = Scanner::default().scan_paths(&[&f.root]).expect("scan");
    let text = render_text(&report);
    let json: Value = serde_json::from_str(&render_json(&report)).expect("valid JSON");
    let sarif: Value = serde_json::from_str(&render_sarif(&report, "0.1.0")).expect("valid JSON");
    let baseline = Baseline::from_findings(&report.findings);
    let ids: Vec<&str> = report.findings.iter().map(|x| x.rule.id()).collect();
    assert!(ids.contains(&"bearer-1fichier"), "{ids:?}");
    for (i, (finding, line)) in report.findings.iter().zip(text.lines()).enumerate() {
        let id = finding.rule.id();
        assert_eq!(line.split("  ").nth(1), Some(id), "{line}");
        assert_eq!(json["findings"][i]["rule"], id);
        assert_eq!(sarif["runs"][0]["results"][i]["ruleId"], id);
        let entry = baseline
            .accepted
            .iter()
            .find(|e| e.path == finding.path && e.line == finding.line)
            .expect("baseline entry");
        assert_eq!(entry.rule, id);
    }

    let bearer = report
        .findings
        .iter()
        .find(|x| x.rule == RuleId::Bearer1fichier)
        .expect("bearer finding");
    let old = serde_json::json!({
        "version": 1,
        "accepted": [{
            "fingerprint": bearer.fingerprint,
            "rule": "bearer1fichier",
            "path": bearer.path,
            "line": bearer.line,
        }],
    });
    let path = f.root.join("old-baseline.json");
    let mut loaded =
        Baseline::from_json(&old.to_string(), &path).expect("an old spelling still loads");
    assert_eq!(loaded.accepted[0].rule, "bearer-1fichier");
    loaded.add(std::slice::from_ref(bearer));
    assert_eq!(loaded.accepted.len(), 1, "{:?}", loaded.accepted);
}

#[test]
fn exit_codes_and_stdin() {
    let (mut rng, _) = Rng::from_env();
    let key = rng.key();
    let scanner = Scanner::default();
    let clean = scanner
        .scan_reader("-", Cursor::new(b"nothing to see\n".to_vec()))
        .expect("stdin");
    assert_eq!(clean.exit_code(), EXIT_CLEAN);
    let dirty = scanner
        .scan_reader(
            "-",
            Cursor::new(format!("FICHIER_API_KEY={key}\n").into_bytes()),
        )
        .expect("stdin");
    assert_eq!(
        (dirty.findings[0].path.as_str(), dirty.exit_code()),
        ("-", EXIT_FINDINGS)
    );
    let missing = scanner.scan_paths(&["/definitely/not/here"]);
    assert!(matches!(missing, Err(ScanError::NotFound(_))));
    assert_eq!(exit_code_for(&missing), EXIT_ERROR);
    let partial = Report {
        errors: vec![InputError {
            path: "x".into(),
            message: "denied".into(),
        }],
        ..Report::default()
    };
    assert_eq!(partial.exit_code(), EXIT_ERROR);
}

#[test]
fn min_confidence_filters_low_findings() {
    let (mut rng, _) = Rng::from_env();
    let text = format!("# 1fichier\n\n\n\n\n\ntoken = \"{}\"\n", rng.key());
    let all = Scanner::default().scan_bytes("a.txt", text.as_bytes());
    assert_eq!(all[0].confidence, Confidence::Low);
    let high = Scanner::new(ScanOptions {
        min_confidence: Confidence::Medium,
        ..ScanOptions::default()
    });
    assert!(high.scan_bytes("a.txt", text.as_bytes()).is_empty());
}

#[test]
fn inputs_merge_into_one_sorted_report() {
    let f = fixture();
    let scanner = Scanner::default();
    let inputs = [
        fichier_scan::Input::Path(f.root.join("rclone.conf")),
        fichier_scan::Input::from_arg(&f.root.join(".env").to_string_lossy()),
    ];
    assert_eq!(
        fichier_scan::Input::from_arg("-"),
        fichier_scan::Input::Stdin
    );
    let report = scanner.scan_inputs(&inputs).expect("scan");
    let paths: Vec<&str> = report
        .findings
        .iter()
        .map(|x| x.path.rsplit('/').next().unwrap_or(""))
        .collect();
    assert_eq!(paths, [".env", "rclone.conf"]);
    assert_eq!(report.stats.scanned, 2);
}
