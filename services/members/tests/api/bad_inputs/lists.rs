//! Bad page sizes and page tokens on every list.

use super::*;

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    vec![
        // Negative page sizes on every list.
        bad(
            "search members with a negative page size",
            "page_size",
            call!(
                f.me,
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
                f.me,
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
                f.me,
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
                f.me,
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
                f.internal,
                list_connection_ids,
                pb::ListConnectionIdsRequest {
                    member_id: f.anna.id.clone(),
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
                f.me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: f.garbage_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "search members with a cursor and tag of random bytes",
            "page_token",
            call!(
                f.me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: f.random_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "search members with a tampered real token",
            "page_token",
            call!(
                f.me,
                search_members,
                pb::SearchMembersRequest {
                    page_token: f.tampered_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connections with a SearchMembers token",
            "page_token",
            call!(
                f.me,
                list_connections,
                pb::ListConnectionsRequest {
                    page_token: f.search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection requests with a SearchMembers token",
            "page_token",
            call!(
                f.me,
                list_connection_requests,
                pb::ListConnectionRequestsRequest {
                    page_token: f.search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list meetings with a SearchMembers token",
            "page_token",
            call!(
                f.me,
                list_meetings,
                pb::ListMeetingsRequest {
                    page_token: f.search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection ids with a SearchMembers token",
            "page_token",
            call!(
                f.internal,
                list_connection_ids,
                pb::ListConnectionIdsRequest {
                    member_id: f.anna.id.clone(),
                    page_token: f.search_token.clone(),
                    ..Default::default()
                }
            ),
        ),
    ]
}
