//! Series storage: a series (its spec as the client wrote it) and its materialised
//! occurrences.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost::Message as _;
use uuid::Uuid;

use super::limits::LimitOps;
use super::{EventOps, Store, StoreError, Stored as _, stored_uuid, stored_uuids};
use crate::domain::event::{EventState, NewEvent, new_check_in_code};
use crate::domain::recurrence::{self, End, MAX_OCCURRENCES, Occurrence};
use crate::domain::series::{SeriesSpec, SeriesState};

/// A series as stored.
#[derive(Clone, Debug)]
pub struct SeriesRow {
    pub id: Uuid,
    pub chapter_id: Option<Uuid>,
    pub host_id: Uuid,
    /// The series as the client last wrote it.
    pub series: pb::Series,
    pub state: SeriesState,
    pub version: i64,
    pub occurrence_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn encode(series: &pb::Series) -> String {
    series
        .encode_to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode(hex: &str) -> pb::Series {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| {
            hex.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    pb::Series::decode(bytes.as_slice()).unwrap_or_default()
}

type SeriesTuple = (
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

const SERIES_COLUMNS: &str = "s.id, s.chapter_id, s.host_id, s.spec, s.state, s.version, s.created_at, s.updated_at, \
     (SELECT COUNT(*) FROM events e WHERE e.series_id = s.id)";

fn series_row(t: SeriesTuple) -> Result<SeriesRow, sqlx::Error> {
    Ok(SeriesRow {
        id: stored_uuid(&t.0)?,
        chapter_id: t.1.as_deref().map(stored_uuid).transpose()?,
        host_id: stored_uuid(&t.2)?,
        series: decode(&t.3),
        state: SeriesState::from_stored(&t.4),
        version: t.5,
        created_at: t.6,
        updated_at: t.7,
        occurrence_count: t.8,
    })
}

impl Store {
    /// Stores a series and its occurrences in one transaction; a repeated `request_id` of the
    /// same host returns the first series.
    pub async fn create_series(
        &self,
        host: Uuid,
        series: &pb::Series,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(SeriesRow, Vec<Uuid>), sqlx::Error> {
        let existing = match request_id {
            Some(request_id) => with_db!(self.db(), |pool| {
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM series WHERE host_id = $1 AND request_id = $2",
                )
                .bind(host.to_string())
                .bind(request_id)
                .fetch_optional(pool)
                .await
            })?,
            None => None,
        };
        let (series_id, ids) = match existing {
            Some(existing) => {
                let ids = with_db!(self.db(), |pool| {
                    sqlx::query_scalar::<_, String>(
                        "SELECT id FROM events WHERE series_id = $1 ORDER BY start_at, id",
                    )
                    .bind(&existing)
                    .fetch_all(pool)
                    .await
                })?;
                (stored_uuid(&existing)?, stored_uuids(&ids)?)
            }
            None => {
                let id = Uuid::now_v7();
                let ids = self
                    .insert_series(id, host, series, spec, occurrences, request_id, now)
                    .await?;
                (id, ids)
            }
        };
        let row = self
            .series(series_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok((row, ids))
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_series(
        &self,
        id: Uuid,
        host: Uuid,
        series: &pb::Series,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let city = self.series_city(spec).await?;
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO series (id, chapter_id, host_id, spec, state, request_id, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'active', $5, 1, $6, $6)",
            )
            .bind(id.to_string())
            .bind(spec.chapter_id.map(|c| c.to_string()))
            .bind(host.to_string())
            .bind(encode(series))
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let ids = self
                .occurrences(id, host, spec, &city, occurrences)
                .add(&mut *tx, now)
                .await?;
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Records that a series' occurrences exist up to `until` (after create or update).
    pub async fn mark_materialized(
        &self,
        id: Uuid,
        until: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let id = id.to_string();
        let id = id.as_str();
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE series SET materialized_until = $2 WHERE id = $1")
                .bind(id)
                .bind(until)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Records that a series' occurrences exist up to `horizon` after the rolling extension,
    /// as far as that truly reaches: up to just before its next occurrence after `horizon`,
    /// or for ever when the rule has no more. So [`Store::series_behind`] selects a series
    /// again only once a new occurrence enters the window, not on every tick, and never a
    /// series whose rule has ended.
    pub async fn mark_extended(
        &self,
        id: Uuid,
        spec: &SeriesSpec,
        horizon: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        self.mark_materialized(id, materialized_through(spec, horizon))
            .await
    }

    /// Active series not materialised up to `horizon` (a new occurrence has entered the
    /// window, or the series is new or changed): each with its host, the series as written,
    /// and when its occurrences stop (materialised until, else the last start).
    pub async fn series_behind(
        &self,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, Uuid, pb::Series, Option<DateTime<Utc>>)>, sqlx::Error> {
        let rows: Vec<(
            String,
            String,
            String,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT s.id, s.host_id, s.spec, s.materialized_until, \
                 (SELECT MAX(e.start_at) FROM events e WHERE e.series_id = s.id) \
                 FROM series s WHERE s.state = 'active' \
                 AND (s.materialized_until IS NULL OR s.materialized_until < $1)",
            )
            .bind(horizon)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, host, spec, until, last_start)| {
                Ok((
                    stored_uuid(&id)?,
                    stored_uuid(&host)?,
                    decode(&spec),
                    until.or(last_start),
                ))
            })
            .collect()
    }

    pub async fn series(&self, id: Uuid) -> Result<Option<SeriesRow>, sqlx::Error> {
        let sql = format!("SELECT {SERIES_COLUMNS} FROM series s WHERE s.id = $1");
        with_db!(self.db(), |pool| {
            let row: Option<SeriesTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
            row.map(series_row).transpose()
        })
    }

    pub async fn list_series(
        &self,
        chapter: Option<Uuid>,
        host: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<SeriesRow>, sqlx::Error> {
        let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let (chapter, host, after) = (text(chapter), text(host), text(after));
        let sql = format!(
            "SELECT {SERIES_COLUMNS} FROM series s WHERE ($1 = '' OR s.chapter_id = $1) \
             AND ($2 = '' OR s.host_id = $2) AND s.id > $3 ORDER BY s.id LIMIT $4"
        );
        with_db!(self.db(), |pool| {
            let rows: Vec<SeriesTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(chapter.as_str())
                .bind(host.as_str())
                .bind(after.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.into_iter().map(series_row).collect()
        })
    }

    /// Occurrences of a series that have not started at `now` and are still live.
    pub async fn future_occurrences(
        &self,
        series: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let series = series.to_string();
        let series = series.as_str();
        let ids: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE series_id = $1 AND start_at > $2 \
                 AND state IN ('draft', 'published') ORDER BY start_at, id",
            )
            .bind(series)
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        stored_uuids(&ids)
    }

    pub async fn cancel_series(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<SeriesRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE series SET state = 'cancelled', version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(now)
                .execute(pool)
                .await?;
            Ok::<_, sqlx::Error>(())
        })?;
        self.series(id).await
    }

    /// Stores the new series (if still at `version`) and brings its future occurrences in
    /// line: the k-th future occurrence takes the k-th new one's time and the template (its
    /// members told of a change of time or place), new ones are added and surplus ones
    /// cancelled. None when the version moved on.
    pub async fn update_series(
        &self,
        id: Uuid,
        version: i64,
        series: &pb::Series,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        now: DateTime<Utc>,
    ) -> Result<Option<SeriesRow>, sqlx::Error> {
        let updated = with_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE series SET spec = $3, version = version + 1, updated_at = $4 WHERE id = $1 AND version = $2",
            )
            .bind(id.to_string())
            .bind(version)
            .bind(encode(series))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })?;
        if !updated {
            return Ok(None);
        }
        let Some(row) = self.series(id).await? else {
            return Ok(None);
        };
        let existing = self.future_occurrences(id, now).await?;
        let host = row.host_id;
        for (&event_id, o) in existing.iter().zip(occurrences) {
            if let Err(StoreError::Refused(refusal)) =
                self.update_event(event_id, host, &spec.edit(o), now).await
            {
                tracing::warn!(%event_id, %refusal, "series occurrence not updated");
            }
        }
        for &event_id in existing.iter().skip(occurrences.len()) {
            let outcome = self
                .cancel_event(event_id, None, "the series changed", None, now)
                .await;
            if let Err(StoreError::Database(error)) = outcome {
                return Err(error);
            }
        }
        if occurrences.len() > existing.len() {
            let extra = &occurrences[existing.len()..];
            self.insert_occurrences(id, row.host_id, spec, extra, now)
                .await?;
        }
        self.series(id).await
    }

    /// The city of a series' occurrences: its own, else its chapter's.
    async fn series_city(&self, spec: &SeriesSpec) -> Result<String, sqlx::Error> {
        Ok(match (&spec.chapter_id, spec.city.is_empty()) {
            (Some(chapter), true) => self
                .chapter(*chapter)
                .await?
                .map(|c| c.city)
                .unwrap_or_default(),
            _ => spec.city.clone(),
        })
    }

    /// Adds occurrences to a series (the series job, or an update that lengthens it), in one
    /// transaction, as [`NewOccurrences::add`] does.
    pub async fn insert_occurrences(
        &self,
        id: Uuid,
        host: Uuid,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let city = self.series_city(spec).await?;
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            self.occurrences(id, host, spec, &city, occurrences)
                .add(&mut *tx, now)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }
}

/// Occurrences of one series about to be inserted, and the chapter's cap on new-event notices
/// they are told under.
#[derive(Clone, Copy)]
struct NewOccurrences<'a> {
    series: Uuid,
    host: Uuid,
    spec: &'a SeriesSpec,
    city: &'a str,
    occurrences: &'a [Occurrence],
    notice_cap: u32,
}

impl Store {
    fn occurrences<'a>(
        &self,
        series: Uuid,
        host: Uuid,
        spec: &'a SeriesSpec,
        city: &'a str,
        occurrences: &'a [Occurrence],
    ) -> NewOccurrences<'a> {
        NewOccurrences {
            series,
            host,
            spec,
            city,
            occurrences,
            notice_cap: self.limits.chapter_new_events_per_week,
        }
    }
}

impl NewOccurrences<'_> {
    /// Inserts the occurrences, each in the series' first state, and tells the chapter of
    /// each one published this way, as PublishEvent would, while the chapter's weekly cap on
    /// new-event notices allows; beyond it an occurrence is published without telling the
    /// chapter (a series is not refused for it). Returns their ids.
    async fn add<C: EventOps + LimitOps + Send>(
        &self,
        tx: &mut C,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let NewOccurrences {
            series: id,
            host,
            spec,
            city,
            occurrences,
            notice_cap,
        } = *self;
        let state = spec.first_state();
        let mut ids = Vec::with_capacity(occurrences.len());
        for o in occurrences {
            let new = NewEvent {
                id: Uuid::now_v7(),
                host_id: host,
                chapter_id: spec.chapter_id,
                title: spec.title.clone(),
                description: spec.description.clone(),
                kind: spec.kind,
                venue_name: spec.venue.0.clone(),
                venue_address: spec.venue.1.clone(),
                latitude: spec.venue.2,
                longitude: spec.venue.3,
                city: city.to_owned(),
                start_at: o.start,
                end_at: o.end,
                time_zone: spec.tz.name().to_owned(),
                capacity: spec.capacity,
                rsvp_deadline: spec.deadline(o.start),
                visibility: spec.visibility,
                approval_required: spec.approval_required,
                waitlist: spec.waitlist,
                check_in_code: new_check_in_code(),
                request_id: None,
            };
            tx.insert_event(&new, Some(id), state, now).await?;
            if state == EventState::Published {
                let event = tx
                    .load_event(new.id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                if tx
                    .count_new_event_notice(&event, notice_cap, now)
                    .await?
                    .is_none()
                {
                    tx.tell_chapter_of(&event, now).await?;
                }
            }
            ids.push(new.id);
        }
        Ok(ids)
    }
}

/// How far ahead of the horizon the next occurrence is looked for: more than the longest gap
/// between two occurrences (12 months).
const LOOK_AHEAD_DAYS: i64 = 400;

/// The instant up to which every occurrence of `spec` exists once those starting up to
/// `horizon` are materialised: a microsecond (the databases' precision) before the first
/// occurrence after `horizon`; the end of time when the rule has none left; the look-ahead
/// itself if nothing falls within it (then it is looked at again when the window gets there).
fn materialized_through(spec: &SeriesSpec, horizon: DateTime<Utc>) -> DateTime<Utc> {
    let look_ahead = horizon + Duration::days(LOOK_AHEAD_DAYS);
    let Ok(all) = recurrence::expand(
        &spec.rule,
        spec.start_date,
        spec.local_time,
        spec.duration,
        spec.tz,
        look_ahead,
    ) else {
        // A rule that no longer expands has nothing to add until it is changed.
        return end_of_time();
    };
    if let Some(next) = all.iter().find(|o| o.start > horizon) {
        return next.start - Duration::microseconds(1);
    }
    let made = u32::try_from(all.len()).unwrap_or(u32::MAX);
    let ended = made >= MAX_OCCURRENCES
        || match spec.rule.end {
            End::Count(count) => made >= count,
            End::Until(until) => until <= look_ahead,
        };
    if ended { end_of_time() } else { look_ahead }
}

/// Later than any occurrence: the materialised range of a series whose rule has ended.
fn end_of_time() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime, TimeZone as _};

    use super::*;
    use crate::domain::event::{EventKind, EventVisibility};
    use crate::domain::recurrence::{Frequency, Rule};
    use crate::domain::rsvp::WaitlistMode;

    fn weekly(end: End) -> SeriesSpec {
        SeriesSpec {
            chapter_id: None,
            rule: Rule {
                frequency: Frequency::Weekly,
                interval: 1,
                by_weekdays: vec![chrono::Weekday::Sun],
                monthly_day: None,
                end,
            },
            start_date: NaiveDate::from_ymd_opt(2027, 3, 7).unwrap_or_default(),
            local_time: NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default(),
            duration: Duration::minutes(90),
            tz: chrono_tz::Europe::Paris,
            title: "Sunday coffee".to_owned(),
            description: String::new(),
            kind: EventKind::Coffee,
            venue: ("Café".to_owned(), "Paris".to_owned(), None, None),
            city: "Paris".to_owned(),
            capacity: 10,
            visibility: EventVisibility::Public,
            approval_required: false,
            waitlist: WaitlistMode::Automatic,
            rsvp_cutoff: None,
            auto_publish: true,
        }
    }

    #[test]
    fn a_series_is_materialised_up_to_just_before_its_next_occurrence() {
        let spec = weekly(End::Count(40));
        // Wednesday 2027-04-07: the next occurrence is Sunday the 11th, 08:30 Paris (06:30Z).
        let horizon = Utc.with_ymd_and_hms(2027, 4, 7, 12, 0, 0).unwrap();
        let next = Utc.with_ymd_and_hms(2027, 4, 11, 6, 30, 0).unwrap();
        assert_eq!(
            materialized_through(&spec, horizon),
            next - Duration::microseconds(1)
        );
        // At the very start of an occurrence, the next one is a week later.
        assert_eq!(
            materialized_through(&spec, next),
            next + Duration::days(7) - Duration::microseconds(1)
        );
    }

    #[test]
    fn a_series_whose_rule_has_ended_is_materialised_for_ever() {
        let horizon = Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).unwrap();
        for end in [
            End::Count(3),
            End::Until(Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap()),
        ] {
            assert_eq!(materialized_through(&weekly(end), horizon), end_of_time());
        }
        // An until beyond the look-ahead: looked at again when the window gets there.
        let far = weekly(End::Until(
            Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap(),
        ));
        let through = materialized_through(&far, horizon);
        assert!(through < horizon + Duration::days(8), "{through}");
        assert!(end_of_time() > Utc.with_ymd_and_hms(9000, 1, 1, 0, 0, 0).unwrap());
    }
}
