#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run, as root (too slow for CI:
# see fuzz/README.md for the time it takes):
#
#   tools/asan-check.sh [t/NNN_name.pl ...]    (default: the subset below)
#   CB_ASAN_ALL=1 tools/asan-check.sh          (every t/*.pl)
#
# The module (the .so) and the WAL programs (src/bin) are built with gcc
# -fsanitize=address,undefined.  PostgreSQL's own binaries are not, so the
# sanitizer runtimes are preloaded into every server: bin/postgres of a
# private copy of PostgreSQL's installation becomes a wrapper that sets
# LD_PRELOAD and the options (log_path, no leak check: a backend leaves its
# memory to process exit by design) and execs the real binary, which also
# covers the servers the worker starts with an environment of its own.  The
# WAL programs carry their options inside (tools/asan_defaults.c), since
# restore_command runs them with the server's environment; t/005 builds its
# own copies with CB_WAL_CFLAGS.  Every report goes to one log directory;
# the summary at the end counts them and names the frames in our code.
#
# Exit status: 0 with no report, 1 with reports or failed tests.
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
LIBASAN=$(gcc -print-file-name=libasan.so)
LIBUBSAN=$(gcc -print-file-name=libubsan.so)
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
# quarantine kept small: every backend is its own process
RT_ASAN="detect_leaks=0:abort_on_error=0:quarantine_size_mb=32:malloc_context_size=20:log_path=$L/asan"
RT_UBSAN="print_stacktrace=1:log_path=$L/asan"

# The real postgres lives in a second tree, R, as .../lib/postgresql/15/bin/
# postgres: the name instance.c checks in /proc/<pid>/exe, and the path
# from which PostgreSQL finds its share/ and lib/ (symbolic links to P's)
# and the worker its bindir (links to P's programs, made after install).
R=$D/real
RB=$R/usr/lib/postgresql/15/bin
[ -n "$D" ] && [ "$D" != / ] || exit 2
mkdir -p "$D"
if [ ! -x "$RB/postgres" ]; then
	rm -rf "$P" "$R"
	mkdir -p "$P/usr/lib/postgresql" "$P/usr/share/postgresql" "$P/usr/include"
	cp -a /usr/lib/postgresql/15 "$P/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$P/usr/share/postgresql/"
	cp -a /usr/include/postgresql "$P/usr/include/"
	mkdir -p "$RB"
	mv "$PGB/postgres" "$RB/postgres"
	ln -s "$P/usr/lib/postgresql/15/lib" "$R/usr/lib/postgresql/15/lib"
	ln -s "$P/usr/share" "$R/usr/share"
fi
# the wrapper (rewritten each run: the options name this run's log directory)
cat >"$PGB/postgres" <<EOF
#!/bin/sh
# tools/asan-check.sh: the sanitizer runtimes, then the real postgres
LD_PRELOAD="$LIBASAN $LIBUBSAN" ASAN_OPTIONS="$RT_ASAN" UBSAN_OPTIONS="$RT_UBSAN" \\
	exec "$RB/postgres" "\$@"
EOF
chmod 0755 "$PGB/postgres"

mkdir -p "$S"
rsync -a --delete --exclude=.git --exclude=tmp_check --exclude=tmp_check_regress --exclude=tmp_check_iso \
	--exclude=output_iso --exclude='*.o' --exclude='*.so' --exclude=.deps --exclude=src/fields_gen.c \
	--exclude='src/bin/cnpg_bootstrap_wal_restore' --exclude='src/bin/cnpg_bootstrap_wal_fetch' \
	--exclude='regression.*' --exclude=results --exclude=fuzz/obj "$ROOT/" "$S/"
if [ -d "$ROOT/../shared" ]; then rsync -a --delete "$ROOT/../shared/" "$D/shared/"; fi
rm -rf "$L"; mkdir -p "$L"; chmod 1777 "$L"
chown -R postgres: "$D"

as_pg() { runuser -u postgres -- env -i PATH="$PGB:/usr/local/bin:/usr/bin:/bin" \
	HOME="$D" LANG=C.UTF-8 TMPDIR=/tmp PG_TEST_TIMEOUT_DEFAULT=600 \
	ASAN_OPTIONS="$RT_ASAN" UBSAN_OPTIONS="$RT_UBSAN" CB_WAL_CFLAGS="$SAN $D/asan_defaults.o" \
	S3RIG_NODE_DIR="$D/node-s3rver" AZRIG_NODE_DIR="$D/node-azurite" "$@"; }

echo "== build (gcc $SAN)"
as_pg gcc -c -O1 -g $SAN -DCB_ASAN_LOG="\"$L/asan\"" -o "$D/asan_defaults.o" "$S/tools/asan_defaults.c"
M=(make -C "$S" PG_CONFIG="$PGC" autodepend=yes COPT="$SAN"
	PGLIBS_FE="-L$($PGC --pkglibdir) -lpgcommon -lpgport $D/asan_defaults.o")
as_pg "${M[@]}" clean >/dev/null
as_pg "${M[@]}" -j"$(nproc)" >"$D/build.log" 2>&1 || { tail -n 40 "$D/build.log"; exit 1; }
"${M[@]}" install >/dev/null
for f in "$PGB"/*; do
	[ "$(basename "$f")" = postgres ] || ln -sfn "$f" "$RB/$(basename "$f")"
done
for f in "$S/cnpg_bootstrap.so" "$S/src/bin/cnpg_bootstrap_wal_fetch" "$S/src/bin/cnpg_bootstrap_wal_restore"; do
	ldd "$f" | grep -q libasan || { echo "$f is not built with ASan" >&2; exit 1; }
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
