//! Events rules that need no I/O: RSVP and wait-list decisions, recurrence, who may do what,
//! and the types the rules speak of.

pub mod access;
pub mod chapter;
pub mod coffee;
pub mod event;
pub mod limits;
pub mod recurrence;
pub mod reminder;
pub mod rsvp;
pub mod series;
