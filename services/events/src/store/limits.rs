//! The abuse limits as the store applies them, inside the transaction that would write what
//! they limit: each window is read from the rows that exist (see [`crate::domain::limits`])
//! under an advisory lock on what is limited (a chapter, an event, an inviter), so that two
//! replicas cannot both pass a full window, and a refusal writes nothing.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::Locks;
use sqlx::{PgConnection, SqliteConnection};

use crate::domain::event::EventRow;
use crate::domain::limits::{self, LimitReached, NOTICE_WINDOW};

/// The limit steps of a transaction, for both backends' connections.
pub(super) trait LimitOps {
    /// How long until the window of `cap` rows is no longer full, or None when it is not
    /// full. `newest_first` selects the rows' `created_at`, newest first, with `$1` bound to
    /// `key` and `$2` to the window's start (rows counted are strictly after it).
    fn window_wait(
        &mut self,
        newest_first: &str,
        key: &str,
        cap: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Duration>, sqlx::Error>> + Send;

    /// Counts the chapter notice of `event`, about to be published, against its chapter's
    /// weekly cap of `cap`: the refusal when the cap is reached (nothing written), else None
    /// (and the notice counted, unless the host organises the chapter or nobody is told).
    fn count_new_event_notice(
        &mut self,
        event: &EventRow,
        cap: u32,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<LimitReached>, sqlx::Error>> + Send;
}

macro_rules! impl_limit_ops {
    ($conn:ty) => {
        impl LimitOps for $conn {
            async fn window_wait(
                &mut self,
                newest_first: &str,
                key: &str,
                cap: u32,
                window: Duration,
                now: DateTime<Utc>,
            ) -> Result<Option<Duration>, sqlx::Error> {
                let Some(offset) = limits::deciding_offset(cap) else {
                    return Ok(limits::wait(cap, None, window, now));
                };
                let sql = format!("{newest_first} LIMIT 1 OFFSET {offset}");
                let deciding: Option<DateTime<Utc>> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(key)
                        .bind(now - window)
                        .fetch_optional(&mut *self)
                        .await?;
                Ok(limits::wait(cap, deciding, window, now))
            }

            async fn count_new_event_notice(
                &mut self,
                event: &EventRow,
                cap: u32,
                now: DateTime<Utc>,
            ) -> Result<Option<LimitReached>, sqlx::Error> {
                let Some(chapter) = event.told_chapter() else {
                    return Ok(None);
                };
                let chapter = chapter.to_string();
                let role: Option<String> = sqlx::query_scalar(
                    "SELECT role FROM chapter_members WHERE chapter_id = $1 AND member_id = $2",
                )
                .bind(&chapter)
                .bind(event.host_id.to_string())
                .fetch_optional(&mut *self)
                .await?;
                // Organisers run the chapter: their events are neither capped nor counted.
                if role.as_deref() == Some("organizer") {
                    return Ok(None);
                }
                self.advisory_lock(&format!("chapter-event-notices:{chapter}"))
                    .await?;
                let wait = self
                    .window_wait(
                        "SELECT created_at FROM chapter_event_notices \
                         WHERE chapter_id = $1 AND created_at > $2 ORDER BY created_at DESC",
                        &chapter,
                        cap,
                        NOTICE_WINDOW,
                        now,
                    )
                    .await?;
                if let Some(retry_after) = wait {
                    return Ok(Some(LimitReached {
                        what: "this chapter has been told of as many new events as it is told of in a week",
                        retry_after,
                    }));
                }
                sqlx::query(
                    "INSERT INTO chapter_event_notices (event_id, chapter_id, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(event.id.to_string())
                .bind(&chapter)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(None)
            }
        }
    };
}

impl_limit_ops!(SqliteConnection);
impl_limit_ops!(PgConnection);
