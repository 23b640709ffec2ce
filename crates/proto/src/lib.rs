//! The Rendezvous contracts: generated messages, clients and servers for every package, and the
//! encoded descriptor set that server reflection serves.

pub use prost;
pub use prost_types;
pub use tonic;

/// Every file of every package (with imports), encoded as a `FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rendezvous_descriptor.bin"));

pub mod members {
    pub mod v1 {
        tonic::include_proto!("rendezvous.members.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("rendezvous.events.v1");
    }
}

pub mod notifications {
    pub mod v1 {
        tonic::include_proto!("rendezvous.notifications.v1");
    }
}

/// Typed notices: each variant's message converts into a [`Notice`], and a notice knows its
/// kind.
///
/// ```
/// use rendezvous_proto::notifications::v1 as pb;
///
/// let notice = pb::Notice::from(pb::RsvpWaitlisted {
///     event: Some(pb::EventFacts::default()),
///     position: 3,
/// });
/// assert_eq!(notice.kind(), pb::NotificationKind::RsvpWaitlisted);
/// ```
mod notices {
    use crate::notifications::v1::{
        self as pb, NotificationKind, notice::Notice as Variant, remeet_nudge::Suggestion,
    };

    macro_rules! notice_kinds {
        ($($message:ident => $kind:ident,)*) => {
            $(
                impl From<pb::$message> for pb::Notice {
                    fn from(message: pb::$message) -> Self {
                        pb::Notice { notice: Some(Variant::$message(message)) }
                    }
                }
            )*

            impl pb::Notice {
                /// The kind this notice is of; `Unspecified` when no variant is set.
                pub fn kind(&self) -> NotificationKind {
                    match &self.notice {
                        $(Some(Variant::$message(_)) => NotificationKind::$kind,)*
                        None => NotificationKind::Unspecified,
                    }
                }
            }
        };
    }

    impl pb::Notice {
        /// The event the notice is about, for the kinds that are about one.
        pub fn event(&self) -> Option<&pb::EventFacts> {
            match self.notice.as_ref()? {
                Variant::EventInvitation(n) => n.event.as_ref(),
                Variant::RsvpConfirmed(n) => n.event.as_ref(),
                Variant::RsvpWaitlisted(n) => n.event.as_ref(),
                Variant::WaitlistPromoted(n) => n.event.as_ref(),
                Variant::WaitlistOffered(n) => n.event.as_ref(),
                Variant::WaitlistOfferExpired(n) => n.event.as_ref(),
                Variant::RsvpApproved(n) => n.event.as_ref(),
                Variant::RsvpDeclined(n) => n.event.as_ref(),
                Variant::RsvpPendingApproval(n) => n.event.as_ref(),
                Variant::RsvpApprovalRequested(n) => n.event.as_ref(),
                Variant::EventUpdated(n) => n.event.as_ref(),
                Variant::EventCancelled(n) => n.event.as_ref(),
                Variant::EventReminder(n) => n.event.as_ref(),
                Variant::MetInPerson(n) => n.event.as_ref(),
                Variant::ConnectSuggestion(n) => n.event.as_ref(),
                Variant::ChapterNewEvent(n) => n.event.as_ref(),
                Variant::EventAnnouncement(n) => n.event.as_ref(),
                Variant::MeetingFollowUp(n) => n.event.as_ref(),
                Variant::CoffeeScheduled(n) => n.event.as_ref(),
                Variant::WantToMeetMutual(n) => n.event.as_ref(),
                Variant::RemeetNudge(n) => match n.suggestion.as_ref()? {
                    Suggestion::Event(event) => Some(event),
                    Suggestion::CoffeeProposalId(_) => None,
                },
                Variant::Welcome(_)
                | Variant::ConnectionRequested(_)
                | Variant::ConnectionAccepted(_)
                | Variant::CoffeeProposed(_)
                | Variant::CoffeeMatched(_)
                | Variant::ChapterDormant(_) => None,
            }
        }

        /// The member the notice names (requester, inviter, host, co-attendee…), for the
        /// kinds that name one: erasing that member erases the notice too. Every variant is
        /// listed, so a new kind must say whether it names someone.
        pub fn named_member(&self) -> Option<&pb::MemberFacts> {
            match self.notice.as_ref()? {
                Variant::Welcome(n) => n.member.as_ref(),
                Variant::ConnectionRequested(n) => n.requester.as_ref(),
                Variant::ConnectionAccepted(n) => n.member.as_ref(),
                Variant::EventInvitation(n) => n.inviter.as_ref(),
                Variant::RsvpApprovalRequested(n) => n.member.as_ref(),
                Variant::MetInPerson(n) => n.member.as_ref(),
                Variant::ConnectSuggestion(n) => n.member.as_ref(),
                Variant::EventAnnouncement(n) => n.host.as_ref(),
                Variant::CoffeeProposed(n) => n.member.as_ref(),
                Variant::CoffeeMatched(n) => n.member.as_ref(),
                Variant::CoffeeScheduled(n) => n.member.as_ref(),
                Variant::WantToMeetMutual(n) => n.member.as_ref(),
                Variant::RemeetNudge(n) => n.member.as_ref(),
                Variant::RsvpConfirmed(_)
                | Variant::RsvpWaitlisted(_)
                | Variant::WaitlistPromoted(_)
                | Variant::WaitlistOffered(_)
                | Variant::WaitlistOfferExpired(_)
                | Variant::RsvpApproved(_)
                | Variant::RsvpDeclined(_)
                | Variant::RsvpPendingApproval(_)
                | Variant::EventUpdated(_)
                | Variant::EventCancelled(_)
                | Variant::EventReminder(_)
                | Variant::ChapterNewEvent(_)
                | Variant::MeetingFollowUp(_)
                | Variant::ChapterDormant(_) => None,
            }
        }
    }

    notice_kinds! {
        Welcome => Welcome,
        ConnectionRequested => ConnectionRequested,
        ConnectionAccepted => ConnectionAccepted,
        EventInvitation => EventInvitation,
        RsvpConfirmed => RsvpConfirmed,
        RsvpWaitlisted => RsvpWaitlisted,
        WaitlistPromoted => WaitlistPromoted,
        WaitlistOffered => WaitlistOffered,
        RsvpApproved => RsvpApproved,
        RsvpDeclined => RsvpDeclined,
        EventUpdated => EventUpdated,
        EventCancelled => EventCancelled,
        EventReminder => EventReminder,
        MetInPerson => MetInPerson,
        ConnectSuggestion => ConnectSuggestion,
        ChapterNewEvent => ChapterNewEvent,
        EventAnnouncement => EventAnnouncement,
        MeetingFollowUp => MeetingFollowUp,
        RsvpPendingApproval => RsvpPendingApproval,
        RsvpApprovalRequested => RsvpApprovalRequested,
        WaitlistOfferExpired => WaitlistOfferExpired,
        CoffeeProposed => CoffeeProposed,
        CoffeeMatched => CoffeeMatched,
        CoffeeScheduled => CoffeeScheduled,
        WantToMeetMutual => WantToMeetMutual,
        ChapterDormant => ChapterDormant,
        RemeetNudge => RemeetNudge,
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use prost_types::FileDescriptorSet;

    use crate::notifications::v1::NotificationKind;

    /// Each variant of `Notice` is numbered as its kind and named after it, so the kind of a
    /// notice can never disagree with its facts, and every kind has its notice.
    #[test]
    fn every_kind_has_its_notice_variant_with_the_same_number() {
        let set = FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap_or_default();
        let notice = set
            .file
            .iter()
            .filter(|file| file.package() == "rendezvous.notifications.v1")
            .flat_map(|file| &file.message_type)
            .find(|message| message.name() == "Notice");
        let Some(notice) = notice else {
            panic!("no Notice message in the descriptor set");
        };
        let mut numbers = Vec::new();
        for field in &notice.field {
            let kind_name = format!("NOTIFICATION_KIND_{}", field.name().to_uppercase());
            let kind = NotificationKind::from_str_name(&kind_name);
            assert_eq!(
                kind.map(|kind| kind as i32),
                Some(field.number()),
                "Notice.{} is numbered {}, {kind_name} is {kind:?}",
                field.name(),
                field.number(),
            );
            numbers.push(field.number());
        }
        let kinds: Vec<i32> = (1..)
            .map_while(|value| NotificationKind::try_from(value).ok())
            .map(|kind| kind as i32)
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, kinds, "every kind needs its Notice variant");
    }

    /// A re-meet nudge is about an event only when it suggests one: a nudge that proposes a
    /// coffee is about no event.
    #[test]
    fn a_remeet_nudge_is_about_its_suggested_event_only() {
        use crate::notifications::v1::{self as pb, remeet_nudge::Suggestion};

        let event = pb::EventFacts {
            event_id: "0197a6f2-0000-7000-8000-000000000003".to_owned(),
            ..Default::default()
        };
        let to_event = pb::Notice::from(pb::RemeetNudge {
            suggestion: Some(Suggestion::Event(event.clone())),
            ..Default::default()
        });
        assert_eq!(to_event.event(), Some(&event));
        let to_coffee = pb::Notice::from(pb::RemeetNudge {
            suggestion: Some(Suggestion::CoffeeProposalId(
                "0197a6f2-0000-7000-8000-000000000006".to_owned(),
            )),
            ..Default::default()
        });
        assert_eq!(to_coffee.event(), None);
        assert_eq!(pb::Notice::from(pb::RemeetNudge::default()).event(), None);
    }

    /// The notices that carry a member's facts are exactly those `named_member` answers for,
    /// so erasing a member cannot miss a kind that names them.
    #[test]
    fn named_member_covers_every_notice_that_carries_member_facts() {
        use crate::notifications::v1 as pb;

        let set = FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap_or_default();
        let mut carrying: Vec<&str> = set
            .file
            .iter()
            .filter(|file| file.package() == "rendezvous.notifications.v1")
            .flat_map(|file| &file.message_type)
            .filter(|message| {
                message.name() != "Notice"
                    && message
                        .field
                        .iter()
                        .any(|f| f.type_name() == ".rendezvous.notifications.v1.MemberFacts")
            })
            .map(|message| message.name())
            .collect();
        carrying.sort_unstable();

        let who = || Some(pb::MemberFacts::default());
        let named: Vec<(&str, pb::Notice)> = vec![
            ("Welcome", pb::Welcome { member: who() }.into()),
            (
                "ConnectionRequested",
                pb::ConnectionRequested {
                    requester: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "ConnectionAccepted",
                pb::ConnectionAccepted { member: who() }.into(),
            ),
            (
                "EventInvitation",
                pb::EventInvitation {
                    inviter: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "RsvpApprovalRequested",
                pb::RsvpApprovalRequested {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "MetInPerson",
                pb::MetInPerson {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "ConnectSuggestion",
                pb::ConnectSuggestion {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "EventAnnouncement",
                pb::EventAnnouncement {
                    host: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "CoffeeProposed",
                pb::CoffeeProposed {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "CoffeeMatched",
                pb::CoffeeMatched {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "CoffeeScheduled",
                pb::CoffeeScheduled {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "WantToMeetMutual",
                pb::WantToMeetMutual {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
            (
                "RemeetNudge",
                pb::RemeetNudge {
                    member: who(),
                    ..Default::default()
                }
                .into(),
            ),
        ];
        for (name, notice) in &named {
            assert!(notice.named_member().is_some(), "{name} names its member");
        }
        let mut names: Vec<&str> = named.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        assert_eq!(carrying, names);
        assert!(
            pb::Notice::from(pb::RsvpConfirmed::default())
                .named_member()
                .is_none()
        );
    }
}
