//! Logging and trace context: `tracing` with pretty or JSON output and an `EnvFilter`, and
//! the W3C trace context (`traceparent`) that crosses every call between services.
//!
//! Spans are OpenTelemetry spans too (`tracing-opentelemetry` over the OpenTelemetry SDK), so
//! each has a trace id: an RPC continues the trace of the `traceparent` it was called with
//! ([`continue_trace`], in the server's RPC layer) and records its trace id as the `trace_id`
//! field of its span, so every log line of the call carries it; an outgoing call sends the
//! current span's context ([`inject_trace_context`], in [`crate::peers::PeerChannel`]). No
//! exporter is configured: trace ids tie the log lines of one request together across the
//! services, and an exporter can be added to the tracer provider without touching the call
//! sites.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for terminals.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The name of the tracer the services' spans belong to.
const TRACER: &str = "rendezvous";

/// Installs the global subscriber; `filter` is an `EnvFilter` directive such as `info` or
/// `rendezvous_members=debug,info`. Calling it twice is harmless. The filter chooses the log
/// lines only: spans at info and above carry the trace context whatever it says.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(trace_layer(SdkTracerProvider::builder()));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => registry.with(fmt.compact().with_filter(filter)).try_init(),
        LogFormat::Json => registry
            .with(fmt.json().flatten_event(true).with_filter(filter))
            .try_init(),
    };
}

/// Logging for tests: captured per test by the harness; `RUST_LOG` sets the filter (default
/// `warn`, so internal errors show up in a failing test's output). RPC spans are kept for
/// [`finished_rpcs`].
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::registry()
        .with(trace_layer(
            SdkTracerProvider::builder().with_span_processor(FinishedRpcs),
        ))
        .with(
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .compact()
                .with_filter(filter),
        )
        .try_init();
}

/// The layer that makes spans at info and above OpenTelemetry spans of `provider`'s tracer.
fn trace_layer<S>(provider: opentelemetry_sdk::trace::TracerProviderBuilder) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.build().tracer(TRACER))
        .with_filter(LevelFilter::INFO)
}

/// An RPC span that ended in this process (tests only, see [`init_for_tests`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRpc {
    /// The gRPC path, `/package.Service/Method`.
    pub method: String,
    /// 32 lowercase hex digits.
    pub trace_id: String,
}

/// The most recent RPC spans kept for tests: enough for every call of a test to be found
/// while other tests run beside it.
const FINISHED_RPCS_KEPT: usize = 20_000;

fn finished() -> &'static Mutex<VecDeque<FinishedRpc>> {
    static FINISHED: OnceLock<Mutex<VecDeque<FinishedRpc>>> = OnceLock::new();
    FINISHED.get_or_init(|| Mutex::new(VecDeque::new()))
}

/// The RPC spans that ended in this process since the test subscriber was installed (the
/// most recent [`FINISHED_RPCS_KEPT`]); empty under [`init`].
pub fn finished_rpcs() -> Vec<FinishedRpc> {
    finished()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// Keeps the method and trace id of every `rpc` span that ends.
#[derive(Debug)]
struct FinishedRpcs;

impl SpanProcessor for FinishedRpcs {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if span.name != "rpc" {
            return;
        }
        let Some(method) = span
            .attributes
            .iter()
            .find(|attribute| attribute.key.as_str() == "method")
        else {
            return;
        };
        let rpc = FinishedRpc {
            method: method.value.as_str().into_owned(),
            trace_id: span.span_context.trace_id().to_string(),
        };
        let mut kept = finished().lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= FINISHED_RPCS_KEPT {
            kept.pop_front();
        }
        kept.push_back(rpc);
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(
        &self,
        _timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// Makes `span` (an RPC's, not yet entered) continue the trace named by the `traceparent`
/// of `headers`, or start a trace when there is none (or it is malformed), and records the
/// trace id in the span's `trace_id` field.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    if headers.contains_key(TRACEPARENT) {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    if let Some(trace_id) = trace_id(span) {
        span.record("trace_id", trace_id);
    }
}

/// The trace id of `span`, when it has one (a subscriber without the OpenTelemetry layer
/// gives none).
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Writes the current span's trace context into `headers` (`traceparent`, and `tracestate`
/// when it has one); nothing when there is no current trace.
pub fn inject_trace_context(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An empty `tracestate` says nothing.
        if value.is_empty() {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
