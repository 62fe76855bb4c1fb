/*-------------------------------------------------------------------------
 *
 * os_transfer.c
 *	  The transfers of the object-store client: one attempt (headers,
 *	  signing per provider, the body to a callback or a buffer, a Range
 *	  resumed on the same ETag), its outcome (retry with backoff or a final
 *	  CbOsError), stall detection and the libcurl multi loop that runs many
 *	  transfers through the client's wait function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <curl/curl.h>
#include <time.h>

#include "azureblob.h"
#include "gcs.h"
#include "objectstore.h"
#include "os_int.h"

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
const char *
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

	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
	{
		/*
		 * A configuration error, never retried: name the endpoint whose
		 * certificate failed and the CA it was checked against.
		 */
		os_fail(c, t->err, 0, "CertificateNotVerified",
				c->cfg.endpoint_ca_file ?
				"endpointCA must hold the CA that signed the store's certificate, and that certificate must name the host of endpointURL." :
				"The store's certificate is not trusted by this host: give its CA in endpointCA.",
				"%s of \"%s\" failed: the TLS certificate of %s could not be verified against %s: %s",
				os_op_name(t), t->url_text, c->origin,
				c->cfg.endpoint_ca_file ? "endpointCA" : "the system's CAs", msg);
		return;
	}
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

/*
 * Where the body of a GET must end, -1 if nobody knows: the object's size
 * (Content-Length of a 200, the total of a Content-Range, else what the
 * listing said), or the end of the range asked for within it.
 */
static int64
os_wanted_end(const OsTransfer *t)
{
	int64		size = t->size >= 0 ? t->size :
		t->expect_size > 0 ? t->expect_size : -1;

	if (size < 0)
		return -1;
	return t->length >= 0 ? Min(t->offset + t->length, size) : size;
}

/*
 * Does a listing end with the end tag of its root element?  A listing
 * answered without Content-Length and cut off is otherwise whole to
 * libcurl, and then "malformed" to the parser: a cut, to be retried.
 * True when the root cannot be told (the parser judges).
 */
static bool
os_xml_complete(const char *s, int len)
{
	const char *p = s;
	const char *end = s + len;
	const char *name;
	size_t		nlen;

	for (;;)
	{
		while (p < end && isspace((unsigned char) *p))
			p++;
		if (end - p >= 2 && p[0] == '<' && (p[1] == '?' || p[1] == '!'))
		{
			/* the XML declaration, a comment */
			while (p < end && *p != '>')
				p++;
			p++;
			continue;
		}
		break;
	}
	if (p >= end || *p != '<')
		return true;
	name = ++p;
	while (p < end && !isspace((unsigned char) *p) && *p != '>' && *p != '/')
		p++;
	nlen = p - name;
	if (nlen == 0 || p >= end)
		return nlen == 0;
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	/* <Root/> alone */
	if (*p == '/' && p + 1 < end && p[1] == '>')
		return p + 2 == end;
	return end - p >= (ptrdiff_t) nlen + 3 && end[-1] == '>' &&
		strncmp(end - nlen - 3, "</", 2) == 0 &&
		strncmp(end - nlen - 1, name, nlen) == 0;
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
		int64		end = t->op == OS_OP_GET && !t->got_all ? os_wanted_end(t) : -1;

		/*
		 * An answer without Content-Length ends where the connection does:
		 * libcurl cannot tell a cut one from a whole one.  Short of the
		 * size we know, it is a partial transfer (resumed by the retry),
		 * never a whole object; so is a listing without its end tag.
		 */
		if (t->op == OS_OP_LIST && !os_xml_complete(t->body.data, t->body.len))
			snprintf(t->errbuf, sizeof(t->errbuf),
					 "the answer ended after %d bytes, before the end of its XML document",
					 t->body.len);
		else if (end < 0 || t->offset + t->delivered >= end)
		{
			t->result = CB_OS_OK;
			return;
		}
		else
			snprintf(t->errbuf, sizeof(t->errbuf),
					 "the answer ended after " INT64_FORMAT " of " INT64_FORMAT " bytes",
					 t->delivered, end - t->offset);
		rc = CURLE_PARTIAL_FILE;
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
void
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

void
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

void
os_run(CbOsClient *c, OsTransfer **ts, int n, int max_parallel)
{
	os_run_until(c, ts, n, max_parallel, NULL, NULL);
}

OsTransfer *
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

void
os_transfer_free(OsTransfer *t)
{
	pfree(t->body.data);
	pfree(t);
}
