//! Calendars: one event or a member's events as iCalendar, and private calendar feeds.

use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Events, member_caller, optional_member};
use crate::convert::events::{EventRef, FeedRef};
use rand::RngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

use crate::calendar;
use crate::convert::events::calendar_event;
use crate::convert::ts;
use crate::error::{Error, Result};

impl Events {
    pub(super) async fn export_event_calendar(
        &self,
        request: Request<pb::ExportEventCalendarRequest>,
    ) -> Result<pb::ExportEventCalendarResponse> {
        let viewer = optional_member(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        let event = self.visible_event(id, viewer).await?;
        let ics = calendar::calendar(&event.title, &[calendar_event(&event)]);
        Ok(pb::ExportEventCalendarResponse {
            ics: ics.into_bytes(),
            content_type: calendar::CONTENT_TYPE.to_owned(),
        })
    }

    pub(super) async fn export_my_calendar(
        &self,
        request: Request<pb::ExportMyCalendarRequest>,
    ) -> Result<pb::ExportMyCalendarResponse> {
        let me = member_caller(&request)?;
        let events = self
            .0
            .store
            .list_my_events(me, self.now(), None, 500, true)
            .await?;
        // As ListMyEvents: an event whose host and the member block each other is hidden.
        let events = self.without_blocked_hosts(Some(me), events).await?;
        let ics = calendar::calendar(
            "Rendezvous",
            &events.iter().map(calendar_event).collect::<Vec<_>>(),
        );
        Ok(pb::ExportMyCalendarResponse {
            ics: ics.into_bytes(),
            content_type: calendar::CONTENT_TYPE.to_owned(),
        })
    }

    pub(super) async fn create_calendar_feed(
        &self,
        request: Request<pb::CreateCalendarFeedRequest>,
    ) -> Result<pb::CreateCalendarFeedResponse> {
        let me = member_caller(&request)?;
        let request_id =
            validate::text("request_id", &request.get_ref().request_id, 0, 100, false)?;
        let mut bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = hex(&bytes);
        let id = Uuid::now_v7();
        let now = self.now();
        let (id, created_at, fresh) = self
            .0
            .store
            .create_feed(
                id,
                me,
                &token_hash(&token),
                (!request_id.is_empty()).then_some(request_id.as_str()),
                now,
            )
            .await?;
        // A retry cannot show the URL again: only its hash is kept.
        let url = if fresh {
            format!(
                "{}/calendar/{token}.ics",
                self.0.settings.public_feed_url.trim_end_matches('/')
            )
        } else {
            String::new()
        };
        Ok(pb::CreateCalendarFeedResponse {
            feed: Some(pb::CalendarFeed {
                id: id.to_string(),
                url,
                create_time: ts(created_at),
            }),
        })
    }

    pub(super) async fn revoke_calendar_feed(
        &self,
        request: Request<pb::RevokeCalendarFeedRequest>,
    ) -> Result<pb::RevokeCalendarFeedResponse> {
        let me = member_caller(&request)?;
        let FeedRef(id) = FeedRef::try_from(request.get_ref())?;
        if !self.0.store.revoke_feed(id, me, self.now()).await? {
            return Err(Error::NotFound("calendar feed"));
        }
        Ok(pb::RevokeCalendarFeedResponse {})
    }

    /// The calendar of a feed token's member, or None for an unknown or revoked token.
    pub async fn feed_calendar(&self, token: &str) -> Option<String> {
        let hash = token_hash(token);
        let member = self.0.store.feed_member(&hash).await.ok()??;
        let events = self
            .0
            .store
            .list_my_events(member, self.now(), None, 500, true)
            .await
            .ok()?;
        let events = self
            .without_blocked_hosts(Some(member), events)
            .await
            .ok()?;
        Some(calendar::calendar(
            "Rendezvous",
            &events.iter().map(calendar_event).collect::<Vec<_>>(),
        ))
    }
}

impl crate::feed::FeedSource for Events {
    async fn calendar(&self, token: &str) -> Option<String> {
        self.feed_calendar(token).await
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
