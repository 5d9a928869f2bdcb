#!/usr/bin/env bash
# Listing benchmark: how long back-to-back `fichier` commands wait for 1fichier's rate limits,
# with the real pacer (no FICHIER_TEST_PACER) against `fichier-emu serve --limits realistic`
# on 127.0.0.1. Prints numbers and the targets beside them; asserts nothing.
#
#   bash bench/listing.sh
#
# Measures:
#   ls twice     `fichier ls /X` twice in a row; target: second run under 1 s
#   up+down      upload a file then download it back at once; target: no wait beyond the
#                transfer (both under 2 s for a 1 MiB file)
#   mixed        20 mixed commands (ls, mkdir, upload, info, mv, rename, rm, download) back
#                to back; target: zero flood answers in the emulator's request log
#   download -r  of a 31-file folder: API calls; target: its listings plus one call per file
#
# FICHIER_BIN / FICHIER_EMU_BIN may point at prebuilt binaries; otherwise a release build is
# made. The key is a fake one made by the emulator for its own account.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null || { echo "error: $1 not found ($2)" >&2; exit 2; }; }
need python3 "install python3"

. bench/lib.sh
bench_binaries
bench_workdir "${BENCH_TMP:-/tmp}/fichier-listing.XXXXXX"
unset FICHIER_TEST_PACER FICHIER_API_KEY || true
bench_emulator bench@example.com --limits realistic
unset KEY
export FICHIER_API_URL="$BASE/v1/"

F() { "$FICHIER_BIN" --api-key-file "$WORK/key" --no-progress "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
# Runs one command quietly, prints its wall seconds; its stderr goes to $WORK/last.err.
timed() {
  local t0 t1
  t0=$(now)
  if ! F "$@" > "$WORK/last.out" 2> "$WORK/last.err"; then
    echo "command failed: fichier $*" >&2; cat "$WORK/last.err" >&2; return 1
  fi
  t1=$(now)
  secs "$t0" "$t1"
}
log_len() { "$EMU" log --data-dir "$WORK/emu" --limit 1000000 --json | wc -l; }
# API calls, node calls, downloads and flood answers logged after line $1.
calls_since() { "$EMU" log --data-dir "$WORK/emu" --limit 1000000 --json | python3 -c "
import sys, json
skip = int(sys.argv[1]); api = node = dl = flood = 0
for i, line in enumerate(sys.stdin):
    if i < skip: continue
    e = json.loads(line); ep = e['endpoint']
    if '/' in ep:
        api += 1
        flood += e['status'] in (403, 429)
    elif ep == 'download': dl += 1
    elif ep in ('upload', 'end'): node += 1
print(api, node, dl, flood)" "$1"; }

head -c 1048576 /dev/urandom > "$WORK/f1.bin"
head -c 1048576 /dev/urandom > "$WORK/f2.bin"
head -c 65536 /dev/urandom > "$WORK/a.bin"
mkdir -p "$WORK/tree/R" "$WORK/out1" "$WORK/out2" "$WORK/out3"
for i in $(seq -w 1 31); do head -c 4096 /dev/urandom > "$WORK/tree/R/r$i.bin"; done

# Setup: a folder with a file (its own waits are not measured).
F mkdir /X > /dev/null 2>&1
F upload "$WORK/f1.bin" /X > /dev/null 2>&1

echo "== ls /X twice in a row (target: second under 1 s)"
s1=$(timed ls /X); s2=$(timed -v ls /X)
echo "first ${s1}s, second ${s2}s"
grep -o 'listing of folder [0-9]* from cache, [0-9]* s old' "$WORK/last.err" | head -n1 || true

echo "== upload then download of the same 1 MiB file (target: no wait beyond the transfer)"
u=$(timed upload "$WORK/f2.bin" /X); d=$(timed download /X/f2.bin -o "$WORK/out1")
cmp -s "$WORK/f2.bin" "$WORK/out1/f2.bin" && same=identical || same=DIFFERENT
echo "upload ${u}s, download ${d}s (${same})"

echo "== 20 mixed commands back to back (target: 0 flood answers)"
before=$(log_len)
t0=$(now)
seq_cmds=(
  "ls /"                    "mkdir /B"               "upload $WORK/a.bin /B"
  "info /B/a.bin"           "ls /B"                  "mv /B/a.bin /X"
  "ls /X"                   "rename /X/a.bin a2.bin" "info /X/a2.bin"
  "download /X/a2.bin -o $WORK/out2" "mkdir /C"      "mv /X/a2.bin /C"
  "ls /C"                   "rename /C/a2.bin a3.bin" "download /C/a3.bin -o $WORK/out3"
  "rm /C/a3.bin"            "ls /C"                  "rm -r /C"
  "ls /"                    "rm -r /B"
)
n=0
for c in "${seq_cmds[@]}"; do
  # shellcheck disable=SC2086
  timed $c > /dev/null; n=$((n + 1))
done
t1=$(now)
read -r api node dl flood < <(calls_since "$before")
echo "$n commands in $(secs "$t0" "$t1")s: $api API calls, $node node calls, $dl downloads, $flood flood answers"

echo "== download -r of a 31-file folder (target: its listings plus one call per file)"
F upload -r "$WORK/tree/R" /X > /dev/null 2>&1
before=$(log_len)
t=$(timed download -r /X/R -o "$WORK/outR")
read -r api node dl flood < <(calls_since "$before")
echo "31 files in ${t}s: $api API calls ($((api - 31)) beyond one per file), $dl downloads, $flood flood answers"
