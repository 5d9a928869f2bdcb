//! Clock and date formatting: the service writes `YYYY-MM-DD HH:MM:SS` in Europe/Paris time.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::{Timestamp, civil::DateTime};

fn paris() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC))
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    Timestamp::now().as_second()
}

/// Format a Unix time as the service does (Paris local time, no zone marker).
pub fn fmt_date(ts: i64) -> String {
    let t = Timestamp::from_second(ts).unwrap_or(Timestamp::UNIX_EPOCH);
    t.to_zoned_datetime(paris().clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Parse a service date (`YYYY-MM-DD HH:MM:SS`, Paris time) into a Unix time.
pub fn parse_date(s: &str) -> Option<i64> {
    let dt = DateTime::strptime("%Y-%m-%d %H:%M:%S", s.trim()).ok()?;
    Some(
        dt.to_zoned_datetime(paris().clone())
            .ok()?
            .timestamp()
            .as_second(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_epoch() {
        assert_eq!(fmt_date(0), "1970-01-01 01:00:00");
        let t = parse_date("2024-03-14 16:05:09").unwrap();
        assert_eq!(fmt_date(t), "2024-03-14 16:05:09");
        assert!(parse_date("14/03/2024").is_none());
    }
}
