//! A built service binary run as its own process, the way an operator starts it: only the
//! environment the test gives (no flags), its log read line by line from stderr, killed when
//! dropped. [`check_secret_rule`] holds each binary to the start-up rule on the service
//! secret (`rendezvous_common::config::check_secret`), [`check_service_key_rule`] to the one
//! on the service key.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use rand::RngCore as _;
use rendezvous_common::auth::{ServiceName, SigningKeyPair};

/// How long a binary may take to refuse its configuration and exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a debug binary may take to migrate a fresh SQLite database and listen.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(90);
/// What every service logs once it serves gRPC.
const LISTENING: &str = "grpc server listening";

/// A running binary; killed (and reaped) when dropped.
pub struct RunningBinary {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl RunningBinary {
    /// Starts `program` with exactly `env` as its environment.
    pub fn start(program: &Path, env: &[(&str, String)]) -> anyhow::Result<Self> {
        Self::start_with_args(program, &[], env)
    }

    /// Starts `program` with `args` and exactly `env` as its environment.
    pub fn start_with_args(
        program: &Path,
        args: &[&str],
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stderr = child.stderr.take().context("the child's stderr")?;
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            lines,
            log: Vec::new(),
        })
    }

    /// The process id (for what `/proc` says of it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the binary has logged so far.
    pub fn log(&self) -> String {
        self.log.join("\n")
    }

    /// Waits for a log line containing `needle`; an error when the binary exits first or
    /// `timeout` passes.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    anyhow::bail!(
                        "no line with {needle:?} in {timeout:?}; log:\n{}",
                        self.log()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    anyhow::bail!(
                        "exited ({status}) before a line with {needle:?}; log:\n{}",
                        self.log()
                    )
                }
            }
        }
    }

    /// Waits until the binary exits (its stderr closes) within `timeout`: its status and log.
    pub fn wait_for_exit(mut self, timeout: Duration) -> anyhow::Result<(ExitStatus, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    anyhow::bail!("still running after {timeout:?}; log:\n{}", self.log())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    return Ok((status, self.log()));
                }
            }
        }
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A secret as an operator generates one (`openssl rand -base64 48`).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What any service binary needs to start alone: its own SQLite file in `dir`, any free
/// port, JSON logs (the service secret is the caller's to give, or not).
pub fn standalone_environment(dir: &Path, service: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "RENDEZVOUS_DATABASE_URL",
            format!("sqlite://{}", dir.join(format!("{service}.db")).display()),
        ),
        ("RENDEZVOUS_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("RENDEZVOUS_LOG_FORMAT", "json".to_owned()),
    ]
}

/// [`standalone_environment`] for a service that verifies access tokens (events,
/// notifications): with no members to fetch the public key from, a fresh one is written into
/// `dir` and named by `RENDEZVOUS_TOKEN_PUBLIC_KEY_FILE`.
pub fn verifier_environment(
    dir: &Path,
    service: &str,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let key = dir.join("token-public-key.pem");
    std::fs::write(&key, SigningKeyPair::generate().public_key_pem()?)?;
    let mut env = standalone_environment(dir, service);
    env.push((
        "RENDEZVOUS_TOKEN_PUBLIC_KEY_FILE",
        key.display().to_string(),
    ));
    Ok(env)
}

/// The start-up rule on the service secret, held against the built `program` started with
/// `env` (which must let it start, less the secret):
/// * the old docker compose default is refused outside development: a non-zero exit whose
///   message names `RENDEZVOUS_SERVICE_SECRET` and the development switch;
/// * no secret at all is refused, development or not;
/// * a random secret starts the service, and so does the old default in development mode,
///   with a warning.
pub fn check_secret_rule(program: &Path, env: &[(&str, String)]) -> anyhow::Result<()> {
    let with = |extra: &[(&'static str, &str)]| {
        let mut env = env.to_vec();
        env.extend(extra.iter().map(|&(name, value)| (name, value.to_owned())));
        env
    };
    let old_default = "change-me-please-a-long-random-service-secret";

    let refused = RunningBinary::start(
        program,
        &with(&[("RENDEZVOUS_SERVICE_SECRET", old_default)]),
    )?;
    let (status, log) = refused.wait_for_exit(EXIT_TIMEOUT)?;
    anyhow::ensure!(!status.success(), "the old default was accepted: {log}");
    anyhow::ensure!(
        log.contains("RENDEZVOUS_SERVICE_SECRET (--service-secret) is a published default")
            && log.contains("RENDEZVOUS_DEVELOPMENT=1"),
        "the refusal does not name the variable and the way out: {log}"
    );
    anyhow::ensure!(!log.contains(LISTENING), "listened before refusing: {log}");

    let missing = RunningBinary::start(program, &with(&[("RENDEZVOUS_DEVELOPMENT", "1")]))?;
    let (status, log) = missing.wait_for_exit(EXIT_TIMEOUT)?;
    anyhow::ensure!(!status.success(), "started without a secret: {log}");
    anyhow::ensure!(
        log.contains("RENDEZVOUS_SERVICE_SECRET (--service-secret) is not set"),
        "the refusal does not name the variable: {log}"
    );

    let secret = random_secret();
    let mut strong = RunningBinary::start(
        program,
        &with(&[("RENDEZVOUS_SERVICE_SECRET", secret.as_str())]),
    )?;
    strong.wait_for_line(LISTENING, LISTEN_TIMEOUT)?;
    anyhow::ensure!(
        !strong.log().contains("development mode"),
        "{}",
        strong.log()
    );
    drop(strong);

    let mut development = RunningBinary::start(
        program,
        &with(&[
            ("RENDEZVOUS_SERVICE_SECRET", old_default),
            ("RENDEZVOUS_DEVELOPMENT", "1"),
        ]),
    )?;
    development.wait_for_line(LISTENING, LISTEN_TIMEOUT)?;
    anyhow::ensure!(
        development
            .log()
            .contains("development mode: accepting a weak secret"),
        "no warning in development mode: {}",
        development.log()
    );
    Ok(())
}

/// The start-up rule on the service key, held against the built `program` of `service`
/// started with `env` (which must let it start, less its secret and keys):
/// * without `RENDEZVOUS_SERVICE_KEY_FILE` it refuses to start outside development, naming
///   the variable and `rendezvous keys generate`;
/// * with its key but a peer folder that lacks the public key of another service, it refuses
///   too, naming the missing file;
/// * with its key and its peers' public keys it starts;
/// * in development, with a peer folder and no key, it generates its key pair there (0600).
pub fn check_service_key_rule(
    program: &Path,
    env: &[(&str, String)],
    service: ServiceName,
) -> anyhow::Result<()> {
    let secret = random_secret();
    let with = |extra: Vec<(&'static str, String)>| {
        let mut env = env.to_vec();
        env.push(("RENDEZVOUS_SERVICE_SECRET", secret.clone()));
        env.extend(extra);
        env
    };
    let keys = tempfile::tempdir()?;
    let complete = crate::service_key_environment(keys.path(), service)?;

    let keyless = RunningBinary::start(program, &with(Vec::new()))?;
    let (status, log) = keyless.wait_for_exit(EXIT_TIMEOUT)?;
    anyhow::ensure!(!status.success(), "started without a service key: {log}");
    anyhow::ensure!(
        log.contains("RENDEZVOUS_SERVICE_KEY_FILE (--service-key-file) is not set")
            && log.contains("rendezvous keys generate"),
        "the refusal does not name the variable and the way out: {log}"
    );
    anyhow::ensure!(!log.contains(LISTENING), "listened before refusing: {log}");

    for peer in service.peers() {
        let partial = tempfile::tempdir()?;
        let written = crate::write_test_service_keys(partial.path())?;
        std::fs::remove_file(written.join(peer.public_key_file()))?;
        let refused = RunningBinary::start(
            program,
            &with(vec![
                (
                    "RENDEZVOUS_SERVICE_KEY_FILE",
                    written
                        .join(service.private_key_file())
                        .display()
                        .to_string(),
                ),
                ("RENDEZVOUS_PEER_KEYS_DIR", written.display().to_string()),
            ]),
        )?;
        let (status, log) = refused.wait_for_exit(EXIT_TIMEOUT)?;
        anyhow::ensure!(!status.success(), "started without {peer}'s key: {log}");
        anyhow::ensure!(
            log.contains(&peer.public_key_file()),
            "the refusal does not name {}: {log}",
            peer.public_key_file()
        );
    }

    let mut keyed = RunningBinary::start(program, &with(complete))?;
    keyed.wait_for_line(LISTENING, LISTEN_TIMEOUT)?;
    drop(keyed);

    let generated = tempfile::tempdir()?;
    let mut development = RunningBinary::start(
        program,
        &with(vec![
            ("RENDEZVOUS_DEVELOPMENT", "1".to_owned()),
            (
                "RENDEZVOUS_PEER_KEYS_DIR",
                generated.path().display().to_string(),
            ),
        ]),
    )?;
    development.wait_for_line(LISTENING, LISTEN_TIMEOUT)?;
    let key = generated.path().join(service.private_key_file());
    anyhow::ensure!(key.exists(), "no key generated: {}", development.log());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key)?.permissions().mode() & 0o777;
        anyhow::ensure!(mode == 0o600, "the generated key is {mode:o}");
    }
    Ok(())
}
