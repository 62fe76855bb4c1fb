#!/usr/bin/env bash
# s3rig.sh deps|start|stop|status|env -- local S3 store that verifies SigV4
# (npm @20minutes/s3rver@4.0.4; see shared/object-store.md).  Adapted from
# shared/tools/s3rig.sh for t/005_objectstore.pl:
# - "start" needs only Node >= 20 and npm; barman-cli-cloud is "deps" (root),
#   so that a non-root test run can still start the store;
# - S3RIG_NODE_DIR keeps node_modules apart from the data (a cache that
#   survives the test's tmp_check);
# - extra buckets with S3RIG_BUCKETS (comma-separated, first = S3_BUCKET).
set -euo pipefail
RIG=${S3RIG_DIR:-${TMPDIR:-/tmp}/s3rig}
NODE_DIR=${S3RIG_NODE_DIR:-$RIG/node}
PORT=${S3RIG_PORT:-4568}
BUCKETS=${S3RIG_BUCKETS:-${S3RIG_BUCKET:-backups}}
BUCKET=${BUCKETS%%,*}
KEY=${S3RIG_KEY:-testkey} SECRET=${S3RIG_SECRET:-testsecret}
EP=http://127.0.0.1:$PORT

# barman-cloud and boto3 from Debian (root only; retries: dpkg may be locked)
install_barman() {
  local need=()
  command -v barman-cloud-backup >/dev/null || need+=(barman-cli-cloud)
  python3 -c 'import boto3' 2>/dev/null || need+=(python3-boto3)
  ((${#need[@]})) || return 0
  [ "$(id -u)" -eq 0 ] || { echo "s3rig: ${need[*]} missing and not root" >&2; return 1; }
  for _ in 1 2 3 4 5 6 7 8; do
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install \
      -yq -o DPkg::Lock::Timeout=120 "${need[@]}" >/dev/null && return 0
    sleep 15
  done
  return 1
}

install_store() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "s3rig: node and npm are needed" >&2; return 1
  fi
  node -e 'process.exit(process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
    || { echo "s3rig: need Node.js >= 20" >&2; return 1; }
  # from inside the directory, not with --prefix: --prefix also moves the
  # global npmrc (where this machine's cafile is) to <prefix>/etc/npmrc
  [ -f "$NODE_DIR/node_modules/@20minutes/s3rver/package.json" ] || {
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error \
      --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
      @20minutes/s3rver@4.0.4 >/dev/null); }
  cat > "$NODE_DIR/s3-server.js" <<'JS'
'use strict';
const S3rver = require('@20minutes/s3rver');
const Account = require('@20minutes/s3rver/lib/models/account');
Account.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
Account.DUMMY_ACCOUNT.createKeyPair(process.env.S3_ACCESS_KEY, process.env.S3_SECRET_KEY);
const server = new S3rver({
  address: '127.0.0.1', port: Number(process.env.S3_PORT), directory: process.env.S3_DIR,
  silent: !process.env.S3_VERBOSE,
  configureBuckets: process.env.S3_BUCKETS.split(',').map((name) => ({ name, configs: [] })),
});
// s3rver serves unsigned requests; a private S3 bucket does not. Refuse them.
server.middleware.unshift(async (ctx, next) => {
  if (ctx.get('authorization') || 'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query)
    return next();
  ctx.status = 403; ctx.type = 'application/xml';
  ctx.body = '<Error><Code>AccessDenied</Code><Message>unsigned</Message></Error>';
});
server.run().catch((err) => { console.error(err); process.exit(1); });
JS
}

running() { [ -f "$RIG/s3.pid" ] && kill -0 "$(cat "$RIG/s3.pid")" 2>/dev/null; }

start() {
  mkdir -p "$RIG/data"; install_store
  if ! running; then
    curl -s -o /dev/null "$EP/" && { echo "s3rig: port $PORT is taken" >&2; return 1; }
    # --openssl-legacy-provider: ListObjectsV2 continuation tokens use DES
    S3_DIR="$RIG/data" S3_PORT=$PORT S3_BUCKETS=$BUCKETS S3_ACCESS_KEY=$KEY \
      S3_SECRET_KEY=$SECRET nohup node --openssl-legacy-provider \
      "$NODE_DIR/s3-server.js" >"$RIG/s3.log" 2>&1 &
    echo $! >"$RIG/s3.pid"
  fi
  for _ in $(seq 100); do      # ready = signed HEAD of the bucket gives 200
    running && [ "$(curl -s -o /dev/null -w '%{http_code}' -I --aws-sigv4 aws:amz:us-east-1:s3 \
         --user "$KEY:$SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
         "$EP/$BUCKET")" = 200 ] && { echo "s3rig up at $EP, bucket $BUCKET"; return 0; }
    sleep 0.1
  done
  echo "s3rig: not ready, see $RIG/s3.log" >&2; return 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$RIG/s3.pid"); kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RIG/s3.pid"
}

case ${1:-} in
  deps) install_barman ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running pid $(cat "$RIG/s3.pid")"; else echo stopped; exit 1; fi ;;
  env) echo "export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET" \
            "AWS_DEFAULT_REGION=us-east-1 S3_ENDPOINT=$EP S3_BUCKET=$BUCKET" ;;
  *) echo "usage: $0 deps|start|stop|status|env" >&2; exit 2 ;;
esac
