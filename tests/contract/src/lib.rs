//! The API contract tool: `openapi.json` is generated from the endpoints' own contracts
//! (`billing_core::endpoints::visit_all`) with billing-core's `openapi` feature, which no Lambda
//! binary is built with. Its test fails while the committed file is stale; `make openapi`
//! (`UPDATE_OPENAPI=1`) rewrites it.

#[cfg(test)]
mod tests {
    use billing_core::openapi::document_json;
    use serde_json::json;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");

    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let generated = document_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi.json is stale: run `make openapi` and commit it"
        );
    }

    #[test]
    fn every_route_lists_its_roles_and_error_codes() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let ops: Vec<&serde_json::Value> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .collect();
        assert_eq!(ops.len(), 17);
        let manage = ops
            .iter()
            .filter(|op| op["x-roles"] == json!(["admin", "owner"]))
            .count();
        assert_eq!(manage, 10);
        for op in &ops {
            assert!(
                op["x-error-codes"]
                    .as_object()
                    .is_some_and(|c| !c.is_empty())
            );
        }
    }
}
