//! ListDeliveries: a member's delivery log, one row per notification and channel.

use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::notifications::v1 as pb;
use uuid::Uuid;

use super::{Notifications, count, ts};
use crate::domain::DeliveryState;
use crate::error::Result;
use crate::store::DeliveryRow;

/// The state a status filter asks for; `None` for all.
fn state_of(status: pb::DeliveryStatus) -> Option<DeliveryState> {
    match status {
        pb::DeliveryStatus::Unspecified => None,
        pb::DeliveryStatus::Pending => Some(DeliveryState::Pending),
        pb::DeliveryStatus::Sent => Some(DeliveryState::Sent),
        pb::DeliveryStatus::Failed => Some(DeliveryState::Failed),
        pb::DeliveryStatus::Dead => Some(DeliveryState::Dead),
        pb::DeliveryStatus::Suppressed => Some(DeliveryState::Suppressed),
    }
}

fn status_of(state: Option<DeliveryState>) -> pb::DeliveryStatus {
    match state {
        Some(DeliveryState::Pending) => pb::DeliveryStatus::Pending,
        Some(DeliveryState::Sent) => pb::DeliveryStatus::Sent,
        Some(DeliveryState::Failed) => pb::DeliveryStatus::Failed,
        Some(DeliveryState::Dead) => pb::DeliveryStatus::Dead,
        // A cancelled scheduled notification will never be sent.
        Some(DeliveryState::Suppressed | DeliveryState::Cancelled) => {
            pb::DeliveryStatus::Suppressed
        }
        None => pb::DeliveryStatus::Unspecified,
    }
}

fn delivery_to_pb(d: DeliveryRow) -> pb::Delivery {
    pb::Delivery {
        kind: d.kind.into(),
        channel: d.channel.into(),
        attempts: count(d.attempts),
        status: status_of(d.status).into(),
        last_error: d.last_error.unwrap_or_default(),
        next_attempt_time: d
            .status
            .is_some_and(DeliveryState::is_due_again)
            .then(|| ts(d.next_attempt_at))
            .flatten(),
        sent_time: d.sent_at.and_then(ts),
        create_time: ts(d.created_at),
        id: d.id.to_string(),
        notification_id: d.notification_id.to_string(),
    }
}

pub(super) async fn list(
    service: &Notifications,
    me: Uuid,
    req: pb::ListDeliveriesRequest,
) -> Result<pb::ListDeliveriesResponse> {
    let state = &service.0;
    let mut v = Violations::new();
    let notification = if req.notification_id.is_empty() {
        None
    } else {
        v.check(validate::id("notification_id", &req.notification_id))
    };
    let status = match pb::DeliveryStatus::try_from(req.status) {
        Ok(s) => state_of(s),
        Err(_) => {
            v.push(FieldViolation::new("status", "unknown status"));
            None
        }
    };
    let scope = format!("ListDeliveries:{}:{}", req.notification_id, req.status);
    let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
    let before: Option<Option<Uuid>> = v.check(state.page_tokens.decode(&scope, &req.page_token));
    v.finish()?;
    let mut rows = state
        .store
        .deliveries(me, notification, status, before.flatten(), limit + 1)
        .await?;
    let next = next_page_token(&mut rows, limit, |d| {
        state.page_tokens.encode(&scope, &d.id)
    });
    Ok(pb::ListDeliveriesResponse {
        deliveries: rows.into_iter().map(delivery_to_pb).collect(),
        next_page_token: next,
    })
}
