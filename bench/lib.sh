# shellcheck shell=bash
# Shared helpers for bench/*.sh.  Sourced, not executed; bash only.
#
# A bench script runs as root and does everything else as the postgres OS
# user (initdb refuses root) with an explicit environment.  It gets a
# throwaway work directory under /tmp with a short path (unix socket paths
# must fit in 107 bytes), a control instance of its own in it, and a trap
# that stops every postmaster under that directory and removes it, whatever
# happens.
#
#   bench_note MSG          progress line on stderr
#   bench_init              root check, extension check, work dir, EXIT trap
#   bench_control_start [CONF]  control instance + CREATE EXTENSION
#   ctl_psql ARGS...        psql on the control instance (ON_ERROR_STOP)
#   bench_now_ns            monotonic-enough wall clock in ns
#   bench_median N...       median (mean of the middle two for an even count)
#   bench_ratio A B         A/B with 2 decimals
#   bench_fmt S             seconds with 3 decimals
#   bench_machine           one line: date, host, cores, load, kernel, PG
#   bench_delete_clusters N...  cnpg_bootstrap_delete, wait for the teardown,
#                           check that the directories are gone
#   bench_log_function      creates bench_logfile(path) (ts, line) and
#                           bench_log() (ts, pid, msg: the control's log) in
#                           the control instance; needs log_line_prefix =
#                           '%m [%p] ...' (BENCH_LOG_CONF)
#   bench_log_gap F P1 P2   seconds between two lines of a log file
#   bench_check_port_free P refuse to run if something listens on TCP port P
#   bench_pool_ready        wait until no spare-pool refill runs and the pool
#                           holds a spare for defaulted Clusters (POOL=0: no wait)
#
# Variables: PGBIN, BENCH_W (work dir), BENCH_CTL_PORT, BENCH_PORT_RANGE,
# BENCH_DATA_ROOT, BENCH_SOCK (control's socket dir).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BENCH_CTL_PORT=${BENCH_CTL_PORT:-56999}
BENCH_PORT_RANGE=${BENCH_PORT_RANGE:-57000-57199}
BENCH_W=
BENCH_SOCK=
BENCH_DATA_ROOT=
export BENCH_SO=   # set by bench_check_extension

bench_die() { echo "bench: $*" >&2; exit 1; }
bench_note() { echo "bench: $*" >&2; }	# progress, on stderr

# as the postgres OS user, with nothing inherited (PGOPTIONS, LANG, PGDATA break things)
as_pg() {
	runuser -u postgres -- env -i PATH="$PGBIN:/usr/bin:/bin" HOME="${BENCH_W:-/tmp}" \
		LANG=C.UTF-8 TMPDIR=/tmp "$@"
}

# Is cnpg_bootstrap installed for these binaries?  If not, say how.
bench_check_extension() {
	local pgc="$PGBIN/pg_config" lib share
	[ -x "$pgc" ] || pgc=$(command -v pg_config || true)
	[ -n "$pgc" ] || bench_die "pg_config not found (PGBIN=$PGBIN)"
	lib=$("$pgc" --pkglibdir)
	share=$("$pgc" --sharedir)
	if [ ! -f "$lib/cnpg_bootstrap.so" ] || [ ! -f "$share/extension/cnpg_bootstrap.control" ]; then
		cat >&2 <<EOF
bench: the cnpg_bootstrap extension is not installed for $PGBIN
       ($lib/cnpg_bootstrap.so or $share/extension/cnpg_bootstrap.control missing).
       Build and install it first, e.g. as root from the repository:
           tools/quickstart.sh            # installs packages, builds, installs
       or, with the build dependencies present:
           cp -a . /tmp/cbsrc && chown -R postgres: /tmp/cbsrc
           runuser -u postgres -- make -C /tmp/cbsrc && make -C /tmp/cbsrc install
EOF
		exit 2
	fi
	BENCH_SO="$lib/cnpg_bootstrap.so"
}

# Stop every postmaster whose postmaster.pid lies under $1, immediately.
# pg_ctl first; a postmaster that survives it (or whose pg_ctl fails) gets
# SIGKILL by the pid its own pid file names, after checking that the pid
# really is a postgres process whose cwd is that data directory.
bench_stop_all_under() {
	local dir=$1 f d pid pass
	[ -d "$dir" ] || return 0
	for pass in 1 2 3; do
		local found=0
		while IFS= read -r f; do
			d=${f%/postmaster.pid}
			pid=$(head -n1 "$f" 2>/dev/null || true)
			[[ "$pid" =~ ^[0-9]+$ ]] || continue
			kill -0 "$pid" 2>/dev/null || continue
			found=1
			as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
			if kill -0 "$pid" 2>/dev/null &&
				[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$d")" ]; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done < <(find "$dir" -name postmaster.pid 2>/dev/null)
		[ $found -eq 0 ] && [ "$pass" -gt 1 ] && break
		# a worker of a stopped control may still be inside a pg_ctl start
		sleep 1
	done
}

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$BENCH_W" ] && [ -d "$BENCH_W" ]; then
		# the control first, so that its workers start nothing new
		if [ -f "$BENCH_W/ctl/postmaster.pid" ]; then
			as_pg "$PGBIN/pg_ctl" -D "$BENCH_W/ctl" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
		fi
		bench_stop_all_under "$BENCH_W"
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			echo "bench: kept $BENCH_W (BENCH_KEEP=1)" >&2
		else
			rm -rf "$BENCH_W"
		fi
	fi
	exit $rc
}

# root check, extension check, work dir, trap
bench_init() {
	[ "$(id -u)" -eq 0 ] || bench_die "run as root (everything else runs as the postgres OS user)"
	id postgres >/dev/null 2>&1 || bench_die "no postgres OS user"
	[ -x "$PGBIN/initdb" ] || bench_die "no initdb in PGBIN=$PGBIN"
	bench_check_extension
	BENCH_W=$(mktemp -d /tmp/cbb.XXXXXX)
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	chown postgres: "$BENCH_W"
	chmod 0700 "$BENCH_W"
	BENCH_SOCK=$BENCH_W
	BENCH_DATA_ROOT=$BENCH_W/d
	as_pg mkdir -m 0700 "$BENCH_DATA_ROOT"
}

# Refuse to run when something already listens in the target port range:
# the extension hands those ports out and a taken one would fail a start.
bench_check_ports_free() {
	local lo=${BENCH_PORT_RANGE%-*} hi=${BENCH_PORT_RANGE#*-} busy
	busy=$(ss -Hltn 2>/dev/null | awk -v lo="$lo" -v hi="$hi" '{
		n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) print p }' | sort -u | tr '\n' ' ')
	[ -z "$busy" ] || bench_die "ports in $BENCH_PORT_RANGE already listening: $busy (set BENCH_PORT_RANGE)"
}

# control instance; $1: extra postgresql.conf lines (optional)
bench_control_start() {
	local extra=${1:-}
	bench_check_ports_free
	as_pg "$PGBIN/initdb" -D "$BENCH_W/ctl" -U postgres -A peer --no-instructions >/dev/null ||
		bench_die "initdb of the control instance failed"
	as_pg tee -a "$BENCH_W/ctl/postgresql.conf" >/dev/null <<CONF
port = $BENCH_CTL_PORT
listen_addresses = ''
unix_socket_directories = '$BENCH_SOCK'
shared_preload_libraries = 'cnpg_bootstrap'
cnpg_bootstrap.data_root = '$BENCH_DATA_ROOT'
cnpg_bootstrap.port_range = '$BENCH_PORT_RANGE'
# the spare pool's background initdb would load the machine while a
# baseline is measured: off unless a script turns it on in \$extra
cnpg_bootstrap.spare_pool_size = 0
$extra
CONF
	as_pg "$PGBIN/pg_ctl" -D "$BENCH_W/ctl" -l "$BENCH_W/ctl.log" -w -t 60 start >/dev/null || {
		tail -n 30 "$BENCH_W/ctl.log" >&2
		bench_die "the control instance did not start"
	}
	ctl_psql -qc "CREATE EXTENSION cnpg_bootstrap" || bench_die "CREATE EXTENSION failed"
}

ctl_psql() {
	as_pg "$PGBIN/psql" -X -q -h "$BENCH_SOCK" -p "$BENCH_CTL_PORT" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 "$@"
}

bench_now_ns() { date +%s%N; }

# seconds (float) between two bench_now_ns values
bench_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

bench_fmt() { awk -v a="$1" 'BEGIN { printf "%.3f", a }'; }

# is ratio R at most LIMIT?  (exit status)
bench_within() { awk -v r="$1" -v l="$2" 'BEGIN { exit !(r <= l) }'; }

bench_machine() {
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname), $(nproc) cores," \
		"$(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)," \
		"load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)," \
		"$("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /')," \
		"/tmp on $(findmnt -no FSTYPE -T /tmp 2>/dev/null || echo '?')"
}

# Control-instance settings for bench_log_function: timestamps in UTC with
# milliseconds, the pid, the backend type.
# shellcheck disable=SC2034  # used by the scripts that source this file
BENCH_LOG_CONF="log_line_prefix = '%m [%p] %b '
log_timezone = 'UTC'"

# Delete Clusters, wait (a DO block: a fresh snapshot per statement) until
# the teardown table is empty, then check that their directories are gone.
bench_delete_clusters() {
	local n sql=''
	for n in "$@"; do
		sql+="SELECT cnpg_bootstrap_delete('Cluster', '$n');"
	done
	ctl_psql -c "$sql" -c "DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
	WHILE (SELECT count(*) FROM cnpg_bootstrap.teardown) > 0 LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'teardown not finished after 10 minutes: %',
				(SELECT string_agg(cluster, ', ') FROM cnpg_bootstrap.teardown);
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;" >/dev/null || bench_die "delete of $* failed"
	for n in "$@"; do
		[ ! -e "$BENCH_DATA_ROOT/$n" ] || bench_die "teardown left $BENCH_DATA_ROOT/$n behind"
	done
}

# bench_logfile(path): any PostgreSQL log file whose lines start with a %m
# timestamp (stderr with log_line_prefix '%m ...', or csvlog), one row per
# such line (continuation lines are dropped).  bench_log(): the control
# instance's own log as (ts, pid, msg), for log_line_prefix = '%m [%p] ...'
# (BENCH_LOG_CONF).  Superuser only (pg_read_file of an absolute path); the
# control instance is a throwaway.
bench_log_function() {
	ctl_psql -c "CREATE FUNCTION public.bench_logfile(path text, OUT ts timestamptz, OUT line text)
RETURNS SETOF record LANGUAGE sql VOLATILE AS \$\$
	SELECT m[1]::timestamptz, l
	  FROM regexp_split_to_table(pg_catalog.pg_read_file(path), E'\\n') AS l,
	       regexp_match(l, '^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+ [A-Za-z0-9+-]+)[ ,]') AS m
\$\$" -c "CREATE FUNCTION public.bench_log(OUT ts timestamptz, OUT pid int, OUT msg text)
RETURNS SETOF record LANGUAGE sql VOLATILE AS \$\$
	SELECT f.ts, m[1]::int, m[2]
	  FROM public.bench_logfile('$BENCH_W/ctl.log') AS f,
	       regexp_match(f.line, '^\\S+ \\S+ \\S+ \\[(\\d+)\\] (.*)\$') AS m
\$\$" >/dev/null || bench_die "could not create bench_log()"
}

bench_check_port_free() {
	local busy
	busy=$(ss -Hltn 2>/dev/null | awk -v p="$1" '{ n = split($4, a, ":"); if (a[n] + 0 == p) print p }')
	[ -z "$busy" ] || bench_die "TCP port $1 is already in use"
}

# Seconds from the first line of a PostgreSQL log file $1 (stderr with %m
# first, or csvlog) that contains $2 to the next line that contains $3;
# "nan" if either is missing.  Timestamps are read as times of day (a
# midnight in between is handled).
bench_log_gap() {
	awk -v p1="$2" -v p2="$3" '
	function t(s,   a) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	!seen && index($0, p1) { seen = 1; s = t($0); next }
	seen && index($0, p2) { d = t($0) - s; if (d < 0) d += 86400; printf "%.3f\n", d; found = 1; exit }
	END { if (!found) print "nan" }' "$1" 2>/dev/null || echo nan
}

# The machine idle and the pool refilled: no refill running and a complete
# spare for the defaults recipe (the pool worker learns it), up to 120 s.
# Prints how long it waited.
bench_pool_ready() {
	local t0 key i
	t0=$(bench_now_ns)
	[ "${POOL:-1}" = 0 ] && { echo 0; return; }
	for i in $(seq 1200); do
		key=$(cat "$BENCH_DATA_ROOT/.spares/recipes/defaults" 2>/dev/null || true)
		if [ -n "$key" ] && compgen -G "$BENCH_DATA_ROOT/.spares/$key.*[0-9a-f]/pgdata" >/dev/null &&
			[ "$(ctl_psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap spare pool'")" = 0 ]; then
			bench_secs "$t0" "$(bench_now_ns)"
			return
		fi
		sleep 0.1
	done
	bench_die "the spare pool did not refill within 120 s"
}
