/*-------------------------------------------------------------------------
 *
 * references.c
 *	  The Secrets, ConfigMaps and ObjectStores a Cluster names.  Used to
 *	  refuse deleting an object a stored Cluster still needs, and by the
 *	  worker to resolve references before any destructive step.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "references.h"

static void
add(CbReferenceList *list, CbKind kind, const char *name, const char *key,
	const char *path)
{
	CbReference *r;

	if (name == NULL || name[0] == '\0')
		return;
	if (list->n == 0)
		list->items = palloc(sizeof(CbReference) * 16);
	else if ((list->n & (list->n - 1)) == 0 && list->n >= 16)
		list->items = repalloc(list->items, sizeof(CbReference) * list->n * 2);
	r = &list->items[list->n++];
	r->kind = kind;
	r->name = name;
	r->key = key;
	r->path = path;
}

static void
add_ref(CbReferenceList *list, const CbKeyRef *ref, const char *path)
{
	if (ref->present)
		add(list, CB_KIND_SECRET, ref->name, ref->key, path);
}

static void
add_sql_refs(CbReferenceList *list, const CbSQLRefs *refs, const char *path)
{
	for (int i = 0; i < refs->nsecrets; i++)
		add(list, CB_KIND_SECRET, refs->secrets[i].name, refs->secrets[i].key,
			psprintf("%s.secretRefs[%d]", path, i));
	for (int i = 0; i < refs->nconfigmaps; i++)
		add(list, CB_KIND_CONFIGMAP, refs->configmaps[i].name, refs->configmaps[i].key,
			psprintf("%s.configMapRefs[%d]", path, i));
}

void
cb_object_store_references(CbReferenceList *list, const CbObjectStore *os,
						   const char *path)
{
	const struct
	{
		const CbKeyRef *ref;
		const char *field;
	}			refs[] =
	{
		{&os->endpoint_ca, "endpointCA"},
		{&os->s3_access_key_id, "s3Credentials.accessKeyId"},
		{&os->s3_secret_access_key, "s3Credentials.secretAccessKey"},
		{&os->s3_region, "s3Credentials.region"},
		{&os->s3_session_token, "s3Credentials.sessionToken"},
		{&os->azure_connection_string, "azureCredentials.connectionString"},
		{&os->azure_storage_account, "azureCredentials.storageAccount"},
		{&os->azure_storage_key, "azureCredentials.storageKey"},
		{&os->azure_storage_sas_token, "azureCredentials.storageSasToken"},
		{&os->google_application_credentials, "googleCredentials.applicationCredentials"},
	};

	if (!os->present)
		return;
	for (int i = 0; i < (int) lengthof(refs); i++)
		add_ref(list, refs[i].ref, psprintf("%s.%s", path, refs[i].field));
}

CbReferenceList
cb_cluster_references(const CbClusterSpec *spec)
{
	CbReferenceList list = {0, NULL};
	const CbInitdb *initdb = &spec->bootstrap.initdb;

	if (spec->enable_superuser_access && spec->has_superuser_secret)
		add(&list, CB_KIND_SECRET, spec->superuser_secret_name, NULL,
			"spec.superuserSecret.name");
	add_ref(&list, &initdb->secret, "spec.bootstrap.initdb.secret.name");
	/* with import, the *SQLRefs never run (CloudNativePG ignores them) */
	if (!initdb->import.present)
	{
		add_sql_refs(&list, &initdb->post_init_sql_refs,
					 "spec.bootstrap.initdb.postInitSQLRefs");
		add_sql_refs(&list, &initdb->post_init_template_sql_refs,
					 "spec.bootstrap.initdb.postInitTemplateSQLRefs");
		add_sql_refs(&list, &initdb->post_init_application_sql_refs,
					 "spec.bootstrap.initdb.postInitApplicationSQLRefs");
	}
	add_ref(&list, &spec->bootstrap.pg_basebackup.secret,
			"spec.bootstrap.pg_basebackup.secret.name");
	add_ref(&list, &spec->bootstrap.recovery.secret,
			"spec.bootstrap.recovery.secret.name");
	add_ref(&list, &spec->bootstrap.recovery.backup_endpoint_ca,
			"spec.bootstrap.recovery.backup.endpointCA");

	for (int i = 0; i < spec->nexternal_clusters; i++)
	{
		const CbExternalCluster *ec = &spec->external_clusters[i];
		char	   *base = psprintf("spec.externalClusters[%d]", i);

		add_ref(&list, &ec->ssl_cert, psprintf("%s.sslCert", base));
		add_ref(&list, &ec->ssl_key, psprintf("%s.sslKey", base));
		add_ref(&list, &ec->ssl_root_cert, psprintf("%s.sslRootCert", base));
		add_ref(&list, &ec->password, psprintf("%s.password", base));
		cb_object_store_references(&list, &ec->barman_object_store,
								   psprintf("%s.barmanObjectStore", base));
		add(&list, CB_KIND_OBJECTSTORE, cb_plugin_object_store(ec), NULL,
			psprintf("%s.plugin.parameters.barmanObjectName", base));
	}
	return list;
}
