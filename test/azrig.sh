#!/usr/bin/env bash
# azrig.sh start|stop|status|env -- local Azure Blob Storage that checks
# Shared Key and SAS signatures (npm azurite@3.35.0, blob service only;
# see shared/object-store.md).  Like test/s3rig.sh:
# - needs only Node >= 20 and npm;
# - AZRIG_NODE_DIR keeps node_modules apart from the data (a cache that
#   survives the test's tmp_check);
# - the account is azurite's development account, devstoreaccount1, whose
#   key is published in azurite's README (not a secret).
set -euo pipefail
RIG=${AZRIG_DIR:-${TMPDIR:-/tmp}/azrig}
NODE_DIR=${AZRIG_NODE_DIR:-$RIG/node}
PORT=${AZRIG_PORT:-10000}
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
EP=http://127.0.0.1:$PORT/$ACCOUNT
BIN=$NODE_DIR/node_modules/.bin/azurite-blob

install_store() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "azrig: node and npm are needed" >&2; return 1
  fi
  node -e 'process.exit(process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
    || { echo "azrig: need Node.js >= 20" >&2; return 1; }
  # from inside the directory, not with --prefix (which moves the npmrc)
  [ -x "$BIN" ] || {
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error \
      --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
      azurite@3.35.0 >/dev/null); }
}

running() { [ -f "$RIG/az.pid" ] && kill -0 "$(cat "$RIG/az.pid")" 2>/dev/null; }

start() {
  mkdir -p "$RIG/data"; install_store
  if ! running; then
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && { echo "azrig: port $PORT is taken" >&2; return 1; }
    nohup "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$RIG/data" \
      --disableTelemetry --skipApiVersionCheck --loose --silent \
      >"$RIG/az.log" 2>&1 &
    echo $! >"$RIG/az.pid"
  fi
  for _ in $(seq 150); do      # ready = it answers (an unsigned request gets 4xx)
    running && [ "$(curl -s -o /dev/null -w '%{http_code}' "$EP?comp=list")" != 000 ] \
      && { echo "azrig up at $EP"; return 0; }
    sleep 0.1
  done
  echo "azrig: not ready, see $RIG/az.log" >&2; return 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$RIG/az.pid"); kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RIG/az.pid"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$RIG/az.pid")"; else echo stopped; exit 1; fi ;;
  env) echo "export AZURE_STORAGE_ACCOUNT=$ACCOUNT AZURE_STORAGE_KEY='$KEY' AZURE_BLOB_ENDPOINT=$EP" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
