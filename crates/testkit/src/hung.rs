//! A peer that is up but never answers, as a hung process is: it accepts TCP connections and
//! reads whatever arrives (an HTTP/2 client's preface and requests included) without ever
//! writing a byte back.

use std::net::SocketAddr;

use tokio::io::AsyncReadExt as _;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

/// A listener on `127.0.0.1` that accepts and never answers; it stops accepting when dropped.
pub struct HungPeer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HungPeer {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 4096];
                    while matches!(socket.read(&mut buffer).await, Ok(read) if read > 0) {}
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// `http://` and the address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A lazily connected channel to it.
    pub fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.url())?.connect_lazy())
    }
}

impl Drop for HungPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
