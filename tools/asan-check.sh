#!/usr/bin/env bash
# Sanitizer run of the module and the WAL programs, as root (too slow for
# CI; fuzz/README.md records the runs and their times):
#
#   tools/asan-check.sh [t/NNN_name.pl ...]    (default: the subset below)
#   CB_ASAN_ALL=1 tools/asan-check.sh          (every t/*.pl)
#
# - The WAL programs (src/bin: cnpg_bootstrap_wal_restore and
#   cnpg_bootstrap_wal_fetch) are built with gcc -fsanitize=address,undefined.
#   They are executables, so ASan is complete there; they carry their options
#   inside (tools/asan_defaults.c: log_path, no leak check), since a target
#   server runs restore_command with an environment of its own.  t/005 builds
#   its own copies with CB_WAL_CFLAGS, t/006 uses the installed ones.
# - The module (the .so) is built with -fsanitize=undefined.  ASan cannot
#   run inside PostgreSQL's binaries as Debian builds them: with libasan
#   preloaded (LD_PRELOAD, the usual way for an ASan'd extension in a
#   non-ASan server) `postgres -V` itself hangs on glibc's gettext lock,
#   before any code of ours runs (library constructors of libgpg-error and
#   gnutls call bindtextdomain before the preloaded runtime has initialised;
#   psql, initdb, pg_dump hang the same way, pg_ctl does not).  The
#   model's code (manifest, validation, config writer, escapes) runs under
#   ASan+UBSan in the libFuzzer targets (fuzz/).
#
# A private copy of PostgreSQL's installation, as tools/dev-check.sh makes.
# Every report goes to one log directory; the summary counts them and names
# the first frame in our code.  Exit status: 0 with no report and every
# test passed, 1 otherwise.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../.ci/setup-lib.sh
source "$ROOT/.ci/setup-lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "run as root (servers run as the postgres OS user)" >&2; exit 2; }
ensure_packages
T0=$(date +%s)

D=/tmp/cbasan-$(basename "$ROOT")
P=$D/pg
S=$D/src
L=$D/logs
PGB=$P/usr/lib/postgresql/15/bin
PGC=$PGB/pg_config
ASAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
UBSAN="-fsanitize=undefined -fno-omit-frame-pointer"
RT_ASAN="detect_leaks=0:abort_on_error=0:log_path=$L/asan"
RT_UBSAN="print_stacktrace=1:log_path=$L/asan"

mkdir -p "$D"
if [ ! -x "$PGB/postgres" ]; then
	mkdir -p "$P/usr/lib/postgresql" "$P/usr/share/postgresql" "$P/usr/include"
	cp -a /usr/lib/postgresql/15 "$P/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$P/usr/share/postgresql/"
	cp -a /usr/include/postgresql "$P/usr/include/"
fi
mkdir -p "$S"
rsync -a --delete --exclude=.git --exclude=tmp_check --exclude=tmp_check_regress --exclude=tmp_check_iso \
	--exclude=output_iso --exclude='*.o' --exclude='*.so' --exclude=.deps --exclude=src/fields_gen.c \
	--exclude='src/bin/cnpg_bootstrap_wal_restore' --exclude='src/bin/cnpg_bootstrap_wal_fetch' \
	--exclude='regression.*' --exclude=results --exclude=fuzz/obj "$ROOT/" "$S/"
if [ -d "$ROOT/../shared" ]; then rsync -a --delete "$ROOT/../shared/" "$D/shared/"; fi
rm -rf "$L"
mkdir -p "$L"
chmod 1777 "$L"
chown -R postgres: "$D"

# the servers inherit UBSAN_OPTIONS from pg_ctl (the control instance is the
# one that loads the module)
as_pg() { runuser -u postgres -- env -i PATH="$PGB:/usr/local/bin:/usr/bin:/bin" \
	HOME="$D" LANG=C.UTF-8 TMPDIR=/tmp PG_TEST_TIMEOUT_DEFAULT=600 \
	ASAN_OPTIONS="$RT_ASAN" UBSAN_OPTIONS="$RT_UBSAN" CB_WAL_CFLAGS="$ASAN $D/asan_defaults.o" \
	S3RIG_NODE_DIR="$D/node-s3rver" AZRIG_NODE_DIR="$D/node-azurite" "$@"; }

echo "== build: module $UBSAN; WAL programs $ASAN"
as_pg gcc -c -O1 -g $ASAN -DCB_ASAN_LOG="\"$L/asan\"" -o "$D/asan_defaults.o" "$S/tools/asan_defaults.c"
M=(make -C "$S" PG_CONFIG="$PGC" autodepend=yes)
WAL=(src/bin/cnpg_bootstrap_wal_restore src/bin/cnpg_bootstrap_wal_fetch)
as_pg "${M[@]}" clean >/dev/null
as_pg "${M[@]}" -j"$(nproc)" COPT="$UBSAN" >"$D/build.log" 2>&1 &&
	as_pg "${M[@]}" -B COPT="$ASAN" PGLIBS_FE="-L$($PGC --pkglibdir) -lpgcommon -lpgport $D/asan_defaults.o" \
		"${WAL[@]}" >>"$D/build.log" 2>&1 || { tail -n 40 "$D/build.log"; exit 1; }
"${M[@]}" install >/dev/null
[[ $(ldd "$S/cnpg_bootstrap.so") == *libubsan* ]] || { echo "the module is not built with UBSan" >&2; exit 1; }
for f in "${WAL[@]}"; do
	[[ $(ldd "$S/$f") == *libasan* ]] || { echo "$f is not built with ASan" >&2; exit 1; }
done
T1=$(date +%s)

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	if [ -n "${CB_ASAN_ALL:-}" ]; then
		mapfile -t tests < <(cd "$S" && ls t/*.pl)
	else
		tests=(t/001_initdb.pl t/002_replicas.pl t/003_basebackup.pl t/005_objectstore.pl
			t/006_recovery.pl t/022_faults.pl)
	fi
fi
rc=0
echo "== TAP under the sanitizers: ${tests[*]}"
as_pg "${M[@]}" installcheck REGRESS= ISOLATION= PROVE_FLAGS=--timer PROVE_TESTS="${tests[*]}" ||
	{ rc=1; echo "(some tests failed; logs in $S/tmp_check/log)"; }
T2=$(date +%s)

echo "== sanitizer reports ($L)"
n=0
ours=0
for f in "$L"/asan.*; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	# the first frame in a file of ours names the culprit
	frame=$(grep -m1 -oE '(src|cnpg_bootstrap)[^ ]*\.c:[0-9]+' "$f" || true)
	kind=$(grep -m1 -oE 'ERROR: AddressSanitizer: [a-z-]+|runtime error: .*' "$f" | cut -c1-120 || true)
	[ -n "$frame" ] && ours=$((ours + 1))
	echo "  $(basename "$f"): ${kind:-?} ${frame:+at $frame}"
done
echo "reports: $n (with a frame in our code: $ours)"
echo "time: build $((T1 - T0)) s, tests $((T2 - T1)) s, total $((T2 - T0)) s"
[ "$n" -eq 0 ] || rc=1
[ $rc -eq 0 ] && echo "ASAN-CHECK PASSED" || echo "ASAN-CHECK FAILED"
exit $rc
