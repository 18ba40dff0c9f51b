#!/usr/bin/env bash
# Cross-builds the device binaries with scripts/cross-build.sh and checks
# them: static ELF for the right machine (file), and the arm64 and arm
# binaries run `glassagent version` under qemu-user-static.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scripts/cross-build.sh --out "$out" arm64 arm

fail=0
check() { # BINARY PATTERN...
  local info
  info=$(file -b "$1")
  for p in "${@:2}"; do
    if ! grep -q -- "$p" <<<"$info"; then
      echo "test-cross: $1: want '$p' in: $info" >&2
      fail=1
    fi
  done
}
check "$out/glassagent-linux-arm64" "ELF 64-bit" "ARM aarch64" "statically linked"
check "$out/glassagent-linux-arm" "ELF 32-bit" "ARM, EABI5" "statically linked"

run() { # QEMU BINARY
  local v
  if ! command -v "$1" >/dev/null; then
    echo "test-cross: $1 missing (qemu-user-static)" >&2
    fail=1
    return
  fi
  v=$("$1" "$2" version)
  echo "test-cross: $(basename "$2"): $v" | head -1
  grep -q "glassagent" <<<"$v" && grep -q "linux/arm" <<<"$v" && grep -q "software: no (built without cgo)" <<<"$v" || {
    echo "test-cross: unexpected version output from $2: $v" >&2
    fail=1
  }
}
run qemu-aarch64-static "$out/glassagent-linux-arm64"
run qemu-arm-static "$out/glassagent-linux-arm"
[ "$fail" = 0 ] && echo "test-cross: 2 passed, 0 failed" || { echo "test-cross: failed" >&2; exit 1; }
