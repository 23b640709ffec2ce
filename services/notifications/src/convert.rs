//! Write requests parsed at the edge: each becomes a domain value, or an error naming every
//! bad field at once. Handlers never read a request's raw fields themselves.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::revocations::SessionRevocation;
use rendezvous_common::time;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::notifications::v1::{self as pb, notice::Notice as N};
use rendezvous_proto::prost::Message as _;
use uuid::Uuid;

use crate::domain::QuietHours;
use crate::error::Error;

/// Most notifications one Deliver call takes.
pub const MAX_DELIVER_BATCH: usize = 10_000;

/// Most ids one MarkRead call takes.
const MAX_MARK_READ: usize = 1000;

/// Largest encoded notice Deliver takes.
const MAX_NOTICE_BYTES: usize = 16 * 1024;

/// Longest note, reason or message a notice carries, in characters.
const MAX_FREE_TEXT: usize = 2000;

/// A notice with its variant set: what the notification says, and so its kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice(pb::Notice);

impl Notice {
    pub fn kind(&self) -> pb::NotificationKind {
        self.0.kind()
    }

    pub fn facts(&self) -> &pb::Notice {
        &self.0
    }
}

/// One notification a producer asks for.
pub struct Incoming {
    pub recipient_id: Uuid,
    pub dedupe_key: String,
    pub not_before: Option<DateTime<Utc>>,
    pub notice: Notice,
}

/// A Deliver call: between one and [`MAX_DELIVER_BATCH`] notifications, in request order.
pub struct DeliverBatch {
    pub notifications: Vec<Incoming>,
}

impl TryFrom<pb::DeliverRequest> for DeliverBatch {
    type Error = Error;

    fn try_from(req: pb::DeliverRequest) -> Result<Self, Error> {
        if req.notifications.is_empty() {
            return Err(FieldViolation::new("notifications", "is required").into());
        }
        if req.notifications.len() > MAX_DELIVER_BATCH {
            return Err(FieldViolation::new(
                "notifications",
                format!("at most {MAX_DELIVER_BATCH} per call"),
            )
            .into());
        }
        let mut v = Violations::new();
        let notifications: Vec<Incoming> = req
            .notifications
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| incoming(i, n, &mut v))
            .collect();
        v.finish()?;
        Ok(Self { notifications })
    }
}

fn incoming(i: usize, n: pb::NotificationRequest, v: &mut Violations) -> Option<Incoming> {
    let field = |name: &str| format!("notifications[{i}].{name}");
    let recipient = v.check(validate::id(&field("recipient_id"), &n.recipient_id));
    let key = v.check(validate::text(
        &field("dedupe_key"),
        &n.dedupe_key,
        1,
        200,
        false,
    ));
    let not_before = optional_time(&field("not_before"), n.not_before.as_ref(), v);
    let typed = n.notice.filter(|notice| notice.notice.is_some());
    let notice = v.check(notice(&field("notice"), typed));
    Some(Incoming {
        recipient_id: recipient?,
        dedupe_key: key?,
        not_before: not_before?,
        notice: notice?,
    })
}

/// A notice with its variant, within the size limits.
fn notice(field: &str, notice: Option<pb::Notice>) -> Result<Notice, FieldViolation> {
    let Some(notice) = notice.filter(|n| n.notice.is_some()) else {
        return Err(FieldViolation::new(
            field,
            "is required: the typed notice of the notification",
        ));
    };
    if notice.encoded_len() > MAX_NOTICE_BYTES {
        return Err(FieldViolation::new(
            field,
            format!("must encode to at most {MAX_NOTICE_BYTES} bytes"),
        ));
    }
    if let Some((name, text)) = free_text(&notice)
        && text.chars().count() > MAX_FREE_TEXT
    {
        return Err(FieldViolation::new(
            format!("{field}.{name}"),
            format!("must be at most {MAX_FREE_TEXT} characters"),
        ));
    }
    Ok(Notice(notice))
}

/// The text a person wrote into a notice (a note, a reason, a message), by its field path.
fn free_text(notice: &pb::Notice) -> Option<(&'static str, &str)> {
    match notice.notice.as_ref()? {
        N::ConnectionRequested(n) => Some(("connection_requested.note", &n.note)),
        N::EventCancelled(n) => Some(("event_cancelled.reason", &n.reason)),
        N::EventAnnouncement(n) => Some(("event_announcement.message", &n.message)),
        _ => None,
    }
}

/// `Some(None)` for an unset time, `None` (with the violation recorded) for a bad one.
fn optional_time(
    field: &str,
    at: Option<&rendezvous_proto::prost_types::Timestamp>,
    v: &mut Violations,
) -> Option<Option<DateTime<Utc>>> {
    match at {
        Some(at) => v.check(time::from_timestamp(field, at)).map(Some),
        None => Some(None),
    }
}

/// Notifications of the caller to mark read (ids of others are ignored).
pub struct MarkRead {
    pub ids: Vec<Uuid>,
}

impl TryFrom<pb::MarkReadRequest> for MarkRead {
    type Error = Error;

    fn try_from(req: pb::MarkReadRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        if req.notification_ids.is_empty() {
            v.push(FieldViolation::new("notification_ids", "is required"));
        }
        if req.notification_ids.len() > MAX_MARK_READ {
            v.push(FieldViolation::new(
                "notification_ids",
                format!("at most {MAX_MARK_READ} ids"),
            ));
        }
        let ids = req
            .notification_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| v.check(validate::id(&format!("notification_ids[{i}]"), id)))
            .collect();
        v.finish()?;
        Ok(Self { ids })
    }
}

/// Marks everything read that became visible at or before `before` (everything if unset).
pub struct MarkAllRead {
    pub before: Option<DateTime<Utc>>,
}

impl TryFrom<pb::MarkAllReadRequest> for MarkAllRead {
    type Error = Error;

    fn try_from(req: pb::MarkAllReadRequest) -> Result<Self, Error> {
        let mut v = Violations::new();
        let before = optional_time("before_time", req.before_time.as_ref(), &mut v);
        v.finish()?;
        Ok(Self {
            before: before.flatten(),
        })
    }
}

/// New quiet hours: disabled ones keep whatever valid times they were given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHoursUpdate {
    pub start_minute: u32,
    pub end_minute: u32,
    pub enabled: bool,
}

/// The parts of a member's preferences an UpdatePreferences call changes.
#[derive(Debug, Default)]
pub struct PreferencesUpdate {
    pub channels: Vec<(pb::NotificationKind, pb::Channel, bool)>,
    pub quiet_hours: Option<QuietHoursUpdate>,
    /// `Some(None)` goes back to the profile's zone.
    pub time_zone: Option<Option<Tz>>,
}

impl TryFrom<pb::UpdatePreferencesRequest> for PreferencesUpdate {
    type Error = Error;

    fn try_from(req: pb::UpdatePreferencesRequest) -> Result<Self, Error> {
        let prefs = req.preferences.unwrap_or_default();
        let mut v = Violations::new();
        let mut update = Self::default();
        for path in validate::mask_paths(req.update_mask.as_ref(), &mut v) {
            match path.as_str() {
                "channel_preferences" => {
                    update.channels = prefs
                        .channel_preferences
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| channel_preference(i, p, &mut v))
                        .collect();
                }
                "quiet_hours" => {
                    update.quiet_hours = Some(quiet_hours(
                        &prefs.quiet_hours.clone().unwrap_or_default(),
                        &mut v,
                    ));
                }
                "time_zone" => {
                    let zone = prefs.time_zone.trim();
                    if zone.is_empty() {
                        update.time_zone = Some(None);
                    } else if let Ok(tz) = zone.parse::<Tz>() {
                        update.time_zone = Some(Some(tz));
                    } else {
                        v.push(FieldViolation::new(
                            "preferences.time_zone",
                            "must be an IANA time zone such as Europe/Paris",
                        ));
                    }
                }
                other => v.push(FieldViolation::new(
                    "update_mask",
                    format!(
                        "unknown path `{other}`; updatable: channel_preferences, quiet_hours, \
                         time_zone"
                    ),
                )),
            }
        }
        v.finish()?;
        Ok(update)
    }
}

fn channel_preference(
    i: usize,
    p: &pb::ChannelPreference,
    v: &mut Violations,
) -> Option<(pb::NotificationKind, pb::Channel, bool)> {
    let field = |name: &str| format!("preferences.channel_preferences[{i}].{name}");
    let kind = match pb::NotificationKind::try_from(p.kind) {
        Ok(pb::NotificationKind::Unspecified) | Err(_) => {
            v.push(FieldViolation::new(field("kind"), "must be a known kind"));
            return None;
        }
        Ok(kind) => kind,
    };
    let channel = match pb::Channel::try_from(p.channel) {
        Ok(pb::Channel::Unspecified) | Err(_) => {
            v.push(FieldViolation::new(
                field("channel"),
                "must be IN_APP or EMAIL",
            ));
            return None;
        }
        Ok(channel) => channel,
    };
    Some((kind, channel, p.enabled))
}

fn quiet_hours(q: &pb::QuietHours, v: &mut Violations) -> QuietHoursUpdate {
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
    QuietHoursUpdate {
        start_minute: start.unwrap_or(0),
        end_minute: end.unwrap_or(0),
        enabled: q.enabled,
    }
}

/// Scheduled notifications to cancel: those whose dedupe key starts with `prefix`.
pub struct CancelScheduled {
    pub prefix: String,
}

impl TryFrom<pb::CancelScheduledRequest> for CancelScheduled {
    type Error = Error;

    fn try_from(req: pb::CancelScheduledRequest) -> Result<Self, Error> {
        // A prefix of a few characters would cancel far more than any producer means to.
        let prefix = validate::text("key_prefix", &req.key_prefix, 3, 200, false)?;
        Ok(Self { prefix })
    }
}

/// A deleted member to erase, and when they were deleted.
pub struct EraseMember {
    pub member: Uuid,
    pub erased_at: DateTime<Utc>,
}

impl TryFrom<pb::EraseMemberRequest> for EraseMember {
    type Error = Error;

    fn try_from(req: pb::EraseMemberRequest) -> Result<Self, Error> {
        let member = validate::id("member_id", &req.member_id);
        let erased_at = req
            .erase_time
            .as_ref()
            .ok_or_else(|| FieldViolation::new("erase_time", "is required"))
            .and_then(|at| time::from_timestamp("erase_time", at));
        match (member, erased_at) {
            (Ok(member), Ok(erased_at)) => Ok(Self { member, erased_at }),
            (member, erased_at) => Err(Error::from(
                member
                    .err()
                    .into_iter()
                    .chain(erased_at.err())
                    .collect::<Vec<_>>(),
            )),
        }
    }
}

/// The sessions a `RevokeSessions` call says ended (the rules are shared with events).
pub fn session_revocation(req: &pb::RevokeSessionsRequest) -> Result<SessionRevocation, Error> {
    SessionRevocation::parse(&req.member_id, &req.session_ids, req.revoke_time.as_ref())
        .map_err(Error::from)
}

/// The member whose data to export.
pub struct ExportMember {
    pub member: Uuid,
}

impl TryFrom<pb::ExportMemberDataRequest> for ExportMember {
    type Error = Error;

    fn try_from(req: pb::ExportMemberDataRequest) -> Result<Self, Error> {
        let member = validate::id("member_id", &req.member_id)?;
        Ok(Self { member })
    }
}
