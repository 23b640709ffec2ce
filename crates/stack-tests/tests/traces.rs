//! Spans exported over OTLP: the whole stack in-process (one process, three services, as in
//! `rendezvous up`) exports to a collector this test runs, and a user's call is one trace
//! across the services — through the outbox too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use rendezvous_common::relay::pending_count;
use rendezvous_common::telemetry::{self, Telemetry, TraceExport};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, EventsHandle, Stack, StackStart, attendance_summary, backend_tests, connect,
    create_event, eventually, publish_event, timestamp,
};
use tonic::transport::Endpoint;

/// A span as the collector received it.
#[derive(Clone, Debug)]
struct Exported {
    /// The `service.name` of its resource.
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// The `method` attribute of RPC spans.
    method: String,
    /// The trace ids of its links.
    linked_traces: Vec<String>,
}

/// An OTLP/gRPC collector keeping every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Exported>>>);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> String {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            any_value::Value::StringValue(value) => value.clone(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .map(|resource| string_attribute(&resource.attributes, "service.name"))
                .unwrap_or_default();
            for span in resource_spans
                .scope_spans
                .into_iter()
                .flat_map(|scope| scope.spans)
            {
                kept.push(Exported {
                    service: service.clone(),
                    method: string_attribute(&span.attributes, "method"),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    linked_traces: span.links.iter().map(|link| hex(&link.trace_id)).collect(),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The collector and the exporting subscriber, shared by the tests of this binary (the
/// subscriber is global). Both live on a runtime of their own, which outlives each test's.
fn collector() -> &'static (Collector, Telemetry) {
    static SHARED: OnceLock<(Collector, Telemetry)> = OnceLock::new();
    SHARED.get_or_init(|| {
        // Set up on a thread of its own: the caller's thread is driving a test's runtime.
        std::thread::spawn(|| {
            let runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .unwrap(),
            ));
            let collector = Collector::default();
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let addr = listener.local_addr().unwrap();
            runtime.spawn(
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(collector.clone()))
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
            );
            let _entered = runtime.enter();
            let telemetry = telemetry::init_for_tests_with(&TraceExport {
                endpoint: Some(format!("http://{addr}")),
                service_name: None,
                schedule_delay: Some(Duration::from_millis(50)),
            });
            assert!(telemetry.exporting());
            (collector, telemetry)
        })
        .join()
        .unwrap()
    })
}

/// The spans of `trace_id` the collector has, once `done` says they are all there (flushing
/// the exporter between looks).
async fn spans_of(trace_id: &str, what: &str, done: impl Fn(&[Exported]) -> bool) -> Vec<Exported> {
    let (collector, telemetry) = collector();
    eventually(what, || async {
        telemetry.flush().await;
        let spans: Vec<Exported> = collector
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect();
        done(&spans).then_some(spans)
    })
    .await
}

/// `message` with the W3C trace context of a new trace; the trace id.
fn in_a_new_trace<T>(message: T) -> (tonic::Request<T>, String) {
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let mut request = tonic::Request::new(message);
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01")
        .parse()
        .unwrap();
    request.metadata_mut().insert("traceparent", traceparent);
    (request, trace_id)
}

fn rpc<'a>(spans: &'a [Exported], method: &str) -> Option<&'a Exported> {
    spans
        .iter()
        .find(|span| span.name == "rpc" && span.method.ends_with(method))
}

backend_tests!(a_call_and_the_deliveries_it_causes_are_one_trace_across_the_services);

async fn a_call_and_the_deliveries_it_causes_are_one_trace_across_the_services(backend: Backend) {
    collector();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stack = Stack::start_with(StackStart::new(backend)).await.unwrap();
    let to_notifications = Endpoint::from_shared(format!("http://{}", stack.notifications.addr))
        .unwrap()
        .connect_lazy();
    let events = EventsHandle::start_with(
        &stack.members,
        listener,
        rendezvous_testkit::events_settings(),
        Some(to_notifications),
    )
    .await
    .unwrap();
    let [host, anna, bruno] = stack
        .members
        .register_all(["Hana", "Anna", "Bruno"])
        .await
        .unwrap();
    connect(&anna, &bruno).await.unwrap();
    let as_host = events.events_with_token(&host.access_token);
    let as_anna = events.events_with_token(&anna.access_token);
    let start = Utc::now() + chrono::Duration::days(7);
    let event = pb::Event {
        title: "Café networking".to_owned(),
        kind: pb::EventKind::Coffee.into(),
        venue: Some(pb::Venue {
            name: "Café Saint-Paul".to_owned(),
            address: "12 rue Saint-Paul, 75004 Paris".to_owned(),
            latitude: 48.8540,
            longitude: 2.3620,
        }),
        city: "Paris".to_owned(),
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(start + chrono::Duration::minutes(90))),
        time_zone: "Europe/Paris".to_owned(),
        capacity: 10,
        visibility: pb::EventVisibility::Public.into(),
        ..Default::default()
    };
    let event = create_event(&as_host, event).await.unwrap();
    publish_event(&as_host, &event.id).await.unwrap();
    for member in [&anna, &bruno] {
        events
            .events_with_token(&member.access_token)
            .rsvp(pb::RsvpRequest {
                event_id: event.id.clone(),
                intent: pb::RsvpIntent::Going.into(),
                visibility: pb::RsvpVisibility::Public.into(),
            })
            .await
            .unwrap();
    }

    // A call to events that calls members: one trace, each service under its own name.
    let (request, trace) = in_a_new_trace(pb::GetAttendanceSummaryRequest {
        event_id: event.id.clone(),
    });
    as_anna
        .clone()
        .get_attendance_summary(request)
        .await
        .unwrap();
    let spans = spans_of(&trace, "the summary's spans", |spans| {
        rpc(spans, "/GetAttendanceSummary").is_some() && rpc(spans, "/GetRelations").is_some()
    })
    .await;
    let summary = rpc(&spans, "/GetAttendanceSummary").unwrap();
    let relations = rpc(&spans, "/GetRelations").unwrap();
    assert_eq!(summary.service, telemetry::EVENTS, "{summary:?}");
    assert_eq!(relations.service, telemetry::MEMBERS, "{relations:?}");
    assert_eq!(
        summary.parent_span_id, "00f067aa0ba902b7",
        "the caller's span"
    );
    assert!(
        spans
            .iter()
            .all(|span| [telemetry::EVENTS, telemetry::MEMBERS].contains(&span.service.as_str())),
        "{spans:#?}"
    );
    attendance_summary(&as_anna, &event.id).await.unwrap();

    // Once the outbox is empty, an update tells both attendees through it: its delivery to
    // notifications continues the update's trace.
    eventually("the events outbox drained", || async {
        (pending_count(&events.db).await.unwrap() == 0).then_some(())
    })
    .await;
    let later = start + chrono::Duration::hours(1);
    let (request, trace) = in_a_new_trace(pb::UpdateEventRequest {
        event: Some(pb::Event {
            id: event.id.clone(),
            start_time: Some(timestamp(later)),
            end_time: Some(timestamp(later + chrono::Duration::minutes(90))),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["start_time".to_owned(), "end_time".to_owned()],
        }),
    });
    as_host.clone().update_event(request).await.unwrap();
    let spans = spans_of(&trace, "the update's delivery", |spans| {
        rpc(spans, "/Deliver").is_some() && spans.iter().any(|span| span.name == "outbox_delivery")
    })
    .await;
    let update = rpc(&spans, "/UpdateEvent").unwrap();
    let delivery = spans
        .iter()
        .find(|span| span.name == "outbox_delivery")
        .unwrap();
    let deliver = rpc(&spans, "/Deliver").unwrap();
    assert_eq!(update.service, telemetry::EVENTS, "{update:?}");
    assert_eq!(delivery.service, telemetry::EVENTS, "{delivery:?}");
    assert_eq!(deliver.service, telemetry::NOTIFICATIONS, "{deliver:?}");
    assert_eq!(
        delivery.parent_span_id, update.span_id,
        "the delivery continues the call that wrote its rows"
    );
    assert_eq!(
        deliver.parent_span_id, delivery.span_id,
        "notifications continues the delivery"
    );
    assert!(delivery.linked_traces.is_empty(), "{delivery:?}");

    events.stop().await.unwrap();
    stack.stop().await.unwrap();
}
