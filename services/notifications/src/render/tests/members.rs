//! Cases of the kinds about other members: welcome, connection requests and acceptances,
//! meetings in person and suggestions to connect.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            notice: pb::Welcome {
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("LinkedIn")],
        },
        Case {
            notice: pb::ConnectionRequested {
                request_id: REQUEST_ID.to_owned(),
                requester: Some(zoe()),
                note: "We met at the Lyon meetup.\nCoffee soon?".to_owned(),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Text("We met at the Lyon meetup.\nCoffee soon?"),
            ],
        },
        Case {
            notice: pb::ConnectionAccepted {
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("Zoé Martin")],
        },
        Case {
            notice: pb::MetInPerson {
                member: Some(zoe()),
                event: Some(event()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("Zoé Martin"), Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::ConnectSuggestion {
                member: Some(zoe()),
                event: Some(event()),
            }
            .into(),
            title: &["Zoé Martin", EVENT_TITLE],
            body: vec![Need::Text("Zoé Martin"), Need::Text(EVENT_TITLE)],
        },
    ]
}
