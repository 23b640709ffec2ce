//! Coffee settings: a member reads and changes their own, and nobody else's (the caller is
//! the only member these methods ever name).

use rendezvous_proto::members::v1 as pb;
use tonic::Request;

use super::state::{Members, member_caller};
use crate::domain::coffee::CoffeeUpdate;
use crate::error::Result;
use crate::store::CoffeeOutcome;

impl Members {
    pub(super) async fn get_coffee_settings(
        &self,
        request: Request<pb::GetCoffeeSettingsRequest>,
    ) -> Result<pb::GetCoffeeSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let settings = self.0.store.coffee_settings(me).await?;
        Ok(pb::GetCoffeeSettingsResponse {
            settings: Some(settings.to_proto()),
        })
    }

    pub(super) async fn update_coffee_settings(
        &self,
        request: Request<pb::UpdateCoffeeSettingsRequest>,
    ) -> Result<pb::UpdateCoffeeSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let update = CoffeeUpdate::parse(req.settings.as_ref(), req.update_mask.as_ref(), me)?;
        match self
            .0
            .store
            .update_coffee_settings(me, &update, self.now())
            .await?
        {
            CoffeeOutcome::Updated(settings) => Ok(pb::UpdateCoffeeSettingsResponse {
                settings: Some(settings.to_proto()),
            }),
            CoffeeOutcome::Refused(violation) => Err(violation.into()),
        }
    }
}
