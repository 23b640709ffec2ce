//! Events and the members service it calls: what events answers while members is down, one
//! call per page of ids made in the caller's trace, clock-driven work that a hung members
//! cannot stall, meetings recorded in chunks for any event size, and a start before members
//! is listening.

use std::collections::BTreeSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use rendezvous_common::auth::Caller;
use rendezvous_common::telemetry::finished_rpcs;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;
use rendezvous_proto::events::v1::event_service_server::EventService;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_testkit::{
    Backend, Bearer, HungPeer, MembersHandle, MembersSettings, Start, TestDb, TestMember,
    backend_tests, connect, eventually, outbox_notices, record_meetings_request,
    service_credentials_at, wait_serving,
};
use tonic::Code;

use crate::helpers::{
    World, attendance_summary, attendee_ids, check_in_member, get_event, going, ids,
    list_attendees, meeting_of, morning, offering, published, rsvp,
};

async fn with_members_down_the_summary_keeps_its_counts_and_says_what_is_missing(backend: Backend) {
    use pb::RsvpVisibility::{Connections, Public};

    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (_, as_host) = world.member("Hana").await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let (bruno, as_bruno) = world.member("Bruno").await.unwrap();
    let (chloe, as_chloe) = world.member("Chloé").await.unwrap();
    let (_, as_dan) = world.member("Dan").await.unwrap();
    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    let event = published(&as_host, morning(2030, 3, 8), 3, Vis::Public).await;
    going(&as_anna, &event.id, Public).await;
    going(&as_bruno, &event.id, Connections).await;
    going(&as_chloe, &event.id, Public).await;
    assert_eq!(
        rsvp(&as_dan, &event.id).await.status(),
        pb::RsvpStatus::Waitlisted
    );

    let up = attendance_summary(&as_anna, &event.id).await;
    assert_eq!((up.confirmed_count, up.waitlisted_count), (3, 1));
    assert_eq!(up.unmet_connections_going_count, 2);
    assert!(!up.unmet_connections_unavailable);
    let listed = list_attendees(&as_anna, &event.id).await.unwrap();
    let (seen, unavailable) = (attendee_ids(&listed), listed.connections_unavailable);
    assert!(seen.is_superset(&ids(&[&anna, &bruno, &chloe])), "{seen:?}");
    assert!(!unavailable);

    let World {
        events, members, ..
    } = world;
    members.stop().await.unwrap();

    // Events' own counts, and the part that needs members said to be missing, not zero.
    let down = attendance_summary(&as_anna, &event.id).await;
    assert_eq!((down.confirmed_count, down.waitlisted_count), (3, 1));
    assert_eq!(down.capacity, 3);
    assert_eq!(down.unmet_connections_going_count, 0);
    assert!(down.visible_unmet_connection_ids.is_empty());
    assert!(down.unmet_connections_unavailable);
    // Bruno shows his RSVP to his connections only: without members to say Anna is one,
    // he is hidden; public RSVPs still show.
    let listed = list_attendees(&as_anna, &event.id).await.unwrap();
    let (seen, unavailable) = (attendee_ids(&listed), listed.connections_unavailable);
    assert!(seen.is_superset(&ids(&[&anna, &chloe])), "{seen:?}");
    assert!(!seen.contains(&bruno.id), "{seen:?}");
    assert!(unavailable);
    events.stop().await.unwrap();
}

/// `request` with the W3C trace context of a new trace; the trace id.
fn in_a_new_trace<T>(message: T) -> (tonic::Request<T>, String) {
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let mut request = tonic::Request::new(message);
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01")
        .parse()
        .unwrap();
    request.metadata_mut().insert("traceparent", traceparent);
    (request, trace_id)
}

/// How many GetRelations calls members served in the trace `trace_id`, once events' `method`
/// has finished in it (members answered each before events could).
async fn relations_calls_in_trace(trace_id: &str, method: &str) -> usize {
    let rpcs = eventually(
        &format!("{method} finished in trace {trace_id}"),
        || async {
            let rpcs: Vec<String> = finished_rpcs()
                .into_iter()
                .filter(|rpc| rpc.trace_id == trace_id)
                .map(|rpc| rpc.method)
                .collect();
            rpcs.iter().any(|m| m == method).then_some(rpcs)
        },
    )
    .await;
    rpcs.iter().filter(|m| *m == GET_RELATIONS).count()
}

const GET_RELATIONS: &str = "/rendezvous.members.v1.MemberInternalService/GetRelations";

async fn events_asks_members_once_per_page_of_members_in_the_callers_trace(backend: Backend) {
    use pb::RsvpVisibility::Connections;

    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (_, as_host) = world.member("Hana").await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let mut others = Vec::new();
    for name in ["Bruno", "Chloé", "Dan", "Eve"] {
        let (member, client) = world.member(name).await.unwrap();
        connect(&anna, &member).await.unwrap();
        others.push((member, client));
    }
    let event = published(&as_host, morning(2030, 3, 8), 10, Vis::Public).await;
    going(&as_anna, &event.id, Connections).await;
    for (_, client) in &others {
        going(client, &event.id, Connections).await;
    }

    // The summary: four going, one GetRelations call for them, in Anna's trace.
    let (request, trace) = in_a_new_trace(pb::GetAttendanceSummaryRequest {
        event_id: event.id.clone(),
    });
    let summary = as_anna
        .clone()
        .get_attendance_summary(request)
        .await
        .unwrap();
    assert_eq!(
        summary
            .into_inner()
            .summary
            .unwrap()
            .unmet_connections_going_count,
        4
    );
    let calls = relations_calls_in_trace(
        &trace,
        "/rendezvous.events.v1.EventService/GetAttendanceSummary",
    )
    .await;
    assert_eq!(calls, 1);

    // The attendee list: four RSVPs visible to connections only, one call.
    let (request, trace) = in_a_new_trace(pb::ListAttendeesRequest {
        event_id: event.id.clone(),
        page_size: 100,
        ..Default::default()
    });
    let listed = as_anna.clone().list_attendees(request).await.unwrap();
    assert_eq!(listed.into_inner().attendees.len(), 5);
    let calls =
        relations_calls_in_trace(&trace, "/rendezvous.events.v1.EventService/ListAttendees").await;
    assert_eq!(calls, 1);

    // An invitation of four members: their blocks in one call.
    let invitees = others.iter().map(|(m, _)| m.id.clone()).collect();
    let (request, trace) = in_a_new_trace(pb::InviteMembersRequest {
        event_id: event.id.clone(),
        target: Some(pb::invite_members_request::Target::Members(
            pb::invite_members_request::MemberIds {
                member_ids: invitees,
            },
        )),
    });
    as_host.clone().invite_members(request).await.unwrap();
    let calls =
        relations_calls_in_trace(&trace, "/rendezvous.events.v1.EventService/InviteMembers").await;
    assert_eq!(calls, 1);
    world.stop().await.unwrap();
}

async fn a_hung_members_service_costs_the_jobs_one_deadline_per_round(backend: Backend) {
    // Half an hour before two coffees Camille comes to: check-in is open.
    let start = morning(2030, 3, 10);
    let world = World::start(backend, start - Duration::minutes(30))
        .await
        .unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (came, as_came) = world.member("Camille").await.unwrap();
    let mut ended = Vec::new();
    for _ in 0..2 {
        let event = published(&as_host, start, 10, Vis::Public).await;
        rsvp(&as_came, &event.id).await;
        ended.push(event);
    }
    // An offer that expires while members hangs.
    let offered = offering(&as_host, start + Duration::days(3), 1).await;
    let (_, as_x) = world.member("Xavier").await.unwrap();
    let (_, as_y) = world.member("Yasmine").await.unwrap();
    rsvp(&as_x, &offered.id).await;
    rsvp(&as_y, &offered.id).await;
    as_x.clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: offered.id.clone(),
        })
        .await
        .unwrap();
    for event in &ended {
        check_in_member(&as_host, &event.id, &came.id)
            .await
            .unwrap();
    }
    // A day later: both over for longer than their grace period, the offer expired.
    world.clock.advance(Duration::days(1));

    // The same database, members hung: every call to it waits for its deadline.
    let hung = HungPeer::start().await.unwrap();
    let deadline = StdDuration::from_secs(2);
    let settings = rendezvous_events::Settings {
        record_meetings_deadline: deadline,
        ..rendezvous_testkit::events_settings()
    };
    let jobs = rendezvous_events::Events::for_tests(
        world.events.db.clone(),
        world.clock.clone(),
        [9; 32],
        Some((hung.channel().unwrap(), to_members(&world.clock))),
        settings,
    );
    let now = world.clock.now();

    // The host completes the first by hand: the answer does not wait for members' 30 s
    // deadline, only a few seconds.
    let by_hand = rendezvous_events::Events::for_tests(
        world.events.db.clone(),
        world.clock.clone(),
        [9; 32],
        Some((hung.channel().unwrap(), to_members(&world.clock))),
        rendezvous_testkit::events_settings(),
    );
    let mut request = tonic::Request::new(pb::CompleteEventRequest {
        event_id: ended[0].id.clone(),
    });
    request.extensions_mut().insert(Caller::Member {
        id: host.id.parse().unwrap(),
        session_id: uuid::Uuid::now_v7(),
    });
    let started = Instant::now();
    EventService::complete_event(&by_hand, request)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < StdDuration::from_secs(8),
        "CompleteEvent took {took:?}"
    );

    let started = Instant::now();
    assert_eq!(jobs.complete_due(now).await.unwrap(), 1);
    let took = started.elapsed();
    // The first event's call waits out its deadline; the second waits for the next round
    // instead of a second deadline.
    assert!(took >= deadline, "{took:?}");
    assert!(
        took < deadline * 7 / 4,
        "{took:?} for two events, a {deadline:?} deadline"
    );
    assert_eq!(jobs.sweep_once(now).await.unwrap(), 1, "the offer expired");
    let as_host = world.client(&host).await.unwrap();
    for event in &ended {
        let done = get_event(&as_host, &event.id).await;
        assert_eq!(done.state(), pb::EventState::Completed);
    }
    assert!(
        outbox_notices(&world.members.db, "MEETING_FOLLOW_UP", &came.id)
            .await
            .is_empty()
    );

    // Members answering again, the next round records both.
    assert_eq!(world.events.events.complete_due(now).await.unwrap(), 0);
    let meetings = world
        .members
        .client_with_token(&world.members.login(&came).await.unwrap().access_token)
        .list_meetings(mpb::ListMeetingsRequest::default())
        .await;
    // Camille was alone at both: no co-attendee, and so no follow-up, but both are recorded:
    // members answers a second recording of either as already recorded.
    assert!(meetings.unwrap().into_inner().meetings.is_empty());
    for event in &ended {
        let again = record_chunk(&world, event, std::slice::from_ref(&came.id), 1).await;
        assert!(again.unwrap().already_recorded, "{}", event.id);
    }
    world.stop().await.unwrap();
}

/// An event of `count` checked-in members in a world where members takes `per_call` per
/// RecordMeetings and marks pairs met at once up to `small_event_max`, completed by its host;
/// the attendees in the order events sends them (by id), and the world.
async fn recorded_event(
    backend: Backend,
    count: usize,
    per_call: usize,
    small_event_max: usize,
) -> (World, pb::Event, Vec<TestMember>) {
    let start = morning(2030, 3, 10);
    let settings = rendezvous_events::Settings {
        meetings_chunk: per_call,
        ..rendezvous_testkit::events_settings()
    };
    let members = MembersSettings {
        recorded_attendees_per_call: per_call,
        small_event_max,
        ..rendezvous_testkit::members_settings()
    };
    let world = World::start_with_members(backend, start - Duration::days(1), settings, members)
        .await
        .unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let event = published(&as_host, start, 50, Vis::Public).await;
    let mut attendees = Vec::new();
    for i in 0..count {
        let (member, client) = world.member(&format!("Attendee {i}")).await.unwrap();
        rsvp(&client, &event.id).await;
        attendees.push(member);
    }
    attendees.sort_by(|a, b| a.id.cmp(&b.id));
    // The first and the last are connected: a pair across the two chunks. So are the first
    // two: a pair within the first chunk.
    connect(&attendees[0], &attendees[count - 1]).await.unwrap();
    connect(&attendees[0], &attendees[1]).await.unwrap();
    world
        .clock
        .advance(Duration::days(1) + Duration::minutes(10));
    let as_host = world.client(&host).await.unwrap();
    for member in &attendees {
        check_in_member(&as_host, &event.id, &member.id)
            .await
            .unwrap();
    }
    world.clock.advance(Duration::hours(2));
    let as_host = world.client(&host).await.unwrap();
    as_host
        .clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: event.id.clone(),
        })
        .await
        .unwrap();
    (world, event, attendees)
}

/// Members' RecordMeetings of `attendees`, a chunk of the `total` checked in at `event`, as
/// events sends it.
async fn record_chunk(
    world: &World,
    event: &pb::Event,
    attendees: &[String],
    total: i32,
) -> Result<mpb::RecordMeetingsResponse, tonic::Status> {
    let start = event.start_time.as_ref().unwrap();
    let start = rendezvous_common::time::from_timestamp("start_time", start).unwrap();
    let mut request = record_meetings_request(&event.id, &event.title, start, attendees);
    request.attendee_count = total;
    let response = world
        .members
        .internal()
        .unwrap()
        .record_meetings(request)
        .await?;
    Ok(response.into_inner())
}

async fn an_event_just_over_members_limit_records_its_meetings_in_chunks(backend: Backend) {
    // Members takes 5 per call; 6 were checked in: two chunks, 5 and 1.
    let (world, event, attendees) = recorded_event(backend, 6, 5, 12).await;
    let [first, second, .., last] = attendees.as_slice() else {
        unreachable!("six attendees")
    };
    // The limit is real: all six in one call are refused.
    let all: Vec<String> = attendees.iter().map(|m| m.id.clone()).collect();
    let refused = record_chunk(&world, &event, &all, 6).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    // Every attendee has the five others, whichever chunk they came in.
    for member in &attendees {
        assert_eq!(
            meeting_of(&world, member, &event.id).await.0,
            5,
            "{}",
            member.id
        );
    }
    // Six checked in is a small event (at most 12): connected pairs are met at once, the
    // pair across the chunks as the pair within the first.
    let (_, met) = meeting_of(&world, first, &event.id).await;
    assert_eq!(
        met.iter().collect::<BTreeSet<_>>(),
        [&second.id, &last.id].into_iter().collect()
    );
    // One follow-up each, counting all five, once the last chunk was in.
    for member in &attendees {
        let follow_ups = outbox_notices(&world.members.db, "MEETING_FOLLOW_UP", &member.id).await;
        assert_eq!(follow_ups.len(), 1, "{}", member.id);
    }
    // Sending a chunk again changes nothing.
    let again = record_chunk(&world, &event, &all[5..], 6).await.unwrap();
    assert!(again.already_recorded);
    assert_eq!(meeting_of(&world, last, &event.id).await.0, 5);
    world.stop().await.unwrap();
}

async fn a_large_event_sent_in_chunks_is_judged_by_its_whole_size(backend: Backend) {
    // Events of at most 5 are small, and members takes 5 per call: each chunk of a 6-person
    // event would pass for a small one, the event does not.
    let (world, event, attendees) = recorded_event(backend, 6, 5, 5).await;
    let (co_attendees, met) = meeting_of(&world, &attendees[0], &event.id).await;
    assert_eq!(co_attendees, 5);
    assert!(met.is_empty(), "met at once at a large event: {met:?}");
    world.stop().await.unwrap();
}

/// What events shows members, on `clock`.
fn to_members(
    clock: &rendezvous_common::clock::Clock,
) -> rendezvous_common::auth::ServiceCredentials {
    use rendezvous_common::auth::ServiceName;
    service_credentials_at(ServiceName::Events, ServiceName::Members, clock.clone())
}

/// An address on 127.0.0.1 nobody listens on (yet).
fn free_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn events_started_before_members_serves_once_members_listens(backend: Backend) {
    use tokio::io::AsyncBufReadExt as _;

    let members_addr = free_addr();
    let members_url = format!("http://{members_addr}");
    let events_addr = free_addr();
    let database = TestDb::new(backend).await.unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key_env = rendezvous_testkit::service_key_environment(
        keys.path(),
        rendezvous_common::auth::ServiceName::Events,
    )
    .unwrap();
    let mut events = tokio::process::Command::new(env!("CARGO_BIN_EXE_rendezvous-events"))
        .env_clear()
        .env("RENDEZVOUS_LISTEN_ADDR", events_addr.to_string())
        .env("RENDEZVOUS_FEED_ADDR", "127.0.0.1:0")
        .env("RENDEZVOUS_DATABASE_URL", &database.url)
        .env("RENDEZVOUS_MEMBERS_URL", &members_url)
        .env(
            "RENDEZVOUS_SERVICE_SECRET",
            rendezvous_testkit::process::random_secret(),
        )
        // Events' key of the test key set, which the in-process members knows.
        .envs(key_env)
        .env("RENDEZVOUS_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = tokio::io::BufReader::new(events.stderr.take().unwrap()).lines();

    // Each failed attempt says so, naming where it looks for members.
    let warning = tokio::time::timeout(StdDuration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("token signing keys") && line.contains(&members_url) {
                return line;
            }
        }
        panic!("events exited without the warning");
    })
    .await
    .expect("a warning naming the members URL");
    assert!(warning.contains("WARN"), "{warning}");
    let events_channel = tonic::transport::Endpoint::from_shared(format!("http://{events_addr}"))
        .unwrap()
        .connect_lazy();
    assert!(
        wait_serving(events_channel.clone(), "").await.is_err(),
        "serving without the keys"
    );
    // The rest of the log, kept from blocking the process.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });

    let listener = tokio::net::TcpListener::bind(members_addr).await.unwrap();
    let members = MembersHandle::start_on(Start::new(backend), listener, None)
        .await
        .unwrap();
    // Back-off is capped: events tries again within seconds and then serves.
    let serving = tokio::time::timeout(StdDuration::from_secs(30), async {
        while wait_serving(events_channel.clone(), "").await.is_err() {}
    })
    .await;
    assert!(serving.is_ok(), "events did not become SERVING");
    // With the key it fetched: a member's token opens events.
    let anna = members.register("Anna").await.unwrap();
    let mut as_anna =
        EventServiceClient::with_interceptor(events_channel, Bearer::token(&anna.access_token));
    as_anna
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap();
    events.kill().await.unwrap();
    members.stop().await.unwrap();
}

/// Events members keeps refusing wait with back-off instead of filling every round's batch:
/// the events behind them are recorded.
async fn events_members_refuses_wait_and_never_hold_up_the_rest(backend: Backend) {
    let start = morning(2030, 4, 10);
    // Events sends up to 5 per call, members takes 2: an event of 3 check-ins is refused
    // (a misconfiguration, but any refusal will do), an event of 1 is recorded.
    let settings = rendezvous_events::Settings {
        meetings_chunk: 5,
        meetings_batch: 2,
        ..rendezvous_testkit::events_settings()
    };
    let members = MembersSettings {
        recorded_attendees_per_call: 2,
        ..rendezvous_testkit::members_settings()
    };
    let world = World::start_with_members(backend, start - Duration::days(1), settings, members)
        .await
        .unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    // Three refused events, made first (completed at the same time, they come first by id),
    // and one that members takes.
    let mut events = Vec::new();
    for sizes in [3, 3, 3, 1] {
        let event = published(&as_host, start, 10, Vis::Public).await;
        let mut attendees = Vec::new();
        for i in 0..sizes {
            let (member, client) = world.member(&format!("Attendee {i}")).await.unwrap();
            rsvp(&client, &event.id).await;
            attendees.push(member);
        }
        events.push((event, attendees));
    }
    world
        .clock
        .advance(Duration::days(1) + Duration::minutes(10));
    let as_host = world.client(&host).await.unwrap();
    for (event, attendees) in &events {
        for member in attendees {
            check_in_member(&as_host, &event.id, &member.id)
                .await
                .unwrap();
        }
    }
    // Past the end and the grace: the job completes all four, then tries the first batch
    // of two, both refused.
    world.clock.advance(Duration::hours(8));
    let now = world.clock.now();
    let jobs = &world.events.events;
    assert_eq!(jobs.complete_due(now).await.unwrap(), 4);
    // The next round at the same time reads the two behind them: one refused, one recorded.
    assert_eq!(jobs.record_pending_meetings(now).await.unwrap(), 1);
    let small = &events[3].0.id;
    assert!(meetings_recorded(&world, small).await);
    assert!(!meetings_recorded(&world, &events[2].0.id).await);
    // Nothing is due until the first wait (a minute) is over; then the three are refused
    // again, and wait twice as long.
    assert_eq!(jobs.record_pending_meetings(now).await.unwrap(), 0);
    assert_eq!(
        refusals(&world, &events[0].0.id).await,
        (1, now + Duration::minutes(1))
    );
    world.clock.advance(Duration::minutes(1));
    let now = world.clock.now();
    assert_eq!(jobs.record_pending_meetings(now).await.unwrap(), 0);
    assert_eq!(jobs.record_pending_meetings(now).await.unwrap(), 0);
    for (event, _) in &events[..3] {
        assert_eq!(
            refusals(&world, &event.id).await,
            (2, now + Duration::minutes(2))
        );
    }
    assert_eq!(refusals(&world, small).await.0, 0);
    world.stop().await.unwrap();
}

/// Whether members accepted `event_id`'s meetings.
async fn meetings_recorded(world: &World, event_id: &str) -> bool {
    rendezvous_common::with_db!(&world.events.db, |pool| {
        let at: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT meetings_recorded_at FROM events WHERE id = $1")
                .bind(event_id)
                .fetch_one(pool)
                .await
                .unwrap();
        at.is_some()
    })
}

/// How often members refused `event_id`'s meetings, and when it is tried next.
async fn refusals(world: &World, event_id: &str) -> (i64, chrono::DateTime<chrono::Utc>) {
    rendezvous_common::with_db!(&world.events.db, |pool| {
        let (refusals, retry_at): (i64, Option<chrono::DateTime<chrono::Utc>>) =
            sqlx::query_as("SELECT meetings_refusals, meetings_retry_at FROM events WHERE id = $1")
                .bind(event_id)
                .fetch_one(pool)
                .await
                .unwrap();
        (refusals, retry_at.unwrap_or_default())
    })
}

backend_tests!(
    with_members_down_the_summary_keeps_its_counts_and_says_what_is_missing,
    events_asks_members_once_per_page_of_members_in_the_callers_trace,
    a_hung_members_service_costs_the_jobs_one_deadline_per_round,
    an_event_just_over_members_limit_records_its_meetings_in_chunks,
    a_large_event_sent_in_chunks_is_judged_by_its_whole_size,
    events_started_before_members_serves_once_members_listens,
    events_members_refuses_wait_and_never_hold_up_the_rest,
);
