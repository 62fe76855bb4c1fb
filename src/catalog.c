/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  SPI access to the control instance's catalog (schema cnpg_bootstrap).
 *
 * The only file that knows the catalog's table layout besides the install
 * script.  Every statement is parameterised: names and documents never
 * reach SQL text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "cnpg_bootstrap.h"
#include "catalog.h"
#include "ownership.h"

/* where readers copy their results (see catalog.h) */
static MemoryContext result_cxt = NULL;

/* the caller's context, current again after cb_tx_commit */
static MemoryContext caller_cxt = NULL;

static MemoryContext
out_cxt(void)
{
	return result_cxt ? result_cxt : CurrentMemoryContext;
}

void
cb_tx_begin(void)
{
	result_cxt = caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
cb_tx_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	/*
	 * CommitTransactionCommand leaves TopMemoryContext current: a worker's
	 * loop would then allocate there, never freed, at every pass.
	 */
	MemoryContextSwitchTo(caller_cxt);
	result_cxt = caller_cxt = NULL;
}

/* run a parameterised statement; all parameters are text */
static int
spi_run(const char *sql, int nargs, const char *const *args, bool read_only)
{
	Oid			types[8];
	Datum		values[8];
	char		nulls[9] = {0};
	int			rc;

	Assert(nargs <= 8);
	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		nulls[i] = args[i] ? ' ' : 'n';
	}
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "cnpg_bootstrap catalog statement failed: %s",
			 SPI_result_code_string(rc));
	return rc;
}

/* value of column col (1-based) of row 0, copied out; NULL if SQL NULL */
static char *
spi_value(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(out_cxt(), v) : NULL;
}

bool
cb_catalog_get_object(const char *kind, const char *name, CbStoredObject *obj)
{
	const char *args[] = {kind, name};
	MemoryContext old;

	spi_run("SELECT doc::text, generation, generated_by FROM cnpg_bootstrap.objects"
			" WHERE kind = $1 AND name = $2", 2, args, true);
	if (SPI_processed == 0)
		return false;
	/* what jsonb prints raw but YAML takes only escaped, escaped */
	old = MemoryContextSwitchTo(out_cxt());
	obj->doc = cb_stored_json_for_yaml(SPI_getvalue(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1));
	MemoryContextSwitchTo(old);
	obj->generation = pg_strtoint32(spi_value(0, 2));
	obj->generated_by = spi_value(0, 3);
	return true;
}

void
cb_catalog_put_object(const char *kind, const char *name, const char *namespace,
					  const char *doc, int generation, const char *generated_by)
{
	char		gen[16];
	const char *args[6];

	snprintf(gen, sizeof(gen), "%d", generation);
	args[0] = kind;
	args[1] = name;
	args[2] = namespace ? namespace : "default";
	args[3] = doc;
	args[4] = gen;
	args[5] = generated_by;
	spi_run("INSERT INTO cnpg_bootstrap.objects AS o"
			" (kind, name, namespace, doc, generation, generated_by)"
			" VALUES ($1, $2, $3, $4::jsonb, $5::int, $6)"
			" ON CONFLICT (kind, name) DO UPDATE SET namespace = EXCLUDED.namespace,"
			" doc = EXCLUDED.doc, generation = EXCLUDED.generation,"
			" generated_by = EXCLUDED.generated_by, updated_at = now()",
			6, args, false);
}

bool
cb_catalog_delete_object(const char *kind, const char *name)
{
	const char *args[] = {kind, name};

	spi_run("DELETE FROM cnpg_bootstrap.objects WHERE kind = $1 AND name = $2",
			2, args, false);
	if (SPI_processed == 0)
		return false;
	if (strcmp(kind, "Secret") == 0)
		spi_run("DELETE FROM cnpg_bootstrap.secret_data WHERE secret = $2",
				2, args, false);
	return true;
}

List *
cb_catalog_object_names(const char *kind)
{
	const char *args[] = {kind};
	List	   *names = NIL;
	MemoryContext old;

	spi_run("SELECT name FROM cnpg_bootstrap.objects WHERE kind = $1 ORDER BY name",
			1, args, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *n = spi_value(i, 1);

		old = MemoryContextSwitchTo(out_cxt());
		names = lappend(names, n);
		MemoryContextSwitchTo(old);
	}
	return names;
}

/* ---------- Secret values ---------- */

bool
cb_catalog_get_secret(const char *name, CbMap *data)
{
	const char *args[] = {name};
	bool		found;

	spi_run("SELECT 1 FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name = $1",
			1, args, true);
	found = SPI_processed > 0;
	if (!found)
		return false;

	spi_run("SELECT key, value FROM cnpg_bootstrap.secret_data WHERE secret = $1"
			" ORDER BY key", 1, args, true);
	data->n = (int) SPI_processed;
	data->items = MemoryContextAllocZero(out_cxt(), sizeof(CbKV) * Max(data->n, 1));
	for (int i = 0; i < data->n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		bytea	   *b = DatumGetByteaPP(d);
		int			len = VARSIZE_ANY_EXHDR(b);
		char	   *v = MemoryContextAlloc(out_cxt(), len + 1);

		memcpy(v, VARDATA_ANY(b), len);
		v[len] = '\0';
		data->items[i].key = spi_value(i, 1);
		data->items[i].value = v;
		data->items[i].len = len;
	}
	return true;
}

static Datum
bytea_datum(const char *v, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), v, len);
	return PointerGetDatum(b);
}

void
cb_catalog_put_secret_data(const char *name, const CbMap *data)
{
	const char *args[] = {name};

	spi_run("DELETE FROM cnpg_bootstrap.secret_data WHERE secret = $1", 1, args, false);
	for (int i = 0; i < data->n; i++)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, BYTEAOID};
		Datum		values[3];
		const CbKV *kv = &data->items[i];
		int			len = kv->len ? kv->len : (int) strlen(kv->value);

		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(kv->key);
		values[2] = bytea_datum(kv->value, len);
		if (SPI_execute_with_args("INSERT INTO cnpg_bootstrap.secret_data (secret, key, value)"
								  " VALUES ($1, $2, $3)", 3, types, values, NULL,
								  false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store a value of Secret \"%s\"", name);
	}
}

bool
cb_catalog_secret_data_equal(const char *name, const CbMap *data)
{
	CbMap		stored;

	if (!cb_catalog_get_secret(name, &stored) || stored.n != data->n)
		return false;
	for (int i = 0; i < data->n; i++)
	{
		const CbKV *kv = &data->items[i];
		int			len = kv->len ? kv->len : (int) strlen(kv->value);
		bool		same = false;

		for (int j = 0; j < stored.n && !same; j++)
			same = strcmp(stored.items[j].key, kv->key) == 0 &&
				stored.items[j].len == len &&
				memcmp(stored.items[j].value, kv->value, len) == 0;
		if (!same)
			return false;
	}
	return true;
}

char *
cb_catalog_get_configmap_value(const char *name, const char *key)
{
	const char *args[] = {name, key};

	spi_run("SELECT doc -> 'data' ->> $2 FROM cnpg_bootstrap.objects"
			" WHERE kind = 'ConfigMap' AND name = $1", 2, args, true);
	if (SPI_processed == 0)
		return NULL;
	return spi_value(0, 1);
}

bool
cb_catalog_load_secret_tx(const char *name, CbMap *data)
{
	bool		found;

	cb_tx_begin();
	found = cb_catalog_get_secret(name, data);
	cb_tx_commit();
	return found;
}

/*
 * A Secret the cluster generated, with the labels CNPG puts on the Secrets
 * it generates.  A Secret of that name that this cluster did not generate
 * (one the user applied, or another cluster's) is never overwritten: CNPG
 * uses an existing Secret as it is.  Returns false, having written
 * nothing, in that case; the row is checked and written in one statement,
 * so an apply that commits in between cannot be overwritten either.
 */
bool
cb_catalog_store_generated_secret(const char *cluster, const char *name,
								  const char *namespace, const char *type,
								  const char *user_type, const CbMap *data)
{
	StringInfoData doc;
	const char *args[4];
	bool		stored;

	initStringInfo(&doc);
	appendStringInfoString(&doc, "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"type\": ");
	escape_json(&doc, type);
	appendStringInfoString(&doc, ", \"metadata\": {\"name\": ");
	escape_json(&doc, name);
	appendStringInfoString(&doc, ", \"namespace\": ");
	escape_json(&doc, namespace ? namespace : "default");
	appendStringInfoString(&doc, ", \"labels\": {\"cnpg.io/cluster\": ");
	escape_json(&doc, cluster);
	if (user_type)
	{
		appendStringInfoString(&doc, ", \"cnpg.io/userType\": ");
		escape_json(&doc, user_type);
		appendStringInfoString(&doc, ", \"cnpg.io/reload\": \"true\"");
	}
	appendStringInfoString(&doc, ", \"app.kubernetes.io/managed-by\": \"cnpg_bootstrap\"}}}");

	args[0] = name;
	args[1] = namespace ? namespace : "default";
	args[2] = doc.data;
	args[3] = cluster;
	cb_tx_begin();
	spi_run("INSERT INTO cnpg_bootstrap.objects AS o"
			" (kind, name, namespace, doc, generation, generated_by)"
			" VALUES ('Secret', $1, $2, $3::jsonb, 1, $4)"
			" ON CONFLICT (kind, name) DO UPDATE SET namespace = EXCLUDED.namespace,"
			" doc = EXCLUDED.doc, generation = EXCLUDED.generation, updated_at = now()"
			" WHERE o.generated_by = EXCLUDED.generated_by",
			4, args, false);
	stored = SPI_processed > 0;
	if (stored)
		cb_catalog_put_secret_data(name, data);
	cb_tx_commit();
	if (!stored)
		ereport(LOG,
				(errmsg("cnpg_bootstrap: cluster \"%s\": Secret \"%s\" exists and was not generated by this cluster: it is used as it is",
						cluster, name)));
	return stored;
}

/* ---------- clusters ---------- */

CbClusterSpec *
cb_catalog_load_cluster(const char *name, int *generation)
{
	CbStoredObject obj;
	CbManifest *m;
	CbError		err;
	CbStringList existing = {0, NULL};
	MemoryContext old;

	if (!cb_catalog_get_object("Cluster", name, &obj))
		return NULL;
	if (generation)
		*generation = obj.generation;

	old = MemoryContextSwitchTo(out_cxt());
	memset(&err, 0, sizeof(err));
	if (!cb_manifest_parse(obj.doc, strlen(obj.doc), &m, &err) ||
		m->ndocs != 1 ||
		!cb_manifest_validate(m, &existing, &err))
		elog(ERROR, "stored Cluster \"%s\" no longer parses: %s", name,
			 err.message ? err.message : "not one document");
	MemoryContextSwitchTo(old);
	return m->docs[0].cluster;
}

/* ---------- ObjectStores ---------- */

/*
 * A stored ObjectStore's spec.configuration, re-parsed and validated by the
 * model as when it was applied; false if there is none of that name.
 */
bool
cb_catalog_get_objectstore(const char *name, CbObjectStore *out)
{
	CbStoredObject obj;
	CbManifest *m;
	CbError		err;
	MemoryContext old;

	if (!cb_catalog_get_object("ObjectStore", name, &obj))
		return false;
	old = MemoryContextSwitchTo(out_cxt());
	memset(&err, 0, sizeof(err));
	if (!cb_manifest_parse(obj.doc, strlen(obj.doc), &m, &err) ||
		m->ndocs != 1 || m->docs[0].kind != CB_KIND_OBJECTSTORE ||
		!cb_manifest_validate(m, NULL, &err))
		elog(ERROR, "stored ObjectStore \"%s\" no longer parses: %s", name,
			 err.message ? err.message : "not one ObjectStore document");
	MemoryContextSwitchTo(old);
	*out = m->docs[0].objectstore->configuration;
	return true;
}

bool
cb_catalog_load_objectstore_tx(const char *name, CbObjectStore *out)
{
	bool		found;

	cb_tx_begin();
	found = cb_catalog_get_objectstore(name, out);
	cb_tx_commit();
	return found;
}

bool
cb_catalog_cluster_exists(const char *name, bool *bootstrapped, char **phase)
{
	const char *args[] = {name};

	spi_run("SELECT bootstrapped, phase FROM cnpg_bootstrap.clusters WHERE name = $1",
			1, args, true);
	if (SPI_processed == 0)
		return false;
	if (bootstrapped)
		*bootstrapped = strcmp(spi_value(0, 1), "t") == 0;
	if (phase)
		*phase = spi_value(0, 2);
	return true;
}

static const char *const method_names[] = {"initdb", "pg_basebackup", "recovery"};

void
cb_catalog_create_cluster_status(const CbClusterSpec *spec)
{
	char		inst[16];
	const char *args[3];

	snprintf(inst, sizeof(inst), "%d", spec->instances);
	args[0] = spec->name;
	args[1] = inst;
	args[2] = method_names[spec->bootstrap.method];
	spi_run("INSERT INTO cnpg_bootstrap.clusters"
			" (name, phase, phase_reason, instances, bootstrap_method, started_at)"
			" VALUES ($1, 'Setting up primary', 'waiting for the bootstrap worker',"
			" $2::int, $3, now())", 3, args, false);
}

void
cb_catalog_update_cluster_generation(const char *name, int generation, int instances)
{
	char		gen[16],
				inst[16];
	const char *args[3];

	snprintf(gen, sizeof(gen), "%d", generation);
	snprintf(inst, sizeof(inst), "%d", instances);
	args[0] = name;
	args[1] = gen;
	args[2] = inst;
	spi_run("UPDATE cnpg_bootstrap.clusters SET generation = $2::int,"
			" instances = $3::int WHERE name = $1", 3, args, false);
}

/*
 * Forget a Cluster: its rows, its generated Secrets, and hand its directory
 * and ports to the worker through a teardown row.
 *
 * The directory recorded is the one the worker made (its instances' data
 * directories are <directory>/<instance>/pgdata), else <data_root>/<name>
 * resolved while a usable data_root is set, else none: never a path made
 * from an empty data_root.  The worker checks it again, against the
 * data_root in force and our marker, before it stops or removes anything.
 */
void
cb_catalog_delete_cluster(const char *name)
{
	char		root[PATH_MAX];
	const char *args[2];

	args[0] = name;
	/*
	 * Wait for a worker's transaction that is giving the cluster an instance
	 * (its foreign key locks the row): the teardown below must see that
	 * instance's port and directory (specs/delete_worker.spec).
	 */
	spi_run("SELECT 1 FROM cnpg_bootstrap.clusters WHERE name = $1 FOR UPDATE",
			1, args, false);
	args[1] = cb_data_root_problem(root, false) == NULL ? psprintf("%s/%s", root, name) : NULL;
	spi_run("INSERT INTO cnpg_bootstrap.teardown (cluster, directory, ports)"
			" SELECT $1, coalesce((SELECT regexp_replace(data_directory, '/[^/]+/[^/]+$', '')"
			"   FROM cnpg_bootstrap.instances WHERE cluster = $1"
			"    AND data_directory ~ '^/.+/[^/]+/pgdata$' ORDER BY serial LIMIT 1), $2),"
			"  coalesce((SELECT array_agg(port) FROM cnpg_bootstrap.instances"
			"   WHERE cluster = $1 AND port IS NOT NULL), '{}')"
			" ON CONFLICT (cluster) DO UPDATE SET ports = teardown.ports || EXCLUDED.ports,"
			"  refused = NULL, refused_at = NULL",
			2, args, false);
	spi_run("DELETE FROM cnpg_bootstrap.secret_data WHERE secret IN"
			" (SELECT o.name FROM cnpg_bootstrap.objects o"
			"   WHERE o.kind = 'Secret' AND o.generated_by = $1)", 1, args, false);
	spi_run("DELETE FROM cnpg_bootstrap.objects WHERE (kind = 'Secret' AND generated_by = $1)"
			" OR (kind = 'Cluster' AND name = $1)", 1, args, false);
	spi_run("DELETE FROM cnpg_bootstrap.clusters WHERE name = $1", 1, args, false);
}

/*
 * Serialize apply and delete of one object (kind, name) until the end of the
 * transaction: a second apply or delete waits here, then reads what the
 * first committed (specs/apply_apply.spec, apply_delete.spec).  Advisory,
 * in a lock space of our own (two int4 keys), so that a new object, which
 * has no row to lock yet, is covered too.
 */
void
cb_catalog_lock_object(const char *kind, const char *name)
{
	const char *args[] = {kind, name};

	spi_run("SELECT pg_catalog.pg_advisory_xact_lock("
			" pg_catalog.hashtext('cnpg_bootstrap.objects'),"
			" pg_catalog.hashtext($1 || '/' || $2))", 2, args, false);
}

List *
cb_catalog_clusters_needing_work(void)
{
	List	   *names = NIL;
	MemoryContext caller = CurrentMemoryContext;

	cb_tx_begin();
	spi_run("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'cnpg_bootstrap'",
			0, NULL, true);
	if (SPI_processed > 0 && cb_data_root != NULL && cb_data_root[0] != '\0')
	{
		/* a refused teardown is tried again once a minute, not at every tick */
		spi_run("SELECT cluster FROM cnpg_bootstrap.teardown"
				"  WHERE refused_at IS NULL OR refused_at < now() - interval '1 minute'"
				" UNION SELECT name FROM cnpg_bootstrap.clusters"
				"  WHERE phase NOT IN ('Cluster in healthy state', 'Bootstrap failed')"
				" ORDER BY 1", 0, NULL, true);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *n = spi_value(i, 1);
			MemoryContext old = MemoryContextSwitchTo(caller);

			names = lappend(names, n);
			MemoryContextSwitchTo(old);
		}
	}
	cb_tx_commit();
	return names;
}
