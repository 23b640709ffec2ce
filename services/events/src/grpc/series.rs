//! Recurring series: create, read, list, edit, cancel.

use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{DEFAULT_PAGE_SIZE, Events, MAX_PAGE_SIZE, id_field, member_caller, optional_member};
use crate::convert::events::visibility_name;
use crate::convert::series::{SeriesCancellation, apply_mask, series_to_pb};
use crate::convert::{Fields, cursor_id, ids_pb};
use crate::domain::event::{EventState, EventVisibility};
use crate::domain::series::{SeriesSpec, SeriesState};
use crate::error::{Error, Result};
use crate::store::{SeriesRow, StoreError};

impl Events {
    pub(super) async fn create_series(
        &self,
        request: Request<pb::CreateSeriesRequest>,
    ) -> Result<pb::CreateSeriesResponse> {
        let me = member_caller(&request)?;
        let req = request.into_inner();
        let now = self.now();
        let request_id = validate::text("request_id", &req.request_id, 0, 100, false)?;
        let series = req
            .series
            .ok_or_else(|| Error::field("series", "is required"))?;
        let spec = SeriesSpec::try_from(&series)?;
        if let Some(chapter_id) = &spec.chapter_id {
            self.0
                .store
                .chapter(*chapter_id)
                .await?
                .ok_or_else(|| Error::field("series.chapter_id", "no such chapter"))?;
            if !self.0.store.is_chapter_member(*chapter_id, me).await? {
                return Err(Error::PermissionDenied(
                    "only members of the chapter may create series in it",
                ));
            }
        }
        let horizon = now + self.0.settings.series_horizon;
        let occurrences = spec.occurrences(now, horizon)?;
        let (row, event_ids) = self
            .0
            .store
            .create_series(
                me,
                &series,
                &spec,
                &occurrences,
                (!request_id.is_empty()).then_some(request_id.as_str()),
                now,
            )
            .await?;
        Ok(pb::CreateSeriesResponse {
            series: Some(series_to_pb(&row)),
            event_ids: ids_pb(&event_ids),
        })
    }

    pub(super) async fn get_series(
        &self,
        request: Request<pb::GetSeriesRequest>,
    ) -> Result<pb::GetSeriesResponse> {
        let viewer = optional_member(&request)?;
        let id = id_field("series_id", &request.get_ref().series_id)?;
        let row = self
            .0
            .store
            .series(id)
            .await?
            .ok_or(Error::NotFound("series"))?;
        if !self.series_visible(&row, viewer).await? {
            return Err(Error::NotFound("series"));
        }
        Ok(pb::GetSeriesResponse {
            series: Some(series_to_pb(&row)),
        })
    }

    pub(super) async fn list_series(
        &self,
        request: Request<pb::ListSeriesRequest>,
    ) -> Result<pb::ListSeriesResponse> {
        let me = optional_member(&request)?;
        let req = request.into_inner();
        let mut f = Fields::new();
        let chapter_id = f.optional_id("chapter_id", &req.chapter_id);
        let host_id = if req.host_id.is_empty() {
            None
        } else if req.host_id == "me" {
            match me {
                Some(me) => Some(me),
                None => return Err(Error::Unauthenticated),
            }
        } else {
            Some(f.or_default(validate::id("host_id", &req.host_id)))
        };
        let limit = f.or_default(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let after: Option<String> =
            f.or_default(self.0.page_tokens.decode("ListSeries", &req.page_token));
        let after = after.and_then(|id| f.violations().check(cursor_id(&id)));
        f.finish(())?;
        let mut rows = self
            .0
            .store
            .list_series(chapter_id, host_id, after, limit + 1)
            .await?;
        let next_page_token = next_page_token(&mut rows, limit, |s| {
            self.0.page_tokens.encode("ListSeries", &s.id.to_string())
        });
        let mut visible = Vec::with_capacity(rows.len());
        for row in &rows {
            if self.series_visible(row, me).await? {
                visible.push(series_to_pb(row));
            }
        }
        Ok(pb::ListSeriesResponse {
            series: visible,
            next_page_token,
        })
    }

    pub(super) async fn update_series(
        &self,
        request: Request<pb::UpdateSeriesRequest>,
    ) -> Result<pb::UpdateSeriesResponse> {
        let me = member_caller(&request)?;
        let req = request.into_inner();
        let now = self.now();
        let patch = req
            .series
            .ok_or_else(|| Error::field("series", "is required"))?;
        let id = id_field("series.id", &patch.id)?;
        let row = self
            .0
            .store
            .series(id)
            .await?
            .ok_or(Error::NotFound("series"))?;
        if row.host_id != me {
            return Err(Error::PermissionDenied("only the series' host may do this"));
        }
        if !patch.etag.is_empty() && patch.etag != row.version.to_string() {
            return Err(Error::EtagMismatch("series"));
        }
        if row.state != SeriesState::Active {
            return Err(Error::FailedPrecondition(
                "a cancelled series cannot change",
            ));
        }
        let merged = apply_mask(&row.series, &patch, req.update_mask.as_ref())?;
        let spec = SeriesSpec::try_from(&merged)?;
        let horizon = now + self.0.settings.series_horizon;
        let occurrences = spec.occurrences(now, horizon)?;
        let row = self
            .0
            .store
            .update_series(id, row.version, &merged, &spec, &occurrences, now)
            .await?
            .ok_or(Error::EtagMismatch("series"))?;
        // The update laid occurrences out to this horizon; the rolling extension
        // continues from here.
        self.0.store.mark_materialized(id, horizon).await?;
        Ok(pb::UpdateSeriesResponse {
            series: Some(series_to_pb(&row)),
        })
    }

    pub(super) async fn cancel_series(
        &self,
        request: Request<pb::CancelSeriesRequest>,
    ) -> Result<pb::CancelSeriesResponse> {
        let me = member_caller(&request)?;
        let SeriesCancellation { series_id, reason } =
            SeriesCancellation::try_from(request.get_ref())?;
        let id = series_id;
        let row = self
            .0
            .store
            .series(id)
            .await?
            .ok_or(Error::NotFound("series"))?;
        if row.host_id != me {
            return Err(Error::PermissionDenied("only the series' host may do this"));
        }
        let now = self.now();
        let mut cancelled = 0;
        for event_id in self.0.store.future_occurrences(id, now).await? {
            let outcome = self
                .0
                .store
                .cancel_event(event_id, None, &reason, None, now)
                .await;
            // An occurrence that cannot be cancelled (already over) is left as it is.
            match outcome {
                Ok(e) if e.state == EventState::Cancelled => cancelled += 1,
                Ok(_) | Err(StoreError::Refused(_)) => {}
                Err(StoreError::Database(error)) => return Err(error.into()),
            }
        }
        let row = self
            .0
            .store
            .cancel_series(id, now)
            .await?
            .ok_or(Error::NotFound("series"))?;
        Ok(pb::CancelSeriesResponse {
            series: Some(series_to_pb(&row)),
            cancelled_event_count: cancelled,
        })
    }

    /// Whether `viewer` may see a series: its host always; otherwise by its occurrences'
    /// visibility (public: anyone; chapter: the chapter's members; invite-only: nobody else).
    async fn series_visible(&self, row: &SeriesRow, viewer: Option<Uuid>) -> Result<bool> {
        if viewer == Some(row.host_id) {
            return Ok(true);
        }
        let visibility = row
            .series
            .template
            .as_ref()
            .and_then(|t| visibility_name(t.visibility));
        Ok(match (visibility, row.chapter_id, viewer) {
            (Some(EventVisibility::Public), _, _) => true,
            (Some(EventVisibility::Chapter), Some(chapter), Some(viewer)) => {
                self.0.store.is_chapter_member(chapter, viewer).await?
            }
            _ => false,
        })
    }
}
