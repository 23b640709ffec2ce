//! GetPreferences and UpdatePreferences: channels per kind (defaults filled in), quiet hours
//! and the zone they are read in.

use rendezvous_proto::notifications::v1 as pb;
use uuid::Uuid;

use super::Notifications;
use crate::convert::PreferencesUpdate;
use crate::domain::{self, QuietHours};
use crate::error::Result;
use crate::store::QuietRow;

pub(super) async fn get(service: &Notifications, me: Uuid) -> Result<pb::GetPreferencesResponse> {
    Ok(pb::GetPreferencesResponse {
        preferences: Some(preferences(service, me).await?),
    })
}

pub(super) async fn update(
    service: &Notifications,
    me: Uuid,
    req: pb::UpdatePreferencesRequest,
) -> Result<pb::UpdatePreferencesResponse> {
    let update = PreferencesUpdate::try_from(req)?;
    let quiet = update.quiet_hours.map(|q| QuietRow {
        start_minute: i64::from(q.start_minute),
        end_minute: i64::from(q.end_minute),
        enabled: q.enabled,
    });
    let time_zone = update
        .time_zone
        .map(|zone| zone.map(|tz| tz.name().to_owned()));
    service
        .0
        .store
        .update_preferences(me, &update.channels, quiet, time_zone, service.now())
        .await?;
    Ok(pb::UpdatePreferencesResponse {
        preferences: Some(preferences(service, me).await?),
    })
}

async fn preferences(service: &Notifications, me: Uuid) -> Result<pb::Preferences> {
    let state = &service.0;
    let explicit = state.store.preferences_of(&[me]).await?;
    let settings = state.store.quiet_hours(me).await?;
    // A row created only to hold a time zone has no quiet hours to show.
    let quiet = settings
        .quiet
        .filter(|q| q.enabled || q.start_minute != q.end_minute);
    let time_zone = match settings.time_zone {
        Some(zone) => zone,
        None => state
            .contacts
            .get(&[me])
            .await
            .ok()
            .and_then(|mut c| c.remove(&me))
            .map(|c| c.time_zone)
            .unwrap_or_else(|| "UTC".to_owned()),
    };
    let mut channel_preferences = Vec::new();
    for kind in domain::all_kinds() {
        for channel in [pb::Channel::InApp, pb::Channel::Email] {
            let key = (me, kind, channel);
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
        member_id: me.to_string(),
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
