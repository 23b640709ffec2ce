//! Profiles: read, update, search, delete and export one's own data.

use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::state::{Members, id_or_me, member_caller, ts};
use crate::domain::network::{self, ProfileAccess, ProfileView, Relationship, Viewer};
use crate::domain::profile;
use crate::domain::{ProfileUpdate, fields};
use crate::error::{Error, Result};
use crate::store::{MemberRow, SearchFilter, UpdateOutcome};

/// A member as `view` lets its viewer see them.
pub(super) fn member_to_pb(m: &MemberRow, view: ProfileView) -> pb::Member {
    if m.deleted_at.is_some() {
        return pb::Member {
            id: m.id.to_string(),
            display_name: "deleted member".to_owned(),
            deleted: true,
            ..pb::Member::default()
        };
    }
    let relationship = match view.relationship {
        Relationship::Unknown => pb::Relationship::Unspecified,
        Relationship::Own => pb::Relationship::Self_,
        Relationship::None => pb::Relationship::None,
        Relationship::Connected => pb::Relationship::Connected,
        Relationship::RequestSent => pb::Relationship::RequestSent,
        Relationship::RequestReceived => pb::Relationship::RequestReceived,
        Relationship::Blocked => pb::Relationship::Blocked,
    };
    let mut out = pb::Member {
        id: m.id.to_string(),
        display_name: m.display_name.clone(),
        visibility: m.visibility.to_proto().into(),
        relationship: relationship.into(),
        ..pb::Member::default()
    };
    if view.access == ProfileAccess::NameOnly {
        return out;
    }
    out.headline = m.headline.clone();
    out.company = m.company.clone();
    out.city = m.city.clone();
    out.interests = m.interests.clone();
    out.linkedin_url = m
        .linkedin_url
        .as_ref()
        .map(|u| format!("https://www.{u}"))
        .unwrap_or_default();
    out.create_time = ts(m.created_at);
    if view.access == ProfileAccess::Owner {
        out.email = m.email.clone().unwrap_or_default();
        out.locale = m.locale.clone();
        out.time_zone = m.time_zone.clone();
        out.update_time = ts(m.updated_at);
        out.etag = m.version.to_string();
        out.findable_by_contact_details = m.findable_by_contact_details;
    }
    out
}

/// The member's own profile, as they see it.
pub(super) fn own_member_to_pb(m: &MemberRow) -> pb::Member {
    member_to_pb(
        m,
        ProfileView {
            access: ProfileAccess::Owner,
            relationship: Relationship::Own,
        },
    )
}

impl Members {
    /// The profile of `target` as `viewer` may see it; NOT_FOUND when blocked either way.
    async fn view(&self, target: &MemberRow, viewer: Option<Uuid>) -> Result<pb::Member> {
        let viewer = match viewer {
            None => Viewer::Anonymous,
            Some(me) if me == target.id => Viewer::Owner,
            Some(me) => Viewer::Member(self.0.store.relation(me, target.id).await?),
        };
        let view =
            network::profile_view(viewer, target.visibility).ok_or(Error::NotFound("member"))?;
        Ok(member_to_pb(target, view))
    }

    pub(super) async fn live_member(&self, id: Uuid) -> Result<MemberRow> {
        match self.0.store.member(id).await? {
            Some(m) if m.deleted_at.is_none() => Ok(m),
            _ => Err(Error::NotFound("member")),
        }
    }

    pub(super) async fn get_member(
        &self,
        request: Request<pb::GetMemberRequest>,
    ) -> Result<pb::GetMemberResponse> {
        let me = member_caller(&request).ok().map(|(id, _)| id);
        let id = id_or_me("id", &request.get_ref().id, me)?;
        let member = self
            .0
            .store
            .member(id)
            .await?
            .ok_or(Error::NotFound("member"))?;
        Ok(pb::GetMemberResponse {
            member: Some(self.view(&member, me).await?),
        })
    }

    pub(super) async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Result<pb::UpdateMemberResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let member = req
            .member
            .ok_or_else(|| Error::field("member", "is required"))?;
        let id = id_or_me("member.id", &member.id, Some(me))?;
        if !network::may_edit(me, id) {
            return Err(Error::PermissionDenied(
                "you can only update your own profile",
            ));
        }
        let update = ProfileUpdate::parse(&member, req.update_mask.as_ref())?;
        match self
            .0
            .store
            .update_profile(me, &update, self.now())
            .await
            .map_err(|e| match rendezvous_common::error::classify_db_error(&e) {
                rendezvous_common::error::DbErrorKind::UniqueViolation => {
                    Error::AlreadyExists("another member already uses this LinkedIn profile URL")
                }
                _ => Error::Database(e),
            })? {
            UpdateOutcome::Updated(row) => Ok(pb::UpdateMemberResponse {
                member: Some(own_member_to_pb(&row)),
            }),
            UpdateOutcome::EtagMismatch => Err(Error::EtagMismatch),
            UpdateOutcome::NotFound => Err(Error::NotFound("member")),
        }
    }

    pub(super) async fn search_members(
        &self,
        request: Request<pb::SearchMembersRequest>,
    ) -> Result<pb::SearchMembersResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let (city, interest, query, limit, after) = fields::all((
            profile::city("city", &req.city),
            validate::text("interest", &req.interest, 0, 40, false),
            validate::text("query", &req.query, 0, 100, false),
            page_size(req.page_size, 20, 100),
            self.cursor::<String>("SearchMembers", &req.page_token),
        ))?;
        let filter = SearchFilter::new(&city, &interest, &query);
        let mut rows = self
            .0
            .store
            .search(me, &filter, after.as_deref(), limit + 1)
            .await?;
        let next = next_page_token(&mut rows, limit, |m| {
            self.0
                .page_tokens
                .encode("SearchMembers", &m.id.to_string())
        });
        let mut members = Vec::with_capacity(rows.len());
        for row in &rows {
            members.push(self.view(row, Some(me)).await?);
        }
        Ok(pb::SearchMembersResponse {
            members,
            next_page_token: next,
        })
    }

    pub(super) async fn delete_member(
        &self,
        request: Request<pb::DeleteMemberRequest>,
    ) -> Result<pb::DeleteMemberResponse> {
        let (me, _) = member_caller(&request)?;
        let id = id_or_me("id", &request.get_ref().id, Some(me))?;
        if !network::may_edit(me, id) {
            return Err(Error::PermissionDenied(
                "you can only delete your own account",
            ));
        }
        let now = self.now();
        if !self.0.store.delete_member(me, now).await? {
            return Err(Error::NotFound("member"));
        }
        // From this reply on, this replica refuses the member's access tokens; the others
        // read the deletion from the database within seconds.
        self.0.revoked.revoke(me, now);
        tracing::info!(member_id = %me, "member deleted");
        Ok(pb::DeleteMemberResponse {})
    }

    pub(super) async fn export_member_data(
        &self,
        request: Request<pb::ExportMemberDataRequest>,
    ) -> Result<pb::ExportMemberDataResponse> {
        let (me, _) = member_caller(&request)?;
        let mut data = self
            .0
            .store
            .export(me)
            .await?
            .ok_or(Error::NotFound("member"))?;
        // One document: members' part at the top, the other services' parts beside it.
        let (events, notifications) = self.0.peers.export_parts(me).await?;
        if let Some(document) = data.as_object_mut() {
            document.insert("events".to_owned(), events.unwrap_or_default());
            document.insert(
                "notifications".to_owned(),
                notifications.unwrap_or_default(),
            );
        }
        let bytes = serde_json::to_vec_pretty(&data).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(pb::ExportMemberDataResponse {
            data: bytes,
            content_type: "application/json".to_owned(),
        })
    }
}
