//! Members storage on SQLite and PostgreSQL.
//!
//! Every method is written once and compiled for both backends (see
//! `rendezvous_common::db::with_db!`); steps shared by several transactions live in
//! [`ConnOps`], implemented for both connection types by one macro. Each method that writes
//! more than one row runs in one transaction, outbox rows included.

mod ops;

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Db, Migrations};
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::with_db;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::domain::ProfileUpdate;
pub use ops::ConnOps;

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "members",
            include_str!("../../migrations/sqlite/0001_members.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::SQLITE_DDL),
    ],
    postgres: &[
        (
            1,
            "members",
            include_str!("../../migrations/postgres/0001_members.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::POSTGRES_DDL),
    ],
};

/// Columns of [`MemberRow`], in its tuple order.
macro_rules! member_columns {
    () => {
        "m.id, m.email, m.display_name, m.headline, m.company, m.city, m.locale, m.time_zone, \
         m.linkedin_url, m.visibility, m.version, m.created_at, m.updated_at, m.deleted_at"
    };
}
pub(crate) use member_columns;

pub(crate) type MemberTuple = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// A stored member.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub id: String,
    pub email: Option<String>,
    pub display_name: String,
    pub headline: String,
    pub company: String,
    pub city: String,
    pub locale: String,
    pub time_zone: String,
    pub linkedin_url: Option<String>,
    pub visibility: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub interests: Vec<String>,
}

impl From<MemberTuple> for MemberRow {
    fn from(t: MemberTuple) -> Self {
        Self {
            id: t.0,
            email: t.1,
            display_name: t.2,
            headline: t.3,
            company: t.4,
            city: t.5,
            locale: t.6,
            time_zone: t.7,
            linkedin_url: t.8,
            visibility: t.9,
            version: t.10,
            created_at: t.11,
            updated_at: t.12,
            deleted_at: t.13,
            interests: Vec::new(),
        }
    }
}

/// What a registration writes.
#[derive(Clone, Debug)]
pub struct NewMemberRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub city: String,
    pub locale: String,
    pub time_zone: String,
}

/// A new session with its first refresh token.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: Uuid,
    pub refresh_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// How the viewer relates to another member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub connected: bool,
    pub viewer_blocks: bool,
    pub blocks_viewer: bool,
    pub request_sent: bool,
    pub request_received: bool,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated {
        member_id: String,
        session_id: String,
    },
    /// The token had already been rotated: the session is now revoked.
    Reused,
    Invalid,
}

#[derive(Clone, Debug)]
pub enum UpdateOutcome {
    Updated(Box<MemberRow>),
    EtagMismatch,
    NotFound,
}

/// A connection request as stored.
#[derive(Clone, Debug)]
pub struct RequestRow {
    pub id: String,
    pub requester_id: String,
    pub addressee_id: String,
    pub note: String,
    pub state: String,
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

impl From<RequestTuple> for RequestRow {
    fn from(t: RequestTuple) -> Self {
        Self {
            id: t.0,
            requester_id: t.1,
            addressee_id: t.2,
            note: t.3,
            state: t.4,
            created_at: t.5,
            updated_at: t.6,
            other_display_name: t.7,
        }
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetFilter {
    Any,
    Met,
    NotMet,
}

/// A co-attendee in a follow-up, from the viewer's side.
#[derive(Clone, Debug)]
pub struct CoAttendeeRow {
    pub member_id: String,
    pub display_name: String,
    pub deleted: bool,
    pub confirmed_by_me: bool,
    pub confirmed_by_them: bool,
    pub met: bool,
    pub connected: bool,
    pub dismissed: bool,
}

#[derive(Clone, Debug)]
pub struct MeetingRow {
    pub event_id: String,
    pub title: String,
    pub event_time: DateTime<Utc>,
    pub co_attendees: Vec<CoAttendeeRow>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RecordOutcome {
    pub pairs: i64,
    pub met: i64,
    pub already_recorded: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub connections: i64,
    pub met: i64,
    pub pending_incoming: i64,
    pub pending_outgoing: i64,
}

/// A member matched by an imported contact.
#[derive(Clone, Debug)]
pub struct MatchRow {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ContactRow {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub locale: String,
    pub time_zone: String,
    pub deleted: bool,
}

/// Search filters, already normalised.
#[derive(Clone, Debug, Default)]
pub struct SearchFilter {
    pub city_key: Option<String>,
    pub interest: Option<String>,
    /// A LIKE pattern, lower-case, escaped.
    pub pattern: Option<String>,
}

pub(crate) fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a < b { (a, b) } else { (b, a) }
}

/// The members database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn create_member(
        &self,
        new: &NewMemberRecord,
        session: &NewSession,
        welcome: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> Result<MemberRow, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO members (id, email, password_hash, display_name, city, city_key, \
                 locale, time_zone, visibility, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'public', $9, $9)",
            )
            .bind(new.id.to_string())
            .bind(&new.email)
            .bind(&new.password_hash)
            .bind(&new.display_name)
            .bind(&new.city)
            .bind(new.city.to_lowercase())
            .bind(&new.locale)
            .bind(&new.time_zone)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.insert_session(&new.id.to_string(), session, now).await?;
            tx.enqueue(welcome, now).await?;
            let member = tx.load_member(&new.id.to_string()).await?;
            tx.commit().await?;
            member.ok_or(sqlx::Error::RowNotFound)
        })
    }

    /// `(id, password_hash)` of a live account.
    pub async fn credentials_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        with_db!(&self.db, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT id, password_hash FROM members \
                 WHERE email = $1 AND deleted_at IS NULL AND password_hash IS NOT NULL",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn password_hash(&self, member_id: &str) -> Result<Option<String>, sqlx::Error> {
        with_db!(&self.db, pool => {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT password_hash FROM members WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(member_id)
            .fetch_optional(pool)
            .await
            .map(Option::flatten)
        })
    }

    pub async fn member(&self, id: &str) -> Result<Option<MemberRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            conn.load_member(id).await
        })
    }

    pub async fn create_session(
        &self,
        member_id: &str,
        session: &NewSession,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            tx.insert_session(member_id, session, now).await?;
            tx.commit().await
        })
    }

    /// Rotates a refresh token: the old one is marked used, a new one joins its session.
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query_as::<_, (String, String, Option<DateTime<Utc>>, DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>, Option<DateTime<Utc>>)>(
                "SELECT s.id, s.member_id, s.revoked_at, s.expires_at, t.used_at, t.expires_at, m.deleted_at \
                 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
                 JOIN members m ON m.id = s.member_id WHERE t.token_hash = $1",
            )
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((session_id, member_id, revoked, session_expires, used, token_expires, deleted)) = row else {
                return Ok(RotateOutcome::Invalid);
            };
            if revoked.is_some() || session_expires <= now || token_expires <= now || deleted.is_some() {
                return Ok(RotateOutcome::Invalid);
            }
            let marked = sqlx::query(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(old_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.is_some() || marked.rows_affected() == 0 {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $2, revoke_reason = 'refresh token reused' \
                     WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(&session_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(RotateOutcome::Reused);
            }
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(new_hash)
            .bind(&session_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(RotateOutcome::Rotated { member_id, session_id })
        })
    }

    /// Revokes one session of a member; false when it was not theirs or already revoked.
    pub async fn revoke_session(
        &self,
        member_id: &str,
        session_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $3, revoke_reason = $4 \
                 WHERE id = $1 AND member_id = $2 AND revoked_at IS NULL",
            )
            .bind(session_id)
            .bind(member_id)
            .bind(now)
            .bind(reason)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// Stores a new password hash and revokes every session but `keep_session`.
    pub async fn change_password(
        &self,
        member_id: &str,
        new_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE members SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(member_id)
                .bind(new_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE sessions SET revoked_at = $3, revoke_reason = 'password changed' \
                 WHERE member_id = $1 AND id <> $2 AND revoked_at IS NULL",
            )
            .bind(member_id)
            .bind(keep_session)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    pub async fn update_profile(
        &self,
        member_id: &str,
        update: &ProfileUpdate,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(current) = tx.load_member(member_id).await? else {
                return Ok(UpdateOutcome::NotFound);
            };
            if current.deleted_at.is_some() {
                return Ok(UpdateOutcome::NotFound);
            }
            if update.etag.as_ref().is_some_and(|etag| *etag != current.version.to_string()) {
                return Ok(UpdateOutcome::EtagMismatch);
            }
            let city = update.city.clone().unwrap_or(current.city.clone());
            let linkedin_url = match &update.linkedin_url {
                Some(url) => url.clone(),
                None => current.linkedin_url.clone(),
            };
            sqlx::query(
                "UPDATE members SET display_name = $2, headline = $3, company = $4, city = $5, \
                 city_key = $6, locale = $7, time_zone = $8, linkedin_url = $9, visibility = $10, \
                 version = version + 1, updated_at = $11 WHERE id = $1",
            )
            .bind(member_id)
            .bind(update.display_name.as_ref().unwrap_or(&current.display_name))
            .bind(update.headline.as_ref().unwrap_or(&current.headline))
            .bind(update.company.as_ref().unwrap_or(&current.company))
            .bind(&city)
            .bind(city.to_lowercase())
            .bind(update.locale.map(|l| l.as_str().to_owned()).unwrap_or(current.locale.clone()))
            .bind(update.time_zone.as_ref().unwrap_or(&current.time_zone))
            .bind(linkedin_url)
            .bind(update.visibility.map(|v| v.as_str().to_owned()).unwrap_or(current.visibility.clone()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(interests) = &update.interests {
                sqlx::query("DELETE FROM member_interests WHERE member_id = $1")
                    .bind(member_id)
                    .execute(&mut *tx)
                    .await?;
                for interest in interests {
                    sqlx::query("INSERT INTO member_interests (member_id, interest) VALUES ($1, $2)")
                        .bind(member_id)
                        .bind(interest)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let updated = tx.load_member(member_id).await?;
            tx.commit().await?;
            Ok(updated.map_or(UpdateOutcome::NotFound, |m| UpdateOutcome::Updated(Box::new(m))))
        })
    }

    pub async fn relation(&self, viewer: &str, other: &str) -> Result<Relation, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            conn.relation(viewer, other).await
        })
    }

    /// Members visible to `viewer` matching `filter`, by id, after `after`.
    pub async fn search(
        &self,
        viewer: &str,
        filter: &SearchFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut qb = QueryBuilder::new(concat!("SELECT ", member_columns!(), " FROM members m WHERE m.deleted_at IS NULL AND m.id <> "));
            qb.push_bind(viewer);
            qb.push(" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = m.id AND b.blocked_id = ");
            qb.push_bind(viewer);
            qb.push(") OR (b.blocker_id = ");
            qb.push_bind(viewer);
            qb.push(" AND b.blocked_id = m.id))");
            qb.push(" AND (m.visibility = 'public' OR (m.visibility = 'connections' AND EXISTS (SELECT 1 FROM connections c WHERE (c.member_a = m.id AND c.member_b = ");
            qb.push_bind(viewer);
            qb.push(") OR (c.member_b = m.id AND c.member_a = ");
            qb.push_bind(viewer);
            qb.push("))))");
            if let Some(city) = &filter.city_key {
                qb.push(" AND m.city_key = ");
                qb.push_bind(city.clone());
            }
            if let Some(interest) = &filter.interest {
                qb.push(" AND EXISTS (SELECT 1 FROM member_interests i WHERE i.member_id = m.id AND i.interest = ");
                qb.push_bind(interest.clone());
                qb.push(")");
            }
            if let Some(pattern) = &filter.pattern {
                qb.push(" AND lower(m.display_name || ' ' || m.headline || ' ' || m.company) LIKE ");
                qb.push_bind(pattern.clone());
                qb.push(" ESCAPE '\\'");
            }
            if let Some(after) = after {
                qb.push(" AND m.id > ");
                qb.push_bind(after.to_owned());
            }
            qb.push(" ORDER BY m.id LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<MemberTuple> = qb.build_query_as().fetch_all(pool).await?;
            let mut members: Vec<MemberRow> = rows.into_iter().map(MemberRow::from).collect();
            if !members.is_empty() {
                // Every page's interests in one query rather than one per member.
                let mut qb = QueryBuilder::new(
                    "SELECT member_id, interest FROM member_interests WHERE member_id IN (",
                );
                let mut s = qb.separated(", ");
                for member in &members {
                    s.push_bind(member.id.clone());
                }
                s.push_unseparated(") ORDER BY interest");
                let interests: Vec<(String, String)> = qb.build_query_as().fetch_all(pool).await?;
                for (member_id, interest) in interests {
                    if let Some(member) = members.iter_mut().find(|m| m.id == member_id) {
                        member.interests.push(interest);
                    }
                }
            }
            Ok(members)
        })
    }

    /// Erases personal data, revokes sessions, removes connections, requests and blocks; the
    /// id stays, as "deleted member", in others' history.
    pub async fn delete_member(&self, id: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let erased = sqlx::query(
                "UPDATE members SET email = NULL, password_hash = NULL, \
                 display_name = 'deleted member', headline = '', company = '', city = '', \
                 city_key = '', linkedin_url = NULL, visibility = 'private', \
                 version = version + 1, updated_at = $2, deleted_at = $2 \
                 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if erased.rows_affected() == 0 {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM member_interests WHERE member_id = $1",
                "DELETE FROM connections WHERE member_a = $1 OR member_b = $1",
                "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
                "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE member_id = $1)",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE connection_requests SET state = 'withdrawn', pending_pair = NULL, note = '', updated_at = $2 \
                 WHERE (requester_id = $1 OR addressee_id = $1) AND state = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE connection_requests SET note = '' WHERE requester_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2, revoke_reason = 'account deleted' \
                 WHERE member_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn request_connection(
        &self,
        requester: &str,
        addressee: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let outcome = tx.request_connection(requester, addressee, note, now).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// Accepts or declines a pending request addressed to `caller`.
    pub async fn respond(
        &self,
        caller: &str,
        request_id: &str,
        accept: bool,
        now: DateTime<Utc>,
    ) -> Result<RespondOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(request) = tx.load_request(request_id, caller).await? else {
                return Ok(RespondOutcome::NotFound);
            };
            if request.addressee_id != caller {
                return Ok(if request.requester_id == caller {
                    RespondOutcome::NotYours
                } else {
                    RespondOutcome::NotFound
                });
            }
            if request.state != "pending" {
                return Ok(RespondOutcome::NotPending);
            }
            let done = if accept {
                tx.accept_request(&request, now).await?
            } else {
                tx.set_request_state(request_id, "declined", now).await?;
                tx.load_request(request_id, caller).await?
            };
            tx.commit().await?;
            Ok(done.map_or(RespondOutcome::NotFound, RespondOutcome::Done))
        })
    }

    /// The requester withdraws a pending request.
    pub async fn withdraw(
        &self,
        caller: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<RespondOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(request) = tx.load_request(request_id, caller).await? else {
                return Ok(RespondOutcome::NotFound);
            };
            if request.requester_id != caller {
                return Ok(if request.addressee_id == caller {
                    RespondOutcome::NotYours
                } else {
                    RespondOutcome::NotFound
                });
            }
            if request.state != "pending" {
                return Ok(RespondOutcome::NotPending);
            }
            tx.set_request_state(request_id, "withdrawn", now).await?;
            let done = tx.load_request(request_id, caller).await?;
            tx.commit().await?;
            Ok(done.map_or(RespondOutcome::NotFound, RespondOutcome::Done))
        })
    }

    pub async fn remove_connection(&self, a: &str, b: &str) -> Result<bool, sqlx::Error> {
        let (a, b) = ordered(a, b);
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM connections WHERE member_a = $1 AND member_b = $2")
                .bind(a)
                .bind(b)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// A member's connections, newest first; the cursor is `(created_at, other id)`.
    pub async fn connections(
        &self,
        owner: &str,
        filter: MetFilter,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<ConnectionRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
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
            let rows: Vec<(String, String, String, String, DateTime<Utc>, Option<String>, Option<DateTime<Utc>>)> =
                qb.build_query_as().fetch_all(pool).await?;
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
        owner: &str,
        incoming: bool,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RequestRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
                 FROM connection_requests r JOIN members m ON m.id = ",
            );
            qb.push(if incoming { "r.requester_id WHERE r.addressee_id = " } else { "r.addressee_id WHERE r.requester_id = " });
            qb.push_bind(owner);
            qb.push(" AND r.state = 'pending'");
            if let Some(before) = before {
                qb.push(" AND r.id < ");
                qb.push_bind(before.to_owned());
            }
            qb.push(" ORDER BY r.id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<RequestTuple> = qb.build_query_as().fetch_all(pool).await?;
            Ok(rows.into_iter().map(RequestRow::from).collect())
        })
    }

    /// Blocks `blocked`: removes the connection and pending requests between the two.
    pub async fn block(
        &self,
        blocker: &str,
        blocked: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let (a, b) = ordered(blocker, blocked);
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            )
            .bind(blocker)
            .bind(blocked)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM connections WHERE member_a = $1 AND member_b = $2")
                .bind(a)
                .bind(b)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE connection_requests SET state = 'withdrawn', pending_pair = NULL, updated_at = $2 \
                 WHERE pending_pair = $1",
            )
            .bind(format!("{a}|{b}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    pub async fn unblock(&self, blocker: &str, blocked: &str) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(blocker)
                .bind(blocked)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Records the co-attendee pairs of an event once; at a small event (`small` true)
    /// connected pairs are met at once. `attendees` are distinct live member ids.
    pub async fn record_meetings(
        &self,
        event_id: &str,
        title: &str,
        event_time: DateTime<Utc>,
        attendees: &[String],
        small: bool,
        now: DateTime<Utc>,
    ) -> Result<RecordOutcome, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO recorded_events (event_id, title, event_time, attendee_count, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(title)
            .bind(event_time)
            .bind(i64::try_from(attendees.len()).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(RecordOutcome { already_recorded: true, ..RecordOutcome::default() });
            }
            let outcome = tx.record_pairs(event_id, title, event_time, attendees, small, now).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// A member's follow-ups, newest event first; the cursor is `(event_time, event_id)`.
    pub async fn meetings(
        &self,
        member: &str,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<MeetingRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT e.event_id, e.title, e.event_time FROM recorded_events e WHERE EXISTS \
                 (SELECT 1 FROM meeting_pairs p WHERE p.event_id = e.event_id AND p.member_id = ",
            );
            qb.push_bind(member);
            qb.push(")");
            if let Some((at, id)) = after {
                qb.push(" AND (e.event_time < ");
                qb.push_bind(at);
                qb.push(" OR (e.event_time = ");
                qb.push_bind(at);
                qb.push(" AND e.event_id < ");
                qb.push_bind(id);
                qb.push("))");
            }
            qb.push(" ORDER BY e.event_time DESC, e.event_id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let events: Vec<(String, String, DateTime<Utc>)> = qb.build_query_as().fetch_all(pool).await?;
            let mut conn = pool.acquire().await?;
            let mut out = Vec::with_capacity(events.len());
            for (event_id, title, event_time) in events {
                let co_attendees = conn.co_attendees(&event_id, member, None).await?;
                out.push(MeetingRow { event_id, title, event_time, co_attendees });
            }
            Ok(out)
        })
    }

    /// Confirms (or dismisses) having met `other` at `event_id`; `None` when there is no such
    /// follow-up for the caller.
    pub async fn set_meeting(
        &self,
        event_id: &str,
        member: &str,
        other: &str,
        confirm: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<CoAttendeeRow>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = if confirm {
                sqlx::query(
                    "UPDATE meeting_pairs SET confirmed = TRUE, dismissed = FALSE \
                     WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
                )
            } else {
                sqlx::query(
                    "UPDATE meeting_pairs SET dismissed = TRUE, confirmed = met \
                     WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
                )
            }
            .bind(event_id)
            .bind(member)
            .bind(other)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Ok(None);
            }
            if confirm {
                tx.mark_met_if_mutual(event_id, member, other, now).await?;
            }
            let row = tx.co_attendees(event_id, member, Some(other)).await?.into_iter().next();
            tx.commit().await?;
            Ok(row)
        })
    }

    pub async fn stats(&self, member: &str) -> Result<Stats, sqlx::Error> {
        with_db!(&self.db, pool => {
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
            Ok(Stats { connections, met, pending_incoming: incoming, pending_outgoing: outgoing })
        })
    }

    /// Live members whose normalised profile URL or email is in the given sets.
    pub async fn match_contacts(
        &self,
        urls: &[String],
        emails: &[String],
    ) -> Result<Vec<MatchRow>, sqlx::Error> {
        const CHUNK: usize = 1000;
        let mut out = Vec::new();
        with_db!(&self.db, pool => {
            for (column, values) in [("linkedin_url", urls), ("email", emails)] {
                for chunk in values.chunks(CHUNK) {
                    let mut qb = QueryBuilder::new("SELECT id, display_name, email, linkedin_url FROM members WHERE deleted_at IS NULL AND ");
                    qb.push(column);
                    qb.push(" IN (");
                    let mut separated = qb.separated(", ");
                    for value in chunk {
                        separated.push_bind(value.clone());
                    }
                    separated.push_unseparated(")");
                    let rows: Vec<(String, String, Option<String>, Option<String>)> =
                        qb.build_query_as().fetch_all(pool).await?;
                    out.extend(rows.into_iter().map(|r| MatchRow {
                        id: r.0,
                        display_name: r.1,
                        email: r.2,
                        linkedin_url: r.3,
                    }));
                }
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    /// Sends connection requests from `requester` to each of `addressees` in one transaction;
    /// returns the ids that got a new request (or were connected at once).
    pub async fn request_many(
        &self,
        requester: &str,
        addressees: &[String],
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let mut sent = Vec::new();
            for addressee in addressees {
                match tx.request_connection(requester, addressee, note, now).await? {
                    RequestOutcome::Sent(_) | RequestOutcome::Accepted(_) => sent.push(addressee.clone()),
                    _ => {}
                }
            }
            tx.commit().await?;
            Ok(sent)
        })
    }

    /// Ids among `others` connected with `member`.
    pub async fn connected_among(
        &self,
        member: &str,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.pairs_among("connections", member, others).await
    }

    /// Ids among `others` that `member` has met in person.
    pub async fn met_among(
        &self,
        member: &str,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.pairs_among("met_edges", member, others).await
    }

    /// Ids among `others` paired with `member` in `table` (`connections` or `met_edges`).
    async fn pairs_among(
        &self,
        table: &'static str,
        member: &str,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        // `member` itself among `others` would match every one of its pairs below.
        let others: Vec<&String> = others.iter().filter(|id| *id != member).collect();
        let mut out = Vec::new();
        with_db!(&self.db, pool => {
            for chunk in others.chunks(1000) {
                let mut qb = QueryBuilder::new(
                    "SELECT CASE WHEN member_a = ",
                );
                qb.push_bind(member);
                qb.push(" THEN member_b ELSE member_a END FROM ");
                qb.push(table);
                qb.push(" WHERE (member_a = ");
                qb.push_bind(member);
                qb.push(" OR member_b = ");
                qb.push_bind(member);
                qb.push(") AND (member_a IN (");
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind((*id).clone());
                }
                s.push_unseparated(") OR member_b IN (");
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind((*id).clone());
                }
                s.push_unseparated("))");
                let rows: Vec<String> = qb.build_query_scalar().fetch_all(pool).await?;
                out.extend(rows.into_iter().filter(|id| id != member));
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    /// Ids among `others` that `member` blocks or is blocked by.
    pub async fn blocked_among(
        &self,
        member: &str,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut out = Vec::new();
        with_db!(&self.db, pool => {
            for chunk in others.chunks(1000) {
                let mut qb = QueryBuilder::new("SELECT CASE WHEN blocker_id = ");
                qb.push_bind(member);
                qb.push(" THEN blocked_id ELSE blocker_id END FROM blocks WHERE (blocker_id = ");
                qb.push_bind(member);
                qb.push(" AND blocked_id IN (");
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind(id.clone());
                }
                s.push_unseparated(")) OR (blocked_id = ");
                qb.push_bind(member);
                qb.push(" AND blocker_id IN (");
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind(id.clone());
                }
                s.push_unseparated("))");
                let rows: Vec<String> = qb.build_query_scalar().fetch_all(pool).await?;
                out.extend(rows);
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    pub async fn contacts(&self, ids: &[String]) -> Result<Vec<ContactRow>, sqlx::Error> {
        let mut out = Vec::new();
        with_db!(&self.db, pool => {
            for chunk in ids.chunks(1000) {
                let mut qb = QueryBuilder::new(
                    "SELECT id, display_name, email, locale, time_zone, deleted_at FROM members WHERE id IN (",
                );
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind(id.clone());
                }
                s.push_unseparated(")");
                let rows: Vec<(String, String, Option<String>, String, String, Option<DateTime<Utc>>)> =
                    qb.build_query_as().fetch_all(pool).await?;
                out.extend(rows.into_iter().map(|r| ContactRow {
                    id: r.0,
                    display_name: r.1,
                    email: r.2,
                    locale: r.3,
                    time_zone: r.4,
                    deleted: r.5.is_some(),
                }));
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    /// A member's connection ids (blocked ones left out), optionally in one city, by id.
    pub async fn connection_ids(
        &self,
        member: &str,
        city_key: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, sqlx::Error> {
        with_db!(&self.db, pool => {
            let mut qb = QueryBuilder::new("SELECT c.other_id FROM (SELECT member_b AS other_id FROM connections WHERE member_a = ");
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

    /// Export of everything held about a member, as JSON.
    pub async fn export(&self, member: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
        ops::export(&self.db, member).await
    }
}
