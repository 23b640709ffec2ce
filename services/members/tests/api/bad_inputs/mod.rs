//! Bad requests to the members service, table-driven: each is refused with INVALID_ARGUMENT
//! naming the offending field in its `BadRequest` details, on both backends. The rows of the
//! table are in one file per area.

use crate::helpers::*;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::{FieldMask, Timestamp};
use rendezvous_testkit::{
    Backend, MemberClient, MemberInternalClient, TestMember, backend_tests, invalid_argument_naming,
};
use tonic::Code;

/// A list request of type `$request` asking for `$size` items a page.
macro_rules! page_of {
    ($request:ident, $size:expr) => {
        pb::$request {
            page_size: $size,
            ..Default::default()
        }
    };
}

/// One bad request and what the caller must be told about it.
struct BadInput {
    what: &'static str,
    field: &'static str,
    message_contains: Option<&'static str>,
    call: Call,
}

fn bad(what: &'static str, field: &'static str, call: Call) -> BadInput {
    BadInput {
        what,
        field,
        message_contains: None,
        call,
    }
}

impl BadInput {
    fn saying(mut self, text: &'static str) -> Self {
        self.message_contains = Some(text);
        self
    }
}

fn registration() -> pb::RegisterRequest {
    pb::RegisterRequest {
        email: format!("new.{}@example.com", uuid::Uuid::now_v7().simple()),
        password: "correct horse battery staple".into(),
        display_name: "Nadia".into(),
        city: "Lyon".into(),
        locale: "en".into(),
        time_zone: "Europe/Paris".into(),
    }
}

fn update(member: pb::Member, paths: &[&str]) -> pb::UpdateMemberRequest {
    pb::UpdateMemberRequest {
        member: Some(pb::Member {
            id: "me".into(),
            ..member
        }),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

fn password_change(old: impl Into<String>, new: impl Into<String>) -> pb::ChangePasswordRequest {
    pb::ChangePasswordRequest {
        old_password: old.into(),
        new_password: new.into(),
    }
}

/// An UpdateMember request of one field, named in the mask: `update_one!(city: "Lyon")`.
macro_rules! update_one {
    ($field:ident: $value:expr) => {
        update(
            pb::Member {
                $field: $value,
                ..Default::default()
            },
            &[stringify!($field)],
        )
    };
}

/// A profile whose headline is "Hello".
fn hello() -> pb::Member {
    pb::Member {
        headline: "Hello".into(),
        ..Default::default()
    }
}

fn csv(text: &str) -> pb::ImportContactsRequest {
    pb::ImportContactsRequest {
        csv_data: text.as_bytes().to_vec(),
        ..Default::default()
    }
}

const HEADER: &str = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n";

/// Replaces the cursor of a page token, keeping its MAC: what a client forging a cursor does.
fn with_forged_cursor(token: &str, cursor: &str) -> String {
    let (_, tag) = token.split_once('.').unwrap();
    format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap())
    )
}

mod accounts;
mod coffee;
mod internal;
mod lists;
mod network;
mod profiles;

/// What the rows of the table are built from: the callers, two members, page tokens real
/// and forged, and ids of nothing.
struct Fixture {
    anon: MemberClient,
    me: MemberClient,
    internal: MemberInternalClient,
    anna: TestMember,
    bruno: TestMember,
    /// A real SearchMembers page token.
    search_token: String,
    /// A token of the right form whose MAC is wrong.
    random_token: String,
    garbage_token: String,
    /// The real token with its cursor moved, its MAC kept.
    tampered_token: String,
    some_id: String,
    event_id: String,
}

impl Fixture {
    /// A valid RecordMeetings request of the event `some_id`, attended by Anna and Bruno.
    fn meeting(&self) -> pb::RecordMeetingsRequest {
        record_meetings_request(
            &self.some_id,
            EVENT_TITLE,
            chrono::Utc::now(),
            &[self.anna.id.clone(), self.bruno.id.clone()],
        )
    }

    /// That request with its event's facts changed by `change`.
    fn meeting_with(
        &self,
        change: impl FnOnce(&mut rendezvous_proto::notifications::v1::EventFacts),
    ) -> pb::RecordMeetingsRequest {
        let mut request = self.meeting();
        if let Some(event) = request.event.as_mut() {
            change(event);
        }
        request
    }

    /// That request with its event starting at `seconds` and `nanos`.
    fn meeting_at(&self, seconds: i64, nanos: i32) -> pb::RecordMeetingsRequest {
        self.meeting_with(|event| event.start_time = Some(Timestamp { seconds, nanos }))
    }
}

async fn every_bad_input_is_refused_naming_its_field(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    stack.register("Chloe").await.unwrap();
    let anon = stack.anonymous();
    let me = anna.client.clone();
    let internal = stack.internal().unwrap();

    // A real SearchMembers page token: Anna sees two members, one per page.
    let search_token = me
        .clone()
        .search_members(pb::SearchMembersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    assert!(!search_token.is_empty(), "two members on pages of one");
    let second_page = me
        .clone()
        .search_members(pb::SearchMembersRequest {
            page_size: 1,
            page_token: search_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second_page.members.len(), 1, "the real token reads on");
    let random_token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(b"\"0190c0de-0000-7000-8000-000000000000\""),
        URL_SAFE_NO_PAD.encode([7u8; 32])
    );
    let garbage_token = URL_SAFE_NO_PAD.encode(b"definitely not a page token");
    // The cursor moved back to the start: a client trying to re-read or skip pages.
    let tampered_token = with_forged_cursor(&search_token, "");
    assert_ne!(tampered_token, search_token);

    let fixture = Fixture {
        anon,
        me,
        internal,
        anna,
        bruno,
        search_token,
        random_token,
        garbage_token,
        tampered_token,
        some_id: uuid::Uuid::now_v7().to_string(),
        event_id: uuid::Uuid::now_v7().to_string(),
    };
    let rows: Vec<BadInput> = [
        accounts::rows,
        coffee::rows,
        lists::rows,
        profiles::rows,
        network::rows,
        internal::rows,
    ]
    .iter()
    .flat_map(|rows| rows(&fixture))
    .collect();

    let count = rows.len();
    assert!(count >= 35, "only {count} bad inputs");
    let mut failures = Vec::new();
    for row in rows {
        match invalid_argument_naming(row.call.await, row.field) {
            Err(why) => failures.push(format!("{}: {why}", row.what)),
            Ok(status) => {
                if let Some(text) = row.message_contains
                    && !status.message().contains(text)
                {
                    failures.push(format!(
                        "{}: message {:?} does not contain {text:?}",
                        row.what,
                        status.message()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} bad inputs were mishandled:\n{}",
        failures.len(),
        failures.join("\n")
    );
    stack.stop().await.unwrap();
}

async fn huge_page_sizes_are_clamped_not_refused(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    stack.register("Bruno").await.unwrap();
    stack.register("Chloe").await.unwrap();

    let huge = 100_000;
    let search = page_of!(SearchMembersRequest, huge);
    let page = anna.client.clone().search_members(search).await.unwrap();
    assert_eq!(page.get_ref().members.len(), 2);
    assert!(page.get_ref().next_page_token.is_empty());

    let connections = page_of!(ListConnectionsRequest, i32::MAX);
    let requests = page_of!(ListConnectionRequestsRequest, huge);
    let meetings = page_of!(ListMeetingsRequest, huge);
    let ids = pb::ListConnectionIdsRequest {
        member_id: anna.id.clone(),
        ..page_of!(ListConnectionIdsRequest, huge)
    };
    let mut client = anna.client.clone();
    client.list_connections(connections).await.unwrap();
    client.list_connection_requests(requests).await.unwrap();
    client.list_meetings(meetings).await.unwrap();
    let mut internal = stack.internal().unwrap();
    internal.list_connection_ids(ids).await.unwrap();
    stack.stop().await.unwrap();
}

async fn messages_beyond_the_configured_limit_are_refused(backend: Backend) {
    let stack = start_with_server(backend, |s| s.max_message_bytes = 64 * 1024).await;
    let anna = stack.register("Anna").await.unwrap();
    let mut big = HEADER.to_owned();
    while big.len() < 100 * 1024 {
        big.push_str("Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n");
    }

    let status = anna
        .client
        .clone()
        .import_contacts(csv(&big))
        .await
        .unwrap_err();
    // tonic refuses an over-long message with OUT_OF_RANGE (not the RESOURCE_EXHAUSTED of the
    // gRPC spec) before the handler runs.
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");

    // The same file under the limit is read.
    let small: String = big.lines().take(100).map(|l| format!("{l}\n")).collect();
    let imported = anna
        .client
        .clone()
        .import_contacts(csv(&small))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.total_contacts, 99);
    stack.stop().await.unwrap();
}

async fn control_characters_in_imported_contacts_match_nobody(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    bruno
        .client
        .clone()
        .update_member(update_one!(linkedin_url: "https://www.linkedin.com/in/bruno-martin".into()))
        .await
        .unwrap();

    let imported = anna
        .client
        .clone()
        .import_contacts(csv(&format!(
            "{HEADER}Nul,Byte,https://www.linkedin.com/in/nul\u{0}byte,nul\u{0}@example.com,,,\n\
             Bruno,Martin,https://www.linkedin.com/in/Bruno-Martin/,,,,\n"
        )))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.total_contacts, 2);
    assert_eq!(imported.unmatched_count, 1);
    assert_eq!(imported.matched.len(), 1);
    assert_eq!(imported.matched[0].member_id, bruno.id);
    assert_eq!(imported.matched[0].line, 3);
    stack.stop().await.unwrap();
}

backend_tests!(
    every_bad_input_is_refused_naming_its_field,
    huge_page_sizes_are_clamped_not_refused,
    messages_beyond_the_configured_limit_are_refused,
    control_characters_in_imported_contacts_match_nobody,
);
