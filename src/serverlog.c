/*-------------------------------------------------------------------------
 *
 * serverlog.c
 *	  Reading an instance's own csvlog (<logdir>/postgres.csv, written by
 *	  the server with CNPG's logging settings): the message of its last
 *	  FATAL or PANIC, and why its postmaster last stopped, for the status
 *	  of a failed start (restore.c) and of an instance found stopped
 *	  (supervise.c).  Only the log's tail is read: it grows without bound.
 *
 *	  What is returned is server text, and goes to status and the log: a
 *	  value a message quotes (a parameter's, a configuration file's token)
 *	  is cut off, since any setting of the instance, ALTER SYSTEM's too,
 *	  may be one that holds a password or a conninfo.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "fsutil.h"
#include "serverlog.h"

#define CB_LOG_TAIL		(256 * 1024)
#define CB_MESSAGE_MAX	1024

/* the tail of the csvlog, from the first whole line; NULL if none */
static char *
log_tail(const char *logdir)
{
	size_t		len = 0;
	char	   *log = cb_read_file_tail(psprintf("%s/postgres.csv", logdir), CB_LOG_TAIL, &len);
	char	   *nl;

	if (log == NULL)
		return NULL;
	if (len == CB_LOG_TAIL && (nl = strchr(log, '\n')) != NULL)
		return nl + 1;
	return log;
}

/*
 * A server message without the values it quotes: PostgreSQL puts a value
 * after the name it belongs to (`parameter "x": "value"`, `... near token
 * "value"`), so the message ends before it.
 */
static char *
without_values(char *msg)
{
	static const char *const value_starts[] = {"\": ", " near token ", " near end of line"};
	bool		cut = false;

	for (int i = 0; i < (int) lengthof(value_starts); i++)
	{
		char	   *at = strstr(msg, value_starts[i]);

		if (at != NULL)
		{
			/* keep the closing quote of the name */
			at[i == 0 ? 1 : 0] = '\0';
			cut = true;
		}
	}
	return cut ? psprintf("%s (value not shown)", msg) : msg;
}

/*
 * The message field of a csvlog line, given where its severity field ends
 * (",FATAL," found: p points past it): skip the SQLSTATE, unquote.
 */
static char *
message_after_severity(const char *p)
{
	StringInfoData msg;

	if ((p = strchr(p, ',')) == NULL)
		return NULL;
	p++;						/* past the SQLSTATE */
	initStringInfo(&msg);
	if (*p == '"')
	{
		for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++)
		{
			if (p[0] == '"')
				p++;
			if (msg.len < CB_MESSAGE_MAX)
				appendStringInfoChar(&msg, *p);
		}
	}
	else
		while (*p && *p != ',' && *p != '\n' && msg.len < CB_MESSAGE_MAX)
			appendStringInfoChar(&msg, *p++);
	return without_values(msg.data);
}

/* the last line of log (from "from" on) holding needle; NULL if none */
static const char *
last_hit(const char *from, const char *needle)
{
	const char *hit = NULL;

	for (const char *p = from; p && (p = strstr(p, needle)) != NULL; p++)
		hit = p;
	return hit;
}

/* "FATAL: <message>" or "PANIC: ..." of the last such line, NULL if none */
static char *
last_fatal_from(const char *from)
{
	const char *fatal = last_hit(from, ",FATAL,");
	const char *panic = last_hit(from, ",PANIC,");
	const char *hit = fatal > panic ? fatal : panic;
	char	   *msg;

	if (hit == NULL || (msg = message_after_severity(hit + 7)) == NULL)
		return NULL;
	return psprintf("%s: %s", hit == panic ? "PANIC" : "FATAL", msg);
}

/* the message of the last FATAL or PANIC; "see the server log" if none */
char *
cb_serverlog_last_fatal(const char *logdir)
{
	char	   *log = log_tail(logdir);
	char	   *msg = log ? last_fatal_from(log) : NULL;

	/* without the severity: callers put it after "<instance> stopped: " */
	if (msg == NULL)
		return pstrdup("see the server log");
	return strchr(msg, ' ') + 1;
}

/*
 * Why the postmaster last stopped, read from its last run on (the last
 * "starting PostgreSQL" line): a shutdown request (pg_ctl stop, a signal
 * from outside), a PANIC, or nothing at all, which is what a SIGKILL, the
 * OOM killer or a host that went away leave.
 */
char *
cb_serverlog_exit_reason(const char *logdir)
{
	static const char *const requests[] = {"smart", "fast", "immediate"};
	char	   *log = log_tail(logdir);
	const char *run;
	const char *panic;

	if (log == NULL)
		return pstrdup("it left no log");
	run = last_hit(log, "starting PostgreSQL");
	if (run == NULL)
		run = log;
	if ((panic = last_hit(run, ",PANIC,")) != NULL)
		return psprintf("PANIC: %s", message_after_severity(panic + 7));
	for (int i = 0; i < (int) lengthof(requests); i++)
		if (strstr(run, psprintf("received %s shutdown request", requests[i])) != NULL)
			return psprintf("stopped by %s %s shutdown request from outside (pg_ctl stop or a signal)",
							requests[i][0] == 'i' ? "an" : "a", requests[i]);
	if (strstr(run, "database system is shut down") != NULL)
		return pstrdup("shut down from outside");
	return pstrdup("its postmaster ended without a word in its log (killed by a signal such as SIGKILL, the OOM killer, or the host stopped)");
}

/*
 * Since its last start, a standby was told by its primary that the WAL it
 * asked for is gone ("requested WAL segment ... has already been removed"):
 * it cannot stream again without a new copy.
 */
bool
cb_serverlog_wal_gone(const char *logdir)
{
	char	   *log = log_tail(logdir);
	const char *run;
	const char *hit;
	const char *removed;
	const char *nl;

	if (log == NULL)
		return false;
	run = last_hit(log, "starting PostgreSQL");
	if ((hit = last_hit(run ? run : log, "requested WAL segment")) == NULL)
		return false;
	/* on that same line */
	removed = strstr(hit, "has already been removed");
	nl = strchr(hit, '\n');
	return removed != NULL && (nl == NULL || removed < nl);
}

/*
 * Why a start failed: a server that stops before its logging collector
 * runs (a configuration file with errors, a port taken, shared memory
 * refused) says so only on its stderr, which pg_ctl writes to
 * <logdir>/pg_ctl.log: its last FATAL line, with the line before it when
 * that one says what was wrong.  Else the csvlog's last FATAL.
 */
char *
cb_serverlog_start_failure(const char *logdir)
{
	char	   *log = cb_read_file_tail(psprintf("%s/pg_ctl.log", logdir), 8192, NULL);
	const char *fatal = log ? last_hit(log, "FATAL:  ") : NULL;
	const char *line;
	char	   *msg;
	char	   *nl;

	if (fatal == NULL)
		return cb_serverlog_last_fatal(logdir);
	msg = without_values(pnstrdup(fatal + 8, Min(strcspn(fatal + 8, "\n"), CB_MESSAGE_MAX)));
	/* the line before: from the previous newline, past its prefix */
	for (line = fatal; line > log && line[-1] != '\n'; line--)
		;
	if (line > log)
	{
		const char *prev = line - 1;
		const char *what;

		while (prev > log && prev[-1] != '\n')
			prev--;
		if ((what = strstr(prev, "LOG:  ")) != NULL && what < line)
		{
			char	   *before = pnstrdup(what + 6, Min((size_t) (line - what - 6), CB_MESSAGE_MAX));

			if ((nl = strchr(before, '\n')) != NULL)
				*nl = '\0';
			msg = psprintf("%s: %s", msg, without_values(before));
		}
	}
	return msg;
}
