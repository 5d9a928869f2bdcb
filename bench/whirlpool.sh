#!/usr/bin/env bash
# Compares the library's whirlpool speed with `rhash --whirlpool` on the same file and prints
# the ratios (rhash time / our time; >= 1.0 means we are at least as fast), in wall time and
# in CPU time (user+sys; steadier than wall time on a loaded machine). Best of 3 runs each.
# Usage: bench/whirlpool.sh [SIZE_MIB]   (default 512). Needs rhash (apt-get install rhash).
set -euo pipefail
size_mib=${1:-512}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v rhash >/dev/null || { echo "rhash not found: apt-get install -y rhash" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install -y time" >&2; exit 2; }

cargo build --quiet --release -p fichier-api --example whirlpool --manifest-path "$root/Cargo.toml"
bin=$target/release/examples/whirlpool

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file=$tmp/data.bin
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
cat "$file" >/dev/null # warm the page cache so every run reads from memory

# best_of CMD...: prints "wall cpu" (seconds), the best of 3 runs each; the digest goes to $tmp/out.
best_of() {
  local bw="" bc=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>/dev/null
    read -r w u s <"$tmp/time"
    local c
    c=$(echo "$u + $s" | bc -l)
    if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; fi
    if [ -z "$bc" ] || [ "$(echo "$c < $bc" | bc -l)" = 1 ]; then bc=$c; fi
  done
  echo "$bw $bc"
}

read -r theirs_w theirs_c < <(best_of rhash --whirlpool "$file")
theirs_hex=$(cut -d' ' -f1 "$tmp/out" | tr 'A-F' 'a-f')
read -r ours_w ours_c < <(best_of "$bin" "$file")
ours_hex=$(cut -d' ' -f1 "$tmp/out")
read -r pipe_w pipe_c < <(best_of "$bin" --pipe "$file")
pipe_hex=$(cut -d' ' -f1 "$tmp/out")

if [ "$ours_hex" != "$theirs_hex" ] || [ "$pipe_hex" != "$theirs_hex" ]; then
  echo "digest mismatch: ours=$ours_hex pipe=$pipe_hex rhash=$theirs_hex" >&2
  exit 1
fi

mibs() { echo "scale=1; $size_mib / $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
printf 'file: %d MiB from the page cache; load average: %s\n' "$size_mib" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %8s %10s %8s %10s %8s\n' "" "wall s" "MiB/s" "ratio" "cpu s" "ratio"
printf '%-24s %8s %10s %8s %10s %8s\n' "rhash --whirlpool" "$theirs_w" "$(mibs "$theirs_w")" "1.00" "$theirs_c" "1.00"
printf '%-24s %8s %10s %8s %10s %8s\n' "whirlpool_file" "$ours_w" "$(mibs "$ours_w")" "$(ratio "$theirs_w" "$ours_w")" "$ours_c" "$(ratio "$theirs_c" "$ours_c")"
printf '%-24s %8s %10s %8s %10s %8s\n' "HashPipe (transfers)" "$pipe_w" "$(mibs "$pipe_w")" "$(ratio "$theirs_w" "$pipe_w")" "$pipe_c" "$(ratio "$theirs_c" "$pipe_c")"
