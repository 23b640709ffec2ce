//! Live fan-out of new in-app notifications to open `StreamNotifications` calls.
//!
//! On SQLite (one process) the service publishes straight into the hub after commit. On
//! PostgreSQL every replica listens on a channel and the writer calls `pg_notify` inside its
//! transaction, so each replica's streams hear about notifications stored by any replica, and
//! only once the transaction has committed.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_proto::notifications::v1::NotificationKind;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The PostgreSQL channel new notifications are announced on.
pub const CHANNEL: &str = "rendezvous_notifications";

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

#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Item>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(4096);
        Self { sender }
    }

    pub fn publish(&self, item: Item) {
        // No receiver is not an error: nobody is streaming.
        let _ = self.sender.send(Arc::new(item));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Item>> {
        self.sender.subscribe()
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

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Item>> {
        self.hub.subscribe()
    }
}

/// Relays `pg_notify` payloads into the hub until shut down; reconnects when the connection
/// drops. `listening` fires once the first LISTEN is in place.
pub async fn listen_postgres(
    pool: PgPool,
    hub: Hub,
    listening: tokio::sync::oneshot::Sender<()>,
    shutdown: CancellationToken,
) {
    let mut listening = Some(listening);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "notification listener cannot connect; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "notification listener cannot listen; retrying");
            continue;
        }
        if let Some(listening) = listening.take() {
            let _ = listening.send(());
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                message = listener.recv() => match message {
                    Ok(message) => match serde_json::from_str::<Item>(message.payload()) {
                        Ok(item) => hub.publish(item),
                        Err(error) => tracing::warn!(%error, "unreadable notification payload"),
                    },
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
        for bad in ["0", "zz"] {
            let json = json.replacen("\"notice\":\"00", &format!("\"notice\":\"{bad}"), 1);
            assert!(serde_json::from_str::<Item>(&json).is_err(), "{bad}");
        }
    }
}
