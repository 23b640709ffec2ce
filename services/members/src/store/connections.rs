//! Connections between members and the requests that lead to them.
//!
//! Every decision on one pair's requests and connection holds the pair's advisory lock, so two
//! crossing requests can never leave a pending request beside a connection.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks};
use rendezvous_common::outbox::OutboxWriter;
use rendezvous_common::with_db;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};
use uuid::Uuid;

use super::coffee_proposals::CoffeeEnding as _;
use super::db::{Store, ordered, stored_id};
use super::limits::{BudgetOps as _, Hit, lock_budget};
use crate::domain::network::{
    self, Direction, MetFilter, Relation, RequestChange, RequestDecision, RequestSide, RequestState,
};
use crate::notices;

/// A connection request as stored.
#[derive(Clone, Debug)]
pub struct RequestRow {
    pub id: String,
    pub requester_id: String,
    pub addressee_id: String,
    pub note: String,
    pub state: RequestState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub other_display_name: String,
}

pub(crate) type RequestTuple = (
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
);

impl TryFrom<RequestTuple> for RequestRow {
    type Error = sqlx::Error;

    fn try_from(t: RequestTuple) -> Result<Self, sqlx::Error> {
        let state = RequestState::from_stored(&t.4).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown request state {:?}", t.4).into())
        })?;
        Ok(Self {
            id: t.0,
            requester_id: t.1,
            addressee_id: t.2,
            note: t.3,
            state,
            created_at: t.5,
            updated_at: t.6,
            other_display_name: t.7,
        })
    }
}

#[derive(Clone, Debug)]
pub enum RequestOutcome {
    /// A new pending request.
    Sent(RequestRow),
    /// The addressee had already asked: the two are now connected.
    Accepted(RequestRow),
    AlreadyConnected,
    AlreadyRequested,
    /// The addressee does not exist, is deleted, or blocks the requester.
    NotFound,
    /// The requester blocks the addressee.
    RequesterBlocks,
    /// The addressee declined the requester's last request this long ago, less than the
    /// cooldown: the wait until the requester may ask again.
    CoolingDown(Duration),
    /// The requester has spent their weekly requests: the wait until one more is allowed.
    RateLimited(Duration),
}

/// What limits a member's connection requests.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    /// The requester's weekly budget of new requests (RequestConnection and imports).
    pub budget: Hit,
    /// How long after the addressee declined a request the requester may not ask again.
    pub cooldown: Duration,
}

/// What an import's requests came to.
#[derive(Clone, Debug)]
pub enum SentRequests {
    /// The ids that got a new request (or were connected at once).
    Sent(Vec<String>),
    /// They would spend more than the requester's weekly budget: none was sent, and this is
    /// the wait until the budget has room for them all.
    RateLimited(Duration),
}

#[derive(Clone, Debug)]
pub enum RespondOutcome {
    Done(RequestRow),
    NotFound,
    NotYours,
    NotPending,
}

/// One of a member's connections.
#[derive(Clone, Debug)]
pub struct ConnectionRow {
    pub member_id: String,
    pub display_name: String,
    pub headline: String,
    pub city: String,
    pub created_at: DateTime<Utc>,
    pub met_event_id: Option<String>,
    pub met_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub connections: i64,
    pub met: i64,
    pub pending_incoming: i64,
    pub pending_outgoing: i64,
}

/// Steps on a pair's requests and connection that several transactions share.
pub trait ConnectionOps: OutboxWriter + Locks {
    fn relation(
        &mut self,
        viewer: &str,
        other: &str,
    ) -> impl Future<Output = Result<Relation, sqlx::Error>> + Send;

    /// A request the caller is party to (`None` for anyone else's, so existence stays private).
    fn load_request(
        &mut self,
        id: &str,
        caller: &str,
    ) -> impl Future<Output = Result<Option<RequestRow>, sqlx::Error>> + Send;

    /// The request `id` if `caller` may change it acting as `side`, else the refusal.
    fn request_to_change(
        &mut self,
        id: &str,
        caller: &str,
        side: RequestSide,
    ) -> impl Future<Output = Result<RespondOutcome, sqlx::Error>> + Send;

    fn set_request_state(
        &mut self,
        id: &str,
        state: RequestState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Connects the pair of a pending request and tells the requester.
    fn accept_request(
        &mut self,
        request: &RequestRow,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<RequestRow>, sqlx::Error>> + Send;

    /// Sends a request unless the pair's state or the cooldown refuses it; the weekly budget
    /// is the caller's to spend.
    fn request_connection(
        &mut self,
        requester: &str,
        addressee: &str,
        note: &str,
        cooldown: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RequestOutcome, sqlx::Error>> + Send;

    /// How long until `requester` may ask `addressee` again after their last decline; `None`
    /// when they may now.
    fn cooldown_left(
        &mut self,
        requester: &str,
        addressee: &str,
        cooldown: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Duration>, sqlx::Error>> + Send;
}

macro_rules! impl_connection_ops {
    ($conn:ty) => {
        impl ConnectionOps for $conn {
            async fn relation(&mut self, viewer: &str, other: &str) -> Result<Relation, sqlx::Error> {
                let (a, b) = ordered(viewer, other);
                let (connected, viewer_blocks, blocks_viewer, sent, received, met) =
                    sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(
                        "SELECT \
                           (SELECT COUNT(*) FROM connections WHERE member_a = $1 AND member_b = $2), \
                           (SELECT COUNT(*) FROM blocks WHERE blocker_id = $3 AND blocked_id = $4), \
                           (SELECT COUNT(*) FROM blocks WHERE blocker_id = $4 AND blocked_id = $3), \
                           (SELECT COUNT(*) FROM connection_requests WHERE requester_id = $3 AND addressee_id = $4 AND state = 'pending'), \
                           (SELECT COUNT(*) FROM connection_requests WHERE requester_id = $4 AND addressee_id = $3 AND state = 'pending'), \
                           (SELECT COUNT(*) FROM met_edges WHERE member_a = $1 AND member_b = $2)",
                    )
                    .bind(a)
                    .bind(b)
                    .bind(viewer)
                    .bind(other)
                    .fetch_one(&mut *self)
                    .await?;
                Ok(Relation {
                    connected: connected > 0,
                    viewer_blocks: viewer_blocks > 0,
                    blocks_viewer: blocks_viewer > 0,
                    request_sent: sent > 0,
                    request_received: received > 0,
                    met: met > 0,
                })
            }

            async fn load_request(
                &mut self,
                id: &str,
                caller: &str,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                sqlx::query_as::<_, RequestTuple>(
                    "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
                     FROM connection_requests r JOIN members m \
                       ON m.id = CASE WHEN r.requester_id = $2 THEN r.addressee_id ELSE r.requester_id END \
                     WHERE r.id = $1 AND (r.requester_id = $2 OR r.addressee_id = $2)",
                )
                .bind(id)
                .bind(caller)
                .fetch_optional(&mut *self)
                .await
                .and_then(|row| row.map(RequestRow::try_from).transpose())
            }

            async fn request_to_change(
                &mut self,
                id: &str,
                caller: &str,
                side: RequestSide,
            ) -> Result<RespondOutcome, sqlx::Error> {
                let Some(request) = self.load_request(id, caller).await? else {
                    return Ok(RespondOutcome::NotFound);
                };
                let change = network::request_change(
                    side,
                    caller,
                    &request.requester_id,
                    &request.addressee_id,
                    request.state,
                );
                Ok(match change {
                    RequestChange::Allowed => RespondOutcome::Done(request),
                    RequestChange::OtherSide => RespondOutcome::NotYours,
                    RequestChange::Hidden => RespondOutcome::NotFound,
                    RequestChange::NotPending => RespondOutcome::NotPending,
                })
            }

            async fn set_request_state(
                &mut self,
                id: &str,
                state: RequestState,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE connection_requests SET state = $2, pending_pair = NULL, updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(state.as_str())
                .bind(now)
                .execute(&mut *self)
                .await
                .map(|_| ())
            }

            async fn accept_request(
                &mut self,
                request: &RequestRow,
                now: DateTime<Utc>,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                let (a, b) = ordered(&request.requester_id, &request.addressee_id);
                sqlx::query(
                    "INSERT INTO connections (member_a, member_b, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (member_a, member_b) DO NOTHING",
                )
                .bind(a)
                .bind(b)
                .bind(now)
                .execute(&mut *self)
                .await?;
                self.set_request_state(&request.id, RequestState::Accepted, now).await?;
                let addressee_name: String =
                    sqlx::query_scalar("SELECT display_name FROM members WHERE id = $1")
                        .bind(&request.addressee_id)
                        .fetch_one(&mut *self)
                        .await?;
                let message = notices::connection_accepted(
                    stored_id(&request.requester_id)?,
                    &request.id,
                    notices::member_facts(&request.addressee_id, &addressee_name),
                );
                self.enqueue(&message, now).await?;
                self.load_request(&request.id, &request.addressee_id).await
            }

            async fn request_connection(
                &mut self,
                requester: &str,
                addressee: &str,
                note: &str,
                cooldown: Duration,
                now: DateTime<Utc>,
            ) -> Result<RequestOutcome, sqlx::Error> {
                let (a, b) = ordered(requester, addressee);
                self.advisory_lock(&format!("connection-pair:{a}|{b}")).await?;
                let live: Option<String> = sqlx::query_scalar(
                    "SELECT display_name FROM members WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(addressee)
                .fetch_optional(&mut *self)
                .await?;
                let Some(_) = live else {
                    return Ok(RequestOutcome::NotFound);
                };
                let decision = network::request_decision(self.relation(requester, addressee).await?);
                match decision {
                    RequestDecision::Hidden => return Ok(RequestOutcome::NotFound),
                    RequestDecision::RequesterBlocks => return Ok(RequestOutcome::RequesterBlocks),
                    RequestDecision::AlreadyConnected => return Ok(RequestOutcome::AlreadyConnected),
                    RequestDecision::AlreadyRequested => return Ok(RequestOutcome::AlreadyRequested),
                    RequestDecision::AcceptTheirs | RequestDecision::Send => {}
                }
                if decision == RequestDecision::AcceptTheirs {
                    let pending_id: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM connection_requests WHERE pending_pair = $1",
                    )
                    .bind(format!("{a}|{b}"))
                    .fetch_optional(&mut *self)
                    .await?;
                    if let Some(id) = pending_id {
                        if let Some(request) = self.load_request(&id, requester).await? {
                            return Ok(self
                                .accept_request(&request, now)
                                .await?
                                .map_or(RequestOutcome::NotFound, RequestOutcome::Accepted));
                        }
                    }
                }
                // Only a new request waits: the addressee answering with a request of their
                // own is never held back.
                if let Some(wait) = self.cooldown_left(requester, addressee, cooldown, now).await? {
                    return Ok(RequestOutcome::CoolingDown(wait));
                }
                let id = Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO connection_requests \
                     (id, requester_id, addressee_id, note, state, pending_pair, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)",
                )
                .bind(&id)
                .bind(requester)
                .bind(addressee)
                .bind(note)
                .bind(format!("{a}|{b}"))
                .bind(now)
                .execute(&mut *self)
                .await?;
                let requester_name: String =
                    sqlx::query_scalar("SELECT display_name FROM members WHERE id = $1")
                        .bind(requester)
                        .fetch_one(&mut *self)
                        .await?;
                let message = notices::connection_requested(
                    stored_id(addressee)?,
                    &id,
                    notices::member_facts(requester, &requester_name),
                    note,
                );
                self.enqueue(&message, now).await?;
                Ok(self
                    .load_request(&id, requester)
                    .await?
                    .map_or(RequestOutcome::NotFound, RequestOutcome::Sent))
            }

            async fn cooldown_left(
                &mut self,
                requester: &str,
                addressee: &str,
                cooldown: Duration,
                now: DateTime<Utc>,
            ) -> Result<Option<Duration>, sqlx::Error> {
                let declined: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT MAX(updated_at) FROM connection_requests \
                     WHERE requester_id = $1 AND addressee_id = $2 AND state = 'declined'",
                )
                .bind(requester)
                .bind(addressee)
                .fetch_one(&mut *self)
                .await?;
                Ok(declined
                    .map(|at| at + cooldown - now)
                    .filter(|wait| *wait > Duration::zero()))
            }
        }
    };
}

impl_connection_ops!(SqliteConnection);
impl_connection_ops!(PgConnection);

impl Store {
    pub async fn relation(&self, viewer: Uuid, other: Uuid) -> Result<Relation, sqlx::Error> {
        let viewer = &*viewer.to_string();
        let other = &*other.to_string();
        with_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            conn.relation(viewer, other).await
        })
    }

    /// Sends one request within `limits`; a new request spends one of the weekly budget in
    /// the same transaction.
    pub async fn request_connection(
        &self,
        requester: Uuid,
        addressee: Uuid,
        note: &str,
        limits: &RequestLimits,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome, sqlx::Error> {
        let requester = &*requester.to_string();
        let addressee = &*addressee.to_string();
        let attempt = Uuid::now_v7().to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // The budget's lock before any pair's, as every request takes them.
            lock_budget(&mut *tx, &limits.budget.key).await?;
            let outcome = tx
                .request_connection(requester, addressee, note, limits.cooldown, now)
                .await?;
            if let RequestOutcome::Sent(_) = outcome {
                if let Some(wait) = tx.wait_for(&limits.budget, 1, now).await? {
                    return Ok(RequestOutcome::RateLimited(wait));
                }
                tx.add_hits(&limits.budget, 1, &attempt, now).await?;
            }
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// Accepts or declines a pending request addressed to `caller`.
    pub async fn respond(
        &self,
        caller: Uuid,
        request_id: Uuid,
        accept: bool,
        now: DateTime<Utc>,
    ) -> Result<RespondOutcome, sqlx::Error> {
        let caller = &*caller.to_string();
        let request_id = &*request_id.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let side = RequestSide::Addressee;
            let request = match tx.request_to_change(request_id, caller, side).await? {
                RespondOutcome::Done(request) => request,
                refused => return Ok(refused),
            };
            let done = if accept {
                tx.accept_request(&request, now).await?
            } else {
                tx.set_request_state(request_id, RequestState::Declined, now)
                    .await?;
                tx.load_request(request_id, caller).await?
            };
            tx.commit().await?;
            Ok(done.map_or(RespondOutcome::NotFound, RespondOutcome::Done))
        })
    }

    /// The requester withdraws a pending request.
    pub async fn withdraw(
        &self,
        caller: Uuid,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<RespondOutcome, sqlx::Error> {
        let caller = &*caller.to_string();
        let request_id = &*request_id.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let side = RequestSide::Requester;
            match tx.request_to_change(request_id, caller, side).await? {
                RespondOutcome::Done(_) => {}
                refused => return Ok(refused),
            }
            tx.set_request_state(request_id, RequestState::Withdrawn, now)
                .await?;
            let done = tx.load_request(request_id, caller).await?;
            tx.commit().await?;
            Ok(done.map_or(RespondOutcome::NotFound, RespondOutcome::Done))
        })
    }

    pub async fn remove_connection(
        &self,
        a: Uuid,
        b: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let a = &*a.to_string();
        let b = &*b.to_string();
        let (a, b) = ordered(a, b);
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let removed =
                sqlx::query("DELETE FROM connections WHERE member_a = $1 AND member_b = $2")
                    .bind(a)
                    .bind(b)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
            if removed {
                tx.end_coffee_between(a, b, now).await?;
            }
            tx.commit().await?;
            Ok(removed)
        })
    }

    /// A member's connections, newest first; the cursor is `(created_at, other id)`.
    pub async fn connections(
        &self,
        owner: Uuid,
        filter: MetFilter,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<ConnectionRow>, sqlx::Error> {
        let owner = &*owner.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT c.other_id, m.display_name, m.headline, m.city, c.created_at, e.event_id, e.met_at FROM (\
                 SELECT member_a, member_b, member_b AS other_id, created_at FROM connections WHERE member_a = ",
            );
            qb.push_bind(owner);
            qb.push(" UNION ALL SELECT member_a, member_b, member_a AS other_id, created_at FROM connections WHERE member_b = ");
            qb.push_bind(owner);
            qb.push(") c JOIN members m ON m.id = c.other_id \
                     LEFT JOIN met_edges e ON e.member_a = c.member_a AND e.member_b = c.member_b WHERE 1 = 1");
            match filter {
                MetFilter::Any => {}
                MetFilter::Met => {
                    qb.push(" AND e.event_id IS NOT NULL");
                }
                MetFilter::NotMet => {
                    qb.push(" AND e.event_id IS NULL");
                }
            }
            if let Some((at, id)) = after {
                qb.push(" AND (c.created_at < ");
                qb.push_bind(at);
                qb.push(" OR (c.created_at = ");
                qb.push_bind(at);
                qb.push(" AND c.other_id < ");
                qb.push_bind(id);
                qb.push("))");
            }
            qb.push(" ORDER BY c.created_at DESC, c.other_id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<(
                String,
                String,
                String,
                String,
                DateTime<Utc>,
                Option<String>,
                Option<DateTime<Utc>>,
            )> = qb.build_query_as().fetch_all(pool).await?;
            Ok(rows
                .into_iter()
                .map(|r| ConnectionRow {
                    member_id: r.0,
                    display_name: r.1,
                    headline: r.2,
                    city: r.3,
                    created_at: r.4,
                    met_event_id: r.5,
                    met_at: r.6,
                })
                .collect())
        })
    }

    /// Pending requests to (`incoming`) or from a member, newest first, keyed by id.
    pub async fn pending_requests(
        &self,
        owner: Uuid,
        direction: Direction,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RequestRow>, sqlx::Error> {
        let owner = &*owner.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
                 FROM connection_requests r JOIN members m ON m.id = ",
            );
            qb.push(if direction == Direction::Incoming {
                "r.requester_id WHERE r.addressee_id = "
            } else {
                "r.addressee_id WHERE r.requester_id = "
            });
            qb.push_bind(owner);
            qb.push(" AND r.state = 'pending'");
            if let Some(before) = before {
                qb.push(" AND r.id < ");
                qb.push_bind(before.to_owned());
            }
            qb.push(" ORDER BY r.id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<RequestTuple> = qb.build_query_as().fetch_all(pool).await?;
            rows.into_iter().map(RequestRow::try_from).collect()
        })
    }

    pub async fn stats(&self, member: Uuid) -> Result<Stats, sqlx::Error> {
        let member = &*member.to_string();
        with_db!(&self.db, |pool| {
            let (connections, met, incoming, outgoing) = sqlx::query_as::<_, (i64, i64, i64, i64)>(
                "SELECT \
                   (SELECT COUNT(*) FROM connections WHERE member_a = $1 OR member_b = $1), \
                   (SELECT COUNT(*) FROM connections c JOIN met_edges e \
                      ON e.member_a = c.member_a AND e.member_b = c.member_b \
                      WHERE c.member_a = $1 OR c.member_b = $1), \
                   (SELECT COUNT(*) FROM connection_requests WHERE addressee_id = $1 AND state = 'pending'), \
                   (SELECT COUNT(*) FROM connection_requests WHERE requester_id = $1 AND state = 'pending')",
            )
            .bind(member)
            .fetch_one(pool)
            .await?;
            Ok(Stats {
                connections,
                met,
                pending_incoming: incoming,
                pending_outgoing: outgoing,
            })
        })
    }

    /// Sends connection requests from `requester` to each of `addressees` in one transaction,
    /// all within `limits` or none: the new ones spend the weekly budget together.
    pub async fn request_many(
        &self,
        requester: Uuid,
        addressees: &[String],
        note: &str,
        limits: &RequestLimits,
        now: DateTime<Utc>,
    ) -> Result<SentRequests, sqlx::Error> {
        let requester = &*requester.to_string();
        let attempt = Uuid::now_v7().to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            lock_budget(&mut *tx, &limits.budget.key).await?;
            let mut sent = Vec::new();
            let mut new = 0u32;
            for addressee in addressees {
                match tx
                    .request_connection(requester, addressee, note, limits.cooldown, now)
                    .await?
                {
                    RequestOutcome::Sent(_) => {
                        new += 1;
                        sent.push(addressee.clone());
                    }
                    RequestOutcome::Accepted(_) => sent.push(addressee.clone()),
                    _ => {}
                }
            }
            if let Some(wait) = tx.wait_for(&limits.budget, new, now).await? {
                // Dropped, the transaction rolls every request back.
                return Ok(SentRequests::RateLimited(wait));
            }
            tx.add_hits(&limits.budget, new, &attempt, now).await?;
            tx.commit().await?;
            Ok(SentRequests::Sent(sent))
        })
    }

    /// Where `member` stands with each of `others` (distinct ids, at most a page of them), in
    /// one query: `(other, connected, blocked either way, met in person)`, in no order.
    pub async fn relations(
        &self,
        member: Uuid,
        others: &[Uuid],
    ) -> Result<Vec<(String, bool, bool, bool)>, sqlx::Error> {
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new("SELECT o.column1");
            // Each table keeps a pair one way round (connections and met edges ordered,
            // blocks from the blocker): look both ways.
            for (table, a, b) in [
                ("connections", "member_a", "member_b"),
                ("blocks", "blocker_id", "blocked_id"),
                ("met_edges", "member_a", "member_b"),
            ] {
                qb.push(", EXISTS (SELECT 1 FROM ")
                    .push(table)
                    .push(" p WHERE (p.");
                qb.push(a).push(" = ").push_bind(member.clone());
                qb.push(" AND p.")
                    .push(b)
                    .push(" = o.column1) OR (p.")
                    .push(a);
                qb.push(" = o.column1 AND p.")
                    .push(b)
                    .push(" = ")
                    .push_bind(member.clone());
                qb.push("))");
            }
            qb.push(" FROM (VALUES ");
            let mut values = qb.separated(", ");
            for other in others {
                values.push("(").push_bind_unseparated(other.to_string());
                values.push_unseparated(")");
            }
            qb.push(") AS o");
            qb.build_query_as().fetch_all(pool).await
        })
    }

    /// Ids among `others` connected with `member`.
    pub async fn connected_among(
        &self,
        member: Uuid,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.pairs_among(("connections", "member_a", "member_b"), member, others)
            .await
    }

    /// Ids among `others` that `member` has met in person.
    pub async fn met_among(
        &self,
        member: Uuid,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.pairs_among(("met_edges", "member_a", "member_b"), member, others)
            .await
    }

    /// Ids among `others` on the other side of a row of `(table, a, b)` with `member` on one.
    pub(super) async fn pairs_among(
        &self,
        (table, a, b): (&'static str, &'static str, &'static str),
        member: Uuid,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        let member = &*member.to_string();
        // `member` itself among `others` would match every one of its pairs below.
        let others: Vec<&String> = others.iter().filter(|id| *id != member).collect();
        let mut out = Vec::new();
        with_db!(&self.db, |pool| {
            for chunk in others.chunks(1000) {
                let mut qb = QueryBuilder::new("SELECT CASE WHEN ");
                qb.push(a).push(" = ").push_bind(member);
                qb.push(" THEN ")
                    .push(b)
                    .push(" ELSE ")
                    .push(a)
                    .push(" END FROM ");
                qb.push(table)
                    .push(" WHERE (")
                    .push(a)
                    .push(" = ")
                    .push_bind(member);
                qb.push(" OR ")
                    .push(b)
                    .push(" = ")
                    .push_bind(member)
                    .push(") AND (");
                for (column, separator) in [(a, ""), (b, " OR ")] {
                    qb.push(separator).push(column).push(" IN (");
                    let mut s = qb.separated(", ");
                    for id in chunk {
                        s.push_bind((*id).clone());
                    }
                    s.push_unseparated(")");
                }
                qb.push(")");
                let rows: Vec<String> = qb.build_query_scalar().fetch_all(pool).await?;
                out.extend(rows.into_iter().filter(|id| id != member));
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    /// A member's connection ids (blocked ones left out), optionally in one city, by id.
    pub async fn connection_ids(
        &self,
        member: Uuid,
        city_key: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, sqlx::Error> {
        let member = &*member.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT c.other_id FROM (SELECT member_b AS other_id FROM connections WHERE member_a = ",
            );
            qb.push_bind(member);
            qb.push(" UNION ALL SELECT member_a AS other_id FROM connections WHERE member_b = ");
            qb.push_bind(member);
            qb.push(") c JOIN members m ON m.id = c.other_id WHERE m.deleted_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = c.other_id AND b.blocked_id = ");
            qb.push_bind(member);
            qb.push(") OR (b.blocked_id = c.other_id AND b.blocker_id = ");
            qb.push_bind(member);
            qb.push("))");
            if let Some(city) = city_key {
                qb.push(" AND m.city_key = ");
                qb.push_bind(city.to_owned());
            }
            if let Some(after) = after {
                qb.push(" AND c.other_id > ");
                qb.push_bind(after.to_owned());
            }
            qb.push(" ORDER BY c.other_id LIMIT ");
            qb.push_bind(i64::from(limit));
            qb.build_query_scalar().fetch_all(pool).await
        })
    }
}
