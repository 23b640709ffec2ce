//! A recurring series as the rules see it: the recurrence, the local time and zone, and the
//! template each occurrence is made from.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use uuid::Uuid;

use crate::domain::event::{EventEdit, EventKind, EventState, EventVisibility};
use crate::domain::recurrence::{self, Occurrence, Rule};
use crate::domain::rsvp::WaitlistMode;

/// Whether a series still makes occurrences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesState {
    Active,
    Cancelled,
}

/// A validated series.
#[derive(Clone, Debug)]
pub struct SeriesSpec {
    pub chapter_id: Option<Uuid>,
    pub rule: Rule,
    pub start_date: NaiveDate,
    pub local_time: NaiveTime,
    pub duration: Duration,
    pub tz: Tz,
    pub title: String,
    pub description: String,
    pub kind: EventKind,
    pub venue: (String, String, Option<f64>, Option<f64>),
    pub city: String,
    pub capacity: u32,
    pub visibility: EventVisibility,
    pub approval_required: bool,
    pub waitlist: WaitlistMode,
    pub rsvp_cutoff: Option<Duration>,
    pub auto_publish: bool,
}

impl SeriesSpec {
    /// The state each new occurrence starts in.
    pub fn first_state(&self) -> EventState {
        if self.auto_publish {
            EventState::Published
        } else {
            EventState::Draft
        }
    }

    pub fn occurrences(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>, FieldViolation> {
        let all = recurrence::expand(
            &self.rule,
            self.start_date,
            self.local_time,
            self.duration,
            self.tz,
            horizon,
        )
        .map_err(|e| FieldViolation::new(e.field(), e.to_string()))?;
        Ok(all.into_iter().filter(|o| o.start > now).collect())
    }

    pub fn deadline(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.rsvp_cutoff
            .filter(|c| *c > Duration::zero())
            .map(|c| start - c)
    }

    pub fn edit(&self, o: &Occurrence) -> EventEdit {
        EventEdit {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            kind: Some(self.kind),
            venue: Some(self.venue.clone()),
            city: (!self.city.is_empty()).then(|| self.city.clone()),
            start_at: Some(o.start),
            end_at: Some(o.end),
            time_zone: Some(self.tz.name().to_owned()),
            capacity: Some(self.capacity),
            rsvp_deadline: Some(self.deadline(o.start)),
            visibility: Some(self.visibility),
            approval_required: Some(self.approval_required),
            waitlist: Some(self.waitlist),
            etag: None,
        }
    }
}
