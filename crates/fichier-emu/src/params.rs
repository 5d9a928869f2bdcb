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
