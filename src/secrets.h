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
 * "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>" (16-byte random salt,
 * password SASLprep'ed by PostgreSQL's own pg_saslprep, as the server
 * does); a value that already is an md5 or SCRAM verifier is returned
 * unchanged.
 */
extern char *cb_password_verifier(const char *role, const char *password);

/*
 * The credential keys of a generated basic-auth Secret (docs/cnpg-rules.md
 * section 5 and docs/decisions.md §8): username, user, password, dbname, host, port,
 * pgpass, uri, jdbc-uri, fqdn-uri, fqdn-jdbc-uri, in that order.  host and
 * port are the ones the primary listens on, used as given in every value
 * (the fqdn- variants equal the plain ones on one host); namespace is
 * accepted for the interface and unused.  pgpass ends with a newline and
 * escapes ':' and '\' in each field.
 */
extern CbMap cb_credential_keys(const char *username, const char *password,
								const char *dbname, const char *host, int port,
								const char *namespace);

/*
 * Percent-encoding as Go's net/url does it (what CNPG's values are made
 * with): URL userinfo (url.UserPassword), form values (url.QueryEscape:
 * space -> '+'), and a URL path (URL.EscapedPath: only '?' among the
 * reserved characters).  All three decode with libpq's URI parser.
 */
extern char *cb_url_userinfo_escape(const char *s);
extern char *cb_url_query_escape(const char *s);
extern char *cb_url_path_escape(const char *s);

/* a pgpass field: '\' -> '\\', ':' -> '\:' */
extern char *cb_pgpass_escape(const char *s);

#endif							/* CB_SECRETS_H */
