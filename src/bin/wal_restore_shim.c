/*-------------------------------------------------------------------------
 *
 * wal_restore_shim.c
 *	  Just enough of the backend's error reporting for
 *	  cnpg_bootstrap_wal_restore to link src/objectstore.c and src/barman.c
 *	  (compiled with -DCB_OS_NO_BACKEND).  palloc, psprintf and StringInfo
 *	  come from PostgreSQL's frontend libpgcommon.
 *
 * LOG and above go to stderr, one line each (restore_command's stderr ends
 * up in the server log; the client's retry notices are LOG).  ERROR and
 * above exit with wr_error_exit_status, never silently: atexit handlers
 * remove the temporary files.  The texts come from objectstore.c, which
 * scrubs credentials out of them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>

#include "wal_restore_shim.h"

int			wr_error_exit_status = 128;

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
		exit(wr_error_exit_status);
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
