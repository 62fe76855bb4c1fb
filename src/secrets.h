/*-------------------------------------------------------------------------
 *
 * secrets.h
 *	  Passwords and the credential Secrets CloudNativePG generates:
 *	  CSPRNG passwords (go-password Generate(64, 10, 0, false, true)),
 *	  client-side SCRAM-SHA-256 verifiers, the keys of <cluster>-app /
 *	  <cluster>-superuser (uri, jdbc-uri, pgpass ...).  Pure OpenSSL, no
 *	  catalog access.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SECRETS_H
#define CB_SECRETS_H

#include "model.h"

/* 64 chars: exactly 10 digits and 54 letters, OpenSSL RAND_bytes */
extern char *cb_generate_password(void);

/*
 * "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"; a value that already
 * is an md5 or SCRAM verifier is returned unchanged.
 */
extern char *cb_password_verifier(const char *role, const char *password);

/*
 * The credential keys of a generated basic-auth Secret (SPEC-cnpg.md
 * section 5 and SPEC.md 4b): username, user, password, dbname, host, port,
 * pgpass, uri, jdbc-uri, fqdn-uri, fqdn-jdbc-uri.
 */
extern CbMap cb_credential_keys(const char *username, const char *password,
								const char *dbname, const char *host, int port,
								const char *namespace);

/* percent-encoding for URL userinfo / form values */
extern char *cb_url_userinfo_escape(const char *s);
extern char *cb_url_query_escape(const char *s);

/* a pgpass field: '\' -> '\\', ':' -> '\:' */
extern char *cb_pgpass_escape(const char *s);

#endif							/* CB_SECRETS_H */
