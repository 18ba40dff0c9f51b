#!/usr/bin/env bash
# Runs glassagent and ffmpeg doing the same job, one after the other in the
# same run, and prints CPU seconds and peak RSS side by side:
#   a 1280x720 30 fps synthetic picture and a 440 Hz tone, encoded to H.264 at
#   2 Mbit/s (glassagent: openh264; ffmpeg: libx264 veryfast zerolatency) and
#   AAC-LC at 128 kbit/s, published for DURATION seconds (default 30) over
#   SRT to a local listener, and over RTMP to a local nginx-rtmp.
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

ffmpeg_job() { # URL FORMAT: ffmpeg making and sending the same stream
  ffmpeg -hide_banner -loglevel error -re \
    -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t "$dur" -c:v libx264 -preset veryfast -tune zerolatency -b:v 2M -g 30 -bf 0 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ac 1 -f "$2" "$1"
}

export -f ffmpeg_job
export dur
rows=()
port=$(( 20000 + RANDOM % 20000 ))
listener "$port"
rows+=("SRT $(measure glassagent "$tmp/glassagent" stream "srt://127.0.0.1:$port" --size 1280x720 --fps 30 \
  --bitrate 2M --audio-bitrate 128k --duration "${dur}s")")
wait
listener $(( port + 1 ))
rows+=("SRT $(measure ffmpeg bash -c 'ffmpeg_job "$@"' _ "srt://127.0.0.1:$(( port + 1 ))?pkt_size=1316" mpegts)")
wait

# RTMP: both publish into the same nginx-rtmp, one after the other.
if [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  rport=$(( port + 2 ))
  cat >"$tmp/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$rport; application live { live on; } } }
CONF
  nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
  sleep 0.5
  rows+=("RTMP $(measure glassagent "$tmp/glassagent" stream "rtmp://127.0.0.1:$rport/live/ga" --size 1280x720 --fps 30 \
    --bitrate 2M --audio-bitrate 128k --duration "${dur}s")")
  rows+=("RTMP $(measure ffmpeg bash -c 'ffmpeg_job "$@"' _ "rtmp://127.0.0.1:$rport/live/ff" flv)")
fi

# WHIP: glassagent into a pion endpoint (ffmpeg 5.1 has no WHIP muxer).
go build -o "$tmp/whip-receiver" ./scripts/whip-receiver
"$tmp/whip-receiver" >"$tmp/whip.url" 2>"$tmp/whip.log" &
rx=$!
for _ in $(seq 50); do [ -s "$tmp/whip.url" ] && break; sleep 0.1; done
whip_row="WHIP $(measure glassagent "$tmp/glassagent" stream "$(cat "$tmp/whip.url")" --size 1280x720 --fps 30 \
  --bitrate 2M --audio-bitrate 64k --duration "${dur}s")"
kill "$rx"; wait "$rx" 2>/dev/null || true

printf '\n%-6s %-12s %10s %12s\n' "${dur}s" "" "CPU s" "peak RSS MB"
for ((i = 0; i < ${#rows[@]}; i += 2)); do
  read -r proto gn gc gr <<<"${rows[i]}"
  read -r _ fn fc fr <<<"${rows[i+1]}"
  printf '%-6s %-12s %10s %12s\n' "$proto" "$gn" "$gc" "$gr"
  printf '%-6s %-12s %10s %12s\n' "$proto" "$fn" "$fc" "$fr"
  awk -v p="$proto" -v gc="$gc" -v fc="$fc" -v gr="$gr" -v fr="$fr" \
    'BEGIN { printf "%-6s %-12s %10.2f %12.2f\n", p, "ratio", gc / fc, gr / fr }'
done
read -r proto gn gc gr <<<"$whip_row"
printf '%-6s %-12s %10s %12s\n' "$proto" "$gn" "$gc" "$gr"
tail -1 "$tmp/whip.log"
