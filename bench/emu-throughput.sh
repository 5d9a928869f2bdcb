#!/usr/bin/env bash
# Upload and download throughput of a 1 GiB file through fichier-emu with curl, beside curl
# against nginx (WebDAV PUT for the upload, static GET for the download) on the same machine.
# Prints MB/s for each and the emulator/nginx ratio (target >= 0.8). Loopback only.
#
# Usage: bench/emu-throughput.sh [SIZE_MIB]   (default 1024)
# Needs: curl, nginx (apt-get install -y nginx-light), python3 (JSON parsing).
# FICHIER_EMU_BIN may point at a prebuilt binary; otherwise a release build is made.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${1:-1024}"

need() { command -v "$1" >/dev/null || { echo "error: $1 not found ($2)" >&2; exit 2; }; }
need curl "install curl"
need nginx "apt-get install -y nginx-light"
need python3 "install python3"

BIN="${FICHIER_EMU_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build --release -q -p fichier-emu
  BIN="${CARGO_TARGET_DIR:-target}/release/fichier-emu"
fi

WORK="$(mktemp -d)"
NGINX_PID=""; EMU_PID=""
cleanup() {
  [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "creating a ${SIZE_MIB} MiB test file..." >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/big.bin"
BYTES=$(stat -c %s "$WORK/big.bin")

# --- nginx on a loopback port ---
mkdir -p "$WORK/www" "$WORK/nginx/body" "$WORK/nginx/logs"
cp "$WORK/big.bin" "$WORK/www/big.bin"
# Workers run as the invoking user when started by root (they must read the temp dir).
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root root;"
MARK="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$MARK" > "$WORK/www/mark"
# nginx cannot pick a port and report it, so a free port is chosen here; another process may
# take it before nginx binds, so nginx is retried on a fresh port when it does not come up
# serving our own marker file (bounded: 5 tries).
start_nginx() {
  local try
  for try in 1 2 3 4 5; do
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$WORK/nginx/nginx.conf" <<CONF
$USER_LINE
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $WORK/nginx/body;
  server {
    listen 127.0.0.1:$PORT;
    root $WORK/www;
    client_max_body_size 0;
    location / { dav_methods PUT; create_full_put_path on; }
  }
}
CONF
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    for _ in $(seq 50); do
      kill -0 "$NGINX_PID" 2>/dev/null || break
      [ "$(curl -s "http://127.0.0.1:$PORT/mark")" = "$MARK" ] && return 0
      sleep 0.1
    done
    kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
    echo "nginx did not come up on port $PORT (try $try of 5)" >&2
  done
  echo "error: nginx never came up; see $WORK/nginx/logs/error.log" >&2
  exit 1
}
start_nginx

mbps() { python3 -c "print(f'{float($1)/1e6:.0f}')"; }

NG_DOWN=$(curl -sf -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$PORT/big.bin")
NG_UP=$(curl -sf -o /dev/null -T "$WORK/big.bin" -w '%{speed_upload}' "http://127.0.0.1:$PORT/up.bin")
[ "$(stat -c %s "$WORK/www/up.bin")" = "$BYTES" ] || { echo "error: nginx PUT stored a wrong size" >&2; exit 1; }
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
rm -f "$WORK/www/up.bin"

# --- the emulator ---
KEY=$("$BIN" account create bench@example.com --data-dir "$WORK/emu")
"$BIN" serve --data-dir "$WORK/emu" --bind 127.0.0.1:0 > "$WORK/emu.out" 2>/dev/null &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$WORK/emu.out" ] && break; sleep 0.05; done
BASE=$(head -n1 "$WORK/emu.out")
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

SRV=$(curl -s "$BASE/v1/upload/get_upload_server.cgi")
NODE=$(echo "$SRV" | json "['url']"); ID=$(echo "$SRV" | json "['id']")
EMU_UP=$(curl -s -o /dev/null -w '%{speed_upload}' -H "Authorization: Bearer $KEY" \
  -F "file[]=@$WORK/big.bin" -F did=0 "http://$NODE/upload.cgi?id=$ID")
REPORT=$(curl -s -H 'JSON: 1' "http://$NODE/end.pl?xid=$ID")
URL=$(echo "$REPORT" | json "['links'][0]['download']")
SIZE=$(echo "$REPORT" | json "['links'][0]['size']")
[ "$SIZE" = "$BYTES" ] || { echo "error: end.pl reports $SIZE bytes, expected $BYTES" >&2; exit 1; }
TOKEN_URL=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"url\":\"$URL\"}" "$BASE/v1/download/get_token.cgi" | json "['url']")
EMU_DOWN=$(curl -sf -o /dev/null -w '%{speed_download}' "$TOKEN_URL")

python3 - "$NG_UP" "$EMU_UP" "$NG_DOWN" "$EMU_DOWN" "$SIZE_MIB" <<'PY'
import sys
ng_up, emu_up, ng_down, emu_down = map(float, sys.argv[1:5])
print(f"file: {sys.argv[5]} MiB over loopback")
print(f"upload    nginx PUT {ng_up/1e6:8.0f} MB/s   fichier-emu upload.cgi {emu_up/1e6:8.0f} MB/s   ratio {emu_up/ng_up:.2f}")
print(f"download  nginx GET {ng_down/1e6:8.0f} MB/s   fichier-emu token GET  {emu_down/1e6:8.0f} MB/s   ratio {emu_down/ng_down:.2f}")
print("(the emulator computes the whirlpool digest while receiving; that hash bounds upload speed)")
PY
