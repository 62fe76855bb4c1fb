/*-------------------------------------------------------------------------
 *
 * fuzz_conninfo.c
 *	  libFuzzer target for what cnpg_bootstrap hands to libpq: a source's
 *	  conninfo (src/external.c cb_conninfo_append, cb_source_conninfo,
 *	  after src/validate_input.c cb_check_connection_parameters), its
 *	  pgpass line (src/pgpass.c cb_pgpass_line), and the generated
 *	  credential Secret's uri, jdbc-uri and pgpass keys (src/secrets.c
 *	  cb_credential_keys and its escapings).  Every property is checked
 *	  against libpq itself (PQconninfoParse; the pgpass file read by
 *	  PQconnectStartParams, stopped by an invalid sslmode before it would
 *	  connect anywhere).
 *
 * Input: a flag byte, then fields separated by 0xFF (fuzz_util.h):
 *	 0..5: three connectionParameters, key and value; 6: dbname given to
 *	 cb_source_conninfo (if flag 0x01); 7: a password.
 *	 The pgpass line is made of (value 0, value 1, value 2, password) as
 *	 (host, port, user, password); the credential keys of (value 2,
 *	 password, field 6, a host chosen by flags 0x06 from field 1, port
 *	 1024 + field 3's length).
 *
 * Properties:
 *	 1. connectionParameters that validation accepts make a conninfo that
 *		libpq parses to exactly those keywords and values (the last of a
 *		repeated keyword, dbname replaced when given, the constant extra
 *		of basebackup.c when flag 0x08) or refuses as a whole (a keyword
 *		libpq does not know); never to other keywords;
 *	 2. libpq finds exactly the password in the pgpass line, for every
 *		host, port and user that the pgpass format can express (no line
 *		break; see fuzz/README.md);
 *	 3. uri parses (libpq) to the user, password, dbname, host and port;
 *		jdbc-uri's query and path decode (form encoding) to the same;
 *		the pgpass key gives libpq the password.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libpq-fe.h"

#include "external.h"
#include "pgpass.h"
#include "secrets.h"
#include "validate_input.h"

extern void shim_reset(void);
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASEBACKUP_EXTRA "options='-c wal_sender_timeout=0s'"

/* ---------- what external.c, pgpass.c and secrets.c link to, never called here ---------- */

#define NEVER(decl) decl { abort(); }
NEVER(bool cb_catalog_load_secret_tx(const char *name, CbMap *data))
NEVER(PGconn *cb_connect(const char *const *keys, const char *const *values, int timeout_ms, char **err))
NEVER(void cb_disconnect(PGconn *conn))
NEVER(bool cb_exec_ok(PGconn *conn, const char *sql, char **err))
NEVER(void cb_mkdir_p(const char *path))
NEVER(void cb_write_file(const char *path, const char *data, size_t len, int mode))
NEVER(bool errstart_cold(int elevel, const char *domain))
NEVER(bool errstart(int elevel, const char *domain))
NEVER(void errfinish(const char *filename, int lineno, const char *funcname))
NEVER(int errcode(int sqlerrcode))
NEVER(int errmsg(const char *fmt,...))
NEVER(int errmsg_internal(const char *fmt,...))
NEVER(int errhint(const char *fmt,...))
NEVER(int errdetail(const char *fmt,...))

/* ---------- 1: conninfo ---------- */

static void
refused(void *arg, const char *path, const char *detail, const char *hint)
{
	*(bool *) arg = true;
}

static bool
libpq_keyword(const char *key)
{
	static PQconninfoOption *defaults = NULL;

	if (defaults == NULL)
		defaults = PQconndefaults();
	for (PQconninfoOption *o = defaults; o->keyword; o++)
		if (strcmp(o->keyword, key) == 0)
			return true;
	return false;
}

typedef struct Expect
{
	int			n;
	const char *key[8];
	const char *value[8];
} Expect;

/* the last value of a keyword wins, as in libpq's conninfo_storeval */
static void
expect_set(Expect *e, const char *key, const char *value)
{
	/* libpq's old alias, rewritten when stored */
	if (strcmp(key, "requiressl") == 0)
	{
		key = "sslmode";
		value = value[0] == '1' ? "require" : "prefer";
	}
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->key[i], key) == 0)
		{
			e->value[i] = value;
			return;
		}
	e->key[e->n] = key;
	e->value[e->n++] = value;
}

static void
check_conninfo(FzInput *in)
{
	CbMap		params = {0, palloc0(sizeof(CbKV) * 3)};
	CbSource	src = {0};
	const char *dbname = (in->flags & 0x01) ? in->field[6] : NULL;
	const char *extra = (in->flags & 0x08) ? BASEBACKUP_EXTRA : NULL;
	bool		bad = false;
	bool		all_known = true;
	Expect		e = {0};
	char	   *conninfo;
	char	   *errmsg = NULL;
	PQconninfoOption *opts;

	src.keywords = palloc0(sizeof(char *) * 4);
	src.values = palloc0(sizeof(char *) * 4);
	for (int i = 0; i < 3; i++)
	{
		const char *key = in->field[2 * i];
		const char *value = in->field[2 * i + 1];
		int			j;

		params.items[params.n].key = (char *) key;
		params.items[params.n].value = (char *) value;
		params.items[params.n++].len = strlen(value);
		/* cb_source_prepare's add_option: a later value replaces */
		for (j = 0; j < src.n && strcmp(src.keywords[j], key) != 0; j++)
			;
		src.keywords[j] = key;
		src.values[j] = value;
		if (j == src.n)
			src.n++;
	}
	cb_check_connection_parameters(&params, "spec.externalClusters[0].connectionParameters",
								   refused, &bad);
	if (bad)
		return;					/* apply refuses the manifest */
	if (cb_map_get(&params, "password") != NULL)
		return;					/* so does cb_source_prepare */

	for (int i = 0; i < src.n; i++)
		if (!dbname || strcmp(src.keywords[i], "dbname") != 0)
		{
			expect_set(&e, src.keywords[i], src.values[i]);
			all_known &= libpq_keyword(src.keywords[i]) ||
				strcmp(src.keywords[i], "requiressl") == 0;
		}
	if (dbname)
		expect_set(&e, "dbname", dbname);
	if (extra)
		expect_set(&e, "options", "-c wal_sender_timeout=0s");

	conninfo = cb_source_conninfo(&src, dbname, extra);
	opts = PQconninfoParse(conninfo, &errmsg);
	if (opts == NULL)
	{
		if (all_known)
			fz_fail(psprintf("libpq refuses a conninfo of known keywords: %s",
							 errmsg ? errmsg : "out of memory"), conninfo, NULL);
		PQfreemem(errmsg);
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		int			i;

		for (i = 0; i < e.n && strcmp(e.key[i], o->keyword) != 0; i++)
			;
		if (i == e.n && o->val != NULL)
			fz_fail(psprintf("conninfo sets keyword %s that was not given", o->keyword),
					fz_show(conninfo, strlen(conninfo)), NULL);
		if (i < e.n && (o->val == NULL || strcmp(o->val, e.value[i]) != 0))
			fz_fail(psprintf("conninfo changes %s", o->keyword),
					o->val ? fz_show(o->val, strlen(o->val)) : "(none)",
					fz_show(e.value[i], strlen(e.value[i])));
	}
	PQconninfoFree(opts);
}

/* ---------- 2 and 3: what libpq reads from a pgpass file ---------- */

static bool
has_line_break(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/*
 * The password libpq takes from a pgpass file holding text, for these
 * connection parameters; NULL if none, LIBPQ_REFUSES if libpq refuses the
 * parameters before it looks (no connection is made with them at all).  An in-memory file, and an invalid
 * sslmode: libpq reads the password file before it validates sslmode, and
 * stops there.
 */
static char LIBPQ_REFUSES[] = "(libpq refuses these parameters)";

static char *
libpq_pgpass(const char *text, const char *host, const char *port,
			 const char *dbname, const char *user)
{
	int			fd = memfd_create("pgpass", 0);
	char	   *path = psprintf("/proc/self/fd/%d", fd);
	const char *keys[] = {"host", "port", "dbname", "user", "passfile", "sslmode", NULL};
	const char *values[] = {host, port, dbname, user, path, "fuzz-stop-here", NULL};
	PGconn	   *conn;
	char	   *pw = NULL;

	if (fd < 0 || fchmod(fd, 0600) != 0 ||
		write(fd, text, strlen(text)) != (ssize_t) strlen(text))
		abort();
	conn = PQconnectStartParams(keys, values, 0);
	if (conn == NULL || PQstatus(conn) != CONNECTION_BAD)
		fz_fail("libpq went on past the invalid sslmode", NULL, NULL);
	if (strstr(PQerrorMessage(conn), "fuzz-stop-here") == NULL)
		pw = LIBPQ_REFUSES;		/* e.g. 2 ports for 3 hosts: no connection at all */
	else if (PQpass(conn) && PQpass(conn)[0])
		pw = pstrdup(PQpass(conn));
	PQfinish(conn);
	close(fd);
	return pw;
}

static void
check_pgpass_line(FzInput *in)
{
	const char *host = in->field[0];
	const char *port = in->field[1];
	const char *user = in->field[2];
	const char *password = in->field[7];
	char	   *line;
	char	   *got;

	line = cb_pgpass_line(host, port, user, password);
	if (line[0] == '\0' || strchr(line, '\n') != line + strlen(line) - 1 ||
		strchr(line, '\r'))
	{
		if (!has_line_break(host) && !has_line_break(port) &&
			!has_line_break(user) && !has_line_break(password))
			fz_fail("not one line ending in a newline", line, NULL);
	}
	/* what the format can say: one line per entry, a password to find */
	if (has_line_break(host) || has_line_break(port) || has_line_break(user) ||
		has_line_break(password) || password[0] == '\0')
		return;
	got = libpq_pgpass(line, host, port, "postgres", user);
	if (got == LIBPQ_REFUSES)
		return;
	if (got == NULL || strcmp(got, password) != 0)
		fz_fail("libpq does not read the password back from cb_pgpass_line",
				got ? fz_show(got, strlen(got)) : "(none)",
				fz_show(line, strlen(line)));
}

/* %XX and (form) '+' decoded; NULL on a bad escape */
static char *
url_decode(const char *s, size_t len, bool form)
{
	char	   *out = palloc(len + 1);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			unsigned int v;

			if (i + 2 >= len || sscanf(s + i + 1, "%2x", &v) != 1 ||
				!strchr("0123456789ABCDEFabcdef", s[i + 1]) ||
				!strchr("0123456789ABCDEFabcdef", s[i + 2]))
				return NULL;
			out[o++] = (char) v;
			i += 2;
		}
		else if (form && s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static const char *
map_value(const CbMap *m, const char *key)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, key) == 0)
			return m->items[i].value;
	fz_fail(psprintf("credential key %s missing", key), NULL, NULL);
}

static const char *
choose_host(FzInput *in)
{
	const unsigned char *b = (const unsigned char *) in->field[1];
	size_t		n = in->len[1];
	unsigned char addr[16] = {0};
	char		text[INET6_ADDRSTRLEN];
	StringInfoData name;

	switch ((in->flags >> 1) & 3)
	{
		case 0:
			return "localhost";
		case 1:
		case 2:
			memcpy(addr, b, Min(n, sizeof(addr)));
			inet_ntop(((in->flags >> 1) & 3) == 1 ? AF_INET : AF_INET6, addr, text, sizeof(text));
			return pstrdup(text);
		default:
			/* a DNS name: letters, digits, '-' and '.' */
			initStringInfo(&name);
			for (size_t i = 0; i < n && i < 63; i++)
				appendStringInfoChar(&name, "abcdefghijklmnopqrstuvwxyz0123456789-."[b[i] % 38]);
			if (name.len == 0 || name.data[0] == '-' || name.data[0] == '.')
				appendStringInfoString(&name, "h");
			return name.data;
	}
}

static void
check_uri_option(PQconninfoOption *opts, const char *key, const char *want, const char *uri)
{
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, key) == 0)
		{
			if (o->val == NULL || strcmp(o->val, want) != 0)
				fz_fail(psprintf("uri: %s reads back differently", key),
						o->val ? fz_show(o->val, strlen(o->val)) : "(none)",
						fz_show(want, strlen(want)));
			return;
		}
	fz_fail(psprintf("uri: no keyword %s", key), uri, NULL);
}

static void
check_credentials(FzInput *in)
{
	const char *user = in->field[2];
	const char *password = in->field[7];
	const char *dbname = in->field[6];
	const char *host = choose_host(in);
	int			port = 1024 + (int) (in->len[3] % 60000);
	char	   *port_str = psprintf("%d", port);
	CbMap		m;
	const char *uri;
	const char *jdbc;
	const char *q;
	const char *path;
	char	   *errmsg = NULL;
	PQconninfoOption *opts;
	char	   *want_prefix;

	/* a role, a database and a password are never empty */
	if (user[0] == '\0' || password[0] == '\0' || dbname[0] == '\0')
		return;
	m = cb_credential_keys(user, password, dbname, host, port, "default");

	/* uri, through libpq */
	uri = map_value(&m, "uri");
	opts = PQconninfoParse(uri, &errmsg);
	if (opts == NULL)
		fz_fail(psprintf("libpq refuses uri: %s", errmsg ? errmsg : "out of memory"),
				fz_show(uri, strlen(uri)), NULL);
	check_uri_option(opts, "user", user, uri);
	check_uri_option(opts, "password", password, uri);
	check_uri_option(opts, "dbname", dbname, uri);
	check_uri_option(opts, "host", host, uri);
	check_uri_option(opts, "port", port_str, uri);
	PQconninfoFree(opts);
	if (strcmp(map_value(&m, "fqdn-uri"), uri) != 0)
		fz_fail("fqdn-uri differs from uri", NULL, NULL);

	/* jdbc-uri: jdbc:postgresql://<host>:<port>/<path>?password=<q>&user=<q> */
	jdbc = map_value(&m, "jdbc-uri");
	want_prefix = strchr(host, ':') ? psprintf("jdbc:postgresql://[%s]:%d/", host, port) :
		psprintf("jdbc:postgresql://%s:%d/", host, port);
	if (strncmp(jdbc, want_prefix, strlen(want_prefix)) != 0)
		fz_fail("jdbc-uri: host and port", jdbc, want_prefix);
	path = jdbc + strlen(want_prefix);
	q = strchr(path, '?');
	if (q == NULL || strncmp(q, "?password=", 10) != 0)
		fz_fail("jdbc-uri: query", jdbc, NULL);
	{
		const char *amp = strchr(q, '&');
		char	   *db = url_decode(path, q - path, false);
		char	   *pw;
		char	   *us;

		if (amp == NULL || strncmp(amp, "&user=", 6) != 0 || strchr(amp + 1, '&') ||
			strchr(q + 1, '?') || strchr(path, '#'))
			fz_fail("jdbc-uri: not exactly two query values", jdbc, NULL);
		pw = url_decode(q + 10, amp - (q + 10), true);
		us = url_decode(amp + 6, strlen(amp + 6), true);
		if (db == NULL || strcmp(db, dbname) != 0)
			fz_fail("jdbc-uri: the path is not the dbname", jdbc, dbname);
		if (pw == NULL || strcmp(pw, password) != 0)
			fz_fail("jdbc-uri: password", jdbc, NULL);
		if (us == NULL || strcmp(us, user) != 0)
			fz_fail("jdbc-uri: user", jdbc, user);
	}

	/* the pgpass key, through libpq */
	if (!has_line_break(user) && !has_line_break(password) && !has_line_break(dbname))
	{
		const char *pgpass = map_value(&m, "pgpass");
		char	   *got = libpq_pgpass(pgpass, host, port_str, dbname, user);

		if (got == LIBPQ_REFUSES)
			fz_fail("libpq refuses the credential keys' parameters", pgpass, NULL);
		if (got == NULL || strcmp(got, password) != 0)
			fz_fail("pgpass key: libpq does not find the password",
					got ? fz_show(got, strlen(got)) : "(none)", fz_show(pgpass, strlen(pgpass)));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FzInput		in;

	fz_split(data, size, &in);
	check_conninfo(&in);
	check_pgpass_line(&in);
	check_credentials(&in);
	shim_reset();
	return 0;
}
