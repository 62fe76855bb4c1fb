/*-------------------------------------------------------------------------
 *
 * azureblob.c
 *	  Azure Blob Storage for the object-store client: destinationPath and
 *	  connection strings read the way barman-cloud reads them, Shared Key
 *	  authorization computed here with OpenSSL, the x-ms-date.  The client
 *	  (objectstore.c) calls these when its provider is Azure; transfers,
 *	  retries and waits are the same code as for S3.
 *
 * Shared Key (learn.microsoft.com, "Authorize with Shared Key"): the
 * signature is HMAC-SHA256, keyed with the base64-decoded account key, of
 *   VERB \n Content-Encoding \n Content-Language \n Content-Length \n
 *   Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n If-Match \n
 *   If-None-Match \n If-Unmodified-Since \n Range \n
 *   <x-ms-* headers: lower-case name ':' value '\n', sorted by name>
 *   /<account><path>[\n<param>:<value> for each query parameter, sorted]
 * with x-ms-date standing in for Date.  Azurite checks it the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <time.h>

#include "common/base64.h"
#include "lib/stringinfo.h"

#include "azureblob.h"
#include "hmac_sha256.h"

#define AZ_DOMAIN			"blob.core.windows.net"
#define AZ_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.$"

/* azurite's well-known development account (public, in its README) */
#define AZ_DEV_ACCOUNT		"devstoreaccount1"
#define AZ_DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define AZ_DEV_ENDPOINT		"http://127.0.0.1:10000/" AZ_DEV_ACCOUNT

/* ---------- destinationPath ---------- */

/* "http(s)://" length of url, 0 if neither */
static int
az_scheme_len(const char *url)
{
	if (pg_strncasecmp(url, "https://", 8) == 0)
		return 8;
	if (pg_strncasecmp(url, "http://", 7) == 0)
		return 7;
	return 0;
}

/* the n-th '/'-separated segment of path ("/a/b": 1 is "a"), NULL if none */
static char *
az_segment(const char *path, int n, const char **rest)
{
	const char *p = path;

	for (int i = 0; i < n; i++)
	{
		if ((p = strchr(p, '/')) == NULL)
			return NULL;
		p++;
	}
	*rest = p + strcspn(p, "/");
	return pnstrdup(p, strcspn(p, "/"));
}

static char *
az_trim_slashes(const char *s)
{
	char	   *out;
	size_t		len;

	while (*s == '/')
		s++;
	out = pstrdup(s);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';
	return out;
}

/* scheme://authority[/path] of a BlobEndpoint: origin and path */
static bool
az_split_endpoint(const char *url, char **origin, char **path, char **errmsg)
{
	int			slen = az_scheme_len(url);
	size_t		alen;
	size_t		plen;

	alen = slen ? strcspn(url + slen, "/?#") : 0;
	if (alen == 0 || memchr(url + slen, '@', alen) != NULL ||
		strpbrk(url + slen + alen, "?#") != NULL)
	{
		*errmsg = pstrdup("the connection string's BlobEndpoint is not an http(s)://host[:port][/path] URL");
		return false;
	}
	*origin = pnstrdup(url, slen + alen);
	*path = pstrdup(url + slen + alen);
	plen = strlen(*path);
	while (plen > 0 && (*path)[plen - 1] == '/')
		(*path)[--plen] = '\0';
	return true;
}

bool
cb_az_parse_destination(const char *path, const char *endpoint,
						CbAzDestination *dest, char **errmsg, char **hint)
{
	int			slen = path ? az_scheme_len(path) : 0;
	const char *netloc;
	size_t		nlen;
	const char *upath;
	const char *rest = NULL;

	memset(dest, 0, sizeof(CbAzDestination));
	*hint = pstrdup("With azureCredentials, destinationPath is https://<account>.blob.core.windows.net/<container>[/<path>], or http://<host>:<port>/<account>/<container>[/<path>] for an emulator.");
	if (slen == 0)
	{
		*errmsg = psprintf("destinationPath \"%s\" is not an http or https URL",
						   path ? path : "");
		return false;
	}
	netloc = path + slen;
	nlen = strcspn(netloc, "/?#");
	upath = netloc + nlen;
	if (nlen == 0 || memchr(netloc, '@', nlen) != NULL || strpbrk(upath, "?#"))
	{
		*errmsg = psprintf("destinationPath \"%s\" has no usable host part", path);
		return false;
	}
	dest->emulated = !(nlen >= strlen(AZ_DOMAIN) &&
					   pg_strncasecmp(netloc + nlen - strlen(AZ_DOMAIN), AZ_DOMAIN,
									  strlen(AZ_DOMAIN)) == 0);
	if (dest->emulated)
	{
		/* http://host:port/<account>/<container>/<path> */
		dest->origin = pnstrdup(path, slen + nlen);
		dest->account = az_segment(upath, 1, &rest);
		dest->container = az_segment(upath, 2, &rest);
	}
	else
	{
		/* the Azure SDK puts https:// before a bare account host */
		dest->origin = psprintf("https://%.*s", (int) nlen, netloc);
		dest->account = pnstrdup(netloc, strcspn(netloc, "."));
		dest->container = az_segment(upath, 1, &rest);
	}
	if (dest->account == NULL || dest->account[0] == '\0' ||
		strspn(dest->account, AZ_NAME_CHARS) != strlen(dest->account) ||
		dest->container == NULL || dest->container[0] == '\0' ||
		strspn(dest->container, AZ_NAME_CHARS) != strlen(dest->container))
	{
		*errmsg = psprintf("destinationPath \"%s\" names no valid %s", path,
						   dest->container && dest->container[0] ? "account" : "container");
		return false;
	}
	dest->prefix = az_trim_slashes(rest);
	dest->base_path = dest->emulated ?
		psprintf("/%s/%s", dest->account, dest->container) :
		psprintf("/%s", dest->container);
	if (endpoint != NULL)
	{
		char	   *epath;

		if (!az_split_endpoint(endpoint, &dest->origin, &epath, errmsg))
			return false;
		dest->base_path = psprintf("%s/%s", epath, dest->container);
	}
	*hint = NULL;
	return true;
}

/* ---------- connection strings ---------- */

/* one "Name=value" of a connection string into conn */
static void
az_conn_setting(CbAzConnection *conn, const char *name, const char *value,
				char **protocol, char **suffix, bool *dev)
{
	static const struct
	{
		const char *name;
		size_t		offset;
	}			keys[] = {
		{"AccountName", offsetof(CbAzConnection, account)},
		{"AccountKey", offsetof(CbAzConnection, key)},
		{"SharedAccessSignature", offsetof(CbAzConnection, sas_token)},
		{"BlobEndpoint", offsetof(CbAzConnection, endpoint)},
	};

	for (int i = 0; i < (int) lengthof(keys); i++)
		if (pg_strcasecmp(name, keys[i].name) == 0)
			*(char **) ((char *) conn + keys[i].offset) = pstrdup(value);
	if (pg_strcasecmp(name, "DefaultEndpointsProtocol") == 0)
		*protocol = pstrdup(value);
	else if (pg_strcasecmp(name, "EndpointSuffix") == 0)
		*suffix = pstrdup(value);
	else if (pg_strcasecmp(name, "UseDevelopmentStorage") == 0)
		*dev = pg_strcasecmp(value, "true") == 0;
}

bool
cb_az_parse_connection_string(const char *cs, CbAzConnection *conn,
							  char **errmsg)
{
	char	   *copy = pstrdup(cs);
	char	   *protocol = NULL;
	char	   *suffix = NULL;
	bool		dev = false;
	char	   *save = NULL;

	memset(conn, 0, sizeof(CbAzConnection));
	for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save))
	{
		char	   *eq = strchr(item, '=');

		while (*item == ' ')
			item++;
		if (*item == '\0')
			continue;
		/* values (keys, SAS tokens) hold '=': split at the first one */
		if (eq == NULL || eq == item)
		{
			*errmsg = pstrdup("the connection string is not a list of Name=value settings separated by ';'");
			return false;
		}
		*eq = '\0';
		az_conn_setting(conn, item, eq + 1, &protocol, &suffix, &dev);
	}
	explicit_bzero(copy, strlen(cs));
	if (dev)
	{
		conn->account = conn->account ? conn->account : pstrdup(AZ_DEV_ACCOUNT);
		conn->key = conn->key ? conn->key : pstrdup(AZ_DEV_KEY);
		conn->endpoint = conn->endpoint ? conn->endpoint : pstrdup(AZ_DEV_ENDPOINT);
	}
	if (conn->endpoint == NULL && conn->account != NULL)
		conn->endpoint = psprintf("%s://%s.blob.%s", protocol ? protocol : "https",
								  conn->account, suffix ? suffix : "core.windows.net");
	if (conn->endpoint == NULL || (conn->key == NULL && conn->sas_token == NULL))
	{
		*errmsg = pstrdup("the connection string needs AccountName or BlobEndpoint, and AccountKey or SharedAccessSignature");
		return false;
	}
	return true;
}

/* ---------- Shared Key ---------- */

void
cb_az_http_date(time_t t, char out[32])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT",
			 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* the value of header name (case-insensitive) in req, "" if absent */
static const char *
az_header(const CbAzSharedKey *req, const char *name)
{
	for (int i = 0; i < req->nheaders; i++)
		if (pg_strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return "";
}

static int
az_cmp_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* "name:value" items, lower-case names, sorted, between before and after */
static void
az_sorted_lines(StringInfo out, int n, const CbOsHeader *items,
				const char *only_prefix, const char *before, const char *after)
{
	char	  **lines = palloc(sizeof(char *) * Max(n, 1));
	int			m = 0;

	for (int i = 0; i < n; i++)
	{
		char	   *name = pstrdup(items[i].name);
		const char *v = items[i].value ? items[i].value : "";

		for (char *p = name; *p; p++)
			*p = pg_ascii_tolower((unsigned char) *p);
		if (only_prefix && strncmp(name, only_prefix, strlen(only_prefix)) != 0)
			continue;
		while (*v == ' ')
			v++;
		lines[m++] = psprintf("%s:%s", name, v);
	}
	qsort(lines, m, sizeof(char *), az_cmp_strings);
	for (int i = 0; i < m; i++)
		appendStringInfo(out, "%s%s%s", before, lines[i], after);
}

static char *
az_string_to_sign(const CbAzSharedKey *req)
{
	static const char *const standard[] = {
		"Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
		"Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
		"If-Unmodified-Since", "Range",
	};
	StringInfoData sts;

	initStringInfo(&sts);
	appendStringInfo(&sts, "%s\n", req->method);
	for (int i = 0; i < (int) lengthof(standard); i++)
	{
		const char *v = az_header(req, standard[i]);

		/* since 2015-02-21 a zero Content-Length is signed as empty */
		if (strcmp(standard[i], "Content-Length") == 0 && strcmp(v, "0") == 0)
			v = "";
		appendStringInfo(&sts, "%s\n", v);
	}
	az_sorted_lines(&sts, req->nheaders, req->headers, "x-ms-", "", "\n");
	appendStringInfo(&sts, "/%s%s", req->account, req->path);
	az_sorted_lines(&sts, req->nparams, req->params, NULL, "\n", "");
	return sts.data;
}

char *
cb_az_shared_key_authorization(const CbAzSharedKey *req, char **string_to_sign,
							   char **errmsg)
{
	int			klen = strlen(req->key);
	char	   *key = palloc(pg_b64_dec_len(klen) + 1);
	int			keylen = pg_b64_decode(req->key, klen, key, pg_b64_dec_len(klen));
	char	   *sts;
	unsigned char sig[CB_HMAC_SHA256_LEN];
	unsigned int siglen = 0;
	char	   *sig64;
	int			n;

	if (keylen <= 0)
	{
		pfree(key);
		*errmsg = pstrdup("azureCredentials storageKey is not base64");
		return NULL;
	}
	sts = az_string_to_sign(req);
	if (cb_hmac_sha256(key, keylen, sts, strlen(sts), sig))
		siglen = CB_HMAC_SHA256_LEN;
	explicit_bzero(key, keylen);
	pfree(key);
	sig64 = palloc(pg_b64_enc_len(siglen) + 1);
	n = pg_b64_encode((char *) sig, siglen, sig64, pg_b64_enc_len(siglen));
	sig64[Max(n, 0)] = '\0';
	if (string_to_sign)
		*string_to_sign = sts;
	return psprintf("SharedKey %s:%s", req->account, sig64);
}

char *
cb_az_sas_signature(const char *sas)
{
	const char *p = sas;

	while (p && (p = strstr(p, "sig=")) != NULL)
	{
		if (p == sas || p[-1] == '&' || p[-1] == '?')
			return pnstrdup(p + 4, strcspn(p + 4, "&"));
		p += 4;
	}
	return NULL;
}
