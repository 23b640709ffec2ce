//! `rendezvous up --demo`, run as a user runs it: the built binary over a fresh data
//! directory on free ports. The network it loads is there once it serves, with its history
//! (met edges, the wait-list, the inbox, coffee settings, chapter health), a restart serves it again without loading twice,
//! and a data directory holding other data is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::notification_service_client::NotificationServiceClient;
use tonic::Request;
use tonic::transport::Channel;

/// Free loopback ports for the five listeners.
fn free_ports() -> [u16; 5] {
    let listeners: Vec<std::net::TcpListener> = (0..5)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    ports.try_into().unwrap()
}

/// A running `rendezvous up --demo`, stopped when dropped.
struct Up {
    child: Child,
    members: u16,
    events: u16,
    notifications: u16,
    /// What it printed up to the demo's sign-in help.
    printed: String,
}

impl Up {
    fn start(data_dir: &Path) -> Self {
        let [members, events, notifications, feed, http] = free_ports();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rendezvous"))
            .args(["up", "--demo", "--data-dir"])
            .arg(data_dir)
            .args(["--members-port", &members.to_string()])
            .args(["--events-port", &events.to_string()])
            .args(["--notifications-port", &notifications.to_string()])
            .args(["--feed-port", &feed.to_string()])
            .args(["--notifications-http-port", &http.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, printed) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let mut seen = String::new();
        loop {
            let line = printed
                .recv_timeout(Duration::from_secs(180))
                .unwrap_or_else(|e| panic!("no demo sign-in help ({e}); printed:\n{seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with("the others:") {
                break;
            }
        }
        Self {
            child,
            members,
            events,
            notifications,
            printed: seen,
        }
    }

    async fn channel(port: u16) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// An access token of the demo member with `email`.
    async fn sign_in(&self, email: &str) -> String {
        let mut members = MemberServiceClient::new(Self::channel(self.members).await);
        members
            .login(mpb::LoginRequest {
                email: email.to_owned(),
                password: "rendezvous-demo".to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap()
            .access_token
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn as_member<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

const ANNA: &str = "anna.dupont@demo.rendezvous.local";
const CHLOE: &str = "chloe.bernard@demo.rendezvous.local";
const KARIM: &str = "karim.benali@demo.rendezvous.local";

/// What Anna sees: her network (7 connections, 3 met at past meetups, one request waiting)
/// and the next Paris café, full with one member waiting, then the apéro.
async fn anna_sees_her_network_and_the_next_cafe(up: &Up) {
    let anna = up.sign_in(ANNA).await;
    let mut members = MemberServiceClient::new(Up::channel(up.members).await);
    let stats = members
        .get_network_stats(as_member(&anna, mpb::GetNetworkStatsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    assert_eq!(
        (
            stats.connections,
            stats.met_in_person,
            stats.pending_incoming_requests
        ),
        (7, 3, 1)
    );
    let mut events = EventServiceClient::new(Up::channel(up.events).await);
    let paris = events
        .list_events(as_member(
            &anna,
            pb::ListEventsRequest {
                city: "Paris".to_owned(),
                page_size: 10,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let titles: Vec<&str> = paris.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Café networking — Le Marais", "Apéro — Canal Saint-Martin"],
        "{paris:?}"
    );
    let cafe = &paris[0];
    assert_eq!(cafe.title, "Café networking — Le Marais");
    assert_eq!(cafe.state(), pb::EventState::Published);
    assert_eq!((cafe.confirmed_count, cafe.waitlisted_count), (4, 1));
}

/// Anna takes coffee proposals: opted in, weekly, free on Tuesday mornings and Thursday
/// lunchtimes; the first round, run while the demo loaded, proposed her and Nora a coffee.
async fn anna_takes_coffee_proposals(up: &Up) {
    let anna = up.sign_in(ANNA).await;
    let mut members = MemberServiceClient::new(Up::channel(up.members).await);
    let settings = members
        .get_coffee_settings(as_member(&anna, mpb::GetCoffeeSettingsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert!(settings.opted_in);
    assert_eq!(settings.cadence(), mpb::CoffeeCadence::Weekly);
    let windows: Vec<(pb::Weekday, &str, &str)> = settings
        .availability
        .iter()
        .map(|w| (w.weekday(), w.start_time.as_str(), w.end_time.as_str()))
        .collect();
    assert_eq!(
        windows,
        [
            (pb::Weekday::Tuesday, "08:00", "10:00"),
            (pb::Weekday::Thursday, "12:30", "14:00"),
        ]
    );
    let proposals = members
        .list_coffee_proposals(as_member(&anna, mpb::ListCoffeeProposalsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .proposals;
    let [proposal] = proposals.as_slice() else {
        panic!("one proposal for Anna: {proposals:?}");
    };
    assert_eq!(proposal.display_name, "Nora Wilson");
    assert_eq!(proposal.state(), mpb::CoffeeProposalState::Open);
    assert_eq!(proposal.my_answer(), mpb::CoffeeAnswer::Unspecified);
    assert_eq!(proposal.last_met_time, None);
}

/// Karim, who met Anna and Chloé 35 days ago and opted in to re-meet nudges after 30 days,
/// was nudged about Chloé with the Paris apéro (hosted by Anna, so none for the two of them).
async fn karim_is_nudged_to_see_chloe_again(up: &Up) {
    let karim = up.sign_in(KARIM).await;
    let mut members = MemberServiceClient::new(Up::channel(up.members).await);
    let nudges = members
        .list_remeet_nudges(as_member(&karim, mpb::ListRemeetNudgesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .nudges;
    let [nudge] = nudges.as_slice() else {
        panic!("one nudge for Karim: {nudges:?}");
    };
    assert_eq!(nudge.display_name, "Chloé Bernard");
    let Some(mpb::remeet_nudge::Suggestion::Event(event)) = &nudge.suggestion else {
        panic!("an event suggested: {nudge:?}");
    };
    assert_eq!(event.title, "Apéro — Canal Saint-Martin");
    assert_eq!(event.venue_name, "Le Comptoir Général");
    let settings = members
        .get_remeet_settings(as_member(&karim, mpb::GetRemeetSettingsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!((settings.opted_in, settings.after_days), (true, 30));
}

/// Anna, the Paris organiser, sees its health from the two past meetups: 5 of the 7 seats
/// taken checked in, 3 first-timers, 2 of whom came back.
async fn anna_sees_the_paris_chapter_health(up: &Up) {
    let anna = up.sign_in(ANNA).await;
    let mut chapters = ChapterServiceClient::new(Up::channel(up.events).await);
    let paris = chapters
        .list_chapters(pb::ListChaptersRequest {
            city: "Paris".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .chapters;
    assert_eq!(paris.len(), 1, "{paris:?}");
    let health = chapters
        .get_chapter_health(as_member(
            &anna,
            pb::GetChapterHealthRequest {
                chapter_id: paris[0].id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .health
        .unwrap();
    assert_eq!(
        (
            health.members,
            health.completed_events,
            health.first_timers,
            health.returned_within_60_days
        ),
        (5, 2, 3, 2)
    );
    assert!(
        (health.attendance_rate - 5.0 / 7.0).abs() < 1e-9,
        "{health:?}"
    );
}

/// Chloé, the one waiting, is told so (delivered by the served stack if the loading one had
/// not yet), and was asked after the past café whom she met.
async fn chloe_is_told_she_waits(up: &Up) {
    let chloe = up.sign_in(CHLOE).await;
    let mut inbox = NotificationServiceClient::new(Up::channel(up.notifications).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let kinds: Vec<npb::NotificationKind> = inbox
            .list_notifications(as_member(
                &chloe,
                npb::ListNotificationsRequest {
                    page_size: 100,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .notifications
            .iter()
            .map(npb::Notification::kind)
            .collect();
        let wanted = [
            npb::NotificationKind::RsvpWaitlisted,
            npb::NotificationKind::MeetingFollowUp,
            npb::NotificationKind::MetInPerson,
        ];
        if wanted.iter().all(|k| kinds.contains(k)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Chloé's inbox: {kinds:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_loads_once_and_serves_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let first = Up::start(&data_dir);
    assert!(first.printed.contains("loading the demo network"));
    assert!(first.printed.contains(ANNA), "{}", first.printed);
    anna_sees_her_network_and_the_next_cafe(&first).await;
    anna_takes_coffee_proposals(&first).await;
    karim_is_nudged_to_see_chloe_again(&first).await;
    anna_sees_the_paris_chapter_health(&first).await;
    chloe_is_told_she_waits(&first).await;
    drop(first);

    // Started again on the same directory: served, not loaded twice.
    let again = Up::start(&data_dir);
    assert!(
        !again.printed.contains("loading the demo network"),
        "{}",
        again.printed
    );
    anna_sees_her_network_and_the_next_cafe(&again).await;
}

#[test]
fn the_demo_refuses_a_data_directory_holding_other_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("members.db"), b"").unwrap();
    let [members, events, notifications, feed, http] = free_ports();
    let output = Command::new(env!("CARGO_BIN_EXE_rendezvous"))
        .args(["up", "--demo", "--data-dir"])
        .arg(dir.path())
        .args(["--members-port", &members.to_string()])
        .args(["--events-port", &events.to_string()])
        .args(["--notifications-port", &notifications.to_string()])
        .args(["--feed-port", &feed.to_string()])
        .args(["--notifications-http-port", &http.to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("empty data directory"), "{said}");
}
