//! An event's life: the story of PRODUCT.md from chapter to recorded meetings, who may manage
//! an event, and bad input naming its field.

use super::*;

async fn story_from_chapter_to_recorded_meetings(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (anna, anna_events) = world.member("Anna").await.unwrap();
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
        guests.push(world.member(&format!("Guest {i}")).await.unwrap());
    }
    // A chapter event is invisible to non-members until they are invited.
    let outsider = &guests[0].1;
    let hidden = try_get_event(outsider, &created.id).await.unwrap_err();
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
    let current = get_event(&anna_events, &created.id).await;
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
    let anna_events = world.client(&anna).await.unwrap();
    for guest in &mut guests {
        guest.1 = world.client(&guest.0).await.unwrap();
    }
    let code = check_in_code_of(&anna_events, &created.id).await.unwrap();
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
        if get_rsvp(client, &created.id).await.status == i32::from(pb::RsvpStatus::Cancelled) {
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
    let anna_events = world.client(&anna).await.unwrap();
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
        .client_with_token(&world.token(&guests[0].0).await.unwrap())
        .list_meetings(mpb::ListMeetingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .meetings;
    assert_eq!(meetings.len(), 1, "members recorded the meeting");
    world.stop().await.unwrap();
}

async fn a_member_cannot_manage_others_events(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Host").await.unwrap();
    let (attendee, attendee_client) = world.member("Attendee").await.unwrap();
    let (other_member, other) = world.member("Other").await.unwrap();
    let e = published(&host, now0() + Duration::hours(3), 5, Vis::Public).await;
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
    let other = world.client(&other_member).await.unwrap();
    let attendee_client = world.client(&attendee).await.unwrap();
    let _ = world.client(&host_member).await.unwrap();
    let refused = [
        (
            "check in",
            call!(
                other,
                check_in,
                pb::CheckInRequest {
                    event_id: e.id.clone(),
                    target: Some(pb::check_in_request::Target::MemberId(attendee.id.clone())),
                }
            ),
        ),
        (
            "list attendees",
            call!(
                other,
                list_attendees,
                pb::ListAttendeesRequest {
                    event_id: e.id.clone(),
                    ..Default::default()
                }
            ),
        ),
        (
            "get the check-in code",
            call!(
                other,
                get_check_in_code,
                pb::GetCheckInCodeRequest {
                    event_id: e.id.clone(),
                }
            ),
        ),
        (
            "complete",
            call!(
                other,
                complete_event,
                pb::CompleteEventRequest {
                    event_id: e.id.clone(),
                }
            ),
        ),
    ];
    for (what, refused) in refused {
        assert_eq!(code(refused.await), Code::PermissionDenied, "{what}");
    }
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
    world.stop().await.unwrap();
}

async fn bad_inputs_name_their_fields(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let start = now0() + Duration::days(1);
    let good = || event(start, 10, pb::EventVisibility::Public);
    fn venue(e: &mut pb::Event) -> &mut pb::Venue {
        e.venue.as_mut().unwrap()
    }
    fn at(hours: i64) -> Option<rendezvous_proto::prost_types::Timestamp> {
        Some(timestamp(now0() + Duration::hours(hours)))
    }
    fn offer(e: &mut pb::Event, window: Option<PbDuration>) {
        e.waitlist_mode = pb::WaitlistMode::Offer.into();
        e.offer_window = window;
    }
    // One row per case: what is wrong with the request, how it is made so, the field named.
    type Edit = fn(&mut pb::Event);
    #[rustfmt::skip]
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("empty title",             |e| e.title = String::new(),                "event.title"),
        ("blank title",             |e| e.title = "   ".to_owned(),             "event.title"),
        ("long title",              |e| e.title = "x".repeat(201),              "event.title"),
        ("control char title",      |e| e.title = "a\u{7}b".to_owned(),         "event.title"),
        ("1 MB description",        |e| e.description = "x".repeat(1_000_000),  "event.description"),
        ("10001 char description",  |e| e.description = "é".repeat(10_001),     "event.description"),
        ("no kind",                 |e| e.kind = 0,                             "event.kind"),
        ("unknown kind",            |e| e.kind = 99,                            "event.kind"),
        ("latitude 91",             |e| venue(e).latitude = 91.0,               "event.venue.latitude"),
        ("latitude -91",            |e| venue(e).latitude = -91.0,              "event.venue.latitude"),
        ("latitude NaN",            |e| venue(e).latitude = f64::NAN,           "event.venue.latitude"),
        ("longitude 181",           |e| venue(e).longitude = 181.0,             "event.venue.longitude"),
        ("longitude -180.5",        |e| venue(e).longitude = -180.5,            "event.venue.longitude"),
        ("long venue name",         |e| venue(e).name = "v".repeat(201),        "event.venue.name"),
        ("no start",                |e| e.start_time = None,                    "event.start_time"),
        ("no end",                  |e| e.end_time = None,                      "event.end_time"),
        ("start in the past",       |e| e.start_time = at(-1),                  "event.start_time"),
        ("end before start",        |e| e.end_time = at(1),                     "event.end_time"),
        ("end equals start",        |e| e.end_time = e.start_time,              "event.end_time"),
        ("bad nanos",               |e| e.start_time.as_mut().unwrap().nanos = -1, "event.start_time"),
        ("unknown time zone",       |e| e.time_zone = "Mars/Olympus".to_owned(), "event.time_zone"),
        ("empty time zone",         |e| e.time_zone = String::new(),            "event.time_zone"),
        ("capacity 0",              |e| e.capacity = 0,                         "event.capacity"),
        ("capacity negative",       |e| e.capacity = -5,                        "event.capacity"),
        ("capacity absurd",         |e| e.capacity = 1_000_000,                 "event.capacity"),
        ("deadline after start",    |e| e.rsvp_deadline = at(48),               "event.rsvp_deadline"),
        ("no visibility",           |e| e.visibility = 0,                       "event.visibility"),
        ("unknown visibility",      |e| e.visibility = 42,                      "event.visibility"),
        ("chapter visibility without chapter", |e| e.visibility = Vis::Chapter.into(), "event.chapter_id"),
        ("bad chapter id",          |e| e.chapter_id = "not-a-uuid".to_owned(), "event.chapter_id"),
        ("offer without window",    |e| offer(e, None),                         "event.offer_window"),
        ("offer window negative",   |e| offer(e, Some(PbDuration { seconds: -60, nanos: 0 })), "event.offer_window"),
        ("unknown waitlist mode",   |e| e.waitlist_mode = 7,                    "event.waitlist_mode"),
        ("long city",               |e| e.city = "c".repeat(101),               "event.city"),
    ];
    assert!(cases.len() >= 30);
    let names = |name: &str, status: &Status, field: &str| {
        assert_eq!(status.code(), Code::InvalidArgument, "{name}");
        assert!(
            violated_fields(status).iter().any(|f| f == field),
            "{name}: expected {field} in {:?}",
            violated_fields(status)
        );
    };
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
        names(name, &status, field);
    }
    // Beyond CreateEvent: ListEvents filters, one row per case.
    let near = |radius_km| {
        Some(pb::GeoFilter {
            latitude: 48.0,
            longitude: 2.0,
            radius_km,
        })
    };
    #[rustfmt::skip]
    let list_cases: Vec<(&str, pb::ListEventsRequest, &str)> = vec![
        ("bad page token",     pb::ListEventsRequest { page_token: "garbage".to_owned(), ..Default::default() }, "page_token"),
        ("negative page size", pb::ListEventsRequest { page_size: -1, ..Default::default() },                    "page_size"),
        ("radius 0",           pb::ListEventsRequest { near: near(0.0), ..Default::default() },                  "near.radius_km"),
    ];
    for (name, request, field) in list_cases {
        let status = host.clone().list_events(request).await.unwrap_err();
        names(name, &status, field);
    }
    // And the other RPCs.
    let e = create(&host, good()).await;
    let checks: Vec<(&str, tonic::Status, &str)> = vec![
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
        names(name, &status, field);
    }
    // A stale etag is ABORTED, not invalid.
    let mut stale = e.clone();
    stale.etag = "999".to_owned();
    let aborted = update_title(&host, stale).await.unwrap_err();
    assert_eq!(aborted.code(), Code::Aborted);
    world.stop().await.unwrap();
}

backend_tests!(
    story_from_chapter_to_recorded_meetings,
    a_member_cannot_manage_others_events,
    bad_inputs_name_their_fields,
);
