/*-------------------------------------------------------------------------
 *
 * os_sigv4.c
 *	  AWS Signature Version 4, computed here (why not CURLOPT_AWS_SIGV4:
 *	  see objectstore.c): URI encoding, the canonical query and headers,
 *	  the canonical request, the string to sign and the Authorization
 *	  header.  Pure functions, tested against AWS's published examples.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "hmac_sha256.h"
#include "objectstore.h"
#include "os_int.h"

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
	cb_hmac_sha256(secret_key, strlen(secret_key), date, strlen(date), k1);
	cb_hmac_sha256(k1, 32, req->region, strlen(req->region), k2);
	cb_hmac_sha256(k2, 32, req->service, strlen(req->service), k3);
	cb_hmac_sha256(k3, 32, "aws4_request", strlen("aws4_request"), k4);
	cb_hmac_sha256(k4, 32, sts.data, strlen(sts.data), sig);
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
