//! The built `rendezvous-notifications` binary and its service secret: refused when published
//! or missing, accepted when random or in development mode.

use std::path::Path;

use rendezvous_testkit::process::{check_secret_rule, write_token_public_key};

const BINARY: &str = env!("CARGO_BIN_EXE_rendezvous-notifications");

#[test]
fn refuses_a_published_or_missing_secret_and_starts_with_a_random_one() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Its own SQLite file and email folder, a token key on disk, free ports.
    let env = [
        (
            "RENDEZVOUS_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("notifications.db").display()),
        ),
        (
            "RENDEZVOUS_TOKEN_PUBLIC_KEY_FILE",
            write_token_public_key(dir.path())?.display().to_string(),
        ),
        (
            "RENDEZVOUS_EMAIL_DIR",
            dir.path().join("emails").display().to_string(),
        ),
        ("RENDEZVOUS_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("RENDEZVOUS_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("RENDEZVOUS_LOG_FORMAT", "json".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value));
    check_secret_rule(Path::new(BINARY), &env)
}
