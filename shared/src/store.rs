//! DynamoDB persistence behind narrow ports, with in-memory twins for tests.

use crate::domain::{OrgId, PlanKey, StripeCustomerId, SubscriptionId};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::{put_item::PutItemError, update_item::UpdateItemError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// An organisation's link to its Stripe customer (`billing_customers`, key `org_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub org_id: OrgId,
    pub stripe_customer_id: StripeCustomerId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How many subscriptions this org has started: part of the start's idempotency key, so
    /// concurrent or retried starts make one subscription, and a later restart a new one.
    #[serde(default)]
    pub subscription_starts: u32,
    /// The synced copy of the org's subscription (Stripe is the source of truth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionSnapshot>,
    /// Set when the Stripe customer was deleted (`customer.deleted`): the record is then a
    /// tombstone that reads as "no customer" and names the customer the next one replaces.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub unlinked_at: Option<OffsetDateTime>,
}

impl CustomerRecord {
    pub fn is_linked(&self) -> bool {
        self.unlinked_at.is_none()
    }
}

/// What the API keeps of the subscription, for reads that should not call Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    pub id: SubscriptionId,
    pub status: String,
    pub plan: Option<PlanKey>,
    pub quantity: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub pending_plan_change: Option<PendingPlanChange>,
    /// Unix seconds of the Stripe state this copy reflects; older writes never replace newer.
    pub synced_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingPlanChange {
    #[schema(value_type = Option<String>)]
    pub plan: Option<PlanKey>,
    pub quantity: i64,
    pub effective_at: i64,
}

/// Result of a create-if-absent write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// Another writer got there first; read theirs.
    AlreadyExists,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, 5xx: worth retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or a misconfiguration (wrong table, bad item).
    #[error("store request failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// The stored item as it is, tombstone included.
    async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError>;
    /// The org's linked customer; a tombstone reads as none.
    async fn get(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.load(org_id).await?.filter(CustomerRecord::is_linked))
    }
    /// Writes the record only if the org has none (conditional put).
    async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError>;
    /// Replaces the org's tombstone for `deleted` with a new link (conditional put), so of
    /// concurrent re-links exactly one is stored.
    async fn relink(
        &self,
        record: &CustomerRecord,
        deleted: &StripeCustomerId,
    ) -> Result<InsertOutcome, StoreError>;
    /// Turns the org's record into a tombstone if it still links `customer`; `false` when it
    /// no longer does (already unlinked or linked to another customer).
    async fn unlink(
        &self,
        org_id: &OrgId,
        customer: &StripeCustomerId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores the subscription copy unless a newer one (`synced_at`) is already there; with
    /// `started_from`, also moves `subscription_starts` from that value to the next.
    async fn save_subscription(
        &self,
        org_id: &OrgId,
        snapshot: &SubscriptionSnapshot,
        started_from: Option<u32>,
    ) -> Result<(), StoreError>;
    /// The org a Stripe customer is linked to (the `by_stripe_customer_id` index), for
    /// webhooks; tombstones do not count.
    async fn find_org(&self, customer: &StripeCustomerId) -> Result<Option<OrgId>, StoreError>;
}

/// Processed Stripe event ids, so a redelivered event is acknowledged and not applied again.
#[async_trait]
pub trait EventLog: Send + Sync {
    async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError>;
    /// Records the id; entries expire (TTL) after Stripe's retry window has long passed.
    async fn mark_processed(&self, event_id: &str, event_type: &str) -> Result<(), StoreError>;
}

/// Stripe retries for up to 3 days and keeps events 30; ids are kept a little longer.
pub const PROCESSED_EVENT_TTL_SECONDS: i64 = 35 * 24 * 3600;

/// Sorts an AWS SDK failure into "try again later" or "broken", for any operation.
pub(crate) fn classify_sdk_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    const TRANSIENT_CODES: &[&str] = &[
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
    ];
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    };
    let source: Box<dyn std::error::Error + Send + Sync> =
        aws_sdk_dynamodb::error::DisplayErrorContext(error)
            .to_string()
            .into();
    if transient {
        StoreError::Unavailable(source)
    } else {
        StoreError::Failed(source)
    }
}

/// The typed errors of the writes we make conditional.
trait ConditionalWriteError {
    fn is_condition_failed(&self) -> bool;
}

impl ConditionalWriteError for PutItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWriteError for UpdateItemError {
    fn is_condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// A conditional write's result: `true` when written, `false` when its condition did not hold.
fn conditional_write<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ConditionalWriteError + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(service)) if service.err().is_condition_failed() => Ok(false),
        Err(error) => Err(classify_sdk_error(error)),
    }
}

pub struct DynamoCustomerStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoCustomerStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// Puts the whole record under `condition` (`:deleted` bound when given).
    async fn put_if(
        &self,
        record: &CustomerRecord,
        condition: &str,
        deleted: Option<&StripeCustomerId>,
    ) -> Result<InsertOutcome, StoreError> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(record).map_err(item_error)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(deleted.map(|id| {
                HashMap::from([(":deleted".to_owned(), AttributeValue::S(id.to_string()))])
            }))
            .send()
            .await;
        Ok(if conditional_write(result)? {
            InsertOutcome::Inserted
        } else {
            InsertOutcome::AlreadyExists
        })
    }
}

fn item_error(error: serde_dynamo::Error) -> StoreError {
    StoreError::Failed(Box::new(error))
}

#[async_trait]
impl CustomerStore for DynamoCustomerStore {
    async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("org_id", AttributeValue::S(org_id.to_string()))
            // Strong reads: the loser of a create race must see the winner's record.
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(item_error))
            .transpose()
    }

    async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError> {
        self.put_if(record, "attribute_not_exists(org_id)", None)
            .await
    }

    async fn relink(
        &self,
        record: &CustomerRecord,
        deleted: &StripeCustomerId,
    ) -> Result<InsertOutcome, StoreError> {
        self.put_if(
            record,
            "stripe_customer_id = :deleted AND attribute_exists(unlinked_at)",
            Some(deleted),
        )
        .await
    }

    async fn unlink(
        &self,
        org_id: &OrgId,
        customer: &StripeCustomerId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Failed(Box::new(e)))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("org_id", AttributeValue::S(org_id.to_string()))
            // The subscription copy goes with the customer: Stripe cancels its subscriptions.
            .update_expression("SET unlinked_at = :at, updated_at = :at REMOVE subscription")
            .condition_expression("stripe_customer_id = :c AND attribute_not_exists(unlinked_at)")
            .expression_attribute_values(":c", AttributeValue::S(customer.to_string()))
            .expression_attribute_values(":at", AttributeValue::S(at))
            .send()
            .await;
        conditional_write(result)
    }

    async fn save_subscription(
        &self,
        org_id: &OrgId,
        snapshot: &SubscriptionSnapshot,
        started_from: Option<u32>,
    ) -> Result<(), StoreError> {
        let value: AttributeValue =
            serde_dynamo::to_attribute_value(snapshot).map_err(item_error)?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("org_id", AttributeValue::S(org_id.to_string()))
            .expression_attribute_values(":s", value)
            .expression_attribute_values(":t", AttributeValue::N(snapshot.synced_at.to_string()))
            .expression_attribute_values(":now", AttributeValue::S(now_rfc3339()));
        let newer_guard =
            "(attribute_not_exists(subscription.synced_at) OR subscription.synced_at <= :t)";
        update = match started_from {
            Some(from) => update
                .update_expression(
                    "SET subscription = :s, updated_at = :now, subscription_starts = :next",
                )
                .condition_expression(format!(
                    "attribute_exists(org_id) AND {newer_guard} AND \
                     (attribute_not_exists(subscription_starts) OR subscription_starts = :from)"
                ))
                .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
                .expression_attribute_values(":next", AttributeValue::N((from + 1).to_string())),
            None => update
                .update_expression("SET subscription = :s, updated_at = :now")
                .condition_expression(format!("attribute_exists(org_id) AND {newer_guard}")),
        };
        // Not written: a newer copy, or another writer's start, got there first. Nothing to do.
        conditional_write(update.send().await).map(|_| ())
    }

    async fn find_org(&self, customer: &StripeCustomerId) -> Result<Option<OrgId>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CUSTOMER_INDEX)
            .key_condition_expression("stripe_customer_id = :c")
            .expression_attribute_values(":c", AttributeValue::S(customer.to_string()))
            .limit(1)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        let org = output
            .items()
            .iter()
            .find(|item| !item.contains_key("unlinked_at"))
            .and_then(|item| match item.get("org_id") {
                Some(AttributeValue::S(org)) => OrgId::parse(org.as_str()).ok(),
                _ => None,
            });
        Ok(org)
    }
}

/// The global secondary index on `stripe_customer_id` (template.yaml).
pub const CUSTOMER_INDEX: &str = "by_stripe_customer_id";

pub struct DynamoEventLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoEventLog {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl EventLog for DynamoEventLog {
    async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("event_id", AttributeValue::S(event_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(output.item.is_some())
    }

    async fn mark_processed(&self, event_id: &str, event_type: &str) -> Result<(), StoreError> {
        let expires_at = OffsetDateTime::now_utc().unix_timestamp() + PROCESSED_EVENT_TTL_SECONDS;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("event_id", AttributeValue::S(event_id.to_owned()))
            .item("type", AttributeValue::S(event_type.to_owned()))
            .item("processed_at", AttributeValue::S(now_rfc3339()))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(event_id)")
            .send()
            .await;
        // Not written: a concurrent delivery of the same event recorded it first. Same outcome.
        conditional_write(result).map(|_| ())
    }
}

/// In-memory event log for tests.
#[derive(Default)]
pub struct InMemoryEventLog {
    ids: Mutex<std::collections::HashSet<String>>,
}

#[async_trait]
impl EventLog for InMemoryEventLog {
    async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.ids.lock().map_err(poisoned)?.contains(event_id))
    }

    async fn mark_processed(&self, event_id: &str, _event_type: &str) -> Result<(), StoreError> {
        self.ids
            .lock()
            .map_err(poisoned)?
            .insert(event_id.to_owned());
        Ok(())
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// In-memory store with the same create-if-absent semantics, for tests and benchmarks.
#[derive(Default)]
pub struct InMemoryCustomerStore {
    records: Mutex<HashMap<OrgId, CustomerRecord>>,
}

impl InMemoryCustomerStore {
    pub fn len(&self) -> usize {
        self.records.lock().map(|r| r.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Failed("in-memory store lock poisoned".into())
}

#[async_trait]
impl CustomerStore for InMemoryCustomerStore {
    async fn load(&self, org_id: &OrgId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.records.lock().map_err(poisoned)?.get(org_id).cloned())
    }

    async fn relink(
        &self,
        record: &CustomerRecord,
        deleted: &StripeCustomerId,
    ) -> Result<InsertOutcome, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        match records.get(&record.org_id) {
            Some(old) if !old.is_linked() && &old.stripe_customer_id == deleted => {
                records.insert(record.org_id.clone(), record.clone());
                Ok(InsertOutcome::Inserted)
            }
            _ => Ok(InsertOutcome::AlreadyExists),
        }
    }

    async fn unlink(
        &self,
        org_id: &OrgId,
        customer: &StripeCustomerId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        match records.get_mut(org_id) {
            Some(record) if record.is_linked() && &record.stripe_customer_id == customer => {
                record.unlinked_at = Some(at);
                record.updated_at = at;
                record.subscription = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn insert_new(&self, record: &CustomerRecord) -> Result<InsertOutcome, StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        if records.contains_key(&record.org_id) {
            return Ok(InsertOutcome::AlreadyExists);
        }
        records.insert(record.org_id.clone(), record.clone());
        Ok(InsertOutcome::Inserted)
    }

    async fn save_subscription(
        &self,
        org_id: &OrgId,
        snapshot: &SubscriptionSnapshot,
        started_from: Option<u32>,
    ) -> Result<(), StoreError> {
        let mut records = self.records.lock().map_err(poisoned)?;
        let Some(record) = records.get_mut(org_id) else {
            return Ok(());
        };
        if record
            .subscription
            .as_ref()
            .is_some_and(|s| s.synced_at > snapshot.synced_at)
        {
            return Ok(());
        }
        if let Some(from) = started_from {
            if record.subscription_starts != from {
                return Ok(());
            }
            record.subscription_starts = from + 1;
        }
        record.subscription = Some(snapshot.clone());
        Ok(())
    }

    async fn find_org(&self, customer: &StripeCustomerId) -> Result<Option<OrgId>, StoreError> {
        let records = self.records.lock().map_err(poisoned)?;
        Ok(records
            .values()
            .find(|r| r.is_linked() && &r.stripe_customer_id == customer)
            .map(|r| r.org_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn record() -> CustomerRecord {
        let now = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        CustomerRecord {
            org_id: OrgId::parse("org_1").unwrap(),
            stripe_customer_id: StripeCustomerId::parse("cus_1").unwrap(),
            created_at: now,
            updated_at: now,
            subscription_starts: 0,
            subscription: None,
            unlinked_at: None,
        }
    }

    fn store(client: aws_sdk_dynamodb::Client) -> DynamoCustomerStore {
        DynamoCustomerStore::new(client, "billing_customers".into())
    }

    #[tokio::test]
    async fn get_reads_the_org_key_consistently_and_maps_the_item() {
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record()).unwrap();
        let rule = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|req| {
                req.table_name() == Some("billing_customers")
                    && req.consistent_read() == Some(true)
                    && req.key().and_then(|k| k.get("org_id"))
                        == Some(&AttributeValue::S("org_1".into()))
            })
            .then_output(move || {
                GetItemOutput::builder()
                    .set_item(Some(item.clone()))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        let found = store(client)
            .get(&OrgId::parse("org_1").unwrap())
            .await
            .unwrap();
        assert_eq!(found, Some(record()));
    }

    #[tokio::test]
    async fn insert_is_conditional_and_a_lost_race_is_already_exists() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.condition_expression() == Some("attribute_not_exists(org_id)")
            })
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .message("exists")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        assert_eq!(
            store(client).insert_new(&record()).await.unwrap(),
            InsertOutcome::AlreadyExists
        );
    }

    #[tokio::test]
    async fn a_won_insert_is_inserted() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        assert_eq!(
            store(client).insert_new(&record()).await.unwrap(),
            InsertOutcome::Inserted
        );
    }

    #[tokio::test]
    async fn throttling_is_unavailable_not_failed() {
        let rule = mock!(aws_sdk_dynamodb::Client::get_item).then_error(|| {
            GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    // What the SDK parses from a real response's `__type`.
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let error = store(client)
            .get(&OrgId::parse("org_1").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn in_memory_store_refuses_a_second_record_for_an_org() {
        let memory = InMemoryCustomerStore::default();
        assert_eq!(
            memory.insert_new(&record()).await.unwrap(),
            InsertOutcome::Inserted
        );
        assert_eq!(
            memory.insert_new(&record()).await.unwrap(),
            InsertOutcome::AlreadyExists
        );
        assert_eq!(memory.len(), 1);
    }
}
