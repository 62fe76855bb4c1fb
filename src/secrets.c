/*-------------------------------------------------------------------------
 *
 * secrets.c
 *	  Passwords and the credential Secrets CloudNativePG generates, as pure
 *	  functions (OpenSSL, palloc; no catalog, no files):
 *	  - cb_generate_password: go-password's Generate(64, 10, 0, false, true);
 *	  - cb_password_verifier: a client-side SCRAM-SHA-256 verifier, so that
 *	    ALTER ROLE ... PASSWORD never carries the clear text (CNPG does the
 *	    same);
 *	  - cb_credential_keys: the keys of <cluster>-app / <cluster>-superuser;
 *	  - the escapings they need (URL userinfo, URL query, URL path, pgpass).
 *
 * The URL escapings follow Go's net/url (url.UserPassword, url.Values.Encode,
 * URL.EscapedPath), which is what CloudNativePG's values are made with.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

/* OpenSSL 3 API only: deprecated calls fail to compile */
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 30000
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/saslprep.h"
#include "lib/stringinfo.h"

#include "hmac_sha256.h"
#include "secrets.h"

#define CB_PASSWORD_LENGTH		64
#define CB_PASSWORD_DIGITS		10

#define CB_SCRAM_ITERATIONS		4096	/* PostgreSQL's and CNPG's default */
#define CB_SCRAM_SALT_LEN		16
#define CB_SCRAM_KEY_LEN		32		/* SHA-256 */

static const char cb_letters[] =
"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char cb_digits[] = "0123456789";

static void
cb_random_bytes(unsigned char *buf, int len)
{
	if (RAND_bytes(buf, len) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
}

/*
 * A uniform random integer in [0, n), as Go's crypto/rand.Int: rejection
 * sampling, so no value is favoured (a plain modulo would be biased).
 */
static uint32
cb_random_below(uint32 n)
{
	uint32		limit = UINT32_MAX - (UINT32_MAX % n);	/* multiple of n */

	for (;;)
	{
		uint32		r;

		cb_random_bytes((unsigned char *) &r, sizeof(r));
		if (r < limit)
			return r % n;
	}
}

/*
 * go-password's Generate(64, 10, 0, false, true): 54 letters then 10
 * digits, each drawn uniformly and inserted at a uniformly chosen position
 * of the string built so far.
 */
char *
cb_generate_password(void)
{
	char	   *pw = palloc0(CB_PASSWORD_LENGTH + 1);
	int			len = 0;
	int			i;

	for (i = 0; i < CB_PASSWORD_LENGTH; i++)
	{
		char		c;
		uint32		pos;

		if (i < CB_PASSWORD_LENGTH - CB_PASSWORD_DIGITS)
			c = cb_letters[cb_random_below(sizeof(cb_letters) - 1)];
		else
			c = cb_digits[cb_random_below(sizeof(cb_digits) - 1)];
		pos = cb_random_below(len + 1);
		memmove(pw + pos + 1, pw + pos, len - pos);
		pw[pos] = c;
		len++;
	}
	pw[len] = '\0';
	return pw;
}

/* standard base64 with padding, no newlines (PostgreSQL's pg_b64_encode) */
static char *
cb_base64(const unsigned char *data, int len)
{
	char	   *out = palloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *) out, data, len);
	return out;
}

/*
 * Decoded length of a strict base64 string (padding only at the end), or -1
 * if it is not one.
 */
static int
cb_base64_decoded_len(const char *s, size_t len)
{
	size_t		i;
	int			pad = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '=')
		{
			if (i < len - 2)
				return -1;
			pad++;
		}
		else if (pad > 0)
			return -1;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				   (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	return (int) (len / 4 * 3) - pad;
}

/*
 * Already a verifier?  The same shapes PostgreSQL's get_password_type()
 * recognises: "md5" + 32 hex digits, or
 * "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" with base64
 * keys of 32 bytes.  Such a value is stored as it is, as CNPG does.
 */
static bool
cb_is_verifier(const char *s)
{
	const char *p;
	const char *colon;
	const char *dollar;
	int			digits = 0;

	if (strncmp(s, "md5", 3) == 0 && strlen(s) == 35 &&
		strspn(s + 3, "0123456789abcdef") == 32)
		return true;

	if (strncmp(s, "SCRAM-SHA-256$", 14) != 0)
		return false;
	p = s + 14;
	while (*p >= '0' && *p <= '9')
	{
		p++;
		digits++;
	}
	if (digits == 0 || *p != ':')
		return false;
	p++;
	dollar = strchr(p, '$');
	if (dollar == NULL || cb_base64_decoded_len(p, dollar - p) <= 0)
		return false;
	p = dollar + 1;
	colon = strchr(p, ':');
	if (colon == NULL ||
		cb_base64_decoded_len(p, colon - p) != CB_SCRAM_KEY_LEN ||
		cb_base64_decoded_len(colon + 1, strlen(colon + 1)) != CB_SCRAM_KEY_LEN)
		return false;
	return true;
}

/* HMAC-SHA-256(key, text) into out[32] (hmac_sha256.c), or an ERROR */
static void
scram_hmac(const unsigned char *key, int keylen, const char *text,
		   unsigned char *out)
{
	if (!cb_hmac_sha256(key, keylen, text, strlen(text), out))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an HMAC for a password verifier")));
}

/*
 * RFC 5802/7677 as PostgreSQL stores it (scram_build_secret):
 *   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, 4096)
 *   StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key"))
 *   ServerKey = HMAC(SaltedPassword, "Server Key")
 *
 * The password is normalised with SASLprep first, exactly as the server and
 * libpq do, using PostgreSQL's own pg_saslprep (exported by the postgres
 * binary, so it needs no libpgcommon of ours).  When SASLprep refuses the
 * password (invalid UTF-8, prohibited characters), PostgreSQL uses the raw
 * bytes, and so do we.  role is not part of a SCRAM verifier; it is taken
 * for the md5 case of the interface.
 */
char *
cb_password_verifier(const char *role, const char *password)
{
	unsigned char salt[CB_SCRAM_SALT_LEN];
	unsigned char salted[CB_SCRAM_KEY_LEN];
	unsigned char client_key[CB_SCRAM_KEY_LEN];
	unsigned char stored_key[CB_SCRAM_KEY_LEN];
	unsigned char server_key[CB_SCRAM_KEY_LEN];
	unsigned int stored_len = CB_SCRAM_KEY_LEN;
	char	   *prepared = NULL;
	const char *pw = password;
	char	   *result;
	pg_saslprep_rc rc;

	if (cb_is_verifier(password))
		return pstrdup(password);

	rc = pg_saslprep(password, &prepared);
	if (rc == SASLPREP_OOM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (rc == SASLPREP_SUCCESS)
		pw = prepared;

	cb_random_bytes(salt, sizeof(salt));

	if (PKCS5_PBKDF2_HMAC(pw, strlen(pw), salt, sizeof(salt),
						  CB_SCRAM_ITERATIONS, EVP_sha256(),
						  sizeof(salted), salted) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a password verifier")));
	scram_hmac(salted, sizeof(salted), "Client Key", client_key);
	scram_hmac(salted, sizeof(salted), "Server Key", server_key);
	if (EVP_Digest(client_key, sizeof(client_key), stored_key, &stored_len,
				   EVP_sha256(), NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a password verifier")));

	result = psprintf("SCRAM-SHA-256$%d:%s$%s:%s", CB_SCRAM_ITERATIONS,
					  cb_base64(salt, sizeof(salt)),
					  cb_base64(stored_key, sizeof(stored_key)),
					  cb_base64(server_key, sizeof(server_key)));

	/* nothing of the password stays in memory we leave behind */
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	if (prepared)
	{
		OPENSSL_cleanse(prepared, strlen(prepared));
		pfree(prepared);
	}
	return result;
}

/* ---------- escapings ---------- */

typedef enum CbUrlPart
{
	CB_URL_USERINFO,			/* url.UserPassword */
	CB_URL_QUERY,				/* url.QueryEscape */
	CB_URL_PATH					/* URL.EscapedPath */
} CbUrlPart;

/* Go's shouldEscape() for the three parts we build */
static bool
cb_url_should_escape(unsigned char c, CbUrlPart part)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9'))
		return false;
	switch (c)
	{
		case '-':
		case '_':
		case '.':
		case '~':
			return false;
		case '$':
		case '&':
		case '+':
		case ',':
		case '/':
		case ':':
		case ';':
		case '=':
		case '?':
		case '@':
			switch (part)
			{
				case CB_URL_USERINFO:
					/* ':' too: it separates the user from the password */
					return c == '@' || c == '/' || c == '?' || c == ':';
				case CB_URL_QUERY:
					return true;
				case CB_URL_PATH:
					return c == '?';
			}
			break;
		default:
			break;
	}
	return true;
}

static char *
cb_url_escape(const char *s, CbUrlPart part)
{
	static const char hex[] = "0123456789ABCDEF";
	StringInfoData buf;
	const unsigned char *p;

	initStringInfo(&buf);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (part == CB_URL_QUERY && *p == ' ')
			appendStringInfoChar(&buf, '+');
		else if (cb_url_should_escape(*p, part))
		{
			appendStringInfoChar(&buf, '%');
			appendStringInfoChar(&buf, hex[*p >> 4]);
			appendStringInfoChar(&buf, hex[*p & 15]);
		}
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	return buf.data;
}

char *
cb_url_userinfo_escape(const char *s)
{
	return cb_url_escape(s, CB_URL_USERINFO);
}

char *
cb_url_query_escape(const char *s)
{
	return cb_url_escape(s, CB_URL_QUERY);
}

char *
cb_url_path_escape(const char *s)
{
	return cb_url_escape(s, CB_URL_PATH);
}

char *
cb_pgpass_escape(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		if (*s == '\\' || *s == ':')
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, *s);
	}
	return buf.data;
}

/* ---------- credential keys ---------- */

/* host as it goes in a URL: an IPv6 literal needs brackets */
static char *
cb_url_host(const char *host)
{
	struct in6_addr addr;

	if (strchr(host, ':') != NULL && inet_pton(AF_INET6, host, &addr) == 1)
		return psprintf("[%s]", host);
	return pstrdup(host);
}

static void
cb_map_add(CbMap *map, int *size, const char *key, char *value)
{
	if (map->n == *size)
	{
		*size *= 2;
		map->items = repalloc(map->items, sizeof(CbKV) * *size);
	}
	map->items[map->n].key = pstrdup(key);
	map->items[map->n].value = value;
	map->items[map->n].len = strlen(value);
	map->n++;
}

/*
 * The keys of a generated basic-auth Secret.
 *
 * CloudNativePG names the Kubernetes Service in host (<cluster>-rw), puts
 * "<host>.<namespace>" in uri/jdbc-uri and "<host>.<namespace>.svc.
 * cluster.local" in the fqdn- variants.  On one host there is no Service
 * DNS: host is the address the primary really listens on and port its
 * port, and every variant uses them unchanged, so each value works as given
 * (libpq, pgJDBC).  The fqdn- keys are kept, with the same values, for
 * clients that read them.  namespace is therefore not used here.
 *
 * pgpass escapes ':' and '\' in every field (CNPG does not, docs/decisions.md §4);
 * CNPG's "jdbc-uri" query is url.Values.Encode(): keys sorted, form-encoded.
 */
CbMap
cb_credential_keys(const char *username, const char *password,
				   const char *dbname, const char *host, int port,
				   const char *namespace)
{
	CbMap		map;
	int			size = 16;
	char	   *url_host = cb_url_host(host);
	char	   *port_str = psprintf("%d", port);
	char	   *path = cb_url_path_escape(dbname);
	char	   *uri;
	char	   *jdbc;

	map.n = 0;
	map.items = palloc(sizeof(CbKV) * size);

	uri = psprintf("postgresql://%s:%s@%s:%d/%s",
				   cb_url_userinfo_escape(username),
				   cb_url_userinfo_escape(password),
				   url_host, port, path);
	jdbc = psprintf("jdbc:postgresql://%s:%d/%s?password=%s&user=%s",
					url_host, port, path,
					cb_url_query_escape(password),
					cb_url_query_escape(username));

	cb_map_add(&map, &size, "username", pstrdup(username));
	cb_map_add(&map, &size, "user", pstrdup(username));
	cb_map_add(&map, &size, "password", pstrdup(password));
	cb_map_add(&map, &size, "dbname", pstrdup(dbname));
	cb_map_add(&map, &size, "host", pstrdup(host));
	cb_map_add(&map, &size, "port", port_str);
	cb_map_add(&map, &size, "pgpass",
			   psprintf("%s:%s:%s:%s:%s\n",
						cb_pgpass_escape(host),
						port_str,
						cb_pgpass_escape(dbname),
						cb_pgpass_escape(username),
						cb_pgpass_escape(password)));
	cb_map_add(&map, &size, "uri", uri);
	cb_map_add(&map, &size, "jdbc-uri", jdbc);
	cb_map_add(&map, &size, "fqdn-uri", pstrdup(uri));
	cb_map_add(&map, &size, "fqdn-jdbc-uri", pstrdup(jdbc));

	return map;
}
