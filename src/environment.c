/*-------------------------------------------------------------------------
 *
 * environment.c
 *	  Tell a failure of the host from a failure of the spec.  A Cluster
 *	  whose step failed because the disk is full, no port is free in
 *	  cnpg_bootstrap.port_range, a tool is missing from the bindir, a
 *	  directory is not writable, or its source or object store does not
 *	  answer, is not failed: its status names the resource and the worker
 *	  tries again with the launcher's growing delay, so the bootstrap
 *	  proceeds without a re-apply once the host is fixed.  Everything else
 *	  (a refused spec, a wrong password, a bad certificate, a backup that
 *	  is not there) stays a failure: retrying would not change it.
 *
 *	  Child tools report through their output (the last lines are the
 *	  error's DETAIL), hence the matching of the texts of libc, libpq and
 *	  libcurl, which PostgreSQL's own messages quote verbatim.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "environment.h"

/* the first line of s that holds needle, or NULL */
static char *
line_with(const char *s, const char *needle)
{
	const char *hit;
	const char *start;
	const char *end;

	if (s == NULL || (hit = strstr(s, needle)) == NULL)
		return NULL;
	for (start = hit; start > s && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	return end ? pnstrdup(start, end - start) : pstrdup(start);
}

/* the line of the message or DETAIL that holds one of the needles */
static char *
either_with(const ErrorData *e, const char *const *needles)
{
	char	   *l;

	for (int i = 0; needles[i]; i++)
		if ((l = line_with(e->message, needles[i])) != NULL ||
			(l = line_with(e->detail, needles[i])) != NULL)
			return l;
	return NULL;
}

static const char *const no_space[] = {
	"No space left on device", "Disk quota exceeded",
	/* tarextract.c: a restore stopped before it would fill the disk */
	"goes past the free space of the file system", NULL
};
static const char *const no_access[] = {"Permission denied", "Read-only file system", NULL};
static const char *const no_tool[] = {"could not execute \"", NULL};
static const char *const unreachable[] = {
	"Connection refused", "server closed the connection unexpectedly",
	"No route to host", "Network is unreachable", "timeout expired",
	"the database system is starting up", "the database system is shutting down",
	"the database system is in recovery mode", "too many clients already",
	"could not receive data from server", "could not send data to server",
	"SSL SYSCALL error", "SSL connection has been closed unexpectedly",
	"could not receive data from WAL stream", "could not read COPY data",
	"terminating connection due to administrator command", NULL
};
/*
 * The object-store client's final errors (os_transfer.c) after its own
 * retries: HTTP statuses it retries, libcurl's error buffer texts (7.88
 * and later), curl_easy_strerror's, and the client's own words for a store
 * that went silent or sent less than the object holds.  Not here: a
 * certificate that does not verify (a configuration error).
 */
static const char *const store_down[] = {
	"HTTP 408", "HTTP 429", "HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504",
	"Couldn't connect to server", "Failed to connect to ",
	"Timeout was reached", "timed out after ", "no data received for ",
	"Failure when receiving data from the peer", "Recv failure: ", "Send failure: ",
	"Transferred a partial file", "transfer closed with ", "the answer ended after ",
	"Server returned nothing", "Empty reply from server", NULL
};

/*
 * "no PostgreSQL binaries for cluster "x" in "<dir>"": a tool missing from
 * a bindir that exists is the host's (install it); no directory at all for
 * the version the spec asks for (spec.imageName's tag) is the spec's.
 */
static bool
bindir_exists(const char *message)
{
	const char *in = strstr(message, " in \"");
	const char *end;
	struct stat st;

	if (in == NULL || (end = strrchr(in + 5, '"')) == NULL)
		return false;
	return stat(pnstrdup(in + 5, end - (in + 5)), &st) == 0 && S_ISDIR(st.st_mode);
}

char *
cb_environment_cause(CbCluster *c, const ErrorData *edata)
{
	char	   *l;

	/*
	 * The preflight: the spec declares more storage than the host has.  A
	 * failure, as before any work, so that a spec that over-asks is told at
	 * once; the disk filling up while a step writes is the host's (below).
	 */
	if (edata->sqlerrcode == ERRCODE_DISK_FULL && strstr(edata->message, "not enough free space"))
		return NULL;
	if (edata->sqlerrcode == ERRCODE_DISK_FULL || either_with(edata, no_space))
		return psprintf("no space left on device in \"%s\"", c->dir ? c->dir : "cnpg_bootstrap.data_root");
	if (edata->sqlerrcode == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED &&
		strstr(edata->message, "cnpg_bootstrap.port_range"))
		return pstrdup(edata->message);
	if (edata->sqlerrcode == ERRCODE_UNDEFINED_FILE &&
		strstr(edata->message, "no PostgreSQL binaries") &&
		bindir_exists(edata->message))
		return psprintf("%s: %s", edata->message, edata->detail ? edata->detail : "");
	if ((l = either_with(edata, no_tool)) != NULL)
		return psprintf("a tool is missing: %s", l);
	if ((l = either_with(edata, no_access)) != NULL)
		return psprintf("the worker may not write there: %s", l);
	if ((l = either_with(edata, unreachable)) != NULL)
		return psprintf("a server does not answer: %s", l);
	if ((l = either_with(edata, store_down)) != NULL)
		return psprintf("the object store does not answer: %s", l);
	return NULL;
}
