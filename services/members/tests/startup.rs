//! The built `rendezvous-members` binary, its service secret and its service key: a secret is
//! refused when published or missing (before it writes anything), accepted when random or in
//! development mode; a missing key or peer key is refused outside development.

use std::path::Path;
use std::time::Duration;

use rendezvous_common::auth::ServiceName;
use rendezvous_testkit::process::{
    RunningBinary, check_secret_rule, check_service_key_rule, standalone_environment,
};

const BINARY: &str = env!("CARGO_BIN_EXE_rendezvous-members");

/// Members alone, with its signing key generated in `dir` too.
fn environment(dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = standalone_environment(dir, "members");
    let key = dir.join("token-signing-key.pem");
    env.push((
        "RENDEZVOUS_TOKEN_SIGNING_KEY_FILE",
        key.display().to_string(),
    ));
    env
}

#[test]
fn refuses_a_published_or_missing_secret_and_starts_with_a_random_one() -> anyhow::Result<()> {
    let (dir, keys) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut env = environment(dir.path());
    env.extend(rendezvous_testkit::service_key_environment(
        keys.path(),
        ServiceName::Members,
    )?);
    check_secret_rule(Path::new(BINARY), &env)
}

#[test]
fn refuses_to_start_without_its_service_key_or_a_peers_public_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    check_service_key_rule(
        Path::new(BINARY),
        &environment(dir.path()),
        ServiceName::Members,
    )
}

#[test]
fn a_refused_secret_leaves_no_database_and_no_signing_key_behind() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut env = environment(dir.path());
    let old_default = "change-me-please-a-long-random-service-secret";
    env.push(("RENDEZVOUS_SERVICE_SECRET", old_default.to_owned()));
    let (status, log) =
        RunningBinary::start(Path::new(BINARY), &env)?.wait_for_exit(Duration::from_secs(30))?;
    assert!(!status.success(), "{log}");
    let left: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    assert!(left.is_empty(), "{left:?} written before the refusal");
    Ok(())
}
