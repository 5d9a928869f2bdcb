//! The detection engine: key-shaped candidates in a buffer, judged by their context.
//!
//! Cost model: in the default mode every rule needs the word `fichier` somewhere in the file
//! (or in its path), so a file without it costs one fast literal search and nothing else.
//! Only files that pass get the key-shape regex, and only plausible candidates pay for the
//! context (line index, anchors, sections, labels). The rule table is documented in
//! `docs/scan.md`.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::finding::{Finding, Place};
use crate::rules::{Confidence, RuleId};
use crate::secret::KeyMaterial;
use crate::shape::{self, Candidate, KEY_RUN, Shape};

fn re(pattern: &str) -> Regex {
    // Every pattern below is a constant covered by the unit tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("constant regex compiles")
}

/// The prefilter and anchor finder: `fichier` in any case.
static FICHIER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i-u)fichier"));
/// INI/TOML section headers at column 0: `[name]`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"(?m-u)^\[([^\]\r\n]{1,100})\][ \t]*\r?$"));
/// rclone's backend type line inside a section: `type = fichier`.
static TYPE_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m-u)^[ \t]*type[ \t]*=[ \t]*([A-Za-z0-9_\-]+)[ \t]*\r?$"));

/// Lines around a candidate in which a 1fichier mention counts as "near".
const NEAR_LINES: usize = 3;
/// Lines around a `Bearer` value in which a 1fichier mention counts as "near".
const BEARER_NEAR_LINES: usize = 5;
/// How far up the scanner looks for an enclosing mapping (YAML/JSON/pyLoad style).
const PARENT_LOOKBACK: usize = 64;

/// Options of the engine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EngineOptions {
    pub strict: bool,
    pub min_confidence: Confidence,
}

/// Scans one buffer and appends findings. `path` is only used for reporting and the path rule.
pub(crate) fn scan_buffer(opts: EngineOptions, path: &str, buf: &[u8], out: &mut Vec<Finding>) {
    let path_fichier = path_names_fichier(path);
    if !opts.strict && !path_fichier && !FICHIER.is_match(buf) {
        return;
    }
    let mut ctx: Option<FileCtx<'_>> = None;
    for m in KEY_RUN.find_iter(buf) {
        let Some(cand) = shape::candidate_from_run(buf, m.start(), m.end()) else {
            continue;
        };
        let Some(shape) = shape::plausible(&cand.value) else {
            continue;
        };
        let ctx = ctx.get_or_insert_with(|| FileCtx::new(buf));
        let Some((rule, confidence, why)) = classify(opts.strict, path_fichier, ctx, &cand, shape)
        else {
            continue;
        };
        if confidence < opts.min_confidence {
            continue;
        }
        let place = ctx.place(&cand);
        out.push(Finding::new(
            path,
            place,
            rule,
            confidence,
            why,
            KeyMaterial::new(&cand.value),
        ));
    }
}

/// A path component equal to `fichier`/`1fichier`/`onefichier` (any case, optional leading
/// dot), or a file name starting with one of them: a config or credentials file of a 1fichier
/// tool.
fn path_names_fichier(path: &str) -> bool {
    let mut comps = path.split(['/', '\\']).filter(|c| !c.is_empty()).peekable();
    while let Some(c) = comps.next() {
        let c = c.trim_start_matches('.').to_ascii_lowercase();
        let is_last = comps.peek().is_none();
        let named = ["fichier", "1fichier", "onefichier"];
        if named.contains(&c.as_str())
            || (is_last && named.iter().any(|n| c.starts_with(&format!("{n}."))))
        {
            return true;
        }
    }
    false
}

/// A mention of fichier in the file.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    line: usize,
    /// `1fichier`, `onefichier`, identifiers like `FICHIER_API_KEY`, `type = fichier`; weak
    /// anchors (the French word "fichier") only count on the candidate's own line.
    strong: bool,
}

/// An INI/TOML section.
#[derive(Debug, Clone)]
struct Section {
    line: usize,
    name: String,
    names_fichier: bool,
    /// `Some(is_fichier)` when the section has a `type = ...` line (an rclone remote).
    rclone_type: Option<bool>,
}

/// Per-file context, built lazily on the first plausible candidate.
struct FileCtx<'a> {
    buf: &'a [u8],
    line_starts: Vec<usize>,
    anchors: Vec<Anchor>,
    sections: Vec<Section>,
}

impl<'a> FileCtx<'a> {
    fn new(buf: &'a [u8]) -> FileCtx<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(
            buf.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut ctx = FileCtx {
            buf,
            line_starts,
            anchors: Vec::new(),
            sections: Vec::new(),
        };
        ctx.anchors = FICHIER
            .find_iter(buf)
            .filter_map(|m| {
                let strong = match identifier_mention(buf, m.start(), m.end()) {
                    Mention::OneFichier => true,
                    Mention::FrenchWord => return None,
                    Mention::Word => anchor_is_strong(buf, m.start()),
                };
                Some(Anchor {
                    line: ctx.line_of(m.start()),
                    strong,
                })
            })
            .collect();
        for caps in HEADER.captures_iter(buf) {
            let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let name = String::from_utf8_lossy(name.as_bytes()).into_owned();
            let names_fichier = mentions_fichier(name.as_bytes());
            ctx.sections.push(Section {
                line: ctx.line_of(all.start()),
                name,
                names_fichier,
                rclone_type: None,
            });
        }
        for caps in TYPE_LINE.captures_iter(buf) {
            let (Some(all), Some(value)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let line = ctx.line_of(all.start());
            if let Some(i) = ctx.section_index(line) {
                let is_fichier = value.as_bytes().eq_ignore_ascii_case(b"fichier");
                let slot = &mut ctx.sections[i].rclone_type;
                *slot = Some(slot.unwrap_or(false) || is_fichier);
            }
        }
        ctx
    }

    /// 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    fn line_text(&self, line: usize) -> &'a [u8] {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.buf.len(), |&e| e - 1);
        let text = &self.buf[start..end.max(start)];
        text.strip_suffix(b"\r").unwrap_or(text)
    }

    fn section_index(&self, line: usize) -> Option<usize> {
        self.sections
            .partition_point(|s| s.line <= line)
            .checked_sub(1)
    }

    /// Lines `[from, to)` that a candidate on `line` may draw anchors from: its INI section
    /// (header included), or the part of the file before the first header, or the whole file.
    fn scope(&self, line: usize) -> (usize, usize) {
        let total = self.line_starts.len();
        match self.section_index(line) {
            Some(i) => (
                self.sections[i].line,
                self.sections.get(i + 1).map_or(total, |s| s.line),
            ),
            None => (0, self.sections.first().map_or(total, |s| s.line)),
        }
    }

    /// Nearest strong anchor in scope, other than on `line` itself: `(line, distance)`.
    fn nearest_strong(&self, line: usize, scope: (usize, usize)) -> Option<(usize, usize)> {
        // Anchors are sorted by line: look at the closest strong one on each side (binary
        // search, so files with thousands of mentions and candidates stay linear-ish).
        let i = self.anchors.partition_point(|a| a.line < line);
        let in_scope = |a: &&Anchor| a.strong && a.line >= scope.0 && a.line < scope.1;
        let before = self.anchors[..i].iter().rev().find(in_scope);
        let after = self.anchors[i..]
            .iter()
            .filter(|a| a.line != line)
            .find(in_scope);
        [before, after]
            .into_iter()
            .flatten()
            .map(|a| (a.line, a.line.abs_diff(line)))
            .min_by_key(|&(_, d)| d)
    }

    fn same_line_anchor(&self, line: usize) -> Option<bool> {
        let i = self.anchors.partition_point(|a| a.line < line);
        let on_line = self.anchors[i..].iter().take_while(|a| a.line == line);
        on_line.fold(None, |acc, a| Some(acc.unwrap_or(false) || a.strong))
    }

    /// Enclosing mappings by indentation (YAML, JSON, pyLoad's `Plugin:` blocks): the first
    /// one that names fichier, as its 1-based line number and trimmed text.
    fn parent_naming_fichier(&self, line: usize, scope_start: usize) -> Option<(usize, String)> {
        let mut indent = indentation(self.line_text(line));
        let stop = line.saturating_sub(PARENT_LOOKBACK).max(scope_start);
        let mut l = line;
        while l > stop && indent > 0 {
            l -= 1;
            let text = self.line_text(l);
            let trimmed = text.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") || trimmed.starts_with(b"//") {
                continue;
            }
            let ind = indentation(text);
            if ind < indent {
                if mentions_fichier(text) {
                    return Some((l + 1, String::from_utf8_lossy(trimmed).into_owned()));
                }
                indent = ind;
            }
        }
        None
    }

    fn place(&self, cand: &Candidate) -> Place {
        let line = self.line_of(cand.start);
        let start = self.line_starts[line];
        let chars = |bytes: &[u8]| bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        let column = 1 + chars(&self.buf[start..cand.start]);
        Place {
            line: line + 1,
            column,
            end_column: column + (cand.end - cand.start),
        }
    }
}

fn indentation(text: &[u8]) -> usize {
    text.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// What a `fichier` inside some text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mention {
    /// `1fichier`, `onefichier`, or an identifier that names 1fichier's API:
    /// `FICHIER_API_KEY`, `RCLONE_FICHIER_API_KEY`, `fichierAPIKey`, `--fichier-api-key`.
    OneFichier,
    /// Part of any other identifier: French for "file" (`nom_fichier`, `fichierId`,
    /// `cleFichier`, `fichiers`), not a mention of 1fichier.
    FrenchWord,
    /// The word on its own: weak, unless the line makes it a backend type.
    Word,
}

/// Words that, right after `fichier` in one identifier, make it name 1fichier's API (English
/// order: `FICHIER_API_KEY`). French puts the noun first (`cle_fichier`, `nom_fichier`), so
/// `fichier` followed by anything else, or ending an identifier, is the French word.
const API_WORDS: &[&[u8]] = &[
    b"api",
    b"key",
    b"token",
    b"secret",
    b"pass",
    b"auth",
    b"credential",
    b"bearer",
    b"remote",
];

/// Classifies a `fichier` match at `[s, e)` of `text` by the identifier it is part of. The
/// one test behind both anchors and labels, so a name never counts as 1fichier in one place
/// and as French in the other.
fn identifier_mention(text: &[u8], s: usize, e: usize) -> Mention {
    let before = text[s.saturating_sub(4)..s].to_ascii_lowercase();
    if before.ends_with(b"1")
        || before.ends_with(b"one")
        || before.ends_with(b"one_")
        || before.ends_with(b"one-")
    {
        return Mention::OneFichier;
    }
    let ident =
        |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let glued_before = s > 0 && ident(text.get(s - 1));
    let glued_after = ident(text.get(e));
    if !glued_before && !glued_after {
        return Mention::Word;
    }
    let rest = &text[e..];
    let rest = rest
        .strip_prefix(b"_")
        .or_else(|| rest.strip_prefix(b"-"))
        .unwrap_or(rest);
    let rest = rest.to_ascii_lowercase();
    if API_WORDS.iter().any(|w| rest.starts_with(w)) {
        Mention::OneFichier
    } else {
        Mention::FrenchWord
    }
}

/// True when `text` mentions fichier other than as part of a French identifier: what makes a
/// section header (`[1fichier]`) or a parent mapping (`onefichier:`) a 1fichier scope, where
/// `[nom_fichier]` or `fichier_meta:` is not.
fn mentions_fichier(text: &[u8]) -> bool {
    FICHIER
        .find_iter(text)
        .any(|m| identifier_mention(text, m.start(), m.end()) != Mention::FrenchWord)
}

/// True when a label (`FICHIER_API_KEY`, `ONEFICHIER_TOKEN`) names 1fichier.
fn label_names_1fichier(word: &str) -> bool {
    FICHIER
        .find_iter(word.as_bytes())
        .any(|m| identifier_mention(word.as_bytes(), m.start(), m.end()) == Mention::OneFichier)
}

/// Classifies a standalone `fichier` at `[s, e)`: strong when the line makes it a backend type.
fn anchor_is_strong(buf: &[u8], s: usize) -> bool {
    // A backend type: `type = fichier`, `"type": "fichier"`, `backend: fichier`.
    let line_start = buf[..s]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let prefix = buf[line_start..s].trim_ascii_end();
    let prefix = strip_trailing(prefix, b"\"' \t=:");
    let prefix = prefix.to_ascii_lowercase();
    prefix.ends_with(b"type") || prefix.ends_with(b"backend") || prefix.ends_with(b"remote")
}

fn strip_trailing<'b>(mut s: &'b [u8], set: &[u8]) -> &'b [u8] {
    while let Some((last, rest)) = s.split_last() {
        if set.contains(last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// The name a value is assigned to, read backwards from the value on its line.
#[derive(Debug, Default)]
struct Label {
    /// Nearest word before the value (`FICHIER_API_KEY`, `api_key`, `Bearer`, `password`...).
    nearest: Option<String>,
    /// The word before that (`Authorization` before `Bearer`, `api_key` before `str` in Rust).
    second: Option<String>,
}

const OPENERS: &[u8] = b" \t\"'`({[";
const OPERATORS: &[u8] = b"=:><-,|&!+?~*";
const CLOSERS: &[u8] = b" \t\"'`)]}>";

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'$' | b'@')
}

/// Reads one word backwards from `end`; returns it and where it starts.
fn word_before(prefix: &[u8], end: usize) -> Option<(String, usize)> {
    let mut i = end;
    let skip = |i: &mut usize, set: &[u8]| {
        while *i > 0 && set.contains(&prefix[*i - 1]) {
            *i -= 1;
        }
    };
    skip(&mut i, OPENERS);
    skip(&mut i, OPERATORS);
    skip(&mut i, CLOSERS);
    let word_end = i;
    while i > 0 && is_word_byte(prefix[i - 1]) {
        i -= 1;
    }
    // A word right after a backslash escape in a string literal (`"...\npass = "`) starts
    // with the escape's letter: drop it.
    if i > 0 && prefix[i - 1] == b'\\' && i < word_end && matches!(prefix[i], b'n' | b't' | b'r') {
        i += 1;
    }
    let word = std::str::from_utf8(&prefix[i..word_end]).ok()?;
    let word = word
        .trim_start_matches(['-', '$', '.'])
        .trim_end_matches(['.', '-']);
    (!word.is_empty()).then(|| (word.to_owned(), i))
}

fn label_before(line_prefix: &[u8]) -> Label {
    let prefix = percent_decoded(&line_prefix[line_prefix.len().saturating_sub(160)..]);
    let prefix = prefix.as_slice();
    let Some((nearest, at)) = word_before(prefix, prefix.len()) else {
        return Label::default();
    };
    let second = word_before(prefix, at).map(|(w, _)| w);
    Label {
        nearest: Some(nearest),
        second,
    }
}

/// Decodes `%XX` escapes so `%3Fapi_key%3D` reads as `?api_key=` (keys logged inside URLs).
fn percent_decoded(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if text[i] == b'%'
            && let (Some(h), Some(l)) = (
                text.get(i + 1).and_then(|&b| hex(b)),
                text.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

fn normalized(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Secret-like names: api_key, apikey, token, secret, password, passwd, pwd, auth, credential.
fn is_keyish(word: &str) -> bool {
    let n = normalized(word);
    [
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "auth",
        "credential",
        "bearer",
        "cle",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// Text safe to put in a "why": short and never itself key-shaped (a name could be another key).
fn printable(word: &str) -> String {
    let looks_secret = word.len() >= 16
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_lowercase());
    if looks_secret || word.len() > 48 || !word.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return "a name".to_owned();
    }
    format!("`{word}`")
}

type Verdict = (RuleId, Confidence, String);

/// rclone remotes configured by environment: `RCLONE_CONFIG_<NAME>_API_KEY` is a 1fichier key
/// when the same buffer sets `RCLONE_CONFIG_<NAME>_TYPE` to `fichier`.
fn rclone_env_remote(buf: &[u8], label: &str) -> Option<String> {
    let upper = label.to_ascii_uppercase();
    let name = upper
        .strip_prefix("RCLONE_CONFIG_")?
        .strip_suffix("_API_KEY")?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let pattern = format!(r#"(?i-u)RCLONE_CONFIG_{name}_TYPE["']?[ \t]*[=:][ \t]*["']?fichier\b"#);
    let found = Regex::new(&pattern).ok()?.is_match(buf);
    found.then(|| name.to_owned())
}

fn classify(
    strict: bool,
    path_fichier: bool,
    ctx: &FileCtx<'_>,
    cand: &Candidate,
    shape: Shape,
) -> Option<Verdict> {
    use Confidence::{High, Low, Medium};
    let line = ctx.line_of(cand.start);
    let line_start = ctx.line_starts[line];
    let label = label_before(&ctx.buf[line_start..cand.start]);
    let nearest = label.nearest.as_deref().unwrap_or("");
    let bearer = nearest.eq_ignore_ascii_case("bearer");
    let name_keyish =
        is_keyish(nearest) || (!bearer && label.second.as_deref().is_some_and(is_keyish));
    let named = |w: &Option<String>| w.as_deref().is_some_and(label_names_1fichier);
    let section = ctx.section_index(line).map(|i| &ctx.sections[i]);
    let scope = ctx.scope(line);
    let shown = printable(nearest);

    // rclone remotes: only `api_key` of a `type = fichier` remote is a 1fichier key; other
    // options (obscured passwords, other backends) are not, and anchors outside the section
    // do not apply to them.
    if let Some(sec) = section.filter(|s| s.rclone_type.is_some()) {
        if sec.rclone_type == Some(true) && normalized(nearest) == "apikey" {
            let why = format!(
                "`api_key` of rclone remote [{}] with type = fichier",
                snippet(&sec.name)
            );
            return Some((RuleId::RcloneFichierRemote, High, why));
        }
        return strict_verdict(strict, name_keyish || bearer, &shown, shape);
    }
    if let Some(remote) = rclone_env_remote(ctx.buf, nearest) {
        let why = format!("`api_key` of rclone remote {remote} set by environment to type fichier");
        return Some((RuleId::RcloneFichierRemote, High, why));
    }
    if named(&label.nearest) || (named(&label.second) && name_keyish) {
        let conf = if name_keyish { High } else { Medium };
        let word = if named(&label.nearest) {
            shown.clone()
        } else {
            printable(label.second.as_deref().unwrap_or(""))
        };
        return Some((RuleId::FichierNamedKey, conf, format!("assigned to {word}")));
    }
    let same_line = ctx.same_line_anchor(line);
    let near = ctx.nearest_strong(line, scope);
    if bearer {
        if same_line == Some(true) {
            let why = "Bearer token on a line that mentions 1fichier".to_owned();
            return Some((RuleId::Bearer1fichier, High, why));
        }
        if let Some((l, d)) = near {
            let conf = if d <= BEARER_NEAR_LINES { High } else { Medium };
            let why = format!("Bearer token, 1fichier mentioned on line {}", l + 1);
            return Some((RuleId::Bearer1fichier, conf, why));
        }
    }
    let parent = match section.filter(|s| s.names_fichier) {
        Some(sec) => Some((sec.line + 1, format!("[{}]", snippet(&sec.name)))),
        None => ctx
            .parent_naming_fichier(line, scope.0)
            .map(|(l, t)| (l, snippet(&t))),
    };
    if let Some((pline, ptext)) = parent {
        if name_keyish || bearer {
            let why = format!("{shown} inside `{ptext}` (line {pline})");
            return Some((RuleId::FichierSection, High, why));
        }
        if label.nearest.is_some() || shape.looks_random() {
            let why = format!("value inside `{ptext}` (line {pline})");
            return Some((RuleId::FichierSection, Medium, why));
        }
    }
    if name_keyish {
        match (same_line, near) {
            (Some(strong), _) => {
                let conf = if strong { High } else { Medium };
                let why = format!("{shown} on a line that mentions fichier");
                return Some((RuleId::KeywordNear1fichier, conf, why));
            }
            (None, Some((l, d))) => {
                let conf = if d <= NEAR_LINES { Medium } else { Low };
                let why = format!("{shown}, 1fichier mentioned on line {}", l + 1);
                return Some((RuleId::KeywordNear1fichier, conf, why));
            }
            (None, None) => {}
        }
    }
    if shape.looks_random() {
        let near_line = match (same_line, near) {
            (Some(true), _) => Some(line),
            (_, Some((l, d))) if d <= 2 => Some(l),
            _ => None,
        };
        if let Some(l) = near_line {
            let why = format!(
                "random 32-character value next to a 1fichier mention (line {})",
                l + 1
            );
            return Some((RuleId::KeyNear1fichier, Low, why));
        }
    }
    if path_fichier && name_keyish {
        let why = format!("{shown} in a file whose path names fichier");
        return Some((RuleId::FichierConfigPath, Low, why));
    }
    strict_verdict(strict, name_keyish || bearer, &shown, shape)
}

/// A short, key-free excerpt of a line or section name for a "why": at most 40 characters,
/// with any long mixed-case alphanumeric run (which could be another key) replaced by `…`.
fn snippet(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let secretish = run.len() >= 12
            && run.bytes().any(|b| b.is_ascii_digit())
            && run.bytes().any(|b| b.is_ascii_uppercase())
            && run.bytes().any(|b| b.is_ascii_lowercase());
        out.push_str(if secretish { "…" } else { run.as_str() });
        run.clear();
    };
    for c in text.chars().filter(|c| !c.is_control()) {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    if out.chars().count() > 40 {
        out = out.chars().take(39).collect::<String>() + "…";
    }
    out.replace('`', "'")
}

fn strict_verdict(strict: bool, named_secret: bool, shown: &str, shape: Shape) -> Option<Verdict> {
    if !strict {
        return None;
    }
    if named_secret {
        let why = format!("{shown} holds a key-shaped value (strict mode; no 1fichier context)");
        return Some((RuleId::GenericKeyAssignment, Confidence::Low, why));
    }
    shape.looks_random_bare().then(|| {
        let why = "random 32-character string (strict mode; no context)".to_owned();
        (RuleId::BareKeyShape, Confidence::Low, why)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::fake_key;

    fn scan(path: &str, text: &str, strict: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let opts = EngineOptions {
            strict,
            min_confidence: Confidence::Low,
        };
        scan_buffer(opts, path, text.as_bytes(), &mut out);
        out
    }

    fn rules(text: &str) -> Vec<(RuleId, Confidence)> {
        scan("x.txt", text, false)
            .iter()
            .map(|f| (f.rule, f.confidence))
            .collect()
    }

    #[test]
    fn labels_are_read_backwards() {
        let l = label_before(b"export FICHIER_API_KEY=");
        assert_eq!(l.nearest.as_deref(), Some("FICHIER_API_KEY"));
        let l = label_before(b"  -H 'Authorization: Bearer ");
        assert_eq!(
            (l.nearest.as_deref(), l.second.as_deref()),
            (Some("Bearer"), Some("Authorization"))
        );
        let l = label_before(b"os.environ[\"FICHIER_API_KEY\"] = \"");
        assert_eq!(l.nearest.as_deref(), Some("FICHIER_API_KEY"));
        let l = label_before(b"\"[x]\\npass = ");
        assert_eq!(l.nearest.as_deref(), Some("pass"));
        let l = label_before(b"<apiKey>");
        assert_eq!(l.nearest.as_deref(), Some("apiKey"));
        let l = label_before(b"GET https%3A%2F%2Fx%3Fapi_key%3D");
        assert_eq!(l.nearest.as_deref(), Some("api_key"));
        let l = label_before(b"rclone ls x: --fichier-api-key ");
        assert_eq!(l.nearest.as_deref(), Some("fichier-api-key"));
    }

    #[test]
    fn core_rules() {
        let k = fake_key(1);
        use Confidence::*;
        assert_eq!(
            rules(&format!("FICHIER_API_KEY={k}\n")),
            [(RuleId::FichierNamedKey, High)]
        );
        assert_eq!(
            rules(&format!("[remote]\ntype = fichier\napi_key = {k}\n")),
            [(RuleId::RcloneFichierRemote, High)]
        );
        assert_eq!(
            rules(&format!(
                "curl -H 'Authorization: Bearer {k}' https://api.1fichier.com/v1/user/info.cgi\n"
            )),
            [(RuleId::Bearer1fichier, High)]
        );
        assert_eq!(
            rules(&format!("# 1fichier\ntoken = \"{k}\"\n")),
            [(RuleId::KeywordNear1fichier, Medium)]
        );
        assert_eq!(
            rules(&format!("onefichier:\n  api_key: {k}\n")),
            [(RuleId::FichierSection, High)]
        );
    }

    #[test]
    fn no_context_means_no_finding_unless_strict() {
        let k = fake_key(1);
        let text = format!("token = \"{k}\"\nother = {k}\n");
        assert!(rules(&text).is_empty());
        let strict: Vec<RuleId> = scan("x", &text, true).iter().map(|f| f.rule).collect();
        assert_eq!(strict, [RuleId::GenericKeyAssignment, RuleId::BareKeyShape]);
    }

    #[test]
    fn rclone_sections_scope_their_anchors() {
        let k = fake_key(1);
        let other = fake_key(2);
        // An obscured sftp password of the same shape, in a config that also has a fichier remote.
        let text =
            format!("[fi]\ntype = fichier\napi_key = {k}\n\n[box]\ntype = sftp\npass = {other}\n");
        assert_eq!(
            rules(&text),
            [(RuleId::RcloneFichierRemote, Confidence::High)]
        );
    }

    #[test]
    fn position_is_one_based_in_code_points() {
        let k = fake_key(1);
        let f = scan("x", &format!("# 1fichier\n  clé=\"{k}\"\n"), false);
        assert_eq!((f[0].line, f[0].column, f[0].end_column), (2, 8, 40));
    }

    #[test]
    fn french_identifiers_with_fichier_are_not_1fichier_mentions() {
        let k = fake_key(4);
        for name in [
            "nom_fichier",
            "id_fichier",
            "hash_fichier",
            "fichier_uuid",
            "fichierId",
            "cleFichier",
            "CLE_FICHIER",
        ] {
            for text in [
                format!("{name} = \"{k}\"\n"),
                format!("{name}: {k}\n"),
                format!("x = {{\"{name}\": \"{k}\"}}\n"),
            ] {
                assert!(rules(&text).is_empty(), "{text}: {:?}", rules(&text));
            }
        }
        // Nor do they make a section or a parent mapping a 1fichier scope.
        for text in [
            format!("[nom_fichier]\ntoken = {k}\n"),
            format!("fichier_meta:\n  token: {k}\n"),
        ] {
            assert!(rules(&text).is_empty(), "{text}: {:?}", rules(&text));
        }
        // The English names of 1fichier's API stay found.
        for name in [
            "FICHIER_API_KEY",
            "RCLONE_FICHIER_API_KEY",
            "ONEFICHIER_TOKEN",
            "fichierAPIKey",
            "one_fichier_key",
        ] {
            let text = format!("{name} = \"{k}\"\n");
            assert_eq!(
                rules(&text).first().map(|r| r.0),
                Some(RuleId::FichierNamedKey),
                "{text}"
            );
        }
    }

    #[test]
    fn french_word_alone_is_weak() {
        let k = fake_key(1);
        assert!(rules(&format!("Le fichier contient:\n\n\n{k}\n")).is_empty());
    }

    #[test]
    fn snippets_never_carry_key_shaped_text() {
        let k = fake_key(1);
        assert_eq!(
            snippet(&format!("{{\"1fichier.com\":[{{\"password\":\"{k}\"")),
            "{\"1fichier.com\":[{\"password\":\"…\""
        );
        assert_eq!(snippet("[storage.onefichier]"), "[storage.onefichier]");
        assert_eq!(snippet(&"a".repeat(50)).chars().count(), 40);
    }

    #[test]
    fn paths_naming_fichier() {
        assert!(path_names_fichier(
            "home/u/.config/fichier/credentials.toml"
        ));
        assert!(path_names_fichier("1fichier.conf"));
        assert!(!path_names_fichier("src/fichiers/notes.txt"));
    }
}
