/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  What the plan's steps read from the catalog before a method runs,
 *	  and the Secrets they generate into it: the credential Secrets (made
 *	  if missing), the post-init *SQLRefs, the Secrets and ObjectStores of
 *	  the externalClusters used, and the cluster's TLS Secrets.  The
 *	  methods get the values (cluster.h, resolved.h, certs.h) and never
 *	  reach the catalog themselves.
 *
 *	  Nothing here logs or reports a value it reads.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "references.h"
#include "resolve.h"
#include "secrets.h"

void
cb_resolve_credential_secret(CbCluster *c, const char *secret, const char *user,
							 const char *dbname, const char *user_type)
{
	CbMap		old;
	const char *password;
	CbMap		keys;

	password = cb_catalog_load_secret_tx(secret, &old) ? cb_map_get(&old, "password") : NULL;
	if (password == NULL)
		password = cb_generate_password();
	keys = cb_credential_keys(user, password, dbname, c->host,
							  c->instances[0].port, c->spec->namespace);

	cb_catalog_store_generated_secret(c->name, secret, c->spec->namespace,
									  "kubernetes.io/basic-auth", user_type, &keys);
}

static void
missing(const char *what, const char *path)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("%s referenced by %s does not exist", what, path),
			 errhint("Apply it with cnpg_bootstrap_apply(), then delete and re-apply the Cluster.")));
}

char *
cb_resolve_credential_password(const char *secret, const char *role, const char *path,
							   bool strict)
{
	CbMap		data;
	const char *user;
	const char *password;

	if (!cb_catalog_load_secret_tx(secret, &data))
		missing(psprintf("Secret \"%s\"", secret), path);
	user = cb_map_get(&data, "username");
	password = cb_map_get(&data, "password");
	if (user == NULL)
		ereport(ERROR, (errmsg("username key doesn't exist inside the secret \"%s\"", secret)));
	if (password == NULL)
		ereport(ERROR, (errmsg("password key doesn't exist inside the secret \"%s\"", secret)));
	if (strcmp(user, role) != 0 && !strict)
	{
		/* after a copy the password is set only when the username matches */
		ereport(WARNING,
				(errmsg("username '%s' in secret \"%s\" is not '%s': password not set", user, secret, role)));
		return NULL;
	}
	if (strcmp(user, role) != 0)
		ereport(ERROR,
				(errmsg("wrong username '%s' in secret \"%s\", expected '%s'", user, secret, role),
				 errhint("The username of %s must equal the role it sets the password of.", path)));
	return pstrdup(password);
}

void
cb_resolve_sql_refs(CbCluster *c, CbPostInitDb which, const CbSQLRefs *refs, const char *path)
{
	int			n = 0;

	c->refs[which] = palloc0(sizeof(CbResolvedRef) * Max(refs->nsecrets + refs->nconfigmaps, 1));
	for (int i = 0; i < refs->nsecrets; i++)
	{
		CbMap		data;
		CbResolvedRef *r = &c->refs[which][n++];

		r->path = psprintf("%s.secretRefs[%d]", path, i);
		r->object = psprintf("Secret \"%s\"", refs->secrets[i].name);
		r->key = refs->secrets[i].key;
		if (!cb_catalog_load_secret_tx(refs->secrets[i].name, &data))
			missing(r->object, r->path);
		if ((r->value = (char *) cb_map_get(&data, r->key)) == NULL)
			missing(psprintf("key \"%s\" of %s", r->key, r->object), r->path);
	}
	for (int i = 0; i < refs->nconfigmaps; i++)
	{
		CbResolvedRef *r = &c->refs[which][n++];
		bool		exists;

		r->path = psprintf("%s.configMapRefs[%d]", path, i);
		r->object = psprintf("ConfigMap \"%s\"", refs->configmaps[i].name);
		r->key = refs->configmaps[i].key;
		cb_tx_begin();
		exists = cb_catalog_get_object("ConfigMap", refs->configmaps[i].name,
									   &(CbStoredObject) {0});
		r->value = cb_catalog_get_configmap_value(refs->configmaps[i].name, r->key);
		cb_tx_commit();
		if (!exists)
			missing(r->object, r->path);
		if (r->value == NULL)
			missing(psprintf("key \"%s\" of %s", r->key, r->object), r->path);
	}
	c->nrefs[which] = n;
}

/* ---------- the externalClusters used ---------- */

/* a Secret read once, whether it exists or not */
static void
resolve_secret(CbResolvedObjects *r, const char *name)
{
	CbResolvedSecret *s;

	if (name == NULL || name[0] == '\0')
		return;
	for (int i = 0; i < r->nsecrets; i++)
		if (strcmp(r->secrets[i].name, name) == 0)
			return;
	r->secrets = r->nsecrets == 0 ? palloc(sizeof(CbResolvedSecret)) :
		repalloc(r->secrets, sizeof(CbResolvedSecret) * (r->nsecrets + 1));
	s = &r->secrets[r->nsecrets++];
	s->name = pstrdup(name);
	s->exists = cb_catalog_load_secret_tx(name, &s->data);
}

/* the Secrets an object store's credentials and endpointCA name */
static void
resolve_store_secrets(CbResolvedObjects *r, const CbObjectStore *os)
{
	CbReferenceList refs = {0, NULL};

	cb_object_store_references(&refs, os, "");
	for (int i = 0; i < refs.n; i++)
		resolve_secret(r, refs.items[i].name);
}

/* a stored ObjectStore read once, then the Secrets it names */
static void
resolve_objectstore(CbResolvedObjects *r, const char *name)
{
	CbResolvedStore *s;

	if (name == NULL)
		return;
	for (int i = 0; i < r->nstores; i++)
		if (strcmp(r->stores[i].name, name) == 0)
			return;
	r->stores = r->nstores == 0 ? palloc(sizeof(CbResolvedStore)) :
		repalloc(r->stores, sizeof(CbResolvedStore) * (r->nstores + 1));
	s = &r->stores[r->nstores++];
	s->name = pstrdup(name);
	memset(&s->store, 0, sizeof(CbObjectStore));
	s->exists = cb_catalog_load_objectstore_tx(name, &s->store);
	if (s->exists)
		resolve_store_secrets(r, &s->store);
}

/* everything external.c and restore.c may read for externalCluster `name` */
static void
resolve_external_cluster(CbResolvedObjects *r, const CbClusterSpec *spec, const char *name)
{
	const CbExternalCluster *ec = name ? cb_find_external_cluster(spec, name) : NULL;
	const CbKeyRef *refs[4];

	/* none of that name: the method says so, as it always did */
	if (ec == NULL)
		return;
	refs[0] = &ec->ssl_cert;
	refs[1] = &ec->ssl_key;
	refs[2] = &ec->ssl_root_cert;
	refs[3] = &ec->password;
	for (int i = 0; i < (int) lengthof(refs); i++)
		if (refs[i]->present)
			resolve_secret(r, refs[i]->name);
	resolve_store_secrets(r, &ec->barman_object_store);
	if (ec->has_plugin)
		resolve_objectstore(r, cb_plugin_object_store(ec));
}

CbResolvedObjects *
cb_resolve_external_clusters(const CbCluster *c)
{
	const CbBootstrap *b = &c->spec->bootstrap;
	CbResolvedObjects *r = palloc0(sizeof(CbResolvedObjects));

	switch (b->method)
	{
		case CB_BOOTSTRAP_INITDB:
			if (b->initdb.import.present)
				resolve_external_cluster(r, c->spec, b->initdb.import.source_external_cluster);
			break;
		case CB_BOOTSTRAP_PG_BASEBACKUP:
			resolve_external_cluster(r, c->spec, b->pg_basebackup.source);
			break;
		case CB_BOOTSTRAP_RECOVERY:
			resolve_external_cluster(r, c->spec, b->recovery.source);
			break;
	}
	resolve_external_cluster(r, c->spec, c->spec->replica.source);
	return r;
}

/* ---------- the cluster's TLS Secrets ---------- */

void
cb_resolve_pki(CbPki *pki)
{
	CbPkiSecret *secrets[] = {&pki->ca, &pki->server, &pki->replication};

	for (int i = 0; i < (int) lengthof(secrets); i++)
		secrets[i]->exists = cb_catalog_load_secret_tx(secrets[i]->name, &secrets[i]->data);
}

void
cb_resolve_store_pki(CbCluster *c, const CbPki *pki)
{
	const CbPkiSecret *secrets[] = {&pki->ca, &pki->server, &pki->replication};

	for (int i = 0; i < (int) lengthof(secrets); i++)
	{
		const CbPkiSecret *s = secrets[i];

		if (!s->generated)
			continue;
		/* none was found: one that appeared since is the user's, and wins */
		if (!cb_catalog_store_generated_secret(c->name, s->name, c->spec->namespace,
											   s->type, NULL, &s->data))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("Secret \"%s\" was applied while the cluster's certificates were made", s->name),
					 errhint("Delete and re-apply the Cluster: the applied Secret will be used as it is.")));
	}
}
