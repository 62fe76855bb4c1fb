/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  The SQL functions that change the catalog: cnpg_bootstrap_apply(),
 *	  cnpg_bootstrap_delete(), and cnpg_bootstrap_stop()/_start(), which
 *	  set the state a cluster is to be in (lifecycle.c acts on it).
 *
 * Apply parses, defaults and validates the whole stream first (model), and
 * only then stores, so a rejected manifest leaves nothing behind; it runs in
 * the caller's transaction, and the worker is woken at commit.
 *
 * Manifests carry passwords, and the text of the statement that calls
 * apply holds the manifest.  So, from apply's first line on:
 *	- pg_stat_activity.query and debug_query_string (the STATEMENT line of
 *	  any message, from here or from below, until the statement string
 *	  ends) show a fixed text instead (hide_statement_text);
 *	- the caller's error context callbacks are set aside while apply runs,
 *	  so that no CONTEXT line quotes the calling statement (PL/pgSQL's
 *	  "SQL statement ..."), neither in the log nor to the client;
 *	- every message raised here hides statement and context (errhide()),
 *	  and so does every error from below, re-thrown without its DETAIL and
 *	  CONTEXT, which could quote a value (jsonb's "Token ... is invalid").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "cnpg_bootstrap.h"
#include "catalog.h"
#include "references.h"
#include "spi_exec.h"
#include "worker.h"

PG_FUNCTION_INFO_V1(cnpg_bootstrap_apply);
PG_FUNCTION_INFO_V1(cnpg_bootstrap_delete);
PG_FUNCTION_INFO_V1(cnpg_bootstrap_stop);
PG_FUNCTION_INFO_V1(cnpg_bootstrap_start);

/* what pg_stat_activity and STATEMENT lines show once apply has begun */
static const char hidden_statement[] =
"<cnpg_bootstrap_apply: statement text hidden, it holds a manifest>";

/* set just before apply raises an error of its own (see the PG_CATCH) */
static bool own_error = false;

/* every message of apply: the statement and the context quote the manifest */
static int
errhide(void)
{
	errhidestmt(true);
	return errhidecontext(true);
}

/*
 * Replace the statement text where other sessions (pg_stat_activity) and
 * the log (the STATEMENT line of any later message) would read it.  It
 * stays replaced until the next statement reports its own text: after
 * apply returns, the statement string it came in is still the one that
 * holds the manifest.  The query id is kept.
 */
static void
hide_statement_text(void)
{
	uint64		query_id = pgstat_get_my_query_id();

	pgstat_report_activity(STATE_RUNNING, hidden_statement);
	pgstat_report_query_id(query_id, true);
	debug_query_string = hidden_statement;
}

/* refuse to run outside cnpg_bootstrap.database_name */
static void
check_database(const char *func)
{
	char	   *db = get_database_name(MyDatabaseId);

	if (db == NULL || strcmp(db, cb_database_name) != 0)
	{
		own_error = true;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s must be called in database \"%s\"", func, cb_database_name),
				 errdetail("The bootstrap worker reads the catalog of database \"%s\" only"
						   " (cnpg_bootstrap.database_name).", cb_database_name),
				 errhint("Connect to database \"%s\" and call it there.", cb_database_name),
				 errhide()));
	}
}

static void
raise_model_error(const CbError *err)
{
	own_error = true;
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg_internal("%s", err->message),
			 err->detail ? errdetail_internal("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0,
			 errhide()));
}

/* the document as stored: a Secret's values live in secret_data instead */
static char *
stored_doc_json(const CbDocument *doc)
{
	CbNode		copy;
	int			n = 0;

	if (doc->kind != CB_KIND_SECRET)
		return cb_node_to_json(doc->root);

	copy = *doc->root;
	copy.keys = palloc(sizeof(char *) * Max(copy.nitems, 1));
	copy.items = palloc(sizeof(CbNode *) * Max(copy.nitems, 1));
	for (int i = 0; i < doc->root->nitems; i++)
	{
		if (strcmp(doc->root->keys[i], "data") == 0 ||
			strcmp(doc->root->keys[i], "stringData") == 0)
			continue;
		copy.keys[n] = doc->root->keys[i];
		copy.items[n] = doc->root->items[i];
		n++;
	}
	copy.nitems = n;
	return cb_node_to_json(&copy);
}

static bool
json_equal(const char *a, const char *b)
{
	Datum		da = DirectFunctionCall1(jsonb_in, CStringGetDatum(a));
	Datum		db = DirectFunctionCall1(jsonb_in, CStringGetDatum(b));

	return DatumGetBool(DirectFunctionCall2(jsonb_eq, da, db));
}

/* the spec.bootstrap part of two Cluster documents, compared as jsonb */
static bool
bootstrap_equal(const char *old_doc, const char *new_doc)
{
	CbArg		args[] = {cb_arg_text(old_doc), cb_arg_text(new_doc)};

	if (cb_spi_exec("SELECT ($1::jsonb -> 'spec' -> 'bootstrap')"
					" IS NOT DISTINCT FROM ($2::jsonb -> 'spec' -> 'bootstrap')",
					args, lengthof(args), true) != 1)
		elog(ERROR, "could not compare bootstrap sections");
	return cb_row_bool(0, 1, false);
}

/*
 * CloudNativePG's declarative hibernation: cnpg.io/hibernation "on" stops
 * the cluster, "off" starts it again; 1, 0, or -1 when the annotation is
 * absent (the state cnpg_bootstrap_stop/start set stays).
 */
static int
hibernation_annotation(const CbDocument *doc)
{
	const char *v = cb_map_get(&doc->cluster->annotations, "cnpg.io/hibernation");

	if (v == NULL)
		return -1;
	if (strcmp(v, "on") == 0)
		return 1;
	if (strcmp(v, "off") == 0)
		return 0;
	own_error = true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("Cluster/%s: metadata.annotations[cnpg.io/hibernation]: Unsupported value: \"%s\": supported values: \"on\", \"off\"",
					doc->name, v),
			 errhint("Set the annotation to \"on\" to stop the cluster and keep it stopped, \"off\" to start it again.")));
	return -1;
}

/*
 * Decide created/configured/unchanged for one document and, unless dry,
 * store it.  Returns the action.
 */
static const char *
apply_document_locked(const CbDocument *doc, bool dry_run)
{
	const char *kind = cb_kind_name(doc->kind);
	char	   *json = stored_doc_json(doc);
	CbStoredObject old;
	bool		exists = cb_catalog_get_object(kind, doc->name, &old);
	const char *action;
	const char *namespace = NULL;
	int			hibernation = -1;

	if (!exists)
		action = "created";
	else if (json_equal(old.doc, json) && old.generated_by == NULL &&
			 (doc->kind != CB_KIND_SECRET ||
			  cb_catalog_secret_data_equal(doc->name, &doc->secret->data)))
		action = "unchanged";
	else
		action = "configured";

	if (doc->kind == CB_KIND_CLUSTER && exists && strcmp(action, "configured") == 0)
	{
		bool		bootstrapped = false;

		(void) cb_catalog_cluster_exists(doc->name, &bootstrapped, NULL);
		if (bootstrapped && !bootstrap_equal(old.doc, json))
		{
			own_error = true;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Cluster/%s: spec.bootstrap: Forbidden: the bootstrap section cannot change once the cluster has bootstrapped",
							doc->name),
					 errdetail("Cluster.postgresql.cnpg.io \"%s\" is invalid: spec.bootstrap: Forbidden: bootstrap is immutable after bootstrap.",
							   doc->name),
					 errhint("Apply the manifest with the bootstrap section it was created with, or delete the cluster and apply it again."),
					 errhide()));
		}
	}

	if (doc->kind == CB_KIND_CLUSTER)
		hibernation = hibernation_annotation(doc);

	if (dry_run || strcmp(action, "unchanged") == 0)
		return action;

	switch (doc->kind)
	{
		case CB_KIND_CLUSTER:
			namespace = doc->cluster->namespace;
			break;
		case CB_KIND_SECRET:
			namespace = doc->secret->namespace;
			break;
		case CB_KIND_CONFIGMAP:
			namespace = doc->configmap->namespace;
			break;
		case CB_KIND_OBJECTSTORE:
			namespace = doc->objectstore->namespace;
			break;
	}
	cb_catalog_put_object(kind, doc->name, namespace, json,
						  exists ? old.generation + 1 : 1, NULL);
	if (doc->kind == CB_KIND_SECRET)
		cb_catalog_put_secret_data(doc->name, &doc->secret->data);
	if (doc->kind == CB_KIND_CLUSTER)
	{
		if (!cb_catalog_cluster_exists(doc->name, NULL, NULL))
			cb_catalog_create_cluster_status(doc->cluster);
		else
			cb_catalog_update_cluster_generation(doc->name, old.generation + 1,
												 doc->cluster->instances);
		if (hibernation >= 0)
			(void) cb_catalog_set_hibernation(doc->name, hibernation == 1);
	}
	return action;
}

/*
 * apply_document_locked() once lock_documents() holds the object's lock,
 * reading with a snapshot taken then: the caller's statement snapshot
 * predates the commit of a concurrent apply or delete we waited for, and
 * deciding on it loses that update (a generation counted once for two
 * changes, a document stored without its status row).
 */
static const char *
apply_document(const CbDocument *doc, bool dry_run)
{
	const char *action;

	PushActiveSnapshot(GetTransactionSnapshot());
	action = apply_document_locked(doc, dry_run);
	PopActiveSnapshot();
	return action;
}

static int
int_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return x < y ? -1 : x > y;
}

/*
 * Lock every object of the manifest (cb_catalog_lock_object) before any is
 * read, in one order for all callers (ascending lock keys, each once), so
 * that two manifests naming the same objects in different orders wait for
 * each other instead of deadlocking.
 */
static void
lock_documents(const CbManifest *m)
{
	int		   *keys = palloc(sizeof(int) * Max(m->ndocs, 1));

	for (int i = 0; i < m->ndocs; i++)
		keys[i] = cb_catalog_object_lock_key(cb_kind_name(m->docs[i].kind),
											 m->docs[i].name);
	qsort(keys, m->ndocs, sizeof(int), int_cmp);
	for (int i = 0; i < m->ndocs; i++)
		if (i == 0 || keys[i] != keys[i - 1])
			cb_catalog_lock_object_key(keys[i]);
	pfree(keys);
}

/* two documents of the same kind and name in one stream is ambiguous */
static void
check_duplicates(const CbManifest *m)
{
	for (int i = 0; i < m->ndocs; i++)
		for (int j = 0; j < i; j++)
			if (m->docs[i].kind == m->docs[j].kind &&
				strcmp(m->docs[i].name, m->docs[j].name) == 0)
			{
				own_error = true;
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s/%s: metadata.name: Duplicate value: documents %d and %d have the same kind and name",
								cb_kind_name(m->docs[i].kind), m->docs[i].name, j + 1, i + 1),
						 errhint("Each object may appear once in a manifest."),
						 errhide()));
			}
}

static void
report_notes(const CbDocument *doc)
{
	if (doc->ignored_paths.n > 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (int i = 0; i < doc->ignored_paths.n; i++)
			appendStringInfo(&buf, "%s%s", i ? ", " : "", doc->ignored_paths.items[i]);
		ereport(NOTICE,
				(errmsg("%s/%s: fields accepted but not acted on by cnpg_bootstrap: %s",
						cb_kind_name(doc->kind), doc->name, buf.data),
				 errdetail("They have no meaning on one host; CloudNativePG would use them on Kubernetes."),
				 errhide()));
	}
	for (int i = 0; i < doc->nnotes; i++)
		ereport(NOTICE,
				(errmsg("%s/%s: %s", cb_kind_name(doc->kind), doc->name, doc->notes[i].message),
				 doc->notes[i].detail ? errdetail("%s", doc->notes[i].detail) : 0,
				 doc->notes[i].hint ? errhint("%s", doc->notes[i].hint) : 0,
				 errhide()));
	for (int i = 0; i < doc->warnings.n; i++)
		ereport(WARNING,
				(errmsg("%s/%s: %s", cb_kind_name(doc->kind), doc->name, doc->warnings.items[i]),
				 errhint("The value is stored as given. If it was made with echo, use echo -n (or printf) so that it does not end in a newline: a password with a trailing newline makes logins fail."),
				 errhide()));
}

static void
apply_manifest(FunctionCallInfo fcinfo, const char *text, bool dry_run)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CbManifest *m;
	CbError		err;
	CbStringList existing = {0, NULL};
	List	   *names;
	ListCell   *lc;
	int			i = 0;

	memset(&err, 0, sizeof(err));
	if (!cb_manifest_parse(text, strlen(text), &m, &err))
		raise_model_error(&err);

	cb_spi_connect();
	names = cb_catalog_object_names("Cluster");
	existing.n = list_length(names);
	existing.items = palloc(sizeof(char *) * Max(existing.n, 1));
	foreach(lc, names)
		existing.items[i++] = lfirst(lc);

	if (!cb_manifest_validate(m, &existing, &err))
		raise_model_error(&err);
	check_duplicates(m);
	if (!dry_run)
		lock_documents(m);

	for (i = 0; i < m->ndocs; i++)
	{
		const CbDocument *doc = &m->docs[i];
		const char *action = apply_document(doc, dry_run);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		report_notes(doc);
		values[0] = CStringGetTextDatum(cb_kind_name(doc->kind));
		values[1] = CStringGetTextDatum(doc->name);
		values[2] = CStringGetTextDatum(action);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	cb_spi_finish();

	if (!dry_run)
		cb_wake_launcher_at_commit();
}

Datum
cnpg_bootstrap_apply(PG_FUNCTION_ARGS)
{
	bool		dry_run = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	MemoryContext cxt = CurrentMemoryContext;
	ErrorContextCallback *caller_context = error_context_stack;

	hide_statement_text();
	own_error = false;
	PG_TRY();
	{
		/* the caller's callbacks would quote the calling statement */
		error_context_stack = NULL;
		if (PG_ARGISNULL(0))
		{
			own_error = true;
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("manifest must not be null"),
					 errhide()));
		}
		check_database("cnpg_bootstrap_apply");
		InitMaterializedSRF(fcinfo, 0);
		apply_manifest(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), dry_run);
		error_context_stack = caller_context;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* PG_CATCH has restored error_context_stack */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		edata->hide_ctx = true;
		if (!own_error)
		{
			/* from below (SPI, jsonb): a DETAIL may quote what it read */
			if (edata->detail)
				edata->detail = pstrdup("cnpg_bootstrap_apply does not show the DETAIL of errors from"
										" below it: it could quote a value of the manifest.");
			edata->detail_log = NULL;
			edata->context = NULL;
		}
		own_error = false;
		ReThrowError(edata);
	}
	PG_END_TRY();

	return (Datum) 0;
}

/* ---------- delete ---------- */

static int
kind_from_name(const char *kind)
{
	for (int i = 0; i < CB_NKINDS; i++)
		if (pg_strcasecmp(kind, cb_kind_name(i)) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported kind \"%s\"", kind),
			 errhint("Use one of Cluster, Secret, ConfigMap or ObjectStore.")));
	return -1;
}

/*
 * A Cluster's references, with the Secrets of the ObjectStores it names
 * through the Barman Cloud plugin: those are needed by its recovery too.
 * An ObjectStore not stored (yet) adds nothing.
 */
static CbReferenceList
cluster_references(const CbClusterSpec *spec)
{
	CbReferenceList refs = cb_cluster_references(spec);
	int			n = refs.n;

	for (int i = 0; i < n; i++)
	{
		CbObjectStore os;
		const char *store = refs.items[i].name;

		/* the path reads "<cluster field> -> ObjectStore/<name> <field>" */
		if (refs.items[i].kind == CB_KIND_OBJECTSTORE &&
			cb_catalog_get_objectstore(store, &os))
			cb_object_store_references(&refs, &os,
									   psprintf("%s -> ObjectStore/%s spec.configuration",
												refs.items[i].path, store));
	}
	return refs;
}

/* refuse to delete a Secret/ConfigMap/ObjectStore that a stored Cluster names */
static void
check_not_referenced(CbKind kind, const char *name)
{
	List	   *clusters = cb_catalog_object_names("Cluster");
	ListCell   *lc;

	foreach(lc, clusters)
	{
		const char *cluster = lfirst(lc);
		CbClusterSpec *spec = cb_catalog_load_cluster(cluster, NULL);
		CbReferenceList refs = cluster_references(spec);

		for (int i = 0; i < refs.n; i++)
			if (refs.items[i].kind == kind && strcmp(refs.items[i].name, name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot delete %s \"%s\": Cluster \"%s\" still references it",
								cb_kind_name(kind), name, cluster),
						 errdetail("Cluster/%s names it in %s.", cluster, refs.items[i].path),
						 errhint("Delete the Cluster first, or apply it without the reference.")));
	}
}

Datum
cnpg_bootstrap_delete(PG_FUNCTION_ARGS)
{
	char	   *kind_text = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CbKind		kind = (CbKind) kind_from_name(kind_text);
	bool		found;

	check_database("cnpg_bootstrap_delete");
	cb_spi_connect();
	/* as apply_document(): one at a time, deciding on what is committed */
	cb_catalog_lock_object(cb_kind_name(kind), name);
	PushActiveSnapshot(GetTransactionSnapshot());

	if (kind == CB_KIND_CLUSTER)
	{
		found = cb_catalog_cluster_exists(name, NULL, NULL);
		if (found)
		{
			cb_catalog_delete_cluster(name);
			cb_stop_cluster_worker_at_commit(name);
		}
	}
	else
	{
		check_not_referenced(kind, name);
		found = cb_catalog_delete_object(cb_kind_name(kind), name);
	}
	PopActiveSnapshot();
	cb_spi_finish();
	PG_RETURN_BOOL(found);
}

/* cnpg_bootstrap_stop/start: the wanted state, set under the object's lock */
static bool
set_hibernation(const char *func, const char *name, bool on)
{
	bool		was = false;
	int			observed;

	check_database(func);
	cb_spi_connect();
	cb_catalog_lock_object("Cluster", name);
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!cb_catalog_cluster_exists(name, NULL, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("cluster \"%s\" does not exist", name),
				 errhint("See cnpg_bootstrap_status() for the clusters there are.")));
	cb_catalog_cluster_lifecycle(name, &observed, &was, NULL);
	(void) cb_catalog_set_hibernation(name, on);
	PopActiveSnapshot();
	cb_spi_finish();
	cb_wake_launcher_at_commit();
	return was != on;
}

Datum
cnpg_bootstrap_stop(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(set_hibernation("cnpg_bootstrap_stop",
								   text_to_cstring(PG_GETARG_TEXT_PP(0)), true));
}

Datum
cnpg_bootstrap_start(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(set_hibernation("cnpg_bootstrap_start",
								   text_to_cstring(PG_GETARG_TEXT_PP(0)), false));
}
