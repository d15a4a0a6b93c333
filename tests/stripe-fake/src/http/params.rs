//! Typed access to a request's parameters and the per-endpoint check of accepted names.

use serde_json::{Map, Value};

use super::form;
use crate::model::error::ApiError;
use crate::model::metadata::MetadataUpdate;

/// The top-level (or hash-level) parameters one endpoint takes. `supported ∪ unsupported` is
/// Stripe's list for that endpoint (taken from its API reference / async-stripe's generated request
/// builders); `unsupported` ones are refused with a clear "not implemented" error rather than
/// silently ignored, so the product cannot come to depend on a behaviour the fake does not have.
pub struct Spec {
    pub supported: &'static [&'static str],
    pub unsupported: &'static [&'static str],
    /// Also takes [`PAGINATION`] (list endpoints).
    paginated: bool,
}

/// What every list endpoint takes besides its filters.
const PAGINATION: &[&str] = &["ending_before", "expand", "limit", "starting_after"];

impl Spec {
    pub const fn new(
        supported: &'static [&'static str],
        unsupported: &'static [&'static str],
    ) -> Self {
        Self {
            supported,
            unsupported,
            paginated: false,
        }
    }

    /// A list endpoint: its `filters` plus [`PAGINATION`].
    pub const fn list(
        filters: &'static [&'static str],
        unsupported: &'static [&'static str],
    ) -> Self {
        Self {
            paginated: true,
            ..Self::new(filters, unsupported)
        }
    }

    fn takes(&self, key: &str) -> bool {
        self.supported.contains(&key)
            || self.unsupported.contains(&key)
            || (self.paginated && PAGINATION.contains(&key))
    }
}

/// Only `expand`: retrieve endpoints.
pub const EXPAND_ONLY: Spec = Spec::new(&["expand"], &[]);
/// No parameters at all: delete endpoints.
pub const NONE: Spec = Spec::new(&[], &[]);

/// What an update does to one field: absent, sent empty (Stripe's "unset"), or set.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

#[derive(Debug, Clone, Default)]
pub struct Params {
    map: Map<String, Value>,
    /// Bracketed path of this hash inside the request, for error `param`s: `invoice_settings`.
    prefix: String,
}

impl Params {
    /// Query string and body together (Stripe reads both).
    pub fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let mut map = Map::new();
        for part in [query.unwrap_or_default().as_bytes(), body] {
            form::parse_into(&mut map, part).map_err(|e| ApiError::invalid(e.param, e.message))?;
        }
        Ok(Self {
            map,
            prefix: String::new(),
        })
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// The parameter's full name as Stripe reports it: `invoice_settings[footer]`.
    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    pub fn check(&self, spec: &Spec) -> Result<(), ApiError> {
        if let Some(key) = self.map.keys().find(|key| !spec.takes(key)) {
            return Err(ApiError::unknown_parameter(&self.name(key)));
        }
        if let Some(key) = self
            .map
            .keys()
            .find(|key| spec.unsupported.contains(&key.as_str()))
        {
            return Err(ApiError::not_implemented(&self.name(key)));
        }
        Ok(())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn is_hash(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(Value::Object(_)))
    }

    pub fn string(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::invalid(
                self.name(key),
                format!("Invalid string: {other}"),
            )),
        }
    }

    /// A string that must be one of `allowed`, which the error lists.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&str>, ApiError> {
        let value = self.string(key)?;
        if let Some(bad) = value.filter(|v| !allowed.contains(v)) {
            return Err(ApiError::invalid(
                self.name(key),
                format!(
                    "Invalid {key}: must be one of {} (got {bad})",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(value)
    }

    pub fn required_string(&self, key: &str) -> Result<&str, ApiError> {
        match self.string(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::missing_parameter(&self.name(key))),
        }
    }

    pub fn text(&self, key: &str) -> Result<Change<String>, ApiError> {
        Ok(match self.string(key)? {
            None => Change::Keep,
            Some("") => Change::Clear,
            Some(s) => Change::Set(s.to_owned()),
        })
    }

    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.string(key)?
            .map(|s| {
                s.parse().map_err(|_| {
                    ApiError::invalid_with_code(
                        self.name(key),
                        "parameter_invalid_integer",
                        format!("Invalid integer: {s}"),
                    )
                })
            })
            .transpose()
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        self.string(key)?
            .map(|s| match s {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::invalid(
                    self.name(key),
                    format!("Invalid boolean: {s}"),
                )),
            })
            .transpose()
    }

    pub fn hash(&self, key: &str) -> Result<Change<Params>, ApiError> {
        match self.map.get(key) {
            None => Ok(Change::Keep),
            Some(Value::String(s)) if s.is_empty() => Ok(Change::Clear),
            Some(Value::Object(map)) => Ok(Change::Set(Params {
                map: map.clone(),
                prefix: self.name(key),
            })),
            Some(_) => Err(ApiError::invalid(self.name(key), "Invalid hash")),
        }
    }

    /// An array sent as `k[]=…` or `k[0]=…&k[1]=…` (in index order).
    pub fn list(&self, key: &str) -> Result<Change<Vec<Value>>, ApiError> {
        let invalid = || ApiError::invalid(self.name(key), "Invalid array");
        match self.map.get(key) {
            None => Ok(Change::Keep),
            Some(Value::String(s)) if s.is_empty() => Ok(Change::Clear),
            Some(Value::Array(items)) => Ok(Change::Set(items.clone())),
            Some(Value::Object(indexed)) => {
                let mut items = indexed
                    .iter()
                    .map(|(i, v)| i.parse::<usize>().map(|i| (i, v.clone())))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| invalid())?;
                items.sort_by_key(|(i, _)| *i);
                Ok(Change::Set(items.into_iter().map(|(_, v)| v).collect()))
            }
            Some(_) => Err(invalid()),
        }
    }

    pub fn string_list(&self, key: &str) -> Result<Change<Vec<String>>, ApiError> {
        self.list_of(key, |_, item| match item {
            Value::String(s) => Ok(s),
            other => Err(ApiError::invalid(
                self.name(key),
                format!("Invalid string: {other}"),
            )),
        })
    }

    /// An array of hashes; each element reports errors as `key[i][field]`.
    pub fn hash_list(&self, key: &str) -> Result<Change<Vec<Params>>, ApiError> {
        self.list_of(key, |i, item| {
            let prefix = format!("{}[{i}]", self.name(key));
            match item {
                Value::Object(map) => Ok(Params { map, prefix }),
                _ => Err(ApiError::invalid(prefix, "Invalid hash")),
            }
        })
    }

    /// [`list`](Self::list) with each element (and its index) converted by `item`.
    fn list_of<T>(
        &self,
        key: &str,
        item: impl Fn(usize, Value) -> Result<T, ApiError>,
    ) -> Result<Change<Vec<T>>, ApiError> {
        Ok(match self.list(key)? {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(items) => Change::Set(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, value)| item(i, value))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    pub fn expand(&self) -> Result<Vec<String>, ApiError> {
        Ok(match self.string_list("expand")? {
            Change::Set(paths) => paths,
            Change::Keep | Change::Clear => Vec::new(),
        })
    }

    pub fn metadata(&self) -> Result<Option<MetadataUpdate>, ApiError> {
        Ok(match self.hash("metadata")? {
            Change::Keep => None,
            Change::Clear => Some(MetadataUpdate::clear()),
            Change::Set(hash) => {
                let entries = hash
                    .map
                    .keys()
                    .map(|key| {
                        Ok((
                            key.clone(),
                            hash.string(key)?
                                .filter(|v| !v.is_empty())
                                .map(str::to_owned),
                        ))
                    })
                    .collect::<Result<_, ApiError>>()?;
                Some(MetadataUpdate::entries(entries))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(input: &str) -> Params {
        Params::parse(None, input.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn check_reports_unknown_before_unsupported() {
        let spec = Spec::new(&["email"], &["tax"]);
        let err = params("tax[x]=1&zzz=2").check(&spec).err();
        assert_eq!(err.and_then(|e| e.code), Some("parameter_unknown"));
        let err = params("tax[x]=1").check(&spec).err();
        assert!(err.is_some_and(|e| e.message.contains("does not implement")));
        assert!(params("email=a").check(&spec).is_ok());
    }

    #[test]
    fn nested_names_in_errors() {
        let p = params("invoice_settings[foo]=1");
        let Ok(Change::Set(settings)) = p.hash("invoice_settings") else {
            panic!("no hash")
        };
        let err = settings.check(&Spec::new(&["footer"], &[])).err();
        assert_eq!(
            err.map(|e| e.message),
            Some("Received unknown parameter: invoice_settings[foo]".into())
        );
    }

    #[test]
    fn lists_from_pushes_or_indexes() {
        assert_eq!(
            params("expand[]=a&expand[]=b").expand().ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            params("expand[1]=b&expand[0]=a").expand().ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert!(params("expand[x]=b").expand().is_err());
    }

    #[test]
    fn typed_values() {
        let p = params("limit=5&bad=x&flag=true&name=");
        assert_eq!(p.integer("limit").ok(), Some(Some(5)));
        assert!(p.integer("bad").is_err());
        assert_eq!(p.boolean("flag").ok(), Some(Some(true)));
        assert_eq!(p.text("name").ok(), Some(Change::Clear));
        assert_eq!(p.text("absent").ok(), Some(Change::Keep));
        assert!(p.required_string("name").is_err());
    }

    #[test]
    fn metadata_merge_unset_and_clear() {
        let mut metadata = json!({"a": "1", "b": "2"});
        let update = params("metadata[b]=&metadata[c]=3")
            .metadata()
            .ok()
            .flatten();
        assert!(update.is_some_and(|u| u.apply(&mut metadata).is_ok()));
        assert_eq!(metadata, json!({"a": "1", "c": "3"}));
        let clear = params("metadata=").metadata().ok().flatten();
        assert!(clear.is_some_and(|u| u.apply(&mut metadata).is_ok()));
        assert_eq!(metadata, json!({}));
    }

    #[test]
    fn metadata_limits() {
        let long_key = format!("metadata[{}]=x", "k".repeat(41));
        let update = params(&long_key).metadata().ok().flatten();
        assert!(update.is_some_and(|u| u.apply(&mut json!({})).is_err()));
        let many: Vec<String> = (0..51).map(|i| format!("metadata[k{i}]=v")).collect();
        let update = params(&many.join("&")).metadata().ok().flatten();
        assert!(update.is_some_and(|u| u.apply(&mut json!({})).is_err()));
    }
}
