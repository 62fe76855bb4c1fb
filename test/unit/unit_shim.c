/*-------------------------------------------------------------------------
 *
 * unit_shim.c
 *	  Just enough of the backend's error reporting for the standalone unit
 *	  tests of test/unit/ to link the pure parts of the extension (secrets.c,
 *	  tls.c) without a server.  palloc, psprintf, StringInfo, pg_saslprep
 *	  and the SCRAM/base64 helpers come from PostgreSQL's frontend
 *	  libpgcommon.a (malloc-based), which every test links.
 *
 * ereport(ERROR) prints the message and exits with status 3: in these
 * programs an ERROR is always a failed test.
 *
 * Also the tests' tiny reporting: unit_check() prints "ok - what" or
 * "not ok - what", unit_finish() the closing "N passed, N failed" line and
 * the exit status.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>

#include "cnpg_bootstrap.h"

static int	shim_elevel;
static char shim_message[1024];

/* process.c reads it; the unit tests never run children */
char	   *cb_data_root = NULL;

bool
errstart(int elevel, const char *domain)
{
	shim_elevel = elevel;
	shim_message[0] = '\0';
	return elevel >= WARNING;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	fprintf(stderr, "%s: %s (%s:%d)\n",
			shim_elevel >= ERROR ? "ERROR" : "WARNING",
			shim_message, filename, lineno);
	if (shim_elevel >= ERROR)
		exit(3);
}

static void
shim_format(const char *fmt, va_list ap)
{
	vsnprintf(shim_message, sizeof(shim_message), fmt, ap);
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	shim_format(fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	shim_format(fmt, ap);
	va_end(ap);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

int
errcode(int sqlerrcode)
{
	return 0;
}

int
errcode_for_file_access(void)
{
	return 0;
}

int
errhidestmt(bool hide_stmt)
{
	return 0;
}

/* ---------- test reporting ---------- */

static int	unit_passed;
static int	unit_failed;

extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

void
unit_check(bool cond, const char *what)
{
	if (cond)
		unit_passed++;
	else
		unit_failed++;
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
}

void
unit_check_str(const char *got, const char *want, const char *what)
{
	bool		ok = got != NULL && strcmp(got, want) == 0;

	unit_check(ok, what);
	if (!ok)
		printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want);
}

int
unit_finish(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}
