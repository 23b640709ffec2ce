//! Recipients' contact details (display name, email, locale, time zone) from the members
//! service's `GetContacts`, cached briefly so a burst of notifications asks once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rendezvous_common::auth::ServiceCredentials;
use rendezvous_common::peers::{PeerChannel, with_credentials};
use rendezvous_proto::members::v1::GetContactsRequest;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::error::{Error, Result};

/// Deadline of one `GetContacts` call.
const CONTACTS_TIMEOUT: Duration = Duration::from_secs(10);

/// What notifications need to know about a recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub member_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub locale: String,
    pub time_zone: String,
    pub deleted: bool,
}

#[derive(Clone)]
pub struct Contacts {
    client: MemberInternalServiceClient<PeerChannel>,
    cache: Arc<Mutex<HashMap<Uuid, (Instant, Contact)>>>,
    ttl: Duration,
}

impl Contacts {
    pub fn new(channel: Channel, credentials: ServiceCredentials, ttl: Duration) -> Self {
        Self {
            client: MemberInternalServiceClient::new(with_credentials(channel, credentials)),
            cache: Arc::new(Mutex::new(HashMap::new())),
            ttl,
        }
    }

    /// Contacts of `ids` that exist; unknown ids are simply absent.
    pub async fn get(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Contact>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for id in ids {
                match cache.get(id) {
                    Some((at, contact)) if at.elapsed() < self.ttl => {
                        found.insert(*id, contact.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(1000) {
            let mut request = tonic::Request::new(GetContactsRequest {
                member_ids: chunk.iter().map(Uuid::to_string).collect(),
            });
            request.set_timeout(CONTACTS_TIMEOUT);
            let contacts = self
                .client
                .clone()
                .get_contacts(request)
                .await
                .map_err(Error::ContactsUnavailable)?
                .into_inner()
                .contacts;
            let now = Instant::now();
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() > 100_000 {
                cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
            }
            for c in contacts {
                let Ok(member_id) = Uuid::try_parse(&c.member_id) else {
                    tracing::warn!(member_id = %c.member_id, "members sent a contact with a malformed id");
                    continue;
                };
                let contact = Contact {
                    member_id,
                    display_name: c.display_name,
                    email: c.email,
                    locale: c.locale,
                    time_zone: c.time_zone,
                    deleted: c.deleted,
                };
                cache.insert(member_id, (now, contact.clone()));
                found.insert(member_id, contact);
            }
        }
        Ok(found)
    }
}
