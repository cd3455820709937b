# syntax=docker/dockerfile:1
# onetimeshare: multi-stage build, dependencies cached in their own layer, small non-root image.

FROM rust:1-bookworm AS build
WORKDIR /src
# 1. Dependencies only: a skeleton crate with the real manifests, so this layer is rebuilt only
#    when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && for b in crypto claim; do echo 'fn main() {}' > benches/$b.rs; done \
 && cargo build --release --locked --bin onetimeshare \
 && rm -rf src benches
# 2. The application itself.
COPY src src
COPY themes themes
COPY benches benches
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin onetimeshare \
 && strip target/release/onetimeshare

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home onetimeshare \
 && mkdir /data && chown onetimeshare:onetimeshare /data && chmod 700 /data
COPY --from=build /src/target/release/onetimeshare /usr/local/bin/onetimeshare
USER 10001:10001
# Host key, embedded store and encrypted blobs: keep this volume (the host key especially, or
# every client sees a changed host key after an upgrade).
VOLUME ["/data"]
ENV ONETIMESHARE_DATA_DIR=/data \
    ONETIMESHARE_SSH_ADDR=0.0.0.0:2222 \
    ONETIMESHARE_HTTP_ADDR=0.0.0.0:8080 \
    ONETIMESHARE_LOG_FORMAT=json
EXPOSE 2222 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["onetimeshare", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["onetimeshare"]
CMD ["serve"]
