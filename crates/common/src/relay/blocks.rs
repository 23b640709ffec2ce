//! The sink of blocks: members writes an outbox row for every block and unblock (in the
//! transaction of the change), and this sink sends them to events' `RecordBlocks` in batches,
//! so that events checks blocks locally instead of asking members on every signed-in read.
//! Events keeps the latest change per pair (last writer wins on the change's time), so a
//! redelivered or reordered row changes nothing.
//!
//! A row's payload is the `BlockChange` as JSON fields (ids, `blocked`, `change_time` in RFC
//! 3339), like the erasure rows, so that a SQL migration can write the rows of blocks made
//! before this existed; the sink sends the typed `BlockChange`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use tonic::transport::Channel;
use uuid::Uuid;

use super::{OutboxRow, OutboxSink, SinkError, fields};
use crate::auth::ServiceCredentials;
use crate::outbox::OutboxMessage;
use crate::peers::{PeerChannel, with_credentials};

/// Topic of rows for the events service's `RecordBlocks`.
pub const TOPIC_BLOCKS_IN_EVENTS: &str = "events.record_blocks";

/// Deadline of one RecordBlocks call.
pub const RECORD_BLOCKS_TIMEOUT: Duration = Duration::from_secs(10);

/// Most changes one RecordBlocks call carries (the most events takes).
pub const MAX_CHANGES_PER_CALL: usize = 500;

/// The row telling events that `blocker` blocked (`blocked`) or unblocked `member` at
/// `changed_at`. The members service makes `changed_at` grow per pair, so it keys the row.
pub fn block_changed(
    blocker: Uuid,
    member: Uuid,
    blocked: bool,
    changed_at: DateTime<Utc>,
) -> OutboxMessage {
    OutboxMessage {
        topic: TOPIC_BLOCKS_IN_EVENTS,
        dedupe_key: format!(
            "{TOPIC_BLOCKS_IN_EVENTS}:{blocker}:{member}:{}",
            changed_at.timestamp_micros()
        ),
        payload: serde_json::json!({
            "blocker_id": blocker.to_string(),
            "blocked_id": member.to_string(),
            "blocked": blocked,
            "change_time": fields::rfc3339(changed_at),
        }),
    }
}

/// The change a block row holds (what [`block_changed`] and the backfill migration write).
pub fn block_change(row: &OutboxRow) -> Result<events_pb::BlockChange, String> {
    let payload = fields::object(row)?;
    let blocker_id = fields::uuid(payload, "blocker_id")?;
    let blocked_id = fields::uuid(payload, "blocked_id")?;
    let blocked = payload
        .get("blocked")
        .and_then(serde_json::Value::as_bool)
        .ok_or("blocked is missing or not a boolean")?;
    let at = fields::time(payload, "change_time")?;
    Ok(events_pb::BlockChange {
        blocker_id,
        blocked_id,
        blocked,
        change_time: Some(crate::time::to_timestamp(at)),
    })
}

/// Delivers block rows to events, up to [`MAX_CHANGES_PER_CALL`] per call (each with its
/// deadline).
#[derive(Clone, Debug)]
pub struct BlocksSink(EventInternalServiceClient<PeerChannel>);

impl BlocksSink {
    pub fn events(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(EventInternalServiceClient::new(with_credentials(
            channel,
            credentials,
        )))
    }
}

impl OutboxSink for BlocksSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_BLOCKS_IN_EVENTS
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        block_change(row).map(drop)
    }

    /// One call per [`MAX_CHANGES_PER_CALL`] rows; the first failure fails the batch (changes
    /// recorded before it are recorded again on the retry, which changes nothing).
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        for chunk in rows.chunks(MAX_CHANGES_PER_CALL) {
            let changes = chunk
                .iter()
                .map(block_change)
                .collect::<Result<Vec<_>, _>>()
                .map_err(SinkError::refused)?;
            let mut request = tonic::Request::new(events_pb::RecordBlocksRequest { changes });
            request.set_timeout(RECORD_BLOCKS_TIMEOUT);
            let recorded =
                tokio::time::timeout(RECORD_BLOCKS_TIMEOUT, self.0.clone().record_blocks(request))
                    .await
                    .map_err(|_| {
                        SinkError::unavailable(format!(
                            "RecordBlocks timed out after {RECORD_BLOCKS_TIMEOUT:?}"
                        ))
                    })?
                    .map_err(|status| SinkError::from_status("RecordBlocks", &status))?
                    .into_inner()
                    .recorded_change_count;
            tracing::info!(
                rows = chunk.len(),
                recorded,
                topic = TOPIC_BLOCKS_IN_EVENTS,
                "blocks recorded"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_row_reads_back_as_the_change_it_was_written_for() {
        let (blocker, member) = (Uuid::now_v7(), Uuid::now_v7());
        let at = DateTime::parse_from_rfc3339("2030-07-01T09:30:00.123456Z")
            .map(|at| at.to_utc())
            .unwrap_or_default();
        let message = block_changed(blocker, member, false, at);
        let change = block_change(&OutboxRow::claimed(&message)).unwrap_or_default();
        assert_eq!(change.blocker_id, blocker.to_string());
        assert_eq!(change.blocked_id, member.to_string());
        assert!(!change.blocked);
        assert_eq!(change.change_time, Some(crate::time::to_timestamp(at)));
        // Each change of a pair is its own row.
        let later = block_changed(
            blocker,
            member,
            true,
            at + chrono::TimeDelta::microseconds(1),
        );
        assert_ne!(later.dedupe_key, message.dedupe_key);
    }

    #[test]
    fn a_row_without_its_fields_is_refused_naming_what_is_wrong() {
        let mut message = block_changed(Uuid::now_v7(), Uuid::now_v7(), true, Utc::now());
        message.payload["blocked_id"] = serde_json::json!("bob");
        assert_eq!(
            block_change(&OutboxRow::claimed(&message)),
            Err("blocked_id is missing or not a uuid".to_owned())
        );
        message.payload = serde_json::json!({"blocker_id": Uuid::now_v7().to_string()});
        assert!(block_change(&OutboxRow::claimed(&message)).is_err());
    }
}
