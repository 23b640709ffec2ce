//! Accounts and sessions: register, sign in, refresh, sign out, change password.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use rendezvous_common::error::FieldViolation;
use rendezvous_proto::members::v1 as pb;
use sha2::{Digest, Sha256};
use tonic::Request;
use uuid::Uuid;

use super::profiles::own_member_to_pb;
use super::state::{Members, member_caller, peer_ip, ts};
use crate::domain::password::{self, Credentials, PasswordChange};
use crate::domain::profile::NewMember;
use crate::error::{Error, Result};
use crate::notices;
use crate::store::{NewMemberRecord, NewSession, RotateOutcome};

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

impl Members {
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

    pub(super) async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<pb::RegisterResponse> {
        let peer = peer_ip(&request);
        let new = NewMember::try_from(request.into_inner())?;
        // Counted before the hash, whether or not the registration succeeds.
        self.0.sign_ins.register(peer, self.now()).await?;
        let password = new.password.clone();
        let password_hash = self
            .0
            .hashing
            .run(move |memory| password::hash(&password, memory))
            .await
            .ok_or_else(hashing_stopped)?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let id = Uuid::now_v7();
        let (session, refresh) = self.new_session();
        let now = self.now();
        let welcome = notices::welcome(id, &new.display_name);
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
            member: Some(own_member_to_pb(&member)),
            session: Some(self.session_pb(id, session.id, refresh, session.expires_at)?),
        })
    }

    pub(super) async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<pb::LoginResponse> {
        let peer = peer_ip(&request);
        let Credentials {
            email,
            password: pw,
        } = Credentials::try_from(request.into_inner())?;
        let credentials = self.0.store.credentials_by_email(&email).await?;
        let (id, hash) = match credentials {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        // The failure is reserved before the hash is checked, and given back only if the
        // password is right: concurrent guesses cannot exceed the budget.
        let attempt = self.0.sign_ins.begin(&email, peer, id, self.now()).await?;
        let ok = self
            .0
            .hashing
            .run(move |memory| {
                let decoy = password::decoy_hash(memory);
                password::verify(&pw, hash.as_deref().unwrap_or(decoy), memory)
            })
            .await
            .ok_or_else(hashing_stopped)?;
        let Some(id) = id.filter(|_| ok) else {
            return Err(Error::BadCredentials);
        };
        self.0.sign_ins.succeeded(attempt, id, self.now()).await?;
        let (session, refresh) = self.new_session();
        self.0
            .store
            .create_session(id, &session, self.now())
            .await?;
        let member = self.live_member(id).await?;
        Ok(pb::LoginResponse {
            member: Some(own_member_to_pb(&member)),
            session: Some(self.session_pb(id, session.id, refresh, session.expires_at)?),
        })
    }

    pub(super) async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Result<pb::RefreshSessionResponse> {
        let req = request.into_inner();
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
            } => Ok(pb::RefreshSessionResponse {
                session: Some(self.session_pb(member_id, session_id, new_token, expires)?),
            }),
            RotateOutcome::Reused { session_id } => {
                self.0.revoked_sessions.revoke(session_id, self.now());
                tracing::warn!(%session_id, "refresh token reused: session revoked");
                Err(Error::InvalidSession(
                    "refresh token already used; the session is revoked",
                ))
            }
            RotateOutcome::Invalid => Err(Error::InvalidSession(
                "refresh token is invalid, expired or revoked",
            )),
        }
    }

    pub(super) async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<pb::LogoutResponse> {
        let (me, session) = member_caller(&request)?;
        let now = self.now();
        self.0
            .store
            .revoke_session(me, session, "logout", now)
            .await?;
        // Refused here at once; members' other replicas, events and notifications within
        // seconds.
        self.0.revoked_sessions.revoke(session, now);
        Ok(pb::LogoutResponse {})
    }

    pub(super) async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<pb::ChangePasswordResponse> {
        let (me, session) = member_caller(&request)?;
        let PasswordChange { old, new } = PasswordChange::try_from(request.into_inner())?;
        let check = self.0.sign_ins.begin_password_check(me, self.now()).await?;
        let hash = self
            .0
            .store
            .password_hash(me)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let new_hash = self
            .0
            .hashing
            .run(move |memory| {
                if password::verify(&old, &hash, memory) {
                    password::hash(&new, memory).map(Some)
                } else {
                    Ok(None)
                }
            })
            .await
            .ok_or_else(hashing_stopped)?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let Some(new_hash) = new_hash else {
            return Err(Error::InvalidArgument(vec![FieldViolation::new(
                "old_password",
                "is not the current password",
            )]));
        };
        self.0.sign_ins.password_check_passed(check).await?;
        let now = self.now();
        let ended = self
            .0
            .store
            .change_password(me, &new_hash, session, now)
            .await?;
        for session in ended {
            self.0.revoked_sessions.revoke(session, now);
        }
        Ok(pb::ChangePasswordResponse {})
    }
}

/// A hash that never gave its answer: the runtime is shutting down, or the hash panicked.
fn hashing_stopped() -> Error {
    Error::Internal("the password hash did not finish".to_owned())
}
