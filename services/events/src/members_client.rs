//! The members service's internal API as events calls it: relations (connections, blocks,
//! met in person) for invitations, attendee lists and summaries, a page of ids per call;
//! display names for notices; and the meetings of a completed event, in chunks. Every call
//! carries this service's credential, the trace context and a deadline (through
//! [`PeerChannel`]).

use std::collections::HashMap;
use std::time::Duration;

use rendezvous_common::auth::ServiceCredentials;
use rendezvous_common::peers::{PeerChannel, with_credentials};
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use tonic::Request;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::domain::event::EventRow;
use crate::error::{Error, Result};

/// Deadline of one call to members.
const DEADLINE: Duration = Duration::from_secs(5);
/// Deadline of one RecordMeetings chunk: up to half a million pairs written (members' own
/// request timeout, 30 s by default, bounds it too).
pub(crate) const RECORD_MEETINGS_DEADLINE: Duration = Duration::from_secs(30);
/// Connection ids read per page, and at most in all.
const CONNECTIONS_PAGE: i32 = 1000;
const MAX_CONNECTIONS: usize = 100_000;

/// Ids members' GetRelations takes per call (its documented maximum).
const RELATIONS_PAGE: usize = 1000;

/// Where a member stands with another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub connected: bool,
    /// Either blocks the other.
    pub blocked: bool,
    pub met_in_person: bool,
}

/// Where a member stands with others, as members answered.
#[derive(Clone, Debug, Default)]
pub struct Relations(HashMap<Uuid, Relation>);

impl Relations {
    /// With `other`; unrelated when members did not mention them.
    pub fn with(&self, other: Uuid) -> Relation {
        self.0.get(&other).copied().unwrap_or_default()
    }
}

/// A client of `MemberInternalService`; clone-cheap.
#[derive(Clone)]
pub struct MembersClient {
    client: MemberInternalServiceClient<PeerChannel>,
    record_meetings_deadline: Duration,
}

fn request<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

fn unavailable(status: &tonic::Status) -> Error {
    tracing::warn!(%status, "members service call failed");
    Error::Unavailable("members")
}

/// A member id in an answer of members; one that is not an id is members' fault.
fn peer_id(id: &str) -> Result<Uuid> {
    Uuid::try_parse(id).map_err(|_| {
        tracing::warn!(id, "members answered with a malformed member id");
        Error::BadPeerAnswer("members")
    })
}

impl MembersClient {
    pub fn new(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self {
            client: MemberInternalServiceClient::new(with_credentials(channel, credentials)),
            record_meetings_deadline: RECORD_MEETINGS_DEADLINE,
        }
    }

    /// With `deadline` for each RecordMeetings chunk instead of the default 30 s.
    pub fn with_record_meetings_deadline(mut self, deadline: Duration) -> Self {
        self.record_meetings_deadline = deadline;
        self
    }

    /// Where `member` stands with each of `others` (distinct ids): one GetRelations call per
    /// page of [`RELATIONS_PAGE`] ids, each under its deadline.
    pub async fn relations(&self, member: Uuid, others: &[Uuid]) -> Result<Relations> {
        let mut relations = HashMap::with_capacity(others.len());
        for page in others.chunks(RELATIONS_PAGE) {
            let answer = self
                .client
                .clone()
                .get_relations(request(mpb::GetRelationsRequest {
                    member_id: member.to_string(),
                    other_member_ids: crate::convert::ids_pb(page),
                }))
                .await
                .map_err(|status| unavailable(&status))?
                .into_inner();
            for r in answer.relations {
                let relation = Relation {
                    connected: r.connected,
                    blocked: r.blocked,
                    met_in_person: r.met_in_person,
                };
                relations.insert(peer_id(&r.member_id)?, relation);
            }
        }
        Ok(Relations(relations))
    }

    /// The ids of `member`'s connections (in `city` when it is not empty).
    pub async fn connection_ids(&self, member: Uuid, city: &str) -> Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .client
                .clone()
                .list_connection_ids(request(mpb::ListConnectionIdsRequest {
                    member_id: member.to_string(),
                    city: city.to_owned(),
                    page_size: CONNECTIONS_PAGE,
                    page_token: page_token.clone(),
                }))
                .await
                .map_err(|status| unavailable(&status))?
                .into_inner();
            for id in &page.member_ids {
                ids.push(peer_id(id)?);
            }
            if page.next_page_token.is_empty() || ids.len() > MAX_CONNECTIONS {
                return Ok(ids);
            }
            page_token = page.next_page_token;
        }
    }

    /// `member`'s display name; empty when members knows no such member.
    pub async fn display_name(&self, member: Uuid) -> Result<String> {
        let contacts = self
            .client
            .clone()
            .get_contacts(request(mpb::GetContactsRequest {
                member_ids: vec![member.to_string()],
            }))
            .await
            .map_err(|status| unavailable(&status))?
            .into_inner()
            .contacts;
        Ok(contacts
            .into_iter()
            .find(|c| c.member_id == member.to_string())
            .map(|c| c.display_name)
            .unwrap_or_default())
    }

    /// Records `attendees`, one chunk of the `total` at `event` (see
    /// [`record_meetings_request`]). Members takes at most
    /// [`crate::Settings::meetings_chunk`] (by default its documented 1,000) per call.
    pub async fn record_meetings(
        &self,
        event: &EventRow,
        attendees: &[Uuid],
        total: usize,
        confirm_each: bool,
        hoped: &[(Uuid, Uuid)],
    ) -> std::result::Result<(), PeerFailure> {
        let mut request = request(record_meetings_request(
            event,
            attendees,
            total,
            confirm_each,
            hoped,
        ));
        request.set_timeout(self.record_meetings_deadline);
        self.client
            .clone()
            .record_meetings(request)
            .await
            .map(|_| ())
            .map_err(|status| PeerFailure {
                refused: !matches!(
                    status.code(),
                    tonic::Code::Unavailable
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::Unknown
                        | tonic::Code::Unauthenticated
                        | tonic::Code::ResourceExhausted
                        | tonic::Code::Cancelled
                ),
                error: status.to_string(),
            })
    }
}

/// The RecordMeetings call of `attendees`, one chunk of the `total` at `event`;
/// `confirm_each` when every pair is to be asked whether they met (a coffee); with those of
/// the `hoped` pairs (who hoped to meet each other, of all the event's attendees) that have a
/// member in this chunk, so a pair across two chunks comes with both.
pub fn record_meetings_request(
    event: &EventRow,
    attendees: &[Uuid],
    total: usize,
    confirm_each: bool,
    hoped: &[(Uuid, Uuid)],
) -> mpb::RecordMeetingsRequest {
    let chunk: std::collections::HashSet<&Uuid> = attendees.iter().collect();
    let hoped_pairs = hoped
        .iter()
        .filter(|(a, b)| chunk.contains(a) || chunk.contains(b))
        .map(|(a, b)| mpb::HopedPair {
            member_a: a.to_string(),
            member_b: b.to_string(),
        })
        .collect();
    mpb::RecordMeetingsRequest {
        event_id: event.id.to_string(),
        member_ids: crate::convert::ids_pb(attendees),
        event: Some(crate::notices::event_facts(event)),
        attendee_count: i32::try_from(total).unwrap_or(i32::MAX),
        confirm_each,
        hoped_pairs,
    }
}

/// A call to members that failed: `refused` when members answered and said no to this
/// request (its other requests may well pass), otherwise it was not reachable or did not
/// answer.
#[derive(Debug)]
pub struct PeerFailure {
    pub refused: bool,
    pub error: String,
}
