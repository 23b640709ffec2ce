//! Series between protobuf and the domain: a `Series` parsed into a [`SeriesSpec`], an
//! UpdateSeries mask applied, and the stored series back into `pb::Series`. The series as the
//! client described it is kept (protobuf-encoded), so GetSeries returns it as written.

use chrono::Duration;
use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::events::{kind_name, visibility_name};
use super::{Fields, capacity, duration, id, optional_id_pb, time, ts, venue, waitlist};
use crate::domain::event::{EventKind, EventVisibility};
use crate::domain::recurrence::{self, End, Frequency, MonthlyDay, Rule};
use crate::domain::series::{SeriesSpec, SeriesState};
use crate::error::{Error, Result};
use crate::store::SeriesRow;

pub(crate) fn weekday(field: &str, value: i32) -> Result<chrono::Weekday, FieldViolation> {
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

pub(crate) fn rule(v: &mut Violations, rule: Option<&pb::RecurrenceRule>) -> Option<Rule> {
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

impl TryFrom<&pb::Series> for SeriesSpec {
    type Error = Error;

    fn try_from(s: &pb::Series) -> Result<Self> {
        let mut f = Fields::new();
        let chapter_id = if s.chapter_id.is_empty() {
            None
        } else {
            Some(id(&mut f, "series.chapter_id", &s.chapter_id))
        };
        let rule = rule(f.violations(), s.rule.as_ref()).unwrap_or(Rule {
            frequency: Frequency::Weekly,
            interval: 1,
            by_weekdays: Vec::new(),
            monthly_day: None,
            end: End::Count(1),
        });
        let recurrence = |e: recurrence::RuleError| FieldViolation::new(e.field(), e.to_string());
        let start_date =
            f.or_default(recurrence::parse_start_date(&s.start_date).map_err(recurrence));
        let local_time =
            f.or_default(recurrence::parse_local_time(&s.start_local_time).map_err(recurrence));
        let tz = f.or(
            recurrence::parse_time_zone(&s.time_zone).map_err(recurrence),
            Tz::UTC,
        );
        let length = match f.or_default(duration("series.duration", s.duration.as_ref())) {
            Some(d) if d > Duration::zero() && d <= recurrence::MAX_DURATION => d,
            _ => f.or(
                Err(FieldViolation::new(
                    "series.duration",
                    "must be positive and at most 7 days",
                )),
                Duration::zero(),
            ),
        };
        let t = s.template.clone().unwrap_or_else(|| {
            f.push(FieldViolation::new("series.template", "is required"));
            pb::EventTemplate::default()
        });
        let title = f.or_default(validate::text(
            "series.template.title",
            &t.title,
            1,
            200,
            false,
        ));
        let description = f.or_default(validate::text(
            "series.template.description",
            &t.description,
            0,
            10_000,
            true,
        ));
        let kind = f.or(
            kind_name(t.kind).ok_or_else(|| {
                FieldViolation::new(
                    "series.template.kind",
                    "is required: coffee, drinks, meal, talk or other",
                )
            }),
            EventKind::Other,
        );
        let venue = venue(&mut f, "series.template.venue", t.venue.as_ref());
        let city = f.or_default(validate::text(
            "series.template.city",
            &t.city,
            0,
            100,
            false,
        ));
        let capacity = f.or(capacity("series.template.capacity", t.capacity), 1);
        let visibility = f.or(
            visibility_name(t.visibility).ok_or_else(|| {
                FieldViolation::new(
                    "series.template.visibility",
                    "is required: public, chapter or invite-only",
                )
            }),
            EventVisibility::Public,
        );
        if visibility == EventVisibility::Chapter && chapter_id.is_none() {
            f.push(FieldViolation::new(
                "series.chapter_id",
                "is required for chapter visibility",
            ));
        }
        let waitlist = waitlist(
            &mut f,
            "series.template",
            t.waitlist_mode,
            t.offer_window.as_ref(),
        );
        let rsvp_cutoff = f.or_default(duration(
            "series.template.rsvp_cutoff",
            t.rsvp_cutoff.as_ref(),
        ));
        f.finish(Self {
            chapter_id,
            rule,
            start_date,
            local_time,
            duration: length,
            tz,
            title,
            description,
            kind,
            venue,
            city,
            capacity,
            visibility,
            approval_required: t.approval_required,
            waitlist,
            rsvp_cutoff,
            auto_publish: s.auto_publish,
        })
    }
}

pub(crate) fn series_to_pb(row: &SeriesRow) -> pb::Series {
    pb::Series {
        id: row.id.to_string(),
        chapter_id: optional_id_pb(row.chapter_id),
        host_id: row.host_id.to_string(),
        state: match row.state {
            SeriesState::Active => pb::SeriesState::Active,
            SeriesState::Cancelled => pb::SeriesState::Cancelled,
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
pub(crate) fn apply_mask(
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

/// CancelSeries: which series and why (each cancelled occurrence says so).
#[derive(Clone, Debug)]
pub struct SeriesCancellation {
    pub series_id: Uuid,
    pub reason: String,
}

impl TryFrom<&pb::CancelSeriesRequest> for SeriesCancellation {
    type Error = Error;

    fn try_from(req: &pb::CancelSeriesRequest) -> Result<Self> {
        let mut f = Fields::new();
        let series_id = id(&mut f, "series_id", &req.series_id);
        let reason = f.or_default(validate::text("reason", &req.reason, 0, 1000, true));
        f.finish(Self { series_id, reason })
    }
}
