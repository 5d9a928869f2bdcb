#!/usr/bin/env bash
# Bounded soak of the transfer engine's crash safety: ROUNDS rounds (default 20) of kill -9 at
# a random point of (a) a segmented download and (b) a tree upload, each followed by a rerun of
# the same command; then checks that the results are byte-identical and that no remote
# duplicate was left (the uploaded tree, downloaded back into an empty dir, must equal the
# source exactly: a duplicate would come back as an extra "name (ID).ext" file). Prints counts.
#
#   bash bench/soak.sh                    # 20 rounds each
#   ROUNDS=5 SOAK_MIB=16 bash bench/soak.sh
#
# Release binaries (FICHIER_BIN / FICHIER_EMU_BIN, else a release build), emulator on
# 127.0.0.1, FICHIER_TEST_PACER=1 (loopback only). Exit 1 if any round ends wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-20}"
SOAK_MIB="${SOAK_MIB:-32}"
SEG_CAP="${SEG_CAP:-8388608}"   # bytes/s per download connection, so kills land mid-transfer
TREE_FILES="${TREE_FILES:-40}"

. bench/lib.sh
bench_binaries
bench_workdir "${SOAK_TMP:-/tmp}/fichier-soak.XXXXXX"
export FICHIER_TEST_PACER=1
bench_emulator soak@example.com
unset KEY
export FICHIER_API_URL="$BASE/v1/"
F() { "$FICHIER_BIN" --api-key-file "$WORK/key" "$@"; }
# A random delay in seconds between $1 and $2 (fractional).
rand_delay() { python3 -c "import random; print(f'{random.uniform($1, $2):.3f}')"; }
# Starts fichier with "$@" in the background (the binary itself, not a shell function, so the
# SIGKILL reaches it), kills it after a random delay; prints "killed" when it was still
# running then, "finished" otherwise.
kill_at_random() {
  local lo=$1 hi=$2; shift 2
  "$FICHIER_BIN" --api-key-file "$WORK/key" "$@" > /dev/null 2>&1 &
  local pid=$!
  sleep "$(rand_delay "$lo" "$hi")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo killed
  else
    wait "$pid" 2>/dev/null || true
    echo finished
  fi
}

# --- (a) segmented download -------------------------------------------------------------
head -c "$((SOAK_MIB * 1048576))" /dev/urandom > "$WORK/big.bin"
F upload "$WORK/big.bin" /soak >/dev/null 2>&1
printf '{"rules":[],"download_bytes_per_sec":%s}\n' "$SEG_CAP" > "$WORK/plan.json"
"$EMU" faults load --data-dir "$WORK/emu" "$WORK/plan.json" >/dev/null
sleep 1.5   # the running server picks the plan up within a second
# One connection at SEG_CAP over 4 segments: the whole file takes about this long.
FULL=$(python3 -c "print($SOAK_MIB * 1048576 / $SEG_CAP / 4)")
d_killed=0; d_resumed=0; d_identical=0; d_bad=0
for r in $(seq "$ROUNDS"); do
  out="$WORK/d$r"
  mkdir -p "$out"
  state=$(kill_at_random 0.05 "$FULL" download /soak/big.bin -o "$out" --segments 4)
  [ "$state" = killed ] && d_killed=$((d_killed + 1))
  if F download /soak/big.bin -o "$out" --segments 4 > /dev/null 2> "$WORK/rerun.err"; then
    grep -q resuming "$WORK/rerun.err" && d_resumed=$((d_resumed + 1))
    if cmp -s "$WORK/big.bin" "$out/big.bin" && [ ! -e "$out/big.bin.part" ]; then
      d_identical=$((d_identical + 1))
    else
      d_bad=$((d_bad + 1)); echo "round $r: downloaded bytes differ" >&2
    fi
  else
    d_bad=$((d_bad + 1)); echo "round $r: the rerun failed:" >&2; cat "$WORK/rerun.err" >&2
  fi
  rm -rf "$out"
done
"$EMU" faults clear --data-dir "$WORK/emu" >/dev/null
sleep 1.5

# --- (b) tree upload --------------------------------------------------------------------
python3 - "$WORK/tree" "$TREE_FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
for i in range(n):
    d = os.path.join(root, f"d{i % 4}", f"e{i % 3}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:03}.bin"), "wb") as f:
        f.write(os.urandom(random.randint(1024, 3 << 20)))
PY
u_killed=0; u_identical=0; u_bad=0
for r in $(seq "$ROUNDS"); do
  state=$(kill_at_random 0.02 0.5 upload -r "$WORK/tree/" "/up/r$r" -j 2)
  [ "$state" = killed ] && u_killed=$((u_killed + 1))
  if ! F upload -r "$WORK/tree/" "/up/r$r" -j 2 > /dev/null 2> "$WORK/rerun.err"; then
    u_bad=$((u_bad + 1)); echo "round $r: the upload rerun failed:" >&2; cat "$WORK/rerun.err" >&2
    continue
  fi
  back="$WORK/back$r"
  if F download -r "/up/r$r" -o "$back" > /dev/null 2> "$WORK/dl.err" \
     && diff -r "$WORK/tree" "$back/r$r" > "$WORK/diff.txt"; then
    u_identical=$((u_identical + 1))
  else
    u_bad=$((u_bad + 1)); echo "round $r: the remote tree differs (duplicate or damage):" >&2
    head -5 "$WORK/diff.txt" "$WORK/dl.err" >&2
  fi
  rm -rf "$back"
done

echo "segmented download (${SOAK_MIB} MiB, 4 segments): $ROUNDS rounds, killed mid-transfer $d_killed, resumed $d_resumed, byte-identical $d_identical, wrong $d_bad"
echo "tree upload ($TREE_FILES files): $ROUNDS rounds, killed mid-transfer $u_killed, byte-identical without duplicates $u_identical, wrong $u_bad"
[ "$d_bad" -eq 0 ] && [ "$u_bad" -eq 0 ]
