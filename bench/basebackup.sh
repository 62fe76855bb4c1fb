#!/usr/bin/env bash
# What does cnpg_bootstrap add to a pg_basebackup of a ~1 GB server?
#
# Run as root, with the extension already installed (it builds nothing).
# Builds, once per run, a plain PostgreSQL source (initdb, `pgbench -i -s
# SCALE`, 70 by default: about 1 GB; listen_addresses = localhost,
# max_wal_senders = 10, a streaming_replica LOGIN REPLICATION role with a
# SCRAM password that pg_hba.conf asks for over TCP), a throwaway control
# instance, then ROUNDS rounds, interleaved (the order rotates; the
# machine is noisy, only ratios measured in the same run count), of:
#
#   (a) apply -> healthy of a `bootstrap.pg_basebackup` Cluster (instances:
#       1, externalClusters with connectionParameters host/port/user/dbname
#       and a `password` Secret reference, as in t/003_basebackup.pl), timed
#       inside one psql session with clock_timestamp(); checked (the copy's
#       data, timeline 2, a primary, the app database), then deleted
#       (teardown not timed).  Besides the clone the extension configures
#       the copy, starts it, waits for the end of its archive recovery on a
#       new timeline, creates the app role and database: where the time
#       goes comes from cnpg_bootstrap.steps, the control log and the
#       copy's own log;
#   (b) the bare CLI: `pg_basebackup -X stream -c fast -D x -d "<the same
#       conninfo>"`, the password through PGPASSFILE;
#   (c) for reference (FULL=1): what (a) does, by hand: (b), then
#       recovery.signal + restore_command = '/bin/false', pg_ctl start -w,
#       wait (10 ms polls) until pg_is_in_recovery() is false, CREATE ROLE
#       app LOGIN PASSWORD + CREATE DATABASE app OWNER app.
#   with CLI_EXTRA=1, to size two costs of the clone step: (d) the CLI
#   with the extension's own extra arguments (-P -w, options='-c
#   wal_sender_timeout=0s'), (e) the CLI with --no-sync.
# Medians, median(a)/median(b) (target: at most TARGET, 1.1x), the clone
# step of (a) alone against (b), and median(a)/median(c).
#
# Everything it started is stopped (pg_ctl -m immediate) and removed on
# exit, failure included.  Environment:
#   ROUNDS (3), SCALE (70), FULL (1), CLI_EXTRA (0), TARGET (1.1)
#   BENCH_PORT_RANGE (57400-57549), BENCH_CTL_PORT (57599), SRC_PORT (57590,
#   TCP on localhost), HAND_PORT (57591, unix socket only), PGBIN,
#   BENCH_KEEP=1 keeps the work directory (servers stopped).
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_PORT_RANGE=${BENCH_PORT_RANGE:-57400-57549}
BENCH_CTL_PORT=${BENCH_CTL_PORT:-57599}
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-70}
FULL=${FULL:-1}
CLI_EXTRA=${CLI_EXTRA:-0}
TARGET=${TARGET:-1.1}
SRC_PORT=${SRC_PORT:-57590}
HAND_PORT=${HAND_PORT:-57591}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a positive integer"
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || bench_die "SCALE must be a positive integer"

bench_init
bench_check_port_free "$SRC_PORT"
bench_control_start "$BENCH_LOG_CONF"
bench_log_function

HEALTHY='Cluster in healthy state'
SRC=$BENCH_W/src
PGPASS=$BENCH_W/pgpass
CONNINFO="host=localhost port=$SRC_PORT user=streaming_replica dbname=postgres"

src_psql() {
	as_pg "$PGBIN/psql" -X -q -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

# ---------- the source, once ----------
build_source() {
	local pw a b
	pw=$(openssl rand -hex 24)
	as_pg "$PGBIN/initdb" --username=postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C \
		-A peer -D "$SRC" >/dev/null || bench_die "initdb of the source failed"
	as_pg tee -a "$SRC/postgresql.conf" >/dev/null <<CONF
port = $SRC_PORT
listen_addresses = 'localhost'
unix_socket_directories = '$BENCH_SOCK'
max_wal_senders = 10
max_wal_size = 4GB
password_encryption = 'scram-sha-256'
CONF
	# TCP: a password for streaming_replica, nothing else
	as_pg tee "$SRC/pg_hba.conf" >/dev/null <<HBA
local all all peer
local replication all peer
host all streaming_replica 127.0.0.1/32 scram-sha-256
host all streaming_replica ::1/128 scram-sha-256
host replication streaming_replica 127.0.0.1/32 scram-sha-256
host replication streaming_replica ::1/128 scram-sha-256
HBA
	as_pg "$PGBIN/pg_ctl" -D "$SRC" -l "$BENCH_W/src.log" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$BENCH_W/src.log" >&2; bench_die "the source did not start"; }
	# the password through stdin, never on a command line
	src_psql -f - <<<"CREATE ROLE streaming_replica LOGIN REPLICATION PASSWORD '$pw';" ||
		bench_die "could not create streaming_replica"
	as_pg install -m 0600 /dev/null "$PGPASS"
	as_pg tee "$PGPASS" >/dev/null <<<"localhost:$SRC_PORT:*:streaming_replica:$pw"
	# the Secret the Clusters reference, through stdin too
	ctl_psql -f - >/dev/null <<SQL || bench_die "could not apply the Secret"
SELECT * FROM cnpg_bootstrap_apply(\$yaml\$apiVersion: v1
kind: Secret
metadata:
  name: origin-pw
stringData:
  password: '$pw'
\$yaml\$);
SQL
	bench_note "pgbench -i -s $SCALE on the source"
	a=$(bench_now_ns)
	as_pg "$PGBIN/pgbench" -i -q -s "$SCALE" -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres postgres \
		>"$BENCH_W/pgbench.log" 2>&1 || { tail -n 20 "$BENCH_W/pgbench.log" >&2; bench_die "pgbench -i failed"; }
	src_psql -c CHECKPOINT
	sync
	b=$(bench_now_ns)
	SRC_BUILD=$(bench_secs "$a" "$b")
	SRC_SIZE=$(src_psql -At -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")
	SRC_BYTES=$(src_psql -At -c "SELECT sum(pg_database_size(oid)) FROM pg_database")
	SRC_ACCOUNTS=$(src_psql -At -c "SELECT pg_relation_size('pgbench_accounts')")
	# the password is really asked for over TCP, and works from the pgpass file
	if as_pg "$PGBIN/psql" -X -Atq -w -d "$CONNINFO" -c 'SELECT 1' >/dev/null 2>&1; then
		bench_die "the source lets streaming_replica in over TCP without a password"
	fi
	[ "$(as_pg PGPASSFILE="$PGPASS" "$PGBIN/psql" -X -Atq -w -d "$CONNINFO" \
		-c 'SELECT rolreplication FROM pg_roles WHERE rolname = current_user')" = t ] ||
		bench_die "streaming_replica cannot log in over TCP with its password"
}

cluster_doc() {	# $1 name
	cat <<YAML
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $1
spec:
  instances: 1
  storage:
    size: 4Gi
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
  - name: origin
    connectionParameters:
      host: localhost
      port: "$SRC_PORT"
      user: streaming_replica
      dbname: postgres
    password:
      name: origin-pw
      key: password
YAML
}

# (a) prints "total to_clone clone configure to_startup sync recovery
# eor_ckpt to_healthy wait_lag" (seconds):
#   to_clone    apply call -> clone step started (apply, worker, secrets,
#               pki, the source's pgpass, preflight queries on the source)
#   clone       the clone step (pg_basebackup -X stream -c fast -P into
#               pgdata.tmp, rename, fsync)
#   configure   clone finished -> configure finished (configuration files,
#               recovery.signal)
#   to_startup  -> the copy's startup process begins ("database system was
#               interrupted": pg_ctl, postmaster start)
#   sync        -> "starting archive recovery" (the startup process's fsync
#               of the whole copied data directory)
#   recovery    -> "database system is ready to accept connections" (WAL
#               replay, new timeline, end-of-recovery checkpoint)
#   eor_ckpt    of recovery: the end-of-recovery checkpoint
#   to_healthy  -> ready_at (noticing the promotion, 200 ms polls; the app
#               role and database; the healthy step)
#   wait_lag    ready_at -> cnpg_bootstrap_wait returned
# and writes the cluster's cnpg_bootstrap.steps rows to $BENCH_W/steps-<name>.
ext_once() {	# $1 name
	local name=$1 out t0 t1 sock port csv check
	out=$(ctl_psql -At -v m="$(cluster_doc "$name")" -v name="$name" -f - <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \gset
SELECT cnpg_bootstrap_wait(:'name', '30 minutes') AS phase \gset
SELECT clock_timestamp() AS t1 \gset
\echo PHASE :phase
\echo T0 :t0
\echo T1 :t1
SQL
	) || bench_die "apply/wait of $name failed"
	grep -qx "PHASE $HEALTHY" <<<"$out" || {
		echo "$out" >&2
		ctl_psql -c "SELECT * FROM cnpg_bootstrap_status('$name')" >&2 || true
		bench_die "cluster $name did not become healthy"
	}
	t0=$(sed -n 's/^T0 //p' <<<"$out") t1=$(sed -n 's/^T1 //p' <<<"$out")

	sock=$BENCH_DATA_ROOT/$name/run
	port=$(ctl_psql -At -c "SELECT port FROM cnpg_bootstrap.instances WHERE instance = '$name-1'")
	check=$(as_pg "$PGBIN/psql" -X -Atq -h "$sock" -p "$port" -U postgres -d postgres -c \
		"SELECT concat_ws(' ', (SELECT count(*) FROM pgbench_branches),
			pg_relation_size('pgbench_accounts'),
			(SELECT timeline_id FROM pg_control_checkpoint()), pg_is_in_recovery(),
			(SELECT count(*) FROM pg_database WHERE datname = 'app'))") ||
		bench_die "$name: cannot query the copy"
	[ "$check" = "$SCALE $SRC_ACCOUNTS 2 f 1" ] ||
		bench_die "$name: the copy is not what it should be (branches, accounts size, timeline, in recovery, app: $check)"

	csv=$BENCH_DATA_ROOT/$name/$name-1/log/postgres.csv
	out=$(ctl_psql -At -v name="$name" -v t0="$t0" -v t1="$t1" -v csv="$csv" -f - <<'SQL'
\echo STEPS
SELECT step || ' ' || instance || ' ' || (finished_at - started_at)
  FROM cnpg_bootstrap.steps WHERE cluster = :'name' ORDER BY started_at;
CREATE TEMP TABLE lf AS SELECT * FROM bench_logfile(:'csv');
WITH s AS (SELECT * FROM cnpg_bootstrap.steps WHERE cluster = :'name'),
cl AS (SELECT * FROM s WHERE step = 'clone'),
cf AS (SELECT * FROM s WHERE step = 'configure'),
l AS (SELECT
	min(ts) FILTER (WHERE line LIKE '%database system was interrupted%') AS interrupted,
	min(ts) FILTER (WHERE line LIKE '%starting archive recovery%') AS archive,
	min(ts) FILTER (WHERE line LIKE '%database system is ready to accept connections%') AS ready,
	min(ts) FILTER (WHERE line LIKE '%checkpoint starting: end-of-recovery%') AS eor_b
	FROM lf),
e AS (SELECT min(ts) AS eor_e FROM lf, l WHERE line LIKE '%checkpoint complete%' AND ts >= l.eor_b),
c AS (SELECT ready_at FROM cnpg_bootstrap.clusters WHERE name = :'name')
SELECT 'TIMES ' || concat_ws(' ',
	round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3),
	round(extract(epoch FROM cl.started_at - :'t0'::timestamptz), 3),
	round(extract(epoch FROM cl.finished_at - cl.started_at), 3),
	round(extract(epoch FROM cf.finished_at - cl.finished_at), 3),
	round(extract(epoch FROM l.interrupted - cf.finished_at), 3),
	round(extract(epoch FROM l.archive - l.interrupted), 3),
	round(extract(epoch FROM l.ready - l.archive), 3),
	coalesce(round(extract(epoch FROM e.eor_e - l.eor_b), 3), 0),
	round(extract(epoch FROM c.ready_at - l.ready), 3),
	round(extract(epoch FROM :'t1'::timestamptz - c.ready_at), 3))
  FROM cl, cf, l, e, c;
SQL
	) || bench_die "no step timings for $name"
	sed -n '/^STEPS$/,/^TIMES /p' <<<"$out" | grep -v '^STEPS$\|^TIMES ' >"$BENCH_W/steps-$name"
	out=$(sed -n 's/^TIMES //p' <<<"$out")
	[ "$(wc -w <<<"$out")" -eq 10 ] || bench_die "incomplete step timings for $name: $out"
	bench_delete_clusters "$name"
	echo "$out"
}

# (b) the bare CLI; (c) with FULL: the rest of what (a) does, by hand.
# Prints "total clone start promoted app sync" (seconds; (b): clone only,
# the rest 0).
bare_once() {	# $1 cli|full
	as_pg PGPASSFILE="$PGPASS" bash -s -- "$1" "$BENCH_W/h" "$CONNINFO" "$BENCH_SOCK" "$HAND_PORT" <<'BASH'
set -eu
mode=$1 d=$2 conninfo=$3 sock=$4 port=$5
ns() { date +%s%N; }
rm -rf "$d"
extra=()
case $mode in
	# what src/basebackup.c passes besides: progress (-P: the server sizes
	# the data directory first), -w, wal_sender_timeout off
	cliext) extra=(-P -w) conninfo="$conninfo options='-c wal_sender_timeout=0s'" ;;
	nosync) extra=(--no-sync) ;;
esac
t0=$(ns)
pg_basebackup -X stream -c fast "${extra[@]}" -D "$d" -d "$conninfo" >"$d.bb.log" 2>&1 ||
	{ cat "$d.bb.log" >&2; exit 1; }
t1=$(ns)
t2=$t1 t3=$t1 t4=$t1 sync=0
if [ "$mode" = full ]; then
	rm -f "$d/postmaster.pid" "$d/standby.signal"
	touch "$d/recovery.signal"
	pg_ctl start -w -t 600 -s -D "$d" -l "$d.log" \
		-o "-p $port -k $sock -c listen_addresses='' -c restore_command=/bin/false -c recovery_target_timeline=latest" \
		>/dev/null || { tail -n 30 "$d.log" >&2; exit 1; }
	t2=$(ns)
	psql -X -q -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
	WHILE pg_is_in_recovery() LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'still in recovery after 10 minutes';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END \$\$"
	t3=$(ns)
	psql -X -q -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE app LOGIN PASSWORD 'bench-app-pw'" -c 'CREATE DATABASE app OWNER app'
	t4=$(ns)
	[ "$(psql -X -Atq -h "$sock" -p "$port" -U postgres -d postgres \
		-c 'SELECT timeline_id FROM pg_control_checkpoint()')" = 2 ] ||
		{ echo "the hand-made copy is not on timeline 2" >&2; exit 1; }
	pg_ctl stop -w -s -m fast -D "$d" >/dev/null
	sync=$(awk '
		function t(s,   a) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
		!x && /database system was interrupted/ { x = t($0); next }
		x && /starting archive recovery/ { d = t($0) - x; if (d < 0) d += 86400; printf "%.3f", d; exit }' "$d.log")
fi
rm -rf "$d" "$d.log" "$d.bb.log"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v e="$t3" -v f="$t4" -v s="${sync:-0}" 'BEGIN {
	printf "%.3f %.3f %.3f %.3f %.3f %s\n", (f - a) / 1e9, (b - a) / 1e9, (c - b) / 1e9, (e - c) / 1e9,
		(f - e) / 1e9, s }'
BASH
}

run_variant() {	# $1 a|b|c|d|e, $2 round tag
	case $1 in
		a) ext_once "bb-$2" ;;
		b) bare_once cli ;;
		c) bare_once full ;;
		d) bare_once cliext ;;
		e) bare_once nosync ;;
	esac
}

echo "# bench/basebackup.sh  ROUNDS=$ROUNDS SCALE=$SCALE FULL=$FULL CLI_EXTRA=$CLI_EXTRA TARGET=$TARGET"
echo "# $(bench_machine)"
echo "# extension: $BENCH_SO ($(stat -c '%y' "$BENCH_SO" | cut -d. -f1), sha1 $(sha1sum "$BENCH_SO" | cut -c1-12))"
echo "# repository $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?') (the installed library may be built from another tree)"
echo "# work dir $BENCH_W, target ports $BENCH_PORT_RANGE, source on localhost:$SRC_PORT"
build_source
echo "# source: pgbench -i -s $SCALE + CHECKPOINT in $SRC_BUILD s; $SRC_SIZE ($SRC_BYTES bytes) in its databases"
echo

V=(a b)
[ "$FULL" = 1 ] && V+=(c)
[ "$CLI_EXTRA" = 1 ] && V+=(d e)
declare -A R
for r in $(seq "$ROUNDS"); do
	# the order rotates: round 1 a b c, round 2 b c a, ...
	k=$(((r - 1) % ${#V[@]}))
	order="${V[*]:$k} ${V[*]:0:$k}"
	order=${order% }
	bench_note "round $r of $ROUNDS ($order), load $(cut -d' ' -f1 /proc/loadavg)"
	for v in $order; do
		R[$v,$r]=$(run_variant "$v" "$r")
	done
	R[order,$r]=${order// /,}
	R[load,$r]=$(cut -d' ' -f1 /proc/loadavg)
done

col() {	# $1 variant, $2 field number: the values of all rounds
	local r
	for r in $(seq "$ROUNDS"); do
		awk -v f="$2" '{ print $f }' <<<"${R[$1,$r]}"
	done
}
# shellcheck disable=SC2046
med() { bench_median $(col "$1" "$2"); }
f() { awk -v f="$2" '{ print $f }' <<<"$1"; }

echo "## clone of a ${SRC_SIZE} server: apply -> healthy (a) vs bare pg_basebackup (b), seconds"
echo
hdr="| round | order | load | (a) apply -> healthy | (a) clone step | (b) pg_basebackup | a/b | clone step / b |"
sep="|---|---|---|---|---|---|---|---|"
if [ "$FULL" = 1 ]; then
	hdr+=" (c) the same by hand | a/c |"
	sep+="---|---|"
fi
echo "$hdr"
echo "$sep"
for r in $(seq "$ROUNDS"); do
	a=$(f "${R[a,$r]}" 1) ac=$(f "${R[a,$r]}" 3) b=$(f "${R[b,$r]}" 1)
	line="| $r | ${R[order,$r]} | ${R[load,$r]} | $a | $ac | $b | $(bench_ratio "$a" "$b") | $(bench_ratio "$ac" "$b") |"
	if [ "$FULL" = 1 ]; then
		c=$(f "${R[c,$r]}" 1)
		line+=" $c | $(bench_ratio "$a" "$c") |"
	fi
	echo "$line"
done
ma=$(med a 1) mac=$(med a 3) mb=$(med b 1)
line="| **median** | | | **$ma** | **$mac** | **$mb** | | |"
[ "$FULL" = 1 ] && { mc=$(med c 1); line+=" **$mc** | |"; }
echo "$line"
echo
ratio=$(bench_ratio "$ma" "$mb") ratio_clone=$(bench_ratio "$mac" "$mb")
if bench_within "$ratio" "$TARGET"; then verdict="within the target"; else verdict="ABOVE the target"; fi
if bench_within "$ratio_clone" "$TARGET"; then verdict2="within"; else verdict2="ABOVE"; fi
echo "median(a)/median(b) = **${ratio}x** (apply -> healthy against the bare CLI; target: at most ${TARGET}x): $verdict"
echo
echo "median(clone step of a)/median(b) = **${ratio_clone}x** (the clone alone; $verdict2 ${TARGET}x)"
if [ "$FULL" = 1 ]; then
	echo
	echo "median(a)/median(c) = **$(bench_ratio "$ma" "$mc")x** (for reference: against the same work by hand)"
fi
if [ "$CLI_EXTRA" = 1 ]; then
	echo
	echo "| round | (a) clone step | (b) pg_basebackup | (d) with -P -w, wal_sender_timeout=0 | (e) with --no-sync |"
	echo "|---|---|---|---|---|"
	for r in $(seq "$ROUNDS"); do
		echo "| $r | $(f "${R[a,$r]}" 3) | $(f "${R[b,$r]}" 1) | $(f "${R[d,$r]}" 1) | $(f "${R[e,$r]}" 1) |"
	done
	md=$(med d 1) me=$(med e 1)
	echo "| **median** | **$mac** | **$mb** | **$md** | **$me** |"
	echo
	echo "clone step / (d) = **$(bench_ratio "$mac" "$md")x** (the extension's machinery around the same command);" \
		"(d) / (b) = $(bench_ratio "$md" "$mb")x (the cost of -P ...); (e) / (b) = $(bench_ratio "$me" "$mb")x (without pg_basebackup's final sync)"
fi
echo
echo "### (a) step by step (cnpg_bootstrap.steps, the control log, the copy's log), seconds"
echo
echo "| round | total | apply -> clone step (preflight) | clone step | configure | -> startup | fsync of the copy | recovery + new timeline | of which end-of-recovery checkpoint | -> healthy (promotion seen, app, roles) | wait lag |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	echo "| $r | ${R[a,$r]// / | } |"
done
line="| **median**"
for i in $(seq 10); do line+=" | $(med a "$i")"; done
echo "$line |"
echo
echo "The journal itself (\`SELECT step, instance, finished_at - started_at FROM cnpg_bootstrap.steps"
echo "WHERE cluster = ...\`; only the destructive steps are journaled):"
echo
echo '```'
for r in $(seq "$ROUNDS"); do
	sed "s/^/bb-$r: /" "$BENCH_W/steps-bb-$r"
done
echo '```'
if [ "$FULL" = 1 ]; then
	echo
	echo "### (c) by hand, step by step, seconds"
	echo
	echo "| round | total | pg_basebackup | pg_ctl start -w | until promoted | app role + database | of the start: fsync of the copy |"
	echo "|---|---|---|---|---|---|---|"
	for r in $(seq "$ROUNDS"); do
		echo "| $r | ${R[c,$r]// / | } |"
	done
	line="| **median**"
	for i in $(seq 6); do line+=" | $(med c "$i")"; done
	echo "$line |"
fi
echo
nw=$(grep -cE ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" || true)
echo "control log: $(wc -l <"$BENCH_W/ctl.log") lines, $nw WARNING/ERROR/FATAL/PANIC"
if [ "$nw" -gt 0 ]; then
	grep -E ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" | head -n 20 | sed 's/^/    /'
fi
