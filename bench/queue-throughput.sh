#!/usr/bin/env bash
# Throughput and memory of the download queue (issue #12), against the emulator on loopback:
#
#  (a) COUNT files of SIZE_MIB MiB with a per-connection bandwidth cap on the emulator: the
#      queue's total time (`fichier queue run`) vs one `fichier download` of the same files
#      with the same files-at-once and segments, vs the cap's arithmetic limit
#      (total / (connections in use x cap));
#  (b) peak RSS of `fichier daemon` working a queue of LINKS queued links (tiny files).
#
#   bash bench/queue-throughput.sh                         # 20 x 50 MiB, 10,000 links
#   COUNT=8 SIZE_MIB=20 LINKS=2000 bash bench/queue-throughput.sh
#   ONLY=throughput|rss bash bench/queue-throughput.sh
#
# Release binaries (FICHIER_BIN / FICHIER_EMU_BIN, else a release build), FICHIER_TEST_PACER=1.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-20}"
SIZE_MIB="${SIZE_MIB:-50}"
CAP="${CAP:-8388608}"        # bytes/s per download connection
JOBS="${JOBS:-3}"
SEGMENTS="${SEGMENTS:-4}"
CONNS="${CONNS:-12}"
LINKS="${LINKS:-10000}"
RSS_SECS="${RSS_SECS:-90}"
ONLY="${ONLY:-all}"

. bench/lib.sh
bench_binaries
bench_workdir "${BENCH_TMP:-/tmp}/fichier-qtp.XXXXXX"
export FICHIER_TEST_PACER=1
bench_emulator qtp@example.com
unset KEY
export FICHIER_API_URL="$BASE/v1/"
F() { "$FICHIER_BIN" --api-key-file "$WORK/key" "$@"; }
now() { date +%s.%N; }
links_of() {
  F ls --json "$1" | python3 -c 'import json,sys; [print(e["link"]) for e in json.load(sys.stdin)["entries"] if e.get("type")=="file"]'
}

if [ "$ONLY" = all ] || [ "$ONLY" = throughput ]; then
  mkdir -p "$WORK/src"
  for i in $(seq "$COUNT"); do head -c "$((SIZE_MIB * 1048576))" /dev/urandom > "$WORK/src/t$i.bin"; done
  F upload -r "$WORK/src/" /tp > /dev/null 2>&1
  (cd "$WORK/src" && sha256sum ./*.bin | sort > "$WORK/src.sha")
  rm -rf "$WORK/src"
  links_of /tp > "$WORK/links.txt"
  printf '{"rules":[],"download_bytes_per_sec":%s}\n' "$CAP" > "$WORK/plan.json"
  "$EMU" faults load --data-dir "$WORK/emu" "$WORK/plan.json" > /dev/null
  sleep 1.5
  check() { (cd "$1" && sha256sum ./*.bin | sort | cmp -s - "$WORK/src.sha") && echo identical || echo DIFFERENT; }

  mkdir -p "$WORK/q"
  F queue add --input "$WORK/links.txt" --to "$WORK/q" > /dev/null
  t0=$(now)
  F queue run -q -j "$JOBS" --segments "$SEGMENTS" --connections "$CONNS" > /dev/null
  t1=$(now)
  q_ok=$(check "$WORK/q"); rm -rf "$WORK/q"

  mkdir -p "$WORK/d"
  t2=$(now)
  # shellcheck disable=SC2046
  F download -q -o "$WORK/d" -j "$JOBS" --segments "$SEGMENTS" --connections "$CONNS" $(cat "$WORK/links.txt") > /dev/null
  t3=$(now)
  d_ok=$(check "$WORK/d"); rm -rf "$WORK/d"
  "$EMU" faults clear --data-dir "$WORK/emu" > /dev/null

  python3 - "$COUNT" "$SIZE_MIB" "$CAP" "$JOBS" "$SEGMENTS" "$CONNS" "$t0" "$t1" "$t2" "$t3" "$q_ok" "$d_ok" <<'PY'
import sys
count, size, cap, jobs, segs, conns = map(int, sys.argv[1:7])
t0, t1, t2, t3 = map(float, sys.argv[7:11])
total = count * size * 1048576
in_use = min(conns, jobs * segs)
limit = total / (in_use * cap)
q, d = t1 - t0, t3 - t2
print(f"{count} x {size} MiB, cap {cap/1048576:.0f} MiB/s per connection, -j {jobs} --segments {segs} --connections {conns}")
print(f"queue run: {q:.1f}s ({total/q/1048576:.1f} MiB/s, {sys.argv[11]}); "
      f"fichier download: {d:.1f}s ({total/d/1048576:.1f} MiB/s, {sys.argv[12]}); "
      f"arithmetic limit ({in_use} connections x cap): {limit:.1f}s")
print(f"queue / download = {q/d:.2f}; queue / limit = {q/limit:.2f}")
PY
fi

if [ "$ONLY" = all ] || [ "$ONLY" = rss ]; then
  python3 - "$WORK/tiny" "$LINKS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
# Folders of at most 4000 files: a listing returns at most 5000 entries.
for i in range(n):
    d = os.path.join(root, f"d{i // 4000}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"s{i:05d}.txt"), "w") as f:
        f.write(f"file {i}\n")
PY
  t0=$(now)
  F upload -r "$WORK/tiny/" /tiny > /dev/null 2>&1
  t1=$(now)
  rm -rf "$WORK/tiny"
  : > "$WORK/tiny.txt"
  for d in $(F ls --json /tiny | python3 -c 'import json,sys; [print(e["path"]) for e in json.load(sys.stdin)["entries"] if e.get("type")=="folder"]'); do
    links_of "$d" >> "$WORK/tiny.txt"
  done
  t2=$(now)
  F queue add --no-check --input "$WORK/tiny.txt" --to "$WORK/r" > /dev/null
  t3=$(now)
  queued=$(F queue ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  mkdir -p "$WORK/r"
  "$FICHIER_BIN" --api-key-file "$WORK/key" daemon -q --to "$WORK/r" -j 10 > /dev/null 2>&1 &
  dpid=$!
  sleep 3
  idle_like=$(awk '/VmHWM/{print $2}' "/proc/$dpid/status")
  sleep "$RSS_SECS"
  peak=$(awk '/VmHWM/{print $2}' "/proc/$dpid/status")
  kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
  done_n=$(F queue ls --json | python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["items"] if i["state"]=="done"))')
  echo "rss: $queued links queued (upload of the files $(python3 -c "print(f'{$t1-$t0:.0f}')")s, queue add --no-check $(python3 -c "print(f'{$t3-$t2:.1f}')")s)"
  echo "rss: daemon peak RSS after 3 s: $((idle_like / 1024)) MiB; after $RSS_SECS s more: $((peak / 1024)) MiB; items done by then: $done_n"
fi
