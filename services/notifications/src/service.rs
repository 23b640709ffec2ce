//! The gRPC handlers of `NotificationService` and `NotificationInternalService`.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::Stream;
use rendezvous_common::auth::Caller;
use rendezvous_common::clock::Clock;
use rendezvous_common::error::{self, FieldViolation};
use rendezvous_common::pagination::{PageTokens, next_page_token, page_size};
use rendezvous_common::server::caller;
use rendezvous_common::time;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use uuid::Uuid;

use crate::contacts::Contacts;
use crate::domain::{self, QuietHours};
use crate::hub::{Hub, Item};
use crate::render::{self, Locale};
use crate::store::{InboxRow, NewNotification, QuietRow, Store};

/// Most notifications one Deliver call takes.
pub const MAX_DELIVER_BATCH: usize = 10_000;

struct State {
    store: Store,
    clock: Clock,
    contacts: Contacts,
    hub: Hub,
    /// On SQLite the service publishes into its hub itself; on PostgreSQL the listener does.
    publish_locally: bool,
    page_tokens: PageTokens,
    shutdown: CancellationToken,
}

/// The notifications service; clone-cheap.
#[derive(Clone)]
pub struct Notifications(Arc<State>);

type Reply<T> = Result<Response<T>, Status>;

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(time::to_timestamp(at))
}

fn from_ts(field: &str, at: &Timestamp) -> Result<DateTime<Utc>, FieldViolation> {
    time::from_timestamp(field, at)
}

fn db_error(err: &sqlx::Error) -> Status {
    error::internal(err)
}

fn member(request_caller: Caller) -> Result<String, Status> {
    match request_caller {
        Caller::Member { id, .. } => Ok(id.to_string()),
        _ => Err(error::status(
            Code::Unauthenticated,
            "SIGN_IN_REQUIRED",
            "sign-in required",
        )),
    }
}

fn item_to_pb(item: &Item, read_at: Option<DateTime<Utc>>) -> pb::Notification {
    pb::Notification {
        id: item.id.clone(),
        recipient_id: item.recipient_id.clone(),
        kind: domain::kind_from_name(&item.kind).into(),
        title: item.title.clone(),
        body: item.body.clone(),
        params: item.params.clone(),
        // The stored facts come with the typed render (next step); until then clients read
        // params.
        notice: None,
        read: read_at.is_some(),
        create_time: ts(item.created_at),
        read_time: read_at.and_then(ts),
    }
}

fn inbox_to_pb(row: &InboxRow) -> pb::Notification {
    item_to_pb(&row.item, row.read_at)
}

fn count(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

fn status_name(status: pb::DeliveryStatus) -> Option<&'static str> {
    match status {
        pb::DeliveryStatus::Unspecified => None,
        pb::DeliveryStatus::Pending => Some("pending"),
        pb::DeliveryStatus::Sent => Some("sent"),
        pb::DeliveryStatus::Failed => Some("failed"),
        pb::DeliveryStatus::Dead => Some("dead"),
        pb::DeliveryStatus::Suppressed => Some("suppressed"),
    }
}

fn status_from_name(name: &str) -> pb::DeliveryStatus {
    match name {
        "pending" => pb::DeliveryStatus::Pending,
        "sent" => pb::DeliveryStatus::Sent,
        "failed" => pb::DeliveryStatus::Failed,
        "dead" => pb::DeliveryStatus::Dead,
        // A cancelled scheduled notification will never be sent.
        "suppressed" | "cancelled" => pb::DeliveryStatus::Suppressed,
        _ => pb::DeliveryStatus::Unspecified,
    }
}

/// A validated item of a Deliver call.
struct Incoming {
    recipient_id: String,
    kind: pb::NotificationKind,
    params: HashMap<String, String>,
    dedupe_key: String,
    not_before: Option<DateTime<Utc>>,
}

fn parse_incoming(i: usize, n: pb::NotificationRequest, v: &mut Violations) -> Option<Incoming> {
    let field = |name: &str| format!("notifications[{i}].{name}");
    let recipient = v.check(validate::id(&field("recipient_id"), &n.recipient_id));
    let typed = n
        .notice
        .as_ref()
        .is_some_and(|notice| notice.kind() != pb::NotificationKind::Unspecified);
    let kind = match pb::NotificationKind::try_from(n.kind) {
        _ if typed => None,
        Ok(pb::NotificationKind::Unspecified) | Err(_) => {
            v.push(FieldViolation::new(
                field("kind"),
                "must be a known notification kind",
            ));
            None
        }
        Ok(kind) => Some(kind),
    };
    let key = v.check(validate::text(
        &field("dedupe_key"),
        &n.dedupe_key,
        1,
        200,
        false,
    ));
    if n.params.len() > 50 {
        v.push(FieldViolation::new(
            field("params"),
            "at most 50 parameters",
        ));
    }
    for (k, value) in &n.params {
        if k.is_empty() || k.len() > 64 || value.chars().count() > 2000 || value.contains('\0') {
            v.push(FieldViolation::new(
                field("params"),
                format!(
                    "parameter `{}` must have a 1-64 byte name and at most 2000 characters",
                    k.chars().take(64).collect::<String>()
                ),
            ));
            break;
        }
    }
    let not_before = match &n.not_before {
        Some(at) => v.check(from_ts(&field("not_before"), at)).map(Some),
        None => Some(None),
    };
    // A typed notice decides the kind and the facts (transitional: as string parameters).
    let (kind, params) = match &n.notice {
        Some(notice) if notice.kind() != pb::NotificationKind::Unspecified => {
            (Some(notice.kind()), crate::legacy::params(notice))
        }
        _ => (kind, n.params),
    };
    Some(Incoming {
        recipient_id: recipient?.to_string(),
        kind: kind?,
        params,
        dedupe_key: key?,
        not_before: not_before?,
    })
}

impl Notifications {
    pub fn new(
        store: Store,
        clock: Clock,
        contacts: Contacts,
        hub: Hub,
        publish_locally: bool,
        page_tokens: PageTokens,
        shutdown: CancellationToken,
    ) -> Self {
        Self(Arc::new(State {
            store,
            clock,
            contacts,
            hub,
            publish_locally,
            page_tokens,
            shutdown,
        }))
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }

    /// Publishes items into the local hub where no database listener does it.
    pub fn published(&self, items: Vec<Item>) {
        if self.0.publish_locally {
            for item in items {
                self.0.hub.publish(item);
            }
        }
    }

    async fn deliver(&self, req: pb::DeliverRequest) -> Result<pb::DeliverResponse, Status> {
        if req.notifications.is_empty() {
            return Err(error::invalid_argument(&[FieldViolation::new(
                "notifications",
                "is required",
            )]));
        }
        if req.notifications.len() > MAX_DELIVER_BATCH {
            return Err(error::invalid_argument(&[FieldViolation::new(
                "notifications",
                format!("at most {MAX_DELIVER_BATCH} per call"),
            )]));
        }
        let total = req.notifications.len();
        let mut v = Violations::new();
        let parsed: Vec<Incoming> = req
            .notifications
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| parse_incoming(i, n, &mut v))
            .collect();
        if let Err(violations) = v.finish() {
            return Err(error::invalid_argument(&violations));
        }
        // The first of several items with one key wins; the rest are duplicates.
        let mut keys = HashSet::new();
        let parsed: Vec<Incoming> = parsed
            .into_iter()
            .filter(|n| keys.insert(n.dedupe_key.clone()))
            .collect();
        let recipients: Vec<String> = {
            let mut r: Vec<String> = parsed.iter().map(|n| n.recipient_id.clone()).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let contacts = self.0.contacts.get(&recipients).await.map_err(|status| {
            tracing::warn!(%status, "members service unavailable for contacts");
            error::status(
                Code::Unavailable,
                "CONTACTS_UNAVAILABLE",
                "recipient details are unavailable; retry",
            )
        })?;
        let prefs = self
            .0
            .store
            .preferences_of(&recipients)
            .await
            .map_err(|e| db_error(&e))?;
        let now = self.now();
        let mut batch = Vec::with_capacity(parsed.len());
        let mut unknown = 0usize;
        for n in parsed {
            let Some(contact) = contacts.get(&n.recipient_id).filter(|c| !c.deleted) else {
                // Deleted or unknown members get nothing; the producer need not retry.
                unknown += 1;
                continue;
            };
            let kind = domain::kind_name(n.kind).to_owned();
            let enabled = |channel: pb::Channel| {
                prefs
                    .get(&(
                        n.recipient_id.clone(),
                        kind.clone(),
                        domain::channel_name(channel).to_owned(),
                    ))
                    .copied()
                    .unwrap_or_else(|| domain::default_enabled(n.kind, channel))
            };
            let locale = Locale::parse(&contact.locale);
            let rendered = render::render(n.kind, locale, &contact.display_name, &n.params);
            batch.push(NewNotification {
                id: Uuid::now_v7().to_string(),
                recipient_id: n.recipient_id.clone(),
                kind: kind.clone(),
                params: n.params,
                dedupe_key: n.dedupe_key,
                title: rendered.title,
                body: rendered.body,
                locale: contact.locale.clone(),
                not_before: n.not_before.unwrap_or(now).max(now),
                in_app: enabled(pb::Channel::InApp),
                email: enabled(pb::Channel::Email) && !contact.email.is_empty(),
            });
        }
        let (accepted, visible) = self
            .0
            .store
            .insert(&batch, now)
            .await
            .map_err(|e| db_error(&e))?;
        self.published(visible);
        let duplicates = total - accepted - unknown;
        Ok(pb::DeliverResponse {
            accepted_count: count(accepted),
            duplicate_count: count(duplicates),
        })
    }
}

type NotificationStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamNotificationsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::notification_service_server::NotificationService for Notifications {
    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Reply<pb::ListNotificationsResponse> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let scope = format!("ListNotifications:{}", req.unread_only);
        let mut v = Violations::new();
        let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
        let after: Option<Option<(DateTime<Utc>, String)>> =
            v.check(self.0.page_tokens.decode(&scope, &req.page_token));
        v.finish().map_err(|e| error::invalid_argument(&e))?;
        let mut rows = self
            .0
            .store
            .inbox(&me, req.unread_only, after.flatten(), limit + 1)
            .await
            .map_err(|e| db_error(&e))?;
        let next = next_page_token(&mut rows, limit, |r| {
            self.0
                .page_tokens
                .encode(&scope, &(r.visible_at, r.item.id.clone()))
        });
        let unread = self
            .0
            .store
            .unread_count(&me)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(Response::new(pb::ListNotificationsResponse {
            notifications: rows.iter().map(inbox_to_pb).collect(),
            next_page_token: next,
            unread_count: count(unread),
        }))
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Reply<pb::MarkReadResponse> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let mut v = Violations::new();
        if req.notification_ids.is_empty() {
            v.push(FieldViolation::new("notification_ids", "is required"));
        }
        if req.notification_ids.len() > 1000 {
            v.push(FieldViolation::new("notification_ids", "at most 1000 ids"));
        }
        let ids: Vec<String> = req
            .notification_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                v.check(validate::id(&format!("notification_ids[{i}]"), id))
                    .map(|u| u.to_string())
            })
            .collect();
        v.finish().map_err(|e| error::invalid_argument(&e))?;
        let marked = self
            .0
            .store
            .mark_read(&me, &ids, self.now())
            .await
            .map_err(|e| db_error(&e))?;
        let unread = self
            .0
            .store
            .unread_count(&me)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(Response::new(pb::MarkReadResponse {
            marked_count: count(marked),
            unread_count: count(unread),
        }))
    }

    async fn mark_all_read(
        &self,
        request: Request<pb::MarkAllReadRequest>,
    ) -> Reply<pb::MarkAllReadResponse> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let before = match &req.before_time {
            Some(at) => {
                Some(from_ts("before_time", at).map_err(|e| error::invalid_argument(&[e]))?)
            }
            None => None,
        };
        let marked = self
            .0
            .store
            .mark_all_read(&me, before, self.now())
            .await
            .map_err(|e| db_error(&e))?;
        let unread = self
            .0
            .store
            .unread_count(&me)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(Response::new(pb::MarkAllReadResponse {
            marked_count: count(marked),
            unread_count: count(unread),
        }))
    }

    type StreamNotificationsStream = NotificationStream;

    async fn stream_notifications(
        &self,
        request: Request<pb::StreamNotificationsRequest>,
    ) -> Reply<Self::StreamNotificationsStream> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let resume = if req.resume_after_id.is_empty() {
            None
        } else {
            Some(
                validate::id("resume_after_id", &req.resume_after_id)
                    .map_err(|e| error::invalid_argument(&[e]))?
                    .to_string(),
            )
        };
        // Subscribe before reading the backlog so nothing falls between the two.
        let live = self.0.hub.subscribe();
        let backlog = match &resume {
            Some(after) => self
                .0
                .store
                .visible_after(&me, after, 1000)
                .await
                .map_err(|e| db_error(&e))?,
            None => Vec::new(),
        };
        let store = self.0.store.clone();
        let shutdown = self.0.shutdown.clone();
        let stream = subscriber_stream(me, backlog, store, shutdown, live);
        Ok(Response::new(stream))
    }

    async fn get_preferences(
        &self,
        request: Request<pb::GetPreferencesRequest>,
    ) -> Reply<pb::GetPreferencesResponse> {
        let me = member(caller(&request))?;
        Ok(Response::new(pb::GetPreferencesResponse {
            preferences: Some(self.preferences(&me).await?),
        }))
    }

    async fn update_preferences(
        &self,
        request: Request<pb::UpdatePreferencesRequest>,
    ) -> Reply<pb::UpdatePreferencesResponse> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let prefs = req.preferences.unwrap_or_default();
        let mut v = Violations::new();
        let paths = validate::mask_paths(req.update_mask.as_ref(), &mut v);
        let mut channels = Vec::new();
        let mut quiet = None;
        let mut time_zone = None;
        for path in paths {
            match path.as_str() {
                "channel_preferences" => {
                    for (i, p) in prefs.channel_preferences.iter().enumerate() {
                        let kind = match pb::NotificationKind::try_from(p.kind) {
                            Ok(pb::NotificationKind::Unspecified) | Err(_) => {
                                v.push(FieldViolation::new(
                                    format!("preferences.channel_preferences[{i}].kind"),
                                    "must be a known kind",
                                ));
                                continue;
                            }
                            Ok(kind) => kind,
                        };
                        let channel = match pb::Channel::try_from(p.channel) {
                            Ok(pb::Channel::Unspecified) | Err(_) => {
                                v.push(FieldViolation::new(
                                    format!("preferences.channel_preferences[{i}].channel"),
                                    "must be IN_APP or EMAIL",
                                ));
                                continue;
                            }
                            Ok(channel) => channel,
                        };
                        channels.push((
                            domain::kind_name(kind).to_owned(),
                            domain::channel_name(channel).to_owned(),
                            p.enabled,
                        ));
                    }
                }
                "quiet_hours" => {
                    let q = prefs.quiet_hours.clone().unwrap_or_default();
                    let start = QuietHours::parse_time(&q.start);
                    let end = QuietHours::parse_time(&q.end);
                    if q.enabled && start.is_none() {
                        v.push(FieldViolation::new(
                            "preferences.quiet_hours.start",
                            "must be HH:MM",
                        ));
                    }
                    if q.enabled && end.is_none() {
                        v.push(FieldViolation::new(
                            "preferences.quiet_hours.end",
                            "must be HH:MM",
                        ));
                    }
                    if q.enabled && start.is_some() && start == end {
                        v.push(FieldViolation::new(
                            "preferences.quiet_hours.end",
                            "must differ from start",
                        ));
                    }
                    quiet = Some(QuietRow {
                        start_minute: i64::from(start.unwrap_or(0)),
                        end_minute: i64::from(end.unwrap_or(0)),
                        enabled: q.enabled,
                    });
                }
                "time_zone" => {
                    let zone = prefs.time_zone.trim();
                    if zone.is_empty() {
                        time_zone = Some(None);
                    } else if let Ok(tz) = zone.parse::<chrono_tz::Tz>() {
                        time_zone = Some(Some(tz.name().to_owned()));
                    } else {
                        v.push(FieldViolation::new("preferences.time_zone", "must be an IANA time zone such as Europe/Paris"));
                    }
                }
                other => v.push(FieldViolation::new(
                    "update_mask",
                    format!("unknown path `{other}`; updatable: channel_preferences, quiet_hours, time_zone"),
                )),
            }
        }
        v.finish().map_err(|e| error::invalid_argument(&e))?;
        self.0
            .store
            .update_preferences(&me, &channels, quiet, time_zone, self.now())
            .await
            .map_err(|e| db_error(&e))?;
        Ok(Response::new(pb::UpdatePreferencesResponse {
            preferences: Some(self.preferences(&me).await?),
        }))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Reply<pb::ListDeliveriesResponse> {
        let me = member(caller(&request))?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let notification = if req.notification_id.is_empty() {
            None
        } else {
            v.check(validate::id("notification_id", &req.notification_id))
                .map(|u| u.to_string())
        };
        let status = match pb::DeliveryStatus::try_from(req.status) {
            Ok(s) => status_name(s),
            Err(_) => {
                v.push(FieldViolation::new("status", "unknown status"));
                None
            }
        };
        let scope = format!("ListDeliveries:{}:{}", req.notification_id, req.status);
        let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
        let before: Option<Option<String>> =
            v.check(self.0.page_tokens.decode(&scope, &req.page_token));
        v.finish().map_err(|e| error::invalid_argument(&e))?;
        let mut rows = self
            .0
            .store
            .deliveries(
                &me,
                notification.as_deref(),
                status,
                before.flatten().as_deref(),
                limit + 1,
            )
            .await
            .map_err(|e| db_error(&e))?;
        let next = next_page_token(&mut rows, limit, |d| {
            self.0.page_tokens.encode(&scope, &d.id)
        });
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: rows
                .into_iter()
                .map(|d| pb::Delivery {
                    kind: domain::kind_from_name(&d.kind).into(),
                    channel: domain::channel_from_name(&d.channel).into(),
                    attempts: count(d.attempts),
                    status: status_from_name(&d.status).into(),
                    last_error: d.last_error.unwrap_or_default(),
                    next_attempt_time: matches!(d.status.as_str(), "pending" | "failed")
                        .then(|| ts(d.next_attempt_at))
                        .flatten(),
                    sent_time: d.sent_at.and_then(ts),
                    create_time: ts(d.created_at),
                    id: d.id,
                    notification_id: d.notification_id,
                })
                .collect(),
            next_page_token: next,
        }))
    }
}

impl Notifications {
    async fn preferences(&self, me: &str) -> Result<pb::Preferences, Status> {
        let explicit = self
            .0
            .store
            .preferences_of(&[me.to_owned()])
            .await
            .map_err(|e| db_error(&e))?;
        let settings = self
            .0
            .store
            .quiet_hours(me)
            .await
            .map_err(|e| db_error(&e))?;
        // A row created only to hold a time zone has no quiet hours to show.
        let quiet = settings
            .quiet
            .filter(|q| q.enabled || q.start_minute != q.end_minute);
        let time_zone = match settings.time_zone {
            Some(zone) => zone,
            None => self
                .0
                .contacts
                .get(&[me.to_owned()])
                .await
                .ok()
                .and_then(|mut c| c.remove(me))
                .map(|c| c.time_zone)
                .unwrap_or_else(|| "UTC".to_owned()),
        };
        let mut channel_preferences = Vec::new();
        for kind in domain::all_kinds() {
            for channel in [pb::Channel::InApp, pb::Channel::Email] {
                let key = (
                    me.to_owned(),
                    domain::kind_name(kind).to_owned(),
                    domain::channel_name(channel).to_owned(),
                );
                channel_preferences.push(pb::ChannelPreference {
                    kind: kind.into(),
                    channel: channel.into(),
                    enabled: explicit
                        .get(&key)
                        .copied()
                        .unwrap_or_else(|| domain::default_enabled(kind, channel)),
                });
            }
        }
        let minute = |m: i64| QuietHours::format_time(u32::try_from(m).unwrap_or(0));
        Ok(pb::Preferences {
            member_id: me.to_owned(),
            channel_preferences,
            quiet_hours: quiet.map(|q| pb::QuietHours {
                start: minute(q.start_minute),
                end: minute(q.end_minute),
                enabled: q.enabled,
            }),
            time_zone,
            update_time: None,
            etag: String::new(),
        })
    }
}

/// The stream of one subscriber: the backlog after its resume point, then live items for it,
/// until the client goes away or the server shuts down.
fn subscriber_stream(
    me: String,
    backlog: Vec<InboxRow>,
    store: Store,
    shutdown: CancellationToken,
    mut live: tokio::sync::broadcast::Receiver<Arc<Item>>,
) -> NotificationStream {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let mut seen: HashSet<String> = HashSet::new();
        for row in backlog {
            seen.insert(row.item.id.clone());
            let unread = store.unread_count(&me).await.unwrap_or(0);
            let message = pb::StreamNotificationsResponse {
                notification: Some(inbox_to_pb(&row)),
                unread_count: count(unread),
            };
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
        }
        loop {
            let item = tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                item = live.recv() => item,
            };
            match item {
                Ok(item) if item.recipient_id == me && seen.insert(item.id.clone()) => {
                    let unread = store.unread_count(&me).await.unwrap_or(0);
                    let message = pb::StreamNotificationsResponse {
                        notification: Some(item_to_pb(&item, None)),
                        unread_count: count(unread),
                    };
                    if tx.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a notification stream fell behind");
                    let _ = tx
                        .send(Err(error::status(
                            Code::DataLoss,
                            "STREAM_LAGGED",
                            "the stream fell behind; reconnect with resume_after_id",
                        )))
                        .await;
                    return;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[tonic::async_trait]
impl pb::notification_internal_service_server::NotificationInternalService for Notifications {
    async fn deliver(&self, request: Request<pb::DeliverRequest>) -> Reply<pb::DeliverResponse> {
        self.deliver(request.into_inner()).await.map(Response::new)
    }

    async fn cancel_scheduled(
        &self,
        request: Request<pb::CancelScheduledRequest>,
    ) -> Reply<pb::CancelScheduledResponse> {
        let prefix = request.into_inner().key_prefix;
        // A prefix of a few characters would cancel far more than any producer means to.
        let prefix = validate::text("key_prefix", &prefix, 3, 200, false)
            .map_err(|e| error::invalid_argument(&[e]))?;
        let cancelled = self
            .0
            .store
            .cancel_scheduled(&prefix, self.now())
            .await
            .map_err(|e| db_error(&e))?;
        Ok(Response::new(pb::CancelScheduledResponse {
            cancelled_count: count(cancelled),
        }))
    }
}
