//! The ports on DynamoDB: conditional writes wherever a race or a retry could double something.

use super::{
    CustomerRecord, CustomerStore, EventLog, InsertOutcome, PROCESSED_EVENT_TTL_SECONDS,
    StoreError, SubscriptionSnapshot,
};
use crate::aws::{SdkFailure, classify_sdk_error};
use crate::domain::{OrgId, StripeCustomerId};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::{put_item::PutItemError, update_item::UpdateItemError};
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
            .map_err(store_error)?;
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
}
