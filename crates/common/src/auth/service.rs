//! Service identities and the credentials one service shows another.
//!
//! Each service has an Ed25519 key pair of its own. A credential is a JWT (`typ:
//! service+jwt`, `alg: EdDSA`, `kid` = the signer's key id) naming its issuer (`iss` = `sub` =
//! `rendezvous-<service>`) and its one target (`aud` = `rendezvous-<target>`), valid for
//! [`SERVICE_CREDENTIAL_LIFETIME`]. A receiver holds only its peers' public keys: it
//! accepts a credential for its own audience signed by the key of the service the credential
//! names as issuer, and nothing else. A compromised receiver can therefore mint credentials
//! for no one, and there is no table of pair secrets to rotate.

use std::path::{Path, PathBuf};

use chrono::Duration;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, PublicKey, SERVICE_TOKEN_TYPE, SigningKeyPair};
use crate::clock::Clock;

/// The longest lifetime of a service credential, minted and accepted.
pub const SERVICE_CREDENTIAL_LIFETIME: Duration = Duration::minutes(5);

/// A Rendezvous service, as an identity: who mints a credential and whom it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceName {
    Members,
    Events,
    Notifications,
}

impl ServiceName {
    pub const ALL: [Self; 3] = [Self::Members, Self::Events, Self::Notifications];

    /// `members`, `events`, `notifications`: key file names, logs, flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Events => "events",
            Self::Notifications => "notifications",
        }
    }

    /// `rendezvous-<service>`: the `aud` of credentials for the service and the `iss` of the
    /// ones it mints.
    pub fn audience(self) -> &'static str {
        match self {
            Self::Members => "rendezvous-members",
            Self::Events => "rendezvous-events",
            Self::Notifications => "rendezvous-notifications",
        }
    }

    /// The other two services. A service knows every peer's public key, so that a peer a
    /// method does not list is told PERMISSION_DENIED rather than taken for a stranger.
    pub fn peers(self) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |name| *name != self)
    }

    /// The file of the service's private key in a key folder (`rendezvous keys generate`).
    pub fn private_key_file(self) -> String {
        format!("{}.key.pem", self.as_str())
    }

    /// The file of the service's public key in a key folder.
    pub fn public_key_file(self) -> String {
        format!("{}.pub.pem", self.as_str())
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the services.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a Rendezvous service (members, events or notifications)")]
pub struct UnknownService(pub String);

impl std::str::FromStr for ServiceName {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|name| name.as_str() == s || name.audience() == s)
            .ok_or_else(|| UnknownService(s.to_owned()))
    }
}

/// Claims of a service credential.
#[derive(Debug, Serialize, Deserialize)]
struct ServiceClaims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
}

/// A service's own key pair and the public keys of the peers whose calls it accepts.
#[derive(Clone, Debug)]
pub struct ServiceKeys {
    identity: ServiceName,
    key: SigningKeyPair,
    peers: Vec<(ServiceName, PublicKey)>,
}

impl ServiceKeys {
    pub fn new(
        identity: ServiceName,
        key: SigningKeyPair,
        peers: impl IntoIterator<Item = (ServiceName, PublicKey)>,
    ) -> Self {
        Self {
            identity,
            key,
            peers: peers.into_iter().collect(),
        }
    }

    pub fn identity(&self) -> ServiceName {
        self.identity
    }

    /// The public half of the service's own key.
    pub fn public_key(&self) -> PublicKey {
        self.key.verifying_key()
    }

    /// The peers whose credentials this service accepts, with their keys.
    pub fn peers(&self) -> &[(ServiceName, PublicKey)] {
        &self.peers
    }

    /// What this service shows `target` on its calls.
    pub fn credentials(
        &self,
        target: ServiceName,
        clock: Clock,
    ) -> Result<ServiceCredentials, AuthError> {
        ServiceCredentials::new(self.identity, target, &self.key, clock)
    }
}

/// Mints the credentials of one service's calls to one other service.
#[derive(Clone)]
pub struct ServiceCredentials {
    issuer: ServiceName,
    target: ServiceName,
    key_id: String,
    encoding: EncodingKey,
    clock: Clock,
}

impl std::fmt::Debug for ServiceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCredentials")
            .field("issuer", &self.issuer)
            .field("target", &self.target)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceCredentials {
    pub fn new(
        issuer: ServiceName,
        target: ServiceName,
        key: &SigningKeyPair,
        clock: Clock,
    ) -> Result<Self, AuthError> {
        let pem = key.to_pkcs8_pem()?;
        let encoding =
            EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(Self {
            issuer,
            target,
            key_id: key.key_id(),
            encoding,
            clock,
        })
    }

    pub fn issuer(&self) -> ServiceName {
        self.issuer
    }

    pub fn target(&self) -> ServiceName {
        self.target
    }

    /// A credential valid for [`SERVICE_CREDENTIAL_LIFETIME`]; callers mint one per call (it
    /// is cheap).
    pub fn token(&self) -> Result<String, AuthError> {
        let now = self.clock.now();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(SERVICE_TOKEN_TYPE.to_owned());
        header.kid = Some(self.key_id.clone());
        let claims = ServiceClaims {
            iss: self.issuer.audience().to_owned(),
            aud: self.target.audience().to_owned(),
            sub: self.issuer.audience().to_owned(),
            iat: now.timestamp(),
            exp: (now + SERVICE_CREDENTIAL_LIFETIME).timestamp(),
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    /// `authorization` metadata value for an outgoing request.
    pub fn bearer(&self) -> Result<String, AuthError> {
        Ok(format!("Bearer {}", self.token()?))
    }
}

/// The service side of a [`super::TokenVerifier`]: the receiver's audience and its callers'
/// keys, by key id.
#[derive(Clone)]
pub(super) struct ServiceVerifier {
    audience: ServiceName,
    keys: Vec<(String, ServiceName, DecodingKey)>,
}

impl ServiceVerifier {
    pub(super) fn new(own: &ServiceKeys) -> Result<Self, AuthError> {
        // Its own public key too: a credential it minted for itself is then a known
        // identity, refused by the caller table (PERMISSION_DENIED) like any other caller
        // that a method does not list.
        let own_public = (own.identity, own.public_key());
        let keys = own
            .peers
            .iter()
            .chain(std::iter::once(&own_public))
            .map(|(name, key)| {
                let pem = key.to_pem()?;
                DecodingKey::from_ed_pem(pem.as_bytes())
                    .map(|decoding| (key.key_id(), *name, decoding))
                    .map_err(|e| AuthError::Key(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            audience: own.identity,
            keys,
        })
    }

    pub(super) fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _, _)| id.clone()).collect()
    }

    /// The issuer of `token` (whose header names `kid`), once its signature, issuer,
    /// audience and lifetime check out. `check_times` checks `iat`/`exp`.
    pub(super) fn verify(
        &self,
        token: &str,
        kid: Option<&str>,
        check_times: impl Fn(i64, i64, Duration) -> Result<(), AuthError>,
    ) -> Result<ServiceName, AuthError> {
        let kid = kid.ok_or(AuthError::Invalid)?;
        let (_, issuer, key) = self
            .keys
            .iter()
            .find(|(id, _, _)| id == kid)
            .ok_or(AuthError::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_audience(&[self.audience.audience()]);
        validation.set_issuer(&[issuer.audience()]);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        let data = jsonwebtoken::decode::<ServiceClaims>(token, key, &validation)
            .map_err(|_| AuthError::Invalid)?;
        if data.claims.sub != issuer.audience() {
            return Err(AuthError::Invalid);
        }
        check_times(
            data.claims.iat,
            data.claims.exp,
            SERVICE_CREDENTIAL_LIFETIME,
        )?;
        Ok(*issuer)
    }
}

/// A key pair for each service, as `rendezvous keys generate` writes them and `rendezvous up`
/// and the test kit hold them in memory.
#[derive(Clone, Debug)]
pub struct ServiceKeySet {
    keys: [SigningKeyPair; 3],
}

impl ServiceKeySet {
    pub fn generate() -> Self {
        Self {
            keys: ServiceName::ALL.map(|_| SigningKeyPair::generate()),
        }
    }

    fn index(name: ServiceName) -> usize {
        match name {
            ServiceName::Members => 0,
            ServiceName::Events => 1,
            ServiceName::Notifications => 2,
        }
    }

    /// The private key of `name`.
    pub fn key(&self, name: ServiceName) -> &SigningKeyPair {
        &self.keys[Self::index(name)]
    }

    /// What `name` runs with: its own key and its peers' public keys.
    pub fn keys_for(&self, name: ServiceName) -> ServiceKeys {
        ServiceKeys::new(
            name,
            self.key(name).clone(),
            name.peers()
                .map(|peer| (peer, self.key(peer).verifying_key())),
        )
    }

    /// Writes `<service>.key.pem` and `<service>.pub.pem` for every service into `dir`
    /// (created 0700; files 0600). Refuses to overwrite a key that is already there.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        use anyhow::Context as _;
        crate::db::create_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let mut written = Vec::new();
        for name in ServiceName::ALL {
            let key = self.key(name);
            for (file, pem) in [
                (name.private_key_file(), key.to_pkcs8_pem()?),
                (name.public_key_file(), key.public_key_pem()?),
            ] {
                let path = dir.join(file);
                write_private(&path, &pem)?;
                written.push(path);
            }
        }
        Ok(written)
    }
}

/// Writes a new file readable by its owner only (0600); an existing file is an error.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;

    use anyhow::Context as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Where a service finds its keys (see [`crate::config::AuthArgs`]).
#[derive(Clone, Debug)]
pub struct KeyFiles<'a> {
    /// The service's private key (PKCS#8 PEM).
    pub key_file: Option<&'a Path>,
    /// The folder of the peers' `<service>.pub.pem`.
    pub peer_keys_dir: Option<&'a Path>,
    /// Development: a missing key is generated (into the peer folder when one is given, so
    /// the other local processes find its public half), a missing peer key is a warning.
    pub development: bool,
}

/// The variables named in the refusals of [`load_service_keys`].
const KEY_FILE_VARIABLE: &str = "RENDEZVOUS_SERVICE_KEY_FILE (--service-key-file)";
const PEER_KEYS_VARIABLE: &str = "RENDEZVOUS_PEER_KEYS_DIR (--peer-keys-dir)";

/// Loads `identity`'s private key and the public keys of the other services.
/// Outside development a missing key or peer key is refused, naming the setting and the way
/// to generate keys.
pub fn load_service_keys(
    identity: ServiceName,
    files: &KeyFiles<'_>,
) -> anyhow::Result<ServiceKeys> {
    use anyhow::Context as _;
    let generate = "generate the keys with `rendezvous keys generate --out DIR`";
    let key = match (files.key_file, files.peer_keys_dir) {
        (Some(path), _) => read_private_key(path)?,
        (None, Some(dir)) if files.development => {
            let path = dir.join(identity.private_key_file());
            if path.exists() {
                read_private_key(&path)?
            } else {
                let key = SigningKeyPair::generate();
                crate::db::create_private_dir(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                write_private(&path, &key.to_pkcs8_pem()?)?;
                write_private(
                    &dir.join(identity.public_key_file()),
                    &key.public_key_pem()?,
                )?;
                tracing::warn!(path = %path.display(), key_id = %key.key_id(),
                    "development mode: generated a service key");
                key
            }
        }
        (None, None) if files.development => {
            tracing::warn!(
                service = %identity,
                "development mode: no service key configured, using one generated in memory \
                 (peers will refuse this service's calls)"
            );
            SigningKeyPair::generate()
        }
        (None, _) => anyhow::bail!("{KEY_FILE_VARIABLE} is not set: {generate}"),
    };
    let mut peers = Vec::new();
    for peer in identity.peers() {
        let Some(dir) = files.peer_keys_dir else {
            if files.development {
                tracing::warn!(%peer, "development mode: no peer keys folder; calls from {peer} will be refused");
                continue;
            }
            anyhow::bail!(
                "{PEER_KEYS_VARIABLE} is not set: {identity} needs the public key of {peer} \
                 ({}); {generate}",
                peer.public_key_file()
            );
        };
        let path = dir.join(peer.public_key_file());
        match std::fs::read_to_string(&path) {
            Ok(pem) => peers.push((
                peer,
                PublicKey::from_pem(&pem)
                    .with_context(|| format!("parsing the public key {}", path.display()))?,
            )),
            Err(error) if files.development && error.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(path = %path.display(), "development mode: no public key of {peer}; its calls will be refused");
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!(
                    "reading the public key of {peer} from {} ({PEER_KEYS_VARIABLE}); {generate}",
                    path.display()
                )));
            }
        }
    }
    Ok(ServiceKeys::new(identity, key, peers))
}

fn read_private_key(path: &Path) -> anyhow::Result<SigningKeyPair> {
    use anyhow::Context as _;
    let pem = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the service key {} ({KEY_FILE_VARIABLE})",
            path.display()
        )
    })?;
    SigningKeyPair::from_pkcs8_pem(&pem)
        .with_context(|| format!("parsing the service key {}", path.display()))
}
