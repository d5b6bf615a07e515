# syntax=docker/dockerfile:1
# The operator's image, and the simulator's (`--target sim`): a static musl binary, CA
# certificates and the non-root user 65532, on an empty base (no shell, no package manager). The
# build stages run `scripts/image.sh rootfs`, so Docker builds the same binary (target, flags) and
# the same root filesystem as `scripts/image.sh` does without a Docker daemon. From the
# repository root:
#   docker build -t ghcr.io/vpcep-operator/vpcep-operator:0.1.0 .
#   docker build --target sim -t ghcr.io/vpcep-operator/vpcep-sim:0.1.0 .

# The workspace's rust-version (Cargo.toml). scripts/image.sh installs what it needs here with
# apt-get (musl-tools, ca-certificates, ...) and adds the musl target with rustup.
FROM rust:1.89-bookworm AS toolchain
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace's other members: the operator needs api and cloud (and signer); cargo reads every
# member's manifest.
COPY crates ./crates
# Cargo.toml declares the benchmark's lower bound; cargo refuses a manifest whose target is missing.
COPY benches ./benches
COPY scripts/image.sh ./scripts/image.sh
# No git history in the build context: file times are this (or --build-arg SOURCE_DATE_EPOCH).
ARG SOURCE_DATE_EPOCH=0
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}

# The caches keep downloaded crates and compiled dependencies between builds; target/ is a cache
# mount, so the root filesystem is laid out from it in the same step.
FROM toolchain AS build-operator
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/image.sh rootfs --component operator /rootfs

FROM toolchain AS build-sim
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/image.sh rootfs --component sim /rootfs

FROM scratch AS sim
COPY --from=build-sim /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/vpcep-sim"]
LABEL org.opencontainers.image.title=vpcep-sim \
      org.opencontainers.image.source=https://github.com/vpcep-operator/vpcep-operator \
      org.opencontainers.image.licenses=Apache-2.0

# The default target (last stage): the operator.
FROM scratch AS operator
COPY --from=build-operator /rootfs/ /
# The numeric user, so that runAsNonRoot can verify it without a passwd lookup;
# deploy/base/deployment.yaml runs as the same user.
USER 65532:65532
ENTRYPOINT ["/vpcep-operator", "run"]
LABEL org.opencontainers.image.title=vpcep-operator \
      org.opencontainers.image.source=https://github.com/vpcep-operator/vpcep-operator \
      org.opencontainers.image.licenses=Apache-2.0
