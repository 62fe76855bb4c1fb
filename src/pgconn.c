/*-------------------------------------------------------------------------
 *
 * pgconn.c
 *	  libpq to the target instances from a background worker, without ever
 *	  blocking in libpq: the connection is made with PQconnectStartParams +
 *	  PQconnectPoll and commands are sent and read in non-blocking mode, each
 *	  wait being a WaitLatchOrSocket on the worker's latch and the
 *	  connection's socket.  So SIGTERM (CHECK_FOR_INTERRUPTS), postmaster
 *	  death and timeouts are honoured however the target behaves.
 *
 * PGresults and PGconns are malloc'd by libpq, outside any memory context:
 * every path that can throw while we hold one releases it first (PG_TRY),
 * except FATAL, after which the process is gone anyway.
 *
 * Every connection to a target has its search_path pinned to pg_catalog,
 * pg_temp from its start (a -c option of the startup packet, which
 * outranks ALTER DATABASE/ROLE ... SET): an operator or function planted
 * in public by a database owner is never what our queries call (CWE-426).
 * Sources get the same by a SET before any query (external.c).
 * Every connection gets a notice receiver that logs neither the text nor
 * the details of a NOTICE or WARNING (libpq's default prints them to the
 * control instance's stderr, and they can echo values of the statement).
 *
 * A cancel request (PQcancel) opens a new connection and blocks until the
 * server answers: it is sent only over a unix socket, where the server is
 * local and answers at once.  Towards a TCP server, which may be
 * unreachable, a statement to abandon is left by closing the connection.
 *
 * Error texts handed back are the server's primary message only (or
 * libpq's own message when there is no server message): the default
 * rendering adds a "LINE 1: ..." excerpt of the statement, which can hold a
 * password, and DETAIL lines can echo key values; callers put errmsg in
 * status columns and logs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pgconn.h"

/* after a timeout cancels a statement, how long we wait for the server */
#define CB_CANCEL_GRACE_MS	5000

/*
 * The connection whose command we are waiting for, so that a FATAL exit
 * (which never unwinds our frames) can still cancel the statement: the
 * target's backend would otherwise run it to the end.
 */
static PGconn *active_conn = NULL;
static bool exit_callback_registered = false;
static bool environment_scrubbed = false;

static bool cb_send_cancel(PGconn *conn);

/*
 * Notices and warnings of a server: their text and DETAIL can echo values
 * of the statement (a password, a Secret-sourced script), so only their
 * severity and SQLSTATE are logged, at DEBUG1.
 */
static void
cb_notice_receiver(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	ereport(DEBUG1,
			(errmsg_internal("cnpg_bootstrap: a %s (SQLSTATE %s) of a server was not logged",
							 severity ? severity : "notice", sqlstate ? sqlstate : "none"),
			 errhidestmt(true)));
}


static void
cb_pgconn_exit_callback(int code, Datum arg)
{
	PGconn	   *conn = active_conn;

	active_conn = NULL;
	if (conn != NULL && PQtransactionStatus(conn) == PQTRANS_ACTIVE)
		(void) cb_send_cancel(conn);
}

/*
 * libpq fills every keyword the caller leaves out from the environment
 * (PGOPTIONS, PGTARGETSESSIONATTRS, PGSSLMODE, PGSERVICE, PGTZ ...), and a
 * worker inherits the environment the control instance was started with.
 * Connections made here must depend on their parameters only, so those
 * variables are removed from this process once, before its first
 * connection.  The backend itself reads none of them after start-up (and
 * our children get an explicit environment anyway); PGSYSCONFDIR, which the
 * postmaster sets for libpq's service file lookup, is kept.
 */
static void
cb_scrub_libpq_environment(void)
{
	static const char *const extra[] = {
		"PGSERVICEFILE", "PGDATESTYLE", "PGTZ", "PGGEQO", "PGREQUIRESSL", NULL
	};
	PQconninfoOption *defaults;
	PQconninfoOption *o;
	int			i;

	if (environment_scrubbed)
		return;
	defaults = PQconndefaults();
	if (defaults == NULL)
		return;					/* out of memory: try again next time */
	for (o = defaults; o->keyword; o++)
		if (o->envvar && strcmp(o->envvar, "PGSYSCONFDIR") != 0)
			unsetenv(o->envvar);
	PQconninfoFree(defaults);
	for (i = 0; extra[i]; i++)
		unsetenv(extra[i]);
	environment_scrubbed = true;
}

/* a palloc'd copy of a libpq message without its trailing newlines */
static char *
cb_trim_message(const char *msg)
{
	char	   *copy;
	size_t		len;

	if (msg == NULL || msg[0] == '\0')
		return pstrdup("unknown libpq error");
	copy = pstrdup(msg);
	len = strlen(copy);
	while (len > 0 && (copy[len - 1] == '\n' || copy[len - 1] == '\r' ||
					   copy[len - 1] == ' '))
		copy[--len] = '\0';
	return copy;
}

/* the error text of a failed result: see the file header */
static char *
cb_result_error(const PGresult *res, PGconn *conn)
{
	const char *primary = NULL;

	if (res)
	{
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (primary == NULL)
			return cb_trim_message(PQresultErrorMessage(res));
		return pstrdup(primary);
	}
	return cb_trim_message(PQerrorMessage(conn));
}

/* milliseconds left before deadline (0 = none): -1 for "no deadline" */
static long
cb_remaining_ms(TimestampTz deadline)
{
	long		ms;

	if (deadline == 0)
		return -1;
	ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	return ms;
}

/*
 * One wait on the latch and the socket.  Returns the WaitLatchOrSocket
 * result; interrupts are processed before returning.
 */
static int
cb_wait_socket(PGconn *conn, int io_events, long timeout_ms)
{
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | io_events;
	int			rc;

	if (timeout_ms >= 0)
		events |= WL_TIMEOUT;
	rc = WaitLatchOrSocket(MyLatch, events, PQsocket(conn),
						   timeout_ms >= 0 ? timeout_ms : -1L,
						   PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
		ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return rc;
}

/*
 * Drive PQconnectPoll until it is done.  Returns NULL on success or an
 * error text.
 */
static char *
cb_connect_poll(PGconn *conn, int timeout_ms)
{
	TimestampTz deadline = 0;

	/*
	 * Before the first PQconnectPoll call libpq behaves as if it had
	 * returned PGRES_POLLING_WRITING (libpq documentation).
	 */
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;

	if (timeout_ms > 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   timeout_ms);

	for (;;)
	{
		int			io;
		int			rc;
		long		remaining;

		if (status == PGRES_POLLING_OK)
			return NULL;
		if (status == PGRES_POLLING_FAILED)
			return cb_trim_message(PQerrorMessage(conn));

		remaining = cb_remaining_ms(deadline);
		if (deadline != 0 && remaining <= 0)
			return psprintf("timeout expired after %d ms while connecting",
							timeout_ms);

		/* the socket can change between attempts (several hosts, retries) */
		io = (status == PGRES_POLLING_READING) ? WL_SOCKET_READABLE :
			WL_SOCKET_WRITEABLE;
		rc = cb_wait_socket(conn, io, remaining);
		if (rc & io)
			status = PQconnectPoll(conn);
	}
}

PGconn *
cb_connect(const char *const *keywords, const char *const *values,
		   int timeout_ms, char **errmsg)
{
	PGconn	   *volatile conn;
	char	   *err = NULL;

	*errmsg = NULL;
	cb_scrub_libpq_environment();
	conn = PQconnectStartParams(keywords, values, false);
	if (conn == NULL)
	{
		*errmsg = pstrdup("out of memory while connecting");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		*errmsg = cb_trim_message(PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	(void) PQsetNoticeReceiver(conn, cb_notice_receiver, NULL);

	PG_TRY();
	{
		err = cb_connect_poll(conn, timeout_ms);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (err == NULL && PQsetnonblocking(conn, 1) != 0)
		err = cb_trim_message(PQerrorMessage(conn));
	if (err != NULL)
	{
		*errmsg = err;
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
cb_connect_local(const char *socket_dir, int port, const char *dbname,
				 int timeout_ms, char **errmsg)
{
	char		port_str[16];

	/*
	 * Every setting that libpq would otherwise take from the environment of
	 * the control instance (PGOPTIONS, PGCLIENTENCODING,
	 * PGTARGETSESSIONATTRS ...) is given explicitly: an empty value would
	 * not do, libpq treats it as unset.
	 */
	const char *const keywords[] = {
		"host", "port", "user", "dbname", "sslmode", "gssencmode",
		"application_name", "client_encoding", "options",
		"target_session_attrs", NULL
	};
	const char *values[11];

	snprintf(port_str, sizeof(port_str), "%d", port);
	values[0] = socket_dir;
	values[1] = port_str;
	values[2] = "postgres";
	values[3] = dbname;
	values[4] = "disable";
	values[5] = "disable";
	values[6] = "cnpg_bootstrap";
	values[7] = "UTF8";
	values[8] = "-c client_encoding=UTF8 " CB_PINNED_SEARCH_PATH;
	values[9] = "any";
	values[10] = NULL;

	return cb_connect(keywords, values, timeout_ms, errmsg);
}

/*
 * Best effort: stop what the server is running for us.  PQcancel connects
 * and waits for the server without any timeout of ours, so it is used only
 * over a unix socket (a local server, which answers at once); returns
 * false when no cancel was sent, and the caller then abandons the
 * connection instead (see the file header).
 */
static bool
cb_send_cancel(PGconn *conn)
{
	const char *host = PQhost(conn);
	PGcancel   *cancel;
	char		errbuf[256];
	bool		sent = false;

	if (host == NULL || (host[0] != '/' && host[0] != '@'))
		return false;
	cancel = PQgetCancel(conn);
	if (cancel)
	{
		sent = PQcancel(cancel, errbuf, sizeof(errbuf)) == 1;
		PQfreeCancel(cancel);
	}
	return sent;
}

/*
 * Send the query and read every result.  Returns the result to hand back:
 * the first failed one, else the last one.  NULL with *errmsg on a
 * connection failure or a timeout that the cancel did not resolve.
 */
static PGresult *
cb_exec_internal(PGconn *conn, const char *sql, int nparams,
				 const char *const *params, int timeout_ms,
				 PGresult *volatile *keep, char **errmsg)
{
	TimestampTz deadline = 0;
	bool		cancelled = false;
	int			sent;

	if (timeout_ms > 0)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   timeout_ms);

	if (nparams < 0)
		sent = PQsendQuery(conn, sql);
	else
		sent = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL,
								 NULL, 0);
	if (!sent)
	{
		*errmsg = cb_trim_message(PQerrorMessage(conn));
		return NULL;
	}

	/* push the whole query out, reading meanwhile so the server can't stall */
	for (;;)
	{
		int			r = PQflush(conn);
		int			rc;

		if (r == 0)
			break;
		if (r < 0)
		{
			*errmsg = cb_trim_message(PQerrorMessage(conn));
			return NULL;
		}
		rc = cb_wait_socket(conn, WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE,
							cb_remaining_ms(deadline));
		if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
		{
			*errmsg = cb_trim_message(PQerrorMessage(conn));
			return NULL;
		}
		if (deadline != 0 && cb_remaining_ms(deadline) <= 0)
		{
			*errmsg = psprintf("timeout expired after %d ms while sending a command",
							   timeout_ms);
			return NULL;
		}
	}

	for (;;)
	{
		PGresult   *res;

		while (PQisBusy(conn))
		{
			long		remaining = cb_remaining_ms(deadline);
			int			rc;

			if (deadline != 0 && remaining <= 0)
			{
				if (cancelled)
				{
					PQclear(*keep);
					*keep = NULL;
					*errmsg = psprintf("timeout expired after %d ms, and the command could not be cancelled",
									   timeout_ms);
					return NULL;
				}
				if (!cb_send_cancel(conn))
				{
					PQclear(*keep);
					*keep = NULL;
					*errmsg = psprintf("timeout expired after %d ms; the connection was abandoned",
									   timeout_ms);
					return NULL;
				}
				cancelled = true;
				deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   CB_CANCEL_GRACE_MS);
				continue;
			}
			rc = cb_wait_socket(conn, WL_SOCKET_READABLE, remaining);
			if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
			{
				PQclear(*keep);
				*keep = NULL;
				*errmsg = cb_trim_message(PQerrorMessage(conn));
				return NULL;
			}
		}

		res = PQgetResult(conn);
		if (res == NULL)
			break;

		switch (PQresultStatus(res))
		{
			case PGRES_COPY_IN:
				/* nothing to send: make the server fail the COPY */
				(void) PQputCopyEnd(conn, "COPY FROM STDIN is not supported here");
				PQclear(res);
				continue;
			case PGRES_COPY_OUT:
				{
					char	   *data;
					int			n;

					/* nobody reads it: discard */
					PQclear(res);
					while ((n = PQgetCopyData(conn, &data, 1)) != -1)
					{
						if (n == -2)
							break;
						if (n > 0)
							PQfreemem(data);
						else
						{
							int			rc = cb_wait_socket(conn, WL_SOCKET_READABLE,
															cb_remaining_ms(deadline));

							if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
								break;
							if (deadline != 0 && cb_remaining_ms(deadline) <= 0)
								break;
						}
					}
					continue;
				}
			case PGRES_COPY_BOTH:
				PQclear(*keep);
				*keep = NULL;
				PQclear(res);
				*errmsg = pstrdup("unexpected COPY BOTH response");
				return NULL;
			default:
				break;
		}

		/* keep the first failure; otherwise the last result */
		if (*keep != NULL && (PQresultStatus(*keep) == PGRES_FATAL_ERROR ||
							  PQresultStatus(*keep) == PGRES_BAD_RESPONSE ||
							  PQresultStatus(*keep) == PGRES_NONFATAL_ERROR))
			PQclear(res);
		else
		{
			PQclear(*keep);
			*keep = res;
		}
	}

	if (*keep == NULL)
	{
		*errmsg = cb_trim_message(PQerrorMessage(conn));
		return NULL;
	}
	switch (PQresultStatus(*keep))
	{
		case PGRES_FATAL_ERROR:
		case PGRES_BAD_RESPONSE:
		case PGRES_NONFATAL_ERROR:
			if (cancelled)
				*errmsg = psprintf("timeout expired after %d ms (the command was cancelled)",
								   timeout_ms);
			else
				*errmsg = cb_result_error(*keep, conn);
			break;
		default:
			break;
	}
	return *keep;
}

PGresult *
cb_exec_timeout(PGconn *conn, const char *sql, int nparams,
				const char *const *params, int timeout_ms, char **errmsg)
{
	PGresult   *volatile keep = NULL;
	PGresult   *res = NULL;

	*errmsg = NULL;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		*errmsg = conn ? cb_trim_message(PQerrorMessage(conn)) :
			pstrdup("no connection");
		return NULL;
	}

	if (!exit_callback_registered)
	{
		on_proc_exit(cb_pgconn_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}

	active_conn = conn;
	PG_TRY();
	{
		res = cb_exec_internal(conn, sql, nparams, params, timeout_ms,
							   &keep, errmsg);
	}
	PG_CATCH();
	{
		active_conn = NULL;
		PQclear(keep);

		/*
		 * Interrupted (an ERROR; a FATAL never comes back here): do not leave
		 * the statement running on the server.  The connection is then in an
		 * unknown state; the caller should disconnect.
		 */
		if (PQtransactionStatus(conn) == PQTRANS_ACTIVE)
			(void) cb_send_cancel(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	active_conn = NULL;

	return res;
}

PGresult *
cb_exec(PGconn *conn, const char *sql, char **errmsg)
{
	return cb_exec_timeout(conn, sql, -1, NULL, 0, errmsg);
}

PGresult *
cb_exec_params(PGconn *conn, const char *sql, int nparams,
			   const char *const *params, char **errmsg)
{
	return cb_exec_timeout(conn, sql, Max(nparams, 0), params, 0, errmsg);
}

bool
cb_exec_ok(PGconn *conn, const char *sql, char **errmsg)
{
	PGresult   *res = cb_exec(conn, sql, errmsg);
	bool		ok;

	if (res == NULL)
		return false;
	ok = (*errmsg == NULL);
	PQclear(res);
	return ok;
}

char *
cb_query_value(PGconn *conn, const char *sql, char **errmsg)
{
	PGresult   *res = cb_exec(conn, sql, errmsg);
	char	   *value = NULL;

	if (res == NULL)
		return NULL;
	if (*errmsg == NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
		PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		value = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return value;
}

void
cb_disconnect(PGconn *conn)
{
	if (conn)
		PQfinish(conn);
}
