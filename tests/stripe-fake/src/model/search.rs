//! Stripe's search query language (the subset for customers, extensible per resource) and a
//! search index with an indexing delay, since real search is not read-after-write.

use std::collections::HashMap;

use serde_json::Value;

use super::error::ApiError;

/// The searchable fields of one resource.
pub struct Fields {
    /// As in Stripe's docs link: `customers`.
    pub resource: &'static str,
    pub strings: &'static [&'static str],
    pub numbers: &'static [&'static str],
}

const MAX_CLAUSES: usize = 10;
const MIN_SUBSTRING: usize = 3;

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Field(String),
    Metadata(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(i64),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negated: bool,
    target: Target,
    op: Op,
    value: Literal,
}

/// A parsed query: clauses joined all by `AND` (or a space) or all by `OR`.
#[derive(Debug, PartialEq)]
pub struct Query {
    clauses: Vec<Clause>,
    any: bool,
}

fn query_error(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(
        "query",
        format!(
            "Invalid query: {message}. See https://stripe.com/docs/search#search-query-language."
        ),
    )
}

impl Query {
    pub fn parse(text: &str, fields: &Fields) -> Result<Self, ApiError> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let mut clauses = Vec::new();
        let mut joins = Vec::new();
        loop {
            let spaced = parser.skip_spaces();
            if parser.at_end() {
                break;
            }
            if !clauses.is_empty() {
                if !spaced {
                    return Err(query_error(
                        "clauses must be separated by a space, AND or OR",
                    ));
                }
                if let Some(join) = parser.keyword() {
                    joins.push(join);
                    if !parser.skip_spaces() {
                        return Err(query_error(format!("expected a space after {join}")));
                    }
                } else {
                    joins.push("AND");
                }
            }
            let clause = parser.clause()?;
            validate(&clause, fields)?;
            clauses.push(clause);
        }
        if clauses.is_empty() {
            return Err(query_error("the query is empty"));
        }
        if clauses.len() > MAX_CLAUSES {
            return Err(query_error(format!(
                "at most {MAX_CLAUSES} clauses are allowed"
            )));
        }
        let any = joins.contains(&"OR");
        if any && joins.contains(&"AND") {
            return Err(query_error("AND and OR cannot be combined in one query"));
        }
        Ok(Self { clauses, any })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let mut results = self.clauses.iter().map(|c| c.matches(object) != c.negated);
        if self.any {
            results.any(|m| m)
        } else {
            results.all(|m| m)
        }
    }
}

fn validate(clause: &Clause, fields: &Fields) -> Result<(), ApiError> {
    let ok = match &clause.target {
        Target::Metadata(_) => {
            clause.op == Op::Eq && matches!(clause.value, Literal::Str(_) | Literal::Null)
        }
        Target::Field(name) if fields.strings.contains(&name.as_str()) => {
            match (&clause.op, &clause.value) {
                (Op::Eq, Literal::Str(_) | Literal::Null) => true,
                (Op::Contains, Literal::Str(s)) if s.chars().count() >= MIN_SUBSTRING => true,
                (Op::Contains, Literal::Str(_)) => {
                    return Err(query_error(format!(
                        "substring search on `{name}` needs at least {MIN_SUBSTRING} characters"
                    )));
                }
                _ => false,
            }
        }
        Target::Field(name) if fields.numbers.contains(&name.as_str()) => {
            clause.op != Op::Contains && matches!(clause.value, Literal::Num(_))
        }
        Target::Field(name) => {
            return Err(ApiError::invalid(
                "query",
                format!(
                    "Field `{name}` is an unsupported search field for resource `{0}`. See \
                     http://stripe.com/docs/search#query-fields-for-{0} for a list of supported \
                     fields.",
                    fields.resource
                ),
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(query_error("the operator or value does not suit the field"))
    }
}

impl Clause {
    fn matches(&self, object: &Value) -> bool {
        let actual = match &self.target {
            Target::Field(name) => object.get(name),
            Target::Metadata(key) => object.get("metadata").and_then(|m| m.get(key)),
        };
        let actual = actual.filter(|v| !v.is_null());
        match (&self.value, actual) {
            (Literal::Null, actual) => actual.is_none(),
            (Literal::Str(wanted), Some(Value::String(actual))) => {
                let (wanted, actual) = (wanted.to_lowercase(), actual.to_lowercase());
                match self.op {
                    Op::Contains => actual.contains(&wanted),
                    _ => actual == wanted,
                }
            }
            (Literal::Num(wanted), Some(actual)) => {
                actual.as_i64().is_some_and(|actual| match self.op {
                    Op::Gt => actual > *wanted,
                    Op::Ge => actual >= *wanted,
                    Op::Lt => actual < *wanted,
                    Op::Le => actual <= *wanted,
                    Op::Eq | Op::Contains => actual == *wanted,
                })
            }
            _ => false,
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, c: char) -> Result<(), ApiError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(query_error(format!("expected `{c}` at {}", self.pos)))
        }
    }

    /// Skips whitespace; tells whether there was any.
    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn keyword(&mut self) -> Option<&'static str> {
        for word in ["AND", "OR"] {
            let end = self.pos + word.len();
            let matches = self
                .chars
                .get(self.pos..end)
                .is_some_and(|s| s.iter().copied().eq(word.chars()));
            if matches && self.chars.get(end).is_none_or(|c| c.is_whitespace()) {
                self.pos = end;
                return Some(word);
            }
        }
        None
    }

    fn clause(&mut self) -> Result<Clause, ApiError> {
        let negated = self.eat('-');
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if name.is_empty() {
            return Err(query_error(format!("expected a field name at {start}")));
        }
        let target = if name == "metadata" {
            self.expect('[')?;
            let key = self.quoted()?;
            self.expect(']')?;
            Target::Metadata(key)
        } else {
            Target::Field(name)
        };
        let op = if self.eat(':') {
            Op::Eq
        } else if self.eat('~') {
            Op::Contains
        } else if self.eat('>') {
            if self.eat('=') { Op::Ge } else { Op::Gt }
        } else if self.eat('<') {
            if self.eat('=') { Op::Le } else { Op::Lt }
        } else {
            return Err(query_error(format!("expected an operator at {}", self.pos)));
        };
        let value = self.literal()?;
        Ok(Clause {
            negated,
            target,
            op,
            value,
        })
    }

    fn literal(&mut self) -> Result<Literal, ApiError> {
        if matches!(self.peek(), Some('\'' | '"')) {
            return self.quoted().map(Literal::Str);
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace()) {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if word == "null" {
            return Ok(Literal::Null);
        }
        word.parse()
            .map(Literal::Num)
            .map_err(|_| query_error(format!("`{word}` must be quoted, a number or null")))
    }

    /// A string in `'…'` or `"…"`; a backslash escapes the next character.
    fn quoted(&mut self) -> Result<String, ApiError> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => {
                return Err(query_error(format!(
                    "expected a quoted string at {}",
                    self.pos
                )));
            }
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(query_error("unterminated string")),
                Some('\\') => {
                    self.pos += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| query_error("unterminated string"))?;
                    out.push(escaped);
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
            self.pos += 1;
        }
    }
}

#[derive(Debug)]
struct Version {
    visible_at_ms: i64,
    /// `None` once deleted.
    object: Option<Value>,
}

/// What search sees: each write becomes visible `delay` after it happens.
#[derive(Debug, Default)]
pub struct SearchIndex {
    order: Vec<String>,
    versions: HashMap<String, Vec<Version>>,
}

impl SearchIndex {
    pub fn record(&mut self, id: &str, object: Option<Value>, now_ms: i64, delay_ms: i64) {
        let versions = self.versions.entry(id.to_owned()).or_insert_with(|| {
            self.order.push(id.to_owned());
            Vec::new()
        });
        versions.push(Version {
            visible_at_ms: now_ms + delay_ms,
            object,
        });
        // Versions before the newest already-visible one can never be seen again.
        if let Some(i) = versions.iter().rposition(|v| v.visible_at_ms <= now_ms) {
            versions.drain(..i);
        }
    }

    /// The objects search sees at `now_ms`, newest first, with their stable position (the cursor).
    pub fn visible(&self, now_ms: i64) -> impl Iterator<Item = (usize, &Value)> {
        self.order
            .iter()
            .enumerate()
            .rev()
            .filter_map(move |(position, id)| {
                let versions = self.versions.get(id)?;
                let current = versions.iter().rev().find(|v| v.visible_at_ms <= now_ms)?;
                current.object.as_ref().map(|object| (position, object))
            })
    }

    pub fn clear(&mut self) {
        self.order.clear();
        self.versions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CUSTOMERS: Fields = Fields {
        resource: "customers",
        strings: &["email", "name", "phone"],
        numbers: &["created"],
    };

    fn matches(query: &str, object: &Value) -> bool {
        Query::parse(query, &CUSTOMERS).is_ok_and(|q| q.matches(object))
    }

    #[test]
    fn metadata_email_and_name_clauses() {
        let c = json!({"email": "Ann@Example.com", "name": "Ann Lee", "created": 100,
                       "metadata": {"org_id": "o1", "plan": "pro"}});
        assert!(matches("metadata['org_id']:'o1'", &c));
        assert!(matches("metadata[\"org_id\"]:\"o1\"", &c));
        assert!(!matches("metadata['org_id']:'o2'", &c));
        assert!(matches("email:'ann@example.com'", &c));
        assert!(matches("metadata['org_id']:'o1' AND name:'ann lee'", &c));
        assert!(matches(
            "metadata['org_id']:'o1' email:'ann@example.com'",
            &c
        ));
        assert!(!matches("metadata['org_id']:'o1' AND name:'bob'", &c));
        assert!(matches("name:'bob' OR metadata['plan']:'pro'", &c));
        assert!(matches("name~'lee'", &c));
        assert!(matches("created>99 AND created<=100", &c));
        assert!(matches("-name:'bob'", &c));
        assert!(matches("metadata['missing']:null", &c));
        assert!(matches("-metadata['plan']:null", &c));
        assert!(matches(r#"name:"Ann \"The\" Lee" OR name:'ann lee'"#, &c));
    }

    #[test]
    fn invalid_queries_are_400s() {
        for bad in [
            "",
            "email:unquoted",
            "nope:'x'",
            "a:'x' AND b:'y' OR c:'z'",
            "name~'ab'",
            "created:'x'",
            "metadata[org]:'x'",
            "email:'x",
            "email:'a'email:'b'",
        ] {
            assert!(Query::parse(bad, &CUSTOMERS).is_err(), "{bad}");
        }
        let eleven = ["email:'a'"; 11].join(" OR ");
        assert!(Query::parse(&eleven, &CUSTOMERS).is_err());
    }

    #[test]
    fn index_honours_delay_and_deletes() {
        let mut index = SearchIndex::default();
        index.record("cus_1", Some(json!({"v": 1})), 1_000, 0);
        index.record("cus_2", Some(json!({"v": 2})), 1_000, 5_000);
        let seen: Vec<_> = index.visible(1_000).map(|(_, o)| o.clone()).collect();
        assert_eq!(seen, vec![json!({"v": 1})]);
        assert_eq!(index.visible(6_000).count(), 2);
        index.record("cus_1", None, 7_000, 1_000);
        assert_eq!(index.visible(7_500).count(), 2, "delete not yet indexed");
        assert_eq!(index.visible(8_000).count(), 1);
    }
}
