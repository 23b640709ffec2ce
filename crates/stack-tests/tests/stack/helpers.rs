//! The whole stack on a manual clock, its cast of members (each with a profile locale), the
//! events they meet at, and the calls the scenarios make.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, ChapterClient, EventClient, EventsHandle, NotificationClient, Stack, StackStart,
    create_event, publish_event, timestamp,
};
use tonic::transport::Endpoint;

/// Monday 5 April 2027, 09:00 UTC (11:00 in Paris): when the story starts.
pub fn now0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 4, 5, 9, 0, 0).unwrap()
}

/// A profile language, and the one notifications are written in for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// Where readers of this language live: the English ones in New York, so that a time
    /// written in the reader's zone instead of the event's would show.
    pub fn home_zone(self) -> &'static str {
        match self {
            Lang::En => "America/New_York",
            Lang::Fr => "Europe/Paris",
        }
    }

    /// The English or the French of a pair.
    pub fn pick(self, [en, fr]: [&str; 2]) -> &str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

/// Members, events and notifications wired as in production: both outboxes relay to
/// notifications, which writes `.eml` files; all share one manual clock.
pub struct World {
    pub stack: Stack,
    pub events: EventsHandle,
}

impl World {
    pub async fn start(backend: Backend) -> Self {
        // Events' address first: members tells it of deleted members.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to_events = Endpoint::from_shared(format!("http://{}", listener.local_addr().unwrap()))
            .unwrap()
            .connect_lazy();
        let mut start = StackStart::new(backend);
        start.clock = Clock::manual(now0());
        start.events = Some(to_events);
        let stack = Stack::start_with(start).await.unwrap();
        let to_notifications =
            Endpoint::from_shared(format!("http://{}", stack.notifications.addr))
                .unwrap()
                .connect_lazy();
        // The clock-driven tasks stay idle: the test runs the offer sweep itself.
        let settings = rendezvous_events::Settings {
            tick: std::time::Duration::from_secs(3600),
            ..rendezvous_testkit::events_settings()
        };
        let events =
            EventsHandle::start_with(&stack.members, listener, settings, Some(to_notifications))
                .await
                .unwrap();
        Self { stack, events }
    }

    /// Moves the shared clock on.
    pub fn advance(&self, by: Duration) {
        self.stack.members.clock.advance(by);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.stack.members.clock.now()
    }

    pub async fn stop(self) {
        self.events.stop().await.unwrap();
        self.stack.stop().await.unwrap();
    }
}

/// A registered member, their profile language, and a current access token.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub name: &'static str,
    pub lang: Lang,
    email: String,
    token: String,
}

const PASSWORD: &str = "correct horse battery staple";

impl Person {
    /// Registers `name` with the profile locale and time zone of `lang`, and turns email on for
    /// every kind, so that each notification can be read as an email too.
    pub async fn register(world: &World, name: &'static str, lang: Lang) -> Self {
        let person = Self::sign_up(world, name, lang, "Paris").await;
        person.email_everything(world).await;
        person
    }

    /// Registers `name` in `city` with the profile locale and time zone of `lang`, keeping the
    /// default notification preferences.
    pub async fn sign_up(world: &World, name: &'static str, lang: Lang, city: &str) -> Self {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let response = world
            .stack
            .members
            .anonymous()
            .register(mpb::RegisterRequest {
                email: email.clone(),
                password: PASSWORD.to_owned(),
                display_name: name.to_owned(),
                city: city.to_owned(),
                locale: lang.tag().to_owned(),
                time_zone: lang.home_zone().to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        Self {
            id: response.member.unwrap().id,
            name,
            lang,
            email,
            token: response.session.unwrap().access_token,
        }
    }

    async fn email_everything(&self, world: &World) {
        let channel_preferences = (1..)
            .map_while(|kind| npb::NotificationKind::try_from(kind).ok())
            .map(|kind| npb::ChannelPreference {
                kind: kind.into(),
                channel: npb::Channel::Email.into(),
                enabled: true,
            })
            .collect();
        self.inbox(world)
            .update_preferences(npb::UpdatePreferencesRequest {
                preferences: Some(npb::Preferences {
                    channel_preferences,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["channel_preferences".to_owned()],
                }),
            })
            .await
            .unwrap();
    }

    /// Signs in again: access tokens last minutes and the test moves the clock by hours.
    pub async fn sign_in_again(&mut self, world: &World) {
        self.token = self.another_session(world).await;
    }

    /// Signs in on another device: the access token of a new session, this one's kept.
    pub async fn another_session(&self, world: &World) -> String {
        world
            .stack
            .members
            .anonymous()
            .login(mpb::LoginRequest {
                email: self.email.clone(),
                password: PASSWORD.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap()
            .access_token
    }

    /// The address they signed up with.
    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn members(&self, world: &World) -> rendezvous_testkit::MemberClient {
        world.stack.members.client_with_token(&self.token)
    }

    pub fn events(&self, world: &World) -> EventClient {
        world.events.events_with_token(&self.token)
    }

    pub fn chapters(&self, world: &World) -> ChapterClient {
        world.events.client_with_token(&self.token)
    }

    pub fn inbox(&self, world: &World) -> NotificationClient {
        world.stack.notifications.client_with_token(&self.token)
    }
}

/// Who takes part: a host, and two members in each language.
pub struct Cast {
    pub host: Person,
    pub amelie: Person,
    pub ben: Person,
    pub chloe: Person,
    pub dan: Person,
}

impl Cast {
    pub async fn register(world: &World) -> Self {
        Self {
            host: Person::register(world, "Hana Host", Lang::En).await,
            amelie: Person::register(world, "Amélie Durand", Lang::Fr).await,
            ben: Person::register(world, "Ben Carter", Lang::En).await,
            chloe: Person::register(world, "Chloé Martin", Lang::Fr).await,
            dan: Person::register(world, "Dan Brooks", Lang::En).await,
        }
    }

    pub fn everyone(&self) -> [&Person; 5] {
        [&self.host, &self.amelie, &self.ben, &self.chloe, &self.dan]
    }

    pub async fn sign_in_again(&mut self, world: &World) {
        for person in [
            &mut self.host,
            &mut self.amelie,
            &mut self.ben,
            &mut self.chloe,
            &mut self.dan,
        ] {
            person.sign_in_again(world).await;
        }
    }
}

/// An event as the test plans it, with its start written out as a reader should see it.
#[derive(Clone, Debug)]
pub struct Plan {
    pub title: &'static str,
    pub start: DateTime<Utc>,
    /// The start in Paris time, in English and in French.
    pub when: [&'static str; 2],
    pub venue: &'static str,
    pub address: &'static str,
}

impl Plan {
    /// The event to create: 90 minutes in Paris, public, of `capacity`.
    pub fn event(&self, capacity: i32) -> pb::Event {
        pb::Event {
            title: self.title.to_owned(),
            description: "Coffee with the Paris chapter.".to_owned(),
            kind: pb::EventKind::Coffee.into(),
            venue: Some(self.venue()),
            city: "Paris".to_owned(),
            start_time: Some(timestamp(self.start)),
            end_time: Some(timestamp(self.start + Duration::minutes(90))),
            time_zone: "Europe/Paris".to_owned(),
            capacity,
            visibility: pb::EventVisibility::Public.into(),
            ..Default::default()
        }
    }

    pub fn venue(&self) -> pb::Venue {
        pb::Venue {
            name: self.venue.to_owned(),
            address: self.address.to_owned(),
            latitude: 48.8540,
            longitude: 2.3620,
        }
    }
}

/// Creates `event` as `host` and publishes it; returns its id.
pub async fn publish(world: &World, host: &Person, event: pb::Event) -> String {
    let client = host.events(world);
    let id = create_event(&client, event).await.unwrap().id;
    publish_event(&client, &id).await.unwrap();
    id
}

/// RSVPs "going"; returns the status the RSVP got.
pub async fn rsvp(world: &World, who: &Person, event_id: &str) -> pb::RsvpStatus {
    who.events(world)
        .rsvp(pb::RsvpRequest {
            event_id: event_id.to_owned(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: pb::RsvpVisibility::Public.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
        .status()
}

pub async fn cancel_rsvp(world: &World, who: &Person, event_id: &str) {
    who.events(world)
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: event_id.to_owned(),
        })
        .await
        .unwrap();
}
