//! The time-of-day bandwidth timetable (`--timetable "08:00,2M 23:00,off"`): which global rate
//! applies at a given local time, wrapping around midnight.

use jiff::civil::Time;

use crate::limits::parse_rate;

/// A daily bandwidth timetable: from each listed time of day until the next, one rate
/// (`None` = unlimited). Before the first entry of the day the last entry of the previous day
/// still applies (the table wraps around midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timetable {
    /// (minute of the day, rate), sorted by minute, one entry per minute at most.
    entries: Vec<(u16, Option<u64>)>,
}

impl Timetable {
    /// Parses entries separated by spaces (or commas between entries are not allowed: the
    /// comma joins a time and its rate): `HH:MM,RATE` where RATE is `500k`, `2M`, `1G`
    /// (bytes per second, binary multiples like `--limit-rate`) or `off`/`unlimited`. A lone
    /// `RATE` is a constant limit. Errors name the token that is wrong.
    pub fn parse(text: &str) -> Result<Timetable, String> {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        if tokens.is_empty() {
            return Err("the timetable is empty: write entries like \"08:00,2M 23:00,off\"".into());
        }
        if tokens.len() == 1 && !tokens[0].contains(',') {
            return Ok(Timetable {
                entries: vec![(0, parse_limit(tokens[0]).map_err(|e| bad(tokens[0], &e))?)],
            });
        }
        let mut entries: Vec<(u16, Option<u64>)> = Vec::new();
        for token in tokens {
            let Some((time, rate)) = token.split_once(',') else {
                return Err(bad(
                    token,
                    "expected HH:MM,RATE (e.g. 08:00,2M or 23:00,off)",
                ));
            };
            let minute = parse_minute(time).map_err(|e| bad(token, &e))?;
            let rate = parse_limit(rate).map_err(|e| bad(token, &e))?;
            if entries.iter().any(|(m, _)| *m == minute) {
                return Err(bad(token, &format!("{time} is listed twice")));
            }
            entries.push((minute, rate));
        }
        entries.sort_by_key(|(m, _)| *m);
        Ok(Timetable { entries })
    }

    /// The rate at local time `t` (`None` = unlimited).
    pub fn rate_at(&self, t: Time) -> Option<u64> {
        let minute = (t.hour() as u16) * 60 + t.minute() as u16;
        self.entries
            .iter()
            .rev()
            .find(|(m, _)| *m <= minute)
            .or_else(|| self.entries.last())
            .and_then(|(_, r)| *r)
    }

    /// The table as it can be written back (`08:00,2097152 23:00,off`).
    pub fn describe(&self) -> String {
        self.entries
            .iter()
            .map(|(m, r)| {
                let rate = r.map_or_else(|| "off".to_owned(), |r| r.to_string());
                format!("{:02}:{:02},{rate}", m / 60, m % 60)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn bad(token: &str, why: &str) -> String {
    format!("timetable entry {token:?}: {why}")
}

fn parse_minute(text: &str) -> Result<u16, String> {
    let (h, m) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not a time of day (HH:MM, 00:00 to 23:59)"))?;
    let h: u16 = h
        .parse()
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| format!("{text:?} has no valid hour (00 to 23)"))?;
    let m: u16 = m
        .parse()
        .ok()
        .filter(|m| *m < 60 && m_len_ok(text))
        .ok_or_else(|| format!("{text:?} has no valid minute (00 to 59)"))?;
    Ok(h * 60 + m)
}

fn m_len_ok(text: &str) -> bool {
    text.rsplit(':').next().is_some_and(|m| m.len() == 2)
}

fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "unlimited" | "none" => Ok(None),
        _ => parse_rate(text).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i8, m: i8) -> Time {
        Time::new(h, m, 0, 0).unwrap()
    }

    #[test]
    fn rates_by_time_of_day() {
        let t = Timetable::parse("08:00,2M 12:30,500k 23:00,off").unwrap();
        assert_eq!(t.rate_at(at(8, 0)), Some(2 << 20));
        assert_eq!(t.rate_at(at(12, 29)), Some(2 << 20));
        assert_eq!(t.rate_at(at(12, 30)), Some(512_000));
        assert_eq!(t.rate_at(at(23, 0)), None);
        assert_eq!(t.rate_at(at(23, 59)), None);
    }

    #[test]
    fn wraps_around_midnight() {
        // Listed out of order: sorted. Before 08:00 the 22:00 entry of the day before holds.
        let t = Timetable::parse("22:00,1M 08:00,off").unwrap();
        assert_eq!(t.rate_at(at(0, 0)), Some(1 << 20));
        assert_eq!(t.rate_at(at(7, 59)), Some(1 << 20));
        assert_eq!(t.rate_at(at(8, 0)), None);
        assert_eq!(t.rate_at(at(21, 59)), None);
        assert_eq!(t.rate_at(at(22, 0)), Some(1 << 20));
        assert_eq!(t.describe(), "08:00,off 22:00,1048576");
    }

    #[test]
    fn a_lone_rate_is_constant() {
        let t = Timetable::parse("3M").unwrap();
        assert_eq!(t.rate_at(at(0, 0)), Some(3 << 20));
        assert_eq!(t.rate_at(at(13, 7)), Some(3 << 20));
        assert_eq!(Timetable::parse(" off ").unwrap().rate_at(at(5, 0)), None);
    }

    #[test]
    fn errors_name_the_bad_token() {
        for (text, token) in [
            ("08:00,2M 25:00,off", "25:00,off"),
            ("08:00,2M 09:61,1M", "09:61,1M"),
            ("08:00,fast", "08:00,fast"),
            ("08:00 2M", "08:00"),
            ("08:00,2M 8:00,1M", "8:00,1M"),
            ("08:00,0", "08:00,0"),
            ("8,1M", "8,1M"),
            ("08:5,1M", "08:5,1M"),
        ] {
            let e = Timetable::parse(text).unwrap_err();
            assert!(e.contains(&format!("{token:?}")), "{text}: {e}");
        }
        assert!(Timetable::parse("  ").unwrap_err().contains("empty"));
        assert!(
            Timetable::parse("08:00,1M 08:00,2M")
                .unwrap_err()
                .contains("twice")
        );
    }
}
