//! Events rules that need no I/O.

pub mod recurrence;
pub mod rsvp;
