#!/usr/bin/env bash
# On hardware with a camera and an H.264 V4L2 memory-to-memory encoder (a
# dev board, or glasses with ffmpeg on them): glassagent and ffmpeg each
# capture 1280x720 at 30 fps from the camera, encode it on the hardware
# encoder at 2 Mbit/s and send it over SRT to a local listener, one after
# the other, for DURATION seconds; prints their CPU seconds and peak RSS.
#
#   scripts/bench-m2m.sh /dev/videoN [DURATION]
#
# Nothing here can run it (the VM's only M2M driver, vicodec, codes FWHT,
# which ffmpeg has no encoder for): it refuses, saying what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
cam=${1:?usage: scripts/bench-m2m.sh /dev/videoN [DURATION]}
dur=${2:-30}
for tool in ffmpeg /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-m2m: $tool missing" >&2; exit 1; }
done
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q h264_v4l2m2m ||
  { echo "bench-m2m: this ffmpeg has no h264_v4l2m2m encoder" >&2; exit 1; }
[ -c "$cam" ] || { echo "bench-m2m: $cam is not a device" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/glassagent" ./cmd/glassagent
"$tmp/glassagent" probe >"$tmp/probe"
if sed -n '/^Hardware encoders/,/^Software/p' "$tmp/probe" | grep -q '^  none'; then
  echo "bench-m2m: no H.264 M2M encoder here (glassagent probe):" >&2; cat "$tmp/probe" >&2; exit 1
fi

listener() { # PORT: an SRT listener that counts what it gets
  ffmpeg -hide_banner -loglevel error -f mpegts -i "srt://127.0.0.1:$1?mode=listener" -c copy -f null - 2>"$tmp/listener-$1.log" &
  sleep 0.5
}

measure() { # NAME CMD...: prints "NAME cpu_s rss_mb"
  local name=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" || {
    echo "bench-m2m: $name failed:" >&2; tail -5 "$tmp/$name.log" >&2; exit 1; }
  read -r user sys rss < <(tail -1 "$tmp/$name.time")
  awk -v n="$name" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN { printf "%-10s %8.2f %8.1f\n", n, u + s, r / 1024 }'
}

port=$(( 20000 + RANDOM % 20000 ))
echo "1280x720 30 fps from $cam, hardware H.264 at 2 Mbit/s, ${dur} s over SRT"
printf '%-10s %8s %8s\n' tool cpu_s rss_mb
listener "$port"
measure glassagent "$tmp/glassagent" stream "srt://127.0.0.1:$port" --camera "$cam" --encoder hw \
  --mic none --size 1280x720 --fps 30 --bitrate 2M --duration "${dur}s"
wait
# glassagent says whether the camera's buffers went in zero-copy.
grep -o 'input [^;)]*' "$tmp/glassagent.out" "$tmp/glassagent.log" | head -1 || true
listener $(( port + 1 ))
measure ffmpeg ffmpeg -hide_banner -loglevel error -f v4l2 -video_size 1280x720 -framerate 30 -i "$cam" \
  -t "$dur" -c:v h264_v4l2m2m -b:v 2M -g 30 -f mpegts "srt://127.0.0.1:$(( port + 1 ))?pkt_size=1316"
wait
