/*-------------------------------------------------------------------------
 *
 * certs.h
 *	  A cluster's PKI as CloudNativePG makes it: the <cluster>-ca,
 *	  <cluster>-server and <cluster>-replication Secrets, and their files
 *	  under <data_root>/<cluster>/certs/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CERTS_H
#define CB_CERTS_H

#include "cluster.h"

/* one of the cluster's TLS Secrets */
typedef struct CbPkiSecret
{
	const char *name;
	const char *type;			/* the type it gets if it is made */
	const char *cert_key;		/* "ca.crt" or "tls.crt" */
	const char *key_key;		/* "ca.key" or "tls.key" */
	bool		exists;			/* the plan found it: used as it is */
	CbMap		data;			/* its values, found or made */
	bool		generated;		/* made here: the plan stores it */
} CbPkiSecret;

typedef struct CbPki
{
	CbPkiSecret ca;
	CbPkiSecret server;
	CbPkiSecret replication;
} CbPki;

/*
 * The plan's pki step: cb_certs_names, then it loads each Secret that
 * exists, cb_certs_make, it stores each generated one (never over one it
 * did not generate), then cb_certs_write.
 */
/* the Secrets' names: spec.certificates, else <cluster>-ca, -server, -replication */
extern void cb_certs_names(CbCluster *c, CbPki *pki);
/* make what is missing (never regenerate what exists) */
extern void cb_certs_make(CbCluster *c, CbPki *pki);
/* write the files, set c->tls */
extern void cb_certs_write(CbCluster *c, const CbPki *pki);

/* file names under c->certs_dir */
#include "certfiles.h"

#endif							/* CB_CERTS_H */
