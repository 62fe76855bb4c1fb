/*-------------------------------------------------------------------------
 *
 * pgconn.h
 *	  libpq to target instances from a background worker, without blocking:
 *	  PQconnectStartParams/PQconnectPoll and PQsendQuery/PQconsumeInput are
 *	  driven by WaitLatchOrSocket, so SIGTERM and timeouts always work.
 *	  Connection options are passed as keyword/value arrays, never as a
 *	  conninfo string holding a password.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PGCONN_H
#define CB_PGCONN_H

#include "postgres.h"
#include "libpq-fe.h"

/*
 * Connect with keyword/value arrays (NULL-terminated).  On failure returns
 * NULL and sets *errmsg (palloc'd, the libpq message).  timeout_ms bounds the
 * whole attempt.  The connection is left in non-blocking mode.
 *
 * Only the given parameters count: the first call removes libpq's PG*
 * environment variables (PGOPTIONS, PGSSLMODE, PGTARGETSESSIONATTRS ...)
 * from this process, since a worker inherits the control instance's
 * environment.
 */
extern PGconn *cb_connect(const char *const *keywords, const char *const *values,
						  int timeout_ms, char **errmsg);

/* the startup option pinning search_path (see pgconn.c) */
#define CB_PINNED_SEARCH_PATH "-c search_path=pg_catalog,pg_temp"

/* Connect to a local instance over its unix socket as "postgres". */
extern PGconn *cb_connect_local(const char *socket_dir, int port,
								const char *dbname, int timeout_ms,
								char **errmsg);

/*
 * Run one command string (may hold several statements) and wait for all its
 * results with the latch.  Returns the last PGresult (caller PQclear()s) or
 * NULL on a connection failure; *errmsg is set when the command failed (the
 * server's primary message, with its SQLSTATE available via the result).
 */
extern PGresult *cb_exec(PGconn *conn, const char *sql, char **errmsg);

/* Same, with parameters ($1..$n as text). */
extern PGresult *cb_exec_params(PGconn *conn, const char *sql, int nparams,
								const char *const *params, char **errmsg);

/*
 * The general form.  nparams < 0 uses the simple query protocol (several
 * statements allowed, no parameters); otherwise the extended one with
 * nparams text parameters.  timeout_ms > 0 bounds the whole exchange: when
 * it expires the statement is cancelled and an error is returned (NULL if
 * the server did not even answer the cancel; then the connection is
 * unusable).
 *
 * Error texts (*errmsg) are the server's primary message only, never the
 * "LINE n:" excerpt of the statement or DETAIL lines, which could echo a
 * secret; the full fields are in the returned result.  If an ERROR is thrown
 * while waiting (CHECK_FOR_INTERRUPTS), the statement is cancelled and the
 * connection should be dropped with cb_disconnect.
 */
extern PGresult *cb_exec_timeout(PGconn *conn, const char *sql, int nparams,
								 const char *const *params, int timeout_ms,
								 char **errmsg);

/* Run and require success; returns false with *errmsg on any failure. */
extern bool cb_exec_ok(PGconn *conn, const char *sql, char **errmsg);

/* Run a query returning one value; NULL result or failure -> NULL */
extern char *cb_query_value(PGconn *conn, const char *sql, char **errmsg);

/*
 * PQfinish.  After an ERROR thrown from cb_exec* (the statement is
 * cancelled then; a FATAL cancels it too), disconnect rather than reuse.
 */
extern void cb_disconnect(PGconn *conn);

#endif							/* CB_PGCONN_H */
