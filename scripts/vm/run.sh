#!/usr/bin/env bash
# Boots Debian's own kernel in QEMU (TCG: no KVM needed) with the guest test
# binary (scripts/vm/guest) as /init. The guest loads real drivers (vivid: a
# V4L2 camera, single- and multi-planar; snd-aloop: an ALSA loopback card;
# vicodec: a stateful memory-to-memory encoder built here from Debian's
# kernel source) and runs our device code against them.
#
# Installs what it needs (apt, idempotent) and caches the kernel, its modules
# and the built vicodec under $GLASSAGENT_VM_CACHE (default .cache/vm), so a
# second run only rebuilds the test binary and boots.
#
#   scripts/vm/run.sh [-run REGEXP]     (exit status 0 only if the guest passed)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
root=$(pwd)
run_filter=""
if [ "${1:-}" = "-run" ]; then run_filter=$2; fi

sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
need=()
for p in qemu-system-x86:qemu-system-x86_64 kmod:modprobe cpio:cpio gzip:gzip xz-utils:xz gcc-12:gcc-12 make:make; do
  command -v "${p##*:}" >/dev/null || need+=("${p%%:*}")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "vm: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The kernel the distribution ships now; module ABI must match exactly, so
# never hard-code it.
resolve_kver() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\([0-9].*\)/\1/p' | awk 'NR == 1'
}
kver=$(resolve_kver)
if [ -z "$kver" ]; then
  $sudo apt-get update -qq
  kver=$(resolve_kver)
fi
[ -n "$kver" ] || { echo "vm: cannot resolve the kernel version from apt" >&2; exit 1; }
cache=${GLASSAGENT_VM_CACHE:-$root/.cache/vm}/$kver
mkdir -p "$cache"

# apt-get download as root warns that _apt cannot write here; harmless.
fetch() { (cd "$1" && shift && apt-get download -q "$@" 2>&1 | grep -v -e unsandboxed -e '^Get:' -e '^Fetched' || true); }

if [ ! -f "$cache/vmlinuz" ]; then
  rm -rf "$cache/deb" "$cache/root"
  mkdir -p "$cache/deb"
  fetch "$cache/deb" "linux-image-$kver"
  dpkg -x "$cache"/deb/linux-image-*.deb "$cache/root"
  depmod -b "$cache/root" "$kver"
  cp "$cache/root/boot/vmlinuz-$kver" "$cache/vmlinuz"
fi

# Debian ships no memory-to-memory drivers: build v4l2-mem2mem and vicodec
# out of tree from the kernel source of exactly the image's version.
if [ ! -f "$cache/m2m.ok" ]; then
  echo "vm: building vicodec for $kver (once)" >&2
  ver=$(dpkg-deb -f "$cache"/deb/linux-image-*.deb Version)
  series=${kver%%-*}; series=${series%.*}   # 6.1.0-56-amd64 -> 6.1
  common=${kver%-*}-common                  # 6.1.0-56-common
  kb=$cache/kbuild
  rm -rf "$kb"; mkdir -p "$kb/deb" "$kb/x" "$kb/m"
  fetch "$kb/deb" "linux-source-$series=$ver" "linux-headers-$kver=$ver" \
    "linux-headers-$common=$ver" "linux-kbuild-$series=$ver"
  for d in "$kb"/deb/*.deb; do dpkg -x "$d" "$kb/x"; done
  tar -xJf "$kb/x/usr/src/linux-source-$series.tar.xz" -C "$kb/x" --wildcards \
    "linux-source-$series/drivers/media/test-drivers/vicodec/*" \
    "linux-source-$series/drivers/media/v4l2-core/v4l2-mem2mem.c"
  hdr=$kb/x/usr/src/linux-headers-$kver
  # The headers' Makefile includes the -common tree by absolute path.
  sed -i "s#^include /usr/src/#include $kb/x/usr/src/#" "$hdr/Makefile"
  src=$kb/x/linux-source-$series/drivers/media
  cp "$src/v4l2-core/v4l2-mem2mem.c" "$src"/test-drivers/vicodec/*.[ch] "$kb/m/"
  printf 'obj-m := v4l2-mem2mem.o vicodec.o\nvicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o\n' >"$kb/m/Kbuild"
  make -s -C "$hdr" M="$kb/m" CC=gcc-12 -j"$(nproc)" modules 2>&1 | grep -v "Skipping BTF" || true
  mkdir -p "$cache/root/lib/modules/$kver/extra"
  cp "$kb/m/v4l2-mem2mem.ko" "$kb/m/vicodec.ko" "$cache/root/lib/modules/$kver/extra/"
  depmod -b "$cache/root" "$kver"
  rm -rf "$kb"   # 1 GB of source and headers; the two modules are all we keep
  touch "$cache/m2m.ok"
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
# Three vivid instances: single-planar, multi-planar, and one to unplug.
add_module vivid "n_devs=3 node_types=0x1,0x1,0x1 multiplanar=1,2,1"
add_module snd-aloop ""
add_module vicodec ""

CGO_ENABLED=0 go test -c -o "$stage/init" ./scripts/vm/guest
# The device binary with openh264 (static, cgo), for the end-to-end stream.
scripts/cross-build.sh --cgo --out "$work/bin" amd64 >/dev/null
cp "$work/bin/glassagent-linux-amd64-openh264" "$stage/glassagent"
[ -z "$run_filter" ] || echo "$run_filter" >"$stage/run.filter"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

# The guest reports twice: a marker on the serial console and its exit code
# through isa-debug-exit (value v exits QEMU with (v<<1)|1: pass is 1).
log=$work/console.log
set +e
timeout 420 qemu-system-x86_64 -accel tcg -smp 2 -m 1024 -nographic -no-reboot -nodefaults \
  -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -kernel "$cache/vmlinuz" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 loglevel=3 panic=-1" </dev/null >"$log" 2>&1
rc=$?
set -e
grep -aE "^(=== RUN|--- |    |ok|FAIL|PASS|VMTEST|vmtest|panic)" "$log" || cat "$log"
if [ "$rc" -ne 1 ] || ! grep -aq "^VMTEST: PASS" "$log"; then
  echo "vm: guest tests FAILED (qemu exit $rc; console above)" >&2
  exit 1
fi
echo "vm: guest tests passed (kernel $kver)"
