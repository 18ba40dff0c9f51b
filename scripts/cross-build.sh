#!/usr/bin/env bash
# Builds glassagent for the glasses and for this machine.
#
#   scripts/cross-build.sh [--cgo] [--out DIR] [ARCH...]
#
# ARCH is any of arm64, arm (v7), amd64; default all three. Without --cgo the
# binaries are static (CGO_ENABLED=0): camera, mic, hardware H.264 (V4L2 M2M),
# AAC and Opus are pure Go, only the openh264 software fallback is left out.
# --cgo builds the variant with openh264 (its static libraries ship with
# pion/mediadevices) using Debian's cross compilers, installed when missing.
# Builds are reproducible: -trimpath, no build ID, version and commit stamped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

cgo=0
out=out
archs=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --cgo) cgo=1 ;;
    --out) out="$2"; shift ;;
    arm64|arm|amd64) archs+=("$1") ;;
    *) echo "usage: $0 [--cgo] [--out DIR] [arm64|arm|amd64]..." >&2; exit 2 ;;
  esac
  shift
done
[ "${#archs[@]}" -gt 0 ] || archs=(arm64 arm amd64)

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
ldflags="-s -w -buildid= -X main.version=${version} -X main.commit=${commit}"
mkdir -p "$out"

cross_cc() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    arm) echo arm-linux-gnueabihf ;;
    amd64) echo x86_64-linux-gnu ;;
  esac
}

for arch in "${archs[@]}"; do
  name="glassagent-linux-${arch}"
  env=(GOOS=linux GOARCH="$arch")
  [ "$arch" = arm ] && env+=(GOARM=7)
  if [ "$cgo" = 1 ]; then
    triple=$(cross_cc "$arch")
    if [ "$arch" != amd64 ] && ! command -v "${triple}-g++" >/dev/null; then
      pkg="g++-${triple}"
      echo "cross-build: installing $pkg"
      ${SUDO:-} apt-get install -y -qq "$pkg" >/dev/null
    fi
    cc="${triple}-gcc"; cxx="${triple}-g++"
    [ "$arch" = amd64 ] && { cc=gcc; cxx=g++; }
    env+=(CGO_ENABLED=1 CC="$cc" CXX="$cxx")
    name="${name}-openh264"
    ext_ldflags="$ldflags -linkmode external -extldflags -static"
  else
    env+=(CGO_ENABLED=0)
    ext_ldflags="$ldflags"
  fi
  env "${env[@]}" go build -trimpath -ldflags "$ext_ldflags" -o "$out/$name" ./cmd/glassagent
  printf '%-40s %8s KiB\n' "$out/$name" "$(( $(stat -c %s "$out/$name") / 1024 ))"
done
