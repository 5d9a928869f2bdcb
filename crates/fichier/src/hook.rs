//! Runs the user's hook commands (`backup --on-success/--on-failure`, `daemon --on-done/
//! --on-package-done`): `sh -c CMD` with the given variables, its output on our stderr (so
//! `--json` keeps stdout to the data), never the key in its environment, stopped after 10 min.

use std::process::Stdio;
use std::time::Duration;

/// How long a hook may run before it is stopped (a hung hook must not hang cron forever).
const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `cmd` and waits for it; the error says what went wrong, for a warning.
pub async fn run(cmd: &str, env: Vec<(String, String)>) -> Result<(), String> {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c").arg(cmd).stdin(Stdio::null()).kill_on_drop(true);
    // The hook must never see the key, whatever variable the user passed it in.
    c.env_remove(crate::credentials::ENV_KEY);
    for (k, v) in env {
        c.env(k, v);
    }
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned() {
        c.stdout(Stdio::from(fd));
    }
    let mut child = c.spawn().map_err(|e| format!("cannot start `sh`: {e}"))?;
    match tokio::time::timeout(HOOK_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(match status.code() {
            Some(code) => format!("it exited with status {code}"),
            None => "it was killed by a signal".to_string(),
        }),
        Ok(Err(e)) => Err(format!("waiting for it failed: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "it ran longer than {} s and was stopped",
                HOOK_TIMEOUT.as_secs()
            ))
        }
    }
}
