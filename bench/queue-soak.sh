#!/usr/bin/env bash
# Bounded soak of the download queue (issue #12): FILES links of mixed sizes (up to MAX_MIB)
# queued, worked by `fichier daemon` through the emulator with faults (connection resets,
# truncated bodies, expired tokens, a flood lock, a burst of 503s) and a per-connection
# bandwidth cap; the daemon is killed with -9 at KILLS random moments and restarted each time.
# At the end: every file byte-identical, none duplicated, no .part left, the queue all done,
# and the emulator's log shows no request during the flood cooldown. Prints numbers.
#
#   bash bench/queue-soak.sh                     # 50 files up to 200 MiB, 20 kills
#   FILES=20 MAX_MIB=64 KILLS=10 bash bench/queue-soak.sh
#
# Release binaries (FICHIER_BIN / FICHIER_EMU_BIN, else a release build), emulator on
# 127.0.0.1, FICHIER_TEST_PACER=1 (loopback only). Exit 1 if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES="${FILES:-50}"
MAX_MIB="${MAX_MIB:-200}"
KILLS="${KILLS:-20}"
CAP="${CAP:-2097152}"            # bytes/s per download connection (kills land mid-transfer)
PAUSE_MS="${PAUSE_MS:-3000}"     # the flood lock and the runner's flood pause
TIMEOUT="${TIMEOUT:-900}"

. bench/lib.sh
bench_binaries
bench_workdir "${SOAK_TMP:-/tmp}/fichier-qsoak.XXXXXX"
export FICHIER_TEST_PACER=1 FICHIER_TEST_FLOOD_PAUSE_MS="$PAUSE_MS"
bench_emulator qsoak@example.com
unset KEY
export FICHIER_API_URL="$BASE/v1/"
F() { "$FICHIER_BIN" --api-key-file "$WORK/key" "$@"; }
OUT="$WORK/out"; mkdir -p "$OUT" "$WORK/src"

# --- files: sizes spread log-uniformly from 4 KiB to MAX_MIB (the largest is MAX_MIB) -------
python3 - "$WORK/src" "$FILES" "$MAX_MIB" <<'PY'
import math, os, random, sys
root, n, max_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(12)
lo, hi = math.log(4096), math.log(max_mib * 1048576)
for i in range(n):
    size = max_mib * 1048576 if i == 0 else int(math.exp(random.uniform(lo, hi)))
    with open(os.path.join(root, f"f{i:03d}.bin"), "wb") as f:
        left = size
        while left:
            k = min(left, 1 << 20)
            f.write(os.urandom(k)); left -= k
PY
TOTAL=$(du -cb "$WORK"/src/*.bin | tail -n1 | cut -f1)
(cd "$WORK/src" && sha256sum ./*.bin | sort > "$WORK/src.sha")
F upload -r "$WORK/src/" /qsoak > /dev/null 2>&1
F ls --json /qsoak | python3 -c 'import json,sys; [print(e["link"]) for e in json.load(sys.stdin)["entries"] if e.get("type")=="file"]' > "$WORK/links.txt"
rm -rf "$WORK/src"
F queue add --input "$WORK/links.txt" --to "$OUT" > /dev/null
echo "queued $(wc -l < "$WORK/links.txt") links, $((TOTAL / 1048576)) MiB"

# --- faults, counted from now: resets, truncation, expired tokens, a flood lock, 503s ------
cat > "$WORK/plan.json" <<JSON
{"rules":[
  {"endpoint":"download","on_call":3,"fault":{"kind":"reset","after_bytes":1048576}},
  {"endpoint":"download","on_call":11,"fault":{"kind":"reset","after_bytes":65536}},
  {"endpoint":"download","on_call":27,"fault":{"kind":"reset","after_bytes":4194304}},
  {"endpoint":"download","on_call":6,"fault":{"kind":"truncate","after_bytes":500000}},
  {"endpoint":"download","on_call":33,"fault":{"kind":"truncate","after_bytes":2000000}},
  {"endpoint":"download","on_call":8,"fault":{"kind":"expired_token"}},
  {"endpoint":"download","on_call":19,"fault":{"kind":"expired_token"}},
  {"endpoint":"download/get_token","on_call":12,"fault":{"kind":"flood_lock","lock_ms":$PAUSE_MS}},
  {"endpoint":"download/get_token","on_call":25,"times":4,"fault":{"kind":"status","status":503}}
 ],
 "download_bytes_per_sec":$CAP}
JSON
"$EMU" faults load --data-dir "$WORK/emu" "$WORK/plan.json" > /dev/null
sleep 1.5   # the running server picks the plan up within a second

# --- the daemon, killed -9 at random moments ----------------------------------------------
rand_delay() { python3 -c "import random; print(f'{random.uniform($1, $2):.3f}')"; }
start_daemon() {
  "$FICHIER_BIN" --api-key-file "$WORK/key" daemon --to "$OUT" >> "$WORK/daemon.log" 2>&1 &
  DPID=$!
}
all_done() {
  F queue ls --json | python3 -c 'import json,sys; it=json.load(sys.stdin)["items"]; sys.exit(0 if it and all(i["state"]=="done" for i in it) else 1)'
}
T0=$(date +%s.%N)
killed=0; finished_early=0
for k in $(seq "$KILLS"); do
  start_daemon
  sleep "$(rand_delay 0.3 2.5)"
  if kill -0 "$DPID" 2>/dev/null; then
    kill -9 "$DPID"; wait "$DPID" 2>/dev/null || true
    killed=$((killed + 1))
  fi
  if all_done; then finished_early=1; break; fi
done
start_daemon
deadline=$(( $(date +%s) + TIMEOUT ))
until all_done; do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "timed out" >&2; break; fi
  sleep 1
done
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true
T1=$(date +%s.%N)

# --- checks ---------------------------------------------------------------------------------
bad=0
(cd "$OUT" && sha256sum ./*.bin 2>/dev/null | sort > "$WORK/out.sha") || true
if cmp -s "$WORK/src.sha" "$WORK/out.sha"; then identical=$FILES; else
  identical=$(comm -12 "$WORK/src.sha" "$WORK/out.sha" | wc -l); bad=1
  echo "files differ or are missing" >&2
fi
present=$(find "$OUT" -maxdepth 1 -type f | wc -l)
parts=$(find "$OUT" -name '*.part*' | wc -l)
dups=$(find "$OUT" -maxdepth 1 -type f -name '*(*' | wc -l)
[ "$present" -eq "$FILES" ] && [ "$parts" -eq 0 ] && [ "$dups" -eq 0 ] || bad=1
states=$(F queue ls --json | python3 -c 'import collections,json,sys; print(dict(collections.Counter(i["state"] for i in json.load(sys.stdin)["items"])))')
all_done || bad=1
curl -s "$BASE/admin/requests" > "$WORK/requests.json"
read -r floods during calls tokens dls <<<"$(python3 - "$WORK/requests.json" "$PAUSE_MS" <<'PY'
import json, sys
log = json.load(open(sys.argv[1])); pause = int(sys.argv[2])
floods = [r["received_ms"] for r in log if r["status"] == 403 and r["endpoint"] == "download/get_token"]
first = floods[:1]
during = 0
for t0 in first:
    during += sum(1 for r in log if t0 + 200 < r.get("received_ms", 0) < t0 + pause)
api = [r for r in log if "/" in r["endpoint"]]
print(len(floods), during, len(api), sum(1 for r in api if r["endpoint"] == "download/get_token"),
      sum(1 for r in log if r["endpoint"] == "download"))
PY
)"
[ "$during" -eq 0 ] || bad=1
secs=$(python3 -c "print(f'{$T1 - $T0:.1f}')")
echo "files: $FILES ($((TOTAL / 1048576)) MiB, largest $MAX_MIB MiB); kills -9: $killed (of $KILLS planned; finished before the last: $finished_early)"
echo "byte-identical: $identical/$FILES; files present: $present; duplicates: $dups; .part left: $parts"
echo "queue states: $states"
echo "403 answers to get_token (the flood lock, plus any request inside it): $floods; requests during the ${PAUSE_MS} ms cooldown after the first: $during"
echo "API calls: $calls ($tokens get_token); download requests: $dls; wall time: ${secs}s"
exit "$bad"
