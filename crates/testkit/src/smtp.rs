//! A real SMTP server for email tests.

use std::time::Duration;

use anyhow::Context as _;
/// A real SMTP server (`scripts/smtp_server.py`, aiosmtpd) run as a child process for email
/// tests. The Python interpreter comes from `RENDEZVOUS_TEST_SMTP_PYTHON`; without it the
/// tests that need the server skip, unless `RENDEZVOUS_REQUIRE_SMTP=1` (CI) makes that an
/// error. The child is killed when the value is dropped.
pub struct SmtpServer {
    port: u16,
    dir: std::path::PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    /// How long the server may take to print its `ready` line.
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    /// Starts the server on `port` (a free one when `None`), writing each received message to
    /// `dir` as `NNNNNN.eml`; with `reject` it refuses every recipient with 550. Returns
    /// `Ok(None)` when `RENDEZVOUS_TEST_SMTP_PYTHON` is not set (and SMTP is not required).
    pub async fn start(
        dir: &std::path::Path,
        port: Option<u16>,
        reject: bool,
    ) -> anyhow::Result<Option<SmtpServer>> {
        let flags: &[&str] = if reject { &["--reject"] } else { &[] };
        Self::start_with(dir, port, flags).await
    }

    /// Starts a server (on a free port) that answers the first message's data `stall` late:
    /// after storing and then accepting it, or with `refuse` after refusing it with 451
    /// without storing it; every later message is answered at once. See
    /// [`Self::stall_started`] and [`Self::stall_ended`].
    pub async fn start_stalling(
        dir: &std::path::Path,
        stall: Duration,
        refuse: bool,
    ) -> anyhow::Result<Option<SmtpServer>> {
        let seconds = format!("{}", stall.as_secs_f64());
        let mut flags = vec!["--stall-first", seconds.as_str()];
        if refuse {
            flags.push("--stall-refuse");
        }
        Self::start_with(dir, None, &flags).await
    }

    /// Whether the stalled reply has begun (the first message's data has arrived).
    pub fn stall_started(&self) -> bool {
        self.dir.join("stall-started").exists()
    }

    /// Whether the stalled reply has been given.
    pub fn stall_ended(&self) -> bool {
        self.dir.join("stall-ended").exists()
    }

    async fn start_with(
        dir: &std::path::Path,
        port: Option<u16>,
        flags: &[&str],
    ) -> anyhow::Result<Option<SmtpServer>> {
        let python = match std::env::var("RENDEZVOUS_TEST_SMTP_PYTHON") {
            Ok(python) if !python.is_empty() => python,
            _ => {
                anyhow::ensure!(
                    std::env::var("RENDEZVOUS_REQUIRE_SMTP").as_deref() != Ok("1"),
                    "RENDEZVOUS_REQUIRE_SMTP=1 but RENDEZVOUS_TEST_SMTP_PYTHON is not set"
                );
                return Ok(None);
            }
        };
        let port = match port {
            Some(port) => port,
            None => Self::free_port()?,
        };
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_server.py");
        let mut command = std::process::Command::new(&python);
        command
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir)
            .args(flags)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {python} {}", script.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        // The child is owned from here on, so that an early return kills it.
        let server = SmtpServer {
            port,
            dir: dir.to_owned(),
            child,
        };
        // Lines are read on a thread of their own; the rest of stdout is drained there too so
        // the child never blocks on a full pipe.
        let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once nobody waits any more, the send fails and the loop keeps draining.
                let _ = lines_tx.send(line);
            }
        });
        let expected = format!("ready {port}");
        let ready = tokio::time::timeout(Self::READY_TIMEOUT, async {
            while let Some(line) = lines_rx.recv().await {
                if line.trim() == expected {
                    return true;
                }
            }
            false
        })
        .await;
        match ready {
            Ok(true) => Ok(Some(server)),
            Ok(false) => anyhow::bail!("the SMTP server on port {port} exited before it was ready"),
            Err(_) => anyhow::bail!(
                "the SMTP server on port {port} was not ready within {:?}",
                Self::READY_TIMEOUT
            ),
        }
    }

    /// A port nothing listens on right now (bound to `127.0.0.1:0`, then released).
    pub fn free_port() -> anyhow::Result<u16> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        Ok(listener.local_addr()?.port())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, for [`Mail::Smtp`].
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received so far (`.eml` files, envelope headers first), oldest first.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut paths: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
