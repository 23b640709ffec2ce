//! The authorisation matrix: every role calls every method on public, chapter and invite-only
//! events, and gets the code the access policy gives (GetRsvp of another member included).

use super::*;

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
    /// GetRsvp of the confirmed attendee (RSVP visible to all), as anyone but them.
    GetRsvpOfAttendee,
    /// GetRsvp of an applicant awaiting approval: only the managers read it.
    GetRsvpOfApplicant,
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
    /// MarkWantToMeet of the second confirmed attendee (the companion).
    MarkWantToMeet,
    UnmarkWantToMeet,
    ListWantToMeet,
}

/// Every method but CancelEvent and CompleteEvent, which end the event and get fresh ones.
const METHODS: [Method; 18] = [
    Method::GetEvent,
    Method::GetRsvpOfAttendee,
    Method::GetRsvpOfApplicant,
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
    Method::MarkWantToMeet,
    Method::UnmarkWantToMeet,
    Method::ListWantToMeet,
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
        // Only one who is going marks whom they hope to meet; anyone who sees the event
        // reads and takes back their own marks (none, for most).
        M::MarkWantToMeet => role == Role::Attendee,
        M::UnmarkWantToMeet | M::ListWantToMeet => true,
        M::AddCohost => role == Role::Host,
        M::GetCheckInCode | M::CheckIn => {
            matches!(role, Role::Host | Role::Cohost | Role::CheckInOnly)
        }
        M::ListAttendees => matches!(role, Role::Host | Role::Cohost | Role::Attendee),
        // Another's RSVP as the list shows it: the attendee reads their own, the managers
        // any; a check-in-only co-host checks people in without reading their RSVPs.
        M::GetRsvpOfAttendee => matches!(role, Role::Host | Role::Cohost | Role::Attendee),
        M::GetRsvpOfApplicant => match role {
            Role::Host | Role::Cohost => true,
            // The list shows a confirmed attendee no applicant: as if there were none.
            Role::Attendee => return Code::NotFound,
            _ => false,
        },
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
    /// A second confirmed attendee, whom the attendee hopes to meet.
    companion: TestMember,
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
                Role::Service => world.service().unwrap(),
                Role::Member => world.client(&cast.member).await.unwrap(),
                Role::Invitee => world.client(&cast.invitee).await.unwrap(),
                Role::Attendee => world.client(&cast.attendee).await.unwrap(),
                Role::Host => world.client(&cast.host).await.unwrap(),
                Role::Cohost => world.client(&cast.cohost).await.unwrap(),
                Role::CheckInOnly => world.client(&cast.check_in_only).await.unwrap(),
                Role::Organiser => world.client(&cast.organiser).await.unwrap(),
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
    let (organiser, _) = world.member("Organiser").await.unwrap();
    let chapters = world.events.client_with_token(&organiser.access_token);
    let chapter = paris_chapter(&chapters).await;
    let (host, _) = world.member("Host").await.unwrap();
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
        cohost: world.member("Cohost").await.unwrap().0,
        check_in_only: world.member("Door").await.unwrap().0,
        invitee: world.member("Invitee").await.unwrap().0,
        attendee: world.member("Attendee").await.unwrap().0,
        companion: world.member("Companion").await.unwrap().0,
        member: world.member("Stranger").await.unwrap().0,
        organiser,
        applicants: [
            world.member("Applicant A").await.unwrap().0,
            world.member("Applicant B").await.unwrap().0,
        ],
        spare: world.member("Spare").await.unwrap().0,
        chapter_id: chapter.id,
    }
}

/// A published approval event of `visibility` in the cast's chapter, starting 30 minutes from
/// now (so check-in is open), with every part played.
async fn fixture(world: &World, cast: &Cast, visibility: pb::EventVisibility) -> String {
    let host = world.client(&cast.host).await.unwrap();
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
            &cast.companion,
            &cast.applicants[0],
            &cast.applicants[1],
        ],
    )
    .await;
    let attendee = world.client(&cast.attendee).await.unwrap();
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
    let companion = world.client(&cast.companion).await.unwrap();
    try_rsvp(&companion, &e.id).await.unwrap();
    host.clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: e.id.clone(),
            member_id: cast.companion.id.clone(),
        })
        .await
        .unwrap();
    for applicant in &cast.applicants {
        let client = world.client(applicant).await.unwrap();
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
        Method::GetRsvpOfAttendee | Method::GetRsvpOfApplicant => {
            let member = if method == Method::GetRsvpOfAttendee {
                &cast.attendee
            } else {
                &cast.applicants[0]
            };
            c.get_rsvp(pb::GetRsvpRequest {
                event_id,
                member_id: member.id.clone(),
            })
            .await
            .map(drop)
        }
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
        Method::MarkWantToMeet => c
            .mark_want_to_meet(pb::MarkWantToMeetRequest {
                event_id,
                member_id: cast.companion.id.clone(),
            })
            .await
            .map(drop),
        Method::UnmarkWantToMeet => c
            .unmark_want_to_meet(pb::UnmarkWantToMeetRequest {
                event_id,
                member_id: cast.companion.id.clone(),
            })
            .await
            .map(drop),
        Method::ListWantToMeet => c
            .list_want_to_meet(pb::ListWantToMeetRequest { event_id })
            .await
            .map(drop),
    };
    code(result)
}

async fn authorisation_matrix(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
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
    assert_eq!(checked, 3 * 9 * 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    world.stop().await.unwrap();
}

backend_tests!(authorisation_matrix,);
