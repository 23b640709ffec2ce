//! Cases of the kinds about the recipient's own seat at an event and the host's approval
//! queue.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            notice: pb::RsvpConfirmed {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpWaitlisted {
                event: Some(event()),
                position: 3,
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text("3")]),
        },
        Case {
            notice: pb::WaitlistPromoted {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::WaitlistOffered {
                event: Some(event()),
                expire_time: ts(offer_deadline()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Time(offer_deadline())]),
        },
        Case {
            notice: pb::RsvpApproved {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpDeclined {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: vec![Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::RsvpPendingApproval {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpApprovalRequested {
                event: Some(event()),
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin", EVENT_TITLE],
            body: with_event(vec![Need::Text("Zoé Martin")]),
        },
        Case {
            notice: pb::WaitlistOfferExpired {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: vec![Need::Text(EVENT_TITLE)],
        },
    ]
}
