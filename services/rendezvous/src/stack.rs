//! The three services wired together in this process over the SQLite files of a data
//! directory: what `rendezvous up` serves, and what `--demo` loads its history through.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use rendezvous_common::auth::SigningKeyPair;
use rendezvous_common::auth::{ServiceKeySet, ServiceName};
use rendezvous_common::clock::Clock;
use rendezvous_common::config::Secret;
use rendezvous_common::db::Db;
use rendezvous_notifications::email::Mailer;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::UpArgs;

/// The listeners of every service, bound before any starts (so each knows the others'
/// addresses, and a port taken fails at once).
pub struct Listeners {
    pub members: TcpListener,
    pub events: TcpListener,
    pub notifications: TcpListener,
    pub feed: TcpListener,
    pub notifications_http: TcpListener,
    /// The services' metrics listeners (members, events, notifications); none for a private
    /// stack.
    pub metrics: Option<[TcpListener; 3]>,
}

impl Listeners {
    /// Binds the ports of `args` on its host.
    pub async fn bind(args: &UpArgs) -> anyhow::Result<Self> {
        let host = args.host;
        Ok(Self {
            members: bind(host, args.members_port, "the members service").await?,
            events: bind(host, args.events_port, "the events service").await?,
            notifications: bind(host, args.notifications_port, "the notifications service").await?,
            feed: bind(host, args.feed_port, "the calendar feeds").await?,
            notifications_http: bind(
                host,
                args.notifications_http_port,
                "the notifications HTTP endpoints",
            )
            .await?,
            metrics: match args.metrics_port {
                Some(first) => Some(metrics_listeners(host, first).await?),
                None => None,
            },
        })
    }

    /// Binds a free port of loopback for each: a stack nobody else reaches.
    pub async fn private() -> anyhow::Result<Self> {
        let host = IpAddr::from([127, 0, 0, 1]);
        Ok(Self {
            members: bind(host, 0, "the members service").await?,
            events: bind(host, 0, "the events service").await?,
            notifications: bind(host, 0, "the notifications service").await?,
            feed: bind(host, 0, "the calendar feeds").await?,
            notifications_http: bind(host, 0, "the notifications HTTP endpoints").await?,
            metrics: None,
        })
    }

    /// Where each gRPC service can be reached from this machine.
    pub fn addrs(&self) -> anyhow::Result<Addrs> {
        Ok(Addrs {
            members: reachable(self.members.local_addr()?),
            events: reachable(self.events.local_addr()?),
            notifications: reachable(self.notifications.local_addr()?),
        })
    }
}

/// The gRPC addresses of a running stack.
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    pub members: SocketAddr,
    pub events: SocketAddr,
    pub notifications: SocketAddr,
}

/// The metrics listeners of members, events and notifications on `first` and the two ports
/// after it.
async fn metrics_listeners(host: IpAddr, first: u16) -> anyhow::Result<[TcpListener; 3]> {
    let port = |offset: u16| {
        first
            .checked_add(offset)
            .context("--metrics-port leaves no room for three consecutive ports")
    };
    Ok([
        bind(host, first, "the members metrics").await?,
        bind(host, port(1)?, "the events metrics").await?,
        bind(host, port(2)?, "the notifications metrics").await?,
    ])
}

async fn bind(host: IpAddr, port: u16, what: &str) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} to {addr}"))
}

/// `addr` as a client on this machine dials it: an unspecified host is loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), addr.port())
    } else {
        addr
    }
}

/// A channel from one service of the stack to another (see `rendezvous_common::peers`).
fn channel(addr: SocketAddr) -> anyhow::Result<tonic::transport::Channel> {
    Ok(rendezvous_common::peers::channel(&format!(
        "http://{addr}"
    ))?)
}

/// The keys of the stack: the token signing key, the local secret (each service derives
/// its own keys from it), and the services' own key pairs (in memory).
pub struct Keys {
    pub signing_key: SigningKeyPair,
    pub secret: Secret,
    pub services: ServiceKeySet,
}

/// Starts the three services on `listeners` over the SQLite files in `data_dir`, on `clock`,
/// with `members` as the members service's settings, until `shutdown`; each task ends with
/// its service.
pub async fn spawn(
    args: &UpArgs,
    data_dir: &Path,
    keys: &Keys,
    listeners: Listeners,
    clock: Clock,
    members: rendezvous_members::Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinSet<anyhow::Result<()>>> {
    let addrs = listeners.addrs()?;
    let feed_addr = reachable(listeners.feed.local_addr()?);
    let http_addr = reachable(listeners.notifications_http.local_addr()?);
    let secret = &keys.secret;
    let token_keys = vec![keys.signing_key.verifying_key()];
    let mut services = JoinSet::new();
    let [members_metrics, events_metrics, notifications_metrics] = match listeners.metrics {
        Some([members, events, notifications]) => {
            [Some(members), Some(events), Some(notifications)]
        }
        None => [None, None, None],
    };

    let settings = members;
    let members = rendezvous_members::Options {
        db: sqlite(data_dir, "members").await?,
        clock: clock.clone(),
        signing_key: keys.signing_key.clone(),
        service_keys: keys.services.keys_for(ServiceName::Members),
        page_token_key: secret.derive_key("members/page-tokens"),
        settings,
        server: args.server.settings_draining_by_default(Duration::ZERO),
        notifications: Some(channel(addrs.notifications)?),
        events: Some(channel(addrs.events)?),
        metrics_listener: members_metrics,
    };
    services.spawn(rendezvous_members::run(
        members,
        listeners.members,
        shutdown.clone(),
    ));

    let events = rendezvous_events::Options {
        db: sqlite(data_dir, "events").await?,
        clock: clock.clone(),
        token_keys: token_keys.clone(),
        service_keys: keys.services.keys_for(ServiceName::Events),
        page_token_key: secret.derive_key("events/page-tokens"),
        server: args.server.settings_draining_by_default(Duration::ZERO),
        settings: rendezvous_events::Settings {
            public_feed_url: format!("http://{feed_addr}"),
            reminder_offsets: args.reminder_offsets.clone(),
            ..rendezvous_events::Settings::default()
        },
        members: Some(channel(addrs.members)?),
        notifications: Some(channel(addrs.notifications)?),
        feed_listener: Some(listeners.feed),
        metrics_listener: events_metrics,
    };
    services.spawn(rendezvous_events::run(
        events,
        listeners.events,
        shutdown.clone(),
    ));

    let mailer = match &args.smtp_url {
        Some(url) => Mailer::smtp(url.expose())?,
        None => Mailer::files(&data_dir.join("emails"))?,
    };
    let notifications = rendezvous_notifications::Options {
        db: sqlite(data_dir, "notifications").await?,
        clock,
        token_keys,
        service_keys: keys.services.keys_for(ServiceName::Notifications),
        page_token_key: secret.derive_key("notifications/page-tokens"),
        members: channel(addrs.members)?,
        mailer,
        worker: rendezvous_notifications::WorkerSettings::new(
            args.email_from.parse().context("parsing --email-from")?,
            args.public_url
                .clone()
                .unwrap_or_else(|| format!("http://{http_addr}")),
        ),
        server: args.server.settings_draining_by_default(Duration::ZERO),
        contacts_ttl: Duration::from_secs(60),
        unsubscribe: rendezvous_notifications::unsubscribe::UnsubscribeTokens::new(
            &secret.derive_key(rendezvous_notifications::unsubscribe::KEY_LABEL),
            rendezvous_notifications::unsubscribe::DEFAULT_LIFETIME,
        ),
        http_listener: Some(listeners.notifications_http),
        metrics_listener: notifications_metrics,
    };
    services.spawn(rendezvous_notifications::run(
        notifications,
        listeners.notifications,
        shutdown,
    ));
    Ok(services)
}

async fn sqlite(data_dir: &Path, service: &str) -> anyhow::Result<Db> {
    let path = data_dir.join(format!("{service}.db"));
    Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .with_context(|| format!("opening the {service} database"))
}

/// Waits for the first service to stop (or fail), stops the others, and reports the first
/// failure.
pub async fn join(
    mut services: JoinSet<anyhow::Result<()>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut results = Vec::new();
    results.extend(services.join_next().await);
    shutdown.cancel();
    while let Some(result) = services.join_next().await {
        results.push(result);
    }
    for result in results {
        result.context("service task")??;
    }
    Ok(())
}
