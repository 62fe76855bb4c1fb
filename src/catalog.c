/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The control instance's catalog (schema cnpg_bootstrap) as apply,
 *	  delete and the worker's readers see it: stored objects, Secret values,
 *	  ConfigMap keys, the clusters row apply makes, a deleted Cluster's
 *	  teardown row, the launcher's list of clusters needing work.
 *
 * With status.c (the worker's writes), the only files that know the
 * catalog's table layout besides the install script; both run every
 * statement through spi_exec.c, with typed bound parameters: names,
 * documents and phases never reach SQL text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "common/hashfn.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "cnpg_bootstrap.h"
#include "catalog.h"
#include "journal.h"
#include "ownership.h"
#include "spi_exec.h"

bool
cb_catalog_get_object(const char *kind, const char *name, CbStoredObject *obj)
{
	CbArg		args[] = {cb_arg_text(kind), cb_arg_text(name)};
	char	   *doc;
	MemoryContext old;

	if (cb_spi_exec("SELECT doc::text, generation, generated_by FROM cnpg_bootstrap.objects"
					" WHERE kind = $1 AND name = $2", args, lengthof(args), true) == 0)
		return false;
	doc = cb_row_text(0, 1);
	/* what jsonb prints raw but YAML takes only escaped, escaped */
	old = MemoryContextSwitchTo(cb_spi_result_cxt());
	obj->doc = cb_stored_json_for_yaml(doc);
	MemoryContextSwitchTo(old);
	pfree(doc);
	obj->generation = cb_row_int4(0, 2, 0);
	obj->generated_by = cb_row_text(0, 3);
	return true;
}

void
cb_catalog_put_object(const char *kind, const char *name, const char *namespace,
					  const char *doc, int generation, const char *generated_by)
{
	CbArg		args[] = {cb_arg_text(kind), cb_arg_text(name),
		cb_arg_text(namespace ? namespace : "default"), cb_arg_text(doc),
	cb_arg_int4(generation), cb_arg_text(generated_by)};

	cb_spi_exec("INSERT INTO cnpg_bootstrap.objects AS o"
				" (kind, name, namespace, doc, generation, generated_by)"
				" VALUES ($1, $2, $3, $4::jsonb, $5, $6)"
				" ON CONFLICT (kind, name) DO UPDATE SET namespace = EXCLUDED.namespace,"
				" doc = EXCLUDED.doc, generation = EXCLUDED.generation,"
				" generated_by = EXCLUDED.generated_by, updated_at = now()",
				args, lengthof(args), false);
}

bool
cb_catalog_delete_object(const char *kind, const char *name)
{
	CbArg		args[] = {cb_arg_text(kind), cb_arg_text(name)};

	if (cb_spi_exec("DELETE FROM cnpg_bootstrap.objects WHERE kind = $1 AND name = $2",
					args, lengthof(args), false) == 0)
		return false;
	if (strcmp(kind, "Secret") == 0)
		cb_spi_exec("DELETE FROM cnpg_bootstrap.secret_data WHERE secret = $1",
					&args[1], 1, false);
	return true;
}

List *
cb_catalog_object_names(const char *kind)
{
	CbArg		args[] = {cb_arg_text(kind)};

	cb_spi_exec("SELECT name FROM cnpg_bootstrap.objects WHERE kind = $1 ORDER BY name",
				args, lengthof(args), true);
	return cb_rows_text(1);
}

/* ---------- Secret values ---------- */

bool
cb_catalog_get_secret(const char *name, CbMap *data)
{
	CbArg		args[] = {cb_arg_text(name)};

	if (cb_spi_exec("SELECT 1 FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name = $1",
					args, lengthof(args), true) == 0)
		return false;

	data->n = (int) cb_spi_exec("SELECT key, value FROM cnpg_bootstrap.secret_data"
								" WHERE secret = $1 ORDER BY key",
								args, lengthof(args), true);
	data->items = MemoryContextAllocZero(cb_spi_result_cxt(),
										 sizeof(CbKV) * Max(data->n, 1));
	for (int i = 0; i < data->n; i++)
	{
		data->items[i].key = cb_row_text(i, 1);
		data->items[i].value = cb_row_bytea(i, 2, &data->items[i].len);
	}
	return true;
}

void
cb_catalog_put_secret_data(const char *name, const CbMap *data)
{
	CbArg		args[] = {cb_arg_text(name)};

	cb_spi_exec("DELETE FROM cnpg_bootstrap.secret_data WHERE secret = $1",
				args, lengthof(args), false);
	for (int i = 0; i < data->n; i++)
	{
		const CbKV *kv = &data->items[i];
		int			len = kv->len ? kv->len : (int) strlen(kv->value);
		CbArg		row[] = {cb_arg_text(name), cb_arg_text(kv->key),
		cb_arg_bytea(kv->value, len)};

		if (cb_spi_exec("INSERT INTO cnpg_bootstrap.secret_data (secret, key, value)"
						" VALUES ($1, $2, $3)", row, lengthof(row), false) != 1)
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
	CbArg		args[] = {cb_arg_text(name), cb_arg_text(key)};

	if (cb_spi_exec("SELECT doc -> 'data' ->> $2 FROM cnpg_bootstrap.objects"
					" WHERE kind = 'ConfigMap' AND name = $1", args, lengthof(args), true) == 0)
		return NULL;
	return cb_row_text(0, 1);
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

	cb_tx_begin();
	/*
	 * apply's lock on the object: an apply of the same Secret waits for
	 * this write and then decides on it (configured, generation 2), as
	 * it would after another apply (specs/secret_worker.spec)
	 */
	cb_catalog_lock_object("Secret", name);
	{
		CbArg		args[] = {cb_arg_text(name),
			cb_arg_text(namespace ? namespace : "default"), cb_arg_text(doc.data),
		cb_arg_text(cluster)};

		stored = cb_spi_exec("INSERT INTO cnpg_bootstrap.objects AS o"
							 " (kind, name, namespace, doc, generation, generated_by)"
							 " VALUES ('Secret', $1, $2, $3::jsonb, 1, $4)"
							 " ON CONFLICT (kind, name) DO UPDATE SET namespace = EXCLUDED.namespace,"
							 " doc = EXCLUDED.doc, generation = EXCLUDED.generation, updated_at = now()"
							 " WHERE o.generated_by = EXCLUDED.generated_by",
							 args, lengthof(args), false) > 0;
	}
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

	old = MemoryContextSwitchTo(cb_spi_result_cxt());
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
	old = MemoryContextSwitchTo(cb_spi_result_cxt());
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
	CbArg		args[] = {cb_arg_text(name)};

	if (cb_spi_exec("SELECT bootstrapped, phase FROM cnpg_bootstrap.clusters WHERE name = $1",
					args, lengthof(args), true) == 0)
		return false;
	if (bootstrapped)
		*bootstrapped = cb_row_bool(0, 1, false);
	if (phase)
		*phase = cb_row_text(0, 2);
	return true;
}

static const char *const method_names[] = {"initdb", "pg_basebackup", "recovery"};

void
cb_catalog_create_cluster_status(const CbClusterSpec *spec)
{
	CbArg		args[] = {cb_arg_text(spec->name), cb_arg_text(CB_PHASE_SETTING_UP),
		cb_arg_text("waiting for the bootstrap worker"), cb_arg_int4(spec->instances),
	cb_arg_text(method_names[spec->bootstrap.method])};

	/* clock_timestamp(): the clusters of one manifest start in its order */
	cb_spi_exec("INSERT INTO cnpg_bootstrap.clusters"
				" (name, phase, phase_reason, instances, bootstrap_method, started_at)"
				" VALUES ($1, $2, $3, $4, $5, clock_timestamp())", args, lengthof(args), false);
}

/*
 * What the worker needs to know of a cluster besides its spec: the
 * generation last brought to healthy (0 before the first time), whether
 * it is to be stopped, and its phase.
 */
void
cb_catalog_cluster_lifecycle(const char *name, int *observed_generation, bool *hibernation,
							 char **phase)
{
	CbArg		args[] = {cb_arg_text(name)};

	*observed_generation = 0;
	*hibernation = false;
	if (phase)
		*phase = NULL;
	if (cb_spi_exec("SELECT observed_generation, hibernation, phase FROM cnpg_bootstrap.clusters"
					" WHERE name = $1", args, lengthof(args), true) == 0)
		return;
	*observed_generation = cb_row_int4(0, 1, 0);
	*hibernation = cb_row_bool(0, 2, false);
	if (phase)
		*phase = cb_row_text(0, 3);
}

/* false if there is no such cluster */
bool
cb_catalog_set_hibernation(const char *name, bool on)
{
	CbArg		args[] = {cb_arg_text(name), cb_arg_bool(on)};

	return cb_spi_exec("UPDATE cnpg_bootstrap.clusters SET hibernation = $2 WHERE name = $1",
					   args, lengthof(args), false) > 0;
}

void
cb_catalog_update_cluster_generation(const char *name, int generation, int instances)
{
	CbArg		args[] = {cb_arg_text(name), cb_arg_int4(generation),
	cb_arg_int4(instances)};

	cb_spi_exec("UPDATE cnpg_bootstrap.clusters SET generation = $2,"
				" instances = $3 WHERE name = $1", args, lengthof(args), false);
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
	CbArg		args[2];

	args[0] = cb_arg_text(name);
	/*
	 * Wait for a worker's transaction that is giving the cluster an instance
	 * (its foreign key locks the row): the teardown below must see that
	 * instance's port and directory (specs/delete_worker.spec).
	 */
	cb_spi_exec("SELECT 1 FROM cnpg_bootstrap.clusters WHERE name = $1 FOR UPDATE",
				args, 1, false);
	args[1] = cb_arg_text(cb_data_root_problem(root, false) == NULL ?
						  psprintf("%s/%s", root, name) : NULL);
	cb_spi_exec("INSERT INTO cnpg_bootstrap.teardown (cluster, directory, ports)"
				" SELECT $1, coalesce((SELECT regexp_replace(data_directory, '/[^/]+/[^/]+$', '')"
				"   FROM cnpg_bootstrap.instances WHERE cluster = $1"
				"    AND data_directory ~ '^/.+/[^/]+/pgdata$' ORDER BY serial LIMIT 1), $2),"
				"  coalesce((SELECT array_agg(port) FROM cnpg_bootstrap.instances"
				"   WHERE cluster = $1 AND port IS NOT NULL), '{}')"
				" ON CONFLICT (cluster) DO UPDATE SET ports = teardown.ports || EXCLUDED.ports,"
				"  refused = NULL, refused_at = NULL",
				args, 2, false);
	cb_spi_exec("DELETE FROM cnpg_bootstrap.secret_data WHERE secret IN"
				" (SELECT o.name FROM cnpg_bootstrap.objects o"
				"   WHERE o.kind = 'Secret' AND o.generated_by = $1)", args, 1, false);
	cb_spi_exec("DELETE FROM cnpg_bootstrap.objects WHERE (kind = 'Secret' AND generated_by = $1)"
				" OR (kind = 'Cluster' AND name = $1)", args, 1, false);
	cb_spi_exec("DELETE FROM cnpg_bootstrap.clusters WHERE name = $1", args, 1, false);
}

/*
 * Serialize apply and delete of one object (kind, name) until the end of the
 * transaction: a second apply or delete waits here, then reads what the
 * first committed (specs/apply_apply.spec, apply_delete.spec).  Advisory,
 * in a lock space of our own (two int4 keys), so that a new object, which
 * has no row to lock yet, is covered too.
 *
 * An object's lock is one of CB_OBJECT_LOCK_BUCKETS, chosen by a hash of
 * kind and name, so that a manifest of any length holds at most that many
 * locks: one per object would fill the shared lock table, which every
 * session of the control instance shares ("out of shared memory" for them
 * all), with a few thousand objects.  Two objects in one bucket only wait
 * for each other.
 */
int
cb_catalog_object_lock_key(const char *kind, const char *name)
{
	char	   *key = psprintf("%s/%s", kind, name);
	uint32		h = hash_bytes((const unsigned char *) key, strlen(key));

	pfree(key);
	return (int) (h % CB_OBJECT_LOCK_BUCKETS);
}

void
cb_catalog_lock_object_key(int key)
{
	CbArg		args[] = {cb_arg_int4(key)};

	cb_spi_exec("SELECT pg_catalog.pg_advisory_xact_lock("
				" pg_catalog.hashtext('cnpg_bootstrap.objects'), $1)",
				args, lengthof(args), false);
}

void
cb_catalog_lock_object(const char *kind, const char *name)
{
	cb_catalog_lock_object_key(cb_catalog_object_lock_key(kind, name));
}

List *
cb_catalog_clusters_needing_work(void)
{
	List	   *names = NIL;
	CbArg		done[] = {cb_arg_text(CB_PHASE_HEALTHY), cb_arg_text(CB_PHASE_FAILED),
	cb_arg_text(CB_PHASE_HIBERNATED)};

	cb_tx_begin();
	if (cb_spi_exec("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'cnpg_bootstrap'",
					NULL, 0, true) > 0 &&
		cb_data_root != NULL && cb_data_root[0] != '\0')
	{
		/*
		 * Oldest request first: the launcher starts workers in this order
		 * while slots are free, so a cluster waits for those applied (or
		 * deleted) before it, never for names that sort before its own.  A
		 * refused teardown is tried again once a minute, not at every tick.
		 * After bootstrap a cluster needs work when its spec was applied
		 * again, it is to be stopped or started, or supervise.c found an
		 * instance down (the phase then says so); not while an instance
		 * that keeps stopping waits for its next restart.
		 */
		cb_spi_exec("SELECT name FROM ("
					" SELECT cluster AS name, requested_at AS since FROM cnpg_bootstrap.teardown"
					"  WHERE refused_at IS NULL OR refused_at < now() - interval '1 minute'"
					" UNION ALL SELECT c.name, c.started_at FROM cnpg_bootstrap.clusters c"
					"  WHERE (c.phase NOT IN ($1, $2, $3)"
					"     OR (c.phase = $1 AND (c.observed_generation < c.generation OR c.hibernation))"
					"     OR (c.phase = $3 AND NOT c.hibernation))"
					"    AND NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.instances i"
					"     WHERE i.cluster = c.name AND i.next_restart > now())) AS w"
					" GROUP BY name ORDER BY min(since), name", done, lengthof(done), true);
		/* copied into the caller's context (cb_tx_begin's) */
		names = cb_rows_text(1);
	}
	cb_tx_commit();
	return names;
}
