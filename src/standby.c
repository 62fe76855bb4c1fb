/*-------------------------------------------------------------------------
 *
 * standby.c
 *	  Streaming standbys <cluster>-2..N.  Each is cloned from the primary
 *	  by pg_basebackup over TLS, authenticated by the streaming_replica
 *	  certificate (no password exists), into pgdata.tmp, renamed only once
 *	  complete; then configured (its own port, primary_conninfo with
 *	  sslmode=verify-full, its replication slot, standby.signal) and
 *	  started.  The clones run in parallel; each is journaled on its own,
 *	  so a restart of the control instance redoes only unfinished ones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"

#include "certfiles.h"
#include "external.h"
#include "fsutil.h"
#include "instance.h"
#include "pgconn.h"
#include "process.h"
#include "standby.h"
#include "tablespaces.h"
#include "waituntil.h"

#define CB_STREAMING_TIMEOUT_MS 120000

char *
cb_slot_name(const CbInstance *inst)
{
	const char *src = psprintf("_cnpg_%s", inst->name);
	char	   *out = palloc(strlen(src) + 1);
	char	   *o = out;

	for (const char *p = src; *p; p++)
	{
		char		ch = pg_tolower((unsigned char) *p);

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')
			*o++ = ch;
		else if (o == out || o[-1] != '_')
			*o++ = '_';
	}
	*o = '\0';
	return out;
}

/*
 * libpq connection string to the primary for a standby: no password, the
 * replication certificate, and the server verified against the cluster's
 * CA by name.  It is written to postgresql.auto.conf-like files and shown
 * by ps, so it must never hold a secret: it holds only file paths.
 */
static char *
replication_conninfo(CbCluster *c, const CbInstance *standby)
{
	const CbInstance *primary = &c->instances[0];
	StringInfoData buf;

	/*
	 * Every value quoted: the paths come from cnpg_bootstrap.data_root and
	 * the host from cnpg_bootstrap.listen_addresses, either of which may
	 * hold a space or a quote.
	 */
	initStringInfo(&buf);
	cb_conninfo_append(&buf, "host", c->host);
	cb_conninfo_append(&buf, "port", psprintf("%d", primary->port));
	cb_conninfo_append(&buf, "user", "streaming_replica");
	cb_conninfo_append(&buf, "dbname", "postgres");
	cb_conninfo_append(&buf, "sslmode", "verify-full");
	cb_conninfo_append(&buf, "sslrootcert", psprintf("%s/%s", c->certs_dir, CB_SERVER_CA));
	cb_conninfo_append(&buf, "sslcert", psprintf("%s/%s", c->certs_dir, CB_REPLICATION_CRT));
	cb_conninfo_append(&buf, "sslkey", psprintf("%s/%s", c->certs_dir, CB_REPLICATION_KEY));
	cb_conninfo_append(&buf, "application_name", standby->name);
	cb_conninfo_append(&buf, "connect_timeout", "5");
	return buf.data;
}

/* physical slots on the primary for the standbys (CNPG's HA slots) */
void
cb_standbys_ensure_slots(CbCluster *c)
{
	PGconn	   *conn = cb_connect_instance(c, &c->instances[0], "postgres");

	for (int i = 1; i < c->ninstances; i++)
	{
		const char *slot = cb_slot_name(&c->instances[i]);
		const char *params[] = {slot};
		char	   *err = NULL;
		PGresult   *res = cb_exec_params(conn,
										 "SELECT pg_catalog.pg_create_physical_replication_slot($1)"
										 " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots"
										 "  WHERE slot_name = $1)", 1, params, &err);

		if (res)
			PQclear(res);
		if (err)
		{
			cb_disconnect(conn);
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not create replication slot \"%s\": %s", slot, err)));
		}
	}
	cb_disconnect(conn);
}

static void
prepare_clone(CbCluster *c, CbInstance *inst, CbChildOptions *opts)
{
	/* a half copy is never reused */
	char	   *tmp = cb_instance_fresh_tmp(c, inst);
	const char **argv = palloc0(sizeof(char *) * (16 + CB_MAX_TABLESPACES));
	int			n = 0;
	PGconn	   *conn = cb_connect_instance(c, &c->instances[0], "postgres");
	const char **mappings;

	/* the primary's tablespaces into this standby's own folders */
	mappings = cb_tablespace_mappings(conn, psprintf("primary %s", c->instances[0].name), inst);

	argv[n++] = cb_tool(c, "pg_basebackup");
	argv[n++] = "-D";
	argv[n++] = tmp;
	argv[n++] = "-X";
	argv[n++] = "stream";
	argv[n++] = "-c";
	argv[n++] = "fast";
	argv[n++] = "-w";
	argv[n++] = "-S";
	argv[n++] = cb_slot_name(inst);
	argv[n++] = "-d";
	argv[n++] = replication_conninfo(c, inst);
	cb_argv_append(argv, &n, 15 + CB_MAX_TABLESPACES, mappings);

	cb_instance_child_options(inst, "pg_basebackup", argv, opts);
}

/* configure a finished clone as a standby of the primary and move it in place */
static void
finish_clone(CbCluster *c, CbInstance *inst)
{
	char	   *tmp = cb_instance_tmp(inst);
	char	   *override = psprintf("primary_conninfo = %s\n"
									"primary_slot_name = %s\n"
									"recovery_target_timeline = 'latest'\n",
									cb_conf_quote(replication_conninfo(c, inst)),
									cb_conf_quote(cb_slot_name(inst)));

	cb_write_instance_config(c, inst, tmp, override);
	cb_write_file(psprintf("%s/standby.signal", tmp), "", 0, 0600);
	/* the primary's pid file is not the standby's */
	unlink(psprintf("%s/postmaster.pid", tmp));
	cb_instance_install_tmp(inst);
}

void
cb_standbys_clone(CbCluster *c)
{
	CbInstance **todo = palloc0(sizeof(CbInstance *) * c->ninstances);
	CbChildOptions *opts = palloc0(sizeof(CbChildOptions) * c->ninstances);
	CbChildResult *results = palloc0(sizeof(CbChildResult) * c->ninstances);
	int			n = 0;

	for (int i = 1; i < c->ninstances; i++)
		if (cb_journal_step_state(c->journal, "clone", c->instances[i].name) != CB_STEP_DONE)
			todo[n++] = &c->instances[i];
	if (n == 0)
		return;

	cb_journal_phase(c->journal, CB_PHASE_NEW_REPLICA,
					 psprintf("Creating replica %s-join", todo[0]->name));
	cb_standbys_ensure_slots(c);
	for (int i = 0; i < n; i++)
	{
		prepare_clone(c, todo[i], &opts[i]);
		if (!cb_journal_step_begin(c->journal, "clone", todo[i]->name))
			return;
	}

	(void) cb_run_children(n, opts, results);

	for (int i = 0; i < n; i++)
	{
		if (results[i].exit_code != 0)
		{
			char	   *why = psprintf("pg_basebackup of %s failed (exit code %d)",
									   todo[i]->name, results[i].exit_code);

			cb_journal_step_finish(c->journal, "clone", todo[i]->name, false, why);
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("%s", why),
					 errdetail("%s", results[i].tail ? results[i].tail : "")));
		}
		finish_clone(c, todo[i]);
		cb_journal_step_finish(c->journal, "clone", todo[i]->name, true, NULL);
	}
}

/* in parallel: most of a fresh copy's first start is syncing it again */
void
cb_standbys_start(CbCluster *c)
{
	CbInstance **standbys = palloc0(sizeof(CbInstance *) * c->ninstances);

	for (int i = 1; i < c->ninstances; i++)
		standbys[i - 1] = &c->instances[i];
	cb_instances_start(c, standbys, c->ninstances - 1);
}

/* the value of a one-row query with one text parameter, or NULL */
static char *
query1(PGconn *conn, const char *sql, const char *param)
{
	const char *params[] = {param};
	char	   *err = NULL;
	PGresult   *res = cb_exec_params(conn, sql, param ? 1 : 0, params, &err);
	char	   *value = NULL;

	if (res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		value = pstrdup(PQgetvalue(res, 0, 0));
	if (res)
		PQclear(res);
	return value;
}

typedef struct StreamingWait
{
	CbCluster  *c;
	CbInstance *standby;
} StreamingWait;

/* connection 0 goes to the standby, 1 to the primary */
static PGconn *
connect_pair(void *arg, int which)
{
	StreamingWait *s = arg;

	return cb_connect_instance(s->c, which == 0 ? s->standby : &s->c->instances[0], "postgres");
}

static bool
is_streaming(CbWait *w, void *arg)
{
	StreamingWait *s = arg;
	char	   *theirs = query1(cb_wait_conn(w, 0), "SELECT status FROM pg_catalog.pg_stat_wal_receiver", NULL);
	char	   *ours = query1(cb_wait_conn(w, 1),
							  "SELECT state FROM pg_catalog.pg_stat_replication WHERE application_name = $1",
							  s->standby->name);

	return theirs && ours && strcmp(theirs, "streaming") == 0 && strcmp(ours, "streaming") == 0;
}

void
cb_standbys_wait_streaming(CbCluster *c)
{
	for (int i = 1; i < c->ninstances; i++)
	{
		CbInstance *inst = &c->instances[i];
		StreamingWait s = {c, inst};
		/* a standby streams within a second of its start: look often (kept connections) */
		CbWaitSpec	spec = {.what = "standby streaming", .timeout_ms = CB_STREAMING_TIMEOUT_MS,
		.connect = connect_pair, .max_poll_ms = 50};

		if (!cb_wait_until(is_streaming, &s, &spec))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("standby %s does not stream from the primary after %d s",
							inst->name, CB_STREAMING_TIMEOUT_MS / 1000),
					 errhint("See the logs under \"%s\".", inst->logdir)));
	}
}
