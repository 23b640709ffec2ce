//! How much the ImportContacts RPC costs over parsing the file alone: a 30,000-row LinkedIn
//! `Connections.csv` (the testkit's `generated_export`) against ~200 members, on SQLite (and PostgreSQL when
//! `RENDEZVOUS_TEST_POSTGRES_URL` is set). Run with
//! `cargo bench -p rendezvous-members --bench import`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::time::{Duration, Instant};

use futures::future::join_all;
use rendezvous_members::domain::contacts_csv::parse_connections_csv;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, MembersHandle, generated_export, generated_profile_url, postgres_url,
};

const ROWS: usize = 30_000;
const MEMBERS: usize = 200;
const RUNS: usize = 5;
/// Member `k` appears on data row `k * ROW_STRIDE`.
const ROW_STRIDE: usize = ROWS / MEMBERS;

/// Registers the members: a quarter with their LinkedIn URL (spelled differently from the
/// export), half with the email of their row, the rest not in the file. Returns how many the
/// import should match.
async fn register_members(stack: &MembersHandle) -> usize {
    let registrations = (0..MEMBERS).map(|k| async move {
        let row = k * ROW_STRIDE;
        let email = if k % 4 < 2 {
            format!("person.{row}@example.com")
        } else {
            format!("bench.{k}.{}@example.com", uuid::Uuid::now_v7().simple())
        };
        let response = stack
            .anonymous()
            .register(pb::RegisterRequest {
                email,
                password: "correct horse battery staple".into(),
                display_name: format!("Member {k}"),
                city: "Paris".into(),
                locale: "en".into(),
                time_zone: "Europe/Paris".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if k % 4 == 2 {
            let token = response.session.unwrap().access_token;
            stack
                .client_with_token(&token)
                .update_member(pb::UpdateMemberRequest {
                    member: Some(pb::Member {
                        id: "me".into(),
                        linkedin_url: format!(
                            "{}/",
                            generated_profile_url(row).replace("https", "HTTP")
                        ),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["linkedin_url".into()],
                    }),
                })
                .await
                .unwrap();
        }
    });
    // A few at a time: password hashing is deliberately slow.
    let registrations: Vec<_> = registrations.collect();
    let mut registrations = registrations.into_iter();
    loop {
        let batch: Vec<_> = registrations.by_ref().take(16).collect();
        if batch.is_empty() {
            break;
        }
        join_all(batch).await;
    }
    // Emails only match rows that carry one (every third); all URL members match.
    (0..MEMBERS)
        .filter(|k| {
            let row = k * ROW_STRIDE;
            (k % 4 < 2 && row.is_multiple_of(3)) || k % 4 == 2
        })
        .count()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn rows_per_sec(d: Duration) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a row count")]
    let rows = ROWS as f64;
    rows / d.as_secs_f64()
}

async fn bench(backend: Backend, csv: &[u8]) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let expected_matches = register_members(&stack).await;
    let anna = stack.register("Anna").await.unwrap();

    let mut parse = Vec::with_capacity(RUNS);
    // One unmeasured run of each warms caches, the allocator and the connections.
    parse_connections_csv(csv).unwrap();
    for _ in 0..RUNS {
        let started = Instant::now();
        let contacts = parse_connections_csv(std::hint::black_box(csv)).unwrap();
        parse.push(started.elapsed());
        assert_eq!(contacts.len(), ROWS);
    }

    let mut rpc = Vec::with_capacity(RUNS);
    for run in 0..=RUNS {
        let request = pb::ImportContactsRequest {
            csv_data: csv.to_vec(),
            send_requests: false,
            request_member_ids: Vec::new(),
            note: String::new(),
        };
        let started = Instant::now();
        let response = anna
            .client
            .clone()
            .import_contacts(request)
            .await
            .unwrap()
            .into_inner();
        if run > 0 {
            rpc.push(started.elapsed());
        }
        assert_eq!(response.total_contacts, i64::try_from(ROWS).unwrap());
        assert_eq!(response.matched.len(), expected_matches);
    }

    let (parse, rpc) = (median(parse), median(rpc));
    println!(
        "{backend:?}: {ROWS} rows, {MEMBERS} members ({expected_matches} in the file), median of {RUNS}"
    );
    println!(
        "  (a) parse_connections_csv  {:>9.2} ms  {:>10.0} rows/s",
        parse.as_secs_f64() * 1e3,
        rows_per_sec(parse)
    );
    println!(
        "  (b) ImportContacts RPC     {:>9.2} ms  {:>10.0} rows/s",
        rpc.as_secs_f64() * 1e3,
        rows_per_sec(rpc)
    );
    println!(
        "  (b)/(a)                    {:>9.2}",
        rpc.as_secs_f64() / parse.as_secs_f64()
    );
    stack.stop().await.unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let csv = generated_export(ROWS).into_bytes();
    println!(
        "Connections.csv: {ROWS} rows, {:.1} MiB",
        f64::from(u32::try_from(csv.len()).unwrap()) / (1024.0 * 1024.0)
    );
    runtime.block_on(async {
        bench(Backend::Sqlite, &csv).await;
        if postgres_url().is_some() {
            bench(Backend::Postgres, &csv).await;
        } else {
            println!("PostgreSQL: skipped (RENDEZVOUS_TEST_POSTGRES_URL is not set)");
        }
    });
}
