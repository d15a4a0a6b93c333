//! Cursor pagination shared by every list endpoint, and the search-result page.

use serde_json::{Value, json};

use super::params::{Change, Params, Spec};
use crate::model::error::ApiError;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: i64 = 100;

pub const CREATED_RANGE: Spec = Spec::new(&["gt", "gte", "lt", "lte"], &[]);

pub fn limit(params: &Params) -> Result<usize, ApiError> {
    match params.integer("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(usize::try_from(n).unwrap_or(DEFAULT_LIMIT)),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("Invalid limit: must be between 1 and {MAX_LIMIT} (got {n})"),
        )),
    }
}

/// `created=<ts>` or `created[gt|gte|lt|lte]=<ts>`.
#[derive(Debug, Default)]
struct CreatedRange {
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
}

impl CreatedRange {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        if !params.is_hash("created") {
            let exact = params.integer("created")?;
            return Ok(Self {
                gte: exact,
                lte: exact,
                ..Self::default()
            });
        }
        let Change::Set(range) = params.hash("created")? else {
            return Ok(Self::default());
        };
        range.check(&CREATED_RANGE)?;
        Ok(Self {
            gt: range.integer("gt")?,
            gte: range.integer("gte")?,
            lt: range.integer("lt")?,
            lte: range.integer("lte")?,
        })
    }

    fn contains(&self, object: &Value) -> bool {
        let Some(created) = object["created"].as_i64() else {
            return true;
        };
        self.gt.is_none_or(|b| created > b)
            && self.gte.is_none_or(|b| created >= b)
            && self.lt.is_none_or(|b| created < b)
            && self.lte.is_none_or(|b| created <= b)
    }
}

/// One page of a Stripe list. `all` is every object of the type, newest first, including ones
/// `include` rejects, so a cursor stays valid after its object stops matching.
pub fn page<'a>(
    params: &Params,
    all: impl Iterator<Item = &'a Value>,
    include: impl Fn(&Value) -> bool,
    url: &str,
    resource: &str,
) -> Result<Value, ApiError> {
    let limit = limit(params)?;
    let created = CreatedRange::from_params(params)?;
    let keep = |o: &&Value| include(o) && created.contains(o);
    let all: Vec<&Value> = all.collect();
    let position = |param: &str, id: &str| {
        all.iter()
            .position(|o| o["id"] == id)
            .ok_or_else(|| ApiError::no_such_param(resource, id, param))
    };
    let (data, has_more) = match (
        params.string("starting_after")?,
        params.string("ending_before")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "starting_after",
                "You may only specify one of these parameters: starting_after, ending_before.",
            ));
        }
        (Some(after), None) => {
            let start = position("starting_after", after)? + 1;
            take(all[start..].iter().copied().filter(keep), limit)
        }
        (None, Some(before)) => {
            let end = position("ending_before", before)?;
            let (mut data, has_more) = take(all[..end].iter().rev().copied().filter(keep), limit);
            data.reverse();
            (data, has_more)
        }
        (None, None) => take(all.iter().copied().filter(keep), limit),
    };
    Ok(json!({"object": "list", "data": data, "has_more": has_more, "url": url}))
}

fn take<'a>(items: impl Iterator<Item = &'a Value>, limit: usize) -> (Vec<Value>, bool) {
    let mut data: Vec<Value> = items.take(limit + 1).cloned().collect();
    let has_more = data.len() > limit;
    data.truncate(limit);
    (data, has_more)
}

const PAGE_PREFIX: &str = "page_";

/// One page of search results. `hits` are newest first with their index position; the
/// `next_page` cursor names the position to continue below.
pub fn search_page<'a>(
    params: &Params,
    hits: impl Iterator<Item = (usize, &'a Value)>,
    url: &str,
) -> Result<Value, ApiError> {
    let limit = limit(params)?;
    let below = params
        .string("page")?
        .map(|page| {
            page.strip_prefix(PAGE_PREFIX)
                .and_then(|p| p.parse::<usize>().ok())
                .ok_or_else(|| ApiError::invalid("page", format!("Invalid page: {page}")))
        })
        .transpose()?;
    let hits: Vec<(usize, &Value)> = hits.collect();
    let total = hits.len();
    let mut rest = hits
        .into_iter()
        .filter(|(position, _)| below.is_none_or(|b| *position < b));
    let page: Vec<(usize, &Value)> = rest.by_ref().take(limit).collect();
    let has_more = rest.next().is_some();
    let next_page = match page.last() {
        Some((position, _)) if has_more => json!(format!("{PAGE_PREFIX}{position}")),
        _ => Value::Null,
    };
    let data: Vec<Value> = page.into_iter().map(|(_, object)| object.clone()).collect();
    let mut result = json!({
        "object": "search_result", "data": data, "has_more": has_more, "next_page": next_page, "url": url
    });
    // `total_count` is includable: present only when expanded.
    if params.expand()?.iter().any(|p| p == "total_count") {
        result["total_count"] = json!(total);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(input: &str) -> Params {
        Params::parse(None, input.as_bytes()).unwrap_or_default()
    }

    fn objects() -> Vec<Value> {
        (1..=5)
            .rev()
            .map(|i| json!({"id": format!("o{i}"), "created": i}))
            .collect()
    }

    fn ids(page: &Value) -> Vec<String> {
        page["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["id"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn cursors_limits_and_created() {
        let all = objects();
        let list = |q: &str| page(&params(q), all.iter(), |_| true, "/v1/x", "x");
        let first = list("limit=2").unwrap_or_default();
        assert_eq!(ids(&first), ["o5", "o4"]);
        assert_eq!(first["has_more"], true);
        let next = list("limit=2&starting_after=o4").unwrap_or_default();
        assert_eq!(ids(&next), ["o3", "o2"]);
        let back = list("limit=2&ending_before=o2").unwrap_or_default();
        assert_eq!(ids(&back), ["o4", "o3"]);
        assert_eq!(back["has_more"], true);
        let ranged = list("created[gte]=2&created[lt]=4").unwrap_or_default();
        assert_eq!(ids(&ranged), ["o3", "o2"]);
        assert_eq!(ids(&list("created=5").unwrap_or_default()), ["o5"]);
        assert!(list("starting_after=nope").is_err());
        assert!(list("limit=0").is_err());
        assert!(list("limit=101").is_err());
    }

    #[test]
    fn search_pages_follow_next_page() {
        let all = objects();
        let hits = || all.iter().enumerate().map(|(i, o)| (all.len() - 1 - i, o));
        let first =
            search_page(&params("limit=3&expand[]=total_count"), hits(), "/s").unwrap_or_default();
        assert_eq!(ids(&first), ["o5", "o4", "o3"]);
        assert_eq!(first["total_count"], 5);
        let cursor = first["next_page"].as_str().unwrap_or_default().to_owned();
        let second = search_page(&params(&format!("limit=3&page={cursor}")), hits(), "/s")
            .unwrap_or_default();
        assert_eq!(ids(&second), ["o2", "o1"]);
        assert_eq!(second["has_more"], false);
        assert_eq!(second["next_page"], Value::Null);
        assert!(second.get("total_count").is_none());
    }
}
