#!/bin/bash
# process.c, childreg.c, procstat.c, fsutil.c, redact.c, pgconn.c,
# secrets.c and waituntil.c where they run: built with test/unit/test_worker_harness.c into
# a throwaway module (PGXS, in a scratch directory; nothing is installed),
# loaded into a scratch server whose environment carries libpq variables
# that must not reach our connections, then checked through SQL: children
# (scrubbed environment, fds, signals, sessions, timeouts, output,
# ERROR/FATAL paths, a background worker's SIGTERM), cb_run_children,
# cb_rmtree, pgconn (timeouts, cancels, env), cb_wait_until (deadline,
# memory per pass, kept connection, cancel).  The module defines nothing
# of the extension's GUCs or worker.c: it loads only while this
# infrastructure needs none of them.
# Run by `make unit` as the OS user that runs servers (not root).
#
#   test/unit/run_worker_harness.sh SRCDIR PG_CONFIG
#
# CB_HARNESS_SLACK (default 3) multiplies every "took less than" bound:
# they check that something returns promptly instead of waiting for a child
# that sleeps 30 s or more, not how fast the machine is.
set -u
SRC=$(cd "${1:?srcdir}" && pwd)
PGC=${2:-pg_config}
SLACK=${CB_HARNESS_SLACK:-3}
BIN=$("$PGC" --bindir)
H=$(mktemp -d /tmp/cbwh.XXXXXX)
chmod 755 "$H"
PORT=5432    # the socket lives in $H/srv alone: no other server shares it

stop() {
	[ -f "$H/srv/pg/postmaster.pid" ] && "$BIN/pg_ctl" -D "$H/srv/pg" -m immediate stop >/dev/null 2>&1
	rm -rf "$H"
}
trap stop EXIT

# ---------- the module ----------
mkdir -p "$H/build" "$H/srv" "$H/bin"
cp "$SRC/test/unit/test_worker_harness.c" "$SRC/src/process.c" "$SRC/src/childreg.c" \
	"$SRC/src/procstat.c" "$SRC/src/fsutil.c" "$SRC/src/pgconn.c" "$SRC/src/secrets.c" \
	"$SRC/src/hmac_sha256.c" "$SRC/src/redact.c" "$SRC/src/waituntil.c" "$H/build/"
cat > "$H/build/Makefile" <<MK
MODULE_big = cb_unit
OBJS = test_worker_harness.o process.o childreg.o procstat.o fsutil.o pgconn.o secrets.o hmac_sha256.o redact.o waituntil.o
PG_CPPFLAGS = -I$SRC/src -I\$(shell \$(PG_CONFIG) --includedir) -DCB_UNIT_LIB='"$H/build/cb_unit.so"'
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = -L\$(shell \$(PG_CONFIG) --libdir) -lpq -lcrypto
with_llvm = no
PGXS := \$(shell \$(PG_CONFIG) --pgxs)
include \$(PGXS)
MK
make -s -C "$H/build" PG_CONFIG="$PGC" COPT=-Werror >"$H/build.log" 2>&1 ||
	{ cat "$H/build.log"; echo "not ok - the harness module builds"; exit 1; }

# ---------- the scratch server ----------
printf '#!/bin/sh\ntrap "" TERM\n/bin/sleep 39\n' > "$H/ignore.sh"
printf '#!/bin/sh\ntrap "" TERM\n/bin/sleep 38\n' > "$H/ignore38.sh"
chmod 755 "$H/ignore.sh" "$H/ignore38.sh"
cp /usr/bin/env "$H/bin/"
env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$BIN/initdb" -D "$H/srv/pg" -A trust -U postgres >"$H/initdb.log" 2>&1 ||
	{ cat "$H/initdb.log"; exit 1; }
printf "port = $PORT\nlisten_addresses = ''\nunix_socket_directories = '$H/srv'\n" >> "$H/srv/pg/postgresql.conf"
env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PGOPTIONS='-c work_mem=77kB' \
	PGTARGETSESSIONATTRS=standby PGSSLMODE=require PGTZ=Asia/Tokyo \
	"$BIN/pg_ctl" -D "$H/srv/pg" -l "$H/srv/pg.log" -w start >/dev/null || { cat "$H/srv/pg.log"; exit 1; }
export PGHOST=$H/srv PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres PSQLRC=/dev/null
unset PGOPTIONS PGSSLMODE PGTARGETSESSIONATTRS PGTZ
L="'$H/build/cb_unit.so'"
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL || exit 1
CREATE FUNCTION cb_unit_run(argv text[], timeout_ms int DEFAULT 0,
    new_session bool DEFAULT true, log_file text DEFAULT NULL,
    extra_env text[] DEFAULT NULL, cwd text DEFAULT NULL,
    tail_lines int DEFAULT 0,
    OUT ok bool, OUT exit_code int, OUT term_signal int,
    OUT timed_out bool, OUT nlines int, OUT tail text)
  AS $L LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION cb_unit_rmtree(text) RETURNS bool AS $L LANGUAGE C STRICT;
CREATE FUNCTION cb_unit_query(socket_dir text, port int, db text,
    sql text, timeout_ms int DEFAULT 0, params text[] DEFAULT NULL)
  RETURNS text AS $L LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION cb_unit_connect(keywords text[], vals text[], timeout_ms int)
  RETURNS text AS $L LANGUAGE C STRICT;
CREATE FUNCTION cb_unit_start_worker(argv text, use_die bool)
  RETURNS int AS $L LANGUAGE C STRICT;
CREATE FUNCTION cb_unit_verifier(password text)
  RETURNS text AS $L LANGUAGE C STRICT;
CREATE FUNCTION cb_unit_run_children(argvs text[],
    timeouts int[] DEFAULT NULL, log_files text[] DEFAULT NULL,
    OUT i int, OUT all_ok bool, OUT exit_code int, OUT term_signal int,
    OUT timed_out bool, OUT nlines int, OUT tail text)
  RETURNS SETOF record AS $L LANGUAGE C CALLED ON NULL INPUT;
CREATE FUNCTION cb_unit_wait(timeout_ms int, sleep_ms int, true_at int, mode text,
    socket_dir text DEFAULT NULL, port int DEFAULT 0)
  RETURNS text AS $L LANGUAGE C CALLED ON NULL INPUT;
SQL

# ---------- helpers ----------
P=0; F=0
q() { psql -X -Atc "$1" 2>&1; }
t() { if [ "$2" = "$3" ]; then P=$((P+1)); echo "ok - $1"; else F=$((F+1)); echo "not ok - $1"; echo "#  got: $2"; echo "# want: $3"; fi; }
# took less than $3 (times SLACK) seconds
tl() { if awk -v a="$2" -v b="$3" -v k="$SLACK" 'BEGIN { exit !(a < b * k) }'; then P=$((P+1)); echo "ok - $1 ($2 s)"; else F=$((F+1)); echo "not ok - $1 ($2 s >= $3 x $SLACK)"; fi; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# no process left whose command line matches $1 (given 3 s to disappear)
# a whole command line (anchored: "sleep 3[13]" must not match another "sleep 330")
gone() { for _ in $(seq 30); do pgrep -f "(^|/)$1\$" >/dev/null || { echo gone; return; }; sleep 0.1; done; echo left; }
# wait until $2 processes match $1 (at most 10 s)
running() { for _ in $(seq 100); do [ "$(pgrep -fc "(^|/)$1\$")" -ge "$2" ] && return; sleep 0.1; done; }
# a count that must become 0 (at most 3 s)
settled() { local v; for _ in $(seq 30); do v=$(q "$1"); [ "$v" = 0 ] && break; sleep 0.1; done; echo "$v"; }
S="'$H/srv', $PORT, 'postgres'"

# ---------- the checks ----------

t "echo" "$(q "SELECT ok, exit_code, tail FROM cb_unit_run(ARRAY['/bin/echo','hello'])")" "t|0|hello"
t "exit code + stderr" "$(q "SELECT ok, exit_code, nlines FROM cb_unit_run(ARRAY['/bin/sh','-c','echo out; echo err >&2; exit 3'])")" "f|3|2"
t "env scrubbed + extra_env override" "$(q "SELECT replace(tail, E'\n', ' ') FROM cb_unit_run(ARRAY['/usr/bin/env'], extra_env => ARRAY['FOO=bar','LANG=C'], cwd=>'/tmp')")" "PATH=/usr/bin:/bin LANG=C LC_MESSAGES=C HOME=/tmp FOO=bar"
t "bindir first in PATH" "$(q "SELECT split_part(tail, E'\n', 1) FROM cb_unit_run(ARRAY['$H/bin/env'])")" "PATH=$H/bin:/usr/bin:/bin"
t "only fds 0-2 (+ls's own)" "$(q "SELECT replace(tail, E'\n', ' ') FROM cb_unit_run(ARRAY['/bin/ls','/proc/self/fd'])")" "0 1 2 3"
# 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): sigaction() refuses
# them, and glibc installs its handlers there when it needs them
t "signals unblocked, none ignored (but glibc's 32, 33)" "$(q "SELECT substring(tail from 'SigBlk:\s+(\w+)') || ' ' || ((('x' || substring(tail from 'SigIgn:\s+(\w+)'))::bit(64) & ~x'0000000180000000'::bit(64)) = 0::bit(64))::text FROM cb_unit_run(ARRAY['/bin/grep','-E','^Sig(Blk|Ign)','/proc/self/status'])")" "0000000000000000 true"
t "stdin is /dev/null" "$(q "SELECT tail FROM cb_unit_run(ARRAY['/bin/readlink','/proc/self/fd/0'])")" "/dev/null"
t "new session" "$(q "SELECT tail FROM cb_unit_run(ARRAY['/bin/sh','-c','[ \$\$ = \$(cut -d\" \" -f6 /proc/\$\$/stat) ] && echo leader'])")" "leader"
t "no new session" "$(q "SELECT tail = pg_backend_pid()::text FROM cb_unit_run(ARRAY['/bin/sh','-c','cut -d\" \" -f6 /proc/\$\$/stat'], new_session=>false)")" "t"
t "missing program" "$(q "SELECT exit_code, tail FROM cb_unit_run(ARRAY['/nonexistent/prog'])")" '127|could not execute "/nonexistent/prog": No such file or directory'
t "bad cwd" "$(q "SELECT exit_code FROM cb_unit_run(ARRAY['/bin/true'], cwd=>'/nonexistent')")" "127"
s=$(now); t "timeout" "$(q "SELECT ok, term_signal, timed_out FROM cb_unit_run(ARRAY['/bin/sleep','30'], timeout_ms=>500)")" "f|15|t"; tl "timeout took" "$(since $s)" 1.0
s=$(now); t "timeout, TERM ignored -> KILL" "$(q "SELECT term_signal, timed_out FROM cb_unit_run(ARRAY['$H/ignore.sh'], timeout_ms=>300)")" "9|t"; tl "TERM-ignoring timeout took" "$(since $s)" 1.3; t "no sleep 39 left" "$(gone 'sleep 39')" gone
s=$(now); t "grandchild holding the pipe" "$(q "SELECT ok, tail FROM cb_unit_run(ARRAY['/bin/sh','-c','(/bin/sleep 5 &); echo done'])")" "t|done"; tl "returned without waiting for it" "$(since $s)" 0.6
s=$(now); t "statement_timeout -> ERROR" "$(psql -Atc "SET statement_timeout=500" -c "SELECT ok FROM cb_unit_run(ARRAY['/bin/sleep','32'])" 2>&1 | tail -1)" "ERROR:  canceling statement due to statement timeout"; tl "ERROR path took" "$(since $s)" 1.0; t "no sleep 32 left" "$(gone 'sleep 32')" gone
t "on_line ERROR" "$(q "SELECT ok FROM cb_unit_run(ARRAY['/bin/sh','-c','echo RAISE; /bin/sleep 34'])")" "ERROR:  on_line raised"; t "no sleep 34 left" "$(gone 'sleep 34')" gone
psql -Atc "SELECT ok FROM cb_unit_run(ARRAY['/bin/sleep','36'])" >/dev/null 2>&1 &
running 'sleep 36' 1; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%sleep'',''36%' AND pid <> pg_backend_pid()"); s=$(now); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait
tl "terminate (FATAL) took" "$(since $s)" 0.5; t "no sleep 36 left" "$(gone 'sleep 36')" gone
for die in false true; do
  WP=$(q "SELECT cb_unit_start_worker('$H/ignore.sh', $die)"); running 'sleep 39' 1
  s=$(now); kill -TERM $WP; while kill -0 $WP 2>/dev/null; do sleep 0.02; done
  tl "bgworker (die=$die) SIGTERM with TERM-ignoring child took" "$(since $s)" 1.0; t "no sleep 39 left (die=$die)" "$(gone 'sleep 39')" gone
done
t "CR/LF lines" "$(q "SELECT nlines, replace(tail, E'\n', ',') FROM cb_unit_run(ARRAY['/usr/bin/printf','a\rb\r\nc\n\nd'])")" "4|a,b,c,d"
t "big output" "$(q "SELECT nlines, ok, right(tail, 6) FROM cb_unit_run(ARRAY['/usr/bin/seq','1','200000'])")" "200000|t|200000"
t "tail_lines" "$(q "SELECT replace(tail, E'\n', ',') FROM cb_unit_run(ARRAY['/usr/bin/seq','1','10'], tail_lines=>3)")" "8,9,10"
t "killed by signal" "$(q "SELECT ok, exit_code, term_signal FROM cb_unit_run(ARRAY['/bin/sh','-c','kill -SEGV \$\$'])")" "f|-1|11"
W=$H/srv/w; rm -rf $W; mkdir -p $W/rt/a/b $W/outside; touch $W/outside/keep $W/rt/a/b/f; ln -s $W/outside $W/rt/a/link; chown -R postgres: $W
t "rmtree" "$(q "SELECT cb_unit_rmtree('$W/rt'), cb_unit_rmtree('$W/rt')")" "t|t"; t "rmtree kept the symlink target" "$(ls $W/outside)" keep
t "pgconn basic" "$(q "SELECT cb_unit_query($S, 'SELECT 1; SELECT 2')")" "2"
t "pgconn env ignored" "$(q "SELECT cb_unit_query($S, 'SELECT current_setting(''work_mem'')||current_setting(''application_name'')')")" "4MBcnpg_bootstrap"
t "pgconn first error" "$(q "SELECT cb_unit_query($S, 'SELECT 1; SELECT * FROM nosuch; SELECT 3')")" 'ERROR: relation "nosuch" does not exist'
t "pgconn params" "$(q "SELECT cb_unit_query($S, 'SELECT \$1 || \$2', 0, ARRAY['it''s', ' ok'])")" "it's ok"
s=$(now); t "pgconn timeout + cancel, conn reusable" "$(q "SELECT cb_unit_query($S, 'SELECT pg_sleep(10)', 500)")" "ERROR: timeout expired after 500 ms (the command was cancelled)"; tl "took" "$(since $s)" 1.0
t "pgconn COPY OUT" "$(q "SELECT cb_unit_query($S, 'COPY (SELECT generate_series(1,100000)) TO STDOUT; SELECT 42')")" "42"
t "pgconn big query" "$(q "SELECT cb_unit_query($S, 'SELECT length(''' || repeat('x', 8000000) || ''')')")" "8000000"
psql -Atc "SET statement_timeout=500" -c "SELECT cb_unit_query($S, 'SELECT pg_sleep(41)')" >/dev/null 2>&1
t "pgconn ERROR path cancels the remote" "$(settled "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(41)' AND state='active'")" 0
psql -Atc "SELECT cb_unit_query($S, 'SELECT pg_sleep(42)')" >/dev/null 2>&1 &
for _ in $(seq 100); do [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(42)' AND state='active'")" = 1 ] && break; sleep 0.1; done; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(42)%' AND application_name <> 'cnpg_bootstrap' AND pid <> pg_backend_pid()"); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait
t "pgconn FATAL path cancels the remote" "$(settled "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(42)' AND state='active'")" 0
# a server that accepts and never answers (perl: the TAP tests need it anyway)
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1) or die;
	open(my $f, ">", "$ARGV[0].tmp") or die; print $f $s->sockport; close $f; rename("$ARGV[0].tmp", $ARGV[0]);
	my $c = $s->accept; sleep 5;' "$H/srv/listening" & PYP=$!
for _ in $(seq 100); do [ -e $H/srv/listening ] && break; sleep 0.1; done; TCPPORT=$(cat $H/srv/listening)
s=$(now); t "connect timeout" "$(q "SELECT cb_unit_connect(ARRAY['host','port','user','dbname','sslmode'], ARRAY['127.0.0.1','$TCPPORT','postgres','postgres','disable'], 600)")" "CONNECT ERROR: timeout expired after 600 ms while connecting"; tl "took" "$(since $s)" 1.5
kill $PYP 2>/dev/null; wait $PYP 2>/dev/null
# cb_run_children
R="string_agg(concat_ws(':', i, exit_code, term_signal, timed_out, nlines, replace(tail, E'\n', ',')), ' ' ORDER BY i)"
# how long the call took, measured in the server (psql's own start-up is not ours)
T="round(extract(epoch FROM max(clock_timestamp()) - statement_timestamp()), 3)"
# in parallel: the first child waits for a file only the second makes; run
# one after the other, the first would reach its timeout
rm -f "$H/srv/handshake"
t "children: run in parallel (the first waits for the second)" "$(q "SELECT bool_and(all_ok), $R FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','while [ ! -e $H/srv/handshake ]; do /bin/sleep 0.05; done; echo seen'],['/bin/sh','-c','/bin/sleep 0.3; : > $H/srv/handshake; echo made']], ARRAY[60000, 60000])")" "t|1:0:0:f:1:seen 2:0:0:f:1:made"
t "children: own exit code and tail, a failing one does not stop the other" "$(q "SELECT bool_or(all_ok), $R FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','echo a; echo b >&2; exit 3'],['/bin/sh','-c','echo c; /bin/sleep 0.5; echo d']])")" "f|1:3:0:f:2:a,b 2:0:0:f:2:c,d"
o=$(q "SELECT $R, $T FROM cb_unit_run_children(ARRAY[['/bin/sleep','30'],['/bin/sleep','0.6']], ARRAY[300, 0])")
t "children: timeout per child" "${o%|*}" "1:-1:15:t:0:stopped after a timeout of 300 ms 2:0:0:f:0:"; tl "took" "${o##*|}" 1.0
t "children: one cannot be executed, the other runs" "$(q "SELECT bool_or(all_ok), $R FROM cb_unit_run_children(ARRAY[['/nonexistent/prog','x'],['/bin/echo','x']])")" 'f|1:127:0:f:0:could not execute "/nonexistent/prog": No such file or directory 2:0:0:f:1:x'
t "children: a killed one, a normal one" "$(q "SELECT $R FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','kill -SEGV \$\$'],['/bin/echo','y',NULL]])")" "1:-1:11:f:0: 2:0:0:f:1:y"
M=m$$; rm -f $H/srv/c1.log $H/srv/c2.log $H/srv/never
t "children: own log files" "$(q "SELECT bool_and(all_ok) FROM cb_unit_run_children(ARRAY[['/bin/echo','one$M'],['/bin/echo','two$M']], log_files=>ARRAY['$H/srv/c1.log','$H/srv/c2.log'])") $(cat $H/srv/c1.log $H/srv/c2.log | tr '\n' ' ')" "t ---- /bin/echo one$M one$M ---- /bin/echo two$M two$M "
t "children: own log prefixes in the server log" "$(grep -c -e "unit 1: one$M" -e "unit 2: two$M" $H/srv/pg.log)" 2
t "children: unopenable log file -> ERROR, nothing started" "$(q "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','echo never$M > $H/srv/never'],['/bin/true',NULL,NULL]], log_files=>ARRAY['','/nonexistent/x.log'])") $(ls $H/srv/never 2>&1 | cut -d: -f1)" 'ERROR:  could not open log file "/nonexistent/x.log": No such file or directory ls'
t "children: big output from both" "$(q "SELECT string_agg(concat_ws(':', i, nlines, right(tail, 6)), ' ' ORDER BY i) FROM cb_unit_run_children(ARRAY[['/usr/bin/seq','1','100000'],['/usr/bin/seq','1','150000']])")" "1:100000:100000 2:150000:150000"
o=$(q "SELECT $R, $T FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','(/bin/sleep 5 &); echo done'],['/bin/sh','-c','/bin/sleep 0.3; echo late']])")
t "children: a grandchild holding one pipe" "${o%|*}" "1:0:0:f:1:done 2:0:0:f:1:late"; tl "returned without waiting for it" "${o##*|}" 0.8
s=$(now); t "children: statement_timeout -> ERROR" "$(psql -Atc "SET statement_timeout=500" -c "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sleep','31'],['/bin/sleep','33']])" 2>&1 | tail -1)" "ERROR:  canceling statement due to statement timeout"; tl "ERROR path took" "$(since $s)" 1.2; t "no sleep 31/33 left" "$(gone 'sleep 3[13]')" gone
t "children: on_line ERROR in one stops both" "$(q "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','/bin/sleep 0.2; echo RAISE; /bin/sleep 35'],['/bin/sleep','37',NULL]])")" "ERROR:  on_line raised"; t "no sleep 35/37 left" "$(gone 'sleep 3[57]')" gone
psql -Atc "SELECT count(*) FROM cb_unit_run_children(ARRAY[['$H/ignore.sh'],['$H/ignore38.sh']])" >/dev/null 2>&1 &
running 'sleep 3[89]' 2; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%ignore38%' AND pid <> pg_backend_pid()"); t "both children running" "$(pgrep -fc '(^|/)sleep 3[89]$')" 2
s=$(now); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait
tl "children: terminate (FATAL) with two TERM-ignoring children took" "$(since $s)" 1.0; t "no sleep 38/39 left" "$(gone 'sleep 3[89]')" gone
for die in false true; do
  WP=$(q "SELECT cb_unit_start_worker('$H/ignore.sh | $H/ignore38.sh', $die)"); running 'sleep 3[89]' 2
  t "bgworker (die=$die): both children running" "$(pgrep -fc 'sleep 3[89]')" 2
  s=$(now); kill -TERM $WP; while kill -0 $WP 2>/dev/null; do sleep 0.02; done
  tl "bgworker (die=$die) SIGTERM with two TERM-ignoring children took" "$(since $s)" 1.0; t "no sleep 38/39 left (die=$die)" "$(gone 'sleep 3[89]')" gone
done
t "verifier: SCRAM-SHA-256, 4096 iterations, 16-byte salt, 32-byte keys" "$(q "SELECT cb_unit_verifier('p4ss w0rd') ~ '^SCRAM-SHA-256\\\$4096:[A-Za-z0-9+/]{22}==\\\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=\$'")" t
t "verifier: a new salt each time" "$(q "SELECT cb_unit_verifier('x') <> cb_unit_verifier('x')")" t
# cb_wait_until: the deadline counts the time of the passes, not only the
# pauses (a sleep-counting loop with 20 ms pauses would take 100 x 320 ms)
o=$(q "SELECT cb_unit_wait(2000, 300, 0, 'sleep')"); read -r r n ms _ <<<"$o"
t "wait: slow predicate, never true -> false" "$r" f
t "wait: did not give up before its deadline" "$(awk -v a="$ms" 'BEGIN { print (a >= 2000) ? "kept" : "early " a }')" kept
tl "wait: ended at its deadline (+ one pass), $n passes" "$(awk -v a="$ms" 'BEGIN { printf "%.3f", a / 1000 }')" 2.4
o=$(q "SELECT cb_unit_wait(60000, 0, 3, 'sleep')"); t "wait: true at pass 3" "${o% *}" "t 3"
o=$(q "SELECT cb_unit_wait(0, 0, 10000, 'memory')"); read -r r n ms grew notempty <<<"$o"
t "wait: 10000 passes of 16 kB" "$r $n" "t 10000"
t "wait: every pass starts with an empty context" "$notempty" 0
t "wait: memory flat over 10000 passes" "$(awk -v a="$grew" 'BEGIN { print (a <= 8192) ? "flat" : "grew " a }')" flat
CB="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cnpg_bootstrap'"
o=$(q "SELECT cb_unit_wait(0, 0, 6, 'conn', '$H/srv', $PORT)"); read -r r n ms pids <<<"$o"
t "wait: 6 passes on a kept connection, opened again once after it broke" "$r $n $pids" "t 6 2"
t "wait: its connection closed at the end" "$(settled "$CB")" 0
t "wait: ERROR in a pass" "$(q "SELECT cb_unit_wait(0, 0, 4, 'connerror', '$H/srv', $PORT)")" "ERROR:  predicate raised at pass 4"
t "wait: its connection closed after the ERROR" "$(settled "$CB")" 0
s=$(now); t "wait: statement_timeout -> ERROR" "$(psql -Atc "SET statement_timeout=500" -c "SELECT cb_unit_wait(60000, 0, 0, 'sleep')" 2>&1 | tail -1)" "ERROR:  canceling statement due to statement timeout"; tl "wait: cancelled within" "$(since $s)" 1.0
echo "$P passed, $F failed"
[ $F = 0 ]
