# syntax=docker/dockerfile:1
# The operator's image: a static musl binary on distroless (no shell, no package manager), run as
# a non-root user. Build from the repository root:
#   docker build -t ghcr.io/vpcep-operator/vpcep-operator:0.1.0 .

FROM rust:1.89-alpine AS build
# ring, the TLS crates' crypto, compiles C and assembly: it needs musl's headers and static libc.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace's other members: the operator needs api and cloud (and signer); cargo reads every
# member's manifest.
COPY crates ./crates
# Cargo.toml declares the benchmark's lower bound; cargo refuses a manifest whose target is missing.
COPY benches ./benches
# Alpine's host target is *-linux-musl, which links statically by default, so the binary needs no
# libc in the final image. Symbols are stripped: nobody debugs in the image.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
# The caches keep downloaded crates and compiled dependencies between builds; target/ is a cache
# mount, so the binary is copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vpcep-operator --bin vpcep-operator \
    && cp target/release/vpcep-operator /vpcep-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /vpcep-operator /vpcep-operator
# The numeric user of distroless' `nonroot`, so that runAsNonRoot can verify it without a passwd
# lookup; deploy/base/deployment.yaml runs as the same user.
USER 65532:65532
ENTRYPOINT ["/vpcep-operator", "run"]
