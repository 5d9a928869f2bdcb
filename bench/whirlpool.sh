#!/usr/bin/env bash
# Compares the library's whirlpool speed with `rhash --whirlpool` on the same file and prints
# the ratio (rhash time / our time; >= 1.0 means we are at least as fast).
# Usage: bench/whirlpool.sh [SIZE_MIB]   (default 512). Needs rhash (apt-get install rhash).
set -euo pipefail
size_mib=${1:-512}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v rhash >/dev/null || { echo "rhash not found: apt-get install -y rhash" >&2; exit 2; }

cargo build --quiet --release -p fichier-api --example whirlpool --manifest-path "$root/Cargo.toml"
bin=$target/release/examples/whirlpool

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file=$tmp/data.bin
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
cat "$file" >/dev/null # warm the page cache so both read from memory

now() { date +%s.%N; }
best() { # best of 3 runs, seconds
  local best=""
  for _ in 1 2 3; do
    local t0 t1 d
    t0=$(now); "$@" >"$tmp/out" 2>/dev/null; t1=$(now)
    d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
  echo "$best"
}

ours=$(best "$bin" "$file")
ours_hex=$(cut -d' ' -f1 "$tmp/out")
pipe=$(best "$bin" --pipe "$file")
pipe_hex=$(cut -d' ' -f1 "$tmp/out")
theirs=$(best rhash --whirlpool "$file")
theirs_hex=$(cut -d' ' -f1 "$tmp/out" | tr 'A-F' 'a-f')

[ "$ours_hex" = "$theirs_hex" ] && [ "$pipe_hex" = "$theirs_hex" ] || {
  echo "digest mismatch: ours=$ours_hex pipe=$pipe_hex rhash=$theirs_hex" >&2; exit 1; }

mibs() { echo "scale=1; $size_mib / $1" | bc -l; }
printf 'file: %d MiB (page cache)\n' "$size_mib"
printf 'rhash --whirlpool      %6.3fs  %7s MiB/s\n' "$theirs" "$(mibs "$theirs")"
printf 'whirlpool_file         %6.3fs  %7s MiB/s  ratio %.2f\n' "$ours" "$(mibs "$ours")" "$(echo "$theirs / $ours" | bc -l)"
printf 'HashPipe (transfers)   %6.3fs  %7s MiB/s  ratio %.2f\n' "$pipe" "$(mibs "$pipe")" "$(echo "$theirs / $pipe" | bc -l)"
