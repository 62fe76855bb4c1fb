#!/usr/bin/env bash
# What does cnpg_bootstrap cost for a primary + 2 streaming standbys?
#
# Run as root, with the extension already installed (it builds nothing).
# Starts a throwaway control instance of its own under /tmp, then ROUNDS
# rounds, interleaved (the order rotates; the machine is noisy, only ratios
# measured in the same run count), of:
#
#   (a) apply -> healthy of an `instances: 3` Cluster: initdb, start,
#       post-init, then 2 standbys cloned in parallel by pg_basebackup over
#       TLS with the streaming_replica certificate, started, healthy once
#       both stream; timed inside one psql session with clock_timestamp()
#       (psql start-up excluded); checked (pg_stat_replication on the
#       primary shows 2 streaming), then deleted (teardown not timed);
#   (b) the same by hand, as a user would type it: `initdb --username=postgres
#       --encoding=UTF8 --lc-collate=C --lc-ctype=C` + `pg_ctl start -w`,
#       two `pg_basebackup -R -X stream -c fast` one after the other, two
#       `pg_ctl start -w`, then wait (a DO loop polling every 10 ms) until
#       pg_stat_replication on the primary shows 2 streaming;
#   (c) for reference: (b) with the two pg_basebackup in parallel (the
#       standbys are still started one after the other, as the extension
#       does).
# The hand-made servers use unix sockets only (no TLS, no slots): what a
# user on one host types.  Medians, median(a)/median(b) (target at most
# TARGET, 1.0x since the spare pool) and
# median(a)/median(c); where the time of (a) goes, from
# cnpg_bootstrap.steps, the control log and the walsenders' backend_start.
#
# Everything it started is stopped (pg_ctl -m immediate) and removed on
# exit, failure included.  Environment:
#   ROUNDS (5), WARMUP (1 unreported round of each), TARGET (1.0),
#   POOL (1: cnpg_bootstrap.spare_pool_size; before each (a) the script
#   waits until the machine is idle and the pool holds a spare; 0: no pool)
#   BENCH_PORT_RANGE (57200-57349), BENCH_CTL_PORT (57399), BARE_PORT
#   (57380: the hand-made servers use 57380-57382, unix sockets only),
#   HAND_EXTRA=1: two more hand-made variants, to size what the extension
#   could gain: (d) = (c) with the two standbys started in parallel too
#   (their "start s1" is the wall of both starts), (e) = (d) with
#   recovery_init_sync_method = syncfs for the standbys' first start.
#   HAND_APP=1: the hand-made variants also create the app role and database after
#   starting the primary, before the clones (what post-init does; then
#   the copies hold what the extension's hold); timed in the total and
#   shown apart.
#   PGBIN, BENCH_KEEP=1 keeps the work directory (servers stopped).
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_PORT_RANGE=${BENCH_PORT_RANGE:-57200-57349}
BENCH_CTL_PORT=${BENCH_CTL_PORT:-57399}
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
TARGET=${TARGET:-1.0}
POOL=${POOL:-1}
BARE_PORT=${BARE_PORT:-57380}
HAND_EXTRA=${HAND_EXTRA:-0}
HAND_APP=${HAND_APP:-0}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a positive integer"

bench_init
bench_control_start "$BENCH_LOG_CONF
cnpg_bootstrap.spare_pool_size = $POOL"
bench_log_function

HEALTHY='Cluster in healthy state'

cluster_doc() {	# $1 name
	cat <<YAML
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $1
spec:
  instances: 3
  storage:
    size: 1Gi
YAML
}

# (a) one Cluster of 3 instances.  Prints "total launch initdb start
# postinit to_clones clones clone2 clone3 start2 start3 stream_healthy
# wait_lag" (seconds):
#   launch      apply call -> initdb step started
#   start       initdb finished -> post-init started (pg_ctl start)
#   to_clones   post-init finished -> first clone started (roles: SCRAM
#               verifier of the app owner, replication slots, status)
#   clones      first clone started -> last clone finished (wall, parallel);
#               clone2/clone3 each clone step alone (pg_basebackup, then
#               configuration files, standby.signal, rename, fsync)
#   start2      last clone finished -> `pg_ctl start <name>-3` logged
#               (the start of <name>-2, pg_ctl -w)
#   start3      -> the walsender of <name>-3 started on the primary
#   stream_healthy  -> ready_at (pg_ctl -w of -3 noticing, the streaming
#               check on both ends, polled every 100 ms, the healthy step)
#   wait_lag    ready_at -> cnpg_bootstrap_wait returned
#   sync        of start2 + start3: the startup process's fsync of the whole
#               copied data directory (PostgreSQL does it when it starts
#               from a backup; "database system was interrupted" -> "entering
#               standby mode" in each standby's log), both standbys summed
ext_once() {	# $1 name
	local name=$1 out t0 t1 sock port ws sync size
	out=$(ctl_psql -At -v m="$(cluster_doc "$name")" -v name="$name" -f - <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \gset
SELECT cnpg_bootstrap_wait(:'name', '10 minutes') AS phase \gset
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

	# both ends agree: the extension's view and the primary's own
	[ "$(ctl_psql -At -c "SELECT string_agg(role || ':' || status, ' ' ORDER BY instance)
		FROM cnpg_bootstrap_instances('$name')")" = "primary:running replica:streaming replica:streaming" ] ||
		bench_die "$name: cnpg_bootstrap_instances does not show 1 primary + 2 streaming replicas"
	sock=$BENCH_DATA_ROOT/$name/run
	port=$(ctl_psql -At -c "SELECT port FROM cnpg_bootstrap.instances WHERE instance = '$name-1'")
	ws=$(as_pg "$PGBIN/psql" -X -Atq -h "$sock" -p "$port" -U postgres -d postgres -c \
		"SELECT count(*) || ' ' || coalesce(max(backend_start)::text, '')
		   FROM pg_stat_replication WHERE state = 'streaming' AND application_name <> ''") ||
		bench_die "$name: cannot query its primary"
	[ "${ws%% *}" = 2 ] || bench_die "$name: pg_stat_replication on the primary shows ${ws%% *} streaming, not 2"

	out=$(ctl_psql -At -v name="$name" -v t0="$t0" -v t1="$t1" -v ws="${ws#* }" -f - <<'SQL'
WITH s AS (SELECT * FROM cnpg_bootstrap.steps WHERE cluster = :'name'),
i AS (SELECT * FROM s WHERE step = 'initdb'),
p AS (SELECT * FROM s WHERE step = 'post-init'),
cl AS (SELECT min(started_at) AS b, max(finished_at) AS e,
              max(finished_at - started_at) FILTER (WHERE instance = :'name' || '-2') AS c2,
              max(finished_at - started_at) FILTER (WHERE instance = :'name' || '-3') AS c3
         FROM s WHERE step = 'clone'),
lg AS (SELECT min(ts) AS s3 FROM bench_log()
        WHERE msg LIKE '%LOG:  pg_ctl start ' || :'name' || '-3: running %'),
c AS (SELECT ready_at FROM cnpg_bootstrap.clusters WHERE name = :'name')
SELECT concat_ws(' ',
	round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3),
	round(extract(epoch FROM i.started_at - :'t0'::timestamptz), 3),
	round(extract(epoch FROM i.finished_at - i.started_at), 3),
	round(extract(epoch FROM p.started_at - i.finished_at), 3),
	round(extract(epoch FROM p.finished_at - p.started_at), 3),
	round(extract(epoch FROM cl.b - p.finished_at), 3),
	round(extract(epoch FROM cl.e - cl.b), 3),
	round(extract(epoch FROM cl.c2), 3),
	round(extract(epoch FROM cl.c3), 3),
	round(extract(epoch FROM lg.s3 - cl.e), 3),
	round(extract(epoch FROM :'ws'::timestamptz - lg.s3), 3),
	round(extract(epoch FROM c.ready_at - :'ws'::timestamptz), 3),
	round(extract(epoch FROM :'t1'::timestamptz - c.ready_at), 3))
  FROM i, p, cl, lg, c;
SQL
	) || bench_die "no step timings for $name"
	[ "$(wc -w <<<"$out")" -eq 13 ] || bench_die "incomplete step timings for $name: $out"
	sync=$(start_sync "$BENCH_DATA_ROOT/$name/$name-2/log/postgres.csv" \
		"$BENCH_DATA_ROOT/$name/$name-3/log/postgres.csv")
	size=$(copy_size "$BENCH_DATA_ROOT/$name/$name-2/pgdata")
	bench_delete_clusters "$name"
	echo "$out $sync $size"
}

# files and MB of a standby's data directory
copy_size() {
	echo "$(find "$1" -type f | wc -l) $(du -sm "$1" | cut -f1)"
}

# the fsync of the data directory at the first start of standbys (their log files)
start_sync() {
	local f total=0 g
	for f in "$@"; do
		g=$(bench_log_gap "$f" "database system was interrupted" "entering standby mode")
		[ "$g" != nan ] || { echo nan; return; }
		total=$(awk -v a="$total" -v b="$g" 'BEGIN { printf "%.3f", a + b }')
	done
	echo "$total"
}

# (b)/(c) by hand, as postgres.  $1 = seq|par.  Prints "total initdb start
# clones clone1 clone2 start1 start2 stream sync" (seconds; in par mode
# clone1 = clone2 = the parallel wall; sync as in ext_once), files and MB
# of a copy, and the app role + database (HAND_APP=1; else 0).
bare_once() {	# $1 seq|par
	local out
	out=$(as_pg bash -s -- "$1" "$BENCH_W/h" "$BENCH_SOCK" "$BARE_PORT" "$HAND_APP" <<'BASH'
set -eu
mode=$1 base=$2 sock=$3 p0=$4 app=$5
ns() { date +%s%N; }
fail() { for f in "$base"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
rm -rf "$base"; mkdir -m 0700 "$base"
opts() { echo "-p $1 -k $sock -c listen_addresses=''"; }
clone() {	# $1 dir
	pg_basebackup -R -X stream -c fast -D "$base/$1" -h "$sock" -p "$p0" -U postgres \
		>"$base/$1.bb.log" 2>&1
}
t0=$(ns)
initdb --username=postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C -D "$base/p" \
	>"$base/initdb.log" 2>&1 || fail
t1=$(ns)
pg_ctl start -w -t 300 -s -D "$base/p" -l "$base/p.log" -o "$(opts "$p0")" >/dev/null || fail
t2=$(ns) tapp=0
if [ "$app" = 1 ]; then
	psql -X -q -h "$sock" -p "$p0" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c 'CREATE ROLE app LOGIN' -c 'CREATE DATABASE app OWNER app' || fail
	t2b=$(ns)
	tapp=$((t2b - t2)) t2=$t2b
fi
if [ "$mode" = seq ]; then
	clone s1 || fail
	t3a=$(ns)
	clone s2 || fail
else
	clone s1 & b1=$!
	clone s2 & b2=$!
	wait "$b1" || fail
	wait "$b2" || fail
	t3a=
fi
t3=$(ns)
sopts=
[ "$mode" = parsyncfs ] && sopts=" -c recovery_init_sync_method=syncfs"
start_s() {	# $1 dir, $2 port
	pg_ctl start -w -t 300 -s -D "$base/$1" -l "$base/$1.log" -o "$(opts "$2")$sopts" >/dev/null
}
if [ "$mode" = seq ] || [ "$mode" = par ]; then
	start_s s1 $((p0 + 1)) || fail
	t4=$(ns)
	start_s s2 $((p0 + 2)) || fail
	t5=$(ns)
else
	start_s s1 $((p0 + 1)) & b1=$!
	start_s s2 $((p0 + 2)) & b2=$!
	wait "$b1" || fail
	wait "$b2" || fail
	t5=$(ns) t4=$t5
fi
psql -X -q -h "$sock" -p "$p0" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '2 minutes';
BEGIN
	WHILE (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming') < 2 LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'the standbys do not stream after 2 minutes';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END \$\$" || fail
t6=$(ns)
echo "$(find "$base/s1" -type f | wc -l) $(du -sm "$base/s1" | cut -f1)" >"$base/size"
awk -v x="$tapp" 'BEGIN { printf "%.3f\n", x / 1e9 }' >"$base/app"
for d in s2 s1 p; do
	pg_ctl stop -w -s -m fast -D "$base/$d" >/dev/null
	rm -rf "${base:?}/$d"
done
awk -v a="$t0" -v b="$t1" -v c="$t2" -v x="${t3a:-}" -v d="$t3" -v e="$t4" -v f="$t5" -v g="$t6" -v ap="$tapp" 'BEGIN {
	if (x == "") { c1 = (d - c) / 1e9; c2 = c1 } else { c1 = (x - c) / 1e9; c2 = (d - x) / 1e9 }
	printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", (g - a) / 1e9, (b - a) / 1e9, (c - b - ap) / 1e9,
		(d - c) / 1e9, c1, c2, (e - d) / 1e9, (f - e) / 1e9, (g - f) / 1e9 }'
BASH
	) || bench_die "the hand-made run ($1) failed"
	echo "$out $(start_sync "$BENCH_W/h/s1.log" "$BENCH_W/h/s2.log") $(cat "$BENCH_W/h/size") $(cat "$BENCH_W/h/app")"
	rm -rf "$BENCH_W/h"
}

run_variant() {	# $1 a|b|c|d|e, $2 round tag
	# every variant starts idle: no refill of the spare pool loads the machine meanwhile
	bench_pool_ready >/dev/null
	case $1 in
		a) ext_once "rep-$2" ;;
		b) bare_once seq ;;
		c) bare_once par ;;
		d) bare_once parstart ;;
		e) bare_once parsyncfs ;;
	esac
}
V=(a b c)
[ "$HAND_EXTRA" = 1 ] && V+=(d e)
declare -A VNAME=([a]="(a) ext" [b]="(b) hand, seq" [c]="(c) hand, par"
	[d]="(d) hand, par + parallel starts" [e]="(e) = (d) + syncfs")

echo "# bench/replicas.sh  ROUNDS=$ROUNDS TARGET=$TARGET POOL=$POOL HAND_APP=$HAND_APP HAND_EXTRA=$HAND_EXTRA"
echo "# $(bench_machine)"
echo "# extension: $BENCH_SO ($(stat -c '%y' "$BENCH_SO" | cut -d. -f1), sha1 $(sha1sum "$BENCH_SO" | cut -c1-12))"
echo "# repository $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?') (the installed library may be built from another tree)"
echo "# work dir $BENCH_W, target ports $BENCH_PORT_RANGE, hand-made servers on $BARE_PORT-$((BARE_PORT + 2)) (unix sockets)"
echo

if [ "$WARMUP" != 0 ]; then
	bench_note "warm-up round (not reported)"
	for v in "${V[@]}"; do
		run_variant "$v" warm >/dev/null
	done
fi

declare -A R
for r in $(seq "$ROUNDS"); do
	# the order rotates: round 1 a b c, round 2 b c a, ...
	k=$(((r - 1) % ${#V[@]}))
	order="${V[*]:$k} ${V[*]:0:$k}"
	order=${order% }
	bench_note "round $r of $ROUNDS ($order) $(cut -d' ' -f1 /proc/loadavg)"
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
# shellcheck disable=SC2046
medi() { bench_median $(col "$1" "$2") | awk '{ printf "%.0f\n", $1 }'; }

echo "## apply -> healthy of an instances: 3 Cluster (a) vs the same by hand (b: sequential clones, c: parallel clones), seconds"
echo
hdr="| round | order | load |" sep="|---|---|---|"
for v in "${V[@]}"; do hdr+=" ${VNAME[$v]} |"; sep+="---|"; done
for v in "${V[@]:1}"; do hdr+=" a/$v |"; sep+="---|"; done
echo "$hdr"
echo "$sep"
for r in $(seq "$ROUNDS"); do
	line="| $r | ${R[order,$r]} | ${R[load,$r]} |"
	a=$(awk '{ print $1 }' <<<"${R[a,$r]}")
	for v in "${V[@]}"; do line+=" $(awk '{ print $1 }' <<<"${R[$v,$r]}") |"; done
	for v in "${V[@]:1}"; do line+=" $(bench_ratio "$a" "$(awk '{ print $1 }' <<<"${R[$v,$r]}")") |"; done
	echo "$line"
done
line="| **median** | | |"
for v in "${V[@]}"; do line+=" **$(med "$v" 1)** |"; done
for v in "${V[@]:1}"; do line+=" |"; done
echo "$line"
ma=$(med a 1) mb=$(med b 1) mc=$(med c 1)
echo
ratio_b=$(bench_ratio "$ma" "$mb") ratio_c=$(bench_ratio "$ma" "$mc")
if bench_within "$ratio_b" "$TARGET"; then verdict="within the target"; else verdict="ABOVE the target"; fi
if bench_within "$ratio_b" 0.999; then verdict2="below 1.0x"; else verdict2="NOT below 1.0x"; fi
echo "median(a)/median(b) = **${ratio_b}x** (target: at most ${TARGET}x, and below 1.0x): $verdict, $verdict2"
echo
echo "median(a)/median(c) = **${ratio_c}x** (for reference: the hand-made run with parallel clones)"
echo
if [ "$HAND_EXTRA" = 1 ]; then
	echo "median(a)/median(d) = **$(bench_ratio "$ma" "$(med d 1)")x**, median(a)/median(e) = **$(bench_ratio "$ma" "$(med e 1)")x**"
	echo "(d: the standbys also started in parallel; e: and \`recovery_init_sync_method = syncfs\` for their first start)"
	echo
fi

echo "### (a) step by step (cnpg_bootstrap.steps, the control log, the walsenders' backend_start)"
echo
echo "| round | total | apply+launch | initdb | start | post-init | roles+slots | clones (wall) | clone -2 | clone -3 | start -2 | start -3 | stream+healthy | wait lag | of start -2/-3: fsync of the copy | files in a copy | MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	echo "| $r | ${R[a,$r]// / | } |"
done
line="| **median**"
for f in $(seq 14); do line+=" | $(med a "$f")"; done
line+=" | $(medi a 15) | $(medi a 16)"
echo "$line |"
echo
echo "### (b) and (c) step by step"
echo
echo "| round | variant | total | initdb | start | clones (wall) | clone 1 | clone 2 | start s1 | start s2 | until 2 streaming | of start s1/s2: fsync of the copy | files in a copy | MB | (app role + database, HAND_APP=1) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for v in "${V[@]:1}"; do
	for r in $(seq "$ROUNDS"); do
		echo "| $r | $v | ${R[$v,$r]// / | } |"
	done
	line="| **median** | $v"
	for f in $(seq 10); do line+=" | $(med "$v" "$f")"; done
	line+=" | $(medi "$v" 11) | $(medi "$v" 12) | $(med "$v" 13)"
	echo "$line |"
done
echo
echo "### the same pieces side by side (medians, seconds)"
echo
hdr="| piece | (a) ext |" sep="|---|---|"
for v in "${V[@]:1}"; do hdr+=" ${VNAME[$v]} |"; sep+="---|"; done
echo "$hdr"
echo "$sep"
hand() {	# field numbers of the hand-made output (one, or two to add with +); "-": none
	local v out=''
	for v in "${V[@]:1}"; do
		case $# in
			0) out+=" - |" ;;
			1) out+=" $(med "$v" "$1") |" ;;
			2) out+=" $(med "$v" "$1") + $(med "$v" "$2") |" ;;
		esac
	done
	echo "$out"
}
echo "| before initdb (apply, worker, secrets, pki) | $(med a 2) |$(hand)"
echo "| initdb | $(med a 3) |$(hand 2)"
echo "| start the primary | $(med a 4) |$(hand 3)"
echo "| post-init (app role + database) | $(med a 5) |$(hand 13)"
echo "| roles, slots | $(med a 6) |$(hand)"
echo "| clones (wall) | $(med a 7) |$(hand 4)"
echo "| start of the 1st standby (d, e: of both, in parallel) | $(med a 10) |$(hand 7)"
echo "| start of the 2nd standby, until it streams | $(med a 11) + $(med a 12) |$(hand 8 9)"
echo "| wait lag | $(med a 13) |$(hand)"
echo "| of the two standby starts: fsync of the copied data directory | $(med a 14) |$(hand 10)"
line="| one copy: files, MB | $(medi a 15), $(medi a 16) |"
for v in "${V[@]:1}"; do line+=" $(medi "$v" 11), $(medi "$v" 12) |"; done
echo "$line"
line="| **total** | **$ma** |"
for v in "${V[@]:1}"; do line+=" **$(med "$v" 1)** |"; done
echo "$line"
echo
nw=$(grep -cE ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" || true)
echo "control log: $(wc -l <"$BENCH_W/ctl.log") lines, $nw WARNING/ERROR/FATAL/PANIC"
if [ "$nw" -gt 0 ]; then
	grep -E ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" | head -n 20 | sed 's/^/    /'
fi
