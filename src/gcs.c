/*-------------------------------------------------------------------------
 *
 * gcs.c
 *	  Google Cloud Storage for the object-store client: gs:// paths, the
 *	  service-account JSON key, and the OAuth2 access token.  objectstore.c
 *	  calls these when its provider is Google; transfers, retries and waits
 *	  are the S3 code (GCS's XML API answers as S3 does).
 *
 * The token (RFC 7523, as google-auth does for a service account): a JWT
 *   header {"alg":"RS256","typ":"JWT","kid":<private_key_id>}
 *   claims {"iss":<client_email>,"scope":<read-only>,"aud":<token_uri>,
 *           "iat":now,"exp":now+3600}
 * signed with the key (SHA-256, PKCS#1 v1.5, OpenSSL's EVP), base64url
 * without padding, POSTed to token_uri as
 *   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>
 * which answers {"access_token", "expires_in", "token_type": "Bearer"}.
 * The request has its own libcurl multi handle and waits through the same
 * wait function as the transfers (the worker's latch), so a SIGTERM ends it
 * within a second too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "common/base64.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#ifndef CB_OS_NO_BACKEND
#include "miscadmin.h"
#endif

#include "gcs.h"

#define GCS_KEY_MAX			(64 * 1024)
#define GCS_ANSWER_MAX		(64 * 1024)
#define GCS_TOKEN_MAX		4096
#define GCS_JWT_LIFETIME	3600
#define GCS_REFRESH_MAX_S	300
#define GCS_MAX_SOCKS		4

struct CbGcsAuth
{
	CbGcsKey	key;
	char	   *json;			/* the key, to wipe */
	char	   *bearer;			/* "Bearer <token>", NULL if none */
	int64		refresh_at;		/* monotonic ms after which it is stale */
	int			fetched;
	CbOsError	refusal;		/* a 4xx of the token endpoint: final */
	bool		refused;
};

static int64
gcs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- credentials and destinationPath ---------- */

bool
cb_gcs_check_credentials(bool gke_environment, bool has_key, char **errmsg,
						 char **hint)
{
	*hint = NULL;
	if (gke_environment && has_key)
		*errmsg = pstrdup("googleCredentials: if gkeEnvironment is true, secret with credentials must not be provided");
	else if (gke_environment)
	{
		*errmsg = pstrdup("googleCredentials.gkeEnvironment not supported yet");
		*hint = pstrdup("A host has no GKE workload identity: give a service-account JSON key in googleCredentials.applicationCredentials and set gkeEnvironment to false.");
	}
	else if (!has_key)
		*errmsg = pstrdup("googleCredentials: if gkeEnvironment is false, secret with credentials must be provided");
	else
		return true;
	return false;
}

bool
cb_gcs_parse_destination(const char *path, char **bucket, char **prefix,
						 char **errmsg, char **hint)
{
	const char *p;
	size_t		blen;

	*hint = pstrdup("With googleCredentials, destinationPath is gs://<bucket>[/<path>].");
	if (path == NULL || pg_strncasecmp(path, "gs://", 5) != 0)
	{
		*errmsg = psprintf("destinationPath \"%s\" is not a gs:// URL", path ? path : "");
		return false;
	}
	p = path + 5;
	blen = strcspn(p, "/");
	/* Google's bucket names: 3 to 222 of a-z 0-9 - _ . */
	if (blen < 3 || blen > 222 ||
		strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-_.") < blen)
	{
		*errmsg = psprintf("destinationPath \"%s\" has no valid bucket name", path);
		*hint = pstrdup("A bucket name has 3 to 222 lower-case letters, digits, '-', '_' and '.'.");
		return false;
	}
	*bucket = pnstrdup(p, blen);
	*prefix = cb_os_trim_prefix(p + blen);
	*hint = NULL;
	return true;
}

/* ---------- flat JSON objects (the key, the token answer) ---------- */

typedef struct GcsJson
{
	int			depth;
	const char *const *names;	/* the top-level fields wanted */
	char	  **values;			/* their string or number values */
	int			current;		/* index of the field being read, -1 */
} GcsJson;

static void
gcs_json_object_start(void *state)
{
	((GcsJson *) state)->depth++;
}

static void
gcs_json_object_end(void *state)
{
	((GcsJson *) state)->depth--;
}

static void
gcs_json_field(void *state, char *fname, bool isnull)
{
	GcsJson    *js = state;

	js->current = -1;
	if (js->depth != 1)
		return;
	for (int i = 0; js->names[i]; i++)
		if (strcmp(fname, js->names[i]) == 0)
			js->current = i;
}

static void
gcs_json_scalar(void *state, char *token, JsonTokenType type)
{
	GcsJson    *js = state;

	if (js->depth == 1 && js->current >= 0 &&
		(type == JSON_TOKEN_STRING || type == JSON_TOKEN_NUMBER))
		js->values[js->current] = token;
	js->current = -1;
}

/* the wanted top-level fields of a JSON object; false if not one */
static bool
gcs_json_fields(const char *text, size_t len, const char *const *names,
				char **values)
{
	GcsJson		js = {0, names, values, -1};
	JsonSemAction sem;
	JsonLexContext *lex;
	char	   *copy = pnstrdup(text, len);
	bool		ok;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &js;
	sem.object_start = gcs_json_object_start;
	sem.object_end = gcs_json_object_end;
	sem.object_field_start = gcs_json_field;
	sem.scalar = gcs_json_scalar;
	for (int i = 0; names[i]; i++)
		values[i] = NULL;
	lex = makeJsonLexContextCstringLen(copy, (int) len, PG_UTF8, true);
	ok = len > 0 && copy[strspn(copy, " \t\r\n")] == '{' &&
		pg_parse_json(lex, &sem) == JSON_SUCCESS;
	explicit_bzero(copy, len);
	return ok;
}

bool
cb_gcs_parse_key(const char *json, CbGcsKey *key, char **errmsg, char **hint)
{
	static const char *const names[] = {"type", "client_email", "private_key",
	"private_key_id", "token_uri", NULL};
	char	   *v[5];
	const char *uri;

	memset(key, 0, sizeof(CbGcsKey));
	*hint = pstrdup("applicationCredentials is the JSON key file of a service account, as \"gcloud iam service-accounts keys create\" writes it.");
	if (strlen(json) > GCS_KEY_MAX || !gcs_json_fields(json, strlen(json), names, v))
	{
		*errmsg = pstrdup("googleCredentials applicationCredentials is not a JSON object");
		return false;
	}
	if (v[0] == NULL || strcmp(v[0], "service_account") != 0)
	{
		*errmsg = pstrdup("googleCredentials applicationCredentials is not a service-account key (its \"type\" is not \"service_account\")");
		return false;
	}
	for (int i = 1; i < 5; i++)
		if (i != 3 && (v[i] == NULL || v[i][0] == '\0'))
		{
			*errmsg = psprintf("googleCredentials applicationCredentials has no \"%s\"", names[i]);
			return false;
		}
	uri = v[4];
	/* the assertion is a credential for an hour: never in clear text */
	if (pg_strncasecmp(uri, "https://", 8) != 0 &&
		!(pg_strncasecmp(uri, "http://127.0.0.1", 16) == 0 && strchr(":/", uri[16] ? uri[16] : '/')) &&
		!(pg_strncasecmp(uri, "http://localhost", 16) == 0 && strchr(":/", uri[16] ? uri[16] : '/')))
	{
		*errmsg = psprintf("googleCredentials applicationCredentials: token_uri \"%s\" is not an https:// URL", uri);
		return false;
	}
	for (int i = 1; i < 5; i++)
		if (v[i] && i != 2 && strpbrk(v[i], "\r\n"))
		{
			*errmsg = psprintf("googleCredentials applicationCredentials: \"%s\" holds a line break", names[i]);
			return false;
		}
	key->client_email = v[1];
	key->private_key = v[2];
	key->private_key_id = v[3];
	key->token_uri = v[4];
	*hint = NULL;
	return true;
}

/* ---------- the JWT ---------- */

static char *
gcs_b64url(const unsigned char *data, size_t len)
{
	int			max = pg_b64_enc_len(len);
	char	   *out = palloc(max + 1);
	int			n = pg_b64_encode((const char *) data, len, out, max);

	n = Max(n, 0);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* a JSON string literal (the values are checked to have no control char) */
static char *
gcs_json_str(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(&b, '\\');
		appendStringInfoChar(&b, *s);
	}
	appendStringInfoChar(&b, '"');
	return b.data;
}

char *
cb_gcs_jwt(const CbGcsKey *key, time_t now, char **errmsg)
{
	char	   *header;
	char	   *claims;
	char	   *input;
	BIO		   *bio;
	EVP_PKEY   *pkey;
	EVP_MD_CTX *md;
	unsigned char sig[1024];
	size_t		siglen = sizeof(sig);
	bool		ok;

	header = psprintf("{\"alg\":\"RS256\",\"typ\":\"JWT\"%s%s}",
					  key->private_key_id ? ",\"kid\":" : "",
					  key->private_key_id ? gcs_json_str(key->private_key_id) : "");
	claims = psprintf("{\"iss\":%s,\"scope\":\"%s\",\"aud\":%s,\"iat\":%ld,\"exp\":%ld}",
					  gcs_json_str(key->client_email), CB_GCS_SCOPE,
					  gcs_json_str(key->token_uri), (long) now,
					  (long) now + GCS_JWT_LIFETIME);
	input = psprintf("%s.%s", gcs_b64url((unsigned char *) header, strlen(header)),
					 gcs_b64url((unsigned char *) claims, strlen(claims)));

	bio = BIO_new_mem_buf(key->private_key, -1);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pkey == NULL || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA)
	{
		EVP_PKEY_free(pkey);
		*errmsg = pstrdup("googleCredentials applicationCredentials: private_key is not a PEM RSA private key");
		return NULL;
	}
	md = EVP_MD_CTX_new();
	ok = md != NULL &&
		EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestSign(md, sig, &siglen, (unsigned char *) input, strlen(input)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	if (!ok)
	{
		*errmsg = pstrdup("could not sign the OAuth2 assertion with the service account's key");
		return NULL;
	}
	return psprintf("%s.%s", input, gcs_b64url(sig, siglen));
}

/* ---------- the token ---------- */

CbGcsAuth *
cb_gcs_auth_create(const char *json, char **errmsg, char **hint)
{
	CbGcsAuth  *a = palloc0(sizeof(CbGcsAuth));
	char	   *jwt;

	a->json = pstrdup(json);
	if (!cb_gcs_parse_key(a->json, &a->key, errmsg, hint))
		return NULL;
	/* refuse a key that cannot sign now, not at the first request */
	if ((jwt = cb_gcs_jwt(&a->key, time(NULL), errmsg)) == NULL)
		return NULL;
	explicit_bzero(jwt, strlen(jwt));
	return a;
}

static void
gcs_fail(CbOsError *err, int status, const char *code, const char *hint,
		 char *message)
{
	memset(err, 0, sizeof(CbOsError));
	err->http_status = status;
	err->code = code ? pstrdup(code) : NULL;
	err->message = message;
	err->hint = hint ? pstrdup(hint) : NULL;
}

/* a text from the token endpoint, fit for a message: short, printable */
static char *
gcs_clean(const char *s)
{
	char	   *out = pnstrdup(s ? s : "", 200);

	for (char *p = out; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = ' ';
	return out;
}

typedef struct GcsRequest
{
	CURLM	   *multi;
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *form;
	StringInfoData body;
	bool		too_big;
	CbOsWaitSocket socks[GCS_MAX_SOCKS];
	int			nsocks;
	int64		timer_at;		/* monotonic ms, -1 none */
	char		errbuf[CURL_ERROR_SIZE];
} GcsRequest;

static size_t
gcs_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	GcsRequest *r = userp;

	if (r->body.len + size * nmemb > GCS_ANSWER_MAX)
	{
		r->too_big = true;
		return 0;
	}
	appendBinaryStringInfo(&r->body, data, size * nmemb);
	return size * nmemb;
}

static int
gcs_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	GcsRequest *r = userp;
	int			i;

	for (i = 0; i < r->nsocks; i++)
		if (r->socks[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < r->nsocks)
			r->socks[i] = r->socks[--r->nsocks];
		return 0;
	}
	if (i == r->nsocks)
	{
		if (r->nsocks == GCS_MAX_SOCKS)
			return -1;
		r->socks[r->nsocks++].fd = fd;
	}
	r->socks[i].events = ((what & CURL_POLL_IN) ? CB_OS_WAIT_READ : 0) |
		((what & CURL_POLL_OUT) ? CB_OS_WAIT_WRITE : 0);
	return 0;
}

static int
gcs_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	GcsRequest *r = userp;

	r->timer_at = timeout_ms < 0 ? -1 : gcs_now_ms() + timeout_ms;
	return 0;
}

static void
gcs_request_cleanup(GcsRequest *r)
{
	if (r->easy)
	{
		if (r->multi)
			curl_multi_remove_handle(r->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	if (r->multi)
		curl_multi_cleanup(r->multi);
	if (r->headers)
		curl_slist_free_all(r->headers);
	r->easy = NULL;
	r->multi = NULL;
	r->headers = NULL;
	if (r->form)
		explicit_bzero(r->form, strlen(r->form));
}

/*
 * One POST to the token endpoint, waiting through cfg->wait.  Returns the
 * libcurl result (CURLE_ABORTED_BY_CALLBACK: the wait said stop).
 */
static CURLcode
gcs_post_loop(GcsRequest *r, const CbOsConfig *cfg, long *status)
{
	CURLcode	rc = CURLE_OK;
	int			running = 1;
	CURLMsg    *msg;
	int			left;

	for (;;)
	{
		long		timeout = 1000;
		CbOsWaitSocket socks[GCS_MAX_SOCKS];
		int			n = r->nsocks;

		if (r->timer_at >= 0)
			timeout = Min(timeout, Max(0, r->timer_at - gcs_now_ms()));
		memcpy(socks, r->socks, sizeof(CbOsWaitSocket) * n);
		for (int i = 0; i < n; i++)
			socks[i].revents = 0;
		if (!cfg->wait(cfg->wait_arg, socks, n, timeout))
			return CURLE_ABORTED_BY_CALLBACK;
		for (int i = 0; i < n; i++)
			if (socks[i].revents)
				curl_multi_socket_action(r->multi, socks[i].fd,
										 ((socks[i].revents & CB_OS_WAIT_READ) ? CURL_CSELECT_IN : 0) |
										 ((socks[i].revents & CB_OS_WAIT_WRITE) ? CURL_CSELECT_OUT : 0),
										 &running);
		if (r->timer_at >= 0 && gcs_now_ms() >= r->timer_at)
		{
			r->timer_at = -1;
			curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		while ((msg = curl_multi_info_read(r->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
			{
				rc = msg->data.result;
				curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, status);
				return rc;
			}
	}
}

static CURLcode
gcs_post(GcsRequest *r, const CbGcsAuth *a, const CbOsConfig *cfg, long *status)
{
	volatile CURLcode rc;
	CURL	   *e;

	r->timer_at = -1;
	if ((r->multi = curl_multi_init()) == NULL || (r->easy = e = curl_easy_init()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, gcs_socket_cb);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, gcs_timer_cb);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	r->headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, a->key.token_uri);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->form);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gcs_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "cnpg_bootstrap");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) cfg->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) cfg->stall_timeout_s * 1000L);
	/* endpointCA is trusted for the token endpoint too (a private setup) */
	if (cfg->endpoint_ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->endpoint_ca_file);
	if (curl_multi_add_handle(r->multi, e) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
#ifndef CB_OS_NO_BACKEND
	/* an ERROR from the wait (SIGTERM) must not leave handles behind */
	PG_TRY();
	{
		rc = gcs_post_loop(r, cfg, status);
	}
	PG_CATCH();
	{
		gcs_request_cleanup(r);
		PG_RE_THROW();
	}
	PG_END_TRY();
#else
	rc = gcs_post_loop(r, cfg, status);
#endif
	return rc;
}

/* the token endpoint's answer into a; false with err */
static bool
gcs_take_token(CbGcsAuth *a, GcsRequest *r, long status, CbOsError *err)
{
	static const char *const names[] = {"access_token", "expires_in", "token_type",
	"error", "error_description", NULL};
	char	   *v[5];
	bool		json = gcs_json_fields(r->body.data, r->body.len, names, v);
	long		expires = 3600;
	int64		margin;

	if (status < 200 || status >= 300)
	{
		gcs_fail(err, (int) status, json && v[3] ? gcs_clean(v[3]) : "TokenRefused",
				 "Check googleCredentials.applicationCredentials: the key must be a current key of the service account (not deleted or disabled), and the host's clock right.",
				 psprintf("the OAuth2 token endpoint \"%s\" refused the service account %s: HTTP %ld%s%s%s%s",
						  a->key.token_uri, a->key.client_email, status,
						  json && v[3] ? " " : "", json && v[3] ? gcs_clean(v[3]) : "",
						  json && v[4] ? ": " : "", json && v[4] ? gcs_clean(v[4]) : ""));
		return false;
	}
	if (!json || v[0] == NULL || v[0][0] == '\0' || strlen(v[0]) > GCS_TOKEN_MAX ||
		strspn(v[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != strlen(v[0]) ||
		(v[2] && pg_strcasecmp(v[2], "Bearer") != 0))
	{
		gcs_fail(err, (int) status, "TokenInvalid", NULL,
				 psprintf("the OAuth2 token endpoint \"%s\" did not answer with a bearer access token",
						  a->key.token_uri));
		return false;
	}
	if (v[1])
		expires = strtol(v[1], NULL, 10);
	expires = Max(1, Min(expires, 24 * 3600));
	if (a->bearer)
		explicit_bzero(a->bearer, strlen(a->bearer));
	a->bearer = psprintf("Bearer %s", v[0]);
	explicit_bzero(v[0], strlen(v[0]));
	/* refresh a quarter of its life early, at most 5 minutes */
	margin = Min((int64) expires * 1000 / 4, GCS_REFRESH_MAX_S * 1000);
	a->refresh_at = gcs_now_ms() + (int64) expires * 1000 - margin;
	a->fetched++;
	return true;
}

/* connection failures, 5xx and 429 are retried, like transfers */
static bool
gcs_retryable(CURLcode rc, long status)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return false;
	if (rc != CURLE_OK)
		return rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_UNSUPPORTED_PROTOCOL &&
			rc != CURLE_URL_MALFORMAT && rc != CURLE_WRITE_ERROR;
	return status >= 500 || status == 429 || status == 408;
}

const char *
cb_gcs_authorization(CbGcsAuth *a, const CbOsConfig *cfg, CbOsError *err)
{
	int64		delay = cfg->retry_base_ms;
	char	   *jwt;
	char	   *errmsg;
	CbOsError	local;

	if (err == NULL)
		err = &local;
	if (a->refused)
	{
		*err = a->refusal;
		return NULL;
	}
	/* without err: the cached token, whatever its age (os_request_headers) */
	if (a->bearer && (err == &local || gcs_now_ms() < a->refresh_at))
		return a->bearer;
	for (int attempt = 0;; attempt++)
	{
		GcsRequest	r;
		CURLcode	rc;
		long		status = 0;
		bool		ok;

		if ((jwt = cb_gcs_jwt(&a->key, time(NULL), &errmsg)) == NULL)
		{
			gcs_fail(err, 0, NULL, NULL, errmsg);
			return NULL;
		}
		memset(&r, 0, sizeof(r));
		initStringInfo(&r.body);
		r.form = psprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s", jwt);
		explicit_bzero(jwt, strlen(jwt));
		rc = gcs_post(&r, a, cfg, &status);
		ok = rc == CURLE_OK && status >= 200 && status < 300 && !r.too_big;
		if (rc == CURLE_OK && !r.too_big && (ok || !gcs_retryable(rc, status)))
		{
			ok = gcs_take_token(a, &r, status, err);
			gcs_request_cleanup(&r);
			if (!ok && status >= 400 && status < 500)
			{
				a->refused = true;
				a->refusal = *err;
			}
			return ok ? a->bearer : NULL;
		}
		gcs_fail(err, (int) status, rc == CURLE_ABORTED_BY_CALLBACK ? "Interrupted" : NULL,
				 rc == CURLE_PEER_FAILED_VERIFICATION ?
				 "The token endpoint's certificate is not trusted (endpointCA is trusted for it too)." : NULL,
				 r.too_big ? psprintf("the OAuth2 token endpoint \"%s\" answered more than %d bytes",
									  a->key.token_uri, GCS_ANSWER_MAX) :
				 rc != CURLE_OK ?
				 psprintf("the OAuth2 token request to \"%s\" failed%s: %s", a->key.token_uri,
						  attempt ? psprintf(" after %d attempts", attempt + 1) : "",
						  r.errbuf[0] ? r.errbuf : curl_easy_strerror(rc)) :
				 psprintf("the OAuth2 token request to \"%s\" failed after %d attempts: HTTP %ld",
						  a->key.token_uri, attempt + 1, status));
		gcs_request_cleanup(&r);
		if (r.too_big || !gcs_retryable(rc, status) || attempt >= cfg->max_retries)
			return NULL;
		/* back off as transfers do, waiting on the latch */
		{
			int64		until = gcs_now_ms() + delay;

			while (gcs_now_ms() < until)
				if (!cfg->wait(cfg->wait_arg, NULL, 0, Min(1000, until - gcs_now_ms())))
					return NULL;
			delay = Min(delay * 2, cfg->retry_max_ms);
		}
	}
}

bool
cb_gcs_auth_forget(CbGcsAuth *a)
{
	bool		had = a->bearer != NULL;

	if (a->bearer)
		explicit_bzero(a->bearer, strlen(a->bearer));
	a->bearer = NULL;
	return had && !a->refused;
}

int
cb_gcs_tokens_fetched(const CbGcsAuth *a)
{
	return a->fetched;
}

char *
cb_gcs_scrub(const CbGcsAuth *a, char *s)
{
	const char *tok;

	if (a == NULL || s == NULL || a->bearer == NULL)
		return s;
	tok = a->bearer + 7;
	if (strlen(tok) >= 8 && strstr(s, tok) != NULL)
		return pstrdup("[a message holding the access token, not shown]");
	return s;
}

void
cb_gcs_auth_clear(CbGcsAuth *a)
{
	if (a == NULL)
		return;
	if (a->bearer)
		explicit_bzero(a->bearer, strlen(a->bearer));
	if (a->key.private_key)
		explicit_bzero(a->key.private_key, strlen(a->key.private_key));
	if (a->json)
		explicit_bzero(a->json, strlen(a->json));
}
