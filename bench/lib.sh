# Shared setup of the benchmark scripts (sourced, not run): the binaries, a work directory
# removed on exit together with the emulator started in it, a private HOME, and the emulator
# with one account whose fake key is in "$WORK/key".

# FICHIER_BIN and EMU: the binaries given in FICHIER_BIN / FICHIER_EMU_BIN, else a release build.
bench_binaries() {
  local td="${CARGO_TARGET_DIR:-target}"
  if [ -z "${FICHIER_BIN:-}" ] || [ -z "${FICHIER_EMU_BIN:-}" ]; then
    cargo build --release -q -p fichier -p fichier-emu
  fi
  FICHIER_BIN="${FICHIER_BIN:-$td/release/fichier}"
  EMU="${FICHIER_EMU_BIN:-$td/release/fichier-emu}"
}

# WORK: a new directory from the mktemp template $1, removed on exit (the emulator stopped
# first); HOME and the XDG directories inside it, no keyring, no colour.
bench_workdir() {
  WORK="$(mktemp -d "$1")"
  EMU_PID=""
  trap bench_cleanup EXIT
  export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" \
         XDG_CACHE_HOME="$WORK/cache" FICHIER_KEYRING=none NO_COLOR=1
  mkdir -p "$HOME"
}

bench_cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null || true; rm -rf "$WORK"; }

# Creates the account $1 (its key in KEY and in "$WORK/key", mode 600), then serves the
# emulator on 127.0.0.1:0 with the remaining arguments; BASE is its URL.
bench_emulator() {
  local email="$1"
  shift
  KEY=$("$EMU" account create "$email" --data-dir "$WORK/emu")
  printf '%s\n' "$KEY" > "$WORK/key"; chmod 600 "$WORK/key"
  "$EMU" serve --data-dir "$WORK/emu" --bind 127.0.0.1:0 "$@" > "$WORK/emu.out" 2>/dev/null &
  EMU_PID=$!
  for _ in $(seq 200); do [ -s "$WORK/emu.out" ] && break; sleep 0.05; done
  BASE=$(head -n1 "$WORK/emu.out")
}
