//! ImportContacts: a LinkedIn `Connections.csv` matched against members, with optional
//! connection requests to the matches.

use std::collections::{HashMap, HashSet};

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::members::v1 as pb;
use tonic::Request;

use super::{Members, member_caller};
use crate::domain::contacts_csv::{self, CsvError};
use crate::error::{Error, Result};

/// Largest `Connections.csv` accepted.
pub const MAX_CSV_BYTES: usize = 8 * 1024 * 1024;

impl Members {
    pub(super) async fn import_contacts(
        &self,
        request: Request<pb::ImportContactsRequest>,
    ) -> Result<pb::ImportContactsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        if req.csv_data.is_empty() {
            v.push(FieldViolation::new("csv_data", "is required"));
        } else if req.csv_data.len() > MAX_CSV_BYTES {
            v.push(FieldViolation::new(
                "csv_data",
                format!("must be at most {MAX_CSV_BYTES} bytes"),
            ));
        }
        let note = v
            .check(validate::text("note", &req.note, 0, 500, true))
            .unwrap_or_default();
        let mut picked = HashSet::new();
        for (i, id) in req.request_member_ids.iter().enumerate() {
            if let Some(id) = v.check(validate::id(&format!("request_member_ids[{i}]"), id)) {
                picked.insert(id.to_string());
            }
        }
        if !req.request_member_ids.is_empty() && !req.send_requests {
            v.push(FieldViolation::new(
                "request_member_ids",
                "only applies with send_requests",
            ));
        }
        v.finish()?;
        let contacts = contacts_csv::parse_connections_csv(&req.csv_data).map_err(|e| match e {
            CsvError::Malformed { line, message } => {
                Error::field("csv_data", format!("line {line}: {message}"))
            }
            other => Error::field("csv_data", other.to_string()),
        })?;
        let mut urls: Vec<String> = contacts
            .iter()
            .filter_map(|c| c.profile_url.clone())
            .collect();
        let mut emails: Vec<String> = contacts.iter().filter_map(|c| c.email.clone()).collect();
        urls.sort_unstable();
        urls.dedup();
        emails.sort_unstable();
        emails.dedup();
        let matches = self.0.store.match_contacts(&urls, &emails).await?;
        let me_str = me.to_string();
        let by_url: HashMap<&str, usize> = matches
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.linkedin_url.as_deref().map(|u| (u, i)))
            .collect();
        let by_email: HashMap<&str, usize> = matches
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.email.as_deref().map(|e| (e, i)))
            .collect();
        let mut seen = HashSet::new();
        let mut matched: Vec<(usize, pb::MatchKind, u64)> = Vec::new();
        let mut unmatched = 0i64;
        for contact in &contacts {
            let hit = contact
                .profile_url
                .as_deref()
                .and_then(|u| by_url.get(u).map(|i| (*i, pb::MatchKind::ProfileUrl)))
                .or_else(|| {
                    contact
                        .email
                        .as_deref()
                        .and_then(|e| by_email.get(e).map(|i| (*i, pb::MatchKind::Email)))
                });
            match hit {
                Some((i, kind)) if matches[i].id != me_str => {
                    if seen.insert(matches[i].id.clone()) {
                        matched.push((i, kind, contact.line));
                    }
                }
                Some(_) => {}
                None => unmatched += 1,
            }
        }
        let ids: Vec<String> = matched
            .iter()
            .map(|(i, _, _)| matches[*i].id.clone())
            .collect();
        let blocked: HashSet<String> = self
            .0
            .store
            .blocked_among(&me_str, &ids)
            .await?
            .into_iter()
            .collect();
        matched.retain(|(i, _, _)| {
            let hidden = blocked.contains(&matches[*i].id);
            if hidden {
                unmatched += 1;
            }
            !hidden
        });
        let ids: Vec<String> = matched
            .iter()
            .map(|(i, _, _)| matches[*i].id.clone())
            .collect();
        let connected: HashSet<String> = self
            .0
            .store
            .connected_among(&me_str, &ids)
            .await?
            .into_iter()
            .collect();
        let sent: HashSet<String> = if req.send_requests {
            let targets: Vec<String> = ids
                .iter()
                .filter(|id| {
                    !connected.contains(*id) && (picked.is_empty() || picked.contains(*id))
                })
                .cloned()
                .collect();
            self.0
                .store
                .request_many(&me_str, &targets, &note, self.now())
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let requests_sent = i64::try_from(sent.len()).unwrap_or(i64::MAX);
        Ok(pb::ImportContactsResponse {
            matched: matched
                .into_iter()
                .map(|(i, kind, line)| pb::MatchedContact {
                    member_id: matches[i].id.clone(),
                    display_name: matches[i].display_name.clone(),
                    match_kind: kind.into(),
                    line: i64::try_from(line).unwrap_or(i64::MAX),
                    connected: connected.contains(&matches[i].id),
                    request_sent: sent.contains(&matches[i].id),
                })
                .collect(),
            unmatched_count: unmatched,
            total_contacts: i64::try_from(contacts.len()).unwrap_or(i64::MAX),
            requests_sent,
        })
    }
}
