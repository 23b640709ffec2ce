//! The gRPC handlers of `MemberService` and `MemberInternalService`: each converts its request
//! (validating it), authorises the caller, calls the store, and builds the response.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore as _;
use rendezvous_common::auth::{Caller, TokenIssuer};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::outbox::OutboxMessage;
use rendezvous_common::pagination::{PageTokens, next_page_token, page_size};
use rendezvous_common::server::caller;
use rendezvous_common::time;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::contacts_csv::{self, CsvError};
use crate::domain::profile::NewMember;
use crate::domain::{ProfileUpdate, Visibility, password};
use crate::error::{Error, Result};
use crate::store::{
    CoAttendeeRow, MemberRow, MetFilter, NewMemberRecord, NewSession, RequestOutcome, RequestRow,
    RespondOutcome, RotateOutcome, SearchFilter, Store, UpdateOutcome,
};

/// Largest `Connections.csv` accepted.
pub const MAX_CSV_BYTES: usize = 8 * 1024 * 1024;
/// Most attendees one RecordMeetings call takes (pairs grow with the square).
pub const MAX_RECORDED_ATTENDEES: usize = 1000;

/// Tunables of the members service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Events with at most this many checked-in members mark connected pairs met at once.
    pub small_event_max: usize,
    /// Failed sign-ins allowed per account before it is locked out for a while.
    pub failed_sign_ins_per_account: u32,
    /// Failed sign-ins allowed per client address before it is locked out for a while.
    pub failed_sign_ins_per_peer: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::minutes(15),
            refresh_token_lifetime: Duration::days(30),
            small_event_max: 12,
            failed_sign_ins_per_account: 5,
            failed_sign_ins_per_peer: 20,
        }
    }
}

/// Failed sign-ins per account and per peer, counted with governor's GCRA limiters. A key whose
/// budget runs out is locked until the limiter would admit it again.
struct SignInGuard {
    per_account: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
    per_peer: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    locked_accounts: Mutex<HashMap<String, Instant>>,
    locked_peers: Mutex<HashMap<IpAddr, Instant>>,
}

impl SignInGuard {
    fn new(per_account: u32, per_peer: u32) -> Self {
        let quota = |burst: u32| {
            let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
            // One failure is forgiven every 60 s / burst, so a full budget refills in a minute.
            Quota::with_period(StdDuration::from_secs(60) / burst.get())
                .map_or_else(|| Quota::per_minute(burst), |q| q.allow_burst(burst))
        };
        Self {
            per_account: RateLimiter::keyed(quota(per_account)).with_middleware(),
            per_peer: RateLimiter::keyed(quota(per_peer)).with_middleware(),
            locked_accounts: Mutex::new(HashMap::new()),
            locked_peers: Mutex::new(HashMap::new()),
        }
    }

    fn locked_for<K: std::hash::Hash + Eq>(
        map: &Mutex<HashMap<K, Instant>>,
        key: &K,
    ) -> Option<u64> {
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(key) {
            Some(until) if *until > Instant::now() => {
                Some(until.saturating_duration_since(Instant::now()).as_secs() + 1)
            }
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn check(&self, account: &str, peer: Option<IpAddr>) -> Result<()> {
        let account_wait = Self::locked_for(&self.locked_accounts, &account.to_owned());
        let peer_wait = peer.and_then(|p| Self::locked_for(&self.locked_peers, &p));
        match account_wait.max(peer_wait) {
            Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Counts one failure of `key`; `Some(lock-out)` once its budget is spent, so that the
    /// attempt after the last allowed failure is already refused.
    fn charge<K: std::hash::Hash + Eq + Clone>(
        limiter: &DefaultKeyedRateLimiter<K, StateInformationMiddleware>,
        key: &K,
    ) -> Option<StdDuration> {
        use governor::clock::{Clock as _, DefaultClock};
        match limiter.check_key(key) {
            Ok(state) if state.remaining_burst_capacity() == 0 => {
                Some(state.quota().replenish_interval())
            }
            Ok(_) => None,
            Err(not_until) => Some(not_until.wait_time_from(DefaultClock::default().now())),
        }
    }

    fn record_failure(&self, account: &str, peer: Option<IpAddr>) {
        if let Some(wait) = Self::charge(&self.per_account, &account.to_owned()) {
            self.locked_accounts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(account.to_owned(), Instant::now() + wait);
        }
        if let Some(peer) = peer
            && let Some(wait) = Self::charge(&self.per_peer, &peer)
        {
            self.locked_peers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(peer, Instant::now() + wait);
        }
        self.per_account.retain_recent();
        self.per_peer.retain_recent();
    }
}

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

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(time::to_timestamp(at))
}

fn from_ts(field: &str, at: Option<&Timestamp>) -> Result<DateTime<Utc>, FieldViolation> {
    let at = at.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    time::from_timestamp(field, at)
}

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

fn other_member(field: &str, value: &str, me: Uuid) -> Result<Uuid> {
    let other = validate::id(field, value)?;
    if other == me {
        return Err(Error::field(field, "must be another member, not yourself"));
    }
    Ok(other)
}

fn hash_refresh(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn request_state(state: &str) -> pb::ConnectionRequestState {
    match state {
        "pending" => pb::ConnectionRequestState::Pending,
        "accepted" => pb::ConnectionRequestState::Accepted,
        "declined" => pb::ConnectionRequestState::Declined,
        "withdrawn" => pb::ConnectionRequestState::Withdrawn,
        _ => pb::ConnectionRequestState::Unspecified,
    }
}

fn request_to_pb(r: RequestRow) -> pb::ConnectionRequest {
    pb::ConnectionRequest {
        state: request_state(&r.state).into(),
        id: r.id,
        requester_id: r.requester_id,
        addressee_id: r.addressee_id,
        note: r.note,
        create_time: ts(r.created_at),
        update_time: ts(r.updated_at),
        other_display_name: r.other_display_name,
    }
}

fn co_attendee_to_pb(c: CoAttendeeRow) -> pb::CoAttendee {
    pb::CoAttendee {
        member_id: c.member_id,
        display_name: if c.deleted {
            "deleted member".to_owned()
        } else {
            c.display_name
        },
        confirmed_by_me: c.confirmed_by_me,
        confirmed_by_them: c.confirmed_by_them,
        met: c.met,
        connected: c.connected,
        dismissed: c.dismissed,
    }
}

/// How much of a profile a viewer may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// The member themself: everything, email included.
    Owner,
    Profile,
    NameOnly,
}

fn member_to_pb(m: &MemberRow, access: Access, relationship: pb::Relationship) -> pb::Member {
    let visibility = Visibility::parse_stored(&m.visibility);
    if m.deleted_at.is_some() {
        return pb::Member {
            id: m.id.clone(),
            display_name: "deleted member".to_owned(),
            deleted: true,
            ..pb::Member::default()
        };
    }
    let mut out = pb::Member {
        id: m.id.clone(),
        display_name: m.display_name.clone(),
        visibility: visibility.to_proto().into(),
        relationship: relationship.into(),
        ..pb::Member::default()
    };
    if access == Access::NameOnly {
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
    if access == Access::Owner {
        out.email = m.email.clone().unwrap_or_default();
        out.locale = m.locale.clone();
        out.time_zone = m.time_zone.clone();
        out.update_time = ts(m.updated_at);
        out.etag = m.version.to_string();
    }
    out
}

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

    fn new_session(&self) -> (NewSession, String) {
        let refresh = new_refresh_token();
        let session = NewSession {
            id: Uuid::now_v7(),
            refresh_hash: hash_refresh(&refresh),
            expires_at: self.now() + self.0.settings.refresh_token_lifetime,
        };
        (session, refresh)
    }

    fn session_pb(
        &self,
        member_id: Uuid,
        session_id: Uuid,
        refresh: String,
        refresh_expires: DateTime<Utc>,
    ) -> Result<pb::Session> {
        let access = self
            .0
            .issuer
            .issue(member_id, session_id)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(pb::Session {
            access_token: access.token,
            access_token_expire_time: ts(access.expires_at),
            refresh_token: refresh,
            refresh_token_expire_time: ts(refresh_expires),
            token_type: "Bearer".to_owned(),
        })
    }

    /// The profile of `target` as `viewer` may see it; NOT_FOUND when blocked either way.
    async fn view(&self, target: &MemberRow, viewer: Option<Uuid>) -> Result<pb::Member> {
        let visibility = Visibility::parse_stored(&target.visibility);
        let Some(viewer) = viewer else {
            let access = if visibility == Visibility::Public {
                Access::Profile
            } else {
                Access::NameOnly
            };
            return Ok(member_to_pb(target, access, pb::Relationship::Unspecified));
        };
        if viewer.to_string() == target.id {
            return Ok(member_to_pb(target, Access::Owner, pb::Relationship::Self_));
        }
        let rel = self
            .0
            .store
            .relation(&viewer.to_string(), &target.id)
            .await?;
        if rel.blocks_viewer {
            return Err(Error::NotFound("member"));
        }
        let relationship = if rel.viewer_blocks {
            pb::Relationship::Blocked
        } else if rel.connected {
            pb::Relationship::Connected
        } else if rel.request_sent {
            pb::Relationship::RequestSent
        } else if rel.request_received {
            pb::Relationship::RequestReceived
        } else {
            pb::Relationship::None
        };
        let access = match visibility {
            Visibility::Public => Access::Profile,
            Visibility::Connections if rel.connected => Access::Profile,
            _ => Access::NameOnly,
        };
        Ok(member_to_pb(target, access, relationship))
    }

    async fn live_member(&self, id: &str) -> Result<MemberRow> {
        match self.0.store.member(id).await? {
            Some(m) if m.deleted_at.is_none() => Ok(m),
            _ => Err(Error::NotFound("member")),
        }
    }

    async fn register(&self, req: pb::RegisterRequest) -> Result<pb::RegisterResponse> {
        let new = NewMember::try_from(req)?;
        let password = new.password.clone();
        let password_hash = tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let id = Uuid::now_v7();
        let (session, refresh) = self.new_session();
        let now = self.now();
        let welcome = OutboxMessage::notify(
            id,
            "WELCOME",
            format!("welcome:{id}"),
            &[("member_name", new.display_name.clone())],
        );
        let record = NewMemberRecord {
            id,
            email: new.email,
            password_hash,
            display_name: new.display_name,
            city: new.city,
            locale: new.locale.as_str().to_owned(),
            time_zone: new.time_zone,
        };
        let member = self
            .0
            .store
            .create_member(&record, &session, &welcome, now)
            .await
            .map_err(|e| match rendezvous_common::error::classify_db_error(&e) {
                rendezvous_common::error::DbErrorKind::UniqueViolation => {
                    Error::AlreadyExists("an account with this email already exists")
                }
                _ => Error::Database(e),
            })?;
        tracing::info!(member_id = %id, "member registered");
        Ok(pb::RegisterResponse {
            member: Some(member_to_pb(
                &member,
                Access::Owner,
                pb::Relationship::Self_,
            )),
            session: Some(self.session_pb(id, session.id, refresh, session.expires_at)?),
        })
    }

    async fn login(
        &self,
        req: pb::LoginRequest,
        peer: Option<IpAddr>,
    ) -> Result<pb::LoginResponse> {
        let mut v = Violations::new();
        let email = v.check(validate::email("email", &req.email));
        if req.password.is_empty() {
            v.push(FieldViolation::new("password", "is required"));
        } else if req.password.chars().count() > password::MAX_LEN {
            v.push(FieldViolation::new(
                "password",
                format!("must be at most {} characters", password::MAX_LEN),
            ));
        }
        v.finish()?;
        let email = email.unwrap_or_default();
        self.0.sign_ins.check(&email, peer)?;
        let credentials = self.0.store.credentials_by_email(&email).await?;
        let (id, hash) = match &credentials {
            Some((id, hash)) => (Some(id.clone()), hash.clone()),
            None => (None, password::decoy_hash().to_owned()),
        };
        let pw = req.password;
        let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let Some(id) = id.filter(|_| ok) else {
            self.0.sign_ins.record_failure(&email, peer);
            return Err(Error::BadCredentials);
        };
        let member_id = Uuid::try_parse(&id).map_err(|e| Error::Internal(e.to_string()))?;
        let (session, refresh) = self.new_session();
        self.0
            .store
            .create_session(&id, &session, self.now())
            .await?;
        let member = self.live_member(&id).await?;
        Ok(pb::LoginResponse {
            member: Some(member_to_pb(
                &member,
                Access::Owner,
                pb::Relationship::Self_,
            )),
            session: Some(self.session_pb(member_id, session.id, refresh, session.expires_at)?),
        })
    }

    async fn refresh(&self, req: pb::RefreshSessionRequest) -> Result<pb::RefreshSessionResponse> {
        let token = req.refresh_token.trim();
        if token.is_empty() {
            return Err(Error::field("refresh_token", "is required"));
        }
        if token.len() > 200 || !token.starts_with("rt_") {
            return Err(Error::field("refresh_token", "is not a refresh token"));
        }
        let new_token = new_refresh_token();
        let expires = self.now() + self.0.settings.refresh_token_lifetime;
        match self
            .0
            .store
            .rotate_refresh(
                &hash_refresh(token),
                &hash_refresh(&new_token),
                expires,
                self.now(),
            )
            .await?
        {
            RotateOutcome::Rotated {
                member_id,
                session_id,
            } => {
                let member_id =
                    Uuid::try_parse(&member_id).map_err(|e| Error::Internal(e.to_string()))?;
                let session_id =
                    Uuid::try_parse(&session_id).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(pb::RefreshSessionResponse {
                    session: Some(self.session_pb(member_id, session_id, new_token, expires)?),
                })
            }
            RotateOutcome::Reused => {
                tracing::warn!("refresh token reused: session revoked");
                Err(Error::InvalidSession(
                    "refresh token already used; the session is revoked",
                ))
            }
            RotateOutcome::Invalid => Err(Error::InvalidSession(
                "refresh token is invalid, expired or revoked",
            )),
        }
    }
}

fn peer_ip<T>(request: &Request<T>) -> Option<IpAddr> {
    request.remote_addr().map(|a| a.ip())
}

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl pb::member_service_server::MemberService for Members {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Reply<pb::RegisterResponse> {
        reply(self.register(request.into_inner()).await)
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        let peer = peer_ip(&request);
        reply(self.login(request.into_inner(), peer).await)
    }

    async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Reply<pb::RefreshSessionResponse> {
        reply(self.refresh(request.into_inner()).await)
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        reply(
            async {
                let (me, session) = member_caller(&request)?;
                self.0
                    .store
                    .revoke_session(&me.to_string(), &session.to_string(), "logout", self.now())
                    .await?;
                Ok(pb::LogoutResponse {})
            }
            .await,
        )
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Reply<pb::ChangePasswordResponse> {
        reply(
            async {
                let (me, session) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                if req.old_password.is_empty() {
                    v.push(FieldViolation::new("old_password", "is required"));
                }
                v.check(password::validate("new_password", &req.new_password));
                if !req.old_password.is_empty() && req.old_password == req.new_password {
                    v.push(FieldViolation::new(
                        "new_password",
                        "must differ from the old password",
                    ));
                }
                v.finish()?;
                let hash = self
                    .0
                    .store
                    .password_hash(&me.to_string())
                    .await?
                    .ok_or(Error::Unauthenticated)?;
                let (old, new) = (req.old_password, req.new_password);
                let new_hash = tokio::task::spawn_blocking(move || {
                    if password::verify(&old, &hash) {
                        password::hash(&new).map(Some)
                    } else {
                        Ok(None)
                    }
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Internal(e.to_string()))?;
                let Some(new_hash) = new_hash else {
                    return Err(Error::InvalidArgument(vec![FieldViolation::new(
                        "old_password",
                        "is not the current password",
                    )]));
                };
                self.0
                    .store
                    .change_password(&me.to_string(), &new_hash, &session.to_string(), self.now())
                    .await?;
                Ok(pb::ChangePasswordResponse {})
            }
            .await,
        )
    }

    async fn get_member(
        &self,
        request: Request<pb::GetMemberRequest>,
    ) -> Reply<pb::GetMemberResponse> {
        reply(
            async {
                let me = member_caller(&request).ok().map(|(id, _)| id);
                let id = id_or_me("id", &request.get_ref().id, me)?;
                let member = self
                    .0
                    .store
                    .member(&id.to_string())
                    .await?
                    .ok_or(Error::NotFound("member"))?;
                Ok(pb::GetMemberResponse {
                    member: Some(self.view(&member, me).await?),
                })
            }
            .await,
        )
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Reply<pb::UpdateMemberResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let member = req
                    .member
                    .ok_or_else(|| Error::field("member", "is required"))?;
                let id = id_or_me("member.id", &member.id, Some(me))?;
                if id != me {
                    return Err(Error::PermissionDenied(
                        "you can only update your own profile",
                    ));
                }
                let update = ProfileUpdate::parse(&member, req.update_mask.as_ref())?;
                match self
                    .0
                    .store
                    .update_profile(&me.to_string(), &update, self.now())
                    .await
                    .map_err(|e| match rendezvous_common::error::classify_db_error(&e) {
                        rendezvous_common::error::DbErrorKind::UniqueViolation => {
                            Error::AlreadyExists(
                                "another member already uses this LinkedIn profile URL",
                            )
                        }
                        _ => Error::Database(e),
                    })? {
                    UpdateOutcome::Updated(row) => Ok(pb::UpdateMemberResponse {
                        member: Some(member_to_pb(&row, Access::Owner, pb::Relationship::Self_)),
                    }),
                    UpdateOutcome::EtagMismatch => Err(Error::EtagMismatch),
                    UpdateOutcome::NotFound => Err(Error::NotFound("member")),
                }
            }
            .await,
        )
    }

    async fn search_members(
        &self,
        request: Request<pb::SearchMembersRequest>,
    ) -> Reply<pb::SearchMembersResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let city = v.check(validate::text("city", &req.city, 0, 100, false));
                let interest = v.check(validate::text("interest", &req.interest, 0, 40, false));
                let query = v.check(validate::text("query", &req.query, 0, 100, false));
                let limit = v.check(page_size(req.page_size, 20, 100));
                let after: Option<Option<String>> =
                    v.check(self.0.page_tokens.decode("SearchMembers", &req.page_token));
                v.finish()?;
                let escape = |s: &str| {
                    s.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                };
                let filter = SearchFilter {
                    city_key: city.filter(|c| !c.is_empty()).map(|c| c.to_lowercase()),
                    interest: interest.filter(|i| !i.is_empty()).map(|i| i.to_lowercase()),
                    pattern: query
                        .filter(|q| !q.is_empty())
                        .map(|q| format!("%{}%", escape(&q.to_lowercase()))),
                };
                let limit = limit.unwrap_or(20);
                let mut rows = self
                    .0
                    .store
                    .search(
                        &me.to_string(),
                        &filter,
                        after.flatten().as_deref(),
                        limit + 1,
                    )
                    .await?;
                let next = next_page_token(&mut rows, limit, |m| {
                    self.0.page_tokens.encode("SearchMembers", &m.id)
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
            .await,
        )
    }

    async fn delete_member(
        &self,
        request: Request<pb::DeleteMemberRequest>,
    ) -> Reply<pb::DeleteMemberResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let id = id_or_me("id", &request.get_ref().id, Some(me))?;
                if id != me {
                    return Err(Error::PermissionDenied(
                        "you can only delete your own account",
                    ));
                }
                if !self
                    .0
                    .store
                    .delete_member(&me.to_string(), self.now())
                    .await?
                {
                    return Err(Error::NotFound("member"));
                }
                tracing::info!(member_id = %me, "member deleted");
                Ok(pb::DeleteMemberResponse {})
            }
            .await,
        )
    }

    async fn export_member_data(
        &self,
        request: Request<pb::ExportMemberDataRequest>,
    ) -> Reply<pb::ExportMemberDataResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let data = self
                    .0
                    .store
                    .export(&me.to_string())
                    .await?
                    .ok_or(Error::NotFound("member"))?;
                let bytes =
                    serde_json::to_vec_pretty(&data).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(pb::ExportMemberDataResponse {
                    data: bytes,
                    content_type: "application/json".to_owned(),
                })
            }
            .await,
        )
    }

    async fn request_connection(
        &self,
        request: Request<pb::RequestConnectionRequest>,
    ) -> Reply<pb::RequestConnectionResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let other =
                    v.check(
                        other_member("member_id", &req.member_id, me).map_err(|e| match e {
                            Error::InvalidArgument(mut vs) if !vs.is_empty() => vs.remove(0),
                            _ => FieldViolation::new("member_id", "is invalid"),
                        }),
                    );
                let note = v.check(validate::text("note", &req.note, 0, 500, true));
                v.finish()?;
                let (Some(other), Some(note)) = (other, note) else {
                    return Err(Error::field("member_id", "is invalid"));
                };
                match self
                    .0
                    .store
                    .request_connection(&me.to_string(), &other.to_string(), &note, self.now())
                    .await?
                {
                    RequestOutcome::Sent(r) | RequestOutcome::Accepted(r) => {
                        Ok(pb::RequestConnectionResponse {
                            connection_request: Some(request_to_pb(r)),
                        })
                    }
                    RequestOutcome::AlreadyConnected => {
                        Err(Error::AlreadyExists("you are already connected"))
                    }
                    RequestOutcome::AlreadyRequested => Err(Error::AlreadyExists(
                        "a request to this member is already pending",
                    )),
                    RequestOutcome::NotFound => Err(Error::NotFound("member")),
                    RequestOutcome::RequesterBlocks => Err(Error::FailedPrecondition(
                        "you block this member; unblock them first",
                    )),
                }
            }
            .await,
        )
    }

    async fn respond_to_connection_request(
        &self,
        request: Request<pb::RespondToConnectionRequestRequest>,
    ) -> Reply<pb::RespondToConnectionRequestResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let id = validate::id("connection_request_id", &req.connection_request_id)?;
                let outcome = self
                    .0
                    .store
                    .respond(&me.to_string(), &id.to_string(), req.accept, self.now())
                    .await?;
                Ok(pb::RespondToConnectionRequestResponse {
                    connection_request: Some(request_to_pb(respond_outcome(
                        outcome,
                        "only the addressee can answer a request",
                    )?)),
                })
            }
            .await,
        )
    }

    async fn withdraw_connection_request(
        &self,
        request: Request<pb::WithdrawConnectionRequestRequest>,
    ) -> Reply<pb::WithdrawConnectionRequestResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let id = validate::id(
                    "connection_request_id",
                    &request.get_ref().connection_request_id,
                )?;
                let outcome = self
                    .0
                    .store
                    .withdraw(&me.to_string(), &id.to_string(), self.now())
                    .await?;
                Ok(pb::WithdrawConnectionRequestResponse {
                    connection_request: Some(request_to_pb(respond_outcome(
                        outcome,
                        "only the requester can withdraw a request",
                    )?)),
                })
            }
            .await,
        )
    }

    async fn remove_connection(
        &self,
        request: Request<pb::RemoveConnectionRequest>,
    ) -> Reply<pb::RemoveConnectionResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let other = other_member("member_id", &request.get_ref().member_id, me)?;
                if !self
                    .0
                    .store
                    .remove_connection(&me.to_string(), &other.to_string())
                    .await?
                {
                    return Err(Error::NotFound("connection"));
                }
                Ok(pb::RemoveConnectionResponse {})
            }
            .await,
        )
    }

    async fn list_connections(
        &self,
        request: Request<pb::ListConnectionsRequest>,
    ) -> Reply<pb::ListConnectionsResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let filter = match pb::MetFilter::try_from(req.met_filter) {
                    Ok(pb::MetFilter::Unspecified) => MetFilter::Any,
                    Ok(pb::MetFilter::Met) => MetFilter::Met,
                    Ok(pb::MetFilter::NotMet) => MetFilter::NotMet,
                    Err(_) => {
                        v.push(FieldViolation::new("met_filter", "unknown filter"));
                        MetFilter::Any
                    }
                };
                let scope = format!("ListConnections:{filter:?}");
                let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
                let after: Option<Option<(DateTime<Utc>, String)>> =
                    v.check(self.0.page_tokens.decode(&scope, &req.page_token));
                v.finish()?;
                let mut rows = self
                    .0
                    .store
                    .connections(&me.to_string(), filter, after.flatten(), limit + 1)
                    .await?;
                let next = next_page_token(&mut rows, limit, |c| {
                    self.0
                        .page_tokens
                        .encode(&scope, &(c.created_at, c.member_id.clone()))
                });
                Ok(pb::ListConnectionsResponse {
                    connections: rows
                        .into_iter()
                        .map(|c| pb::Connection {
                            member_id: c.member_id,
                            display_name: c.display_name,
                            headline: c.headline,
                            city: c.city,
                            connect_time: ts(c.created_at),
                            met_in_person: c.met_event_id.is_some(),
                            met_event_id: c.met_event_id.unwrap_or_default(),
                            met_time: c.met_at.and_then(ts),
                        })
                        .collect(),
                    next_page_token: next,
                })
            }
            .await,
        )
    }

    async fn list_connection_requests(
        &self,
        request: Request<pb::ListConnectionRequestsRequest>,
    ) -> Reply<pb::ListConnectionRequestsResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let incoming = match pb::RequestDirection::try_from(req.direction) {
                    Ok(pb::RequestDirection::Outgoing) => false,
                    Ok(_) => true,
                    Err(_) => {
                        v.push(FieldViolation::new("direction", "unknown direction"));
                        true
                    }
                };
                let scope = format!("ListConnectionRequests:{incoming}");
                let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
                let before: Option<Option<String>> =
                    v.check(self.0.page_tokens.decode(&scope, &req.page_token));
                v.finish()?;
                let mut rows = self
                    .0
                    .store
                    .pending_requests(
                        &me.to_string(),
                        incoming,
                        before.flatten().as_deref(),
                        limit + 1,
                    )
                    .await?;
                let next = next_page_token(&mut rows, limit, |r| {
                    self.0.page_tokens.encode(&scope, &r.id)
                });
                Ok(pb::ListConnectionRequestsResponse {
                    connection_requests: rows.into_iter().map(request_to_pb).collect(),
                    next_page_token: next,
                })
            }
            .await,
        )
    }

    async fn block_member(
        &self,
        request: Request<pb::BlockMemberRequest>,
    ) -> Reply<pb::BlockMemberResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let other = other_member("member_id", &request.get_ref().member_id, me)?;
                self.0
                    .store
                    .member(&other.to_string())
                    .await?
                    .ok_or(Error::NotFound("member"))?;
                self.0
                    .store
                    .block(&me.to_string(), &other.to_string(), self.now())
                    .await?;
                Ok(pb::BlockMemberResponse {})
            }
            .await,
        )
    }

    async fn unblock_member(
        &self,
        request: Request<pb::UnblockMemberRequest>,
    ) -> Reply<pb::UnblockMemberResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let other = other_member("member_id", &request.get_ref().member_id, me)?;
                if !self
                    .0
                    .store
                    .unblock(&me.to_string(), &other.to_string())
                    .await?
                {
                    return Err(Error::NotFound("block"));
                }
                Ok(pb::UnblockMemberResponse {})
            }
            .await,
        )
    }

    async fn list_meetings(
        &self,
        request: Request<pb::ListMeetingsRequest>,
    ) -> Reply<pb::ListMeetingsResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let limit = v.check(page_size(req.page_size, 20, 100)).unwrap_or(20);
                let after: Option<Option<(DateTime<Utc>, String)>> =
                    v.check(self.0.page_tokens.decode("ListMeetings", &req.page_token));
                v.finish()?;
                let mut rows = self
                    .0
                    .store
                    .meetings(&me.to_string(), after.flatten(), limit + 1)
                    .await?;
                let next = next_page_token(&mut rows, limit, |m| {
                    self.0
                        .page_tokens
                        .encode("ListMeetings", &(m.event_time, m.event_id.clone()))
                });
                Ok(pb::ListMeetingsResponse {
                    meetings: rows
                        .into_iter()
                        .map(|m| pb::Meeting {
                            event_id: m.event_id,
                            event_title: m.title,
                            event_time: ts(m.event_time),
                            co_attendees: m
                                .co_attendees
                                .into_iter()
                                .map(co_attendee_to_pb)
                                .collect(),
                        })
                        .collect(),
                    next_page_token: next,
                })
            }
            .await,
        )
    }

    async fn confirm_met(
        &self,
        request: Request<pb::ConfirmMetRequest>,
    ) -> Reply<pb::ConfirmMetResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let (event, other) = meeting_ids(&req.event_id, &req.member_id, me)?;
                let row = self
                    .0
                    .store
                    .set_meeting(&event, &me.to_string(), &other, true, self.now())
                    .await?;
                Ok(pb::ConfirmMetResponse {
                    co_attendee: Some(co_attendee_to_pb(row.ok_or(Error::NotFound("meeting"))?)),
                })
            }
            .await,
        )
    }

    async fn dismiss_meeting(
        &self,
        request: Request<pb::DismissMeetingRequest>,
    ) -> Reply<pb::DismissMeetingResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let (event, other) = meeting_ids(&req.event_id, &req.member_id, me)?;
                let row = self
                    .0
                    .store
                    .set_meeting(&event, &me.to_string(), &other, false, self.now())
                    .await?;
                Ok(pb::DismissMeetingResponse {
                    co_attendee: Some(co_attendee_to_pb(row.ok_or(Error::NotFound("meeting"))?)),
                })
            }
            .await,
        )
    }

    async fn get_network_stats(
        &self,
        request: Request<pb::GetNetworkStatsRequest>,
    ) -> Reply<pb::GetNetworkStatsResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let s = self.0.store.stats(&me.to_string()).await?;
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "counts of connections are far below 2^52"
                )]
                let ratio = if s.connections == 0 {
                    0.0
                } else {
                    s.met as f64 / s.connections as f64
                };
                Ok(pb::GetNetworkStatsResponse {
                    stats: Some(pb::NetworkStats {
                        connections: s.connections,
                        met_in_person: s.met,
                        real_life_ratio: ratio,
                        pending_incoming_requests: s.pending_incoming,
                        pending_outgoing_requests: s.pending_outgoing,
                    }),
                })
            }
            .await,
        )
    }

    async fn import_contacts(
        &self,
        request: Request<pb::ImportContactsRequest>,
    ) -> Reply<pb::ImportContactsResponse> {
        reply(
            async {
                let (me, _) = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                if req.csv_data.is_empty() {
                    v.push(FieldViolation::new("csv_data", "is required"));
                } else if req.csv_data.len() > MAX_CSV_BYTES {
                    v.push(FieldViolation::new(
                        "csv_data",
                        format!("must be at most {MAX_CSV_BYTES} bytes"),
                    ));
                }
                let note = v
                    .check(validate::text("note", &req.note, 0, 500, true))
                    .unwrap_or_default();
                let mut picked = HashSet::new();
                for (i, id) in req.request_member_ids.iter().enumerate() {
                    if let Some(id) = v.check(validate::id(&format!("request_member_ids[{i}]"), id))
                    {
                        picked.insert(id.to_string());
                    }
                }
                if !req.request_member_ids.is_empty() && !req.send_requests {
                    v.push(FieldViolation::new(
                        "request_member_ids",
                        "only applies with send_requests",
                    ));
                }
                v.finish()?;
                let contacts =
                    contacts_csv::parse_connections_csv(&req.csv_data).map_err(|e| match e {
                        CsvError::Malformed { line, message } => {
                            Error::field("csv_data", format!("line {line}: {message}"))
                        }
                        other => Error::field("csv_data", other.to_string()),
                    })?;
                let mut urls: Vec<String> = contacts
                    .iter()
                    .filter_map(|c| c.profile_url.clone())
                    .collect();
                let mut emails: Vec<String> =
                    contacts.iter().filter_map(|c| c.email.clone()).collect();
                urls.sort_unstable();
                urls.dedup();
                emails.sort_unstable();
                emails.dedup();
                let matches = self.0.store.match_contacts(&urls, &emails).await?;
                let me_str = me.to_string();
                let by_url: HashMap<&str, usize> = matches
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| m.linkedin_url.as_deref().map(|u| (u, i)))
                    .collect();
                let by_email: HashMap<&str, usize> = matches
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| m.email.as_deref().map(|e| (e, i)))
                    .collect();
                let mut seen = HashSet::new();
                let mut matched: Vec<(usize, pb::MatchKind, u64)> = Vec::new();
                let mut unmatched = 0i64;
                for contact in &contacts {
                    let hit = contact
                        .profile_url
                        .as_deref()
                        .and_then(|u| by_url.get(u).map(|i| (*i, pb::MatchKind::ProfileUrl)))
                        .or_else(|| {
                            contact
                                .email
                                .as_deref()
                                .and_then(|e| by_email.get(e).map(|i| (*i, pb::MatchKind::Email)))
                        });
                    match hit {
                        Some((i, kind)) if matches[i].id != me_str => {
                            if seen.insert(matches[i].id.clone()) {
                                matched.push((i, kind, contact.line));
                            }
                        }
                        Some(_) => {}
                        None => unmatched += 1,
                    }
                }
                let ids: Vec<String> = matched
                    .iter()
                    .map(|(i, _, _)| matches[*i].id.clone())
                    .collect();
                let blocked: HashSet<String> = self
                    .0
                    .store
                    .blocked_among(&me_str, &ids)
                    .await?
                    .into_iter()
                    .collect();
                matched.retain(|(i, _, _)| {
                    let hidden = blocked.contains(&matches[*i].id);
                    if hidden {
                        unmatched += 1;
                    }
                    !hidden
                });
                let ids: Vec<String> = matched
                    .iter()
                    .map(|(i, _, _)| matches[*i].id.clone())
                    .collect();
                let connected: HashSet<String> = self
                    .0
                    .store
                    .connected_among(&me_str, &ids)
                    .await?
                    .into_iter()
                    .collect();
                let sent: HashSet<String> = if req.send_requests {
                    let targets: Vec<String> = ids
                        .iter()
                        .filter(|id| {
                            !connected.contains(*id) && (picked.is_empty() || picked.contains(*id))
                        })
                        .cloned()
                        .collect();
                    self.0
                        .store
                        .request_many(&me_str, &targets, &note, self.now())
                        .await?
                        .into_iter()
                        .collect()
                } else {
                    HashSet::new()
                };
                let requests_sent = i64::try_from(sent.len()).unwrap_or(i64::MAX);
                Ok(pb::ImportContactsResponse {
                    matched: matched
                        .into_iter()
                        .map(|(i, kind, line)| pb::MatchedContact {
                            member_id: matches[i].id.clone(),
                            display_name: matches[i].display_name.clone(),
                            match_kind: kind.into(),
                            line: i64::try_from(line).unwrap_or(i64::MAX),
                            connected: connected.contains(&matches[i].id),
                            request_sent: sent.contains(&matches[i].id),
                        })
                        .collect(),
                    unmatched_count: unmatched,
                    total_contacts: i64::try_from(contacts.len()).unwrap_or(i64::MAX),
                    requests_sent,
                })
            }
            .await,
        )
    }
}

fn respond_outcome(outcome: RespondOutcome, not_yours: &'static str) -> Result<RequestRow> {
    match outcome {
        RespondOutcome::Done(r) => Ok(r),
        RespondOutcome::NotFound => Err(Error::NotFound("connection request")),
        RespondOutcome::NotYours => Err(Error::PermissionDenied(not_yours)),
        RespondOutcome::NotPending => Err(Error::FailedPrecondition(
            "the request is no longer pending",
        )),
    }
}

fn meeting_ids(event_id: &str, member_id: &str, me: Uuid) -> Result<(String, String)> {
    let mut v = Violations::new();
    let event = v.check(validate::id("event_id", event_id));
    let other = v.check(match other_member("member_id", member_id, me) {
        Ok(id) => Ok(id),
        Err(Error::InvalidArgument(mut vs)) if !vs.is_empty() => Err(vs.remove(0)),
        Err(_) => Err(FieldViolation::new("member_id", "is invalid")),
    });
    v.finish()?;
    match (event, other) {
        (Some(e), Some(o)) => Ok((e.to_string(), o.to_string())),
        _ => Err(Error::field("event_id", "is invalid")),
    }
}

fn id_list(field: &str, ids: &[String], max: usize) -> Result<Vec<String>> {
    if ids.len() > max {
        return Err(Error::field(field, format!("at most {max} ids")));
    }
    let mut v = Violations::new();
    let mut out = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = v.check(validate::id(&format!("{field}[{i}]"), id)) {
            let id = id.to_string();
            if seen.insert(id.clone()) {
                out.push(id);
            }
        }
    }
    v.finish()?;
    Ok(out)
}

#[tonic::async_trait]
impl pb::member_internal_service_server::MemberInternalService for Members {
    async fn get_contacts(
        &self,
        request: Request<pb::GetContactsRequest>,
    ) -> Reply<pb::GetContactsResponse> {
        reply(
            async {
                let ids = id_list("member_ids", &request.get_ref().member_ids, 1000)?;
                let rows = self.0.store.contacts(&ids).await?;
                Ok(pb::GetContactsResponse {
                    contacts: rows
                        .into_iter()
                        .map(|c| pb::Contact {
                            member_id: c.id,
                            display_name: if c.deleted {
                                "deleted member".to_owned()
                            } else {
                                c.display_name
                            },
                            email: c.email.unwrap_or_default(),
                            locale: c.locale,
                            time_zone: c.time_zone,
                            deleted: c.deleted,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn are_connected(
        &self,
        request: Request<pb::AreConnectedRequest>,
    ) -> Reply<pb::AreConnectedResponse> {
        reply(
            async {
                let req = request.into_inner();
                let mut v = Violations::new();
                let a = v.check(validate::id("member_id", &req.member_id));
                let b = v.check(validate::id("other_member_id", &req.other_member_id));
                v.finish()?;
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(Error::field("member_id", "is invalid"));
                };
                let rel = self
                    .0
                    .store
                    .relation(&a.to_string(), &b.to_string())
                    .await?;
                Ok(pb::AreConnectedResponse {
                    connected: rel.connected,
                    blocked: rel.viewer_blocks || rel.blocks_viewer,
                    met_in_person: rel.met,
                })
            }
            .await,
        )
    }

    async fn list_connection_ids(
        &self,
        request: Request<pb::ListConnectionIdsRequest>,
    ) -> Reply<pb::ListConnectionIdsResponse> {
        reply(
            async {
                let req = request.into_inner();
                let mut v = Violations::new();
                let member = v.check(validate::id("member_id", &req.member_id));
                let city = v.check(validate::text("city", &req.city, 0, 100, false));
                let limit = v
                    .check(page_size(req.page_size, 1000, 10_000))
                    .unwrap_or(1000);
                let after: Option<Option<String>> = v.check(
                    self.0
                        .page_tokens
                        .decode("ListConnectionIds", &req.page_token),
                );
                v.finish()?;
                let member = member.map(|m| m.to_string()).unwrap_or_default();
                let city = city.filter(|c| !c.is_empty()).map(|c| c.to_lowercase());
                let mut ids = self
                    .0
                    .store
                    .connection_ids(
                        &member,
                        city.as_deref(),
                        after.flatten().as_deref(),
                        limit + 1,
                    )
                    .await?;
                let next = next_page_token(&mut ids, limit, |id| {
                    self.0.page_tokens.encode("ListConnectionIds", id)
                });
                Ok(pb::ListConnectionIdsResponse {
                    member_ids: ids,
                    next_page_token: next,
                })
            }
            .await,
        )
    }

    async fn record_meetings(
        &self,
        request: Request<pb::RecordMeetingsRequest>,
    ) -> Reply<pb::RecordMeetingsResponse> {
        reply(
            async {
                let req = request.into_inner();
                let mut v = Violations::new();
                let event = v.check(validate::id("event_id", &req.event_id));
                let title = v.check(validate::text(
                    "event_title",
                    &req.event_title,
                    1,
                    200,
                    false,
                ));
                let at = v.check(from_ts("event_time", req.event_time.as_ref()));
                let ids = match id_list("member_ids", &req.member_ids, MAX_RECORDED_ATTENDEES) {
                    Ok(ids) => ids,
                    Err(Error::InvalidArgument(vs)) => {
                        vs.into_iter().for_each(|x| v.push(x));
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                };
                v.finish()?;
                let (Some(event), Some(title), Some(at)) = (event, title, at) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let live: Vec<String> = self
                    .0
                    .store
                    .contacts(&ids)
                    .await?
                    .into_iter()
                    .filter(|c| !c.deleted)
                    .map(|c| c.id)
                    .collect();
                let live: Vec<String> = ids.into_iter().filter(|id| live.contains(id)).collect();
                let small = live.len() <= self.0.settings.small_event_max;
                let outcome = self
                    .0
                    .store
                    .record_meetings(&event.to_string(), &title, at, &live, small, self.now())
                    .await?;
                Ok(pb::RecordMeetingsResponse {
                    pairs_recorded: outcome.pairs,
                    pairs_met: outcome.met,
                    already_recorded: outcome.already_recorded,
                })
            }
            .await,
        )
    }

    async fn count_unmet_connections(
        &self,
        request: Request<pb::CountUnmetConnectionsRequest>,
    ) -> Reply<pb::CountUnmetConnectionsResponse> {
        reply(
            async {
                let req = request.into_inner();
                let member = validate::id("member_id", &req.member_id)?.to_string();
                let ids = id_list("member_ids", &req.member_ids, 10_000)?;
                let connected = self.0.store.connected_among(&member, &ids).await?;
                let met: HashSet<String> = self
                    .0
                    .store
                    .met_among(&member, &connected)
                    .await?
                    .into_iter()
                    .collect();
                let count = connected.iter().filter(|id| !met.contains(*id)).count();
                Ok(pb::CountUnmetConnectionsResponse {
                    count: i64::try_from(count).unwrap_or(i64::MAX),
                })
            }
            .await,
        )
    }

    async fn get_signing_keys(
        &self,
        _request: Request<pb::GetSigningKeysRequest>,
    ) -> Reply<pb::GetSigningKeysResponse> {
        reply(
            async {
                let key = self.0.issuer.public_key();
                Ok(pb::GetSigningKeysResponse {
                    keys: vec![pb::SigningKey {
                        key_id: key.key_id(),
                        algorithm: "EdDSA".to_owned(),
                        public_key_pem: key.to_pem().map_err(|e| Error::Internal(e.to_string()))?,
                    }],
                })
            }
            .await,
        )
    }
}
