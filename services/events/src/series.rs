//! Recurring series: parsing a `Series` into the rules of [`crate::domain::recurrence`],
//! materialising its occurrences as events, and keeping future occurrences in step with
//! updates and cancellation. The series as the client described it is kept (protobuf-encoded)
//! so GetSeries returns it as written.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self, Violations};
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost::Message as _;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use crate::domain::recurrence::{self, End, Frequency, MonthlyDay, Occurrence, Rule};
use crate::error::{Error, Result};
use crate::events::EventEdit;
use crate::service::events::{
    capacity, duration, kind_name, new_check_in_code, time, venue, visibility_name, waitlist,
};
use crate::store::Store;

/// A validated series.
#[derive(Clone, Debug)]
pub struct SeriesSpec {
    pub chapter_id: Option<String>,
    pub rule: Rule,
    pub start_date: NaiveDate,
    pub local_time: NaiveTime,
    pub duration: Duration,
    pub tz: Tz,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub venue: (String, String, Option<f64>, Option<f64>),
    pub city: String,
    pub capacity: u32,
    pub visibility: String,
    pub approval_required: bool,
    pub offer_window: Option<Duration>,
    pub rsvp_cutoff: Option<Duration>,
    pub auto_publish: bool,
}

fn weekday(field: &str, value: i32) -> Result<chrono::Weekday, FieldViolation> {
    use chrono::Weekday as W;
    match pb::Weekday::try_from(value) {
        Ok(pb::Weekday::Monday) => Ok(W::Mon),
        Ok(pb::Weekday::Tuesday) => Ok(W::Tue),
        Ok(pb::Weekday::Wednesday) => Ok(W::Wed),
        Ok(pb::Weekday::Thursday) => Ok(W::Thu),
        Ok(pb::Weekday::Friday) => Ok(W::Fri),
        Ok(pb::Weekday::Saturday) => Ok(W::Sat),
        Ok(pb::Weekday::Sunday) => Ok(W::Sun),
        _ => Err(FieldViolation::new(field, "must be a weekday")),
    }
}

fn rule(v: &mut Violations, rule: Option<&pb::RecurrenceRule>) -> Option<Rule> {
    let Some(r) = rule else {
        v.push(FieldViolation::new("series.rule", "is required"));
        return None;
    };
    let frequency = match pb::RecurrenceFrequency::try_from(r.frequency) {
        Ok(pb::RecurrenceFrequency::Weekly) => Some(Frequency::Weekly),
        Ok(pb::RecurrenceFrequency::Monthly) => Some(Frequency::Monthly),
        _ => {
            v.push(FieldViolation::new(
                "series.rule.frequency",
                "is required: weekly or monthly",
            ));
            None
        }
    };
    let interval = match r.interval {
        0 => Some(1),
        n => match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                v.push(FieldViolation::new(
                    "series.rule.interval",
                    "must not be negative",
                ));
                None
            }
        },
    };
    let mut by_weekdays = Vec::new();
    for (i, d) in r.by_weekdays.iter().enumerate() {
        if let Some(d) = v.check(weekday(&format!("series.rule.by_weekdays[{i}]"), *d)) {
            by_weekdays.push(d);
        }
    }
    let monthly_day = match &r.monthly_day {
        None => None,
        Some(pb::recurrence_rule::MonthlyDay::NthWeekday(n)) => {
            let wd = v.check(weekday("series.rule.nth_weekday.weekday", n.weekday));
            let ordinal = i8::try_from(n.ordinal).unwrap_or(i8::MAX);
            wd.map(|weekday| MonthlyDay::NthWeekday { ordinal, weekday })
        }
        Some(pb::recurrence_rule::MonthlyDay::DayOfMonth(d)) => {
            Some(MonthlyDay::DayOfMonth(u8::try_from(*d).unwrap_or(u8::MAX)))
        }
    };
    let end = match &r.end {
        Some(pb::recurrence_rule::End::Count(c)) => match u32::try_from(*c) {
            Ok(c) => Some(End::Count(c)),
            Err(_) => {
                v.push(FieldViolation::new("series.rule.count", "must be positive"));
                None
            }
        },
        Some(pb::recurrence_rule::End::Until(t)) => {
            match v.check(time("series.rule.until", Some(t))) {
                Some(Some(t)) => Some(End::Until(t)),
                _ => None,
            }
        }
        None => {
            v.push(FieldViolation::new(
                "series.rule.end",
                "is required: count or until",
            ));
            None
        }
    };
    let (Some(frequency), Some(interval), Some(end)) = (frequency, interval, end) else {
        return None;
    };
    let rule = Rule {
        frequency,
        interval,
        by_weekdays,
        monthly_day,
        end,
    };
    match recurrence::validate(&rule) {
        Ok(()) => Some(rule),
        Err(e) => {
            v.push(FieldViolation::new(e.field(), e.to_string()));
            None
        }
    }
}

impl SeriesSpec {
    pub fn parse(s: &pb::Series) -> Result<Self> {
        let mut v = Violations::new();
        let chapter_id = if s.chapter_id.is_empty() {
            Some(None)
        } else {
            v.check(validate::id("series.chapter_id", &s.chapter_id))
                .map(|id| Some(id.to_string()))
        };
        let rule = rule(&mut v, s.rule.as_ref());
        let start_date = v.check(
            recurrence::parse_start_date(&s.start_date)
                .map_err(|e| FieldViolation::new(e.field(), e.to_string())),
        );
        let local_time = v.check(
            recurrence::parse_local_time(&s.start_local_time)
                .map_err(|e| FieldViolation::new(e.field(), e.to_string())),
        );
        let tz = v.check(
            recurrence::parse_time_zone(&s.time_zone)
                .map_err(|e| FieldViolation::new(e.field(), e.to_string())),
        );
        let length = match v.check(duration("series.duration", s.duration.as_ref())) {
            Some(Some(d)) if d > Duration::zero() && d <= recurrence::MAX_DURATION => Some(d),
            Some(_) => {
                v.push(FieldViolation::new(
                    "series.duration",
                    "must be positive and at most 7 days",
                ));
                None
            }
            None => None,
        };
        let t = s.template.clone().unwrap_or_default();
        if s.template.is_none() {
            v.push(FieldViolation::new("series.template", "is required"));
        }
        let title = v.check(validate::text(
            "series.template.title",
            &t.title,
            1,
            200,
            false,
        ));
        let description = v.check(validate::text(
            "series.template.description",
            &t.description,
            0,
            10_000,
            true,
        ));
        let kind = kind_name(t.kind);
        if kind.is_none() {
            v.push(FieldViolation::new(
                "series.template.kind",
                "is required: coffee, drinks, meal, talk or other",
            ));
        }
        let place = venue("series.template.venue", &mut v, t.venue.as_ref());
        let city = v.check(validate::text(
            "series.template.city",
            &t.city,
            0,
            100,
            false,
        ));
        let cap = v.check(capacity("series.template.capacity", t.capacity));
        let visibility = visibility_name(t.visibility);
        if visibility.is_none() {
            v.push(FieldViolation::new(
                "series.template.visibility",
                "is required: public, chapter or invite-only",
            ));
        }
        if visibility == Some("chapter") && chapter_id == Some(None) {
            v.push(FieldViolation::new(
                "series.chapter_id",
                "is required for chapter visibility",
            ));
        }
        let offer_window = waitlist(
            "series.template",
            &mut v,
            t.waitlist_mode,
            t.offer_window.as_ref(),
        );
        let rsvp_cutoff = v.check(duration(
            "series.template.rsvp_cutoff",
            t.rsvp_cutoff.as_ref(),
        ));
        let finished = v.finish();
        match (
            chapter_id,
            rule,
            start_date,
            local_time,
            tz,
            length,
            title,
            description,
            kind,
            place,
            city,
            cap,
            visibility,
            offer_window,
            rsvp_cutoff,
        ) {
            (
                Some(chapter_id),
                Some(rule),
                Some(start_date),
                Some(local_time),
                Some(tz),
                Some(length),
                Some(title),
                Some(description),
                Some(kind),
                Some(venue),
                Some(city),
                Some(capacity),
                Some(visibility),
                Some(offer_window),
                Some(rsvp_cutoff),
            ) if finished.is_ok() => Ok(Self {
                chapter_id,
                rule,
                start_date,
                local_time,
                duration: length,
                tz,
                title,
                description,
                kind: kind.to_owned(),
                venue,
                city,
                capacity,
                visibility: visibility.to_owned(),
                approval_required: t.approval_required,
                offer_window,
                rsvp_cutoff,
                auto_publish: s.auto_publish,
            }),
            _ => Err(Error::InvalidArgument(finished.err().unwrap_or_default())),
        }
    }

    /// The occurrences starting after `now`, up to `horizon`.
    pub fn occurrences(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>> {
        let all = recurrence::expand(
            &self.rule,
            self.start_date,
            self.local_time,
            self.duration,
            self.tz,
            horizon,
        )
        .map_err(|e| Error::field(e.field(), e.to_string()))?;
        Ok(all.into_iter().filter(|o| o.start > now).collect())
    }

    fn deadline(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.rsvp_cutoff
            .filter(|c| *c > Duration::zero())
            .map(|c| start - c)
    }

    fn edit(&self, o: &Occurrence) -> EventEdit {
        EventEdit {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            kind: Some(self.kind.clone()),
            venue: Some(self.venue.clone()),
            city: (!self.city.is_empty()).then(|| self.city.clone()),
            start_at: Some(o.start),
            end_at: Some(o.end),
            time_zone: Some(self.tz.name().to_owned()),
            capacity: Some(self.capacity),
            rsvp_deadline: Some(self.deadline(o.start)),
            visibility: Some(self.visibility.clone()),
            approval_required: Some(self.approval_required),
            offer_window: Some(self.offer_window),
            etag: None,
        }
    }
}

/// A series as stored.
#[derive(Clone, Debug)]
pub struct SeriesRow {
    pub id: String,
    pub chapter_id: Option<String>,
    pub host_id: String,
    /// The series as the client last wrote it.
    pub series: pb::Series,
    pub state: String,
    pub version: i64,
    pub occurrence_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn series_to_pb(row: &SeriesRow) -> pb::Series {
    let ts = |at: DateTime<Utc>| {
        Some(rendezvous_proto::prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
        })
    };
    pb::Series {
        id: row.id.clone(),
        chapter_id: row.chapter_id.clone().unwrap_or_default(),
        host_id: row.host_id.clone(),
        state: if row.state == "active" {
            pb::SeriesState::Active
        } else {
            pb::SeriesState::Cancelled
        }
        .into(),
        occurrence_count: i32::try_from(row.occurrence_count).unwrap_or(i32::MAX),
        create_time: ts(row.created_at),
        update_time: ts(row.updated_at),
        etag: row.version.to_string(),
        ..row.series.clone()
    }
}

/// The stored series with the masked fields of `patch` applied.
pub fn apply_mask(
    current: &pb::Series,
    patch: &pb::Series,
    mask: Option<&FieldMask>,
) -> Result<pb::Series> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        return Err(Error::field(
            "update_mask",
            "is required: name the fields to change",
        ));
    }
    let mut s = current.clone();
    let mut t = s.template.clone().unwrap_or_default();
    let pt = patch.template.clone().unwrap_or_default();
    for path in paths {
        match path.as_str() {
            "rule" => s.rule.clone_from(&patch.rule),
            "start_date" => s.start_date.clone_from(&patch.start_date),
            "start_local_time" => s.start_local_time.clone_from(&patch.start_local_time),
            "duration" => s.duration = patch.duration,
            "time_zone" => s.time_zone.clone_from(&patch.time_zone),
            "auto_publish" => s.auto_publish = patch.auto_publish,
            "template" => t = pt.clone(),
            "template.title" => t.title.clone_from(&pt.title),
            "template.description" => t.description.clone_from(&pt.description),
            "template.kind" => t.kind = pt.kind,
            "template.venue" => t.venue.clone_from(&pt.venue),
            "template.city" => t.city.clone_from(&pt.city),
            "template.capacity" => t.capacity = pt.capacity,
            "template.visibility" => t.visibility = pt.visibility,
            "template.approval_required" => t.approval_required = pt.approval_required,
            "template.waitlist_mode" | "template.offer_window" => {
                t.waitlist_mode = pt.waitlist_mode;
                t.offer_window = pt.offer_window;
            }
            "template.rsvp_cutoff" => t.rsvp_cutoff = pt.rsvp_cutoff,
            other => {
                return Err(Error::field(
                    "update_mask",
                    format!("unknown or read-only path `{other}`"),
                ));
            }
        }
    }
    s.template = Some(t);
    Ok(s)
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

fn series_row(t: SeriesTuple) -> SeriesRow {
    SeriesRow {
        id: t.0,
        chapter_id: t.1,
        host_id: t.2,
        series: decode(&t.3),
        state: t.4,
        version: t.5,
        created_at: t.6,
        updated_at: t.7,
        occurrence_count: t.8,
    }
}

impl Store {
    /// Stores a series and its occurrences in one transaction; a repeated `request_id` of the
    /// same host returns the first series.
    pub async fn create_series(
        &self,
        host: &str,
        series: &pb::Series,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(SeriesRow, Vec<String>), sqlx::Error> {
        let existing = match request_id {
            Some(request_id) => with_db!(self.db(), |pool| {
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM series WHERE host_id = $1 AND request_id = $2",
                )
                .bind(host)
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
                (existing, ids)
            }
            None => {
                let id = Uuid::now_v7().to_string();
                let ids = self
                    .insert_series(&id, host, series, spec, occurrences, request_id, now)
                    .await?;
                (id, ids)
            }
        };
        let row = self
            .series(&series_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok((row, ids))
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_series(
        &self,
        id: &str,
        host: &str,
        series: &pb::Series,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let city = match (&spec.chapter_id, spec.city.is_empty()) {
            (Some(chapter), true) => self
                .chapter(chapter)
                .await?
                .map(|c| c.city)
                .unwrap_or_default(),
            _ => spec.city.clone(),
        };
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO series (id, chapter_id, host_id, spec, state, request_id, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'active', $5, 1, $6, $6)",
            )
            .bind(id)
            .bind(&spec.chapter_id)
            .bind(host)
            .bind(encode(series))
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let mut ids = Vec::with_capacity(occurrences.len());
            for o in occurrences {
                let event_id = Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO events (id, chapter_id, series_id, host_id, title, description, kind, venue_name, \
                     venue_address, latitude, longitude, city, city_key, start_at, end_at, time_zone, \
                     capacity, rsvp_deadline, visibility, state, approval_required, waitlist_mode, \
                     offer_window_secs, check_in_code, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22, $23, $24, $25, $25)",
                )
                .bind(&event_id)
                .bind(&spec.chapter_id)
                .bind(id)
                .bind(host)
                .bind(&spec.title)
                .bind(&spec.description)
                .bind(&spec.kind)
                .bind(&spec.venue.0)
                .bind(&spec.venue.1)
                .bind(spec.venue.2)
                .bind(spec.venue.3)
                .bind(&city)
                .bind(city.to_lowercase())
                .bind(o.start)
                .bind(o.end)
                .bind(spec.tz.name())
                .bind(i64::from(spec.capacity))
                .bind(spec.deadline(o.start))
                .bind(&spec.visibility)
                .bind(if spec.auto_publish { "published" } else { "draft" })
                .bind(spec.approval_required)
                .bind(if spec.offer_window.is_some() { "offer" } else { "automatic" })
                .bind(spec.offer_window.map_or(0, |w| w.num_seconds()))
                .bind(new_check_in_code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                ids.push(event_id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Records that a series' occurrences exist up to `until` (after create or update).
    pub async fn mark_materialized(
        &self,
        id: &str,
        until: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE series SET materialized_until = $2 WHERE id = $1")
                .bind(id)
                .bind(until)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Materialises the occurrences of every active series that fall between what it already
    /// has and `horizon`, so a long-running series keeps a rolling window of events (a cancelled
    /// or rescheduled occurrence is never recreated). Returns how many events it created.
    pub async fn extend_series(
        &self,
        horizon: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error> {
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
        let mut created = 0;
        for (id, host, spec_hex, until, last_start) in rows {
            let series = decode(&spec_hex);
            let Ok(spec) = SeriesSpec::parse(&series) else {
                tracing::warn!(series = %id, "stored series no longer parses; not extended");
                continue;
            };
            let from = until.or(last_start).unwrap_or(now).max(now);
            // A rule that has ended (e.g. an `until` already passed) has nothing to add.
            if let Ok(occurrences) = spec.occurrences(from, horizon) {
                self.insert_occurrences(&id, &host, &spec, &occurrences, now)
                    .await?;
                created += occurrences.len();
            }
            self.mark_materialized(&id, horizon).await?;
        }
        Ok(created)
    }

    pub async fn series(&self, id: &str) -> Result<Option<SeriesRow>, sqlx::Error> {
        let sql = format!("SELECT {SERIES_COLUMNS} FROM series s WHERE s.id = $1");
        with_db!(self.db(), |pool| {
            let row: Option<SeriesTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(series_row))
        })
    }

    pub async fn list_series(
        &self,
        chapter: Option<&str>,
        host: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SeriesRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {SERIES_COLUMNS} FROM series s WHERE ($1 = '' OR s.chapter_id = $1) \
             AND ($2 = '' OR s.host_id = $2) AND s.id > $3 ORDER BY s.id LIMIT $4"
        );
        with_db!(self.db(), |pool| {
            let rows: Vec<SeriesTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(chapter.unwrap_or(""))
                .bind(host.unwrap_or(""))
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            Ok(rows.into_iter().map(series_row).collect())
        })
    }

    /// Occurrences of a series that have not started at `now` and are still live.
    pub async fn future_occurrences(
        &self,
        series: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE series_id = $1 AND start_at > $2 \
                 AND state IN ('draft', 'published') ORDER BY start_at, id",
            )
            .bind(series)
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn cancel_series(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SeriesRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE series SET state = 'cancelled', version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id)
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
        id: &str,
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
            .bind(id)
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
        for (event_id, o) in existing.iter().zip(occurrences) {
            if let Ok(Err(refusal)) = self
                .update_event(event_id, &row.host_id, &spec.edit(o), now)
                .await
            {
                tracing::warn!(event_id, %refusal, "series occurrence not updated");
            }
        }
        for event_id in existing.iter().skip(occurrences.len()) {
            let _ = self
                .cancel_event(event_id, None, "the series changed", None, now)
                .await?;
        }
        if occurrences.len() > existing.len() {
            let extra = &occurrences[existing.len()..];
            self.insert_occurrences(id, &row.host_id, spec, extra, now)
                .await?;
        }
        self.series(id).await
    }

    async fn insert_occurrences(
        &self,
        id: &str,
        host: &str,
        spec: &SeriesSpec,
        occurrences: &[Occurrence],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        for o in occurrences {
            let new = crate::store::NewEvent {
                id: Uuid::now_v7(),
                host_id: host.to_owned(),
                chapter_id: spec.chapter_id.clone(),
                title: spec.title.clone(),
                description: spec.description.clone(),
                kind: spec.kind.clone(),
                venue_name: spec.venue.0.clone(),
                venue_address: spec.venue.1.clone(),
                latitude: spec.venue.2,
                longitude: spec.venue.3,
                city: spec.city.clone(),
                start_at: o.start,
                end_at: o.end,
                time_zone: spec.tz.name().to_owned(),
                capacity: spec.capacity,
                rsvp_deadline: spec.deadline(o.start),
                visibility: spec.visibility.clone(),
                approval_required: spec.approval_required,
                offer_window: spec.offer_window,
                check_in_code: new_check_in_code(),
                request_id: None,
            };
            let event_id = self.create_event(&new, now).await?;
            with_db!(self.db(), |pool| {
                sqlx::query("UPDATE events SET series_id = $2, state = $3 WHERE id = $1")
                    .bind(&event_id)
                    .bind(id)
                    .bind(if spec.auto_publish {
                        "published"
                    } else {
                        "draft"
                    })
                    .execute(pool)
                    .await?;
                Ok::<_, sqlx::Error>(())
            })?;
        }
        Ok(())
    }
}
