//! Metadata updates and Stripe's limits on them: 50 keys, keys up to 40 characters, values up to
//! 500 (SEMANTICS §2).

use serde_json::{Map, Value};

use super::error::ApiError;

/// `metadata=` clears every key; `metadata[k]=` removes `k`; other values are set.
#[derive(Debug)]
pub struct MetadataUpdate {
    clear: bool,
    entries: Vec<(String, Option<String>)>,
}

const METADATA_MAX_KEYS: usize = 50;
const METADATA_MAX_KEY_LEN: usize = 40;
const METADATA_MAX_VALUE_LEN: usize = 500;

impl MetadataUpdate {
    /// `metadata=`: every key goes.
    pub fn clear() -> Self {
        Self {
            clear: true,
            entries: Vec::new(),
        }
    }

    /// `metadata[k]=v` pairs; `None` (an empty value) removes `k`.
    pub fn entries(entries: Vec<(String, Option<String>)>) -> Self {
        Self {
            clear: false,
            entries,
        }
    }

    /// Applies the update to a `metadata` object, enforcing Stripe's documented limits.
    pub fn apply(&self, metadata: &mut Value) -> Result<(), ApiError> {
        if self.clear || !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        let Value::Object(map) = metadata else {
            return Ok(());
        };
        for (key, value) in &self.entries {
            let chars = key.chars().count();
            if chars > METADATA_MAX_KEY_LEN {
                return Err(ApiError::invalid(
                    "metadata",
                    format!(
                        "Metadata keys can have up to {METADATA_MAX_KEY_LEN} characters, but you \
                         passed in a key that is {chars} characters."
                    ),
                ));
            }
            match value {
                Some(value) => {
                    let chars = value.chars().count();
                    if chars > METADATA_MAX_VALUE_LEN {
                        return Err(ApiError::invalid(
                            format!("metadata[{key}]"),
                            format!(
                                "Metadata values can have up to {METADATA_MAX_VALUE_LEN} \
                                 characters, but you passed in a value that is {chars} characters."
                            ),
                        ));
                    }
                    map.insert(key.clone(), Value::String(value.clone()));
                }
                None => {
                    map.remove(key);
                }
            }
        }
        if map.len() > METADATA_MAX_KEYS {
            return Err(ApiError::invalid(
                "metadata",
                format!(
                    "You can have up to {METADATA_MAX_KEYS} metadata keys; this request would \
                     leave {}.",
                    map.len()
                ),
            ));
        }
        Ok(())
    }
}
