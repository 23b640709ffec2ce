//! ImportContacts: a LinkedIn `Connections.csv` matched against members, with optional
//! connection requests to the matches.

use std::collections::HashSet;

use rendezvous_proto::members::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::state::{Members, member_caller};
use crate::domain::import::{ContactImport, MatchKind, lookup_keys, match_contacts};
use crate::error::{Error, Result};
use crate::store::SentRequests;

impl Members {
    pub(super) async fn import_contacts(
        &self,
        request: Request<pb::ImportContactsRequest>,
    ) -> Result<pb::ImportContactsResponse> {
        let (me, _) = member_caller(&request)?;
        let outreach = &self.0.settings.outreach;
        let import = ContactImport::parse(request.into_inner(), outreach.contacts_per_import)?;
        if let Err(wait) = self
            .0
            .store
            .take_hits(&[outreach.import(me)], self.now())
            .await?
        {
            return Err(Error::rate_limited(wait));
        }
        let (urls, emails) = lookup_keys(&import.contacts);
        let mut candidates = self.0.store.match_contacts(&urls, &emails).await?;
        // Who may not be found is no candidate at all: the contact then reads as "not a
        // member", counted the same, whatever the reason.
        let mut ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let blocked: HashSet<String> = self
            .0
            .store
            .blocked_among(me, &ids)
            .await?
            .into_iter()
            .collect();
        let connected: HashSet<String> = self
            .0
            .store
            .connected_among(me, &ids)
            .await?
            .into_iter()
            .collect();
        candidates.retain(|c| !blocked.contains(&c.id) && c.findable_by(connected.contains(&c.id)));
        let me_str = me.to_string();
        let (matched, unmatched) = match_contacts(&import.contacts, &candidates, &me_str);
        let ids: Vec<String> = matched.iter().map(|m| m.member.id.clone()).collect();
        let picked: HashSet<String> = import.picked.iter().map(Uuid::to_string).collect();
        let sent: HashSet<String> = if import.send_requests {
            let targets: Vec<String> = ids
                .iter()
                .filter(|id| {
                    !connected.contains(*id) && (picked.is_empty() || picked.contains(*id))
                })
                .cloned()
                .collect();
            let limits = outreach.requests_of(me);
            match self
                .0
                .store
                .request_many(me, &targets, &import.note, &limits, self.now())
                .await?
            {
                SentRequests::Sent(sent) => sent.into_iter().collect(),
                SentRequests::RateLimited(wait) => return Err(Error::rate_limited(wait)),
            }
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
