//! Bad UpdateMember requests and malformed ids.

use super::*;

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    vec![
        // UpdateMember: masks and values.
        bad(
            "update with an unknown field-mask path",
            "update_mask",
            call!(
                f.me,
                update_member,
                update(hello(), &["headline", "favourite_colour"])
            ),
        ),
        bad(
            "update the read-only email through the mask",
            "update_mask",
            call!(
                f.me,
                update_member,
                update_one!(email: "new@example.com".into())
            ),
        ),
        bad(
            "update with an empty mask",
            "update_mask",
            call!(f.me, update_member, update(hello(), &[])),
        ),
        bad(
            "update with no mask at all",
            "update_mask",
            call!(
                f.me,
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
                f.me,
                update_member,
                update(pb::Member::default(), &["visibility"])
            ),
        ),
        bad(
            "update the visibility to an unknown value",
            "member.visibility",
            call!(f.me, update_member, update_one!(visibility: 42)),
        ),
        bad(
            "update with a control character in the display name",
            "member.display_name",
            call!(
                f.me,
                update_member,
                update_one!(display_name: "Anna\u{0}".into())
            ),
        ),
        bad(
            "update the display name to 101 characters",
            "member.display_name",
            call!(
                f.me,
                update_member,
                update_one!(display_name: "n".repeat(101))
            ),
        ),
        bad(
            "update the locale to de",
            "member.locale",
            call!(f.me, update_member, update_one!(locale: "de".into())),
        ),
        bad(
            "update the time zone to an unknown one",
            "member.time_zone",
            call!(
                f.me,
                update_member,
                update_one!(time_zone: "Europe/Atlantis".into())
            ),
        ),
        bad(
            "update the linkedin url to another site",
            "member.linkedin_url",
            call!(
                f.me,
                update_member,
                update_one!(linkedin_url: "https://example.com/in/anna".into())
            ),
        ),
        bad(
            "update with 21 interests",
            "member.interests",
            call!(
                f.me,
                update_member,
                update_one!(interests: (0..21).map(|i| format!("interest {i}")).collect())
            ),
        ),
        bad(
            "update with a control character in an interest",
            "member.interests[1]",
            call!(
                f.me,
                update_member,
                update_one!(interests: vec!["coffee".into(), "te\u{8}a".into()])
            ),
        ),
        bad(
            "update a malformed member id",
            "member.id",
            call!(
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: "not-a-uuid".into(),
                    member_id: f.bruno.id.clone(),
                }
            ),
        ),
        bad(
            "confirm met with a malformed member id",
            "member_id",
            call!(
                f.me,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: f.event_id.clone(),
                    member_id: "not-a-uuid".into(),
                }
            ),
        ),
        bad(
            "dismiss a meeting with oneself",
            "member_id",
            call!(
                f.me,
                dismiss_meeting,
                pb::DismissMeetingRequest {
                    event_id: f.event_id.clone(),
                    member_id: f.anna.id.clone(),
                }
            ),
        ),
    ]
}
