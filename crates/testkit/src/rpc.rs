//! Small helpers every gRPC test uses: a boxed call for tables of requests, the code of a
//! result, and polling until an asynchronous effect (a relayed notification, a sent email)
//! shows.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tonic::{Code, Status};

/// One gRPC call, boxed so that tables of calls to different methods can be built; see
/// [`call!`](crate::call).
pub type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// `call!(client, method, request)`: a [`Call`] of `method` on a clone of `client`, its
/// response dropped.
#[macro_export]
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(|_| ()) }) as $crate::rpc::Call
    }};
}

/// The code of a call's result: `Code::Ok` for a success.
pub fn code<T>(result: Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// How long [`eventually`] waits: longer than any relay back-off or worker poll in tests, so a
/// slow machine does not fail a test; a passing test returns as soon as the effect shows.
pub const EVENTUALLY: Duration = Duration::from_secs(15);

/// Polls `check` every 20 ms until it returns `Some`, and panics naming `what` when it has not
/// within [`EVENTUALLY`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {EVENTUALLY:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The wait a refusal asks for: asserts that `status` is `RESOURCE_EXHAUSTED` with reason
/// `RATE_LIMITED`, and returns its `RetryInfo` delay.
pub fn rate_limited_for(status: &Status) -> Duration {
    use tonic_types::StatusExt as _;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        rendezvous_common::error::error_reason(status).as_deref(),
        Some("RATE_LIMITED"),
        "{status:?}"
    );
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .unwrap_or_else(|| panic!("no RetryInfo in {status:?}"))
}

/// The code of an error that must come; panics on success.
#[allow(clippy::expect_used, reason = "a success fails the test")]
pub fn error_code<T: std::fmt::Debug>(result: Result<T, Status>) -> Code {
    result.expect_err("expected an error status").code()
}

/// The status of `result` if it was refused as INVALID_ARGUMENT naming exactly `field` in its
/// `BadRequest` details; otherwise what it was instead, for a test's list of failures.
pub fn invalid_argument_naming<T>(
    result: Result<T, Status>,
    field: &str,
) -> Result<Status, String> {
    let status = match result {
        Ok(_) => return Err("accepted".to_owned()),
        Err(status) => status,
    };
    let fields = rendezvous_common::error::violated_fields(&status);
    if status.code() == Code::InvalidArgument && fields == [field] {
        Ok(status)
    } else {
        Err(format!(
            "expected INVALID_ARGUMENT naming [{field}], got {:?} naming {fields:?} ({})",
            status.code(),
            status.message()
        ))
    }
}
