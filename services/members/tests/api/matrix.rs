//! The authorisation matrix of `MemberService` (issue 10, point 8): every method, called on
//! Anna's things (her profile, the request she received, the one she sent, her connection
//! with Bruno, her meeting follow-ups, her block of Dan) by each caller — anonymous, each
//! service identity, Anna herself, Bruno her connection, Chloé a stranger, Dan whom she
//! blocks — gets the code the policy gives, and no call refused or made by another changes
//! what is Anna's. The internal service's callers are checked in `authorization.rs`.

use crate::helpers::*;

use rendezvous_common::auth::ServiceName;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, Bearer, MemberClient, MembersHandle, TestMember, backend_tests, service_credentials_at,
};
use tonic::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// A credential another service (or members itself) mints for members.
    Service(ServiceName),
    Owner,
    Connection,
    Stranger,
    Blocked,
}

/// Refusals first, Anna last: a call she makes may change what the others would be refused.
const ROLES: [Role; 8] = [
    Role::Anonymous,
    Role::Service(ServiceName::Members),
    Role::Service(ServiceName::Events),
    Role::Service(ServiceName::Notifications),
    Role::Connection,
    Role::Stranger,
    Role::Blocked,
    Role::Owner,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Register,
    Login,
    RefreshSession,
    GetMember,
    UpdateMember,
    SearchMembers,
    ExportMemberData,
    RequestConnection,
    RespondToConnectionRequest,
    WithdrawConnectionRequest,
    ListConnections,
    ListConnectionRequests,
    BlockMember,
    UnblockMember,
    ListMeetings,
    ConfirmMet,
    DismissMeeting,
    GetNetworkStats,
    ImportContacts,
    GetCoffeeSettings,
    UpdateCoffeeSettings,
    ListCoffeeProposals,
    RespondToCoffeeProposal,
    ScheduleCoffee,
    GetRemeetSettings,
    UpdateRemeetSettings,
    ListRemeetNudges,
    DismissRemeetNudge,
    RemoveConnection,
    ChangePassword,
    Logout,
    DeleteMember,
}

/// Every method, in the order the matrix calls them: the ones that end something (a
/// connection, a session, the account) last.
const METHODS: [Method; 32] = [
    Method::Register,
    Method::Login,
    Method::RefreshSession,
    Method::GetMember,
    Method::UpdateMember,
    Method::SearchMembers,
    Method::ExportMemberData,
    // Before the blocks: a block between the two ends their coffee.
    Method::ListCoffeeProposals,
    Method::RespondToCoffeeProposal,
    // Once both accepted (Bruno answers before Anna): either books it, at the same time.
    Method::ScheduleCoffee,
    Method::RequestConnection,
    Method::RespondToConnectionRequest,
    Method::WithdrawConnectionRequest,
    Method::ListConnections,
    Method::ListConnectionRequests,
    Method::BlockMember,
    Method::UnblockMember,
    Method::ListMeetings,
    Method::ConfirmMet,
    Method::DismissMeeting,
    Method::GetNetworkStats,
    Method::ImportContacts,
    Method::GetCoffeeSettings,
    Method::UpdateCoffeeSettings,
    Method::GetRemeetSettings,
    Method::UpdateRemeetSettings,
    Method::ListRemeetNudges,
    Method::DismissRemeetNudge,
    Method::RemoveConnection,
    Method::Logout,
    Method::ChangePassword,
    Method::DeleteMember,
];

/// What `role` gets from `method` called on Anna's things.
fn expected(role: Role, method: Method) -> Code {
    use Method as M;
    use Role as R;
    match (method, role) {
        // Open to anyone: they are how one gets a credential.
        (M::Register | M::Login | M::RefreshSession, _) => Code::Ok,
        // Her profile is public: anyone, signed in or not, sees it, except the one she blocks.
        (M::GetMember, R::Blocked) => Code::NotFound,
        (M::GetMember, _) => Code::Ok,
        // The rest is for signed-in members; a service is no member, it is anonymous here.
        (_, R::Anonymous | R::Service(_)) => Code::Unauthenticated,
        // What is the caller's own: everyone gets theirs (the matrix checks it is theirs).
        (
            M::SearchMembers
            | M::ExportMemberData
            | M::ListConnections
            | M::ListConnectionRequests
            | M::ListMeetings
            | M::GetNetworkStats
            | M::ImportContacts
            | M::GetCoffeeSettings
            | M::UpdateCoffeeSettings
            | M::ListCoffeeProposals
            | M::GetRemeetSettings
            | M::UpdateRemeetSettings
            | M::ListRemeetNudges
            | M::ChangePassword
            | M::Logout,
            _,
        ) => Code::Ok,
        // Only she changes or erases her profile.
        (M::UpdateMember | M::DeleteMember, R::Owner) => Code::Ok,
        (M::UpdateMember | M::DeleteMember, _) => Code::PermissionDenied,
        // Asking her: not herself, not again, not through her block.
        (M::RequestConnection, R::Owner) => Code::InvalidArgument,
        (M::RequestConnection, R::Connection) => Code::AlreadyExists,
        (M::RequestConnection, R::Blocked) => Code::NotFound,
        (M::RequestConnection, R::Stranger) => Code::Ok,
        // Her requests, in and out: only she answers or withdraws them; to others they do not
        // exist.
        (M::RespondToConnectionRequest | M::WithdrawConnectionRequest, R::Owner) => Code::Ok,
        (M::RespondToConnectionRequest | M::WithdrawConnectionRequest, _) => Code::NotFound,
        // Blocking her and lifting one's own block of her: a member's own relation, not
        // herself; no one lifts her block of Dan (none of them blocks her: nothing to lift).
        (M::BlockMember | M::UnblockMember, R::Owner) => Code::InvalidArgument,
        (M::BlockMember, _) => Code::Ok,
        (M::UnblockMember, _) => Code::NotFound,
        // Her follow-ups: only she confirms or dismisses; others were not at her event.
        (M::ConfirmMet | M::DismissMeeting, R::Owner) => Code::Ok,
        (M::ConfirmMet | M::DismissMeeting, _) => Code::NotFound,
        // Her coffee proposal with Bruno: each of the two answers for themself; to the others
        // it does not exist.
        (M::RespondToCoffeeProposal, R::Owner | R::Connection) => Code::Ok,
        (M::RespondToCoffeeProposal, _) => Code::NotFound,
        // Their matched coffee: either of the two books it (the same time twice is the same
        // booking); to the others it does not exist.
        (M::ScheduleCoffee, R::Owner | R::Connection) => Code::Ok,
        (M::ScheduleCoffee, _) => Code::NotFound,
        // Her nudge about Ivy: only she dismisses it; to the others it does not exist.
        (M::DismissRemeetNudge, R::Owner) => Code::Ok,
        (M::DismissRemeetNudge, _) => Code::NotFound,
        // Her connection with Bruno: either of the two ends it; a stranger has none with him.
        (M::RemoveConnection, R::Owner) => Code::Ok,
        (M::RemoveConnection, R::Connection) => Code::InvalidArgument,
        (M::RemoveConnection, _) => Code::NotFound,
    }
}

/// Anna, the others and her things.
struct World {
    stack: MembersHandle,
    anna: TestMember,
    bruno: TestMember,
    chloe: TestMember,
    dan: TestMember,
    /// Eve's request to Anna.
    incoming: String,
    /// Anna's request to Fay.
    outgoing: String,
    /// The event Anna met Gus and Hana at.
    event_id: String,
    gus: TestMember,
    hana: TestMember,
    /// The coffee proposed to Anna and Bruno.
    coffee: String,
    /// Anna's nudge to see Ivy again, whom she met long ago.
    nudge: String,
}

async fn world(backend: Backend) -> World {
    let (stack, [anna, bruno, chloe, dan, eve, fay, gus, hana, ivy]) = stack_of(
        backend,
        [
            "Anna", "Bruno", "Chloé", "Dan", "Eve", "Fay", "Gus", "Hana", "Ivy",
        ],
    )
    .await;
    let asked = request(&bruno, &anna, "").await.unwrap();
    respond(&anna, &asked.id, true).await.unwrap();
    block(&anna, &dan).await;
    let incoming = request(&eve, &anna, "Coffee?").await.unwrap().id;
    let outgoing = request(&anna, &fay, "Coffee?").await.unwrap().id;
    let event_id = record_event(&stack, &[&anna, &gus, &hana]).await;
    opt_in_to_coffee(&anna).await;
    opt_in_to_coffee(&bruno).await;
    let round = coffee_round(&stack).await;
    let coffee = round.proposals[0].id.to_string();
    rendezvous_testkit::connect(&anna, &ivy).await.unwrap();
    record_at(
        &stack,
        &uuid::Uuid::now_v7().to_string(),
        24 * 200,
        &[&anna, &ivy],
    )
    .await;
    opt_in_to_remeet(&anna, 0).await;
    let nudge = nudge_with_event(&stack, &anna).await;
    World {
        stack,
        anna,
        bruno,
        chloe,
        dan,
        incoming,
        outgoing,
        event_id,
        gus,
        hana,
        coffee,
        nudge,
    }
}

impl World {
    fn member(&self, role: Role) -> Option<&TestMember> {
        match role {
            Role::Anonymous | Role::Service(_) => None,
            Role::Owner => Some(&self.anna),
            Role::Connection => Some(&self.bruno),
            Role::Stranger => Some(&self.chloe),
            Role::Blocked => Some(&self.dan),
        }
    }

    fn client(&self, role: Role) -> MemberClient {
        if let Role::Service(issuer) = role {
            let credentials =
                service_credentials_at(issuer, ServiceName::Members, self.stack.clock.clone());
            let bearer = Bearer::raw(&credentials.bearer().unwrap());
            return MemberServiceClient::with_interceptor(self.stack.channel.clone(), bearer);
        }
        self.member(role)
            .map_or_else(|| self.stack.anonymous(), |m| m.client.clone())
    }

    /// Calls `method` on Anna's things as `role`.
    async fn call(&self, role: Role, method: Method) -> Code {
        let c = self.client(role);
        let anna = self.anna.id.clone();
        let caller = self.member(role).map(|m| m.id.clone()).unwrap_or_default();
        let call = match method {
            Method::Register => call!(
                c,
                register,
                register_request(&unique_email("newcomer"), "Newcomer")
            ),
            Method::Login => call!(
                c,
                login,
                pb::LoginRequest {
                    email: self.anna.email.clone(),
                    password: self.anna.password.clone(),
                }
            ),
            Method::RefreshSession => {
                // Whoever holds a refresh token may rotate it: it is the credential. A fresh
                // session for each caller, so no rotation reads as reuse.
                let session = self.stack.login(&self.anna).await.unwrap();
                call!(
                    c,
                    refresh_session,
                    pb::RefreshSessionRequest {
                        refresh_token: session.refresh_token,
                    }
                )
            }
            Method::GetMember => call!(c, get_member, pb::GetMemberRequest { id: anna }),
            Method::UpdateMember => call!(
                c,
                update_member,
                pb::UpdateMemberRequest {
                    member: Some(pb::Member {
                        id: anna,
                        headline: format!("Written by {role:?}"),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["headline".into()],
                    }),
                }
            ),
            Method::SearchMembers => {
                call!(c, search_members, pb::SearchMembersRequest::default())
            }
            Method::ExportMemberData => {
                call!(c, export_member_data, pb::ExportMemberDataRequest {})
            }
            Method::RequestConnection => call!(
                c,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: anna,
                    note: String::new(),
                }
            ),
            Method::RespondToConnectionRequest => call!(
                c,
                respond_to_connection_request,
                pb::RespondToConnectionRequestRequest {
                    connection_request_id: self.incoming.clone(),
                    accept: true,
                }
            ),
            Method::WithdrawConnectionRequest => call!(
                c,
                withdraw_connection_request,
                pb::WithdrawConnectionRequestRequest {
                    connection_request_id: self.outgoing.clone(),
                }
            ),
            Method::ListConnections => {
                call!(c, list_connections, pb::ListConnectionsRequest::default())
            }
            Method::ListConnectionRequests => call!(
                c,
                list_connection_requests,
                pb::ListConnectionRequestsRequest::default()
            ),
            // Each blocks Anna and lifts it again below: the relation is the caller's own.
            Method::BlockMember => {
                call!(c, block_member, pb::BlockMemberRequest { member_id: anna })
            }
            Method::UnblockMember => {
                call!(
                    c,
                    unblock_member,
                    pb::UnblockMemberRequest { member_id: anna }
                )
            }
            Method::ListMeetings => call!(c, list_meetings, pb::ListMeetingsRequest::default()),
            Method::ConfirmMet => call!(
                c,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: self.event_id.clone(),
                    member_id: self.gus.id.clone(),
                }
            ),
            Method::DismissMeeting => call!(
                c,
                dismiss_meeting,
                pb::DismissMeetingRequest {
                    event_id: self.event_id.clone(),
                    member_id: self.hana.id.clone(),
                }
            ),
            Method::GetNetworkStats => {
                call!(c, get_network_stats, pb::GetNetworkStatsRequest {})
            }
            Method::ImportContacts => call!(
                c,
                import_contacts,
                pb::ImportContactsRequest {
                    csv_data: format!(
                        "First Name,Last Name,URL,Email Address\nAnna,,,{}\n",
                        self.anna.email
                    )
                    .into_bytes(),
                    ..Default::default()
                }
            ),
            Method::GetCoffeeSettings => {
                call!(c, get_coffee_settings, pb::GetCoffeeSettingsRequest {})
            }
            // The request names no member: each caller can only ever change their own.
            Method::UpdateCoffeeSettings => call!(
                c,
                update_coffee_settings,
                pb::UpdateCoffeeSettingsRequest {
                    settings: Some(pb::CoffeeSettings {
                        preferred_areas: vec![format!("Written by {role:?}")],
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["preferred_areas".into()],
                    }),
                }
            ),
            Method::ListCoffeeProposals => call!(
                c,
                list_coffee_proposals,
                pb::ListCoffeeProposalsRequest::default()
            ),
            Method::RespondToCoffeeProposal => call!(
                c,
                respond_to_coffee_proposal,
                pb::RespondToCoffeeProposalRequest {
                    proposal_id: self.coffee.clone(),
                    accept: true,
                }
            ),
            Method::ScheduleCoffee => {
                use chrono::{DurationRound as _, TimeDelta};
                // Two days ahead on the hour (the same hour for every caller of the matrix).
                let start = self
                    .stack
                    .clock
                    .now()
                    .duration_trunc(TimeDelta::days(1))
                    .unwrap()
                    + TimeDelta::days(2)
                    + TimeDelta::hours(8);
                call!(
                    c,
                    schedule_coffee,
                    pb::ScheduleCoffeeRequest {
                        proposal_id: self.coffee.clone(),
                        start_time: Some(rendezvous_common::time::to_timestamp(start)),
                        venue: None,
                    }
                )
            }
            Method::GetRemeetSettings => {
                call!(c, get_remeet_settings, pb::GetRemeetSettingsRequest {})
            }
            // The request names no member: each caller can only ever change their own.
            Method::UpdateRemeetSettings => call!(
                c,
                update_remeet_settings,
                pb::UpdateRemeetSettingsRequest {
                    settings: Some(pb::RemeetSettings {
                        opted_in: false,
                        after_days: 400,
                    }),
                }
            ),
            Method::ListRemeetNudges => {
                call!(c, list_remeet_nudges, pb::ListRemeetNudgesRequest {})
            }
            Method::DismissRemeetNudge => call!(
                c,
                dismiss_remeet_nudge,
                pb::DismissRemeetNudgeRequest {
                    nudge_id: self.nudge.clone(),
                }
            ),
            Method::RemoveConnection => call!(
                c,
                remove_connection,
                pb::RemoveConnectionRequest {
                    member_id: self.bruno.id.clone(),
                }
            ),
            // Every test member has the same password, so each changes their own; Anna's
            // must be untouched by the others'.
            Method::ChangePassword => call!(
                c,
                change_password,
                pb::ChangePasswordRequest {
                    old_password: self.anna.password.clone(),
                    new_password: format!("a new passphrase for {role:?} {caller}"),
                }
            ),
            // Each ends a session of its own, so the caller's next calls still run.
            Method::Logout => {
                let c = match self.member(role) {
                    Some(member) => {
                        let session = self.stack.login(member).await.unwrap();
                        self.stack.client_with_token(&session.access_token)
                    }
                    None => c,
                };
                call!(c, logout, pb::LogoutRequest {})
            }
            Method::DeleteMember => call!(c, delete_member, pb::DeleteMemberRequest { id: anna }),
        };
        code(call.await)
    }

    /// After the others' calls to `method`, before Anna's: nothing of hers changed.
    async fn assert_hers_untouched(&self, method: Method) {
        let anna = &self.anna;
        match method {
            Method::UpdateMember | Method::DeleteMember => {
                let me = get_member(&anna.client, "me").await.unwrap();
                assert!(!me.deleted, "{method:?}");
                let hers = if method == Method::UpdateMember {
                    ""
                } else {
                    "Written by Owner"
                };
                assert_eq!(me.headline, hers, "{method:?}");
            }
            Method::RespondToConnectionRequest => {
                let incoming = requests(anna, pb::RequestDirection::Incoming).await;
                assert!(incoming.iter().any(|r| r.id == self.incoming), "{method:?}");
            }
            Method::WithdrawConnectionRequest => {
                let outgoing = requests(anna, pb::RequestDirection::Outgoing).await;
                assert!(outgoing.iter().any(|r| r.id == self.outgoing), "{method:?}");
            }
            Method::UnblockMember => {
                assert_eq!(
                    relationship(anna, &self.dan).await,
                    pb::Relationship::Blocked
                );
            }
            Method::ConfirmMet | Method::DismissMeeting => {
                // Gus still to confirm before her ConfirmMet; Hana still listed before her
                // DismissMeeting.
                let open_one = if method == Method::ConfirmMet {
                    &self.gus.id
                } else {
                    &self.hana.id
                };
                let follow_up = meetings(anna).await;
                let open = follow_up
                    .iter()
                    .filter(|m| m.event_id == self.event_id)
                    .flat_map(|m| m.co_attendees.iter())
                    .any(|a| &a.member_id == open_one && !a.confirmed_by_me);
                assert!(open, "{method:?}: {follow_up:?}");
            }
            Method::RemoveConnection => {
                let list = connection_ids(&connections(anna, pb::MetFilter::Unspecified).await);
                assert!(list.contains(&self.bruno.id), "{method:?}: {list:?}");
            }
            Method::UpdateCoffeeSettings => {
                let hers = coffee_settings(anna).await;
                assert!(hers.preferred_areas.is_empty(), "{method:?}: {hers:?}");
            }
            Method::UpdateRemeetSettings => {
                let hers = anna
                    .client
                    .clone()
                    .get_remeet_settings(pb::GetRemeetSettingsRequest {})
                    .await
                    .unwrap()
                    .into_inner()
                    .settings
                    .unwrap();
                assert_eq!((hers.opted_in, hers.after_days), (true, 182), "{method:?}");
            }
            Method::DismissRemeetNudge => {
                let hers = remeet_nudges(anna).await;
                assert!(
                    hers.iter().any(|n| n.id == self.nudge),
                    "{method:?}: {hers:?}"
                );
            }
            Method::RespondToCoffeeProposal => {
                let [hers] = coffee_proposals(anna).await.try_into().unwrap();
                assert_eq!(
                    hers.my_answer(),
                    pb::CoffeeAnswer::Unspecified,
                    "{method:?}"
                );
                assert_eq!(hers.state(), pb::CoffeeProposalState::Open, "{method:?}");
            }
            Method::ScheduleCoffee => {
                // Bruno booked it; nobody else changed it.
                let [hers] = coffee_proposals(anna).await.try_into().unwrap();
                let [his] = coffee_proposals(&self.bruno).await.try_into().unwrap();
                assert!(!hers.event_id.is_empty(), "{method:?}: {hers:?}");
                assert_eq!(
                    (&hers.event_id, &hers.meeting),
                    (&his.event_id, &his.meeting),
                    "{method:?}"
                );
            }
            Method::ChangePassword => {
                login(&self.stack, &anna.email, &anna.password)
                    .await
                    .unwrap();
            }
            Method::Logout => {
                get_member(&anna.client, "me").await.unwrap();
            }
            _ => {}
        }
    }

    /// What each caller's own lists hold: theirs, never Anna's.
    async fn assert_lists_are_their_own(&self) {
        for role in [Role::Connection, Role::Stranger, Role::Blocked] {
            let member = self.member(role).unwrap();
            let export = export(member).await.text;
            assert!(!export.contains(&self.anna.email), "{role:?}'s export");
            for direction in [
                pb::RequestDirection::Incoming,
                pb::RequestDirection::Outgoing,
            ] {
                let theirs = requests(member, direction).await;
                assert!(
                    theirs
                        .iter()
                        .all(|r| r.id != self.incoming && r.id != self.outgoing),
                    "{role:?} lists Anna's requests"
                );
            }
            if role != Role::Connection {
                assert!(
                    coffee_proposals(member).await.is_empty(),
                    "{role:?} lists Anna's coffee"
                );
            }
            let met = meetings(member).await;
            assert!(
                met.iter().all(|m| m.event_id != self.event_id),
                "{role:?} lists Anna's follow-up"
            );
            assert!(
                remeet_nudges(member).await.is_empty(),
                "{role:?} lists Anna's nudge"
            );
        }
        let strangers = connection_ids(&connections(&self.chloe, pb::MetFilter::Unspecified).await);
        assert!(strangers.is_empty(), "Chloé lists {strangers:?}");
        let found = find(&self.dan, "Anna").await;
        assert!(
            found.iter().all(|m| m.id != self.anna.id),
            "Dan finds Anna though she blocks him"
        );
    }
}

async fn member_service_matrix(backend: Backend) {
    let world = world(backend).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for method in METHODS {
        for role in ROLES {
            if role == Role::Owner {
                world.assert_hers_untouched(method).await;
            }
            let want = expected(role, method);
            let got = world.call(role, method).await;
            checked += 1;
            if got != want {
                failures.push(format!("{role:?} {method:?}: want {want:?}, got {got:?}"));
            }
            // A block made for the matrix is lifted at once (UnblockMember is checked next).
            // A block ends a connection: Bruno and Anna connect again.
            if method == Method::BlockMember && got == Code::Ok {
                unblock(world.member(role).unwrap(), &world.anna).await;
                if role == Role::Connection {
                    let asked = request(&world.bruno, &world.anna, "").await.unwrap();
                    respond(&world.anna, &asked.id, true).await.unwrap();
                }
            }
        }
        if method == Method::ImportContacts {
            world.assert_lists_are_their_own().await;
        }
    }
    assert_eq!(checked, METHODS.len() * ROLES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    world.stack.stop().await.unwrap();
}

backend_tests!(member_service_matrix,);
