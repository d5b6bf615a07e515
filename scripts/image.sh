#!/usr/bin/env bash
# The operator's OCI image (or the simulator's), built without a Docker daemon: a static musl
# binary and umoci. The Dockerfile runs the `rootfs` step of this script, so that both ways build
# the same binary and the same root filesystem.
#
#   scripts/image.sh [image] [--component operator|sim] [--output FILE] [--load]
#       build the release binary and write an OCI archive (a tar of an OCI image layout) to FILE
#       (default target/image/<binary>-<version>.oci.tar, tagged <version>); --load then
#       imports it into containerd's k8s.io namespace as <name>:<version>
#   scripts/image.sh rootfs [--component operator|sim] DIR
#       build the release binary and lay out the image's root filesystem in DIR (an empty or new
#       directory): the binary, CA certificates, /etc/passwd and /etc/group; nothing else
#
# Environment:
#   SOURCE_DATE_EPOCH     time of every file, of the image's `created` and of its history
#                         (default: the commit time of HEAD), so that the same binary gives the
#                         same layer and image digests
#   VPCEP_IMAGE_NAME      image name for --load (default ghcr.io/vpcep-operator/<binary>, the name
#                         deploy/base/kustomization.yaml uses)
#   CONTAINERD_ADDRESS    containerd's socket for --load (default /run/containerd/containerd.sock;
#                         ctr's own variable)
#
# Needs (installed with apt-get when run as root, else named in the error): musl-tools (ring
# compiles C for the musl target), ca-certificates, binutils (readelf), and for images jq and
# umoci; the musl target of the rustup toolchain (added with rustup); ctr (containerd) for
# --load only, which this script does not install or start.
set -euo pipefail
# Relative paths in the arguments are the caller's.
readonly CALLER_DIR=$PWD
cd "$(dirname "$0")/.."

readonly TARGET=x86_64-unknown-linux-musl
readonly CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# distroless' `nonroot`: deploy/base/deployment.yaml runs as this user and group.
readonly NONROOT_ID=65532

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Prerequisites

package_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

# install_packages PKG...: apt-get install whatever of PKG is missing (as root), else fail with
# the list.
install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    package_installed "$pkg" || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] ||
    die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
}

install_musl_target() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
  if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    command -v rustup >/dev/null ||
      die "the Rust target $TARGET is missing and rustup is not here to add it"
    log "rustup target add $TARGET"
    rustup target add "$TARGET" >&2 || die "rustup target add $TARGET failed"
  fi
}

# ---------------------------------------------------------------------------------------------
# The binary and the root filesystem

# package_field FIELD: a field of the component's package from `cargo metadata` (version,
# description, license, ...).
package_field() {
  cargo metadata --no-deps --format-version 1 --locked |
    jq -er --arg pkg "$PACKAGE" --arg field "$1" '.packages[] | select(.name == $pkg) | .[$field]'
}

# build_binary: the static release binary at target/$TARGET/release/$BINARY.
build_binary() {
  log "cargo build --release --target $TARGET -p $PACKAGE --bin $BINARY"
  # ring compiles C: Debian's musl-gcc wraps gcc with musl's headers and libc. Symbols are
  # stripped (nobody debugs in the image); the musl target links statically by default.
  CC_x86_64_unknown_linux_musl=musl-gcc CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked --target "$TARGET" -p "$PACKAGE" --bin "$BINARY" >&2 ||
    die "cargo build failed"
  BINARY_PATH=${CARGO_TARGET_DIR:-target}/$TARGET/release/$BINARY
  # A dynamic binary would start nowhere in an image without a libc.
  if readelf -lW "$BINARY_PATH" | grep -q 'INTERP'; then
    die "$BINARY_PATH is dynamically linked (it has a program interpreter)"
  fi
}

# lay_out_rootfs DIR: the image's files in DIR, every one owned by root, at SOURCE_DATE_EPOCH.
lay_out_rootfs() {
  local dir=$1
  [[ ! -e $dir || -z $(ls -A "$dir") ]] || die "$dir is not empty"
  [[ -r $CA_BUNDLE ]] || die "$CA_BUNDLE is missing (Debian's ca-certificates)"
  mkdir -p "$dir/etc/ssl/certs"
  install -m 0755 "$BINARY_PATH" "$dir/$BINARY"
  install -m 0644 "$CA_BUNDLE" "$dir$CA_BUNDLE"
  # root for tools that expect it; nonroot for the process. No home or shell exists in the image.
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/:/sbin/nologin\n' \
    "$NONROOT_ID" "$NONROOT_ID" >"$dir/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$NONROOT_ID" >"$dir/etc/group"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
  find "$dir" -type d -exec chmod 0755 {} +
  find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# ---------------------------------------------------------------------------------------------
# The image

# write_image ROOTFS WORK OUTPUT: an OCI layout in WORK with one layer (ROOTFS) and the config,
# archived as OUTPUT.
write_image() {
  local rootfs=$1 work=$2 output=$3 version created layout
  version=$(package_field version)
  created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
  layout=$work/oci

  # The layer is a tar made here, not by `umoci repack`: sorted, numeric owners and fixed times
  # make it the same bytes for the same binary.
  tar --sort=name --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$rootfs" -cf "$work/layer.tar" .

  umoci init --layout "$layout"
  umoci new --image "$layout:$version"
  umoci raw add-layer --image "$layout:$version" \
    --history.created "$created" --history.created_by "scripts/image.sh" "$work/layer.tar"
  local labels=(
    "org.opencontainers.image.title=$BINARY"
    "org.opencontainers.image.description=$(package_field description)"
    "org.opencontainers.image.version=$version"
    "org.opencontainers.image.licenses=$(package_field license)"
    "org.opencontainers.image.created=$created"
    "org.opencontainers.image.source=https://github.com/vpcep-operator/vpcep-operator"
  )
  local revision
  if revision=$(git rev-parse HEAD 2>/dev/null); then
    labels+=("org.opencontainers.image.revision=$revision")
  fi
  local config_args=(--created "$created" --no-history --architecture amd64 --os linux
    --config.user "$NONROOT_ID:$NONROOT_ID")
  local word label
  for word in "${ENTRYPOINT[@]}"; do config_args+=(--config.entrypoint "$word"); done
  for label in "${labels[@]}"; do config_args+=(--config.label "$label"); done
  umoci config --image "$layout:$version" "${config_args[@]}"
  # `umoci config` writes a new config and manifest; the superseded ones go.
  umoci gc --layout "$layout"

  mkdir -p "$(dirname "$output")"
  find "$layout" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  tar --sort=name --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$layout" -cf "$output" .
  IMAGE_TAG=$version
}

readonly CONTAINERD_SOCKET=${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}

# check_containerd: before the build, so that --load fails in seconds, not after minutes.
check_containerd() {
  command -v ctr >/dev/null || die "--load needs ctr (Debian's containerd) and a running containerd"
  [[ -S $CONTAINERD_SOCKET ]] ||
    die "containerd does not run at $CONTAINERD_SOCKET (set CONTAINERD_ADDRESS to its socket)"
}

# load_image ARCHIVE: import into containerd (namespace k8s.io, where the kubelet's CRI looks).
load_image() {
  local archive=$1 name=${VPCEP_IMAGE_NAME:-ghcr.io/vpcep-operator/$BINARY}
  log "ctr -n k8s.io images import: $name:$IMAGE_TAG"
  # The archive names the image by its tag only; --base-name makes it <name>:<tag>.
  ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import --base-name "$name" "$archive" >&2 ||
    die "ctr images import failed"
}

# ---------------------------------------------------------------------------------------------

main() {
  local command=image component=operator output="" load=0 rootfs_dir=""
  if [[ ${1:-} == image || ${1:-} == rootfs ]]; then command=$1; shift; fi
  while [[ $# -gt 0 ]]; do
    case $1 in
      --component) component=${2:?--component needs operator or sim}; shift 2 ;;
      --output) output=${2:?--output needs a file}; shift 2 ;;
      --load) load=1; shift ;;
      -h | --help) usage ;;
      -*) die "unknown option $1" ;;
      *)
        [[ $command == rootfs && -z $rootfs_dir ]] || die "unexpected argument $1"
        rootfs_dir=$1; shift ;;
    esac
  done
  case $component in
    operator) PACKAGE=vpcep-operator BINARY=vpcep-operator ENTRYPOINT=(/vpcep-operator run) ;;
    sim) PACKAGE=vpcep-sim BINARY=vpcep-sim ENTRYPOINT=(/vpcep-sim) ;;
    *) die "--component is operator or sim, not $component" ;;
  esac
  if [[ $command == rootfs ]]; then
    [[ -n $rootfs_dir ]] || die "rootfs needs a directory"
    [[ -z $output && $load -eq 0 ]] || die "--output and --load are options of image, not rootfs"
    [[ $rootfs_dir == /* ]] || rootfs_dir=$CALLER_DIR/$rootfs_dir
  fi
  [[ -z $output || $output == /* ]] || output=$CALLER_DIR/$output
  [[ $load -eq 0 ]] || check_containerd
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

  local packages=(musl-tools ca-certificates binutils)
  [[ $command == image ]] && packages+=(jq umoci)
  install_packages "${packages[@]}"
  install_musl_target
  build_binary

  if [[ $command == rootfs ]]; then
    lay_out_rootfs "$rootfs_dir"
    return
  fi
  [[ -n $output ]] || output=target/image/$BINARY-$(package_field version).oci.tar
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/vpcep-image.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  lay_out_rootfs "$work/rootfs"
  write_image "$work/rootfs" "$work" "$output"
  log "wrote $output (tag $IMAGE_TAG, $(du -h "$output" | cut -f1))"
  [[ $load -eq 0 ]] || load_image "$output"
  printf '%s\n' "$output"
}

main "$@"
