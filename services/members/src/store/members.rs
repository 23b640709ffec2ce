//! Members and their profiles: registration, reading, search, profile updates, erasure, and
//! the look-ups contact import and the other services make.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::revocations::{RevocationLog, RevokedMembers, stored_revocations};
use rendezvous_common::with_db;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};
use uuid::Uuid;

use super::coffee_proposals::CoffeeEnding as _;
use super::db::{Store, stored_id};
use super::sessions::{NewSession, SessionOps as _};
use crate::domain::import::Candidate;
use crate::domain::{ProfileUpdate, Visibility};

/// Columns of [`MemberRow`], in its tuple order.
macro_rules! member_columns {
    () => {
        "m.id, m.email, m.display_name, m.headline, m.company, m.city, m.locale, m.time_zone, \
         m.linkedin_url, m.visibility, m.version, m.created_at, m.updated_at, m.deleted_at, \
         m.findable_by_contact_details"
    };
}

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
    bool,
);

/// A stored member.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: String,
    pub headline: String,
    pub company: String,
    pub city: String,
    pub locale: String,
    pub time_zone: String,
    pub linkedin_url: Option<String>,
    pub visibility: Visibility,
    /// As the member set it (or as their visibility set it); a PRIVATE profile is never
    /// found, whatever this says.
    pub findable_by_contact_details: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub interests: Vec<String>,
}

impl TryFrom<MemberTuple> for MemberRow {
    type Error = sqlx::Error;

    fn try_from(t: MemberTuple) -> Result<Self, sqlx::Error> {
        let visibility = stored_visibility(&t.9)?;
        Ok(Self {
            id: stored_id(&t.0)?,
            email: t.1,
            display_name: t.2,
            headline: t.3,
            company: t.4,
            city: t.5,
            locale: t.6,
            time_zone: t.7,
            linkedin_url: t.8,
            visibility,
            findable_by_contact_details: t.14,
            version: t.10,
            created_at: t.11,
            updated_at: t.12,
            deleted_at: t.13,
            interests: Vec::new(),
        })
    }
}

fn stored_visibility(value: &str) -> Result<Visibility, sqlx::Error> {
    Visibility::from_stored(value)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown visibility {value:?}").into()))
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

#[derive(Clone, Debug)]
pub enum UpdateOutcome {
    Updated(Box<MemberRow>),
    EtagMismatch,
    NotFound,
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

impl SearchFilter {
    /// The filter of a search's fields, each empty for none: case-insensitive, and the
    /// query matched as a substring (its LIKE wildcards escaped).
    pub fn new(city: &str, interest: &str, query: &str) -> Self {
        let given = |s: &str| (!s.is_empty()).then(|| s.to_lowercase());
        let escape = |s: String| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        Self {
            city_key: given(city),
            interest: given(interest),
            pattern: given(query).map(|q| format!("%{}%", escape(q))),
        }
    }
}

/// Reads of one member on whatever connection (or transaction) they are given.
pub trait MemberOps {
    fn load_member(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<MemberRow>, sqlx::Error>> + Send;

    fn interests(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send;
}

macro_rules! impl_member_ops {
    ($conn:ty) => {
        impl MemberOps for $conn {
            async fn load_member(&mut self, id: &str) -> Result<Option<MemberRow>, sqlx::Error> {
                let row = sqlx::query_as::<_, MemberTuple>(concat!(
                    "SELECT ",
                    member_columns!(),
                    " FROM members m WHERE m.id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self)
                .await?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let mut member = MemberRow::try_from(row)?;
                        member.interests = self.interests(id).await?;
                        Ok(Some(member))
                    }
                }
            }

            async fn interests(&mut self, id: &str) -> Result<Vec<String>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT interest FROM member_interests WHERE member_id = $1 ORDER BY interest",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await
            }
        }
    };
}

impl_member_ops!(SqliteConnection);
impl_member_ops!(PgConnection);

impl Store {
    pub async fn create_member(
        &self,
        new: &NewMemberRecord,
        session: &NewSession,
        welcome: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> Result<MemberRow, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO members (id, email, password_hash, display_name, city, city_key, \
                 locale, time_zone, visibility, findable_by_contact_details, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(new.id.to_string())
            .bind(&new.email)
            .bind(&new.password_hash)
            .bind(&new.display_name)
            .bind(&new.city)
            .bind(new.city.to_lowercase())
            .bind(&new.locale)
            .bind(&new.time_zone)
            .bind(Visibility::Public.as_str())
            .bind(Visibility::Public.findable_by_default())
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

    pub async fn member(&self, id: Uuid) -> Result<Option<MemberRow>, sqlx::Error> {
        let id = &*id.to_string();
        with_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            conn.load_member(id).await
        })
    }

    pub async fn update_profile(
        &self,
        member_id: Uuid,
        update: &ProfileUpdate,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, sqlx::Error> {
        let member_id = &*member_id.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(current) = tx.load_member(member_id).await? else {
                return Ok(UpdateOutcome::NotFound);
            };
            if current.deleted_at.is_some() {
                return Ok(UpdateOutcome::NotFound);
            }
            if update
                .etag
                .as_ref()
                .is_some_and(|etag| *etag != current.version.to_string())
            {
                return Ok(UpdateOutcome::EtagMismatch);
            }
            let city = update.city.clone().unwrap_or(current.city.clone());
            let linkedin_url = match &update.linkedin_url {
                Some(url) => url.clone(),
                None => current.linkedin_url.clone(),
            };
            let visibility = update.visibility.unwrap_or(current.visibility);
            let findable =
                update
                    .findable_by_contact_details
                    .unwrap_or(if visibility == current.visibility {
                        current.findable_by_contact_details
                    } else {
                        visibility.findable_by_default()
                    });
            sqlx::query(
                "UPDATE members SET display_name = $2, headline = $3, company = $4, city = $5, \
                 city_key = $6, locale = $7, time_zone = $8, linkedin_url = $9, visibility = $10, \
                 findable_by_contact_details = $11, version = version + 1, updated_at = $12 \
                 WHERE id = $1",
            )
            .bind(member_id)
            .bind(
                update
                    .display_name
                    .as_ref()
                    .unwrap_or(&current.display_name),
            )
            .bind(update.headline.as_ref().unwrap_or(&current.headline))
            .bind(update.company.as_ref().unwrap_or(&current.company))
            .bind(&city)
            .bind(city.to_lowercase())
            .bind(
                update
                    .locale
                    .map(|l| l.as_str().to_owned())
                    .unwrap_or(current.locale.clone()),
            )
            .bind(update.time_zone.as_ref().unwrap_or(&current.time_zone))
            .bind(linkedin_url)
            .bind(visibility.as_str())
            .bind(findable)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(interests) = &update.interests {
                sqlx::query("DELETE FROM member_interests WHERE member_id = $1")
                    .bind(member_id)
                    .execute(&mut *tx)
                    .await?;
                for interest in interests {
                    sqlx::query(
                        "INSERT INTO member_interests (member_id, interest) VALUES ($1, $2)",
                    )
                    .bind(member_id)
                    .bind(interest)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let updated = tx.load_member(member_id).await?;
            tx.commit().await?;
            Ok(updated.map_or(UpdateOutcome::NotFound, |m| {
                UpdateOutcome::Updated(Box::new(m))
            }))
        })
    }

    /// Members visible to `viewer` matching `filter`, by id, after `after`.
    pub async fn search(
        &self,
        viewer: Uuid,
        filter: &SearchFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberRow>, sqlx::Error> {
        let viewer = &*viewer.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(concat!(
                "SELECT ",
                member_columns!(),
                " FROM members m WHERE m.deleted_at IS NULL AND m.id <> "
            ));
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
                qb.push(
                    " AND lower(m.display_name || ' ' || m.headline || ' ' || m.company) LIKE ",
                );
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
            let mut members = rows
                .into_iter()
                .map(MemberRow::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            if !members.is_empty() {
                // Every page's interests in one query rather than one per member.
                let mut qb = QueryBuilder::new(
                    "SELECT member_id, interest FROM member_interests WHERE member_id IN (",
                );
                let mut s = qb.separated(", ");
                for member in &members {
                    s.push_bind(member.id.to_string());
                }
                s.push_unseparated(") ORDER BY interest");
                let interests: Vec<(String, String)> = qb.build_query_as().fetch_all(pool).await?;
                for (member_id, interest) in interests {
                    if let Some(member) = members.iter_mut().find(|m| m.id.to_string() == member_id)
                    {
                        member.interests.push(interest);
                    }
                }
            }
            Ok(members)
        })
    }

    /// Erases personal data, revokes sessions, removes connections, requests and blocks; the
    /// id stays, as "deleted member", in others' history.
    pub async fn delete_member(
        &self,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let id = &*member.to_string();
        with_db!(&self.db, |pool| {
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
                "DELETE FROM block_changes WHERE blocker_id = $1 OR blocked_id = $1",
                "DELETE FROM sign_in_addresses WHERE member_id = $1",
                "DELETE FROM coffee_settings WHERE member_id = $1",
                "DELETE FROM coffee_do_not_pair WHERE member_id = $1 OR other_id = $1",
                "DELETE FROM remeet_settings WHERE member_id = $1",
                "DELETE FROM remeet_nudges WHERE member_id = $1 OR other_id = $1",
                "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE member_id = $1)",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            tx.end_coffee_of(id, now).await?;
            sqlx::query(
                "UPDATE connection_requests SET state = 'withdrawn', pending_pair = NULL, note = '', updated_at = $2 \
                 WHERE (requester_id = $1 OR addressee_id = $1) AND state = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // A note names its addressee as often as its writer: both sides' go.
            sqlx::query(
                "UPDATE connection_requests SET note = '' WHERE requester_id = $1 OR addressee_id = $1",
            )
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
            // Events and notifications erase their parts when these rows reach them.
            for message in OutboxMessage::member_erased(member, now) {
                tx.enqueue(&message, now).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Live members whose normalised profile URL or email is in the given sets, with what
    /// decides whether the importer may find them ([`Candidate::findable_by`]).
    pub async fn match_contacts(
        &self,
        urls: &[String],
        emails: &[String],
    ) -> Result<Vec<Candidate>, sqlx::Error> {
        const CHUNK: usize = 1000;
        let mut out = Vec::new();
        with_db!(&self.db, |pool| {
            for (column, values) in [("linkedin_url", urls), ("email", emails)] {
                for chunk in values.chunks(CHUNK) {
                    let mut qb = QueryBuilder::new(
                        "SELECT id, display_name, email, linkedin_url, visibility, \
                         findable_by_contact_details FROM members WHERE deleted_at IS NULL AND ",
                    );
                    qb.push(column);
                    qb.push(" IN (");
                    let mut separated = qb.separated(", ");
                    for value in chunk {
                        separated.push_bind(value.clone());
                    }
                    separated.push_unseparated(")");
                    let rows: Vec<(String, String, Option<String>, Option<String>, String, bool)> =
                        qb.build_query_as().fetch_all(pool).await?;
                    for r in rows {
                        let visibility = stored_visibility(&r.4)?;
                        out.push(Candidate {
                            id: r.0,
                            display_name: r.1,
                            email: r.2,
                            linkedin_url: r.3,
                            visibility,
                            findable_by_contact_details: r.5,
                        });
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    pub async fn contacts(&self, ids: &[String]) -> Result<Vec<ContactRow>, sqlx::Error> {
        let mut out = Vec::new();
        with_db!(&self.db, |pool| {
            for chunk in ids.chunks(1000) {
                let mut qb = QueryBuilder::new(
                    "SELECT id, display_name, email, locale, time_zone, deleted_at FROM members WHERE id IN (",
                );
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind(id.clone());
                }
                s.push_unseparated(")");
                let rows: Vec<(
                    String,
                    String,
                    Option<String>,
                    String,
                    String,
                    Option<DateTime<Utc>>,
                )> = qb.build_query_as().fetch_all(pool).await?;
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
}

impl RevocationLog<RevokedMembers> for Store {
    /// Members deleted after `since`, with when: the access tokens to refuse.
    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let rows = with_db!(&self.db, |pool| {
            sqlx::query_as("SELECT id, deleted_at FROM members WHERE deleted_at > $1")
                .bind(since)
                .fetch_all(pool)
                .await
        })?;
        stored_revocations(rows)
    }
}
