#!/usr/bin/env bash
# Every test of cnpg_bootstrap, on a fresh Debian 12 machine, as root:
# installs what is missing, copies the tree to a postgres-owned temp dir,
# builds with -Werror, installs, runs pg_regress (sql/), the TAP tests (t/),
# the model's unit tests and the libFuzzer targets (FUZZ_SECONDS, default 60, shared).
# PostgreSQL refuses to run as root, so servers run as the postgres OS user.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../.ci/setup-lib.sh
source "$ROOT/.ci/setup-lib.sh"
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

# the test stores' node_modules are installed once per run, not once per test
as_pg() { runuser -u postgres -- env -i PATH="$PGBIN:/usr/local/bin:/usr/bin:/bin" HOME="$W" \
	LANG=C.UTF-8 TMPDIR=/tmp PG_TEST_TIMEOUT_DEFAULT=300 CB_SMALLFS="${SMALLFS:-}" \
	S3RIG_NODE_DIR="$W/node-s3rver" AZRIG_NODE_DIR="$W/node-azurite" "$@"; }
cleanup() {
	local rc=$?
	set +e    # a failing find must not turn the exit status into 1
	[ -d "${W:-}" ] || exit $rc
	local f
	find "$W" /tmp/cbt.* -name postmaster.pid 2>/dev/null | while read -r f; do
		as_pg "$PGBIN/pg_ctl" -D "${f%/*}" -m immediate stop >/dev/null 2>&1 || true
	done
	[ -n "${SMALLFS:-}" ] && umount "$SMALLFS" 2>/dev/null
	rm -rf "$W"
	exit $rc
}

[ "$(id -u)" -eq 0 ] || { echo "run as root (servers run as the postgres OS user)" >&2; exit 2; }
ensure_packages
ensure_test_packages || echo "warning: barman-cli-cloud/python3-boto3 missing: the object-store tests will skip" >&2
W=$(mktemp -d /tmp/ci.XXXXXX); trap cleanup EXIT; S=$W/src; mkdir "$S"
tar -C "$ROOT" --exclude=.git -cf - . | tar -C "$S" -xf -
# the shared specs and samples, when present beside the project
if [ -d "$ROOT/../shared" ]; then cp -a "$ROOT/../shared" "$W/shared"; fi
chown -R postgres: "$W"
# a small file system for the disk-full tests (t/023, t/024), where root may mount one
SMALLFS=$W/smallfs
{ mkdir -p "$SMALLFS" && mount -t tmpfs -o size=512m,mode=0700 tmpfs "$SMALLFS" 2>/dev/null &&
	chown postgres: "$SMALLFS"; } || SMALLFS=

# a tree that was built in place carries objects older than its headers: start clean
as_pg make -C "$S" clean >/dev/null
as_pg make -C "$S" -j"$(nproc)" COPT=-Werror >/dev/null
make -C "$S" install >/dev/null

rc=0
echo "== pg_regress and pg_isolation_regress"
# pg_regress (sql/), then pg_isolation_regress (specs/: concurrent apply and delete)
as_pg make -C "$S" installcheck TAP_TESTS= || { rc=1; cat "$S"/regression.diffs "$S"/output_iso/regression.diffs 2>/dev/null | head -200 || true; }
echo "== TAP"
as_pg make -C "$S" installcheck REGRESS= ISOLATION= PROVE_FLAGS=--timer || { rc=1; tail -n 60 "$S"/tmp_check/log/regress_log_* 2>/dev/null || true; }
echo "== model unit tests"
as_pg make -C "$S" unit || rc=1
echo "== fuzz (${FUZZ_SECONDS}s over the targets)"
# each target (fuzz/README.md) gets an equal share of FUZZ_SECONDS; new inputs
# go to the first (scratch) directory, fuzz/corpus/<target>/ seeds it
FUZZ_TARGETS="manifest secret recovery conninfo"
share=$((FUZZ_SECONDS / 4)); [ "$share" -ge 5 ] || share=5
if as_pg make -C "$S" fuzz >"$W/fuzz-build.log" 2>&1; then
	for t in $FUZZ_TARGETS; do
		as_pg mkdir -p "$W/fuzzwork/$t"
		( cd "$W/fuzzwork" && as_pg "$S/fuzz/fuzz_$t" -max_total_time="$share" -rss_limit_mb=2048 \
			-print_final_stats=0 "$W/fuzzwork/$t" "$S/fuzz/corpus/$t" ) >"$W/fuzz-$t.log" 2>&1 ||
			{ rc=1; echo "fuzz_$t failed:"; tail -n 40 "$W/fuzz-$t.log"; }
	done
else
	rc=1; tail -n 40 "$W/fuzz-build.log"
fi
# last: it installs and removes the package over the system PostgreSQL's
# files that `make install` put there above (and puts them back)
echo "== Debian package (tools/deb-test.sh)"
"$ROOT/tools/deb-test.sh" || rc=1
[ $rc -eq 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $rc
