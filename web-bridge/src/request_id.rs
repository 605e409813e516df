//! Request IDs: the rendezvous key a website shows in its QR code and a wallet echoes back.
//! Clients send UUID strings or (2024 Android builds) JSON numbers; both are kept exactly as given
//! because the original compares them with `===`, so `"1"` and `1` are different requests.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest accepted string form; UUIDs are 36 characters.
pub const MAX_REQUEST_ID_LEN: usize = 256;

/// Why a value is not a request ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestIdError {
    #[error("requestId must be a string or a number")]
    WrongType,
    #[error("requestId must be 1 to {MAX_REQUEST_ID_LEN} characters")]
    Length,
}

/// A request ID as the client sent it: a JSON string or a JSON number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct RequestId(Value);

impl RequestId {
    /// Reads an optional `requestId` field; `null` counts as absent.
    pub fn from_extension(value: Option<&Value>) -> Result<Option<Self>, RequestIdError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Self::try_from(v.clone()).map(Some),
        }
    }

    /// The JSON value, as given.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// A canonical text key that keeps strings and numbers apart (`s:…` / `n:…`). Numbers are
    /// compared as the original's `===` compares them, as doubles: a wallet that sends `424242.0`
    /// (Kotlin's `toDouble()`) meets the website that sent `424242`.
    pub fn key(&self) -> String {
        match &self.0 {
            Value::String(s) => format!("s:{s}"),
            Value::Number(n) => match n.as_f64() {
                Some(f) => format!("n:{f}"),
                None => format!("n:{n}"),
            },
            other => format!("n:{other}"),
        }
    }

    /// The request ID a key names (a number in its canonical form), or `None` for text that is
    /// not a key.
    pub fn from_key(key: &str) -> Option<Self> {
        let value = match key.split_once(':')? {
            ("s", text) => Value::String(text.to_owned()),
            // Rust's float parsing is exact where serde_json's default is not (for long
            // decimals), and the key is Rust's shortest round-trip form of the double.
            ("n", number) => Value::Number(number_of(number.parse::<f64>().ok()?)?),
            _ => return None,
        };
        Self::try_from(value).ok()
    }
}

/// A double as a JSON number: an integer when it is one (as JavaScript would print it).
fn number_of(f: f64) -> Option<serde_json::Number> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        Some(serde_json::Number::from(f as i64))
    } else {
        serde_json::Number::from_f64(f)
    }
}

impl TryFrom<Value> for RequestId {
    type Error = RequestIdError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        match &value {
            Value::String(s) if !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN => Ok(Self(value)),
            Value::String(_) => Err(RequestIdError::Length),
            Value::Number(_) => Ok(Self(value)),
            _ => Err(RequestIdError::WrongType),
        }
    }
}

impl From<RequestId> for Value {
    fn from(id: RequestId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_strings_and_numbers_apart() {
        let s = RequestId::try_from(json!("1")).unwrap();
        let n = RequestId::try_from(json!(1)).unwrap();
        assert_ne!(s, n);
        assert_ne!(s.key(), n.key());
        let float = RequestId::try_from(json!(0.6050027432326752)).unwrap();
        assert_eq!(float.as_json(), &json!(0.6050027432326752));
    }

    #[test]
    fn numbers_compare_as_doubles() {
        let int = RequestId::try_from(json!(424242)).unwrap();
        let double: Value = serde_json::from_str("424242.0").unwrap();
        assert_eq!(int.key(), RequestId::try_from(double).unwrap().key());
        let big: Value = serde_json::from_str("4.24242e5").unwrap();
        assert_eq!(int.key(), RequestId::try_from(big).unwrap().key());
        assert_ne!(int.key(), RequestId::try_from(json!(424243)).unwrap().key());
        assert_eq!(RequestId::from_key(&int.key()).unwrap().key(), int.key());
        assert_eq!(
            RequestId::from_key(&int.key()).unwrap().as_json(),
            &json!(424242)
        );
    }

    /// Found by the bridge_event fuzz target: a 59-digit number whose key, read back with
    /// serde_json's inexact float parser, named another double.
    #[test]
    fn long_numbers_keep_their_key() {
        let text = "42424888888888888888888888888888888888898888888888888888288";
        let id = RequestId::try_from(serde_json::from_str::<Value>(text).unwrap()).unwrap();
        let back = RequestId::from_key(&id.key()).unwrap();
        assert_eq!(back.key(), id.key());
    }

    #[test]
    fn refuses_other_types() {
        for bad in [
            json!(true),
            json!({}),
            json!([]),
            json!(""),
            json!("x".repeat(300)),
        ] {
            assert!(RequestId::try_from(bad).is_err());
        }
        assert_eq!(RequestId::from_extension(Some(&Value::Null)), Ok(None));
    }

    proptest::proptest! {
        #[test]
        fn string_keys_name_their_request(text in "\\PC{1,64}") {
            let id = RequestId::try_from(json!(text)).unwrap();
            let back = RequestId::from_key(&id.key()).unwrap();
            proptest::prop_assert_eq!(back.as_json(), id.as_json());
        }

        #[test]
        fn number_keys_name_their_request(n in proptest::num::f64::NORMAL | proptest::num::f64::ZERO) {
            let id = RequestId::try_from(json!(n)).unwrap();
            let back = RequestId::from_key(&id.key()).unwrap();
            proptest::prop_assert_eq!(back.key(), id.key());
            proptest::prop_assert_eq!(back.as_json().as_f64(), Some(n));
        }

        #[test]
        fn strings_and_numbers_never_share_a_key(n in proptest::num::i64::ANY) {
            let number = RequestId::try_from(json!(n)).unwrap();
            let text = RequestId::try_from(json!(n.to_string())).unwrap();
            proptest::prop_assert_ne!(number.key(), text.key());
        }
    }
}
