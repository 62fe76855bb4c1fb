/*-------------------------------------------------------------------------
 *
 * test_redact.c
 *	  Unit tests of src/redact.c: the lines of pg_restore/pg_dump output
 *	  that echo statements or values are dropped or replaced, the tools'
 *	  own lines are kept, per stream.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "redact.h"

/* test reporting, in unit_shim.c */
extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

static const char *
line(const void *stream, const char *l)
{
	const char *r = cb_redact_child_line(stream, l);

	return r ? r : "(dropped)";
}

int
main(void)
{
	static int	a = 1,
				b = 2;

	/* PostgreSQL 15 pg_restore: the error, the server's excerpt, the command */
	unit_check_str(line(&a, "pg_restore: error: could not execute query: ERROR:  syntax error at or near \"s3cret\""),
				   "pg_restore: error: could not execute query: ERROR:  syntax error at or near \"s3cret\"",
				   "a tool's own error line is kept");
	unit_check_str(line(&a, "LINE 1: CREATE ROLE x PASSWORD 's3cret'"), "(dropped)", "LINE excerpt dropped");
	unit_check_str(line(&a, "                                ^"), "(dropped)", "caret dropped");
	unit_check_str(line(&a, "DETAIL:  Key (id)=(s3cret) already exists."), "(dropped)", "DETAIL dropped");
	unit_check_str(line(&a, "CONTEXT:  COPY t, line 1: \"s3cret\""), "(dropped)", "CONTEXT dropped");
	unit_check_str(line(&a, "pg_restore: detail: Command was: INSERT INTO t VALUES ('s3cret',"),
				   "pg_restore: detail: Command was: (not shown)", "PG15 Command was replaced");
	/* another stream in between keeps its own state */
	unit_check_str(line(&b, "pg_dump: dumping contents of table \"public.t\""),
				   "pg_dump: dumping contents of table \"public.t\"", "other stream unaffected");
	unit_check_str(line(&a, "  'more s3cret');"), "(dropped)", "statement continuation dropped");
	unit_check_str(line(&a, "HINT:  s3cret"), "(dropped)", "anything inside the statement dropped");
	unit_check_str(line(&a, "pg_restore: warning: errors ignored on restore: 1"),
				   "pg_restore: warning: errors ignored on restore: 1", "next tool line ends the statement");
	unit_check_str(line(&a, "HINT:  No function matches."), "HINT:  No function matches.", "HINT outside a statement kept");
	/* older pg_restore: "Command was:" on a line of its own */
	unit_check_str(line(&a, "Command was: SELECT 's3cret'"), "Command was: (not shown)", "old Command was replaced");
	unit_check_str(line(&a, "FROM x"), "(dropped)", "its continuation dropped");
	unit_check_str(line(&b, "pg_dump: detail: Query was: SELECT 's3cret'"),
				   "pg_dump: detail: Query was: (not shown)", "pg_dump Query was replaced");
	unit_check_str(line(&b, "pg_dump: error: query failed"), "pg_dump: error: query failed", "pg_dump line kept");
	unit_check_str(line(&b, "waiting for server to start.... done"), "waiting for server to start.... done",
				   "ordinary output kept");
	unit_check_str(cb_redact_text("pg_restore: error: x\nLINE 3: s3cret\nDETAIL:  s3cret\npg_restore: detail: Command was: s3cret\ns3cret\npg_restore: warning: errors ignored on restore: 1"),
				   "pg_restore: error: x\npg_restore: detail: Command was: (not shown)\npg_restore: warning: errors ignored on restore: 1",
				   "a whole tail redacted");
	return unit_finish();
}
