#!/bin/sh
# CPU one `peershare start` costs until it is up: starts a peer N times (default 10) on a fresh
# data folder, reads its utime+stime from /proc once it has printed "Ctrl-C stops it", stops it,
# and prints each start's CPU and the min – median – max (docs/PERFORMANCE.md, "Peer start-up CPU").
# Linux only; run it from a built checkout: sh scripts/start-cpu.sh [N]
# PEERSHARE_START_HOST (default 127.0.0.91) must be a loopback address no other peer uses.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-10}
host=${PEERSHARE_START_HOST:-127.0.0.91}
tick=$(getconf CLK_TCK)
all=""
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  dir=$(mktemp -d)
  node bin/peershare.js start --host "$host" --data "$dir" --log-level warn 2>"$dir/err" &
  pid=$!
  until grep -q "Ctrl-C stops it" "$dir/err" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/err" >&2; exit 1; fi
    sleep 0.05
  done
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  all="$all $ticks"
done
echo "$all" | awk -v tick="$tick" '{ printf "CPU per start (s, in order):"; for (i = 1; i <= NF; i++) printf " %.2f", $i / tick; print "" }'
echo "$all" | tr ' ' '\n' | grep . | sort -n | awk -v tick="$tick" '
  { t[NR] = $1 / tick }
  END {
    median = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "min %.2f  median %.2f  max %.2f  (%d starts)\n", t[1], median, t[NR], NR
  }'
