#!/usr/bin/env bash
# Developer loop, as root: build this working tree and run chosen tests
# against a private copy of PostgreSQL 15's installation, so that several
# working trees (git worktrees) on one machine never install over each other
# (tools/run-tests.sh installs into the system PostgreSQL, as CI does).
#
#   tools/dev-check.sh [regress] [unit] [t/NNN_name.pl ...]
#
# Nothing given: build and install only.  The copy lives in /tmp/cbdev-<dir>/
# (pg/ is the private PostgreSQL, src/ the tree, kept between runs so that
# only what changed is rebuilt: autodepend=yes tracks headers).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../.ci/setup-lib.sh
source "$ROOT/.ci/setup-lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "run as root (servers run as the postgres OS user)" >&2; exit 2; }
ensure_packages

D=/tmp/cbdev-$(basename "$ROOT")
P=$D/pg
S=$D/src
PGC=$P/usr/lib/postgresql/15/bin/pg_config
mkdir -p "$D"
if [ ! -x "$P/usr/lib/postgresql/15/bin/postgres" ]; then
	# PostgreSQL finds its share/ and lib/ relative to its binaries
	mkdir -p "$P/usr/lib/postgresql" "$P/usr/share/postgresql" "$P/usr/include"
	cp -a /usr/lib/postgresql/15 "$P/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$P/usr/share/postgresql/"
	cp -a /usr/include/postgresql "$P/usr/include/"
fi
mkdir -p "$S"
rsync -a --delete --exclude=.git --exclude=tmp_check --exclude=tmp_check_regress --exclude=tmp_check_iso --exclude=output_iso \
	--exclude='*.o' --exclude='*.so' --exclude=.deps --exclude='*.bc' \
	--exclude=src/fields_gen.c --exclude='src/bin/cnpg_bootstrap_wal_restore' \
	--exclude='src/bin/cnpg_bootstrap_wal_fetch' --exclude='src/bin/cnpg-bootstrap' --exclude='regression.*' --exclude=results \
	"$ROOT/" "$S/"
if [ -d "$ROOT/../shared" ]; then rsync -a --delete "$ROOT/../shared/" "$D/shared/"; fi
chown -R postgres: "$D"

# a small file system for the disk-full tests (t/024), if this host lets root mount one
SMALLFS=$D/smallfs
mountpoint -q "$SMALLFS" || { mkdir -p "$SMALLFS" && mount -t tmpfs -o size=512m,mode=0700 tmpfs "$SMALLFS" 2>/dev/null; } || true
mountpoint -q "$SMALLFS" && { chown postgres: "$SMALLFS"; rm -rf "${SMALLFS:?}"/*; } || SMALLFS=
as_pg() { runuser -u postgres -- env -i PATH="$P/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin" \
	HOME="$D" LANG=C.UTF-8 TMPDIR=/tmp PG_TEST_TIMEOUT_DEFAULT=300 CB_FAULTS="${CB_FAULTS:-}" CB_FAULTS_ONLY="${CB_FAULTS_ONLY:-}" CB_FAULTS_PORTS="${CB_FAULTS_PORTS:-}" CB_FAULTS_RECOVERY_PORTS="${CB_FAULTS_RECOVERY_PORTS:-}" \
	CB_SMALLFS="$SMALLFS" \
	S3RIG_NODE_DIR="$D/node-s3rver" AZRIG_NODE_DIR="$D/node-azurite" "$@"; }
M=(make -C "$S" PG_CONFIG="$PGC" autodepend=yes)
as_pg "${M[@]}" -j"$(nproc)" COPT=-Werror >/dev/null
as_pg "${M[@]}" install >/dev/null

rc=0
tap=()
for t in "$@"; do
	case $t in
	regress) as_pg "${M[@]}" installcheck TAP_TESTS= ||
		{ rc=1; cat "$S/regression.diffs" "$S/output_iso/regression.diffs" 2>/dev/null | head -200 || true; } ;;
	unit) as_pg "${M[@]}" unit || rc=1 ;;
	t/*) tap+=("$t") ;;
	*) echo "unknown test $t" >&2; exit 2 ;;
	esac
done
if [ ${#tap[@]} -gt 0 ]; then
	as_pg "${M[@]}" installcheck REGRESS= ISOLATION= PROVE_FLAGS=--timer PROVE_TESTS="${tap[*]}" ||
		{ rc=1; tail -n 80 "$S"/tmp_check/log/regress_log_* 2>/dev/null || true; }
fi
[ $rc -eq 0 ] && echo "DEV-CHECK PASSED" || echo "DEV-CHECK FAILED (logs: $S/tmp_check/log)"
exit $rc
