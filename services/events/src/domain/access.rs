//! Who may do what to an event: one pure policy, asked by the handlers before they act and by
//! the store's transactions under the event's row lock.
//!
//! A caller is anonymous or a member; a member may be the host, a full co-host, a check-in-only
//! co-host, invited, a confirmed attendee, or a member of the event's chapter (organisers of
//! the chapter have no more say over its events than its other members). What they may not
//! see is hidden (NOT_FOUND, so an event's existence stays private); what they see but may
//! not do is denied.

use uuid::Uuid;

use crate::domain::event::{EventRefusal, EventRow, EventState, EventVisibility, HostRole};
use crate::domain::rsvp::RsvpVisibility;

/// Something a caller does to an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read it: get, export, attendance summary, RSVP, cancel one's RSVP, claim an offer.
    See,
    /// Edit, publish or cancel it, invite, approve or decline RSVPs, announce, rotate the
    /// check-in code, complete it.
    Manage,
    /// Add or remove co-hosts.
    ManageCohosts,
    /// Read the check-in code.
    SeeCheckInCode,
    /// Check others in.
    CheckIn,
    /// List who is coming.
    ListAttendees,
    /// Read another member's RSVP.
    SeeOthersRsvp,
    /// Mark other attendees as someone one hopes to meet there.
    HopeToMeet,
}

/// What the caller is to an event besides being its host or co-host (read from the store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub invited: bool,
    pub has_rsvp: bool,
    pub confirmed: bool,
    pub chapter_member: bool,
    /// The caller and the event's host block each other, either way. [`authorize`] does not
    /// read it: what a block hides is the handlers' to decide (a seat taken before the block
    /// stays its holder's to read and give up).
    pub blocks_with_host: bool,
}

/// Why the policy said no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not know the event exists.
    Hidden,
    /// The caller sees the event but may not do this.
    Denied(&'static str),
}

/// The store's refusal of an event change the policy refused.
impl From<Refusal> for EventRefusal {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Hidden => Self::NotFound,
            Refusal::Denied(_) => Self::NotHost,
        }
    }
}

/// Whether `caller` (`None`: anonymous) may do `action` to `event`.
pub fn authorize(
    event: &EventRow,
    caller: Option<Uuid>,
    access: Access,
    action: Action,
) -> Result<(), Refusal> {
    let role = caller.and_then(|c| event.role_of(c));
    if !sees(event, role, access) {
        return Err(Refusal::Hidden);
    }
    let manages = matches!(role, Some(HostRole::Host | HostRole::Cohost));
    let allowed = match action {
        Action::See => true,
        Action::Manage => manages,
        Action::ManageCohosts => role == Some(HostRole::Host),
        Action::SeeCheckInCode | Action::CheckIn => role.is_some(),
        // Any RSVP, whatever its state and visibility; others see what ListAttendees shows
        // them (the handler applies that policy).
        Action::SeeOthersRsvp => manages,
        Action::ListAttendees => manages || access.confirmed,
        // Only one who is going: a host without a seat is not meeting anyone there.
        Action::HopeToMeet => access.confirmed,
    };
    if allowed {
        Ok(())
    } else {
        Err(Refusal::Denied(match action {
            Action::ListAttendees => "only hosts and confirmed attendees may list attendees",
            Action::SeeOthersRsvp => "only the event's hosts and full co-hosts may see any RSVP",
            Action::CheckIn => "only hosts and co-hosts may check others in",
            Action::HopeToMeet => "only confirmed attendees may mark whom they hope to meet",
            _ => "only the event's hosts may do this",
        }))
    }
}

/// Hosts always; drafts nobody else; otherwise public events anyone, chapter events the
/// chapter's members, and invitees and members who RSVP'd any event.
fn sees(event: &EventRow, role: Option<HostRole>, access: Access) -> bool {
    if role.is_some() {
        return true;
    }
    if event.state == EventState::Draft {
        return false;
    }
    match event.visibility {
        EventVisibility::Public => true,
        EventVisibility::Chapter => access.chapter_member || access.invited || access.has_rsvp,
        EventVisibility::InviteOnly => access.invited || access.has_rsvp,
    }
}

/// Whether a viewer of an event's attendees sees one attendee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttendeeView {
    Visible,
    /// Only if the two are connected (the caller asks members).
    IfConnected,
    Hidden,
}

/// How the attendee whose RSVP has `visibility` shows to a viewer who `manages` the event, is
/// that attendee (`is_self`), or is `confirmed` themselves.
pub fn attendee_view(
    manages: bool,
    is_self: bool,
    confirmed: bool,
    visibility: RsvpVisibility,
) -> AttendeeView {
    if manages || is_self {
        return AttendeeView::Visible;
    }
    match visibility {
        RsvpVisibility::Public => AttendeeView::Visible,
        RsvpVisibility::Attendees if confirmed => AttendeeView::Visible,
        RsvpVisibility::Connections => AttendeeView::IfConnected,
        RsvpVisibility::Attendees | RsvpVisibility::Nobody => AttendeeView::Hidden,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::domain::event::{CohostRole, EventKind};
    use crate::domain::rsvp::WaitlistMode;

    /// The parts callers play, as in tests/authorization.rs's matrix.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Part {
        Anonymous,
        Member,
        Invitee,
        Attendee,
        Host,
        Cohost,
        CheckInOnly,
        Organiser,
    }

    const PARTS: [Part; 8] = [
        Part::Anonymous,
        Part::Member,
        Part::Invitee,
        Part::Attendee,
        Part::Host,
        Part::Cohost,
        Part::CheckInOnly,
        Part::Organiser,
    ];

    const ACTIONS: [Action; 8] = [
        Action::See,
        Action::Manage,
        Action::ManageCohosts,
        Action::SeeCheckInCode,
        Action::CheckIn,
        Action::ListAttendees,
        Action::SeeOthersRsvp,
        Action::HopeToMeet,
    ];

    /// A fixed id per part, by name.
    fn id(name: &str) -> Uuid {
        let n = [
            "host",
            "cohost",
            "check-in",
            "member",
            "invitee",
            "attendee",
            "organiser",
        ]
        .iter()
        .position(|p| *p == name)
        .unwrap();
        Uuid::from_u128(n as u128 + 1)
    }

    fn event(visibility: EventVisibility, state: EventState) -> EventRow {
        let at = Utc.with_ymd_and_hms(2027, 3, 1, 18, 0, 0).unwrap();
        EventRow {
            id: Uuid::from_u128(100),
            chapter_id: Some(Uuid::from_u128(200)),
            series_id: None,
            host_id: id("host"),
            cohosts: vec![
                (id("cohost"), CohostRole::Full),
                (id("check-in"), CohostRole::CheckInOnly),
            ],
            title: "Café".into(),
            description: String::new(),
            kind: EventKind::Coffee,
            venue_name: String::new(),
            venue_address: String::new(),
            latitude: None,
            longitude: None,
            city: "Paris".into(),
            start_at: at,
            end_at: at,
            time_zone: "Europe/Paris".into(),
            capacity: 10,
            rsvp_deadline: None,
            visibility,
            state,
            approval_required: false,
            waitlist: WaitlistMode::Automatic,
            confirmed_count: 1,
            offered_count: 0,
            waitlisted_count: 0,
            check_in_code: String::new(),
            cancellation_reason: String::new(),
            no_show_count: 0,
            version: 1,
            created_at: at,
            updated_at: at,
            coffee_proposal_id: None,
        }
    }

    /// Who the part is and what the store would read about them. Every event lives in the
    /// chapter the organiser runs; the attendee is a confirmed chapter member.
    fn caller(part: Part) -> (Option<Uuid>, Access) {
        let none = Access::default();
        match part {
            Part::Anonymous => (None, none),
            Part::Member => (Some(id("member")), none),
            Part::Invitee => (
                Some(id("invitee")),
                Access {
                    invited: true,
                    ..none
                },
            ),
            Part::Attendee => (
                Some(id("attendee")),
                Access {
                    has_rsvp: true,
                    confirmed: true,
                    chapter_member: true,
                    ..none
                },
            ),
            Part::Host => (Some(id("host")), none),
            Part::Cohost => (Some(id("cohost")), none),
            Part::CheckInOnly => (Some(id("check-in")), none),
            Part::Organiser => (
                Some(id("organiser")),
                Access {
                    chapter_member: true,
                    ..none
                },
            ),
        }
    }

    /// The matrix of tests/authorization.rs (`expected`), by action instead of method.
    fn expected(part: Part, action: Action, visibility: EventVisibility) -> Result<(), Refusal> {
        let sees = match visibility {
            EventVisibility::Public => true,
            EventVisibility::Chapter => !matches!(part, Part::Anonymous | Part::Member),
            EventVisibility::InviteOnly => {
                !matches!(part, Part::Anonymous | Part::Member | Part::Organiser)
            }
        };
        if !sees {
            return Err(Refusal::Hidden);
        }
        let allowed = match action {
            Action::See => true,
            Action::ManageCohosts => part == Part::Host,
            Action::SeeCheckInCode | Action::CheckIn => {
                matches!(part, Part::Host | Part::Cohost | Part::CheckInOnly)
            }
            Action::SeeOthersRsvp => matches!(part, Part::Host | Part::Cohost),
            Action::ListAttendees => matches!(part, Part::Host | Part::Cohost | Part::Attendee),
            Action::Manage => matches!(part, Part::Host | Part::Cohost),
            Action::HopeToMeet => part == Part::Attendee,
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::Denied(""))
        }
    }

    #[test]
    fn the_policy_matches_the_authorisation_matrix() {
        let mut failures = Vec::new();
        for visibility in [
            EventVisibility::Public,
            EventVisibility::Chapter,
            EventVisibility::InviteOnly,
        ] {
            let event = event(visibility, EventState::Published);
            for part in PARTS {
                let (who, access) = caller(part);
                for action in ACTIONS {
                    let got = authorize(&event, who, access, action).map_err(|r| match r {
                        Refusal::Denied(_) => Refusal::Denied(""),
                        hidden @ Refusal::Hidden => hidden,
                    });
                    let want = expected(part, action, visibility);
                    if got != want {
                        failures.push(format!("{visibility:?} {part:?} {action:?}: {got:?}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn only_a_booked_coffee_refuses_reshaping_whatever_the_kind() {
        let own = event(EventVisibility::InviteOnly, EventState::Published);
        assert_eq!(own.kind, EventKind::Coffee);
        assert!(!own.is_coffee());
        assert_eq!(own.check_reshapable(), Ok(()));
        let booked = EventRow {
            coffee_proposal_id: Some(Uuid::from_u128(300)),
            ..own
        };
        assert!(booked.is_coffee());
        assert_eq!(
            booked.check_reshapable(),
            Err(EventRefusal::State(crate::domain::event::COFFEE_LOCKED))
        );
    }

    #[test]
    fn a_draft_is_hidden_from_everyone_but_its_hosts() {
        let draft = event(EventVisibility::Public, EventState::Draft);
        for part in PARTS {
            let (who, access) = caller(part);
            let seen = authorize(&draft, who, access, Action::See).is_ok();
            let hosts = matches!(part, Part::Host | Part::Cohost | Part::CheckInOnly);
            assert_eq!(seen, hosts, "{part:?}");
        }
    }

    #[test]
    fn refusals_say_who_may() {
        let event = event(EventVisibility::Public, EventState::Published);
        let (who, access) = caller(Part::Member);
        assert_eq!(
            authorize(&event, who, access, Action::ListAttendees),
            Err(Refusal::Denied(
                "only hosts and confirmed attendees may list attendees"
            ))
        );
        assert_eq!(
            authorize(&event, who, access, Action::Manage),
            Err(Refusal::Denied("only the event's hosts may do this"))
        );
    }

    #[test]
    fn attendees_show_by_their_rsvp_visibility() {
        use AttendeeView::{Hidden, IfConnected, Visible};
        use RsvpVisibility::{Attendees, Connections, Nobody, Public};
        let table = [
            // manages, self, confirmed, visibility => view
            ((true, false, false, Nobody), Visible),
            ((false, true, false, Nobody), Visible),
            ((false, false, false, Public), Visible),
            ((false, false, true, Attendees), Visible),
            ((false, false, false, Attendees), Hidden),
            ((false, false, true, Connections), IfConnected),
            ((false, false, true, Nobody), Hidden),
        ];
        for ((manages, is_self, confirmed, visibility), want) in table {
            assert_eq!(
                attendee_view(manages, is_self, confirmed, visibility),
                want,
                "{manages} {is_self} {confirmed} {visibility:?}"
            );
        }
    }
}
