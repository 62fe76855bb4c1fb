/*-------------------------------------------------------------------------
 *
 * validate_schema.c
 *	  The API server's checks: object names and data keys of every document,
 *	  and the CRD's schema and CEL rules of a Cluster and an ObjectStore.
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_input.h"
#include "validate_int.h"


/* ---------- Kubernetes names ---------- */

#define DNS1123_SUBDOMAIN_ERROR \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
	"characters, '-' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define DNS1123_LABEL_ERROR \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric " \
	"characters or '-', and must start and end with an alphanumeric " \
	"character (e.g. 'my-name',  or '123-abc', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define CONFIG_KEY_ERROR \
	"a valid config key must consist of alphanumeric characters, '-', '_' " \
	"or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used " \
	"for validation is '[-._a-zA-Z0-9]+')"

#define HINT_OBJECT_NAME \
	"Object names are lower case letters, digits, '-' and '.', start and " \
	"end with a letter or digit, and are at most 253 characters long."
#define HINT_NAMESPACE \
	"A namespace is lower case letters, digits and '-', starts and ends " \
	"with a letter or digit, and is at most 63 characters long."


/*
 * One DNS label of len bytes: lower case letters, digits and '-', not
 * starting or ending with '-' (DNS-1035 also refuses a leading digit).
 */
bool
cb_is_dns_label(const char *s, size_t len, bool dns1035)
{
	size_t		i;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-' ||
		(dns1035 && cb_is_digit(s[0])))
		return false;
	for (i = 0; i < len; i++)
		if (!cb_is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* RFC 1123 labels joined by dots; the caller checks the length (253) */
bool
cb_is_dns_subdomain(const char *s)
{
	const char *dot;

	while ((dot = strchr(s, '.')) != NULL)
	{
		if (!cb_is_dns_label(s, dot - s, false))
			return false;
		s = dot + 1;
	}
	return cb_is_dns_label(s, strlen(s), false);
}

/* the API server's checks of metadata.name and metadata.namespace */
void
cb_check_object_meta(CbFieldErrors *errors, const char *name,
					 const char *namespace)
{
	if (str_empty(name))
		cb_add_field_error(errors, CB_FIELD_REQUIRED, "metadata.name", NULL,
						   "name or generateName is required", HINT_OBJECT_NAME);
	else
	{
		if (strlen(name) > 253)
			cb_add_field_error(errors, CB_FIELD_INVALID, "metadata.name",
							   cb_go_quote(name), "must be no more than 253 characters",
							   HINT_OBJECT_NAME);
		if (!cb_is_dns_subdomain(name))
			cb_add_field_error(errors, CB_FIELD_INVALID, "metadata.name",
							   cb_go_quote(name), DNS1123_SUBDOMAIN_ERROR,
							   HINT_OBJECT_NAME);
	}
	if (str_empty(namespace))
		return;
	if (strlen(namespace) > 63)
		cb_add_field_error(errors, CB_FIELD_INVALID, "metadata.namespace",
						   cb_go_quote(namespace), "must be no more than 63 characters",
						   HINT_NAMESPACE);
	if (!cb_is_dns_label(namespace, strlen(namespace), false))
		cb_add_field_error(errors, CB_FIELD_INVALID, "metadata.namespace",
						   cb_go_quote(namespace), DNS1123_LABEL_ERROR, HINT_NAMESPACE);
}

/* IsConfigMapKey, for the keys of Secret and ConfigMap data */
void
cb_check_data_keys(CbFieldErrors *errors, const CbMap *data)
{
	const char *hint = "Data keys are letters, digits, '-', '_' and '.', "
		"at most 253 characters, and not \".\" or \"..\".";
	int			i;

	for (i = 0; i < data->n; i++)
	{
		const char *key = data->items[i].key ? data->items[i].key : "";
		char	   *path = psprintf("data[%s]", key);
		const char *p;

		if (strlen(key) > 253)
			cb_add_field_error(errors, CB_FIELD_INVALID, path, cb_go_quote(key),
							   "must be no more than 253 characters", hint);
		for (p = key; *p; p++)
			if (!(cb_is_lower_alnum(*p) || (*p >= 'A' && *p <= 'Z') ||
				  *p == '-' || *p == '_' || *p == '.'))
				break;
		if (*key == '\0' || *p != '\0')
			cb_add_field_error(errors, CB_FIELD_INVALID, path, cb_go_quote(key),
							   CONFIG_KEY_ERROR, hint);
		else if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
			cb_add_field_error(errors, CB_FIELD_INVALID, path, cb_go_quote(key),
							   psprintf("must not be '%s'", key), hint);
		else if (strncmp(key, "..", 2) == 0)
			cb_add_field_error(errors, CB_FIELD_INVALID, path, cb_go_quote(key),
							   "must not start with '..'", hint);
	}
}


/* ---------- schema and CEL rules (docs/cnpg-rules.md §3.1) ---------- */

/* integer bounds, "<path> in body should be ..." as the API server says */
static void
schema_bounds(CbValidation *v, const char *path, int64 value, int64 minimum,
			  int64 maximum)
{
	const char *hint = maximum == PG_INT64_MAX
		? psprintf("%s must be at least " INT64_FORMAT ".", path, minimum)
		: psprintf("%s must be between " INT64_FORMAT " and " INT64_FORMAT ".",
				   path, minimum, maximum);

	if (value < minimum)
		invalid(v, path, cb_go_int(value),
				psprintf("%s in body should be greater than or equal to " INT64_FORMAT,
						 path, minimum), hint);
	else if (value > maximum)
		invalid(v, path, cb_go_int(value),
				psprintf("%s in body should be less than or equal to " INT64_FORMAT,
						 path, maximum), hint);
}

static void
schema_required_string(CbValidation *v, const char *path, const char *value,
					   bool min_length_1)
{
	if (value == NULL)
		required(v, path, NULL, psprintf("Set %s.", path));
	else if (min_length_1 && value[0] == '\0')
		invalid(v, path, cb_go_quote(value),
				psprintf("%s in body should be at least 1 chars long", path),
				psprintf("%s must not be empty.", path));
}

/* the CRD's enums, each list NULL-terminated */
static const char *const log_levels[] = {
	"error", "warning", "info", "debug", "trace", NULL
};
static const char *const import_types[] = {"microservice", "monolith", NULL};
static const char *const wal_compressions[] = {
	"bzip2", "gzip", "lz4", "snappy", "xz", "zstd", NULL
};
static const char *const data_compressions[] = {
	"bzip2", "gzip", "lz4", "snappy", NULL
};

static void
schema_enum(CbValidation *v, const char *path, const char *value,
			const char *const *allowed)
{
	StringInfoData detail;
	StringInfoData hint;
	int			i;

	if (value == NULL)
		return;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(value, allowed[i]) == 0)
			return;
	initStringInfo(&detail);
	initStringInfo(&hint);
	appendStringInfoString(&detail, "supported values: ");
	appendStringInfo(&hint, "%s is one of: ", path);
	for (i = 0; allowed[i] != NULL; i++)
	{
		appendStringInfo(&detail, "%s\"%s\"", i ? ", " : "", allowed[i]);
		appendStringInfo(&hint, "%s%s", i ? ", " : "", allowed[i]);
	}
	appendStringInfoChar(&hint, '.');
	cb_add_field_error(&v->errors, CB_FIELD_UNSUPPORTED, path, cb_go_quote(value),
					   detail.data, hint.data);
}

/* CEL rules are reported against the object, whose value shows as "object" */
void
cb_schema_cel(CbValidation *v, bool ok, const char *path, const char *message,
			  const char *hint)
{
	if (!ok)
		invalid(v, path, cb_go_quote("object"), message, hint);
}

void
cb_schema_spec(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;

	cb_schema_cel(v, !(spec->image_name != NULL && spec->has_image_catalog_ref),
				  "spec", "imageName and imageCatalogRef are mutually exclusive",
				  "Give either spec.imageName or spec.imageCatalogRef, not both.");
	schema_bounds(v, "spec.instances", spec->instances, 1, PG_INT64_MAX);
	schema_bounds(v, "spec.maxSyncReplicas", spec->max_sync_replicas, 0,
				  PG_INT64_MAX);
	schema_bounds(v, "spec.minSyncReplicas", spec->min_sync_replicas, 0,
				  PG_INT64_MAX);
	schema_enum(v, "spec.logLevel", spec->log_level, log_levels);
	if (spec->has_superuser_secret)
		schema_required_string(v, "spec.superuserSecret.name",
							   spec->superuser_secret_name, false);
	if (spec->replica.present)
		schema_required_string(v, "spec.replica.source", spec->replica.source,
							   true);
}

static void
schema_initdb_locales(CbValidation *v, const CbInitdb *initdb)
{
	const char *provider = initdb->locale_provider;

	cb_schema_cel(v, initdb->builtin_locale == NULL || str_eq(provider, "builtin"),
				  "spec.bootstrap.initdb",
				  "builtinLocale is only available when localeProvider is set to `builtin`",
				  "Set localeProvider: builtin to use builtinLocale.");
	cb_schema_cel(v, initdb->icu_locale == NULL || str_eq(provider, "icu"),
				  "spec.bootstrap.initdb",
				  "icuLocale is only available when localeProvider is set to `icu`",
				  "Set localeProvider: icu to use icuLocale.");
	cb_schema_cel(v, initdb->icu_rules == NULL || str_eq(provider, "icu"),
				  "spec.bootstrap.initdb",
				  "icuRules is only available when localeProvider is set to `icu`",
				  "Set localeProvider: icu to use icuRules.");
}

/* secretRefs[] / configMapRefs[] items: name and key are required */
static void
schema_sql_refs(CbValidation *v, const char *path, const CbSQLRefs *refs)
{
	const struct
	{
		const char *list;
		int			n;
		const CbKeyRef *items;
	}			lists[] = {
		{"secretRefs", refs->nsecrets, refs->secrets},
		{"configMapRefs", refs->nconfigmaps, refs->configmaps},
	};
	int			l;
	int			i;

	for (l = 0; l < NELEM(lists); l++)
		for (i = 0; i < lists[l].n; i++)
		{
			char	   *item = psprintf("%s.%s[%d]", path, lists[l].list, i);

			if (lists[l].items[i].name == NULL)
				required(v, psprintf("%s.name", item), NULL,
						 "Each SQL reference needs a name and a key.");
			if (lists[l].items[i].key == NULL)
				required(v, psprintf("%s.key", item), NULL,
						 "Each SQL reference needs a name and a key.");
		}
}

void
cb_schema_bootstrap(CbValidation *v)
{
	const CbBootstrap *b = &v->spec->bootstrap;
	const CbImport *imp = &b->initdb.import;

	if (b->initdb.present)
	{
		schema_initdb_locales(v, &b->initdb);
		/* 0 stands for "not written" */
		if (b->initdb.wal_segment_size != 0)
			schema_bounds(v, "spec.bootstrap.initdb.walSegmentSize",
						  b->initdb.wal_segment_size, 1, 1024);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitSQLRefs",
						&b->initdb.post_init_sql_refs);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitTemplateSQLRefs",
						&b->initdb.post_init_template_sql_refs);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs",
						&b->initdb.post_init_application_sql_refs);
	}
	if (b->initdb.present && imp->present)
	{
		schema_required_string(v, "spec.bootstrap.initdb.import.type",
							   imp->type, false);
		schema_enum(v, "spec.bootstrap.initdb.import.type", imp->type,
					import_types);
		schema_required_string(v,
							   "spec.bootstrap.initdb.import.source.externalCluster",
							   imp->source_external_cluster, false);
	}
	if (b->pg_basebackup.present)
		schema_required_string(v, "spec.bootstrap.pg_basebackup.source",
							   b->pg_basebackup.source, true);
	if (b->recovery.present && b->recovery.backup.present)
		schema_required_string(v, "spec.bootstrap.recovery.backup.name",
							   b->recovery.backup.name, false);
}

/*
 * The key selectors of an external cluster: which parts the schema
 * requires, and which become file names (docs/cnpg-rules.md §1.6, section 7).
 */
const CbExternalSelector cb_external_selectors[CB_NEXTERNAL_SELECTORS] = {
	{"sslCert", offsetof(CbExternalCluster, ssl_cert), false, true},
	{"sslKey", offsetof(CbExternalCluster, ssl_key), false, true},
	{"sslRootCert", offsetof(CbExternalCluster, ssl_root_cert), false, true},
	{"password", offsetof(CbExternalCluster, password), false, false},
};

const CbKeyRef *
cb_external_selector(const CbExternalCluster *ec, int i)
{
	return (const CbKeyRef *) ((const char *) ec + cb_external_selectors[i].offset);
}

/* the key selectors of a Barman object store: name and key both required */
static const struct
{
	const char *path;			/* below the store */
	size_t		offset;			/* of the CbKeyRef in CbObjectStore */
}			store_selectors[] = {
	{"endpointCA", offsetof(CbObjectStore, endpoint_ca)},
	{"s3Credentials.accessKeyId", offsetof(CbObjectStore, s3_access_key_id)},
	{"s3Credentials.secretAccessKey", offsetof(CbObjectStore, s3_secret_access_key)},
	{"s3Credentials.region", offsetof(CbObjectStore, s3_region)},
	{"s3Credentials.sessionToken", offsetof(CbObjectStore, s3_session_token)},
	{"azureCredentials.connectionString", offsetof(CbObjectStore, azure_connection_string)},
	{"azureCredentials.storageAccount", offsetof(CbObjectStore, azure_storage_account)},
	{"azureCredentials.storageKey", offsetof(CbObjectStore, azure_storage_key)},
	{"azureCredentials.storageSasToken", offsetof(CbObjectStore, azure_storage_sas_token)},
	{"googleCredentials.applicationCredentials",
	offsetof(CbObjectStore, google_application_credentials)},
};

/*
 * The schema of a Barman object store, wherever it is written: a Cluster's
 * spec.externalClusters[i].barmanObjectStore or an ObjectStore's
 * spec.configuration (path names it).
 */
void
cb_schema_object_store(CbValidation *v, const CbObjectStore *store, const char *path)
{
	int			i;

	for (i = 0; i < NELEM(store_selectors); i++)
	{
		const CbKeyRef *ref = (const CbKeyRef *)
		((const char *) store + store_selectors[i].offset);
		char	   *ref_path = psprintf("%s.%s", path, store_selectors[i].path);

		if (!ref->present)
			continue;
		if (ref->name == NULL)
			required(v, psprintf("%s.name", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
		if (ref->key == NULL)
			required(v, psprintf("%s.key", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
	}
	schema_required_string(v, psprintf("%s.destinationPath", path),
						   store->destination_path, true);
	if (store->wal_max_parallel != 0)
		schema_bounds(v, psprintf("%s.wal.maxParallel", path),
					  store->wal_max_parallel, 1, PG_INT64_MAX);
	schema_enum(v, psprintf("%s.wal.compression", path),
				store->wal_compression, wal_compressions);
	schema_enum(v, psprintf("%s.data.compression", path),
				store->data_compression, data_compressions);
}

static void
schema_external_cluster(CbValidation *v, const CbExternalCluster *ec,
						const char *path)
{
	int			i;

	if (ec->name == NULL)
		required(v, psprintf("%s.name", path), NULL,
				 "Every external cluster needs a name.");
	for (i = 0; i < NELEM(cb_external_selectors); i++)
	{
		const CbKeyRef *ref = cb_external_selector(ec, i);
		char	   *ref_path = psprintf("%s.%s", path, cb_external_selectors[i].path);

		if (!ref->present)
			continue;
		if (cb_external_selectors[i].name_required && ref->name == NULL)
			required(v, psprintf("%s.name", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
		if (ref->key == NULL)
			required(v, psprintf("%s.key", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
	}
	if (ec->barman_object_store.present)
		cb_schema_object_store(v, &ec->barman_object_store,
							   psprintf("%s.barmanObjectStore", path));
}

void
cb_schema_external_clusters(CbValidation *v)
{
	int			i;

	for (i = 0; i < v->spec->nexternal_clusters; i++)
		schema_external_cluster(v, &v->spec->external_clusters[i],
								psprintf("spec.externalClusters[%d]", i));
}
