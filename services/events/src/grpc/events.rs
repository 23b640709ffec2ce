//! Events: create, read, edit, publish, cancel, list, co-hosts.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{DEFAULT_PAGE_SIZE, Events, MAX_PAGE_SIZE, id_field, member_caller, optional_member};
use rendezvous_common::pagination::PageTokens;

use crate::convert::Fields;
use crate::convert::events::{Cancellation, CohostChange, EventUpdate, event_to_pb, new_event};
use crate::convert::{cursor_id, time};
use crate::domain::chapter::city_key;
use crate::domain::event::{EventRow, bounding_box, haversine_km};
use crate::error::{Error, Result};
use crate::store::EventFilter;

impl Events {
    pub(super) async fn create_event(
        &self,
        request: Request<pb::CreateEventRequest>,
    ) -> Result<pb::CreateEventResponse> {
        let me = member_caller(&request)?;
        let mut new = new_event(request.into_inner(), me, self.now())?;
        if let Some(request_id) = &new.request_id
            && let Some(id) = self.0.store.event_by_request(me, request_id).await?
        {
            let event = self
                .0
                .store
                .event(id)
                .await?
                .ok_or(Error::NotFound("event"))?;
            return Ok(pb::CreateEventResponse {
                event: Some(event_to_pb(&event)),
            });
        }
        if let Some(chapter_id) = &new.chapter_id {
            let chapter = self
                .0
                .store
                .chapter(*chapter_id)
                .await?
                .ok_or_else(|| Error::field("event.chapter_id", "no such chapter"))?;
            if !self
                .0
                .store
                .is_chapter_member(*chapter_id, new.host_id)
                .await?
            {
                return Err(Error::PermissionDenied(
                    "only members of the chapter may create events in it",
                ));
            }
            if new.city.is_empty() {
                new.city = chapter.city;
            }
        }
        let id = self.0.store.create_event(&new, self.now()).await?;
        let event = self
            .0
            .store
            .event(id)
            .await?
            .ok_or(Error::NotFound("event"))?;
        Ok(pb::CreateEventResponse {
            event: Some(event_to_pb(&event)),
        })
    }

    pub(super) async fn get_event(
        &self,
        request: Request<pb::GetEventRequest>,
    ) -> Result<pb::GetEventResponse> {
        let viewer = optional_member(&request)?;
        let id = id_field("event_id", &request.get_ref().event_id)?;
        let event = self.visible_event(id, viewer).await?;
        Ok(pb::GetEventResponse {
            event: Some(event_to_pb(&event)),
        })
    }

    pub(super) async fn update_event(
        &self,
        request: Request<pb::UpdateEventRequest>,
    ) -> Result<pb::UpdateEventResponse> {
        let me = member_caller(&request)?;
        let EventUpdate { event_id, edit } = EventUpdate::try_from(request.into_inner())?;
        let event = self
            .0
            .store
            .update_event(event_id, me, &edit, self.now())
            .await?;
        Ok(pb::UpdateEventResponse {
            event: Some(event_to_pb(&event)),
        })
    }

    pub(super) async fn publish_event(
        &self,
        request: Request<pb::PublishEventRequest>,
    ) -> Result<pb::PublishEventResponse> {
        let me = member_caller(&request)?;
        let req = request.get_ref();
        let id = id_field("event_id", &req.event_id)?;
        let etag = (!req.etag.is_empty()).then_some(req.etag.as_str());
        let event = self.0.store.publish(id, me, etag, self.now()).await?;
        Ok(pb::PublishEventResponse {
            event: Some(event_to_pb(&event)),
        })
    }

    pub(super) async fn cancel_event(
        &self,
        request: Request<pb::CancelEventRequest>,
    ) -> Result<pb::CancelEventResponse> {
        let me = member_caller(&request)?;
        let cancellation = Cancellation::try_from(request.get_ref())?;
        let event = self
            .0
            .store
            .cancel_event(
                cancellation.event_id,
                Some(me),
                &cancellation.reason,
                cancellation.etag.as_deref(),
                self.now(),
            )
            .await?;
        Ok(pb::CancelEventResponse {
            event: Some(event_to_pb(&event)),
        })
    }

    pub(super) async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<pb::ListEventsResponse> {
        let viewer = optional_member(&request)?;
        let req = request.into_inner();
        let mut f = Fields::new();
        let city = f.or_default(validate::text("city", &req.city, 0, 100, false));
        let chapter_id = f.optional_id("chapter_id", &req.chapter_id);
        let host_id = f.optional_id("host_id", &req.host_id);
        let series_id = f.optional_id("series_id", &req.series_id);
        let start_after = f.or_default(time("start_after", req.start_after.as_ref()));
        let start_before = f.or_default(time("start_before", req.start_before.as_ref()));
        let query = f.or_default(validate::text("query", &req.query, 0, 200, false));
        let near = match &req.near {
            None => None,
            Some(near) => {
                if !(near.latitude.is_finite() && (-90.0..=90.0).contains(&near.latitude)) {
                    f.push(FieldViolation::new(
                        "near.latitude",
                        "must be between -90 and 90",
                    ));
                }
                if !(near.longitude.is_finite() && (-180.0..=180.0).contains(&near.longitude)) {
                    f.push(FieldViolation::new(
                        "near.longitude",
                        "must be between -180 and 180",
                    ));
                }
                if !(near.radius_km.is_finite()
                    && near.radius_km > 0.0
                    && near.radius_km <= 20_000.0)
                {
                    f.push(FieldViolation::new(
                        "near.radius_km",
                        "must be greater than 0 and at most 20000",
                    ));
                }
                Some((near.latitude, near.longitude, near.radius_km))
            }
        };
        let limit = f.or_default(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let mut after = f.or_default(decode_event_cursor(
            &self.0.page_tokens,
            "ListEvents",
            &req.page_token,
        ));
        f.finish(())?;
        let filter = EventFilter {
            city_key: (!city.is_empty()).then(|| city_key(&city)),
            chapter_id,
            start_after: start_after.unwrap_or_else(|| self.now()),
            start_before,
            words: query
                .to_lowercase()
                .split_whitespace()
                .take(10)
                .map(str::to_owned)
                .collect(),
            bbox: near.map(|(lat, lon, r)| bounding_box(lat, lon, r)),
            host_id,
            series_id,
        };
        // The box narrows in SQL; the exact distance is checked here, so a page may
        // need several reads.
        let mut events = Vec::new();
        let mut exhausted = false;
        while events.len() <= limit as usize && !exhausted {
            let batch = self
                .0
                .store
                .list_events(viewer, &filter, after, limit + 1)
                .await?;
            exhausted = batch.len() <= limit as usize;
            if let Some(last) = batch.last() {
                after = Some((last.start_at, last.id));
            }
            events.extend(batch.into_iter().filter(|e| match near {
                Some((lat, lon, r)) => match (e.latitude, e.longitude) {
                    (Some(elat), Some(elon)) => haversine_km(lat, lon, elat, elon) <= r,
                    _ => false,
                },
                None => true,
            }));
        }
        let next_page_token = next_page_token(&mut events, limit, |e| {
            event_cursor(&self.0.page_tokens, "ListEvents", e)
        });
        Ok(pb::ListEventsResponse {
            events: events.iter().map(event_to_pb).collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_my_events(
        &self,
        request: Request<pb::ListMyEventsRequest>,
    ) -> Result<pb::ListMyEventsResponse> {
        let me = member_caller(&request)?;
        let req = request.into_inner();
        let mut f = Fields::new();
        let limit = f.or_default(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let scope = format!("ListMyEvents/{me}");
        let after = f.or_default(decode_event_cursor(
            &self.0.page_tokens,
            &scope,
            &req.page_token,
        ));
        f.finish(())?;
        let mut events = self
            .0
            .store
            .list_my_events(me, self.now(), after, limit + 1, false)
            .await?;
        let next_page_token = next_page_token(&mut events, limit, |e| {
            event_cursor(&self.0.page_tokens, &scope, e)
        });
        Ok(pb::ListMyEventsResponse {
            events: events.iter().map(event_to_pb).collect(),
            next_page_token,
        })
    }

    pub(super) async fn add_cohost(
        &self,
        request: Request<pb::AddCohostRequest>,
    ) -> Result<pb::AddCohostResponse> {
        let me = member_caller(&request)?;
        let change = CohostChange::try_from(request.get_ref())?;
        let event = Some(self.change_cohost(me, change).await?);
        Ok(pb::AddCohostResponse { event })
    }

    pub(super) async fn remove_cohost(
        &self,
        request: Request<pb::RemoveCohostRequest>,
    ) -> Result<pb::RemoveCohostResponse> {
        let me = member_caller(&request)?;
        let change = CohostChange::try_from(request.get_ref())?;
        let event = Some(self.change_cohost(me, change).await?);
        Ok(pb::RemoveCohostResponse { event })
    }

    /// Adds, changes or removes a co-host as `me` (who must be the host).
    async fn change_cohost(&self, me: Uuid, change: CohostChange) -> Result<pb::Event> {
        let event = self
            .0
            .store
            .set_cohost(
                change.event_id,
                me,
                change.member_id,
                change.role,
                self.now(),
            )
            .await?;
        Ok(event_to_pb(&event))
    }
}

/// Where the next page of an event list starts: after `(start µs, id)`.
type EventCursor = (i64, String);

fn decode_event_cursor(
    tokens: &PageTokens,
    scope: &str,
    token: &str,
) -> Result<Option<(DateTime<Utc>, Uuid)>, FieldViolation> {
    let cursor: Option<EventCursor> = tokens.decode(scope, token)?;
    match cursor {
        None => Ok(None),
        Some((micros, id)) => DateTime::from_timestamp_micros(micros)
            .map(|at| (at, id))
            .ok_or_else(|| {
                FieldViolation::new("page_token", "not a page token issued by this method")
            })
            .and_then(|(at, id)| Ok(Some((at, cursor_id(&id)?)))),
    }
}

fn event_cursor(tokens: &PageTokens, scope: &str, e: &EventRow) -> String {
    let cursor: EventCursor = (e.start_at.timestamp_micros(), e.id.to_string());
    tokens.encode(scope, &cursor)
}
