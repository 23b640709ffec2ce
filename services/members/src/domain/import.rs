//! ImportContacts as the domain sees it: the parsed request, and which of its contacts are
//! which members.

use std::collections::{HashMap, HashSet};

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use uuid::Uuid;

use super::contacts_csv::{self, Contact, CsvError};
use super::fields;
use super::network::MAX_NOTE_CHARS;
use super::profile::Visibility;

/// Largest `Connections.csv` accepted.
pub const MAX_CSV_BYTES: usize = 8 * 1024 * 1024;

/// A valid ImportContacts request, its file parsed.
#[derive(Clone, Debug)]
pub struct ContactImport {
    pub contacts: Vec<Contact>,
    /// Whether to send connection requests to the matches.
    pub send_requests: bool,
    /// The matches to send requests to; empty means all of them.
    pub picked: HashSet<Uuid>,
    /// The note of the requests.
    pub note: String,
}

fn csv_size(data: &[u8]) -> Result<(), FieldViolation> {
    if data.is_empty() {
        return Err(FieldViolation::new("csv_data", "is required"));
    }
    fields::rule(
        data.len() <= MAX_CSV_BYTES,
        "csv_data",
        &format!("must be at most {MAX_CSV_BYTES} bytes"),
    )
}

fn csv_violation(error: CsvError) -> FieldViolation {
    match error {
        CsvError::Malformed { line, message } => {
            FieldViolation::new("csv_data", format!("line {line}: {message}"))
        }
        other => FieldViolation::new("csv_data", other.to_string()),
    }
}

impl ContactImport {
    /// Parses a request whose file may hold at most `max_rows` contacts.
    pub fn parse(
        req: pb::ImportContactsRequest,
        max_rows: usize,
    ) -> Result<Self, Vec<FieldViolation>> {
        let ((), note, picked, ()) = fields::all((
            csv_size(&req.csv_data),
            validate::text("note", &req.note, 0, MAX_NOTE_CHARS, true),
            fields::each(
                req.request_member_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| validate::id(&format!("request_member_ids[{i}]"), id)),
            ),
            fields::rule(
                req.request_member_ids.is_empty() || req.send_requests,
                "request_member_ids",
                "only applies with send_requests",
            ),
        ))?;
        let contacts = contacts_csv::parse_with_limit(&req.csv_data, max_rows)
            .map_err(|e| vec![csv_violation(e)])?;
        Ok(Self {
            contacts,
            send_requests: req.send_requests,
            picked: picked.into_iter().collect(),
            note,
        })
    }
}

/// A live member that an imported contact may be.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    /// Normalised like the contacts' profile URLs.
    pub linkedin_url: Option<String>,
    pub visibility: Visibility,
    pub findable_by_contact_details: bool,
}

impl Candidate {
    /// Whether an importer may find this member: never a PRIVATE profile; otherwise when the
    /// member allows it, or when the importer is already a connection (they know each
    /// other). Blocks are the caller's to check. A member who may not be found is no
    /// candidate at all, so that the response reads exactly as if they were not a member.
    pub fn findable_by(&self, connected_to_importer: bool) -> bool {
        self.visibility != Visibility::Private
            && (self.findable_by_contact_details || connected_to_importer)
    }
}

/// How a contact was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    ProfileUrl,
    Email,
}

/// A contact recognised as a member.
#[derive(Clone, Copy, Debug)]
pub struct Matched<'a> {
    pub member: &'a Candidate,
    pub kind: MatchKind,
    /// The line of the file the contact is on.
    pub line: u64,
}

/// The distinct profile URLs and emails of `contacts`, to look candidates up by.
pub fn lookup_keys(contacts: &[Contact]) -> (Vec<String>, Vec<String>) {
    let mut urls: Vec<String> = contacts
        .iter()
        .filter_map(|c| c.profile_url.clone())
        .collect();
    let mut emails: Vec<String> = contacts.iter().filter_map(|c| c.email.clone()).collect();
    urls.sort_unstable();
    urls.dedup();
    emails.sort_unstable();
    emails.dedup();
    (urls, emails)
}

/// Which contacts are which candidates, the profile URL winning over the email; each member
/// once (at its first contact), `me` never. Also the count of contacts that are nobody.
pub fn match_contacts<'a>(
    contacts: &[Contact],
    candidates: &'a [Candidate],
    me: &str,
) -> (Vec<Matched<'a>>, i64) {
    let by_url: HashMap<&str, &Candidate> = candidates
        .iter()
        .filter_map(|m| m.linkedin_url.as_deref().map(|u| (u, m)))
        .collect();
    let by_email: HashMap<&str, &Candidate> = candidates
        .iter()
        .filter_map(|m| m.email.as_deref().map(|e| (e, m)))
        .collect();
    let mut seen = HashSet::new();
    let mut matched = Vec::new();
    let mut unmatched = 0i64;
    for contact in contacts {
        let hit = contact
            .profile_url
            .as_deref()
            .and_then(|u| by_url.get(u).map(|m| (*m, MatchKind::ProfileUrl)))
            .or_else(|| {
                contact
                    .email
                    .as_deref()
                    .and_then(|e| by_email.get(e).map(|m| (*m, MatchKind::Email)))
            });
        match hit {
            Some((member, kind)) if member.id != me => {
                if seen.insert(member.id.as_str()) {
                    matched.push(Matched {
                        member,
                        kind,
                        line: contact.line,
                    });
                }
            }
            Some(_) => {}
            None => unmatched += 1,
        }
    }
    (matched, unmatched)
}
