//! A chapter's health, kept as things happen, for both backends: each RSVP going and each
//! check-in makes its member active in the event's chapter; each completion adds the event to
//! its month (confirmed, checked in, no-shows) and counts first-timers and those who come
//! back; each met edge members tells of adds to its event's month. GetChapterHealth reads the
//! counts (a row per month of the chapter's life) and one index range of recent activity,
//! never the chapter's history; the quiet-chapter job reads each chapter's latest event start
//! by the `events_chapter` index.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{EventOps as _, Store, stored_uuid, stored_uuids};
use crate::domain::chapter_health::{
    ACTIVE_WITHIN, MonthCounts, RETURN_WITHIN, month_of, tell_quiet,
};
use crate::domain::ordered;

/// Rows per multi-row statement: 3 binds each, far below both backends' limits.
const CHUNK: usize = 500;

/// What GetChapterHealth reads of a chapter.
#[derive(Clone, Debug, Default)]
pub struct ChapterCounts {
    /// Members active within [`ACTIVE_WITHIN`].
    pub active: i64,
    /// The kept counts by month (`YYYY-MM`).
    pub months: BTreeMap<String, MonthCounts>,
    /// The start of its latest published or completed event.
    pub last_event_at: Option<DateTime<Utc>>,
}

/// A chapter gone quiet whose organisers are to be told.
#[derive(Clone, Debug)]
pub struct QuietChapter {
    pub id: Uuid,
    pub name: String,
    pub time_zone: String,
    /// Its latest event's start, or its creation when it had none.
    pub since: DateTime<Utc>,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// The steps the RSVP and completion transactions take, written once for both backends.
pub(super) trait HealthOps {
    /// Makes each `(event, member)` active at `at` in the event's chapter (events outside a
    /// chapter change nothing); a later activity already kept stays.
    fn note_activity(
        &mut self,
        rows: &[(String, String)],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Counts the completion of `event_id` with its `confirmed` and `checked_in` attendees in
    /// its chapter's month; its checked-in members' first times, returns and activity.
    fn count_completion(
        &mut self,
        event_id: &str,
        confirmed: i64,
        checked_in: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// How many of the event's confirmed attendees checked in, and how many are confirmed.
    fn attendance_counts(
        &mut self,
        event_id: &str,
    ) -> impl Future<Output = Result<(i64, i64), sqlx::Error>> + Send;

    /// Adds `counts` to the chapter's `month`.
    fn add_to_month(
        &mut self,
        chapter: &str,
        month: &str,
        counts: &MonthCounts,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The event's chapter, start and the chapter's zone, for an event in a chapter.
    fn chapter_of(
        &mut self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<(String, DateTime<Utc>, String)>, sqlx::Error>> + Send;
}

macro_rules! impl_health_ops {
    ($conn:ty) => {
        impl HealthOps for $conn {
            async fn note_activity(
                &mut self,
                rows: &[(String, String)],
                at: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                for chunk in rows.chunks(CHUNK) {
                    // VALUES names its columns column1.. on both backends; one member's two
                    // events of a chapter in one batch make one row.
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO chapter_activity (chapter_id, member_id, active_at) \
                         SELECT e.chapter_id, v.column2, MAX(v.column3) FROM (",
                    );
                    qb.push_values(chunk, |mut row, (event, member)| {
                        row.push_bind(event.clone()).push_bind(member.clone()).push_bind(at);
                    });
                    qb.push(
                        ") AS v JOIN events e ON e.id = v.column1 WHERE e.chapter_id IS NOT NULL \
                         GROUP BY e.chapter_id, v.column2 \
                         ON CONFLICT (chapter_id, member_id) DO UPDATE SET active_at = CASE \
                         WHEN excluded.active_at > chapter_activity.active_at \
                         THEN excluded.active_at ELSE chapter_activity.active_at END",
                    );
                    qb.build().execute(&mut *self).await?;
                }
                Ok(())
            }

            async fn count_completion(
                &mut self,
                event_id: &str,
                confirmed: i64,
                checked_in: i64,
            ) -> Result<(), sqlx::Error> {
                let Some((chapter, start, zone)) = self.chapter_of(event_id).await? else {
                    return Ok(());
                };
                // Once per event, whoever counts it (its completion, or the catch-up).
                let first_count = sqlx::query(
                    "UPDATE events SET health_counted = TRUE WHERE id = $1 AND health_counted = FALSE",
                )
                .bind(event_id)
                .execute(&mut *self)
                .await?
                .rows_affected()
                    > 0;
                if !first_count {
                    return Ok(());
                }
                let month = month_of(start, &zone);
                let mut counts = MonthCounts {
                    events: 1,
                    confirmed,
                    checked_in,
                    no_shows: confirmed - checked_in,
                    ..MonthCounts::default()
                };
                let present: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'confirmed' \
                     AND checked_in_at IS NOT NULL ORDER BY member_id",
                )
                .bind(event_id)
                .fetch_all(&mut *self)
                .await?;
                let mut returned: BTreeMap<String, i64> = BTreeMap::new();
                for chunk in present.chunks(CHUNK) {
                    // Those who came for the first time within the 60 days before this one.
                    let mut qb = QueryBuilder::new(
                        "UPDATE chapter_attendees SET returned = TRUE WHERE returned = FALSE \
                         AND chapter_id = ",
                    );
                    qb.push_bind(chapter.as_str());
                    qb.push(" AND first_at < ").push_bind(start);
                    qb.push(" AND first_at >= ").push_bind(start - RETURN_WITHIN);
                    qb.push(" AND member_id IN (");
                    let mut ids = qb.separated(", ");
                    for id in chunk {
                        ids.push_bind(id.as_str());
                    }
                    qb.push(") RETURNING first_month");
                    for first in qb.build_query_scalar::<String>().fetch_all(&mut *self).await? {
                        *returned.entry(first).or_default() += 1;
                    }
                    // Those here for the first time.
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO chapter_attendees (chapter_id, member_id, first_at, first_month) ",
                    );
                    qb.push_values(chunk, |mut row, member| {
                        row.push_bind(chapter.as_str())
                            .push_bind(member.as_str())
                            .push_bind(start)
                            .push_bind(month.as_str());
                    });
                    qb.push(" ON CONFLICT (chapter_id, member_id) DO NOTHING RETURNING member_id");
                    let first: Vec<String> = qb.build_query_scalar().fetch_all(&mut *self).await?;
                    counts.first_timers += i64::try_from(first.len()).unwrap_or(i64::MAX);
                }
                self.add_to_month(&chapter, &month, &counts).await?;
                for (first_month, n) in returned {
                    let back = MonthCounts {
                        returned: n,
                        ..MonthCounts::default()
                    };
                    self.add_to_month(&chapter, &first_month, &back).await?;
                }
                let attended: Vec<(String, String)> = present
                    .into_iter()
                    .map(|member| (event_id.to_owned(), member))
                    .collect();
                self.note_activity(&attended, start).await
            }

            async fn attendance_counts(&mut self, event_id: &str) -> Result<(i64, i64), sqlx::Error> {
                sqlx::query_as(
                    "SELECT \
                     (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'confirmed' \
                      AND checked_in_at IS NOT NULL), \
                     (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'confirmed')",
                )
                .bind(event_id)
                .fetch_one(&mut *self)
                .await
            }

            async fn add_to_month(
                &mut self,
                chapter: &str,
                month: &str,
                c: &MonthCounts,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO chapter_months (chapter_id, month, events, confirmed, checked_in, \
                     no_shows, first_timers, returned, met_edges) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (chapter_id, month) DO UPDATE SET \
                     events = chapter_months.events + excluded.events, \
                     confirmed = chapter_months.confirmed + excluded.confirmed, \
                     checked_in = chapter_months.checked_in + excluded.checked_in, \
                     no_shows = chapter_months.no_shows + excluded.no_shows, \
                     first_timers = chapter_months.first_timers + excluded.first_timers, \
                     returned = chapter_months.returned + excluded.returned, \
                     met_edges = chapter_months.met_edges + excluded.met_edges",
                )
                .bind(chapter)
                .bind(month)
                .bind(c.events)
                .bind(c.confirmed)
                .bind(c.checked_in)
                .bind(c.no_shows)
                .bind(c.first_timers)
                .bind(c.returned)
                .bind(c.met_edges)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn chapter_of(
                &mut self,
                event_id: &str,
            ) -> Result<Option<(String, DateTime<Utc>, String)>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT e.chapter_id, e.start_at, c.time_zone FROM events e \
                     JOIN chapters c ON c.id = e.chapter_id WHERE e.id = $1",
                )
                .bind(event_id)
                .fetch_optional(&mut *self)
                .await
            }
        }
    };
}

impl_health_ops!(sqlx::SqliteConnection);
impl_health_ops!(sqlx::PgConnection);

type MonthRow = (String, i64, i64, i64, i64, i64, i64, i64);

impl Store {
    /// Counts the met edge of `a` and `b` made at `event_id`, once per event and pair, in its
    /// chapter's month; false when counted before, outside a chapter, or naming an erased
    /// member (whose ids events no longer keeps).
    pub async fn record_met_edge(
        &self,
        event_id: Uuid,
        a: Uuid,
        b: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let event_id = event_id.to_string();
        let (a, b) = ordered(a, b);
        let (a, b) = (a.to_string(), b.to_string());
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some((chapter, start, zone)) = tx.chapter_of(&event_id).await? else {
                return Ok(false);
            };
            let inserted = sqlx::query(
                "INSERT INTO chapter_met_edges (event_id, member_a, member_b) \
                 SELECT $1, $2, $3 WHERE NOT EXISTS \
                 (SELECT 1 FROM erased_members WHERE member_id IN ($2, $3)) \
                 ON CONFLICT (event_id, member_a, member_b) DO NOTHING",
            )
            .bind(&event_id)
            .bind(&a)
            .bind(&b)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if inserted {
                let edge = MonthCounts {
                    met_edges: 1,
                    ..MonthCounts::default()
                };
                tx.add_to_month(&chapter, &month_of(start, &zone), &edge)
                    .await?;
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }

    /// Counts up to `limit` chapter events completed before chapter health was kept (oldest
    /// first, each in its own transaction); returns how many.
    pub async fn count_past_completions(&self, limit: i64) -> Result<usize, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM events WHERE state = 'completed' AND health_counted = FALSE \
                 AND chapter_id IS NOT NULL ORDER BY start_at, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            for id in &ids {
                let mut tx = pool.begin_write().await?;
                let (checked_in, confirmed) = tx.attendance_counts(id).await?;
                tx.count_completion(id, confirmed, checked_in).await?;
                tx.commit().await?;
            }
            Ok(ids.len())
        })
    }

    /// What GetChapterHealth shows of `chapter` at `now`, from the kept counts.
    pub async fn chapter_counts(
        &self,
        chapter: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ChapterCounts, sqlx::Error> {
        let chapter = chapter.to_string();
        with_db!(self.db(), |pool| {
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM chapter_activity a JOIN chapter_members m \
                 ON m.chapter_id = a.chapter_id AND m.member_id = a.member_id \
                 WHERE a.chapter_id = $1 AND a.active_at > $2",
            )
            .bind(&chapter)
            .bind(now - ACTIVE_WITHIN)
            .fetch_one(pool)
            .await?;
            let rows: Vec<MonthRow> = sqlx::query_as(
                "SELECT month, events, confirmed, checked_in, no_shows, first_timers, returned, \
                 met_edges FROM chapter_months WHERE chapter_id = $1 ORDER BY month",
            )
            .bind(&chapter)
            .fetch_all(pool)
            .await?;
            let last_event_at: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT MAX(start_at) FROM events WHERE chapter_id = $1 \
                 AND state IN ('published', 'completed')",
            )
            .bind(&chapter)
            .fetch_one(pool)
            .await?;
            let months = rows
                .into_iter()
                .map(|r| {
                    let counts = MonthCounts {
                        events: r.1,
                        confirmed: r.2,
                        checked_in: r.3,
                        no_shows: r.4,
                        first_timers: r.5,
                        returned: r.6,
                        met_edges: r.7,
                    };
                    (r.0, counts)
                })
                .collect();
            Ok(ChapterCounts {
                active,
                months,
                last_event_at,
            })
        })
    }

    /// The chapters gone quiet at `now` whose organisers were not told of this spell yet.
    pub async fn quiet_chapters(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<QuietChapter>, sqlx::Error> {
        type Row = (
            String,
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT c.id, c.name, c.time_zone, c.created_at, c.dormant_told_for, \
                 (SELECT MAX(e.start_at) FROM events e WHERE e.chapter_id = c.id \
                  AND e.state IN ('published', 'completed')) \
                 FROM chapters c ORDER BY c.id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut quiet = Vec::new();
        for (id, name, time_zone, created_at, told_for, last_event_at) in rows {
            let since = last_event_at.unwrap_or(created_at);
            if tell_quiet(since, told_for, now) {
                quiet.push(QuietChapter {
                    id: stored_uuid(&id)?,
                    name,
                    time_zone,
                    since,
                    last_event_at,
                });
            }
        }
        Ok(quiet)
    }

    /// Tells each organiser of `chapter` that it has gone quiet (CHAPTER_DORMANT), once per
    /// spell: false when another replica told them first.
    pub async fn tell_quiet_chapter(
        &self,
        chapter: &QuietChapter,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let id = chapter.id.to_string();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE chapters SET dormant_told_for = $2 WHERE id = $1 \
                 AND (dormant_told_for IS NULL OR dormant_told_for <> $2)",
            )
            .bind(&id)
            .bind(chapter.since)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if !claimed {
                return Ok(false);
            }
            let (organizers, members): (Vec<String>, i64) = (
                sqlx::query_scalar(
                    "SELECT member_id FROM chapter_members WHERE chapter_id = $1 \
                     AND role = 'organizer' ORDER BY member_id",
                )
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?,
                sqlx::query_scalar("SELECT COUNT(*) FROM chapter_members WHERE chapter_id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx)
                    .await?,
            );
            let notice = crate::notices::chapter_dormant(chapter, members, now);
            let since = chapter.since.timestamp_micros();
            let key = |member: Uuid| format!("chapter-dormant:{id}:{since}:{member}");
            tx.tell_each(&stored_uuids(&organizers)?, &key, notice.into(), now)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
