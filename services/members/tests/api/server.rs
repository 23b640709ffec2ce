//! The shared server bootstrap as a client sees it: health, reflection (v1 and v1alpha), load
//! shedding, per-request deadlines and graceful shutdown.

use crate::helpers::*;
use std::time::Duration;

use futures::future::join_all;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn health_is_serving_then_not_serving_after_shutdown(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let mut health = HealthClient::new(stack.channel.clone());
    for service in [
        "",
        "rendezvous.members.v1.MemberService",
        "rendezvous.members.v1.MemberInternalService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    // Watch reports the change to NOT_SERVING as shutdown begins.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );
    let addr = stack.addr;
    stack.begin_shutdown();
    let update = watch.message().await.unwrap().unwrap();
    assert_eq!(update.status, ServingStatus::NotServing as i32);
    // The open watch stream is in flight: the drain ends once the client lets go of it.
    drop(watch);
    drop(health);
    stack.stop().await.unwrap();
    // The listener is closed once the server has drained.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

async fn an_open_stream_does_not_hold_shutdown_past_the_grace_period(backend: Backend) {
    let stack = start_with_server(backend, |s| s.shutdown_grace = Duration::from_millis(200)).await;
    let mut health = HealthClient::new(stack.channel.clone());
    let _watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), stack.stop())
        .await
        .expect("shutdown finished within the grace period")
        .unwrap();
}

async fn reflection_lists_the_services_in_v1_and_v1alpha(backend: Backend) {
    use tonic_reflection::pb::{v1, v1alpha};
    let stack = MembersHandle::start(backend).await.unwrap();

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(stack.channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"rendezvous.members.v1.MemberService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("EventService")),
        "only served services: {names:?}"
    );

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(stack.channel.clone());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "rendezvous.members.v1.MemberService".into(),
            ),
        ),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap().message_response;
    assert!(
        matches!(response, Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
        "{response:?}"
    );
    stack.stop().await.unwrap();
}

async fn requests_beyond_the_concurrency_limit_are_shed(backend: Backend) {
    let stack = start_with_server(backend, |s| s.max_concurrent_requests = 1).await;
    let member = stack.register("Anna").await.unwrap();
    // Sign-ins hash with argon2, so eight at once overlap and all but one must be refused.
    let calls = (0..8).map(|_| {
        let mut client = stack.anonymous();
        let (email, password) = (member.email.clone(), member.password.clone());
        async move { client.login(pb::LoginRequest { email, password }).await }
    });
    let results = join_all(calls).await;
    let shed = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(ok >= 1 && shed >= 1, "ok {ok}, shed {shed}: {results:?}");
    assert_eq!(ok + shed, 8);
    stack.stop().await.unwrap();
}

async fn a_request_over_the_deadline_ends_with_deadline_exceeded(backend: Backend) {
    let stack = start_with_server(backend, |s| s.request_timeout = Duration::from_millis(1)).await;
    // Registration hashes a password (tens of milliseconds): far over a 1 ms deadline.
    let status = stack
        .anonymous()
        .register(register_request("late@example.com", "Late"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    stack.stop().await.unwrap();
}

backend_tests!(
    health_is_serving_then_not_serving_after_shutdown,
    an_open_stream_does_not_hold_shutdown_past_the_grace_period,
    reflection_lists_the_services_in_v1_and_v1alpha,
    requests_beyond_the_concurrency_limit_are_shed,
    a_request_over_the_deadline_ends_with_deadline_exceeded,
);
