//! The calendar feed: private, revocable subscription URLs served over plain HTTP GET.
//!
//! Calendar apps (Apple Calendar, Google Calendar, Thunderbird) subscribe to
//! `GET /calendar/{token}.ics` and poll it. The token is the only credential, so:
//!
//! - an unknown, revoked or malformed token gets the very same `404` as any other unknown
//!   path, so tokens cannot be probed; a token that is not 20–128 characters of
//!   `[A-Za-z0-9_-]` is refused without asking the [`FeedSource`];
//! - the token is never logged: each request is logged at debug with it replaced by `…`;
//! - responses are `Cache-Control: private`, so shared caches do not keep them.
//!
//! A calendar is served with a strong `ETag` (a hash of the body) and `If-None-Match` gets a
//! `304`, which keeps frequent polling cheap. `HEAD` is answered like `GET` without the body,
//! other methods get `405`. `GET /healthz` answers `200 ok`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rendezvous_common::http::HttpLimits;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Where feed tokens are resolved to calendars.
pub trait FeedSource: Send + Sync + 'static {
    /// The calendar for a feed token, or None when the token is unknown or revoked.
    fn calendar(&self, token: &str) -> impl std::future::Future<Output = Option<String>> + Send;
}

/// The media type of a calendar.
const CONTENT_TYPE: &str = crate::calendar::CONTENT_TYPE;
/// Calendars may be kept by the subscriber (not by shared caches) for five minutes.
const CACHE_CONTROL: &str = "private, max-age=300";
const CONTENT_DISPOSITION: &str = "inline; filename=\"rendezvous.ics\"";
/// The body of every 404, whatever the reason.
const NOT_FOUND_BODY: &str = "not found\n";
/// Token length bounds, in characters.
const TOKEN_MIN: usize = 20;
const TOKEN_MAX: usize = 128;
/// The feed route's prefix and suffix.
const CALENDAR_PREFIX: &str = "/calendar/";
const ICS_SUFFIX: &str = ".ics";
/// How long in-flight requests may take to finish once shutdown is asked for; connections
/// still open after that are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves the feed on `listener` until `shutdown` is cancelled, then lets in-flight requests
/// finish (for at most a few seconds) and returns.
pub async fn serve(
    listener: TcpListener,
    source: impl FeedSource,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    serve_with_grace(listener, source, shutdown, SHUTDOWN_GRACE).await
}

async fn serve_with_grace(
    listener: TcpListener,
    source: impl FeedSource,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let limits = HttpLimits {
        grace,
        ..HttpLimits::default()
    };
    let app = router(Arc::new(source));
    rendezvous_common::http::serve("calendar feed", listener, app, limits, shutdown).await?;
    Ok(())
}

fn router<S: FeedSource>(source: Arc<S>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        // One path segment; the handler checks the `.ics` suffix and the token. `get` also
        // answers HEAD (without the body) and 405s other methods.
        .route("/calendar/{file}", get(feed::<S>))
        .fallback(not_found_handler)
        .with_state(source)
        .layer(middleware::from_fn(log_request))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found_handler() -> Response {
    not_found()
}

/// The one 404 response, for unknown paths and for unknown, revoked or malformed tokens.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        NOT_FOUND_BODY,
    )
        .into_response()
}

async fn feed<S: FeedSource>(State(source): State<Arc<S>>, request: Request) -> Response {
    // The raw (still percent-encoded) path: a valid token has nothing to decode.
    let Some(token) = token_of(request.uri().path()) else {
        return not_found();
    };
    let Some(calendar) = source.calendar(token).await else {
        return not_found();
    };
    let etag = etag_of(&calendar);
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    if request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|value| if_none_match_hits(value, &etag))
    {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(CACHE_CONTROL),
                ),
            ],
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static(CONTENT_DISPOSITION),
            ),
            (header::ETAG, etag_value),
        ],
        Body::from(calendar),
    )
        .into_response()
}

/// The token of a feed path `/calendar/{token}.ics`, if the path has that shape and the token
/// is well formed.
fn token_of(path: &str) -> Option<&str> {
    let token = path
        .strip_prefix(CALENDAR_PREFIX)?
        .strip_suffix(ICS_SUFFIX)?;
    valid_token(token).then_some(token)
}

/// Whether `token` could be a feed token: 20–128 characters of `[A-Za-z0-9_-]`.
fn valid_token(token: &str) -> bool {
    (TOKEN_MIN..=TOKEN_MAX).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A strong entity tag for `body`: the first 128 bits of its SHA-256, quoted.
fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header value matches `etag`: `*`, or a list holding it
/// (compared weakly, as RFC 9110 §13.1.2 says, so `W/"…"` matches too).
fn if_none_match_hits(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// Logs each request at debug, with any feed token replaced by `…`.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = redacted_path(request.uri().path());
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "calendar feed request");
    response
}

/// `path` fit to log: under `/calendar/` everything but a `.ics` suffix is replaced by `…`;
/// elsewhere any segment long enough to be a token is replaced, in case a client mangled the
/// URL. The query string is never logged.
fn redacted_path(path: &str) -> String {
    if let Some(rest) = path.strip_prefix(CALENDAR_PREFIX) {
        let suffix = if rest.ends_with(ICS_SUFFIX) {
            ICS_SUFFIX
        } else {
            ""
        };
        return format!("{CALENDAR_PREFIX}…{suffix}");
    }
    path.split('/')
        .map(|segment| {
            if segment.len() >= TOKEN_MIN {
                "…"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::task::JoinHandle;

    use super::*;

    const TOKEN: &str = "abcdefghij_KLMNOP-0123456789";
    const REVOKED: &str = "revokedrevokedrevoked-0123";
    const CALENDAR: &str =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Rendezvous//Events//EN\r\nEND:VCALENDAR\r\n";

    /// Tokens to calendars; `None` marks a revoked token. Counts lookups.
    struct MapSource {
        feeds: HashMap<String, Option<String>>,
        lookups: Arc<AtomicUsize>,
    }

    impl FeedSource for MapSource {
        async fn calendar(&self, token: &str) -> Option<String> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            self.feeds.get(token).cloned().flatten()
        }
    }

    struct Server {
        addr: std::net::SocketAddr,
        shutdown: CancellationToken,
        task: JoinHandle<anyhow::Result<()>>,
        lookups: Arc<AtomicUsize>,
    }

    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let lookups = Arc::new(AtomicUsize::new(0));
        let source = MapSource {
            feeds: HashMap::from([
                (TOKEN.to_owned(), Some(CALENDAR.to_owned())),
                (REVOKED.to_owned(), None),
            ]),
            lookups: lookups.clone(),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, source, shutdown.clone()));
        Server {
            addr,
            shutdown,
            task,
            lookups,
        }
    }

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole response.
    async fn request(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
            .await
            .unwrap_or_else(|_| panic!("response timed out"))
            .unwrap_or_else(|e| panic!("read: {e}"));
        let raw = String::from_utf8(raw).unwrap_or_else(|e| panic!("utf-8: {e}"));
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {raw:?}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> Reply {
        request(addr, "GET", path, &[]).await
    }

    fn feed_path(token: &str) -> String {
        format!("/calendar/{token}.ics")
    }

    #[tokio::test]
    async fn serves_a_calendar_with_its_headers() {
        let server = start().await;
        let reply = get(server.addr, &feed_path(TOKEN)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, CALENDAR);
        assert_eq!(
            reply.header("content-type"),
            Some("text/calendar; charset=utf-8")
        );
        assert_eq!(reply.header("cache-control"), Some("private, max-age=300"));
        assert_eq!(
            reply.header("content-disposition"),
            Some("inline; filename=\"rendezvous.ics\"")
        );
        assert_eq!(reply.header("etag"), Some(etag_of(CALENDAR).as_str()));
        assert_eq!(
            reply.header("content-length"),
            Some(CALENDAR.len().to_string().as_str())
        );
        // The same body, the same tag.
        let again = get(server.addr, &feed_path(TOKEN)).await;
        assert_eq!(again.header("etag"), reply.header("etag"));
    }

    #[tokio::test]
    async fn a_matching_if_none_match_gets_304() {
        let server = start().await;
        let etag = etag_of(CALENDAR);
        for value in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".to_owned(),
        ] {
            let reply = request(
                server.addr,
                "GET",
                &feed_path(TOKEN),
                &[("If-None-Match", &value)],
            )
            .await;
            assert_eq!(reply.status, 304, "If-None-Match: {value}");
            assert_eq!(reply.body, "");
            assert_eq!(reply.header("etag"), Some(etag.as_str()));
            assert_eq!(reply.header("cache-control"), Some("private, max-age=300"));
        }
        let stale = request(
            server.addr,
            "GET",
            &feed_path(TOKEN),
            &[("If-None-Match", "\"stale\"")],
        )
        .await;
        assert_eq!(stale.status, 200);
        assert_eq!(stale.body, CALENDAR);
    }

    #[tokio::test]
    async fn unknown_revoked_and_malformed_tokens_get_the_same_404() {
        let server = start().await;
        let unknown = get(server.addr, &feed_path("unknownunknownunknown-42")).await;
        let revoked = get(server.addr, &feed_path(REVOKED)).await;
        assert_eq!(server.lookups.load(Ordering::SeqCst), 2);
        let too_long = "a".repeat(TOKEN_MAX + 1);
        let malformed = [
            feed_path("short"),
            feed_path(&too_long),
            feed_path("abcdefghij.KLMNOP.0123456789"),
            feed_path("abcdefghij%20KLMNOP0123456789"),
            format!("/calendar/{TOKEN}"),
            format!("/calendar/{TOKEN}.ics/more"),
            "/elsewhere".to_owned(),
        ];
        let mut replies = vec![unknown, revoked];
        for path in &malformed {
            replies.push(get(server.addr, path).await);
        }
        // The malformed ones never reached the source.
        assert_eq!(server.lookups.load(Ordering::SeqCst), 2);
        let first = &replies[0];
        assert_eq!(first.status, 404);
        for reply in &replies {
            assert_eq!(reply.status, 404);
            assert_eq!(reply.body, first.body);
            assert_eq!(reply.header("content-type"), first.header("content-type"));
            assert_eq!(
                reply.header("content-length"),
                first.header("content-length")
            );
            assert_eq!(reply.header("cache-control"), first.header("cache-control"));
            assert_eq!(reply.header("etag"), None);
        }
        // Tokens of exactly the bounding lengths are asked about.
        get(server.addr, &feed_path(&"a".repeat(TOKEN_MIN))).await;
        get(server.addr, &feed_path(&"a".repeat(TOKEN_MAX))).await;
        assert_eq!(server.lookups.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn other_methods_get_405() {
        let server = start().await;
        for method in ["POST", "PUT", "DELETE"] {
            let reply = request(
                server.addr,
                method,
                &feed_path(TOKEN),
                &[("Content-Length", "0")],
            )
            .await;
            assert_eq!(reply.status, 405, "{method}");
            let allow = reply.header("allow").unwrap_or_default();
            assert!(
                allow.contains("GET") && allow.contains("HEAD"),
                "Allow: {allow}"
            );
        }
        assert_eq!(server.lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn head_has_the_headers_and_no_body() {
        let server = start().await;
        let reply = request(server.addr, "HEAD", &feed_path(TOKEN), &[]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "");
        assert_eq!(
            reply.header("content-type"),
            Some("text/calendar; charset=utf-8")
        );
        assert_eq!(reply.header("cache-control"), Some("private, max-age=300"));
        assert_eq!(reply.header("etag"), Some(etag_of(CALENDAR).as_str()));
        assert_eq!(
            reply.header("content-length"),
            Some(CALENDAR.len().to_string().as_str())
        );
        let revoked = request(server.addr, "HEAD", &feed_path(REVOKED), &[]).await;
        assert_eq!(revoked.status, 404);
        assert_eq!(revoked.body, "");
    }

    #[tokio::test]
    async fn healthz_is_ok() {
        let server = start().await;
        let reply = get(server.addr, "/healthz").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "ok");
    }

    #[tokio::test]
    async fn shutdown_ends_serve() {
        let server = start().await;
        assert_eq!(get(server.addr, "/healthz").await.status, 200);
        server.shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(5), server.task)
            .await
            .unwrap_or_else(|_| panic!("serve did not end"))
            .unwrap_or_else(|e| panic!("serve panicked: {e}"));
        assert!(served.is_ok(), "{served:?}");
        assert!(
            TcpStream::connect(server.addr).await.is_err(),
            "still accepting"
        );
    }

    #[tokio::test]
    async fn shutdown_drops_connections_that_never_finish() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let source = MapSource {
            feeds: HashMap::new(),
            lookups: Arc::default(),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_with_grace(
            listener,
            source,
            shutdown.clone(),
            Duration::from_millis(200),
        ));
        // A request whose header never ends.
        let mut stuck = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        stuck
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap_or_else(|_| panic!("serve did not end"))
            .unwrap_or_else(|e| panic!("serve panicked: {e}"));
        assert!(served.is_ok(), "{served:?}");
        drop(stuck);
    }

    #[test]
    fn logged_paths_hold_no_token() {
        assert_eq!(redacted_path(&feed_path(TOKEN)), "/calendar/….ics");
        assert_eq!(redacted_path("/calendar/whatever"), "/calendar/…");
        assert_eq!(redacted_path("/healthz"), "/healthz");
        assert_eq!(
            redacted_path(&format!("/calendars/{TOKEN}.ics")),
            "/calendars/…"
        );
        assert!(!redacted_path(&format!("/x/{TOKEN}/y")).contains(TOKEN));
    }

    #[test]
    fn tokens_are_checked() {
        assert!(valid_token(TOKEN));
        assert!(valid_token(&"a".repeat(TOKEN_MIN)));
        assert!(!valid_token(&"a".repeat(TOKEN_MIN - 1)));
        assert!(valid_token(&"a".repeat(TOKEN_MAX)));
        assert!(!valid_token(&"a".repeat(TOKEN_MAX + 1)));
        assert!(!valid_token("abcdefghijklmnopqrstuvw/"));
        assert!(!valid_token("abcdefghijklmnopqrstuvwé"));
    }
}
