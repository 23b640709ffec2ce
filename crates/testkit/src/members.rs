//! The members service in-process, registered test members, and connections between them.

use std::net::SocketAddr;

use anyhow::Context as _;
use rendezvous_common::auth::{Caller, ServiceName, SigningKeyPair, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::server::ServerSettings;
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::running::Running;
use crate::{Backend, Bearer, TestDb, wait_serving};

pub use rendezvous_members::Settings as MembersSettings;
pub use rendezvous_members::{Budget, OutreachPolicy, SignInPolicy};

/// The members service's production settings, except that registrations from one address
/// are not limited: tests register hundreds of members, all from 127.0.0.1; and neither are
/// contact imports nor connection requests, nor is a declined request held back (tests
/// import large files and ask again). (The tests of those limits set them themselves.)
pub fn members_settings() -> MembersSettings {
    let defaults = MembersSettings::default();
    MembersSettings {
        sign_in_limits: SignInPolicy {
            registrations_per_address: Budget {
                max: u32::MAX,
                ..defaults.sign_in_limits.registrations_per_address
            },
            ..defaults.sign_in_limits.clone()
        },
        outreach: OutreachPolicy {
            contacts_per_import: rendezvous_members::domain::contacts_csv::MAX_ROWS,
            imports: Budget {
                max: u32::MAX,
                ..defaults.outreach.imports
            },
            requests: Budget {
                max: u32::MAX,
                ..defaults.outreach.requests
            },
            re_request_cooldown: chrono::Duration::zero(),
        },
        // Tests run their rounds themselves (the test of the service's own rounds sets it).
        coffee_round_after_opt_in: None,
        ..defaults
    }
}

pub type MemberClient = MemberServiceClient<InterceptedService<Channel, Bearer>>;
pub type MemberInternalClient = MemberInternalServiceClient<InterceptedService<Channel, Bearer>>;

/// A member registered through the API.
#[derive(Clone, Debug)]
pub struct TestMember {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub client: MemberClient,
}

/// The members service running in-process.
pub struct MembersHandle {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub clock: Clock,
    pub signing_key: SigningKeyPair,
    pub db: Db,
    /// Where its Prometheus metrics are served (`/metrics`).
    pub metrics_addr: SocketAddr,
    running: Running,
    pub(crate) _test_db: TestDb,
}

/// How to start a service for a test.
#[derive(Clone, Debug)]
pub struct Start {
    pub backend: Backend,
    pub clock: Clock,
    pub members: MembersSettings,
    pub server: ServerSettings,
    /// The events service members tells of deleted members (none: the erasure rows wait).
    pub events: Option<Channel>,
}

impl Start {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            clock: Clock::system(),
            members: members_settings(),
            server: ServerSettings::default(),
            events: None,
        }
    }
}

impl MembersHandle {
    /// The URL of its database (for a second pool on it: another replica's view).
    pub fn database_url(&self) -> &str {
        &self._test_db.url
    }

    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(Start::new(backend)).await
    }

    pub async fn start_with(start: Start) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(start, listener, None).await
    }

    /// Starts on `listener`, relaying the outbox to `notifications` when given.
    pub async fn start_on(
        start: Start,
        listener: tokio::net::TcpListener,
        notifications: Option<Channel>,
    ) -> anyhow::Result<Self> {
        rendezvous_common::telemetry::init_for_tests();
        let test_db = TestDb::new(start.backend).await?;
        let db = Db::connect(&test_db.url).await?;
        let signing_key = SigningKeyPair::generate();
        let addr = listener.local_addr()?;
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let metrics_addr = metrics_listener.local_addr()?;
        let options = rendezvous_members::Options {
            db: db.clone(),
            clock: start.clock.clone(),
            signing_key: signing_key.clone(),
            service_keys: crate::service_keys(ServiceName::Members),
            page_token_key: [42; 32],
            settings: start.members,
            server: start.server,
            notifications,
            events: start.events,
            metrics_listener: Some(metrics_listener),
        };
        let running = Running::spawn(&db, |shutdown| {
            rendezvous_members::run(options, listener, shutdown)
        });
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(channel.clone(), "rendezvous.members.v1.MemberService").await?;
        Ok(Self {
            addr,
            channel,
            clock: start.clock,
            signing_key,
            db,
            metrics_addr,
            running,
            _test_db: test_db,
        })
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> MemberClient {
        MemberServiceClient::with_interceptor(self.channel.clone(), Bearer::default())
    }

    /// A client that sends `token` as its bearer token.
    pub fn client_with_token(&self, token: &str) -> MemberClient {
        MemberServiceClient::with_interceptor(self.channel.clone(), Bearer::token(token))
    }

    /// The session (`sid`) an access token this service issued belongs to.
    pub fn session_of(&self, access_token: &str) -> anyhow::Result<uuid::Uuid> {
        let verifier = TokenVerifier::new(
            &[self.signing_key.verifying_key()],
            &crate::service_keys(ServiceName::Members),
            self.clock.clone(),
        )?;
        match verifier.resolve(Some(&format!("Bearer {access_token}")))? {
            Caller::Member { session_id, .. } => Ok(session_id),
            other => anyhow::bail!("not a member's access token: {other:?}"),
        }
    }

    /// The internal API as the events service calls it.
    pub fn internal(&self) -> anyhow::Result<MemberInternalClient> {
        self.internal_as(ServiceName::Events)
    }

    /// The internal API as the service `caller` calls it (its credential on this clock).
    pub fn internal_as(&self, caller: ServiceName) -> anyhow::Result<MemberInternalClient> {
        let creds = crate::service_credentials_at(caller, ServiceName::Members, self.clock.clone());
        Ok(MemberInternalServiceClient::with_interceptor(
            self.channel.clone(),
            Bearer::raw(&creds.bearer()?),
        ))
    }

    /// The internal API called with arbitrary `authorization` metadata.
    pub fn internal_with(&self, bearer: Bearer) -> MemberInternalClient {
        MemberInternalServiceClient::with_interceptor(self.channel.clone(), bearer)
    }

    /// Registers a member named `name` in Paris, with an address derived from the name.
    pub async fn register(&self, name: &str) -> anyhow::Result<TestMember> {
        let email = format!(
            "{}.{}@example.com",
            name.to_lowercase().replace(' ', "."),
            uuid::Uuid::now_v7().simple()
        );
        let password = "correct horse battery staple".to_owned();
        let response = self
            .anonymous()
            .register(members_pb::RegisterRequest {
                email: email.clone(),
                password: password.clone(),
                display_name: name.to_owned(),
                city: "Paris".to_owned(),
                locale: "fr".to_owned(),
                time_zone: "Europe/Paris".to_owned(),
            })
            .await?
            .into_inner();
        let member = response.member.context("no member")?;
        let session = response.session.context("no session")?;
        Ok(TestMember {
            id: member.id,
            email,
            password,
            client: self.client_with_token(&session.access_token),
            access_token: session.access_token,
            refresh_token: session.refresh_token,
        })
    }

    /// Registers a member for each of `names`, in that order.
    pub async fn register_all<const N: usize>(
        &self,
        names: [&str; N],
    ) -> anyhow::Result<[TestMember; N]> {
        let mut members = Vec::with_capacity(N);
        for name in names {
            members.push(self.register(name).await?);
        }
        members
            .try_into()
            .map_err(|_| anyhow::anyhow!("one member per name"))
    }

    /// Signs `member` in again: a new session, with an access token fresh from the service's
    /// clock (tokens live 15 minutes; tests that move a manual clock need new ones).
    pub async fn login(&self, member: &TestMember) -> anyhow::Result<members_pb::Session> {
        let request = members_pb::LoginRequest {
            email: member.email.clone(),
            password: member.password.clone(),
        };
        let response = self.anonymous().login(request).await?.into_inner();
        response.session.context("no session")
    }

    /// Starts a graceful shutdown without waiting for it (see [`Self::stop`]).
    pub fn begin_shutdown(&self) {
        self.running.begin_shutdown();
    }

    /// Stops the service gracefully, waits for it and closes its database pool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// Connects `a` and `b` (a asks, b accepts).
pub async fn connect(a: &TestMember, b: &TestMember) -> anyhow::Result<()> {
    let request = a
        .client
        .clone()
        .request_connection(members_pb::RequestConnectionRequest {
            member_id: b.id.clone(),
            note: String::new(),
        })
        .await?
        .into_inner()
        .connection_request
        .context("no request")?;
    b.client
        .clone()
        .respond_to_connection_request(members_pb::RespondToConnectionRequestRequest {
            connection_request_id: request.id,
            accept: true,
        })
        .await?;
    Ok(())
}
