//! Output renderers: text lines, JSON, and SARIF 2.1.0 for code-scanning UIs.
//!
//! None of them has access to the raw key: they only read the public fields of [`Finding`].

use serde_json::{Value, json};

use crate::finding::Finding;
use crate::report::Report;
use crate::rules::{Confidence, RuleId};

/// Version of the JSON output schema (`"version"` field).
pub const JSON_VERSION: u32 = 1;

/// One text line per finding: `path:line:column  rule  confidence  masked  why`, then
/// `  commit <id>` for history findings and `  [live|dead|unknown]` after `--verify`.
///
/// A path is printed as it is: a newline in a file name would split the line, so a front end
/// printing to a terminal or a line-oriented consumer renders each finding with
/// [`render_finding`] and passes it through its own escaper.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&render_finding(f));
        out.push('\n');
    }
    out
}

/// One finding as [`render_text`] prints it, without the newline.
pub fn render_finding(f: &Finding) -> String {
    let mut line = format!(
        "{}:{}:{}  {}  {}  {}  {}",
        f.path, f.line, f.column, f.rule, f.confidence, f.masked, f.why
    );
    if let Some(c) = &f.commit {
        line.push_str(&format!(
            "  commit {}",
            c.chars().take(12).collect::<String>()
        ));
    }
    if let Some(v) = &f.verification {
        line.push_str(&format!("  [{}]", v.as_str()));
    }
    line
}

/// A one-line summary for stderr, e.g. `2 findings (1 high, 1 medium) in 40 files, 3 accepted by the baseline`.
pub fn render_summary(report: &Report) -> String {
    let n = report.findings.len();
    let count = |c: Confidence| report.findings.iter().filter(|f| f.confidence == c).count();
    let mut parts = Vec::new();
    for c in [Confidence::High, Confidence::Medium, Confidence::Low] {
        let k = count(c);
        if k > 0 {
            parts.push(format!("{k} {c}"));
        }
    }
    let mut s = if n == 0 {
        format!("no 1fichier key found in {} inputs", report.stats.scanned)
    } else {
        let plural = if n == 1 { "finding" } else { "findings" };
        format!(
            "{n} {plural} ({}) in {} inputs",
            parts.join(", "),
            report.stats.scanned
        )
    };
    if report.stats.suppressed_by_baseline > 0 {
        s.push_str(&format!(
            ", {} accepted by the baseline",
            report.stats.suppressed_by_baseline
        ));
    }
    // Nothing found in what was read says nothing about what was skipped.
    let skipped = |n: u64, why: &str| match n {
        0 => None,
        1 => Some(format!("1 input skipped ({why})")),
        n => Some(format!("{n} inputs skipped ({why})")),
    };
    for part in [
        skipped(report.stats.skipped_large, "over the size limit"),
        skipped(report.stats.skipped_binary, "binary: NUL bytes"),
    ]
    .into_iter()
    .flatten()
    {
        s.push_str(", ");
        s.push_str(&part);
    }
    if !report.errors.is_empty() {
        s.push_str(&format!(
            ", {} inputs could not be read",
            report.errors.len()
        ));
    }
    s
}

/// The report as JSON: `{"version":1,"findings":[...],"errors":[...],"stats":{...}}`.
pub fn render_json(report: &Report) -> String {
    let value = json!({
        "version": JSON_VERSION,
        "findings": report.findings,
        "errors": report.errors,
        "stats": report.stats,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// SARIF severity level for a confidence.
fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High | Confidence::Medium => "error",
        Confidence::Low => "warning",
    }
}

/// Percent-encodes a relative path into a URI reference (keeps `/` and unreserved characters).
fn uri_of(path: &str) -> (String, bool) {
    let absolute = path.starts_with('/');
    let mut out = String::new();
    if absolute {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    (out, absolute)
}

/// The report as a SARIF 2.1.0 log, accepted by GitHub code scanning. Each result carries
/// `partialFingerprints."fichierKey/v1"` (the key fingerprint) so re-uploads deduplicate.
pub fn render_sarif(report: &Report, tool_version: &str) -> String {
    let rules: Vec<Value> = RuleId::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.id().split('-').map(capitalise).collect::<String>(),
                "shortDescription": { "text": r.description() },
                "fullDescription": { "text": format!("{} Detected by fichier-scan; see docs/scan.md.", r.description()) },
                "help": {
                    "text": "Revoke the key on https://1fichier.com/console/params.pl (generate a new one), remove it from the file and from git history, and store keys with `fichier auth login` instead.",
                    "markdown": "Revoke the key on <https://1fichier.com/console/params.pl> (generate a new one), remove it from the file **and from git history**, and store keys with `fichier auth login` instead."
                },
                "defaultConfiguration": { "level": if r.strict_only() { "warning" } else { "error" } },
                "properties": {
                    "tags": ["security", "secret", "1fichier"],
                    "precision": if r.strict_only() { "low" } else { "high" },
                    "security-severity": if r.strict_only() { "5.0" } else { "9.0" }
                }
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (uri, absolute) = uri_of(&f.path);
            let mut artifact = json!({ "uri": uri });
            if !absolute {
                artifact["uriBaseId"] = json!("%SRCROOT%");
            }
            let mut message = format!("Possible 1fichier API key {} ({} confidence): {}.", f.masked, f.confidence, f.why);
            if let Some(c) = &f.commit {
                message.push_str(&format!(" Found in git history, commit {c}."));
            }
            let mut props = json!({ "confidence": f.confidence.as_str(), "rank": f.confidence.rank(), "masked": f.masked });
            if let Some(c) = &f.commit {
                props["commit"] = json!(c);
            }
            if let Some(v) = &f.verification {
                props["verification"] = json!(v.as_str());
            }
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": RuleId::ALL.iter().position(|r| *r == f.rule).unwrap_or(0),
                "level": level(f.confidence),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.line,
                            "endColumn": f.end_column
                        }
                    }
                }],
                "partialFingerprints": { "fichierKey/v1": f.fingerprint.as_str() },
                "properties": props
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "fichier-scan",
                    "informationUri": "https://github.com/fichier-rs/fichier/blob/main/docs/scan.md",
                    "semanticVersion": tool_version,
                    "version": tool_version,
                    "rules": rules
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Place;
    use crate::secret::KeyMaterial;

    /// One finding per rule, rendered by every format: all must name it by [`RuleId::id`].
    #[test]
    fn text_json_and_sarif_name_every_rule_by_its_one_id() {
        let key = crate::shape::fake_key(7);
        let mut report = Report::default();
        for (i, rule) in RuleId::ALL.into_iter().enumerate() {
            let place = Place {
                line: i + 1,
                column: 1,
                end_column: 33,
            };
            let why = "test".to_owned();
            let material = KeyMaterial::new(key.as_bytes());
            report.findings.push(Finding::new(
                "f",
                place,
                rule,
                Confidence::High,
                why,
                material,
            ));
        }
        let text: Vec<String> = render_text(&report)
            .lines()
            .map(|l| l.split("  ").nth(1).unwrap_or_default().to_owned())
            .collect();
        let json: Value = serde_json::from_str(&render_json(&report)).unwrap();
        let sarif: Value = serde_json::from_str(&render_sarif(&report, "0")).unwrap();
        let sarif_rules = &sarif["runs"][0]["tool"]["driver"]["rules"];
        for (i, rule) in RuleId::ALL.into_iter().enumerate() {
            let id = rule.id();
            assert_eq!(text[i], id);
            assert_eq!(json["findings"][i]["rule"], id);
            assert_eq!(sarif["runs"][0]["results"][i]["ruleId"], id);
            assert_eq!(sarif_rules[i]["id"], id);
        }
        assert!(text.iter().any(|id| id == "bearer-1fichier"), "{text:?}");
    }
}
