//! The one access policy of members: what a viewer may see of a member's profile, and whether
//! a member may ask another to connect. Pure functions of who the viewer is, how the two
//! relate and the profile's visibility; the handlers ask them, and the connection request
//! asks under the pair's lock.

use super::Visibility;

/// How a signed-in viewer relates to another member, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub connected: bool,
    /// The viewer blocks the other member.
    pub viewer_blocks: bool,
    /// The other member blocks the viewer.
    pub blocks_viewer: bool,
    /// The viewer asked to connect and the request is pending.
    pub request_sent: bool,
    /// The other member asked to connect and the request is pending.
    pub request_received: bool,
    pub met: bool,
}

/// Who looks at a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Not signed in.
    Anonymous,
    /// The member themself.
    Owner,
    /// Another signed-in member.
    Member(Relation),
}

/// How much of a profile a viewer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileAccess {
    /// Everything, email, locale and etag included: the member themself.
    Owner,
    /// The public profile: headline, company, city, interests, LinkedIn URL.
    Profile,
    /// The id and display name only.
    NameOnly,
}

/// The relationship a viewer is shown with a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relationship {
    /// Not signed in: none is shown.
    Unknown,
    Own,
    None,
    Connected,
    RequestSent,
    RequestReceived,
    /// The viewer blocks the member.
    Blocked,
}

/// What a viewer sees of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileView {
    pub access: ProfileAccess,
    pub relationship: Relationship,
}

/// What `viewer` sees of a profile with `visibility`; `None` when the member is hidden from
/// them (the member blocks the viewer), which callers answer as NOT_FOUND.
pub fn profile(viewer: Viewer, visibility: Visibility) -> Option<ProfileView> {
    let (access, relationship) = match viewer {
        Viewer::Owner => (ProfileAccess::Owner, Relationship::Own),
        Viewer::Anonymous => (
            public_or_name(visibility == Visibility::Public),
            Relationship::Unknown,
        ),
        Viewer::Member(rel) if rel.blocks_viewer => return None,
        Viewer::Member(rel) => (
            public_or_name(match visibility {
                Visibility::Public => true,
                Visibility::Connections => rel.connected,
                Visibility::Private => false,
            }),
            relationship(rel),
        ),
    };
    Some(ProfileView {
        access,
        relationship,
    })
}

fn public_or_name(sees_profile: bool) -> ProfileAccess {
    if sees_profile {
        ProfileAccess::Profile
    } else {
        ProfileAccess::NameOnly
    }
}

fn relationship(rel: Relation) -> Relationship {
    if rel.viewer_blocks {
        Relationship::Blocked
    } else if rel.connected {
        Relationship::Connected
    } else if rel.request_sent {
        Relationship::RequestSent
    } else if rel.request_received {
        Relationship::RequestReceived
    } else {
        Relationship::None
    }
}

/// What asking another member to connect does, given how the two relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestDecision {
    /// A new pending request.
    Send,
    /// The other member had already asked: accepting theirs connects the two.
    AcceptTheirs,
    /// Hidden: the other member blocks the requester (answered as NOT_FOUND).
    Hidden,
    /// The requester blocks the other member and must unblock them first.
    RequesterBlocks,
    AlreadyConnected,
    AlreadyRequested,
}

/// Whether a member may ask another to connect, and what it does.
pub fn request_connection(rel: Relation) -> RequestDecision {
    if rel.blocks_viewer {
        RequestDecision::Hidden
    } else if rel.viewer_blocks {
        RequestDecision::RequesterBlocks
    } else if rel.connected {
        RequestDecision::AlreadyConnected
    } else if rel.request_sent {
        RequestDecision::AlreadyRequested
    } else if rel.request_received {
        RequestDecision::AcceptTheirs
    } else {
        RequestDecision::Send
    }
}

/// Whether a member may change or delete the account `target`: only their own.
pub fn may_edit(me: uuid::Uuid, target: uuid::Uuid) -> bool {
    me == target
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProfileAccess::{NameOnly, Owner, Profile};
    use Visibility::{Connections, Private, Public};

    const STRANGER: Relation = Relation {
        connected: false,
        viewer_blocks: false,
        blocks_viewer: false,
        request_sent: false,
        request_received: false,
        met: false,
    };
    const CONNECTION: Relation = Relation {
        connected: true,
        met: true,
        ..STRANGER
    };
    const BLOCKER: Relation = Relation {
        viewer_blocks: true,
        ..STRANGER
    };
    const BLOCKED_BY: Relation = Relation {
        blocks_viewer: true,
        ..STRANGER
    };

    /// The rows of tests/api/authorization.rs: who sees how much of which profile.
    #[test]
    fn who_sees_how_much_of_a_profile() {
        let table: &[(&str, Viewer, Visibility, Option<ProfileAccess>)] = &[
            ("self, public", Viewer::Owner, Public, Some(Owner)),
            (
                "self, connections only",
                Viewer::Owner,
                Connections,
                Some(Owner),
            ),
            ("self, private", Viewer::Owner, Private, Some(Owner)),
            (
                "anonymous, public",
                Viewer::Anonymous,
                Public,
                Some(Profile),
            ),
            (
                "anonymous, connections only",
                Viewer::Anonymous,
                Connections,
                Some(NameOnly),
            ),
            (
                "anonymous, private",
                Viewer::Anonymous,
                Private,
                Some(NameOnly),
            ),
            (
                "stranger, public",
                Viewer::Member(STRANGER),
                Public,
                Some(Profile),
            ),
            (
                "stranger, connections only",
                Viewer::Member(STRANGER),
                Connections,
                Some(NameOnly),
            ),
            (
                "stranger, private",
                Viewer::Member(STRANGER),
                Private,
                Some(NameOnly),
            ),
            (
                "connection, public",
                Viewer::Member(CONNECTION),
                Public,
                Some(Profile),
            ),
            (
                "connection, connections only",
                Viewer::Member(CONNECTION),
                Connections,
                Some(Profile),
            ),
            (
                "connection, private",
                Viewer::Member(CONNECTION),
                Private,
                Some(NameOnly),
            ),
            (
                "blocker, public",
                Viewer::Member(BLOCKER),
                Public,
                Some(Profile),
            ),
            (
                "blocker, private",
                Viewer::Member(BLOCKER),
                Private,
                Some(NameOnly),
            ),
            ("blocked, public", Viewer::Member(BLOCKED_BY), Public, None),
            (
                "blocked, private",
                Viewer::Member(BLOCKED_BY),
                Private,
                None,
            ),
        ];
        for (what, viewer, visibility, expected) in table {
            let seen = profile(*viewer, *visibility).map(|v| v.access);
            assert_eq!(seen, *expected, "{what}");
        }
    }

    #[test]
    fn the_relationship_shown_with_a_profile() {
        let table = [
            (Viewer::Owner, Relationship::Own),
            (Viewer::Anonymous, Relationship::Unknown),
            (Viewer::Member(STRANGER), Relationship::None),
            (Viewer::Member(CONNECTION), Relationship::Connected),
            (Viewer::Member(BLOCKER), Relationship::Blocked),
            (
                Viewer::Member(Relation {
                    request_sent: true,
                    ..STRANGER
                }),
                Relationship::RequestSent,
            ),
            (
                Viewer::Member(Relation {
                    request_received: true,
                    ..STRANGER
                }),
                Relationship::RequestReceived,
            ),
        ];
        for (viewer, expected) in table {
            let view = profile(viewer, Public).unwrap();
            assert_eq!(view.relationship, expected, "{viewer:?}");
        }
    }

    #[test]
    fn who_may_ask_whom_to_connect() {
        let table = [
            (STRANGER, RequestDecision::Send),
            (CONNECTION, RequestDecision::AlreadyConnected),
            (BLOCKER, RequestDecision::RequesterBlocks),
            (BLOCKED_BY, RequestDecision::Hidden),
            (
                Relation {
                    viewer_blocks: true,
                    blocks_viewer: true,
                    ..STRANGER
                },
                RequestDecision::Hidden,
            ),
            (
                Relation {
                    request_sent: true,
                    ..STRANGER
                },
                RequestDecision::AlreadyRequested,
            ),
            (
                Relation {
                    request_received: true,
                    ..STRANGER
                },
                RequestDecision::AcceptTheirs,
            ),
        ];
        for (rel, expected) in table {
            assert_eq!(request_connection(rel), expected, "{rel:?}");
        }
    }

    #[test]
    fn only_the_member_edits_their_account() {
        let (me, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(may_edit(me, me));
        assert!(!may_edit(me, other));
    }
}
