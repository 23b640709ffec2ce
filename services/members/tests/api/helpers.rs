//! What the members tests share: calling and classifying RPCs, fixtures, outbox counts.

use std::future::Future;
use std::pin::Pin;

use rendezvous_common::with_db;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{MemberClient, MembersHandle, TestMember, timestamp};
use tonic::{Code, Status};

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

pub async fn set_city(member: &TestMember, city: &str) {
    update(
        member,
        pb::Member {
            city: city.into(),
            ..Default::default()
        },
        &["city"],
    )
    .await
    .unwrap();
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

/// Every connection of `member` with `filter`, following page tokens.
pub async fn connections(member: &TestMember, filter: pb::MetFilter) -> Vec<pb::Connection> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = member
            .client
            .clone()
            .list_connections(pb::ListConnectionsRequest {
                met_filter: filter.into(),
                page_size: 2,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        out.extend(page.connections);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

pub fn connection_ids(list: &[pb::Connection]) -> Vec<String> {
    list.iter().map(|c| c.member_id.clone()).collect()
}

/// Every pending request of `member` in `direction`, `page_size` at a time.
pub async fn pending_requests(
    member: &TestMember,
    direction: pb::RequestDirection,
    page_size: i32,
) -> (Vec<pb::ConnectionRequest>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page = member
            .client
            .clone()
            .list_connection_requests(pb::ListConnectionRequestsRequest {
                direction: direction.into(),
                page_size,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        out.extend(page.connection_requests);
        if page.next_page_token.is_empty() {
            return (out, pages);
        }
        page_token = page.next_page_token;
    }
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
