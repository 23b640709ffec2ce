//! Password rules and argon2id hashing (m = 19456 KiB, t = 2, p = 1: OWASP's minimum).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;

use super::fields;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

fn hasher() -> Argon2<'static> {
    match Params::new(19_456, 2, 1, None) {
        Ok(params) => Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
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

/// Runs argon2 work on the blocking pool, at most `at_once` hashes at a time.
///
/// Each hash holds 19 MiB while it runs; without a bound, a burst of sign-ins (or a client
/// that gives up and retries) starts one per request, up to the blocking pool's 512 threads,
/// and members' memory follows (2.7 GiB was seen at 64 sign-ins in flight). With the bound,
/// callers beyond it wait without holding memory, and a caller that goes away while waiting
/// never starts its hash; one that goes away while hashing keeps its permit until the hash
/// ends, so the bound holds for abandoned work too.
#[derive(Clone, Debug)]
pub struct Hashing {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    at_once: usize,
}

impl Hashing {
    /// At most `at_once` hashes at a time (at least one).
    pub fn new(at_once: usize) -> Self {
        let at_once = at_once.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(at_once)),
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

    /// Runs `work` on the blocking pool once a permit is free; `None` only if the runtime is
    /// shutting down (the permit set is never closed).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit = self.permits.clone().acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .ok()
    }
}

/// Hashes a password to a PHC string. CPU-heavy: run it through [`Hashing::run`].
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(hasher().hash_password(password.as_bytes())?.to_string())
}

/// Checks a password against a stored PHC string; false on any mismatch or malformed hash.
/// CPU-heavy: run it through [`Hashing::run`].
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that a wrong
/// email costs as much time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password never used").unwrap_or_default())
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
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("wrong horse battery", &phc));
        assert!(!verify("x", "not a hash"));
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
                    .run(move || {
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
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_hash_keeps_its_permit_until_it_ends() {
        let hashing = Hashing::new(1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let caller = hashing.clone();
        let abandoned = tokio::spawn(async move {
            caller
                .run(move || {
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
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), hashing.run(|| 7));
        assert_eq!(next.await.unwrap(), Some(7));
        assert_eq!(hashing.permits.available_permits(), 1);
    }
}
