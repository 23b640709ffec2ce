//! What the events tests share: a running members + events pair on a manual clock, clients for
//! its members, the usual event, and shortcuts for the calls every test makes.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rendezvous_common::auth::ServiceCredentials;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::relay::{OutboxRow, notification_request};
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1::Notice;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, Bearer, ChapterClient, EventClient, EventsHandle, MembersHandle, Start, TestMember,
    timestamp,
};
use tonic::{Code, Status};

/// A call whose response is dropped, for tables of calls.
pub type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// Calls `$method` on a clone of `$client` with `$request`, forgetting the response.
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(|_| ()) }) as $crate::helpers::Call
    }};
}
pub(crate) use call;

/// The code a call ended with (`Ok` for a success).
pub fn code<T>(result: Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// 09:00 UTC on that day.
pub fn morning(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0).unwrap()
}

/// Members and events in-process over fresh databases of one backend.
pub struct World {
    pub events: EventsHandle,
    pub members: MembersHandle,
    pub clock: Clock,
}

impl World {
    /// On a manual clock at `now`; the clock-driven tasks stay idle unless a test calls them.
    pub async fn start(backend: Backend, now: DateTime<Utc>) -> Self {
        Self::start_with(backend, now, rendezvous_events::Settings::default()).await
    }

    pub async fn start_with(
        backend: Backend,
        now: DateTime<Utc>,
        settings: rendezvous_events::Settings,
    ) -> Self {
        let clock = Clock::manual(now);
        let mut start = Start::new(backend);
        start.clock = clock.clone();
        let members = MembersHandle::start_with(start).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let settings = rendezvous_events::Settings {
            tick: std::time::Duration::from_secs(3600),
            ..settings
        };
        let events = EventsHandle::start_with(&members, listener, settings, None)
            .await
            .unwrap();
        Self {
            events,
            members,
            clock,
        }
    }

    /// On the system clock with default settings, as the binary runs.
    pub async fn start_default(backend: Backend) -> Self {
        let members = MembersHandle::start(backend).await.unwrap();
        let events = EventsHandle::start(&members).await.unwrap();
        let clock = members.clock.clone();
        Self {
            events,
            members,
            clock,
        }
    }

    /// A registered member and their `EventService` client.
    pub async fn member(&self, name: &str) -> (TestMember, EventClient) {
        let member = self.members.register(name).await.unwrap();
        let client = self.events.events_with_token(&member.access_token);
        (member, client)
    }

    /// A registered member and their `ChapterService` client.
    pub async fn chapter_member(&self, name: &str) -> (TestMember, ChapterClient) {
        let member = self.members.register(name).await.unwrap();
        let client = self.events.client_with_token(&member.access_token);
        (member, client)
    }

    /// A fresh access token for `member` (tokens live 15 minutes; tests move the clock).
    pub async fn token(&self, member: &TestMember) -> String {
        self.members
            .anonymous()
            .login(mpb::LoginRequest {
                email: member.email.clone(),
                password: member.password.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap()
            .access_token
    }

    /// An `EventService` client for `member` with a fresh token.
    pub async fn client(&self, member: &TestMember) -> EventClient {
        self.events.events_with_token(&self.token(member).await)
    }

    /// An `EventService` client carrying the internal service credential.
    pub fn service(&self) -> EventClient {
        let creds = ServiceCredentials::new(
            "members",
            self.members.service_secret.clone(),
            self.clock.clone(),
        );
        pb::event_service_client::EventServiceClient::with_interceptor(
            self.events.channel.clone(),
            Bearer::raw(&creds.bearer().unwrap()),
        )
    }

    pub async fn stop(self) {
        self.events.stop().await.unwrap();
        self.members.stop().await.unwrap();
    }
}

/// The Paris chapter, created by the caller of `chapters` (who becomes its organiser).
pub async fn paris_chapter(chapters: &ChapterClient) -> pb::Chapter {
    chapters
        .clone()
        .create_chapter(pb::CreateChapterRequest {
            chapter: Some(pb::Chapter {
                name: "Rendezvous Paris".to_owned(),
                city: "Paris".to_owned(),
                time_zone: "Europe/Paris".to_owned(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .chapter
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
    client
        .clone()
        .create_event(pb::CreateEventRequest {
            event: Some(event),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap()
}

pub async fn publish(client: &EventClient, id: &str) -> pb::Event {
    client
        .clone()
        .publish_event(pb::PublishEventRequest {
            event_id: id.to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap()
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

pub async fn invite(client: &EventClient, id: &str, members: &[&TestMember]) {
    client
        .clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: id.to_owned(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: members.iter().map(|m| m.id.clone()).collect(),
                },
            )),
        })
        .await
        .unwrap();
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
    client
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap()
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

/// Outbox rows whose dedupe key starts with `key_prefix` and whose payload mentions `kind`
/// (any kind when empty).
pub async fn outbox_count(db: &Db, key_prefix: &str, kind: &str) -> i64 {
    let (key, kind) = (format!("{key_prefix}%"), format!("%{kind}%"));
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE $1 AND payload LIKE $2",
        )
        .bind(&key)
        .bind(&kind)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

/// The notices of the outbox rows whose dedupe key starts with `key_prefix`, decoded as the
/// relay decodes them, in the order they were written.
pub async fn notices(db: &Db, key_prefix: &str) -> Vec<Notice> {
    let key = format!("{key_prefix}%");
    let rows: Vec<(String, String, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, topic, dedupe_key, payload FROM outbox WHERE dedupe_key LIKE $1 \
             ORDER BY created_at, id",
        )
        .bind(&key)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.into_iter()
        .map(|(id, topic, dedupe_key, payload)| {
            let row = OutboxRow {
                id,
                topic,
                dedupe_key,
                payload: serde_json::from_str(&payload).unwrap(),
                attempts: 0,
            };
            notification_request(&row).unwrap().notice.unwrap()
        })
        .collect()
}
