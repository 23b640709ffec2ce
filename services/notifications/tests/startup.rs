//! The built `rendezvous-notifications` binary and its service secret: refused when published
//! or missing, accepted when random or in development mode.

use std::path::Path;

use rendezvous_testkit::process::{check_secret_rule, verifier_environment};

#[test]
fn refuses_a_published_or_missing_secret_and_starts_with_a_random_one() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut env = verifier_environment(dir.path(), "notifications")?;
    let emails = dir.path().join("emails");
    env.push(("RENDEZVOUS_EMAIL_DIR", emails.display().to_string()));
    env.push(("RENDEZVOUS_HTTP_ADDR", "127.0.0.1:0".to_owned()));
    let binary = env!("CARGO_BIN_EXE_rendezvous-notifications");
    check_secret_rule(Path::new(binary), &env)
}
