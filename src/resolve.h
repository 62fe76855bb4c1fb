/*-------------------------------------------------------------------------
 *
 * resolve.h
 *	  What the plan reads from (and the Secrets it generates into) the
 *	  catalog for a cluster's methods, so that the methods only get plain
 *	  values: credential Secrets, post-init SQL references, the Secrets and
 *	  ObjectStores of the externalClusters used, the TLS Secrets.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_RESOLVE_H
#define CB_RESOLVE_H

#include "certs.h"
#include "cluster.h"

/* a generated basic-auth Secret, kept if it exists (CNPG never regenerates) */
extern void cb_resolve_credential_secret(CbCluster *c, const char *secret, const char *user,
										 const char *dbname, const char *user_type);
/*
 * the password of a credential Secret whose username must be `role`
 * (not strict: NULL, with a WARNING, when it is another role's)
 */
extern char *cb_resolve_credential_password(const char *secret, const char *role,
											const char *path, bool strict);
/* c->refs[which]: the *SQLRefs of one database, each value resolved */
extern void cb_resolve_sql_refs(CbCluster *c, CbPostInitDb which,
								const CbSQLRefs *refs, const char *path);

/*
 * The Secrets and ObjectStores (and those ObjectStores' Secrets) of every
 * externalCluster the plan may use: recovery.source, pg_basebackup.source,
 * import's source, replica.source.  What does not exist is recorded as
 * absent, for the method that needs it to fail as it always did.
 */
extern CbResolvedObjects *cb_resolve_external_clusters(const CbCluster *c);

/* the TLS Secrets that exist (exists, data) */
extern void cb_resolve_pki(CbPki *pki);
/* store the TLS Secrets cb_certs_make generated; ERROR if one appeared meanwhile */
extern void cb_resolve_store_pki(CbCluster *c, const CbPki *pki);

#endif							/* CB_RESOLVE_H */
