/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Defaulting and admission checks of the documents of a manifest, done
 *	  the way CloudNativePG's webhooks and the Kubernetes API server do them.
 *
 * A Cluster goes through the steps it would meet on Kubernetes
 * (docs/cnpg-rules.md §0): defaulting (section 2), then the CRD's schema
 * and CEL rules (section 3.1), then, only if those passed, the checks of
 * CloudNativePG's validating webhook (section 3.2) in the webhook's order.
 * Every check of a step runs and its errors are collected, because
 * Kubernetes reports a list: the first error names the field in errmsg,
 * errdetail carries the whole list in the API server's words, so that a
 * user who takes the manifest to Kubernetes meets the same text.  Secrets
 * and ConfigMaps get the API server's checks of object names and data keys
 * (docs/design.md §5: names become paths).
 *
 * Bad values are printed as Go's field errors print them: strings with %q,
 * integers plain, lists and structs with %#v; but the value of a
 * parameter, an initdb option or a connection parameter is never printed
 * (Kubernetes' omitted value), because it may be a secret.  Two liberties: where Go
 * prints the address held by a pointer field we print what it points to,
 * and the long ExternalCluster and VolumeSnapshot structs are abbreviated.
 *
 * This file is the driver: the collected field errors, the order the
 * checks run in, and the error a rejected document raises.  The rest is
 * split by concern (validate_int.h declares what they share):
 * validate_defaults.c (defaulting), validate_schema.c (object names, schema
 * and CEL), validate_webhook.c (the webhook's items), validate_params.c
 * (spec.postgresql.parameters), validate_values.c (small parsers),
 * validate_gofmt.c (Go's formatting of bad values) and config_writer.c
 * (configuration text from a validated spec).
 *
 * Like the rest of the model (see model.h) these files are pure: palloc,
 * psprintf and StringInfo only, no ereport, no qsort/snprintf from
 * libpgport, so that the fuzz target links them against fuzz/pgshim.c.
 *
 * IDENTIFICATION
 *	  src/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stddef.h>

#include "lib/stringinfo.h"
#include "model.h"
#include "promotion_token.h"
#include "validate_bootstrap.h"
#include "validate_input.h"
#include "validate_int.h"


/* ---------- collected field errors ---------- */

static const char *const field_error_words[] = {
	[CB_FIELD_INVALID] = "Invalid value",
	[CB_FIELD_REQUIRED] = "Required value",
	[CB_FIELD_FORBIDDEN] = "Forbidden",
	[CB_FIELD_UNSUPPORTED] = "Unsupported value"
};

void
cb_add_field_error(CbFieldErrors *errors, CbFieldErrorType type, const char *path,
				   const char *value, const char *detail, const char *hint)
{
	CbFieldError *e;

	if (errors->n == errors->cap)
	{
		errors->cap = errors->cap ? errors->cap * 2 : 8;
		errors->items = errors->items
			? repalloc(errors->items, errors->cap * sizeof(CbFieldError))
			: palloc(errors->cap * sizeof(CbFieldError));
	}
	e = &errors->items[errors->n++];
	e->type = type;
	e->path = path;
	e->value = value;
	e->detail = detail;
	e->hint = hint;
}

/* how validate_input.c's rules report: Forbidden prints no value */
void
cb_report_forbidden(void *arg, const char *path, const char *detail,
					const char *hint)
{
	forbidden((CbValidation *) arg, path, detail, hint);
}

/* "<path>: <Type>[: <value>][: <detail>]", field.Error.Error() */
static char *
field_error_text(const CbFieldError *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s: %s", e->path, field_error_words[e->type]);
	if (e->value != NULL)
		appendStringInfo(&buf, ": %s", e->value);
	if (!str_empty(e->detail))
		appendStringInfo(&buf, ": %s", e->detail);
	return buf.data;
}

/* one host cannot do what CloudNativePG accepts here (validate_bootstrap.c) */
static void
check_host_bootstrap(CbValidation *v)
{
	cb_check_host_bootstrap(v->spec, cb_report_forbidden, v);
}


/* the API server's checks, in the order it reports them */
static const CbCheck schema_checks[] = {
	cb_schema_spec,
	cb_schema_bootstrap,
	cb_schema_external_clusters,
};

/* CloudNativePG's validate(), in its order */
static const CbCheck webhook_checks[] = {
	cb_check_initdb,			/* items 1-3 */
	cb_check_recovery_database,	/* item 1 */
	cb_check_pg_basebackup_database, /* item 1 */
	cb_check_import,			/* item 4 */
	cb_check_superuser_secret,	/* item 5 */
	cb_check_certificates,		/* item 6 */
	cb_check_bootstrap_method,	/* item 7 */
	cb_check_image_name,		/* item 8 */
	cb_check_recovery_target,	/* item 9 */
	cb_check_sync_replicas,		/* item 10 */
	cb_check_storage,			/* item 11 */
	cb_check_name,				/* item 12 */
	cb_check_pg_basebackup_source, /* item 13 */
	cb_check_recovery_source,	/* item 14 */
	cb_check_recovery_data_source, /* item 15 */
	cb_check_external_clusters,	/* item 16 */
	cb_check_replica_mode,		/* item 17 */
	cb_check_configuration,		/* item 18 */
	cb_check_promotion_token,	/* item 19 */
	check_host_bootstrap,		/* ours, after CloudNativePG's */
};


/* ---------- documents ---------- */

static void
run_checks(CbValidation *v, const CbCheck *checks, int nchecks)
{
	int			i;

	for (i = 0; i < nchecks; i++)
		checks[i] (v);
}

/*
 * Default a Cluster, then check it as Kubernetes would: object metadata,
 * schema and CEL; the webhook only if those passed.
 */
static void
validate_cluster(CbClusterSpec *spec, const CbStringList *existing_clusters,
				 CbFieldErrors *errors)
{
	CbValidation v = {0};
	const CbBootstrap *b = &spec->bootstrap;

	v.spec = spec;
	v.existing_clusters = existing_clusters;
	v.user_parameters = spec->parameters;
	v.bootstrap_methods = Max(spec->bootstrap_methods_written,
							  b->initdb.present + b->recovery.present +
							  b->pg_basebackup.present);
	/* defaulting fills spec.bootstrap: the webhook never sees it nil */
	v.bootstrap_written = true;

	cb_default_cluster(spec);
	cb_check_object_meta(&v.errors, spec->name, spec->namespace);
	run_checks(&v, schema_checks, NELEM(schema_checks));
	if (v.errors.n == 0)
		run_checks(&v, webhook_checks, NELEM(webhook_checks));
	if (v.errors.n == 0)
		cb_check_replica_rules(spec, cb_report_forbidden, &v);
	*errors = v.errors;
}

/*
 * An ObjectStore: object metadata, then its configuration as a Cluster's
 * barmanObjectStore is checked, plus the CRD's CEL rule against serverName
 * (the plugin takes it from the Cluster's plugin parameters).
 */
static void
validate_objectstore(CbObjectStoreDoc *os, CbFieldErrors *errors)
{
	CbValidation v = {0};

	if (str_empty(os->namespace))
		os->namespace = pstrdup("default");
	cb_check_object_meta(&v.errors, os->name, os->namespace);
	cb_schema_cel(&v, os->configuration.server_name == NULL, "spec.configuration",
				  "use the 'serverName' plugin parameter in the Cluster resource",
				  "Remove spec.configuration.serverName; give serverName in the Cluster's "
				  "externalClusters[].plugin.parameters instead.");
	cb_schema_object_store(&v, &os->configuration, "spec.configuration");
	*errors = v.errors;
}

/*
 * The first error names the document and the field in errmsg; errdetail is
 * the API server's rejection with every error, duplicates removed as
 * Kubernetes does; errhint says what the first field allows.
 */
static void
report_errors(CbError *err, const CbDocument *doc, const char *name,
			  const CbFieldErrors *errors)
{
	const CbFieldError *first = &errors->items[0];
	char	  **texts = palloc(errors->n * sizeof(char *));
	int			ntexts = 0;
	StringInfoData detail;
	int			i;
	int			k;

	for (i = 0; i < errors->n; i++)
	{
		char	   *text = field_error_text(&errors->items[i]);

		for (k = 0; k < ntexts && strcmp(texts[k], text) != 0; k++)
			;
		if (k == ntexts)
			texts[ntexts++] = text;
	}
	initStringInfo(&detail);
	appendStringInfo(&detail, "%s ", cb_kind_resource(doc->kind));
	cb_append_go_quoted(&detail, name);
	appendStringInfoString(&detail, " is invalid: ");
	if (ntexts > 1)
		appendStringInfoChar(&detail, '[');
	for (i = 0; i < ntexts; i++)
		appendStringInfo(&detail, "%s%s", i ? ", " : "", texts[i]);
	if (ntexts > 1)
		appendStringInfoChar(&detail, ']');

	err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
	err->message = psprintf("%s: %s: %s",
							str_empty(name)
							? psprintf("%s (document %d)", cb_kind_name(doc->kind),
									   doc->index + 1)
							: psprintf("%s/%s", cb_kind_name(doc->kind), name),
							first->path,
							str_empty(first->detail)
							? field_error_words[first->type] : first->detail);
	err->detail = detail.data;
	err->hint = first->hint ? pstrdup(first->hint) : NULL;
}

/*
 * Default and validate every document of the manifest, in stream order.
 * The first document with errors stops the walk: err describes it and the
 * result is false.  Secrets referenced by a Cluster need not exist yet;
 * they are looked up when the cluster bootstraps.
 */
bool
cb_manifest_validate(CbManifest *manifest, const CbStringList *existing_clusters,
					 CbError *err)
{
	int			d;

	for (d = 0; d < manifest->ndocs; d++)
	{
		CbDocument *doc = &manifest->docs[d];
		CbFieldErrors errors = {0};
		const char *name = doc->name;

		if (doc->kind == CB_KIND_CLUSTER && doc->cluster != NULL)
		{
			validate_cluster(doc->cluster, existing_clusters, &errors);
			cb_bootstrap_notes(doc->cluster, doc);
			name = doc->cluster->name;
		}
		else if (doc->kind == CB_KIND_SECRET && doc->secret != NULL)
		{
			if (str_empty(doc->secret->namespace))
				doc->secret->namespace = pstrdup("default");
			cb_check_object_meta(&errors, doc->secret->name, doc->secret->namespace);
			cb_check_data_keys(&errors, &doc->secret->data);
			name = doc->secret->name;
		}
		else if (doc->kind == CB_KIND_CONFIGMAP && doc->configmap != NULL)
		{
			if (str_empty(doc->configmap->namespace))
				doc->configmap->namespace = pstrdup("default");
			cb_check_object_meta(&errors, doc->configmap->name,
								 doc->configmap->namespace);
			cb_check_data_keys(&errors, &doc->configmap->data);
			name = doc->configmap->name;
		}
		else if (doc->kind == CB_KIND_OBJECTSTORE && doc->objectstore != NULL)
			validate_objectstore(doc->objectstore, &errors);
		if (errors.n > 0)
		{
			report_errors(err, doc, name, &errors);
			return false;
		}
	}
	return true;
}
