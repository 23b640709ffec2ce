//! The built `rendezvous-members` binary and its service secret: refused when published or
//! missing (before it writes anything), accepted when random or in development mode.

use std::path::Path;
use std::time::Duration;

use rendezvous_testkit::process::{RunningBinary, check_secret_rule};

const BINARY: &str = env!("CARGO_BIN_EXE_rendezvous-members");

/// What members needs to start alone: its own SQLite file and key in `dir`, any free port.
fn environment(dir: &Path) -> Vec<(String, String)> {
    let members_db = format!("sqlite://{}", dir.join("members.db").display());
    let key = dir.join("token-signing-key.pem").display().to_string();
    [
        ("RENDEZVOUS_DATABASE_URL", members_db),
        ("RENDEZVOUS_TOKEN_SIGNING_KEY_FILE", key),
        ("RENDEZVOUS_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("RENDEZVOUS_LOG_FORMAT", "json".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

#[test]
fn refuses_a_published_or_missing_secret_and_starts_with_a_random_one() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    check_secret_rule(Path::new(BINARY), &environment(dir.path()))
}

#[test]
fn a_refused_secret_leaves_no_database_and_no_signing_key_behind() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut env = environment(dir.path());
    env.push((
        "RENDEZVOUS_SERVICE_SECRET".to_owned(),
        "change-me-please-a-long-random-service-secret".to_owned(),
    ));
    let (status, log) =
        RunningBinary::start(Path::new(BINARY), &env)?.wait_for_exit(Duration::from_secs(30))?;
    assert!(!status.success(), "{log}");
    let left: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    assert!(left.is_empty(), "{left:?} written before the refusal");
    Ok(())
}
