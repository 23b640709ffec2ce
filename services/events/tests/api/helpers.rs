//! What the events tests share: the usual chapter and event, and shortcuts for the calls every
//! test makes; the members + events world, `call!`, `code` and the outbox readers are the
//! testkit's.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
pub use rendezvous_testkit::EventsWorld as World;
use rendezvous_testkit::{
    ChapterClient, EventClient, TestMember, create_event, invite_members, publish_event, timestamp,
};
use tonic::Status;

/// 09:00 UTC on that day.
pub fn morning(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0).unwrap()
}

/// The Paris chapter, created by the caller of `chapters` (who becomes its organiser).
pub async fn paris_chapter(chapters: &ChapterClient) -> pb::Chapter {
    let paris = pb::Chapter {
        name: "Rendezvous Paris".to_owned(),
        city: "Paris".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
        ..Default::default()
    };
    create_chapter(chapters, paris).await
}

/// Creates `chapter` as the caller of `chapters`, who becomes its organiser.
pub async fn create_chapter(chapters: &ChapterClient, chapter: pb::Chapter) -> pb::Chapter {
    rendezvous_testkit::create_chapter(chapters, chapter)
        .await
        .unwrap()
}

/// The usual event: coffee in Paris, 90 minutes from `start`.
pub fn event(start: DateTime<Utc>, capacity: i32, visibility: pb::EventVisibility) -> pb::Event {
    pb::Event {
        title: "Café networking — Le Marais".to_owned(),
        description: "Coffee with the Paris chapter.".to_owned(),
        kind: pb::EventKind::Coffee.into(),
        venue: Some(pb::Venue {
            name: "Café Saint-Paul".to_owned(),
            address: "12 rue Saint-Paul, 75004 Paris".to_owned(),
            latitude: 48.8540,
            longitude: 2.3620,
        }),
        city: "Paris".to_owned(),
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(start + Duration::minutes(90))),
        time_zone: "Europe/Paris".to_owned(),
        capacity,
        visibility: visibility.into(),
        ..Default::default()
    }
}

pub async fn create(client: &EventClient, event: pb::Event) -> pb::Event {
    create_event(client, event).await.unwrap()
}

pub async fn publish(client: &EventClient, id: &str) -> pb::Event {
    publish_event(client, id).await.unwrap()
}

/// Going, visible to all.
pub async fn try_rsvp(client: &EventClient, id: &str) -> Result<pb::Rsvp, Status> {
    client
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: id.to_owned(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: pb::RsvpVisibility::Public.into(),
        })
        .await
        .map(|r| r.into_inner().rsvp.unwrap())
}

/// Going to `event_id`, with `visibility`.
pub async fn going(client: &EventClient, event_id: &str, visibility: pb::RsvpVisibility) {
    client
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: event_id.to_owned(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: visibility.into(),
        })
        .await
        .unwrap();
}

/// The first page (up to 100) of the attendees of `event_id` that `viewer` may list.
pub async fn list_attendees(
    viewer: &EventClient,
    event_id: &str,
) -> Result<pb::ListAttendeesResponse, tonic::Code> {
    let response = viewer
        .clone()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: event_id.to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .map_err(|status| status.code())?;
    Ok(response.into_inner())
}

/// The member ids a ListAttendees page shows.
pub fn attendee_ids(listed: &pb::ListAttendeesResponse) -> BTreeSet<String> {
    listed
        .attendees
        .iter()
        .map(|a| a.member_id.clone())
        .collect()
}

/// The ids of `members`.
pub fn ids(members: &[&TestMember]) -> BTreeSet<String> {
    members.iter().map(|m| m.id.clone()).collect()
}

/// The caller's own RSVP to event `id`.
pub async fn try_own_rsvp(client: &EventClient, id: &str) -> Result<pb::Rsvp, Status> {
    let request = pb::GetRsvpRequest {
        event_id: id.to_owned(),
        member_id: String::new(),
    };
    let response = client.clone().get_rsvp(request).await?;
    Ok(response.into_inner().rsvp.unwrap_or_default())
}

pub async fn rsvp(client: &EventClient, id: &str) -> pb::Rsvp {
    try_rsvp(client, id).await.unwrap()
}

/// The usual event from `start`, created and published by `host`.
pub async fn published(
    host: &EventClient,
    start: DateTime<Utc>,
    capacity: i32,
    visibility: pb::EventVisibility,
) -> pb::Event {
    let created = create(host, event(start, capacity, visibility)).await;
    publish(host, &created.id).await
}

/// The usual event from `start` in offer mode (two hours to claim a freed seat), created and
/// published by `host`.
pub async fn offering(host: &EventClient, start: DateTime<Utc>, capacity: i32) -> pb::Event {
    let mut offered = event(start, capacity, pb::EventVisibility::Public);
    offered.waitlist_mode = pb::WaitlistMode::Offer.into();
    offered.offer_window = Some(rendezvous_proto::prost_types::Duration {
        seconds: 2 * 3600,
        nanos: 0,
    });
    let created = create(host, offered).await;
    publish(host, &created.id).await
}

pub async fn invite(client: &EventClient, id: &str, members: &[&TestMember]) {
    let ids = members.iter().map(|m| m.id.clone()).collect();
    invite_members(client, id, ids).await.unwrap();
}

pub async fn add_cohost(client: &EventClient, id: &str, member: &TestMember, role: pb::CohostRole) {
    client
        .clone()
        .add_cohost(pb::AddCohostRequest {
            event_id: id.to_owned(),
            member_id: member.id.clone(),
            role: role.into(),
        })
        .await
        .unwrap();
}

pub async fn get_event(client: &EventClient, id: &str) -> pb::Event {
    try_get_event(client, id).await.unwrap()
}

/// GetEvent as the caller.
pub async fn try_get_event(client: &EventClient, id: &str) -> Result<pb::Event, Status> {
    let request = pb::GetEventRequest {
        event_id: id.to_owned(),
    };
    let response = client.clone().get_event(request).await?;
    Ok(response.into_inner().event.unwrap())
}

pub async fn check_in_member(
    client: &EventClient,
    id: &str,
    member: &str,
) -> Result<pb::Rsvp, tonic::Status> {
    client
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: id.to_owned(),
            target: Some(pb::check_in_request::Target::MemberId(member.to_owned())),
        })
        .await
        .map(|r| r.into_inner().rsvp.unwrap())
}

pub async fn check_in_code(
    client: &EventClient,
    id: &str,
    code: &str,
) -> Result<pb::Rsvp, tonic::Status> {
    client
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: id.to_owned(),
            target: Some(pb::check_in_request::Target::Code(code.to_owned())),
        })
        .await
        .map(|r| r.into_inner().rsvp.unwrap())
}

pub async fn retitle(
    client: &EventClient,
    id: &str,
    title: &str,
) -> Result<pb::Event, tonic::Status> {
    let event = pb::Event {
        id: id.to_owned(),
        title: title.to_owned(),
        ..Default::default()
    };
    update_title(client, event).await
}

/// UpdateEvent of `event`'s title, with the etag it carries.
pub async fn update_title(client: &EventClient, event: pb::Event) -> Result<pb::Event, Status> {
    client
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(event),
            update_mask: Some(FieldMask {
                paths: vec!["title".to_owned()],
            }),
        })
        .await
        .map(|r| r.into_inner().event.unwrap())
}

pub async fn cancel(client: &EventClient, id: &str) -> Result<pb::Event, tonic::Status> {
    client
        .clone()
        .cancel_event(pb::CancelEventRequest {
            event_id: id.to_owned(),
            reason: "rain".to_owned(),
            etag: String::new(),
        })
        .await
        .map(|r| r.into_inner().event.unwrap())
}

/// The event's check-in code, as the caller may read it.
pub async fn check_in_code_of(client: &EventClient, id: &str) -> Result<String, Status> {
    let request = pb::GetCheckInCodeRequest {
        event_id: id.to_owned(),
    };
    let response = client.clone().get_check_in_code(request).await?;
    Ok(response.into_inner().code)
}

/// Rotates the event's check-in code; the new one.
pub async fn rotate_check_in_code(client: &EventClient, id: &str) -> Result<String, Status> {
    let request = pb::RotateCheckInCodeRequest {
        event_id: id.to_owned(),
    };
    let response = client.clone().rotate_check_in_code(request).await?;
    Ok(response.into_inner().code)
}

/// A new calendar feed of the caller's upcoming events.
pub async fn create_feed(client: &EventClient) -> pb::CalendarFeed {
    client
        .clone()
        .create_calendar_feed(pb::CreateCalendarFeedRequest {
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .feed
        .unwrap()
}

/// The path of a calendar feed's secret URL on the feed server.
pub fn feed_path(feed: &pb::CalendarFeed) -> String {
    feed.url
        .split_once("/calendar/")
        .map(|(_, rest)| format!("/calendar/{rest}"))
        .unwrap()
}

/// A plain HTTP/1.1 GET of `path` (a calendar app fetching a feed): the status and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let reply = rendezvous_testkit::http_get(addr, path).await.unwrap();
    (reply.status, reply.body)
}

/// The attendance summary of `event_id` as the caller of `client` sees it.
pub async fn attendance_summary(client: &EventClient, event_id: &str) -> pb::AttendanceSummary {
    rendezvous_testkit::attendance_summary(client, event_id)
        .await
        .unwrap()
}

pub use rendezvous_testkit::{first_thursdays, paris_series};

/// A new member `name` who joins the chapter `chapter_id`.
pub async fn chapter_joiner(world: &World, name: &str, chapter_id: &str) -> TestMember {
    let (member, chapters) = world.chapter_member(name).await.unwrap();
    chapters
        .clone()
        .join_chapter(pb::JoinChapterRequest {
            chapter_id: chapter_id.to_owned(),
        })
        .await
        .unwrap();
    member
}

/// `blocker` blocks `blocked` in members, and the block reaches events through members'
/// outbox.
pub async fn block(world: &World, blocker: &TestMember, blocked: &TestMember) {
    blocker
        .client
        .clone()
        .block_member(rendezvous_proto::members::v1::BlockMemberRequest {
            member_id: blocked.id.clone(),
        })
        .await
        .unwrap();
    world.blocks_relayed().await;
}

/// `blocker` unblocks `blocked` in members, and the unblock reaches events.
pub async fn unblock(world: &World, blocker: &TestMember, blocked: &TestMember) {
    blocker
        .client
        .clone()
        .unblock_member(rendezvous_proto::members::v1::UnblockMemberRequest {
            member_id: blocked.id.clone(),
        })
        .await
        .unwrap();
    world.blocks_relayed().await;
}

/// `member`'s "who you met" follow-up of `event_id` in members, as ListMeetings gives it.
pub async fn meeting_at(
    world: &World,
    member: &TestMember,
    event_id: &str,
) -> rendezvous_proto::members::v1::Meeting {
    let token = world.members.login(member).await.unwrap().access_token;
    let meetings = world
        .members
        .client_with_token(&token)
        .list_meetings(rendezvous_proto::members::v1::ListMeetingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .meetings;
    meetings
        .into_iter()
        .find(|m| m.event_id == event_id)
        .unwrap()
}

/// `member`'s "who you met" follow-up of `event_id` in members: how many co-attendees, and
/// those marked met.
pub async fn meeting_of(
    world: &World,
    member: &TestMember,
    event_id: &str,
) -> (usize, Vec<String>) {
    let meeting = meeting_at(world, member, event_id).await;
    let met = meeting
        .co_attendees
        .iter()
        .filter(|c| c.met)
        .map(|c| c.member_id.clone())
        .collect();
    (meeting.co_attendees.len(), met)
}
