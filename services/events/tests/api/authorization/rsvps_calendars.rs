//! The authorisation matrix of the `EventService` methods that `matrix.rs` and
//! `chapters_series.rs` leave out (issue 10, point 8): creating and listing events, removing
//! a co-host, the RSVP methods (one's own RSVP, claiming an offer, declining an applicant)
//! and the calendars, each called by anonymous, a stranger, a confirmed attendee, the
//! check-in-only co-host, the organiser, the full co-host, the host and the member a seat was
//! offered to. Before the call of the one allowed to make it, the test checks that no refused
//! call took effect.

use super::*;

use rendezvous_common::auth::ServiceName;

use crate::helpers::{create_feed, feed_path, http_get, offering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// A credential a service mints for events.
    Service(ServiceName),
    Stranger,
    CheckInOnly,
    Organiser,
    Cohost,
    Host,
    Attendee,
    Offeree,
}

/// Refusals first: the owners of what a method acts on come last.
const ROLES: [Role; 11] = [
    Role::Anonymous,
    Role::Service(ServiceName::Members),
    Role::Service(ServiceName::Events),
    Role::Service(ServiceName::Notifications),
    Role::Stranger,
    Role::CheckInOnly,
    Role::Organiser,
    Role::Cohost,
    Role::Host,
    Role::Attendee,
    Role::Offeree,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    CreateEvent,
    ListEvents,
    ListMyEvents,
    ExportMyCalendar,
    CreateCalendarFeed,
    RevokeCalendarFeed,
    Rsvp,
    GetRsvp,
    ClaimOffer,
    DeclineRsvp,
    CancelRsvp,
    RemoveCohost,
}

const METHODS: [Method; 12] = [
    Method::CreateEvent,
    Method::ListEvents,
    Method::ListMyEvents,
    Method::ExportMyCalendar,
    Method::CreateCalendarFeed,
    Method::RevokeCalendarFeed,
    Method::Rsvp,
    Method::GetRsvp,
    Method::ClaimOffer,
    Method::DeclineRsvp,
    Method::CancelRsvp,
    Method::RemoveCohost,
];

fn expected(role: Role, method: Method) -> Code {
    use Method as M;
    use Role as R;
    match (method, role) {
        // A service is no member: the public API is for people.
        (_, R::Service(_)) => Code::Unauthenticated,
        // Public events are listed to anyone.
        (M::ListEvents, _) => Code::Ok,
        (_, R::Anonymous) => Code::Unauthenticated,
        // An event in the chapter: by those who belong to it (the host and the organiser).
        (M::CreateEvent, R::Host | R::Organiser) => Code::Ok,
        (M::CreateEvent, _) => Code::PermissionDenied,
        // One's own things: every member has them.
        (M::ListMyEvents | M::ExportMyCalendar | M::CreateCalendarFeed | M::Rsvp, _) => Code::Ok,
        // After the RSVP step everyone has an RSVP of their own to read and cancel.
        (M::GetRsvp | M::CancelRsvp, _) => Code::Ok,
        // The attendee's feed: to everyone else it does not exist.
        (M::RevokeCalendarFeed, R::Attendee) => Code::Ok,
        (M::RevokeCalendarFeed, _) => Code::NotFound,
        // The seat offered to one member: no one else has an offer to claim.
        (M::ClaimOffer, R::Offeree) => Code::Ok,
        (M::ClaimOffer, _) => Code::FailedPrecondition,
        // Applicants are answered by those who manage the event.
        (M::DeclineRsvp, R::Host | R::Cohost) => Code::Ok,
        (M::DeclineRsvp, _) => Code::PermissionDenied,
        // Co-hosts are the host's to choose.
        (M::RemoveCohost, R::Host) => Code::Ok,
        (M::RemoveCohost, _) => Code::PermissionDenied,
    }
}

struct Cast {
    stranger: TestMember,
    check_in_only: TestMember,
    organiser: TestMember,
    cohost: TestMember,
    host: TestMember,
    attendee: TestMember,
    offeree: TestMember,
    /// Applicants the host and the co-host decline.
    applicants: [TestMember; 2],
    chapter_id: String,
    /// The approval event every role but the offeree has a part in.
    event_id: String,
    /// The event whose freed seat is offered to the offeree.
    offer_event_id: String,
    /// The attendee's calendar feed.
    feed: pb::CalendarFeed,
}

impl Cast {
    /// The applicant `role` declines: one for the co-host, one for the others.
    fn applicant(&self, role: Role) -> &TestMember {
        &self.applicants[usize::from(role == Role::Cohost)]
    }

    fn member(&self, role: Role) -> Option<&TestMember> {
        match role {
            Role::Anonymous | Role::Service(_) => None,
            Role::Stranger => Some(&self.stranger),
            Role::CheckInOnly => Some(&self.check_in_only),
            Role::Organiser => Some(&self.organiser),
            Role::Cohost => Some(&self.cohost),
            Role::Host => Some(&self.host),
            Role::Attendee => Some(&self.attendee),
            Role::Offeree => Some(&self.offeree),
        }
    }
}

async fn cast(world: &World) -> Cast {
    let (host, host_events) = world.member("Host").await.unwrap();
    let (organiser, chapter) = organised_chapter(world, &[&host]).await;
    let (cohost, _) = world.member("Cohost").await.unwrap();
    let (check_in_only, _) = world.member("Door").await.unwrap();
    let (attendee, attendee_events) = world.member("Attendee").await.unwrap();
    let applicants = [
        world.member("Applicant A").await.unwrap().0,
        world.member("Applicant B").await.unwrap().0,
    ];

    let mut draft = event(world.clock.now() + Duration::days(2), 50, Vis::Public);
    draft.chapter_id.clone_from(&chapter.id);
    draft.approval_required = true;
    let e = create(&host_events, draft).await;
    publish(&host_events, &e.id).await;
    add_cohost(&host_events, &e.id, &cohost, pb::CohostRole::Full).await;
    add_cohost(
        &host_events,
        &e.id,
        &check_in_only,
        pb::CohostRole::CheckInOnly,
    )
    .await;
    try_rsvp(&attendee_events, &e.id).await.unwrap();
    host_events
        .clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: e.id.clone(),
            member_id: attendee.id.clone(),
        })
        .await
        .unwrap();
    for applicant in &applicants {
        try_rsvp(&world.client(applicant).await.unwrap(), &e.id)
            .await
            .unwrap();
    }

    // One seat: the seated member leaves and the seat is offered to the one waiting.
    let offer = offering(&host_events, world.clock.now() + Duration::days(3), 1).await;
    let (_, seated_events) = world.member("Seated").await.unwrap();
    let (offeree, offeree_events) = world.member("Offeree").await.unwrap();
    try_rsvp(&seated_events, &offer.id).await.unwrap();
    try_rsvp(&offeree_events, &offer.id).await.unwrap();
    seated_events
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: offer.id.clone(),
        })
        .await
        .unwrap();

    let feed = create_feed(&attendee_events).await;
    Cast {
        stranger: world.member("Stranger").await.unwrap().0,
        check_in_only,
        organiser,
        cohost,
        host,
        attendee,
        offeree,
        applicants,
        chapter_id: chapter.id,
        event_id: e.id,
        offer_event_id: offer.id,
        feed,
    }
}

async fn call(cast: &Cast, client: &EventClient, role: Role, method: Method) -> Code {
    let mut c = client.clone();
    let event_id = cast.event_id.clone();
    let result = match method {
        Method::CreateEvent => {
            let mut draft = event(morning(2027, 6, 1), 10, Vis::Public);
            draft.chapter_id.clone_from(&cast.chapter_id);
            draft.title = format!("Created by {role:?}");
            c.create_event(pb::CreateEventRequest {
                event: Some(draft),
                request_id: uuid::Uuid::now_v7().to_string(),
            })
            .await
            .map(drop)
        }
        Method::ListEvents => c
            .list_events(pb::ListEventsRequest::default())
            .await
            .map(drop),
        Method::ListMyEvents => c
            .list_my_events(pb::ListMyEventsRequest::default())
            .await
            .map(drop),
        Method::ExportMyCalendar => c
            .export_my_calendar(pb::ExportMyCalendarRequest {})
            .await
            .map(drop),
        Method::CreateCalendarFeed => c
            .create_calendar_feed(pb::CreateCalendarFeedRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
            })
            .await
            .map(drop),
        Method::RevokeCalendarFeed => c
            .revoke_calendar_feed(pb::RevokeCalendarFeedRequest {
                feed_id: cast.feed.id.clone(),
            })
            .await
            .map(drop),
        Method::Rsvp => try_rsvp(&c, &event_id).await.map(drop),
        Method::GetRsvp => c
            .get_rsvp(pb::GetRsvpRequest {
                event_id,
                member_id: cast.member(role).map(|m| m.id.clone()).unwrap_or_default(),
            })
            .await
            .map(drop),
        Method::ClaimOffer => c
            .claim_offer(pb::ClaimOfferRequest {
                event_id: cast.offer_event_id.clone(),
            })
            .await
            .map(drop),
        Method::DeclineRsvp => c
            .decline_rsvp(pb::DeclineRsvpRequest {
                event_id,
                member_id: cast.applicant(role).id.clone(),
                reason: format!("Declined by {role:?}"),
            })
            .await
            .map(drop),
        Method::CancelRsvp => c
            .cancel_rsvp(pb::CancelRsvpRequest { event_id })
            .await
            .map(drop),
        Method::RemoveCohost => c
            .remove_cohost(pb::RemoveCohostRequest {
                event_id,
                member_id: cast.check_in_only.id.clone(),
            })
            .await
            .map(drop),
    };
    rendezvous_testkit::code(result)
}

/// The status of `member`'s RSVP to `event_id`, as the host reads it.
async fn status_of(world: &World, cast: &Cast, event_id: &str, member: &TestMember) -> i32 {
    let host = world.client(&cast.host).await.unwrap();
    host.clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: event_id.to_owned(),
            member_id: member.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
        .status
}

/// Before the call of `role`, the one allowed to make it: nothing refused took effect.
async fn assert_untouched(world: &World, cast: &Cast, role: Role, method: Method) {
    match method {
        Method::RevokeCalendarFeed => {
            let (status, _) = http_get(world.events.feed_addr, &feed_path(&cast.feed)).await;
            assert_eq!(status, 200, "the feed was revoked before {role:?}");
        }
        Method::ClaimOffer => {
            let offered = status_of(world, cast, &cast.offer_event_id, &cast.offeree).await;
            assert_eq!(offered, i32::from(pb::RsvpStatus::Offered));
        }
        Method::DeclineRsvp => {
            let pending = status_of(world, cast, &cast.event_id, cast.applicant(role)).await;
            assert_eq!(pending, i32::from(pb::RsvpStatus::PendingApproval));
        }
        Method::RemoveCohost => {
            let e = get_event(&world.client(&cast.host).await.unwrap(), &cast.event_id).await;
            assert!(
                e.cohosts
                    .iter()
                    .any(|c| c.member_id == cast.check_in_only.id),
                "the check-in-only co-host was removed before {role:?}"
            );
        }
        _ => {}
    }
}

async fn rsvp_and_calendar_matrix(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let cast = cast(&world).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for method in METHODS {
        for role in ROLES {
            let want = expected(role, method);
            if want == Code::Ok {
                assert_untouched(&world, &cast, role, method).await;
            }
            let client = match (role, cast.member(role)) {
                (Role::Service(issuer), _) => as_service(&world, issuer).1,
                (_, None) => world.events.events_anonymous(),
                (_, Some(member)) => world.client(member).await.unwrap(),
            };
            let got = call(&cast, &client, role, method).await;
            checked += 1;
            if got != want {
                failures.push(format!("{role:?} {method:?}: want {want:?}, got {got:?}"));
            }
        }
    }
    assert_eq!(checked, METHODS.len() * ROLES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The successful calls did what they said.
    let (status, _) = http_get(world.events.feed_addr, &feed_path(&cast.feed)).await;
    assert_eq!(status, 404, "the revoked feed is still served");
    let claimed = status_of(&world, &cast, &cast.offer_event_id, &cast.offeree).await;
    assert_eq!(claimed, i32::from(pb::RsvpStatus::Confirmed));
    for applicant in &cast.applicants {
        let declined = status_of(&world, &cast, &cast.event_id, applicant).await;
        assert_eq!(declined, i32::from(pb::RsvpStatus::Declined));
    }
    let e = get_event(&world.client(&cast.host).await.unwrap(), &cast.event_id).await;
    assert!(
        e.cohosts
            .iter()
            .all(|c| c.member_id != cast.check_in_only.id)
    );
    world.stop().await.unwrap();
}

backend_tests!(rsvp_and_calendar_matrix,);
