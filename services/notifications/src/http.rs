//! The service's HTTP listener: one-click unsubscribe (RFC 8058) for the links in emails.
//!
//! - `POST /unsubscribe?token=…` with the form body `List-Unsubscribe=One-Click`
//!   (`application/x-www-form-urlencoded` or `multipart/form-data`, as RFC 8058 §3.1 allows)
//!   turns email of the token's kind off for the token's member, and nothing else: the
//!   preferences `UpdatePreferences` writes, so the inbox is untouched. Idempotent.
//! - `GET /unsubscribe?token=…` answers a small page whose button makes that POST. It changes
//!   nothing: mail scanners fetch links before anyone clicks them.
//! - A missing or malformed token is a `400`, a forged, altered or expired one a `403`, a POST
//!   body that is not the one-click form a `400`, a body over [`MAX_BODY_BYTES`] a `413`; in
//!   every such case nothing changes.
//! - `GET /healthz` answers `200 ok`; anything else is `404`.
//!
//! Tokens are never logged: each request is logged at debug with its path only.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rendezvous_common::clock::Clock;
use rendezvous_common::http::HttpLimits;
use rendezvous_proto::notifications::v1::Channel;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::domain;
use crate::store::Store;
use crate::unsubscribe::{TokenError, Unsubscribe, UnsubscribeTokens};

/// The largest POST body read; the one-click form is 26 bytes (a few hundred as multipart).
pub const MAX_BODY_BYTES: usize = 4096;
/// How long in-flight requests may take to finish once shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The one key/value pair of a one-click unsubscribe (RFC 8058 §3.1).
const ONE_CLICK_KEY: &str = "List-Unsubscribe";
const ONE_CLICK_VALUE: &str = "One-Click";
/// Pages must not be kept, framed, nor leak their URL (the token) to anything they link to.
const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
];

/// What the unsubscribe endpoint needs.
#[derive(Clone)]
pub struct UnsubscribeState {
    pub store: Store,
    pub clock: Clock,
    pub tokens: UnsubscribeTokens,
}

/// Serves on `listener` until `shutdown` is cancelled, then lets in-flight requests finish
/// (for at most a few seconds) and returns.
pub async fn serve(
    listener: TcpListener,
    state: UnsubscribeState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let limits = HttpLimits {
        grace: SHUTDOWN_GRACE,
        ..HttpLimits::default()
    };
    rendezvous_common::http::serve("unsubscribe", listener, router(state), limits, shutdown)
        .await?;
    Ok(())
}

fn router(state: UnsubscribeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/unsubscribe", get(page).post(unsubscribe))
        .fallback(not_found)
        .with_state(Arc::new(state))
        .layer(middleware::from_fn(log_request))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

/// `GET /unsubscribe`: a page with the button that makes the POST; changes nothing.
async fn page(State(state): State<Arc<UnsubscribeState>>, request: Request) -> Response {
    let token = match checked_token(&state, request.uri().query()) {
        Ok((token, _)) => token,
        Err((status, message)) => return plain(status, message),
    };
    html(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop receiving these emails from Rendezvous? Other emails and your in-app \
             notifications stay as they are.</p>\n\
             <form method=\"post\" action=\"/unsubscribe?token={token}\">\n\
             <input type=\"hidden\" name=\"{ONE_CLICK_KEY}\" value=\"{ONE_CLICK_VALUE}\">\n\
             <button type=\"submit\">Unsubscribe</button>\n</form>",
            token = crate::render::escape_html(&token),
        ),
    )
}

/// `POST /unsubscribe`: turns the token's kind of email off for its member.
async fn unsubscribe(State(state): State<Arc<UnsubscribeState>>, request: Request) -> Response {
    let (_, Unsubscribe { member, kind }) = match checked_token(&state, request.uri().query()) {
        Ok(checked) => checked,
        Err((status, message)) => return plain(status, message),
    };
    let (parts, body) = request.into_parts();
    // A body announced too large is refused before it is read (or, after `Expect:
    // 100-continue`, sent); one that only turns out too large is cut off at the limit.
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    };
    if !is_one_click(&parts.headers, &body) {
        return plain(
            StatusCode::BAD_REQUEST,
            "the body must be the form List-Unsubscribe=One-Click\n",
        );
    }
    let now = state.clock.now_micros();
    // An erased member gets no email at all: nothing to turn off, and nothing of theirs is
    // written again.
    let stored = match state.store.is_erased(member).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            state
                .store
                .update_preferences(member, &[(kind, Channel::Email, false)], None, None, now)
                .await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = stored {
        tracing::error!(%error, "unsubscribe: storing the preference failed");
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "could not unsubscribe right now, please try again later\n",
        );
    }
    tracing::info!(%member, kind = domain::kind_name(kind), "unsubscribed from email");
    html(
        StatusCode::OK,
        "Unsubscribed",
        &format!(
            "<p>Done: you will no longer receive emails about {what} from Rendezvous.</p>",
            what = crate::render::escape_html(&kind_words(kind)),
        ),
    )
}

/// The token of the query string, verified; or the status and message refusing it.
fn checked_token(
    state: &UnsubscribeState,
    query: Option<&str>,
) -> Result<(String, Unsubscribe), (StatusCode, &'static str)> {
    let Some(token) = query.and_then(token_of) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "this unsubscribe link is incomplete: it has no token\n",
        ));
    };
    match state.tokens.verify(token, state.clock.now()) {
        Ok(asked) => Ok((token.to_owned(), asked)),
        Err(TokenError::Malformed) => Err((
            StatusCode::BAD_REQUEST,
            "this unsubscribe link is malformed\n",
        )),
        Err(TokenError::Invalid) => Err((
            StatusCode::FORBIDDEN,
            "this unsubscribe link is not valid\n",
        )),
        Err(TokenError::Expired) => Err((
            StatusCode::FORBIDDEN,
            "this unsubscribe link has expired; change your notification preferences in \
             Rendezvous instead\n",
        )),
    }
}

/// The value of the one `token` parameter of a query string (taken as it is: a valid token
/// has nothing to percent-decode); `None` when there is none or more than one.
fn token_of(query: &str) -> Option<&str> {
    let mut tokens = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("token="));
    let token = tokens.next()?;
    tokens.next().is_none().then_some(token)
}

/// Whether a POST body is the one-click form: `List-Unsubscribe=One-Click` form-urlencoded, or
/// a multipart/form-data part of that name and value.
fn is_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let Ok(body) = std::str::from_utf8(body) else {
        return false;
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/x-www-form-urlencoded" => body
            .trim_end()
            .split('&')
            .any(|pair| pair == format!("{ONE_CLICK_KEY}={ONE_CLICK_VALUE}")),
        "multipart/form-data" => boundary_of(content_type)
            .is_some_and(|boundary| multipart_has_one_click(body, &boundary)),
        _ => false,
    }
}

/// The `boundary` parameter of a multipart media type.
fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|boundary| !boundary.is_empty())
    })
}

/// Whether a multipart/form-data body has a part named `List-Unsubscribe` holding `One-Click`.
fn multipart_has_one_click(body: &str, boundary: &str) -> bool {
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str()).skip(1).any(|part| {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            return false;
        };
        let named = head.lines().any(|line| {
            let line = line.to_ascii_lowercase();
            line.starts_with("content-disposition:")
                && line.contains("form-data")
                && line.contains(&format!("name=\"{}\"", ONE_CLICK_KEY.to_ascii_lowercase()))
        });
        named && value.strip_suffix("\r\n").unwrap_or(value) == ONE_CLICK_VALUE
    })
}

/// A kind as words for the confirmation page (`EVENT_INVITATION` → `event invitation`).
fn kind_words(kind: rendezvous_proto::notifications::v1::NotificationKind) -> String {
    domain::kind_name(kind)
        .to_ascii_lowercase()
        .replace('_', " ")
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        SECURITY_HEADERS,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

fn html(status: StatusCode, title: &str, content: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — Rendezvous</title>\n</head>\n\
         <body style=\"font-family:sans-serif;max-width:560px;margin:2em auto;padding:0 1em;\">\n\
         <h1>{title}</h1>\n{content}\n</body>\n</html>\n"
    );
    (
        status,
        SECURITY_HEADERS,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// Logs each request at debug by its path: the query, which holds the token, is never logged.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "HTTP request");
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_type(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn the_token_is_the_one_token_parameter() {
        assert_eq!(token_of("token=a.b.c"), Some("a.b.c"));
        assert_eq!(token_of("x=1&token=a.b.c"), Some("a.b.c"));
        assert_eq!(token_of("token=a&token=b"), None);
        assert_eq!(token_of("tokens=a"), None);
        assert_eq!(token_of(""), None);
    }

    #[test]
    fn one_click_bodies_are_recognised() {
        let form = with_type("application/x-www-form-urlencoded");
        assert!(is_one_click(&form, b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(&form, b"List-Unsubscribe=One-Click\r\n"));
        assert!(is_one_click(
            &HeaderMap::new(),
            b"List-Unsubscribe=One-Click"
        ));
        for body in [
            &b""[..],
            b"List-Unsubscribe=Yes",
            b"list-unsubscribe=one-click",
            b"unsubscribe=1",
            b"\xff",
        ] {
            assert!(!is_one_click(&form, body), "{body:?}");
        }
        assert!(!is_one_click(
            &with_type("application/json"),
            b"List-Unsubscribe=One-Click"
        ));

        let multipart = with_type("multipart/form-data; boundary=\"XyZ\"");
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                    One-Click\r\n--XyZ--\r\n";
        assert!(is_one_click(&multipart, body.as_bytes()));
        let other = body.replace("One-Click", "Later");
        assert!(!is_one_click(&multipart, other.as_bytes()));
        assert!(!is_one_click(
            &with_type("multipart/form-data"),
            body.as_bytes()
        ));
    }
}
