//! Sessions and their rotated refresh tokens, and the password hashes sign-in checks.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter};
use rendezvous_common::revocations::{RevocationLog, RevokedSessions, stored_revocations};
use rendezvous_common::with_db;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::db::{Store, stored_id};

/// A new session with its first refresh token.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: Uuid,
    pub refresh_hash: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated {
        member_id: Uuid,
        session_id: Uuid,
    },
    /// The token had already been rotated: the session is now revoked.
    Reused {
        session_id: Uuid,
    },
    Invalid,
}

/// Session writes that registration and sign-in share, inside the caller's transaction.
pub trait SessionOps {
    fn insert_session(
        &mut self,
        member_id: &str,
        session: &NewSession,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! impl_session_ops {
    ($conn:ty) => {
        impl SessionOps for $conn {
            async fn insert_session(
                &mut self,
                member_id: &str,
                session: &NewSession,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO sessions (id, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.id.to_string())
                .bind(member_id)
                .bind(now)
                .bind(session.expires_at)
                .execute(&mut *self)
                .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&session.refresh_hash)
                .bind(session.id.to_string())
                .bind(now)
                .bind(session.expires_at)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

        }
    };
}

impl_session_ops!(SqliteConnection);
impl_session_ops!(PgConnection);

/// Tells events and notifications, inside the caller's transaction, that `sessions` of
/// `member` ended at `now`: their access tokens are refused there once the rows arrive.
async fn tell_revoked(
    conn: &mut (impl OutboxWriter + Send),
    member: Uuid,
    sessions: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for message in OutboxMessage::sessions_revoked(member, sessions, now) {
        conn.enqueue(&message, now).await?;
    }
    Ok(())
}

impl Store {
    /// `(id, password_hash)` of a live account.
    pub async fn credentials_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Uuid, String)>, sqlx::Error> {
        let row = with_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, String)>(
                "SELECT id, password_hash FROM members \
                 WHERE email = $1 AND deleted_at IS NULL AND password_hash IS NOT NULL",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|(id, hash)| Ok((stored_id(&id)?, hash)))
            .transpose()
    }

    pub async fn password_hash(&self, member_id: Uuid) -> Result<Option<String>, sqlx::Error> {
        let member_id = &*member_id.to_string();
        with_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT password_hash FROM members WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(member_id)
            .fetch_optional(pool)
            .await
            .map(Option::flatten)
        })
    }

    pub async fn create_session(
        &self,
        member_id: Uuid,
        session: &NewSession,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let member_id = &*member_id.to_string();
        with_db!(&self.db, |pool| {
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
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query_as::<_, (String, String, Option<DateTime<Utc>>, DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>, Option<DateTime<Utc>>)>(
                "SELECT s.id, s.member_id, s.revoked_at, s.expires_at, t.used_at, t.expires_at, m.deleted_at \
                 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
                 JOIN members m ON m.id = s.member_id WHERE t.token_hash = $1",
            )
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((
                session_id,
                member_id,
                revoked,
                session_expires,
                used,
                token_expires,
                deleted,
            )) = row
            else {
                return Ok(RotateOutcome::Invalid);
            };
            if revoked.is_some()
                || session_expires <= now
                || token_expires <= now
                || deleted.is_some()
            {
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
                let revoked = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2, revoke_reason = 'refresh token reused' \
                     WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(&session_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let session_id = stored_id(&session_id)?;
                if revoked.rows_affected() > 0 {
                    tell_revoked(&mut *tx, stored_id(&member_id)?, &[session_id], now).await?;
                }
                tx.commit().await?;
                return Ok(RotateOutcome::Reused { session_id });
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
            Ok(RotateOutcome::Rotated {
                member_id: stored_id(&member_id)?,
                session_id: stored_id(&session_id)?,
            })
        })
    }

    /// Revokes one session of a member, telling events and notifications in the same
    /// transaction; false when it was not theirs or already revoked.
    pub async fn revoke_session(
        &self,
        member: Uuid,
        session: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let member_id = &*member.to_string();
        let session_id = &*session.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let revoked = sqlx::query(
                "UPDATE sessions SET revoked_at = $3, revoke_reason = $4 \
                 WHERE id = $1 AND member_id = $2 AND revoked_at IS NULL",
            )
            .bind(session_id)
            .bind(member_id)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if revoked {
                tell_revoked(&mut *tx, member, &[session], now).await?;
            }
            tx.commit().await?;
            Ok(revoked)
        })
    }

    /// Stores a new password hash and revokes every session but `keep_session`, telling
    /// events and notifications in the same transaction; returns the sessions revoked.
    pub async fn change_password(
        &self,
        member: Uuid,
        new_hash: &str,
        keep_session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let member_id = &*member.to_string();
        let keep_session = &*keep_session.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE members SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(member_id)
                .bind(new_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let revoked: Vec<String> = sqlx::query_scalar(
                "UPDATE sessions SET revoked_at = $3, revoke_reason = 'password changed' \
                 WHERE member_id = $1 AND id <> $2 AND revoked_at IS NULL RETURNING id",
            )
            .bind(member_id)
            .bind(keep_session)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            let revoked = revoked
                .iter()
                .map(|id| stored_id(id))
                .collect::<Result<Vec<Uuid>, _>>()?;
            tell_revoked(&mut *tx, member, &revoked, now).await?;
            tx.commit().await?;
            Ok(revoked)
        })
    }
}

impl RevocationLog<RevokedSessions> for Store {
    /// Sessions ended after `since`, with when: the access tokens to refuse.
    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let rows = with_db!(&self.db, |pool| {
            sqlx::query_as("SELECT id, revoked_at FROM sessions WHERE revoked_at > $1")
                .bind(since)
                .fetch_all(pool)
                .await
        })?;
        stored_revocations(rows)
    }
}
