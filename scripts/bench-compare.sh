#!/usr/bin/env bash
# Runs glassagent and ffmpeg doing the same job, one after the other in the
# same run, and prints CPU seconds and peak RSS side by side:
#   a 1280x720 30 fps synthetic picture and a 440 Hz tone, encoded to H.264 at
#   2 Mbit/s (glassagent: openh264; ffmpeg: libx264 veryfast zerolatency) and
#   AAC-LC at 128 kbit/s, published over SRT to a local listener for DURATION
#   seconds (default 30).
#
#   scripts/bench-compare.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
dur=${1:-30}
for tool in ffmpeg /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-compare: $tool missing (scripts/test-deps.sh installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/glassagent" ./cmd/glassagent

listener() { # PORT: an SRT listener that discards what it gets
  ffmpeg -hide_banner -loglevel error -f mpegts -i "srt://127.0.0.1:$1?mode=listener" -c copy -f null - 2>/dev/null &
  sleep 0.5
}

measure() { # NAME CMD...: prints "NAME cpu_s rss_mb"
  local name=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$tmp/$name.time" "$@" >/dev/null 2>"$tmp/$name.log" || {
    echo "bench-compare: $name failed:" >&2; tail -5 "$tmp/$name.log" >&2; exit 1; }
  read -r user sys rss < <(tail -1 "$tmp/$name.time")
  awk -v n="$name" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN { printf "%s %.2f %.1f\n", n, u + s, r / 1024 }'
}

port=$(( 20000 + RANDOM % 20000 ))
listener "$port"
ga=$(measure glassagent "$tmp/glassagent" stream "srt://127.0.0.1:$port" --size 1280x720 --fps 30 \
  --bitrate 2M --audio-bitrate 128k --duration "${dur}s")
wait
listener $(( port + 1 ))
ff=$(measure ffmpeg ffmpeg -hide_banner -loglevel error -re \
  -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -t "$dur" -c:v libx264 -preset veryfast -tune zerolatency -b:v 2M -g 30 -bf 0 -pix_fmt yuv420p \
  -c:a aac -b:a 128k -ac 1 -f mpegts "srt://127.0.0.1:$(( port + 1 ))?pkt_size=1316")
wait

printf '\n%-12s %10s %12s\n' "SRT ${dur}s" "CPU s" "peak RSS MB"
for row in "$ga" "$ff"; do
  read -r n c r <<<"$row"
  printf '%-12s %10s %12s\n' "$n" "$c" "$r"
done
read -r _ gc gr <<<"$ga"; read -r _ fc fr <<<"$ff"
awk -v gc="$gc" -v fc="$fc" -v gr="$gr" -v fr="$fr" \
  'BEGIN { printf "%-12s %10.2f %12.2f\n", "ratio", gc / fc, gr / fr }'
