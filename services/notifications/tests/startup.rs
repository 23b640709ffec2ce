//! The built `rendezvous-notifications` binary, its service secret and its service key: a
//! secret is refused when published or missing, accepted when random or in development mode;
//! a missing key or peer key is refused outside development.

use std::path::Path;

use rendezvous_common::auth::ServiceName;
use rendezvous_testkit::process::{
    check_secret_rule, check_service_key_rule, verifier_environment,
};

const BINARY: &str = env!("CARGO_BIN_EXE_rendezvous-notifications");

fn environment(dir: &Path) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut env = verifier_environment(dir, "notifications")?;
    let emails = dir.join("emails");
    env.push(("RENDEZVOUS_EMAIL_DIR", emails.display().to_string()));
    env.push(("RENDEZVOUS_HTTP_ADDR", "127.0.0.1:0".to_owned()));
    Ok(env)
}

#[test]
fn refuses_a_published_or_missing_secret_and_starts_with_a_random_one() -> anyhow::Result<()> {
    let (dir, keys) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut env = environment(dir.path())?;
    env.extend(rendezvous_testkit::service_key_environment(
        keys.path(),
        ServiceName::Notifications,
    )?);
    check_secret_rule(Path::new(BINARY), &env)
}

#[test]
fn refuses_to_start_without_its_service_key_or_a_peers_public_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    check_service_key_rule(
        Path::new(BINARY),
        &environment(dir.path())?,
        ServiceName::Notifications,
    )
}
