//! The sink of booked coffees: members writes an outbox row when a matched coffee is booked
//! (in the transaction of the booking), and this sink asks events to make it a private
//! two-person event (`EventInternalService.ScheduleCoffee`, idempotent per proposal); when the
//! two are no longer to meet (a block, a removed connection, an erased account) members writes
//! another, and the sink asks events to call it off (`CancelCoffee`, idempotent too, and
//! remembered by events if it comes first). A redelivered row changes nothing.
//!
//! A row's payload is the typed request, protobuf in base64, beside the ids for people reading
//! the table: the members service builds the request itself, so a fact events needs that it
//! leaves out does not compile.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::prost::Message;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink, SinkError, within_deadline};
use crate::auth::ServiceCredentials;
use crate::outbox::OutboxMessage;
use crate::peers::{PeerChannel, with_credentials};

/// Topic of rows for the events service's `ScheduleCoffee`.
pub const TOPIC_COFFEE_IN_EVENTS: &str = "events.schedule_coffee";

/// Topic of rows for the events service's `CancelCoffee`.
pub const TOPIC_COFFEE_OFF_IN_EVENTS: &str = "events.cancel_coffee";

/// Deadline of one ScheduleCoffee or CancelCoffee call.
pub const SCHEDULE_COFFEE_TIMEOUT: Duration = Duration::from_secs(10);

/// The payload of a row holding `request`, with `ids` beside it for people reading the table.
fn payload(request: &impl Message, ids: serde_json::Value) -> serde_json::Value {
    let mut payload = ids;
    payload["request"] = serde_json::Value::String(BASE64.encode(request.encode_to_vec()));
    payload
}

/// The typed request of a row (what [`payload`] wrote), named `what` in errors.
fn request_of<M: Message + Default>(row: &OutboxRow, what: &str) -> Result<M, String> {
    let encoded = row
        .payload
        .get("request")
        .and_then(serde_json::Value::as_str)
        .ok_or("request is missing or not a string")?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|error| format!("request is not base64: {error}"))?;
    M::decode(bytes.as_slice())
        .map_err(|error| format!("request is not a protobuf {what}: {error}"))
}

/// The row asking events to make the booked coffee of `request.proposal_id` an event. A
/// proposal is booked once, so its id keys the row.
pub fn coffee_booked(request: &events_pb::ScheduleCoffeeRequest) -> OutboxMessage {
    OutboxMessage {
        topic: TOPIC_COFFEE_IN_EVENTS,
        dedupe_key: format!("{TOPIC_COFFEE_IN_EVENTS}:{}", request.proposal_id),
        payload: payload(
            request,
            serde_json::json!({
                "proposal_id": request.proposal_id,
                "event_id": request.event_id,
            }),
        ),
    }
}

/// The row asking events to call off the booked coffee of `request.proposal_id`; once per
/// proposal, like its booking.
pub fn coffee_called_off(request: &events_pb::CancelCoffeeRequest) -> OutboxMessage {
    OutboxMessage {
        topic: TOPIC_COFFEE_OFF_IN_EVENTS,
        dedupe_key: format!("{TOPIC_COFFEE_OFF_IN_EVENTS}:{}", request.proposal_id),
        payload: payload(
            request,
            serde_json::json!({
                "proposal_id": request.proposal_id,
                "event_id": request.event_id,
            }),
        ),
    }
}

/// The request a booking row holds (what [`coffee_booked`] writes).
pub fn schedule_coffee_request(
    row: &OutboxRow,
) -> Result<events_pb::ScheduleCoffeeRequest, String> {
    let request: events_pb::ScheduleCoffeeRequest = request_of(row, "ScheduleCoffeeRequest")?;
    if request.proposal_id.is_empty() || request.event_id.is_empty() {
        return Err("request names no proposal or no event".to_owned());
    }
    Ok(request)
}

/// The request a calling-off row holds (what [`coffee_called_off`] writes).
pub fn cancel_coffee_request(row: &OutboxRow) -> Result<events_pb::CancelCoffeeRequest, String> {
    let request: events_pb::CancelCoffeeRequest = request_of(row, "CancelCoffeeRequest")?;
    if request.proposal_id.is_empty() || request.event_id.is_empty() {
        return Err("request names no proposal or no event".to_owned());
    }
    Ok(request)
}

/// A coffee row, typed.
enum CoffeeCall {
    Schedule(Box<events_pb::ScheduleCoffeeRequest>),
    Cancel(events_pb::CancelCoffeeRequest),
}

fn coffee_call(row: &OutboxRow) -> Result<CoffeeCall, String> {
    if row.topic == TOPIC_COFFEE_OFF_IN_EVENTS {
        cancel_coffee_request(row).map(CoffeeCall::Cancel)
    } else {
        schedule_coffee_request(row).map(|request| CoffeeCall::Schedule(Box::new(request)))
    }
}

/// Delivers coffee rows to events, one call (with its deadline) per row.
#[derive(Clone, Debug)]
pub struct CoffeeSink(EventInternalServiceClient<PeerChannel>);

impl CoffeeSink {
    pub fn events(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(EventInternalServiceClient::new(with_credentials(
            channel,
            credentials,
        )))
    }
}

impl OutboxSink for CoffeeSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_COFFEE_IN_EVENTS || topic == TOPIC_COFFEE_OFF_IN_EVENTS
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        coffee_call(row).map(drop)
    }

    /// One call per row, in order; the first failure fails the batch (rows sent before it are
    /// sent again on the retry, which changes nothing).
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        for row in rows {
            match coffee_call(row).map_err(SinkError::refused)? {
                CoffeeCall::Schedule(body) => {
                    let proposal_id = body.proposal_id.clone();
                    let mut request = tonic::Request::new(*body);
                    request.set_timeout(SCHEDULE_COFFEE_TIMEOUT);
                    let response = within_deadline(
                        SCHEDULE_COFFEE_TIMEOUT,
                        "ScheduleCoffee",
                        self.0.clone().schedule_coffee(request),
                    )
                    .await?;
                    tracing::info!(
                        proposal_id,
                        event_id = response.event_id,
                        created = response.created,
                        topic = TOPIC_COFFEE_IN_EVENTS,
                        "coffee scheduled"
                    );
                }
                CoffeeCall::Cancel(body) => {
                    let proposal_id = body.proposal_id.clone();
                    let mut request = tonic::Request::new(body);
                    request.set_timeout(SCHEDULE_COFFEE_TIMEOUT);
                    let response = within_deadline(
                        SCHEDULE_COFFEE_TIMEOUT,
                        "CancelCoffee",
                        self.0.clone().cancel_coffee(request),
                    )
                    .await?;
                    tracing::info!(
                        proposal_id,
                        cancelled = response.cancelled,
                        topic = TOPIC_COFFEE_OFF_IN_EVENTS,
                        "coffee called off"
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn request() -> events_pb::ScheduleCoffeeRequest {
        events_pb::ScheduleCoffeeRequest {
            event_id: Uuid::now_v7().to_string(),
            proposal_id: Uuid::now_v7().to_string(),
            host: Some(events_pb::CoffeeGuest {
                member_id: Uuid::now_v7().to_string(),
                display_name: "Amélie".to_owned(),
            }),
            guest: Some(events_pb::CoffeeGuest {
                member_id: Uuid::now_v7().to_string(),
                display_name: "Ben".to_owned(),
            }),
            start_time: Some(crate::time::to_timestamp(chrono::Utc::now())),
            end_time: None,
            time_zone: "Europe/Paris".to_owned(),
            city: "Paris".to_owned(),
            venue: None,
            preferred_areas: vec!["Le Marais".to_owned()],
        }
    }

    #[test]
    fn a_coffee_row_reads_back_as_the_request_it_was_written_for() {
        let sent = request();
        let message = coffee_booked(&sent);
        assert_eq!(
            schedule_coffee_request(&OutboxRow::claimed(&message)),
            Ok(sent.clone())
        );
        assert_eq!(
            message.dedupe_key,
            format!("events.schedule_coffee:{}", sent.proposal_id)
        );
    }

    #[test]
    fn a_calling_off_row_reads_back_as_its_request_and_is_told_from_a_booking() {
        let sent = events_pb::CancelCoffeeRequest {
            proposal_id: Uuid::now_v7().to_string(),
            event_id: Uuid::now_v7().to_string(),
        };
        let message = coffee_called_off(&sent);
        let row = OutboxRow::claimed(&message);
        assert_eq!(cancel_coffee_request(&row), Ok(sent.clone()));
        assert!(matches!(coffee_call(&row), Ok(CoffeeCall::Cancel(c)) if c == sent));
        assert_ne!(message.dedupe_key, coffee_booked(&request()).dedupe_key);
    }

    #[test]
    fn a_row_without_its_request_is_refused_naming_what_is_wrong() {
        let mut message = coffee_booked(&request());
        message.payload["request"] = serde_json::json!("not base64!");
        assert!(
            schedule_coffee_request(&OutboxRow::claimed(&message))
                .is_err_and(|error| error.starts_with("request is not base64"))
        );
        message.payload = serde_json::json!({"proposal_id": "p"});
        assert_eq!(
            schedule_coffee_request(&OutboxRow::claimed(&message)),
            Err("request is missing or not a string".to_owned())
        );
        let empty = events_pb::ScheduleCoffeeRequest::default();
        message.payload["request"] = serde_json::json!(BASE64.encode(empty.encode_to_vec()));
        assert!(schedule_coffee_request(&OutboxRow::claimed(&message)).is_err());
    }
}
