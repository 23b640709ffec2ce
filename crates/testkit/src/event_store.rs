//! The events store driven directly, without the gRPC layer: the hot event and the RSVPs the
//! admission tests and the RSVP benchmark send it.

use chrono::Utc;
use rendezvous_events::domain::event::{EventKind, EventVisibility, NewEvent};
use rendezvous_events::domain::rsvp::{Intent, RsvpVisibility, WaitlistMode};
use rendezvous_events::store::{AdmitRequest, Store};
use uuid::Uuid;

/// Creates and publishes a public coffee in Paris a week from now with `capacity` seats and
/// the wait-list `waitlist`, hosted by a fresh id; its id.
pub async fn publish_new_event(
    store: &Store,
    capacity: u32,
    waitlist: WaitlistMode,
) -> anyhow::Result<Uuid> {
    let start = Utc::now() + chrono::Duration::days(7);
    let event = NewEvent {
        id: Uuid::now_v7(),
        host_id: Uuid::now_v7(),
        chapter_id: None,
        title: "Café networking — Le Marais".into(),
        description: String::new(),
        kind: EventKind::Coffee,
        venue_name: "Le Marais".into(),
        venue_address: "Paris".into(),
        latitude: Some(48.857),
        longitude: Some(2.358),
        city: "Paris".into(),
        start_at: start,
        end_at: start + chrono::Duration::minutes(90),
        time_zone: "Europe/Paris".into(),
        capacity,
        rsvp_deadline: None,
        visibility: EventVisibility::Public,
        approval_required: false,
        waitlist,
        check_in_code: "ABCD-1234".into(),
        request_id: None,
    };
    let id = store.create_event(&event, Utc::now()).await?;
    anyhow::ensure!(
        store.publish_event(id, Utc::now()).await?,
        "the new event was not published"
    );
    Ok(id)
}

/// `member` going, visible to all.
pub fn going(member: &Uuid) -> AdmitRequest {
    AdmitRequest {
        member_id: *member,
        intent: Intent::Going,
        visibility: RsvpVisibility::Public,
        display_name: String::new(),
    }
}
