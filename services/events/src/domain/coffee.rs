//! A booked coffee as events makes it: the private two-person event a matched coffee of the
//! members service becomes (`ScheduleCoffee`), its title, and where it is held. Nothing here
//! does I/O: the store reads the past coffees of the city and asks [`choose_venue`].
//!
//! A coffee the members service calls off (`CancelCoffee`: a block, a removed connection, a
//! deleted account) is cancelled only while [`may_call_off`] says so; one that has started
//! is theirs to finish.
//!
//! The venue is the one the members chose; without one, of the venues of past coffees in the
//! city, the one whose name or address mentions an area either member prefers, then the most
//! used, then the most recently used — a suggestion, which the notices say; without any past
//! coffee to learn from, none: an empty venue, and the two agree on a place between them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::domain::event::{EventKind, EventState, EventVisibility, NewEvent};
use crate::domain::rsvp::WaitlistMode;

/// The longest a coffee may last.
pub const MAX_LENGTH: Duration = Duration::hours(4);

/// Seats of a coffee: its two members, both confirmed when it is made.
pub const CAPACITY: u32 = 2;

/// The longest title of any event (CreateEvent's limit), in characters.
pub const TITLE_MAX_CHARS: usize = 200;

/// The title of a coffee once one of its members is erased: the names go with them.
pub const NAMELESS_TITLE: &str = "Coffee";

const TITLE_PREFIX: &str = "Coffee — ";
const TITLE_JOIN: &str = " & ";

/// One of the two members of a coffee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guest {
    pub member_id: Uuid,
    /// As members knows them when the coffee was booked (may be empty): for the title and the
    /// other member's notice.
    pub display_name: String,
}

/// Where a coffee is held; an empty name is no venue at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Venue {
    pub name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A booked coffee, as `ScheduleCoffee` carries it (already validated).
#[derive(Clone, Debug, PartialEq)]
pub struct CoffeeBooking {
    /// The id the event gets, chosen by members when the coffee was booked.
    pub event_id: Uuid,
    /// At most one event per proposal: a second booking of it finds the first event.
    pub proposal_id: Uuid,
    /// Who booked it: the event's host.
    pub host: Guest,
    pub guest: Guest,
    pub start_at: DateTime<Utc>,
    /// After `start_at`, by at most [`MAX_LENGTH`].
    pub end_at: DateTime<Utc>,
    pub time_zone: String,
    pub city: String,
    /// The venue the two chose; none asks for a suggestion.
    pub venue: Option<Venue>,
    /// Areas of the city either member would rather meet in (trimmed, none empty).
    pub preferred_areas: Vec<String>,
}

/// A booked coffee called off, as `CancelCoffee` carries it (already validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoffeeCancellation {
    /// Finds the event, and is remembered so that a booking of it arriving later makes none.
    pub proposal_id: Uuid,
    /// The event members chose when booking it: only logged, since the proposal finds the
    /// event (the first of several deliveries of a booking chose its id).
    pub event_id: Uuid,
}

/// Whether a coffee's event in `state`, starting at `start_at`, is still called off at `now`:
/// neither cancelled nor completed, and not started — once the two may be sitting together,
/// it is left for them (and their check-ins and meetings) as it is.
pub fn may_call_off(state: EventState, start_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    !state.is_over() && start_at > now
}

impl CoffeeBooking {
    /// The event of the coffee, held at `venue`: kind coffee, invite-only, outside any
    /// chapter, two seats, hosted by the member who booked it.
    pub fn new_event(&self, venue: &Venue, check_in_code: String) -> NewEvent {
        NewEvent {
            id: self.event_id,
            host_id: self.host.member_id,
            chapter_id: None,
            title: title(&self.host.display_name, &self.guest.display_name),
            description: String::new(),
            kind: EventKind::Coffee,
            venue_name: venue.name.clone(),
            venue_address: venue.address.clone(),
            latitude: venue.latitude,
            longitude: venue.longitude,
            city: self.city.clone(),
            start_at: self.start_at,
            end_at: self.end_at,
            time_zone: self.time_zone.clone(),
            capacity: CAPACITY,
            rsvp_deadline: None,
            visibility: EventVisibility::InviteOnly,
            approval_required: false,
            waitlist: WaitlistMode::Automatic,
            check_in_code,
            request_id: None,
        }
    }

    /// Each member with the other one: who is told of the coffee, and whom they meet.
    pub fn pairs(&self) -> [(&Guest, &Guest); 2] {
        [(&self.host, &self.guest), (&self.guest, &self.host)]
    }
}

/// "Coffee — Amélie & Ben": the two names, each shortened (with an ellipsis) as far as needed
/// for the title to fit [`TITLE_MAX_CHARS`], the shorter name kept whole when it fits half
/// the room. Control characters are dropped; a missing name is left out.
pub fn title(host: &str, guest: &str) -> String {
    let names: Vec<String> = [host, guest]
        .into_iter()
        .map(clean_name)
        .filter(|name| !name.is_empty())
        .collect();
    let prefix = TITLE_PREFIX.chars().count();
    match names.as_slice() {
        [] => NAMELESS_TITLE.to_owned(),
        [one] => format!("{TITLE_PREFIX}{}", shorten(one, TITLE_MAX_CHARS - prefix)),
        [first, second, ..] => {
            let room = TITLE_MAX_CHARS - prefix - TITLE_JOIN.chars().count();
            let (a, b) = (first.chars().count(), second.chars().count());
            let half = room / 2;
            let (a_room, b_room) = if a + b <= room {
                (a, b)
            } else if a <= half {
                (a, room - a)
            } else if b <= half {
                (room - b, b)
            } else {
                (half, room - half)
            };
            format!(
                "{TITLE_PREFIX}{}{TITLE_JOIN}{}",
                shorten(first, a_room),
                shorten(second, b_room)
            )
        }
    }
}

fn clean_name(name: &str) -> String {
    let kept: String = name.chars().filter(|c| !c.is_control()).collect();
    kept.trim().to_owned()
}

/// `text` in at most `room` characters: whole, or cut with an ellipsis at the end.
fn shorten(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let kept: String = text.chars().take(room.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// The venue of one past coffee in the city, for the suggestion.
#[derive(Clone, Debug, PartialEq)]
pub struct PastVenue {
    pub venue: Venue,
    pub start_at: DateTime<Utc>,
}

/// Where a coffee is held, and whether Rendezvous suggested it (nobody chose it).
#[derive(Clone, Debug, PartialEq)]
pub struct VenueChoice {
    pub venue: Venue,
    pub suggested: bool,
}

/// The venue of a coffee: `requested` when the members chose one; otherwise, of the venues of
/// the `past` coffees in the city (the same venue told apart from others by its name and
/// address, whatever their case), one in a `preferred_areas` (its name or address contains
/// the area, whatever the case), then the most used, then the most recently used, then the
/// first by name — suggested; with no past venue, an empty one, not suggested.
pub fn choose_venue(
    requested: Option<&Venue>,
    preferred_areas: &[String],
    past: &[PastVenue],
) -> VenueChoice {
    if let Some(venue) = requested {
        return VenueChoice {
            venue: venue.clone(),
            suggested: false,
        };
    }
    let areas: Vec<String> = preferred_areas
        .iter()
        .map(|area| area.trim().to_lowercase())
        .filter(|area| !area.is_empty())
        .collect();
    let best = tally(past)
        .into_iter()
        .map(|used| {
            let (name, address) = (
                used.venue.name.to_lowercase(),
                used.venue.address.to_lowercase(),
            );
            let in_area = areas
                .iter()
                .any(|area| name.contains(area) || address.contains(area));
            (in_area, used)
        })
        .max_by(|(a_in, a), (b_in, b)| {
            a_in.cmp(b_in)
                .then(a.uses.cmp(&b.uses))
                .then(a.last.cmp(&b.last))
                .then_with(|| b.venue.name.cmp(&a.venue.name))
        });
    match best {
        Some((_, used)) => VenueChoice {
            venue: used.venue.clone(),
            suggested: true,
        },
        None => VenueChoice {
            venue: Venue::default(),
            suggested: false,
        },
    }
}

/// A venue of past coffees: how often it was used, and when last (as then written).
struct Used<'a> {
    venue: &'a Venue,
    uses: usize,
    last: DateTime<Utc>,
}

/// The distinct named venues of `past`.
fn tally(past: &[PastVenue]) -> Vec<Used<'_>> {
    let mut used: Vec<Used<'_>> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for p in past.iter().filter(|p| !p.venue.name.trim().is_empty()) {
        let key = (
            p.venue.name.trim().to_lowercase(),
            p.venue.address.trim().to_lowercase(),
        );
        match seen.get(&key) {
            Some(&i) => {
                let entry = &mut used[i];
                entry.uses += 1;
                if p.start_at > entry.last {
                    entry.last = p.start_at;
                    entry.venue = &p.venue;
                }
            }
            None => {
                seen.insert(key, used.len());
                used.push(Used {
                    venue: &p.venue,
                    uses: 1,
                    last: p.start_at,
                });
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    fn venue(name: &str, address: &str) -> Venue {
        Venue {
            name: name.to_owned(),
            address: address.to_owned(),
            latitude: None,
            longitude: None,
        }
    }

    /// A past coffee at `venue` on day `day` of March 2027.
    fn past(venue: &Venue, day: u32) -> PastVenue {
        PastVenue {
            venue: venue.clone(),
            start_at: Utc.with_ymd_and_hms(2027, 3, day, 9, 0, 0).unwrap(),
        }
    }

    fn areas(names: &[&str]) -> Vec<String> {
        names.iter().map(|&a| a.to_owned()).collect()
    }

    #[test]
    fn the_venue_the_members_chose_is_theirs_and_not_a_suggestion() {
        let chosen = venue("Chez Jo", "");
        let marais = venue("Café du Marais", "3 rue Vieille-du-Temple");
        let choice = choose_venue(Some(&chosen), &areas(&["Marais"]), &[past(&marais, 1)]);
        assert_eq!(
            choice,
            VenueChoice {
                venue: chosen,
                suggested: false
            }
        );
    }

    #[test]
    fn a_venue_in_a_preferred_area_beats_one_used_more() {
        let popular = venue("Le Peloton", "17 rue du Pont Louis-Philippe");
        let in_area = venue("Café Loustic", "40 rue Chapon, Le Marais");
        let past = [past(&popular, 1), past(&popular, 2), past(&in_area, 3)];
        let choice = choose_venue(None, &areas(&["  le marais "]), &past);
        assert_eq!(choice.venue, in_area);
        assert!(choice.suggested);
        // An area in the venue's name counts as well as one in its address.
        let choice = choose_venue(None, &areas(&["Belleville", "PELOTON"]), &past);
        assert_eq!(choice.venue, popular);
    }

    #[test]
    fn without_an_area_the_most_used_venue_then_the_most_recent_is_suggested() {
        let popular = venue("Le Peloton", "");
        let recent = venue("Ten Belles", "");
        let older = venue("Fragments", "");
        let past = [
            past(&popular, 1),
            past(&popular, 2),
            past(&older, 3),
            past(&recent, 9),
        ];
        assert_eq!(choose_venue(None, &[], &past).venue, popular);
        let choice = choose_venue(None, &areas(&["Montmartre"]), &past[2..]);
        assert_eq!(choice.venue, recent);
        assert!(choice.suggested);
    }

    #[test]
    fn one_venue_spelled_in_another_case_counts_once_as_last_written() {
        let upper = venue("LE PELOTON", "17 Rue du Pont");
        let lower = venue("le peloton", "17 rue du pont");
        let other = venue("Fragments", "");
        let past = [past(&upper, 1), past(&other, 2), past(&lower, 3)];
        assert_eq!(choose_venue(None, &[], &past).venue, lower);
    }

    #[test]
    fn equal_venues_are_told_apart_by_name() {
        let past = [
            past(&venue("Zorba", ""), 1),
            past(&venue("Aux Folies", ""), 1),
        ];
        assert_eq!(choose_venue(None, &[], &past).venue.name, "Aux Folies");
    }

    #[test]
    fn with_no_past_venue_there_is_no_venue_and_no_suggestion() {
        let unnamed = venue("", "somewhere");
        let choice = choose_venue(None, &areas(&["Marais"]), &[past(&unnamed, 1)]);
        assert_eq!(
            choice,
            VenueChoice {
                venue: Venue::default(),
                suggested: false
            }
        );
        assert!(!choose_venue(None, &[], &[]).suggested);
    }

    #[test]
    fn a_title_names_both_members() {
        assert_eq!(title("Amélie", "Ben"), "Coffee — Amélie & Ben");
        assert_eq!(title(" Amélie\u{7}\n", ""), "Coffee — Amélie");
        assert_eq!(title("", "Ben"), "Coffee — Ben");
        assert_eq!(title(" ", "\t"), NAMELESS_TITLE);
    }

    #[test]
    fn long_names_are_shortened_to_fit_and_a_short_one_is_kept_whole() {
        let long = "Marie-Amélie ".repeat(30);
        let both = title(&long, &long);
        assert_eq!(both.chars().count(), TITLE_MAX_CHARS, "{both}");
        assert_eq!(both.matches('…').count(), 2, "{both}");
        let one = title("Ben", &long);
        assert!(one.starts_with("Coffee — Ben & Marie-Amélie"), "{one}");
        assert!(one.ends_with('…') && one.chars().count() <= TITLE_MAX_CHARS);
        let alone = title(&long, "");
        assert!(alone.ends_with('…') && alone.chars().count() <= TITLE_MAX_CHARS);
    }

    #[test]
    fn only_a_coffee_not_over_and_not_started_is_called_off() {
        let start = Utc.with_ymd_and_hms(2027, 6, 10, 9, 0, 0).unwrap();
        let before = start - Duration::seconds(1);
        assert!(may_call_off(EventState::Published, start, before));
        assert!(!may_call_off(EventState::Published, start, start));
        assert!(!may_call_off(
            EventState::Published,
            start,
            start + Duration::hours(2)
        ));
        assert!(!may_call_off(EventState::Cancelled, start, before));
        assert!(!may_call_off(EventState::Completed, start, before));
    }

    proptest! {
        #[test]
        fn a_title_always_fits_and_holds_no_control_character(
            host in any::<String>(),
            guest in any::<String>(),
        ) {
            let title = title(&host, &guest);
            prop_assert!(title.chars().count() <= TITLE_MAX_CHARS);
            prop_assert!(!title.chars().any(char::is_control));
            prop_assert!(title.starts_with(NAMELESS_TITLE));
        }
    }
}
