/*-------------------------------------------------------------------------
 *
 * gcs.h
 *	  The Google Cloud Storage pieces of the object-store client
 *	  (objectstore.c): gs://bucket/path, the service-account JSON key, the
 *	  OAuth2 JWT bearer grant (RS256 signed here with OpenSSL) and the
 *	  access token it yields, cached until shortly before it expires.
 *	  Requests go to the XML API (https://storage.googleapis.com/<bucket>/
 *	  <object>, ListObjectsV2-style listings), so the transfers, listings
 *	  and error documents are the S3 code's; only where requests go and the
 *	  "Authorization: Bearer" header differ.
 *
 * Errors never quote the key, the assertion or a token.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_GCS_H
#define CB_GCS_H

#include "postgres.h"

#include "objectstore.h"

#define CB_GCS_DEFAULT_ENDPOINT "https://storage.googleapis.com"
#define CB_GCS_SCOPE "https://www.googleapis.com/auth/devstorage.read_only"

/* the fields of a service-account key we use */
typedef struct CbGcsKey
{
	char	   *client_email;
	char	   *private_key;	/* PEM */
	char	   *private_key_id;	/* may be NULL */
	char	   *token_uri;
} CbGcsKey;

/*
 * The webhook's rules for googleCredentials and what we do not support
 * (gkeEnvironment: workload identity).  false with *errmsg and *hint.
 */
extern bool cb_gcs_check_credentials(bool gke_environment, bool has_key,
									 char **errmsg, char **hint);

/* gs://bucket[/prefix]: prefix without leading/trailing '/' */
extern bool cb_gcs_parse_destination(const char *path, char **bucket,
									 char **prefix, char **errmsg, char **hint);

/* a service-account JSON key; *errmsg names the field, never a value */
extern bool cb_gcs_parse_key(const char *json, CbGcsKey *key, char **errmsg,
							 char **hint);

/* the signed JWT assertion for key at time now (NULL with *errmsg) */
extern char *cb_gcs_jwt(const CbGcsKey *key, time_t now, char **errmsg);

/* ---------- the token of a client ---------- */

typedef struct CbGcsAuth CbGcsAuth;

/* from the JSON key (checked by cb_gcs_parse_key) */
extern CbGcsAuth *cb_gcs_auth_create(const char *json, char **errmsg, char **hint);

/*
 * "Bearer <token>", fetching a token from the key's token_uri when none is
 * cached or it expires within a quarter of its life (at most 5 minutes).
 * The request waits through cfg->wait like every transfer (so it may throw
 * in the server, after cleaning up), and is retried as transfers are;
 * a refusal (4xx) is final for this client.  NULL with err set.  With
 * err NULL: the cached token as it is, if there is one.
 */
extern const char *cb_gcs_authorization(CbGcsAuth *auth, const CbOsConfig *cfg,
										CbOsError *err);

/* the store said 401: drop the token; true if a new one may help */
extern bool cb_gcs_auth_forget(CbGcsAuth *auth);

/* tokens fetched so far (for tests) */
extern int	cb_gcs_tokens_fetched(const CbGcsAuth *auth);

/* no token or key text in s (returns s or a scrubbed copy) */
extern char *cb_gcs_scrub(const CbGcsAuth *auth, char *s);

/* wipe the key and the token */
extern void cb_gcs_auth_clear(CbGcsAuth *auth);

#endif							/* CB_GCS_H */
