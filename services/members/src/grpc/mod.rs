//! The gRPC edge of the members service: `MemberService` and `MemberInternalService`.
//!
//! Each area has its file of handlers (sessions, profiles, connections, meetings, contacts,
//! internal); a handler converts its request (which validates it), authorises the caller,
//! calls the store and builds the response. `state` holds what they share; this file only
//! routes each RPC to its handler.

mod coffee;
mod connections;
mod contacts;
mod internal;
mod meetings;
mod profiles;
mod remeet;
mod sessions;
mod state;

use rendezvous_proto::members::v1 as pb;
use tonic::{Request, Response, Status};

pub use state::Members;

use crate::error::Result;

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

/// Implements a service trait by handing each RPC to the inherent handler of the same name.
macro_rules! route {
    ($service:path { $($rpc:ident($request:ident) -> $response:ident;)* }) => {
        #[tonic::async_trait]
        impl $service for Members {
            $(
                async fn $rpc(&self, request: Request<pb::$request>) -> Reply<pb::$response> {
                    reply(Members::$rpc(self, request).await)
                }
            )*
        }
    };
}

route!(pb::member_service_server::MemberService {
    register(RegisterRequest) -> RegisterResponse;
    login(LoginRequest) -> LoginResponse;
    refresh_session(RefreshSessionRequest) -> RefreshSessionResponse;
    logout(LogoutRequest) -> LogoutResponse;
    change_password(ChangePasswordRequest) -> ChangePasswordResponse;
    get_member(GetMemberRequest) -> GetMemberResponse;
    update_member(UpdateMemberRequest) -> UpdateMemberResponse;
    search_members(SearchMembersRequest) -> SearchMembersResponse;
    delete_member(DeleteMemberRequest) -> DeleteMemberResponse;
    export_member_data(ExportMemberDataRequest) -> ExportMemberDataResponse;
    request_connection(RequestConnectionRequest) -> RequestConnectionResponse;
    respond_to_connection_request(RespondToConnectionRequestRequest)
        -> RespondToConnectionRequestResponse;
    withdraw_connection_request(WithdrawConnectionRequestRequest)
        -> WithdrawConnectionRequestResponse;
    remove_connection(RemoveConnectionRequest) -> RemoveConnectionResponse;
    list_connections(ListConnectionsRequest) -> ListConnectionsResponse;
    list_connection_requests(ListConnectionRequestsRequest) -> ListConnectionRequestsResponse;
    block_member(BlockMemberRequest) -> BlockMemberResponse;
    unblock_member(UnblockMemberRequest) -> UnblockMemberResponse;
    list_meetings(ListMeetingsRequest) -> ListMeetingsResponse;
    confirm_met(ConfirmMetRequest) -> ConfirmMetResponse;
    dismiss_meeting(DismissMeetingRequest) -> DismissMeetingResponse;
    get_network_stats(GetNetworkStatsRequest) -> GetNetworkStatsResponse;
    import_contacts(ImportContactsRequest) -> ImportContactsResponse;
    get_coffee_settings(GetCoffeeSettingsRequest) -> GetCoffeeSettingsResponse;
    update_coffee_settings(UpdateCoffeeSettingsRequest) -> UpdateCoffeeSettingsResponse;
    list_coffee_proposals(ListCoffeeProposalsRequest) -> ListCoffeeProposalsResponse;
    respond_to_coffee_proposal(RespondToCoffeeProposalRequest) -> RespondToCoffeeProposalResponse;
    schedule_coffee(ScheduleCoffeeRequest) -> ScheduleCoffeeResponse;
    get_remeet_settings(GetRemeetSettingsRequest) -> GetRemeetSettingsResponse;
    update_remeet_settings(UpdateRemeetSettingsRequest) -> UpdateRemeetSettingsResponse;
    list_remeet_nudges(ListRemeetNudgesRequest) -> ListRemeetNudgesResponse;
    dismiss_remeet_nudge(DismissRemeetNudgeRequest) -> DismissRemeetNudgeResponse;
});

route!(pb::member_internal_service_server::MemberInternalService {
    get_contacts(GetContactsRequest) -> GetContactsResponse;
    get_relations(GetRelationsRequest) -> GetRelationsResponse;
    list_connection_ids(ListConnectionIdsRequest) -> ListConnectionIdsResponse;
    record_meetings(RecordMeetingsRequest) -> RecordMeetingsResponse;
    count_unmet_connections(CountUnmetConnectionsRequest) -> CountUnmetConnectionsResponse;
    get_signing_keys(GetSigningKeysRequest) -> GetSigningKeysResponse;
});
