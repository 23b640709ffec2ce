//! Events: create, read, edit, publish, cancel, list, co-hosts.

use rendezvous_common::pagination::next_page_token;
use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Events, id_field, member_caller, optional_member};
use crate::convert::events::{Cancellation, CohostChange, EventUpdate, event_to_pb, new_event};
use crate::convert::events::{EventRef, ListEventsQuery, TimedPage};
use crate::convert::timed_token;
use crate::domain::event::haversine_km;
use crate::error::{Error, Result};

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
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
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
        let ListEventsQuery {
            mut filter,
            start_after,
            near,
            limit,
            mut after,
        } = ListEventsQuery::try_from((request.get_ref(), &self.0.page_tokens))?;
        filter.start_after = start_after.unwrap_or_else(|| self.now());
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
            let batch = self.without_blocked_hosts(viewer, batch).await?;
            events.extend(batch.into_iter().filter(|e| match near {
                Some((lat, lon, r)) => match (e.latitude, e.longitude) {
                    (Some(elat), Some(elon)) => haversine_km(lat, lon, elat, elon) <= r,
                    _ => false,
                },
                None => true,
            }));
        }
        let next_page_token = next_page_token(&mut events, limit, |e| {
            timed_token(
                &self.0.page_tokens,
                ListEventsQuery::SCOPE,
                e.start_at,
                e.id,
            )
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
        let page = TimedPage::try_from((request.get_ref(), &self.0.page_tokens, me))?;
        let mut events = self
            .0
            .store
            .list_my_events(me, self.now(), page.after, page.limit + 1, false)
            .await?;
        let next_page_token = next_page_token(&mut events, page.limit, |e| {
            timed_token(&self.0.page_tokens, &page.scope, e.start_at, e.id)
        });
        // After the page token, so that a page short of a hidden event still leads on.
        let events = self.without_blocked_hosts(Some(me), events).await?;
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
