//! Scheduler files for long-running work (`backup schedule`, `daemon install`): systemd user
//! service and timer units, and the crontab line for machines without systemd. Only text and
//! file writing here; the commands decide what to run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A time of day for `--daily HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyAt {
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
}

impl DailyAt {
    /// Parses `02:30` or `2:30`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--daily {text:?}: expected a time of day as HH:MM, e.g. 02:30");
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(DailyAt { hour, minute })
    }

    /// systemd's `OnCalendar=` form.
    pub fn on_calendar(self) -> String {
        format!("*-*-* {:02}:{:02}:00", self.hour, self.minute)
    }
}

/// Quotes one argument for a systemd `ExecStart=` line: `%` and `$` doubled (systemd would
/// expand them), and double quotes around anything with a space, quote or backslash.
pub fn systemd_quote(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'' || c == ';')
    {
        return escaped;
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes one argument for a POSIX shell (a crontab line): single quotes, `'` as `'\''`, and
/// `%` escaped (cron turns a bare `%` into a newline).
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c));
    let quoted = if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    };
    quoted.replace('%', "\\%")
}

/// A `Type=oneshot` (backup) or `Type=simple` (daemon) user service.
pub fn service_unit(description: &str, exec: &[String], oneshot: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[Unit]\nDescription={}", description.replace('\n', " "));
    let _ = writeln!(
        s,
        "Wants=network-online.target\nAfter=network-online.target\n"
    );
    let _ = writeln!(s, "[Service]");
    if oneshot {
        let _ = writeln!(s, "Type=oneshot");
    } else {
        let _ = writeln!(s, "Type=simple\nRestart=on-failure\nRestartSec=30");
    }
    let line: Vec<String> = exec.iter().map(|a| systemd_quote(a)).collect();
    let _ = writeln!(s, "ExecStart={}", line.join(" "));
    // The key stays where `fichier auth login` put it (keyring or 0600 file); nothing secret here.
    let _ = writeln!(s, "Nice=10\nIOSchedulingClass=idle");
    if !oneshot {
        let _ = writeln!(s, "\n[Install]\nWantedBy=default.target");
    }
    s
}

/// A timer that starts `service` every day at `at`, catching up after the machine was off.
pub fn timer_unit(description: &str, service: &str, at: DailyAt) -> String {
    format!(
        "[Unit]\nDescription={}\n\n[Timer]\nOnCalendar={}\nPersistent=true\nRandomizedDelaySec=300\nUnit={service}\n\n[Install]\nWantedBy=timers.target\n",
        description.replace('\n', " "),
        at.on_calendar()
    )
}

/// The crontab line for machines without systemd (an argument holding a newline cannot be
/// written on one crontab line).
pub fn crontab_line(at: DailyAt, exec: &[String]) -> Result<String, String> {
    if let Some(bad) = exec.iter().find(|a| a.contains('\n')) {
        return Err(format!(
            "argument {bad:?} holds a line break, which a crontab line cannot carry"
        ));
    }
    let cmd: Vec<String> = exec.iter().map(|a| shell_quote(a)).collect();
    Ok(format!("{} {} * * * {}", at.minute, at.hour, cmd.join(" ")))
}

/// The systemd user unit directory (`$XDG_CONFIG_HOME/systemd/user`), from fichier's own
/// config directory (`$XDG_CONFIG_HOME/fichier`).
pub fn user_unit_dir(fichier_config_dir: &Path) -> PathBuf {
    fichier_config_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("systemd")
        .join("user")
}

/// Writes unit files into `dir`, refusing to replace a different existing file unless
/// `force`; an identical one is left as is. Returns the paths written.
pub fn write_units(
    dir: &Path,
    files: &[(String, String)],
    force: bool,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path)
            && existing != *text
            && !force
        {
            return Err(format!(
                "{} already exists with other content; use --force to replace it",
                path.display()
            ));
        }
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// A unit name for a profile name: systemd unit names allow `[A-Za-z0-9:_.\-]`, everything
/// else is escaped as `\xNN` the way `systemd-escape` does.
pub fn unit_name_part(profile: &str) -> String {
    let mut out = String::new();
    for (i, b) in profile.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b':' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else if b == b'/' {
            out.push('-');
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn daily_times_parse_and_name_the_mistake() {
        assert_eq!(
            DailyAt::parse("02:30"),
            Ok(DailyAt {
                hour: 2,
                minute: 30
            })
        );
        assert_eq!(
            DailyAt::parse("2:05").unwrap().on_calendar(),
            "*-*-* 02:05:00"
        );
        for bad in ["24:00", "02:60", "0230", "2:5", "", "aa:bb", "-1:30"] {
            assert!(DailyAt::parse(bad).unwrap_err().contains("HH:MM"), "{bad}");
        }
    }

    #[test]
    fn units_quote_arguments_that_systemd_would_expand() {
        let exec = vec![
            "/usr/bin/fichier".to_string(),
            "backup".into(),
            "my photos".into(),
            "100%".into(),
            "$HOME".into(),
        ];
        let unit = service_unit("fichier backup photos", &exec, true);
        assert!(
            unit.contains("ExecStart=/usr/bin/fichier backup \"my photos\" 100%% $$HOME\n"),
            "{unit}"
        );
        assert!(unit.contains("Type=oneshot"));
        let timer = timer_unit(
            "nightly",
            "fichier-backup-photos.service",
            DailyAt {
                hour: 2,
                minute: 30,
            },
        );
        assert!(timer.contains("OnCalendar=*-*-* 02:30:00\nPersistent=true"));
        assert_eq!(
            crontab_line(
                DailyAt {
                    hour: 2,
                    minute: 30
                },
                &exec
            )
            .unwrap(),
            "30 2 * * * /usr/bin/fichier backup 'my photos' '100\\%' '$HOME'"
        );
    }

    #[test]
    fn an_existing_different_unit_is_not_replaced_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![("a.service".to_string(), "one".to_string())];
        write_units(dir.path(), &files, false).unwrap();
        write_units(dir.path(), &files, false).unwrap();
        let other = vec![("a.service".to_string(), "two".to_string())];
        assert!(
            write_units(dir.path(), &other, false)
                .unwrap_err()
                .contains("--force")
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.service")).unwrap(),
            "one"
        );
        write_units(dir.path(), &other, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.service")).unwrap(),
            "two"
        );
    }

    #[test]
    fn profile_names_become_valid_unit_names() {
        assert_eq!(unit_name_part("photos"), "photos");
        assert_eq!(unit_name_part("my photos"), "my\\x20photos");
        assert_eq!(unit_name_part(".hidden"), "\\x2ehidden");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn quoted_arguments_never_break_out(arg in "\\PC{0,20}") {
            let q = systemd_quote(&arg);
            prop_assert!(!q.contains('\n'));
            let line = crontab_line(DailyAt { hour: 1, minute: 2 }, std::slice::from_ref(&arg));
            prop_assert!(line.is_err() || !line.unwrap().contains('\n'));
            let u = unit_name_part(&arg);
            prop_assert!(u.bytes().all(|b| b.is_ascii_alphanumeric() || b"_:.-\\x".contains(&b)));
        }
    }
}
