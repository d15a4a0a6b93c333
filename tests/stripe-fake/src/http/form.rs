//! Parses Stripe's bracketed form encoding (`metadata[k]=v`, `items[0][price]=p`, `expand[]=x`)
//! into a JSON tree of strings.
//!
//! Indexed segments (`[0]`) stay object keys: only the endpoint knows whether `metadata[0]` is a
//! key or `items[0]` an array element (`Params::list` turns numeric keys into arrays). `[]` pushes
//! onto an array. serde_qs was tried first: it rejects sparse numeric metadata keys
//! (`metadata[5]=x`) and silently mangles keys nested deeper than five levels.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq, Eq)]
pub struct FormError {
    pub param: String,
    pub message: String,
}

enum Segment<'a> {
    Key(&'a str),
    Push,
}

/// Adds the pairs of one `application/x-www-form-urlencoded` string to `tree`.
pub fn parse_into(tree: &mut Map<String, Value>, input: &[u8]) -> Result<(), FormError> {
    for (name, value) in form_urlencoded::parse(input) {
        let (base, segments) = split_name(&name)?;
        insert(tree, base, &segments, value.into_owned()).map_err(|message| FormError {
            param: base.to_owned(),
            message,
        })?;
    }
    Ok(())
}

fn split_name(name: &str) -> Result<(&str, Vec<Segment<'_>>), FormError> {
    let malformed = || FormError {
        param: name.to_owned(),
        message: format!("Invalid parameter name: {name}"),
    };
    let (base, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if base.is_empty() {
        return Err(malformed());
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let end = inner.find(']').ok_or_else(malformed)?;
        let key = &inner[..end];
        segments.push(if key.is_empty() {
            Segment::Push
        } else {
            Segment::Key(key)
        });
        rest = &inner[end + 1..];
    }
    Ok((base, segments))
}

fn insert(
    tree: &mut Map<String, Value>,
    base: &str,
    segments: &[Segment<'_>],
    value: String,
) -> Result<(), String> {
    let Some((last, path)) = segments.split_last() else {
        return set_string(
            tree.entry(base.to_owned()).or_insert(Value::Null),
            base,
            value,
        );
    };
    let mut node = tree.entry(base.to_owned()).or_insert(Value::Null);
    for (i, segment) in path.iter().enumerate() {
        node = match segment {
            Segment::Key(key) => object(node)?
                .entry((*key).to_owned())
                .or_insert(Value::Null),
            Segment::Push => {
                // Rack semantics for `a[][k]=1&a[][j]=2`: keep filling the last element until a
                // key repeats.
                let next_key = match &segments[i + 1] {
                    Segment::Key(key) => Some(*key),
                    Segment::Push => None,
                };
                let items = array(node)?;
                let reuse = matches!(
                    (items.last(), next_key),
                    (Some(Value::Object(last)), Some(key)) if !last.contains_key(key)
                );
                if !reuse {
                    items.push(Value::Null);
                }
                let len = items.len();
                &mut items[len - 1]
            }
        };
    }
    match last {
        Segment::Key(key) => set_string(
            object(node)?
                .entry((*key).to_owned())
                .or_insert(Value::Null),
            base,
            value,
        ),
        Segment::Push => {
            array(node)?.push(Value::String(value));
            Ok(())
        }
    }
}

/// A repeated scalar keeps the last value, as Rack does; a scalar over a hash is an error.
fn set_string(slot: &mut Value, base: &str, value: String) -> Result<(), String> {
    if slot.is_object() || slot.is_array() {
        return Err(format!(
            "Invalid value for {base}: mixes a hash and a string"
        ));
    }
    *slot = Value::String(value);
    Ok(())
}

fn object(node: &mut Value) -> Result<&mut Map<String, Value>, String> {
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    node.as_object_mut()
        .ok_or_else(|| "Invalid hash: mixes a hash with another value".to_owned())
}

fn array(node: &mut Value) -> Result<&mut Vec<Value>, String> {
    if node.is_null() {
        *node = Value::Array(Vec::new());
    }
    node.as_array_mut()
        .ok_or_else(|| "Invalid array: mixes an array with another value".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(input: &str) -> Result<Value, FormError> {
        let mut tree = Map::new();
        parse_into(&mut tree, input.as_bytes())?;
        Ok(Value::Object(tree))
    }

    #[test]
    fn nested_hashes_indexed_arrays_and_pushes() {
        let parsed = parse(
            "email=a%40b.c&metadata[org_id]=o1&metadata[empty]=&items[0][price]=p1\
             &items[0][quantity]=2&items[1][price]=p2&expand[]=a&expand[]=b.c&name=A+B",
        );
        assert_eq!(
            parsed,
            Ok(json!({
                "email": "a@b.c",
                "metadata": {"org_id": "o1", "empty": ""},
                "items": {"0": {"price": "p1", "quantity": "2"}, "1": {"price": "p2"}},
                "expand": ["a", "b.c"],
                "name": "A B"
            }))
        );
    }

    #[test]
    fn percent_encoded_brackets_and_sparse_numeric_keys() {
        assert_eq!(
            parse("metadata%5Borg_id%5D=x&metadata[5]=y&metadata[0]=z"),
            Ok(json!({"metadata": {"org_id": "x", "5": "y", "0": "z"}}))
        );
    }

    #[test]
    fn deep_nesting_is_kept() {
        assert_eq!(
            parse("a[b][c][d][e][f][g]=1"),
            Ok(json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": "1"}}}}}}}))
        );
    }

    #[test]
    fn push_of_hashes_follows_rack() {
        assert_eq!(
            parse("items[][price]=a&items[][quantity]=1&items[][price]=b"),
            Ok(json!({"items": [{"price": "a", "quantity": "1"}, {"price": "b"}]}))
        );
    }

    #[test]
    fn empty_value_is_a_string() {
        assert_eq!(parse("metadata="), Ok(json!({"metadata": ""})));
        assert_eq!(parse(""), Ok(json!({})));
    }

    #[test]
    fn conflicts_and_malformed_names_are_errors() {
        assert!(parse("metadata=x&metadata[a]=b").is_err());
        assert!(parse("metadata[a]=b&metadata=x").is_err());
        assert!(parse("[a]=b").is_err());
        assert!(parse("a[b=c").is_err());
        assert!(parse("a[b]x=c").is_err());
    }
}
