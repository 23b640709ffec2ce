//! Bad UpdateCoffeeSettings, RespondToCoffeeProposal and ScheduleCoffee requests.

use super::*;

use rendezvous_proto::events::v1 as events_pb;

fn coffee(settings: pb::CoffeeSettings, paths: &[&str]) -> pb::UpdateCoffeeSettingsRequest {
    pb::UpdateCoffeeSettingsRequest {
        settings: Some(settings),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

fn window(weekday: events_pb::Weekday, start: &str, end: &str) -> pb::AvailabilityWindow {
    pb::AvailabilityWindow {
        weekday: weekday.into(),
        start_time: start.into(),
        end_time: end.into(),
    }
}

fn windows(windows: Vec<pb::AvailabilityWindow>) -> pb::UpdateCoffeeSettingsRequest {
    coffee(
        pb::CoffeeSettings {
            availability: windows,
            ..Default::default()
        },
        &["availability"],
    )
}

/// A booking of the proposal `f.some_id` at `start` (whole hours from now, plus `minutes`).
fn booking(
    f: &Fixture,
    hours: i64,
    minutes: i64,
    venue: Option<events_pb::Venue>,
) -> pb::ScheduleCoffeeRequest {
    use chrono::{DurationRound as _, TimeDelta};
    let hour = chrono::Utc::now()
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or_default();
    pb::ScheduleCoffeeRequest {
        proposal_id: f.some_id.clone(),
        start_time: Some(rendezvous_common::time::to_timestamp(
            hour + TimeDelta::hours(hours) + TimeDelta::minutes(minutes),
        )),
        venue,
    }
}

fn venue(name: &str, address: &str, latitude: f64) -> Option<events_pb::Venue> {
    Some(events_pb::Venue {
        name: name.into(),
        address: address.into(),
        latitude,
        longitude: 2.35,
    })
}

fn bookings(f: &Fixture) -> Vec<BadInput> {
    vec![
        bad(
            "a coffee booking of a malformed proposal id",
            "proposal_id",
            call!(
                f.me,
                schedule_coffee,
                pb::ScheduleCoffeeRequest {
                    proposal_id: "coffee-1".into(),
                    ..booking(f, 48, 0, None)
                }
            ),
        ),
        bad(
            "a coffee booking without a time",
            "start_time",
            call!(
                f.me,
                schedule_coffee,
                pb::ScheduleCoffeeRequest {
                    start_time: None,
                    ..booking(f, 48, 0, None)
                }
            ),
        ),
        bad(
            "a coffee booked off the half-hour grid",
            "start_time",
            call!(f.me, schedule_coffee, booking(f, 48, 10, None)),
        )
        .saying("half hour"),
        bad(
            "a coffee booked in the past",
            "start_time",
            call!(f.me, schedule_coffee, booking(f, -2, 0, None)),
        ),
        bad(
            "a coffee booked more than 30 days ahead",
            "start_time",
            call!(f.me, schedule_coffee, booking(f, 24 * 31, 0, None)),
        )
        .saying("30 days"),
        bad(
            "a coffee venue without a name",
            "venue.name",
            call!(
                f.me,
                schedule_coffee,
                booking(f, 48, 0, venue(" ", "", 48.85))
            ),
        ),
        bad(
            "a coffee venue address too long",
            "venue.address",
            call!(
                f.me,
                schedule_coffee,
                booking(f, 48, 0, venue("Café", &"x".repeat(501), 48.85))
            ),
        ),
        bad(
            "a coffee venue off the globe",
            "venue.latitude",
            call!(
                f.me,
                schedule_coffee,
                booking(f, 48, 0, venue("Café", "", 95.0))
            ),
        ),
    ]
}

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    let mut rows = bookings(f);
    rows.extend(settings_rows(f));
    rows
}

fn settings_rows(f: &Fixture) -> Vec<BadInput> {
    let monday = events_pb::Weekday::Monday;
    vec![
        bad(
            "a coffee answer to a malformed proposal id",
            "proposal_id",
            call!(
                f.me,
                respond_to_coffee_proposal,
                pb::RespondToCoffeeProposalRequest {
                    proposal_id: "coffee-1".into(),
                    accept: true,
                }
            ),
        ),
        bad(
            "a negative page size of coffee proposals",
            "page_size",
            call!(
                f.me,
                list_coffee_proposals,
                pb::ListCoffeeProposalsRequest {
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "coffee settings with no mask",
            "update_mask",
            call!(
                f.me,
                update_coffee_settings,
                pb::UpdateCoffeeSettingsRequest::default()
            ),
        ),
        bad(
            "coffee settings with the output-only update time in the mask",
            "update_mask",
            call!(
                f.me,
                update_coffee_settings,
                coffee(pb::CoffeeSettings::default(), &["update_time"])
            ),
        ),
        bad(
            "opting in to coffee with no availability window",
            "settings.opted_in",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        opted_in: true,
                        ..Default::default()
                    },
                    &["opted_in"]
                )
            ),
        )
        .saying("at least one availability window"),
        bad(
            "coffee cadence unset",
            "settings.cadence",
            call!(
                f.me,
                update_coffee_settings,
                coffee(pb::CoffeeSettings::default(), &["cadence"])
            ),
        ),
        bad(
            "coffee cadence of an unknown value",
            "settings.cadence",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        cadence: 9,
                        ..Default::default()
                    },
                    &["cadence"]
                )
            ),
        ),
        bad(
            "a coffee window with no weekday",
            "settings.availability[0].weekday",
            call!(
                f.me,
                update_coffee_settings,
                windows(vec![window(
                    events_pb::Weekday::Unspecified,
                    "08:00",
                    "09:00"
                )])
            ),
        ),
        bad(
            "a coffee window starting at 8:30 without its leading zero",
            "settings.availability[0].start_time",
            call!(
                f.me,
                update_coffee_settings,
                windows(vec![window(monday, "8:30", "10:00")])
            ),
        ),
        bad(
            "a coffee window ending at 25:00",
            "settings.availability[0].end_time",
            call!(
                f.me,
                update_coffee_settings,
                windows(vec![window(monday, "08:30", "25:00")])
            ),
        ),
        bad(
            "a coffee window of 20 minutes",
            "settings.availability[1].end_time",
            call!(
                f.me,
                update_coffee_settings,
                windows(vec![
                    window(monday, "08:00", "09:00"),
                    window(monday, "12:00", "12:20"),
                ])
            ),
        )
        .saying("30 minutes"),
        bad(
            "two coffee windows overlapping on a Monday",
            "settings.availability[1]",
            call!(
                f.me,
                update_coffee_settings,
                windows(vec![
                    window(monday, "08:00", "10:00"),
                    window(monday, "09:00", "11:00"),
                ])
            ),
        ),
        bad(
            "22 coffee windows",
            "settings.availability",
            call!(
                f.me,
                update_coffee_settings,
                windows(
                    (0..22)
                        .map(|i| window(monday, &format!("{:02}:00", i), &format!("{:02}:30", i)))
                        .collect()
                )
            ),
        ),
        bad(
            "a coffee time zone that does not exist",
            "settings.time_zone",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        time_zone: "Europe/Atlantis".into(),
                        ..Default::default()
                    },
                    &["time_zone"]
                )
            ),
        ),
        bad(
            "six preferred coffee areas",
            "settings.preferred_areas",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        preferred_areas: (0..6).map(|i| format!("area {i}")).collect(),
                        ..Default::default()
                    },
                    &["preferred_areas"]
                )
            ),
        ),
        bad(
            "a blank preferred coffee area",
            "settings.preferred_areas[0]",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        preferred_areas: vec!["   ".into()],
                        ..Default::default()
                    },
                    &["preferred_areas"]
                )
            ),
        ),
        bad(
            "a coffee snooze in the year 10000",
            "settings.snoozed_until",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        snoozed_until: Some(Timestamp {
                            seconds: 253_402_300_800,
                            nanos: 0,
                        }),
                        ..Default::default()
                    },
                    &["snoozed_until"]
                )
            ),
        ),
        bad(
            "oneself on one's do-not-pair list",
            "settings.do_not_pair_member_ids[1]",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        do_not_pair_member_ids: vec![f.bruno.id.clone(), f.anna.id.clone()],
                        ..Default::default()
                    },
                    &["do_not_pair_member_ids"]
                )
            ),
        ),
        bad(
            "a malformed id on the do-not-pair list",
            "settings.do_not_pair_member_ids[0]",
            call!(
                f.me,
                update_coffee_settings,
                coffee(
                    pb::CoffeeSettings {
                        do_not_pair_member_ids: vec!["bruno".into()],
                        ..Default::default()
                    },
                    &["do_not_pair_member_ids"]
                )
            ),
        ),
    ]
}
