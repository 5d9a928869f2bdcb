//! What a finished backup run tells the outside world: the `--notify-url` POST of the JSON
//! summary and the `--on-success` / `--on-failure` hooks with the summary in environment
//! variables. Every failure here is a warning: it never changes the run's outcome.

use std::time::Duration;

use serde_json::Value;

use super::backup_report::RunReport;
use crate::error::Failure;
use crate::printer::Printer;

/// How long a notification POST may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// Prefix of the hooks' environment variables.
const ENV_PREFIX: &str = "FICHIER_BACKUP_";

/// The notification URL and hooks of one run.
#[derive(Debug, Default, Clone)]
pub struct Notify {
    /// Where the JSON summary is POSTed.
    pub url: Option<url::Url>,
    /// `sh -c` command run after a successful run.
    pub on_success: Option<String>,
    /// `sh -c` command run after a run that did not succeed.
    pub on_failure: Option<String>,
}

impl Notify {
    /// From the flags (which win) and the profile; a malformed URL is a usage error, given
    /// before anything runs.
    pub fn new(
        url: Option<&str>,
        on_success: Option<&str>,
        on_failure: Option<&str>,
    ) -> anyhow::Result<Notify> {
        let url = url
            .map(|u| {
                let parsed = url::Url::parse(u).map_err(|e| {
                    Failure::usage(format!("--notify-url: not a URL ({e})")).with_hint(
                        "give an http:// or https:// URL, e.g. https://hooks.example.com/backup",
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(Failure::usage(format!(
                        "--notify-url: scheme `{}` is not supported",
                        parsed.scheme()
                    ))
                    .with_hint("give an http:// or https:// URL")
                    .into());
                }
                Ok::<_, anyhow::Error>(parsed)
            })
            .transpose()?;
        let cmd = |c: Option<&str>| c.map(str::trim).filter(|c| !c.is_empty()).map(String::from);
        Ok(Notify {
            url,
            on_success: cmd(on_success),
            on_failure: cmd(on_failure),
        })
    }

    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.on_success.is_none() && self.on_failure.is_none()
    }

    /// Posts the summary and runs the hook matching `success`; problems become warnings.
    pub async fn fire(&self, printer: &Printer, summary: &RunReport, success: bool) {
        if let Some(url) = &self.url
            && let Err(e) = post(url, summary).await
        {
            printer.warn(&format!(
                "notification to {} failed: {e}; the backup's outcome is unchanged",
                shown(url)
            ));
        }
        let (hook, which) = if success {
            (&self.on_success, "--on-success")
        } else {
            (&self.on_failure, "--on-failure")
        };
        if let Some(cmd) = hook
            && let Err(e) = crate::hook::run(cmd, env_vars(&to_value(summary))).await
        {
            printer.warn(&format!(
                "{which} hook failed: {e}; the backup's outcome is unchanged"
            ));
        }
    }
}

/// Scheme, host and port only: a notification URL often carries a token in its path or query.
fn shown(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

async fn post(url: &url::Url, summary: &RunReport) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT)
        .user_agent(concat!("fichier/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(url.clone())
        .json(summary)
        .send()
        .await
        // Without the URL: reqwest's messages quote it whole.
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", NOTIFY_TIMEOUT.as_secs())
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                "request failed".to_string()
            }
        })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the server answered {}", resp.status()))
    }
}

/// The summary as a tree of values, to walk its keys.
fn to_value(summary: &RunReport) -> Value {
    serde_json::to_value(summary).unwrap_or_default()
}

/// The summary as environment variables: `FICHIER_BACKUP_<FIELD>` for each scalar field, the
/// count for lists (`_SKIPPED`, `_FAILED`), and the whole JSON in `FICHIER_BACKUP_SUMMARY`.
pub fn env_vars(summary: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Value::Object(m) = summary {
        for (k, v) in m {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => a.len().to_string(),
                Value::Null | Value::Object(_) => continue,
            };
            out.push((format!("{ENV_PREFIX}{}", k.to_ascii_uppercase()), value));
        }
    }
    out.push((format!("{ENV_PREFIX}SUMMARY"), summary.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_fields_become_upper_case_variables_and_lists_their_counts() {
        // not an output schema: the input of env_vars, shaped like a summary
        let v = serde_json::json!({
            "profile": "photos", "outcome": "done", "uploaded": 3, "changed": true,
            "failed": [{"path": "a", "reason": "b"}], "stopped": null, "seconds": 1.5,
        });
        let env = env_vars(&v);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("FICHIER_BACKUP_PROFILE"), Some("photos"));
        assert_eq!(get("FICHIER_BACKUP_OUTCOME"), Some("done"));
        assert_eq!(get("FICHIER_BACKUP_UPLOADED"), Some("3"));
        assert_eq!(get("FICHIER_BACKUP_CHANGED"), Some("true"));
        assert_eq!(get("FICHIER_BACKUP_FAILED"), Some("1"));
        assert_eq!(get("FICHIER_BACKUP_STOPPED"), None);
        assert!(
            get("FICHIER_BACKUP_SUMMARY")
                .unwrap()
                .contains("\"photos\"")
        );
    }

    #[test]
    fn notify_urls_must_be_http() {
        assert!(Notify::new(Some("ftp://x/y"), None, None).is_err());
        assert!(Notify::new(Some("not a url"), None, None).is_err());
        let n = Notify::new(Some("https://h.example:8443/t/SECRET?x=1"), Some(" "), None).unwrap();
        assert_eq!(shown(n.url.as_ref().unwrap()), "https://h.example:8443");
        assert!(n.on_success.is_none());
    }
}
