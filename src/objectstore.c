/*-------------------------------------------------------------------------
 *
 * objectstore.c
 *	  The object-store client of the recovery method: configuration from a
 *	  barmanObjectStore stanza, AWS Signature V4 computed here (OpenSSL
 *	  HMAC-SHA256), ListObjectsV2, streamed/ranged GET and HEAD over
 *	  libcurl's multi interface.  Azure Blob Storage goes through the same
 *	  transfers: what differs per provider is where a request goes
 *	  (os_client_setup), how it is signed (os_request_headers), the listing's
 *	  query and document (os_list_page) and a few error codes; the Azure
 *	  protocol pieces themselves are in azureblob.c.
 *
 * Why our own signing rather than CURLOPT_AWS_SIGV4: libcurl 7.88.1 (Debian
 * 12) leaves out x-amz-content-sha256, takes the region from the host name
 * unless told, and signs whatever query it is given; doing it here makes
 * every byte of the canonical request ours, testable against AWS's
 * published examples, and the same with every libcurl.
 *
 * Transfers never block: libcurl reports the sockets it wants watched
 * (CURLMOPT_SOCKETFUNCTION) and when it next needs a call
 * (CURLMOPT_TIMERFUNCTION); one loop hands those to a wait function, which
 * in the server is the worker's latch plus CHECK_FOR_INTERRUPTS, and
 * answers with curl_multi_socket_action.  A wait lasts at most a second,
 * so a SIGTERM ends a download within one.  The wait is a function
 * pointer so that the standalone tests can use poll().
 *
 * Failures come back as a CbOsError, never as an ERROR: the store's own
 * <Code> and <Message> for HTTP errors (so a wrong secret shows
 * SignatureDoesNotMatch at once), libcurl's text otherwise.  5xx, 408,
 * 429, timeouts and connection failures are retried with exponential
 * backoff; other 4xx are final.  Every message goes through os_scrub(), so
 * a credential the store might echo never reaches a log or a status.
 *
 * Build note: compiled with CB_OS_NO_BACKEND (the standalone tests), the
 * latch wait and the memory-context cleanup are left out; everything else
 * only needs palloc and StringInfo.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mb/pg_wchar.h"

#ifndef CB_OS_NO_BACKEND
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"
#endif

#include "azureblob.h"
#include "gcs.h"
#include "objectstore.h"

#define OS_DEFAULT_REGION		"us-east-1"
#define OS_UNSIGNED_PAYLOAD		"UNSIGNED-PAYLOAD"
#define OS_USER_AGENT			"cnpg_bootstrap"
#define OS_WAIT_MAX_MS			1000
#define OS_ERROR_BODY_MAX		(64 * 1024)
#define OS_LIST_BODY_MAX		(32 * 1024 * 1024)
/* a listing's bounds: a Barman folder holds hundreds of keys, not millions */
#define OS_LIST_MAX_PAGES		1000
#define OS_LIST_MAX_ENTRIES		100000
#define OS_LIST_MAX_KEY_BYTES	(64 * 1024 * 1024)
#define OS_GET_BUFFER_SIZE		(256 * 1024)
#define OS_XML_MAX_DEPTH		16

/* ---------- the client and its transfers ---------- */

struct CbOsClient
{
#ifndef CB_OS_NO_BACKEND
	MemoryContext cxt;			/* holds the client; deleting it runs
								 * os_client_cleanup */
	MemoryContextCallback cleanup;
#endif
	CbOsConfig	cfg;			/* own copies, defaults applied */
	const char *kind;			/* "S3" or "Azure", for messages */
	char	   *bucket;			/* or the Azure container */
	char	   *prefix;			/* "" or "some/prefix/" */
	char	   *origin;			/* scheme://authority of every request */
	char	   *host;			/* the Host header, signed */
	char	   *base_path;		/* "/bucket" (path-style) or "" */
	char	   *account;		/* Azure: the account that signs */
	char	   *sas_query;		/* Azure: SAS without '?', NULL if none */
	char	   *sas_sig;		/* its sig= value, scrubbed from texts */
	CbGcsAuth  *gcs;			/* Google: the key and its access token */
	CURLM	   *multi;
	int			nsocks;			/* sockets libcurl wants watched */
	int			maxsocks;
	CbOsWaitSocket *socks;
	int64		timer_deadline; /* monotonic ms of libcurl's timer, -1 none */
	CbOsStats	stats;
};

typedef enum OsOp
{
	OS_OP_GET,
	OS_OP_HEAD,
	OS_OP_LIST
} OsOp;

typedef enum OsState
{
	OS_WAITING,					/* to be started at not_before */
	OS_RUNNING,
	OS_DONE
} OsState;

typedef struct OsTransfer
{
	CbOsClient *client;
	OsOp		op;
	char	   *key;			/* full key in the bucket, "" for a listing */
	char	   *query;			/* canonical query, "" if none */
	int			nparams;		/* the query's parts, not encoded (Azure */
	CbOsHeader *params;			/* signs them) */
	char	   *url_text;		/* s3://... for messages */
	int64		offset;
	int64		length;			/* -1: to the end */
	CbOsWriteFn fn;
	void	   *arg;
	StringInfoData body;		/* listing or error document */

	/* one attempt */
	CURL	   *easy;
	struct curl_slist *headers;
	char		errbuf[CURL_ERROR_SIZE];
	long		http_status;
	bool		to_fn;			/* this attempt's body goes to fn */
	int64		skip;			/* bytes to drop: the store ignored Range */
	char	   *resp_etag;
	char	   *resp_range;		/* Content-Range */
	char	   *resp_last_modified;
	char	   *resp_error_code;	/* x-ms-error-code (Azure, HEAD has no
									 * body) */
	bool		stopped_by_fn;
	bool		got_all;		/* range complete, rest not wanted */
	int64		last_progress;	/* ms: attempt start or last byte in */
	char	   *abort_reason;	/* we stopped it (changed object, overflow) */

	/* across attempts */
	int64		delivered;
	char	   *etag;
	int64		size;
	char	   *last_modified;
	int			attempt;
	int64		not_before;
	OsState		state;
	CbOsStatus	result;
	CbOsError  *err;
} OsTransfer;

static bool curl_initialized = false;

/* ---------- small helpers ---------- */

static int64
os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
os_error_clear(CbOsError *err)
{
	if (err)
		memset(err, 0, sizeof(CbOsError));
}

/* replace every occurrence of secret in s by "[redacted]" */
static char *
os_redact(char *s, const char *secret)
{
	StringInfoData out;
	const char *p = s;
	const char *hit;
	size_t		len;

	if (s == NULL || secret == NULL || (len = strlen(secret)) < 4 ||
		strstr(s, secret) == NULL)
		return s;
	initStringInfo(&out);
	while ((hit = strstr(p, secret)) != NULL)
	{
		appendBinaryStringInfo(&out, p, hit - p);
		appendStringInfoString(&out, "[redacted]");
		p = hit + len;
	}
	appendStringInfoString(&out, p);
	return out.data;
}

/* no credential in a text that may reach a log or a status column */
static char *
os_scrub(const CbOsClient *c, char *s)
{
	if (c == NULL)
		return s;
	s = os_redact(s, c->cfg.secret_access_key);
	s = os_redact(s, c->cfg.session_token);
	s = os_redact(s, c->cfg.access_key_id);
	s = os_redact(s, c->cfg.azure_key);
	s = os_redact(s, c->cfg.azure_sas_token);
	s = os_redact(s, c->sas_sig);
	return cb_gcs_scrub(c->gcs, s);
}

static void
os_fail(const CbOsClient *c, CbOsError *err, int http_status, const char *code,
		const char *hint, const char *fmt,...)
pg_attribute_printf(6, 7);

static void
os_fail(const CbOsClient *c, CbOsError *err, int http_status, const char *code,
		const char *hint, const char *fmt,...)
{
	StringInfoData buf;
	va_list		ap;
	int			needed;

	if (err == NULL)
		return;
	initStringInfo(&buf);
	for (;;)
	{
		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	err->http_status = http_status;
	err->code = code ? os_scrub(c, pstrdup(code)) : NULL;
	err->message = os_scrub(c, buf.data);
	err->hint = hint ? pstrdup(hint) : NULL;
}

static bool
os_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* a value that would break (or inject) a header line */
static bool
os_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* ---------- configuration ---------- */

bool
cb_os_parse_destination(const char *path, char **bucket, char **prefix,
						CbOsError *err)
{
	const char *p;
	const char *slash;
	size_t		blen;
	char	   *pre;
	size_t		plen;

	os_error_clear(err);
	if (path == NULL || pg_strncasecmp(path, "s3://", 5) != 0)
	{
		os_fail(NULL, err, 0, NULL,
				"With s3Credentials, destinationPath is s3://<bucket>[/<path>].",
				"destinationPath \"%s\" is not an s3:// URL", path ? path : "");
		return false;
	}
	p = path + 5;
	slash = strchr(p, '/');
	blen = slash ? (size_t) (slash - p) : strlen(p);
	if (blen == 0 || blen > 255 || strspn(p, "abcdefghijklmnopqrstuvwxyz"
										  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
										  "0123456789.-_") < blen)
	{
		os_fail(NULL, err, 0, NULL,
				"A bucket name has letters, digits, '.', '-' and '_' only.",
				"destinationPath \"%s\" has no valid bucket name", path);
		return false;
	}
	*bucket = pnstrdup(p, blen);

	/* barman joins the path and the server name with os.path.join */
	pre = pstrdup(slash ? slash : "");
	while (*pre == '/')
		pre++;
	plen = strlen(pre);
	while (plen > 0 && pre[plen - 1] == '/')
		pre[--plen] = '\0';
	*prefix = pre;
	return true;
}

/* a Secret key's value, or CloudNativePG's error */
static char *
os_secret_value(CbOsSecretLookup lookup, const CbKeyRef *ref, CbOsError *err)
{
	CbMap		data;

	if (!lookup(ref->name, &data))
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"while getting secret %s: secrets \"%s\" not found",
				ref->name, ref->name);
		return NULL;
	}
	for (int i = 0; i < data.n; i++)
		if (strcmp(data.items[i].key, ref->key) == 0)
			return pnstrdup(data.items[i].value, data.items[i].len);
	os_fail(NULL, err, 0, NULL, NULL, "missing key %s, inside secret %s",
			ref->key, ref->name);
	return NULL;
}

/* whole file, 0600, temp name then rename, so a reader never sees half */
static bool
os_write_private_file(const char *path, const char *content, CbOsError *err)
{
	char	   *tmp = psprintf("%s.tmp", path);
	size_t		len = strlen(content);
	int			fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
	if (fd < 0 ||
		write(fd, content, len) != (ssize_t) len ||
		fsync(fd) != 0 ||
		close(fd) != 0 ||
		rename(tmp, path) != 0)
	{
		os_fail(NULL, err, 0, NULL, NULL, "could not write \"%s\": %m", path);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return false;
	}
	return true;
}

/*
 * The S3 part of cb_os_config_from_store: which Secret key goes where.
 * Optional references (region, sessionToken) may be absent.
 */
static bool
os_config_s3(const CbObjectStore *store, CbOsSecretLookup lookup,
			 CbOsConfig *cfg, CbOsError *err)
{
	const struct
	{
		const CbKeyRef *ref;
		char	  **dest;
		bool		required;
	}			keys[] = {
		{&store->s3_access_key_id, &cfg->access_key_id, true},
		{&store->s3_secret_access_key, &cfg->secret_access_key, true},
		{&store->s3_region, &cfg->region, false},
		{&store->s3_session_token, &cfg->session_token, false},
	};

	if (store->s3_inherit_from_iam_role)
	{
		os_fail(NULL, err, 0, NULL,
				"Give accessKeyId and secretAccessKey from a Secret: a host has no pod identity to inherit.",
				"s3Credentials.inheritFromIAMRole not supported yet");
		return false;
	}
	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		if (!keys[i].ref->present)
		{
			if (!keys[i].required)
				continue;
			os_fail(NULL, err, 0, NULL, NULL,
					"ObjectStoreConfiguration invalid: s3Credentials needs accessKeyId and secretAccessKey");
			return false;
		}
		if ((*keys[i].dest = os_secret_value(lookup, keys[i].ref, err)) == NULL)
			return false;
	}
	return true;
}

/*
 * The Azure part: barman-cloud takes a connection string first, then a SAS
 * token, then the key (AzureCloudInterface._reinit_session); the account
 * it signs with is the destinationPath's, or the connection string's.
 */
static bool
os_config_azure(const CbObjectStore *store, CbOsSecretLookup lookup,
				CbOsConfig *cfg, CbOsError *err)
{
	const struct
	{
		const CbKeyRef *ref;
		char	  **dest;
	}			keys[] = {
		{&store->azure_storage_account, &cfg->azure_account},
		{&store->azure_storage_key, &cfg->azure_key},
		{&store->azure_storage_sas_token, &cfg->azure_sas_token},
	};

	if (store->azure_inherit_from_azure_ad || store->azure_use_default_credentials)
	{
		os_fail(NULL, err, 0, NULL,
				"Give storageKey or storageSasToken (or a connectionString) from a Secret: a host has no Azure identity to use.",
				"azureCredentials.%s not supported yet",
				store->azure_inherit_from_azure_ad ? "inheritFromAzureAD" :
				"useDefaultAzureCredentials");
		return false;
	}
	if (store->azure_connection_string.present)
	{
		char	   *cs = os_secret_value(lookup, &store->azure_connection_string, err);
		CbAzConnection conn;
		char	   *errmsg;

		if (cs == NULL)
			return false;
		if (!cb_az_parse_connection_string(cs, &conn, &errmsg))
		{
			os_fail(NULL, err, 0, NULL, NULL, "azureCredentials connectionString: %s", errmsg);
			return false;
		}
		explicit_bzero(cs, strlen(cs));
		cfg->azure_account = conn.account;
		cfg->azure_key = conn.key;
		cfg->azure_sas_token = conn.sas_token;
		cfg->azure_endpoint = conn.endpoint;
		return true;
	}
	for (int i = 0; i < (int) lengthof(keys); i++)
		if (keys[i].ref->present &&
			(*keys[i].dest = os_secret_value(lookup, keys[i].ref, err)) == NULL)
			return false;
	if (cfg->azure_key == NULL && cfg->azure_sas_token == NULL)
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"ObjectStoreConfiguration invalid: azureCredentials needs storageKey or storageSasToken, or a connectionString");
		return false;
	}
	return true;
}

/*
 * The Google part (gcs.c): a service-account JSON key from the Secret;
 * endpointURL, when given, is where the XML API is (an emulator).
 */
static bool
os_config_google(const CbObjectStore *store, CbOsSecretLookup lookup,
				 CbOsConfig *cfg, CbOsError *err)
{
	char	   *errmsg;
	char	   *hint;
	char	   *bucket;
	char	   *prefix;
	CbGcsKey	key;

	cfg->provider = CB_OS_PROVIDER_GOOGLE;
	if (!cb_gcs_check_credentials(store->google_gke_environment,
								  store->google_application_credentials.present,
								  &errmsg, &hint) ||
		!cb_gcs_parse_destination(store->destination_path, &bucket, &prefix,
								  &errmsg, &hint))
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	if ((cfg->google_credentials = os_secret_value(lookup, &store->google_application_credentials,
												   err)) == NULL)
		return false;
	if (!cb_gcs_parse_key(cfg->google_credentials, &key, &errmsg, &hint))
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	if (store->endpoint_url && store->endpoint_url[0])
		cfg->endpoint_url = pstrdup(store->endpoint_url);
	return true;
}

/* destinationPath and credentials of the provider the stanza names */
static bool
os_config_provider(const CbObjectStore *store, CbOsSecretLookup lookup,
				   CbOsConfig *cfg, CbOsError *err)
{
	char	   *bucket;
	char	   *prefix;
	CbAzDestination dest;
	char	   *errmsg;
	char	   *hint;

	cfg->destination_path = pstrdup(store->destination_path);
	if (store->has_google)
		return os_config_google(store, lookup, cfg, err);
	if (store->has_azure)
	{
		/* barman-cloud does not use endpointURL for Azure: neither do we */
		cfg->provider = CB_OS_PROVIDER_AZURE;
		if (!os_config_azure(store, lookup, cfg, err))
			return false;
		if (!cb_az_parse_destination(store->destination_path, cfg->azure_endpoint,
									 &dest, &errmsg, &hint))
		{
			os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
			return false;
		}
		return true;
	}
	cfg->provider = CB_OS_PROVIDER_S3;
	if (!cb_os_parse_destination(store->destination_path, &bucket, &prefix, err))
		return false;
	if (store->endpoint_url && store->endpoint_url[0])
		cfg->endpoint_url = pstrdup(store->endpoint_url);
	return os_config_s3(store, lookup, cfg, err);
}

bool
cb_os_config_from_store(const CbObjectStore *store, CbOsSecretLookup lookup,
						const char *ca_file, CbOsConfig *cfg, CbOsError *err)
{
	memset(cfg, 0, sizeof(CbOsConfig));
	os_error_clear(err);
	if (!store->present)
	{
		os_fail(NULL, err, 0, NULL, NULL, "no barmanObjectStore configuration");
		return false;
	}
	if (!store->has_s3 && !store->has_azure && !store->has_google)
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"ObjectStoreConfiguration invalid: no credentials defined");
		return false;
	}
	if (!os_config_provider(store, lookup, cfg, err))
		return false;
	if (store->endpoint_ca.present)
	{
		char	   *pem;

		if (ca_file == NULL)
		{
			os_fail(NULL, err, 0, NULL, NULL, "endpointCA given but no file to write it to");
			return false;
		}
		if ((pem = os_secret_value(lookup, &store->endpoint_ca, err)) == NULL ||
			!os_write_private_file(ca_file, pem, err))
			return false;
		cfg->endpoint_ca_file = pstrdup(ca_file);
	}
	return true;
}

/* ---------- Signature V4 ---------- */

static const char hex_lower[] = "0123456789abcdef";

static void
os_hex(const unsigned char *bin, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hex_lower[bin[i] >> 4];
		out[2 * i + 1] = hex_lower[bin[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static void
os_sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		memset(md, 0, 32);		/* cannot happen; the store refuses it */
	os_hex(md, 32, out);
}

static void
os_hmac(const unsigned char *key, size_t keylen, const char *msg,
		unsigned char out[32])
{
	unsigned int outlen = 32;

	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) msg,
			 strlen(msg), out, &outlen) == NULL)
		memset(out, 0, 32);
}

char *
cb_os_uri_encode(const char *s, bool keep_slash)
{
	static const char hex_upper[] = "0123456789ABCDEF";
	StringInfoData out;

	initStringInfo(&out);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.' || *p == '~' || (keep_slash && *p == '/'))
			appendStringInfoChar(&out, (char) *p);
		else
		{
			appendStringInfoChar(&out, '%');
			appendStringInfoChar(&out, hex_upper[*p >> 4]);
			appendStringInfoChar(&out, hex_upper[*p & 0xf]);
		}
	}
	return out.data;
}

static int
os_cmp_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char *
cb_os_canonical_query(int n, const CbOsHeader *params)
{
	char	  **items = palloc(sizeof(char *) * Max(n, 1));
	StringInfoData out;

	/* "name=value" of encoded parts sorts as name, then value ('=' < any) */
	for (int i = 0; i < n; i++)
		items[i] = psprintf("%s=%s", cb_os_uri_encode(params[i].name, false),
							cb_os_uri_encode(params[i].value ? params[i].value : "", false));
	qsort(items, n, sizeof(char *), os_cmp_strings);
	initStringInfo(&out);
	for (int i = 0; i < n; i++)
		appendStringInfo(&out, "%s%s", i ? "&" : "", items[i]);
	return out.data;
}

/* lower-case name ':' value trimmed, inner runs of spaces made one */
static char *
os_canonical_header(const CbOsHeader *h)
{
	StringInfoData out;
	const char *v = h->value;
	bool		space = false;

	initStringInfo(&out);
	for (const char *n = h->name; *n; n++)
		appendStringInfoChar(&out, pg_ascii_tolower((unsigned char) *n));
	appendStringInfoChar(&out, ':');
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
			space = true;
		else
		{
			if (space)
				appendStringInfoChar(&out, ' ');
			space = false;
			appendStringInfoChar(&out, *v);
		}
	}
	return out.data;
}

char *
cb_os_sigv4_authorization(const CbOsSigV4 *req, char **canonical_request,
						  char **string_to_sign)
{
	char	  **lines = palloc(sizeof(char *) * Max(req->nheaders, 1));
	StringInfoData creq;
	StringInfoData names;
	StringInfoData sts;
	char		date[9];
	char	   *scope;
	char		creq_hash[65];
	char	   *secret_key;
	unsigned char k1[32],
				k2[32],
				k3[32],
				k4[32],
				sig[32];
	char		sig_hex[65];

	for (int i = 0; i < req->nheaders; i++)
		lines[i] = os_canonical_header(&req->headers[i]);
	qsort(lines, req->nheaders, sizeof(char *), os_cmp_strings);

	initStringInfo(&creq);
	initStringInfo(&names);
	appendStringInfo(&creq, "%s\n%s\n%s\n", req->method, req->canonical_uri,
					 req->canonical_query);
	for (int i = 0; i < req->nheaders; i++)
	{
		appendStringInfo(&creq, "%s\n", lines[i]);
		appendStringInfo(&names, "%s%.*s", i ? ";" : "",
						 (int) (strchr(lines[i], ':') - lines[i]), lines[i]);
	}
	appendStringInfo(&creq, "\n%s\n%s", names.data, req->payload_hash);

	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	scope = psprintf("%s/%s/%s/aws4_request", date, req->region, req->service);
	os_sha256_hex(creq.data, creq.len, creq_hash);
	initStringInfo(&sts);
	appendStringInfo(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", req->amz_date, scope,
					 creq_hash);

	secret_key = psprintf("AWS4%s", req->secret_access_key);
	os_hmac((unsigned char *) secret_key, strlen(secret_key), date, k1);
	os_hmac(k1, 32, req->region, k2);
	os_hmac(k2, 32, req->service, k3);
	os_hmac(k3, 32, "aws4_request", k4);
	os_hmac(k4, 32, sts.data, sig);
	os_hex(sig, 32, sig_hex);
	explicit_bzero(secret_key, strlen(secret_key));
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k4, sizeof(k4));
	pfree(secret_key);

	if (canonical_request)
		*canonical_request = creq.data;
	if (string_to_sign)
		*string_to_sign = sts.data;
	return psprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
					req->access_key_id, scope, names.data, sig_hex);
}

/* ---------- a small XML reader ---------- */

/*
 * S3 answers are small, flat documents; a full XML library is not needed
 * to read them, but what we read must be read right: entities and
 * character references are decoded, CDATA is taken as is, a document that
 * is not well formed is refused, and a DTD is refused outright.
 * Namespace prefixes are ignored.  The walker reports each element start
 * and, for elements without child elements, their decoded text.
 */
typedef enum XmlEvent
{
	XML_START,
	XML_LEAF
} XmlEvent;

typedef void (*XmlFn) (void *arg, XmlEvent ev, int depth,
					   const char *const *names, const char *text);

/* the local part of a (possibly prefixed) name */
static const char *
xml_local(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static bool
xml_name_char(char c)
{
	return !(c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			 c == '>' || c == '/' || c == '=' || c == '<' || c == '"' ||
			 c == '\'');
}

/* append text [p, end) with its references decoded */
static bool
xml_append_text(StringInfo out, const char *p, const char *end, char **errmsg)
{
	static const struct
	{
		const char *name;
		char		c;
	}			entities[] = {
		{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''},
	};

	while (p < end)
	{
		const char *semi;
		int			i;

		if (*p != '&')
		{
			appendStringInfoChar(out, *p++);
			continue;
		}
		semi = memchr(p, ';', end - p);
		if (semi == NULL || semi - p > 12)
			goto bad;
		p++;
		if (*p == '#')
		{
			char	   *stop;
			unsigned long cp;

			if (p[1] == 'x')
				cp = strtoul(p + 2, &stop, 16);
			else
				cp = strtoul(p + 1, &stop, 10);
			if (stop != semi || stop == p + 1 || stop == p + 2 ||
				cp == 0 || cp > 0x10FFFF)
				goto bad;
			{
				unsigned char utf8[4];

				unicode_to_utf8((pg_wchar) cp, utf8);
				appendBinaryStringInfo(out, (char *) utf8, pg_utf_mblen(utf8));
			}
			p = semi + 1;
			continue;
		}
		for (i = 0; i < (int) lengthof(entities); i++)
			if (strncmp(p, entities[i].name, strlen(entities[i].name)) == 0)
				break;
		if (i == (int) lengthof(entities))
			goto bad;
		appendStringInfoChar(out, entities[i].c);
		p = semi + 1;
	}
	return true;
bad:
	*errmsg = pstrdup("malformed XML: bad entity or character reference");
	return false;
}

/* skip a start tag's attributes up to '>' or "/>" */
static const char *
xml_skip_attributes(const char *p, const char *end, bool *empty)
{
	char		quote = 0;

	for (; p < end; p++)
	{
		if (quote)
		{
			if (*p == quote)
				quote = 0;
		}
		else if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '>')
		{
			*empty = false;
			return p + 1;
		}
		else if (*p == '/' && p + 1 < end && p[1] == '>')
		{
			*empty = true;
			return p + 2;
		}
		else if (*p == '<')
			return NULL;
	}
	return NULL;
}

static const char *
xml_find(const char *p, const char *end, const char *what)
{
	size_t		len = strlen(what);

	for (; p + len <= end; p++)
		if (memcmp(p, what, len) == 0)
			return p;
	return NULL;
}

/* the walker's state: the open elements and the text of the innermost */
typedef struct XmlWalk
{
	const char *end;
	XmlFn		fn;
	void	   *arg;
	char	   *names[OS_XML_MAX_DEPTH];
	bool		has_child[OS_XML_MAX_DEPTH];
	int			depth;
	bool		seen_root;
	StringInfoData text;
} XmlWalk;

/* "</name>" at p, closing the innermost element; NULL if it does not */
static const char *
xml_end_tag(XmlWalk *w, const char *p)
{
	const char *q = p + 2;

	while (q < w->end && xml_name_char(*q))
		q++;
	if (w->depth == 0 || (size_t) (q - (p + 2)) != strlen(w->names[w->depth - 1]) ||
		strncmp(p + 2, w->names[w->depth - 1], q - (p + 2)) != 0)
		return NULL;
	while (q < w->end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
		q++;
	if (q >= w->end || *q != '>')
		return NULL;
	if (!w->has_child[w->depth - 1])
		w->fn(w->arg, XML_LEAF, w->depth, (const char *const *) w->names, w->text.data);
	w->depth--;
	resetStringInfo(&w->text);
	return q + 1;
}

/* "<name ...>" or "<name .../>" at p; NULL if malformed */
static const char *
xml_start_tag(XmlWalk *w, const char *p)
{
	const char *q = p + 1;
	bool		empty;

	while (q < w->end && xml_name_char(*q))
		q++;
	if (q == p + 1 || w->depth == OS_XML_MAX_DEPTH || (w->depth == 0 && w->seen_root))
		return NULL;
	if (w->depth > 0)
		w->has_child[w->depth - 1] = true;
	w->names[w->depth] = pnstrdup(p + 1, q - (p + 1));
	w->has_child[w->depth] = false;
	w->depth++;
	w->seen_root = true;
	resetStringInfo(&w->text);
	w->fn(w->arg, XML_START, w->depth, (const char *const *) w->names, NULL);
	if ((q = xml_skip_attributes(q, w->end, &empty)) != NULL && empty)
	{
		w->fn(w->arg, XML_LEAF, w->depth, (const char *const *) w->names, "");
		w->depth--;
	}
	return q;
}

static bool
xml_walk(const char *xml, size_t len, XmlFn fn, void *arg, char **errmsg)
{
	XmlWalk		w;
	const char *p = xml;

	memset(&w, 0, sizeof(w));
	/* Azure starts its documents with a UTF-8 byte order mark */
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	w.end = xml + len;
	w.fn = fn;
	w.arg = arg;
	initStringInfo(&w.text);
	while (p != NULL && p < w.end)
	{
		const char *q;

		if (*p != '<')
		{
			/* text: kept for the innermost element, only blanks outside */
			q = memchr(p, '<', w.end - p);
			if (q == NULL)
				q = w.end;
			if (w.depth > 0)
			{
				if (!xml_append_text(&w.text, p, q, errmsg))
					return false;
			}
			else if (strspn(p, " \t\r\n") < (size_t) (q - p))
				break;
			p = q;
		}
		else if (os_starts_with(p, "<?") || os_starts_with(p, "<!--"))
		{
			q = xml_find(p, w.end, p[1] == '?' ? "?>" : "-->");
			p = q ? q + (p[1] == '?' ? 2 : 3) : NULL;
		}
		else if (os_starts_with(p, "<![CDATA["))
		{
			q = xml_find(p, w.end, "]]>");
			if (q == NULL || w.depth == 0)
				break;
			appendBinaryStringInfo(&w.text, p + 9, q - (p + 9));
			p = q + 3;
		}
		else if (p[1] == '!')
		{
			*errmsg = pstrdup("malformed XML: a DTD is not accepted");
			return false;
		}
		else
			p = p[1] == '/' ? xml_end_tag(&w, p) : xml_start_tag(&w, p);
	}
	if (p == w.end && w.depth == 0 && w.seen_root)
		return true;
	*errmsg = pstrdup("malformed XML document");
	return false;
}

/* room for one more item in an array of n (doubling; NULL to start) */
static void *
os_grow(void *array, size_t item, int n, int *max)
{
	if (n < *max)
		return array;
	*max = Max(16, *max * 2);
	return array ? repalloc(array, item * *max) : palloc(item * *max);
}

/* ListObjectsV2 */
typedef struct ListParse
{
	CbOsListPage *page;
	bool		root_ok;
	int			maxobjects;
	int			maxprefixes;
	bool		bad_size;
} ListParse;

static void
list_xml_event(void *arg, XmlEvent ev, int depth, const char *const *names,
			   const char *text)
{
	ListParse  *lp = arg;
	CbOsListPage *page = lp->page;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1)
	{
		if (ev == XML_START)
			lp->root_ok = strcmp(name, "ListBucketResult") == 0;
		return;
	}
	if (!lp->root_ok)
		return;
	if (depth == 2 && ev == XML_START)
	{
		if (strcmp(name, "Contents") == 0)
		{
			page->objects = os_grow(page->objects, sizeof(CbOsObject),
									page->nobjects, &lp->maxobjects);
			memset(&page->objects[page->nobjects], 0, sizeof(CbOsObject));
			page->objects[page->nobjects++].size = -1;
		}
		else if (strcmp(name, "CommonPrefixes") == 0)
		{
			page->prefixes = os_grow(page->prefixes, sizeof(char *),
									 page->nprefixes, &lp->maxprefixes);
			page->prefixes[page->nprefixes++] = NULL;
		}
	}
	else if (depth == 2 && ev == XML_LEAF)
	{
		if (strcmp(name, "IsTruncated") == 0)
			page->is_truncated = strcmp(text, "true") == 0;
		else if (strcmp(name, "NextContinuationToken") == 0)
			page->next_token = pstrdup(text);
	}
	else if (depth == 3 && ev == XML_LEAF)
	{
		const char *parent = xml_local(names[1]);

		if (strcmp(parent, "Contents") == 0 && page->nobjects > 0)
		{
			CbOsObject *o = &page->objects[page->nobjects - 1];

			if (strcmp(name, "Key") == 0)
				o->key = pstrdup(text);
			else if (strcmp(name, "ETag") == 0)
				o->etag = pstrdup(text);
			else if (strcmp(name, "LastModified") == 0)
				o->last_modified = pstrdup(text);
			else if (strcmp(name, "Size") == 0)
			{
				char	   *stop;

				o->size = strtoll(text, &stop, 10);
				if (stop == text || *stop != '\0' || o->size < 0)
					lp->bad_size = true;
			}
		}
		else if (strcmp(parent, "CommonPrefixes") == 0 &&
				 strcmp(name, "Prefix") == 0 && page->nprefixes > 0)
			page->prefixes[page->nprefixes - 1] = pstrdup(text);
	}
}

/* every entry of a parsed page has its key and size, every prefix its text */
static bool
list_page_complete(ListParse *lp, const char *complaint, char **errmsg)
{
	CbOsListPage *page = lp->page;

	for (int i = 0; i < page->nobjects; i++)
		if (page->objects[i].key == NULL || page->objects[i].size < 0)
			lp->bad_size = true;
	for (int i = 0; i < page->nprefixes; i++)
		if (page->prefixes[i] == NULL)
			lp->bad_size = true;
	if (lp->bad_size)
	{
		*errmsg = pstrdup(complaint);
		return false;
	}
	return true;
}

bool
cb_os_parse_list_xml(const char *xml, size_t len, CbOsListPage *page,
					 char **errmsg)
{
	ListParse	lp;

	memset(page, 0, sizeof(CbOsListPage));
	memset(&lp, 0, sizeof(lp));
	lp.page = page;
	if (!xml_walk(xml, len, list_xml_event, &lp, errmsg))
		return false;
	if (!lp.root_ok)
	{
		*errmsg = pstrdup("the answer is not a ListBucketResult");
		return false;
	}
	return list_page_complete(&lp, "a ListBucketResult entry lacks its Key, Size or Prefix",
							  errmsg);
}

/*
 * List Blobs: EnumerationResults / Blobs / Blob (Name, Properties /
 * Content-Length, Etag, Last-Modified) and Blobs / BlobPrefix / Name;
 * NextMarker, empty on the last page.
 */
static void
azure_list_event(void *arg, XmlEvent ev, int depth, const char *const *names,
				 const char *text)
{
	ListParse  *lp = arg;
	CbOsListPage *page = lp->page;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1 && ev == XML_START)
		lp->root_ok = strcmp(name, "EnumerationResults") == 0;
	if (!lp->root_ok || depth < 2)
		return;
	if (depth == 2 && ev == XML_LEAF && strcmp(name, "NextMarker") == 0)
	{
		page->is_truncated = text[0] != '\0';
		page->next_token = pstrdup(text);
	}
	else if (depth == 3 && ev == XML_START && strcmp(xml_local(names[1]), "Blobs") == 0)
	{
		/* the same rows as ListObjectsV2's Contents and CommonPrefixes */
		if (strcmp(name, "Blob") == 0)
			list_xml_event(arg, XML_START, 2, (const char *const[]) {"", "Contents"}, NULL);
		else if (strcmp(name, "BlobPrefix") == 0)
			list_xml_event(arg, XML_START, 2, (const char *const[]) {"", "CommonPrefixes"}, NULL);
	}
	else if (ev == XML_LEAF && (depth == 4 || depth == 5))
	{
		const char *row = xml_local(names[2]);
		const char *field = strcmp(name, "Name") == 0 ?
			(strcmp(row, "Blob") == 0 ? "Key" : "Prefix") :
			strcmp(name, "Content-Length") == 0 ? "Size" :
			strcmp(name, "Etag") == 0 ? "ETag" :
			strcmp(name, "Last-Modified") == 0 ? "LastModified" : NULL;

		if (field == NULL || (depth == 4) != (strcmp(name, "Name") == 0))
			return;
		list_xml_event(arg, XML_LEAF, 3, (const char *const[]) {"",
					   strcmp(row, "Blob") == 0 ? "Contents" : "CommonPrefixes", field},
					   text);
	}
}

bool
cb_os_parse_azure_list_xml(const char *xml, size_t len, CbOsListPage *page,
						   char **errmsg)
{
	ListParse	lp;

	memset(page, 0, sizeof(CbOsListPage));
	memset(&lp, 0, sizeof(lp));
	lp.page = page;
	if (!xml_walk(xml, len, azure_list_event, &lp, errmsg))
		return false;
	if (!lp.root_ok)
	{
		*errmsg = pstrdup("the answer is not an EnumerationResults");
		return false;
	}
	return list_page_complete(&lp, "a List Blobs entry lacks its Name or Content-Length",
							  errmsg);
}

/* <Error><Code/><Message/></Error> */
typedef struct ErrorParse
{
	bool		root_ok;
	char	   *code;
	char	   *message;
} ErrorParse;

static void
error_xml_event(void *arg, XmlEvent ev, int depth, const char *const *names,
				const char *text)
{
	ErrorParse *ep = arg;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1 && ev == XML_START)
		ep->root_ok = strcmp(name, "Error") == 0;
	else if (depth == 2 && ev == XML_LEAF && ep->root_ok)
	{
		if (strcmp(name, "Code") == 0)
			ep->code = pstrdup(text);
		else if (strcmp(name, "Message") == 0)
			ep->message = pstrdup(text);
	}
}

bool
cb_os_parse_error_xml(const char *xml, size_t len, char **code, char **message)
{
	ErrorParse	ep;
	char	   *errmsg;

	memset(&ep, 0, sizeof(ep));
	if (!xml_walk(xml, len, error_xml_event, &ep, &errmsg) || !ep.root_ok ||
		ep.code == NULL)
		return false;
	*code = ep.code;
	*message = ep.message;
	return true;
}

/* ---------- the client ---------- */

/*
 * scheme://authority[/path] of endpointURL -> origin, Host header (without
 * the scheme's default port, as libcurl would send it), base path.  A
 * user:password@ part is refused: it would put a credential in a URL.
 */
static bool
os_parse_endpoint(CbOsClient *c, const char *url, CbOsError *err)
{
	const char *rest;
	size_t		alen;
	char	   *authority;
	char	   *path;
	size_t		plen;
	bool		https;

	if (pg_strncasecmp(url, "https://", 8) == 0)
		https = true;
	else if (pg_strncasecmp(url, "http://", 7) == 0)
		https = false;
	else
	{
		os_fail(NULL, err, 0, NULL, "Write it as http(s)://host[:port].",
				"endpointURL \"%s\" is not an http or https URL", url);
		return false;
	}
	rest = url + (https ? 8 : 7);
	alen = strcspn(rest, "/?#");
	authority = pnstrdup(rest, alen);
	if (alen == 0 || strchr(authority, '@') || strpbrk(rest + alen, "?#"))
	{
		os_fail(NULL, err, 0, NULL,
				"Write it as http(s)://host[:port][/path], without user, query or fragment.",
				"endpointURL has no usable host part");
		return false;
	}
	path = pstrdup(rest + alen);
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		path[--plen] = '\0';

	c->origin = psprintf("%s://%s", https ? "https" : "http", authority);
	if (alen > 4 && pg_strcasecmp(authority + alen - (https ? 4 : 3),
								  https ? ":443" : ":80") == 0)
		authority[alen - (https ? 4 : 3)] = '\0';
	c->host = authority;
	c->base_path = psprintf("%s/%s", path, c->bucket);
	return true;
}

/* AWS itself: virtual-hosted style, unless a '.' in the bucket breaks TLS */
static void
os_aws_endpoint(CbOsClient *c)
{
	if (strchr(c->bucket, '.') == NULL)
	{
		c->host = psprintf("%s.s3.%s.amazonaws.com", c->bucket, c->cfg.region);
		c->base_path = pstrdup("");
	}
	else
	{
		c->host = psprintf("s3.%s.amazonaws.com", c->cfg.region);
		c->base_path = psprintf("/%s", c->bucket);
	}
	c->origin = psprintf("https://%s", c->host);
}

static char *
os_strdup_or_null(const char *s)
{
	return (s && s[0]) ? pstrdup(s) : NULL;
}

static int
os_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	CbOsClient *c = userp;
	int			i;

	for (i = 0; i < c->nsocks; i++)
		if (c->socks[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < c->nsocks)
			c->socks[i] = c->socks[--c->nsocks];
		return 0;
	}
	if (i == c->nsocks)
	{
		/* the array was allocated in the client's context: repalloc keeps it */
		if (c->nsocks == c->maxsocks)
		{
			c->maxsocks *= 2;
			c->socks = repalloc(c->socks, sizeof(CbOsWaitSocket) * c->maxsocks);
		}
		c->socks[c->nsocks++].fd = fd;
	}
	c->socks[i].events = ((what & CURL_POLL_IN) ? CB_OS_WAIT_READ : 0) |
		((what & CURL_POLL_OUT) ? CB_OS_WAIT_WRITE : 0);
	c->socks[i].revents = 0;
	return 0;
}

static int
os_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	CbOsClient *c = userp;

	c->timer_deadline = timeout_ms < 0 ? -1 : os_now_ms() + timeout_ms;
	return 0;
}

static void
os_client_cleanup(void *arg)
{
	CbOsClient *c = arg;

	if (c->multi)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	if (c->cfg.secret_access_key)
		explicit_bzero(c->cfg.secret_access_key, strlen(c->cfg.secret_access_key));
	if (c->cfg.session_token)
		explicit_bzero(c->cfg.session_token, strlen(c->cfg.session_token));
	if (c->cfg.azure_key)
		explicit_bzero(c->cfg.azure_key, strlen(c->cfg.azure_key));
	if (c->cfg.azure_sas_token)
		explicit_bzero(c->cfg.azure_sas_token, strlen(c->cfg.azure_sas_token));
	if (c->sas_query)
		explicit_bzero(c->sas_query, strlen(c->sas_query));
	if (c->cfg.google_credentials)
		explicit_bzero(c->cfg.google_credentials, strlen(c->cfg.google_credentials));
	cb_gcs_auth_clear(c->gcs);
}

/* tuning defaults, for fields left at 0 */
static const struct
{
	size_t		offset;
	int			value;
}			os_defaults[] = {
	{offsetof(CbOsConfig, connect_timeout_ms), 10000},
	{offsetof(CbOsConfig, stall_timeout_s), 60},
	{offsetof(CbOsConfig, max_retries), 6},
	{offsetof(CbOsConfig, retry_base_ms), 200},
	{offsetof(CbOsConfig, retry_max_ms), 5000},
	{offsetof(CbOsConfig, max_parallel), 8},
};

/* credentials that go into headers, URLs or the signature, as given */
static const struct
{
	CbOsProvider provider;
	const char *name;
	size_t		offset;
}			os_credentials[] = {
	{CB_OS_PROVIDER_S3, "s3Credentials accessKeyId", offsetof(CbOsConfig, access_key_id)},
	{CB_OS_PROVIDER_S3, "s3Credentials secretAccessKey", offsetof(CbOsConfig, secret_access_key)},
	{CB_OS_PROVIDER_S3, "s3Credentials region", offsetof(CbOsConfig, region)},
	{CB_OS_PROVIDER_S3, "s3Credentials sessionToken", offsetof(CbOsConfig, session_token)},
	{CB_OS_PROVIDER_AZURE, "azureCredentials storageAccount", offsetof(CbOsConfig, azure_account)},
	{CB_OS_PROVIDER_AZURE, "azureCredentials storageKey", offsetof(CbOsConfig, azure_key)},
	{CB_OS_PROVIDER_AZURE, "azureCredentials storageSasToken", offsetof(CbOsConfig, azure_sas_token)},
	{CB_OS_PROVIDER_AZURE, "azureCredentials BlobEndpoint", offsetof(CbOsConfig, azure_endpoint)},
};

/* c->cfg: own copies of cfg's strings, defaults applied */
static void
os_copy_config(CbOsClient *c, const CbOsConfig *cfg)
{
	c->cfg = *cfg;
	for (int i = 0; i < (int) lengthof(os_defaults); i++)
	{
		int		   *v = (int *) ((char *) &c->cfg + os_defaults[i].offset);

		if (*v <= 0)
			*v = os_defaults[i].value;
	}
	if (cfg->max_retries < 0)
		c->cfg.max_retries = 0;
	c->cfg.destination_path = os_strdup_or_null(cfg->destination_path);
	c->cfg.endpoint_url = os_strdup_or_null(cfg->endpoint_url);
	c->cfg.endpoint_ca_file = os_strdup_or_null(cfg->endpoint_ca_file);
	c->cfg.access_key_id = os_strdup_or_null(cfg->access_key_id);
	c->cfg.secret_access_key = os_strdup_or_null(cfg->secret_access_key);
	c->cfg.region = pstrdup(cfg->region && cfg->region[0] ? cfg->region : OS_DEFAULT_REGION);
	c->cfg.session_token = os_strdup_or_null(cfg->session_token);
	c->cfg.azure_account = os_strdup_or_null(cfg->azure_account);
	c->cfg.azure_key = os_strdup_or_null(cfg->azure_key);
	c->cfg.azure_sas_token = os_strdup_or_null(cfg->azure_sas_token);
	c->cfg.azure_endpoint = os_strdup_or_null(cfg->azure_endpoint);
	c->cfg.google_credentials = os_strdup_or_null(cfg->google_credentials);
#ifndef CB_OS_NO_BACKEND
	if (c->cfg.wait == NULL)
		c->cfg.wait = cb_os_latch_wait;
#endif
}

/* what can be refused before any request */
static bool
os_check_config(const CbOsClient *c, CbOsError *err)
{
	if (c->cfg.wait == NULL)
	{
		os_fail(NULL, err, 0, NULL, NULL, "no wait function given");
		return false;
	}
	if (c->cfg.provider == CB_OS_PROVIDER_GOOGLE ? c->cfg.google_credentials == NULL :
		c->cfg.provider == CB_OS_PROVIDER_AZURE ?
		(c->cfg.azure_key == NULL && c->cfg.azure_sas_token == NULL) :
		(c->cfg.access_key_id == NULL || c->cfg.secret_access_key == NULL))
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"ObjectStoreConfiguration invalid: no credentials defined");
		return false;
	}
	for (int i = 0; i < (int) lengthof(os_credentials); i++)
	{
		const char *v = *(char *const *) ((const char *) &c->cfg + os_credentials[i].offset);

		if (v && c->cfg.provider == os_credentials[i].provider &&
			os_has_control(v, strlen(v)))
		{
			os_fail(NULL, err, 0, NULL,
					"A Secret made from a file often ends with a newline: remove it.",
					"%s holds a control character", os_credentials[i].name);
			return false;
		}
	}
	return true;
}

/*
 * Azure: container, prefix and where requests go from the destinationPath
 * (or the connection string's endpoint); a SAS token rides in every URL,
 * else the key signs each request.
 */
static bool
os_azure_setup(CbOsClient *c, CbOsError *err)
{
	CbAzDestination dest;
	char	   *errmsg;
	char	   *hint;
	const char *sas = c->cfg.azure_sas_token;
	const char *authority;

	if (!cb_az_parse_destination(c->cfg.destination_path, c->cfg.azure_endpoint,
								 &dest, &errmsg, &hint))
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	c->kind = "Azure";
	c->bucket = dest.container;
	c->prefix = dest.prefix[0] ? psprintf("%s/", dest.prefix) : dest.prefix;
	c->origin = dest.origin;
	c->base_path = dest.base_path;
	authority = strstr(dest.origin, "://") + 3;
	c->host = pstrdup(authority);
	c->account = (c->cfg.azure_endpoint && c->cfg.azure_account) ?
		c->cfg.azure_account : dest.account;
	if (sas)
	{
		while (*sas == '?')
			sas++;
		c->sas_query = pstrdup(sas);
		c->sas_sig = cb_az_sas_signature(sas);
	}
	else
	{
		/* refuse a key that is not base64 now, not at every request */
		CbAzSharedKey probe = {"GET", c->account, c->cfg.azure_key, "/"};

		if (cb_az_shared_key_authorization(&probe, NULL, &errmsg) == NULL)
		{
			os_fail(NULL, err, 0, NULL,
					"The key is the base64 text the Azure portal shows under Access keys.",
					"%s", errmsg);
			return false;
		}
	}
	return true;
}

/* Google: gs://bucket/prefix on the XML API, the key ready to sign */
static bool
os_google_setup(CbOsClient *c, CbOsError *err)
{
	char	   *errmsg;
	char	   *hint;

	c->kind = "GCS";
	if (!cb_gcs_parse_destination(c->cfg.destination_path, &c->bucket, &c->prefix,
								  &errmsg, &hint) ||
		(c->gcs = cb_gcs_auth_create(c->cfg.google_credentials, &errmsg, &hint)) == NULL)
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	if (c->prefix[0])
		c->prefix = psprintf("%s/", c->prefix);
	return os_parse_endpoint(c, c->cfg.endpoint_url ? c->cfg.endpoint_url :
							 CB_GCS_DEFAULT_ENDPOINT, err);
}

/* copy and check the configuration, work out where requests go */
static bool
os_client_setup(CbOsClient *c, const CbOsConfig *cfg, CbOsError *err)
{
	os_copy_config(c, cfg);
	c->timer_deadline = -1;
	c->maxsocks = 8;
	c->socks = palloc0(sizeof(CbOsWaitSocket) * c->maxsocks);
	c->kind = "S3";
	if (!os_check_config(c, err))
		return false;
	if (c->cfg.provider == CB_OS_PROVIDER_AZURE)
		return os_azure_setup(c, err);
	if (c->cfg.provider == CB_OS_PROVIDER_GOOGLE)
		return os_google_setup(c, err);
	if (!cb_os_parse_destination(c->cfg.destination_path, &c->bucket, &c->prefix, err))
		return false;
	if (c->prefix[0])
		c->prefix = psprintf("%s/", c->prefix);
	if (c->cfg.endpoint_url)
		return os_parse_endpoint(c, c->cfg.endpoint_url, err);
	os_aws_endpoint(c);
	return true;
}

CbOsClient *
cb_os_client_create(const CbOsConfig *cfg, CbOsError *err)
{
	CbOsClient *c;
	bool		ok;
#ifndef CB_OS_NO_BACKEND
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "cnpg_bootstrap object store",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
#endif

	os_error_clear(err);
	if (!curl_initialized)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		{
			os_fail(NULL, err, 0, NULL, NULL, "could not initialize libcurl");
			return NULL;
		}
		curl_initialized = true;
	}
	c = palloc0(sizeof(CbOsClient));
	ok = os_client_setup(c, cfg, err);
	if (ok && (c->multi = curl_multi_init()) == NULL)
	{
		os_fail(NULL, err, 0, NULL, NULL, "could not create a libcurl multi handle");
		ok = false;
	}
	if (ok)
	{
		curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, os_socket_cb);
		curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
		curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, os_timer_cb);
		curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	}
#ifndef CB_OS_NO_BACKEND
	MemoryContextSwitchTo(old);
	c->cxt = cxt;
	c->cleanup.func = os_client_cleanup;
	c->cleanup.arg = c;
	MemoryContextRegisterResetCallback(cxt, &c->cleanup);
	if (!ok)
	{
		/* err's texts were made in cxt: copy them out first */
		if (err)
		{
			err->message = err->message ? pstrdup(err->message) : NULL;
			err->hint = err->hint ? pstrdup(err->hint) : NULL;
			err->code = err->code ? pstrdup(err->code) : NULL;
		}
		MemoryContextDelete(cxt);
		return NULL;
	}
#else
	if (!ok)
	{
		os_client_cleanup(c);
		return NULL;
	}
#endif
	return c;
}

void
cb_os_client_free(CbOsClient *client)
{
	if (client == NULL)
		return;
#ifndef CB_OS_NO_BACKEND
	MemoryContextDelete(client->cxt);
#else
	os_client_cleanup(client);
	pfree(client);
#endif
}

char *
cb_os_url(const CbOsClient *client, const char *key)
{
	if (client->cfg.provider == CB_OS_PROVIDER_AZURE)
		return psprintf("%s%s/%s%s", client->origin, client->base_path,
						client->prefix, key);
	return psprintf("%s://%s/%s%s", client->gcs ? "gs" : "s3", client->bucket,
					client->prefix, key);
}

void
cb_os_get_stats(const CbOsClient *client, CbOsStats *stats)
{
	*stats = client->stats;
}

/* ---------- one attempt of a transfer ---------- */

static size_t
os_header_cb(char *data, size_t size, size_t nitems, void *userp)
{
	OsTransfer *t = userp;
	size_t		len = size * nitems;
	static const struct
	{
		const char *name;
		size_t		offset;
	}			wanted[] = {
		{"etag:", offsetof(OsTransfer, resp_etag)},
		{"content-range:", offsetof(OsTransfer, resp_range)},
		{"last-modified:", offsetof(OsTransfer, resp_last_modified)},
		{"x-ms-error-code:", offsetof(OsTransfer, resp_error_code)},
	};

	t->last_progress = os_now_ms();
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		/* a new response (after 100 Continue or a redirect): start over */
		t->resp_etag = t->resp_range = t->resp_last_modified = NULL;
		t->resp_error_code = NULL;
		return len;
	}
	for (int i = 0; i < (int) lengthof(wanted); i++)
	{
		size_t		nlen = strlen(wanted[i].name);

		if (len > nlen && pg_strncasecmp(data, wanted[i].name, nlen) == 0)
		{
			const char *v = data + nlen;
			size_t		vlen = len - nlen;

			while (vlen > 0 && (*v == ' ' || *v == '\t'))
				v++, vlen--;
			while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
								v[vlen - 1] == ' '))
				vlen--;
			/* an ETag goes back in If-Match: never a broken one */
			if (!os_has_control(v, vlen))
				*(char **) ((char *) t + wanted[i].offset) = pnstrdup(v, vlen);
		}
	}
	return len;
}

/* "bytes S-E/T": S must be where we asked to start; T is the object size */
static bool
os_check_content_range(OsTransfer *t, int64 start)
{
	int64		s,
				e;
	char		total[32];

	if (t->resp_range == NULL ||
		sscanf(t->resp_range, "bytes " INT64_FORMAT "-" INT64_FORMAT "/%31s",
			   &s, &e, total) != 3 || s != start)
		return false;
	t->size = strcmp(total, "*") == 0 ? -1 : strtoll(total, NULL, 10);
	return true;
}

/*
 * First body byte of an attempt: decide where the body goes.  A 2xx body of
 * a GET goes to fn (after checking that it is the part and the version of
 * the object we want); anything else is kept as a document.
 */
static bool
os_start_body(OsTransfer *t)
{
	int64		start = t->offset + t->delivered;
	curl_off_t	clen = -1;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
	if (t->op != OS_OP_GET || t->http_status < 200 || t->http_status >= 300)
		return true;
	if (t->etag && t->resp_etag && strcmp(t->etag, t->resp_etag) != 0)
	{
		t->abort_reason = pstrdup("the object changed during the download");
		return false;
	}
	if (t->http_status == 206)
	{
		if (!os_check_content_range(t, start))
		{
			t->abort_reason = psprintf("unexpected Content-Range \"%s\"",
									   t->resp_range ? t->resp_range : "");
			return false;
		}
	}
	else
	{
		/* 200: the whole object, whatever Range said */
		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
		t->size = clen;
		t->skip = start;
	}
	if (t->etag == NULL && t->resp_etag)
		t->etag = pstrdup(t->resp_etag);
	if (t->last_modified == NULL && t->resp_last_modified)
		t->last_modified = pstrdup(t->resp_last_modified);
	t->to_fn = true;
	return true;
}

static size_t
os_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	OsTransfer *t = userp;
	size_t		len = size * nmemb;

	t->client->stats.bytes_received += len;
	t->last_progress = os_now_ms();
	if (t->http_status == 0 && !os_start_body(t))
		return 0;
	if (!t->to_fn)
	{
		size_t		max = (t->op == OS_OP_LIST && t->http_status < 300) ?
			OS_LIST_BODY_MAX : OS_ERROR_BODY_MAX;

		if (t->body.len + len > max)
		{
			t->abort_reason = psprintf("answer larger than %zu bytes", max);
			return 0;
		}
		appendBinaryStringInfo(&t->body, data, len);
		return len;
	}
	if (t->skip > 0)
	{
		size_t		n = Min((int64) len, t->skip);

		t->skip -= n;
		data += n;
		len -= n;
	}
	if (t->length >= 0 && (int64) len > t->length - t->delivered)
	{
		/* the store sent more than the range we asked for */
		len = t->length - t->delivered;
		t->got_all = true;
	}
	if (len > 0 && !t->fn(t->arg, data, len))
	{
		t->stopped_by_fn = true;
		return 0;
	}
	t->delivered += len;
	return t->got_all ? 0 : size * nmemb;
}

/* Range (under range_name) and If-Match of this attempt; how many */
static int
os_range_headers(OsTransfer *t, CbOsHeader *h, const char *range_name)
{
	int64		start = t->offset + t->delivered;
	int			n = 0;

	if (t->op != OS_OP_GET)
		return 0;
	if (start > 0 || t->length >= 0)
		h[n++] = (CbOsHeader) {range_name, t->length >= 0 ?
			psprintf("bytes=" INT64_FORMAT "-" INT64_FORMAT, start, t->offset + t->length - 1) :
		psprintf("bytes=" INT64_FORMAT "-", start)};
	/* a resume must get the same version of the object */
	if (t->etag && t->delivered > 0)
		h[n++] = (CbOsHeader) {"If-Match", t->etag};
	return n;
}

/* S3: Signature V4 over every header sent; returns the number in h */
static int
os_s3_sign(OsTransfer *t, const char *method, const char *path, CbOsHeader *h)
{
	CbOsClient *c = t->client;
	int			n = 0;
	char	   *amz_date = palloc(17);
	time_t		now = time(NULL);
	struct tm	tm;
	CbOsSigV4	sig;

	gmtime_r(&now, &tm);
	strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
	h[n++] = (CbOsHeader) {"Host", c->host};
	h[n++] = (CbOsHeader) {"x-amz-content-sha256", OS_UNSIGNED_PAYLOAD};
	h[n++] = (CbOsHeader) {"x-amz-date", amz_date};
	if (c->cfg.session_token)
		h[n++] = (CbOsHeader) {"x-amz-security-token", c->cfg.session_token};
	n += os_range_headers(t, h + n, "Range");

	memset(&sig, 0, sizeof(sig));
	sig.method = method;
	sig.canonical_uri = path;
	sig.canonical_query = t->query;
	sig.nheaders = n;
	sig.headers = h;
	sig.payload_hash = OS_UNSIGNED_PAYLOAD;
	sig.amz_date = amz_date;
	sig.region = c->cfg.region;
	sig.service = "s3";
	sig.access_key_id = c->cfg.access_key_id;
	sig.secret_access_key = c->cfg.secret_access_key;
	h[n++] = (CbOsHeader) {"Authorization", cb_os_sigv4_authorization(&sig, NULL, NULL)};
	return n;
}

/* Azure: x-ms-date and x-ms-version, Shared Key unless a SAS is in the URL */
static int
os_azure_sign(OsTransfer *t, const char *method, const char *path, CbOsHeader *h)
{
	CbOsClient *c = t->client;
	int			n = 0;
	char	   *date = palloc(32);
	CbAzSharedKey sk;
	char	   *auth;
	char	   *errmsg;

	cb_az_http_date(time(NULL), date);
	h[n++] = (CbOsHeader) {"x-ms-date", date};
	h[n++] = (CbOsHeader) {"x-ms-version", CB_AZ_VERSION};
	n += os_range_headers(t, h + n, "x-ms-range");
	if (c->sas_query)
		return n;
	memset(&sk, 0, sizeof(sk));
	sk.method = method;
	sk.account = c->account;
	sk.key = c->cfg.azure_key;
	sk.path = path;
	sk.nparams = t->nparams;
	sk.params = t->params;
	sk.nheaders = n;
	sk.headers = h;
	/* the key was checked at setup: a failure here cannot happen */
	if ((auth = cb_az_shared_key_authorization(&sk, NULL, &errmsg)) != NULL)
		h[n++] = (CbOsHeader) {"Authorization", auth};
	return n;
}

/* the headers of this attempt, signed, as a libcurl list */
static struct curl_slist *
os_request_headers(OsTransfer *t, const char *method, const char *path)
{
	CbOsHeader	h[8];
	int			n;
	struct curl_slist *list = NULL;

	if (t->client->gcs)
	{
		/* Google: the token os_start_ready made ready, as it is */
		const char *auth = cb_gcs_authorization(t->client->gcs, &t->client->cfg, NULL);

		n = os_range_headers(t, h, "Range");
		if (auth)
			h[n++] = (CbOsHeader) {"Authorization", auth};
	}
	else
		n = t->client->cfg.provider == CB_OS_PROVIDER_AZURE ?
			os_azure_sign(t, method, path, h) : os_s3_sign(t, method, path, h);
	/* what is signed is exactly what is sent; libcurl adds only Accept */
	for (int i = 0; i < n; i++)
		list = curl_slist_append(list, psprintf("%s: %s", h[i].name, h[i].value));
	return curl_slist_append(list, "Expect:");
}

static void
os_attempt_cleanup(OsTransfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(t->client->multi, t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	if (t->headers)
		curl_slist_free_all(t->headers);
	t->headers = NULL;
}

static bool
os_start_attempt(OsTransfer *t)
{
	CbOsClient *c = t->client;
	char	   *path;
	char	   *url;
	CURL	   *e;

	if (t->op == OS_OP_LIST)
		path = pstrdup(c->base_path[0] ? c->base_path : "/");
	else
		path = psprintf("%s/%s", c->base_path, cb_os_uri_encode(t->key, true));
	url = psprintf("%s%s%s%s", c->origin, path, t->query[0] ? "?" : "", t->query);
	if (c->sas_query)
		url = psprintf("%s%s%s", url, t->query[0] ? "&" : "?", c->sas_query);

	t->http_status = 0;
	t->to_fn = false;
	t->skip = 0;
	t->stopped_by_fn = t->got_all = false;
	t->abort_reason = NULL;
	t->errbuf[0] = '\0';
	resetStringInfo(&t->body);
	t->headers = os_request_headers(t, t->op == OS_OP_HEAD ? "HEAD" : "GET", path);
	if ((t->easy = e = curl_easy_init()) == NULL)
		return false;
	curl_easy_setopt(e, CURLOPT_URL, url);
	/* url may hold a SAS token: it goes nowhere else */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, os_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, os_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, OS_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) c->cfg.connect_timeout_ms);
	if (t->op == OS_OP_GET)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long) OS_GET_BUFFER_SIZE);
	if (t->op == OS_OP_HEAD)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (c->cfg.endpoint_ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.endpoint_ca_file);
	explicit_bzero(url, strlen(url));
	pfree(url);
	pfree(path);
	c->stats.requests++;
	t->last_progress = os_now_ms();
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		return false;
	t->state = OS_RUNNING;
	return true;
}

/* ---------- outcome of an attempt ---------- */

static const CURLcode os_retry_curl[] = {
	CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
	CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
	CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM,
};

/* 5xx are retried too (below) */
static const long os_retry_http[] = {408, 429};

static const struct
{
	CURLcode	code;
	const char *hint;
}			os_curl_hints[] = {
	{CURLE_PEER_FAILED_VERIFICATION,
	"The store's certificate is not trusted: give its CA in endpointCA."},
	{CURLE_COULDNT_RESOLVE_HOST, "Check endpointURL and the host's DNS."},
	{CURLE_COULDNT_CONNECT, "Check endpointURL and that the store is reachable."},
};

static const struct
{
	const char *code;
	const char *hint;
}			os_store_hints[] = {
	{"SignatureDoesNotMatch",
	"Check secretAccessKey (and region) in the s3Credentials Secret."},
	{"InvalidAccessKeyId", "Check accessKeyId in the s3Credentials Secret."},
	{"AccessDenied", "The key has no read access to this bucket or path."},
	{"NoSuchBucket", "Check the bucket of destinationPath and endpointURL."},
	{"RequestTimeTooSkewed", "The host's clock is off by more than 15 minutes."},
	{"AuthorizationHeaderMalformed", "Check region in the s3Credentials Secret."},
	{"AuthenticationFailed",
	"Check storageKey or storageSasToken (its expiry too) in the azureCredentials Secret, the account in destinationPath, and the host's clock."},
	{"AuthorizationFailure",
	"Check storageKey or storageSasToken in the azureCredentials Secret: the key is wrong, or it has no access to this container."},
	{"AuthorizationPermissionMismatch", "The SAS token lacks the read or list permission."},
	{"AuthorizationResourceTypeMismatch", "The SAS token must allow the container and object resource types."},
	{"ContainerNotFound", "Check the container in destinationPath."},
	{"ResourceNotFound", "Check the account and container in destinationPath."},
	{"AuthenticationRequired", "The store refused the access token of googleCredentials."},
};

/* names for an error answer without a document (HEAD) */
static const struct
{
	long		status;
	const char *code;
}			os_status_codes[] = {
	{400, "BadRequest"}, {403, "Forbidden"}, {404, "NotFound"},
	{409, "Conflict"}, {412, "PreconditionFailed"}, {416, "InvalidRange"},
	{500, "InternalError"}, {503, "ServiceUnavailable"},
};

/* "S3 GET", "Azure List Blobs" ... for messages */
static const char *
os_op_name(const OsTransfer *t)
{
	bool		azure = t->client->cfg.provider == CB_OS_PROVIDER_AZURE;

	if (t->client->gcs)
		return t->op == OS_OP_LIST ? "GCS list" : t->op == OS_OP_HEAD ? "GCS HEAD" : "GCS GET";
	if (t->op == OS_OP_LIST)
		return azure ? "Azure List Blobs" : "S3 ListObjectsV2";
	if (t->op == OS_OP_HEAD)
		return azure ? "Azure HEAD" : "S3 HEAD";
	return azure ? "Azure GET" : "S3 GET";
}

static bool
os_retryable(CURLcode rc, long status, const char *code)
{
	if (rc != CURLE_OK)
	{
		for (int i = 0; i < (int) lengthof(os_retry_curl); i++)
			if (rc == os_retry_curl[i])
				return true;
		return false;
	}
	if (status >= 500)
		return true;
	for (int i = 0; i < (int) lengthof(os_retry_http); i++)
		if (status == os_retry_http[i])
			return true;
	return code != NULL && (strcmp(code, "SlowDown") == 0 ||
							strcmp(code, "RequestTimeout") == 0);
}

/* set the final error of t from what the last attempt got */
static void
os_final_error(OsTransfer *t, CURLcode rc, const char *code, const char *msg)
{
	CbOsClient *c = t->client;
	const char *hint = NULL;
	char	   *after = t->attempt > 0 ?
		psprintf(" after %d attempts", t->attempt + 1) : pstrdup("");

	if (rc != CURLE_OK)
	{
		for (int i = 0; i < (int) lengthof(os_curl_hints); i++)
			if (rc == os_curl_hints[i].code)
				hint = os_curl_hints[i].hint;
		os_fail(c, t->err, 0, NULL, hint, "%s of \"%s\" failed%s: %s",
				os_op_name(t), t->url_text, after, msg);
		return;
	}
	for (int i = 0; code && i < (int) lengthof(os_store_hints); i++)
		if (strcmp(code, os_store_hints[i].code) == 0)
			hint = os_store_hints[i].hint;
	if (code && (strcmp(code, "NoSuchBucket") == 0 ||
				 strcmp(code, "ContainerNotFound") == 0))
		os_fail(c, t->err, (int) t->http_status, code, hint,
				"%s \"%s\" does not exist at %s (HTTP %ld %s%s%s)",
				code[0] == 'N' ? "bucket" : "container",
				c->bucket, c->origin, t->http_status, code,
				msg ? ": " : "", msg ? msg : "");
	else
		os_fail(c, t->err, (int) t->http_status, code, hint,
				"%s of \"%s\" failed%s: HTTP %ld %s%s%s",
				os_op_name(t), t->url_text, after, t->http_status,
				code ? code : "", msg ? ": " : "", msg ? msg : "");
}

static void
os_schedule_retry(OsTransfer *t, const char *why)
{
	CbOsClient *c = t->client;
	int64		delay = c->cfg.retry_base_ms;

	for (int i = 0; i < t->attempt && delay < c->cfg.retry_max_ms; i++)
		delay *= 2;
	delay = Min(delay, c->cfg.retry_max_ms);
	delay = delay * 3 / 4 + random() % (delay / 2 + 1);	/* +-25% */
	t->attempt++;
	c->stats.retries++;
	t->not_before = os_now_ms() + delay;
	t->state = OS_WAITING;
	ereport(LOG,
			(errmsg("cnpg_bootstrap: %s of \"%s\" failed (%s), retry %d of %d in " INT64_FORMAT " ms",
					os_op_name(t), t->url_text, os_scrub(c, pstrdup(why)),
					t->attempt, c->cfg.max_retries, delay)));
}

/* an attempt ended: success, retry later, or final failure */
static void
os_attempt_done(OsTransfer *t, CURLcode rc)
{
	char	   *code = NULL;
	char	   *msg = NULL;

	if (rc == CURLE_OK || t->http_status == 0)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
	if (t->op == OS_OP_HEAD && rc == CURLE_OK && t->http_status < 300)
	{
		curl_off_t	clen = -1;

		curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
		t->size = clen;
		t->etag = t->resp_etag;
		t->last_modified = t->resp_last_modified;
	}
	os_attempt_cleanup(t);
	t->state = OS_DONE;
	t->result = CB_OS_ERROR;

	if (t->stopped_by_fn || t->abort_reason)
	{
		os_fail(t->client, t->err, (int) t->http_status, NULL, NULL,
				"%s of \"%s\" failed: %s", os_op_name(t), t->url_text,
				t->stopped_by_fn ? "stopped by the receiver" : t->abort_reason);
		return;
	}
	if (t->got_all || (rc == CURLE_OK && t->http_status >= 200 && t->http_status < 300))
	{
		t->result = CB_OS_OK;
		return;
	}
	if (rc == CURLE_OK)
	{
		/* an answer with an error status: the store's code and message */
		if (!cb_os_parse_error_xml(t->body.data, t->body.len, &code, &msg))
		{
			/* Azure names it in a header, even for HEAD */
			code = t->resp_error_code;
			for (int i = 0; code == NULL && i < (int) lengthof(os_status_codes); i++)
				if (t->http_status == os_status_codes[i].status)
					code = pstrdup(os_status_codes[i].code);
		}
		/* Azure appends "\nRequestId:...\nTime:..." to its message */
		if (msg && strchr(msg, '\n'))
			*strchr(msg, '\n') = '\0';
		if (t->http_status == 404 && t->op != OS_OP_LIST &&
			(code == NULL || strcmp(code, "NoSuchKey") == 0 ||
			 strcmp(code, "NotFound") == 0 || strcmp(code, "BlobNotFound") == 0))
		{
			t->result = CB_OS_NOT_FOUND;
			os_fail(t->client, t->err, 404, code ? code : "NoSuchKey", NULL,
					"object \"%s\" does not exist", t->url_text);
			return;
		}
	}
	else
		msg = pstrdup(t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));

	if (((t->http_status == 401 && t->client->gcs && t->attempt == 0 &&
		  cb_gcs_auth_forget(t->client->gcs)) ||
		 os_retryable(rc, t->http_status, code)) &&
		t->attempt < t->client->cfg.max_retries)
	{
		os_schedule_retry(t, rc != CURLE_OK ? msg :
						  psprintf("HTTP %ld %s", t->http_status, code ? code : ""));
		return;
	}
	os_final_error(t, rc, code, msg);
}

/* ---------- the loop ---------- */

/* stop every transfer that is not done (interrupted or an ERROR) */
static void
os_abandon(OsTransfer **ts, int n)
{
	for (int i = 0; i < n; i++)
	{
		OsTransfer *t = ts[i];

		if (t->state == OS_DONE)
			continue;
		os_attempt_cleanup(t);
		t->state = OS_DONE;
		t->result = CB_OS_ERROR;
		os_fail(t->client, t->err, 0, "Interrupted", NULL,
				"%s of \"%s\" interrupted", os_op_name(t), t->url_text);
	}
}

/* start what may start; return the earliest pending start, -1 if none */
static int64
os_start_ready(OsTransfer **ts, int n, int max_parallel, int *active)
{
	int64		now = os_now_ms();
	int64		next = -1;

	for (int i = 0; i < n; i++)
	{
		OsTransfer *t = ts[i];

		if (t->state != OS_WAITING)
			continue;
		if (*active < max_parallel && now >= t->not_before)
		{
			/* Google: a fresh token first (may wait for the token endpoint) */
			if (t->client->gcs &&
				cb_gcs_authorization(t->client->gcs, &t->client->cfg, t->err) == NULL)
			{
				t->state = OS_DONE;
				t->result = CB_OS_ERROR;
				if (t->err)
					t->err->message = os_scrub(t->client, t->err->message);
				continue;
			}
			if (os_start_attempt(t))
				(*active)++;
			else
			{
				os_attempt_cleanup(t);
				t->state = OS_DONE;
				t->result = CB_OS_ERROR;
				os_fail(t->client, t->err, 0, NULL, NULL,
						"could not start a libcurl transfer");
			}
		}
		else if (next < 0 || t->not_before < next)
			next = t->not_before;
	}
	return next;
}

static void
os_read_messages(CbOsClient *c)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
	{
		OsTransfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
		if (t)
			os_attempt_done(t, msg->data.result);
	}
}

/*
 * A transfer that got no byte for stall_timeout_s ends as a timeout (and is
 * retried).  Done here rather than with CURLOPT_LOW_SPEED_*, whose speed is
 * averaged over several seconds: a stall would be seen up to 6 s late.
 */
static void
os_check_stalls(CbOsClient *c, OsTransfer **ts, int n)
{
	int64		now = os_now_ms();

	for (int i = 0; i < n; i++)
	{
		OsTransfer *t = ts[i];

		if (t->state == OS_RUNNING &&
			now - t->last_progress >= (int64) c->cfg.stall_timeout_s * 1000)
		{
			snprintf(t->errbuf, sizeof(t->errbuf), "no data received for %d s",
					 c->cfg.stall_timeout_s);
			os_attempt_done(t, CURLE_OPERATION_TIMEDOUT);
		}
	}
}

/*
 * Run every transfer to its end, at most max_parallel at a time; or, with
 * until, only until it says so (a stream's reader wants its next bytes:
 * the transfers stay in the multi handle and go on at the next call).
 */
static void
os_loop(CbOsClient *c, OsTransfer **ts, int n, int max_parallel,
		bool (*until) (void *arg), void *until_arg)
{
	CbOsWaitSocket *socks = NULL;
	int			room = 0;

	for (;;)
	{
		int			active = 0;
		int			running;
		int			nsocks;
		int64		next_start;
		int64		now;
		long		timeout = OS_WAIT_MAX_MS;

		for (int i = 0; i < n; i++)
			if (ts[i]->state == OS_RUNNING)
				active++;
		next_start = os_start_ready(ts, n, max_parallel, &active);
		if (active == 0 && next_start < 0)
			break;

		now = os_now_ms();
		if (c->timer_deadline >= 0)
			timeout = Min(timeout, Max(0, c->timer_deadline - now));
		if (next_start >= 0)
			timeout = Min(timeout, Max(0, next_start - now));

		/* libcurl's callbacks change c->socks: wait on a copy */
		nsocks = c->nsocks;
		if (nsocks > room)
		{
			room = Max(nsocks, 8);
			socks = socks ? repalloc(socks, sizeof(CbOsWaitSocket) * room) :
				palloc(sizeof(CbOsWaitSocket) * room);
		}
		for (int i = 0; i < nsocks; i++)
		{
			socks[i] = c->socks[i];
			socks[i].revents = 0;
		}
		if (!c->cfg.wait(c->cfg.wait_arg, socks, nsocks, timeout))
		{
			os_abandon(ts, n);
			break;
		}
		for (int i = 0; i < nsocks; i++)
			if (socks[i].revents)
				curl_multi_socket_action(c->multi, socks[i].fd,
										 ((socks[i].revents & CB_OS_WAIT_READ) ? CURL_CSELECT_IN : 0) |
										 ((socks[i].revents & CB_OS_WAIT_WRITE) ? CURL_CSELECT_OUT : 0),
										 &running);
		if (c->timer_deadline >= 0 && os_now_ms() >= c->timer_deadline)
		{
			c->timer_deadline = -1;
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		os_read_messages(c);
		os_check_stalls(c, ts, n);
		if (until && until(until_arg))
			break;
	}
	if (socks)
		pfree(socks);
}

static void
os_run_until(CbOsClient *c, OsTransfer **ts, int n, int max_parallel,
			 bool (*until) (void *arg), void *until_arg)
{
#ifndef CB_OS_NO_BACKEND
	/* an ERROR from the wait (interrupts) must not leave handles behind */
	PG_TRY();
	{
		os_loop(c, ts, n, max_parallel, until, until_arg);
	}
	PG_CATCH();
	{
		os_abandon(ts, n);
		PG_RE_THROW();
	}
	PG_END_TRY();
#else
	os_loop(c, ts, n, max_parallel, until, until_arg);
#endif
}

static void
os_run(CbOsClient *c, OsTransfer **ts, int n, int max_parallel)
{
	os_run_until(c, ts, n, max_parallel, NULL, NULL);
}

static OsTransfer *
os_transfer(CbOsClient *c, OsOp op, const char *key, CbOsError *err)
{
	OsTransfer *t = palloc0(sizeof(OsTransfer));

	t->client = c;
	t->op = op;
	t->key = psprintf("%s%s", c->prefix, key);
	t->query = "";
	t->url_text = cb_os_url(c, key);
	t->length = -1;
	t->size = -1;
	t->state = OS_WAITING;
	t->err = err;
	initStringInfo(&t->body);
	os_error_clear(err);
	return t;
}

static void
os_transfer_free(OsTransfer *t)
{
	pfree(t->body.data);
	pfree(t);
}

/* ---------- operations ---------- */

static CbOsStatus
os_list_page(CbOsClient *c, const char *prefix, const char *delimiter,
			 int max_keys, const char *token, CbOsListPage *page,
			 CbOsError *err)
{
	CbOsHeader *params = palloc(sizeof(CbOsHeader) * 6);
	int			n = 0;
	OsTransfer *t = os_transfer(c, OS_OP_LIST, prefix, err);
	CbOsStatus	status;
	char	   *errmsg;
	bool		azure = c->cfg.provider == CB_OS_PROVIDER_AZURE;
	bool		parsed;

	/* ListObjectsV2, or List Blobs with the same meaning */
	if (azure)
	{
		params[n++] = (CbOsHeader) {"restype", "container"};
		params[n++] = (CbOsHeader) {"comp", "list"};
	}
	else
		params[n++] = (CbOsHeader) {"list-type", "2"};
	params[n++] = (CbOsHeader) {"prefix", t->key};
	if (delimiter)
		params[n++] = (CbOsHeader) {"delimiter", delimiter};
	if (max_keys > 0)
		params[n++] = (CbOsHeader) {azure ? "maxresults" : "max-keys",
		psprintf("%d", max_keys)};
	if (token)
		params[n++] = (CbOsHeader) {azure ? "marker" : "continuation-token", token};
	t->query = cb_os_canonical_query(n, params);
	t->nparams = n;
	t->params = params;
	os_run(c, &t, 1, 1);
	status = t->result;
	if (status == CB_OS_OK)
	{
		parsed = azure ?
			cb_os_parse_azure_list_xml(t->body.data, t->body.len, page, &errmsg) :
			cb_os_parse_list_xml(t->body.data, t->body.len, page, &errmsg);
		if (!parsed)
		{
			os_fail(c, err, (int) t->http_status, NULL, NULL,
					"%s of \"%s\": %s", os_op_name(t), t->url_text, errmsg);
			status = CB_OS_ERROR;
		}
	}
	pfree(params);
	os_transfer_free(t);
	return status;
}

/*
 * A listed key relative to the destinationPath, or NULL if it is not
 * under the prefix listed (a store's answer is not trusted to be); *bytes
 * counts what is kept.
 */
static char *
os_relative_key(CbOsClient *c, const char *key, const char *prefix, size_t *bytes)
{
	size_t		plen = strlen(c->prefix);

	if (strncmp(key, c->prefix, plen) != 0 ||
		(prefix && strncmp(key + plen, prefix, strlen(prefix)) != 0))
		return NULL;
	*bytes += strlen(key + plen) + 1;
	return pstrdup(key + plen);
}

CbOsStatus
cb_os_list(CbOsClient *client, const char *prefix, const char *delimiter,
		   int max_keys, CbOsListing *out, CbOsError *err)
{
	char	   *token = NULL;
	int			maxobj = 0;
	int			maxpre = 0;
	size_t		bytes = 0;
	const char *op = client->gcs ? "GCS list" :
		client->cfg.provider == CB_OS_PROVIDER_AZURE ?
		"Azure List Blobs" : "S3 ListObjectsV2";

	memset(out, 0, sizeof(CbOsListing));
	for (;;)
	{
		CbOsListPage page;

		if (os_list_page(client, prefix, delimiter, max_keys, token, &page, err) != CB_OS_OK)
			return CB_OS_ERROR;
		if (++out->npages > OS_LIST_MAX_PAGES || bytes > OS_LIST_MAX_KEY_BYTES ||
			page.nobjects + page.nprefixes > OS_LIST_MAX_ENTRIES - out->nobjects - out->nprefixes)
		{
			os_fail(client, err, 0, NULL, NULL,
					"%s of \"%s\": more than %d pages, %d entries or %d MB of names: not a Barman Cloud folder",
					op, cb_os_url(client, prefix), OS_LIST_MAX_PAGES, OS_LIST_MAX_ENTRIES,
					OS_LIST_MAX_KEY_BYTES / (1024 * 1024));
			return CB_OS_ERROR;
		}
		if (out->nobjects + page.nobjects > maxobj)
		{
			maxobj = Max(maxobj * 2, out->nobjects + page.nobjects);
			out->objects = out->objects ?
				repalloc(out->objects, sizeof(CbOsObject) * maxobj) :
				palloc(sizeof(CbOsObject) * maxobj);
		}
		if (out->nprefixes + page.nprefixes > maxpre)
		{
			maxpre = Max(maxpre * 2, out->nprefixes + page.nprefixes);
			out->prefixes = out->prefixes ?
				repalloc(out->prefixes, sizeof(char *) * maxpre) :
				palloc(sizeof(char *) * maxpre);
		}
		for (int i = 0; i < page.nobjects; i++)
		{
			CbOsObject	o = page.objects[i];

			if ((o.key = os_relative_key(client, o.key, prefix, &bytes)) != NULL)
				out->objects[out->nobjects++] = o;
		}
		for (int i = 0; i < page.nprefixes; i++)
		{
			char	   *p = os_relative_key(client, page.prefixes[i], prefix, &bytes);

			if (p)
				out->prefixes[out->nprefixes++] = p;
		}
		if (!page.is_truncated)
			return CB_OS_OK;
		if (page.next_token == NULL || page.next_token[0] == '\0' ||
			(token && strcmp(token, page.next_token) == 0))
		{
			os_fail(client, err, 0, NULL, NULL,
					"%s of \"%s\": truncated answer without a new continuation token",
					op, cb_os_url(client, prefix));
			return CB_OS_ERROR;
		}
		token = page.next_token;
	}
}

bool
cb_os_get_many(CbOsClient *client, int n, CbOsGetRequest *reqs)
{
	OsTransfer **ts = palloc(sizeof(OsTransfer *) * Max(n, 1));
	bool		all_ok = true;

	for (int i = 0; i < n; i++)
	{
		OsTransfer *t = os_transfer(client, OS_OP_GET, reqs[i].key, &reqs[i].err);

		t->offset = reqs[i].offset;
		t->length = reqs[i].length;
		t->fn = reqs[i].fn;
		t->arg = reqs[i].arg;
		if (t->length == 0)
		{
			/* nothing to fetch; a request would ask for an invalid range */
			t->state = OS_DONE;
			t->result = CB_OS_OK;
		}
		ts[i] = t;
	}
	os_run(client, ts, n, client->cfg.max_parallel);
	for (int i = 0; i < n; i++)
	{
		reqs[i].status = ts[i]->result;
		reqs[i].size = ts[i]->size;
		all_ok &= ts[i]->result == CB_OS_OK;
		os_transfer_free(ts[i]);
	}
	pfree(ts);
	return all_ok;
}

CbOsStatus
cb_os_get(CbOsClient *client, const char *key, int64 offset, int64 length,
		  CbOsWriteFn fn, void *arg, int64 *size_out, CbOsError *err)
{
	CbOsGetRequest req;

	memset(&req, 0, sizeof(req));
	req.key = key;
	req.offset = offset;
	req.length = length;
	req.fn = fn;
	req.arg = arg;
	cb_os_get_many(client, 1, &req);
	if (err)
		*err = req.err;
	if (size_out)
		*size_out = req.size;
	return req.status;
}

typedef struct OsBuffer
{
	StringInfo	buf;
	size_t		max;
	bool		overflow;
} OsBuffer;

static bool
os_buffer_write(void *arg, const char *data, size_t len)
{
	OsBuffer   *b = arg;

	if (b->buf->len + len > b->max)
	{
		b->overflow = true;
		return false;
	}
	appendBinaryStringInfo(b->buf, data, len);
	return true;
}

CbOsStatus
cb_os_get_buffer(CbOsClient *client, const char *key, size_t max_bytes,
				 StringInfo buf, CbOsError *err)
{
	OsBuffer	b = {buf, max_bytes, false};
	CbOsStatus	status;

	resetStringInfo(buf);
	status = cb_os_get(client, key, 0, -1, os_buffer_write, &b, NULL, err);
	if (b.overflow && err)
		os_fail(client, err, 0, NULL, NULL, "object \"%s\" is larger than %zu bytes",
				cb_os_url(client, key), max_bytes);
	return status;
}

CbOsStatus
cb_os_head(CbOsClient *client, const char *key, CbOsObject *info, CbOsError *err)
{
	OsTransfer *t = os_transfer(client, OS_OP_HEAD, key, err);
	CbOsStatus	status;

	os_run(client, &t, 1, 1);
	status = t->result;
	memset(info, 0, sizeof(CbOsObject));
	info->key = pstrdup(key);
	info->size = t->size;
	info->etag = t->etag;
	info->last_modified = t->last_modified;
	os_transfer_free(t);
	return status;
}

/* ---------- pull-style reading (for libarchive's read callback) ---------- */

struct CbOsStream
{
	CbOsClient *client;
	OsTransfer *t;
	StringInfoData chunk;		/* what arrived since the last read */
	CbOsError	err;
};

static bool
os_stream_append(void *arg, const char *data, size_t len)
{
	CbOsStream *s = arg;

	appendBinaryStringInfo(&s->chunk, data, len);
	return true;
}

static bool
os_stream_has_data(void *arg)
{
	return ((CbOsStream *) arg)->chunk.len > 0;
}

CbOsStream *
cb_os_stream_open(CbOsClient *client, const char *key)
{
	CbOsStream *s = palloc0(sizeof(CbOsStream));

	s->client = client;
	s->t = os_transfer(client, OS_OP_GET, key, &s->err);
	s->t->fn = os_stream_append;
	s->t->arg = s;
	initStringInfo(&s->chunk);
	return s;
}

/*
 * The bytes that arrived since the last call, waiting for some if none
 * did.  One socket's worth at a time (libcurl hands over at most a few
 * of its 16 kB buffers per wake-up), so memory stays small without
 * pausing the transfer.
 */
CbOsStatus
cb_os_stream_read(CbOsStream *s, const char **data, size_t *len)
{
	resetStringInfo(&s->chunk);
	if (s->t->state != OS_DONE)
		os_run_until(s->client, &s->t, 1, 1, os_stream_has_data, s);
	*data = s->chunk.data;
	*len = s->chunk.len;
	if (s->chunk.len > 0 || s->t->state != OS_DONE)
		return CB_OS_OK;
	return s->t->result;
}

const CbOsError *
cb_os_stream_error(const CbOsStream *s)
{
	return &s->err;
}

void
cb_os_stream_close(CbOsStream *s)
{
	if (s->t->state != OS_DONE)
		os_abandon(&s->t, 1);
	os_transfer_free(s->t);
	pfree(s->chunk.data);
	pfree(s);
}
