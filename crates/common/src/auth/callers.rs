//! Which service may call which internal method: the one table the server layer checks
//! before any handler runs. It follows what the code calls (the clients in each service);
//! an internal method missing here is refused to every caller.

use super::ServiceName::{self, Events, Members, Notifications};

const MEMBERS_INTERNAL: &str = "/rendezvous.members.v1.MemberInternalService/";
const EVENTS_INTERNAL: &str = "/rendezvous.events.v1.EventInternalService/";
const NOTIFICATIONS_INTERNAL: &str = "/rendezvous.notifications.v1.NotificationInternalService/";

/// Every internal method (its service's path prefix and its name) with the services it
/// accepts.
pub const INTERNAL_METHODS: &[(&str, &str, &[ServiceName])] = &[
    // events (reminders, invitations, new-event notices) and notifications (email addresses).
    (MEMBERS_INTERNAL, "GetContacts", &[Events, Notifications]),
    // events: blocks and connections in visibility, attendee lists and invitations.
    (MEMBERS_INTERNAL, "GetRelations", &[Events]),
    // events: new-event notices to a host's connections.
    (MEMBERS_INTERNAL, "ListConnectionIds", &[Events]),
    // events: who was checked in together, after an event ends.
    (MEMBERS_INTERNAL, "RecordMeetings", &[Events]),
    // events' attendee summaries; nobody calls it yet, so only the service it is for.
    (MEMBERS_INTERNAL, "CountUnmetConnections", &[Events]),
    // Every token verifier at start.
    (MEMBERS_INTERNAL, "GetSigningKeys", &[Events, Notifications]),
    // members' relay: a deleted member's erasure and data export.
    (EVENTS_INTERNAL, "EraseMember", &[Members]),
    (EVENTS_INTERNAL, "ExportMemberData", &[Members]),
    // members' relay: the sessions Logout, ChangePassword or a reused refresh token ended.
    (EVENTS_INTERNAL, "RevokeSessions", &[Members]),
    // members' relay: blocks and unblocks, which events checks locally.
    (EVENTS_INTERNAL, "RecordBlocks", &[Members]),
    // members' relay: a booked coffee, which events makes a private event, and its end.
    (EVENTS_INTERNAL, "ScheduleCoffee", &[Members]),
    (EVENTS_INTERNAL, "CancelCoffee", &[Members]),
    (EVENTS_INTERNAL, "RecordMetEdge", &[Members]),
    // members: re-meet nudges, the earliest event two members may both attend.
    (EVENTS_INTERNAL, "FindSharedEvent", &[Members]),
    // Both relays deliver notices.
    (NOTIFICATIONS_INTERNAL, "Deliver", &[Members, Events]),
    // Meant for events (a cancelled RSVP's reminders); nobody calls it yet.
    (NOTIFICATIONS_INTERNAL, "CancelScheduled", &[Events]),
    (NOTIFICATIONS_INTERNAL, "EraseMember", &[Members]),
    (NOTIFICATIONS_INTERNAL, "ExportMemberData", &[Members]),
    (NOTIFICATIONS_INTERNAL, "RevokeSessions", &[Members]),
];

/// The services the internal method at `path` (`/<package>.<Service>/<Method>`) accepts;
/// none for a method not in [`INTERNAL_METHODS`].
pub fn allowed_callers(path: &str) -> &'static [ServiceName] {
    INTERNAL_METHODS
        .iter()
        .find(|(service, method, _)| {
            path.strip_prefix(service)
                .is_some_and(|rest| rest == *method)
        })
        .map_or(&[], |(_, _, callers)| callers)
}

/// The services that may call some internal method of `service`: the peers whose public
/// keys it needs.
pub fn callers_of(service: ServiceName) -> Vec<ServiceName> {
    let prefix = match service {
        Members => MEMBERS_INTERNAL,
        Events => EVENTS_INTERNAL,
        Notifications => NOTIFICATIONS_INTERNAL,
    };
    let mut callers: Vec<ServiceName> = INTERNAL_METHODS
        .iter()
        .filter(|(path, _, _)| *path == prefix)
        .flat_map(|(_, _, callers)| callers.iter().copied())
        .collect();
    callers.sort();
    callers.dedup();
    callers
}

/// Every internal method's full path, for tests that call them all.
pub fn internal_method_paths() -> impl Iterator<Item = String> {
    INTERNAL_METHODS
        .iter()
        .map(|(service, method, _)| format!("{service}{method}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_allowed_to_its_listed_callers_only_and_unknown_methods_to_none() {
        let record = "/rendezvous.members.v1.MemberInternalService/RecordMeetings";
        assert_eq!(allowed_callers(record), &[Events]);
        assert_eq!(
            allowed_callers("/rendezvous.notifications.v1.NotificationInternalService/Deliver"),
            &[Members, Events]
        );
        for unknown in [
            "/rendezvous.members.v1.MemberInternalService/Unlisted",
            "/rendezvous.members.v1.MemberInternalService/RecordMeetingsX",
            "/rendezvous.members.v1.MemberInternalService/",
            "/rendezvous.events.v1.EventInternalService/RecordMeetings",
            "",
        ] {
            assert!(allowed_callers(unknown).is_empty(), "{unknown}");
        }
    }

    #[test]
    fn each_service_needs_the_keys_of_exactly_its_callers() {
        assert_eq!(callers_of(Members), vec![Events, Notifications]);
        assert_eq!(callers_of(Events), vec![Members]);
        assert_eq!(callers_of(Notifications), vec![Members, Events]);
    }

    #[test]
    fn the_table_lists_every_internal_method_of_the_contracts() {
        use rendezvous_proto::prost::Message as _;
        let Ok(set) = rendezvous_proto::prost_types::FileDescriptorSet::decode(
            rendezvous_proto::FILE_DESCRIPTOR_SET,
        ) else {
            panic!("the descriptor set does not decode")
        };
        let mut in_contracts = Vec::new();
        for file in &set.file {
            for service in &file.service {
                let name = service.name();
                if name.ends_with("InternalService") {
                    for method in &service.method {
                        in_contracts.push(format!("/{}.{name}/{}", file.package(), method.name()));
                    }
                }
            }
        }
        in_contracts.sort();
        let mut listed: Vec<String> = internal_method_paths().collect();
        listed.sort();
        assert_eq!(listed, in_contracts);
    }
}
