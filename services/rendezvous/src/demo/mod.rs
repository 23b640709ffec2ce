//! `rendezvous up --demo`: a small, believable network to try Rendezvous on. Twelve members in
//! Paris, Lyon, Casablanca and Manchester, with profiles and connections; a chapter in each
//! city; five past meetups with check-ins, and so met-in-person edges, follow-ups,
//! suggestions and chapter health; upcoming meetups with RSVPs and a wait-list; a monthly
//! series; two Paris connections who have never met opted in to coffee proposals.
//!
//! The history goes through the public gRPC APIs only, as members would have made it: before
//! serving, `up` runs the stack on private loopback ports on a clock set six weeks back, the
//! loader plays those weeks (registering, connecting, meeting, checking in, completing), moving
//! the clock to the present as it goes, and the stack stops; then `up` serves the data
//! directory as usual. What the services had not delivered yet when that stack stopped, they
//! deliver once serving (their outboxes are at-least-once). Coffee proposals come from the
//! members service's own round, which first runs an hour after the served stack starts (and
//! hourly after): the loader only opts the two members in; the stack it plays the history on
//! never lives long enough for a round.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use rendezvous_common::clock::Clock;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;
use rendezvous_proto::prost_types::{FieldMask, Timestamp};
use tonic::Request;
use tonic::transport::Channel;

use crate::stack::Addrs;

mod data;

use data::{
    ANNA, CHAPTERS, COFFEE, CONNECTIONS, Chapter, CoffeeOptIn, LONDON, Meetup, PAST, PEOPLE, PRIYA,
    REMEET, SOPHIE, UPCOMING,
};

/// The password of every demo member.
pub const PASSWORD: &str = "rendezvous-demo";

/// Where the sign-in help is kept once the demo is loaded; its presence means "loaded".
const MARKER: &str = "demo.txt";

/// How long each call may take.
const DEADLINE: StdDuration = StdDuration::from_secs(10);

/// The sign-in help, if the demo was loaded into `data_dir` before.
pub fn loaded(data_dir: &Path) -> anyhow::Result<Option<String>> {
    let marker = data_dir.join(MARKER);
    if !marker.exists() {
        return Ok(None);
    }
    let help = std::fs::read_to_string(&marker)
        .with_context(|| format!("reading {}", marker.display()))?;
    Ok(Some(help))
}

/// Refuses to load the demo over data that is not the demo's.
pub fn check_fresh(data_dir: &Path) -> anyhow::Result<()> {
    for service in ["members", "events", "notifications"] {
        let db = data_dir.join(format!("{service}.db"));
        anyhow::ensure!(
            !db.exists(),
            "--demo loads into an empty data directory, and {} already holds data; \
             use another --data-dir (or remove this one)",
            data_dir.display()
        );
    }
    Ok(())
}

/// Remembers that the demo is loaded, with its sign-in help.
pub fn mark_loaded(data_dir: &Path, help: &str) -> anyhow::Result<()> {
    let marker = data_dir.join(MARKER);
    std::fs::write(&marker, help).with_context(|| format!("writing {}", marker.display()))
}

/// The clock the demo's history starts on: six weeks before `now`.
pub fn history_clock(now: DateTime<Utc>) -> Clock {
    Clock::manual(now - Duration::days(42))
}

/// The sign-in help printed once loaded, for the stack served at `members` (host:port).
pub fn help(members: &str) -> String {
    format!(
        "demo: {people} members in Paris, Lyon, Casablanca and Manchester, password \
         \"{PASSWORD}\"; sign in as Anna Dupont, Paris chapter organiser:\n\
         \n  grpcurl -plaintext -d '{{\"email\":\"{anna}\",\"password\":\"{PASSWORD}\"}}' \\\n    \
         {members} rendezvous.members.v1.MemberService/Login\n\
         \nthe others: {others}\n",
        people = PEOPLE.len(),
        anna = email(ANNA),
        others = (1..PEOPLE.len()).map(email).collect::<Vec<_>>().join(", "),
    )
}

/// `first.last@demo.rendezvous.local`, without accents.
fn email(i: usize) -> String {
    let local: String = PEOPLE[i]
        .name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ë' => 'e',
            'â' => 'a',
            ' ' => '.',
            other => other,
        })
        .collect();
    format!("{local}@demo.rendezvous.local")
}

/// Plays the demo's history against the stack at `addrs`, whose services run on `clock`, from
/// six weeks before `now` to `now`.
pub async fn load(addrs: Addrs, clock: &Clock, now: DateTime<Utc>) -> anyhow::Result<()> {
    let demo = Demo::connect(addrs, clock.clone())?;
    demo.wait_serving().await?;
    for i in 0..PEOPLE.len() {
        demo.register(i).await?;
    }
    for (from, to) in CONNECTIONS {
        demo.befriend(from, to).await?;
    }
    // One request still waits for Anna's answer.
    demo.members(PRIYA)
        .await?
        .request_connection(
            demo.call(
                PRIYA,
                mpb::RequestConnectionRequest {
                    member_id: demo.id(ANNA)?,
                    note: "We met at the Manchester drinks' host table — coffee when I'm in Paris?"
                        .to_owned(),
                },
            )?,
        )
        .await?;
    let mut chapters = Vec::new();
    for chapter in &CHAPTERS {
        chapters.push(demo.chapter(chapter).await?);
    }
    for meetup in &PAST {
        demo.past(meetup, &chapters, now).await?;
    }
    clock.advance(now - clock.now());
    for meetup in &UPCOMING {
        demo.upcoming(meetup, &chapters, now).await?;
    }
    demo.monthly_drinks(&chapters[3]).await?;
    for opt_in in &COFFEE {
        demo.take_coffees(opt_in).await?;
    }
    demo.first_coffee_round().await?;
    demo.first_remeet_nudge(REMEET).await
}

/// How often the loading stack runs the coffee round: often, so that the first round, which
/// proposes Anna and Nora their coffee, is made while the demo loads rather than an hour
/// after `up` starts.
const LOADING_ROUND_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How long the load waits for that round.
const FIRST_ROUND_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Asks `made` every round of the loading stack until it says `what` is there, for
/// [`FIRST_ROUND_WITHIN`] at most.
async fn until_the_round_makes<F, Fut>(what: &str, mut made: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + FIRST_ROUND_WITHIN;
    while !made().await? {
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("no {what} within {} s", FIRST_ROUND_WITHIN.as_secs());
        }
        tokio::time::sleep(LOADING_ROUND_EVERY).await;
    }
    Ok(())
}

/// The members service's settings in the stack that loads the history.
pub fn loading_members_settings() -> rendezvous_members::Settings {
    rendezvous_members::Settings {
        coffee_round_every: Some(LOADING_ROUND_EVERY),
        coffee_round_after_opt_in: None,
        ..rendezvous_members::Settings::default()
    }
}

/// A client of the demo stack, keeping each member's id.
struct Demo {
    members_channel: Channel,
    members: MemberServiceClient<Channel>,
    events: EventServiceClient<Channel>,
    chapters: ChapterServiceClient<Channel>,
    clock: Clock,
    ids: std::sync::Mutex<Vec<String>>,
    tokens: std::sync::Mutex<Vec<(String, DateTime<Utc>)>>,
}

impl Demo {
    fn connect(addrs: Addrs, clock: Clock) -> anyhow::Result<Self> {
        let channel = |addr| -> anyhow::Result<Channel> {
            Ok(tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy())
        };
        let events = channel(addrs.events)?;
        let members = channel(addrs.members)?;
        Ok(Self {
            members_channel: members.clone(),
            members: MemberServiceClient::new(members),
            chapters: ChapterServiceClient::new(events.clone()),
            events: EventServiceClient::new(events),
            clock,
            ids: std::sync::Mutex::new(Vec::new()),
            tokens: std::sync::Mutex::new(vec![
                (String::new(), DateTime::UNIX_EPOCH);
                PEOPLE.len()
            ]),
        })
    }

    /// Waits until members, the first the loader calls, is serving.
    async fn wait_serving(&self) -> anyhow::Result<()> {
        let mut health =
            tonic_health::pb::health_client::HealthClient::new(self.members_channel.clone());
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        for _ in 0..200 {
            let probe = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await;
            if probe.is_ok_and(|r| r.into_inner().status == serving) {
                return Ok(());
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        anyhow::bail!("the demo stack did not start serving")
    }

    fn id(&self, i: usize) -> anyhow::Result<String> {
        let ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.get(i)
            .cloned()
            .context("a demo member not registered yet")
    }

    /// `message` as member `i` sends it: with their access token and a deadline.
    fn call<T>(&self, i: usize, message: T) -> anyhow::Result<Request<T>> {
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {}", tokens[i].0).parse()?);
        request.set_timeout(DEADLINE);
        Ok(request)
    }

    /// Signs member `i` in again if their token has (nearly) run out on the demo's clock.
    async fn signed_in(&self, i: usize) -> anyhow::Result<()> {
        let expires = {
            let tokens = self
                .tokens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tokens[i].1
        };
        if expires > self.clock.now() + Duration::minutes(1) {
            return Ok(());
        }
        let session = self
            .members
            .clone()
            .login(mpb::LoginRequest {
                email: email(i),
                password: PASSWORD.to_owned(),
            })
            .await?
            .into_inner()
            .session
            .context("no session")?;
        self.keep(i, &session);
        Ok(())
    }

    fn keep(&self, i: usize, session: &mpb::Session) {
        let expires = session
            .access_token_expire_time
            .as_ref()
            .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
            .unwrap_or(DateTime::UNIX_EPOCH);
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens[i] = (session.access_token.clone(), expires);
    }

    async fn members(&self, i: usize) -> anyhow::Result<MemberServiceClient<Channel>> {
        self.signed_in(i).await?;
        Ok(self.members.clone())
    }

    async fn events(&self, i: usize) -> anyhow::Result<EventServiceClient<Channel>> {
        self.signed_in(i).await?;
        Ok(self.events.clone())
    }

    async fn register(&self, i: usize) -> anyhow::Result<()> {
        let p = &PEOPLE[i];
        let registered = self
            .members
            .clone()
            .register(mpb::RegisterRequest {
                email: email(i),
                password: PASSWORD.to_owned(),
                display_name: p.name.to_owned(),
                city: p.city.to_owned(),
                locale: p.locale.to_owned(),
                time_zone: p.time_zone.to_owned(),
            })
            .await
            .with_context(|| format!("registering {}", p.name))?
            .into_inner();
        let id = registered.member.context("no member")?.id;
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id);
        self.keep(i, &registered.session.context("no session")?);
        let slug = p.name.to_lowercase().replace(' ', "-");
        let profile = mpb::Member {
            id: "me".to_owned(),
            headline: p.headline.to_owned(),
            company: p.company.to_owned(),
            interests: p.interests.map(str::to_owned).to_vec(),
            linkedin_url: format!("https://www.linkedin.com/in/{slug}"),
            ..Default::default()
        };
        let paths = ["headline", "company", "interests", "linkedin_url"];
        self.members
            .clone()
            .update_member(self.call(
                i,
                mpb::UpdateMemberRequest {
                    member: Some(profile),
                    update_mask: Some(FieldMask {
                        paths: paths.map(str::to_owned).to_vec(),
                    }),
                },
            )?)
            .await
            .with_context(|| format!("filling the profile of {}", p.name))?;
        Ok(())
    }

    /// `from` asks `to` to connect and `to` accepts.
    async fn befriend(&self, from: usize, to: usize) -> anyhow::Result<()> {
        let request = self
            .members(from)
            .await?
            .request_connection(self.call(
                from,
                mpb::RequestConnectionRequest {
                    member_id: self.id(to)?,
                    note: format!("Hello {}, let's meet at a Rendezvous!", first_name(to)),
                },
            )?)
            .await?
            .into_inner()
            .connection_request
            .context("no request")?;
        self.members(to)
            .await?
            .respond_to_connection_request(self.call(
                to,
                mpb::RespondToConnectionRequestRequest {
                    connection_request_id: request.id,
                    accept: true,
                },
            )?)
            .await?;
        Ok(())
    }

    async fn chapter(&self, chapter: &Chapter) -> anyhow::Result<String> {
        self.signed_in(chapter.organiser).await?;
        let created = self
            .chapters
            .clone()
            .create_chapter(self.call(
                chapter.organiser,
                pb::CreateChapterRequest {
                    chapter: Some(pb::Chapter {
                        name: chapter.name.to_owned(),
                        city: chapter.city.to_owned(),
                        time_zone: chapter.time_zone.to_owned(),
                        description: format!(
                            "Small in-person meetups for professionals in {}.",
                            chapter.city
                        ),
                        ..Default::default()
                    }),
                    request_id: format!("demo-{}", chapter.city),
                },
            )?)
            .await?
            .into_inner()
            .chapter
            .context("no chapter")?;
        for &member in chapter.members {
            self.signed_in(member).await?;
            self.chapters
                .clone()
                .join_chapter(self.call(
                    member,
                    pb::JoinChapterRequest {
                        chapter_id: created.id.clone(),
                    },
                )?)
                .await?;
        }
        Ok(created.id)
    }

    /// Creates and publishes `meetup` as its host, starting at `start`; everyone going RSVPs.
    async fn schedule(
        &self,
        meetup: &Meetup,
        chapter: &str,
        start: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let chapter_zone = CHAPTERS[meetup.chapter].time_zone;
        let (name, address, latitude, longitude) = meetup.venue;
        let event = pb::Event {
            chapter_id: chapter.to_owned(),
            title: meetup.title.to_owned(),
            description: "Coffee, introductions, and people you have wanted to meet.".to_owned(),
            kind: meetup.kind.into(),
            venue: Some(pb::Venue {
                name: name.to_owned(),
                address: address.to_owned(),
                latitude,
                longitude,
            }),
            start_time: Some(timestamp(start)),
            end_time: Some(timestamp(start + Duration::minutes(meetup.minutes))),
            time_zone: chapter_zone.to_owned(),
            capacity: meetup.capacity,
            visibility: pb::EventVisibility::Chapter.into(),
            ..Default::default()
        };
        let host = meetup.host;
        let id = self
            .events(host)
            .await?
            .create_event(self.call(
                host,
                pb::CreateEventRequest {
                    event: Some(event),
                    request_id: String::new(),
                },
            )?)
            .await
            .with_context(|| format!("creating {}", meetup.title))?
            .into_inner()
            .event
            .context("no event")?
            .id;
        self.events(host)
            .await?
            .publish_event(self.call(
                host,
                pb::PublishEventRequest {
                    event_id: id.clone(),
                    etag: String::new(),
                },
            )?)
            .await?;
        for &member in meetup.going {
            self.events(member)
                .await?
                .rsvp(self.call(
                    member,
                    pb::RsvpRequest {
                        event_id: id.clone(),
                        intent: pb::RsvpIntent::Going.into(),
                        visibility: pb::RsvpVisibility::Connections.into(),
                    },
                )?)
                .await
                .with_context(|| format!("{} going to {}", PEOPLE[member].name, meetup.title))?;
        }
        Ok(id)
    }

    /// A meetup that took place: scheduled a week before, checked in at, completed after.
    async fn past(
        &self,
        meetup: &Meetup,
        chapters: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let start = local_start(CHAPTERS[meetup.chapter].time_zone, now, meetup)?;
        self.advance_to(start - Duration::days(7));
        let id = self
            .schedule(meetup, &chapters[meetup.chapter], start)
            .await?;
        self.advance_to(start + Duration::minutes(10));
        let host = meetup.host;
        for &member in meetup.came {
            self.events(host)
                .await?
                .check_in(self.call(
                    host,
                    pb::CheckInRequest {
                        event_id: id.clone(),
                        target: Some(pb::check_in_request::Target::MemberId(self.id(member)?)),
                    },
                )?)
                .await
                .with_context(|| format!("checking {} in", PEOPLE[member].name))?;
        }
        self.advance_to(start + Duration::minutes(meetup.minutes + 15));
        self.events(host)
            .await?
            .complete_event(self.call(
                host,
                pb::CompleteEventRequest {
                    event_id: id.clone(),
                },
            )?)
            .await
            .with_context(|| format!("completing {}", meetup.title))?;
        Ok(())
    }

    /// A meetup to come; the first one's is next Thursday.
    async fn upcoming(
        &self,
        meetup: &Meetup,
        chapters: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let zone = CHAPTERS[meetup.chapter].time_zone;
        let start = if meetup.days == 0 {
            next_thursday(zone, now, meetup.at)?
        } else {
            local_start(zone, now, meetup)?
        };
        self.schedule(meetup, &chapters[meetup.chapter], start)
            .await?;
        Ok(())
    }

    /// Manchester meets every first Thursday at 18:30.
    async fn monthly_drinks(&self, chapter: &str) -> anyhow::Result<()> {
        let rule = pb::RecurrenceRule {
            frequency: pb::RecurrenceFrequency::Monthly.into(),
            interval: 1,
            monthly_day: Some(pb::recurrence_rule::MonthlyDay::NthWeekday(
                pb::NthWeekday {
                    ordinal: 1,
                    weekday: pb::Weekday::Thursday.into(),
                },
            )),
            end: Some(pb::recurrence_rule::End::Count(12)),
            ..Default::default()
        };
        let today = self.clock.now().date_naive();
        let series = pb::Series {
            chapter_id: chapter.to_owned(),
            rule: Some(rule),
            start_date: (today + Duration::days(1)).to_string(),
            start_local_time: "18:30".to_owned(),
            duration: Some(rendezvous_proto::prost_types::Duration {
                seconds: 2 * 3600,
                nanos: 0,
            }),
            time_zone: LONDON.to_owned(),
            template: Some(pb::EventTemplate {
                title: "First Thursday drinks".to_owned(),
                kind: pb::EventKind::Drinks.into(),
                venue: Some(pb::Venue {
                    name: "The Koffee Pot".to_owned(),
                    address: "84-86 Oldham Street, Manchester M4 1LE".to_owned(),
                    latitude: 53.4839,
                    longitude: -2.2336,
                }),
                capacity: 20,
                visibility: pb::EventVisibility::Chapter.into(),
                ..Default::default()
            }),
            auto_publish: true,
            ..Default::default()
        };
        self.events(SOPHIE)
            .await?
            .create_series(self.call(
                SOPHIE,
                pb::CreateSeriesRequest {
                    series: Some(series),
                    request_id: "demo-first-thursday-drinks".to_owned(),
                },
            )?)
            .await
            .context("creating the Manchester series")?;
        Ok(())
    }

    /// Opts `member` in to re-meet nudges after `after_days`, and waits for the loading
    /// stack's pass (it runs after each round) to nudge them.
    async fn first_remeet_nudge(&self, (member, after_days): (usize, u32)) -> anyhow::Result<()> {
        self.members(member)
            .await?
            .update_remeet_settings(self.call(
                member,
                mpb::UpdateRemeetSettingsRequest {
                    settings: Some(mpb::RemeetSettings {
                        opted_in: true,
                        after_days,
                    }),
                },
            )?)
            .await
            .with_context(|| format!("opting {} in to re-meet nudges", PEOPLE[member].name))?;
        let what = format!("a re-meet nudge for {}", PEOPLE[member].name);
        until_the_round_makes(&what, || async {
            let nudges = self
                .members(member)
                .await?
                .list_remeet_nudges(self.call(member, mpb::ListRemeetNudgesRequest {})?)
                .await
                .context("reading the re-meet nudges")?
                .into_inner()
                .nudges;
            Ok(!nudges.is_empty())
        })
        .await
    }

    /// Waits for the loading stack's coffee round to propose Anna her coffee.
    async fn first_coffee_round(&self) -> anyhow::Result<()> {
        until_the_round_makes("a coffee proposal for Anna", || async {
            let proposals = self
                .members(ANNA)
                .await?
                .list_coffee_proposals(self.call(ANNA, mpb::ListCoffeeProposalsRequest::default())?)
                .await
                .context("reading Anna's coffee proposals")?
                .into_inner()
                .proposals;
            Ok(!proposals.is_empty())
        })
        .await
    }

    /// The member opts in to coffee proposals with their cadence, windows and areas.
    async fn take_coffees(&self, opt_in: &CoffeeOptIn) -> anyhow::Result<()> {
        let member = opt_in.member;
        let settings = mpb::CoffeeSettings {
            opted_in: true,
            cadence: opt_in.cadence.into(),
            availability: opt_in
                .windows
                .iter()
                .map(|&(weekday, start, end)| mpb::AvailabilityWindow {
                    weekday: weekday.into(),
                    start_time: start.to_owned(),
                    end_time: end.to_owned(),
                })
                .collect(),
            preferred_areas: opt_in.areas.iter().map(|&area| area.to_owned()).collect(),
            ..Default::default()
        };
        let paths = ["opted_in", "cadence", "availability", "preferred_areas"];
        self.members(member)
            .await?
            .update_coffee_settings(self.call(
                member,
                mpb::UpdateCoffeeSettingsRequest {
                    settings: Some(settings),
                    update_mask: Some(FieldMask {
                        paths: paths.map(str::to_owned).to_vec(),
                    }),
                },
            )?)
            .await
            .with_context(|| format!("opting {} in to coffees", PEOPLE[member].name))?;
        Ok(())
    }

    fn advance_to(&self, at: DateTime<Utc>) {
        let by = at - self.clock.now();
        if by > Duration::zero() {
            self.clock.advance(by);
        }
    }
}

fn first_name(i: usize) -> &'static str {
    PEOPLE[i].name.split(' ').next().unwrap_or(PEOPLE[i].name)
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// `meetup`'s start: its local time on the day `meetup.days` from `now`'s date in `zone`.
fn local_start(zone: &str, now: DateTime<Utc>, meetup: &Meetup) -> anyhow::Result<DateTime<Utc>> {
    let tz = Tz::from_str(zone).map_err(|e| anyhow::anyhow!("{zone}: {e}"))?;
    let day = now.with_timezone(&tz).date_naive() + Duration::days(meetup.days);
    at_local(tz, day, meetup.at)
}

/// The first Thursday at least two days after `now`, at `at` in `zone`.
fn next_thursday(zone: &str, now: DateTime<Utc>, at: (u32, u32)) -> anyhow::Result<DateTime<Utc>> {
    let tz = Tz::from_str(zone).map_err(|e| anyhow::anyhow!("{zone}: {e}"))?;
    let mut day = now.with_timezone(&tz).date_naive() + Duration::days(2);
    while day.weekday() != Weekday::Thu {
        day += Duration::days(1);
    }
    at_local(tz, day, at)
}

fn at_local(tz: Tz, day: NaiveDate, (hour, minute): (u32, u32)) -> anyhow::Result<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, minute, 0).context("a demo time")?;
    day.and_time(time)
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .context("a demo time skipped by a clock change")
}
