//! Edge parsing of 1fichier's loose wire values: numbers sent as strings, 0/1 flags, local
//! Paris date strings, empty strings meaning "absent". Every type in `types` goes through here.

use std::sync::OnceLock;

use jiff::ZonedDateTime;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serializer};
use serde_json::Value;

/// The time zone of every date the service sends (no zone marker on the wire).
pub fn paris() -> TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| {
        TimeZone::get("Europe/Paris").expect("Europe/Paris is in the bundled tz database")
    })
    .clone()
}

/// Parses a service date (`YYYY-MM-DD HH:MM:SS`, Paris local time). Empty strings, zero dates
/// and the `1970-01-01 …` placeholder used for "not yet" give `None`.
pub fn parse_date(s: &str) -> Result<Option<ZonedDateTime>, String> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") || s.starts_with("1970-01-01") {
        return Ok(None);
    }
    let civil = DateTime::strptime("%Y-%m-%d %H:%M:%S", s)
        .or_else(|_| DateTime::strptime("%Y-%m-%d", s))
        .map_err(|e| format!("date {s:?} is not YYYY-MM-DD HH:MM:SS: {e}"))?;
    civil
        .to_zoned_datetime(paris())
        .map(Some)
        .map_err(|e| format!("date {s:?} does not exist in Europe/Paris: {e}"))
}

/// Formats a date the way the service expects it in requests (Paris local time).
pub fn format_date(date: &ZonedDateTime) -> String {
    date.with_time_zone(paris())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub(crate) fn de_opt_date<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ZonedDateTime>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_date(&s).map_err(de::Error::custom),
        Some(other) => Err(de::Error::custom(format!(
            "expected a date string, got {other}"
        ))),
    }
}

pub(crate) fn ser_opt_date<S: Serializer>(
    v: &Option<ZonedDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(z) => s.serialize_str(&z.to_string()),
        None => s.serialize_none(),
    }
}

fn value_to_u64(v: &Value) -> Result<Option<u64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("expected a non-negative integer, got {n}")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("expected a non-negative integer, got {s:?}")),
        other => Err(format!("expected an integer, got {other}")),
    }
}

fn value_to_i64(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("expected an integer, got {n}")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("expected an integer, got {s:?}")),
        other => Err(format!("expected an integer, got {other}")),
    }
}

/// An integer sent as a JSON number or a decimal string.
pub(crate) fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    value_to_u64(&v)
        .map_err(de::Error::custom)?
        .ok_or_else(|| de::Error::custom("missing integer"))
}

/// An optional integer sent as a JSON number, a decimal string, null or "".
pub(crate) fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v) => value_to_u64(&v).map_err(de::Error::custom),
    }
}

/// An optional signed integer (remaining quota may be negative when exceeded).
pub(crate) fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v) => value_to_i64(&v).map_err(de::Error::custom),
    }
}

/// An optional decimal number sent as a number or a string (`"12.5"`).
pub(crate) fn de_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a decimal number, got {s:?}"))),
        Some(other) => Err(de::Error::custom(format!("expected a number, got {other}"))),
    }
}

fn value_to_flag(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) => Ok(Some(n.as_f64().unwrap_or(0.0) != 0.0)),
        Value::String(s) => match s.trim() {
            "" => Ok(None),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            other => Err(format!("expected a 0/1 flag, got {other:?}")),
        },
        // An object (file/info's `acl`) or array counts as "set" when non-empty.
        Value::Object(m) => Ok(Some(!m.is_empty())),
        Value::Array(a) => Ok(Some(!a.is_empty())),
    }
}

/// A 0/1 flag (number, string or bool); absent means false.
pub(crate) fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(false),
        Some(v) => Ok(value_to_flag(&v)
            .map_err(de::Error::custom)?
            .unwrap_or(false)),
    }
}

/// An optional 0/1 flag.
pub(crate) fn de_opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v) => value_to_flag(&v).map_err(de::Error::custom),
    }
}

/// A string where "" means absent.
pub(crate) fn de_opt_nonempty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(de::Error::custom(format!("expected a string, got {other}"))),
    }
}

/// A list that may be missing, null, or (for some PHP backends) an empty object.
pub(crate) fn de_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) if m.is_empty() => Ok(Vec::new()),
        Some(v @ Value::Array(_)) => serde_json::from_value(v).map_err(de::Error::custom),
        Some(other) => Err(de::Error::custom(format!("expected a list, got {other}"))),
    }
}

/// Serialises a bool as the 0/1 integer the service expects.
pub(crate) fn ser_flag<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*v))
}

/// Serialises an optional bool as an optional 0/1 integer.
pub(crate) fn ser_opt_flag<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_u8(u8::from(*b)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_dates_winter_and_summer() {
        let w = parse_date("2024-01-15 12:00:00").unwrap().unwrap();
        assert_eq!(w.timestamp().to_string(), "2024-01-15T11:00:00Z");
        let s = parse_date("2024-07-15 12:00:00").unwrap().unwrap();
        assert_eq!(s.timestamp().to_string(), "2024-07-15T10:00:00Z");
        assert_eq!(format_date(&s), "2024-07-15 12:00:00");
        assert_eq!(parse_date("").unwrap(), None);
        assert_eq!(parse_date("1970-01-01 01:00:00").unwrap(), None);
        assert!(parse_date("14/03/2024").is_err());
    }
}
