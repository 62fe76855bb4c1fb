/*-------------------------------------------------------------------------
 *
 * objectstore.c
 *	  The object-store client of the recovery method: the client (its
 *	  endpoint, provider setup, libcurl's multi handle and its callbacks)
 *	  and the public operations, ListObjectsV2 with its bounds, streamed and
 *	  ranged GET, HEAD, pull-style streams.  The rest is split by concern:
 *	  os_config.c (configuration from a barmanObjectStore stanza),
 *	  os_sigv4.c (AWS Signature V4), os_xml.c (the XML reader for listings
 *	  and errors), os_transfer.c (one attempt, retries, resume, stalls and
 *	  the loop), oswait.c (the wait functions); os_int.h is what they
 *	  share.  Azure Blob Storage goes through the same
 *	  transfers: what differs per provider is where a request goes
 *	  (os_client_setup), how it is signed (os_request_headers), the listing's
 *	  query and document (os_list_page) and a few error codes; the Azure
 *	  protocol pieces themselves are in azureblob.c, Google's in gcs.c.
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
#include <time.h>

#ifndef CB_OS_NO_BACKEND
#include "utils/memutils.h"
#endif

#include "azureblob.h"
#include "gcs.h"
#include "objectstore.h"
#include "os_int.h"

static bool curl_initialized = false;

/* ---------- small helpers ---------- */

int64
os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
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
char *
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

void
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

bool
os_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* a value that would break (or inject) a header line */
bool
os_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
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
		t->expect_size = reqs[i].expect_size;
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

void
cb_os_stream_expect(CbOsStream *s, int64 size)
{
	s->t->expect_size = size;
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
