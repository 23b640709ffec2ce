//! What the members tests share: calling and classifying RPCs, fixtures, outbox counts.

use std::future::Future;
use std::pin::Pin;

use rendezvous_common::with_db;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{Backend, MemberClient, MembersHandle, TestMember, timestamp};
use tonic::{Code, Status};

/// A fresh members service with `names` registered, in that order.
pub async fn stack_of<const N: usize>(
    backend: Backend,
    names: [&str; N],
) -> (MembersHandle, [TestMember; N]) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let mut members = Vec::with_capacity(N);
    for name in names {
        members.push(stack.register(name).await.unwrap());
    }
    let Ok(members) = members.try_into() else {
        unreachable!("one member per name")
    };
    (stack, members)
}

/// A call whose response is forgotten: only its status matters.
pub type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// Calls `$method` on a clone of `$client` with `$request`, forgetting the response.
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(|_| ()) }) as $crate::helpers::Call
    }};
}
pub(crate) use call;

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

pub const EVENT_TITLE: &str = "Café networking — Le Marais";

/// The facts of an event as the events service sends them with RecordMeetings.
pub fn event_facts(event_id: &str, at: chrono::DateTime<chrono::Utc>) -> npb::EventFacts {
    npb::EventFacts {
        event_id: event_id.to_owned(),
        title: EVENT_TITLE.to_owned(),
        start_time: Some(timestamp(at)),
        end_time: Some(timestamp(at + chrono::Duration::hours(2))),
        time_zone: "Europe/Paris".to_owned(),
        venue_name: "Le Peloton Café".to_owned(),
        venue_address: "17 rue du Pont Louis-Philippe, 75004 Paris".to_owned(),
        city: "Paris".to_owned(),
    }
}

/// A RecordMeetings request for an event at `at`, as the events service sends it.
pub fn record_meetings_request(
    event_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    member_ids: &[String],
) -> pb::RecordMeetingsRequest {
    pb::RecordMeetingsRequest {
        event_id: event_id.to_owned(),
        event_title: EVENT_TITLE.to_owned(),
        event_time: Some(timestamp(at)),
        member_ids: member_ids.to_vec(),
        event: Some(event_facts(event_id, at)),
    }
}

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

pub const PASSWORD: &str = "correct horse battery staple";

/// Outbox rows of notification `kind` addressed to `recipient_id`.
pub async fn outbox_rows(stack: &MembersHandle, kind: &str, recipient_id: &str) -> i64 {
    let kind = format!("%\"kind\":\"{kind}\"%");
    let member = format!("%\"recipient_id\":\"{recipient_id}\"%");
    with_db!(&stack.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox WHERE payload LIKE $1 AND payload LIKE $2",
    )
    .bind(&kind)
    .bind(&member)
    .fetch_one(pool)
    .await)
    .unwrap()
}

pub async fn outbox_total(stack: &MembersHandle) -> i64 {
    with_db!(&stack.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

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

pub fn unique_email(name: &str) -> String {
    format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple())
}

pub async fn login(
    stack: &MembersHandle,
    email: &str,
    password: &str,
) -> Result<pb::Session, Status> {
    stack
        .anonymous()
        .login(pb::LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        })
        .await
        .map(|r| r.into_inner().session.unwrap())
}

pub async fn refresh(stack: &MembersHandle, refresh_token: &str) -> Result<pb::Session, Status> {
    stack
        .anonymous()
        .refresh_session(pb::RefreshSessionRequest {
            refresh_token: refresh_token.to_owned(),
        })
        .await
        .map(|r| r.into_inner().session.unwrap())
}

pub async fn get_member(client: &MemberClient, id: &str) -> Result<pb::Member, Status> {
    client
        .clone()
        .get_member(pb::GetMemberRequest { id: id.to_owned() })
        .await
        .map(|r| r.into_inner().member.unwrap())
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
    member
        .client
        .clone()
        .respond_to_connection_request(pb::RespondToConnectionRequestRequest {
            connection_request_id: request_id.to_owned(),
            accept,
        })
        .await
        .map(|r| r.into_inner().connection_request.unwrap())
}

/// Every item of a paginated list from its first page, and how many pages that took;
/// `fetch` reads the page of a token into its items and the next token.
pub async fn all_pages<T, Fut>(mut fetch: impl FnMut(String) -> Fut) -> (Vec<T>, usize)
where
    Fut: Future<Output = (Vec<T>, String)>,
{
    let (mut items, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let (page, next) = fetch(token).await;
        items.extend(page);
        pages += 1;
        if next.is_empty() {
            return (items, pages);
        }
        token = next;
    }
}

/// Every connection of `member` with `filter`, two a page.
pub async fn connections(member: &TestMember, filter: pb::MetFilter) -> Vec<pb::Connection> {
    all_pages(|page_token| {
        let mut client = member.client.clone();
        async move {
            let page = client
                .list_connections(pb::ListConnectionsRequest {
                    met_filter: filter.into(),
                    page_size: 2,
                    page_token,
                })
                .await
                .unwrap()
                .into_inner();
            (page.connections, page.next_page_token)
        }
    })
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
    all_pages(|page_token| {
        let mut client = member.client.clone();
        async move {
            let page = client
                .list_connection_requests(pb::ListConnectionRequestsRequest {
                    direction: direction.into(),
                    page_size,
                    page_token,
                })
                .await
                .unwrap()
                .into_inner();
            (page.connection_requests, page.next_page_token)
        }
    })
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

/// Asserts that none of `members` has a connection left.
pub async fn assert_no_connections(members: &[&TestMember]) {
    for member in members {
        let left = connections(member, pb::MetFilter::Unspecified).await;
        assert!(left.is_empty(), "{left:?}");
    }
}

/// `blocker` blocks `blocked`.
pub async fn block(blocker: &TestMember, blocked: &TestMember) {
    blocker
        .client
        .clone()
        .block_member(pb::BlockMemberRequest {
            member_id: blocked.id.clone(),
        })
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

pub async fn are_connected(
    stack: &MembersHandle,
    a: &TestMember,
    b: &TestMember,
) -> pb::AreConnectedResponse {
    stack
        .internal()
        .unwrap()
        .are_connected(pb::AreConnectedRequest {
            member_id: a.id.clone(),
            other_member_id: b.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The code of an error that must come; panics on success.
pub fn error_code<T: std::fmt::Debug>(result: Result<T, Status>) -> Code {
    result.expect_err("expected an error status").code()
}

/// The code of a call's outcome, `Ok` on success.
pub fn code<T>(result: Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}
