#!/usr/bin/env bash
# How long does a microservice import through cnpg_bootstrap take, against
# the same import done by hand?
#
# Run as root, with the extension already installed (it builds nothing).
# Starts a throwaway control instance and a plain source server of its own
# under /tmp; the source holds ~1 GB: pgbench -i -s SCALE (70) plus an
# extra index on pgbench_accounts, reached over TCP with a scram password
# (a pgpass file, as the extension uses).  Then, in the same run and
# interleaved (the machine is noisy: only ratios count), ROUNDS rounds of
#
#   (a) apply -> healthy of a 1-instance Cluster importing the database
#       (bootstrap.initdb.import, type microservice), timed inside one psql
#       session with clock_timestamp(); the import step's own time comes
#       from the journal (cnpg_bootstrap.steps), its pg_dump / pg_restore
#       split from the control log;
#   (b) by hand: initdb + pg_ctl start of a server with the settings the
#       extension's target runs with (wal_level = logical, wal_log_hints,
#       archive_mode with /bin/true ...), then `pg_dump -Fd -j2` +
#       `createdb` + `pg_restore -j2`, timed as postgres;
#
# and prints medians and two ratios: apply -> healthy against the whole of
# (b), and the import step against (b)'s dump + createdb + restore (target
# at most 1.1x).  Every round checks that the imported pgbench_accounts has
# the source's row count.  Everything started is stopped and removed on
# exit, failure included.  Environment:
#   ROUNDS (3), SCALE (70), WARMUP (1 unreported round of each), TARGET (1.1),
#   JOBS (2: -j of the by-hand run), BENCH_PORT_RANGE, BENCH_CTL_PORT, PGBIN,
#   BENCH_KEEP=1 keeps the work directory (servers stopped).
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-70}
WARMUP=${WARMUP:-1}
TARGET=${TARGET:-1.1}
JOBS=${JOBS:-2}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a positive integer"
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || bench_die "SCALE must be a positive integer"

SRC_PORT=56997
BARE_PORT=56996
HEALTHY='Cluster in healthy state'
# what the extension's target runs with that weighs on a bulk load
TARGET_SETTINGS="-c wal_level=logical -c wal_log_hints=on -c wal_keep_size=512MB -c full_page_writes=on
 -c archive_mode=on -c archive_command=/bin/true -c max_worker_processes=32 -c max_parallel_workers=32
 -c max_replication_slots=32 -c shared_memory_type=mmap -c dynamic_shared_memory_type=posix"

bench_init
bench_control_start "max_worker_processes = 20
log_line_prefix = '%m [%p] %b '"

# ---------- the source ----------
SRC_PW="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
bench_note "source: initdb, pgbench -i -s $SCALE, extra index"
as_pg "$PGBIN/initdb" -D "$BENCH_W/src" -U postgres -A trust --encoding=UTF8 --locale=C.UTF-8 \
	--no-instructions >/dev/null || bench_die "initdb of the source failed"
as_pg tee "$BENCH_W/src/pg_hba.conf" >/dev/null <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
HBA
as_pg "$PGBIN/pg_ctl" -D "$BENCH_W/src" -l "$BENCH_W/src.log" -w -t 60 \
	-o "-p $SRC_PORT -k $BENCH_SOCK -c listen_addresses=localhost" start >/dev/null ||
	bench_die "the source did not start"
src_psql() { as_pg "$PGBIN/psql" -X -q -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
# the source logs no statements (log_statement = none): the password stays out of its log
src_psql -d postgres -c "CREATE ROLE importer LOGIN SUPERUSER PASSWORD '$SRC_PW'" -c "CREATE DATABASE bench" >/dev/null
as_pg "$PGBIN/pgbench" -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres -i -q -s "$SCALE" bench >/dev/null 2>&1 ||
	bench_die "pgbench -i failed"
src_psql -d bench -c "CREATE INDEX pgbench_accounts_bid_abalance ON pgbench_accounts (bid, abalance)" \
	-c "VACUUM ANALYZE" >/dev/null
SRC_SIZE=$(src_psql -At -d postgres -c "SELECT pg_size_pretty(pg_database_size('bench'))")
SRC_ROWS=$(src_psql -At -d bench -c "SELECT count(*) FROM pgbench_accounts")
as_pg install -m 0600 /dev/null "$BENCH_W/pgpass"
echo "localhost:$SRC_PORT:*:importer:$SRC_PW" | as_pg tee "$BENCH_W/pgpass" >/dev/null

cluster_doc() {	# $1 name
	cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $1-source
stringData:
  password: "$SRC_PW"
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $1
spec:
  instances: 1
  storage:
    size: 5Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [bench]
        source:
          externalCluster: source
  externalClusters:
  - name: source
    connectionParameters:
      host: localhost
      port: "$SRC_PORT"
      user: importer
      dbname: postgres
    password:
      name: $1-source
      key: password
YAML
}

TEARDOWN_SQL="DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '5 minutes';
BEGIN
	WHILE (SELECT count(*) FROM cnpg_bootstrap.teardown) > 0 LOOP
		IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'teardown not finished after 5 minutes'; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;"

# seconds of the UTC day of a control log line's timestamp
log_time() {	# $1 fixed string to look for (last match)
	grep -F -- "$1" "$BENCH_W/ctl.log" | tail -n 1 | awk '{ split($2, a, ":"); printf "%.3f", a[1] * 3600 + a[2] * 60 + a[3] }'
}

# (a) prints "total import dump restore_analyze"
ext_once() {	# $1 name
	local name=$1 out line port rows d0 r0
	out=$(ctl_psql -At -v m="$(cluster_doc "$name")" -v name="$name" -f - <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \gset
SELECT cnpg_bootstrap_wait(:'name', '30 minutes') AS phase \gset
SELECT clock_timestamp() AS t1 \gset
\echo PHASE :phase
SELECT 'TIMES ' || concat_ws(' ',
	round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3),
	round(extract(epoch FROM i.finished_at - i.started_at), 3),
	round(extract(epoch FROM d.finished_at)::numeric % 86400, 3))
  FROM cnpg_bootstrap.steps i
  JOIN cnpg_bootstrap.steps d ON d.cluster = i.cluster AND d.step = 'import' AND d.instance = 'app'
 WHERE i.cluster = :'name' AND i.step = 'import' AND i.instance = '';
SQL
	) || bench_die "apply/wait of $name failed"
	grep -qx "PHASE $HEALTHY" <<<"$out" || {
		echo "$out" >&2
		ctl_psql -c "SELECT phase, phase_reason FROM cnpg_bootstrap_status('$name')" >&2 || true
		bench_die "cluster $name did not become healthy"
	}
	line=$(sed -n 's/^TIMES //p' <<<"$out")
	[ -n "$line" ] || bench_die "no import journal for $name: $out"
	port=$(ctl_psql -At -c "SELECT port FROM cnpg_bootstrap.instances WHERE instance = '$name-1'")
	rows=$(as_pg "$PGBIN/psql" -X -At -h "$BENCH_DATA_ROOT/$name/run" -p "$port" -U postgres -d app \
		-c "SELECT count(*) FROM pgbench_accounts")
	[ "$rows" = "$SRC_ROWS" ] || bench_die "$name: $rows rows imported, the source has $SRC_ROWS"
	d0=$(log_time "pg_dump bench: running ")
	r0=$(log_time "pg_restore app: running ")
	ctl_psql -c "SELECT cnpg_bootstrap_delete('Cluster', '$name')" -c "$TEARDOWN_SQL" >/dev/null ||
		bench_die "delete of $name failed"
	[ ! -e "$BENCH_DATA_ROOT/$name" ] || bench_die "teardown left $BENCH_DATA_ROOT/$name behind"
	read -r total import dfin <<<"$line"
	awk -v t="$total" -v i="$import" -v d0="$d0" -v r0="$r0" -v f="$dfin" \
		'BEGIN { printf "%.3f %.3f %.3f %.3f\n", t, i, r0 - d0, f - r0 }'
}

# (b) prints "total init_start dump createdb restore" (seconds)
bare_once() {
	as_pg bash -s -- "$BENCH_W" "$BENCH_SOCK" "$BARE_PORT" "$SRC_PORT" "$JOBS" "$TARGET_SETTINGS" <<'BASH'
set -eu
w=$1 sock=$2 port=$3 sport=$4 jobs=$5 settings=$6
d=$w/bare dump=$w/bare.dump
now() { date +%s%N; }
rm -rf "$d" "$dump"
a=$(now)
initdb -U postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C -D "$d" >"$w/bare.initdb.log" 2>&1 ||
	{ cat "$w/bare.initdb.log" >&2; exit 1; }
pg_ctl start -w -t 300 -s -D "$d" -l "$w/bare.log" \
	-o "-p $port -k $sock -c listen_addresses='' $(echo $settings)" >/dev/null || { cat "$w/bare.log" >&2; exit 1; }
b=$(now)
PGPASSFILE=$w/pgpass pg_dump -Fd -j"$jobs" -f "$dump" -d "host=localhost port=$sport user=importer dbname=bench"
c=$(now)
createdb -h "$sock" -p "$port" -U postgres app
e=$(now)
pg_restore -h "$sock" -p "$port" -U postgres -d app -j"$jobs" "$dump"
f=$(now)
rows=$(psql -X -At -h "$sock" -p "$port" -U postgres -d app -c 'SELECT count(*) FROM pgbench_accounts')
pg_ctl stop -w -s -m fast -D "$d" >/dev/null
rm -rf "$d" "$dump"
awk -v a="$a" -v b="$b" -v c="$c" -v e="$e" -v f="$f" -v r="$rows" \
	'BEGIN { printf "%.3f %.3f %.3f %.3f %.3f %s\n", (f - a) / 1e9, (b - a) / 1e9, (c - b) / 1e9, (e - c) / 1e9, (f - e) / 1e9, r }'
BASH
}

echo "# bench/import.sh  ROUNDS=$ROUNDS SCALE=$SCALE JOBS=$JOBS"
echo "# $(bench_machine)"
SO_SHA=$(sha1sum "$BENCH_SO" | cut -c1-12)
echo "# extension: $BENCH_SO ($(stat -c '%y' "$BENCH_SO" | cut -d. -f1), sha1 $SO_SHA)"
echo "# repository $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?') (the installed library may be built from another tree)"
echo "# source: database bench, $SRC_SIZE, $SRC_ROWS rows in pgbench_accounts (+1 extra index)"
echo "# by-hand target settings: $(echo $TARGET_SETTINGS)"
echo

if [ "$WARMUP" != 0 ]; then
	bench_note "warm-up round (not reported)"
	ext_once warm >/dev/null
	bare_once >/dev/null
fi

T=() I=() D=() R=() B=() BI=() BD=() BC=() BR=() BIMP=()
echo "## microservice import: apply -> healthy (a) vs by hand (b), seconds"
echo
echo "| round | order | (a) apply->healthy | import step | pg_dump | pg_restore+ANALYZE | (b) by hand | initdb+start | pg_dump | createdb | pg_restore | a/b | import/(dump+createdb+restore) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	bench_note "round $r of $ROUNDS"
	if [ $((r % 2)) -eq 1 ]; then
		order="a,b"; ta=$(ext_once "imp-$r"); tb=$(bare_once)
	else
		order="b,a"; tb=$(bare_once); ta=$(ext_once "imp-$r")
	fi
	read -r t i d ra <<<"$ta"
	read -r b bi bd bc br brows <<<"$tb"
	[ "$brows" = "$SRC_ROWS" ] || bench_die "by hand: $brows rows restored, the source has $SRC_ROWS"
	bimp=$(awk -v x="$bd" -v y="$bc" -v z="$br" 'BEGIN { printf "%.3f", x + y + z }')
	T+=("$t") I+=("$i") D+=("$d") R+=("$ra") B+=("$b") BI+=("$bi") BD+=("$bd") BC+=("$bc") BR+=("$br") BIMP+=("$bimp")
	echo "| $r | $order | $t | $i | $d | $ra | $b | $bi | $bd | $bc | $br | $(bench_ratio "$t" "$b") | $(bench_ratio "$i" "$bimp") |"
done
mt=$(bench_median "${T[@]}") mi=$(bench_median "${I[@]}") mb=$(bench_median "${B[@]}") mbimp=$(bench_median "${BIMP[@]}")
echo "| **median** | | **$mt** | **$mi** | $(bench_median "${D[@]}") | $(bench_median "${R[@]}") | **$mb** |" \
	"$(bench_median "${BI[@]}") | $(bench_median "${BD[@]}") | $(bench_median "${BC[@]}") | $(bench_median "${BR[@]}") | | |"
echo
ratio_all=$(bench_ratio "$mt" "$mb")
ratio_imp=$(bench_ratio "$mi" "$mbimp")
verdict() { if bench_within "$1" "$TARGET"; then echo "within the target"; else echo "ABOVE the target"; fi; }
echo "median(a) / median(b) = **${ratio_all}x** (apply -> healthy against initdb + start + dump + createdb + restore by hand): $(verdict "$ratio_all")"
echo
echo "median(import step) / median(dump + createdb + restore) = **${ratio_imp}x** (target: at most ${TARGET}x): $(verdict "$ratio_imp")"
echo
echo "The import step also runs the preflight (source version, databases, rights, extensions, free space),"
echo "drops the application database's extensions, toggles the owner's SUPERUSER and runs ANALYZE, which"
echo "the by-hand run does not; (a) further includes initdb, post-init, the roles and status steps."

echo
nw=$(grep -cE ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" || true)
echo "control log: $(wc -l <"$BENCH_W/ctl.log") lines, $nw WARNING/ERROR/FATAL/PANIC"
if [ "$nw" -gt 0 ]; then
	grep -E ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" | head -n 20 | sed 's/^/    /'
fi
# a shared machine: someone may install another build while this runs
[ "$(sha1sum "$BENCH_SO" | cut -c1-12)" = "$SO_SHA" ] ||
	bench_die "$BENCH_SO changed during the run: the results mix two builds"
if grep -qF -- "$SRC_PW" "$BENCH_W/ctl.log"; then
	bench_die "the source password appears in the control log"
fi
