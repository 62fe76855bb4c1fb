/*-------------------------------------------------------------------------
 *
 * conn.c
 *	  cnpg-bootstrap: connecting to the control instance as psql does
 *	  (-h -p -U -d, PG* variables, service files, a password prompt),
 *	  turning the session's statement and parameter logging off before a
 *	  manifest or a Secret travels, and printing the server's errors and
 *	  notices (message, DETAIL, HINT; a manifest's file, line and column).
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* the file whose manifest the session is applying, for notices */
static const char *current_file = NULL;

void
cli_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: error: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
cli_set_current_file(const char *name)
{
	current_file = name;
}

/*
 * "line N, column M" (or "line N") in a server message, which the manifest
 * reader puts in every YAML error (src/yaml_tree.c, src/manifest.c).
 */
static bool
find_position(const char *text, int *line, int *column)
{
	const char *p;

	for (p = text ? strstr(text, "line ") : NULL; p; p = strstr(p + 1, "line "))
	{
		char	   *end;
		long		l;

		if (!isdigit((unsigned char) p[5]))
			continue;
		l = strtol(p + 5, &end, 10);
		if (l <= 0 || l > 100000000)
			continue;
		*line = (int) l;
		*column = 0;
		if (strncmp(end, ", column ", 9) == 0 && isdigit((unsigned char) end[9]))
		{
			long		c = strtol(end + 9, NULL, 10);

			if (c > 0 && c <= 100000000)
				*column = (int) c;
		}
		return true;
	}
	return false;
}

/* "FILE:LINE:COLUMN: ", "FILE:LINE: " or "FILE: " (empty without a file) */
static void
print_location(FILE *out, const char *file, const char *message, const char *detail)
{
	int			line;
	int			column;

	if (file == NULL)
		return;
	if (find_position(message, &line, &column) || find_position(detail, &line, &column))
	{
		if (column > 0)
			fprintf(out, "%s:%d:%d: ", file, line, column);
		else
			fprintf(out, "%s:%d: ", file, line);
	}
	else
		fprintf(out, "%s: ", file);
}

/* a message of the server, psql's way: message, then DETAIL and HINT */
static void
print_server_message(const char *label, const PGresult *res, const char *file)
{
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

	fprintf(stderr, "%s: %s: ", progname, label);
	print_location(stderr, file, message, detail);
	if (message)
		fprintf(stderr, "%s\n", message);
	else
	{
		/* a client-side failure: libpq's text, which ends in a newline */
		const char *m = PQresultErrorMessage(res);
		size_t		len = strlen(m);

		while (len > 0 && m[len - 1] == '\n')
			len--;
		fprintf(stderr, "%.*s\n", (int) len, len ? m : "unknown error");
	}
	if (detail)
		fprintf(stderr, "DETAIL:  %s\n", detail);
	if (hint)
		fprintf(stderr, "HINT:  %s\n", hint);
}

void
cli_report_result_error(const PGresult *res, const char *file)
{
	print_server_message("error", res, file);
}

static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
	char		label[32];
	int			i;

	/* "WARNING" -> "warning", as the command's own messages read */
	snprintf(label, sizeof(label), "%s", severity ? severity : "notice");
	for (i = 0; label[i]; i++)
		label[i] = (char) tolower((unsigned char) label[i]);
	print_server_message(label, res, current_file);
}

/*
 * Read a password from the terminal without echo (psql's simple_prompt,
 * which lives in libpgcommon: this program links libpq and libc only).
 */
static char *
prompt_password(void)
{
	FILE	   *in = fopen("/dev/tty", "r+");
	FILE	   *out;
	struct termios t_orig,
				t;
	bool		have_termios = false;
	char	   *buf = calloc(1, 1024);
	size_t		len;

	if (buf == NULL)
		return NULL;
	out = in ? in : stderr;
	if (in == NULL)
		in = stdin;
	if (tcgetattr(fileno(in), &t_orig) == 0)
	{
		t = t_orig;
		t.c_lflag &= ~ECHO;
		have_termios = tcsetattr(fileno(in), TCSAFLUSH, &t) == 0;
	}
	fputs("Password: ", out);
	fflush(out);
	if (fgets(buf, 1024, in) == NULL)
		buf[0] = '\0';
	if (have_termios)
	{
		tcsetattr(fileno(in), TCSAFLUSH, &t_orig);
		fputc('\n', out);
		fflush(out);
	}
	if (in != stdin)
		fclose(in);
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

static void
free_password(char *password)
{
	if (password)
	{
		explicit_bzero(password, strlen(password));
		free(password);
	}
}

PGconn *
cli_connect(const CliOptions *opt)
{
	const char *keywords[10];
	const char *values[10];
	char	   *password = NULL;
	PGconn	   *conn;
	int			n = 0;
	int			pw_slot;

	if (opt->host)
		keywords[n] = "host", values[n++] = opt->host;
	if (opt->port)
		keywords[n] = "port", values[n++] = opt->port;
	if (opt->user)
		keywords[n] = "user", values[n++] = opt->user;
	/*
	 * The extension lives in cnpg_bootstrap.database_name, postgres unless
	 * changed: that, not psql's default of the user's name, when neither -d,
	 * PGDATABASE nor a service names one.
	 */
	if (opt->dbname)
		keywords[n] = "dbname", values[n++] = opt->dbname;
	else if (getenv("PGDATABASE") == NULL && getenv("PGSERVICE") == NULL)
		keywords[n] = "dbname", values[n++] = "postgres";
	keywords[n] = "fallback_application_name", values[n++] = "cnpg-bootstrap";
	/* YAML is Unicode: manifests travel as UTF-8 unless PGCLIENTENCODING says */
	if (getenv("PGCLIENTENCODING") == NULL)
		keywords[n] = "client_encoding", values[n++] = "UTF8";
	pw_slot = n;
	keywords[n + 1] = NULL;
	values[n + 1] = NULL;

	if (opt->password == 1)
		password = prompt_password();
	for (;;)
	{
		keywords[pw_slot] = password ? "password" : NULL;
		values[pw_slot] = password;
		/* expand_dbname: -d may be a connection string or URI, as in psql */
		conn = PQconnectdbParams(keywords, values, 1);
		if (conn == NULL)
		{
			free_password(password);
			cli_error("out of memory");
			return NULL;
		}
		if (PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) &&
			password == NULL && opt->password != -1 && isatty(fileno(stdin)))
		{
			PQfinish(conn);
			password = prompt_password();
			if (password == NULL)
				return NULL;
			continue;
		}
		break;
	}
	free_password(password);
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		const char *m = PQerrorMessage(conn);
		size_t		len = strlen(m);

		while (len > 0 && m[len - 1] == '\n')
			len--;
		fprintf(stderr, "%s: error: %.*s\n", progname, (int) len, m);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeReceiver(conn, notice_receiver, NULL);
	return conn;
}

/*
 * Before a manifest or a Secret's value travels on this session: nothing
 * the server logs about a statement may carry it.  The manifest is a bound
 * parameter, so it is never in the statement text (nor in
 * pg_stat_activity.query, nor in a STATEMENT: line); what remains are the
 * settings that log bound parameters or plans (the planner folds an
 * unnamed statement's parameters into constants, which auto_explain and
 * debug_print_plan would print).  Every one is set for this session only;
 * the superuser right apply needs covers them.
 */
bool
cli_quiet_logging(PGconn *conn)
{
	if (cli_command(conn,
					   "SET log_statement = 'none';"
					   "SET log_duration = off;"
					   "SET log_min_duration_statement = -1;"
					   "SET log_min_duration_sample = -1;"
					   "SET log_transaction_sample_rate = 0;"
					   "SET log_parameter_max_length = 0;"
					   "SET log_parameter_max_length_on_error = 0;"
					   "SET log_min_error_statement = panic;"
					   "SET debug_print_parse = off;"
					   "SET debug_print_rewritten = off;"
					   "SET debug_print_plan = off;"
					   "SET auto_explain.log_min_duration = -1"))
		return true;
	/* refuse rather than send what the server might log */
	fprintf(stderr, "%s: nothing was sent: this role may not turn statement logging off for its session "
			"(a superuser may, or a role granted SET on these parameters)\n", progname);
	return false;
}

/* a statement with bound text parameters; NULL (and the error printed) on failure */
PGresult *
cli_exec(PGconn *conn, const char *sql, int nparams, const char *const *values)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
	{
		cli_report_result_error(res, current_file);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* a statement without parameters or rows (SET, BEGIN, COMMIT) */
bool
cli_command(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		cli_report_result_error(res, NULL);
	PQclear(res);
	return ok;
}

/* kubectl's resource name of a kind (kubectl apply prints it) */
const char *
cli_resource(const char *kind)
{
	if (strcmp(kind, "Cluster") == 0)
		return "cluster.postgresql.cnpg.io";
	if (strcmp(kind, "Secret") == 0)
		return "secret";
	if (strcmp(kind, "ConfigMap") == 0)
		return "configmap";
	if (strcmp(kind, "ObjectStore") == 0)
		return "objectstore.barmancloud.cnpg.io";
	return kind;
}
