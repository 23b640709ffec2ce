//! What the members tests share: fixtures and shortcuts for the calls the tests make; the
//! generic parts (`call!`, `code`, `pages!`, outbox readers, event facts) are the testkit's.

use rendezvous_common::server::ServerSettings;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
pub use rendezvous_testkit::rpc::Call;
use rendezvous_testkit::{Backend, MemberClient, MembersHandle, Start, TestMember};
pub use rendezvous_testkit::{
    all_pages, code, error_code, event_facts, outbox_notices, outbox_rows, outbox_total,
    record_meetings_request,
};
pub(crate) use rendezvous_testkit::{call, pages};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// A fresh members service with `names` registered, in that order.
pub async fn stack_of<const N: usize>(
    backend: Backend,
    names: [&str; N],
) -> (MembersHandle, [TestMember; N]) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let members = stack.register_all(names).await.unwrap();
    (stack, members)
}

/// Sets one profile field of a member and returns the profile: `set!(&anna, city: "Lyon")`.
macro_rules! set {
    ($member:expr, $field:ident: $value:expr) => {
        $crate::helpers::update(
            $member,
            rendezvous_proto::members::v1::Member {
                $field: $value.into(),
                ..Default::default()
            },
            &[stringify!($field)],
        )
        .await
        .unwrap()
    };
}
pub(crate) use set;

/// Updates the profile fields named in the mask with the values given, as the member:
/// `edit!(&anna, [headline], headline: "Hi", etag: before.etag.clone())`.
macro_rules! edit {
    ($member:expr, [$($path:ident),*], $($field:ident: $value:expr),+ $(,)?) => {
        $crate::helpers::update(
            $member,
            rendezvous_proto::members::v1::Member {
                $($field: $value.into(),)+
                ..Default::default()
            },
            &[$(stringify!($path)),*],
        )
        .await
    };
}
pub(crate) use edit;

/// The title of the events the tests record meetings of.
pub const EVENT_TITLE: &str = "Café networking — Le Marais";

/// Records a new event (a small one: connected pairs are met at once); its id.
pub async fn record_event(stack: &MembersHandle, attendees: &[&TestMember]) -> String {
    let event_id = uuid::Uuid::now_v7().to_string();
    record(stack, &event_id, attendees).await;
    event_id
}

/// The pending requests of `member` in `direction`, first page.
pub async fn requests(
    member: &TestMember,
    direction: pb::RequestDirection,
) -> Vec<pb::ConnectionRequest> {
    pending_requests(member, direction, 0).await.0
}

/// The password every test member signs in with.
pub const PASSWORD: &str = "correct horse battery staple";

pub fn register_request(email: &str, name: &str) -> pb::RegisterRequest {
    pb::RegisterRequest {
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        display_name: name.to_owned(),
        city: "Paris".to_owned(),
        locale: "fr".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
    }
}

/// Registers with `request`: the new member's profile.
pub async fn register_with(stack: &MembersHandle, request: pb::RegisterRequest) -> pb::Member {
    let response = stack.anonymous().register(request).await.unwrap();
    response.into_inner().member.unwrap()
}

pub fn unique_email(name: &str) -> String {
    format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple())
}

pub async fn login(
    stack: &MembersHandle,
    email: &str,
    password: &str,
) -> Result<pb::Session, Status> {
    let (email, password) = (email.to_owned(), password.to_owned());
    let response = stack
        .anonymous()
        .login(pb::LoginRequest { email, password })
        .await?;
    Ok(response.into_inner().session.unwrap())
}

/// Changes `member`'s password from their current one (their own session stays).
pub async fn change_password(member: &TestMember, new_password: &str) {
    member
        .client
        .clone()
        .change_password(pb::ChangePasswordRequest {
            old_password: member.password.clone(),
            new_password: new_password.to_owned(),
        })
        .await
        .unwrap();
}

pub async fn refresh(stack: &MembersHandle, refresh_token: &str) -> Result<pb::Session, Status> {
    let request = pb::RefreshSessionRequest {
        refresh_token: refresh_token.to_owned(),
    };
    let response = stack.anonymous().refresh_session(request).await?;
    Ok(response.into_inner().session.unwrap())
}

pub async fn get_member(client: &MemberClient, id: &str) -> Result<pb::Member, Status> {
    let request = pb::GetMemberRequest { id: id.to_owned() };
    let response = client.clone().get_member(request).await?;
    Ok(response.into_inner().member.unwrap())
}

/// How `viewer` relates to `member`, as GetMember shows it.
pub async fn relationship(viewer: &TestMember, member: &TestMember) -> pb::Relationship {
    get_member(&viewer.client, &member.id)
        .await
        .unwrap()
        .relationship()
}

/// A members service whose server settings `configure` changes from the defaults.
pub async fn start_with_server(
    backend: Backend,
    configure: impl FnOnce(&mut ServerSettings),
) -> MembersHandle {
    let mut server = ServerSettings::default();
    configure(&mut server);
    let start = Start {
        server,
        ..Start::new(backend)
    };
    MembersHandle::start_with(start).await.unwrap()
}

/// The ids of `members`.
pub fn ids(members: &[TestMember]) -> Vec<String> {
    members.iter().map(|m| m.id.clone()).collect()
}

/// Asserts that `a` and `b` hold the same items, in any order.
pub fn assert_same_items<T: Ord + std::fmt::Debug>(mut a: Vec<T>, mut b: Vec<T>) {
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

pub async fn update(
    member: &TestMember,
    values: pb::Member,
    paths: &[&str],
) -> Result<pb::Member, Status> {
    member
        .client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            member: Some(pb::Member {
                id: "me".into(),
                ..values
            }),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
        })
        .await
        .map(|r| r.into_inner().member.unwrap())
}

pub async fn request(
    from: &TestMember,
    to: &TestMember,
    note: &str,
) -> Result<pb::ConnectionRequest, Status> {
    from.client
        .clone()
        .request_connection(pb::RequestConnectionRequest {
            member_id: to.id.clone(),
            note: note.to_owned(),
        })
        .await
        .map(|r| r.into_inner().connection_request.unwrap())
}

pub async fn respond(
    member: &TestMember,
    request_id: &str,
    accept: bool,
) -> Result<pb::ConnectionRequest, Status> {
    let connection_request_id = request_id.to_owned();
    let answer = pb::RespondToConnectionRequestRequest {
        connection_request_id,
        accept,
    };
    let mut client = member.client.clone();
    let response = client.respond_to_connection_request(answer).await?;
    Ok(response.into_inner().connection_request.unwrap())
}

/// `requester` withdraws their request `request_id`.
pub async fn withdraw(
    requester: &TestMember,
    request_id: &str,
) -> Result<pb::ConnectionRequest, Status> {
    let connection_request_id = request_id.to_owned();
    let request = pb::WithdrawConnectionRequestRequest {
        connection_request_id,
    };
    let mut client = requester.client.clone();
    let response = client.withdraw_connection_request(request).await?;
    Ok(response.into_inner().connection_request.unwrap())
}

/// A member's data export: its content type, its text, and the text parsed.
pub struct Export {
    pub content_type: String,
    pub text: String,
    pub json: serde_json::Value,
}

pub async fn export(member: &TestMember) -> Export {
    let request = pb::ExportMemberDataRequest {};
    let response = member.client.clone().export_member_data(request).await;
    let export = response.unwrap().into_inner();
    Export {
        content_type: export.content_type,
        json: serde_json::from_slice(&export.data).unwrap(),
        text: String::from_utf8(export.data).unwrap(),
    }
}

/// The members `member` finds searching for `query`, up to 100.
pub async fn find(member: &TestMember, query: &str) -> Vec<pb::Member> {
    let request = pb::SearchMembersRequest {
        query: query.to_owned(),
        page_size: 100,
        ..Default::default()
    };
    search(member, request).await
}

/// Every connection of `member` with `filter`, two a page.
pub async fn connections(member: &TestMember, filter: pb::MetFilter) -> Vec<pb::Connection> {
    let request = move |page_token| pb::ListConnectionsRequest {
        met_filter: filter.into(),
        page_size: 2,
        page_token,
    };
    let client = member.client.clone();
    pages!(client, list_connections, request, connections)
        .await
        .0
}

pub fn connection_ids(list: &[pb::Connection]) -> Vec<String> {
    list.iter().map(|c| c.member_id.clone()).collect()
}

/// Every pending request of `member` in `direction`, `page_size` at a time, and the number
/// of pages.
pub async fn pending_requests(
    member: &TestMember,
    direction: pb::RequestDirection,
    page_size: i32,
) -> (Vec<pb::ConnectionRequest>, usize) {
    let request = move |page_token| pb::ListConnectionRequestsRequest {
        direction: direction.into(),
        page_size,
        page_token,
    };
    let client = member.client.clone();
    pages!(
        client,
        list_connection_requests,
        request,
        connection_requests
    )
    .await
}

/// Asserts that `addressee` has no incoming and `requester` no outgoing pending request.
pub async fn assert_nothing_pending(requester: &TestMember, addressee: &TestMember) {
    let incoming = requests(addressee, pb::RequestDirection::Incoming).await;
    assert!(incoming.is_empty(), "{incoming:?}");
    let outgoing = requests(requester, pb::RequestDirection::Outgoing).await;
    assert!(outgoing.is_empty(), "{outgoing:?}");
}

/// Connections, met in person, pending incoming and outgoing requests.
pub fn counts(s: &pb::NetworkStats) -> (i64, i64, i64, i64) {
    (
        s.connections,
        s.met_in_person,
        s.pending_incoming_requests,
        s.pending_outgoing_requests,
    )
}

/// Whether `member` has no pending request in `direction`.
pub async fn no_requests(member: &TestMember, direction: pb::RequestDirection) -> bool {
    requests(member, direction).await.is_empty()
}

/// Asserts that none of `members` has a connection left.
pub async fn assert_no_connections(members: &[&TestMember]) {
    for member in members {
        let left = connections(member, pb::MetFilter::Unspecified).await;
        assert!(left.is_empty(), "{left:?}");
    }
}

/// `blocker` blocks `blocked`.
pub async fn block(blocker: &TestMember, blocked: &TestMember) {
    let request = pb::BlockMemberRequest {
        member_id: blocked.id.clone(),
    };
    blocker.client.clone().block_member(request).await.unwrap();
}

/// `blocker` unblocks `blocked`.
pub async fn unblock(blocker: &TestMember, blocked: &TestMember) {
    let request = pb::UnblockMemberRequest {
        member_id: blocked.id.clone(),
    };
    blocker
        .client
        .clone()
        .unblock_member(request)
        .await
        .unwrap();
}

/// The members `member` finds with `request`, one page.
pub async fn search(member: &TestMember, request: pb::SearchMembersRequest) -> Vec<pb::Member> {
    member
        .client
        .clone()
        .search_members(request)
        .await
        .unwrap()
        .into_inner()
        .members
}

pub async fn stats(member: &TestMember) -> pb::NetworkStats {
    member
        .client
        .clone()
        .get_network_stats(pb::GetNetworkStatsRequest {})
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap()
}

pub async fn meetings(member: &TestMember) -> Vec<pb::Meeting> {
    member
        .client
        .clone()
        .list_meetings(pb::ListMeetingsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .meetings
}

/// Records an event that ended `hours_ago` with `members` checked in.
pub async fn record_at(
    stack: &MembersHandle,
    event_id: &str,
    hours_ago: i64,
    members: &[&TestMember],
) -> pb::RecordMeetingsResponse {
    let at = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    stack
        .internal()
        .unwrap()
        .record_meetings(record_meetings_request(
            event_id,
            EVENT_TITLE,
            at,
            &members.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        ))
        .await
        .unwrap()
        .into_inner()
}

pub async fn record(
    stack: &MembersHandle,
    event_id: &str,
    members: &[&TestMember],
) -> pb::RecordMeetingsResponse {
    record_at(stack, event_id, 2, members).await
}

/// Where `a` stands with `b`, as the other services read it (GetRelations).
pub async fn relation(stack: &MembersHandle, a: &TestMember, b: &TestMember) -> pb::Relation {
    let mut relations = stack
        .internal()
        .unwrap()
        .get_relations(pb::GetRelationsRequest {
            member_id: a.id.clone(),
            other_member_ids: vec![b.id.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .relations;
    assert_eq!(relations.len(), 1, "{relations:?}");
    relations.remove(0)
}

/// Whether a call was refused as UNAUTHENTICATED.
pub fn unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>) -> bool {
    error_code(result) == Code::Unauthenticated
}

/// A members service on a manual clock (1 May 2030, 09:00 UTC) with the testkit's settings
/// as `edit` leaves them.
pub async fn members_on_manual_clock(
    backend: Backend,
    edit: impl FnOnce(&mut rendezvous_testkit::MembersSettings),
) -> MembersHandle {
    use chrono::TimeZone as _;
    let mut start = Start::new(backend);
    start.clock = rendezvous_common::clock::Clock::manual(
        chrono::Utc.with_ymd_and_hms(2030, 5, 1, 9, 0, 0).unwrap(),
    );
    edit(&mut start.members);
    MembersHandle::start_with(start).await.unwrap()
}

/// `RESOURCE_EXHAUSTED` with `reason` and a retry delay; returns the delay.
pub fn assert_limited_by(status: &Status, reason: &str) -> std::time::Duration {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        rendezvous_common::error::error_reason(status).as_deref(),
        Some(reason)
    );
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .unwrap_or_else(|| panic!("no RetryInfo in {status:?}"))
}

/// A `Connections.csv` of one row per `(first name, email)`.
pub fn contacts_file(rows: &[(&str, &str)]) -> String {
    let mut csv = rendezvous_testkit::connections_preamble();
    for (name, email) in rows {
        csv.push_str(&format!("{name},Contact,,{email},,,\n"));
    }
    csv
}

/// `member` imports `csv`, sending requests to `picked` (all matches when empty) when
/// `send_requests`.
pub async fn import_contacts(
    member: &TestMember,
    csv: &str,
    send_requests: bool,
    picked: &[&TestMember],
) -> Result<pb::ImportContactsResponse, Status> {
    import_with_note(member, csv, send_requests, picked, "").await
}

/// [`import_contacts`] with `note` on the requests.
pub async fn import_with_note(
    member: &TestMember,
    csv: &str,
    send_requests: bool,
    picked: &[&TestMember],
    note: &str,
) -> Result<pb::ImportContactsResponse, Status> {
    member
        .client
        .clone()
        .import_contacts(pb::ImportContactsRequest {
            csv_data: csv.as_bytes().to_vec(),
            send_requests,
            request_member_ids: picked.iter().map(|m| m.id.clone()).collect(),
            note: note.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// `member` signed in again, for a test that moved the manual clock past their access token.
pub async fn signed_in_again(stack: &MembersHandle, member: &TestMember) -> TestMember {
    let session = stack.login(member).await.unwrap();
    TestMember {
        client: stack.client_with_token(&session.access_token),
        access_token: session.access_token,
        refresh_token: session.refresh_token,
        ..member.clone()
    }
}

/// The member's coffee settings, as GetCoffeeSettings answers them.
pub async fn coffee_settings(member: &TestMember) -> pb::CoffeeSettings {
    member
        .client
        .clone()
        .get_coffee_settings(pb::GetCoffeeSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap()
}

/// Opts the member in to coffee proposals, free on Tuesday mornings.
pub async fn opt_in_to_coffee(member: &TestMember) {
    let request = pb::UpdateCoffeeSettingsRequest {
        settings: Some(pb::CoffeeSettings {
            opted_in: true,
            availability: vec![pb::AvailabilityWindow {
                weekday: rendezvous_proto::events::v1::Weekday::Tuesday.into(),
                start_time: "08:00".into(),
                end_time: "10:00".into(),
            }],
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["opted_in".into(), "availability".into()],
        }),
    };
    member
        .client
        .clone()
        .update_coffee_settings(request)
        .await
        .unwrap();
}

/// Runs a coffee proposal round on the service's database at its clock's time.
pub async fn coffee_round(stack: &MembersHandle) -> rendezvous_members::store::RoundOutcome {
    rendezvous_members::store::Store::new(stack.db.clone())
        .coffee_round(&Default::default(), stack.clock.now_micros())
        .await
        .unwrap()
}

/// The member's coffee proposals, first page.
pub async fn coffee_proposals(member: &TestMember) -> Vec<pb::CoffeeProposal> {
    member
        .client
        .clone()
        .list_coffee_proposals(pb::ListCoffeeProposalsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .proposals
}

/// The member's answer to a coffee proposal.
pub async fn answer_coffee(
    member: &TestMember,
    proposal_id: &str,
    accept: bool,
) -> Result<pb::CoffeeProposal, Status> {
    let request = pb::RespondToCoffeeProposalRequest {
        proposal_id: proposal_id.to_owned(),
        accept,
    };
    let response = member
        .client
        .clone()
        .respond_to_coffee_proposal(request)
        .await?;
    Ok(response.into_inner().proposal.unwrap())
}

/// The member's booking of a matched coffee at `start`, at `venue` (none: events suggests one).
pub async fn schedule_coffee(
    member: &TestMember,
    proposal_id: &str,
    start: chrono::DateTime<chrono::Utc>,
    venue: Option<rendezvous_proto::events::v1::Venue>,
) -> Result<pb::CoffeeProposal, Status> {
    let request = pb::ScheduleCoffeeRequest {
        proposal_id: proposal_id.to_owned(),
        start_time: Some(rendezvous_common::time::to_timestamp(start)),
        venue,
    };
    let response = member.client.clone().schedule_coffee(request).await?;
    Ok(response.into_inner().proposal.unwrap())
}

/// Connects `a` and `b`, opts both in to coffee, and runs a round: returns the proposal made
/// to the two.
pub async fn coffee_between(stack: &MembersHandle, a: &TestMember, b: &TestMember) -> String {
    rendezvous_testkit::connect(a, b).await.unwrap();
    opt_in_to_coffee(a).await;
    opt_in_to_coffee(b).await;
    coffee_round(stack).await;
    let [proposal] = coffee_proposals(a).await.try_into().unwrap();
    proposal.id
}

/// Opts the member in to re-meet nudges after `after_days` (0: the default).
pub async fn opt_in_to_remeet(member: &TestMember, after_days: u32) {
    let request = pb::UpdateRemeetSettingsRequest {
        settings: Some(pb::RemeetSettings {
            opted_in: true,
            after_days,
        }),
    };
    member
        .client
        .clone()
        .update_remeet_settings(request)
        .await
        .unwrap();
}

/// Runs a pass of re-meet nudges on the service's database at `now`, with no events service
/// (so a nudge can only suggest a coffee).
pub async fn remeet_pass(
    stack: &MembersHandle,
    now: chrono::DateTime<chrono::Utc>,
) -> rendezvous_members::remeet::PassOutcome {
    let store = rendezvous_members::store::Store::new(stack.db.clone());
    rendezvous_members::remeet::Nudger::new(store, Default::default(), Default::default())
        .pass(now)
        .await
        .unwrap()
}

/// Nudges `member` (opted in and due) about their first candidate with an event, as a pass
/// does when events finds one; the nudge's id.
pub async fn nudge_with_event(stack: &MembersHandle, member: &TestMember) -> String {
    let store = rendezvous_members::store::Store::new(stack.db.clone());
    let now = stack.clock.now_micros();
    let due = store.due_remeet_members(None, 1000, now).await.unwrap();
    let me = due
        .into_iter()
        .find(|d| d.id.to_string() == member.id)
        .expect("the member is due a nudge");
    let candidates = store.remeet_candidates(&me, now).await.unwrap();
    let candidate = candidates.first().expect("a connection to nudge about");
    let event = rendezvous_proto::notifications::v1::EventFacts {
        event_id: uuid::Uuid::now_v7().to_string(),
        title: "Apéro — Canal Saint-Martin".into(),
        city: "Paris".into(),
        time_zone: "Europe/Paris".into(),
        start_time: Some(rendezvous_common::time::to_timestamp(
            now + chrono::Duration::days(5),
        )),
        end_time: Some(rendezvous_common::time::to_timestamp(
            now + chrono::Duration::days(5) + chrono::Duration::hours(2),
        )),
        venue_name: "Chez Prune".into(),
        venue_address: String::new(),
    };
    let suggestion = rendezvous_members::notices::RemeetSuggestion::Event(event);
    store
        .nudge(&me, candidate, suggestion, now)
        .await
        .unwrap()
        .expect("the nudge is made")
        .to_string()
}

/// The member's re-meet nudges.
pub async fn remeet_nudges(member: &TestMember) -> Vec<pb::RemeetNudge> {
    member
        .client
        .clone()
        .list_remeet_nudges(pb::ListRemeetNudgesRequest {})
        .await
        .unwrap()
        .into_inner()
        .nudges
}
