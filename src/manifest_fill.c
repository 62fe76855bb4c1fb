/*-------------------------------------------------------------------------
 *
 * manifest_fill.c
 *	  A checked tree -> CbClusterSpec / CbObjectStoreDoc / CbSecret /
 *	  CbConfigMap, without any defaulting (validate.c defaults afterwards);
 *	  the paths no field is filled from; Secret and ConfigMap data decoded.
 *
 * Pure, like the rest of the model (see model.h and manifest.c).
 *
 * IDENTIFICATION
 *	  src/manifest_fill.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stddef.h>

#include "lib/stringinfo.h"

#include "fields.h"
#include "manifest_int.h"
#include "model.h"


/* ======================================================================
 * Filling the structs (no defaulting here: see validate.c)
 * ======================================================================
 */

typedef enum FillKind
{
	FILL_STRING,				/* char *: a string */
	FILL_INT,					/* int: an integer that fits */
	FILL_BOOL,					/* bool */
	FILL_TRISTATE,				/* int: CB_UNSET, 0 or 1 */
	FILL_PRESENT,				/* bool: the field is written (and not null) */
	FILL_LIST,					/* CbStringList of strings */
	FILL_MAP,					/* CbMap of strings */
	FILL_KEYREF,				/* CbKeyRef from {name, key} */
	FILL_LOCALREF,				/* CbKeyRef from {name} */
	FILL_SQLREFS				/* CbSQLRefs from {secretRefs, configMapRefs} */
} FillKind;

typedef struct FillRule
{
	const char *path;			/* dotted, below the object being filled */
	FillKind	kind;
	size_t		offset;			/* of the C field in the struct filled */
} FillRule;

#define CS(path, kind, field) {path, kind, offsetof(CbClusterSpec, field)}
#define EC(path, kind, field) {path, kind, offsetof(CbExternalCluster, field)}
#define OS(path, kind, field) {path, kind, offsetof(CbObjectStore, field)}

/* spec.<path> -> CbClusterSpec (externalClusters apart, see below) */
static const FillRule cluster_rules[] = {
	CS("instances", FILL_INT, instances),
	CS("imageName", FILL_STRING, image_name),
	CS("imageCatalogRef", FILL_PRESENT, has_image_catalog_ref),
	CS("storage.size", FILL_STRING, storage_size),
	CS("storage.pvcTemplate.resources.requests.storage", FILL_PRESENT, has_storage_pvc_template_request),
	CS("walStorage.pvcTemplate.resources.requests.storage", FILL_PRESENT, has_wal_storage_pvc_template_request),
	CS("walStorage", FILL_PRESENT, has_wal_storage),
	CS("walStorage.size", FILL_STRING, wal_storage_size),
	CS("superuserSecret", FILL_PRESENT, has_superuser_secret),
	CS("superuserSecret.name", FILL_STRING, superuser_secret_name),
	CS("enableSuperuserAccess", FILL_BOOL, enable_superuser_access),
	CS("logLevel", FILL_STRING, log_level),
	CS("maxSyncReplicas", FILL_INT, max_sync_replicas),
	CS("minSyncReplicas", FILL_INT, min_sync_replicas),
	CS("certificates", FILL_PRESENT, certificates.present),
	CS("certificates.serverCASecret", FILL_STRING, certificates.server_ca_secret),
	CS("certificates.serverTLSSecret", FILL_STRING, certificates.server_tls_secret),
	CS("certificates.clientCASecret", FILL_STRING, certificates.client_ca_secret),
	CS("certificates.replicationTLSSecret", FILL_STRING, certificates.replication_tls_secret),
	CS("certificates.serverAltDNSNames", FILL_LIST, certificates.server_alt_dns_names),
	CS("postgresql.parameters", FILL_MAP, parameters),
	CS("postgresql.pg_hba", FILL_LIST, pg_hba),
	CS("postgresql.pg_ident", FILL_LIST, pg_ident),
	CS("postgresql.shared_preload_libraries", FILL_LIST, shared_preload_libraries),

	CS("bootstrap.initdb", FILL_PRESENT, bootstrap.initdb.present),
	CS("bootstrap.initdb.database", FILL_STRING, bootstrap.initdb.database),
	CS("bootstrap.initdb.owner", FILL_STRING, bootstrap.initdb.owner),
	CS("bootstrap.initdb.secret", FILL_LOCALREF, bootstrap.initdb.secret),
	CS("bootstrap.initdb.options", FILL_LIST, bootstrap.initdb.options),
	CS("bootstrap.initdb.dataChecksums", FILL_TRISTATE, bootstrap.initdb.data_checksums),
	CS("bootstrap.initdb.encoding", FILL_STRING, bootstrap.initdb.encoding),
	CS("bootstrap.initdb.locale", FILL_STRING, bootstrap.initdb.locale),
	CS("bootstrap.initdb.localeCollate", FILL_STRING, bootstrap.initdb.locale_collate),
	CS("bootstrap.initdb.localeCType", FILL_STRING, bootstrap.initdb.locale_ctype),
	CS("bootstrap.initdb.localeProvider", FILL_STRING, bootstrap.initdb.locale_provider),
	CS("bootstrap.initdb.icuLocale", FILL_STRING, bootstrap.initdb.icu_locale),
	CS("bootstrap.initdb.icuRules", FILL_STRING, bootstrap.initdb.icu_rules),
	CS("bootstrap.initdb.builtinLocale", FILL_STRING, bootstrap.initdb.builtin_locale),
	CS("bootstrap.initdb.walSegmentSize", FILL_INT, bootstrap.initdb.wal_segment_size),
	CS("bootstrap.initdb.postInitSQL", FILL_LIST, bootstrap.initdb.post_init_sql),
	CS("bootstrap.initdb.postInitTemplateSQL", FILL_LIST, bootstrap.initdb.post_init_template_sql),
	CS("bootstrap.initdb.postInitApplicationSQL", FILL_LIST, bootstrap.initdb.post_init_application_sql),
	CS("bootstrap.initdb.postInitSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_sql_refs),
	CS("bootstrap.initdb.postInitTemplateSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_template_sql_refs),
	CS("bootstrap.initdb.postInitApplicationSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_application_sql_refs),
	CS("bootstrap.initdb.import", FILL_PRESENT, bootstrap.initdb.import.present),
	CS("bootstrap.initdb.import.type", FILL_STRING, bootstrap.initdb.import.type),
	CS("bootstrap.initdb.import.databases", FILL_LIST, bootstrap.initdb.import.databases),
	CS("bootstrap.initdb.import.roles", FILL_LIST, bootstrap.initdb.import.roles),
	CS("bootstrap.initdb.import.source.externalCluster", FILL_STRING, bootstrap.initdb.import.source_external_cluster),
	CS("bootstrap.initdb.import.postImportApplicationSQL", FILL_LIST, bootstrap.initdb.import.post_import_application_sql),
	CS("bootstrap.initdb.import.schemaOnly", FILL_BOOL, bootstrap.initdb.import.schema_only),
	CS("bootstrap.initdb.import.pgDumpExtraOptions", FILL_LIST, bootstrap.initdb.import.pg_dump_extra_options),
	CS("bootstrap.initdb.import.pgRestoreExtraOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_extra_options),
	CS("bootstrap.initdb.import.pgRestorePredataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_predata_options),
	CS("bootstrap.initdb.import.pgRestoreDataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_data_options),
	CS("bootstrap.initdb.import.pgRestorePostdataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_postdata_options),

	CS("bootstrap.pg_basebackup", FILL_PRESENT, bootstrap.pg_basebackup.present),
	CS("bootstrap.pg_basebackup.source", FILL_STRING, bootstrap.pg_basebackup.source),
	CS("bootstrap.pg_basebackup.database", FILL_STRING, bootstrap.pg_basebackup.database),
	CS("bootstrap.pg_basebackup.owner", FILL_STRING, bootstrap.pg_basebackup.owner),
	CS("bootstrap.pg_basebackup.secret", FILL_LOCALREF, bootstrap.pg_basebackup.secret),

	CS("bootstrap.recovery", FILL_PRESENT, bootstrap.recovery.present),
	CS("bootstrap.recovery.source", FILL_STRING, bootstrap.recovery.source),
	CS("bootstrap.recovery.backup", FILL_LOCALREF, bootstrap.recovery.backup),
	CS("bootstrap.recovery.backup.endpointCA", FILL_KEYREF, bootstrap.recovery.backup_endpoint_ca),
	CS("bootstrap.recovery.volumeSnapshots", FILL_PRESENT, bootstrap.recovery.has_volume_snapshots),
	CS("bootstrap.recovery.volumeSnapshots.walStorage", FILL_PRESENT, bootstrap.recovery.has_volume_snapshots_wal),
	CS("bootstrap.recovery.volumeSnapshots.storage.kind", FILL_STRING, bootstrap.recovery.volume_snapshots_kind),
	CS("bootstrap.recovery.volumeSnapshots.storage.apiGroup", FILL_STRING, bootstrap.recovery.volume_snapshots_api_group),
	CS("bootstrap.recovery.volumeSnapshots.walStorage.kind", FILL_STRING, bootstrap.recovery.volume_snapshots_wal_kind),
	CS("bootstrap.recovery.volumeSnapshots.walStorage.apiGroup", FILL_STRING, bootstrap.recovery.volume_snapshots_wal_api_group),
	CS("bootstrap.recovery.recoveryTarget", FILL_PRESENT, bootstrap.recovery.target.present),
	CS("bootstrap.recovery.recoveryTarget.backupID", FILL_STRING, bootstrap.recovery.target.backup_id),
	CS("bootstrap.recovery.recoveryTarget.targetTLI", FILL_STRING, bootstrap.recovery.target.target_tli),
	CS("bootstrap.recovery.recoveryTarget.targetXID", FILL_STRING, bootstrap.recovery.target.target_xid),
	CS("bootstrap.recovery.recoveryTarget.targetName", FILL_STRING, bootstrap.recovery.target.target_name),
	CS("bootstrap.recovery.recoveryTarget.targetLSN", FILL_STRING, bootstrap.recovery.target.target_lsn),
	CS("bootstrap.recovery.recoveryTarget.targetTime", FILL_STRING, bootstrap.recovery.target.target_time),
	CS("bootstrap.recovery.recoveryTarget.targetImmediate", FILL_TRISTATE, bootstrap.recovery.target.target_immediate),
	CS("bootstrap.recovery.recoveryTarget.exclusive", FILL_TRISTATE, bootstrap.recovery.target.exclusive),
	CS("bootstrap.recovery.database", FILL_STRING, bootstrap.recovery.database),
	CS("bootstrap.recovery.owner", FILL_STRING, bootstrap.recovery.owner),
	CS("bootstrap.recovery.secret", FILL_LOCALREF, bootstrap.recovery.secret),

	CS("replica", FILL_PRESENT, replica.present),
	CS("replica.enabled", FILL_TRISTATE, replica.enabled),
	CS("replica.source", FILL_STRING, replica.source),
	CS("replica.primary", FILL_STRING, replica.primary),
	CS("replica.self", FILL_STRING, replica.self),
	CS("replica.promotionToken", FILL_STRING, replica.promotion_token),
	CS("replica.minApplyDelay", FILL_STRING, replica.min_apply_delay),
};

/*
 * spec.externalClusters[i].<path> -> CbExternalCluster; the fields below
 * barmanObjectStore are filled by object_store_rules.
 */
static const FillRule external_cluster_rules[] = {
	EC("name", FILL_STRING, name),
	EC("connectionParameters", FILL_PRESENT, has_connection_parameters),
	EC("connectionParameters", FILL_MAP, connection_parameters),
	EC("sslCert", FILL_KEYREF, ssl_cert),
	EC("sslKey", FILL_KEYREF, ssl_key),
	EC("sslRootCert", FILL_KEYREF, ssl_root_cert),
	EC("password", FILL_KEYREF, password),
	EC("barmanObjectStore", FILL_PRESENT, barman_object_store.present),
	EC("plugin", FILL_PRESENT, has_plugin),
	EC("plugin.name", FILL_STRING, plugin_name),
	EC("plugin.parameters", FILL_MAP, plugin_parameters),
};

/*
 * A Barman object store -> CbObjectStore: one table for both places it is
 * written, spec.externalClusters[].barmanObjectStore of a Cluster and
 * spec.configuration of an ObjectStore (the plugin's copy of the same type).
 */
static const FillRule object_store_rules[] = {
	OS("destinationPath", FILL_STRING, destination_path),
	OS("endpointURL", FILL_STRING, endpoint_url),
	OS("endpointCA", FILL_KEYREF, endpoint_ca),
	OS("serverName", FILL_STRING, server_name),
	OS("s3Credentials", FILL_PRESENT, has_s3),
	OS("s3Credentials.accessKeyId", FILL_KEYREF, s3_access_key_id),
	OS("s3Credentials.secretAccessKey", FILL_KEYREF, s3_secret_access_key),
	OS("s3Credentials.region", FILL_KEYREF, s3_region),
	OS("s3Credentials.sessionToken", FILL_KEYREF, s3_session_token),
	OS("s3Credentials.inheritFromIAMRole", FILL_BOOL, s3_inherit_from_iam_role),
	OS("azureCredentials", FILL_PRESENT, has_azure),
	OS("azureCredentials.connectionString", FILL_KEYREF, azure_connection_string),
	OS("azureCredentials.storageAccount", FILL_KEYREF, azure_storage_account),
	OS("azureCredentials.storageKey", FILL_KEYREF, azure_storage_key),
	OS("azureCredentials.storageSasToken", FILL_KEYREF, azure_storage_sas_token),
	OS("azureCredentials.inheritFromAzureAD", FILL_BOOL, azure_inherit_from_azure_ad),
	OS("azureCredentials.useDefaultAzureCredentials", FILL_BOOL, azure_use_default_credentials),
	OS("googleCredentials", FILL_PRESENT, has_google),
	OS("googleCredentials.applicationCredentials", FILL_KEYREF, google_application_credentials),
	OS("googleCredentials.gkeEnvironment", FILL_BOOL, google_gke_environment),
	OS("wal.compression", FILL_STRING, wal_compression),
	OS("wal.maxParallel", FILL_INT, wal_max_parallel),
	OS("wal.restoreAdditionalCommandArgs", FILL_LIST, wal_restore_additional_command_args),
	OS("data.compression", FILL_STRING, data_compression),
	OS("data.restoreAdditionalCommandArgs", FILL_LIST, data_restore_additional_command_args),
};

/*
 * The fields of spec a Cluster is bootstrapped from (the columns of
 * CbClusterSpec), as path prefixes; every other written field of spec is
 * reported in doc->ignored_paths.
 */
static const char *const acted_on_paths[] = {
	"spec.bootstrap",
	"spec.certificates",
	"spec.description",
	"spec.enableSuperuserAccess",
	"spec.externalClusters",
	"spec.imageCatalogRef",
	"spec.imageName",
	"spec.instances",
	"spec.logLevel",
	"spec.maxSyncReplicas",
	"spec.minSyncReplicas",
	"spec.postgresGID",
	"spec.postgresUID",
	"spec.postgresql.parameters",
	"spec.postgresql.pg_hba",
	"spec.postgresql.pg_ident",
	"spec.postgresql.shared_preload_libraries",
	"spec.replica",
	"spec.storage.pvcTemplate.resources.requests.storage",
	"spec.storage.size",
	"spec.superuserSecret",
	"spec.walStorage.pvcTemplate.resources.requests.storage",
	"spec.walStorage.size",
};

/* node at a dotted path below a map; NULL if absent or null */
static const CbNode *
node_at(const CbNode *node, const char *path)
{
	while (node != NULL && *path)
	{
		const char *dot = strchr(path, '.');
		size_t		n = dot ? (size_t) (dot - path) : strlen(path);
		const CbNode *next = NULL;

		for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
			if (strncmp(node->keys[i], path, n) == 0 && node->keys[i][n] == '\0')
				next = node->items[i];
		node = next;
		path += dot ? n + 1 : n;
	}
	return node != NULL && node->type != CB_NODE_NULL ? node : NULL;
}

static char *
string_at(const CbNode *node, const char *path)
{
	const CbNode *n = node_at(node, path);

	return n != NULL && n->type == CB_NODE_SCALAR ? n->value : NULL;
}

/*
 * Lists and maps grow by doubling: their capacity is the next power of two
 * of their length, so no capacity field is needed.
 */
static void *
grow_array(void *items, int n, size_t size)
{
	if (n == 0)
		return palloc(size);
	if ((n & (n - 1)) == 0)
		return repalloc(items, size * n * 2);
	return items;
}

static void
string_list_append(CbStringList *list, char *s)
{
	list->items = grow_array(list->items, list->n, sizeof(char *));
	list->items[list->n++] = s;
}

static void
fill_list(CbStringList *list, const CbNode *seq)
{
	for (int i = 0; seq->type == CB_NODE_SEQ && i < seq->nitems; i++)
		if (seq->items[i]->type == CB_NODE_SCALAR)
			string_list_append(list, seq->items[i]->value);
}

static void
map_append(CbMap *map, char *key, char *value, int len)
{
	map->items = grow_array(map->items, map->n, sizeof(CbKV));
	map->items[map->n].key = key;
	map->items[map->n].value = value;
	map->items[map->n].len = len;
	map->n++;
}

/* a map of strings; null values are dropped, as the API server does */
static void
fill_map(CbMap *map, const CbNode *node)
{
	for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
		if (node->items[i]->type == CB_NODE_SCALAR)
			map_append(map, node->keys[i], node->items[i]->value,
					   strlen(node->items[i]->value));
}

static void
fill_keyref(CbKeyRef *ref, const CbNode *node, bool with_key)
{
	ref->present = true;
	ref->name = string_at(node, "name");
	ref->key = with_key ? string_at(node, "key") : NULL;
}

static void
fill_keyref_list(const CbNode *seq, int *n, CbKeyRef **refs)
{
	if (seq == NULL || seq->type != CB_NODE_SEQ || seq->nitems == 0)
		return;
	*refs = palloc0(sizeof(CbKeyRef) * seq->nitems);
	for (int i = 0; i < seq->nitems; i++)
		fill_keyref(&(*refs)[(*n)++], seq->items[i], true);
}

static bool
fill_int(DocCtx *c, const char *prefix, const FillRule *rule, const CbNode *node,
		 int *field)
{
	Resolved	res;

	if (cb_node_kind(node, &res) != SK_INT)
		return true;			/* the schema walk has reported it */
	if (res.i < PG_INT32_MIN || res.i > PG_INT32_MAX)
	{
		char	   *path = psprintf("%s.%s", prefix, rule->path);

		return cb_field_error(c, path, "must fit in 32 bits",
							  psprintf("Invalid value: %s: must be between %d and %d",
									   cb_shown_value(c, path, node), PG_INT32_MIN, PG_INT32_MAX),
							  NULL);
	}
	*field = (int) res.i;
	return true;
}

/* apply a table of rules to obj (a map), writing into base */
static bool
fill_rules(DocCtx *c, const char *prefix, const CbNode *obj,
		   const FillRule *rules, int nrules, void *base)
{
	for (int i = 0; i < nrules; i++)
	{
		const FillRule *rule = &rules[i];
		const CbNode *node = node_at(obj, rule->path);
		char	   *field = (char *) base + rule->offset;
		Resolved	res;

		if (rule->kind == FILL_TRISTATE)
			*(int *) field = node && cb_node_kind(node, &res) == SK_BOOL ? res.b : CB_UNSET;
		if (node == NULL)
			continue;
		switch (rule->kind)
		{
			case FILL_STRING:
				*(char **) field = node->type == CB_NODE_SCALAR ? node->value : NULL;
				break;
			case FILL_INT:
				if (!fill_int(c, prefix, rule, node, (int *) field))
					return false;
				break;
			case FILL_BOOL:
				*(bool *) field = cb_node_kind(node, &res) == SK_BOOL && res.b;
				break;
			case FILL_TRISTATE:
				break;
			case FILL_PRESENT:
				*(bool *) field = true;
				break;
			case FILL_LIST:
				fill_list((CbStringList *) field, node);
				break;
			case FILL_MAP:
				fill_map((CbMap *) field, node);
				break;
			case FILL_KEYREF:
			case FILL_LOCALREF:
				fill_keyref((CbKeyRef *) field, node, rule->kind == FILL_KEYREF);
				break;
			case FILL_SQLREFS:
				{
					CbSQLRefs  *refs = (CbSQLRefs *) field;

					fill_keyref_list(node_at(node, "secretRefs"), &refs->nsecrets, &refs->secrets);
					fill_keyref_list(node_at(node, "configMapRefs"), &refs->nconfigmaps, &refs->configmaps);
				}
				break;
		}
	}
	return true;
}

static bool
fill_external_clusters(DocCtx *c, CbClusterSpec *spec, const CbNode *seq)
{
	if (seq == NULL || seq->type != CB_NODE_SEQ || seq->nitems == 0)
		return true;
	spec->external_clusters = palloc0(sizeof(CbExternalCluster) * seq->nitems);
	for (int i = 0; i < seq->nitems; i++)
	{
		char	   *prefix = psprintf("spec.externalClusters[%d]", i);

		CbExternalCluster *ec = &spec->external_clusters[i];

		if (!fill_rules(c, prefix, seq->items[i], external_cluster_rules,
						lengthof(external_cluster_rules), ec))
			return false;
		if (ec->barman_object_store.present &&
			!fill_rules(c, psprintf("%s.barmanObjectStore", prefix),
						node_at(seq->items[i], "barmanObjectStore"), object_store_rules,
						lengthof(object_store_rules), &ec->barman_object_store))
			return false;
		spec->nexternal_clusters++;
	}
	return true;
}

/* is path (concrete, no indexes) acted on, an ancestor of such, or neither? */
typedef enum Acted
{
	ACTED_NO,
	ACTED_YES,
	ACTED_BELOW
} Acted;

/* a kind's acted-on prefixes (acted_on_paths and the like) */
typedef struct ActedOn
{
	const char *const *paths;
	int			npaths;
} ActedOn;

static Acted
acted_on(const ActedOn *table, const char *path)
{
	size_t		len = strlen(path);
	Acted		result = ACTED_NO;

	for (int i = 0; i < table->npaths; i++)
	{
		const char *a = table->paths[i];
		size_t		alen = strlen(a);

		if (len >= alen && strncmp(path, a, alen) == 0 && (path[alen] == '\0' || path[alen] == '.'))
			return ACTED_YES;
		if (alen > len && strncmp(a, path, len) == 0 && a[len] == '.')
			result = ACTED_BELOW;
	}
	return result;
}

/* the shallowest written paths below node that we do not act on */
static void
collect_ignored(CbStringList *out, const ActedOn *table, const CbNode *node,
				const char *path)
{
	for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
	{
		char	   *child = psprintf("%s.%s", path, node->keys[i]);

		if (node->items[i]->type == CB_NODE_NULL)
			continue;
		switch (acted_on(table, child))
		{
			case ACTED_YES:
				break;
			case ACTED_BELOW:
				collect_ignored(out, table, node->items[i], child);
				break;
			case ACTED_NO:
				string_list_append(out, child);
				break;
		}
	}
}

bool
cb_fill_cluster(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbClusterSpec *spec = palloc0(sizeof(CbClusterSpec));
	const CbNode *meta = node_at(root, "metadata");
	const CbNode *specnode = node_at(root, "spec");
	static const char *const methods[] = {"initdb", "pg_basebackup", "recovery"};

	spec->name = doc->name;
	spec->namespace = string_at(meta, "namespace");
	spec->has_resource_version = node_at(meta, "resourceVersion") != NULL;
	if (node_at(meta, "annotations"))
		fill_map(&spec->annotations, node_at(meta, "annotations"));
	if (!fill_rules(c, "spec", specnode, cluster_rules, lengthof(cluster_rules), spec) ||
		!fill_external_clusters(c, spec, node_at(specnode, "externalClusters")))
		return false;
	spec->bootstrap_written = node_at(specnode, "bootstrap") != NULL;
	for (int i = 0; i < NELEMS(methods); i++)
		if (node_at(node_at(specnode, "bootstrap"), methods[i]))
			spec->bootstrap_methods_written++;
	if (specnode)
	{
		ActedOn		table = {acted_on_paths, NELEMS(acted_on_paths)};

		collect_ignored(&doc->ignored_paths, &table, specnode, "spec");
	}
	doc->cluster = spec;
	return true;
}

/*
 * ObjectStore: spec.configuration is a barmanObjectStore and is filled by
 * the same rules; the rest of spec (retentionPolicy, the sidecar) concerns
 * backups taken on Kubernetes, so it is reported as not acted on.
 */
bool
cb_fill_objectstore(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	static const char *const objectstore_acted_on[] = {"spec.configuration"};
	ActedOn		table = {objectstore_acted_on, NELEMS(objectstore_acted_on)};
	CbObjectStoreDoc *os = palloc0(sizeof(CbObjectStoreDoc));
	const CbNode *specnode = node_at(root, "spec");
	const CbNode *conf = node_at(specnode, "configuration");

	os->name = doc->name;
	os->namespace = string_at(node_at(root, "metadata"), "namespace");
	os->configuration.present = conf != NULL;
	if (!fill_rules(c, "spec.configuration", conf, object_store_rules,
					lengthof(object_store_rules), &os->configuration))
		return false;
	if (specnode)
		collect_ignored(&doc->ignored_paths, &table, specnode, "spec");
	doc->objectstore = os;
	return true;
}


/* ======================================================================
 * Secret and ConfigMap
 * ======================================================================
 */

static int
base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Standard base64 with padding, as Go's encoding/json decodes []byte: CR
 * and LF are skipped anywhere.  On failure *bad is the offending offset.
 */
static bool
decode_base64(const char *in, char **out, int *outlen, int *bad)
{
	size_t		len = strlen(in);
	char	   *buf = palloc(len / 4 * 3 + 4);
	int			n = 0;
	int			quad[4];
	int			q = 0;
	int			pad = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		ch = in[i];

		if (ch == '\r' || ch == '\n')
			continue;
		*bad = (int) i;
		if (ch == '=' && (q >= 2 || pad > 0) && q + pad < 4)
		{
			pad++;
			continue;
		}
		if (pad > 0 || (quad[q] = base64_value(ch)) < 0)
			return false;
		if (++q == 4)
		{
			buf[n++] = (char) ((quad[0] << 2) | (quad[1] >> 4));
			buf[n++] = (char) ((quad[1] << 4) | (quad[2] >> 2));
			buf[n++] = (char) ((quad[2] << 6) | quad[3]);
			q = 0;
		}
	}
	*bad = (int) len;
	if (q + pad != 4 && q + pad != 0)
		return false;
	if (q >= 2)
		buf[n++] = (char) ((quad[0] << 2) | (quad[1] >> 4));
	if (q == 3)
		buf[n++] = (char) ((quad[1] << 4) | (quad[2] >> 2));
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return true;
}

/*
 * Kubernetes' IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, not "." or "..",
 * not starting with ".."; the first failed rule is reported in its words.
 * A key with other characters, or too long, is not shown, only its rank
 * in its section (index from 0, shown from 1): "{password:x}", without a
 * space after the colon, is one key to YAML, and it holds the password.
 */
static bool
check_config_key(DocCtx *c, const char *section, int index, const char *key)
{
	size_t		len = strlen(key);
	bool		charset = len > 0;
	const char *problem;

	/* ASCII only, whatever the server's LC_CTYPE */
	for (size_t i = 0; charset && i < len; i++)
		charset = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
			(key[i] >= '0' && key[i] <= '9') || (key[i] != '\0' && strchr("-._", key[i]) != NULL);
	if (len > 253)
		problem = "must be no more than 253 characters";
	else if (!charset)
		problem = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
	else if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
		problem = psprintf("must not be '%s'", key);
	else if (strncmp(key, "..", 2) == 0)
		problem = "must not start with '..'";
	else
		return true;
	if (len > 253 || !charset)
		return cb_field_error(c, psprintf("%s.<key %d>", section, index + 1), "invalid key",
							  psprintf("Invalid value: \"<key hidden>\": %s", problem),
							  pstrdup("Keys may hold letters, digits, '-', '_' and '.', at most 253 characters. "
									  "The key is not shown: \"key:value\" without a space after the colon is one key to YAML."));
	return cb_field_error(c, psprintf("%s.%s", section, key), "invalid key",
						  psprintf("Invalid value: %s: %s", cb_go_quote_cut(key), problem),
						  pstrdup("Keys may hold letters, digits, '-', '_' and '.', at most 253 characters, and may not be \".\" or start with \"..\"."));
}

/* a base64 value of data/binaryData; the value itself is never quoted back */
static bool
decode_entry(DocCtx *c, const char *section, const char *key, const CbNode *value,
			 char **out, int *outlen)
{
	int			bad;

	if (value->type != CB_NODE_SCALAR)
	{
		*out = pstrdup("");
		*outlen = 0;
		return true;
	}
	if (decode_base64(value->value, out, outlen, &bad))
		return true;
	return cb_field_error(c, psprintf("%s.%s", section, key), "not valid base64",
						  psprintf("Invalid value: \"<value hidden>\": illegal base64 data at input byte %d", bad),
						  psprintf("Values under %s must be base64-encoded%s.", section,
								   strcmp(section, "data") == 0 ?
								   " (put plain text under stringData instead)" : ""));
}

static void
nameset_of_map(NameSet *ns, const CbNode *map)
{
	for (int i = 0; map != NULL && i < map->nitems; i++)
		cb_nameset_add(ns, map->keys, i);
}

/*
 * Kubernetes' limit on a Secret's or ConfigMap's values (MaxSecretSize,
 * ValidateSecret/ValidateConfigMap): their bytes together, keys not
 * counted, a Secret's after stringData is merged in, a ConfigMap's data
 * and binaryData (decoded) together.  Kubernetes names the field "data"
 * for a Secret and the whole object ("[]") for a ConfigMap.
 */
static bool
check_data_size(DocCtx *c, bool secret, int64 total)
{
	if (total <= CB_MAX_DATA_BYTES)
		return true;
	return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("%s: data: too long: %s hold " INT64_FORMAT " bytes, at most %d (1 MiB) are allowed",
								 c->label, secret ? "the values of data and stringData" :
								 "the values of data and binaryData", total, CB_MAX_DATA_BYTES),
						psprintf("%s: %s: Too long: must have at most %d bytes",
								 c->invalid, secret ? "data" : "[]", CB_MAX_DATA_BYTES),
						pstrdup("Kubernetes keeps at most 1 MiB of values in one Secret or ConfigMap: "
								"split them over several objects."));
}

/*
 * stringData (plain) merged with data (base64; stringData wins on a
 * conflict, but every data value must still decode).  A value from data
 * ending in a newline is kept as given but earns a warning: the classic
 * "echo" without -n, which makes CloudNativePG users' logins fail.
 */
bool
cb_fill_secret(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbSecret   *s = palloc0(sizeof(CbSecret));
	const CbNode *meta = node_at(root, "metadata");
	const CbNode *data = node_at(root, "data");
	const CbNode *sdata = node_at(root, "stringData");
	NameSet		plain = {NULL, 0};
	int64		total = 0;

	s->name = doc->name;
	s->namespace = string_at(meta, "namespace");
	s->type = string_at(root, "type");
	if (node_at(meta, "annotations"))
		fill_map(&s->annotations, node_at(meta, "annotations"));
	nameset_of_map(&plain, sdata);
	for (int i = 0; data && i < data->nitems; i++)
	{
		char	   *value;
		int			len;

		if (!check_config_key(c, "data", i, data->keys[i]) ||
			!decode_entry(c, "data", data->keys[i], data->items[i], &value, &len))
			return false;
		if (cb_nameset_find(&plain, sdata ? sdata->keys : NULL, data->keys[i]) >= 0)
			continue;			/* stringData wins */
		map_append(&s->data, data->keys[i], value, len);
		if (len > 0 && value[len - 1] == '\n')
			string_list_append(&doc->warnings,
							   psprintf("data.%s: the decoded value ends in a newline",
										data->keys[i]));
	}
	for (int i = 0; sdata && i < sdata->nitems; i++)
	{
		char	   *value = sdata->items[i]->type == CB_NODE_SCALAR ?
			sdata->items[i]->value : pstrdup("");

		if (!check_config_key(c, "stringData", i, sdata->keys[i]))
			return false;
		map_append(&s->data, sdata->keys[i], value, strlen(value));
	}
	for (int i = 0; i < s->data.n; i++)
		total += s->data.items[i].len;
	if (!check_data_size(c, true, total))
		return false;
	doc->secret = s;
	return true;
}

bool
cb_fill_configmap(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbConfigMap *cm = palloc0(sizeof(CbConfigMap));
	const CbNode *data = node_at(root, "data");
	const CbNode *binary = node_at(root, "binaryData");
	NameSet		text = {NULL, 0};
	int64		total = 0;

	cm->name = doc->name;
	cm->namespace = string_at(node_at(root, "metadata"), "namespace");
	for (int i = 0; data && i < data->nitems; i++)
	{
		char	   *value = data->items[i]->type == CB_NODE_SCALAR ?
			data->items[i]->value : pstrdup("");

		if (!check_config_key(c, "data", i, data->keys[i]))
			return false;
		map_append(&cm->data, data->keys[i], value, strlen(value));
		total += strlen(value);
	}
	nameset_of_map(&text, data);
	for (int i = 0; binary && i < binary->nitems; i++)
	{
		char	   *value;
		int			len;

		if (!check_config_key(c, "binaryData", i, binary->keys[i]) ||
			!decode_entry(c, "binaryData", binary->keys[i], binary->items[i], &value, &len))
			return false;
		if (cb_nameset_find(&text, data ? data->keys : NULL, binary->keys[i]) >= 0)
			return cb_field_error(c, psprintf("binaryData.%s", binary->keys[i]), "duplicate key",
								  psprintf("Invalid value: %s: duplicate of key present in data",
										   cb_go_quote_cut(binary->keys[i])),
								  pstrdup("A key may be in data or in binaryData, not in both."));
		total += len;
	}
	if (!check_data_size(c, false, total))
		return false;
	doc->configmap = cm;
	return true;
}
