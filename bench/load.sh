#!/usr/bin/env bash
# Load (issue 14, item 3): what one control instance does with many clusters
# and large manifests, and whether its memory stays flat.  The full form of
# t/027_load.pl.  Run as root, with the extension installed for PGBIN (it
# builds nothing; tools/dev-check.sh installs into a private copy, use
# PGBIN=/tmp/cbdev-<tree>/pg/usr/lib/postgresql/15/bin for that one).
#
#   1. N (50) Clusters of one instance in one manifest, listed in reverse
#      name order, with cnpg_bootstrap.max_workers = MAXW (4): time until all
#      are healthy, apply -> healthy per cluster, the most workers and
#      initdb's of this control seen at once (a sampler reads /proc every
#      SAMPLE_MS, 100 ms), how far the start order (the initdb step's start
#      in cnpg_bootstrap.steps) strays from the order applied.
#   2. CHURN_ROUNDS (5) rounds of apply/delete of CHURN_N (6) clusters (one
#      in three with 2 instances) while they bootstrap, random pauses; then
#      every teardown must finish and nothing may be left: no directory
#      under data_root, no process whose cwd is in one, no row of theirs in
#      cnpg_bootstrap.clusters/instances/steps/objects/secret_data/teardown.
#   3. OBJECTS (1000) Secrets and as many ConfigMaps in one apply (timed),
#      again (all unchanged, timed), each read back; then BIG_OBJECTS
#      (20000) ConfigMaps in one apply (the object locks are bucketed: one
#      lock per object used to exhaust the shared lock table).
#   4. Sizes: a ConfigMap with a 10 MB value (refused: 3 MiB per document,
#      as Kubernetes' API server), ten ConfigMaps of 1,000,000 bytes in one
#      10 MB manifest (accepted), a 65 MiB manifest (refused: 64 MiB).
#   5. Memory: VmRSS and RssAnon of the launcher ("cnpg_bootstrap launcher"
#      in ps) after a warm-up cluster, after each part, and the peaks of
#      the launcher and of any worker ("cnpg_bootstrap worker") in the
#      samples.  VmRSS counts the shared buffers a process has touched;
#      RssAnon is its private memory, the one a leak would grow.
#
# Not done here: the worker's memory over a recovery replaying many WAL
# segments (it needs the object-store rig and a WAL fixture; see
# bench/recovery.sh, whose fixture of 200 segments takes ~15 minutes).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

N=${N:-50}
MAXW=${MAXW:-4}
CHURN_ROUNDS=${CHURN_ROUNDS:-5}
CHURN_N=${CHURN_N:-6}
OBJECTS=${OBJECTS:-1000}
BIG_OBJECTS=${BIG_OBJECTS:-20000}
SAMPLE_MS=${SAMPLE_MS:-100}
BENCH_CTL_PORT=${BENCH_CTL_PORT:-58849}
BENCH_PORT_RANGE=${BENCH_PORT_RANGE:-58850-58999}

bench_init
bench_control_start "cnpg_bootstrap.max_workers = $MAXW
max_worker_processes = $((MAXW + 8))
$BENCH_LOG_CONF"
PM=$(head -n1 "$BENCH_W/ctl/postmaster.pid")
SAMPLES=$BENCH_W/samples
T_START=$(bench_now_ns)

echo "# bench/load.sh  N=$N MAXW=$MAXW CHURN_ROUNDS=$CHURN_ROUNDS CHURN_N=$CHURN_N OBJECTS=$OBJECTS BIG_OBJECTS=$BIG_OBJECTS SAMPLE_MS=$SAMPLE_MS"
echo "# $(bench_machine)"
echo "# extension: $BENCH_SO ($(date -u -r "$BENCH_SO" '+%F %T'), sha1 $(sha1sum "$BENCH_SO" | cut -c1-12))"

# ---------- helpers ----------

# apply a manifest file; prints the number of rows apply returned
apply_file() {
	as_pg cat "$1" >/dev/null || bench_die "postgres cannot read $1"
	ctl_psql -At <<EOF
\\set m \`cat $1\`
SELECT count(*) FROM cnpg_bootstrap_apply(:'m');
EOF
}

# the first ERROR line of applying a file, or "accepted"
first_error() {
	local out
	if out=$(apply_file "$1" 2>&1); then echo accepted; else echo "$out" | grep -m1 ERROR; fi
}

cluster_doc() {
	printf 'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: %s\nspec:\n  instances: %s\n  storage:\n    size: 1Gi\n' "$1" "${2:-1}"
}

apply_text() { ctl_psql -Atc "SELECT count(*) FROM cnpg_bootstrap_apply(\$y\$$1\$y\$)" >/dev/null; }

# The sampler: one line per look at /proc, "time workers initdb launcher_rss
# launcher_anon max_worker_rss max_worker_anon" (kB).  Workers and the
# launcher are the postmaster's children with those ps titles; an initdb
# counts when its parent is one of them (other tests on the machine run
# initdb's of their own; initdb's own forks have an initdb parent).
sampler() {
	exec perl -e '
use strict; use warnings; use Time::HiRes qw(time usleep);
my ($pm, $ms) = @ARGV;
$| = 1;
sub rd { open(my $f, "<", $_[0]) or return undef; local $/; my $s = <$f>; close $f; return $s }
sub rss { my $s = rd("/proc/$_[0]/status") // return (0, 0);
	my ($r) = $s =~ /^VmRSS:\s+(\d+)/m; my ($a) = $s =~ /^RssAnon:\s+(\d+)/m; return ($r // 0, $a // 0) }
while (1) {
	my (%pp, %cm, %ti);
	for my $d (glob("/proc/[0-9]*")) {
		my ($pid) = $d =~ m{(\d+)$};
		my $st = rd("$d/stat") // next;
		next unless $st =~ /^\d+ \((.*)\) (\S) (\d+)/s;
		next if $2 eq "Z";
		($cm{$pid}, $pp{$pid}) = ($1, $3);
		if ($3 == $pm) { my $c = rd("$d/cmdline") // ""; $c =~ s/\0.*//s; $ti{$pid} = $c }
	}
	my @w = grep { $ti{$_} =~ /cnpg_bootstrap worker/ } keys %ti;
	my ($l) = grep { $ti{$_} =~ /cnpg_bootstrap launcher/ } keys %ti;
	my %w = map { $_ => 1 } @w;
	my $i = grep { $cm{$_} eq "initdb" && $w{ $pp{$_} } } keys %cm;
	my ($lr, $la) = $l ? rss($l) : (0, 0);
	my ($wr, $wa) = (0, 0);
	for (@w) { my ($r, $a) = rss($_); $wr = $r if $r > $wr; $wa = $a if $a > $wa }
	printf "%.3f %d %d %d %d %d %d\n", time(), scalar @w, $i, $lr, $la, $wr, $wa;
	usleep($ms * 1000);
}' "$PM" "$SAMPLE_MS"
}

launcher_pid() {
	local p
	for p in $(pgrep -P "$PM"); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | head -n1 | grep -q 'cnpg_bootstrap launcher' && { echo "$p"; return; }
	done
}

# "VmRSS RssAnon" of the launcher, kB
launcher_rss() {
	local p
	p=$(launcher_pid)
	[ -n "$p" ] || bench_die "no launcher found among the children of $PM"
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r, a }' "/proc/$p/status"
}

# max of column $2 in the samples taken between ns timestamps $3 and $4 (all if none)
samples_max() {
	awk -v c="$2" -v a="${3:-0}" -v b="${4:-0}" '
		{ t = $1 * 1e9 } (a == 0 || t >= a / 1) && (b == 0 || t <= b / 1) && $c > m { m = $c }
		END { print m + 0 }' "$1"
}

sampler >"$SAMPLES" 2>/dev/null &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true; bench_cleanup' EXIT

# ---------- warm-up ----------
apply_text "$(cluster_doc warm)"
ctl_psql -Atc "SELECT cnpg_bootstrap_wait('warm', '10 minutes')" >/dev/null
read -r RSS0 ANON0 < <(launcher_rss)
bench_note "warm-up done; launcher VmRSS $RSS0 kB, RssAnon $ANON0 kB"

# ---------- 1. N clusters at once ----------
M=$BENCH_W/clusters.yaml
for i in $(seq "$N" -1 1); do
	cluster_doc "$(printf 'l%02d' "$i")"
	if [ "$i" -gt 1 ]; then echo '---'; fi
done | as_pg tee "$M" >/dev/null
t1=$(bench_now_ns)
[ "$(apply_file "$M")" = "$N" ] || bench_die "apply of $N clusters failed"
ctl_psql -At >/dev/null <<EOF || bench_die "not every cluster became healthy"
DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '60 minutes';
BEGIN
	WHILE (SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name ~ '^l\\d+\$'
	        AND phase IN ('Cluster in healthy state', 'Bootstrap failed')) < $N LOOP
		IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'not healthy after 60 minutes'; END IF;
		PERFORM pg_sleep(0.2);
	END LOOP;
END \$\$;
EOF
t2=$(bench_now_ns)
T_CLUSTERS=$(bench_secs "$t1" "$t2")
FAILED=$(ctl_psql -Atc "SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name ~ '^l\\d+\$' AND phase <> 'Cluster in healthy state'")
MAXWORK=$(samples_max "$SAMPLES" 2 "$t1" "$t2")
MAXINIT=$(samples_max "$SAMPLES" 3 "$t1" "$t2")
NSAMP=$(awk -v a="$t1" -v b="$t2" '$1 * 1e9 >= a / 1 && $1 * 1e9 <= b / 1' "$SAMPLES" | wc -l)
# per cluster: apply -> healthy (ready_at is set by the worker)
read -r PC_MED PC_MAX < <(ctl_psql -At -F' ' -c "SELECT
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ready_at - started_at))::numeric, 1),
	round(max(extract(epoch FROM ready_at - started_at))::numeric, 1)
	FROM cnpg_bootstrap.clusters WHERE name ~ '^l\\d+\$'")
# start order against the order applied (l$N first)
ORDER=$(ctl_psql -At -F' ' -c "SELECT cluster FROM cnpg_bootstrap.steps
	WHERE step = 'initdb' AND cluster ~ '^l\\d+\$' ORDER BY started_at")
read -r DISP_MAX DISP_AVG FIRST10 < <(echo "$ORDER" | awk -v n="$N" '
	{ r = NR; c = substr($1, 2) + 0; applied = n - c + 1; d = r - applied; if (d < 0) d = -d;
	  if (d > m) m = d; s += d; if (NR <= 10) f = f (f ? "," : "") $1 }
	END { printf "%d %.1f %s\n", m, s / NR, f }')
read -r RSS1 ANON1 < <(launcher_rss)
bench_note "part 1 done: $N clusters in $T_CLUSTERS s"

# ---------- 2. churn ----------
t3=$(bench_now_ns)
RANDOM=14
for _ in $(seq 1 "$CHURN_ROUNDS"); do
	for i in $(seq 1 "$CHURN_N"); do apply_text "$(cluster_doc "k$i" $((i % 3 == 0 ? 2 : 1)))"; done
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	for i in $(seq 1 2 "$CHURN_N"); do ctl_psql -Atc "SELECT cnpg_bootstrap_delete('Cluster', 'k$i')" >/dev/null; done
	sleep "0.$((RANDOM % 10))"
	for i in $(seq 1 4 "$CHURN_N"); do apply_text "$(cluster_doc "k$i")"; done
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	for i in $(seq 1 "$CHURN_N"); do ctl_psql -Atc "SELECT cnpg_bootstrap_delete('Cluster', 'k$i')" >/dev/null; done
done
t4=$(bench_now_ns)
ctl_psql -c "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
	WHILE EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown) LOOP
		IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'teardown not finished'; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
END \$\$;" >/dev/null || bench_die "churn: teardown did not finish"
t5=$(bench_now_ns)
T_CHURN=$(bench_secs "$t3" "$t4")
T_TEARDOWN=$(bench_secs "$t4" "$t5")
LEFT_DIRS=$(find "$BENCH_DATA_ROOT" -mindepth 1 -maxdepth 1 -name 'k*' | wc -l)
LEFT_PROCS=0
for p in /proc/[0-9]*; do
	case "$(readlink "$p/cwd" 2>/dev/null)" in "$BENCH_DATA_ROOT"/k*) LEFT_PROCS=$((LEFT_PROCS + 1)) ;; esac
done
LEFT_ROWS=$(ctl_psql -At -c "SELECT
	(SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name ~ '^k\\d') +
	(SELECT count(*) FROM cnpg_bootstrap.instances WHERE cluster ~ '^k\\d') +
	(SELECT count(*) FROM cnpg_bootstrap.steps WHERE cluster ~ '^k\\d') +
	(SELECT count(*) FROM cnpg_bootstrap.objects WHERE name ~ '^k\\d') +
	(SELECT count(*) FROM cnpg_bootstrap.secret_data WHERE secret ~ '^k\\d') +
	(SELECT count(*) FROM cnpg_bootstrap.teardown)")
read -r RSS2 ANON2 < <(launcher_rss)
bench_note "part 2 done: churn $T_CHURN s, teardown $T_TEARDOWN s, left: $LEFT_DIRS dirs, $LEFT_PROCS processes, $LEFT_ROWS rows"

# ---------- 3. many objects in one apply ----------
O=$BENCH_W/objects.yaml
for i in $(seq 1 "$OBJECTS"); do
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\nstringData:\n  password: pw-%d\n---\n' "$i" "$i"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m%d\ndata:\n  key: value-%d\n' "$i" "$i"
	if [ "$i" -lt "$OBJECTS" ]; then echo '---'; fi
done | as_pg tee "$O" >/dev/null
t6=$(bench_now_ns)
[ "$(apply_file "$O")" = $((2 * OBJECTS)) ] || bench_die "apply of $((2 * OBJECTS)) objects failed"
t7=$(bench_now_ns)
apply_file "$O" >/dev/null
t8=$(bench_now_ns)
T_OBJ=$(bench_secs "$t6" "$t7")
T_OBJ_AGAIN=$(bench_secs "$t7" "$t8")
READ_OK=$(ctl_psql -At -c "SELECT
	(SELECT count(*) FROM generate_series(1, $OBJECTS) i WHERE cnpg_bootstrap_secret('s' || i, 'password') = 'pw-' || i) +
	(SELECT count(*) FROM generate_series(1, $OBJECTS) i JOIN cnpg_bootstrap.objects o
	   ON o.kind = 'ConfigMap' AND o.name = 'm' || i WHERE o.doc -> 'data' ->> 'key' = 'value-' || i)")
B=$BENCH_W/big.yaml
for i in $(seq 1 "$BIG_OBJECTS"); do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n%d\ndata:\n  k: v\n' "$i"
	if [ "$i" -lt "$BIG_OBJECTS" ]; then echo '---'; fi
done | as_pg tee "$B" >/dev/null
t9=$(bench_now_ns)
BIG_OK=$(apply_file "$B" 2>&1 | tail -n1)
t10=$(bench_now_ns)
T_BIG=$(bench_secs "$t9" "$t10")
read -r RSS3 ANON3 < <(launcher_rss)
bench_note "part 3 done"

# ---------- 4. sizes ----------
S1=$BENCH_W/size1.yaml
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  key: '
	head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' x; echo; } | as_pg tee "$S1" >/dev/null
t11=$(bench_now_ns)
SIZE1=$(first_error "$S1")
t12=$(bench_now_ns)
S2=$BENCH_W/size2.yaml
for i in $(seq 1 10); do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ten%d\ndata:\n  key: ' "$i"
	head -c 1000000 /dev/zero | tr '\0' y; echo
	if [ "$i" -lt 10 ]; then echo '---'; fi
done | as_pg tee "$S2" >/dev/null
t13=$(bench_now_ns)
SIZE2=$(apply_file "$S2" 2>&1 | tail -n1)
t14=$(bench_now_ns)
S3=$BENCH_W/size3.yaml
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  key: '
	head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' z; echo; } | as_pg tee "$S3" >/dev/null
t15=$(bench_now_ns)
SIZE3=$(first_error "$S3")
t16=$(bench_now_ns)
rm -f "$S1" "$S2" "$S3" "$B"
read -r RSS4 ANON4 < <(launcher_rss)

kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
T_TOTAL=$(bench_secs "$T_START" "$(bench_now_ns)")

# ---------- figures ----------
cat <<EOF

| part | figure |
|---|---|
| 1. clusters | $N applied in one manifest, max_workers = $MAXW: all healthy in **$T_CLUSTERS s** ($FAILED not healthy); apply -> healthy per cluster: median $PC_MED s, max $PC_MAX s |
| 1. concurrency | at most **$MAXWORK workers** and **$MAXINIT initdb** of this control at once, in $NSAMP samples (every $SAMPLE_MS ms) |
| 1. order | start order vs order applied: largest displacement **$DISP_MAX**, mean $DISP_AVG (first started: $FIRST10) |
| 2. churn | $CHURN_ROUNDS rounds x $CHURN_N clusters applied/deleted while bootstrapping in $T_CHURN s; last teardown $T_TEARDOWN s later; left: **$LEFT_DIRS directories, $LEFT_PROCS processes, $LEFT_ROWS catalog rows** |
| 3. objects | $OBJECTS Secrets + $OBJECTS ConfigMaps in one apply: **$T_OBJ s** (again, unchanged: $T_OBJ_AGAIN s); read back: $READ_OK of $((2 * OBJECTS)) |
| 3. objects | $BIG_OBJECTS ConfigMaps in one apply: $BIG_OK rows in $T_BIG s |
| 4. sizes | one ConfigMap with a 10 MB value: $(bench_secs "$t11" "$t12") s, ${SIZE1:0:160} |
| 4. sizes | ten ConfigMaps of 1,000,000 bytes (10 MB manifest): $SIZE2 rows in $(bench_secs "$t13" "$t14") s |
| 4. sizes | a 65 MiB manifest: $(bench_secs "$t15" "$t16") s, ${SIZE3:0:160} |
| 5. launcher VmRSS (kB) | warm $RSS0, after clusters $RSS1, after churn $RSS2, after objects $RSS3, end $RSS4; peak $(samples_max "$SAMPLES" 4) |
| 5. launcher RssAnon (kB) | warm $ANON0, after clusters $ANON1, after churn $ANON2, after objects $ANON3, end $ANON4; peak $(samples_max "$SAMPLES" 5) |
| 5. workers (kB) | peak VmRSS $(samples_max "$SAMPLES" 6), peak RssAnon $(samples_max "$SAMPLES" 7) |
| total | $T_TOTAL s |
EOF

rc=0
[ "$FAILED" = 0 ] || { echo "FAIL: $FAILED clusters not healthy"; rc=1; }
[ "$MAXWORK" -le "$MAXW" ] || { echo "FAIL: $MAXWORK workers at once"; rc=1; }
[ "$MAXINIT" -le "$MAXW" ] || { echo "FAIL: $MAXINIT initdb at once"; rc=1; }
[ "$((LEFT_DIRS + LEFT_PROCS + LEFT_ROWS))" = 0 ] || { echo "FAIL: churn left something"; rc=1; }
[ "$READ_OK" = $((2 * OBJECTS)) ] || { echo "FAIL: objects not read back"; rc=1; }
[ "$((ANON4 - ANON0))" -le 2048 ] || { echo "FAIL: launcher RssAnon grew by $((ANON4 - ANON0)) kB"; rc=1; }
exit $rc
