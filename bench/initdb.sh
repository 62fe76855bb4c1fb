#!/usr/bin/env bash
# How much does cnpg_bootstrap add to a plain initdb + start?
#
# Run as root, with the extension already installed (it builds nothing).
# Starts a throwaway control instance of its own under /tmp, then, in the
# same run and interleaved (the machine is noisy: only ratios count):
#
#   1. ROUNDS rounds of
#      (a) apply -> healthy of a 1-instance initdb Cluster, timed inside one
#          psql session with clock_timestamp() (psql start-up excluded),
#          then cnpg_bootstrap_delete and wait for the teardown;
#      (b) bare `initdb -U postgres --encoding=UTF8 --lc-collate=C
#          --lc-ctype=C -D x` + `pg_ctl start -w` (the flags the extension
#          passes for a defaulted Cluster), then stop and remove;
#      medians and median(a)/median(b), target at most 0.5x (issue 16: the
#      spare pool, cnpg_bootstrap.spare_pool_size = 1 by default, makes the
#      data directory while idle; before each (a) the script waits until the
#      pool holds a spare for defaulted Clusters, and reports whether (a)
#      took one);
#   2. BATCH (20) Clusters in ONE apply call: every one must become healthy
#      and accept its app Secret's uri; wall time apply -> all healthy with
#      cnpg_bootstrap.max_workers = 4 (default) and = 10, against BATCH
#      sequential bare initdb + start (measured before and after, averaged).
#
# Everything it started is stopped (pg_ctl -m immediate) and removed on
# exit, failure included.  Environment:
#   ROUNDS (5), BATCH (20), WARMUP (1 unreported round of each), TARGET (0.5),
#   POOL (1: cnpg_bootstrap.spare_pool_size; 0 measures without the pool)
#   BENCH_PORT_RANGE (57000-57199), BENCH_CTL_PORT (56999), PGBIN,
#   BENCH_KEEP=1 keeps the work directory (servers stopped) for inspection.
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-5}
BATCH=${BATCH:-20}
WARMUP=${WARMUP:-1}
TARGET=${TARGET:-0.5}
POOL=${POOL:-1}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a positive integer"
[[ "$BATCH" =~ ^[1-9][0-9]*$ ]] || bench_die "BATCH must be a positive integer"

bench_init
# max_worker_processes: the launcher + up to BATCH cluster workers
bench_control_start "max_worker_processes = $((BATCH + 10))
cnpg_bootstrap.spare_pool_size = $POOL
log_line_prefix = '%m [%p] %b '"


HEALTHY='Cluster in healthy state'

cluster_doc() {	# $1 name
	cat <<YAML
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $1
spec:
  instances: 1
  storage:
    size: 1Gi
YAML
}

# Wait (as a DO block: a fresh snapshot per statement) until the teardown
# table is empty; then the directories must be gone.
TEARDOWN_SQL="DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '5 minutes';
BEGIN
	WHILE (SELECT count(*) FROM cnpg_bootstrap.teardown) > 0 LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'teardown not finished after 5 minutes: %',
				(SELECT string_agg(cluster, ', ') FROM cnpg_bootstrap.teardown);
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;"

check_gone() {	# cluster names...
	local n
	for n in "$@"; do
		[ ! -e "$BENCH_DATA_ROOT/$n" ] || bench_die "teardown left $BENCH_DATA_ROOT/$n behind"
	done
}

# (a) one cluster: prints "total launch initdb start postinit roles_healthy
# wait_lag initdb_started initdb_finished t0" (seconds; the last three as
# seconds of the UTC day, to be matched with the control log).  launch = apply call -> initdb step started (launcher, worker
# start-up, prepare, secrets, resolve-references); start = initdb finished
# -> post-init started; roles_healthy = post-init finished -> ready_at;
# wait_lag = ready_at -> cnpg_bootstrap_wait returned; spare = 1 if the
# primary took a spare data directory, else 0.
ext_once() {	# $1 name
	local name=$1 out line
	out=$(ctl_psql -At -v m="$(cluster_doc "$name")" -v name="$name" -f - <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \gset
SELECT cnpg_bootstrap_wait(:'name', '10 minutes') AS phase \gset
SELECT clock_timestamp() AS t1 \gset
\echo PHASE :phase
SELECT 'TIMES ' || concat_ws(' ',
	round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3),
	round(extract(epoch FROM i.started_at - :'t0'::timestamptz), 3),
	round(extract(epoch FROM i.finished_at - i.started_at), 3),
	round(extract(epoch FROM p.started_at - i.finished_at), 3),
	round(extract(epoch FROM p.finished_at - p.started_at), 3),
	round(extract(epoch FROM c.ready_at - p.finished_at), 3),
	round(extract(epoch FROM :'t1'::timestamptz - c.ready_at), 3),
	round(extract(epoch FROM i.started_at)::numeric % 86400, 3),
	round(extract(epoch FROM i.finished_at)::numeric % 86400, 3),
	round(extract(epoch FROM :'t0'::timestamptz)::numeric % 86400, 3),
	(SELECT count(*) FROM cnpg_bootstrap.steps s WHERE s.cluster = c.name
	    AND s.step = 'spare' AND s.detail LIKE 'took spare%'))
  FROM cnpg_bootstrap.clusters c
  JOIN cnpg_bootstrap.steps i ON i.cluster = c.name AND i.step = 'initdb'
  JOIN cnpg_bootstrap.steps p ON p.cluster = c.name AND p.step = 'post-init'
 WHERE c.name = :'name';
SQL
	) || bench_die "apply/wait of $name failed"
	grep -qx "PHASE $HEALTHY" <<<"$out" || {
		echo "$out" >&2
		ctl_psql -c "SELECT * FROM cnpg_bootstrap_status('$name')" >&2 || true
		bench_die "cluster $name did not become healthy"
	}
	line=$(sed -n 's/^TIMES //p' <<<"$out")
	[ -n "$line" ] || bench_die "no step timings for $name: $out"
	ctl_psql -c "SELECT cnpg_bootstrap_delete('Cluster', '$name')" -c "$TEARDOWN_SQL" >/dev/null ||
		bench_die "delete of $name failed"
	check_gone "$name"
	echo "$line"
}

# From the control log (the worker logs each child's command line and
# output lines with a timestamp), the initdb step's journal times and the
# time of the apply call (UTC seconds of the day), for cluster $1, seconds:
#   to_worker  apply call -> the worker's first command line (apply and
#              commit, launcher wake-up, worker start and connection,
#              loading the Cluster, layout)
#   version    prepare's `initdb --version` child (command line -> output)
#   to_initdb  its output -> initdb step started (rest of prepare, secrets,
#              resolve-references, journal)
#   pre        initdb step started -> initdb command line (status
#              transactions, old-directory checks)
#   child      initdb command line -> its last output line
#   post       last output line -> initdb step finished (noticing the exit,
#              configuration files, rename, fsync, journal)
log_breakdown() {	# $1 cluster name (one instance, <name>-1), $2 t0, $3 $4 initdb step
	awk -v inst="$1-1" -v t0="$2" -v s0="$3" -v s1="$4" '
	function t(line,   a) { split(substr(line, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	function d(x) { return x < -43200 ? x + 86400 : x > 43200 ? x - 86400 : x }
	{ pid = $4 }
	index($0, "] cnpg_bootstrap worker LOG:  initdb: running /") { vs[pid] = t($0) }
	index($0, "] cnpg_bootstrap worker LOG:  initdb: initdb (PostgreSQL)") { ve[pid] = t($0) }
	index($0, "LOG:  initdb " inst ": running /") { p = pid; is = t($0) }
	index($0, "LOG:  initdb " inst ": ") { ie = t($0) }
	END { if (p == "") { print "? ? ? ? ? ?"; exit }
		# no version child (cnpg_bootstrap.bindir empty: the control'"'"'s own
		# binaries): the first column runs to the initdb step, the next two are 0
		if (!(p in vs)) { vs[p] = s0; ve[p] = s0 }
		printf "%.3f %.3f %.3f %.3f %.3f %.3f\n", d(vs[p] - t0), ve[p] - vs[p], d(s0 - ve[p]),
			d(is - s0), ie - is, d(s1 - ie) }' "$BENCH_W/ctl.log"
}

# (b) bare initdb + start, timed as postgres, COUNT in a row.  Prints
# "total initdb start createdb" (seconds, summed over the COUNT servers;
# total = initdb + start).  createdb, after the start and not in total, is
# what post-init does for a defaulted Cluster, done by hand: CREATE ROLE app
# LOGIN + CREATE DATABASE app OWNER app in one psql.
BARE_PORT=56900
bare_run() {	# $1 count
	as_pg bash -s -- "$1" "$BENCH_W/bare" "$BENCH_SOCK" "$BARE_PORT" <<'BASH'
set -eu
n=$1 base=$2 sock=$3 port0=$4
ti=0 ts=0 tc=0
for i in $(seq "$n"); do
	d=$base$i
	a=$(date +%s%N)
	initdb -U postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C -D "$d" >"$d.initdb.log" 2>&1 ||
		{ cat "$d.initdb.log" >&2; exit 1; }
	b=$(date +%s%N)
	pg_ctl start -w -t 300 -s -D "$d" -l "$d.log" \
		-o "-p $((port0 + i)) -k $sock -c listen_addresses=''" >/dev/null ||
		{ cat "$d.log" >&2; exit 1; }
	c=$(date +%s%N)
	psql -X -q -h "$sock" -p $((port0 + i)) -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c 'CREATE ROLE app LOGIN' -c 'CREATE DATABASE app OWNER app'
	e=$(date +%s%N)
	ti=$((ti + b - a)); ts=$((ts + c - b)); tc=$((tc + e - c))
done
for i in $(seq "$n"); do
	pg_ctl stop -w -s -m fast -D "$base$i" >/dev/null
	rm -rf "$base$i" "$base$i.log" "$base$i.initdb.log"
done
awk -v i="$ti" -v s="$ts" -v c="$tc" \
	'BEGIN { printf "%.3f %.3f %.3f %.3f\n", (i + s) / 1e9, i / 1e9, s / 1e9, c / 1e9 }'
BASH
}

# 2. BATCH clusters in one call: prints "wall max_concurrent_initdb spares_taken"
ext_batch() {	# $1 tag
	local tag=$1 i names=() m='' n out waits='' rows bad uri
	for i in $(seq "$BATCH"); do
		names+=("bench-$tag-$i")
		m+="${m:+---
}$(cluster_doc "bench-$tag-$i")
"
	done
	for n in "${names[@]}"; do
		waits+="SELECT cnpg_bootstrap_wait('$n', '15 minutes') AS phase \\gset
\\echo PHASE $n :phase
"
	done
	out=$(ctl_psql -At -v m="$m" -f - <<SQL
SELECT clock_timestamp() AS t0 \\gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \\gset
\\echo APPLIED :applied
$waits
SELECT clock_timestamp() AS t1 \\gset
\\echo WALL :t0 :t1
SELECT 'TIMES ' || round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3) || ' ' ||
	(SELECT max((SELECT count(*) FROM cnpg_bootstrap.steps s2
	              WHERE s2.step = 'initdb' AND s2.cluster LIKE 'bench-$tag-%'
	                AND s2.started_at <= s.started_at AND s2.finished_at > s.started_at))
	   FROM cnpg_bootstrap.steps s WHERE s.step = 'initdb' AND s.cluster LIKE 'bench-$tag-%') || ' ' ||
	(SELECT count(*) FROM cnpg_bootstrap.steps s WHERE s.step = 'spare' AND s.cluster LIKE 'bench-$tag-%'
	    AND s.detail LIKE 'took spare%');
SQL
	) || bench_die "batch $tag: apply/wait failed"
	grep -qx "APPLIED $BATCH" <<<"$out" || bench_die "batch $tag: apply did not store $BATCH objects: $out"
	# every cluster: healthy per wait, per status, and reachable with its Secret
	bad=$(grep '^PHASE ' <<<"$out" | grep -v " $HEALTHY\$" || true)
	[ -z "$bad" ] || { echo "$bad" >&2; bench_die "batch $tag: not every cluster became healthy"; }
	[ "$(grep -c '^PHASE ' <<<"$out")" -eq "$BATCH" ] || bench_die "batch $tag: $out"
	rows=$(ctl_psql -At -c "SELECT count(*) FROM cnpg_bootstrap_status()
		WHERE cluster LIKE 'bench-$tag-%' AND phase = '$HEALTHY' AND ready_instances = 1")
	[ "$rows" -eq "$BATCH" ] || {
		ctl_psql -c "SELECT cluster, phase, phase_reason FROM cnpg_bootstrap_status() WHERE cluster LIKE 'bench-$tag-%'" >&2
		bench_die "batch $tag: only $rows of $BATCH clusters healthy in cnpg_bootstrap_status()"
	}
	for n in "${names[@]}"; do
		uri=$(ctl_psql -At -c "SELECT cnpg_bootstrap_secret('$n-app', 'uri')")
		[ "$(as_pg "$PGBIN/psql" -X -Atq "$uri" -c 'SELECT current_user || current_database()')" = appapp ] ||
			bench_die "batch $tag: cannot reach $n with its app Secret's uri"
	done
	sed -n 's/^TIMES //p' <<<"$out"
	ctl_psql -At -c "SELECT count(cnpg_bootstrap_delete('Cluster', name))
		FROM cnpg_bootstrap.clusters WHERE name LIKE 'bench-$tag-%'" >/dev/null ||
		bench_die "batch $tag: delete failed"
	ctl_psql -c "$TEARDOWN_SQL" >/dev/null || bench_die "batch $tag: teardown failed"
	check_gone "${names[@]}"
}

set_max_workers() {	# $1
	ctl_psql -c "ALTER SYSTEM SET cnpg_bootstrap.max_workers = $1" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1	# the launcher reloads at its next wake-up
	[ "$(ctl_psql -At -c 'SHOW cnpg_bootstrap.max_workers')" = "$1" ] ||
		bench_die "cnpg_bootstrap.max_workers did not become $1"
}

echo "# bench/initdb.sh  ROUNDS=$ROUNDS BATCH=$BATCH POOL=$POOL TARGET=$TARGET"
echo "# $(bench_machine)"
echo "# extension: $BENCH_SO ($(stat -c '%y' "$BENCH_SO" | cut -d. -f1), sha1 $(sha1sum "$BENCH_SO" | cut -c1-12))"
echo "# repository $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?') (the installed library may be built from another tree)"
echo "# work dir $BENCH_W, target ports $BENCH_PORT_RANGE"
echo

if [ "$WARMUP" != 0 ]; then
	bench_note "warm-up round (not reported)"
	bench_pool_ready >/dev/null
	ext_once warm-a >/dev/null
	bench_pool_ready >/dev/null
	bare_run 1 >/dev/null
fi

# ---------- 1. one cluster, interleaved ----------
A=() B=() L=() I=() S=() P=() R=() W=() BI=() BS=() BC=() BP=() LB=() SP=0
echo "## 1. one Cluster: apply -> healthy (a) vs bare initdb + pg_ctl start -w (b), seconds"
echo
echo "Before each (a) and (b) the script waits until the machine is idle and the pool holds a spare"
echo "(pool wait before (a), not timed). initdb = the initdb step: taking the spare (or running"
echo "initdb), the configuration files, the rename."
echo
echo "| round | order | pool wait | spare | (a) ext | apply+launch | initdb | start | post-init | roles+healthy | wait lag | (b) bare | bare initdb | bare start | a/b | bare createdb |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	bench_note "round $r of $ROUNDS"
	# every measurement starts idle: no refill loads the machine meanwhile
	if [ $((r % 2)) -eq 1 ]; then
		order="a,b"
		pw=$(bench_pool_ready); ta=$(ext_once "bench-a-$r"); bench_pool_ready >/dev/null; tb=$(bare_run 1)
	else
		order="b,a"
		bench_pool_ready >/dev/null; tb=$(bare_run 1); pw=$(bench_pool_ready); ta=$(ext_once "bench-a-$r")
	fi
	read -r a l i s p rh w is0 is1 t0 used <<<"$ta"
	SP=$((SP + used))
	[ "$used" = 1 ] && used=yes || used=no
	LB+=("$(log_breakdown "bench-a-$r" "$t0" "$is0" "$is1")")
	read -r b bi bs bc <<<"$tb"
	A+=("$a") L+=("$l") I+=("$i") S+=("$s") P+=("$p") R+=("$rh") W+=("$w")
	B+=("$b") BI+=("$bi") BS+=("$bs") BC+=("$bc")
	BP+=("$(awk -v x="$b" -v y="$bc" 'BEGIN { printf "%.3f", x + y }')")
	echo "| $r | $order | $pw | $used | $a | $l | $i | $s | $p | $rh | $w | $b | $bi | $bs | $(bench_ratio "$a" "$b") | $bc |"
done
ma=$(bench_median "${A[@]}") mb=$(bench_median "${B[@]}")
echo "| **median** | | | $SP of $ROUNDS | **$ma** | $(bench_median "${L[@]}") | $(bench_median "${I[@]}") |" \
	"$(bench_median "${S[@]}") | $(bench_median "${P[@]}") | $(bench_median "${R[@]}") |" \
	"$(bench_median "${W[@]}") | **$mb** | $(bench_median "${BI[@]}") | $(bench_median "${BS[@]}") | | $(bench_median "${BC[@]}") |"
if [ "$SP" -lt "$ROUNDS" ]; then
echo
echo "Inside (a), from the control log (the worker logs each child's command line and output"
echo "lines, 1 ms steps) and the initdb step's journal times: apply call -> the worker's first"
echo "command; prepare's \`initdb --version\` child; -> initdb step started (secrets,"
echo "resolve-references, journal); -> initdb command line; the initdb child (command line -> last"
echo "output line); -> initdb step finished (noticing the exit, configuration files, rename, fsync)."
echo
echo "| round | apply -> worker's 1st command | version child | -> initdb step | -> initdb exec | initdb child | -> step finished |"
echo "|---|---|---|---|---|---|---|"
V0=() V=() V2=() Q=() C=() F=()
for r in $(seq "$ROUNDS"); do
	read -r v0 v v2 q c f <<<"${LB[$((r - 1))]}"
	V0+=("$v0") V+=("$v") V2+=("$v2") Q+=("$q") C+=("$c") F+=("$f")
	echo "| $r | $v0 | $v | $v2 | $q | $c | $f |"
done
echo "| **median** | $(bench_median "${V0[@]}") | $(bench_median "${V[@]}") | $(bench_median "${V2[@]}") |" \
	"$(bench_median "${Q[@]}") | $(bench_median "${C[@]}") | $(bench_median "${F[@]}") |"
fi
ratio1=$(bench_ratio "$ma" "$mb")
if bench_within "$ratio1" "$TARGET"; then verdict="within the target"; else verdict="ABOVE the target"; fi
echo
echo "median(a)/median(b) = **${ratio1}x** (target: at most ${TARGET}x): $verdict"
echo
mbp=$(bench_median "${BP[@]}")
echo "For comparison only: (b) plus the app role and database by hand (what post-init does"
echo "for a defaulted Cluster) has median $mbp s; median(a) / that = $(bench_ratio "$ma" "$mbp")x."
echo

# ---------- 2. BATCH clusters in one call ----------
echo "## 2. $BATCH Clusters in one apply call -> all healthy, vs $BATCH sequential bare initdb + start"
echo
bench_note "$BATCH bare initdb + start in a row"
bench_pool_ready >/dev/null
read -r b1 _ _ c1 <<<"$(bare_run "$BATCH")"
bench_note "$BATCH Clusters in one apply call, max_workers = 4"
bench_pool_ready >/dev/null
e4=$(ext_batch b4)
mwp=$(ctl_psql -At -c "SHOW max_worker_processes")
if [ "$mwp" -ge $((BATCH + 1)) ]; then
	set_max_workers "$BATCH"
	bench_note "$BATCH Clusters in one apply call, max_workers = $BATCH"
	bench_pool_ready >/dev/null
	e10=$(ext_batch b10)
	ctl_psql -c "ALTER SYSTEM RESET cnpg_bootstrap.max_workers" -c "SELECT pg_reload_conf()" >/dev/null
else
	e10="skipped (max_worker_processes = $mwp)"
fi
bench_note "$BATCH bare initdb + start in a row, again"
bench_pool_ready >/dev/null
read -r b2 _ _ c2 <<<"$(bare_run "$BATCH")"
bb=$(awk -v x="$b1" -v y="$b2" 'BEGIN { printf "%.3f", (x + y) / 2 }')
echo "| run | wall s | max concurrent initdb steps | spares taken | ratio to bare (mean of both bare runs = $bb s) |"
echo "|---|---|---|---|---|"
echo "| bare, $BATCH sequential initdb + start (before) | $b1 | 1 | | |"
read -r w4 c4 s4 <<<"$e4"
echo "| extension, max_workers = 4 (default) | $w4 | $c4 | $s4 | **$(bench_ratio "$w4" "$bb")x** |"
if [[ "$e10" == skipped* ]]; then
	echo "| extension, max_workers = $BATCH | $e10 | | | |"
else
	read -r w10 c10 s10 <<<"$e10"
	echo "| extension, max_workers = $BATCH | $w10 | $c10 | $s10 | **$(bench_ratio "$w10" "$bb")x** |"
fi
echo "| bare, $BATCH sequential initdb + start (after) | $b2 | 1 | | |"
echo
echo "(bare CREATE ROLE app + CREATE DATABASE app by hand, not in the bare walls: $c1 s and $c2 s for $BATCH servers)"
echo
echo "All $BATCH clusters of each batch were healthy in cnpg_bootstrap_status() and accepted"
echo "their generated app Secret's uri; every teardown removed its directory."

# ---------- what the control instance logged ----------
echo
nw=$(grep -cE ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" || true)
echo "control log: $(wc -l <"$BENCH_W/ctl.log") lines, $nw WARNING/ERROR/FATAL/PANIC"
if [ "$nw" -gt 0 ]; then
	grep -E ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" | head -n 20 | sed 's/^/    /'
fi
