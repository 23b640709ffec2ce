//! `MemberInternalService`: what the other services ask of members (contacts, relations,
//! connection ids, recorded meetings, signing keys).

use std::collections::{HashMap, HashSet};

use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::state::Members;
use crate::domain::fields;
use crate::domain::meeting::MeetingRecord;
use crate::domain::profile;
use crate::error::{Error, Result};

/// Most ids one GetRelations call takes (the proto documents it).
pub const GET_RELATIONS_MAX_IDS: usize = 1000;

/// The string form of a list of ids, as the store takes them.
fn id_strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

impl Members {
    pub(super) async fn get_contacts(
        &self,
        request: Request<pb::GetContactsRequest>,
    ) -> Result<pb::GetContactsResponse> {
        let ids = id_strings(&fields::unique_ids(
            "member_ids",
            &request.get_ref().member_ids,
            1000,
        )?);
        let rows = self.0.store.contacts(&ids).await?;
        Ok(pb::GetContactsResponse {
            contacts: rows
                .into_iter()
                .map(|c| pb::Contact {
                    member_id: c.id,
                    display_name: if c.deleted {
                        "deleted member".to_owned()
                    } else {
                        c.display_name
                    },
                    email: c.email.unwrap_or_default(),
                    locale: c.locale,
                    time_zone: c.time_zone,
                    deleted: c.deleted,
                })
                .collect(),
        })
    }

    pub(super) async fn get_relations(
        &self,
        request: Request<pb::GetRelationsRequest>,
    ) -> Result<pb::GetRelationsResponse> {
        let req = request.into_inner();
        let (member, others) = fields::all((
            validate::id("member_id", &req.member_id),
            fields::unique_ids(
                "other_member_ids",
                &req.other_member_ids,
                GET_RELATIONS_MAX_IDS,
            ),
        ))?;
        let mut found: HashMap<String, (bool, bool, bool)> = self
            .0
            .store
            .relations(member, &others)
            .await?
            .into_iter()
            .map(|(id, connected, blocked, met)| (id, (connected, blocked, met)))
            .collect();
        let relations = others
            .iter()
            .map(|other| {
                let member_id = other.to_string();
                let (connected, blocked, met_in_person) =
                    found.remove(&member_id).unwrap_or_default();
                pb::Relation {
                    member_id,
                    connected,
                    blocked,
                    met_in_person,
                }
            })
            .collect();
        Ok(pb::GetRelationsResponse { relations })
    }

    pub(super) async fn list_connection_ids(
        &self,
        request: Request<pb::ListConnectionIdsRequest>,
    ) -> Result<pb::ListConnectionIdsResponse> {
        let req = request.into_inner();
        let (member, city, limit, after) = fields::all((
            validate::id("member_id", &req.member_id),
            profile::city("city", &req.city),
            page_size(req.page_size, 1000, 10_000),
            self.cursor::<String>("ListConnectionIds", &req.page_token),
        ))?;
        let city = Some(city)
            .filter(|c| !c.is_empty())
            .map(|c| c.to_lowercase());
        let mut ids = self
            .0
            .store
            .connection_ids(member, city.as_deref(), after.as_deref(), limit + 1)
            .await?;
        let next = next_page_token(&mut ids, limit, |id| {
            self.0.page_tokens.encode("ListConnectionIds", id)
        });
        Ok(pb::ListConnectionIdsResponse {
            member_ids: ids,
            next_page_token: next,
        })
    }

    pub(super) async fn record_meetings(
        &self,
        request: Request<pb::RecordMeetingsRequest>,
    ) -> Result<pb::RecordMeetingsResponse> {
        let per_call = self.0.settings.recorded_attendees_per_call;
        let request = request.into_inner();
        // Where each pair must say they met (a coffee), no event is small enough to mark
        // connected pairs met at once.
        let small_event_max = if request.confirm_each {
            0
        } else {
            self.0.settings.small_event_max
        };
        let MeetingRecord {
            event,
            attendees,
            total,
            hoped,
        } = MeetingRecord::try_from((request, per_call))?;
        let ids = id_strings(&attendees);
        let live: HashSet<String> = self
            .0
            .store
            .contacts(&ids)
            .await?
            .into_iter()
            .filter(|c| !c.deleted)
            .map(|c| c.id)
            .collect();
        let live: Vec<String> = ids
            .iter()
            .filter(|id| live.contains(*id))
            .cloned()
            .collect();
        let hoped: Vec<(String, String)> = hoped
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let outcome = self
            .0
            .store
            .record_meetings(
                &event,
                total,
                &ids,
                &live,
                &hoped,
                small_event_max,
                self.now(),
            )
            .await?;
        Ok(pb::RecordMeetingsResponse {
            pairs_recorded: outcome.pairs,
            pairs_met: outcome.met,
            already_recorded: outcome.already_recorded,
        })
    }

    pub(super) async fn count_unmet_connections(
        &self,
        request: Request<pb::CountUnmetConnectionsRequest>,
    ) -> Result<pb::CountUnmetConnectionsResponse> {
        let req = request.into_inner();
        let (member, ids) = fields::all((
            validate::id("member_id", &req.member_id),
            fields::unique_ids("member_ids", &req.member_ids, 10_000),
        ))?;
        let connected = self
            .0
            .store
            .connected_among(member, &id_strings(&ids))
            .await?;
        let met: HashSet<String> = self
            .0
            .store
            .met_among(member, &connected)
            .await?
            .into_iter()
            .collect();
        let count = connected.iter().filter(|id| !met.contains(*id)).count();
        Ok(pb::CountUnmetConnectionsResponse {
            count: i64::try_from(count).unwrap_or(i64::MAX),
        })
    }

    pub(super) async fn get_signing_keys(
        &self,
        _request: Request<pb::GetSigningKeysRequest>,
    ) -> Result<pb::GetSigningKeysResponse> {
        let key = self.0.issuer.public_key();
        Ok(pb::GetSigningKeysResponse {
            keys: vec![pb::SigningKey {
                key_id: key.key_id(),
                algorithm: "EdDSA".to_owned(),
                public_key_pem: key.to_pem().map_err(|e| Error::Internal(e.to_string()))?,
            }],
        })
    }
}
