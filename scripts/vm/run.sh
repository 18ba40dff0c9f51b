#!/usr/bin/env bash
# Boots Debian's own kernel in QEMU (TCG: no KVM needed) with the guest test
# binary (scripts/vm/guest) as /init, loads real drivers (vivid: a V4L2
# camera; snd-aloop: an ALSA loopback card) and runs our device code against
# them. Installs what it needs; caches the kernel under .cache/vm, so a
# second run only rebuilds the test binary and boots (well under a minute).
#
#   scripts/vm/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

need=()
for p in qemu-system-x86:qemu-system-x86_64 kmod:modprobe cpio:cpio xz-utils:xz; do
  command -v "${p##*:}" >/dev/null || need+=("${p%%:*}")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The kernel the distribution ships now; module ABI must match exactly.
kver=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\([0-9].*\)/\1/p' | awk 'NR == 1')
[ -n "$kver" ] || { echo "vm: cannot resolve the kernel version (apt-get update?)" >&2; exit 1; }
cache=.cache/vm/$kver
if [ ! -f "$cache/vmlinuz" ]; then
  mkdir -p "$cache/deb"
  (cd "$cache/deb" && apt-get download -q "linux-image-$kver" 2>&1 | grep -v "unsandboxed" || true)
  dpkg -x "$cache"/deb/linux-image-*.deb "$cache/root"
  depmod -b "$cache/root" "$kver"
  cp "$cache/root/boot/vmlinuz-$kver" "$cache/vmlinuz"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/initramfs
mkdir -p "$stage/modules"

# Modules with their dependencies, in load order, uncompressed.
: >"$stage/modules.list"
add_module() { # NAME PARAMS
  modprobe -d "$cache/root" -S "$kver" --show-depends "$1" | while read -r cmd path rest; do
    [ "$cmd" = insmod ] || continue
    name=$(basename "$path"); name=${name%.xz}
    [ -f "$stage/modules/$name" ] && continue
    case "$path" in
      *.xz) xz -dc "$path" >"$stage/modules/$name" ;;
      *) cp "$path" "$stage/modules/$name" ;;
    esac
    params=""
    [ "${name%.ko}" = "$(echo "$1" | tr - _)" ] || [ "${name%.ko}" = "$1" ] && params="$2"
    echo "/modules/$name $params" >>"$stage/modules.list"
  done
}
add_module vivid "n_devs=1 node_types=0x1"
add_module snd-aloop ""

CGO_ENABLED=0 go test -c -o "$stage/init" ./scripts/vm/guest
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

log=$work/console.log
timeout 300 qemu-system-x86_64 -accel tcg -smp 2 -m 1024 -nographic -no-reboot -nodefaults \
  -serial stdio -kernel "$cache/vmlinuz" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 loglevel=3 panic=-1" </dev/null | tee "$log" | grep -E "^(=== RUN|--- |    |VMTEST|vmtest)" || true
grep -q "VMTEST: PASS" "$log" || { echo "vm: guest tests failed (console above)" >&2; exit 1; }
echo "vm: 1 passed, 0 failed"
