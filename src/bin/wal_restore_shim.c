/*-------------------------------------------------------------------------
 *
 * wal_restore_shim.c
 *	  Just enough of the backend's error reporting for
 *	  cnpg_bootstrap_wal_fetch to link src/objectstore.c and src/barman.c
 *	  (compiled with -DCB_OS_NO_BACKEND).  palloc, psprintf and StringInfo
 *	  come from PostgreSQL's frontend libpgcommon.
 *
 * LOG and above go to stderr, one line each (restore_command's stderr ends
 * up in the server log; the client's retry notices are LOG).  ERROR and
 * above exit with wr_error_exit_status, never silently: atexit handlers
 * remove the temporary files.  wr_exit is the program's only way out;
 * any other exit (libpgcommon's out of memory) becomes a failure too.  The texts come from objectstore.c, which
 * scrubs credentials out of them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>
#include <unistd.h>

#include "wal_restore_shim.h"

int			wr_error_exit_status = 128;

/* set by wr_exit: any other exit is a failure (see wr_guard_exits) */
static bool exit_on_purpose = false;

static int	shim_elevel;
static char shim_message[2048];
static char shim_hint[1024];

static const char *
level_name(int elevel)
{
	if (elevel >= ERROR)
		return "ERROR";
	if (elevel >= WARNING)
		return "WARNING";
	return "LOG";
}

bool
errstart(int elevel, const char *domain)
{
	shim_elevel = elevel;
	shim_message[0] = '\0';
	shim_hint[0] = '\0';
	return elevel >= LOG;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	fprintf(stderr, "%s: %s: %s%s%s%s\n", WR_PROGNAME, level_name(shim_elevel),
			shim_message, shim_hint[0] ? " (" : "", shim_hint,
			shim_hint[0] ? ")" : "");
	if (shim_elevel >= ERROR)
		wr_exit(wr_error_exit_status);
}

void
wr_exit(int status)
{
	exit_on_purpose = true;
	exit(status);
}

/*
 * libpgcommon's palloc and StringInfo end the program with exit(1) when
 * memory runs out, and 1 means "not in the archive" to PostgreSQL, which
 * would then end recovery early, at a wrong point.  Registered first, this
 * runs last among the atexit handlers and turns such an exit into the
 * failure status.
 */
static void
exit_guard(void)
{
	static const char msg[] = WR_PROGNAME ": ERROR: unexpected exit (out of memory?): exiting with the failure status\n";

	if (exit_on_purpose)
		return;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		(void) 0;				/* nothing better to do */
	_exit(wr_error_exit_status);
}

void
wr_guard_exits(void)
{
	atexit(exit_guard);
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(shim_message, sizeof(shim_message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(shim_message, sizeof(shim_message), fmt, ap);
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
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(shim_hint, sizeof(shim_hint), fmt, ap);
	va_end(ap);
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
