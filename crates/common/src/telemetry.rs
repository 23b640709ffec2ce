//! Logging and trace context: `tracing` with pretty or JSON output and an `EnvFilter`, the
//! W3C trace context (`traceparent`) that crosses every call between services, and the OTLP
//! span exporter that a collector's address switches on.
//!
//! Spans are OpenTelemetry spans too (`tracing-opentelemetry` over the OpenTelemetry SDK), so
//! each has a trace id: an RPC continues the trace of the `traceparent` it was called with
//! ([`continue_trace`], in the server's RPC layer) and records its trace id as the `trace_id`
//! field of its span, so every log line of the call carries it; an outgoing call sends the
//! current span's context ([`inject_trace_context`], in [`crate::peers::PeerChannel`]). An
//! outbox row keeps the context of the span that wrote it ([`current_traceparent`]), and the
//! relay's delivery continues it ([`continue_outbox`]).
//!
//! Export is off unless `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
//! names a collector ([`TraceExport`]); then finished spans are batched on a thread of the
//! SDK's and sent over OTLP/gRPC, and [`Telemetry::shutdown`] flushes them. A collector that
//! does not answer costs a log line per outage and the spans of that time, never an RPC: the
//! batch queue is bounded and spans beyond it are dropped. Each span names its service in its
//! `service` field ([`SERVICE_FIELD`]); the exporter sends each service's spans under a resource
//! of its own, so the three services of `rendezvous up` are told apart by `service.name`.
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
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

/// `service.name` of the members service's spans.
pub const MEMBERS: &str = "rendezvous-members";
/// `service.name` of the events service's spans.
pub const EVENTS: &str = "rendezvous-events";
/// `service.name` of the notifications service's spans.
pub const NOTIFICATIONS: &str = "rendezvous-notifications";
/// `service.name` of spans that belong to no service (the all-in-one's own, a test's).
pub const PROCESS: &str = "rendezvous";

/// The span field (and OpenTelemetry attribute) naming the service a span belongs to: one of
/// [`MEMBERS`], [`EVENTS`], [`NOTIFICATIONS`]. Set on the spans that start work (RPCs, outbox
/// deliveries, jobs); the exporter picks the span's resource by it.
pub const SERVICE_FIELD: &str = "service";

/// What runs in this process, for the exported spans' `service.name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    /// One service binary: every span is exported as this service (or as `OTEL_SERVICE_NAME`).
    Service(&'static str),
    /// Several services (`rendezvous up`, tests): each span as the service its
    /// [`SERVICE_FIELD`] names; spans naming none as `OTEL_SERVICE_NAME`, or [`PROCESS`].
    AllInOne,
}

/// Where finished spans go: nowhere, or an OTLP/gRPC collector. Read from the standard
/// OpenTelemetry variables by [`TraceExport::from_env`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceExport {
    /// The collector, e.g. `http://127.0.0.1:4317`; none exports nothing and connects nowhere.
    pub endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the name a service binary's spans are exported under instead of
    /// its own (see [`Process`]).
    pub service_name: Option<String>,
    /// How long a finished span waits for its batch; none takes `OTEL_BSP_SCHEDULE_DELAY`
    /// (default 5 s).
    pub schedule_delay: Option<Duration>,
}

impl TraceExport {
    /// The export the environment asks for (see [`TraceExport::from_lookup`]).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The export that the variables `lookup` gives ask for: the collector of
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else of `OTEL_EXPORTER_OTLP_ENDPOINT` (empty values
    /// count as unset), none when neither is set, `OTEL_TRACES_EXPORTER` is `none` or
    /// `OTEL_SDK_DISABLED` is `true`; the name of `OTEL_SERVICE_NAME`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .filter(|_| !disabled);
        Self {
            endpoint,
            service_name: set("OTEL_SERVICE_NAME"),
            schedule_delay: None,
        }
    }
}

/// The installed tracer provider: flush it before the process exits.
#[derive(Clone, Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Whether finished spans are exported (a collector was configured).
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Sends the spans that finished so far and waits for the collector's answer (bounded by
    /// the exporter's timeout, `OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default).
    pub async fn flush(&self) {
        if !self.exporting {
            return;
        }
        let provider = self.provider.clone();
        let _ = tokio::task::spawn_blocking(move || provider.force_flush()).await;
    }

    /// Flushes, then stops exporting. For the end of `main`, after the services stopped.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// Installs the global subscriber; `filter` is an `EnvFilter` directive such as `info` or
/// `rendezvous_members=debug,info`. The filter chooses the log lines only: spans at info and
/// above carry the trace context whatever it says. Spans are exported as the environment says
/// ([`TraceExport::from_env`]); call it inside the Tokio runtime (the exporter's channel is
/// spawned on it). Calling it twice installs nothing the second time.
pub fn init(format: LogFormat, filter: &str, process: Process) -> Telemetry {
    init_with(format, filter, process, &TraceExport::from_env())
}

/// [`init`] with the export given rather than read from the environment.
pub fn init_with(
    format: LogFormat,
    filter: &str,
    process: Process,
    export: &TraceExport,
) -> Telemetry {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let telemetry = provider(SdkTracerProvider::builder(), process, export);
    let registry = tracing_subscriber::registry().with(trace_layer(&telemetry.provider));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => registry.with(fmt.compact().with_filter(filter)).try_init(),
        LogFormat::Json => registry
            .with(fmt.json().flatten_event(true).with_filter(filter))
            .try_init(),
    };
    if let Some(endpoint) = export.endpoint.as_deref().filter(|_| telemetry.exporting) {
        tracing::info!(%endpoint, "exporting spans over otlp");
    }
    telemetry
}

/// Logging for tests: captured per test by the harness; `RUST_LOG` sets the filter (default
/// `warn`, so internal errors show up in a failing test's output). RPC spans are kept for
/// [`finished_rpcs`]. Nothing is exported.
pub fn init_for_tests() {
    let _ = init_for_tests_with(&TraceExport::default());
}

/// [`init_for_tests`], exporting as `export` says (as [`Process::AllInOne`]). Only the first
/// call of a process installs anything: a test that exports must be the first to call it.
pub fn init_for_tests_with(export: &TraceExport) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let telemetry = provider(
        SdkTracerProvider::builder().with_span_processor(FinishedRpcs),
        Process::AllInOne,
        export,
    );
    let _ = tracing_subscriber::registry()
        .with(trace_layer(&telemetry.provider))
        .with(
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .compact()
                .with_filter(filter),
        )
        .try_init();
    telemetry
}

/// The tracer provider: with a batch exporter when `export` names a collector (and it can be
/// built: a malformed endpoint is logged and exports nothing).
fn provider(
    builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    process: Process,
    export: &TraceExport,
) -> Telemetry {
    let Some(endpoint) = export.endpoint.as_deref() else {
        return Telemetry {
            provider: builder.build(),
            exporting: false,
        };
    };
    match PerService::new(endpoint, process, export.service_name.as_deref()) {
        Ok(exporter) => {
            let mut config = opentelemetry_sdk::trace::BatchConfigBuilder::default();
            if let Some(delay) = export.schedule_delay {
                config = config.with_scheduled_delay(delay);
            }
            let batch = BatchSpanProcessor::builder(exporter)
                .with_batch_config(config.build())
                .build();
            Telemetry {
                provider: builder.with_span_processor(batch).build(),
                exporting: true,
            }
        }
        Err(error) => {
            // No subscriber yet: this goes to stderr as is.
            eprintln!("otlp exporter not started, no spans are exported: {error}");
            Telemetry {
                provider: builder.build(),
                exporting: false,
            }
        }
    }
}

/// The layer that makes spans at info and above OpenTelemetry spans of `provider`'s tracer.
fn trace_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(TRACER))
        .with_filter(LevelFilter::INFO)
}

/// The OTLP exporter, one per `service.name`: a batch's spans are sent in groups, each under
/// the resource of the service its [`SERVICE_FIELD`] names. An OTLP resource is per export
/// request, and the SDK gives a tracer provider one; this is how one process's provider (one
/// `tracing` layer) exports as three services.
#[derive(Debug)]
struct PerService {
    /// The services told apart, each with its exporter.
    services: Vec<(&'static str, opentelemetry_otlp::SpanExporter)>,
    /// The exporter of the spans of no listed service.
    rest: opentelemetry_otlp::SpanExporter,
    /// Whether the last export failed: a failure is logged once per outage.
    failing: AtomicBool,
}

impl PerService {
    fn new(
        endpoint: &str,
        process: Process,
        service_name: Option<&str>,
    ) -> Result<Self, opentelemetry_otlp::ExporterBuildError> {
        let exporter = |name: &str| {
            let mut exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            exporter.set_resource(
                &Resource::builder()
                    .with_service_name(name.to_owned())
                    .build(),
            );
            Ok::<_, opentelemetry_otlp::ExporterBuildError>(exporter)
        };
        Ok(match process {
            Process::Service(name) => Self {
                services: Vec::new(),
                rest: exporter(service_name.unwrap_or(name))?,
                failing: AtomicBool::new(false),
            },
            Process::AllInOne => Self {
                services: [MEMBERS, EVENTS, NOTIFICATIONS]
                    .into_iter()
                    .map(|name| Ok((name, exporter(name)?)))
                    .collect::<Result<_, opentelemetry_otlp::ExporterBuildError>>()?,
                rest: exporter(service_name.unwrap_or(PROCESS))?,
                failing: AtomicBool::new(false),
            },
        })
    }

    fn exporters(&self) -> impl Iterator<Item = &opentelemetry_otlp::SpanExporter> {
        self.services
            .iter()
            .map(|(_, exporter)| exporter)
            .chain([&self.rest])
    }
}

impl SpanExporter for PerService {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut groups: Vec<Vec<SpanData>> = vec![Vec::new(); self.services.len() + 1];
        for span in batch {
            let service = span
                .attributes
                .iter()
                .find(|attribute| attribute.key.as_str() == SERVICE_FIELD)
                .and_then(|attribute| {
                    let value = attribute.value.as_str();
                    self.services.iter().position(|(name, _)| value == *name)
                })
                .unwrap_or(self.services.len());
            if let Some(group) = groups.get_mut(service) {
                group.push(span);
            }
        }
        let mut result = Ok(());
        for (spans, exporter) in groups.into_iter().zip(self.exporters()) {
            if !spans.is_empty()
                && let Err(error) = exporter.export(spans).await
            {
                result = Err(error);
            }
        }
        match &result {
            Err(error) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                %error,
                "otlp export failed: spans are dropped until the collector answers"
            ),
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("otlp export works again");
            }
            _ => {}
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporters()
            .map(|exporter| exporter.shutdown_with_timeout(timeout))
            .fold(Ok(()), Result::and)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporters()
            .map(SpanExporter::force_flush)
            .fold(Ok(()), Result::and)
    }
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

/// The current span's trace context as a `traceparent` value, for a row that something
/// delivers later (the outbox); none outside a trace.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The span context a `traceparent` value names, when it is well formed.
fn remote_span_context(traceparent: &str) -> Option<SpanContext> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// Makes `span` (a delivery of outbox rows, not yet entered) continue the traces the rows were
/// written in, given their `traceparent`s in the rows' order: the first well-formed one is
/// the span's parent, every other one (of another span) a link. A delivery of one row is thus
/// part of the trace of the call that wrote it; a batch is part of its first row's trace and
/// linked to the others'. With none, the delivery starts a trace of its own. Records the trace
/// id in the span's `trace_id` field.
pub fn continue_outbox<'a>(
    span: &tracing::Span,
    traceparents: impl IntoIterator<Item = Option<&'a str>>,
) {
    let mut contexts = traceparents
        .into_iter()
        .flatten()
        .filter_map(remote_span_context);
    if let Some(parent) = contexts.next() {
        let mut linked = vec![parent.clone()];
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
        for context in contexts {
            if !linked.contains(&context) {
                span.add_link(context.clone());
                linked.push(context);
            }
        }
    }
    if let Some(trace_id) = trace_id(span) {
        span.record("trace_id", trace_id);
    }
}

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

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Span as _, Tracer as _};

    use super::*;

    fn export_of(variables: &[(&str, &str)]) -> TraceExport {
        TraceExport::from_lookup(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_standard_variables_choose_the_collector() {
        assert_eq!(export_of(&[]), TraceExport::default(), "off by default");
        let both = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://all:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ];
        assert_eq!(
            export_of(&both).endpoint.as_deref(),
            Some("http://traces:4317")
        );
        assert_eq!(
            export_of(&both[..1]).endpoint.as_deref(),
            Some("http://all:4317")
        );
        let empty_traces = [both[0], ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", " ")];
        assert_eq!(
            export_of(&empty_traces).endpoint.as_deref(),
            Some("http://all:4317"),
            "an empty value counts as unset"
        );
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(export_of(&[both[0], off]).endpoint, None, "{off:?}");
        }
        assert_eq!(
            export_of(&[both[0], ("OTEL_SDK_DISABLED", "false")])
                .endpoint
                .as_deref(),
            Some("http://all:4317")
        );
        let named = export_of(&[("OTEL_SERVICE_NAME", "events-eu")]);
        assert_eq!(named.service_name.as_deref(), Some("events-eu"));
        assert_eq!(named.endpoint, None, "a name alone exports nothing");
    }

    /// Makes one span of `telemetry`'s tracer and flushes.
    async fn one_span(telemetry: &Telemetry) -> OTelSdkResult {
        let mut span = telemetry.provider.tracer("test").start("work");
        span.set_attribute(opentelemetry::KeyValue::new(SERVICE_FIELD, EVENTS));
        span.end();
        let provider = telemetry.provider.clone();
        tokio::task::spawn_blocking(move || provider.force_flush())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_collector_nothing_is_exported_and_with_one_spans_are_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        let off = provider(
            SdkTracerProvider::builder(),
            Process::AllInOne,
            &export_of(&[("OTEL_SERVICE_NAME", "ignored")]),
        );
        assert!(!off.exporting());
        one_span(&off).await.unwrap();

        // The same span with a collector configured: the exporter dials it.
        let on = provider(
            SdkTracerProvider::builder(),
            Process::AllInOne,
            &TraceExport {
                endpoint: Some(format!("http://{addr}")),
                ..TraceExport::default()
            },
        );
        assert!(on.exporting());
        let flushed = tokio::spawn(async move { one_span(&on).await });
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        assert!(accepted.is_ok(), "the exporter never dialled the collector");
        // Not a collector: the export fails (and is logged once), the flush still returns.
        drop(accepted);
        drop(listener);
        assert!(flushed.await.unwrap().is_err());
    }

    /// Keeps every span that ends.
    #[derive(Debug, Default, Clone)]
    struct Capture(std::sync::Arc<Mutex<Vec<SpanData>>>);

    impl SpanProcessor for Capture {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

        fn on_end(&self, span: SpanData) {
            self.0.lock().unwrap().push(span);
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_batch_continues_its_first_rows_trace_and_links_the_others() {
        let capture = Capture::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(capture.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(trace_layer(&provider));
        let first = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let other = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("outbox_delivery", trace_id = tracing::field::Empty);
            // A row of no trace, a malformed one, then rows of two traces, one of them twice.
            continue_outbox(
                &span,
                [
                    None,
                    Some("00-garbage"),
                    Some(first),
                    Some(other),
                    Some(first),
                ],
            );
            assert_eq!(
                trace_id(&span).as_deref(),
                Some("0af7651916cd43dd8448eb211c80319c")
            );
            drop(span);
            let untraced = tracing::info_span!("outbox_delivery", trace_id = tracing::field::Empty);
            continue_outbox(&untraced, [None, None]);
            assert_ne!(
                trace_id(&untraced).as_deref(),
                Some("0af7651916cd43dd8448eb211c80319c")
            );
        });
        let spans = capture.0.lock().unwrap().clone();
        assert_eq!(spans.len(), 2);
        let batch = &spans[0];
        assert_eq!(
            batch.span_context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(batch.parent_span_id.to_string(), "b7ad6b7169203331");
        let links: Vec<String> = batch
            .links
            .iter()
            .map(|link| link.span_context.span_id().to_string())
            .collect();
        assert_eq!(links, ["00f067aa0ba902b7"], "each other trace linked once");
        let untraced = &spans[1];
        assert!(untraced.links.is_empty());
        assert_eq!(
            untraced.parent_span_id,
            opentelemetry::trace::SpanId::INVALID
        );
    }
}
