//! A member's inbox: ListNotifications, MarkRead, MarkAllRead and the live
//! StreamNotifications (backlog after a resume point, then items as they arrive).

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use futures::Stream;
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::revocations::RevokedSessions;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::notifications::v1 as pb;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use uuid::Uuid;

use super::{Notifications, count, ts};
use crate::convert::{MarkAllRead, MarkRead};
use crate::domain;
use crate::error::{Error, Result};
use crate::hub::{Item, Subscription};
use crate::store::{InboxRow, Store};

pub type NotificationStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamNotificationsResponse, Status>> + Send>>;

/// Most backlog items a resumed stream replays.
const MAX_BACKLOG: u32 = 1000;

fn item_to_pb(item: &Item, read_at: Option<DateTime<Utc>>) -> pb::Notification {
    pb::Notification {
        id: item.id.to_string(),
        recipient_id: item.recipient_id.to_string(),
        kind: item.kind.into(),
        title: item.title.clone(),
        body: item.body.clone(),
        notice: domain::stored_notice(&item.notice),
        read: read_at.is_some(),
        create_time: ts(item.created_at),
        read_time: read_at.and_then(ts),
    }
}

fn inbox_to_pb(row: &InboxRow) -> pb::Notification {
    item_to_pb(&row.item, row.read_at)
}

pub(super) async fn list(
    service: &Notifications,
    me: Uuid,
    req: pb::ListNotificationsRequest,
) -> Result<pb::ListNotificationsResponse> {
    let state = &service.0;
    let scope = format!("ListNotifications:{}", req.unread_only);
    let mut v = Violations::new();
    let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
    let after: Option<Option<(DateTime<Utc>, Uuid)>> =
        v.check(state.page_tokens.decode(&scope, &req.page_token));
    v.finish()?;
    let mut rows = state
        .store
        .inbox(me, req.unread_only, after.flatten(), limit + 1)
        .await?;
    let next = next_page_token(&mut rows, limit, |r| {
        state.page_tokens.encode(&scope, &(r.visible_at, r.item.id))
    });
    let unread = state.store.unread_count(me).await?;
    Ok(pb::ListNotificationsResponse {
        notifications: rows.iter().map(inbox_to_pb).collect(),
        next_page_token: next,
        unread_count: count(unread),
    })
}

pub(super) async fn mark_read(
    service: &Notifications,
    me: Uuid,
    req: pb::MarkReadRequest,
) -> Result<pb::MarkReadResponse> {
    let MarkRead { ids } = req.try_into()?;
    let store = &service.0.store;
    let marked = store.mark_read(me, &ids, service.now()).await?;
    let unread = store.unread_count(me).await?;
    Ok(pb::MarkReadResponse {
        marked_count: count(marked),
        unread_count: count(unread),
    })
}

pub(super) async fn mark_all_read(
    service: &Notifications,
    me: Uuid,
    req: pb::MarkAllReadRequest,
) -> Result<pb::MarkAllReadResponse> {
    let MarkAllRead { before } = req.try_into()?;
    let store = &service.0.store;
    let marked = store.mark_all_read(me, before, service.now()).await?;
    let unread = store.unread_count(me).await?;
    Ok(pb::MarkAllReadResponse {
        marked_count: count(marked),
        unread_count: count(unread),
    })
}

/// Notification streams one member may have open at once on one process (a phone, a laptop,
/// a few tabs); beyond, `RESOURCE_EXHAUSTED`.
pub const MAX_STREAMS_PER_MEMBER: usize = 5;

/// The streams open per member, each counted by the [`StreamSlot`] its task holds.
#[derive(Clone, Default)]
pub(super) struct OpenStreams(Arc<Mutex<HashMap<Uuid, usize>>>);

/// One open stream of `member`: given back when the stream's task ends.
pub(super) struct StreamSlot {
    open: OpenStreams,
    member: Uuid,
}

impl OpenStreams {
    fn open(&self, member: Uuid) -> Result<StreamSlot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(member).or_default();
        if *count >= MAX_STREAMS_PER_MEMBER {
            return Err(Error::TooManyStreams(MAX_STREAMS_PER_MEMBER));
        }
        *count += 1;
        Ok(StreamSlot {
            open: self.clone(),
            member,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.member) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.member);
            }
        }
    }
}

/// What a stream was opened with: the session of the access token, and when the token
/// expires.
pub(super) struct StreamCredential {
    pub(super) session: Uuid,
    pub(super) expires_at: Option<DateTime<Utc>>,
}

/// Opens `me`'s stream, which ends when the access token's expiry passes or its session is
/// revoked: the client reconnects with a fresh token and `resume_after_id`.
pub(super) async fn stream(
    service: &Notifications,
    me: Uuid,
    credential: StreamCredential,
    req: pb::StreamNotificationsRequest,
) -> Result<NotificationStream> {
    let StreamCredential {
        session,
        expires_at,
    } = credential;
    let resume = if req.resume_after_id.is_empty() {
        None
    } else {
        Some(validate::id("resume_after_id", &req.resume_after_id)?)
    };
    let state = &service.0;
    let slot = state.open_streams.open(me)?;
    let opened_at = service.now();
    // Real time until the token's expiry as the service's clock tells it.
    let lifetime = expires_at.map(|at| (at - opened_at).to_std().unwrap_or_default());
    // Subscribe before reading the backlog so nothing falls between the two.
    let live = state.publisher.subscribe(me);
    let backlog = match resume {
        Some(after) => state.store.visible_after(me, after, MAX_BACKLOG).await?,
        None => Vec::new(),
    };
    Ok(subscriber_stream(
        Subscriber {
            me,
            opened_at,
            store: state.store.clone(),
            _slot: slot,
        },
        backlog,
        Ends {
            shutdown: state.shutdown.clone(),
            lifetime,
            revoked: state.sessions.list().clone(),
            session,
        },
        live,
    ))
}

/// What ends a stream besides its client: the server's shutdown, the token's lifetime, and
/// the revocation of its session.
struct Ends {
    shutdown: CancellationToken,
    lifetime: Option<std::time::Duration>,
    revoked: RevokedSessions,
    session: Uuid,
}

/// Whose stream it is, since when, and where its items are read again after a reconnect.
struct Subscriber {
    me: Uuid,
    opened_at: DateTime<Utc>,
    store: Store,
    /// Counts the stream among the member's open ones while it lives.
    _slot: StreamSlot,
}

impl Subscriber {
    /// The message for `notification`, with the member's unread count now.
    async fn message(&self, notification: pb::Notification) -> pb::StreamNotificationsResponse {
        let unread = self.store.unread_count(self.me).await.unwrap_or(0);
        pb::StreamNotificationsResponse {
            notification: Some(notification),
            unread_count: count(unread),
        }
    }

    /// Whether `item` was visible before the stream opened (unknown for payloads of versions
    /// that do not say: those are shown).
    fn visible_before(&self, item: &Item) -> bool {
        item.visible_at.is_some_and(|at| at < self.opened_at)
    }

    /// What became visible for this member at or after `since`, but not before the stream
    /// opened (that is the backlog's, or was never asked for), oldest first; `None` when that
    /// is more than a stream replays, or it cannot be read: the client must resume.
    async fn missed(&self, since: DateTime<Utc>) -> Option<Vec<InboxRow>> {
        let since = since.max(self.opened_at);
        match self.store.visible_since(self.me, since, MAX_BACKLOG).await {
            Ok(rows) if rows.len() < MAX_BACKLOG as usize => Some(rows),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(%error, "a notification stream cannot replay what it missed");
                None
            }
        }
    }
}

/// What a stream's loop hears next from the hub.
enum Announcement {
    /// A notification of the subscriber's was stored visible.
    Shown(Arc<Item>),
    /// The database listener was disconnected and listens again: what became visible at or
    /// after this moment may have gone unannounced, and is read from the store.
    Reconnected(DateTime<Utc>),
    /// The stream fell behind the hub and was left out: the client must resume.
    Lagged,
}

/// The stream of one subscriber: the backlog after its resume point, then live items for it
/// (and, after the database listener reconnected, what it missed meanwhile), until the client
/// goes away or the server shuts down.
fn subscriber_stream(
    subscriber: Subscriber,
    backlog: Vec<InboxRow>,
    ends: Ends,
    mut live: Subscription,
) -> NotificationStream {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let Ends {
            shutdown,
            lifetime,
            revoked,
            session,
        } = ends;
        let revoked = revoked.revoked(session);
        tokio::pin!(revoked);
        let expired = async move {
            match lifetime {
                Some(lifetime) => tokio::time::sleep(lifetime).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expired);
        let mut seen: HashSet<Uuid> = HashSet::new();
        for row in backlog {
            seen.insert(row.item.id);
            let message = subscriber.message(inbox_to_pb(&row)).await;
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
        }
        loop {
            let announcement = tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                () = &mut expired => {
                    let _ = tx.send(Err(Error::TokenExpired.into())).await;
                    return;
                }
                () = &mut revoked => {
                    let _ = tx.send(Err(Error::SessionRevoked.into())).await;
                    return;
                }
                item = live.items.recv() => match item {
                    Some(item) => Announcement::Shown(item),
                    // Out of the hub: the stream fell behind.
                    None => Announcement::Lagged,
                },
                since = live.reconnects.recv() => match since {
                    Ok(since) => Announcement::Reconnected(since),
                    Err(broadcast::error::RecvError::Lagged(_)) => Announcement::Lagged,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            match announcement {
                // Visible before the stream opened: the inbox showed it then (or the backlog
                // did); only its announcement is late, e.g. through PostgreSQL's listener.
                Announcement::Shown(item) if subscriber.visible_before(&item) => {}
                Announcement::Shown(item) if seen.insert(item.id) => {
                    let message = subscriber.message(item_to_pb(&item, None)).await;
                    if tx.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                Announcement::Shown(_) => {}
                Announcement::Reconnected(since) => {
                    let Some(missed) = subscriber.missed(since).await else {
                        let _ = tx.send(Err(Error::StreamLagged.into())).await;
                        return;
                    };
                    for row in missed {
                        if seen.insert(row.item.id) {
                            let message = subscriber.message(inbox_to_pb(&row)).await;
                            if tx.send(Ok(message)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Announcement::Lagged => {
                    tracing::warn!("a notification stream fell behind");
                    let _ = tx.send(Err(Error::StreamLagged.into())).await;
                    return;
                }
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
