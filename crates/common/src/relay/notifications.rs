//! The sink of `notifications.deliver` rows: typed notices for NotificationInternalService.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::DateTime;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::notifications::v1::{
    DeliverRequest, Notice, NotificationKind, NotificationRequest,
};
use rendezvous_proto::prost::Message as _;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink, SinkError};
use crate::auth::ServiceCredentials;
use crate::outbox::TOPIC_NOTIFY;
use crate::peers::{PeerChannel, with_credentials};

/// The sink for `notifications.deliver` rows: calls NotificationInternalService.Deliver
/// (batched, calls bounded by count and bytes) with a service credential.
#[derive(Clone, Debug)]
pub struct NotificationsSink {
    client: NotificationInternalServiceClient<PeerChannel>,
}

/// Most notifications in one `Deliver` call: a claim of many rows goes in several calls, so
/// that notifications stores (and announces) a bounded chunk at a time.
pub const MAX_NOTICES_PER_CALL: usize = 1000;

/// Most encoded notification bytes in one `Deliver` call, well under the receivers' message
/// limit (16 MiB by default); a single larger notification still goes, alone.
pub const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;

/// `notifications` in order, in calls of at most [`MAX_NOTICES_PER_CALL`] notifications and
/// [`MAX_BYTES_PER_CALL`] encoded bytes (none empty).
fn calls(notifications: Vec<NotificationRequest>) -> Vec<Vec<NotificationRequest>> {
    let mut calls = Vec::new();
    let mut call: Vec<NotificationRequest> = Vec::new();
    let mut bytes = 0;
    for notification in notifications {
        let size = notification.encoded_len();
        if !call.is_empty()
            && (call.len() >= MAX_NOTICES_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
        {
            calls.push(std::mem::take(&mut call));
            bytes = 0;
        }
        bytes += size;
        call.push(notification);
    }
    if !call.is_empty() {
        calls.push(call);
    }
    calls
}

impl NotificationsSink {
    /// Deadline of one `Deliver` call.
    pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self {
            client: NotificationInternalServiceClient::new(with_credentials(channel, credentials)),
        }
    }
}

impl OutboxSink for NotificationsSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_NOTIFY
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        notification_request(row).map(drop)
    }

    /// Sends the rows that convert, in calls bounded by count and bytes, each with its own
    /// deadline (a failed call fails the batch: the receiver deduplicates what went before). Rows that do not convert (the relay leaves
    /// them out, see [`OutboxSink::check`]) are logged and reported in the error, a refusal,
    /// after the others were sent. A refused call is refused for every row in it (notifications
    /// checks a whole call before it stores any of it): the relay splits it to find the rows
    /// at fault.
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        let mut notifications = Vec::with_capacity(rows.len());
        let mut invalid = Vec::new();
        for row in rows {
            match notification_request(row) {
                Ok(notification) => notifications.push(notification),
                Err(error) => {
                    tracing::warn!(
                        outbox_id = %row.id, %error,
                        "outbox row is not a valid notification"
                    );
                    invalid.push(row.id.as_str());
                }
            }
        }
        for notifications in calls(notifications) {
            let count = notifications.len();
            let mut request = tonic::Request::new(DeliverRequest { notifications });
            request.set_timeout(Self::CALL_TIMEOUT);
            let response = self
                .client
                .clone()
                .deliver(request)
                .await
                .map_err(|status| SinkError::from_status("deliver", &status))?
                .into_inner();
            tracing::debug!(
                count,
                accepted = response.accepted_count,
                duplicates = response.duplicate_count,
                "notifications delivered"
            );
        }
        if invalid.is_empty() {
            Ok(())
        } else {
            Err(SinkError::refused(format!(
                "invalid notification payloads: {}",
                invalid.join(", ")
            )))
        }
    }
}

/// Converts a `notifications.deliver` row's payload, `{"recipient_id", "kind" (e.g.
/// `"WELCOME"`), "dedupe_key", "notice": base64 of the protobuf `Notice`, "not_before"?: RFC
/// 3339}` (what [`crate::outbox::OutboxMessage::notice`] writes), into a request. The kind is
/// there for people reading the table; a notice of another kind is refused. A missing or empty `dedupe_key` falls back to the row's key.
pub fn notification_request(row: &OutboxRow) -> Result<NotificationRequest, String> {
    let payload = row
        .payload
        .as_object()
        .ok_or("payload is not a json object")?;
    let string = |name: &str| -> Result<Option<&str>, String> {
        match payload.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let recipient_id = string("recipient_id")?
        .filter(|id| !id.is_empty())
        .ok_or("recipient_id is missing")?;
    let kind_name = string("kind")?.ok_or("kind is missing")?;
    let kind = NotificationKind::from_str_name(&format!("NOTIFICATION_KIND_{kind_name}"))
        .filter(|kind| *kind != NotificationKind::Unspecified)
        .ok_or_else(|| format!("unknown notification kind {kind_name:?}"))?;
    let dedupe_key = string("dedupe_key")?
        .filter(|key| !key.is_empty())
        .unwrap_or(&row.dedupe_key);
    if dedupe_key.is_empty() {
        return Err("dedupe_key is missing".to_owned());
    }
    let not_before = string("not_before")?
        .map(|at| {
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|error| format!("not_before is not an RFC 3339 time: {error}"))?;
            Ok::<_, String>(rendezvous_proto::prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: i32::try_from(at.timestamp_subsec_nanos().min(999_999_999))
                    .unwrap_or_default(),
            })
        })
        .transpose()?;
    let encoded = string("notice")?.ok_or("notice is missing")?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|error| format!("notice is not base64: {error}"))?;
    let notice = Notice::decode(bytes.as_slice())
        .map_err(|error| format!("notice is not a protobuf Notice: {error}"))?;
    if notice.kind() != kind {
        return Err(format!(
            "notice is a {:?}, the row says {kind:?}",
            notice.kind()
        ));
    }
    Ok(NotificationRequest {
        recipient_id: recipient_id.to_owned(),
        dedupe_key: dedupe_key.to_owned(),
        not_before,
        notice: Some(notice),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(payload: serde_json::Value) -> OutboxRow {
        OutboxRow {
            id: "row-1".to_owned(),
            topic: TOPIC_NOTIFY.to_owned(),
            dedupe_key: "row-key".to_owned(),
            payload,
            attempts: 0,
            traceparent: None,
        }
    }

    fn request(body_bytes: usize) -> NotificationRequest {
        NotificationRequest {
            recipient_id: "m".repeat(body_bytes),
            dedupe_key: "k".to_owned(),
            not_before: None,
            notice: None,
        }
    }

    #[test]
    fn calls_are_bounded_by_count_and_bytes_and_keep_the_order() {
        let sizes = |calls: &[Vec<NotificationRequest>]| -> Vec<usize> {
            calls.iter().map(Vec::len).collect()
        };
        assert!(calls(Vec::new()).is_empty());
        let exact: Vec<_> = (0..MAX_NOTICES_PER_CALL).map(|_| request(10)).collect();
        assert_eq!(sizes(&calls(exact)), [MAX_NOTICES_PER_CALL]);
        let more: Vec<_> = (0..=MAX_NOTICES_PER_CALL)
            .map(|i| request(10 + i % 7))
            .collect();
        let split = calls(more.clone());
        assert_eq!(sizes(&split), [MAX_NOTICES_PER_CALL, 1]);
        assert_eq!(split.concat(), more, "in order, none lost");

        // Four notifications of a bit over a third of the byte bound: two a call.
        let big = MAX_BYTES_PER_CALL / 3 + 1;
        let heavy: Vec<_> = (0..4).map(|_| request(big)).collect();
        let split = calls(heavy);
        assert_eq!(sizes(&split), [2, 2]);
        for call in &split {
            let bytes: usize = call.iter().map(|n| n.encoded_len()).sum();
            assert!(bytes <= MAX_BYTES_PER_CALL, "{bytes}");
        }
        // One larger than the bound still goes, alone.
        let huge = calls(vec![request(10), request(MAX_BYTES_PER_CALL), request(10)]);
        assert_eq!(sizes(&huge), [1, 1, 1]);
    }

    #[test]
    fn a_typed_notice_travels_whole_and_must_match_its_kind() {
        use rendezvous_proto::notifications::v1 as pb;

        let recipient = uuid::Uuid::now_v7();
        let facts = pb::EventFacts {
            event_id: "e1".to_owned(),
            title: "Café networking".to_owned(),
            start_time: None,
            end_time: None,
            time_zone: "Europe/Paris".to_owned(),
            venue_name: "Le Peloton".to_owned(),
            venue_address: "17 rue du Pont Louis-Philippe".to_owned(),
            city: "Paris".to_owned(),
        };
        let notice = pb::RsvpWaitlisted {
            event: Some(facts),
            position: 3,
        };
        let at = DateTime::parse_from_rfc3339("2030-01-02T03:04:05.25Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&chrono::Utc);
        let message = crate::outbox::OutboxMessage::notice(
            recipient,
            "rsvp:e1:m1".to_owned(),
            notice.clone(),
            Some(at),
        );
        assert_eq!(message.payload["kind"], "RSVP_WAITLISTED");
        let mut outbox_row = row(message.payload.clone());
        outbox_row.dedupe_key = message.dedupe_key;
        let request = notification_request(&outbox_row).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            request
                .notice
                .as_ref()
                .map(Notice::kind)
                .unwrap_or_default(),
            NotificationKind::RsvpWaitlisted
        );
        assert_eq!(request.recipient_id, recipient.to_string());
        assert_eq!(request.notice, Some(pb::Notice::from(notice)));
        assert_eq!(request.not_before.map(|t| t.nanos), Some(250_000_000));

        let mut lying = message.payload.clone();
        lying["kind"] = json!("WELCOME");
        let error = notification_request(&row(lying)).err();
        assert!(error.is_some_and(|e| e.contains("the row says")));
        let mut garbled = message.payload;
        garbled["notice"] = json!("not base64!");
        assert!(notification_request(&row(garbled)).is_err());
    }

    /// A WELCOME notice, base64-encoded as the outbox writes it.
    fn welcome() -> String {
        use rendezvous_proto::notifications::v1 as pb;

        BASE64.encode(
            Notice::from(pb::Welcome {
                member: Some(pb::MemberFacts {
                    member_id: "m1".to_owned(),
                    display_name: "Ada".to_owned(),
                }),
            })
            .encode_to_vec(),
        )
    }

    #[test]
    fn payload_converts_to_a_notification_request() {
        let request = notification_request(&row(json!({
            "recipient_id": "0190a0a0-0000-7000-8000-000000000001",
            "kind": "WELCOME",
            "dedupe_key": "welcome:m1",
            "notice": welcome(),
            "not_before": "2030-01-02T03:04:05.25+01:00",
        })));
        let request = request.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.recipient_id, "0190a0a0-0000-7000-8000-000000000001");
        assert_eq!(request.dedupe_key, "welcome:m1");
        assert_eq!(
            request.notice.map(|notice| notice.kind()),
            Some(NotificationKind::Welcome)
        );
        let not_before = request
            .not_before
            .unwrap_or_else(|| panic!("no not_before"));
        let expected =
            DateTime::parse_from_rfc3339("2030-01-02T02:04:05Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(not_before.seconds, expected.timestamp());
        assert_eq!(not_before.nanos, 250_000_000);
    }

    #[test]
    fn optional_payload_fields_default() {
        let request = notification_request(&row(json!({
            "recipient_id": "m1",
            "kind": "WELCOME",
            "notice": welcome(),
            "not_before": null,
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.dedupe_key, "row-key");
        assert_eq!(request.not_before, None);
    }

    #[test]
    fn payloads_that_cannot_convert_are_refused() {
        let good = json!({"recipient_id": "m1", "kind": "WELCOME", "dedupe_key": "k", "notice": welcome()});
        let with = |name: &str, value: serde_json::Value| {
            let mut payload = good.clone();
            if let Some(object) = payload.as_object_mut() {
                object.insert(name.to_owned(), value);
            }
            payload
        };
        let without = |name: &str| {
            let mut payload = good.clone();
            if let Some(object) = payload.as_object_mut() {
                object.remove(name);
            }
            payload
        };
        assert!(notification_request(&row(good.clone())).is_ok());
        for (case, payload) in [
            ("not an object", json!(["WELCOME"])),
            ("no recipient", without("recipient_id")),
            ("empty recipient", with("recipient_id", json!(""))),
            ("numeric recipient", with("recipient_id", json!(7))),
            ("no kind", without("kind")),
            ("unknown kind", with("kind", json!("BIRTHDAY"))),
            (
                "prefixed kind",
                with("kind", json!("NOTIFICATION_KIND_WELCOME")),
            ),
            ("lowercase kind", with("kind", json!("welcome"))),
            ("unspecified kind", with("kind", json!("UNSPECIFIED"))),
            ("no notice", without("notice")),
            ("notice not base64", with("notice", json!("%%%"))),
            ("notice not a Notice", with("notice", json!("//////8="))),
            (
                "notice of another kind",
                with("kind", json!("RSVP_CONFIRMED")),
            ),
            ("bad not_before", with("not_before", json!("tomorrow"))),
            (
                "numeric not_before",
                with("not_before", json!(1_700_000_000)),
            ),
        ] {
            assert!(
                notification_request(&row(payload)).is_err(),
                "{case} was accepted"
            );
        }
        let mut keyless = row(without("dedupe_key"));
        keyless.dedupe_key.clear();
        assert!(notification_request(&keyless).is_err());
    }

    #[tokio::test]
    async fn notifications_sink_screens_rows_and_reports_failures() {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let credentials = crate::auth::ServiceKeySet::generate()
            .keys_for(crate::auth::ServiceName::Events)
            .credentials(
                crate::auth::ServiceName::Notifications,
                crate::clock::Clock::system(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let sink = NotificationsSink::new(channel, credentials);
        assert!(sink.accepts(TOPIC_NOTIFY));
        assert!(!sink.accepts("members.changed"));
        let good = row(json!({
            "recipient_id": "m1", "kind": "WELCOME", "dedupe_key": "k", "notice": welcome()
        }));
        let mut bad = row(json!({"recipient_id": "m1", "kind": "BIRTHDAY", "notice": welcome()}));
        bad.id = "row-bad".to_owned();
        assert!(sink.check(&good).is_ok());
        assert!(sink.check(&bad).is_err());
        // Nothing convertible: no call is made, the bad ids are reported.
        let error = sink.deliver(std::slice::from_ref(&bad)).await;
        assert_eq!(
            error,
            Err(SinkError::refused("invalid notification payloads: row-bad"))
        );
        // Nobody listens: the call fails, and so does the batch, to be retried.
        let error = sink.deliver(&[good, bad]).await;
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.message.starts_with("deliver failed") && !e.refused),
            "{error:?}"
        );
    }
}
