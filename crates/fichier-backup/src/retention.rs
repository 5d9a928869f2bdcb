//! Retention of backup versions: which dated version folders a `--keep-*` policy keeps, which it
//! prunes, and why (restic's `forget` rules, applied to `.versions/<stamp>` folders).

use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

/// How many versions to keep. All zero and no `within` means "keep everything": a backup
/// never prunes unless the user asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest version of each of the last N days that have one.
    pub daily: u32,
    /// The newest version of each of the last N ISO weeks that have one.
    pub weekly: u32,
    /// The newest version of each of the last N months that have one.
    pub monthly: u32,
    /// Every version younger than this, counted back from the newest version (not from now:
    /// a machine that was off for months must not lose every version on its first run back).
    pub within: Option<KeepWithin>,
}

impl Retention {
    /// True when no rule is set, so nothing is ever pruned.
    pub fn keeps_everything(&self) -> bool {
        self.daily == 0 && self.weekly == 0 && self.monthly == 0 && self.within.is_none()
    }

    /// Splits `stamps` into kept and pruned versions. Days, weeks and months are the
    /// calendar of `tz` (the user's, so "daily" means their nights). The newest version is
    /// always kept. Order of the input does not matter; both outputs are newest first.
    pub fn apply(&self, stamps: &[Timestamp], tz: &TimeZone) -> Verdict {
        let mut sorted: Vec<Timestamp> = stamps.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        if self.keeps_everything() {
            return Verdict {
                keep: sorted
                    .into_iter()
                    .map(|t| (t, vec![Reason::NoPolicy]))
                    .collect(),
                prune: Vec::new(),
            };
        }
        let zoned: Vec<ZonedDateTime> = sorted
            .iter()
            .map(|t| t.to_zoned_datetime(tz.clone()))
            .collect();
        let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); sorted.len()];
        if let Some(first) = reasons.first_mut() {
            first.push(Reason::Newest);
        }
        bucket(&zoned, self.daily, &mut reasons, |z| {
            let d = z.date();
            (Period::Day(d.year(), d.month(), d.day()), 0)
        });
        bucket(&zoned, self.weekly, &mut reasons, |z| {
            let w = z.iso_week_date();
            (Period::Week(w.year(), w.week()), 1)
        });
        bucket(&zoned, self.monthly, &mut reasons, |z| {
            let d = z.date();
            (Period::Month(d.year(), d.month()), 2)
        });
        if let (Some(within), Some(newest)) = (&self.within, zoned.first()) {
            // A span too large for the calendar reaches before any representable date: keep all.
            let limit = newest.checked_sub(within.0).ok().map(|z| z.timestamp());
            for (i, t) in sorted.iter().enumerate() {
                if limit.is_none_or(|l| *t >= l) {
                    reasons[i].push(Reason::Within(within.clone()));
                }
            }
        }
        let mut verdict = Verdict {
            keep: Vec::new(),
            prune: Vec::new(),
        };
        for (t, r) in sorted.into_iter().zip(reasons) {
            if r.is_empty() {
                verdict.prune.push(t);
            } else {
                verdict.keep.push((t, r));
            }
        }
        verdict
    }
}

/// Keeps the newest version of each of the `n` newest periods that have a version.
fn bucket(
    zoned: &[ZonedDateTime],
    n: u32,
    reasons: &mut [Vec<Reason>],
    key: impl Fn(&ZonedDateTime) -> (Period, u8),
) {
    let mut last: Option<Period> = None;
    let mut kept = 0u32;
    for (i, z) in zoned.iter().enumerate() {
        if kept >= n {
            break;
        }
        let (period, _) = key(z);
        if last.as_ref() != Some(&period) {
            reasons[i].push(Reason::Period(period.clone()));
            last = Some(period);
            kept += 1;
        }
    }
}

/// The outcome of [`Retention::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Kept versions, newest first, each with every rule that keeps it.
    pub keep: Vec<(Timestamp, Vec<Reason>)>,
    /// Versions no rule keeps, newest first.
    pub prune: Vec<Timestamp>,
}

/// Why a version is kept (shown by `--dry-run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No retention rule is set.
    NoPolicy,
    /// The newest version is never pruned.
    Newest,
    /// The newest version of this day, week or month.
    Period(Period),
    /// Younger than `--keep-within`.
    Within(KeepWithin),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoPolicy => f.write_str("no retention rule"),
            Reason::Newest => f.write_str("newest"),
            Reason::Period(p) => write!(f, "{p}"),
            Reason::Within(w) => write!(f, "within {w}"),
        }
    }
}

/// A calendar period of the daily, weekly or monthly rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// Year, month, day.
    Day(i16, i8, i8),
    /// ISO week-numbering year and week.
    Week(i16, i8),
    /// Year and month.
    Month(i16, i8),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day(y, m, d) => write!(f, "daily {y:04}-{m:02}-{d:02}"),
            Period::Week(y, w) => write!(f, "weekly {y:04}-W{w:02}"),
            Period::Month(y, m) => write!(f, "monthly {y:04}-{m:02}"),
        }
    }
}

/// A `--keep-within` span: a number and a unit, `h` hours, `d` days, `w` weeks, `m` months,
/// `y` years, several allowed (`1y6m`), as restic writes them.
#[derive(Debug, Clone)]
pub struct KeepWithin(Span, String);

// Two spans are the same rule when the user wrote the same text; `Span` itself has no `Eq`
// because `1d` and `24h` differ only relative to a date.
impl PartialEq for KeepWithin {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1
    }
}
impl Eq for KeepWithin {}

impl KeepWithin {
    /// Parses `30d`, `2w`, `6m`, `1y6m`, `36h`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("\"\": an empty span; give one such as 30d, 8w, 6m or 1y".into());
        }
        let mut span = Span::new();
        let mut digits = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let n: i64 = digits
                .parse()
                .map_err(|_| format!("{t:?}: a number must come before '{c}' (e.g. 30d)"))?;
            digits.clear();
            let added = match c {
                'h' => span.try_hours(span.get_hours() as i64 + n),
                'd' => span.try_days(span.get_days() as i64 + n),
                'w' => span.try_weeks(span.get_weeks() as i64 + n),
                'm' => span.try_months(span.get_months() as i64 + n),
                'y' => span.try_years(span.get_years() as i64 + n),
                _ => {
                    return Err(format!(
                        "{t:?}: unknown unit '{c}'; use h (hours), d (days), w (weeks), m (months) or y (years)"
                    ));
                }
            };
            span = added.map_err(|_| format!("{t:?}: the span is too large"))?;
        }
        if !digits.is_empty() {
            return Err(format!(
                "{t:?}: the number {digits} has no unit; write {digits}d for days"
            ));
        }
        Ok(KeepWithin(span, t.to_string()))
    }
}

impl fmt::Display for KeepWithin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.1)
    }
}

/// The name of a version folder for a run that started at `t`: UTC, to the second, sortable
/// as text (`2026-12-01T023015Z`).
pub fn version_folder_name(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H%M%SZ").to_string()
}

/// Reads a version folder name back. Accepts the minute form too (`2026-12-01T0230`), which
/// users may create by hand. Anything else is `None`: a folder we did not name is never pruned.
pub fn parse_version_folder_name(name: &str) -> Option<Timestamp> {
    let body = name.strip_suffix('Z').unwrap_or(name);
    let (date, time) = body.split_once('T')?;
    if !time.bytes().all(|b| b.is_ascii_digit()) || !date.is_ascii() {
        return None;
    }
    let (h, m, s) = match time.len() {
        4 => (&time[0..2], &time[2..4], "00"),
        6 => (&time[0..2], &time[2..4], &time[4..6]),
        _ => return None,
    };
    let text = format!("{date}T{h}:{m}:{s}");
    let dt: DateTime = text.parse().ok()?;
    if date.len() != 10 {
        return None;
    }
    dt.to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        parse_version_folder_name(s).unwrap()
    }

    fn kept(v: &Verdict) -> Vec<String> {
        v.keep
            .iter()
            .map(|(t, _)| version_folder_name(*t))
            .collect()
    }

    #[test]
    fn no_rule_keeps_every_version() {
        let stamps = [ts("2026-01-01T0000"), ts("2025-01-01T0000")];
        let v = Retention::default().apply(&stamps, &TimeZone::UTC);
        assert_eq!(v.keep.len(), 2);
        assert!(v.prune.is_empty());
    }

    #[test]
    fn daily_keeps_the_newest_of_each_of_the_last_days_with_versions() {
        let stamps = [
            ts("2026-12-01T2300"),
            ts("2026-12-01T0200"),
            ts("2026-11-30T0200"),
            ts("2026-11-28T0200"),
            ts("2026-11-20T0200"),
        ];
        let r = Retention {
            daily: 3,
            ..Default::default()
        };
        let v = r.apply(&stamps, &TimeZone::UTC);
        assert_eq!(
            kept(&v),
            [
                "2026-12-01T230000Z",
                "2026-11-30T020000Z",
                "2026-11-28T020000Z"
            ]
        );
        assert_eq!(v.prune.len(), 2);
    }

    #[test]
    fn weekly_and_monthly_count_calendar_periods_in_the_users_zone() {
        let stamps = [
            ts("2026-12-01T0200"), // Tue, W49
            ts("2026-11-29T0200"), // Sun, W48
            ts("2026-11-23T0200"), // Mon, W48
            ts("2026-10-15T0200"),
            ts("2026-09-15T0200"),
        ];
        let r = Retention {
            weekly: 2,
            monthly: 3,
            ..Default::default()
        };
        let v = r.apply(&stamps, &TimeZone::UTC);
        assert_eq!(
            kept(&v),
            [
                "2026-12-01T020000Z",
                "2026-11-29T020000Z",
                "2026-10-15T020000Z"
            ]
        );
        // In Tokyo, 2026-11-29T0200Z and 2026-11-23 still fall in W48, so nothing moves; a
        // late-evening UTC run lands on the next local day.
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let late = [ts("2026-11-30T2300"), ts("2026-11-30T0100")];
        let v = Retention {
            daily: 2,
            ..Default::default()
        }
        .apply(&late, &tokyo);
        assert_eq!(v.keep.len(), 2, "two local days in Tokyo");
        let v = Retention {
            daily: 2,
            ..Default::default()
        }
        .apply(&late, &TimeZone::UTC);
        assert_eq!(v.keep.len(), 1, "one UTC day");
    }

    #[test]
    fn within_counts_back_from_the_newest_version_not_from_now() {
        let stamps = [
            ts("2020-03-01T0000"),
            ts("2020-02-20T0000"),
            ts("2020-01-01T0000"),
        ];
        let r = Retention {
            within: Some(KeepWithin::parse("30d").unwrap()),
            ..Default::default()
        };
        let v = r.apply(&stamps, &TimeZone::UTC);
        assert_eq!(kept(&v), ["2020-03-01T000000Z", "2020-02-20T000000Z"]);
        assert_eq!(
            v.keep[1].1,
            vec![Reason::Within(KeepWithin::parse("30d").unwrap())]
        );
    }

    #[test]
    fn keep_within_parses_restic_spans_and_names_the_mistake() {
        assert!(KeepWithin::parse("1y6m").is_ok());
        assert!(KeepWithin::parse("36h").is_ok());
        assert!(KeepWithin::parse("30").unwrap_err().contains("30d"));
        assert!(
            KeepWithin::parse("3x")
                .unwrap_err()
                .contains("unknown unit 'x'")
        );
        assert!(
            KeepWithin::parse("d")
                .unwrap_err()
                .contains("number must come before")
        );
        assert!(KeepWithin::parse("").is_err());
    }

    #[test]
    fn folder_names_round_trip_and_foreign_names_are_never_read_as_versions() {
        let t = ts("2026-12-01T023015Z");
        assert_eq!(version_folder_name(t), "2026-12-01T023015Z");
        assert_eq!(ts("2026-12-01T0230"), ts("2026-12-01T023000Z"));
        for bad in [
            "photos",
            "2026-12-01",
            "2026-12-01T02",
            "2026-13-01T0230",
            "2026-12-01T02:30",
            "x026-12-01T0230",
        ] {
            assert_eq!(parse_version_folder_name(bad), None, "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_newest_is_kept_and_every_version_is_kept_or_pruned_once(
            secs in proptest::collection::vec(0i64..400_000_000, 1..40),
            daily in 0u32..5, weekly in 0u32..5, monthly in 0u32..5,
        ) {
            let stamps: Vec<Timestamp> = secs.iter().map(|s| Timestamp::from_second(1_600_000_000 + s).unwrap()).collect();
            let r = Retention { daily, weekly, monthly, within: None };
            let v = r.apply(&stamps, &TimeZone::UTC);
            let newest = stamps.iter().max().unwrap();
            prop_assert_eq!(v.keep.first().map(|k| k.0), Some(*newest));
            let mut distinct = stamps.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(v.keep.len() + v.prune.len(), distinct.len());
            // Applying the policy again to what it kept prunes nothing more.
            let again = r.apply(&v.keep.iter().map(|k| k.0).collect::<Vec<_>>(), &TimeZone::UTC);
            prop_assert!(again.prune.is_empty());
        }

        #[test]
        fn folder_name_parsing_never_panics(name in "\\PC{0,24}") {
            let _ = parse_version_folder_name(&name);
        }

        #[test]
        fn keep_within_parsing_never_panics(text in "[0-9hdwmyx ]{0,12}") {
            let _ = KeepWithin::parse(&text);
        }
    }
}
