//! ImportContacts: a LinkedIn `Connections.csv` matched against members, with optional
//! connection requests to the matches.

use std::collections::HashSet;

use rendezvous_proto::members::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::state::{Members, member_caller};
use crate::domain::import::{ContactImport, MatchKind, lookup_keys, match_contacts};
use crate::error::Result;

impl Members {
    pub(super) async fn import_contacts(
        &self,
        request: Request<pb::ImportContactsRequest>,
    ) -> Result<pb::ImportContactsResponse> {
        let (me, _) = member_caller(&request)?;
        let import = ContactImport::try_from(request.into_inner())?;
        let (urls, emails) = lookup_keys(&import.contacts);
        let candidates = self.0.store.match_contacts(&urls, &emails).await?;
        let me_str = me.to_string();
        let (mut matched, mut unmatched) = match_contacts(&import.contacts, &candidates, &me_str);
        let ids: Vec<String> = matched.iter().map(|m| m.member.id.clone()).collect();
        let blocked: HashSet<String> = self
            .0
            .store
            .blocked_among(me, &ids)
            .await?
            .into_iter()
            .collect();
        matched.retain(|m| {
            let hidden = blocked.contains(&m.member.id);
            if hidden {
                unmatched += 1;
            }
            !hidden
        });
        let ids: Vec<String> = matched.iter().map(|m| m.member.id.clone()).collect();
        let connected: HashSet<String> = self
            .0
            .store
            .connected_among(me, &ids)
            .await?
            .into_iter()
            .collect();
        let picked: HashSet<String> = import.picked.iter().map(Uuid::to_string).collect();
        let sent: HashSet<String> = if import.send_requests {
            let targets: Vec<String> = ids
                .iter()
                .filter(|id| {
                    !connected.contains(*id) && (picked.is_empty() || picked.contains(*id))
                })
                .cloned()
                .collect();
            self.0
                .store
                .request_many(me, &targets, &import.note, self.now())
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        Ok(pb::ImportContactsResponse {
            matched: matched
                .into_iter()
                .map(|m| pb::MatchedContact {
                    member_id: m.member.id.clone(),
                    display_name: m.member.display_name.clone(),
                    match_kind: match m.kind {
                        MatchKind::ProfileUrl => pb::MatchKind::ProfileUrl,
                        MatchKind::Email => pb::MatchKind::Email,
                    }
                    .into(),
                    line: i64::try_from(m.line).unwrap_or(i64::MAX),
                    connected: connected.contains(&m.member.id),
                    request_sent: sent.contains(&m.member.id),
                })
                .collect(),
            unmatched_count: unmatched,
            total_contacts: i64::try_from(import.contacts.len()).unwrap_or(i64::MAX),
            requests_sent: i64::try_from(sent.len()).unwrap_or(i64::MAX),
        })
    }
}
