#!/usr/bin/env bash
# Wall time of `fichier --help` (target < 20 ms) and `fichier --sandbox ls` (embedded emulator,
# offline). Prints numbers; asserts nothing. Uses hyperfine when installed, else a shell loop.
#
#   bash bench/cli-startup.sh            # builds the release binary first
#   FICHIER_BIN=path/to/fichier bash bench/cli-startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${FICHIER_BIN:-}" ]]; then
    cargo build --release -p fichier --quiet
    target_dir="${CARGO_TARGET_DIR:-target}"
    FICHIER_BIN="$target_dir/release/fichier"
fi
[[ -x "$FICHIER_BIN" ]] || { echo "no binary at $FICHIER_BIN" >&2; exit 2; }

# Isolated HOME/XDG dirs: the sandbox state lives in a temp dir, the real keyring is never used.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" \
       XDG_CACHE_HOME="$tmp/cache" FICHIER_KEYRING=none NO_COLOR=1
mkdir -p "$HOME"

# First sandbox run provisions the account; seed a few folders so `ls` has something to show.
"$FICHIER_BIN" --sandbox mkdir -p /Backups/2026 /Photos >/dev/null

runs=30
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs "$runs" -N \
        "$FICHIER_BIN --help" \
        "$FICHIER_BIN --sandbox ls" \
        "$FICHIER_BIN --sandbox ls -R /"
else
    for cmd in "--help" "--sandbox ls" "--sandbox ls -R /"; do
        # shellcheck disable=SC2086
        start=$(date +%s%N)
        for _ in $(seq "$runs"); do "$FICHIER_BIN" $cmd >/dev/null; done
        end=$(date +%s%N)
        echo "fichier $cmd: $(( (end - start) / runs / 1000 )) µs mean over $runs runs"
    done
fi
