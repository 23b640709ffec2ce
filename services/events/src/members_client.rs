//! The members service's internal API as events calls it: connections and blocks for
//! invitations and attendee lists, display names for notices, and the meetings of a completed
//! event. Every call carries this service's credential (through [`PeerChannel`]) and a deadline.

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
/// Connection ids read per page, and at most in all.
const CONNECTIONS_PAGE: i32 = 1000;
const MAX_CONNECTIONS: usize = 100_000;

/// A client of `MemberInternalService`; clone-cheap.
#[derive(Clone)]
pub struct MembersClient {
    client: MemberInternalServiceClient<PeerChannel>,
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
        }
    }

    pub async fn are_connected(&self, a: Uuid, b: Uuid) -> Result<mpb::AreConnectedResponse> {
        self.client
            .clone()
            .are_connected(request(mpb::AreConnectedRequest {
                member_id: a.to_string(),
                other_member_id: b.to_string(),
            }))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| unavailable(&status))
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

    pub async fn count_unmet(&self, member: Uuid, ids: &[Uuid]) -> Result<i64> {
        self.client
            .clone()
            .count_unmet_connections(request(mpb::CountUnmetConnectionsRequest {
                member_id: member.to_string(),
                member_ids: crate::convert::ids_pb(ids),
            }))
            .await
            .map(|r| r.into_inner().count)
            .map_err(|status| unavailable(&status))
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

    pub async fn record_meetings(&self, event: &EventRow, ids: &[Uuid]) -> Result<()> {
        self.client
            .clone()
            .record_meetings(request(mpb::RecordMeetingsRequest {
                event_id: event.id.to_string(),
                member_ids: crate::convert::ids_pb(ids),
                event: Some(crate::notices::event_facts(event)),
            }))
            .await
            .map(|_| ())
            .map_err(|status| unavailable(&status))
    }
}
