//! The events service's `/metrics`, scraped over HTTP after real calls: RPCs counted by method
//! and code, admission batches, the pool, and the outbox lag while notifications is down.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::metrics::scrape;
use rendezvous_testkit::{Backend, EventsHandle, MembersHandle, Start, backend_tests, eventually};

use crate::helpers::{World, create, event, morning, published, rsvp};

const CREATE_EVENT: &str = "/rendezvous.events.v1.EventService/CreateEvent";
const RPCS: &str = "rendezvous_rpc_requests_total";

fn now0() -> DateTime<Utc> {
    morning(2027, 4, 5)
}

async fn rpcs_are_counted_by_method_and_code_in_the_service_that_answered(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(3), 10, Vis::Public).await;
    let mut nameless = event(now0() + Duration::days(3), 10, Vis::Public);
    nameless.title.clear();
    let refused = host
        .clone()
        .create_event(rendezvous_proto::events::v1::CreateEventRequest {
            event: Some(nameless),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let (_, guest) = world.member("Ama").await.unwrap();
    rsvp(&guest, &e.id).await;

    let events = scrape(world.events.metrics_addr).await.unwrap();
    let create_ok = [("method", CREATE_EVENT), ("code", "OK")];
    assert_eq!(events.value(RPCS, &create_ok), Some(1.0));
    assert_eq!(
        events.value(
            RPCS,
            &[("method", CREATE_EVENT), ("code", "INVALID_ARGUMENT")]
        ),
        Some(1.0)
    );
    let latency = events
        .value("rendezvous_rpc_duration_seconds_count", &create_ok)
        .unwrap();
    assert_eq!(latency, 1.0);
    assert!(
        events
            .value("rendezvous_rpc_duration_seconds_sum", &create_ok)
            .unwrap()
            > 0.0
    );
    // One RSVP, alone in its batch.
    assert_eq!(
        events.value("rendezvous_rsvp_admission_batch_size_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        events.value("rendezvous_rsvp_admission_batch_size_sum", &[]),
        Some(1.0)
    );
    let pool = [("database", "events")];
    let max = events
        .value("rendezvous_db_pool_max_connections", &pool)
        .unwrap();
    assert_eq!(
        max,
        if backend == Backend::Sqlite {
            4.0
        } else {
            f64::from(rendezvous_common::db::POSTGRES_POOL_SIZE)
        }
    );
    let open = events
        .value("rendezvous_db_pool_connections", &pool)
        .unwrap();
    let idle = events
        .value("rendezvous_db_pool_idle_connections", &pool)
        .unwrap();
    assert!(open >= 1.0 && open <= max && idle <= open, "{open} {idle}");

    // Members counts its own calls only: the services do not share a registry.
    let members = scrape(world.members.metrics_addr).await.unwrap();
    assert_eq!(members.value(RPCS, &create_ok), None);
    assert!(
        members.count(
            RPCS,
            &[
                ("method", "/rendezvous.members.v1.MemberService/Register"),
                ("code", "OK")
            ]
        ) >= 2.0
    );
    assert!(
        members
            .label_sets(RPCS)
            .iter()
            .flatten()
            .all(|(key, value)| key != "method" || !value.contains("events")),
    );
    world.stop().await.unwrap();
}

async fn outbox_lag_grows_while_notifications_is_down_and_counts_the_row_it_refuses(
    backend: Backend,
) {
    let clock = Clock::manual(now0());
    let mut start = Start::new(backend);
    start.clock = clock.clone();
    let members = MembersHandle::start_with(start).await.unwrap();
    // Notifications is down: nothing listens where the relay delivers.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down =
        tonic::transport::Endpoint::from_shared(format!("http://{}", gone.local_addr().unwrap()))
            .unwrap()
            .connect_lazy();
    drop(gone);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = rendezvous_events::Settings {
        tick: std::time::Duration::from_secs(3600),
        ..rendezvous_testkit::events_settings()
    };
    let events = EventsHandle::start_with(&members, listener, settings, Some(down))
        .await
        .unwrap();
    let outbox = [("outbox", "events")];
    let lag = scrape(events.metrics_addr).await.unwrap();
    assert_eq!(
        lag.value("rendezvous_outbox_pending_rows", &outbox),
        Some(0.0)
    );
    assert_eq!(
        lag.value("rendezvous_outbox_oldest_pending_age_seconds", &outbox),
        Some(0.0)
    );

    // A row no receiver could take: the relay refuses it without calling anyone.
    rendezvous_common::with_db!(&events.db, |pool| {
        sqlx::query(
            "INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at) \
             VALUES ($1, 'notifications.deliver', 'broken', 'not json', $2, $2)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(now0())
        .execute(pool)
        .await
        .unwrap()
        .rows_affected()
    });
    eventually("the refused row is counted failing", || async {
        let lag = scrape(events.metrics_addr).await.unwrap();
        (lag.value("rendezvous_outbox_failing_rows", &outbox) == Some(1.0)).then_some(())
    })
    .await;

    // An RSVP's notice waits too, and fails while the receiver is down.
    let host = members.register("Hana Host").await.unwrap();
    let client = events.events_with_token(&host.access_token);
    let e = create(&client, event(now0() + Duration::days(3), 10, Vis::Public)).await;
    crate::helpers::publish(&client, &e.id).await;
    let guest = members.register("Ama").await.unwrap();
    rsvp(&events.events_with_token(&guest.access_token), &e.id).await;
    let waiting = rendezvous_testkit::outbox_total(&events.db).await;
    assert!(waiting >= 2, "{waiting}");
    let waiting = waiting as f64;
    eventually("every waiting row has failed once", || async {
        let lag = scrape(events.metrics_addr).await.unwrap();
        (lag.value("rendezvous_outbox_failing_rows", &outbox) == Some(waiting)).then_some(())
    })
    .await;
    clock.advance(Duration::minutes(10));
    let lag = scrape(events.metrics_addr).await.unwrap();
    assert_eq!(
        lag.value("rendezvous_outbox_pending_rows", &outbox),
        Some(waiting)
    );
    let age = lag
        .value("rendezvous_outbox_oldest_pending_age_seconds", &outbox)
        .unwrap();
    assert!((600.0..601.0).contains(&age), "{age}");
    assert_eq!(lag.value("rendezvous_outbox_dead_rows", &outbox), Some(0.0));

    // Refused again at each retry, the broken row is dead-lettered after its bounded
    // attempts: counted dead, and no longer pending, failing or holding the oldest age.
    let lag = eventually("the refused row is dead-lettered", || async {
        clock.advance(Duration::hours(1));
        let lag = scrape(events.metrics_addr).await.unwrap();
        (lag.value("rendezvous_outbox_dead_rows", &outbox) == Some(1.0)).then_some(lag)
    })
    .await;
    assert_eq!(
        lag.value("rendezvous_outbox_pending_rows", &outbox),
        Some(waiting - 1.0)
    );
    assert_eq!(
        lag.value("rendezvous_outbox_failing_rows", &outbox),
        Some(waiting - 1.0)
    );
    events.stop().await.unwrap();
    members.stop().await.unwrap();
}

backend_tests!(
    rpcs_are_counted_by_method_and_code_in_the_service_that_answered,
    outbox_lag_grows_while_notifications_is_down_and_counts_the_row_it_refuses,
);
