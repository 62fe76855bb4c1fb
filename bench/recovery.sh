#!/usr/bin/env bash
# The `recovery` bootstrap from a Barman Cloud store, end to end, against
# barman-cloud-restore + barman-cloud-wal-restore on the same store.
#
# Run as root, with the extension already installed (it builds nothing).
# Builds, once per run:
#   - the S3 test store (test/s3rig.sh, its own port and directory inside
#     the work dir; node_modules cached in S3RIG_NODE_DIR);
#   - a plain PostgreSQL source: `pgbench -i -s SCALE` (35: ~500 MB),
#     wal_level = replica, archive_mode = on, archive_command = a `cp` into a
#     local directory (a barman-cloud-wal-archive call costs ~1 s: the files
#     uploaded afterwards by barman-cloud-wal-archive's own code in one
#     Python process, UPLOAD_JOBS threads: same layout, without ~1 s of
#     process start per file);
#   - one base backup, `barman-cloud-backup -z --immediate-checkpoint`
#     (COMPRESSION=none: without -z; server name pg-gz or pg-plain);
#   - at least SEGMENTS (200) full WAL segments after it: UPDATEs of
#     pgbench_accounts in chunks of CHUNK rows (ordinary checkpoints on the
#     way, so with full-page images), then a marker table (the last thing
#     written: present in the copy = every segment was replayed) and
#     pg_switch_wal(); every archived file is then uploaded ([-z]), and
#     the store listed to check that all are there.
# Then ROUNDS rounds (1; the order alternates, a,b then b,a):
#   (a) ours: a control instance applies a Secret + a 1-instance Cluster
#       with bootstrap.recovery from externalClusters[].barmanObjectStore
#       (wal.maxParallel: MAXPAR, 8), timed apply -> `cnpg_bootstrap_wait`
#       = healthy inside one psql session with clock_timestamp(); checked
#       (marker row, sum(abalance) as on the source, timeline 2, a primary),
#       then deleted (not timed);
#   (b) barman: as postgres, `barman-cloud-restore` of the same backup,
#       then recovery.signal + restore_command = 'barman-cloud-wal-restore
#       ... %f %p', archive_mode = off, a port and socket of its own,
#       `pg_ctl start -w`, then psql every 10 ms until pg_is_in_recovery()
#       is false (a DO loop would be cancelled by replay conflicts);
#       the same checks; stopped and removed (not timed).
# Phases, the same way on both sides:
#   base   (a) the `restore` step of cnpg_bootstrap.steps; (b) the
#          barman-cloud-restore command;
#   WAL    in the server's own log: "redo starts at" -> "database system is
#          ready to accept connections" (replay of every segment fetched by
#          the restore_command, "redo done at", the end-of-recovery
#          checkpoint, the new timeline); split into redo (-> "redo done
#          at") and end (-> ready).  Before it, "database system was
#          interrupted" -> "redo starts at" (fsync of the copy, the first
#          fetches: backup_label's checkpoint, history files).
# Prints both totals and their ratio (target: ours at least TARGET_TOTAL,
# 2x, faster), the WAL phases and their ratio (at least TARGET_WAL, 5x),
# the base phases and their ratio, and the counts of "restored log file"
# lines on both sides.
#
# Environment: ROUNDS (1), SCALE (35), SEGMENTS (200), CHUNK (400000),
#   MAXPAR (8), COMPRESSION (gzip|none), UPLOAD_JOBS (4), TARGET_TOTAL (2),
#   TARGET_WAL (5), BENCH_PORT_RANGE (57700-57749), BENCH_CTL_PORT (57799),
#   SRC_PORT (57790, unix socket only), HAND_PORT (57791, unix socket only),
#   S3RIG_PORT (57795, 127.0.0.1), S3RIG_NODE_DIR (/var/tmp/cbb-s3rig-node:
#   npm installs the store there once), PGBIN, BENCH_KEEP=1.
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_PORT_RANGE=${BENCH_PORT_RANGE:-57700-57749}
BENCH_CTL_PORT=${BENCH_CTL_PORT:-57799}
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-1}
SCALE=${SCALE:-35}
SEGMENTS=${SEGMENTS:-200}
CHUNK=${CHUNK:-400000}
MAXPAR=${MAXPAR:-8}
COMPRESSION=${COMPRESSION:-gzip}
UPLOAD_JOBS=${UPLOAD_JOBS:-4}
TARGET_TOTAL=${TARGET_TOTAL:-2}
TARGET_WAL=${TARGET_WAL:-5}
SRC_PORT=${SRC_PORT:-57790}
HAND_PORT=${HAND_PORT:-57791}
S3RIG_PORT=${S3RIG_PORT:-57795}
S3RIG_NODE_DIR=${S3RIG_NODE_DIR:-/var/tmp/cbb-s3rig-node}
for v in ROUNDS SCALE SEGMENTS CHUNK MAXPAR UPLOAD_JOBS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer"
done
case $COMPRESSION in
	gzip) SERVER=pg-gz ZFLAG=(-z) ;;
	none) SERVER=pg-plain ZFLAG=() ;;
	*) bench_die "COMPRESSION must be gzip or none" ;;
esac
for c in barman-cloud-backup barman-cloud-wal-archive barman-cloud-restore barman-cloud-wal-restore \
	barman-cloud-backup-list node npm curl; do
	command -v "$c" >/dev/null || bench_die "$c not found (test/s3rig.sh deps installs barman-cli-cloud)"
done
[ -x "$PGBIN/cnpg_bootstrap_wal_restore" ] || bench_die "$PGBIN/cnpg_bootstrap_wal_restore not installed"

bench_init
bench_check_port_free "$SRC_PORT"
bench_check_port_free "$HAND_PORT"
bench_check_port_free "$S3RIG_PORT"

RIG=$BENCH_W/rig
EP=http://127.0.0.1:$S3RIG_PORT
AWS_ENV=(AWS_ACCESS_KEY_ID=testkey AWS_SECRET_ACCESS_KEY=testsecret AWS_DEFAULT_REGION=us-east-1)
rig() { S3RIG_DIR=$RIG S3RIG_PORT=$S3RIG_PORT S3RIG_NODE_DIR=$S3RIG_NODE_DIR bash "$HERE/../test/s3rig.sh" "$@"; }
recovery_cleanup() {
	local rc=$?
	set +e	# or the (exit) below would end the trap before bench_cleanup
	rig stop >/dev/null 2>&1
	(exit $rc)
	bench_cleanup
}
trap recovery_cleanup EXIT

bench_control_start "$BENCH_LOG_CONF"
bench_log_function

HEALTHY='Cluster in healthy state'
SRC=$BENCH_W/src
ARCH=$BENCH_W/arch

src_psql() {
	as_pg "$PGBIN/psql" -X -q -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}
# barman-cloud as postgres: the rig's keys, the source through its socket
as_barman() {
	as_pg "${AWS_ENV[@]}" PGHOST="$BENCH_SOCK" PGPORT="$SRC_PORT" PGUSER=postgres "$@"
}

# ---------- the fixture, once ----------
build_fixture() {
	local a b lsn0 n k files listed
	bench_note "starting the S3 store on $EP"
	rig start >"$BENCH_W/rig-start.log" 2>&1 ||
		{ cat "$BENCH_W/rig-start.log" >&2; bench_die "the S3 store did not start"; }

	as_pg mkdir -m 0700 "$ARCH"
	as_pg "$PGBIN/initdb" --username=postgres --encoding=UTF8 --lc-collate=C --lc-ctype=C \
		-A peer -D "$SRC" >/dev/null || bench_die "initdb of the source failed"
	as_pg tee -a "$SRC/postgresql.conf" >/dev/null <<CONF
port = $SRC_PORT
listen_addresses = ''
unix_socket_directories = '$BENCH_SOCK'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $ARCH/%f && cp %p $ARCH/%f'
max_wal_size = 1GB
log_line_prefix = '%m [%p] '
CONF
	as_pg "$PGBIN/pg_ctl" -D "$SRC" -l "$BENCH_W/src.log" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$BENCH_W/src.log" >&2; bench_die "the source did not start"; }

	bench_note "pgbench -i -s $SCALE on the source"
	a=$(bench_now_ns)
	as_pg "$PGBIN/pgbench" -i -q -s "$SCALE" -h "$BENCH_SOCK" -p "$SRC_PORT" -U postgres postgres \
		>"$BENCH_W/pgbench.log" 2>&1 || { tail -n 20 "$BENCH_W/pgbench.log" >&2; bench_die "pgbench -i failed"; }
	src_psql -c CHECKPOINT
	b=$(bench_now_ns)
	FX_INIT=$(bench_secs "$a" "$b")
	SRC_SIZE=$(src_psql -At -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")

	bench_note "barman-cloud-backup ${ZFLAG[*]} --immediate-checkpoint ($SERVER)"
	a=$(bench_now_ns)
	as_barman barman-cloud-backup --endpoint-url "$EP" "${ZFLAG[@]}" --immediate-checkpoint \
		s3://backups "$SERVER" >"$BENCH_W/backup.log" 2>&1 ||
		{ tail -n 20 "$BENCH_W/backup.log" >&2; bench_die "barman-cloud-backup failed"; }
	b=$(bench_now_ns)
	FX_BACKUP=$(bench_secs "$a" "$b")
	BACKUP_ID=$(as_barman barman-cloud-backup-list --endpoint-url "$EP" --format json s3://backups "$SERVER" |
		python3 -c 'import json,sys; b=json.load(sys.stdin)["backups_list"]; print(b[-1]["backup_id"]) if len(b)==1 else sys.exit(1)') ||
		bench_die "not exactly one backup in the store"
	BASE_OBJ=$(curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user testkey:testsecret \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
		"$EP/backups?list-type=2&prefix=$SERVER%2Fbase%2F" |
		grep -o '<Size>[0-9]*</Size>' | tr -dc '0-9\n' | awk '{ s += $1 } END { printf "%.1f MB", s / 1e6 }')

	# WAL after the backup: full segments of UPDATEs, then the marker
	bench_note "writing >= $SEGMENTS WAL segments after the backup"
	a=$(bench_now_ns)
	lsn0=$(src_psql -At -c 'SELECT pg_current_wal_lsn()')
	WAL_FIRST=$(src_psql -At -c 'SELECT pg_walfile_name(pg_current_wal_lsn())')
	k=0
	while :; do
		n=$(src_psql -At -c "SELECT floor((pg_current_wal_lsn() - '$lsn0') / 16777216.0)")
		[ "$n" -ge "$SEGMENTS" ] && break
		src_psql -c "UPDATE pgbench_accounts SET abalance = abalance + 1
			WHERE aid > ($k * $CHUNK) % ($SCALE * 100000) AND aid <= ($k * $CHUNK) % ($SCALE * 100000) + $CHUNK"
		k=$((k + 1))
	done
	src_psql -c "CREATE TABLE bench_marker AS SELECT 'last'::text AS v, clock_timestamp() AS at"
	SRC_SUM=$(src_psql -At -c 'SELECT sum(abalance) FROM pgbench_accounts')
	WAL_LAST=$(src_psql -At -c 'SELECT pg_walfile_name(pg_switch_wal())')
	src_psql -c "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '20 minutes';
BEGIN
	WHILE coalesce((SELECT last_archived_wal FROM pg_stat_archiver), '') < '$WAL_LAST' LOOP
		IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'archiving too slow'; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
END \$\$"
	b=$(bench_now_ns)
	FX_WAL=$(bench_secs "$a" "$b")
	FX_UPDATES=$k
	WAL_AFTER=$(( (16#${WAL_LAST:8:8} - 16#${WAL_FIRST:8:8}) * 256 + 16#${WAL_LAST:16:8} - 16#${WAL_FIRST:16:8} + 1 ))
	as_pg "$PGBIN/pg_ctl" -D "$SRC" -m fast -w stop >/dev/null

	bench_note "uploading $(find "$ARCH" -type f | wc -l) archived files, $UPLOAD_JOBS at a time"
	a=$(bench_now_ns)
	# barman-cloud-wal-archive's own code (main() without the per-file
	# process: Python + boto3 start cost ~1 s of CPU each), in threads
	find "$ARCH" -type f -print0 | as_barman python3 -c '
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from barman.clients.cloud_walarchive import parse_arguments, CloudWalUploader
from barman.cloud_providers import get_cloud_interface
jobs, args = int(sys.argv[1]), sys.argv[2:]
files = [f for f in sys.stdin.read().split("\0") if f]
config = parse_arguments(args + [files[0]])
ci = get_cloud_interface(config)
with closing(ci):
    up = CloudWalUploader(cloud_interface=ci, server_name=config.server_name, compression=config.compression)
    if not ci.test_connectivity():
        sys.exit("no connectivity")
    ci.setup_bucket()
    with ThreadPoolExecutor(jobs) as ex:
        list(ex.map(up.upload_wal, files))
' "$UPLOAD_JOBS" --endpoint-url "$EP" "${ZFLAG[@]}" s3://backups "$SERVER" \
		>"$BENCH_W/upload.log" 2>&1 || { tail -n 20 "$BENCH_W/upload.log" >&2; bench_die "upload of the WAL failed"; }
	b=$(bench_now_ns)
	FX_UPLOAD=$(bench_secs "$a" "$b")
	files=$(find "$ARCH" -type f | wc -l)
	listed=$(as_pg "${AWS_ENV[@]}" python3 - "$EP" "$SERVER" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="backups", Prefix=sys.argv[2] + "/wals/"):
    n += len(page.get("Contents", []))
print(n)
PY
	) || bench_die "could not list the store"
	[ "$listed" -eq "$files" ] || bench_die "the store holds $listed WAL files, $files were archived"
	WAL_FILES=$files
	WAL_OBJ=$(du -sm "$RIG/data/backups/$SERVER/wals" 2>/dev/null | cut -f1)
	rm -rf "$ARCH"
}

# ---------- (a) ours ----------
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
    recovery:
      source: origin
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups
      endpointURL: $EP
      serverName: $SERVER
      s3Credentials:
        accessKeyId: {name: s3creds, key: ACCESS_KEY_ID}
        secretAccessKey: {name: s3creds, key: ACCESS_SECRET_KEY}
      wal:
        maxParallel: $MAXPAR
YAML
}

# the phases of a recovered server's log (csvlog or '%m ...'), seconds:
# "pre_redo redo end restored" (see the header)
log_phases() {	# $1 log file
	ctl_psql -At -v f="$1" -f - <<'SQL'
CREATE TEMP TABLE lf AS SELECT * FROM bench_logfile(:'f');
WITH l AS (SELECT
	min(ts) FILTER (WHERE line LIKE '%database system was interrupted%') AS interrupted,
	min(ts) FILTER (WHERE line LIKE '%redo starts at%') AS redo0,
	min(ts) FILTER (WHERE line LIKE '%redo done at%') AS redo1,
	min(ts) FILTER (WHERE line LIKE '%database system is ready to accept connections%') AS ready,
	count(*) FILTER (WHERE line ~ 'restored log file "+[0-9A-F]{24}"+ from archive') AS restored
	FROM lf)
SELECT concat_ws(' ',
	round(extract(epoch FROM redo0 - interrupted), 3),
	round(extract(epoch FROM redo1 - redo0), 3),
	round(extract(epoch FROM ready - redo1), 3),
	restored)
  FROM l;
SQL
}

CHECK_SQL="SELECT concat_ws(' ', (SELECT count(*) FROM bench_marker WHERE v = 'last'),
	(SELECT sum(abalance) FROM pgbench_accounts),
	(SELECT timeline_id FROM pg_control_checkpoint()), pg_is_in_recovery())"

# prints "total base wal pre_redo redo end restored to_restore configure_start to_healthy"
ext_once() {	# $1 name
	local name=$1 out t0 t1 sock port check csv ph
	out=$(ctl_psql -At -v m="$(cluster_doc "$name")" -v name="$name" -f - <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS applied FROM cnpg_bootstrap_apply(:'m') \gset
SELECT cnpg_bootstrap_wait(:'name', '60 minutes') AS phase \gset
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
	check=$(as_pg "$PGBIN/psql" -X -Atq -h "$sock" -p "$port" -U postgres -d postgres -c "$CHECK_SQL") ||
		bench_die "$name: cannot query the copy"
	[ "$check" = "1 $SRC_SUM 2 f" ] ||
		bench_die "$name: the copy is not what it should be (marker, sum(abalance), timeline, in recovery: $check; want 1 $SRC_SUM 2 f)"
	csv=$BENCH_DATA_ROOT/$name/$name-1/log/postgres.csv
	ph=$(log_phases "$csv") || bench_die "$name: no log phases"
	[ "$(wc -w <<<"$ph")" -eq 4 ] || bench_die "$name: incomplete log phases: $ph"
	out=$(ctl_psql -At -v name="$name" -v t0="$t0" -v t1="$t1" -f - <<'SQL'
\echo STEPS
SELECT step || ' ' || instance || ' ' || (finished_at - started_at)
  FROM cnpg_bootstrap.steps WHERE cluster = :'name' ORDER BY started_at;
WITH s AS (SELECT * FROM cnpg_bootstrap.steps WHERE cluster = :'name'),
r AS (SELECT * FROM s WHERE step = 'restore'),
c AS (SELECT ready_at FROM cnpg_bootstrap.clusters WHERE name = :'name')
SELECT 'TIMES ' || concat_ws(' ',
	round(extract(epoch FROM :'t1'::timestamptz - :'t0'::timestamptz), 3),
	round(extract(epoch FROM r.finished_at - r.started_at), 3),
	round(extract(epoch FROM r.started_at - :'t0'::timestamptz), 3))
  FROM r, c;
SQL
	) || bench_die "no step timings for $name"
	sed -n '/^STEPS$/,/^TIMES /p' <<<"$out" | grep -v '^STEPS$\|^TIMES ' >"$BENCH_W/steps-$name"
	out=$(sed -n 's/^TIMES //p' <<<"$out")
	[ "$(wc -w <<<"$out")" -eq 3 ] || bench_die "incomplete step timings for $name: $out"
	cp "$csv" "$BENCH_W/log-$name.csv"
	bench_delete_clusters "$name"
	# total base wal pre_redo redo end restored to_restore
	awk -v o="$out" -v p="$ph" 'BEGIN { split(o, a, " "); split(p, b, " ");
		printf "%s %s %.3f %s %s %s %s %s\n", a[1], a[2], b[2] + b[3], b[1], b[2], b[3], b[4], a[3] }'
}

# ---------- (b) barman-cloud ----------
# prints "total base wal pre_redo redo end restored start_w"
barman_once() {	# $1 tag
	local d=$BENCH_W/h-$1 out ph check
	out=$(as_pg "${AWS_ENV[@]}" bash -s -- "$d" "$BENCH_SOCK" "$HAND_PORT" "$EP" "$SERVER" "$BACKUP_ID" <<'BASH'
set -eu
d=$1 sock=$2 port=$3 ep=$4 server=$5 id=$6
ns() { date +%s%N; }
rm -rf "$d"
mkdir -m 0700 "$d"
t0=$(ns)
barman-cloud-restore --endpoint-url "$ep" s3://backups "$server" "$id" "$d" >"$d.restore.log" 2>&1 ||
	{ cat "$d.restore.log" >&2; exit 1; }
t1=$(ns)
cat >>"$d/postgresql.auto.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$sock'
archive_mode = off
restore_command = 'barman-cloud-wal-restore --endpoint-url $ep s3://backups $server %f %p'
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] '
log_timezone = 'UTC'
CONF
touch "$d/recovery.signal"
pg_ctl start -w -t 3600 -s -D "$d" -l "$d.log" >/dev/null || { tail -n 30 "$d.log" >&2; exit 1; }
t2=$(ns)
# a loop of sessions: one long transaction would be cancelled by replay
n=0
until [ "$(psql -X -Atq -h "$sock" -p "$port" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()')" = f ]; do
	n=$((n + 1))
	[ $n -lt 180000 ] || { echo "still in recovery after 60 minutes" >&2; exit 1; }
	sleep 0.01
done
t3=$(ns)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v e="$t3" 'BEGIN {
	printf "%.3f %.3f %.3f\n", (e - a) / 1e9, (b - a) / 1e9, (c - b) / 1e9 }'
BASH
	) || bench_die "the barman-cloud restore failed"
	check=$(as_pg "$PGBIN/psql" -X -Atq -h "$BENCH_SOCK" -p "$HAND_PORT" -U postgres -d postgres -c "$CHECK_SQL") ||
		bench_die "cannot query the barman copy"
	[ "$check" = "1 $SRC_SUM 2 f" ] ||
		bench_die "the barman copy is not what it should be (marker, sum(abalance), timeline, in recovery: $check; want 1 $SRC_SUM 2 f)"
	as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null
	ph=$(log_phases "$d.log") || bench_die "barman copy: no log phases"
	[ "$(wc -w <<<"$ph")" -eq 4 ] || bench_die "barman copy: incomplete log phases: $ph"
	cp "$d.log" "$BENCH_W/log-barman-$1.log"
	rm -rf "$d" "$d.log" "$d.restore.log"
	awk -v o="$out" -v p="$ph" 'BEGIN { split(o, a, " "); split(p, b, " ");
		printf "%s %s %.3f %s %s %s %s %s\n", a[1], a[2], b[2] + b[3], b[1], b[2], b[3], b[4], a[3] }'
}

echo "# bench/recovery.sh  ROUNDS=$ROUNDS SCALE=$SCALE SEGMENTS=$SEGMENTS COMPRESSION=$COMPRESSION MAXPAR=$MAXPAR TARGET_TOTAL=$TARGET_TOTAL TARGET_WAL=$TARGET_WAL"
echo "# $(bench_machine)"
echo "# extension: $BENCH_SO ($(stat -c '%y' "$BENCH_SO" | cut -d. -f1), sha1 $(sha1sum "$BENCH_SO" | cut -c1-12));" \
	"$PGBIN/cnpg_bootstrap_wal_restore ($(stat -c '%y' "$PGBIN/cnpg_bootstrap_wal_restore" | cut -d. -f1), sha1 $(sha1sum "$PGBIN/cnpg_bootstrap_wal_restore" | cut -c1-12))"
echo "# repository $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?') (the installed library may be built from another tree)"
echo "# $(barman-cloud-restore -V 2>&1 | head -n1), work dir $BENCH_W, store $EP, target ports $BENCH_PORT_RANGE"
T_FIX0=$(bench_now_ns)
build_fixture
T_FIX1=$(bench_now_ns)
ctl_psql -f - >/dev/null <<'SQL' || bench_die "could not apply the Secret"
SELECT * FROM cnpg_bootstrap_apply($yaml$apiVersion: v1
kind: Secret
metadata:
  name: s3creds
stringData:
  ACCESS_KEY_ID: testkey
  ACCESS_SECRET_KEY: testsecret
$yaml$);
SQL
echo "# fixture in $(bench_secs "$T_FIX0" "$T_FIX1") s: pgbench -i -s $SCALE + CHECKPOINT $FX_INIT s ($SRC_SIZE);" \
	"barman-cloud-backup ${ZFLAG[*]} $FX_BACKUP s (backup $BACKUP_ID, base objects $BASE_OBJ);" \
	"$FX_UPDATES UPDATEs of $CHUNK rows + marker $FX_WAL s: segments $WAL_FIRST..$WAL_LAST ($WAL_AFTER after the backup);" \
	"upload of $WAL_FILES files $FX_UPLOAD s ($WAL_OBJ MB in the store)"
echo

declare -A R
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
	for v in $order; do
		bench_note "round $r of $ROUNDS: ($v), load $(cut -d' ' -f1 /proc/loadavg)"
		case $v in
			a) R[a,$r]=$(ext_once "rec-$r") ;;
			b) R[b,$r]=$(barman_once "$r") ;;
		esac
		bench_note "  $v: ${R[$v,$r]}"
	done
	R[order,$r]=${order// /,}
	R[load,$r]=$(cut -d' ' -f1 /proc/loadavg)
done

col() {	# $1 variant, $2 field
	local r
	for r in $(seq "$ROUNDS"); do awk -v f="$2" '{ print $f }' <<<"${R[$1,$r]}"; done
}
# shellcheck disable=SC2046
med() { bench_median $(col "$1" "$2"); }
f() { awk -v f="$2" '{ print $f }' <<<"$1"; }

echo "## recovery of a $SRC_SIZE server + $WAL_AFTER WAL segments ($COMPRESSION): ours (a) vs barman-cloud (b), seconds"
echo
echo "| round | order | load | (a) apply -> healthy | (b) barman | b/a | (a) base (restore step) | (b) barman-cloud-restore | b/a | (a) WAL | (b) WAL | b/a |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	A=${R[a,$r]} B=${R[b,$r]}
	echo "| $r | ${R[order,$r]} | ${R[load,$r]} | $(f "$A" 1) | $(f "$B" 1) | $(bench_ratio "$(f "$B" 1)" "$(f "$A" 1)") |" \
		"$(f "$A" 2) | $(f "$B" 2) | $(bench_ratio "$(f "$B" 2)" "$(f "$A" 2)") |" \
		"$(f "$A" 3) | $(f "$B" 3) | $(bench_ratio "$(f "$B" 3)" "$(f "$A" 3)") |"
done
ma=$(med a 1) mb=$(med b 1) mab=$(med a 2) mbb=$(med b 2) maw=$(med a 3) mbw=$(med b 3)
echo "| **median** | | | **$ma** | **$mb** | | **$mab** | **$mbb** | | **$maw** | **$mbw** | |"
echo
rt=$(bench_ratio "$mb" "$ma") rw=$(bench_ratio "$mbw" "$maw") rb=$(bench_ratio "$mbb" "$mab")
verdict() { if bench_within "$2" "$1"; then echo "met"; else echo "MISSED"; fi; }
echo "end to end: barman $mb s / ours $ma s = **${rt}x** faster (target: at least ${TARGET_TOTAL}x): $(verdict "$rt" "$TARGET_TOTAL")"
echo
echo "WAL phase: barman $mbw s / ours $maw s = **${rw}x** faster (target: at least ${TARGET_WAL}x): $(verdict "$rw" "$TARGET_WAL")"
echo
echo "base restore: barman $mbb s / ours $mab s = **${rb}x**"
echo
echo "### the phases in the servers' logs, seconds"
echo
echo "| round | side | total | base | -> redo starts (fsync of the copy, first fetches) | redo (-> redo done) | end (-> ready: end-of-recovery checkpoint, new timeline) | WAL = redo + end | \"restored log file\" lines | s per restored segment (redo / lines) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	for v in a b; do
		X=${R[$v,$r]}
		echo "| $r | $v | $(f "$X" 1) | $(f "$X" 2) | $(f "$X" 4) | $(f "$X" 5) | $(f "$X" 6) | $(f "$X" 3) | $(f "$X" 7) |" \
			"$(awk -v a="$(f "$X" 5)" -v b="$(f "$X" 7)" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }') |"
	done
done
echo
echo "(a) other pieces: apply -> restore step started (store step: catalog, backup choice), and the rest of"
echo "the total = total - base - (interrupted -> ready): configure, pg_ctl start, the healthy steps, the wait poll."
echo
echo "| round | apply -> restore step | rest of (a) | (b) barman: pg_ctl start -w returned after restore |"
echo "|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	A=${R[a,$r]} B=${R[b,$r]}
	echo "| $r | $(f "$A" 8) | $(awk -v t="$(f "$A" 1)" -v b="$(f "$A" 2)" -v p="$(f "$A" 4)" -v w="$(f "$A" 3)" -v s="$(f "$A" 8)" \
		'BEGIN { printf "%.3f", t - b - p - w - s }') | $(f "$B" 8) |"
done
echo
echo "The journal of (a) (\`cnpg_bootstrap.steps\`):"
echo
echo '```'
for r in $(seq "$ROUNDS"); do
	sed "s/^/rec-$r: /" "$BENCH_W/steps-rec-$r"
done
echo '```'
echo
nw=$(grep -cE ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" || true)
echo "control log: $(wc -l <"$BENCH_W/ctl.log") lines, $nw WARNING/ERROR/FATAL/PANIC"
if [ "$nw" -gt 0 ]; then
	grep -E ' (WARNING|ERROR|FATAL|PANIC): ' "$BENCH_W/ctl.log" | head -n 20 | sed 's/^/    /'
fi
