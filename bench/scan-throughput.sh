#!/usr/bin/env bash
# Throughput of the leaked-key scanner beside ripgrep on a large tree nobody here wrote
# (default: the cargo registry sources). Prints numbers; the only assertion is that the
# default mode reports nothing on that tree (exit 1 otherwise).
#
#   bash bench/scan-throughput.sh [TREE]      # builds crates/fichier-scan/examples/scan_tree
#   SCAN_BIN=path/to/scan_tree bash bench/scan-throughput.sh [TREE]
#
# Each command runs once to warm the page cache, then RUNS times; the best wall time counts.
# Both tools scan hidden files, respect ignore files the same way (only inside git repos),
# skip binary files, and use every CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE="${1:-$HOME/.cargo/registry/src}"
RUNS="${RUNS:-5}"
[[ -d "$TREE" ]] || { echo "no tree at $TREE" >&2; exit 2; }
command -v rg >/dev/null || { echo "ripgrep missing: apt-get install -y ripgrep" >&2; exit 2; }

if [[ -z "${SCAN_BIN:-}" ]]; then
    cargo build --release -p fichier-scan --example scan_tree --quiet
    SCAN_BIN="${CARGO_TARGET_DIR:-target}/release/examples/scan_tree"
fi
SCAN="$SCAN_BIN"
[[ -x "$SCAN" ]] || { echo "no scanner binary at $SCAN" >&2; exit 2; }
KEY_SHAPE='[A-Za-z0-9_=-]{32}'

# best_of CMD...: prints the best wall time in seconds over RUNS runs (after one warm-up).
best_of() {
    "$@" >/dev/null 2>&1 || true
    local best=""
    for _ in $(seq "$RUNS"); do
        local t0 t1 dt
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s.%N)
        dt=$(echo "$t1 - $t0" | bc -l)
        if [[ -z "$best" ]] || (( $(echo "$dt < $best" | bc -l) )); then best=$dt; fi
    done
    printf '%.3f' "$best"
}

files=$(rg --hidden --files "$TREE" | wc -l)
bytes=$(du -sb "$TREE" | cut -f1)
echo "tree: $TREE ($files files, $((bytes / 1048576)) MiB on disk), $(nproc) CPUs, best of $RUNS runs"

# Correctness first: the default mode must report nothing on code nobody here wrote.
set +e
"$SCAN" "$TREE" >/tmp/scan-bench-findings.txt 2>/tmp/scan-bench-summary.txt
status=$?
set -e
sed 's/^/  scanner: /' /tmp/scan-bench-summary.txt
if [[ $status -ne 0 ]]; then
    echo "FAIL: the scanner reported findings (exit $status) on $TREE:" >&2
    head -20 /tmp/scan-bench-findings.txt >&2
    exit 1
fi
strict_count=$("$SCAN" --strict "$TREE" 2>/dev/null | wc -l || true)
rg_lines=$(rg --hidden --no-messages -c -e "$KEY_SHAPE" "$TREE" | awk -F: '{n += $NF} END {print n + 0}')

t_scan=$(best_of "$SCAN" "$TREE")
t_strict=$(best_of "$SCAN" --strict "$TREE")
t_rg=$(best_of rg --hidden --no-messages -c -e "$KEY_SHAPE" "$TREE")
t_rg_word=$(best_of rg --hidden --no-messages -c -i -e fichier "$TREE")

ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
echo
printf '%-48s %8s  %s\n' "command" "seconds" "vs rg key shape"
printf '%-48s %8s  %s\n' "rg --hidden -c '$KEY_SHAPE'" "$t_rg" "1.00x  ($rg_lines matching lines)"
printf '%-48s %8s  %s\n' "rg --hidden -c -i fichier" "$t_rg_word" "$(ratio "$t_rg_word" "$t_rg")x"
printf '%-48s %8s  %s\n' "scan_tree (default mode)" "$t_scan" "$(ratio "$t_scan" "$t_rg")x  (0 findings; target <= 2x)"
printf '%-48s %8s  %s\n' "scan_tree --strict (every candidate judged)" "$t_strict" "$(ratio "$t_strict" "$t_rg")x  ($strict_count strict-only findings)"
