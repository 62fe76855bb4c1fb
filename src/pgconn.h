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
 * whole attempt.
 */
extern PGconn *cb_connect(const char *const *keywords, const char *const *values,
						  int timeout_ms, char **errmsg);

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

/* Run and require success; returns false with *errmsg on any failure. */
extern bool cb_exec_ok(PGconn *conn, const char *sql, char **errmsg);

/* Run a query returning one value; NULL result or failure -> NULL */
extern char *cb_query_value(PGconn *conn, const char *sql, char **errmsg);

extern void cb_disconnect(PGconn *conn);

#endif							/* CB_PGCONN_H */
