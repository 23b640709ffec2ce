# One multi-stage build for every Rendezvous binary. Code generation needs no protoc (protox).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p rendezvous-members -p rendezvous-events \
       -p rendezvous-notifications -p rendezvous \
 && mkdir -p /out \
 && cp target/release/rendezvous-members target/release/rendezvous-events \
       target/release/rendezvous-notifications target/release/rendezvous /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 rendezvous \
 && useradd --system --uid 10001 --gid 10001 --home /var/lib/rendezvous --create-home rendezvous \
 && mkdir -p /var/lib/rendezvous/keys && chown rendezvous:rendezvous /var/lib/rendezvous/keys
COPY --from=build /out/ /usr/local/bin/
# Numeric, so that Kubernetes' runAsNonRoot can check it (deploy/kubernetes runs 10001:10001).
USER 10001:10001
WORKDIR /var/lib/rendezvous
ENV RENDEZVOUS_LOG_FORMAT=json
# `rendezvous health <addr>` speaks grpc.health.v1; images have no grpc_health_probe.
CMD ["rendezvous", "up", "--host", "0.0.0.0"]
