/*-------------------------------------------------------------------------
 *
 * import_owner.c
 *	  The application owner is SUPERUSER only while pg_restore runs as it
 *	  in a microservice import (CloudNativePG does the same), and its
 *	  password is in <cluster>-app: it must never stay SUPERUSER.
 *
 * - every run of the import, the first and every redo, takes SUPERUSER
 *   back before anything else (import.c calls cb_import_owner_superuser
 *   (false) before its preflight): a run cut short by a crash, a kill -9 or
 *   SIGQUIT, which run no code of ours, is made good by the next one, even
 *   when that one fails at once (the source gone);
 * - an ERROR while it is granted takes it back in the PG_CATCH of import.c
 *   (cb_import_owner_revoke_quietly);
 * - a FATAL (SIGTERM, which the worker turns into a FATAL, or a shutdown of
 *   the control instance) never unwinds to that PG_CATCH: a
 *   before_shmem_exit callback takes it back then, over the target's unix
 *   socket, bounded to a second with interrupts held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"

#include "import_int.h"
#include "instance.h"
#include "pgconn.h"

/* each of connect and ALTER ROLE when the worker exits */
#define OWNER_EXIT_TIMEOUT_MS	500

/* what the exit callback needs, kept outside any memory context */
static struct
{
	bool		armed;			/* SUPERUSER granted, not yet taken back */
	char		socket_dir[MAXPGPATH];
	int			port;
	char		sql[3 * NAMEDATALEN + 64];
} pending;

static bool callback_registered = false;

static char *
revoke_sql(Import *imp)
{
	return psprintf("ALTER ROLE %s NOSUPERUSER", quote_identifier(imp->c->app_owner));
}

/* connect and revoke; false with *err on failure, never throws (interrupts aside) */
static bool
revoke_now(const char *socket_dir, int port, const char *sql, int timeout_ms, char **err)
{
	PGconn	   *conn = cb_connect_local(socket_dir, port, "postgres", timeout_ms, err);
	PGresult   *res;
	bool		ok;

	if (conn == NULL)
		return false;
	res = cb_exec_timeout(conn, sql, -1, NULL, timeout_ms, err);
	ok = res != NULL && *err == NULL;
	if (res)
		PQclear(res);
	cb_disconnect(conn);
	return ok;
}

/*
 * The worker exits (FATAL, proc_exit) while the owner is SUPERUSER.  No
 * ERROR may be raised here (it would become a FATAL inside proc_exit), so
 * interrupts are held; the waits are bounded by their timeouts.
 */
static void
owner_exit_callback(int code, Datum arg)
{
	char	   *err = NULL;

	if (!pending.armed)
		return;
	pending.armed = false;
	HOLD_INTERRUPTS();
	if (!revoke_now(pending.socket_dir, pending.port, pending.sql,
					OWNER_EXIT_TIMEOUT_MS, &err))
		ereport(LOG,
				(errmsg("cnpg_bootstrap: could not take SUPERUSER back from the application owner while exiting: %s",
						err ? err : "no connection"),
				 errdetail("The next run of the import takes it back first.")));
	RESUME_INTERRUPTS();
}

void
cb_import_owner_superuser(Import *imp, bool on)
{
	PGconn	   *conn;
	char	   *sql = revoke_sql(imp);

	if (on)
	{
		/* armed before the grant: a FATAL right after it still revokes */
		if (!callback_registered)
		{
			before_shmem_exit(owner_exit_callback, (Datum) 0);
			callback_registered = true;
		}
		strlcpy(pending.socket_dir, imp->c->run_dir, sizeof(pending.socket_dir));
		pending.port = imp->primary->port;
		strlcpy(pending.sql, sql, sizeof(pending.sql));
		pending.armed = true;
		sql = psprintf("ALTER ROLE %s SUPERUSER", quote_identifier(imp->c->app_owner));
	}
	conn = cb_connect_instance(imp->c, imp->primary, "postgres");
	imp_must_exec(conn, sql,
				  psprintf("making \"%s\" %s", imp->c->app_owner, on ? "SUPERUSER" : "NOSUPERUSER"));
	cb_disconnect(conn);
	if (!on)
		pending.armed = false;
}

void
cb_import_owner_revoke_quietly(Import *imp)
{
	char	   *err = NULL;

	if (revoke_now(imp->c->run_dir, imp->primary->port, revoke_sql(imp), 30000, &err))
	{
		pending.armed = false;
		return;
	}
	/* still armed: the exit callback tries again */
	ereport(WARNING,
			(errmsg("could not take SUPERUSER back from role \"%s\": %s",
					imp->c->app_owner, err ? err : "no connection"),
			 errhint("Run ALTER ROLE %s NOSUPERUSER on the target.",
					 quote_identifier(imp->c->app_owner))));
}
