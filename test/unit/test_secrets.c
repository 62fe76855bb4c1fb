/*-------------------------------------------------------------------------
 *
 * test_secrets.c
 *	  Standalone tests of src/secrets.c: password shape and uniformity,
 *	  SCRAM verifiers checked against PostgreSQL's own scram_build_secret,
 *	  Go net/url-compatible escapes, and credential keys that libpq parses
 *	  back to the same values (URI and pgpass).
 *
 * Build and run from the repository root:
 *   PGINC=$(pg_config --includedir-server); PGLIB=$(pg_config --pkglibdir)
 *   cc -O1 -g -Wall -I src -I "$PGINC" -I "$(pg_config --includedir)" \
 *      -o /tmp/test_secrets test/unit/test_secrets.c test/unit/unit_shim.c \
 *      src/secrets.c -L"$PGLIB" -lpgcommon -lpgport -lpq -lssl -lcrypto
 *   /tmp/test_secrets
 * It ends with "N passed, N failed" and exits non-zero on a failure.
 *
 * "/tmp/test_secrets --verifier PASSWORD" prints a verifier, to check that
 * a real server accepts it: ALTER ROLE app PASSWORD '<verifier>', then log
 * in with the password over a "host ... scram-sha-256" pg_hba line.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/saslprep.h"
#include "common/scram-common.h"
#include "libpq-fe.h"

#include "pgpass.h"
#include "secrets.h"

/* test reporting, in unit_shim.c */
extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

#define check unit_check
#define check_str unit_check_str




static const char *
map_get(const CbMap *map, const char *key)
{
	int			i;

	for (i = 0; i < map->n; i++)
		if (strcmp(map->items[i].key, key) == 0)
			return map->items[i].value;
	return NULL;
}

static void
test_passwords(void)
{
	int			letter_count[256] = {0};
	int			digit_at[64] = {0};
	int			bad_shape = 0;
	int			n = 4000;
	int			i;
	int			j;
	double		expected;
	double		chi2 = 0;
	char	   *prev = NULL;
	bool		all_distinct = true;

	for (i = 0; i < n; i++)
	{
		char	   *pw = cb_generate_password();
		int			digits = 0;
		int			letters = 0;

		if (strlen(pw) != 64)
			bad_shape++;
		for (j = 0; pw[j]; j++)
		{
			unsigned char c = pw[j];

			if (c >= '0' && c <= '9')
			{
				digits++;
				digit_at[j]++;
			}
			else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			{
				letters++;
				letter_count[c]++;
			}
		}
		if (digits != 10 || letters != 54)
			bad_shape++;
		if (prev && strcmp(prev, pw) == 0)
			all_distinct = false;
		prev = pw;
	}
	check(bad_shape == 0, "4000 passwords: 64 chars, exactly 10 digits and 54 letters");
	check(all_distinct, "consecutive passwords differ");

	/* letters uniform over 52 symbols: chi-square, 51 dof, p=0.001 ~ 90.6 */
	expected = n * 54.0 / 52.0;
	for (j = 0; j < 256; j++)
		if ((j >= 'a' && j <= 'z') || (j >= 'A' && j <= 'Z'))
			chi2 += (letter_count[j] - expected) * (letter_count[j] - expected) / expected;
	check(chi2 < 90.6, "letters are uniform (chi-square)");
	if (chi2 >= 90.6)
		printf("#   chi2 = %.1f\n", chi2);

	/* digit positions uniform over 64 places: 63 dof, p=0.001 ~ 103.4 */
	expected = n * 10.0 / 64.0;
	chi2 = 0;
	for (j = 0; j < 64; j++)
		chi2 += (digit_at[j] - expected) * (digit_at[j] - expected) / expected;
	check(chi2 < 103.4, "digit positions are uniform (chi-square)");
	if (chi2 >= 103.4)
		printf("#   chi2 = %.1f\n", chi2);
}

/* recompute a verifier with PostgreSQL's code, from our salt */
static char *
pg_verifier_with_salt(const char *verifier, const char *password)
{
	const char *salt_b64 = verifier + strlen("SCRAM-SHA-256$4096:");
	const char *end = strchr(salt_b64, '$');
	char		salt[64];
	int			saltlen;
	char	   *prepared = NULL;
	const char *errstr = NULL;

	saltlen = pg_b64_decode(salt_b64, end - salt_b64, salt, sizeof(salt));
	if (saltlen != 16)
		return NULL;
	/* what pg_be_scram_build_secret does before scram_build_secret */
	if (pg_saslprep(password, &prepared) == SASLPREP_SUCCESS)
		password = prepared;
	return scram_build_secret(salt, saltlen, 4096, password, &errstr);
}

static void
test_verifiers(void)
{
	const char *passwords[] = {
		"thispassword",
		"p@ss:w/rd?$&+,;= %\\'\"",
		/* SASLprep: NBSP -> space, soft hyphen -> nothing, NFKC of the ligature */
		"pass\xc2\xa0word\xc2\xad\xef\xac\x81",
		/* not valid UTF-8: used raw, as PostgreSQL does */
		"bad\xff\xfe",
		NULL
	};
	const char *md5 = "md5a3556571e93b0d20722ba62be61e8c2d";
	const char *scram = "SCRAM-SHA-256$4096:dxvHC7FXcFqaFEH+ku5lWA==$zSX5LtYDGp8MeI2VWFfGtjvnpW4oDSw60OptrEhx/vQ=:TD3fuAoRVaQJjWZbYMODqjWV+I4wbTFA2h6A0u12mYo=";
	char	   *v1;
	char	   *v2;
	int			i;

	for (i = 0; passwords[i]; i++)
	{
		char	   *v = cb_password_verifier("app", passwords[i]);
		char	   *want = pg_verifier_with_salt(v, passwords[i]);
		char		what[128];

		snprintf(what, sizeof(what), "verifier %d equals PostgreSQL's scram_build_secret", i);
		check_str(v, want ? want : "(could not recompute)", what);
	}

	v1 = cb_password_verifier("app", "same");
	v2 = cb_password_verifier("app", "same");
	check(strncmp(v1, "SCRAM-SHA-256$4096:", 19) == 0 && strcmp(v1, v2) != 0,
		  "verifiers are salted at random");
	check(strchr(v1, '\n') == NULL && strlen(v1) == strlen("SCRAM-SHA-256$4096:") + 24 + 1 + 44 + 1 + 44,
		  "verifier shape: 16-byte salt, 32-byte keys, no newline");

	check_str(cb_password_verifier("app", md5), md5, "md5 verifier passes through");
	check_str(cb_password_verifier("app", scram), scram, "SCRAM verifier passes through");
	check(strncmp(cb_password_verifier("app", "md5notreallyhex"), "SCRAM-SHA-256$", 14) == 0,
		  "a password starting with md5 is hashed");
	check(strncmp(cb_password_verifier("app", "SCRAM-SHA-256$4096:abc$def:ghi"), "SCRAM-SHA-256$", 14) == 0 &&
		  strcmp(cb_password_verifier("app", "SCRAM-SHA-256$4096:abc$def:ghi"), "SCRAM-SHA-256$4096:abc$def:ghi") != 0,
		  "a malformed SCRAM string is hashed, not stored");
}

static void
test_escapes(void)
{
	/* expected values: what Go 1.19's net/url prints for the same input */
	check_str(cb_url_userinfo_escape("p@ss:w/rd?$&+,;= %#[]~"),
			  "p%40ss%3Aw%2Frd%3F$&+,;=%20%25%23%5B%5D~",
			  "userinfo escape as url.UserPassword");
	check_str(cb_url_query_escape("a b&c=d+e/f?g:h@~"),
			  "a+b%26c%3Dd%2Be%2Ff%3Fg%3Ah%40~",
			  "query escape as url.QueryEscape");
	check_str(cb_url_path_escape("my db/x?y#z:@&=+$,;%"),
			  "my%20db/x%3Fy%23z:@&=+$,;%25",
			  "path escape as URL.EscapedPath");
	check_str(cb_url_userinfo_escape("\xc3\xa9"), "%C3%A9", "UTF-8 bytes escaped upper-case");

	/* docs/cnpg-rules.md §12, row 24 */
	check_str(cb_pgpass_escape("pgtest.com:\\"), "pgtest.com\\:\\\\", "pgpass escape (row 24, host)");
	check_str(cb_pgpass_escape("pass:wo\\rd"), "pass\\:wo\\\\rd", "pgpass escape (row 24, password)");
}

/* what libpq makes of a URI */
static char *
uri_option(const char *uri, const char *keyword)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &err);
	PQconninfoOption *o;
	char	   *value = NULL;

	if (opts == NULL)
	{
		printf("#   libpq: %s\n", err ? err : "?");
		return NULL;
	}
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val)
			value = pstrdup(o->val);
	PQconninfoFree(opts);
	return value;
}

/* the password libpq finds for these parameters in a pgpass file */
static char *
pgpass_lookup(const char *pgpass, const char *host, const char *port,
			  const char *db, const char *user)
{
	char		path[] = "/tmp/cb_test_pgpass_XXXXXX";
	int			fd = mkstemp(path);
	const char *keywords[] = {"host", "port", "dbname", "user", "passfile",
	"connect_timeout", NULL};
	const char *values[7];
	PGconn	   *conn;
	char	   *pw = NULL;

	if (fd < 0 || write(fd, pgpass, strlen(pgpass)) != (ssize_t) strlen(pgpass))
		return NULL;
	close(fd);
	values[0] = host;
	values[1] = port;
	values[2] = db;
	values[3] = user;
	values[4] = path;
	values[5] = "1";
	values[6] = NULL;
	/* nobody listens there: libpq reads the file before connecting */
	conn = PQconnectStartParams(keywords, values, false);
	if (conn && PQpass(conn) && PQpass(conn)[0])
		pw = pstrdup(PQpass(conn));
	PQfinish(conn);
	unlink(path);
	return pw;
}

static void
test_credentials(void)
{
	CbMap		m;
	const char *keys[] = {"username", "user", "password", "dbname", "host",
	"port", "pgpass", "uri", "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"};
	int			i;
	bool		order_ok;
	const char *hard_user = "us:er@x";
	const char *hard_pw = "p@ss:w/rd?$&+,;= %\\'#";
	const char *hard_db = "my db/x?y#z%";

	/* docs/cnpg-rules.md §12 row 23, on one host: no namespace suffix */
	m = cb_credential_keys("thisuser", "thispassword", "thisdb", "thishost", 5432, "namespace");
	order_ok = m.n == 11;
	for (i = 0; order_ok && i < 11; i++)
		order_ok = strcmp(m.items[i].key, keys[i]) == 0 &&
			m.items[i].len == (int) strlen(m.items[i].value);
	check(order_ok, "credential keys: the 11 keys in order, len set");
	check_str(map_get(&m, "uri"), "postgresql://thisuser:thispassword@thishost:5432/thisdb", "uri (row 23 shape)");
	check_str(map_get(&m, "jdbc-uri"), "jdbc:postgresql://thishost:5432/thisdb?password=thispassword&user=thisuser", "jdbc-uri (row 23 shape)");
	check_str(map_get(&m, "fqdn-uri"), map_get(&m, "uri"), "fqdn-uri equals uri on one host");
	check_str(map_get(&m, "fqdn-jdbc-uri"), map_get(&m, "jdbc-uri"), "fqdn-jdbc-uri equals jdbc-uri on one host");
	check_str(map_get(&m, "pgpass"), "thishost:5432:thisdb:thisuser:thispassword\n", "pgpass line");
	check_str(map_get(&m, "port"), "5432", "port");
	check_str(map_get(&m, "username"), "thisuser", "username");
	check_str(map_get(&m, "user"), "thisuser", "user");
	check_str(map_get(&m, "host"), "thishost", "host");
	check_str(map_get(&m, "dbname"), "thisdb", "dbname");

	/* hard values: libpq must read back exactly what went in */
	m = cb_credential_keys(hard_user, hard_pw, hard_db, "127.0.0.1", 55432, "default");
	check_str(uri_option(map_get(&m, "uri"), "user"), hard_user, "libpq parses uri: user");
	check_str(uri_option(map_get(&m, "uri"), "password"), hard_pw, "libpq parses uri: password");
	check_str(uri_option(map_get(&m, "uri"), "dbname"), hard_db, "libpq parses uri: dbname");
	check_str(uri_option(map_get(&m, "uri"), "host"), "127.0.0.1", "libpq parses uri: host");
	check_str(uri_option(map_get(&m, "uri"), "port"), "55432", "libpq parses uri: port");
	check_str(map_get(&m, "uri"),
			  "postgresql://us%3Aer%40x:p%40ss%3Aw%2Frd%3F$&+,;=%20%25%5C%27%23@127.0.0.1:55432/my%20db/x%3Fy%23z%25",
			  "uri with hard values (Go's encoding)");
	check_str(map_get(&m, "jdbc-uri"),
			  "jdbc:postgresql://127.0.0.1:55432/my%20db/x%3Fy%23z%25?password=p%40ss%3Aw%2Frd%3F%24%26%2B%2C%3B%3D+%25%5C%27%23&user=us%3Aer%40x",
			  "jdbc-uri with hard values (Go's encoding)");

	m = cb_credential_keys("app", "pw", "app", "::1", 5432, "default");
	check_str(map_get(&m, "uri"), "postgresql://app:pw@[::1]:5432/app", "IPv6 host bracketed in uri");
	check_str(uri_option(map_get(&m, "uri"), "host"), "::1", "libpq parses the IPv6 uri");
	check_str(map_get(&m, "pgpass"), "\\:\\:1:5432:app:app:pw\n", "IPv6 host escaped in pgpass");

	/* pgpass lines with ':' and '\' in every field, read by libpq itself */
	m = cb_credential_keys("us:er\\", "pass:wo\\rd", "d:b\\", "pgtest.com", 5432, "default");
	check_str(pgpass_lookup(map_get(&m, "pgpass"), "pgtest.com", "5432", "d:b\\", "us:er\\"),
			  "pass:wo\\rd", "libpq finds the password in the escaped pgpass line");
	m = cb_credential_keys("app", "pw:x", "app", "::1", 5432, "default");
	check_str(pgpass_lookup(map_get(&m, "pgpass"), "::1", "5432", "app", "app"),
			  "pw:x", "libpq matches an IPv6 host in pgpass");
}

/* pgpass.c writes files through hostlayout.c; these tests only build lines */
void
cb_write_file(const char *path, const char *data, size_t len, int mode)
{
	abort();
}

/*
 * A source's pgpass line (src/pgpass.c), read by libpq with the source's
 * own parameters: found by fuzz/fuzz_conninfo.  libpq compares each host
 * of a host list, and the default socket directory as "localhost", so a
 * line naming the host as written is never found for those.
 */
static void
test_source_pgpass(void)
{
	check_str(pgpass_lookup(cb_pgpass_line("h1.example,h2.example", "5432", "app", "pw"),
							"h1.example,h2.example", "5432", "app", "app"),
			  "pw", "source pgpass: a host list finds the password");
	check_str(pgpass_lookup(cb_pgpass_line("/var/run/postgresql", "5432", "app", "pw"),
							"/var/run/postgresql", "5432", "app", "app"),
			  "pw", "source pgpass: the default socket directory finds the password");
	check_str(pgpass_lookup(cb_pgpass_line("localhost", "5432,5433", "app", "pw"),
							"localhost,localhost", "5432,5433", "app", "app"),
			  "pw", "source pgpass: a port list finds the password");
	check_str(pgpass_lookup(cb_pgpass_line("localhost", "5432", "a:p\\p", "s3cr:et\\pass"),
							"localhost", "5432", "db", "a:p\\p"),
			  "s3cr:et\\pass", "source pgpass: ':' and '\\' in user and password");

	/*
	 * libpq reads the file in chunks (256 bytes, then doubled) and drops a
	 * last line without a newline that fills a chunk exactly
	 */
	{
		char		pw[246];

		memset(pw, 'x', 245);
		pw[245] = '\0';
		check_str(pgpass_lookup(cb_pgpass_line("localhost", "5432", "app", pw),
								"localhost", "5432", "app", "app"),
				  pw, "source pgpass: a 255-byte line finds the password");
	}
}

int
main(int argc, char **argv)
{
	/* for a check against a real server: print a verifier and stop */
	if (argc == 3 && strcmp(argv[1], "--verifier") == 0)
	{
		printf("%s\n", cb_password_verifier("app", argv[2]));
		return 0;
	}

	test_passwords();
	test_verifiers();
	test_escapes();
	test_credentials();
	test_source_pgpass();
	return unit_finish();
}
