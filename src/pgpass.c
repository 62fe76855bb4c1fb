/*-------------------------------------------------------------------------
 *
 * pgpass.c
 *	  The pgpass file of a source: the only place its password lives on
 *	  disk, mode 0600, one line ending in a newline, every field escaped so
 *	  that libpq parses it back exactly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "fsutil.h"
#include "pgpass.h"
#include "secrets.h"

static const char *
field(const char *value)
{
	return value && value[0] ? cb_pgpass_escape(value) : "*";
}

/*
 * Host and port are '*': the file serves this source's connections only,
 * and libpq matches neither as written when it holds a list ("h1,h2",
 * compared host by host) or the default socket directory (compared as
 * "localhost"), so such a source would connect without its password
 * (found by fuzz/fuzz_conninfo; test/unit/test_secrets.c).  The newline:
 * libpq reads the file in chunks of 256 bytes, then 512 ..., and drops a
 * last line without one that fills a chunk exactly (CNPG writes none).
 */
char *
cb_pgpass_line(const char *host, const char *port, const char *user,
			   const char *password)
{
	return psprintf("*:*:*:%s:%s\n", field(user),
					cb_pgpass_escape(password ? password : ""));
}

void
cb_pgpass_write(const char *path, const char *line)
{
	cb_write_file(path, line, strlen(line), 0600);
}
