#!/bin/bash
# Server CPU per request of one bench app and mode: the server pinned to core 0, autocannon on
# core 1 (-c 16, a 2 s warm-up, then SECONDS s measured), CPU from /proc/<pid>/stat (utime+stime).
# Run modes alternately for a same-run comparison, e.g.
#   for m in plain disabled plain disabled; do bash bench/server-cpu.sh fastify $m 4; done
# Frameworks: fastify, express (bench/lib/<framework>-app.mjs). Modes: plain, micronode, macronode,
# disabled (AUDIT_ENABLED=false). Loopback only; bounded in time.
# With a 4th argument (a directory) the server runs under --cpu-prof and leaves its profile there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw=$1; mode=$2; secs=${3:-4}; prof=${4:-}
out=$(mktemp -d)
flags=(); [ -n "$prof" ] && flags=(--cpu-prof "--cpu-prof-dir=$prof")
taskset -c 0 node "${flags[@]}" "$here/lib/serve-one.mjs" "$fw" "$mode" > "$out/port" &
pid=$!
for _ in $(seq 1 100); do [ -s "$out/port" ] && break; sleep 0.1; done
port=$(head -1 "$out/port")
ac="$here/node_modules/.bin/autocannon"
taskset -c 1 "$ac" -c 16 -d 2 "http://127.0.0.1:$port/orders/42" > /dev/null 2>&1
c0=$(awk '{print $14+$15}' "/proc/$pid/stat")
taskset -c 1 "$ac" -c 16 -d "$secs" -j "http://127.0.0.1:$port/orders/42" > "$out/ac.json" 2>/dev/null
c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
kill -TERM "$pid"; wait "$pid" || true
node -e "const r=require('$out/ac.json'); const n=r.requests.total; const tck=$(getconf CLK_TCK); console.log('$fw $mode: ' + n + ' requests, ' + Math.round(r.requests.average) + ' req/s, ' + ((($c1-$c0)*1e6/tck)/n).toFixed(1) + ' server CPU µs/request')"
rm -rf "$out"
