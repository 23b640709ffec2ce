//! `NotificationInternalService`: producers' Deliver (render once per recipient, store with
//! one delivery per channel) and CancelScheduled; members' EraseMember and RevokeSessions; and
//! a member's part of the data export.

use std::collections::HashSet;

use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost::Message as _;
use uuid::Uuid;

use super::{Notifications, count};
use crate::convert::{
    CancelScheduled, DeliverBatch, EraseMember, ExportMember, Incoming, session_revocation,
};
use crate::domain;
use crate::error::Result;
use crate::render::{self, Locale};
use crate::store::NewNotification;

pub use crate::convert::MAX_DELIVER_BATCH;

pub(super) async fn deliver(
    service: &Notifications,
    req: pb::DeliverRequest,
) -> Result<pb::DeliverResponse> {
    let total = req.notifications.len();
    let batch = DeliverBatch::try_from(req)?;
    // The first of several items with one key wins; the rest are duplicates.
    let mut keys = HashSet::new();
    let parsed: Vec<Incoming> = batch
        .notifications
        .into_iter()
        .filter(|n| keys.insert(n.dedupe_key.clone()))
        .collect();
    let recipients: Vec<Uuid> = {
        let mut r: Vec<Uuid> = parsed.iter().map(|n| n.recipient_id).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let state = &service.0;
    let contacts = state.contacts.get(&recipients).await?;
    let prefs = state.store.preferences_of(&recipients).await?;
    let now = service.now();
    let mut rows = Vec::with_capacity(parsed.len());
    let mut unknown = 0usize;
    for n in parsed {
        let recipient_id = n.recipient_id;
        let erased = state.revoked.is_revoked(recipient_id);
        let Some(contact) = contacts
            .get(&recipient_id)
            .filter(|c| !c.deleted && !erased)
        else {
            // Deleted or unknown members get nothing; the producer need not retry.
            unknown += 1;
            continue;
        };
        let kind = n.notice.kind();
        let enabled = |channel: pb::Channel| {
            prefs
                .get(&(recipient_id, kind, channel))
                .copied()
                .unwrap_or_else(|| domain::default_enabled(kind, channel))
        };
        let locale = Locale::parse(&contact.locale);
        let rendered = render::render(n.notice.facts(), locale, &contact.display_name);
        rows.push(NewNotification {
            id: Uuid::now_v7(),
            recipient_id,
            kind,
            notice: n.notice.facts().encode_to_vec(),
            dedupe_key: n.dedupe_key,
            title: rendered.title,
            body: rendered.body,
            locale: contact.locale.clone(),
            not_before: n.not_before.unwrap_or(now).max(now),
            in_app: enabled(pb::Channel::InApp),
            email: enabled(pb::Channel::Email) && !contact.email.is_empty(),
            subject: n
                .notice
                .facts()
                .named_member()
                .and_then(|named| Uuid::try_parse(&named.member_id).ok()),
        });
    }
    let (accepted, visible) = state.store.insert(&rows, now).await?;
    state.publisher.published(visible);
    let duplicates = total - accepted - unknown;
    Ok(pb::DeliverResponse {
        accepted_count: count(accepted),
        duplicate_count: count(duplicates),
    })
}

pub(super) async fn cancel_scheduled(
    service: &Notifications,
    req: pb::CancelScheduledRequest,
) -> Result<pb::CancelScheduledResponse> {
    let CancelScheduled { prefix } = req.try_into()?;
    let cancelled = service
        .0
        .store
        .cancel_scheduled(&prefix, service.now())
        .await?;
    Ok(pb::CancelScheduledResponse {
        cancelled_count: count(cancelled),
    })
}

pub(super) async fn erase_member(
    service: &Notifications,
    req: pb::EraseMemberRequest,
) -> Result<pb::EraseMemberResponse> {
    let EraseMember { member, erased_at } = req.try_into()?;
    let erased = service.0.store.erase_member(member, erased_at).await?;
    // Refused here at once; other replicas read the erasure within seconds.
    service.0.revoked.revoke(member, erased_at);
    tracing::info!(
        member_id = %member,
        notifications = erased.notifications,
        deliveries = erased.deliveries,
        preferences = erased.preferences,
        "member erased"
    );
    Ok(pb::EraseMemberResponse {
        deleted_notification_count: count(erased.notifications),
        deleted_delivery_count: count(erased.deliveries),
        deleted_preference_count: count(erased.preferences),
    })
}

/// Records the sessions members ended and refuses their tokens; their open streams on this
/// replica end at once, on the others within the refresh period.
pub(super) async fn revoke_sessions(
    service: &Notifications,
    req: pb::RevokeSessionsRequest,
) -> Result<pb::RevokeSessionsResponse> {
    let revocation = session_revocation(&req)?;
    let recorded = service
        .0
        .sessions
        .record(&revocation, service.now())
        .await?;
    Ok(pb::RevokeSessionsResponse {
        revoked_session_count: count(recorded),
    })
}

pub(super) async fn export_member_data(
    service: &Notifications,
    req: pb::ExportMemberDataRequest,
) -> Result<pb::ExportMemberDataResponse> {
    let ExportMember { member } = req.try_into()?;
    let part = service.0.store.export_member(member).await?;
    Ok(pb::ExportMemberDataResponse {
        data: part.to_string().into_bytes(),
        content_type: "application/json".to_owned(),
    })
}
