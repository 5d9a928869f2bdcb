//! Typed access to a JSON request body, refusing wrong types with a KO that names the field.

use serde_json::{Map, Value};

use crate::error::Ko;

/// Fields of a `/v1` request body (a JSON object; an empty body is `{}`).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// Parse a body. Empty means `{}`; anything but a JSON object is refused.
    pub fn parse(body: &[u8]) -> Result<Params, Ko> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Params::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Params(m)),
            Ok(_) => Err(Ko::forbidden(
                "Invalid request: the body must be a JSON object #0",
            )),
            Err(e) => Err(Ko::forbidden(format!(
                "Invalid request: malformed JSON body ({e}) #0"
            ))),
        }
    }

    fn get(&self, k: &str) -> Option<&Value> {
        match self.0.get(k) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// Optional integer; numeric strings are accepted as PHP-style backends do.
    pub fn opt_int(&self, k: &str) -> Result<Option<i64>, Ko> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => as_int(v)
                .map(Some)
                .ok_or_else(|| Ko::bad_type(k, "an integer")),
        }
    }

    /// Required integer.
    pub fn int(&self, k: &str) -> Result<i64, Ko> {
        self.opt_int(k)?.ok_or_else(|| Ko::missing(k))
    }

    /// Optional 0/1 flag (also `true`/`false`).
    pub fn opt_flag(&self, k: &str) -> Result<Option<bool>, Ko> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => match as_int(v) {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(Ko::bad_type(k, "0 or 1")),
            },
        }
    }

    /// Optional string.
    pub fn opt_str(&self, k: &str) -> Result<Option<&str>, Ko> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Ko::bad_type(k, "a string")),
        }
    }

    /// Required string.
    pub fn str(&self, k: &str) -> Result<&str, Ko> {
        self.opt_str(k)?.ok_or_else(|| Ko::missing(k))
    }

    /// Optional array.
    pub fn opt_array(&self, k: &str) -> Result<Option<&Vec<Value>>, Ko> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(Ko::bad_type(k, "an array")),
        }
    }

    /// Required, non-empty array.
    pub fn array(&self, k: &str) -> Result<&Vec<Value>, Ko> {
        let a = self.opt_array(k)?.ok_or_else(|| Ko::missing(k))?;
        if a.is_empty() {
            return Err(Ko::forbidden(format!(
                "Invalid parameter {k}: the list is empty #0"
            )));
        }
        Ok(a)
    }

    /// Required, non-empty array of strings.
    pub fn strings(&self, k: &str) -> Result<Vec<String>, Ko> {
        self.array(k)?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Ko::bad_type(k, "an array of strings"))
            })
            .collect()
    }

    /// Optional object.
    pub fn opt_object(&self, k: &str) -> Result<Option<&Map<String, Value>>, Ko> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(Ko::bad_type(k, "an object")),
        }
    }
}

/// An integer from a JSON number or numeric string.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: a `Params` or a KO naming the problem, never a panic.
        #[test]
        fn parse_never_panics(body in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Err(k) = Params::parse(&body) {
                prop_assert!(k.message.starts_with("Invalid request"));
            }
        }

        /// A JSON object survives text and back; every accessor answers without panicking.
        #[test]
        fn objects_round_trip_and_accessors_hold(
            m in prop::collection::btree_map("[a-z_]{1,6}", value(), 0..6),
        ) {
            let obj: Map<String, Value> = m.into_iter().collect();
            let text = serde_json::to_vec(&Value::Object(obj.clone())).unwrap();
            let p = Params::parse(&text).unwrap();
            prop_assert_eq!(&p.0, &obj);
            for k in obj.keys() {
                let _ = p.opt_int(k);
                let _ = p.opt_flag(k);
                let _ = p.opt_str(k);
                let _ = p.opt_array(k);
                let _ = p.strings(k);
                let _ = p.opt_object(k);
            }
        }

        /// Integers read the same from a number and from a (padded) numeric string.
        #[test]
        fn numeric_strings_read_as_integers(n in any::<i64>(), pad in " {0,2}") {
            let body = serde_json::json!({"a": n, "b": format!("{pad}{n}{pad}")}).to_string();
            let p = Params::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(p.opt_int("a").unwrap(), Some(n));
            prop_assert_eq!(p.opt_int("b").unwrap(), Some(n));
        }
    }

    #[test]
    fn types_are_checked() {
        let p = Params::parse(br#"{"a":1,"b":"2","c":"x","d":[1],"e":null}"#).unwrap();
        assert_eq!(p.opt_int("a").unwrap(), Some(1));
        assert_eq!(p.opt_int("b").unwrap(), Some(2));
        assert!(
            p.opt_int("c")
                .unwrap_err()
                .message
                .contains("c: expected an integer")
        );
        assert!(p.opt_int("d").is_err());
        assert_eq!(p.opt_int("e").unwrap(), None);
        assert!(
            p.str("zz")
                .unwrap_err()
                .message
                .contains("Missing parameter zz")
        );
        assert!(Params::parse(b"").is_ok());
        assert!(Params::parse(b"[1]").is_err());
        assert!(Params::parse(b"{nope").is_err());
    }
}
