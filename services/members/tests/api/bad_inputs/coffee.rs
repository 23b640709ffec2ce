//! Bad UpdateCoffeeSettings requests.

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

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
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
