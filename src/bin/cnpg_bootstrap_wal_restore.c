/*-------------------------------------------------------------------------
 *
 * cnpg_bootstrap_wal_restore.c
 *	  The installed cnpg_bootstrap_wal_restore: restore_command's fast path.
 *
 *	  cnpg_bootstrap_wal_restore CONFIG-FILE %f %p
 *
 * When <spool_dir>/%f exists (prefetched by an earlier call), it is
 * renamed to %p and that is all.  Otherwise this execs
 * cnpg_bootstrap_wal_fetch (from the same directory, same arguments),
 * (cnpg_bootstrap_wal_fetch.c): the program that lists and GETs
 * from the store, fills the spool, and documents the configuration file
 * and the exit statuses.
 *
 * Why two programs: the fetcher loads libcurl, OpenSSL and libarchive,
 * some forty shared libraries, which takes longer than the rename (tens of
 * milliseconds on a loaded machine).  This one links only libc and the
 * static libpgcommon, so that a prefetch hit takes a millisecond or two.
 *
 * Exit status 128 when the configuration cannot be read or the fetcher
 * cannot be run (standby unknown, or a broken installation: recovery must
 * not end early); 1 for the latter on a replica.  Any exit not chosen
 * here (out of memory in libpgcommon) gives the same statuses, never 1 in
 * a recovery.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "walrestore_conf.h"
#include "walspool.h"
#include "wal_restore_shim.h"

#define FETCH_PROGRAM	"cnpg_bootstrap_wal_fetch"
#define EXIT_FATAL		128

/*
 * The status of an exit this program did not choose (libpgcommon exits
 * with 1 when memory runs out, which PostgreSQL would read as the end of
 * the archive); -1 once main has its own status.
 */
static int	unexpected_exit_status = EXIT_FATAL;

static void
exit_guard(void)
{
	if (unexpected_exit_status >= 0)
		_exit(unexpected_exit_status);
}

/*
 * cb_barman_wal_kind's test, repeated here so as not to link barman.c:
 * 8 hex digits then ".history", or 24 then nothing, ".partial" or
 * ".XXXXXXXX.backup".  Also keeps '/' and ".." out of the spool's paths.
 */
static bool
is_wal_name(const char *name)
{
	size_t		len = strlen(name);
	size_t		hex = strspn(name, "0123456789ABCDEFabcdef");

	if (hex == 8 && strcmp(name + 8, ".history") == 0)
		return true;
	if (hex < 24)
		return false;
	return len == 24 || strcmp(name + 24, ".partial") == 0 ||
		(len == 40 && name[24] == '.' && strspn(name + 25, "0123456789ABCDEFabcdef") == 8 &&
		 strcmp(name + 33, ".backup") == 0);
}

/* the fetch program, beside this one */
static char *
fetch_program(const char *argv0)
{
	char		self[MAXPGPATH];
	ssize_t		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char	   *slash;

	if (n > 0)
		self[n] = '\0';
	else
		strlcpy(self, argv0, sizeof(self));
	slash = strrchr(self, '/');
	if (slash == NULL)
		return pstrdup(FETCH_PROGRAM);	/* found through PATH, as we were */
	*slash = '\0';
	return psprintf("%s/%s", self, FETCH_PROGRAM);
}

static int
front(int argc, char **argv)
{
	CbWalRestoreConf conf;
	char	   *errmsg;
	char	   *fetch;

	if (argc != 4)
	{
		fprintf(stderr, "usage: %s CONFIG-FILE %%f %%p\n", WR_PROGNAME);
		return EXIT_FATAL;
	}
	if (!cb_walrestore_conf_read(argv[1], &conf, &errmsg))
	{
		fprintf(stderr, "%s: ERROR: %s\n", WR_PROGNAME, errmsg);
		return EXIT_FATAL;
	}
	unexpected_exit_status = conf.standby ? 1 : EXIT_FATAL;
	/* the fault matrix's kill -9 of this program (faultinject.c); inert */
	if (unlink(psprintf("%s/%s", conf.spool_dir, CB_WALSPOOL_FAULT_KILL)) == 0)
		raise(SIGKILL);
	if (is_wal_name(argv[2]) &&
		rename(psprintf("%s/%s", conf.spool_dir, argv[2]), argv[3]) == 0)
		return 0;

	/* the fetcher reads the file again: nothing secret in its arguments */
	fetch = fetch_program(argv[0]);
	argv[0] = fetch;
	if (strchr(fetch, '/'))
		execv(fetch, argv);
	else
		execvp(fetch, argv);
	fprintf(stderr, "%s: ERROR: could not run \"%s\": %m\n", WR_PROGNAME, fetch);
	return conf.standby ? 1 : EXIT_FATAL;
}

int
main(int argc, char **argv)
{
	int			status;

	atexit(exit_guard);
	status = front(argc, argv);
	unexpected_exit_status = -1;
	return status;
}
