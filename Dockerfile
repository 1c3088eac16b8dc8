# syntax=docker/dockerfile:1
# Herald in a container: build with the Rust toolchain, run on a slim
# Debian as an unprivileged user. The data directory (SQLite database,
# secrets.toml, uploads, backups) is the volume /data.
#
#   docker build -t herald:latest .
#   docker run -d -p 5000:5000 -v herald-data:/data herald:latest
#
# deploy/docker-compose.yml runs it with PostgreSQL.

# The Rust version crates/herald/link-order.txt was recorded with: its
# names carry the compiler's hash, and a match keeps idle memory low.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the build between image builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p herald \
    && install -m 0755 target/release/herald /usr/local/bin/herald

FROM debian:bookworm-slim
# Major version of the PostgreSQL client tools: `herald backup` and
# `herald restore` run pg_dump/pg_restore, which must be at least the
# server's major version (deploy/docker-compose.yml runs postgres:17).
# Debian's own client is 15, so they come from the PostgreSQL apt repository.
ARG PG_CLIENT_MAJOR=17
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_CLIENT_MAJOR}" \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 herald \
    && useradd --system --uid 10001 --gid herald --home-dir /data --no-create-home --shell /usr/sbin/nologin herald \
    && install -d -o herald -g herald -m 0700 /data
COPY --from=builder /usr/local/bin/herald /usr/local/bin/herald

ENV HERALD_DATA_DIR=/data \
    HERALD_HOST=0.0.0.0
# A herald.toml in the volume is read too (it is looked for in the working directory).
WORKDIR /data
USER herald
EXPOSE 5000
VOLUME /data
# Herald stops cleanly on SIGTERM within HERALD_SHUTDOWN_GRACE_SECONDS (10 s by default).
STOPSIGNAL SIGTERM
# Uses the default port: keep PORT unset in the container.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:5000/api/health || exit 1
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["serve"]
