//! Password rules and argon2id hashing (m = 19456 KiB, t = 2, p = 1: OWASP's minimum).

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;

use super::fields;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

fn params() -> Params {
    match Params::new(19_456, 2, 1, None) {
        Ok(params) => params,
        Err(_) => unreachable!("constant argon2 parameters are valid"),
    }
}

/// Checks a new password's length (in characters) and that it has no control characters.
pub fn validate(field: &str, password: &str) -> Result<(), FieldViolation> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(FieldViolation::new(
            field,
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if chars > MAX_LEN {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Argon2's working memory for one hash at a time (19 MiB at the service's parameters),
/// reused from one hash to the next.
///
/// Allocating it afresh for every hash looks harmless and is not: glibc keeps a freed block
/// this large in the arena of the thread that freed it, a sign-in runs on whichever of the
/// blocking pool's threads is free, and each of up to 16 arenas ends up holding one or two
/// (members grew to 604 MiB under 64 sign-ins in flight with only two hashing at once).
/// [`Hashing`] owns one of these per hash it lets run at once, so that is all it ever holds.
pub struct Memory(Vec<Block>);

impl Memory {
    /// Memory for a hash at the service's parameters.
    pub fn new() -> Self {
        Self(vec![Block::new(); params().block_count()])
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs argon2 work on the blocking pool, at most `at_once` hashes at a time, each with a
/// [`Memory`] of the pool's.
///
/// Each hash holds 19 MiB while it runs; without a bound, a burst of sign-ins (or a client
/// that gives up and retries) starts one per request, up to the blocking pool's 512 threads,
/// and members' memory follows (2.7 GiB was seen at 64 sign-ins in flight). With the bound,
/// callers beyond it wait without holding memory, and a caller that goes away while waiting
/// never starts its hash; one that goes away while hashing keeps its permit until the hash
/// ends, so the bound holds for abandoned work too. The memories are made as they are first
/// needed and kept: after the first sign-ins members holds `at_once` × 19 MiB for hashing,
/// and never more.
#[derive(Clone)]
pub struct Hashing {
    permits: Arc<tokio::sync::Semaphore>,
    memories: Arc<Mutex<Vec<Memory>>>,
    at_once: usize,
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing")
            .field("at_once", &self.at_once)
            .finish_non_exhaustive()
    }
}

impl Hashing {
    /// At most `at_once` hashes at a time (at least one).
    pub fn new(at_once: usize) -> Self {
        let at_once = at_once.max(1);
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(at_once)),
            memories: Arc::new(Mutex::new(Vec::with_capacity(at_once))),
            at_once,
        }
    }

    /// One hash at a time per core the process may use.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many hashes may run at once.
    pub fn at_once(&self) -> usize {
        self.at_once
    }

    /// How many memories the pool holds now (at most [`Self::at_once`]).
    pub fn memories(&self) -> usize {
        self.memories.lock().map_or(0, |memories| memories.len())
    }

    /// Runs `work` on the blocking pool with a memory of the pool's once a permit is free;
    /// `None` only if the runtime is shutting down (the permit set is never closed).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Option<T> {
        let permit = self.permits.clone().acquire_owned().await.ok()?;
        let memories = Arc::clone(&self.memories);
        tokio::task::spawn_blocking(move || {
            // A permit holder finds a memory free, or makes the one its permit stands for.
            let mut memory = memories
                .lock()
                .ok()
                .and_then(|mut memories| memories.pop())
                .unwrap_or_default();
            let result = work(&mut memory);
            if let Ok(mut memories) = memories.lock() {
                memories.push(memory);
            }
            drop(permit);
            result
        })
        .await
        .ok()
    }
}

/// Hashes a password to a PHC string in `memory`. CPU-heavy: run it through
/// [`Hashing::run`].
pub fn hash(password: &str, memory: &mut Memory) -> Result<String, argon2::password_hash::Error> {
    let params = params();
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory.0)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(Output::new(&out)?),
    };
    Ok(hash.to_string())
}

/// Checks a password against a stored PHC string, computing in `memory` (or in memory of
/// its own for a hash made with more than the service's parameters); false on any mismatch
/// or malformed hash. CPU-heavy: run it through [`Hashing::run`].
pub fn verify(password: &str, phc: &str, memory: &mut Memory) -> bool {
    fn computed(password: &str, phc: &str, memory: &mut Memory) -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let out = buffer.get_mut(..expected.len())?;
        if blocks <= memory.0.len() {
            argon2
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory.0)
                .ok()?;
        } else {
            argon2
                .hash_password_into(password.as_bytes(), salt, out)
                .ok()?;
        }
        // `Output`'s equality is constant-time.
        Some(Output::new(out).ok()? == *expected)
    }
    computed(password, phc, memory).unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that a wrong
/// email costs as much time as a wrong password.
pub fn decoy_hash(memory: &mut Memory) -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password never used", memory).unwrap_or_default())
}

/// A valid ChangePassword request: the current password and a new, different one.
#[derive(Clone)]
pub struct PasswordChange {
    pub old: String,
    pub new: String,
}

impl TryFrom<pb::ChangePasswordRequest> for PasswordChange {
    type Error = Vec<FieldViolation>;

    fn try_from(req: pb::ChangePasswordRequest) -> Result<Self, Self::Error> {
        fields::all((
            fields::rule(!req.old_password.is_empty(), "old_password", "is required"),
            validate("new_password", &req.new_password),
            fields::rule(
                req.old_password.is_empty() || req.old_password != req.new_password,
                "new_password",
                "must differ from the old password",
            ),
        ))?;
        Ok(Self {
            old: req.old_password,
            new: req.new_password,
        })
    }
}

/// A sign-in attempt: a well-formed email and a password of a possible length.
#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl TryFrom<pb::LoginRequest> for Credentials {
    type Error = Vec<FieldViolation>;

    fn try_from(req: pb::LoginRequest) -> Result<Self, Self::Error> {
        let chars = req.password.chars().count();
        let (email, (), ()) = fields::all((
            validate::email("email", &req.email),
            fields::rule(chars > 0, "password", "is required"),
            fields::rule(
                chars == 0 || chars <= MAX_LEN,
                "password",
                &format!("must be at most {MAX_LEN} characters"),
            ),
        ))?;
        Ok(Self {
            email,
            password: req.password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let memory = &mut Memory::new();
        let phc = hash("correct horse battery", memory).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc, memory));
        assert!(!verify("wrong horse battery", &phc, memory));
        assert!(!verify("x", "not a hash", memory));
        assert!(!verify(
            "correct horse battery",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            memory
        ));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify_and_the_other_way_round() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let memory = &mut Memory::new();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let theirs = argon2
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", &theirs, memory));
        assert!(!verify("correct horse batterY", &theirs, memory));
        let ours = hash("correct horse battery", memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            argon2
                .verify_password(b"correct horse batterY", &parsed)
                .is_err()
        );
    }

    #[test]
    fn a_hash_made_with_more_memory_than_the_pools_verifies_in_memory_of_its_own() {
        use argon2::password_hash::PasswordHasher as _;
        let bigger = Params::new(2 * 19_456, 1, 1, None).unwrap();
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger)
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        let memory = &mut Memory::new();
        assert!(verify("correct horse battery", &phc, memory));
        assert!(!verify("wrong horse battery", &phc, memory));
    }

    #[test]
    fn password_lengths() {
        assert!(validate("p", "short").is_err());
        assert!(validate("p", &"x".repeat(257)).is_err());
        assert!(validate("p", "long enough pw").is_ok());
        assert!(validate("p", "long enough\u{0}pw").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashing_runs_at_most_its_bound_at_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let hashing = Hashing::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls = (0..12).map(|_| {
            let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
            async move {
                hashing
                    .run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(15));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            }
        });
        let done = futures::future::join_all(calls).await;
        assert!(done.iter().all(Option::is_some));
        assert_eq!(most.load(Ordering::SeqCst), 2, "two at once, never more");
        assert_eq!(
            hashing.memories(),
            2,
            "a memory for each hash at once, kept"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_hash_keeps_its_permit_until_it_ends() {
        let hashing = Hashing::new(1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let caller = hashing.clone();
        let abandoned = tokio::spawn(async move {
            caller
                .run(move |_| {
                    let _ = started_tx.send(());
                    let _ = wait.recv();
                })
                .await
        });
        started.await.unwrap();
        abandoned.abort();
        let _ = abandoned.await;
        // The caller is gone, its hash is not: nobody else may start one yet.
        assert_eq!(hashing.permits.available_permits(), 0);
        release.send(()).unwrap();
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), hashing.run(|_| 7));
        assert_eq!(next.await.unwrap(), Some(7));
        assert_eq!(hashing.permits.available_permits(), 1);
    }
}
