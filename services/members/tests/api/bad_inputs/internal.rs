//! Bad requests to MemberInternalService.

use super::*;

/// A pair of members who hoped to meet, as events sends it.
fn hoped(member_a: &str, member_b: &str) -> pb::HopedPair {
    pb::HopedPair {
        member_a: member_a.to_owned(),
        member_b: member_b.to_owned(),
    }
}

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
            "record meetings with a malformed member in a hoped pair",
            "hoped_pairs[0].member_a",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    hoped_pairs: vec![hoped("not-a-uuid", &f.bruno.id)],
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings with a hoped pair missing its second member",
            "hoped_pairs[0].member_b",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    hoped_pairs: vec![hoped(&f.anna.id, "")],
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings with Anna hoping to meet herself",
            "hoped_pairs[1].member_b",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    hoped_pairs: vec![
                        hoped(&f.anna.id, &f.bruno.id),
                        hoped(&f.anna.id, &f.anna.id),
                    ],
                    ..f.meeting()
                }
            ),
        ),
        bad(
            "record meetings with 10001 hoped pairs",
            "hoped_pairs",
            call!(
                f.internal,
                record_meetings,
                pb::RecordMeetingsRequest {
                    hoped_pairs: (0..10_001)
                        .map(|_| hoped(&f.anna.id, &uuid::Uuid::now_v7().to_string()))
                        .collect(),
                    ..f.meeting()
                }
            ),
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
