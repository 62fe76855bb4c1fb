/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  cnpg-bootstrap wait, and apply --wait: follow Clusters until each is
 *	  healthy or failed, showing a live line per cluster (phase, the step
 *	  running, a percentage when the progress line counts "done/total",
 *	  the progress or the phase's reason), then its final phase.  On a
 *	  terminal the lines are redrawn in place; otherwise a line is printed
 *	  each time it changes.  Exit status 1 when a cluster failed, is gone,
 *	  or the timeout passed.
 *
 *	  The running step and the progress line come from the catalog
 *	  (cnpg_bootstrap.steps, .clusters.progress), which only a superuser
 *	  reads; a monitoring role granted cnpg_bootstrap_status() sees the
 *	  phase and its reason.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define FULL_SQL \
	"SELECT CASE WHEN c.phase = '" CB_PHASE_HEALTHY "' AND c.hibernation"			\
	"  THEN 'Waiting for the instances to become active'"							\
	"  WHEN c.phase = '" CB_PHASE_HEALTHY "' AND c.observed_generation < c.generation" \
	"  THEN 'Applying configuration' ELSE c.phase END,"								\
	" coalesce(c.phase_reason, ''), coalesce(c.progress, ''),"						\
	" coalesce((SELECT s.step || CASE WHEN s.instance <> '' THEN ' ' || s.instance ELSE '' END" \
	"   FROM cnpg_bootstrap.steps s WHERE s.cluster = c.name AND s.outcome = 'running'" \
	"  ORDER BY s.started_at DESC LIMIT 1), '')"									\
	" FROM cnpg_bootstrap.clusters c WHERE c.name = $1"
#define BASIC_SQL \
	"SELECT phase, coalesce(phase_reason, ''), '', '' FROM cnpg_bootstrap_status($1)"

#define POLL_MS 500

typedef struct Waited
{
	const char *name;
	char		line[1024];
	bool		done;
	bool		failed;
	bool		printed;		/* not a terminal: this line was printed */
} Waited;

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "5m", "30s", "1h30m", "1.5m", "250ms", "90" (seconds): Go's durations */
bool
cli_parse_duration(const char *s, double *seconds)
{
	double		total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return false;
	while (*p)
	{
		char	   *end;
		double		v = strtod(p, &end);

		if (end == p || v < 0)
			return false;
		p = end;
		if (strncmp(p, "ms", 2) == 0)
			total += v / 1000, p += 2;
		else if (*p == 'h')
			total += v * 3600, p++;
		else if (*p == 'm')
			total += v * 60, p++;
		else if (*p == 's')
			total += v, p++;
		else if (*p == '\0' && p == end && total == 0)
			total = v;			/* a bare number: seconds */
		else
			return false;
	}
	if (total > 365.0 * 24 * 3600)
		return false;
	*seconds = total;
	return true;
}

/* "42%" from a progress line counting "<done>/<total>", else -1 */
static int
percent(const char *progress)
{
	for (const char *p = strchr(progress, '/'); p; p = strchr(p + 1, '/'))
	{
		const char *b = p;
		double		done,
					total;

		while (b > progress && isdigit((unsigned char) b[-1]))
			b--;
		if (b == p || !isdigit((unsigned char) p[1]))
			continue;
		done = strtod(b, NULL);
		total = strtod(p + 1, NULL);
		if (total > 0 && done <= total)
			return (int) (100 * done / total);
	}
	return -1;
}

/* append to a fixed buffer, cut at its end */
static void append(char *buf, size_t size, const char *fmt,...) __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t size, const char *fmt,...)
{
	size_t		len = strlen(buf);
	va_list		ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void
format_line(Waited *w, const char *phase, const char *reason, const char *progress,
			const char *step, double elapsed)
{
	int			pct = percent(progress);

	w->line[0] = '\0';
	append(w->line, sizeof(w->line), "%s/%s: %s", cli_resource("Cluster"), w->name, phase);
	if (w->done)
	{
		if (w->failed && reason[0])
			append(w->line, sizeof(w->line), ": %s", reason);
		append(w->line, sizeof(w->line), " (after %.0fs)", elapsed);
		return;
	}
	if (step[0])
		append(w->line, sizeof(w->line), ", step %s", step);
	if (pct >= 0)
		append(w->line, sizeof(w->line), ", %d%%", pct);
	if (progress[0])
		append(w->line, sizeof(w->line), " (%s)", progress);
	else if (reason[0])
		append(w->line, sizeof(w->line), " (%s)", reason);
}

/* one poll of one cluster; false on an error (printed) */
static bool
poll_one(PGconn *conn, Waited *w, bool *full, double elapsed)
{
	const char *values[1] = {w->name};
	PGresult   *res;
	const char *phase;

	res = PQexecParams(conn, *full ? FULL_SQL : BASIC_SQL, 1, NULL, values, NULL, NULL, 0);
	if (*full && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* not a superuser: the status function only */
		if (state && (strcmp(state, "42501") == 0 || strcmp(state, "42P01") == 0 ||
					  strcmp(state, "3F000") == 0 || strcmp(state, "42703") == 0))
		{
			PQclear(res);
			*full = false;
			return poll_one(conn, w, full, elapsed);
		}
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		cli_report_result_error(res, NULL);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0)
	{
		cli_error("%s \"%s\" not found", cli_resource("Cluster"), w->name);
		PQclear(res);
		w->done = w->failed = true;
		w->line[0] = '\0';
		return true;
	}
	phase = PQgetvalue(res, 0, 0);
	w->done = strcmp(phase, CB_PHASE_HEALTHY) == 0 || strcmp(phase, CB_PHASE_FAILED) == 0 ||
		strcmp(phase, CB_PHASE_HIBERNATED) == 0;
	w->failed = strcmp(phase, CB_PHASE_FAILED) == 0;
	format_line(w, phase, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
				PQgetvalue(res, 0, 3), elapsed);
	PQclear(res);
	return true;
}

static int
terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

/*
 * Draw the lines: on a terminal, over the ones drawn before (each cut to
 * the width, so that none wraps and the redraw stays in place); otherwise
 * only lines that changed, once.
 */
static void
draw(Waited *w, int n, bool tty, int *drawn, char **last)
{
	if (tty)
	{
		int			width = terminal_width() - 1;

		if (*drawn > 0)
			printf("\033[%dA", *drawn);
		*drawn = 0;
		for (int i = 0; i < n; i++)
		{
			if (w[i].line[0] == '\0')
				continue;
			printf("\r\033[K%.*s\n", width, w[i].line);
			(*drawn)++;
		}
	}
	else
		for (int i = 0; i < n; i++)
		{
			if (w[i].line[0] == '\0' || (last[i] && strcmp(last[i], w[i].line) == 0))
				continue;
			printf("%s\n", w[i].line);
			free(last[i]);
			last[i] = strdup(w[i].line);
		}
	fflush(stdout);
}

int
cli_wait(PGconn *conn, char **clusters, int n, double timeout)
{
	Waited	   *w = calloc(n, sizeof(Waited));
	char	  **last = calloc(n, sizeof(char *));
	bool		tty = isatty(STDOUT_FILENO);
	bool		full = true;
	double		start = now_seconds();
	int			drawn = 0;
	int			rc = CLI_EXIT_OK;

	if (w == NULL || last == NULL)
	{
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++)
		w[i].name = clusters[i];
	for (;;)
	{
		bool		all_done = true;
		double		elapsed = now_seconds() - start;

		for (int i = 0; i < n; i++)
		{
			if (w[i].done)
				continue;
			if (!poll_one(conn, &w[i], &full, elapsed))
				return CLI_EXIT_FAIL;
			all_done &= w[i].done;
		}
		draw(w, n, tty, &drawn, last);
		if (all_done)
			break;
		if (timeout > 0 && now_seconds() - start >= timeout)
		{
			for (int i = 0; i < n; i++)
				if (!w[i].done)
					cli_error("timed out after %.0fs waiting for %s/%s", timeout,
							  cli_resource("Cluster"), w[i].name);
			return CLI_EXIT_FAIL;
		}
		usleep(POLL_MS * 1000);
	}
	for (int i = 0; i < n; i++)
		if (w[i].failed)
			rc = CLI_EXIT_FAIL;
	return rc;
}

int
cli_wait_command(const CliOptions *opt)
{
	PGconn	   *conn;
	int			rc;

	conn = cli_connect(opt);
	if (conn == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_wait(conn, opt->args, opt->nargs, opt->timeout);
	PQfinish(conn);
	return rc;
}
