//! The ports on DynamoDB: conditional writes wherever a race or a retry could double something.

use super::{
    ClaimedEvent, CustomerRecord, CustomerStore, EVENT_CLAIM_LEASE_SECONDS, EventClaim, EventLog,
    InsertOutcome, PROCESSED_EVENT_TTL_SECONDS, StoreError, SubscriptionSnapshot,
};
use crate::aws::{SdkFailure, classify_sdk_error};
use crate::domain::{OrgId, StripeCustomerId};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use time::OffsetDateTime;

impl From<SdkFailure> for StoreError {
    fn from(failure: SdkFailure) -> Self {
        match failure {
            SdkFailure::Transient(source) => Self::Unavailable(source),
            SdkFailure::Permanent(source) => Self::Failed(source),
        }
    }
}

fn store_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    classify_sdk_error(error).into()
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

impl ConditionalWriteError for DeleteItemError {
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
        Err(error) => Err(store_error(error)),
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
            .map_err(store_error)?;
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
            .map_err(store_error)?;
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

const CLAIM_PROCESSING: &str = "processing";
const CLAIM_DONE: &str = "done";

#[async_trait]
impl EventLog for DynamoEventLog {
    async fn claim(
        &self,
        event_id: &str,
        event_type: &str,
        now: OffsetDateTime,
    ) -> Result<EventClaim, StoreError> {
        let claimed_at_ms = unix_ms(now);
        let stale_before = claimed_at_ms - EVENT_CLAIM_LEASE_SECONDS * 1000;
        let expires_at = now.unix_timestamp() + PROCESSED_EVENT_TTL_SECONDS;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("event_id", AttributeValue::S(event_id.to_owned()))
            .item("type", AttributeValue::S(event_type.to_owned()))
            .item("state", AttributeValue::S(CLAIM_PROCESSING.to_owned()))
            .item("claimed_at_ms", AttributeValue::N(claimed_at_ms.to_string()))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression(
                "attribute_not_exists(event_id) OR (#state = :processing AND claimed_at_ms < :stale_before)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":processing", AttributeValue::S(CLAIM_PROCESSING.to_owned()))
            .expression_attribute_values(":stale_before", AttributeValue::N(stale_before.to_string()))
            .send()
            .await;
        if conditional_write(result)? {
            return Ok(EventClaim::Claimed(ClaimedEvent {
                event_id: event_id.to_owned(),
                claimed_at_ms,
            }));
        }
        let existing = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("event_id", AttributeValue::S(event_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?
            .item;
        let state = existing.as_ref().and_then(|item| item.get("state"));
        Ok(
            match state
                .and_then(|value| value.as_s().ok())
                .map(String::as_str)
            {
                Some(CLAIM_PROCESSING) => EventClaim::InProgress,
                // Released between the two calls: the redelivery this answer asks for will claim it.
                _ if existing.is_none() => EventClaim::InProgress,
                // `done`, or an entry written before claims existed (no state: processed).
                _ => EventClaim::Done,
            },
        )
    }

    async fn complete(&self, claim: &ClaimedEvent) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("event_id", AttributeValue::S(claim.event_id.clone()))
            .update_expression("SET #state = :done, processed_at = :now")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", AttributeValue::S(CLAIM_DONE.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(now_rfc3339()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn release(&self, claim: &ClaimedEvent) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("event_id", AttributeValue::S(claim.event_id.clone()))
            .condition_expression("#state = :processing AND claimed_at_ms = :mine")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(
                ":processing",
                AttributeValue::S(CLAIM_PROCESSING.to_owned()),
            )
            .expression_attribute_values(
                ":mine",
                AttributeValue::N(claim.claimed_at_ms.to_string()),
            )
            .send()
            .await;
        // Not deleted: a later delivery took the claim over, or finished the event.
        conditional_write(result).map(|_| ())
    }
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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

    fn lost_claim() -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("held")
                .build(),
        )
    }

    /// A claim that loses its conditional put, and what the consistent read then finds.
    async fn claim_against(existing: Option<&str>) -> EventClaim {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.condition_expression().is_some_and(|c| {
                    c.contains("attribute_not_exists(event_id)")
                        && c.contains("claimed_at_ms < :stale_before")
                })
            })
            .then_error(lost_claim);
        let item: Option<HashMap<String, AttributeValue>> = existing.map(|state| {
            let mut item =
                HashMap::from([("event_id".to_owned(), AttributeValue::S("evt_1".into()))]);
            if !state.is_empty() {
                item.insert("state".to_owned(), AttributeValue::S(state.to_owned()));
            }
            item
        });
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|req| req.consistent_read() == Some(true))
            .then_output(move || GetItemOutput::builder().set_item(item.clone()).build());
        let client = mock_client!(aws_sdk_dynamodb, [&put, &get]);
        DynamoEventLog::new(client, "events".into())
            .claim("evt_1", "invoice.paid", OffsetDateTime::now_utc())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_lost_claim_reads_whether_the_event_is_done_or_being_applied() {
        assert_eq!(claim_against(Some("done")).await, EventClaim::Done);
        assert_eq!(
            claim_against(Some("processing")).await,
            EventClaim::InProgress
        );
        // Written before claims existed: processed.
        assert_eq!(claim_against(Some("")).await, EventClaim::Done);
        // Released in between: ask for a retry.
        assert_eq!(claim_against(None).await, EventClaim::InProgress);
    }

    #[tokio::test]
    async fn a_won_claim_holds_its_time_and_release_is_conditional_on_it() {
        let now = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.item().and_then(|i| i.get("state"))
                    == Some(&AttributeValue::S("processing".into()))
                    && req
                        .expression_attribute_values()
                        .and_then(|v| v.get(":stale_before"))
                        == Some(&AttributeValue::N("1779999940000".into()))
            })
            .then_output(|| PutItemOutput::builder().build());
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
            .match_requests(|req| {
                req.expression_attribute_values()
                    .and_then(|v| v.get(":mine"))
                    == Some(&AttributeValue::N("1780000000000".into()))
            })
            .then_error(|| {
                DeleteItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder()
                        .message("taken over")
                        .build(),
                )
            });
        let client = mock_client!(aws_sdk_dynamodb, [&put, &delete]);
        let log = DynamoEventLog::new(client, "events".into());
        let EventClaim::Claimed(claim) = log.claim("evt_1", "invoice.paid", now).await.unwrap()
        else {
            panic!("claimed")
        };
        assert_eq!(claim.claimed_at_ms, 1_780_000_000_000);
        // A takeover's claim is not ours to delete: not an error.
        log.release(&claim).await.unwrap();
        assert_eq!(delete.num_calls(), 1);
    }
}
