/*-------------------------------------------------------------------------
 *
 * certs.c
 *	  The cluster's own CA, its server certificate and the streaming_replica
 *	  client certificate (docs/cnpg-rules.md §6.1), kept as Secrets in the catalog
 *	  like CNPG keeps them in Kubernetes, and written as 0600 files for the
 *	  instances.  Existing Secrets are used as they are (a user-supplied
 *	  Secret wins); what is missing is made with tls.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "certs.h"
#include "fsutil.h"
#include "tls.h"

typedef struct CertPair
{
	const char *cert;
	const char *key;
} CertPair;

static void
tls_failed(const char *what, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("could not make the %s: %s", what, msg ? msg : "unknown error")));
}

/* the two PEM values of an existing Secret, or false */
static bool
load_pair(const char *secret, const char *cert_key, const char *key_key, CertPair *out)
{
	CbMap		data;

	if (!cb_catalog_load_secret_tx(secret, &data))
		return false;
	out->cert = cb_map_get(&data, cert_key);
	out->key = cb_map_get(&data, key_key);
	if (out->cert == NULL || out->key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Secret \"%s\" lacks key \"%s\" or \"%s\"", secret, cert_key, key_key)));
	return true;
}

static void
store_pair(CbCluster *c, const char *secret, const char *type,
		   const char *cert_key, const char *key_key, const CbTlsPair *pair)
{
	CbMap		data;

	data.n = 2;
	data.items = palloc0(sizeof(CbKV) * 2);
	data.items[0].key = (char *) cert_key;
	data.items[0].value = pair->cert_pem;
	data.items[1].key = (char *) key_key;
	data.items[1].value = pair->key_pem;
	/* load_pair found none: one that appeared since is the user's, and wins */
	if (!cb_catalog_store_generated_secret(c->name, secret, c->spec->namespace, type, NULL, &data))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("Secret \"%s\" was applied while the cluster's certificates were made", secret),
				 errhint("Delete and re-apply the Cluster: the applied Secret will be used as it is.")));
}

/* DNS names and addresses the server certificate must carry */
static const char **
server_alt_names(CbCluster *c)
{
	const char *ns = c->spec->namespace ? c->spec->namespace : "default";
	const CbStringList *extra = &c->spec->certificates.server_alt_dns_names;
	static const char *const services[] = {"rw", "r", "ro"};
	const char **names = palloc0(sizeof(char *) * (16 + 4 * 3 + c->ninstances + extra->n));
	int			n = 0;

	names[n++] = "localhost";
	names[n++] = "127.0.0.1";
	names[n++] = "::1";
	if (strcmp(c->host, "localhost") != 0)
		names[n++] = c->host;
	for (int i = 0; i < (int) lengthof(services); i++)
	{
		char	   *svc = psprintf("%s-%s", c->name, services[i]);

		names[n++] = svc;
		names[n++] = psprintf("%s.%s", svc, ns);
		names[n++] = psprintf("%s.%s.svc", svc, ns);
		names[n++] = psprintf("%s.%s.svc.cluster.local", svc, ns);
	}
	for (int i = 0; i < c->ninstances; i++)
		names[n++] = c->instances[i].name;
	for (int i = 0; i < extra->n; i++)
		names[n++] = extra->items[i];
	return names;
}

static void
write_pem(CbCluster *c, const char *file, const char *pem)
{
	cb_write_file(psprintf("%s/%s", c->certs_dir, file), pem, strlen(pem), 0600);
}

void
cb_certs_ensure(CbCluster *c)
{
	const CbCertificates *spec = &c->spec->certificates;
	const char *ca_secret = spec->server_ca_secret ? spec->server_ca_secret : psprintf("%s-ca", c->name);
	const char *server_secret = spec->server_tls_secret ? spec->server_tls_secret : psprintf("%s-server", c->name);
	const char *repl_secret = spec->replication_tls_secret ? spec->replication_tls_secret : psprintf("%s-replication", c->name);
	CertPair	ca,
				server,
				repl;
	CbTlsCA    *signer = NULL;
	char	   *err = NULL;
	bool		have_server,
				have_repl;

	if (!load_pair(ca_secret, "ca.crt", "ca.key", &ca))
	{
		CbTlsPair	made;

		if (!cb_tls_make_ca(c->name, c->spec->namespace ? c->spec->namespace : "default",
							NULL, &made, &err))
			tls_failed("cluster CA", err);
		store_pair(c, ca_secret, "Opaque", "ca.crt", "ca.key", &made);
		ca.cert = made.cert_pem;
		ca.key = made.key_pem;
	}
	have_server = load_pair(server_secret, "tls.crt", "tls.key", &server);
	have_repl = load_pair(repl_secret, "tls.crt", "tls.key", &repl);
	if ((!have_server || !have_repl) &&
		(signer = cb_tls_load_ca(ca.cert, ca.key, &err)) == NULL)
		tls_failed("cluster CA signer", err);
	if (!have_server)
	{
		CbTlsPair	made;

		if (!cb_tls_make_server_cert(signer, psprintf("%s-rw", c->name),
									 server_alt_names(c), NULL, &made, &err))
			tls_failed("server certificate", err);
		store_pair(c, server_secret, "kubernetes.io/tls", "tls.crt", "tls.key", &made);
		server.cert = made.cert_pem;
		server.key = made.key_pem;
	}
	if (!have_repl)
	{
		CbTlsPair	made;

		if (!cb_tls_make_client_cert(signer, "streaming_replica", NULL, &made, &err))
			tls_failed("replication certificate", err);
		store_pair(c, repl_secret, "kubernetes.io/tls", "tls.crt", "tls.key", &made);
		repl.cert = made.cert_pem;
		repl.key = made.key_pem;
	}
	if (signer)
		cb_tls_ca_free(signer);

	write_pem(c, CB_SERVER_CRT, server.cert);
	write_pem(c, CB_SERVER_KEY, server.key);
	write_pem(c, CB_CLIENT_CA, ca.cert);
	write_pem(c, CB_SERVER_CA, ca.cert);
	write_pem(c, CB_REPLICATION_CRT, repl.cert);
	write_pem(c, CB_REPLICATION_KEY, repl.key);
	c->tls = true;
}
