//! Events rules that need no I/O: RSVP and wait-list decisions, recurrence, who may do what,
//! hopes of meeting someone at an event, and the types the rules speak of.

pub mod access;
pub mod chapter;
pub mod chapter_health;
pub mod coffee;
pub mod event;
pub mod limits;
pub mod recurrence;
pub mod reminder;
pub mod rsvp;
pub mod series;
pub mod want_to_meet;
