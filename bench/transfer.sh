#!/usr/bin/env bash
# Transfer benchmarks of `fichier upload` / `fichier download` against fichier-emu on loopback,
# beside curl doing the same transfers to the same emulator. Prints numbers; asserts nothing.
#
#   bash bench/transfer.sh                 # everything (needs ~15 GB of free disk for the 4 GiB run)
#   SIZE_MIB=256 RSS_MIB=0 bash bench/transfer.sh   # smaller, skip the 4 GiB RSS run
#   ONLY=small bash bench/transfer.sh      # one part: big | rss | segments | small
#
# Parts:
#   big       1 GiB upload and download: fichier wall time over curl wall time (target <= 1.15)
#   rss       peak RSS of fichier moving a 4 GiB file each way (target < 64 MiB)
#   segments  per-connection cap on the emulator: download time with 1 vs 4 segments
#             (target speed-up >= 3.2)
#   small     1000 files of 4 KiB-1 MiB uploaded with -j 4: files/s, API calls per file
#
# FICHIER_BIN / FICHIER_EMU_BIN may point at prebuilt binaries; otherwise a release build is
# made. The CLI runs with FICHIER_TEST_PACER=1 (no 500 ms gap between API calls; honoured only
# for loopback URLs), because the emulator's limits are off: the API-call counts are what the
# real pacer would space out.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${SIZE_MIB:-1024}"
RSS_MIB="${RSS_MIB:-4096}"
SEG_MIB="${SEG_MIB:-96}"
SEG_CAP="${SEG_CAP:-8388608}"   # bytes/s per connection for the segments part
SMALL_N="${SMALL_N:-1000}"
ONLY="${ONLY:-all}"

need() { command -v "$1" >/dev/null || { echo "error: $1 not found ($2)" >&2; exit 2; }; }
need curl "install curl"
need python3 "install python3"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }

. bench/lib.sh
bench_binaries
bench_workdir "${BENCH_TMP:-/tmp}/fichier-bench.XXXXXX"
export FICHIER_TEST_PACER=1
bench_emulator bench@example.com
export FICHIER_API_URL="$BASE/v1/"
FB=("$FICHIER_BIN" --api-key-file "$WORK/key")
F() { "${FB[@]}" "$@"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
# /usr/bin/time -v: wall seconds and max RSS (KiB) of one command.
timed() {
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/cmd.err" || {
    cat "$WORK/cmd.err" >&2; return 1; }
  python3 - "$WORK/time.txt" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time.*: (.*)", t).group(1).split(":")
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{wall:.2f} {rss}")
PY
}
api_calls() { "$EMU" log --data-dir "$WORK/emu" --limit 1000000 --json | python3 -c "
import sys, json
n = {'api': 0, 'node': 0, 'download': 0}
for line in sys.stdin:
    e = json.loads(line)['endpoint']
    n['api' if '/' in e else ('download' if e == 'download' else 'node')] += 1
print(n['api'], n['node'], n['download'])"; }

curl_upload() { # file -> prints link
  local srv node id
  srv=$(curl -s "$BASE/v1/upload/get_upload_server.cgi")
  node=$(echo "$srv" | json "['url']"); id=$(echo "$srv" | json "['id']")
  curl -s -o /dev/null -H "Authorization: Bearer $KEY" -F "file[]=@$1" -F did=0 \
    "http://$node/upload.cgi?id=$id"
  curl -s -H 'JSON: 1' "http://$node/end.pl?xid=$id" | json "['links'][0]['download']"
}
curl_download() { # link file
  local tok
  tok=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"url\":\"$1\"}" "$BASE/v1/download/get_token.cgi" | json "['url']")
  curl -sf -o "$2" "$tok"
}

if [ "$ONLY" = all ] || [ "$ONLY" = big ]; then
  echo "== ${SIZE_MIB} MiB upload and download (fichier vs curl, same emulator)"
  head -c "$((SIZE_MIB * 1048576))" /dev/urandom > "$WORK/big.bin"
  t0=$(now); LINK=$(curl_upload "$WORK/big.bin"); t1=$(now)
  CURL_UP=$(secs "$t0" "$t1")
  read -r FUP FUP_RSS < <(timed "${FB[@]}" upload "$WORK/big.bin" /bench --force)
  t0=$(now); curl_download "$LINK" "$WORK/curl.out"; t1=$(now)
  CURL_DOWN=$(secs "$t0" "$t1"); rm -f "$WORK/curl.out"
  mkdir -p "$WORK/d1" "$WORK/d3"
  read -r FD1 FD1_RSS < <(timed "${FB[@]}" download "$LINK" -o "$WORK/d1" --segments 1)
  read -r FD3 FD3_RSS < <(timed "${FB[@]}" download "$LINK" -o "$WORK/d3")
  read -r FDN FDN_RSS < <(timed "${FB[@]}" download "$LINK" -o "$WORK/dn" --segments 1 --no-verify)
  cmp -s "$WORK/big.bin" "$WORK/d3/big.bin" || echo "error: downloaded bytes differ" >&2
  rm -rf "$WORK/d1" "$WORK/d3" "$WORK/dn"
  echo "upload    curl ${CURL_UP}s  fichier ${FUP}s (verified)        ratio $(ratio "$FUP" "$CURL_UP")  rss ${FUP_RSS} KiB"
  echo "download  curl ${CURL_DOWN}s  fichier ${FD1}s (1 conn, verified)  ratio $(ratio "$FD1" "$CURL_DOWN")  rss ${FD1_RSS} KiB"
  echo "download  curl ${CURL_DOWN}s  fichier ${FD3}s (3 conns, verified) ratio $(ratio "$FD3" "$CURL_DOWN")  rss ${FD3_RSS} KiB"
  echo "download  curl ${CURL_DOWN}s  fichier ${FDN}s (1 conn, --no-verify) ratio $(ratio "$FDN" "$CURL_DOWN")"
  rm -f "$WORK/big.bin"
fi

if { [ "$ONLY" = all ] || [ "$ONLY" = rss ]; } && [ "$RSS_MIB" -gt 0 ]; then
  echo "== peak RSS moving a ${RSS_MIB} MiB file"
  head -c "$((RSS_MIB * 1048576))" /dev/urandom > "$WORK/huge.bin"
  read -r RUP RUP_RSS < <(timed "${FB[@]}" --json upload "$WORK/huge.bin" /rss)
  rm -f "$WORK/huge.bin"
  read -r RDN RDN_RSS < <(timed "${FB[@]}" download /rss/huge.bin -o "$WORK/r")
  rm -rf "$WORK/r"
  echo "upload    ${RUP}s  max RSS $((RUP_RSS / 1024)) MiB"
  echo "download  ${RDN}s  max RSS $((RDN_RSS / 1024)) MiB (3 segments, verified)"
fi

if [ "$ONLY" = all ] || [ "$ONLY" = segments ]; then
  echo "== segmented download, emulator capped at $((SEG_CAP / 1048576)) MiB/s per connection"
  head -c "$((SEG_MIB * 1048576))" /dev/urandom > "$WORK/seg.bin"
  F upload "$WORK/seg.bin" /seg >/dev/null 2>&1
  printf '{"rules":[],"download_bytes_per_sec":%s}\n' "$SEG_CAP" > "$WORK/plan.json"
  "$EMU" faults load --data-dir "$WORK/emu" "$WORK/plan.json" >/dev/null
  sleep 1.5   # the running server picks the plan up within a second
  read -r S1 _ < <(timed "${FB[@]}" download /seg/seg.bin -o "$WORK/s1" --segments 1)
  read -r S4 _ < <(timed "${FB[@]}" download /seg/seg.bin -o "$WORK/s4" --segments 4)
  "$EMU" faults clear --data-dir "$WORK/emu" >/dev/null
  cmp -s "$WORK/seg.bin" "$WORK/s4/seg.bin" || echo "error: segmented bytes differ" >&2
  rm -rf "$WORK/s1" "$WORK/s4" "$WORK/seg.bin"
  echo "${SEG_MIB} MiB: 1 segment ${S1}s, 4 segments ${S4}s, speed-up $(ratio "$S1" "$S4")x"
  sleep 1.5
fi

if [ "$ONLY" = all ] || [ "$ONLY" = small ]; then
  echo "== ${SMALL_N} small files (4 KiB - 1 MiB) uploaded with -j 4"
  python3 - "$WORK/small" "$SMALL_N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
for i in range(n):
    d = os.path.join(root, f"d{i % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:04}.bin"), "wb") as f:
        f.write(os.urandom(random.randint(4096, 1 << 20)))
PY
  TOTAL=$(du -sb "$WORK/small" | cut -f1)
  read -r A0 N0 D0 < <(api_calls)
  read -r SW _ < <(timed "${FB[@]}" upload -r "$WORK/small" /small -j 4)
  sleep 1.2   # the log is flushed to the store asynchronously
  read -r A1 N1 D1 < <(api_calls)
  python3 - "$SMALL_N" "$SW" "$((A1 - A0))" "$((N1 - N0))" "$TOTAL" <<'PY'
import sys
n, wall, api, node, total = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"{n} files ({total/1e6:.0f} MB) in {wall:.2f}s: {n/wall:.0f} files/s, {total/1e6/wall:.0f} MB/s")
print(f"API calls: {api} ({api/n:.3f} per file); upload-node requests: {node} ({node/n:.3f} per file)")
print(f"with the default 500 ms pacer gap the API calls alone need >= {api*0.5:.0f}s ({n/max(api*0.5,wall):.1f} files/s)")
PY
  rm -rf "$WORK/small"
fi
