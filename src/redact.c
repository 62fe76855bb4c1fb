/*-------------------------------------------------------------------------
 *
 * redact.c
 *	  What of a child's output may be shown.  pg_restore and pg_dump print
 *	  the statement that failed ("Command was: ...", "Query was: ...",
 *	  several lines when the statement has several), and the server's
 *	  error as libpq renders it: "LINE n: <statement excerpt>", a caret
 *	  line, and DETAIL, CONTEXT, QUERY and STATEMENT lines that echo key
 *	  values, rows of a COPY or a function's text.  Those carry data of the
 *	  source or text from Secrets; they never reach the control instance's
 *	  log, bootstrap.log/import.log or the status: the echo of a statement
 *	  becomes "(not shown)", the other lines are dropped.  The tools' own
 *	  lines ("pg_restore: error: could not execute query: ERROR: ...") are
 *	  kept: they say what failed.
 *
 * A statement echo goes on until the next line of a tool ("<tool>: ..."),
 * so the state is kept per stream, in a small table: a stream not found
 * takes the least recently used entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "redact.h"

#define CB_REDACT_STREAMS	32

typedef struct RedactStream
{
	const void *stream;
	bool		in_statement;	/* inside the echo of a statement */
	uint64		used;
} RedactStream;

static RedactStream streams[CB_REDACT_STREAMS];
static uint64 use_counter = 0;

/* the programs whose lines begin with "<name>: " */
static const char *const tools[] = {
	"pg_restore", "pg_dump", "pg_dumpall", "pg_basebackup", "initdb", "pg_ctl",
	"pg_controldata", "pg_resetwal", "postgres", "cnpg_bootstrap_wal_restore",
	"cnpg_bootstrap_wal_fetch", NULL
};

/* lines of a server error that echo the statement or values */
static const char *const echo_prefixes[] = {
	"DETAIL:", "CONTEXT:", "QUERY:", "STATEMENT:", "WHERE:", "LOCATION:", NULL
};

/* the statement echoes of pg_restore and pg_dump, after an optional "<tool>: detail: " */
static const char *const statement_echoes[] = {
	"Command was:", "Query was:", NULL
};

static RedactStream *
stream_state(const void *stream)
{
	RedactStream *oldest = &streams[0];

	use_counter++;
	for (int i = 0; i < CB_REDACT_STREAMS; i++)
	{
		if (streams[i].stream == stream)
		{
			streams[i].used = use_counter;
			return &streams[i];
		}
		if (streams[i].used < oldest->used)
			oldest = &streams[i];
	}
	oldest->stream = stream;
	oldest->in_statement = false;
	oldest->used = use_counter;
	return oldest;
}

/* length of "<tool>: " at the start of line, 0 if none */
static size_t
tool_prefix_len(const char *line)
{
	for (int i = 0; tools[i]; i++)
	{
		size_t		len = strlen(tools[i]);

		if (strncmp(line, tools[i], len) == 0 && line[len] == ':' && line[len + 1] == ' ')
			return len + 2;
	}
	return 0;
}

static bool
starts_with_any(const char *s, const char *const *prefixes)
{
	for (int i = 0; prefixes[i]; i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* "LINE 12: ..." */
static bool
is_line_excerpt(const char *s)
{
	if (strncmp(s, "LINE ", 5) != 0)
		return false;
	s += 5;
	if (!isdigit((unsigned char) *s))
		return false;
	while (isdigit((unsigned char) *s))
		s++;
	return *s == ':';
}

/* the caret under a LINE excerpt: blanks then "^" */
static bool
is_caret(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s[0] == '^' && s[1] == '\0';
}

static const char *
redact_line(RedactStream *st, const char *line)
{
	size_t		prefix = tool_prefix_len(line);
	const char *body = line + prefix;

	if (prefix > 0)
	{
		/* "<tool>: detail: Command was: ..." (PostgreSQL 15 logging) */
		const char *colon = strchr(body, ':');

		st->in_statement = false;
		if (colon && colon[1] == ' ' && colon - body <= 8)
			body = colon + 2;
		if (starts_with_any(body, statement_echoes))
		{
			st->in_statement = true;
			return psprintf("%.*s%.*s (not shown)", (int) (body - line), line,
							(int) (strchr(body, ':') - body + 1), body);
		}
		return line;
	}
	if (starts_with_any(line, statement_echoes))
	{
		st->in_statement = true;
		return psprintf("%.*s (not shown)", (int) (strchr(line, ':') - line + 1), line);
	}
	if (st->in_statement)
		return NULL;
	/* libpq renders server fields with leading blanks after ERROR:  only */
	if (starts_with_any(line, echo_prefixes) || is_line_excerpt(line) || is_caret(line))
		return NULL;
	return line;
}

const char *
cb_redact_child_line(const void *stream, const char *line)
{
	return redact_line(stream_state(stream), line);
}

char *
cb_redact_text(const char *text)
{
	RedactStream st = {0};
	StringInfoData buf;
	char	   *copy = pstrdup(text ? text : "");
	char	   *save = NULL;

	initStringInfo(&buf);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		const char *kept = redact_line(&st, line);

		if (kept == NULL)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, kept);
	}
	return buf.data;
}
