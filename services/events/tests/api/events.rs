//! `EventService` end to end over gRPC, on both backends: the story of PRODUCT.md (chapter,
//! event, invitations, a full event with its wait-list, a move, check-in, completion and the
//! meetings members records), privacy of invite-only events, who may do what, bad input naming
//! its field, offers that expire, a series across daylight-saving changes, and calendars.

use chrono::{DateTime, Duration, Timelike as _, Utc};
use chrono_tz::Europe::Paris;
use rendezvous_common::error::violated_fields;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::prost_types::{Duration as PbDuration, FieldMask};
use rendezvous_testkit::{Backend, EventClient, backend_tests, timestamp};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

use crate::helpers::{
    World, create, event, morning, outbox_count, paris_chapter, publish, published, rsvp,
    update_title,
};

fn now0() -> DateTime<Utc> {
    morning(2027, 3, 1)
}

async fn get_rsvp(client: &EventClient, id: &str) -> pb::Rsvp {
    client
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: id.to_owned(),
            member_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
}

fn status(r: &pb::Rsvp) -> pb::RsvpStatus {
    pb::RsvpStatus::try_from(r.status).unwrap()
}

async fn story_from_chapter_to_recorded_meetings(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (anna, anna_events) = world.member("Anna").await;
    let chapters = world.events.client_with_token(&anna.access_token);
    let chapter = paris_chapter(&chapters).await;
    let start = now0() + Duration::days(3);
    let mut draft = event(start, 20, pb::EventVisibility::Chapter);
    draft.chapter_id.clone_from(&chapter.id);
    let created = create(&anna_events, draft).await;
    assert_eq!(created.state, i32::from(pb::EventState::Draft));
    let published = publish(&anna_events, &created.id).await;
    assert_eq!(published.state, i32::from(pb::EventState::Published));

    let mut guests = Vec::new();
    for i in 0..25 {
        guests.push(world.member(&format!("Guest {i}")).await);
    }
    // A chapter event is invisible to non-members until they are invited.
    let outsider = &guests[0].1;
    let hidden = outsider
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let invited = anna_events
        .clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: created.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: guests.iter().map(|(m, _)| m.id.clone()).collect(),
                },
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invited.invited_count, 25);
    assert_eq!(invited.remaining_weekly_invitations, 475);
    assert_eq!(outbox_count(&world.events.db, "invitation:", "").await, 25);

    for (i, (_, client)) in guests.iter().enumerate() {
        let r = rsvp(client, &created.id).await;
        if i < 20 {
            assert_eq!(status(&r), pb::RsvpStatus::Confirmed, "guest {i}");
        } else {
            assert_eq!(status(&r), pb::RsvpStatus::Waitlisted, "guest {i}");
            assert_eq!(r.waitlist_position, i32::try_from(i - 19).unwrap());
        }
    }
    // Idempotent: a second RSVP keeps the place.
    assert_eq!(rsvp(&guests[22].1, &created.id).await.waitlist_position, 3);

    let cancelled = guests[3]
        .1
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    assert_eq!(status(&cancelled), pb::RsvpStatus::Cancelled);
    assert_eq!(
        status(&get_rsvp(&guests[20].1, &created.id).await),
        pb::RsvpStatus::Confirmed
    );
    assert_eq!(
        get_rsvp(&guests[21].1, &created.id).await.waitlist_position,
        1
    );
    let current = anna_events
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!((current.confirmed_count, current.waitlisted_count), (20, 4));

    // Moving the start tells the 20 confirmed and 4 wait-listed members.
    let mut moved = current.clone();
    moved.start_time = Some(timestamp(start + Duration::minutes(30)));
    let updated = anna_events
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(moved.clone()),
            update_mask: Some(FieldMask {
                paths: vec!["start_time".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_ne!(updated.etag, current.etag);
    assert_eq!(
        outbox_count(&world.events.db, "event-updated:", "").await,
        24
    );
    // The old etag is stale now.
    let stale = update_title(&anna_events, moved).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // At the café.
    world
        .clock
        .advance(Duration::days(3) + Duration::minutes(40));
    let anna_events = world.client(&anna).await;
    for guest in &mut guests {
        guest.1 = world.client(&guest.0).await;
    }
    let code = anna_events
        .clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    assert!(code.len() >= 8);
    for (_, client) in &guests[..4] {
        let target = Some(pb::check_in_request::Target::Code(code.clone()));
        let checked = client
            .clone()
            .check_in(pb::CheckInRequest {
                event_id: created.id.clone(),
                target,
            })
            .await;
        // Guest 3 cancelled: not confirmed, no check-in.
        if client
            .clone()
            .get_rsvp(pb::GetRsvpRequest {
                event_id: created.id.clone(),
                member_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .rsvp
            .unwrap()
            .status
            == i32::from(pb::RsvpStatus::Cancelled)
        {
            assert_eq!(checked.unwrap_err().code(), Code::FailedPrecondition);
        } else {
            assert!(checked.unwrap().into_inner().rsvp.unwrap().checked_in);
        }
    }
    let by_host = anna_events
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: created.id.clone(),
            target: Some(pb::check_in_request::Target::MemberId(
                guests[4].0.id.clone(),
            )),
        })
        .await
        .unwrap();
    assert!(by_host.into_inner().rsvp.unwrap().checked_in);
    // Idempotent.
    anna_events
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: created.id.clone(),
            target: Some(pb::check_in_request::Target::MemberId(
                guests[4].0.id.clone(),
            )),
        })
        .await
        .unwrap();
    let wrong = guests[5]
        .1
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: created.id.clone(),
            target: Some(pb::check_in_request::Target::Code("WRONGCODE".to_owned())),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::PermissionDenied);

    world.clock.advance(Duration::hours(2));
    let anna_events = world.client(&anna).await;
    let completed = anna_events
        .clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(completed.checked_in_count, 4);
    assert_eq!(completed.no_show_count, 16);
    assert_eq!(
        completed.event.unwrap().state,
        i32::from(pb::EventState::Completed)
    );
    let meetings = world
        .members
        .client_with_token(&world.token(&guests[0].0).await)
        .list_meetings(mpb::ListMeetingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .meetings;
    assert_eq!(meetings.len(), 1, "members recorded the meeting");
    world.stop().await;
}

async fn invite_only_events_do_not_exist_for_others(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (other, other_client) = world.member("Other").await;
    let (guest, guest_client) = world.member("Guest").await;
    let secret = published(
        &host,
        now0() + Duration::days(2),
        5,
        pb::EventVisibility::InviteOnly,
    )
    .await;
    let get = |c: &EventClient| {
        let mut c = c.clone();
        let id = secret.id.clone();
        async move { c.get_event(pb::GetEventRequest { event_id: id }).await }
    };
    assert_eq!(get(&other_client).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        get(&world.events.events_anonymous())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let listed = other_client
        .clone()
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.events.is_empty());
    let rsvp_err = other_client
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: secret.id.clone(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(rsvp_err.code(), Code::NotFound);
    host.clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: secret.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: vec![guest.id.clone()],
                },
            )),
        })
        .await
        .unwrap();
    assert!(get(&guest_client).await.is_ok());
    assert_eq!(get(&other_client).await.unwrap_err().code(), Code::NotFound);
    let _ = other;
    world.stop().await;
}

async fn a_member_cannot_manage_others_events(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (host_member, host) = world.member("Host").await;
    let (attendee, attendee_client) = world.member("Attendee").await;
    let (other_member, other) = world.member("Other").await;
    let e = published(
        &host,
        now0() + Duration::hours(3),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    rsvp(&attendee_client, &e.id).await;
    let mut edit = e.clone();
    edit.title = "Mine now".to_owned();
    let update = update_title(&other, edit).await.unwrap_err();
    assert_eq!(update.code(), Code::PermissionDenied);
    let cancel = other
        .clone()
        .cancel_event(pb::CancelEventRequest {
            event_id: e.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::PermissionDenied);
    world.clock.advance(Duration::hours(3));
    let other = world.client(&other_member).await;
    let attendee_client = world.client(&attendee).await;
    let _ = world.client(&host_member).await;
    let check_in = other
        .clone()
        .check_in(pb::CheckInRequest {
            event_id: e.id.clone(),
            target: Some(pb::check_in_request::Target::MemberId(attendee.id.clone())),
        })
        .await
        .unwrap_err();
    assert_eq!(check_in.code(), Code::PermissionDenied);
    let list = other
        .clone()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: e.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(list.code(), Code::PermissionDenied);
    let code = other
        .clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(code.code(), Code::PermissionDenied);
    let complete = other
        .clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(complete.code(), Code::PermissionDenied);
    // The confirmed attendee may list; the host sees everyone.
    let attendees = attendee_client
        .clone()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: e.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(attendees.attendees.len(), 1);
    let anonymous = world
        .events
        .events_anonymous()
        .update_event(pb::UpdateEventRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    world.stop().await;
}

async fn bad_inputs_name_their_fields(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let start = now0() + Duration::days(1);
    let good = || event(start, 10, pb::EventVisibility::Public);
    type Edit = fn(&mut pb::Event);
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("empty title", |e| e.title = String::new(), "event.title"),
        ("blank title", |e| e.title = "   ".to_owned(), "event.title"),
        ("long title", |e| e.title = "x".repeat(201), "event.title"),
        (
            "control char title",
            |e| e.title = "a\u{7}b".to_owned(),
            "event.title",
        ),
        (
            "1 MB description",
            |e| e.description = "x".repeat(1_000_000),
            "event.description",
        ),
        (
            "10001 char description",
            |e| e.description = "é".repeat(10_001),
            "event.description",
        ),
        ("no kind", |e| e.kind = 0, "event.kind"),
        ("unknown kind", |e| e.kind = 99, "event.kind"),
        (
            "latitude 91",
            |e| e.venue.as_mut().unwrap().latitude = 91.0,
            "event.venue.latitude",
        ),
        (
            "latitude -91",
            |e| e.venue.as_mut().unwrap().latitude = -91.0,
            "event.venue.latitude",
        ),
        (
            "latitude NaN",
            |e| e.venue.as_mut().unwrap().latitude = f64::NAN,
            "event.venue.latitude",
        ),
        (
            "longitude 181",
            |e| e.venue.as_mut().unwrap().longitude = 181.0,
            "event.venue.longitude",
        ),
        (
            "longitude -180.5",
            |e| e.venue.as_mut().unwrap().longitude = -180.5,
            "event.venue.longitude",
        ),
        (
            "long venue name",
            |e| e.venue.as_mut().unwrap().name = "v".repeat(201),
            "event.venue.name",
        ),
        ("no start", |e| e.start_time = None, "event.start_time"),
        ("no end", |e| e.end_time = None, "event.end_time"),
        (
            "start in the past",
            |e| {
                e.start_time = Some(timestamp(now0() - Duration::hours(1)));
            },
            "event.start_time",
        ),
        (
            "end before start",
            |e| {
                e.end_time = Some(timestamp(now0() + Duration::hours(1)));
            },
            "event.end_time",
        ),
        (
            "end equals start",
            |e| e.end_time = e.start_time,
            "event.end_time",
        ),
        (
            "bad nanos",
            |e| e.start_time.as_mut().unwrap().nanos = -1,
            "event.start_time",
        ),
        (
            "unknown time zone",
            |e| e.time_zone = "Mars/Olympus".to_owned(),
            "event.time_zone",
        ),
        (
            "empty time zone",
            |e| e.time_zone = String::new(),
            "event.time_zone",
        ),
        ("capacity 0", |e| e.capacity = 0, "event.capacity"),
        ("capacity negative", |e| e.capacity = -5, "event.capacity"),
        (
            "capacity absurd",
            |e| e.capacity = 1_000_000,
            "event.capacity",
        ),
        (
            "deadline after start",
            |e| {
                e.rsvp_deadline = Some(timestamp(now0() + Duration::days(2)));
            },
            "event.rsvp_deadline",
        ),
        ("no visibility", |e| e.visibility = 0, "event.visibility"),
        (
            "unknown visibility",
            |e| e.visibility = 42,
            "event.visibility",
        ),
        (
            "chapter visibility without chapter",
            |e| {
                e.visibility = pb::EventVisibility::Chapter.into();
            },
            "event.chapter_id",
        ),
        (
            "bad chapter id",
            |e| e.chapter_id = "not-a-uuid".to_owned(),
            "event.chapter_id",
        ),
        (
            "offer without window",
            |e| {
                e.waitlist_mode = pb::WaitlistMode::Offer.into();
            },
            "event.offer_window",
        ),
        (
            "offer window negative",
            |e| {
                e.waitlist_mode = pb::WaitlistMode::Offer.into();
                e.offer_window = Some(PbDuration {
                    seconds: -60,
                    nanos: 0,
                });
            },
            "event.offer_window",
        ),
        (
            "unknown waitlist mode",
            |e| e.waitlist_mode = 7,
            "event.waitlist_mode",
        ),
        ("long city", |e| e.city = "c".repeat(101), "event.city"),
    ];
    assert!(cases.len() >= 30);
    for (name, edit, field) in cases {
        let mut e = good();
        edit(&mut e);
        let status = host
            .clone()
            .create_event(pb::CreateEventRequest {
                event: Some(e),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{name}");
        assert!(
            violated_fields(&status).iter().any(|f| f == field),
            "{name}: expected {field} in {:?}",
            violated_fields(&status)
        );
    }
    // Beyond CreateEvent.
    let e = create(&host, good()).await;
    let checks: Vec<(&str, tonic::Status, &str)> = vec![
        (
            "bad page token",
            host.clone()
                .list_events(pb::ListEventsRequest {
                    page_token: "garbage".to_owned(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "page_token",
        ),
        (
            "negative page size",
            host.clone()
                .list_events(pb::ListEventsRequest {
                    page_size: -1,
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "page_size",
        ),
        (
            "radius 0",
            host.clone()
                .list_events(pb::ListEventsRequest {
                    near: Some(pb::GeoFilter {
                        latitude: 48.0,
                        longitude: 2.0,
                        radius_km: 0.0,
                    }),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            "near.radius_km",
        ),
        (
            "empty mask",
            host.clone()
                .update_event(pb::UpdateEventRequest {
                    event: Some(e.clone()),
                    update_mask: None,
                })
                .await
                .unwrap_err(),
            "update_mask",
        ),
        (
            "unknown mask path",
            host.clone()
                .update_event(pb::UpdateEventRequest {
                    event: Some(e.clone()),
                    update_mask: Some(FieldMask {
                        paths: vec!["state".to_owned()],
                    }),
                })
                .await
                .unwrap_err(),
            "update_mask",
        ),
        (
            "bad event id",
            host.clone()
                .get_event(pb::GetEventRequest {
                    event_id: "nope".to_owned(),
                })
                .await
                .unwrap_err(),
            "event_id",
        ),
        (
            "rsvp without intent",
            host.clone()
                .rsvp(pb::RsvpRequest {
                    event_id: e.id.clone(),
                    intent: 0,
                    visibility: 0,
                })
                .await
                .unwrap_err(),
            "intent",
        ),
        (
            "bad recurrence rule",
            host.clone()
                .create_series(pb::CreateSeriesRequest {
                    series: Some(pb::Series {
                        rule: Some(pb::RecurrenceRule {
                            frequency: pb::RecurrenceFrequency::Weekly.into(),
                            interval: 99,
                            end: Some(pb::recurrence_rule::End::Count(3)),
                            ..Default::default()
                        }),
                        ..weekly_series("2027-03-07", 3)
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap_err(),
            "series.rule.interval",
        ),
    ];
    for (name, status, field) in checks {
        assert_eq!(status.code(), Code::InvalidArgument, "{name}");
        assert!(
            violated_fields(&status).iter().any(|f| f == field),
            "{name}: expected {field} in {:?}",
            violated_fields(&status)
        );
    }
    // A stale etag is ABORTED, not invalid.
    let mut stale = e.clone();
    stale.etag = "999".to_owned();
    let aborted = update_title(&host, stale).await.unwrap_err();
    assert_eq!(aborted.code(), Code::Aborted);
    world.stop().await;
}

fn weekly_series(start_date: &str, count: i32) -> pb::Series {
    pb::Series {
        rule: Some(pb::RecurrenceRule {
            frequency: pb::RecurrenceFrequency::Weekly.into(),
            interval: 1,
            by_weekdays: vec![pb::Weekday::Sunday.into()],
            end: Some(pb::recurrence_rule::End::Count(count)),
            ..Default::default()
        }),
        start_date: start_date.to_owned(),
        start_local_time: "08:30".to_owned(),
        duration: Some(PbDuration {
            seconds: 90 * 60,
            nanos: 0,
        }),
        time_zone: "Europe/Paris".to_owned(),
        template: Some(pb::EventTemplate {
            title: "Sunday coffee".to_owned(),
            kind: pb::EventKind::Coffee.into(),
            capacity: 12,
            visibility: pb::EventVisibility::Public.into(),
            city: "Paris".to_owned(),
            ..Default::default()
        }),
        auto_publish: true,
        ..Default::default()
    }
}

async fn weekly_series_keeps_local_time_across_dst(backend: Backend) {
    let settings = rendezvous_events::Settings {
        series_horizon: Duration::days(400),
        ..rendezvous_events::Settings::default()
    };
    let world = World::start_with(backend, now0(), settings).await;
    let (host_member, host) = world.member("Host").await;
    let created = host
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(weekly_series("2027-03-07", 40)),
            request_id: "series-1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.event_ids.len(), 40);
    let series = created.series.unwrap();
    let mut starts = Vec::new();
    for id in &created.event_ids {
        let e = host
            .clone()
            .get_event(pb::GetEventRequest {
                event_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .event
            .unwrap();
        assert_eq!(e.series_id, series.id);
        let start = DateTime::from_timestamp(e.start_time.unwrap().seconds, 0).unwrap();
        starts.push(start);
    }
    for start in &starts {
        let local = start.with_timezone(&Paris);
        assert_eq!((local.hour(), local.minute()), (8, 30), "{start}");
    }
    // Across the last Sunday of March and of October 2027 the UTC time shifts by an hour.
    let utc_hour = |y, m, d| {
        starts
            .iter()
            .find(|s| {
                s.with_timezone(&Paris).date_naive()
                    == chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
            })
            .map(|s| s.hour())
            .unwrap()
    };
    assert_eq!(utc_hour(2027, 3, 21), 7);
    assert_eq!(utc_hour(2027, 3, 28), 6);
    assert_eq!(utc_hour(2027, 10, 24), 6);
    assert_eq!(utc_hour(2027, 10, 31), 7);
    // Retrying with the same request id returns the same series.
    let again = host
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(weekly_series("2027-03-07", 40)),
            request_id: "series-1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.series.unwrap().id, series.id);
    // Updating (and cancelling) touches only occurrences not yet started.
    world.clock.advance(Duration::days(14));
    let host = world.client(&host_member).await;
    let mut patch = series.clone();
    patch.template.as_mut().unwrap().title = "Sunday coffee, new place".to_owned();
    host.clone()
        .update_series(pb::UpdateSeriesRequest {
            series: Some(patch),
            update_mask: Some(FieldMask {
                paths: vec!["template.title".to_owned()],
            }),
        })
        .await
        .unwrap();
    let title_of = |id: String| {
        let mut host = host.clone();
        async move {
            host.get_event(pb::GetEventRequest { event_id: id })
                .await
                .unwrap()
                .into_inner()
                .event
                .unwrap()
                .title
        }
    };
    assert_eq!(
        title_of(created.event_ids[0].clone()).await,
        "Sunday coffee"
    );
    assert_eq!(
        title_of(created.event_ids[5].clone()).await,
        "Sunday coffee, new place"
    );
    let cancelled = host
        .clone()
        .cancel_series(pb::CancelSeriesRequest {
            series_id: series.id.clone(),
            reason: "moving".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.cancelled_event_count, 38);
    world.stop().await;
}

async fn calendars_parse_and_feeds_can_be_revoked(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (_, guest) = world.member("Guest").await;
    let e = published(
        &host,
        now0() + Duration::days(2),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    rsvp(&guest, &e.id).await;
    let exported = host
        .clone()
        .export_event_calendar(pb::ExportEventCalendarRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(exported.content_type.starts_with("text/calendar"));
    let text = String::from_utf8(exported.ics).unwrap();
    let unfolded = icalendar::parser::unfold(&text);
    let parsed = icalendar::parser::read_calendar(&unfolded).unwrap();
    let vevents: Vec<_> = parsed
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(vevents.len(), 1);
    assert!(text.contains("TZID=Europe/Paris"));

    let mine = guest
        .clone()
        .export_my_calendar(pb::ExportMyCalendarRequest {})
        .await
        .unwrap()
        .into_inner();
    let mine = String::from_utf8(mine.ics).unwrap();
    let unfolded = icalendar::parser::unfold(&mine);
    icalendar::parser::read_calendar(&unfolded).unwrap();
    assert!(mine.contains("Café networking"));

    let feed = guest
        .clone()
        .create_calendar_feed(pb::CreateCalendarFeedRequest {
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .feed
        .unwrap();
    let path = feed
        .url
        .split_once("/calendar/")
        .map(|(_, rest)| format!("/calendar/{rest}"))
        .unwrap();
    let (status, body) = http_get(world.events.feed_addr, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("BEGIN:VCALENDAR") && body.contains("Café networking"));
    guest
        .clone()
        .revoke_calendar_feed(pb::RevokeCalendarFeedRequest {
            feed_id: feed.id.clone(),
        })
        .await
        .unwrap();
    let (status, _) = http_get(world.events.feed_addr, &path).await;
    assert_eq!(status, 404);
    world.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    (status, response)
}

async fn an_unclaimed_offer_expires_and_passes_on(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (_, a) = world.member("A").await;
    let (b_member, b) = world.member("B").await;
    let (c_member, c) = world.member("C").await;
    let mut draft = event(now0() + Duration::days(2), 1, pb::EventVisibility::Public);
    draft.waitlist_mode = pb::WaitlistMode::Offer.into();
    draft.offer_window = Some(PbDuration {
        seconds: 3600,
        nanos: 0,
    });
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    assert_eq!(status(&rsvp(&a, &e.id).await), pb::RsvpStatus::Confirmed);
    assert_eq!(status(&rsvp(&b, &e.id).await), pb::RsvpStatus::Waitlisted);
    assert_eq!(status(&rsvp(&c, &e.id).await), pb::RsvpStatus::Waitlisted);
    a.clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap();
    let offered = get_rsvp(&b, &e.id).await;
    assert_eq!(status(&offered), pb::RsvpStatus::Offered);
    assert!(offered.offer_expire_time.is_some());
    world.clock.advance(Duration::minutes(61));
    let b = world.client(&b_member).await;
    let c = world.client(&c_member).await;
    let late = b
        .clone()
        .claim_offer(pb::ClaimOfferRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(status(&get_rsvp(&c, &e.id).await), pb::RsvpStatus::Offered);
    // The sweeper expires C's offer once its window passes too; nobody is left to offer.
    world.clock.advance(Duration::minutes(61));
    let expired = world
        .events
        .events
        .sweep_once(world.clock.now())
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let c = world.client(&c_member).await;
    assert_eq!(
        status(&get_rsvp(&c, &e.id).await),
        pb::RsvpStatus::Cancelled
    );
    world.stop().await;
}

async fn invitations_skip_blocked_members_and_stop_at_the_weekly_cap(backend: Backend) {
    let settings = rendezvous_events::Settings {
        weekly_invitation_cap: 3,
        ..rendezvous_events::Settings::default()
    };
    let world = World::start_with(backend, now0(), settings).await;
    let (anna, host) = world.member("Anna").await;
    let mut friends = Vec::new();
    for i in 0..4 {
        let (m, _) = world.member(&format!("Friend {i}")).await;
        rendezvous_testkit::connect(&anna, &m).await.unwrap();
        friends.push(m);
    }
    // Friend 3 blocks Anna: never invited.
    friends[3]
        .client
        .clone()
        .block_member(mpb::BlockMemberRequest {
            member_id: anna.id.clone(),
        })
        .await
        .unwrap();
    let e = create(
        &host,
        event(
            now0() + Duration::days(2),
            10,
            pb::EventVisibility::InviteOnly,
        ),
    )
    .await;
    let invite_all = || {
        let mut host = host.clone();
        let id = e.id.clone();
        async move {
            host.invite_members(pb::InviteMembersRequest {
                event_id: id,
                target: Some(pb::invite_members_request::Target::AllConnections(
                    pb::invite_members_request::AllConnections {
                        only_in_event_city: true,
                    },
                )),
            })
            .await
        }
    };
    let first = invite_all().await.unwrap().into_inner();
    assert_eq!(first.invited_count, 3);
    assert_eq!(first.remaining_weekly_invitations, 0);
    let blocked = world.client(&friends[3]).await;
    let hidden = blocked
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let again = invite_all().await.unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted);
    // A week later the cap has room again.
    world
        .clock
        .advance(Duration::days(7) + Duration::minutes(1));
    let host = world.client(&anna).await;
    let other = create(
        &host,
        event(
            world.clock.now() + Duration::days(2),
            10,
            pb::EventVisibility::Public,
        ),
    )
    .await;
    let later = host
        .clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: other.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: vec![friends[0].id.clone()],
                },
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(later.invited_count, 1);
    world.stop().await;
}

async fn approvals_capacity_and_attendance_summary(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (anna, host) = world.member("Anna").await;
    let (bob, bob_events) = world.member("Bob").await;
    let (carol, carol_events) = world.member("Carol").await;
    rendezvous_testkit::connect(&anna, &bob).await.unwrap();
    let mut draft = event(now0() + Duration::days(2), 2, pb::EventVisibility::Public);
    draft.approval_required = true;
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    assert_eq!(
        status(&rsvp(&bob_events, &e.id).await),
        pb::RsvpStatus::PendingApproval
    );
    assert_eq!(
        status(&rsvp(&carol_events, &e.id).await),
        pb::RsvpStatus::PendingApproval
    );
    let approved = host
        .clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: e.id.clone(),
            member_id: bob.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    assert_eq!(status(&approved), pb::RsvpStatus::Confirmed);
    let declined = host
        .clone()
        .decline_rsvp(pb::DeclineRsvpRequest {
            event_id: e.id.clone(),
            member_id: carol.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    assert_eq!(status(&declined), pb::RsvpStatus::Declined);
    // Bob may not approve.
    let denied = bob_events
        .clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: e.id.clone(),
            member_id: carol.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Capacity cannot go below the confirmed attendees.
    let current = host
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    let mut smaller = current.clone();
    smaller.capacity = 0;
    let zero = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(smaller.clone()),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    smaller.capacity = 1;
    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(smaller),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap();
    // Anna has not met Bob, who is going.
    let summary = host
        .clone()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert_eq!(summary.confirmed_count, 1);
    assert_eq!(summary.unmet_connections_going_count, 1);
    assert_eq!(summary.visible_unmet_connection_ids, vec![bob.id.clone()]);
    let anonymous = world
        .events
        .events_anonymous()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert_eq!(anonymous.unmet_connections_going_count, 0);
    // A second confirmed attendee (with a higher capacity) blocks lowering below 2.
    let mut bigger = host
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    bigger.capacity = 5;
    bigger.approval_required = false;
    let bigger = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(bigger),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned(), "approval_required".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    let (_, dave_events) = world.member("Dave").await;
    assert_eq!(
        status(&rsvp(&dave_events, &e.id).await),
        pb::RsvpStatus::Confirmed
    );
    let mut lower = bigger;
    lower.capacity = 1;
    lower.etag = String::new();
    let below = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(lower),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(below.code(), Code::FailedPrecondition);
    world.stop().await;
}

async fn a_long_series_keeps_a_rolling_window_of_occurrences(backend: Backend) {
    // The default horizon (90 days) holds about 13 of the 40 weekly occurrences.
    let world = World::start(backend, now0()).await;
    let (_host_member, host) = world.member("Host").await;
    let created = host
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(weekly_series("2027-03-07", 40)),
            request_id: "rolling".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = created.event_ids.len();
    assert!(
        (12..=14).contains(&first),
        "{first} occurrences within 90 days"
    );
    let series_id = created.series.unwrap().id;
    // Nothing new while the window is already full.
    assert_eq!(
        world
            .events
            .events
            .extend_series(world.clock.now())
            .await
            .unwrap(),
        0
    );
    // Two months later the window has moved on: the next occurrences exist, none twice, and
    // they keep 08:30 in Paris.
    world.clock.advance(Duration::days(61));
    let added = world
        .events
        .events
        .extend_series(world.clock.now())
        .await
        .unwrap();
    assert!((8..=10).contains(&added), "{added} occurrences added");
    assert_eq!(
        world
            .events
            .events
            .extend_series(world.clock.now())
            .await
            .unwrap(),
        0
    );
    let anon = world.events.events_anonymous();
    let mut starts = Vec::new();
    let mut token = String::new();
    loop {
        let page = anon
            .clone()
            .list_events(pb::ListEventsRequest {
                series_id: series_id.clone(),
                start_after: Some(timestamp(now0())),
                page_size: 100,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        starts.extend(page.events.iter().map(|e| e.start_time.unwrap().seconds));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut unique = starts.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), starts.len(), "no occurrence twice");
    assert_eq!(starts.len(), first + added);
    for s in &starts {
        let local = DateTime::from_timestamp(*s, 0)
            .unwrap()
            .with_timezone(&Paris);
        assert_eq!((local.hour(), local.minute()), (8, 30));
    }
    world.stop().await;
}

backend_tests!(
    a_long_series_keeps_a_rolling_window_of_occurrences,
    invitations_skip_blocked_members_and_stop_at_the_weekly_cap,
    approvals_capacity_and_attendance_summary,
    story_from_chapter_to_recorded_meetings,
    invite_only_events_do_not_exist_for_others,
    a_member_cannot_manage_others_events,
    bad_inputs_name_their_fields,
    weekly_series_keeps_local_time_across_dst,
    calendars_parse_and_feeds_can_be_revoked,
    an_unclaimed_offer_expires_and_passes_on,
);
