/*-------------------------------------------------------------------------
 *
 * validate_input.c
 *	  Rules on what a manifest may hand to PostgreSQL, initdb and libpq,
 *	  checked at apply (issue 11, "safety first").  CloudNativePG passes
 *	  these through; on one host, where the worker is the postgres OS user
 *	  with superuser SQL on every target, they could reach outside the
 *	  cluster's directory, run files of the host, or put a secret on a
 *	  command line.
 *
 * - Parameter names: PostgreSQL compares GUC names case-insensitively, so
 *   "Restore_Command" is restore_command; validate.c compares them with
 *   cb_guc_name_eq and stores them folded to lower case.  include,
 *   include_if_exists and include_dir are directives of the configuration
 *   file parser, not parameters: as keys of custom.conf they would read a
 *   file of the host.  Two keys naming the same parameter are refused
 *   (the file would keep whichever sorts last).
 * - initdb options (the deprecated bootstrap.initdb.options): read the way
 *   initdb's getopt_long reads its argv, each item one argv word; only the
 *   options in initdb_options[] with no reason pass, which are those that
 *   CloudNativePG's own initdb fields map to and a few harmless flags.
 *   Everything else (data or WAL directory, input files, password files,
 *   superuser name, authentication, -c settings, flags that make initdb
 *   print and exit), unknown or abbreviated options and bare arguments
 *   are refused.
 * - pg_hba and pg_ident lines: one line each, no include directive, no
 *   @file element in pg_hba.
 * - connectionParameters: no password or sslpassword (they would reach
 *   argv and primary_conninfo; the password Secret exists for that), no
 *   host files (passfile, sslkey, sslcert, sslrootcert but "system",
 *   sslcrl, sslcrldir, sslkeylogfile, service, servicefile; the
 *   sslKey/sslCert/sslRootCert Secrets exist for TLS files), and no key
 *   that is not a plain word (it is written unquoted into conninfo).
 *
 * Every error names the field and the parameter or option, never its
 * value, which may be a secret.
 *
 * IDENTIFICATION
 *	  src/validate_input.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "validate_input.h"


/* ---------- parameter names ---------- */

bool
cb_guc_name_eq(const char *a, const char *b)
{
	return pg_strcasecmp(a ? a : "", b ? b : "") == 0;
}

char *
cb_guc_name_lower(const char *name)
{
	char	   *lower = pstrdup(name ? name : "");

	/* ASCII only, as guc.c folds names (guc_name_compare) */
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return lower;
}

bool
cb_guc_is_include(const char *name)
{
	return cb_guc_name_eq(name, "include") ||
		cb_guc_name_eq(name, "include_if_exists") ||
		cb_guc_name_eq(name, "include_dir");
}

void
cb_check_parameter_names(const CbMap *user, const char *path_prefix,
						 CbInputReport report, void *arg)
{
	for (int i = 0; i < user->n; i++)
	{
		const char *key = user->items[i].key;

		if (key == NULL)
			continue;
		if (cb_guc_is_include(key))
		{
			report(arg, psprintf("%s%s", path_prefix, key),
				   psprintf("%s is a directive of the configuration file, not a parameter", key),
				   "Configuration files cannot be included: give each parameter in spec.postgresql.parameters.");
			continue;
		}
		for (int j = 0; j < i; j++)
			if (user->items[j].key != NULL && cb_guc_name_eq(user->items[j].key, key))
			{
				report(arg, psprintf("%s%s", path_prefix, key),
					   psprintf("%s and %s name the same parameter (PostgreSQL's parameter names are case-insensitive)",
								user->items[j].key, key),
					   "Give each parameter once.");
				break;
			}
	}
}


/* ---------- pg_hba and pg_ident lines ---------- */

/*
 * Each item becomes one line of pg_hba.conf or pg_ident.conf.  A line
 * break would write more lines than the list has; an include directive
 * (PostgreSQL 16+) or, in pg_hba.conf, an unquoted @file element would make
 * the server read a file of the host.
 */
void
cb_check_config_lines(const CbStringList *lines, const char *path, bool hba,
					  CbInputReport report, void *arg)
{
	const char *hint = hba
		? "Give each pg_hba line in full, on one line, without include directives or @file references."
		: "Give each pg_ident line in full, on one line, without include directives.";

	for (int i = 0; i < lines->n; i++)
	{
		const char *line = lines->items[i] ? lines->items[i] : "";
		char	   *item_path = psprintf("%s[%d]", path, i);
		const char *p = line;
		bool		first = true;

		if (strpbrk(line, "\n\r") != NULL)
		{
			report(arg, item_path, "a line break would write more than one line", hint);
			continue;
		}
		/* tokens as hba.c reads them: blanks and commas separate, "" quote */
		while (*p && *p != '#')
		{
			const char *start;
			bool		quoted = false;

			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			if (*p == '\0' || *p == '#')
				break;
			start = p;
			while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != ',')))
			{
				if (*p == '"')
					quoted = !quoted;
				p++;
			}
			if (first)
			{
				char	   *token = pnstrdup(start, p - start);

				if (cb_guc_is_include(token))
				{
					report(arg, item_path,
						   psprintf("%s is a directive that reads another file", token), hint);
					break;
				}
			}
			if (hba && *start == '@')
			{
				report(arg, item_path, "an @ element reads its names from a file", hint);
				break;
			}
			first = false;
		}
	}
}


/* ---------- initdb options ---------- */

typedef struct InitdbOption
{
	const char *name;			/* long name without "--", or NULL */
	char		letter;			/* short option, or '\0' */
	bool		has_arg;
	const char *refused;		/* why; NULL: allowed */
} InitdbOption;

#define WHY_PGDATA	"the data directory is <data_root>/<cluster>/<instance>/pgdata, chosen by cnpg_bootstrap"
#define WHY_WALDIR	"WAL stays in the data directory cnpg_bootstrap manages"
#define WHY_INPUT	"initdb reads its input files from the cluster's PostgreSQL binaries, not from another directory"
#define WHY_PWFILE	"it reads a file of the host; the superuser's password comes from the superuser Secret"
#define WHY_PROMPT	"nothing can answer a password prompt"
#define WHY_USER	"the superuser is postgres, the role the worker logs in as (peer authentication)"
#define WHY_AUTH	"pg_hba.conf is written by cnpg_bootstrap (add lines with spec.postgresql.pg_hba)"
#define WHY_SET		"settings belong in spec.postgresql.parameters, where they are checked"
#define WHY_SHOW	"it is a debugging aid that prints initdb's internal settings and paths"
#define WHY_EXIT	"initdb would print and exit without making a cluster"
#define WHY_SYNC	"it only syncs an existing data directory and makes no cluster"
#define WHY_GROUP	"the data directory stays readable by its owner only (0700)"
#define WHY_CLEAN	"a failed initdb must leave nothing behind"
#define WHY_CACHES	"it is a debugging aid that makes initdb run for hours"

static const InitdbOption initdb_options[] = {
	/* what CloudNativePG's initdb fields map to */
	{"data-checksums", 'k', false, NULL},
	{"encoding", 'E', true, NULL},
	{"locale", '\0', true, NULL},
	{"lc-collate", '\0', true, NULL},
	{"lc-ctype", '\0', true, NULL},
	{"locale-provider", '\0', true, NULL},
	{"icu-locale", '\0', true, NULL},
	{"icu-rules", '\0', true, NULL},
	{"builtin-locale", '\0', true, NULL},
	{"wal-segsize", '\0', true, NULL},
	{"debug", 'd', false, NULL},
	/* harmless: the other locale categories, text search, syncing */
	{"lc-messages", '\0', true, NULL},
	{"lc-monetary", '\0', true, NULL},
	{"lc-numeric", '\0', true, NULL},
	{"lc-time", '\0', true, NULL},
	{"no-locale", '\0', false, NULL},
	{"text-search-config", 'T', true, NULL},
	{"no-sync", 'N', false, NULL},
	{"nosync", '\0', false, NULL},
	{"no-instructions", '\0', false, NULL},
	{"sync-method", '\0', true, NULL},	/* 17 */
	{"no-data-checksums", '\0', false, NULL},	/* 18 */
	{"no-sync-data-files", '\0', false, NULL},	/* 18 */
	/* refused */
	{"pgdata", 'D', true, WHY_PGDATA},
	{"waldir", 'X', true, WHY_WALDIR},
	{NULL, 'L', true, WHY_INPUT},
	{"pwfile", '\0', true, WHY_PWFILE},
	{"pwprompt", 'W', false, WHY_PROMPT},
	{"username", 'U', true, WHY_USER},
	{"auth", 'A', true, WHY_AUTH},
	{"auth-local", '\0', true, WHY_AUTH},
	{"auth-host", '\0', true, WHY_AUTH},
	{"set", 'c', true, WHY_SET},
	{"show", 's', false, WHY_SHOW},
	{"version", 'V', false, WHY_EXIT},
	{"help", '?', false, WHY_EXIT},
	{"sync-only", 'S', false, WHY_SYNC},
	{"allow-group-access", 'g', false, WHY_GROUP},
	{"no-clean", 'n', false, WHY_CLEAN},
	{"noclean", '\0', false, WHY_CLEAN},
	{"discard-caches", '\0', false, WHY_CACHES},
};

#define HINT_INITDB \
	"Allowed initdb options: -k/--data-checksums, -E/--encoding, --locale, " \
	"--lc-collate, --lc-ctype, --lc-messages, --lc-monetary, --lc-numeric, " \
	"--lc-time, --no-locale, --locale-provider, --icu-locale, --icu-rules, " \
	"--builtin-locale, --wal-segsize, -T/--text-search-config, -d/--debug, " \
	"-N/--no-sync, --no-instructions, --sync-method, --no-data-checksums, " \
	"--no-sync-data-files, each written in full; better, use the initdb fields " \
	"(dataChecksums, encoding, locale...) instead of the deprecated options."

static const InitdbOption *
find_long(const char *name, size_t len)
{
	for (int i = 0; i < (int) lengthof(initdb_options); i++)
		if (initdb_options[i].name != NULL &&
			strlen(initdb_options[i].name) == len &&
			strncmp(initdb_options[i].name, name, len) == 0)
			return &initdb_options[i];
	return NULL;
}

static const InitdbOption *
find_short(char letter)
{
	for (int i = 0; i < (int) lengthof(initdb_options); i++)
		if (initdb_options[i].letter == letter && letter != '\0')
			return &initdb_options[i];
	return NULL;
}

typedef struct OptionCheck
{
	const char *path;
	CbInputReport report;
	void	   *arg;
	bool		failed;
} OptionCheck;

/*
 * option is the option's name only (NULL: the item is no option): a value
 * that follows it is never shown.  why says what is wrong with it.
 */
static void
refuse(OptionCheck *oc, int i, const char *option, const char *why)
{
	oc->report(oc->arg, psprintf("%s[%d]", oc->path, i),
			   option ? psprintf("initdb option %s: %s", option, why)
			   : psprintf("%s", why),
			   HINT_INITDB);
	oc->failed = true;
}

/* an option of the table that may not be used */
static void
refuse_listed(OptionCheck *oc, int i, const char *option, const char *why)
{
	refuse(oc, i, option, psprintf("not allowed: %s", why));
}

/*
 * One item.  Returns true when the next item is this option's value, as
 * getopt takes it, whatever it looks like.
 */
static bool
check_initdb_item(OptionCheck *oc, int i, const char *item)
{
	const InitdbOption *o;

	if (item[0] != '-' || item[1] == '\0')
	{
		refuse(oc, i, NULL,
			   "an initdb argument that is not an option would name the data directory");
		return false;
	}
	if (item[1] == '-')
	{
		size_t		len = strcspn(item + 2, "=");
		bool		has_value = item[2 + len] == '=';
		char	   *name = psprintf("--%s", pnstrdup(item + 2, len));

		if (len == 0)
		{
			refuse(oc, i, "--", "not allowed: it ends the options, and what follows would name the data directory");
			return false;
		}
		if ((o = find_long(item + 2, len)) == NULL)
		{
			refuse(oc, i, name, "not an initdb option cnpg_bootstrap knows (long options must be written in full)");
			return false;
		}
		if (o->refused)
			refuse_listed(oc, i, name, o->refused);
		else if (!o->has_arg && has_value)
			refuse(oc, i, name, "it takes no value");
		return o->has_arg && !has_value;
	}
	for (const char *p = item + 1; *p; p++)
	{
		char	   *name = psprintf("-%c", *p);

		if ((o = find_short(*p)) == NULL)
		{
			refuse(oc, i, name, "not an initdb option cnpg_bootstrap knows");
			return false;
		}
		if (o->refused)
		{
			refuse_listed(oc, i, name, o->refused);
			return o->has_arg && p[1] == '\0';
		}
		/* the rest of the item, or the next item, is the value */
		if (o->has_arg)
			return p[1] == '\0';
	}
	return false;
}

void
cb_check_initdb_options(const CbStringList *options, const char *path,
						CbInputReport report, void *arg)
{
	OptionCheck oc = {path, report, arg, false};

	for (int i = 0; i < options->n && !oc.failed; i++)
	{
		const char *item = options->items[i] ? options->items[i] : "";

		if (!check_initdb_item(&oc, i, item) || oc.failed)
			continue;
		if (i + 1 >= options->n)
		{
			refuse(&oc, i, item[1] == '-'
				   ? psprintf("--%s", pnstrdup(item + 2, strcspn(item + 2, "=")))
				   : psprintf("-%c", item[strlen(item) - 1]),
				   "its value is missing");
			break;
		}
		i++;					/* the value */
	}
}


/* ---------- connectionParameters ---------- */

#define WHY_SECRET_FILES \
	"cnpg_bootstrap reads no file of the host for a source: give the file's content in a Secret"

static const struct
{
	const char *keyword;
	const char *why;
	const char *hint;
}			refused_conn_params[] = {
	{"password", "a password in connectionParameters would reach command lines and primary_conninfo",
	"Put the password in a Secret and name it in the password field."},
	{"sslpassword", "the key's passphrase would reach command lines and primary_conninfo",
	"Give an unencrypted key in the sslKey Secret."},
	{"passfile", "the password file is written by cnpg_bootstrap from the password Secret",
	"Put the password in a Secret and name it in the password field."},
	{"sslkey", WHY_SECRET_FILES, "Name the client key's Secret in sslKey."},
	{"sslcert", WHY_SECRET_FILES, "Name the client certificate's Secret in sslCert."},
	{"sslrootcert", WHY_SECRET_FILES,
	"Name the CA certificate's Secret in sslRootCert (or give sslrootcert: system)."},
	{"sslcrl", WHY_SECRET_FILES, "Leave sslcrl out."},
	{"sslcrldir", WHY_SECRET_FILES, "Leave sslcrldir out."},
	{"sslkeylogfile", "it writes the TLS session keys to a file of the host",
	"Leave sslkeylogfile out."},
	{"service", "a service file of the host would add settings that are not in the manifest",
	"Give the connection's settings in connectionParameters."},
	{"servicefile", "a service file of the host would add settings that are not in the manifest",
	"Give the connection's settings in connectionParameters."},
};

void
cb_check_connection_parameters(const CbMap *params, const char *path,
							   CbInputReport report, void *arg)
{
	for (int i = 0; i < params->n; i++)
	{
		const char *key = params->items[i].key;

		if (key == NULL)
			continue;

		/*
		 * Keys go unquoted into conninfo strings (pg_basebackup -d, pg_dump,
		 * primary_conninfo), where anything but a plain word would make
		 * other keywords, past the refusals below.  libpq's keywords are
		 * plain words; the key is not shown ("k:v" is one key to YAML).
		 */
		if (key[0] == '\0' || strspn(key, "abcdefghijklmnopqrstuvwxyz"
									 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(key))
		{
			report(arg, psprintf("%s.<key %d>", path, i + 1),
				   "a connection parameter's name is a libpq keyword: letters, digits "
				   "and '_' only (the name is not shown)",
				   "Give libpq's keywords (host, port, user, dbname, sslmode ...) as the keys.");
			continue;
		}
		/* libpq's own word for the system's CA store, not a file */
		if (cb_guc_name_eq(key, "sslrootcert") &&
			strcmp(params->items[i].value ? params->items[i].value : "", "system") == 0)
			continue;
		for (int j = 0; j < (int) lengthof(refused_conn_params); j++)
			if (cb_guc_name_eq(key, refused_conn_params[j].keyword))
			{
				report(arg, psprintf("%s.%s", path, key),
					   psprintf("connection parameter %s cannot be used: %s",
								key, refused_conn_params[j].why),
					   refused_conn_params[j].hint);
				break;
			}
	}
}

/* ---------- replica clusters (issue 12, item 4) ---------- */

/*
 * A Go duration (time.ParseDuration, which metav1.Duration uses) in whole
 * milliseconds: "1h30m", "2s", "1.5h", "500ms", "0".  False for anything
 * else, a negative one, or one longer than recovery_min_apply_delay takes
 * (INT_MAX ms).
 */
bool
cb_go_duration_ms(const char *s, int *ms)
{
	static const struct
	{
		const char *unit;
		double		ms;
	}			units[] = {
		/* longest first: "ms" before "m", "ns" and "us" before "s" */
		{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"\xce\xbcs", 1e-3},
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};
	double		total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return false;
	if (*p == '+')
		p++;
	if (strcmp(p, "0") == 0)
	{
		*ms = 0;
		return true;
	}
	while (*p)
	{
		double		v = 0;
		double		scale = 1;
		bool		digits = false;
		int			u;

		for (; *p >= '0' && *p <= '9'; p++, digits = true)
			v = v * 10 + (*p - '0');
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
				v += (*p - '0') * (scale /= 10);
		if (!digits)
			return false;
		for (u = 0; u < (int) lengthof(units); u++)
			if (strncmp(p, units[u].unit, strlen(units[u].unit)) == 0)
				break;
		if (u == (int) lengthof(units))
			return false;
		p += strlen(units[u].unit);
		total += v * units[u].ms;
		if (total > (double) PG_INT32_MAX)
			return false;
	}
	*ms = (int) (total + 0.5);
	return true;
}

void
cb_check_replica_rules(const CbClusterSpec *spec, CbInputReport report, void *arg)
{
	const CbReplica *r = &spec->replica;
	const CbRecoveryTarget *t = &spec->bootstrap.recovery.target;
	int			ms;

	if (!r->present)
		return;
	if (r->min_apply_delay && !cb_go_duration_ms(r->min_apply_delay, &ms))
		report(arg, "spec.replica.minApplyDelay",
			   "minApplyDelay is not a duration of 0 to 24 days that recovery_min_apply_delay takes",
			   "Write a Go duration such as 30s, 5m or 1h30m.");

	/*
	 * CloudNativePG ignores recoveryTarget on a replica cluster, which
	 * replays all it is given; a target would not be honoured, so it is
	 * refused rather than dropped silently.
	 */
	if (cb_is_replica_cluster(spec) && spec->bootstrap.recovery.present &&
		(t->target_immediate == 1 || t->target_lsn || t->target_name ||
		 t->target_xid || t->target_time || t->target_tli))
		report(arg, "spec.bootstrap.recovery.recoveryTarget",
			   "a recovery target cannot be used with a replica cluster (spec.replica), which follows its source without end",
			   "Remove recoveryTarget (keep backupID if needed), or make a cluster that is not a replica.");
}
