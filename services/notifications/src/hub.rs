//! Live fan-out of new in-app notifications to open `StreamNotifications` calls, each item
//! to its recipient's open streams only.
//!
//! On SQLite (one process) the service publishes straight into the hub after commit. On
//! PostgreSQL every replica listens on a channel and the writer calls `pg_notify` inside its
//! transaction, so each replica's streams hear about notifications stored by any replica, and
//! only once the transaction has committed.
//!
//! A `NOTIFY` sent while the listener is disconnected is lost for good (PostgreSQL keeps none
//! for a session that is not listening). So when the listener is back — whether sqlx
//! re-established the connection or the listener had to make a new one — the hub tells every
//! open stream (through [`Hub::reconnected`]), with the last moment the listener was known to
//! be connected, less [`RESYNC_MARGIN`] for transactions that were in flight then; each stream
//! replays from the store what became visible since and it has not sent (or, when that is
//! more than it replays, ends telling the client to resume with `resume_after_id`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_proto::notifications::v1::NotificationKind;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The PostgreSQL channel new notifications are announced on.
pub const CHANNEL: &str = "rendezvous_notifications";

/// How far before the listener's last known connected moment streams replay after a
/// reconnect: longer than a transaction that stores notifications takes between reading the
/// clock (its `visible_at`) and committing.
pub const RESYNC_MARGIN: Duration = Duration::seconds(30);

/// Pauses between the listener's attempts to connect again, doubling from the first.
const RECONNECT_WAIT: (StdDuration, StdDuration) =
    (StdDuration::from_millis(100), StdDuration::from_secs(2));

/// A stored in-app notification, as streamed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    pub id: Uuid,
    pub recipient_id: Uuid,
    /// By its stored name (`WELCOME`) in payloads.
    #[serde(with = "stored_kind")]
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// The encoded notice, as lowercase hex in the JSON of `pg_notify` payloads.
    #[serde(with = "hex")]
    pub notice: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// When it became visible in the inbox: a stream leaves out a live item visible before
    /// it opened (the inbox already showed it, or the stream's backlog does), however late
    /// the announcement comes. `None` in payloads of versions that did not send it.
    #[serde(default)]
    pub visible_at: Option<DateTime<Utc>>,
}

/// One `pg_notify` for several items a transaction stored visible at the same instant: the
/// listener reads them from the store (`visible_at` exactly that instant, ids from `first_id`
/// to `last_id`), so that a Deliver of a thousand notices sends one notification, not a
/// thousand, and none outgrows PostgreSQL's 8,000-byte payloads. An item of another
/// transaction in the range and instant is announced twice; streams keep the first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Batch {
    pub visible_at: DateTime<Utc>,
    pub first_id: Uuid,
    pub last_id: Uuid,
}

/// What a `pg_notify` payload announces: a batch (`{"batch": …}`) or one item.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Announced {
    Batch { batch: Batch },
    Item(Box<Item>),
}

/// A kind in JSON by its stored name, as replicas of every version read it.
mod stored_kind {
    use rendezvous_proto::notifications::v1::NotificationKind;
    use serde::{Deserialize as _, Deserializer, Serializer};

    use crate::domain;

    pub fn serialize<S: Serializer>(kind: &NotificationKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(domain::kind_name(*kind))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NotificationKind, D::Error> {
        String::deserialize(d).map(|name| domain::kind_from_name(&name))
    }
}

/// Items waiting for one stream before it counts as fallen behind.
pub const STREAM_QUEUE: usize = 1024;

/// The open streams, by recipient: each item goes to its recipient's streams only, so a
/// Deliver to a whole chapter costs one look-up per item, not one per item and open stream.
#[derive(Clone, Debug)]
pub struct Hub(Arc<Routes>);

#[derive(Debug)]
struct Routes {
    streams: Mutex<HashMap<Uuid, Vec<Route>>>,
    next_id: AtomicU64,
    /// Reconnections of the database listener, told to every stream.
    reconnects: broadcast::Sender<DateTime<Utc>>,
}

#[derive(Debug)]
struct Route {
    id: u64,
    items: mpsc::Sender<Arc<Item>>,
}

/// One open stream's feed: its recipient's items, and the listener's reconnections. It leaves
/// the hub when dropped. A stream that falls [`STREAM_QUEUE`] items behind is dropped from the
/// hub: once it has taken what was queued, `items` ends, and the client must resume.
#[derive(Debug)]
pub struct Subscription {
    pub items: mpsc::Receiver<Arc<Item>>,
    pub reconnects: broadcast::Receiver<DateTime<Utc>>,
    me: Uuid,
    id: u64,
    hub: Hub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(self.me, self.id);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (reconnects, _) = broadcast::channel(16);
        Self(Arc::new(Routes {
            streams: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            reconnects,
        }))
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<Route>>> {
        self.0
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn publish(&self, item: Item) {
        let item = Arc::new(item);
        let mut streams = self.streams();
        let Some(routes) = streams.get_mut(&item.recipient_id) else {
            // Nobody is streaming for this recipient.
            return;
        };
        // A full queue is a stream that fell behind: out of the hub, it ends once drained.
        routes.retain(|route| route.items.try_send(Arc::clone(&item)).is_ok());
        if routes.is_empty() {
            streams.remove(&item.recipient_id);
        }
    }

    /// Tells the streams that what became visible at or after `since` may have gone
    /// unannounced.
    pub fn reconnected(&self, since: DateTime<Utc>) {
        let _ = self.0.reconnects.send(since);
    }

    /// A feed of `me`'s items from now on.
    pub fn subscribe(&self, me: Uuid) -> Subscription {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (items, receiver) = mpsc::channel(STREAM_QUEUE);
        // Subscribed to reconnections before the route is in place: nothing falls between.
        let reconnects = self.0.reconnects.subscribe();
        self.streams()
            .entry(me)
            .or_default()
            .push(Route { id, items });
        Subscription {
            items: receiver,
            reconnects,
            me,
            id,
            hub: self.clone(),
        }
    }

    fn leave(&self, me: Uuid, id: u64) {
        let mut streams = self.streams();
        if let Some(routes) = streams.get_mut(&me) {
            routes.retain(|route| route.id != id);
            if routes.is_empty() {
                streams.remove(&me);
            }
        }
    }

    /// Recipients with at least one open stream here.
    pub fn recipients(&self) -> usize {
        self.streams().len()
    }
}

/// How writers hand what they made visible to the streams: on SQLite straight into the hub
/// after commit; on PostgreSQL not at all, as the listener relays their `pg_notify`.
#[derive(Clone, Debug)]
pub struct Publisher {
    hub: Hub,
    locally: bool,
}

impl Publisher {
    pub fn new(hub: Hub, locally: bool) -> Self {
        Self { hub, locally }
    }

    /// Publishes committed items into the local hub where no database listener does it.
    pub fn published(&self, items: Vec<Item>) {
        if self.locally {
            for item in items {
                self.hub.publish(item);
            }
        }
    }

    pub fn subscribe(&self, me: Uuid) -> Subscription {
        self.hub.subscribe(me)
    }
}

/// Relays `pg_notify` payloads into the hub until shut down, over a connection of its own
/// (never one of `pool`'s: requests keeping the pool busy never hold up a reconnect, and the
/// listener never keeps one of theirs). Reconnects when the connection drops, with growing
/// pauses while the database refuses, and then tells the streams what they may have missed
/// ([`Hub::reconnected`]). `listening` fires once the first LISTEN is in place.
pub async fn listen_postgres(
    pool: PgPool,
    hub: Hub,
    clock: Clock,
    listening: tokio::sync::oneshot::Sender<()>,
    shutdown: CancellationToken,
) {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listening = Some(listening);
    // The last moment the listener is known to have been connected.
    let mut connected_at: Option<DateTime<Utc>> = None;
    let mut wait = RECONNECT_WAIT.0;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&own).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match connected.await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = wait.as_millis(), "notification listener cannot listen; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(RECONNECT_WAIT.1);
                continue;
            }
        };
        wait = RECONNECT_WAIT.0;
        if let Some(at) = connected_at {
            tracing::info!(
                "notification listener listens again; open streams replay what they missed"
            );
            hub.reconnected(at - RESYNC_MARGIN);
        }
        if let Some(listening) = listening.take() {
            let _ = listening.send(());
        }
        connected_at = Some(clock.now());
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                message = listener.try_recv() => match message {
                    Ok(Some(message)) => {
                        connected_at = Some(clock.now());
                        match serde_json::from_str::<Announced>(message.payload()) {
                            Ok(Announced::Item(item)) => hub.publish(*item),
                            Ok(Announced::Batch { batch }) => {
                                match crate::store::announced(&pool, &batch).await {
                                    Ok(items) => items.into_iter().for_each(|item| hub.publish(item)),
                                    Err(error) => {
                                        // The streams read what they missed from the store.
                                        tracing::warn!(%error, "announced notifications cannot be read; open streams replay them");
                                        hub.reconnected(batch.visible_at);
                                    }
                                }
                            }
                            Err(error) => tracing::warn!(%error, "unreadable notification payload"),
                        }
                    }
                    // sqlx lost the connection and has listened again on a new one.
                    Ok(None) => {
                        tracing::warn!("notification listener lost its connection and listens again; open streams replay what they missed");
                        if let Some(at) = connected_at {
                            hub.reconnected(at - RESYNC_MARGIN);
                        }
                        connected_at = Some(clock.now());
                    }
                    Err(error) => {
                        tracing::warn!(%error, "notification listener lost its connection");
                        break;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_survive_the_json_of_a_pg_notify_payload() {
        let item = Item {
            id: Uuid::try_parse("0197a6f2-0000-7000-8000-000000000001").unwrap(),
            recipient_id: Uuid::try_parse("0197a6f2-0000-7000-8000-000000000002").unwrap(),
            kind: NotificationKind::Welcome,
            title: "Bienvenue".to_owned(),
            body: "Votre compte est prêt.".to_owned(),
            notice: (0..=255).collect(),
            created_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            visible_at: DateTime::from_timestamp(1_800_000_001, 0),
        };
        let json = serde_json::to_string(&item).unwrap();
        // Ids as hyphenated text, kinds by name, the notice in lowercase hex: the format
        // replicas of every version read.
        assert!(
            json.contains("\"id\":\"0197a6f2-0000-7000-8000-000000000001\""),
            "{json}"
        );
        assert!(json.contains("\"kind\":\"WELCOME\""), "{json}");
        assert!(json.contains("\"notice\":\"000102"), "{json}");
        assert!(json.contains("fdfeff\""), "{json}");
        assert_eq!(serde_json::from_str::<Item>(&json).unwrap(), item);
        match serde_json::from_str::<Announced>(&json).unwrap() {
            Announced::Item(announced) => assert_eq!(*announced, item),
            other => panic!("{other:?}"),
        }
        let batch = Batch {
            visible_at: DateTime::from_timestamp(1_800_000_001, 0).unwrap(),
            first_id: item.id,
            last_id: item.recipient_id,
        };
        let json_batch = serde_json::json!({ "batch": batch }).to_string();
        match serde_json::from_str::<Announced>(&json_batch).unwrap() {
            Announced::Batch { batch: announced } => assert_eq!(announced, batch),
            other => panic!("{other:?}"),
        }
        // A payload of a version without `visible_at` still parses.
        let old = json.replace(",\"visible_at\":\"2027-01-15T08:00:01Z\"", "");
        assert_ne!(old, json, "{json}");
        let parsed = serde_json::from_str::<Item>(&old).unwrap();
        assert_eq!((parsed.id, parsed.visible_at), (item.id, None));
        for bad in ["0", "zz"] {
            let json = json.replacen("\"notice\":\"00", &format!("\"notice\":\"{bad}"), 1);
            assert!(serde_json::from_str::<Item>(&json).is_err(), "{bad}");
        }
    }

    fn item_for(recipient: Uuid, n: u128) -> Item {
        Item {
            id: Uuid::from_u128(n),
            recipient_id: recipient,
            kind: NotificationKind::Welcome,
            title: String::new(),
            body: String::new(),
            notice: Vec::new(),
            created_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            visible_at: DateTime::from_timestamp(1_800_000_000, 0),
        }
    }

    #[tokio::test]
    async fn each_item_reaches_its_recipients_streams_only() {
        let hub = Hub::new();
        let (anna, karim) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut annas = [hub.subscribe(anna), hub.subscribe(anna)];
        let mut karims = hub.subscribe(karim);
        hub.publish(item_for(anna, 10));
        hub.publish(item_for(karim, 11));
        hub.publish(item_for(Uuid::from_u128(3), 12));
        for stream in &mut annas {
            assert_eq!(stream.items.recv().await.unwrap().id, Uuid::from_u128(10));
            assert!(stream.items.try_recv().is_err(), "nothing else for Anna");
        }
        assert_eq!(karims.items.recv().await.unwrap().id, Uuid::from_u128(11));
        assert!(karims.items.try_recv().is_err());
        // A stream that goes away leaves the hub; the last one takes its recipient along.
        drop(karims);
        assert_eq!(hub.recipients(), 1);
        let [first, second] = annas;
        drop(first);
        assert_eq!(hub.recipients(), 1);
        drop(second);
        assert_eq!(hub.recipients(), 0);
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_gets_what_was_queued_then_ends() {
        let hub = Hub::new();
        let anna = Uuid::from_u128(1);
        let mut slow = hub.subscribe(anna);
        let mut quick = hub.subscribe(anna);
        let total = STREAM_QUEUE as u128 + 5;
        for n in 0..total {
            hub.publish(item_for(anna, n));
            if let Ok(item) = quick.items.try_recv() {
                assert_eq!(item.id, Uuid::from_u128(n));
            }
        }
        let mut got = 0;
        while let Some(item) = slow.items.recv().await {
            assert_eq!(item.id, Uuid::from_u128(got));
            got += 1;
        }
        assert_eq!(got, STREAM_QUEUE as u128, "the queue's worth, then the end");
        // The stream that kept up is still in the hub.
        hub.publish(item_for(anna, total));
        assert_eq!(quick.items.recv().await.unwrap().id, Uuid::from_u128(total));
    }

    #[tokio::test]
    async fn a_reconnection_is_told_to_every_stream() {
        let hub = Hub::new();
        let mut streams = [
            hub.subscribe(Uuid::from_u128(1)),
            hub.subscribe(Uuid::from_u128(2)),
        ];
        let since = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        hub.reconnected(since);
        for stream in &mut streams {
            assert_eq!(stream.reconnects.recv().await.unwrap(), since);
        }
    }

    /// A database that refuses every connection is asked again with growing pauses, never in
    /// a tight loop: over 1.5 s, the attempts at 0, 0.1, 0.3, 0.7 s and a few at most.
    #[tokio::test]
    async fn a_refusing_database_is_retried_with_growing_pauses() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // A "database" that takes each connection and hangs up at once.
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&attempts);
        let refuser = tokio::spawn(async move {
            while let Ok((socket, _)) = server.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        let url = format!("postgres://postgres@{addr}/refusing");
        let pool = PgPoolOptions::new().connect_lazy(&url).unwrap();
        let shutdown = CancellationToken::new();
        let (listening, _never) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen_postgres(
            pool,
            Hub::new(),
            Clock::system(),
            listening,
            shutdown.clone(),
        ));
        tokio::time::sleep(StdDuration::from_millis(1_500)).await;
        shutdown.cancel();
        listener.await.unwrap();
        refuser.abort();
        let attempts = attempts.load(Ordering::SeqCst);
        assert!((2..=8).contains(&attempts), "{attempts} attempts in 1.5 s");
    }
}
