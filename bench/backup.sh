#!/usr/bin/env bash
# Backup benchmark: `fichier backup` / `restore` / `verify` with the real pacer against
# `fichier-emu serve --limits realistic` on 127.0.0.1. Prints numbers and the targets beside
# them; exits 1 when a correctness check fails (restore not identical, verify failing, a
# duplicate left, re-hash count wrong, a flood answer).
#
#   bash bench/backup.sh                        # 10,000 files in 200 folders, 1 GiB
#   FILES=600 SIZE_MB=60 bash bench/backup.sh   # a quick run
#
# Steps:
#   first     first backup of the generated tree (odd names: spaces, accents, #, %, quotes;
#             about 1% empty files; modes 0644, 0600, 0755): wall time, API calls (the
#             summary's api_calls), calls per file, flood answers in the emulator's log
#             (target 0), peak RSS from /usr/bin/time -v (target < 128 MiB)
#   nightly   1% of the files changed, 0.5% deleted, 0.5% added, then a rerun: files
#             re-hashed (must equal changed + added), API calls, wall time
#   restore   the whole tree into an empty folder: byte-identical (diff -r) with the same
#             modes and the empty files; time
#   kill -9   KILLS (10) kills of a backup into a second destination at random points, each
#             followed by the next attempt; then one run to completion: verify exits 0 and no
#             same-name duplicate in the live tree
#
# FILES (10000), FOLDERS (FILES / 50), SIZE_MB (1024), KILLS (10); SKIP_RESTORE=1 leaves the
# restore out (one download/get_token per file: about 1.4 h for 10,000 files at the realistic
# pace, so the 10,000-file run is made with SKIP_RESTORE=1 and the restore measured on 1,000). The kills are drawn so that, together, they
# spread over about the first backup's duration: each lands in a run still doing work. FICHIER_BIN / FICHIER_EMU_BIN may point at
# prebuilt binaries; otherwise a release build is made. The key is a fake one made by the
# emulator for its own account and passed in a file.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES="${FILES:-10000}"
FOLDERS="${FOLDERS:-$(( FILES >= 100 ? FILES / 50 : 2 ))}"
SIZE_MB="${SIZE_MB:-1024}"
KILLS="${KILLS:-10}"
need() { command -v "$1" >/dev/null || { echo "error: $1 not found ($2)" >&2; exit 2; }; }
need python3 "install python3"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found (install the time package)" >&2; exit 2; }

TD="${CARGO_TARGET_DIR:-target}"
if [ -z "${FICHIER_BIN:-}" ] || [ -z "${FICHIER_EMU_BIN:-}" ]; then
  cargo build --release -q -p fichier -p fichier-emu
fi
FICHIER_BIN="${FICHIER_BIN:-$TD/release/fichier}"
EMU="${FICHIER_EMU_BIN:-$TD/release/fichier-emu}"

WORK="$(mktemp -d "${BENCH_TMP:-/tmp}/fichier-backup.XXXXXX")"
EMU_PID=""
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" \
       XDG_CACHE_HOME="$WORK/cache" FICHIER_KEYRING=none NO_COLOR=1
unset FICHIER_TEST_PACER FICHIER_API_KEY FICHIER_TEST_NOW || true
mkdir -p "$HOME"

KEY=$("$EMU" account create bench@example.com --data-dir "$WORK/emu")
printf '%s\n' "$KEY" > "$WORK/key"; chmod 600 "$WORK/key"; unset KEY
"$EMU" serve --data-dir "$WORK/emu" --bind 127.0.0.1:0 --limits realistic \
  > "$WORK/emu.out" 2>/dev/null &
EMU_PID=$!
for _ in $(seq 200); do [ -s "$WORK/emu.out" ] && break; sleep 0.05; done
export FICHIER_API_URL="$(head -n1 "$WORK/emu.out")/v1/"

F() { "$FICHIER_BIN" --api-key-file "$WORK/key" --no-progress "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.1f}')"; }
log_len() { "$EMU" log --data-dir "$WORK/emu" --limit 10000000 --json | wc -l; }
# API calls and flood answers in the emulator's log after line $1.
floods_since() { "$EMU" log --data-dir "$WORK/emu" --limit 10000000 --json | python3 -c "
import sys, json
skip = int(sys.argv[1]); api = flood = 0
for i, line in enumerate(sys.stdin):
    if i < skip: continue
    e = json.loads(line)
    if '/' in e['endpoint']:
        api += 1
        flood += e['status'] in (403, 429)
print(api, flood)" "$1"; }
# /v1 calls per endpoint after line $1, most frequent first.
endpoints_since() { "$EMU" log --data-dir "$WORK/emu" --limit 10000000 --json | python3 -c "
import sys, json, collections
skip = int(sys.argv[1]); c = collections.Counter()
for i, line in enumerate(sys.stdin):
    if i < skip: continue
    e = json.loads(line)
    if '/' in e['endpoint']: c[e['endpoint']] += 1
print(', '.join(f'{k} {v}' for k, v in c.most_common()))" "$1"; }
# A field of the JSON summary in $1.
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
FAIL=0
bad() { echo "FAIL: $*" >&2; FAIL=1; }

SRC="$WORK/src"
python3 - "$SRC" "$FILES" "$FOLDERS" "$SIZE_MB" > "$WORK/gen.txt" <<'PY'
import os, random, sys
root, n, nd, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(11)
odd = ["photo #{}", "rapport 100% {}", "l'été {}", 'dit "{}"', "naïve café {}", "a  b {}",
       "x&y {}", "Ünïcödé {}", "plain{}"]
dirs = []
for d in range(nd):
    parent = os.path.join(root, f"top {d % 10} é") if d >= 10 else root
    dirs.append(os.path.join(parent, odd[d % len(odd)].format(f"d{d}")))
for d in dirs:
    os.makedirs(d, exist_ok=True)
mean = mb * 1048576 / max(n, 1)
total = 0
for i in range(n):
    name = odd[i % len(odd)].format(i) + random.choice([".bin", ".txt", ".jpg", ""])
    p = os.path.join(dirs[i % nd], name)
    size = 0 if i % 97 == 0 else max(1, int(random.expovariate(1 / mean)))
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    total += size
    os.chmod(p, [0o644, 0o600, 0o755][i % 3])
print(total)
PY
TOTAL=$(cat "$WORK/gen.txt")
echo "tree: $FILES files in $FOLDERS folders, $((TOTAL / 1048576)) MiB (about 1% empty, odd names)"
DEST=/Bench/tree

# --- first backup -----------------------------------------------------------------------
before=$(log_len)
t0=$(now)
/usr/bin/time -v -o "$WORK/time1" "$FICHIER_BIN" --api-key-file "$WORK/key" --no-progress \
  backup "$SRC" "$DEST" --json > "$WORK/first.json" 2> "$WORK/first.err" \
  || { bad "first backup failed"; cat "$WORK/first.err" >&2; }
t1=$(now)
FIRST_SECS=$(python3 -c "print(max(2.0, $t1 - $t0))")
read -r api1 flood1 < <(floods_since "$before")
rss1=$(awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$WORK/time1")
calls1=$(field "$WORK/first.json" api_calls)
up1=$(field "$WORK/first.json" uploaded)
echo "== first backup (targets: 0 flood answers, peak RSS < 128 MiB)"
echo "wall $(secs "$t0" "$t1") s, $up1 uploaded, $calls1 API calls ($(python3 -c "print(f'{$calls1/$FILES:.2f}')") per file; emulator log: $api1 /v1 calls), $flood1 flood answers, peak RSS $rss1 MiB"
echo "calls by endpoint: $(endpoints_since "$before")"
[ "$flood1" -eq 0 ] || bad "flood answers during the first backup"

# --- nightly rerun ----------------------------------------------------------------------
python3 - "$SRC" > "$WORK/mut.txt" <<'PY'
import os, random, sys
root = sys.argv[1]
random.seed(23)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
n = len(files)
k1, k2 = max(1, n // 100), max(1, n // 200)
pick = random.sample(files, k1 + k2)
changed, deleted = pick[:k1], pick[k1:]
for p in changed:
    with open(p, "ab") as f:          # in place: same inode, new size and mtime
        f.write(os.urandom(random.randint(1, 4096)))
for p in deleted:
    os.remove(p)
for i in range(k2):
    d = os.path.dirname(random.choice(files))
    with open(os.path.join(d, f"nouveau fichier #{i} (ajouté).bin"), "wb") as f:
        f.write(os.urandom(random.randint(1, 200_000)))
print(k1, k2, k2)
PY
read -r nchg ndel nadd < "$WORK/mut.txt"
before=$(log_len)
t0=$(now)
F backup "$SRC" "$DEST" --json > "$WORK/second.json" 2> "$WORK/second.err" \
  || { bad "nightly rerun failed"; cat "$WORK/second.err" >&2; }
t1=$(now)
read -r api2 flood2 < <(floods_since "$before")
hashed2=$(field "$WORK/second.json" hashed)
echo "== nightly rerun: $nchg changed, $ndel deleted, $nadd added (target: re-hashed = changed + added)"
echo "wall $(secs "$t0" "$t1") s, $hashed2 re-hashed, $(field "$WORK/second.json" uploaded) uploaded, $(field "$WORK/second.json" versioned) versioned, $(field "$WORK/second.json" api_calls) API calls, $flood2 flood answers"
echo "calls by endpoint: $(endpoints_since "$before")"
[ "$hashed2" -eq $((nchg + nadd)) ] || bad "re-hashed $hashed2, expected $((nchg + nadd))"
[ "$flood2" -eq 0 ] || bad "flood answers during the rerun"

# --- restore ----------------------------------------------------------------------------
if [ -z "${SKIP_RESTORE:-}" ]; then
before=$(log_len)
t0=$(now)
F restore "$DEST" "$WORK/restored" > /dev/null 2> "$WORK/restore.err" \
  || { bad "restore failed"; cat "$WORK/restore.err" >&2; }
t1=$(now)
read -r api3 flood3 < <(floods_since "$before")
listing() { (cd "$1" && find . -type f -printf '%m %s %p\n' | LC_ALL=C sort); }
if diff -r "$SRC" "$WORK/restored" > "$WORK/restore.diff" \
   && diff <(listing "$SRC") <(listing "$WORK/restored") >> "$WORK/restore.diff"; then
  same="byte-identical, modes and empty files included"
else
  same="DIFFERENT"; bad "restored tree differs"; head -20 "$WORK/restore.diff" >&2
fi
echo "== restore of the whole tree"
echo "wall $(secs "$t0" "$t1") s, $api3 API calls, $flood3 flood answers: $same"
echo "calls by endpoint: $(endpoints_since "$before")"
rm -rf "$WORK/restored"
fi

# --- kill -9 at random points -----------------------------------------------------------
KDEST=/Bench/killed
killed=0
for r in $(seq "$KILLS"); do
  "$FICHIER_BIN" --api-key-file "$WORK/key" --no-progress backup "$SRC" "$KDEST" \
    > /dev/null 2>&1 &
  pid=$!
  sleep "$(python3 -c "import random; print(f'{random.uniform(0.3, 2 * $FIRST_SECS / $KILLS):.2f}')")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true; killed=$((killed + 1))
  fi
  wait "$pid" 2>/dev/null || true
done
t0=$(now)
F backup "$SRC" "$KDEST" --json > "$WORK/final.json" 2> "$WORK/final.err" \
  || { bad "the run after the kills failed"; cat "$WORK/final.err" >&2; }
t1=$(now)
if F verify "$KDEST" > "$WORK/verify.out" 2>&1; then v=0; else v=$?; bad "verify exited $v"; cat "$WORK/verify.out" >&2; fi
F ls -R --json "$KDEST" > "$WORK/kls.json"
python3 - "$WORK/kls.json" "$SRC" > "$WORK/dups.txt" <<'PY'
import json, os, sys
from collections import Counter
live = Counter()
def walk(v):
    if isinstance(v, dict):
        if v.get("type") == "file" and isinstance(v.get("path"), str):
            live[v["path"]] += 1
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
walk(json.load(open(sys.argv[1])))
live = {p: c for p, c in live.items() if "/.versions/" not in "/" + p}
dups = sum(1 for c in live.values() if c > 1)
src = sys.argv[2]
want = sum(1 for d, _, fs in os.walk(src) for f in fs if os.path.getsize(os.path.join(d, f)) > 0)
print(dups, len(live), want)
PY
read -r dups nlive nwant < "$WORK/dups.txt"
echo "== kill -9 at $KILLS random points ($killed landed mid-run), then one run to completion"
echo "final run $(secs "$t0" "$t1") s ($(field "$WORK/final.json" uploaded) uploaded), verify exit $v, $dups same-name duplicates, $nlive live files (source: $nwant non-empty)"
[ "$dups" -eq 0 ] || bad "same-name duplicates in the live tree"
[ "$nlive" -eq "$nwant" ] || bad "$nlive live files, the source has $nwant non-empty ones"

[ "$FAIL" -eq 0 ]
