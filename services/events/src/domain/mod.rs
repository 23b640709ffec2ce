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

use uuid::Uuid;

/// A pair of members as every pair table stores it (want-to-meet marks, met edges): the
/// smaller id first.
pub fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b { (a, b) } else { (b, a) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_ordered_either_way_round() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(ordered(a, b), ordered(b, a));
        assert!(ordered(b, a).0 <= ordered(b, a).1);
    }
}
