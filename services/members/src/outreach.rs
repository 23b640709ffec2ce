//! The limits on reaching other members, stored like the sign-in limits (see
//! [`crate::store::Budget`]) so that they hold across replicas and restarts:
//!
//! - **contacts per import** (10,000): ImportContacts is a look-up of who is a member, so
//!   one call reads at most this many rows (more is INVALID_ARGUMENT naming `csv_data`);
//! - **imports per member per day** (10): taken once the request is valid, before anything is
//!   looked up;
//! - **connection requests per member per week** (200), RequestConnection and the requests
//!   of imports together, like the invitation cap in events. A request spends its hit in the
//!   transaction that sends it; an import's requests are all sent or none (nothing
//!   half-written): when they would spend more than is left, none is sent and the refusal
//!   says when there is room for them all;
//! - **re-request cooldown** (30 days): after a member declines a request, its requester may
//!   not ask them again for this long (the member may still ask the requester at any time).
//!   Only the requester ever sees it: third parties' requests are not touched.
//!
//! Keys are the member's id: nothing about anyone else is in them.

use chrono::Duration;
use uuid::Uuid;

use crate::store::{Budget, Hit, RequestLimits};

/// The limits; each is a setting (README, "Security").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutreachPolicy {
    /// Contacts one ImportContacts call may hold.
    pub contacts_per_import: usize,
    /// ImportContacts calls per member.
    pub imports: Budget,
    /// New connection requests per member, by RequestConnection and imports together.
    pub requests: Budget,
    /// How long after a decline its requester may not ask the same member again.
    pub re_request_cooldown: Duration,
}

impl Default for OutreachPolicy {
    fn default() -> Self {
        Self {
            contacts_per_import: 10_000,
            imports: Budget {
                max: 10,
                window: Duration::days(1),
            },
            requests: Budget {
                max: 200,
                window: Duration::weeks(1),
            },
            re_request_cooldown: Duration::days(30),
        }
    }
}

impl OutreachPolicy {
    /// The hit one import of `member` takes.
    pub fn import(&self, member: Uuid) -> Hit {
        Hit {
            key: format!("import:{member}"),
            budget: self.imports,
        }
    }

    /// What limits the connection requests of `member`.
    pub fn requests_of(&self, member: Uuid) -> RequestLimits {
        RequestLimits {
            budget: Hit {
                key: format!("connection-requests:{member}"),
                budget: self.requests,
            },
            cooldown: self.re_request_cooldown,
        }
    }
}
