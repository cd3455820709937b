# syntax=docker/dockerfile:1
# onetimeshare: multi-stage build, dependencies cached in their own layer, small non-root image.
# Checked by tests/e2e/docker.rs: hadolint, the dependency layer against the manifests, and every
# setting and subcommand used here against the binary.

# Base images pinned by version (Dependabot proposes updates). Add `@sha256:…` digests where
# your registry policy requires them; this repository's CI cannot reach a registry to take them.
FROM rust:1.95-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# 1. Dependencies only: a skeleton crate with the real manifests, so this layer is rebuilt only
#    when Cargo.toml or Cargo.lock change. Every `name = "…"` of the manifest gets a stub under
#    benches/ (cargo refuses a manifest whose [[bench]] files are missing; extra stubs are inert).
#    BuildKit cache mounts keep the crate downloads between builds.
COPY Cargo.toml Cargo.lock ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && sed -n 's/^name = "\([A-Za-z0-9_-]*\)"$/\1/p' Cargo.toml \
    | while read -r target; do echo 'fn main() {}' > "benches/$target.rs"; done \
 && cargo build --release --locked --bin onetimeshare \
 && rm -rf src benches
# 2. The application itself.
COPY src src
COPY themes themes
COPY benches benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin onetimeshare \
 && strip target/release/onetimeshare \
 && install -d -m 700 -o 10001 -g 10001 /out/data

# The binary needs only libc, libm and libgcc_s: distroless "cc" has exactly those, no shell and
# no package manager. A fixed uid/gid (10001) so volume ownership is predictable; /data is the
# one place it writes.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build /src/target/release/onetimeshare /usr/local/bin/onetimeshare
USER 10001:10001
# Host key, embedded store and encrypted blobs: keep this volume (the host key especially, or
# every client sees a changed host key after an upgrade).
VOLUME ["/data"]
ENV ONETIMESHARE_DATA_DIR=/data \
    ONETIMESHARE_SSH_ADDR=0.0.0.0:2222 \
    ONETIMESHARE_HTTP_ADDR=0.0.0.0:8080 \
    ONETIMESHARE_LOG_FORMAT=json
# SSH (senders), HTTP (recipients; put a TLS reverse proxy in front, or use --tls-cert).
EXPOSE 2222 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["onetimeshare", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["onetimeshare"]
CMD ["serve"]
