/*-------------------------------------------------------------------------
 *
 * pgpass.c
 *	  The pgpass file of a source: the only place its password lives on
 *	  disk, mode 0600, one line without a trailing newline (as CNPG writes
 *	  it), every field escaped so that libpq parses it back exactly.
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

char *
cb_pgpass_line(const char *host, const char *port, const char *user,
			   const char *password)
{
	return psprintf("%s:%s:*:%s:%s", field(host), field(port), field(user),
					cb_pgpass_escape(password ? password : ""));
}

void
cb_pgpass_write(const char *path, const char *line)
{
	cb_write_file(path, line, strlen(line), 0600);
}
