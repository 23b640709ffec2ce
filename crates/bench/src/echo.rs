//! The raw gRPC baseline: a bare tonic server answering `Echo` with the bytes it was sent,
//! run as a process of its own (this binary with `--serve-echo`), as each service is, so the
//! two share the machine the same way with the same client.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use rendezvous_testkit::process::RunningBinary;
use tonic::{Request, Response, Status};

pub mod pb {
    tonic::include_proto!("rendezvous.bench.v1");
}

use pb::echo_service_client::EchoServiceClient;
use pb::echo_service_server::{EchoService, EchoServiceServer};

/// What the echo server prints once it listens, followed by its address.
const LISTENING: &str = "echo server listening on ";

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(
        &self,
        request: Request<pb::EchoRequest>,
    ) -> Result<Response<pb::EchoResponse>, Status> {
        Ok(Response::new(pb::EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// Serves `Echo` on a free port of loopback until killed, saying where on stderr.
pub async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    eprintln!("{LISTENING}{addr}");
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await?;
    Ok(())
}

/// The echo server process.
pub struct EchoServer {
    pub addr: SocketAddr,
    process: RunningBinary,
}

impl EchoServer {
    /// Starts `program` (this binary) as the echo server.
    pub async fn start(program: &Path) -> anyhow::Result<Self> {
        let program = program.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut process = RunningBinary::start_with_args(&program, &["--serve-echo"], &[])?;
            let line = process.wait_for_line(LISTENING, Duration::from_secs(30))?;
            let addr = line
                .split_once(LISTENING)
                .map(|(_, addr)| addr.trim())
                .context("the echo server's address")?
                .parse()?;
            anyhow::Ok(Self { addr, process })
        })
        .await?
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn client(&self) -> anyhow::Result<EchoServiceClient<tonic::transport::Channel>> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))?
            .connect_lazy();
        Ok(EchoServiceClient::new(channel))
    }
}
