//! `login`: sign-ins of seeded members with their password. Each is one argon2id check with
//! the service's own parameters (m = 19 MiB, t = 2), which is the point of the hash: the
//! baseline is the same check done raw, as many at once, in this process.

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
    for _ in 0..sizes.runs {
        let hash = Arc::clone(&hash);
        let figures = ctx
            .watched_baseline(
                None,
                load::run(
                    "raw argon2 verify",
                    sizes.logins,
                    sizes.in_flight,
                    move |_| {
                        let hash = Arc::clone(&hash);
                        async move {
                            let ok = tokio::task::spawn_blocking(move || {
                                // Fresh memory each time, as the argon2 crate's own
                                // verify allocates it.
                                password::verify(PASSWORD, &hash, &mut password::Memory::new())
                            })
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
