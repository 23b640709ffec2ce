//! The sink of met edges: members writes an outbox row for every new met-in-person edge (in the
//! transaction that makes it: at once for a small event's connected pairs, or when both confirm
//! they met), and this sink tells events of it (`EventInternalService.RecordMetEdge`), which
//! counts it towards the health of the event's chapter. A pair is met once, at its first event,
//! so each edge is one row; events counts an event's pair once, so a redelivered row changes
//! nothing.
//!
//! A row's payload is the request as JSON fields (ids, `met_time` in RFC 3339), like the block
//! rows and unlike the coffee rows, so that a SQL migration can write the rows of the edges
//! made before this existed; the sink sends the typed request. Both ends name every field of
//! the request, so a field the contract adds does not compile until it is carried.

use std::time::Duration;

use chrono::DateTime;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink, SinkError, fields, within_deadline};
use crate::auth::ServiceCredentials;
use crate::outbox::OutboxMessage;
use crate::peers::{PeerChannel, with_credentials};

/// Topic of rows for the events service's `RecordMetEdge`.
pub const TOPIC_MET_EDGE_IN_EVENTS: &str = "events.record_met_edge";

/// Deadline of one RecordMetEdge call.
pub const RECORD_MET_EDGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The row telling events that `request.member_a` and `request.member_b` (ordered as members
/// keeps them) met at `request.event_id`. A pair's edge is made once, so the event and the
/// pair key the row (the backfill migration writes the same key).
pub fn met_edge_made(request: &events_pb::RecordMetEdgeRequest) -> OutboxMessage {
    let events_pb::RecordMetEdgeRequest {
        event_id,
        member_a,
        member_b,
        met_time,
    } = request;
    // A time that is no time is left out, and the row refused for it, not sent as another.
    let met_time = met_time
        .and_then(|at| DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?))
        .map(fields::rfc3339);
    OutboxMessage {
        topic: TOPIC_MET_EDGE_IN_EVENTS,
        dedupe_key: format!("{TOPIC_MET_EDGE_IN_EVENTS}:{event_id}:{member_a}:{member_b}"),
        payload: serde_json::json!({
            "event_id": event_id,
            "member_a": member_a,
            "member_b": member_b,
            "met_time": met_time,
        }),
    }
}

/// The request a met-edge row holds (what [`met_edge_made`] and the backfill migration write).
pub fn met_edge_request(row: &OutboxRow) -> Result<events_pb::RecordMetEdgeRequest, String> {
    let payload = fields::object(row)?;
    Ok(events_pb::RecordMetEdgeRequest {
        event_id: fields::uuid(payload, "event_id")?,
        member_a: fields::uuid(payload, "member_a")?,
        member_b: fields::uuid(payload, "member_b")?,
        met_time: Some(crate::time::to_timestamp(fields::time(
            payload, "met_time",
        )?)),
    })
}

/// Delivers met-edge rows to events, one call (with its deadline) per row.
#[derive(Clone, Debug)]
pub struct MetEdgesSink(EventInternalServiceClient<PeerChannel>);

impl MetEdgesSink {
    pub fn events(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(EventInternalServiceClient::new(with_credentials(
            channel,
            credentials,
        )))
    }
}

impl OutboxSink for MetEdgesSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_MET_EDGE_IN_EVENTS
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        met_edge_request(row).map(drop)
    }

    /// One call per row, in order; the first failure fails the batch (edges sent before it are
    /// sent again on the retry, which changes nothing).
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        for row in rows {
            let body = met_edge_request(row).map_err(SinkError::refused)?;
            let event_id = body.event_id.clone();
            let mut request = tonic::Request::new(body);
            request.set_timeout(RECORD_MET_EDGE_TIMEOUT);
            let response = within_deadline(
                RECORD_MET_EDGE_TIMEOUT,
                "RecordMetEdge",
                self.0.clone().record_met_edge(request),
            )
            .await?;
            // Debug: a backfill sends one row per edge ever made.
            tracing::debug!(
                event_id,
                counted = response.counted,
                topic = TOPIC_MET_EDGE_IN_EVENTS,
                "met edge recorded"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn request() -> events_pb::RecordMetEdgeRequest {
        let (a, b) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
        events_pb::RecordMetEdgeRequest {
            event_id: Uuid::now_v7().to_string(),
            member_a: a.clone().min(b.clone()),
            member_b: a.max(b),
            met_time: Some(crate::time::to_timestamp(crate::time::truncate_micros(
                Utc::now(),
            ))),
        }
    }

    #[test]
    fn a_met_edge_row_reads_back_as_the_request_it_was_written_for() {
        let sent = request();
        let message = met_edge_made(&sent);
        assert_eq!(
            met_edge_request(&OutboxRow::claimed(&message)),
            Ok(sent.clone())
        );
        assert_eq!(
            message.dedupe_key,
            format!(
                "events.record_met_edge:{}:{}:{}",
                sent.event_id, sent.member_a, sent.member_b
            )
        );
    }

    #[test]
    fn a_row_as_the_sqlite_backfill_writes_it_reads_back_too() {
        // SQLite keeps times as sqlx writes them: nanoseconds and a `+00:00` offset.
        let mut message = met_edge_made(&request());
        message.payload["met_time"] = serde_json::json!("2030-05-01T09:00:00.123456789+00:00");
        let read = met_edge_request(&OutboxRow::claimed(&message)).map(|request| request.met_time);
        assert_eq!(
            read,
            Ok(Some(rendezvous_proto::prost_types::Timestamp {
                seconds: 1_903_856_400,
                nanos: 123_456_789,
            }))
        );
    }

    #[test]
    fn a_row_without_its_fields_is_refused_naming_what_is_wrong() {
        let mut message = met_edge_made(&request());
        message.payload["member_b"] = serde_json::json!("bob");
        assert_eq!(
            met_edge_request(&OutboxRow::claimed(&message)),
            Err("member_b is missing or not a uuid".to_owned())
        );
        let timeless = events_pb::RecordMetEdgeRequest {
            met_time: None,
            ..request()
        };
        assert_eq!(
            met_edge_request(&OutboxRow::claimed(&met_edge_made(&timeless))),
            Err("met_time is missing".to_owned())
        );
        message.payload = serde_json::json!(["not", "fields"]);
        assert!(met_edge_request(&OutboxRow::claimed(&message)).is_err());
    }
}
