/*-------------------------------------------------------------------------
 *
 * certs.c
 *	  The cluster's own CA, its server certificate and the streaming_replica
 *	  client certificate (docs/cnpg-rules.md §6.1), kept as Secrets in the catalog
 *	  like CNPG keeps them in Kubernetes, and written as 0600 files for the
 *	  instances.  Existing Secrets are used as they are (a user-supplied
 *	  Secret wins); what is missing is made with tls.c.  The plan reads
 *	  the Secrets from the catalog and stores the ones made here
 *	  (resolve.c): this file never reaches the catalog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "certs.h"
#include "fsutil.h"
#include "tls.h"

static void
tls_failed(const char *what, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("could not make the %s: %s", what, msg ? msg : "unknown error")));
}

/* a Secret of the PKI, with its name and the keys of its two PEM values */
static void
name_secret(CbPkiSecret *s, const char *name, const char *type,
			const char *cert_key, const char *key_key)
{
	memset(s, 0, sizeof(CbPkiSecret));
	s->name = name;
	s->type = type;
	s->cert_key = cert_key;
	s->key_key = key_key;
}

void
cb_certs_names(CbCluster *c, CbPki *pki)
{
	const CbCertificates *spec = &c->spec->certificates;

	name_secret(&pki->ca, spec->server_ca_secret ? spec->server_ca_secret : psprintf("%s-ca", c->name),
				"Opaque", "ca.crt", "ca.key");
	name_secret(&pki->server, spec->server_tls_secret ? spec->server_tls_secret : psprintf("%s-server", c->name),
				"kubernetes.io/tls", "tls.crt", "tls.key");
	name_secret(&pki->replication, spec->replication_tls_secret ? spec->replication_tls_secret : psprintf("%s-replication", c->name),
				"kubernetes.io/tls", "tls.crt", "tls.key");
}

/* the two PEM values of a Secret the plan found, or false if it found none */
static bool
existing_pair(const CbPkiSecret *s)
{
	if (!s->exists)
		return false;
	if (cb_map_get(&s->data, s->cert_key) == NULL || cb_map_get(&s->data, s->key_key) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Secret \"%s\" lacks key \"%s\" or \"%s\"", s->name, s->cert_key, s->key_key)));
	return true;
}

/* what was made, for the plan to store as the Secret's values */
static void
made_pair(CbPkiSecret *s, const CbTlsPair *pair)
{
	s->data.n = 2;
	s->data.items = palloc0(sizeof(CbKV) * 2);
	s->data.items[0].key = (char *) s->cert_key;
	s->data.items[0].value = pair->cert_pem;
	s->data.items[1].key = (char *) s->key_key;
	s->data.items[1].value = pair->key_pem;
	s->generated = true;
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
cb_certs_make(CbCluster *c, CbPki *pki)
{
	CbTlsCA    *signer = NULL;
	char	   *err = NULL;
	bool		have_server,
				have_repl;

	if (!existing_pair(&pki->ca))
	{
		CbTlsPair	made;

		if (!cb_tls_make_ca(c->name, c->spec->namespace ? c->spec->namespace : "default",
							NULL, &made, &err))
			tls_failed("cluster CA", err);
		made_pair(&pki->ca, &made);
	}
	have_server = existing_pair(&pki->server);
	have_repl = existing_pair(&pki->replication);
	if ((!have_server || !have_repl) &&
		(signer = cb_tls_load_ca(cb_map_get(&pki->ca.data, "ca.crt"),
								 cb_map_get(&pki->ca.data, "ca.key"), &err)) == NULL)
		tls_failed("cluster CA signer", err);
	if (!have_server)
	{
		CbTlsPair	made;

		if (!cb_tls_make_server_cert(signer, psprintf("%s-rw", c->name),
									 server_alt_names(c), NULL, &made, &err))
			tls_failed("server certificate", err);
		made_pair(&pki->server, &made);
	}
	if (!have_repl)
	{
		CbTlsPair	made;

		if (!cb_tls_make_client_cert(signer, "streaming_replica", NULL, &made, &err))
			tls_failed("replication certificate", err);
		made_pair(&pki->replication, &made);
	}
	if (signer)
		cb_tls_ca_free(signer);
}

void
cb_certs_write(CbCluster *c, const CbPki *pki)
{
	const char *ca = cb_map_get(&pki->ca.data, "ca.crt");

	write_pem(c, CB_SERVER_CRT, cb_map_get(&pki->server.data, "tls.crt"));
	write_pem(c, CB_SERVER_KEY, cb_map_get(&pki->server.data, "tls.key"));
	write_pem(c, CB_CLIENT_CA, ca);
	write_pem(c, CB_SERVER_CA, ca);
	write_pem(c, CB_REPLICATION_CRT, cb_map_get(&pki->replication.data, "tls.crt"));
	write_pem(c, CB_REPLICATION_KEY, cb_map_get(&pki->replication.data, "tls.key"));
	c->tls = true;
}
