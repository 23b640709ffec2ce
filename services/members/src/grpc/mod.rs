//! The gRPC edge of the members service: `MemberService` and `MemberInternalService`.
//!
//! Each area has its file of handlers (sessions, profiles, connections, meetings, contacts,
//! internal); a handler converts its request (which validates it), authorises the caller,
//! calls the store and builds the response. This file holds the shared state, the helpers
//! every area uses, and the routing of each RPC to its handler.

mod connections;
mod contacts;
mod internal;
mod meetings;
mod profiles;
mod sessions;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::{Caller, TokenIssuer};
use rendezvous_common::clock::Clock;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::server::caller;
use rendezvous_common::time;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::Settings;
use crate::error::{Error, Result};
use crate::sign_ins::SignInGuard;
use crate::store::Store;

struct State {
    store: Store,
    clock: Clock,
    issuer: TokenIssuer,
    page_tokens: PageTokens,
    settings: Settings,
    sign_ins: SignInGuard,
}

/// The members service; clone-cheap.
#[derive(Clone)]
pub struct Members(Arc<State>);

impl Members {
    pub fn new(
        store: Store,
        clock: Clock,
        issuer: TokenIssuer,
        page_tokens: PageTokens,
        settings: Settings,
    ) -> Self {
        let sign_ins = SignInGuard::new(
            settings.failed_sign_ins_per_account,
            settings.failed_sign_ins_per_peer,
        );
        Self(Arc::new(State {
            store,
            clock,
            issuer,
            page_tokens,
            settings,
            sign_ins,
        }))
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }
}

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(time::to_timestamp(at))
}

/// The signed-in member and their session; UNAUTHENTICATED for anyone else.
fn member_caller<T>(request: &Request<T>) -> Result<(Uuid, Uuid)> {
    match caller(request) {
        Caller::Member { id, session_id } => Ok((id, session_id)),
        _ => Err(Error::Unauthenticated),
    }
}

/// An id field that may also be `me` for the caller.
fn id_or_me(field: &str, value: &str, me: Option<Uuid>) -> Result<Uuid> {
    if value == "me" {
        return me.ok_or(Error::Unauthenticated);
    }
    Ok(validate::id(field, value)?)
}

fn peer_ip<T>(request: &Request<T>) -> Option<IpAddr> {
    request.remote_addr().map(|a| a.ip())
}

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
});

route!(pb::member_internal_service_server::MemberInternalService {
    get_contacts(GetContactsRequest) -> GetContactsResponse;
    are_connected(AreConnectedRequest) -> AreConnectedResponse;
    list_connection_ids(ListConnectionIdsRequest) -> ListConnectionIdsResponse;
    record_meetings(RecordMeetingsRequest) -> RecordMeetingsResponse;
    count_unmet_connections(CountUnmetConnectionsRequest) -> CountUnmetConnectionsResponse;
    get_signing_keys(GetSigningKeysRequest) -> GetSigningKeysResponse;
});
