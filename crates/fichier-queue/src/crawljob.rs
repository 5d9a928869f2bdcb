//! JDownloader FolderWatch `.crawljob` files, read and written: both syntaxes JDownloader
//! accepts (a JSON array of objects, or `key=value` lines with a blank line between jobs),
//! the fields that mean something to a download queue, unknown fields ignored with a warning,
//! and malformed input refused with the line and field named. Nothing here touches the queue.

use std::fmt;

use serde_json::{Map, Value};

/// One job of a `.crawljob` file. `Debug` redacts the password.
#[derive(Clone, Default, PartialEq)]
pub struct CrawlJob {
    /// The links (one or more, separated by white space).
    pub text: String,
    /// `packageName`.
    pub package_name: Option<String>,
    /// `filename`: the name to give the file.
    pub filename: Option<String>,
    /// `downloadFolder`.
    pub download_folder: Option<String>,
    /// `downloadPassword`: the file's download password.
    pub download_password: Option<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `enabled` (`None`: unset).
    pub enabled: Option<bool>,
    /// `autoStart` (`None`: unset).
    pub auto_start: Option<bool>,
    /// `priority`: JDownloader's names map to LOWEST -2, LOWER -1, DEFAULT 0, HIGH 1, HIGHER 2,
    /// HIGHEST 3; a number is taken as is.
    pub priority: Option<i32>,
}

impl fmt::Debug for CrawlJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrawlJob")
            .field("text", &self.text)
            .field("package_name", &self.package_name)
            .field("filename", &self.filename)
            .field("download_folder", &self.download_folder)
            .field(
                "download_password",
                &self.download_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field("comment", &self.comment)
            .field("enabled", &self.enabled)
            .field("auto_start", &self.auto_start)
            .field("priority", &self.priority)
            .finish()
    }
}

impl CrawlJob {
    /// The job's links: the words of `text`.
    pub fn links(&self) -> impl Iterator<Item = &str> {
        self.text.split_whitespace()
    }

    /// False when the job asks to be added without starting (`enabled` or `autoStart` false).
    pub fn starts(&self) -> bool {
        self.enabled != Some(false) && self.auto_start != Some(false)
    }

    /// The queue item for one of the job's links (`source` already normalised): package,
    /// priority, password, file name, comment and whether it starts paused come from the job.
    pub fn item(
        &self,
        source: String,
        target_dir: std::path::PathBuf,
        origin: &str,
    ) -> crate::store::NewItem {
        crate::store::NewItem {
            source,
            target_dir,
            package: self.package_name.clone(),
            priority: self.priority.unwrap_or(0),
            password: self.download_password.clone(),
            name: self.filename.clone(),
            origin: origin.to_owned(),
            comment: self.comment.clone(),
            paused: !self.starts(),
            ..crate::store::NewItem::default()
        }
    }
}

/// A parsed file: its jobs and what was ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    /// The jobs, in file order.
    pub jobs: Vec<CrawlJob>,
    /// Unknown fields and similar, for a person.
    pub warnings: Vec<String>,
}

/// A `.crawljob` that cannot be read: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", .line.map(|l| format!("line {l}: ")).unwrap_or_default(), .field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct CrawljobError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field, when one is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl CrawljobError {
    fn new(line: Option<usize>, field: Option<&str>, message: impl Into<String>) -> Self {
        CrawljobError {
            line,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// JDownloader fields a queue has no use for: accepted silently.
const KNOWN_UNUSED: [&str; 14] = [
    "autoConfirm",
    "forcedStart",
    "extractPasswords",
    "extractAfterDownload",
    "deepAnalyseEnabled",
    "addOfflineLink",
    "overwritePackagizerEnabled",
    "overwritePacketizerEnabled",
    "setBeforePackagizerEnabled",
    "chunks",
    "type",
    "downloadFolderHistory",
    "priorityOverride",
    "jobId",
];

/// Parses a `.crawljob` file in either syntax. A file without any job, or a job without
/// `text`, is an error.
pub fn parse(text: &str) -> Result<Parsed, CrawljobError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    let parsed = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        parse_json(text)?
    } else {
        parse_properties(text)?
    };
    if parsed.jobs.is_empty() {
        return Err(CrawljobError::new(None, None, "no job in the file"));
    }
    Ok(parsed)
}

fn parse_json(text: &str) -> Result<Parsed, CrawljobError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CrawljobError::new(Some(e.line()), None, format!("not valid JSON: {e}")))?;
    let objects = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => unreachable!("starts with [ or {{"),
    };
    let mut out = Parsed::default();
    for (i, obj) in objects.into_iter().enumerate() {
        let Value::Object(map) = obj else {
            return Err(CrawljobError::new(
                None,
                None,
                format!("job {} is not a JSON object", i + 1),
            ));
        };
        let job = job_from_json(&map, i + 1, &mut out.warnings)?;
        out.jobs.push(job);
    }
    Ok(out)
}

fn job_from_json(
    map: &Map<String, Value>,
    n: usize,
    warnings: &mut Vec<String>,
) -> Result<CrawlJob, CrawljobError> {
    let mut job = CrawlJob::default();
    let mut has_text = false;
    for (key, value) in map {
        let as_text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) if !is_used(key) => {
                note_unknown(key, &format!("job {n}"), warnings);
                continue;
            }
            _ => {
                return Err(CrawljobError::new(
                    None,
                    Some(key),
                    format!("job {n}: expected a string"),
                ));
            }
        };
        has_text |= key == "text";
        set_field(&mut job, key, &as_text, warnings, None, n)?;
    }
    if !has_text || job.text.trim().is_empty() {
        return Err(CrawljobError::new(
            None,
            Some("text"),
            format!("job {n} has no links (`text` is missing or empty)"),
        ));
    }
    Ok(job)
}

fn parse_properties(text: &str) -> Result<Parsed, CrawljobError> {
    let mut out = Parsed::default();
    // (job, line where it started, whether it has `text`)
    let mut current: Option<(CrawlJob, usize, bool)> = None;
    let mut seen: Vec<String> = Vec::new();
    let finish =
        |cur: Option<(CrawlJob, usize, bool)>, out: &mut Parsed| -> Result<(), CrawljobError> {
            if let Some((job, start, has_text)) = cur {
                if !has_text || job.text.trim().is_empty() {
                    return Err(CrawljobError::new(
                        Some(start),
                        Some("text"),
                        "this job has no links (`text=` is missing or empty)",
                    ));
                }
                out.jobs.push(job);
            }
            Ok(())
        };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            finish(current.take(), &mut out)?;
            seen.clear();
            continue;
        }
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(CrawljobError::new(
                Some(line_no),
                None,
                format!("expected key=value, got {:?}", truncate(line)),
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CrawljobError::new(
                Some(line_no),
                None,
                format!("{:?} is not a field name", truncate(key)),
            ));
        }
        // A field seen twice starts the next job (files written without blank lines).
        if seen.iter().any(|k| k == key) {
            finish(current.take(), &mut out)?;
            seen.clear();
        }
        seen.push(key.to_owned());
        let (job, _, has_text) =
            current.get_or_insert_with(|| (CrawlJob::default(), line_no, false));
        *has_text |= key == "text";
        let n = out.jobs.len() + 1;
        set_field(job, key, value.trim(), &mut out.warnings, Some(line_no), n)?;
    }
    finish(current.take(), &mut out)?;
    Ok(out)
}

fn is_used(key: &str) -> bool {
    matches!(
        key,
        "text"
            | "packageName"
            | "filename"
            | "downloadFolder"
            | "downloadPassword"
            | "comment"
            | "enabled"
            | "autoStart"
            | "priority"
    )
}

fn note_unknown(key: &str, place: &str, warnings: &mut Vec<String>) {
    if !KNOWN_UNUSED.contains(&key) {
        warnings.push(format!(
            "{place}: unknown field `{}` ignored",
            truncate(key)
        ));
    }
}

fn set_field(
    job: &mut CrawlJob,
    key: &str,
    value: &str,
    warnings: &mut Vec<String>,
    line: Option<usize>,
    n: usize,
) -> Result<(), CrawljobError> {
    let opt = |v: &str| (!v.is_empty() && !v.eq_ignore_ascii_case("null")).then(|| v.to_owned());
    let place = match line {
        Some(l) => format!("line {l}"),
        None => format!("job {n}"),
    };
    match key {
        "text" => job.text = value.to_owned(),
        "packageName" => job.package_name = opt(value),
        "filename" => job.filename = opt(value),
        "downloadFolder" => job.download_folder = opt(value),
        "downloadPassword" => job.download_password = opt(value),
        "comment" => job.comment = opt(value),
        "enabled" => {
            job.enabled = parse_bool(value).map_err(|m| CrawljobError::new(line, Some(key), m))?
        }
        "autoStart" => {
            job.auto_start =
                parse_bool(value).map_err(|m| CrawljobError::new(line, Some(key), m))?;
        }
        "priority" => {
            job.priority =
                parse_priority(value).map_err(|m| CrawljobError::new(line, Some(key), m))?;
        }
        other => note_unknown(other, &place, warnings),
    }
    Ok(())
}

fn parse_bool(v: &str) -> Result<Option<bool>, String> {
    match v.to_ascii_uppercase().as_str() {
        "TRUE" | "1" | "YES" => Ok(Some(true)),
        "FALSE" | "0" | "NO" => Ok(Some(false)),
        "" | "UNSET" | "NULL" => Ok(None),
        _ => Err(format!("expected TRUE or FALSE, got {:?}", truncate(v))),
    }
}

fn parse_priority(v: &str) -> Result<Option<i32>, String> {
    let p = match v.to_ascii_uppercase().as_str() {
        "" | "NULL" => return Ok(None),
        "LOWEST" => -2,
        "LOWER" => -1,
        "DEFAULT" => 0,
        "HIGH" => 1,
        "HIGHER" => 2,
        "HIGHEST" => 3,
        _ => v.parse::<i32>().map_err(|_| {
            format!(
                "expected LOWER, DEFAULT, HIGH, HIGHER, HIGHEST or a number, got {:?}",
                truncate(v)
            )
        })?,
    };
    Ok(Some(p))
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

fn priority_name(p: i32) -> Value {
    match p {
        -2 => "LOWEST".into(),
        -1 => "LOWER".into(),
        0 => "DEFAULT".into(),
        1 => "HIGH".into(),
        2 => "HIGHER".into(),
        3 => "HIGHEST".into(),
        n => n.into(),
    }
}

/// Writes jobs as a `.crawljob` file in the JSON syntax (any value, new lines included, stays
/// intact), the form JDownloader's FolderWatch reads.
pub fn write(jobs: &[CrawlJob]) -> String {
    let list: Vec<Value> = jobs
        .iter()
        .map(|j| {
            let mut m = Map::new();
            m.insert("text".into(), j.text.clone().into());
            let mut put = |k: &str, v: &Option<String>| {
                if let Some(v) = v {
                    m.insert(k.into(), v.clone().into());
                }
            };
            put("packageName", &j.package_name);
            put("filename", &j.filename);
            put("downloadFolder", &j.download_folder);
            put("downloadPassword", &j.download_password);
            put("comment", &j.comment);
            let flag = |b: bool| Value::from(if b { "TRUE" } else { "FALSE" });
            if let Some(b) = j.enabled {
                m.insert("enabled".into(), flag(b));
            }
            if let Some(b) = j.auto_start {
                m.insert("autoStart".into(), flag(b));
            }
            if let Some(p) = j.priority {
                m.insert("priority".into(), priority_name(p));
            }
            Value::Object(m)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_with_blank_line_separation() {
        let text = "# from a script\n\
            text=https://1fichier.com/?aaaaa https://megadl.fr/?bbbbb\n\
            packageName=Holiday\n\
            downloadFolder=/data/dl\n\
            downloadPassword=s3cret\n\
            enabled=TRUE\n\
            autoStart=FALSE\n\
            priority=HIGHER\n\
            comment=for mum\n\
            autoConfirm=TRUE\n\
            \n\
            \n\
            text=https://1fichier.com/?ccccc\n\
            filename=c.bin\n\
            mystery=42\n";
        let p = parse(text).unwrap();
        assert_eq!(p.jobs.len(), 2);
        let a = &p.jobs[0];
        assert_eq!(
            a.links().collect::<Vec<_>>(),
            vec!["https://1fichier.com/?aaaaa", "https://megadl.fr/?bbbbb"]
        );
        assert_eq!(a.package_name.as_deref(), Some("Holiday"));
        assert_eq!(a.download_folder.as_deref(), Some("/data/dl"));
        assert_eq!(a.download_password.as_deref(), Some("s3cret"));
        assert_eq!(
            (a.enabled, a.auto_start, a.priority),
            (Some(true), Some(false), Some(2))
        );
        assert!(!a.starts());
        assert_eq!(a.comment.as_deref(), Some("for mum"));
        assert_eq!(p.jobs[1].filename.as_deref(), Some("c.bin"));
        assert!(p.jobs[1].starts());
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("mystery") && p.warnings[0].contains("line 15"));
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn a_repeated_field_starts_the_next_job() {
        let p = parse("text=https://1fichier.com/?aaaaa\ntext=https://1fichier.com/?bbbbb\r\n")
            .unwrap();
        assert_eq!(p.jobs.len(), 2);
    }

    #[test]
    fn json_array_and_single_object() {
        let text = r#"[
            {"text": "https://1fichier.com/?aaaaa\nhttps://1fichier.com/?bbbbb",
             "packageName": "P", "enabled": true, "autoStart": "TRUE", "priority": "DEFAULT",
             "extractPasswords": ["x"], "weird": {"a": 1}, "comment": null},
            {"text": "https://1fichier.com/?ccccc", "priority": 5}
        ]"#;
        let p = parse(text).unwrap();
        assert_eq!(p.jobs.len(), 2);
        assert_eq!(p.jobs[0].links().count(), 2);
        assert_eq!(p.jobs[0].enabled, Some(true));
        assert_eq!(p.jobs[0].priority, Some(0));
        assert_eq!(p.jobs[1].priority, Some(5));
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("weird"));
        let one = parse(r#"{"text":"https://1fichier.com/?aaaaa"}"#).unwrap();
        assert_eq!(one.jobs.len(), 1);
    }

    #[test]
    fn malformed_files_name_the_line_and_field() {
        let e = parse("text=https://1fichier.com/?aaaaa\nenabled=maybe\n").unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("enabled")));
        assert!(
            e.to_string().starts_with("line 2: field `enabled`: "),
            "{e}"
        );
        let e = parse("text=https://1fichier.com/?aaaaa\njust some words\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("packageName=x\n").unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("text")));
        let e = parse("[{\"text\": \"x\",}]").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        assert_eq!(e.line, Some(1));
        let e = parse(r#"[{"text":"https://1fichier.com/?aaaaa","priority":"SOON"}]"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("priority"));
        let e = parse(r#"[{"text":["a"]}]"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("text"));
        let e = parse("[1]").unwrap_err();
        assert!(e.to_string().contains("not a JSON object"));
        assert!(parse("").is_err());
        assert!(parse("# only a comment\n\n").is_err());
        assert!(parse("[]").is_err());
    }

    #[test]
    fn written_files_read_back_the_same() {
        let jobs = vec![
            CrawlJob {
                text: "https://1fichier.com/?aaaaa".into(),
                package_name: Some("P \"q\" = x\nnext".into()),
                filename: Some("a b.bin".into()),
                download_folder: Some("C:\\dl\\x".into()),
                download_password: Some("pw".into()),
                comment: Some("<b>hi</b>".into()),
                enabled: Some(true),
                auto_start: Some(false),
                priority: Some(3),
            },
            CrawlJob {
                text: "https://1fichier.com/?bbbbb".into(),
                priority: Some(17),
                ..CrawlJob::default()
            },
        ];
        let text = write(&jobs);
        let back = parse(&text).unwrap();
        assert_eq!(back.jobs, jobs);
        assert!(back.warnings.is_empty());
    }
}
