//! The service key pairs every test stack in a test binary shares, and credentials minted
//! with them as each service identity: `service_bearer(ServiceName::Events,
//! ServiceName::Members)` is what events shows members.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rendezvous_common::auth::{ServiceCredentials, ServiceKeySet, ServiceKeys, ServiceName};
use rendezvous_common::clock::Clock;

static TEST_SERVICE_KEYS: LazyLock<ServiceKeySet> = LazyLock::new(ServiceKeySet::generate);

/// The key pairs of the three services in every test stack of this process.
pub fn test_service_keys() -> &'static ServiceKeySet {
    &TEST_SERVICE_KEYS
}

/// What the service `name` runs with in a test stack: its key and its callers' public keys.
pub fn service_keys(name: ServiceName) -> ServiceKeys {
    TEST_SERVICE_KEYS.keys_for(name)
}

/// The credentials `issuer` shows `target`, minted on `clock`.
pub fn service_credentials_at(
    issuer: ServiceName,
    target: ServiceName,
    clock: Clock,
) -> ServiceCredentials {
    match service_keys(issuer).credentials(target, clock) {
        Ok(credentials) => credentials,
        Err(error) => unreachable!("a generated key mints: {error}"),
    }
}

/// The credentials `issuer` shows `target`, on the system clock.
pub fn service_credentials(issuer: ServiceName, target: ServiceName) -> ServiceCredentials {
    service_credentials_at(issuer, target, Clock::system())
}

/// `authorization` metadata of a call from `issuer` to `target` (system clock).
pub fn service_bearer(issuer: ServiceName, target: ServiceName) -> String {
    match service_credentials(issuer, target).bearer() {
        Ok(bearer) => bearer,
        Err(error) => unreachable!("a generated key mints: {error}"),
    }
}

/// Writes the test key pairs into `dir/service-keys` as `rendezvous keys generate` does
/// (once), for a service binary: its folder.
pub fn write_test_service_keys(dir: &Path) -> anyhow::Result<PathBuf> {
    let keys = dir.join("service-keys");
    if !keys.exists() {
        TEST_SERVICE_KEYS.write(&keys)?;
    }
    Ok(keys)
}

/// The environment that gives a service binary `name` its key and its peers' keys (written
/// into `dir` by [`write_test_service_keys`]).
pub fn service_key_environment(
    dir: &Path,
    name: ServiceName,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let keys = write_test_service_keys(dir)?;
    Ok(vec![
        (
            "RENDEZVOUS_SERVICE_KEY_FILE",
            keys.join(name.private_key_file()).display().to_string(),
        ),
        ("RENDEZVOUS_PEER_KEYS_DIR", keys.display().to_string()),
    ])
}
