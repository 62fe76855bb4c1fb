/*-------------------------------------------------------------------------
 *
 * external.c
 *	  A source of spec.externalClusters, ready for libpq and for the tools:
 *	  its connectionParameters verbatim (CNPG never adds sslmode), its
 *	  password in <cluster>/controller/external/<NAME>/pgpass used through
 *	  passfile=, its sslCert/sslKey/sslRootCert as 0600 files beside it.
 *	  Nothing built here ever holds a password, so the conninfo may be
 *	  passed on a command line.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq-fe.h"

#include "external.h"
#include "fsutil.h"
#include "pgconn.h"
#include "pgpass.h"

#define CB_SOURCE_TIMEOUT_MS 30000

/*
 * The value of a Secret key a source names, from the Secrets the plan
 * resolved (resolved.h), or a Bootstrap failure naming it
 */
static char *
secret_value(const CbResolvedObjects *resolved, const CbKeyRef *ref, const char *path)
{
	CbMap		data;
	const char *v;

	if (!cb_resolved_secret(resolved, ref->name, &data))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Secret \"%s\" referenced by %s does not exist", ref->name, path),
				 errhint("Apply it with cnpg_bootstrap_apply(), then delete and re-apply the Cluster.")));
	if ((v = cb_map_get(&data, ref->key)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("missing key %s in secret %s (referenced by %s)", ref->key, ref->name, path)));
	return pstrdup(v);
}

static void
add_option(CbSource *src, const char *key, const char *value)
{
	/* a later value for the same keyword replaces the earlier one */
	for (int i = 0; i < src->n; i++)
		if (strcmp(src->keywords[i], key) == 0)
		{
			src->values[i] = value;
			return;
		}
	src->keywords[src->n] = key;
	src->values[src->n] = value;
	src->n++;
}

/* <dir>/<secretName>_<secretKey>, 0600, the raw value */
static const char *
write_tls_file(CbCluster *c, CbSource *src, const CbKeyRef *ref, const char *path)
{
	char	   *value = secret_value(c->resolved, ref, path);
	char	   *file = psprintf("%s/%s_%s", src->dir, ref->name, ref->key);

	if (strchr(ref->name, '/') || strchr(ref->key, '/') ||
		strcmp(ref->key, "..") == 0 || strcmp(ref->key, ".") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value cannot be used as a filesystem path component: \"%s\"", ref->key)));
	cb_write_file(file, value, strlen(value), 0600);
	return file;
}

CbSource *
cb_source_prepare(CbCluster *c, const char *name, const char *field_path)
{
	const CbExternalCluster *ec = cb_find_external_cluster(c->spec, name);
	CbSource   *src;
	const CbMap *params;

	if (ec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("missing external cluster %s (named by %s)", name, field_path)));
	params = &ec->connection_parameters;
	if (params->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("external cluster %s has no connectionParameters", name)));
	if (cb_map_get(params, "password") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spec.externalClusters %s: connectionParameters must not hold a password", name),
				 errhint("Put the password in a Secret and reference it with the password field.")));

	src = palloc0(sizeof(CbSource));
	src->spec = ec;
	src->dir = psprintf("%s/controller/external/%s", c->dir, ec->name);
	cb_mkdir_p(src->dir);
	src->keywords = palloc0(sizeof(char *) * (params->n + 8));
	src->values = palloc0(sizeof(char *) * (params->n + 8));
	for (int i = 0; i < params->n; i++)
		add_option(src, params->items[i].key, params->items[i].value);

	if (ec->ssl_cert.present)
		add_option(src, "sslcert", write_tls_file(c, src, &ec->ssl_cert, "sslCert"));
	if (ec->ssl_key.present)
		add_option(src, "sslkey", write_tls_file(c, src, &ec->ssl_key, "sslKey"));
	if (ec->ssl_root_cert.present)
		add_option(src, "sslrootcert", write_tls_file(c, src, &ec->ssl_root_cert, "sslRootCert"));
	if (ec->password.present)
	{
		char	   *file = psprintf("%s/pgpass", src->dir);

		cb_pgpass_write(file, cb_pgpass_line(cb_map_get(params, "host"),
											 cb_map_get(params, "port"),
											 cb_map_get(params, "user"),
											 secret_value(c->resolved, &ec->password, "password")));
		add_option(src, "passfile", file);
	}
	return src;
}

/* key='value' with ' and \ escaped as libpq's conninfo parser reads them */
void
cb_conninfo_append(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, ' ');
	appendStringInfo(buf, "%s='", key);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

char *
cb_source_conninfo(const CbSource *src, const char *dbname, const char *extra)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < src->n; i++)
		if (!dbname || strcmp(src->keywords[i], "dbname") != 0)
			cb_conninfo_append(&buf, src->keywords[i], src->values[i]);
	if (dbname)
		cb_conninfo_append(&buf, "dbname", dbname);
	if (extra)
		appendStringInfo(&buf, " %s", extra);
	return buf.data;
}

/*
 * The source's options for libpq, dbname replaced if given, "replication"
 * forced if given (whatever connectionParameters say), then our
 * application_name.  NULL with *err when it does not connect.
 */
static PGconn *
source_connect_params(const CbSource *src, const char *dbname,
					  const char *replication, char **err)
{
	const char **keys = palloc0(sizeof(char *) * (src->n + 4));
	const char **values = palloc0(sizeof(char *) * (src->n + 4));
	int			n = 0;

	for (int i = 0; i < src->n; i++)
		if ((strcmp(src->keywords[i], "dbname") != 0 || dbname == NULL) &&
			(strcmp(src->keywords[i], "replication") != 0 || replication == NULL))
		{
			keys[n] = src->keywords[i];
			values[n++] = src->values[i];
		}
	if (dbname)
	{
		keys[n] = "dbname";
		values[n++] = dbname;
	}
	if (replication)
	{
		keys[n] = "replication";
		values[n++] = replication;
	}
	keys[n] = "application_name";
	values[n++] = "cnpg_bootstrap";
	return cb_connect(keys, values, CB_SOURCE_TIMEOUT_MS, err);
}

/*
 * A physical replication connection (replication=true), as pg_basebackup
 * makes: what a source's "host replication <user> ..." pg_hba line lets in,
 * and all the seed asks of a source to clone.  It speaks the walsender
 * protocol only (IDENTIFY_SYSTEM, SHOW, TIMELINE_HISTORY ...), so no SQL
 * and no SET search_path: nothing on it can call an object of the
 * source's owners.  NULL with *err (libpq's message) when it does not
 * connect; the caller says what that means.
 */
PGconn *
cb_source_connect_replication(const CbSource *src, char **err)
{
	return source_connect_params(src, NULL, "true", err);
}

PGconn *
cb_source_connect(const CbSource *src, const char *dbname)
{
	char	   *err = NULL;
	PGconn	   *conn = source_connect_params(src, dbname, NULL, &err);

	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("source %s does not answer: %s", src->spec->name,
						err ? err : "connection failed")));

	/*
	 * Before any query of ours: the source's owners must not choose what
	 * our queries call (pgconn.c, CWE-426).  A SET rather than the
	 * "options" startup parameter, which poolers such as PgBouncer refuse
	 * (or ignore), and the user may set options of their own.
	 */
	if (!cb_exec_ok(conn, "SET search_path = pg_catalog, pg_temp", &err))
	{
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("source %s: could not set search_path: %s", src->spec->name,
						err ? err : "no answer")));
	}
	return conn;
}
