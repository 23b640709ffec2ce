//! Hoping to meet someone at an event: the rules of a mark, without I/O. A confirmed attendee
//! marks others they may see as attendees; a mark is only ever shown to the one who made it,
//! and when two attendees mark each other both are told (once) and the pair is kept as mutual.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::{EventRow, EventState};

/// How many attendees one member may mark at one event. Marking everyone would tell a member
/// everyone who marked them: a mark is worth something because there are few.
pub const MARKS_PER_EVENT: usize = 10;

/// Why a mark is refused once the caller is known to be a confirmed attendee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkRefusal {
    /// The event is not published, is cancelled or completed, or has ended.
    Closed,
    /// The caller has marked [`MARKS_PER_EVENT`] attendees at this event already.
    Full,
}

impl MarkRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Closed => "marks are taken until the event ends, and only for a published event",
            Self::Full => "at most 10 attendees may be marked at one event",
        }
    }
}

/// Whether marks may still be made at `event` at `now`: published and not over.
pub fn check_open(event: &EventRow, now: DateTime<Utc>) -> Result<(), MarkRefusal> {
    if event.state == EventState::Published && now < event.end_at {
        Ok(())
    } else {
        Err(MarkRefusal::Closed)
    }
}

/// Whether one more mark fits beside the `marked` ones the caller already has there (a mark
/// they hold already always does: marking again changes nothing).
pub fn check_room(marked: &[Uuid], other: Uuid) -> Result<(), MarkRefusal> {
    if marked.contains(&other) || marked.len() < MARKS_PER_EVENT {
        Ok(())
    } else {
        Err(MarkRefusal::Full)
    }
}

/// How many more marks the caller may make.
pub fn marks_left(marked: usize) -> usize {
    MARKS_PER_EVENT.saturating_sub(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    #[test]
    fn the_eleventh_mark_is_refused_but_marking_again_is_not() {
        let marked = ids(MARKS_PER_EVENT);
        assert_eq!(check_room(&marked, Uuid::now_v7()), Err(MarkRefusal::Full));
        assert_eq!(check_room(&marked, marked[3]), Ok(()));
        assert_eq!(check_room(&marked[1..], Uuid::now_v7()), Ok(()));
        assert_eq!(marks_left(MARKS_PER_EVENT), 0);
        assert_eq!(marks_left(3), MARKS_PER_EVENT - 3);
    }
}
