//! The Rendezvous events service: city chapters, events, invitations, RSVPs with wait-lists
//! and approvals, check-in, recurring series and calendars.
//!
//! Built so far: the pure rules (RSVP and wait-list decisions, recurrence expansion), the
//! iCalendar writer, and the storage whose RSVP path enforces capacity in the database with
//! per-event batched admission. The gRPC surface (`ChapterService`, `EventService`) is the
//! next step; until every method is real it is not served.

pub mod admission;
pub mod calendar;
pub mod domain;
pub mod store;
