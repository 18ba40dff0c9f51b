#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing.
# Idempotent and quiet when everything is there: `make test` runs it first.
set -euo pipefail

pkgs=(
  ffmpeg            # ffprobe/ffmpeg: independent SRT/RTMP receivers and readers
  srt-tools         # srt-live-transmit: second independent SRT peer
  nginx libnginx-mod-rtmp  # nginx-rtmp: independent RTMP server
  nftables iproute2 # packet loss and outages in network namespaces
  espeak-ng sox     # speech and noise for the audio front-end tests
  file              # checks the cross-built binaries
  time              # /usr/bin/time for scripts/bench-compare.sh
  qemu-user-static  # runs the cross-built arm binaries (scripts/test-cross.sh)
  systemd           # systemd-analyze verify on configs/glassagent.service
  qemu-system-x86 kmod cpio xz-utils  # the kernel-driver tests in a VM (scripts/vm)
)
if [ "$#" -gt 0 ]; then pkgs+=("$@"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "test-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
