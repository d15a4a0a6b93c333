//! Identity: roles and the principal the authorizer hands to every function, and the token
//! verification the authorizer itself performs.

pub(crate) mod authorizer;
mod jwks;
mod token;

pub use authorizer::{AuthorizerContext, Unauthorized, authorize, run_authorizer};
pub use jwks::{HttpJwksSource, JwksCache, JwksSource};
pub use token::{TokenClaims, TokenKeys, TokenRejected, TokenVerifier};

use crate::domain::{OrgId, UserId};
use crate::error::BillingError;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// An organisation member's role. Unknown roles are refused by the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "viewer" => Some(Self::Viewer),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// The one rule: everyone may look, admins and owners may change billing.
    pub fn may(self, access: Access) -> bool {
        match (access, self) {
            (Access::View, _) | (Access::Manage, Self::Admin | Self::Owner) => true,
            (Access::Manage, Self::Viewer) => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an endpoint needs from the caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read billing state: viewer, admin, owner.
    View,
    /// Change billing: admin, owner.
    Manage,
}

/// The verified caller, as the authorizer put it into the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
}

impl Principal {
    /// Reads `requestContext.authorizer.lambda`; anything missing or malformed fails closed.
    pub fn from_authorizer_fields(fields: &HashMap<String, Value>) -> Result<Self, BillingError> {
        let text = |key: &str| fields.get(key).and_then(Value::as_str);
        let user_id = text("user_id").and_then(|v| UserId::parse(v).ok());
        let org_id = text("org_id").and_then(|v| OrgId::parse(v).ok());
        let role = text("role").and_then(Role::parse);
        match (user_id, org_id, role) {
            (Some(user_id), Some(org_id), Some(role)) => Ok(Self {
                user_id,
                org_id,
                role,
            }),
            _ => Err(BillingError::Unauthenticated),
        }
    }

    pub fn require(&self, access: Access) -> Result<(), BillingError> {
        if self.role.may(access) {
            Ok(())
        } else {
            Err(BillingError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> HashMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_complete_context_gives_a_principal() {
        let principal = Principal::from_authorizer_fields(&fields(
            json!({"user_id": "u1", "org_id": "org_1", "role": "admin"}),
        ))
        .unwrap();
        assert_eq!(principal.org_id.as_str(), "org_1");
        assert_eq!(principal.role, Role::Admin);
    }

    #[test]
    fn missing_or_malformed_context_fails_closed() {
        for value in [
            json!({}),
            json!({"user_id": "u1", "org_id": "org_1"}),
            json!({"user_id": "u1", "org_id": "org 1", "role": "owner"}),
            json!({"user_id": "u1", "org_id": "org_1", "role": "superuser"}),
            json!({"user_id": 7, "org_id": "org_1", "role": "owner"}),
        ] {
            let result = Principal::from_authorizer_fields(&fields(value.clone()));
            assert!(
                matches!(result, Err(BillingError::Unauthenticated)),
                "{value}"
            );
        }
    }

    #[test]
    fn viewers_may_look_but_not_manage() {
        let viewer = Principal {
            user_id: UserId::parse("u").unwrap(),
            org_id: OrgId::parse("o").unwrap(),
            role: Role::Viewer,
        };
        assert!(viewer.require(Access::View).is_ok());
        assert!(matches!(
            viewer.require(Access::Manage),
            Err(BillingError::Forbidden)
        ));
        for role in [Role::Admin, Role::Owner] {
            let member = Principal {
                role,
                ..viewer.clone()
            };
            assert!(member.require(Access::Manage).is_ok());
        }
    }
}
