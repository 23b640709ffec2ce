//! Who may call what on `EventService`, over real gRPC on both backends: a table of roles ×
//! methods for public, chapter and invite-only events, then the paths around co-hosts,
//! announcements, check-in codes, discovery and concurrent RSVPs.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_testkit::{Backend, EventClient, TestMember, backend_tests};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, cancel, check_in_code, check_in_member, create, event, get_event, invite,
    morning, outbox_count, paris_chapter, publish, published, retitle, try_rsvp,
};

// ---------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    Service,
    Member,
    Invitee,
    Attendee,
    Host,
    Cohost,
    CheckInOnly,
    Organiser,
}

const ROLES: [Role; 9] = [
    Role::Anonymous,
    Role::Service,
    Role::Member,
    Role::Invitee,
    Role::Attendee,
    Role::Host,
    Role::Cohost,
    Role::CheckInOnly,
    Role::Organiser,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    GetEvent,
    UpdateEvent,
    PublishEvent,
    CancelEvent,
    AddCohost,
    InviteMembers,
    ListAttendees,
    GetAttendanceSummary,
    GetCheckInCode,
    RotateCheckInCode,
    CheckIn,
    CompleteEvent,
    ApproveRsvp,
    AnnounceToAttendees,
    ExportEventCalendar,
}

/// Every method but CancelEvent and CompleteEvent, which end the event and get fresh ones.
const METHODS: [Method; 13] = [
    Method::GetEvent,
    Method::UpdateEvent,
    Method::PublishEvent,
    Method::AddCohost,
    Method::InviteMembers,
    Method::ListAttendees,
    Method::GetAttendanceSummary,
    Method::GetCheckInCode,
    Method::RotateCheckInCode,
    Method::CheckIn,
    Method::ApproveRsvp,
    Method::AnnounceToAttendees,
    Method::ExportEventCalendar,
];

/// What `role` gets from `method` on an event of `visibility` (every event lives in the
/// chapter the organiser runs), from API.md and the issue.
fn expected(role: Role, method: Method, visibility: pb::EventVisibility) -> Code {
    use Method as M;
    let open_to_anyone = matches!(
        method,
        M::GetEvent | M::GetAttendanceSummary | M::ExportEventCalendar
    );
    match role {
        // A service credential is not a member.
        Role::Service => return Code::Unauthenticated,
        Role::Anonymous if !open_to_anyone => return Code::Unauthenticated,
        _ => {}
    }
    let sees = match visibility {
        pb::EventVisibility::Public => true,
        pb::EventVisibility::Chapter => !matches!(role, Role::Anonymous | Role::Member),
        _ => !matches!(role, Role::Anonymous | Role::Member | Role::Organiser),
    };
    if !sees {
        return Code::NotFound;
    }
    let allowed = match method {
        M::GetEvent | M::GetAttendanceSummary | M::ExportEventCalendar => true,
        M::AddCohost => role == Role::Host,
        M::GetCheckInCode | M::CheckIn => {
            matches!(role, Role::Host | Role::Cohost | Role::CheckInOnly)
        }
        M::ListAttendees => matches!(role, Role::Host | Role::Cohost | Role::Attendee),
        M::UpdateEvent
        | M::PublishEvent
        | M::CancelEvent
        | M::InviteMembers
        | M::RotateCheckInCode
        | M::CompleteEvent
        | M::ApproveRsvp
        | M::AnnounceToAttendees => matches!(role, Role::Host | Role::Cohost),
    };
    if allowed {
        Code::Ok
    } else {
        Code::PermissionDenied
    }
}

/// The cast of the matrix: the same members play the same parts in every event.
struct Cast {
    host: TestMember,
    cohost: TestMember,
    check_in_only: TestMember,
    invitee: TestMember,
    attendee: TestMember,
    member: TestMember,
    organiser: TestMember,
    /// Pending approval, for the host's and the co-host's ApproveRsvp.
    applicants: [TestMember; 2],
    /// Added as a co-host and invited by the successful calls.
    spare: TestMember,
    chapter_id: String,
}

struct Clients {
    by_role: Vec<(Role, EventClient)>,
}

impl Clients {
    async fn new(world: &World, cast: &Cast) -> Self {
        let mut by_role = Vec::new();
        for role in ROLES {
            let client = match role {
                Role::Anonymous => world.events.events_anonymous(),
                Role::Service => world.service(),
                Role::Member => world.client(&cast.member).await,
                Role::Invitee => world.client(&cast.invitee).await,
                Role::Attendee => world.client(&cast.attendee).await,
                Role::Host => world.client(&cast.host).await,
                Role::Cohost => world.client(&cast.cohost).await,
                Role::CheckInOnly => world.client(&cast.check_in_only).await,
                Role::Organiser => world.client(&cast.organiser).await,
            };
            by_role.push((role, client));
        }
        Self { by_role }
    }

    fn of(&self, role: Role) -> &EventClient {
        &self.by_role.iter().find(|(r, _)| *r == role).unwrap().1
    }
}

async fn cast(world: &World) -> Cast {
    let (organiser, _) = world.member("Organiser").await;
    let chapters = world.events.client_with_token(&organiser.access_token);
    let chapter = paris_chapter(&chapters).await;
    let (host, _) = world.member("Host").await;
    world
        .events
        .client_with_token(&host.access_token)
        .join_chapter(pb::JoinChapterRequest {
            chapter_id: chapter.id.clone(),
        })
        .await
        .unwrap();
    Cast {
        host,
        cohost: world.member("Cohost").await.0,
        check_in_only: world.member("Door").await.0,
        invitee: world.member("Invitee").await.0,
        attendee: world.member("Attendee").await.0,
        member: world.member("Stranger").await.0,
        organiser,
        applicants: [
            world.member("Applicant A").await.0,
            world.member("Applicant B").await.0,
        ],
        spare: world.member("Spare").await.0,
        chapter_id: chapter.id,
    }
}

/// A published approval event of `visibility` in the cast's chapter, starting 30 minutes from
/// now (so check-in is open), with every part played.
async fn fixture(world: &World, cast: &Cast, visibility: pb::EventVisibility) -> String {
    let host = world.client(&cast.host).await;
    let mut draft = event(world.clock.now() + Duration::minutes(30), 50, visibility);
    draft.chapter_id.clone_from(&cast.chapter_id);
    draft.approval_required = true;
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    add_cohost(&host, &e.id, &cast.cohost, pb::CohostRole::Full).await;
    add_cohost(
        &host,
        &e.id,
        &cast.check_in_only,
        pb::CohostRole::CheckInOnly,
    )
    .await;
    invite(
        &host,
        &e.id,
        &[
            &cast.invitee,
            &cast.attendee,
            &cast.applicants[0],
            &cast.applicants[1],
        ],
    )
    .await;
    let attendee = world.client(&cast.attendee).await;
    let pending = try_rsvp(&attendee, &e.id).await.unwrap();
    assert_eq!(pending.status, i32::from(pb::RsvpStatus::PendingApproval));
    let approved = host
        .clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: e.id.clone(),
            member_id: cast.attendee.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    assert_eq!(approved.status, i32::from(pb::RsvpStatus::Confirmed));
    for applicant in &cast.applicants {
        let client = world.client(applicant).await;
        try_rsvp(&client, &e.id).await.unwrap();
    }
    e.id
}

/// Calls `method` on event `id` as `role`; returns the status code.
async fn call(cast: &Cast, client: &EventClient, role: Role, method: Method, id: &str) -> Code {
    let mut c = client.clone();
    let event_id = id.to_owned();
    let code = |r: Result<(), tonic::Status>| r.err().map_or(Code::Ok, |s| s.code());
    let result = match method {
        Method::GetEvent => c
            .get_event(pb::GetEventRequest { event_id })
            .await
            .map(drop),
        Method::UpdateEvent => retitle(&c, id, &format!("Edited by {role:?}"))
            .await
            .map(drop),
        Method::PublishEvent => c
            .publish_event(pb::PublishEventRequest {
                event_id,
                etag: String::new(),
            })
            .await
            .map(drop),
        Method::CancelEvent => cancel(&c, id).await.map(drop),
        Method::AddCohost => c
            .add_cohost(pb::AddCohostRequest {
                event_id,
                member_id: cast.spare.id.clone(),
                role: pb::CohostRole::CheckInOnly.into(),
            })
            .await
            .map(drop),
        Method::InviteMembers => c
            .invite_members(pb::InviteMembersRequest {
                event_id,
                target: Some(pb::invite_members_request::Target::Members(
                    pb::invite_members_request::MemberIds {
                        member_ids: vec![cast.spare.id.clone()],
                    },
                )),
            })
            .await
            .map(drop),
        Method::ListAttendees => c
            .list_attendees(pb::ListAttendeesRequest {
                event_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Method::GetAttendanceSummary => c
            .get_attendance_summary(pb::GetAttendanceSummaryRequest { event_id })
            .await
            .map(drop),
        Method::GetCheckInCode => c
            .get_check_in_code(pb::GetCheckInCodeRequest { event_id })
            .await
            .map(drop),
        Method::RotateCheckInCode => c
            .rotate_check_in_code(pb::RotateCheckInCodeRequest { event_id })
            .await
            .map(drop),
        Method::CheckIn => check_in_member(&c, id, &cast.attendee.id).await.map(drop),
        Method::CompleteEvent => c
            .complete_event(pb::CompleteEventRequest { event_id })
            .await
            .map(drop),
        Method::ApproveRsvp => {
            let applicant = if role == Role::Cohost {
                &cast.applicants[1]
            } else {
                &cast.applicants[0]
            };
            c.approve_rsvp(pb::ApproveRsvpRequest {
                event_id,
                member_id: applicant.id.clone(),
            })
            .await
            .map(drop)
        }
        Method::AnnounceToAttendees => c
            .announce_to_attendees(pb::AnnounceToAttendeesRequest {
                event_id,
                message: "Bring a badge".to_owned(),
                include_waitlisted: false,
                request_id: format!("{role:?}"),
            })
            .await
            .map(drop),
        Method::ExportEventCalendar => c
            .export_event_calendar(pb::ExportEventCalendarRequest { event_id })
            .await
            .map(drop),
    };
    code(result)
}

async fn authorisation_matrix(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let cast = cast(&world).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for visibility in [
        pb::EventVisibility::Public,
        pb::EventVisibility::Chapter,
        pb::EventVisibility::InviteOnly,
    ] {
        let id = fixture(&world, &cast, visibility).await;
        // Fresh events for the calls that end one: cancel, and complete after the start.
        let mut ending = Vec::new();
        for role in [Role::Host, Role::Cohost] {
            ending.push((
                role,
                fixture(&world, &cast, visibility).await,
                fixture(&world, &cast, visibility).await,
            ));
        }
        let clients = Clients::new(&world, &cast).await;
        // The refusals first, so the successful calls cannot hide them.
        let mut order: Vec<Role> = ROLES.to_vec();
        order.sort_by_key(|r| matches!(r, Role::Host | Role::Cohost));
        for method in METHODS {
            for &role in &order {
                let want = expected(role, method, visibility);
                let got = call(&cast, clients.of(role), role, method, &id).await;
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{visibility:?} {role:?} {method:?}: want {want:?}, got {got:?}"
                    ));
                }
            }
        }
        for &role in &order {
            let want = expected(role, Method::CancelEvent, visibility);
            let target = ending
                .iter()
                .find(|(r, _, _)| *r == role)
                .map_or(id.as_str(), |(_, cancel, _)| cancel.as_str());
            let got = call(&cast, clients.of(role), role, Method::CancelEvent, target).await;
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{visibility:?} {role:?} CancelEvent: want {want:?}, got {got:?}"
                ));
            }
        }
        // CompleteEvent needs the event to have started.
        world.clock.advance(Duration::minutes(31));
        let clients = Clients::new(&world, &cast).await;
        for &role in &order {
            let want = expected(role, Method::CompleteEvent, visibility);
            let target = ending
                .iter()
                .find(|(r, _, _)| *r == role)
                .map_or(id.as_str(), |(_, _, complete)| complete.as_str());
            let got = call(&cast, clients.of(role), role, Method::CompleteEvent, target).await;
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{visibility:?} {role:?} CompleteEvent: want {want:?}, got {got:?}"
                ));
            }
        }
        // The successful calls did what they said.
        let host = clients.of(Role::Host);
        let e = get_event(host, &id).await;
        assert!(e.title.starts_with("Edited by "), "{}", e.title);
        assert!(
            e.cohosts.iter().any(|c| c.member_id == cast.spare.id),
            "AddCohost by the host"
        );
        let after_cancel = get_event(host, &ending[0].1).await;
        assert_eq!(after_cancel.state, i32::from(pb::EventState::Cancelled));
        let after_complete = get_event(host, &ending[1].2).await;
        assert_eq!(after_complete.state, i32::from(pb::EventState::Completed));
        // The shared event was neither cancelled nor completed by anyone refused.
        assert_eq!(e.state, i32::from(pb::EventState::Published));
    }
    assert_eq!(checked, 3 * 9 * 15);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    world.stop().await;
}

// ---------------------------------------------------------------------------
// Co-hosts
// ---------------------------------------------------------------------------

async fn check_in_only_cohost_checks_in_but_cannot_edit_or_cancel(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (door_member, door) = world.member("Door").await;
    let (guest, guest_client) = world.member("Guest").await;
    let (late, late_client) = world.member("Late").await;
    let e = published(
        &host,
        now0() + Duration::minutes(30),
        1,
        pb::EventVisibility::Public,
    )
    .await;
    add_cohost(&host, &e.id, &door_member, pb::CohostRole::CheckInOnly).await;
    let listed = get_event(&host, &e.id).await.cohosts;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].role, i32::from(pb::CohostRole::CheckInOnly));
    assert_eq!(
        try_rsvp(&guest_client, &e.id).await.unwrap().status,
        i32::from(pb::RsvpStatus::Confirmed)
    );
    assert_eq!(
        try_rsvp(&late_client, &e.id).await.unwrap().status,
        i32::from(pb::RsvpStatus::Waitlisted)
    );
    let checked = check_in_member(&door, &e.id, &guest.id).await.unwrap();
    assert!(checked.checked_in);
    // Only confirmed members can be checked in.
    let waitlisted = check_in_member(&door, &e.id, &late.id).await.unwrap_err();
    assert_eq!(waitlisted.code(), Code::FailedPrecondition);
    // The door may read the code, but neither rotate it nor run the event.
    door.clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap();
    let rotate = door
        .clone()
        .rotate_check_in_code(pb::RotateCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(rotate.code(), Code::PermissionDenied);
    let update = retitle(&door, &e.id, "Mine").await.unwrap_err();
    assert_eq!(update.code(), Code::PermissionDenied);
    let cancelled = cancel(&door, &e.id).await.unwrap_err();
    assert_eq!(cancelled.code(), Code::PermissionDenied);
    let after = get_event(&host, &e.id).await;
    assert_eq!(after.state, i32::from(pb::EventState::Published));
    assert_eq!(after.title, e.title);
    world.stop().await;
}

async fn remove_cohost_takes_the_role_away(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (co_member, co) = world.member("Co").await;
    let (door_member, door) = world.member("Door").await;
    let e = published(
        &host,
        now0() + Duration::days(1),
        10,
        pb::EventVisibility::InviteOnly,
    )
    .await;
    add_cohost(&host, &e.id, &co_member, pb::CohostRole::Full).await;
    add_cohost(&host, &e.id, &door_member, pb::CohostRole::CheckInOnly).await;
    retitle(&co, &e.id, "Co-hosted").await.unwrap();
    // Only the host adds or removes co-hosts; a full co-host may not.
    let by_cohost = co
        .clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: door_member.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(by_cohost.code(), Code::PermissionDenied);
    let anonymous = world
        .events
        .events_anonymous()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: co_member.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let removed = host
        .clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: co_member.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(removed.cohosts.len(), 1);
    assert_eq!(removed.cohosts[0].member_id, door_member.id);
    // The invite-only event no longer exists for the former co-host.
    let gone = retitle(&co, &e.id, "Still mine?").await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let hidden = co
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    // Removing the check-in role too.
    host.clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: door_member.id.clone(),
        })
        .await
        .unwrap();
    let code = door
        .clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(code.code(), Code::NotFound);
    assert!(get_event(&host, &e.id).await.cohosts.is_empty());
    world.stop().await;
}

// ---------------------------------------------------------------------------
// Announcements and check-in codes
// ---------------------------------------------------------------------------

async fn announcements_reach_attendees_once(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let e = published(
        &host,
        now0() + Duration::days(1),
        3,
        pb::EventVisibility::Public,
    )
    .await;
    for i in 0..5 {
        let (_, client) = world.member(&format!("Guest {i}")).await;
        try_rsvp(&client, &e.id).await.unwrap();
    }
    let announce = |request_id: &str, include_waitlisted: bool| {
        let mut host = host.clone();
        let request = pb::AnnounceToAttendeesRequest {
            event_id: e.id.clone(),
            message: "We moved to the back room".to_owned(),
            include_waitlisted,
            request_id: request_id.to_owned(),
        };
        async move {
            host.announce_to_attendees(request)
                .await
                .unwrap()
                .into_inner()
                .recipient_count
        }
    };
    let db = &world.events.db;
    let prefix = |request_id: &str| format!("announcement:{}:{request_id}:", e.id);
    assert_eq!(announce("first", false).await, 3);
    assert_eq!(
        outbox_count(db, &prefix("first"), "EVENT_ANNOUNCEMENT").await,
        3
    );
    // A retry sends nothing new.
    assert_eq!(announce("first", false).await, 3);
    assert_eq!(
        outbox_count(db, &prefix("first"), "EVENT_ANNOUNCEMENT").await,
        3
    );
    // Including the wait-list reaches the two wait-listed members too, once.
    assert_eq!(announce("second", true).await, 5);
    assert_eq!(announce("second", true).await, 5);
    assert_eq!(
        outbox_count(db, &prefix("second"), "EVENT_ANNOUNCEMENT").await,
        5
    );
    assert_eq!(
        outbox_count(db, &format!("announcement:{}:", e.id), "EVENT_ANNOUNCEMENT").await,
        8
    );
    world.stop().await;
}

async fn rotating_the_check_in_code_retires_the_old_one(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (_, a) = world.member("A").await;
    let (_, b) = world.member("B").await;
    let e = published(
        &host,
        now0() + Duration::minutes(30),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    try_rsvp(&a, &e.id).await.unwrap();
    try_rsvp(&b, &e.id).await.unwrap();
    let old = host
        .clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    assert!(check_in_code(&a, &e.id, &old).await.unwrap().checked_in);
    let new = host
        .clone()
        .rotate_check_in_code(pb::RotateCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    assert_ne!(new, old);
    assert!(new.len() >= 8);
    let current = host
        .clone()
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    assert_eq!(current, new);
    let stale = check_in_code(&b, &e.id, &old).await.unwrap_err();
    assert_eq!(stale.code(), Code::PermissionDenied);
    assert!(check_in_code(&b, &e.id, &new).await.unwrap().checked_in);
    // Lower case is accepted too.
    assert!(
        check_in_code(&b, &e.id, &new.to_lowercase())
            .await
            .unwrap()
            .checked_in
    );
    world.stop().await;
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

async fn list_my_events_lists_hosted_and_rsvpd(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, me) = world.member("Me").await;
    let (_, other) = world.member("Other").await;
    let mine = published(
        &me,
        now0() + Duration::days(3),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    let going = published(
        &other,
        now0() + Duration::days(1),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    let not_going = published(
        &other,
        now0() + Duration::days(2),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    try_rsvp(&me, &going.id).await.unwrap();
    let listed: Vec<String> = me
        .clone()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, vec![going.id.clone(), mine.id.clone()]);
    let others: Vec<String> = other
        .clone()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(others, vec![going.id.clone(), not_going.id.clone()]);
    let anonymous = world
        .events
        .events_anonymous()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    world.stop().await;
}

async fn list_events_near_text_and_pages(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (_, viewer) = world.member("Viewer").await;
    // Hôtel de Ville, Paris; one degree of longitude there is about 73.2 km.
    let (lat, lon): (f64, f64) = (48.8566, 2.3522);
    let km_per_degree = 111.32 * lat.to_radians().cos();
    let mut near = event(now0() + Duration::days(1), 5, pb::EventVisibility::Public);
    near.title = "Breakfast by the river".to_owned();
    near.venue.as_mut().unwrap().longitude = lon + 2.0 / km_per_degree;
    let near = create(&host, near).await;
    publish(&host, &near.id).await;
    let mut far = event(now0() + Duration::days(2), 5, pb::EventVisibility::Public);
    far.title = "Lunch in the countryside".to_owned();
    far.venue.as_mut().unwrap().longitude = lon + 50.0 / km_per_degree;
    let far = create(&host, far).await;
    publish(&host, &far.id).await;
    let list = |request: pb::ListEventsRequest| {
        let mut viewer = viewer.clone();
        async move { viewer.list_events(request).await.unwrap().into_inner() }
    };
    let ids = |r: pb::ListEventsResponse| r.events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let within = |radius_km: f64| pb::ListEventsRequest {
        near: Some(pb::GeoFilter {
            latitude: lat,
            longitude: lon,
            radius_km,
        }),
        ..Default::default()
    };
    assert_eq!(ids(list(within(10.0)).await), vec![near.id.clone()]);
    assert_eq!(
        ids(list(within(60.0)).await),
        vec![near.id.clone(), far.id.clone()]
    );
    assert!(ids(list(within(1.0)).await).is_empty());
    let text = |query: &str| pb::ListEventsRequest {
        query: query.to_owned(),
        ..Default::default()
    };
    assert_eq!(ids(list(text("countryside")).await), vec![far.id.clone()]);
    assert_eq!(ids(list(text("RIVER")).await), vec![near.id.clone()]);
    assert!(ids(list(text("karaoke")).await).is_empty());

    // Seven more, two at the same start: pages of three return each event once, in order.
    let mut all = vec![near.id.clone(), far.id.clone()];
    for i in 0..7_i64 {
        let start = now0() + Duration::days(3) + Duration::hours(i.min(5));
        let e = published(&host, start, 5, pb::EventVisibility::Public).await;
        all.push(e.id);
    }
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = list(pb::ListEventsRequest {
            page_size: 3,
            page_token: page_token.clone(),
            ..Default::default()
        })
        .await;
        pages += 1;
        assert!(page.events.len() <= 3);
        for e in &page.events {
            seen.push(e.id.clone());
            let t = e.start_time.as_ref().unwrap();
            starts.push((t.seconds, e.id.clone()));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen.len(), all.len(), "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "an event came twice");
    let mut expected_all = all.clone();
    expected_all.sort();
    assert_eq!(unique, expected_all);
    assert!(
        starts.windows(2).all(|w| w[0].0 <= w[1].0),
        "ordered by start"
    );
    world.stop().await;
}

// ---------------------------------------------------------------------------
// Concurrent RSVPs through gRPC
// ---------------------------------------------------------------------------

async fn one_member_rsvping_twenty_times_at_once_gets_one_rsvp(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let (me_member, me) = world.member("Eager").await;
    let e = published(
        &host,
        now0() + Duration::days(1),
        5,
        pb::EventVisibility::Public,
    )
    .await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let me = me.clone();
            let id = e.id.clone();
            tokio::spawn(async move { try_rsvp(&me, &id).await })
        })
        .collect();
    for task in futures::future::join_all(tasks).await {
        let r = task.unwrap().unwrap();
        assert_eq!(r.status, i32::from(pb::RsvpStatus::Confirmed));
        assert_eq!(r.member_id, me_member.id);
    }
    let attendees = host
        .clone()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: e.id.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .attendees;
    assert_eq!(attendees.len(), 1);
    let current = get_event(&host, &e.id).await;
    assert_eq!((current.confirmed_count, current.waitlisted_count), (1, 0));
    world.stop().await;
}

async fn sixty_members_rush_twenty_seats(backend: Backend) {
    let world = World::start(backend, now0()).await;
    let (_, host) = world.member("Host").await;
    let e = published(
        &host,
        now0() + Duration::days(1),
        20,
        pb::EventVisibility::Public,
    )
    .await;
    let guests = futures::future::join_all((0..60).map(|i| world.member_named(i))).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(guests.len()));
    let tasks: Vec<_> = guests
        .iter()
        .map(|(_, client)| {
            let client = client.clone();
            let id = e.id.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                try_rsvp(&client, &id).await
            })
        })
        .collect();
    let mut confirmed = 0;
    let mut positions = Vec::new();
    for task in futures::future::join_all(tasks).await {
        let r = task.unwrap().unwrap();
        match pb::RsvpStatus::try_from(r.status).unwrap() {
            pb::RsvpStatus::Confirmed => confirmed += 1,
            pb::RsvpStatus::Waitlisted => positions.push(r.waitlist_position),
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(confirmed, 20);
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<i32>>());
    // What the database holds agrees with the answers.
    let current = get_event(&host, &e.id).await;
    assert_eq!(
        (current.confirmed_count, current.waitlisted_count),
        (20, 40)
    );
    let attendees = host
        .clone()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: e.id.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .attendees;
    assert_eq!(attendees.len(), 60);
    let mut stored: Vec<i32> = attendees
        .iter()
        .filter(|a| a.status == i32::from(pb::RsvpStatus::Waitlisted))
        .map(|a| a.waitlist_position)
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, (1..=40).collect::<Vec<i32>>());
    world.stop().await;
}

fn now0() -> DateTime<Utc> {
    morning(2027, 5, 3)
}

impl World {
    async fn member_named(&self, i: usize) -> (TestMember, EventClient) {
        self.member(&format!("Rusher {i}")).await
    }
}

backend_tests!(
    authorisation_matrix,
    check_in_only_cohost_checks_in_but_cannot_edit_or_cancel,
    remove_cohost_takes_the_role_away,
    announcements_reach_attendees_once,
    rotating_the_check_in_code_retires_the_old_one,
    list_my_events_lists_hosted_and_rsvpd,
    list_events_near_text_and_pages,
    one_member_rsvping_twenty_times_at_once_gets_one_rsvp,
    sixty_members_rush_twenty_seats,
);
