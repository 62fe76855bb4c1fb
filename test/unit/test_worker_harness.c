/*-------------------------------------------------------------------------
 *
 * test_worker_harness.c
 *	  A throwaway loadable module that exposes src/process.c and
 *	  src/pgconn.c to SQL, so that they can be tested where they run: in a
 *	  backend (pg_cancel_backend -> ERROR, pg_terminate_backend -> die ->
 *	  FATAL) and in a dynamic background worker (bgworker_die or die on
 *	  SIGTERM, postmaster shutdown).  Not part of the extension.
 *
 * Build (from any scratch directory; nothing is installed):
 *   mkdir -p /tmp/cbu && cd /tmp/cbu
 *   cp /work/main/test/unit/test_worker_harness.c /work/main/src/process.c \
 *      /work/main/src/pgconn.c /work/main/src/secrets.c .
 *   printf 'MODULE_big = cb_unit\nOBJS = test_worker_harness.o process.o pgconn.o secrets.o\nPG_CPPFLAGS = -I/work/main/src -I$(shell pg_config --includedir)\nPG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers\nSHLIB_LINK = -L$(shell pg_config --libdir) -lpq -lcrypto\nwith_llvm = no\nPGXS := $(shell pg_config --pgxs)\ninclude $(PGXS)\n' > Makefile
 *   make COPT=-Werror
 * then, in a scratch server (any database):
 *   CREATE FUNCTION cb_unit_run(argv text[], timeout_ms int DEFAULT 0,
 *       new_session bool DEFAULT true, log_file text DEFAULT NULL,
 *       extra_env text[] DEFAULT NULL, cwd text DEFAULT NULL,
 *       tail_lines int DEFAULT 0,
 *       OUT ok bool, OUT exit_code int, OUT term_signal int,
 *       OUT timed_out bool, OUT nlines int, OUT tail text)
 *     AS '/tmp/cbu/cb_unit.so' LANGUAGE C CALLED ON NULL INPUT;
 *   CREATE FUNCTION cb_unit_rmtree(text) RETURNS bool
 *     AS '/tmp/cbu/cb_unit.so' LANGUAGE C STRICT;
 *   CREATE FUNCTION cb_unit_query(socket_dir text, port int, db text,
 *       sql text, timeout_ms int DEFAULT 0, params text[] DEFAULT NULL)
 *     RETURNS text AS '/tmp/cbu/cb_unit.so' LANGUAGE C CALLED ON NULL INPUT;
 *   CREATE FUNCTION cb_unit_connect(keywords text[], vals text[], timeout_ms int)
 *     RETURNS text AS '/tmp/cbu/cb_unit.so' LANGUAGE C STRICT;
 *   CREATE FUNCTION cb_unit_start_worker(argv text, use_die bool)
 *     RETURNS int AS '/tmp/cbu/cb_unit.so' LANGUAGE C STRICT;
 *   CREATE FUNCTION cb_unit_verifier(password text)
 *     RETURNS text AS '/tmp/cbu/cb_unit.so' LANGUAGE C STRICT;
 *   CREATE FUNCTION cb_unit_run_children(argvs text[],
 *       timeouts int[] DEFAULT NULL, log_files text[] DEFAULT NULL,
 *       OUT i int, OUT all_ok bool, OUT exit_code int, OUT term_signal int,
 *       OUT timed_out bool, OUT nlines int, OUT tail text)
 *     RETURNS SETOF record AS '/tmp/cbu/cb_unit.so'
 *     LANGUAGE C CALLED ON NULL INPUT;
 *
 * cb_unit_run's on_line callback counts lines (nlines) and throws an ERROR
 * on a line reading "RAISE", to test that path.  cb_unit_query returns the
 * first value, "ERROR: <errmsg>", or "OK <status>".  cb_unit_start_worker
 * starts a background worker running argv (words separated by spaces) and
 * returns its pid; use_die installs die() as its SIGTERM handler instead of
 * the default bgworker_die().  cb_unit_verifier runs cb_password_verifier
 * inside the server, where pg_saslprep comes from the postgres binary.
 *
 * cb_unit_run_children runs one child per row of the 2-D argvs (a NULL ends
 * a shorter argv) through cb_run_children, each with its own timeout
 * (timeouts[i], 0 = none), log file (log_files[i]), log prefix "unit <i>"
 * and line counter, and returns one row per child (all_ok is the return
 * value).  In cb_unit_start_worker's argv a "|" word starts another child,
 * and the children run through cb_run_children; one child still goes
 * through cb_run_child.
 *
 * The checks run against it (75, all passing on PG 15.18) are the bash
 * script at the end of this file.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pgconn.h"
#include "process.h"
#include "secrets.h"

PG_MODULE_MAGIC;

/* the extension's GUC (cnpg_bootstrap.c), read by process.c */
char	   *cb_data_root = NULL;

PGDLLEXPORT void cb_unit_worker_main(Datum arg);

/* text[] -> NULL-terminated C strings; NULL array -> NULL */
static const char **
cstrings(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	const char **out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	out = palloc0(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
		out[i] = nulls[i] ? "" : TextDatumGetCString(elems[i]);
	return out;
}

static void
count_line(const char *line, void *arg)
{
	(*(int *) arg)++;
	if (strcmp(line, "RAISE") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RAISE_EXCEPTION),
				 errmsg("on_line raised")));
}

PG_FUNCTION_INFO_V1(cb_unit_run);
Datum
cb_unit_run(PG_FUNCTION_ARGS)
{
	CbChildOptions opts;
	CbChildResult res;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};
	int			nlines = 0;
	bool		ok;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&opts, 0, sizeof(opts));
	opts.argv = cstrings(PG_GETARG_ARRAYTYPE_P(0));
	opts.timeout_ms = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	opts.new_session = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
	opts.log_file = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	opts.extra_env = PG_ARGISNULL(4) ? NULL : cstrings(PG_GETARG_ARRAYTYPE_P(4));
	opts.cwd = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	opts.tail_lines = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	opts.log_prefix = "unit";
	opts.on_line = count_line;
	opts.on_line_arg = &nlines;

	ok = cb_run_child(&opts, &res);

	values[0] = BoolGetDatum(ok);
	values[1] = Int32GetDatum(res.exit_code);
	values[2] = Int32GetDatum(res.term_signal);
	values[3] = BoolGetDatum(res.timed_out);
	values[4] = Int32GetDatum(nlines);
	values[5] = CStringGetTextDatum(res.tail ? res.tail : "");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cb_unit_run_children(argvs text[], timeouts int[], log_files text[]):
 * argvs has one row per child (a 1-D array is one child); a NULL ends a
 * shorter argv.  One result row per child, all_ok being the return value.
 */
PG_FUNCTION_INFO_V1(cb_unit_run_children);
Datum
cb_unit_run_children(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	const char **log_files = PG_ARGISNULL(2) ? NULL :
		cstrings(PG_GETARG_ARRAYTYPE_P(2));
	Datum	   *elems;
	bool	   *elnulls;
	int			nelems;
	Datum	   *timeouts = NULL;
	bool	   *tnulls = NULL;
	int			ntimeouts = 0;
	int			nlog_files = 0;
	int			n;
	int			width;
	int			i;
	CbChildOptions *opts;
	CbChildResult *res;
	int		   *nlines;
	bool		all_ok;

	InitMaterializedSRF(fcinfo, 0);

	if (ARR_NDIM(arr) == 1)
	{
		n = 1;
		width = ARR_DIMS(arr)[0];
	}
	else if (ARR_NDIM(arr) == 2)
	{
		n = ARR_DIMS(arr)[0];
		width = ARR_DIMS(arr)[1];
	}
	else
		elog(ERROR, "argvs must be a 1-D or 2-D text array");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elnulls, &nelems);
	if (!PG_ARGISNULL(1))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT4OID, 4, true,
						  TYPALIGN_INT, &timeouts, &tnulls, &ntimeouts);
	while (log_files && log_files[nlog_files])
		nlog_files++;

	opts = palloc0(sizeof(CbChildOptions) * n);
	res = palloc0(sizeof(CbChildResult) * n);
	nlines = palloc0(sizeof(int) * n);
	for (i = 0; i < n; i++)
	{
		const char **argv = palloc0(sizeof(char *) * (width + 1));
		int			j;

		for (j = 0; j < width && !elnulls[i * width + j]; j++)
			argv[j] = TextDatumGetCString(elems[i * width + j]);
		opts[i].argv = argv;
		opts[i].new_session = true;
		opts[i].log_prefix = psprintf("unit %d", i + 1);
		opts[i].on_line = count_line;
		opts[i].on_line_arg = &nlines[i];
		if (i < ntimeouts && !tnulls[i])
			opts[i].timeout_ms = DatumGetInt32(timeouts[i]);
		if (i < nlog_files && log_files[i][0] != '\0')
			opts[i].log_file = log_files[i];
	}

	all_ok = cb_run_children(n, opts, res);

	for (i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = Int32GetDatum(i + 1);
		values[1] = BoolGetDatum(all_ok);
		values[2] = Int32GetDatum(res[i].exit_code);
		values[3] = Int32GetDatum(res[i].term_signal);
		values[4] = BoolGetDatum(res[i].timed_out);
		values[5] = Int32GetDatum(nlines[i]);
		values[6] = CStringGetTextDatum(res[i].tail ? res[i].tail : "");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(cb_unit_rmtree);
Datum
cb_unit_rmtree(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(cb_rmtree(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

PG_FUNCTION_INFO_V1(cb_unit_query);
Datum
cb_unit_query(PG_FUNCTION_ARGS)
{
	char	   *err = NULL;
	PGconn	   *conn;
	PGresult   *res;
	char	   *out;
	const char **params = NULL;
	int			nparams = -1;

	conn = cb_connect_local(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							PG_GETARG_INT32(1),
							text_to_cstring(PG_GETARG_TEXT_PP(2)),
							5000, &err);
	if (conn == NULL)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("CONNECT ERROR: %s", err)));

	if (!PG_ARGISNULL(5))
	{
		params = cstrings(PG_GETARG_ARRAYTYPE_P(5));
		for (nparams = 0; params[nparams]; nparams++)
			;
	}
	res = cb_exec_timeout(conn, text_to_cstring(PG_GETARG_TEXT_PP(3)),
						  nparams, params,
						  PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4), &err);
	if (err)
		out = psprintf("ERROR: %s", err);
	else if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		out = pstrdup(PQgetvalue(res, 0, 0));
	else
		out = psprintf("OK %s", res ? PQresStatus(PQresultStatus(res)) : "NULL");
	PQclear(res);

	/* the connection must still work after a timeout */
	if (res != NULL)
	{
		char	   *v = cb_query_value(conn, "SELECT 'alive'", &err);

		if (v == NULL || strcmp(v, "alive") != 0)
			out = psprintf("%s (connection unusable afterwards: %s)", out,
						   err ? err : "?");
	}
	cb_disconnect(conn);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(cb_unit_connect);
Datum
cb_unit_connect(PG_FUNCTION_ARGS)
{
	char	   *err = NULL;
	PGconn	   *conn = cb_connect(cstrings(PG_GETARG_ARRAYTYPE_P(0)),
								  cstrings(PG_GETARG_ARRAYTYPE_P(1)),
								  PG_GETARG_INT32(2), &err);

	if (conn == NULL)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("CONNECT ERROR: %s", err)));
	cb_disconnect(conn);
	PG_RETURN_TEXT_P(cstring_to_text("connected"));
}

PG_FUNCTION_INFO_V1(cb_unit_verifier);
Datum
cb_unit_verifier(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(cb_password_verifier("unit",
														  text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

PG_FUNCTION_INFO_V1(cb_unit_start_worker);
Datum
cb_unit_start_worker(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;
	char	   *argv = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (strlen(argv) >= BGW_EXTRALEN)
		elog(ERROR, "argv too long for bgw_extra");
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "/tmp/cbu/cb_unit.so");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cb_unit_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cb_unit worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cb_unit worker");
	strlcpy(worker.bgw_extra, argv, BGW_EXTRALEN);
	worker.bgw_main_arg = BoolGetDatum(PG_GETARG_BOOL(1));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		elog(ERROR, "could not register a background worker");
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		elog(ERROR, "background worker did not start");
	PG_RETURN_INT32(pid);
}

void
cb_unit_worker_main(Datum arg)
{
	char	   *words = pstrdup(MyBgworkerEntry->bgw_extra);
	const char *argv[32];
	int			n = 0;
	char	   *tok;
	CbChildOptions opts;
	CbChildResult res;
	int			starts[8];
	int			nchildren = 1;
	CbChildOptions many[8];
	CbChildResult results[8];
	int			i;

	if (DatumGetBool(arg))
		pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* a "|" word starts the argv of another child */
	starts[0] = 0;
	for (tok = strtok(words, " "); tok && n < 31; tok = strtok(NULL, " "))
	{
		if (strcmp(tok, "|") == 0 && nchildren < 8)
		{
			argv[n++] = NULL;
			starts[nchildren++] = n;
		}
		else
			argv[n++] = tok;
	}
	argv[n] = NULL;

	/* one child goes through cb_run_child, to test that path as it is */
	if (nchildren == 1)
	{
		memset(&opts, 0, sizeof(opts));
		opts.argv = argv;
		opts.new_session = true;
		opts.log_prefix = "unit worker";
		(void) cb_run_child(&opts, &res);
		elog(LOG, "cb_unit worker: child exit code %d, signal %d",
			 res.exit_code, res.term_signal);
		return;
	}

	memset(many, 0, sizeof(many));
	for (i = 0; i < nchildren; i++)
	{
		many[i].argv = &argv[starts[i]];
		many[i].new_session = true;
		many[i].log_prefix = psprintf("unit worker %d", i + 1);
	}
	(void) cb_run_children(nchildren, many, results);
	for (i = 0; i < nchildren; i++)
		elog(LOG, "cb_unit worker: child %d exit code %d, signal %d",
			 i + 1, results[i].exit_code, results[i].term_signal);
}

/*
 * By-hand regression through this module.  Setup, as root, after the build
 * above (a scratch server on port 55498 whose environment carries libpq
 * variables that must not reach our connections):
 *
 *   B=/usr/lib/postgresql/15/bin; mkdir -p /tmp/cbu/srv /tmp/cbu/bin
 *   chmod 755 /tmp/cbu; chown postgres: /tmp/cbu/srv; cp /usr/bin/env /tmp/cbu/bin/
 *   printf '#!/bin/sh\ntrap "" TERM\n/bin/sleep 39\n' > /tmp/cbu/ignore.sh; chmod 755 /tmp/cbu/ignore.sh
 *   printf '#!/bin/sh\ntrap "" TERM\n/bin/sleep 38\n' > /tmp/cbu/ignore38.sh; chmod 755 /tmp/cbu/ignore38.sh
 *   runuser -u postgres -- $B/initdb -D /tmp/cbu/srv/pg -A trust -U postgres
 *   printf "port = 55498\nlisten_addresses = ''\nunix_socket_directories = '/tmp/cbu/srv'\n" >> /tmp/cbu/srv/pg/postgresql.conf
 *   runuser -u postgres -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PGOPTIONS='-c work_mem=77kB' \
 *       PGTARGETSESSIONATTRS=standby PGSSLMODE=require PGTZ=Asia/Tokyo \
 *       $B/pg_ctl -D /tmp/cbu/srv/pg -l /tmp/cbu/srv/pg.log -w start
 *   psql -h /tmp/cbu/srv -p 55498 -U postgres -f <the CREATE FUNCTIONs above>
 *
 * then save the script below and run it with bash:
 *
 * #!/bin/bash
 * # by-hand regression for process.c / pgconn.c through the harness module
 * export PGHOST=/tmp/cbu/srv PGPORT=55498 PGUSER=postgres PGDATABASE=postgres
 * P=0; F=0
 * q() { psql -Atc "$1" 2>&1; }
 * t() { if [ "$2" = "$3" ]; then P=$((P+1)); echo "ok - $1"; else F=$((F+1)); echo "not ok - $1"; echo "#  got: $2"; echo "# want: $3"; fi; }
 * tl() { if [ "$(echo "$2 < $3" | bc)" = 1 ]; then P=$((P+1)); echo "ok - $1 ($2 s)"; else F=$((F+1)); echo "not ok - $1 ($2 s >= $3)"; fi; }
 * now() { date +%s.%N; }
 * gone() { sleep 0.1; pgrep -f "$1" >/dev/null && echo left || echo gone; }
 * S="'/tmp/cbu/srv', 55498, 'postgres'"
 *
 * t "echo" "$(q "SELECT ok, exit_code, tail FROM cb_unit_run(ARRAY['/bin/echo','hello'])")" "t|0|hello"
 * t "exit code + stderr" "$(q "SELECT ok, exit_code, nlines FROM cb_unit_run(ARRAY['/bin/sh','-c','echo out; echo err >&2; exit 3'])")" "f|3|2"
 * t "env scrubbed + extra_env override" "$(q "SELECT replace(tail, E'\n', ' ') FROM cb_unit_run(ARRAY['/usr/bin/env'], extra_env => ARRAY['FOO=bar','LANG=C'], cwd=>'/tmp')")" "PATH=/usr/bin:/bin LANG=C LC_MESSAGES=C HOME=/tmp FOO=bar"
 * t "bindir first in PATH" "$(q "SELECT split_part(tail, E'\n', 1) FROM cb_unit_run(ARRAY['/tmp/cbu/bin/env'])")" "PATH=/tmp/cbu/bin:/usr/bin:/bin"
 * t "only fds 0-2 (+ls's own)" "$(q "SELECT replace(tail, E'\n', ' ') FROM cb_unit_run(ARRAY['/bin/ls','/proc/self/fd'])")" "0 1 2 3"
 * t "signals unblocked, none ignored" "$(q "SELECT replace(tail, E'\n', ' ') FROM cb_unit_run(ARRAY['/bin/grep','-E','^Sig(Blk|Ign)','/proc/self/status'])")" "SigBlk:	0000000000000000 SigIgn:	0000000000000000"
 * t "stdin is /dev/null" "$(q "SELECT tail FROM cb_unit_run(ARRAY['/bin/readlink','/proc/self/fd/0'])")" "/dev/null"
 * t "new session" "$(q "SELECT tail FROM cb_unit_run(ARRAY['/bin/sh','-c','[ \$\$ = \$(cut -d\" \" -f6 /proc/\$\$/stat) ] && echo leader'])")" "leader"
 * t "no new session" "$(q "SELECT tail = pg_backend_pid()::text FROM cb_unit_run(ARRAY['/bin/sh','-c','cut -d\" \" -f6 /proc/\$\$/stat'], new_session=>false)")" "t"
 * t "missing program" "$(q "SELECT exit_code, tail FROM cb_unit_run(ARRAY['/nonexistent/prog'])")" '127|could not execute "/nonexistent/prog": No such file or directory'
 * t "bad cwd" "$(q "SELECT exit_code FROM cb_unit_run(ARRAY['/bin/true'], cwd=>'/nonexistent')")" "127"
 * s=$(now); t "timeout" "$(q "SELECT ok, term_signal, timed_out FROM cb_unit_run(ARRAY['/bin/sleep','30'], timeout_ms=>500)")" "f|15|t"; tl "timeout took" "$(echo "$(now) - $s" | bc)" 1.0
 * s=$(now); t "timeout, TERM ignored -> KILL" "$(q "SELECT term_signal, timed_out FROM cb_unit_run(ARRAY['/tmp/cbu/ignore.sh'], timeout_ms=>300)")" "9|t"; tl "TERM-ignoring timeout took" "$(echo "$(now) - $s" | bc)" 1.3; t "no sleep 39 left" "$(gone 'sleep 39')" gone
 * s=$(now); t "grandchild holding the pipe" "$(q "SELECT ok, tail FROM cb_unit_run(ARRAY['/bin/sh','-c','(/bin/sleep 5 &); echo done'])")" "t|done"; tl "returned without waiting for it" "$(echo "$(now) - $s" | bc)" 0.6
 * s=$(now); t "statement_timeout -> ERROR" "$(psql -Atc "SET statement_timeout=500" -c "SELECT ok FROM cb_unit_run(ARRAY['/bin/sleep','32'])" 2>&1 | tail -1)" "ERROR:  canceling statement due to statement timeout"; tl "ERROR path took" "$(echo "$(now) - $s" | bc)" 1.0; t "no sleep 32 left" "$(gone 'sleep 32')" gone
 * t "on_line ERROR" "$(q "SELECT ok FROM cb_unit_run(ARRAY['/bin/sh','-c','echo RAISE; /bin/sleep 34'])")" "ERROR:  on_line raised"; t "no sleep 34 left" "$(gone 'sleep 34')" gone
 * psql -Atc "SELECT ok FROM cb_unit_run(ARRAY['/bin/sleep','36'])" >/dev/null 2>&1 &
 * sleep 0.4; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%sleep'',''36%' AND pid <> pg_backend_pid()"); s=$(now); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait
 * tl "terminate (FATAL) took" "$(echo "$(now) - $s" | bc)" 0.5; t "no sleep 36 left" "$(gone 'sleep 36')" gone
 * for die in false true; do
 *   WP=$(q "SELECT cb_unit_start_worker('/tmp/cbu/ignore.sh', $die)"); sleep 0.4
 *   s=$(now); kill -TERM $WP; while kill -0 $WP 2>/dev/null; do sleep 0.02; done
 *   tl "bgworker (die=$die) SIGTERM with TERM-ignoring child took" "$(echo "$(now) - $s" | bc)" 1.0; t "no sleep 39 left (die=$die)" "$(gone 'sleep 39')" gone
 * done
 * t "CR/LF lines" "$(q "SELECT nlines, replace(tail, E'\n', ',') FROM cb_unit_run(ARRAY['/usr/bin/printf','a\rb\r\nc\n\nd'])")" "4|a,b,c,d"
 * t "big output" "$(q "SELECT nlines, ok, right(tail, 6) FROM cb_unit_run(ARRAY['/usr/bin/seq','1','200000'])")" "200000|t|200000"
 * t "tail_lines" "$(q "SELECT replace(tail, E'\n', ',') FROM cb_unit_run(ARRAY['/usr/bin/seq','1','10'], tail_lines=>3)")" "8,9,10"
 * t "killed by signal" "$(q "SELECT ok, exit_code, term_signal FROM cb_unit_run(ARRAY['/bin/sh','-c','kill -SEGV \$\$'])")" "f|-1|11"
 * W=/tmp/cbu/srv/w; rm -rf $W; mkdir -p $W/rt/a/b $W/outside; touch $W/outside/keep $W/rt/a/b/f; ln -s $W/outside $W/rt/a/link; chown -R postgres: $W
 * t "rmtree" "$(q "SELECT cb_unit_rmtree('$W/rt'), cb_unit_rmtree('$W/rt')")" "t|t"; t "rmtree kept the symlink target" "$(ls $W/outside)" keep
 * t "pgconn basic" "$(q "SELECT cb_unit_query($S, 'SELECT 1; SELECT 2')")" "2"
 * t "pgconn env ignored" "$(q "SELECT cb_unit_query($S, 'SELECT current_setting(''work_mem'')||current_setting(''application_name'')')")" "4MBcnpg_bootstrap"
 * t "pgconn first error" "$(q "SELECT cb_unit_query($S, 'SELECT 1; SELECT * FROM nosuch; SELECT 3')")" 'ERROR: relation "nosuch" does not exist'
 * t "pgconn params" "$(q "SELECT cb_unit_query($S, 'SELECT \$1 || \$2', 0, ARRAY['it''s', ' ok'])")" "it's ok"
 * s=$(now); t "pgconn timeout + cancel, conn reusable" "$(q "SELECT cb_unit_query($S, 'SELECT pg_sleep(10)', 500)")" "ERROR: timeout expired after 500 ms (the command was cancelled)"; tl "took" "$(echo "$(now) - $s" | bc)" 1.0
 * t "pgconn COPY OUT" "$(q "SELECT cb_unit_query($S, 'COPY (SELECT generate_series(1,100000)) TO STDOUT; SELECT 42')")" "42"
 * t "pgconn big query" "$(q "SELECT cb_unit_query($S, 'SELECT length(''' || repeat('x', 8000000) || ''')')")" "8000000"
 * psql -Atc "SET statement_timeout=500" -c "SELECT cb_unit_query($S, 'SELECT pg_sleep(41)')" >/dev/null 2>&1; sleep 0.3
 * t "pgconn ERROR path cancels the remote" "$(q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(41)' AND state='active'")" 0
 * psql -Atc "SELECT cb_unit_query($S, 'SELECT pg_sleep(42)')" >/dev/null 2>&1 &
 * sleep 0.4; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(42)%' AND application_name <> 'cnpg_bootstrap' AND pid <> pg_backend_pid()"); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait; sleep 0.3
 * t "pgconn FATAL path cancels the remote" "$(q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(42)' AND state='active'")" 0
 * python3 -c "
 * import socket,time
 * s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',55497)); s.listen(5)
 * c=s.accept(); time.sleep(5)" & PYP=$!; sleep 1
 * s=$(now); t "connect timeout" "$(q "SELECT cb_unit_connect(ARRAY['host','port','user','dbname','sslmode'], ARRAY['127.0.0.1','55497','postgres','postgres','disable'], 600)")" "CONNECT ERROR: timeout expired after 600 ms while connecting"; tl "took" "$(echo "$(now) - $s" | bc)" 1.5
 * kill $PYP 2>/dev/null; wait $PYP 2>/dev/null
 * # cb_run_children
 * R="string_agg(concat_ws(':', i, exit_code, term_signal, timed_out, nlines, replace(tail, E'\n', ',')), ' ' ORDER BY i)"
 * # how long the call took, measured in the server (psql's own start-up is not ours)
 * T="round(extract(epoch FROM max(clock_timestamp()) - statement_timestamp()), 3)"
 * o=$(q "SELECT bool_and(all_ok), $R, $T FROM cb_unit_run_children(ARRAY[['/bin/sleep','1'],['/bin/sleep','1']])")
 * t "children: two sleep 1 in parallel" "${o%|*}" "t|1:0:0:f:0: 2:0:0:f:0:"; tl "two sleep 1 took about 1 s, not 2" "${o##*|}" 1.5; t "... not less than 1 s (both ran)" "$(echo "${o##*|} >= 1.0" | bc)" 1
 * t "children: own exit code and tail, a failing one does not stop the other" "$(q "SELECT bool_or(all_ok), $R FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','echo a; echo b >&2; exit 3'],['/bin/sh','-c','echo c; /bin/sleep 0.5; echo d']])")" "f|1:3:0:f:2:a,b 2:0:0:f:2:c,d"
 * o=$(q "SELECT $R, $T FROM cb_unit_run_children(ARRAY[['/bin/sleep','30'],['/bin/sleep','0.6']], ARRAY[300, 0])")
 * t "children: timeout per child" "${o%|*}" "1:-1:15:t:0:stopped after a timeout of 300 ms 2:0:0:f:0:"; tl "took" "${o##*|}" 1.0
 * t "children: one cannot be executed, the other runs" "$(q "SELECT bool_or(all_ok), $R FROM cb_unit_run_children(ARRAY[['/nonexistent/prog','x'],['/bin/echo','x']])")" 'f|1:127:0:f:0:could not execute "/nonexistent/prog": No such file or directory 2:0:0:f:1:x'
 * t "children: a killed one, a normal one" "$(q "SELECT $R FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','kill -SEGV \$\$'],['/bin/echo','y',NULL]])")" "1:-1:11:f:0: 2:0:0:f:1:y"
 * M=m$$; rm -f /tmp/cbu/srv/c1.log /tmp/cbu/srv/c2.log /tmp/cbu/srv/never
 * t "children: own log files" "$(q "SELECT bool_and(all_ok) FROM cb_unit_run_children(ARRAY[['/bin/echo','one$M'],['/bin/echo','two$M']], log_files=>ARRAY['/tmp/cbu/srv/c1.log','/tmp/cbu/srv/c2.log'])") $(cat /tmp/cbu/srv/c1.log /tmp/cbu/srv/c2.log | tr '\n' ' ')" "t ---- /bin/echo one$M one$M ---- /bin/echo two$M two$M "
 * t "children: own log prefixes in the server log" "$(grep -c -e "unit 1: one$M" -e "unit 2: two$M" /tmp/cbu/srv/pg.log)" 2
 * t "children: unopenable log file -> ERROR, nothing started" "$(q "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','echo never$M > /tmp/cbu/srv/never'],['/bin/true',NULL,NULL]], log_files=>ARRAY['','/nonexistent/x.log'])") $(ls /tmp/cbu/srv/never 2>&1 | cut -d: -f1)" 'ERROR:  could not open log file "/nonexistent/x.log": No such file or directory ls'
 * t "children: big output from both" "$(q "SELECT string_agg(concat_ws(':', i, nlines, right(tail, 6)), ' ' ORDER BY i) FROM cb_unit_run_children(ARRAY[['/usr/bin/seq','1','100000'],['/usr/bin/seq','1','150000']])")" "1:100000:100000 2:150000:150000"
 * o=$(q "SELECT $R, $T FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','(/bin/sleep 5 &); echo done'],['/bin/sh','-c','/bin/sleep 0.3; echo late']])")
 * t "children: a grandchild holding one pipe" "${o%|*}" "1:0:0:f:1:done 2:0:0:f:1:late"; tl "returned without waiting for it" "${o##*|}" 0.8
 * s=$(now); t "children: statement_timeout -> ERROR" "$(psql -Atc "SET statement_timeout=500" -c "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sleep','31'],['/bin/sleep','33']])" 2>&1 | tail -1)" "ERROR:  canceling statement due to statement timeout"; tl "ERROR path took" "$(echo "$(now) - $s" | bc)" 1.2; t "no sleep 31/33 left" "$(gone 'sleep 3[13]')" gone
 * t "children: on_line ERROR in one stops both" "$(q "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/bin/sh','-c','/bin/sleep 0.2; echo RAISE; /bin/sleep 35'],['/bin/sleep','37',NULL]])")" "ERROR:  on_line raised"; t "no sleep 35/37 left" "$(gone 'sleep 3[57]')" gone
 * psql -Atc "SELECT count(*) FROM cb_unit_run_children(ARRAY[['/tmp/cbu/ignore.sh'],['/tmp/cbu/ignore38.sh']])" >/dev/null 2>&1 &
 * sleep 0.4; BP=$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE '%ignore38%' AND pid <> pg_backend_pid()"); t "both children running" "$(pgrep -fc 'sleep 3[89]')" 2
 * s=$(now); q "SELECT pg_terminate_backend($BP)" >/dev/null; wait
 * tl "children: terminate (FATAL) with two TERM-ignoring children took" "$(echo "$(now) - $s" | bc)" 1.0; t "no sleep 38/39 left" "$(gone 'sleep 3[89]')" gone
 * for die in false true; do
 *   WP=$(q "SELECT cb_unit_start_worker('/tmp/cbu/ignore.sh | /tmp/cbu/ignore38.sh', $die)"); sleep 0.4
 *   t "bgworker (die=$die): both children running" "$(pgrep -fc 'sleep 3[89]')" 2
 *   s=$(now); kill -TERM $WP; while kill -0 $WP 2>/dev/null; do sleep 0.02; done
 *   tl "bgworker (die=$die) SIGTERM with two TERM-ignoring children took" "$(echo "$(now) - $s" | bc)" 1.0; t "no sleep 38/39 left (die=$die)" "$(gone 'sleep 3[89]')" gone
 * done
 * echo "$P passed, $F failed"
 * [ $F = 0 ]
 */
