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
 *      /work/main/src/pgconn.c .
 *   printf 'MODULE_big = cb_unit\nOBJS = test_worker_harness.o process.o pgconn.o\nPG_CPPFLAGS = -I/work/main/src -I$(shell pg_config --includedir)\nPG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers\nSHLIB_LINK = -L$(shell pg_config --libdir) -lpq\nPGXS := $(shell pg_config --pgxs)\ninclude $(PGXS)\n' > Makefile
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
 *
 * cb_unit_run's on_line callback counts lines (nlines) and throws an ERROR
 * on a line reading "RAISE", to test that path.  cb_unit_query returns the
 * first value, "ERROR: <errmsg>", or "OK <status>".  cb_unit_start_worker
 * starts a background worker running argv (words separated by spaces) and
 * returns its pid; use_die installs die() as its SIGTERM handler instead of
 * the default bgworker_die().
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

	if (DatumGetBool(arg))
		pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	for (tok = strtok(words, " "); tok && n < 31; tok = strtok(NULL, " "))
		argv[n++] = tok;
	argv[n] = NULL;

	memset(&opts, 0, sizeof(opts));
	opts.argv = argv;
	opts.new_session = true;
	opts.log_prefix = "unit worker";
	(void) cb_run_child(&opts, &res);
	elog(LOG, "cb_unit worker: child exit code %d, signal %d",
		 res.exit_code, res.term_signal);
}
