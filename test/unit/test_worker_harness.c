/*-------------------------------------------------------------------------
 *
 * test_worker_harness.c
 *	  A throwaway loadable module that exposes src/process.c and
 *	  src/pgconn.c to SQL, so that they can be tested where they run: in a
 *	  backend (pg_cancel_backend -> ERROR, pg_terminate_backend -> die ->
 *	  FATAL) and in a dynamic background worker (bgworker_die or die on
 *	  SIGTERM, postmaster shutdown).  Not part of the extension.
 *
 * `make unit` builds it (PGXS, in a scratch directory, nothing installed)
 * with process.c, childreg.c, procstat.c, pgconn.c and secrets.c, starts a scratch
 * server that loads it and runs the checks: test/unit/run_worker_harness.sh,
 * which also holds the CREATE FUNCTIONs.  CB_UNIT_LIB is the path of the
 * built module (for the background worker's bgw_library_name).
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
 * cb_unit_wait runs cb_wait_until (waituntil.c) with timeout_ms and a
 * predicate chosen by mode, true from pass true_at on (0: never), and
 * returns "<result> <passes> <elapsed ms on CLOCK_MONOTONIC> <extra>":
 * "sleep" sleeps sleep_ms per pass (a slow query); "memory" allocates
 * 16 kB per pass and sets the latch (no pause), extra is how much the
 * backend's memory grew from pass 100 to the last pass and how many passes
 * did not start with an empty pass context; "conn" asks for connection 0
 * (the server at socket_dir/port) each pass and terminates its backend at
 * pass 3, extra is how many backends served it; "connerror" does the same
 * and raises an ERROR at pass true_at.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pgconn.h"
#include "process.h"
#include "secrets.h"
#include "waituntil.h"

PG_MODULE_MAGIC;

/*
 * No GUC of the extension and nothing of worker.c is defined here: process.c
 * and childreg.c are infrastructure and must load without them (a child's
 * cwd comes from its options, childreg records nothing until a cluster
 * worker sets its scope, as in a backend of the control instance).
 */

#ifndef CB_UNIT_LIB
#error "build with -DCB_UNIT_LIB=\"<path of the module>\" (run_worker_harness.sh)"
#endif

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
	strlcpy(worker.bgw_library_name, CB_UNIT_LIB, BGW_MAXLEN);
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

/* ---------- cb_wait_until ---------- */

typedef struct UnitWait
{
	const char *mode;
	int			sleep_ms;
	int			true_at;
	const char *socket_dir;
	int			port;
	Size		top_at_100;
	Size		top_at_end;
	Size		pass_empty;
	int			not_empty;
	int			pids[64];
	int			npids;
	int			passes;
} UnitWait;

static PGconn *
unit_wait_connect(void *arg, int which)
{
	UnitWait   *u = arg;
	char	   *err = NULL;

	return cb_connect_local(u->socket_dir, u->port, "postgres", 5000, &err);
}

static bool
unit_wait_pass(CbWait *w, void *arg)
{
	UnitWait   *u = arg;
	int			pass = cb_wait_passes(w);
	bool		reached = u->true_at > 0 && pass >= u->true_at;

	u->passes = pass;

	if (strcmp(u->mode, "sleep") == 0)
		pg_usleep(u->sleep_ms * 1000L);
	else if (strcmp(u->mode, "memory") == 0)
	{
		Size		now = MemoryContextMemAllocated(CurrentMemoryContext, false);

		if (pass == 1)
			u->pass_empty = now;
		else if (now != u->pass_empty)
			u->not_empty++;
		if (pass == 100)
			u->top_at_100 = MemoryContextMemAllocated(TopMemoryContext, true);
		if (reached)
			u->top_at_end = MemoryContextMemAllocated(TopMemoryContext, true);
		memset(palloc(16384), 1, 16384);
		SetLatch(MyLatch);
	}
	else
	{
		PGconn	   *conn = cb_wait_conn(w, 0);
		char	   *err = NULL;
		char	   *v = conn ? cb_query_value(conn, "SELECT pg_backend_pid()", &err) : NULL;
		int			pid = v ? atoi(v) : 0;
		bool		known = false;

		for (int i = 0; i < u->npids; i++)
			known |= u->pids[i] == pid;
		if (pid != 0 && !known && u->npids < (int) lengthof(u->pids))
			u->pids[u->npids++] = pid;
		if (pass == 3 && conn)
			(void) cb_query_value(conn, "SELECT pg_terminate_backend(pg_backend_pid())", &err);
		if (reached && strcmp(u->mode, "connerror") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RAISE_EXCEPTION),
					 errmsg("predicate raised at pass %d", pass)));
	}
	return reached;
}

static int64
unit_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

PG_FUNCTION_INFO_V1(cb_unit_wait);
Datum
cb_unit_wait(PG_FUNCTION_ARGS)
{
	UnitWait   *u = palloc0(sizeof(UnitWait));
	CbWaitSpec	spec = {0};
	int64		start;
	bool		result;
	char	   *extra = "";

	spec.timeout_ms = PG_GETARG_INT32(0);
	u->sleep_ms = PG_GETARG_INT32(1);
	u->true_at = PG_GETARG_INT32(2);
	u->mode = text_to_cstring(PG_GETARG_TEXT_PP(3));
	u->socket_dir = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	u->port = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	spec.what = "unit wait";
	if (strncmp(u->mode, "conn", 4) == 0)
		spec.connect = unit_wait_connect;
	start = unit_ms();
	result = cb_wait_until(unit_wait_pass, u, &spec);
	if (strcmp(u->mode, "memory") == 0)
		extra = psprintf(" %ld %d", (long) u->top_at_end - (long) u->top_at_100, u->not_empty);
	else if (strncmp(u->mode, "conn", 4) == 0)
		extra = psprintf(" %d", u->npids);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s %d %ld%s", result ? "t" : "f", u->passes,
											  (long) (unit_ms() - start), extra)));
}
