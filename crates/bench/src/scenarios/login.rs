//! `login`: sign-ins of seeded members with their password. Each is one argon2id check with
//! the service's own parameters (m = 19 MiB, t = 2), which is the point of the hash: the
//! baseline is the same check done raw in this process, one at a time per core with memory
//! kept from one check to the next (what members does, without gRPC, the database lookup
//! and the sign-in budget).

use std::sync::Arc;

use rendezvous_members::domain::password;
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;

use super::{Clients, Ctx};
use crate::load::{self, Failure};
use crate::report::Report;
use crate::seed::PASSWORD;

pub async fn run(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let hash = Arc::new(
        tokio::task::spawn_blocking(|| password::hash(PASSWORD, &mut password::Memory::new()))
            .await?
            .map_err(|error| anyhow::anyhow!("hashing: {error}"))?,
    );
    let emails: Arc<Vec<String>> = Arc::new(ctx.members.iter().map(|m| m.email.clone()).collect());
    // The machine's own limit: the check on one thread per core, each with memory it keeps
    // (as members does it, less gRPC, the database and the rate limits).
    let hashing = password::Hashing::per_core();
    for _ in 0..sizes.runs {
        let (hash, hashing) = (Arc::clone(&hash), hashing.clone());
        let figures = ctx
            .watched_baseline(
                None,
                load::run(
                    "raw argon2 verify",
                    sizes.logins,
                    sizes.in_flight,
                    move |_| {
                        let (hash, hashing) = (Arc::clone(&hash), hashing.clone());
                        async move {
                            let ok = hashing
                                .run(move |memory| password::verify(PASSWORD, &hash, memory))
                                .await
                                .unwrap_or(false);
                            if ok {
                                Ok(1)
                            } else {
                                Err(Failure("mismatch".to_owned()))
                            }
                        }
                    },
                ),
            )
            .await;
        report.add(ctx.measure("login", "raw argon2 verify", true, "sign-ins/s", figures));

        let clients = Clients::new(sizes.connections, || {
            Ok(MemberServiceClient::new(ctx.stack.members.channel()?))
        })?;
        let emails = Arc::clone(&emails);
        let figures = ctx
            .watched(load::run(
                "login",
                sizes.logins,
                sizes.in_flight,
                move |i| {
                    let mut client = clients.get(i);
                    let email = emails[usize::try_from(i).unwrap_or(0) % emails.len()].clone();
                    async move {
                        client
                            .login(members_pb::LoginRequest {
                                email,
                                password: PASSWORD.to_owned(),
                            })
                            .await?;
                        Ok(1)
                    }
                },
            ))
            .await?;
        report.add(ctx.measure("login", "Login", false, "sign-ins/s", figures));
    }
    Ok(())
}
