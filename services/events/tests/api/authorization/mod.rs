//! Who may call what on `ChapterService` and `EventService`, over real gRPC on both backends,
//! one module per area: tables of roles × methods — for public, chapter and invite-only
//! events (`matrix`), for chapters and series (`chapters_series`), for creating, listing,
//! RSVPs and calendars (`rsvps_calendars`) — then the paths around co-hosts, announcements,
//! check-in codes, discovery and concurrent RSVPs.

mod chapters_series;
mod concurrency;
mod discovery;
mod hosting;
mod internal;
mod matrix;
mod rsvps_calendars;

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, EventClient, TestMember, backend_tests, outbox_count};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, cancel, check_in_code, check_in_code_of, check_in_member, create, event,
    get_event, invite, morning, paris_chapter, publish, published, retitle, rotate_check_in_code,
    try_get_event, try_rsvp,
};

/// The Paris chapter an organiser (registered here) runs, with `joiners` joined; the
/// organiser and the chapter.
async fn organised_chapter(world: &World, joiners: &[&TestMember]) -> (TestMember, pb::Chapter) {
    let (organiser, _) = world.member("Organiser").await.unwrap();
    let chapter = paris_chapter(&world.events.client_with_token(&organiser.access_token)).await;
    for member in joiners {
        world
            .events
            .client_with_token(&member.access_token)
            .join_chapter(pb::JoinChapterRequest {
                chapter_id: chapter.id.clone(),
            })
            .await
            .unwrap();
    }
    (organiser, chapter)
}

/// The chapter and event clients of a credential `issuer` mints for events.
fn as_service(
    world: &World,
    issuer: rendezvous_common::auth::ServiceName,
) -> (rendezvous_testkit::ChapterClient, EventClient) {
    use rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient;
    use rendezvous_proto::events::v1::event_service_client::EventServiceClient;
    let credentials = rendezvous_testkit::service_credentials_at(
        issuer,
        rendezvous_common::auth::ServiceName::Events,
        world.clock.clone(),
    );
    let bearer = rendezvous_testkit::Bearer::raw(&credentials.bearer().unwrap());
    (
        ChapterServiceClient::with_interceptor(world.events.channel.clone(), bearer.clone()),
        EventServiceClient::with_interceptor(world.events.channel.clone(), bearer),
    )
}

fn now0() -> DateTime<Utc> {
    morning(2027, 5, 3)
}
