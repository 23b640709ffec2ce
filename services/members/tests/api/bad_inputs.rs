//! Bad requests to the members service, table-driven: each is refused with INVALID_ARGUMENT
//! naming the offending field in its `BadRequest` details, on both backends.

use crate::helpers::*;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rendezvous_common::error::violated_fields;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::{FieldMask, Timestamp};
use rendezvous_testkit::{Backend, backend_tests};
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

    let some_id = uuid::Uuid::now_v7().to_string();
    let meeting = || {
        record_meetings_request(
            &some_id,
            chrono::Utc::now(),
            &[anna.id.clone(), bruno.id.clone()],
        )
    };
    let meeting_at = |seconds, nanos| pb::RecordMeetingsRequest {
        event_time: Some(Timestamp { seconds, nanos }),
        ..meeting()
    };
    let event_id = uuid::Uuid::now_v7().to_string();

    let rows = vec![
        // Register: emails.
        bad(
            "register with an empty email",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: String::new(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 300-character email",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: format!("{}@example.com", "a".repeat(288)),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email without @",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: "anna.example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with two @",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: "anna@dupont@example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with a space",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: "anna dupont@example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with a control character",
            "email",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    email: "anna\u{7}@example.com".into(),
                    ..registration()
                }
            ),
        ),
        // Register: passwords, names, locale, zone.
        bad(
            "register with a 9-character password",
            "password",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    password: "123456789".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 300-character password",
            "password",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    password: "p".repeat(300),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a control character in the display name",
            "display_name",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    display_name: "Anna\u{1b}[31m".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an empty display name",
            "display_name",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    display_name: "   ".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 101-character display name",
            "display_name",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    display_name: "n".repeat(101),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with locale de",
            "locale",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    locale: "de".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an unknown time zone",
            "time_zone",
            call!(
                anon,
                register,
                pb::RegisterRequest {
                    time_zone: "Mars/Olympus_Mons".into(),
                    ..registration()
                }
            ),
        ),
        // Login and ChangePassword.
        bad(
            "login with an email without @",
            "email",
            call!(
                anon,
                login,
                pb::LoginRequest {
                    email: "anna.example.com".into(),
                    password: "correct horse battery staple".into(),
                }
            ),
        ),
        bad(
            "login with a 300-character password",
            "password",
            call!(
                anon,
                login,
                pb::LoginRequest {
                    email: anna.email.clone(),
                    password: "p".repeat(300),
                }
            ),
        ),
        bad(
            "change password to a 9-character one",
            "new_password",
            call!(
                me,
                change_password,
                password_change(anna.password.clone(), "123456789")
            ),
        ),
        bad(
            "change password with a wrong old password",
            "old_password",
            call!(
                me,
                change_password,
                password_change("not my password at all", "a brand new passphrase")
            ),
        ),
        bad(
            "change password to the same one",
            "new_password",
            call!(
                me,
                change_password,
                password_change(anna.password.clone(), anna.password.clone())
            ),
        ),
        bad(
            "refresh with an empty refresh token",
            "refresh_token",
            call!(
                anon,
                refresh_session,
                pb::RefreshSessionRequest {
                    refresh_token: String::new(),
                }
            ),
        ),
        bad(
            "search members with a 101-character query",
            "query",
            call!(
                me,
                search_members,
                pb::SearchMembersRequest {
                    query: "q".repeat(101),
                    ..Default::default()
                }
            ),
        ),
        // Negative page sizes on every list.
        bad(
            "search members with a negative page size",
            "page_size",
            call!(
                me,
                search_members,
                pb::SearchMembersRequest {
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connections with a negative page size",
            "page_size",
            call!(
                me,
                list_connections,
                pb::ListConnectionsRequest {
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection requests with a negative page size",
            "page_size",
            call!(
                me,
                list_connection_requests,
                pb::ListConnectionRequestsRequest {
                    page_size: -5,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list meetings with a negative page size",
            "page_size",
            call!(
                me,
                list_meetings,
                pb::ListMeetingsRequest {
                    page_size: i32::MIN,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection ids with a negative page size",
            "page_size",
            call!(
                internal,
                list_connection_ids,
                pb::ListConnectionIdsRequest {
                    member_id: anna.id.clone(),
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        // Forged page tokens.
        bad(
            "search members with random base64 as page token",
            "page_token",
            call!(
                me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: garbage_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "search members with a cursor and tag of random bytes",
            "page_token",
            call!(
                me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: random_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "search members with a tampered real token",
            "page_token",
            call!(
                me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: tampered_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connections with a SearchMembers token",
            "page_token",
            call!(
                me,
                list_connections,
                pb::ListConnectionsRequest {
                    page_token: search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection requests with a SearchMembers token",
            "page_token",
            call!(
                me,
                list_connection_requests,
                pb::ListConnectionRequestsRequest {
                    page_token: search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list meetings with a SearchMembers token",
            "page_token",
            call!(
                me,
                list_meetings,
                pb::ListMeetingsRequest {
                    page_token: search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection ids with a SearchMembers token",
            "page_token",
            call!(
                internal,
                list_connection_ids,
                pb::ListConnectionIdsRequest {
                    member_id: anna.id.clone(),
                    page_token: search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        // UpdateMember: masks and values.
        bad(
            "update with an unknown field-mask path",
            "update_mask",
            call!(
                me,
                update_member,
                update(hello(), &["headline", "favourite_colour"])
            ),
        ),
        bad(
            "update the read-only email through the mask",
            "update_mask",
            call!(
                me,
                update_member,
                update_one!(email: "new@example.com".into())
            ),
        ),
        bad(
            "update with an empty mask",
            "update_mask",
            call!(me, update_member, update(hello(), &[])),
        ),
        bad(
            "update with no mask at all",
            "update_mask",
            call!(
                me,
                update_member,
                pb::UpdateMemberRequest {
                    update_mask: None,
                    ..update(hello(), &[])
                }
            ),
        ),
        bad(
            "update the visibility to unset",
            "member.visibility",
            call!(
                me,
                update_member,
                update(pb::Member::default(), &["visibility"])
            ),
        ),
        bad(
            "update the visibility to an unknown value",
            "member.visibility",
            call!(me, update_member, update_one!(visibility: 42)),
        ),
        bad(
            "update with a control character in the display name",
            "member.display_name",
            call!(
                me,
                update_member,
                update_one!(display_name: "Anna\u{0}".into())
            ),
        ),
        bad(
            "update the display name to 101 characters",
            "member.display_name",
            call!(
                me,
                update_member,
                update_one!(display_name: "n".repeat(101))
            ),
        ),
        bad(
            "update the locale to de",
            "member.locale",
            call!(me, update_member, update_one!(locale: "de".into())),
        ),
        bad(
            "update the time zone to an unknown one",
            "member.time_zone",
            call!(
                me,
                update_member,
                update_one!(time_zone: "Europe/Atlantis".into())
            ),
        ),
        bad(
            "update the linkedin url to another site",
            "member.linkedin_url",
            call!(
                me,
                update_member,
                update_one!(linkedin_url: "https://example.com/in/anna".into())
            ),
        ),
        bad(
            "update with 21 interests",
            "member.interests",
            call!(
                me,
                update_member,
                update_one!(interests: (0..21).map(|i| format!("interest {i}")).collect())
            ),
        ),
        bad(
            "update with a control character in an interest",
            "member.interests[1]",
            call!(
                me,
                update_member,
                update_one!(interests: vec!["coffee".into(), "te\u{8}a".into()])
            ),
        ),
        bad(
            "update a malformed member id",
            "member.id",
            call!(
                me,
                update_member,
                pb::UpdateMemberRequest {
                    member: Some(pb::Member {
                        id: "not-a-uuid".into(),
                        ..hello()
                    }),
                    ..update(hello(), &["headline"])
                }
            ),
        ),
        // Malformed ids.
        bad(
            "get a malformed member id",
            "id",
            call!(
                me,
                get_member,
                pb::GetMemberRequest {
                    id: "not-a-uuid".into()
                }
            ),
        ),
        bad(
            "request a connection to a malformed id",
            "member_id",
            call!(
                me,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: "not-a-uuid".into(),
                    note: String::new(),
                }
            ),
        ),
        bad(
            "respond to a malformed request id",
            "connection_request_id",
            call!(
                me,
                respond_to_connection_request,
                pb::RespondToConnectionRequestRequest {
                    connection_request_id: "not-a-uuid".into(),
                    accept: true,
                }
            ),
        ),
        bad(
            "withdraw a malformed request id",
            "connection_request_id",
            call!(
                me,
                withdraw_connection_request,
                pb::WithdrawConnectionRequestRequest {
                    connection_request_id: "not-a-uuid".into(),
                }
            ),
        ),
        bad(
            "remove a connection with a malformed id",
            "member_id",
            call!(
                me,
                remove_connection,
                pb::RemoveConnectionRequest {
                    member_id: "not-a-uuid".into()
                }
            ),
        ),
        bad(
            "block a malformed id",
            "member_id",
            call!(
                me,
                block_member,
                pb::BlockMemberRequest {
                    member_id: "not-a-uuid".into()
                }
            ),
        ),
        bad(
            "unblock an empty id",
            "member_id",
            call!(
                me,
                unblock_member,
                pb::UnblockMemberRequest {
                    member_id: String::new()
                }
            ),
        ),
        bad(
            "confirm met at a malformed event id",
            "event_id",
            call!(
                me,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: "not-a-uuid".into(),
                    member_id: bruno.id.clone(),
                }
            ),
        ),
        bad(
            "confirm met with a malformed member id",
            "member_id",
            call!(
                me,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: event_id.clone(),
                    member_id: "not-a-uuid".into(),
                }
            ),
        ),
        bad(
            "dismiss a meeting with oneself",
            "member_id",
            call!(
                me,
                dismiss_meeting,
                pb::DismissMeetingRequest {
                    event_id: event_id.clone(),
                    member_id: anna.id.clone(),
                }
            ),
        ),
        // Connection requests.
        bad(
            "request a connection to oneself",
            "member_id",
            call!(
                me,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: anna.id.clone(),
                    note: String::new(),
                }
            ),
        ),
        bad(
            "request a connection with a 501-character note",
            "note",
            call!(
                me,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: bruno.id.clone(),
                    note: "n".repeat(501),
                }
            ),
        ),
        bad(
            "list connections with met filter 99",
            "met_filter",
            call!(
                me,
                list_connections,
                pb::ListConnectionsRequest {
                    met_filter: 99,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection requests with direction 99",
            "direction",
            call!(
                me,
                list_connection_requests,
                pb::ListConnectionRequestsRequest {
                    direction: 99,
                    ..Default::default()
                }
            ),
        ),
        // ImportContacts.
        bad(
            "import a CSV whose third line has too few fields",
            "csv_data",
            call!(
                me,
                import_contacts,
                csv(&format!(
                    "{HEADER}Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n\
                     Bruno,Martin,https://www.linkedin.com/in/bruno\n"
                ))
            ),
        )
        .saying("line 3"),
        bad(
            "import a CSV with invalid UTF-8 on its second line",
            "csv_data",
            call!(
                me,
                import_contacts,
                pb::ImportContactsRequest {
                    csv_data: [HEADER.as_bytes(), b"Anna,Dup\xFFont,,,,,\n"].concat(),
                    ..Default::default()
                }
            ),
        )
        .saying("line 2"),
        bad(
            "import an empty CSV",
            "csv_data",
            call!(me, import_contacts, csv("")),
        ),
        bad(
            "import a CSV without its header",
            "csv_data",
            call!(
                me,
                import_contacts,
                csv("Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n")
            ),
        ),
        bad(
            "import with a malformed requested member id",
            "request_member_ids[0]",
            call!(
                me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: true,
                    request_member_ids: vec!["not-a-uuid".into()],
                    ..csv(HEADER)
                }
            ),
        ),
        bad(
            "import with a 501-character note",
            "note",
            call!(
                me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: true,
                    note: "n".repeat(501),
                    ..csv(HEADER)
                }
            ),
        ),
        bad(
            "import naming members to ask without sending requests",
            "request_member_ids",
            call!(
                me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: false,
                    request_member_ids: vec![bruno.id.clone()],
                    ..csv(HEADER)
                }
            ),
        ),
        // MemberInternalService.
        bad(
            "get contacts with a malformed second id",
            "member_ids[1]",
            call!(
                internal,
                get_contacts,
                pb::GetContactsRequest {
                    member_ids: vec![anna.id.clone(), "not-a-uuid".into()],
                }
            ),
        ),
        bad(
            "get contacts of 1001 members",
            "member_ids",
            call!(
                internal,
                get_contacts,
                pb::GetContactsRequest {
                    member_ids: (0..1001)
                        .map(|_| uuid::Uuid::now_v7().to_string())
                        .collect(),
                }
            ),
        ),
        bad(
            "ask whether connected with a malformed other id",
            "other_member_id",
            call!(
                internal,
                are_connected,
                pb::AreConnectedRequest {
                    member_id: anna.id.clone(),
                    other_member_id: "not-a-uuid".into(),
                }
            ),
        ),
        bad(
            "record meetings with an empty title",
            "event_title",
            call!(
                internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event_title: String::new(),
                    ..meeting()
                }
            ),
        ),
        bad(
            "record meetings without an event time",
            "event_time",
            call!(
                internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event_time: None,
                    ..meeting()
                }
            ),
        ),
        bad(
            "record meetings with a malformed event id",
            "event_id",
            call!(
                internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event_id: "not-a-uuid".into(),
                    ..meeting()
                }
            ),
        ),
        bad(
            "record meetings without the event's facts",
            "event",
            call!(
                internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event: None,
                    ..meeting()
                }
            ),
        ),
        bad(
            "record meetings with the facts of another event",
            "event",
            call!(
                internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event: Some(event_facts(&event_id, chrono::Utc::now())),
                    ..meeting()
                }
            ),
        ),
        bad(
            "record meetings 250000 years before Christ",
            "event_time",
            call!(internal, record_meetings, meeting_at(-8_000_000_000_000, 0)),
        ),
        bad(
            "record meetings in the year 10000",
            "event_time",
            call!(internal, record_meetings, meeting_at(253_402_300_800, 0)),
        ),
        bad(
            "record meetings with negative nanoseconds",
            "event_time",
            call!(internal, record_meetings, meeting_at(1_800_000_000, -1)),
        ),
        bad(
            "count unmet connections of a malformed member",
            "member_id",
            call!(
                internal,
                count_unmet_connections,
                pb::CountUnmetConnectionsRequest {
                    member_id: "not-a-uuid".into(),
                    member_ids: vec![bruno.id.clone()],
                }
            ),
        ),
    ];

    let count = rows.len();
    assert!(count >= 35, "only {count} bad inputs");
    let mut failures = Vec::new();
    for row in rows {
        match row.call.await {
            Ok(()) => failures.push(format!("{}: accepted", row.what)),
            Err(status) => {
                let fields = violated_fields(&status);
                if status.code() != Code::InvalidArgument || fields != [row.field] {
                    failures.push(format!(
                        "{}: expected INVALID_ARGUMENT on `{}`, got {:?} on {fields:?}: {}",
                        row.what,
                        row.field,
                        status.code(),
                        status.message()
                    ));
                } else if let Some(text) = row.message_contains
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
