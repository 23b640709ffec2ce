//! An injectable clock, so that token expiry, reminders and check-in windows are testable.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// Source of the current time. Clone-cheap; share one per service.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
enum Inner {
    System,
    /// A manually driven clock for tests.
    Manual(Mutex<DateTime<Utc>>),
}

impl Clock {
    /// The system wall clock.
    pub fn system() -> Self {
        Self(Arc::new(Inner::System))
    }

    /// A clock that stands still at `at` until advanced.
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Inner::Manual(Mutex::new(at))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &*self.0 {
            Inner::System => Utc::now(),
            Inner::Manual(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Now, cut to the microsecond both databases store (so what is written reads back equal).
    pub fn now_micros(&self) -> DateTime<Utc> {
        crate::time::truncate_micros(self.now())
    }

    /// Moves a manual clock forward; the system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Inner::Manual(at) = &*self.0 {
            let mut at = at.lock().unwrap_or_else(PoisonError::into_inner);
            *at += by;
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}
