//! Bad requests to MemberInternalService.

use super::*;

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    vec![
        // MemberInternalService.
        bad(
            "get contacts with a malformed second id",
            "member_ids[1]",
            call!(
                f.internal,
                get_contacts,
                pb::GetContactsRequest {
                    member_ids: vec![f.anna.id.clone(), "not-a-uuid".into()],
                }
            ),
        ),
        bad(
            "get contacts of 1001 members",
            "member_ids",
            call!(
                f.internal,
                get_contacts,
                pb::GetContactsRequest {
                    member_ids: (0..1001)
                        .map(|_| uuid::Uuid::now_v7().to_string())
                        .collect(),
                }
            ),
        ),
        bad(
            "ask for relations with a malformed other id",
            "other_member_ids[1]",
            call!(
                f.internal,
                get_relations,
                pb::GetRelationsRequest {
                    member_id: f.anna.id.clone(),
                    other_member_ids: vec![f.anna.id.clone(), "not-a-uuid".into()],
                }
            ),
        ),
        bad(
            "ask for relations with a malformed member id",
            "member_id",
            call!(
                f.internal,
                get_relations,
                pb::GetRelationsRequest {
                    member_id: "me".into(),
                    other_member_ids: vec![f.anna.id.clone()],
                }
            ),
        ),
        bad(
            "ask for the relations of 1001 members",
            "other_member_ids",
            call!(
                f.internal,
                get_relations,
                pb::GetRelationsRequest {
                    member_id: f.anna.id.clone(),
                    other_member_ids: (0..1001)
                        .map(|_| uuid::Uuid::now_v7().to_string())
                        .collect(),
                }
            ),
        ),
        bad(
            "record meetings with an empty title",
            "event.title",
            call!(
                f.internal,
                record_meetings,
                f.meeting_with(|event| event.title.clear())
            ),
        ),
        bad(
            "record meetings without an event time",
            "event.start_time",
            call!(
                f.internal,
                record_meetings,
                f.meeting_with(|event| event.start_time = None)
            ),
        ),
        bad(
            "record meetings with a malformed event id",
            "event_id",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event_id: "not-a-uuid".into(),
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings without the event's facts",
            "event",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event: None,
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings with the facts of another event",
            "event",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    event: Some(event_facts(&f.event_id, EVENT_TITLE, chrono::Utc::now())),
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings 250000 years before Christ",
            "event.start_time",
            call!(
                f.internal,
                record_meetings,
                f.meeting_at(-8_000_000_000_000, 0)
            ),
        ),
        bad(
            "record meetings in the year 10000",
            "event.start_time",
            call!(
                f.internal,
                record_meetings,
                f.meeting_at(253_402_300_800, 0)
            ),
        ),
        bad(
            "record meetings with negative nanoseconds",
            "event.start_time",
            call!(f.internal, record_meetings, f.meeting_at(1_800_000_000, -1)),
        ),
        bad(
            "count unmet connections of a malformed member",
            "member_id",
            call!(
                f.internal,
                count_unmet_connections,
                pb::CountUnmetConnectionsRequest {
                    member_id: "not-a-uuid".into(),
                    member_ids: vec![f.bruno.id.clone()],
                }
            ),
        ),
    ]
}
