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

    /// A canonical text key that keeps strings and numbers apart (`s:…` / `n:…`).
    pub fn key(&self) -> String {
        match &self.0 {
            Value::String(s) => format!("s:{s}"),
            other => format!("n:{other}"),
        }
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
}
