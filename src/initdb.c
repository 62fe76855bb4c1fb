/*-------------------------------------------------------------------------
 *
 * initdb.c
 *	  The initdb bootstrap method's files: the initdb command line built
 *	  from every spec.bootstrap.initdb option (docs/cnpg-rules.md §4.2), and the
 *	  configuration files of an instance (custom.conf = CNPG's defaults +
 *	  the user's parameters + what one host needs, override.conf for
 *	  recovery settings, pg_hba.conf and pg_ident.conf as CNPG writes them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "lib/stringinfo.h"
#include "storage/fd.h"

#include "certfiles.h"
#include "cnpg_bootstrap.h"
#include "hostlayout.h"
#include "initdb.h"
#include "instance.h"
#include "process.h"

/*
 * initdb flags in CNPG's order, each only if set; min_major is the first
 * PostgreSQL release whose initdb knows it.
 */
typedef struct InitdbFlag
{
	const char *flag;
	size_t		offset;			/* of the char * field in CbInitdb */
	const char *field;			/* spec.bootstrap.initdb.<field> */
	int			min_major;
} InitdbFlag;

static const InitdbFlag initdb_flags[] = {
	{"--encoding=", offsetof(CbInitdb, encoding), "encoding", 0},
	{"--lc-collate=", offsetof(CbInitdb, locale_collate), "localeCollate", 0},
	{"--lc-ctype=", offsetof(CbInitdb, locale_ctype), "localeCType", 0},
	{"--locale=", offsetof(CbInitdb, locale), "locale", 0},
	{"--locale-provider=", offsetof(CbInitdb, locale_provider), "localeProvider", 15},
	{"--icu-locale=", offsetof(CbInitdb, icu_locale), "icuLocale", 15},
	{"--icu-rules=", offsetof(CbInitdb, icu_rules), "icuRules", 16},
	{"--builtin-locale=", offsetof(CbInitdb, builtin_locale), "builtinLocale", 17},
};

static void
require_major(CbCluster *c, const char *field, const char *value, int min_major)
{
	if (c->major >= min_major)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("spec.bootstrap.initdb.%s%s%s needs PostgreSQL %d or later, the binaries in \"%s\" are PostgreSQL %d",
					field, value ? " = " : "", value ? value : "", min_major,
					c->bindir, c->major),
			 errhint("Remove the option, or point cnpg_bootstrap.bindir at newer binaries.")));
}

const char **
cb_initdb_argv(CbCluster *c, const char *pgdata)
{
	const CbInitdb *spec = &c->spec->bootstrap.initdb;
	const char **argv = palloc0(sizeof(char *) * (32 + spec->options.n));
	int			n = 0;

	argv[n++] = cb_tool(c, "initdb");
	argv[n++] = "--username=postgres";
	argv[n++] = "-D";
	argv[n++] = pgdata;

	/* the deprecated options list, when given, is the only thing passed */
	if (spec->options.n > 0)
	{
		for (int i = 0; i < spec->options.n; i++)
			argv[n++] = spec->options.items[i];
		return argv;
	}

	if (spec->data_checksums == 1)
		argv[n++] = "-k";
	if (c->spec->log_level &&
		(strcmp(c->spec->log_level, "debug") == 0 || strcmp(c->spec->log_level, "trace") == 0))
		argv[n++] = "-d";
	for (int i = 0; i < (int) lengthof(initdb_flags); i++)
	{
		const InitdbFlag *f = &initdb_flags[i];
		const char *value = *(char *const *) ((const char *) spec + f->offset);

		if (value == NULL || value[0] == '\0')
			continue;
		require_major(c, f->field, NULL, f->min_major);
		argv[n++] = psprintf("%s%s", f->flag, value);
	}
	if (spec->locale_provider && strcmp(spec->locale_provider, "builtin") == 0)
		require_major(c, "localeProvider", "builtin", 17);
	if (spec->wal_segment_size > 0)
		argv[n++] = psprintf("--wal-segsize=%d", spec->wal_segment_size);
	return argv;
}

/*
 * What one host needs instead of CNPG's container paths, and CNPG's
 * mandatory settings.  These win over the user's values: validate.c has
 * already refused user values that differ from CNPG's for these keys.
 */
static void
host_settings(CbCluster *c, CbInstance *inst, CbMap *out)
{
	int			n = 0;

	out->items = palloc0(sizeof(CbKV) * 16);
#define SET(k, v) (out->items[n].key = (k), out->items[n].value = (v), n++)
	SET("port", psprintf("%d", inst->port));
	SET("listen_addresses", cb_listen_addresses);
	SET("unix_socket_directories", c->run_dir);
	SET("log_directory", inst->logdir);
	SET("cluster_name", (char *) c->name);
	SET("hot_standby", "on");
	/* no object store is configured: archiving succeeds without a copy */
	SET("archive_command", "/bin/true");
	if (c->tls)
	{
		SET("ssl", "on");
		SET("ssl_cert_file", psprintf("%s/" CB_SERVER_CRT, c->certs_dir));
		SET("ssl_key_file", psprintf("%s/" CB_SERVER_KEY, c->certs_dir));
		SET("ssl_ca_file", psprintf("%s/" CB_CLIENT_CA, c->certs_dir));
	}
#undef SET
	out->n = n;
}

/*
 * CNPG's custom.conf (defaults + the spec's parameters, sorted), then the
 * host's settings, which win because the last value in the file counts.
 */
static char *
custom_conf(CbCluster *c, CbInstance *inst)
{
	StringInfoData buf;
	CbMap		host;
	const CbStringList *spl = &c->spec->shared_preload_libraries;

	host_settings(c, inst, &host);
	initStringInfo(&buf);
	appendStringInfoString(&buf, cb_custom_conf(c->spec, NULL));
	appendStringInfoString(&buf, "\n# cnpg_bootstrap: this host's settings\n");
	for (int i = 0; i < host.n; i++)
		appendStringInfo(&buf, "%s = %s\n", host.items[i].key,
						 cb_conf_quote(host.items[i].value));
	if (spl->n > 0)
	{
		StringInfoData libs;

		initStringInfo(&libs);
		for (int i = 0; i < spl->n; i++)
			appendStringInfo(&libs, "%s%s", i ? "," : "", spl->items[i]);
		appendStringInfo(&buf, "shared_preload_libraries = %s\n", cb_conf_quote(libs.data));
	}
	return buf.data;
}

static char *
hba_conf(CbCluster *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf,
						   "# written by cnpg_bootstrap, as CloudNativePG writes it\n"
						   "local all all peer map=local\n"
						   "hostssl postgres streaming_replica all cert map=cnpg_streaming_replica\n"
						   "hostssl replication streaming_replica all cert map=cnpg_streaming_replica\n");
	for (int i = 0; i < c->spec->pg_hba.n; i++)
		appendStringInfo(&buf, "%s\n", c->spec->pg_hba.items[i]);
	appendStringInfo(&buf, "host all all all %s\n", c->major < 14 ? "md5" : "scram-sha-256");
	return buf.data;
}

static char *
ident_conf(CbCluster *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "# written by cnpg_bootstrap\n"
					 "local %s postgres\n"
					 "cnpg_streaming_replica streaming_replica streaming_replica\n",
					 c->os_user);
	for (int i = 0; i < c->spec->pg_ident.n; i++)
		appendStringInfo(&buf, "%s\n", c->spec->pg_ident.items[i]);
	return buf.data;
}

static const char *const conf_files[] = {
	"postgresql.conf", "custom.conf", "override.conf", "pg_hba.conf", "pg_ident.conf"
};

/* not synced one by one: the caller syncs the data directory once */
static void
write_conf(const char *pgdata, const char *file, const char *content)
{
	cb_write_file_ext(psprintf("%s/%s", pgdata, file), content, strlen(content), 0600, false);
}

/*
 * The copy's postgresql.auto.conf holds the source's ALTER SYSTEM settings
 * (ssl = off, archive_command, ...), read after every file of ours and so
 * overriding them: it is kept as postgresql.auto.conf.source, unused, and
 * replaced by the empty file ALTER SYSTEM writes (PostgreSQL needs it to
 * exist).  Done again after a restart, it finds our empty file and keeps
 * the source's copy as it is.
 */
static void
set_aside_auto_conf(const char *pgdata)
{
	static const char header[] = "# Do not edit this file manually!\n"
		"# It will be overwritten by the ALTER SYSTEM command.\n";
	char	   *path = psprintf("%s/postgresql.auto.conf", pgdata);
	size_t		len = 0;
	char	   *old = cb_read_file(path, &len);

	if (old && !(len == strlen(header) && memcmp(old, header, len) == 0))
		cb_write_file(psprintf("%s/postgresql.auto.conf.source", pgdata), old, len, 0600);
	cb_write_file(path, header, strlen(header), 0600);
}

/*
 * A copy (pg_basebackup, a restored backup) brings the source's own files,
 * which must not decide how it starts: its pid and signal files go, its
 * postgresql.conf (max_wal_senders = 0, archive_command, ports are not
 * this cluster's) is set aside as postgresql.conf.source and replaced by
 * one that only includes ours (cb_write_instance_config adds the
 * includes), as CloudNativePG regenerates the file, and its
 * postgresql.auto.conf goes aside too (above).
 */
void
cb_take_over_copy(const char *pgdata)
{
	static const char *const stale[] = {
		"postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal",
	};
	char	   *path = psprintf("%s/postgresql.conf", pgdata);
	size_t		len = 0;
	char	   *old = cb_read_file(path, &len);

	set_aside_auto_conf(pgdata);

	for (int i = 0; i < (int) lengthof(stale); i++)
		unlink(psprintf("%s/%s", pgdata, stale[i]));
	cb_write_file(psprintf("%s/.check-empty-wal-archive", pgdata), "", 0, 0600);
	if (old && strstr(old, "include 'custom.conf'") == NULL)
		cb_write_file(psprintf("%s/postgresql.conf.source", pgdata), old, len, 0600);
	write_conf(pgdata, "postgresql.conf",
			   "# written by cnpg_bootstrap: the source's own settings are in\n"
			   "# postgresql.conf.source, not used\n");
}

void
cb_write_instance_config(CbCluster *c, CbInstance *inst, const char *pgdata,
						 const char *override)
{
	char	   *conf_path = psprintf("%s/postgresql.conf", pgdata);
	char	   *conf = cb_read_file(conf_path, NULL);

	if (conf == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read \"%s\": %m", conf_path)));
	if (strstr(conf, "include 'custom.conf'") == NULL)
	{
		char	   *more = psprintf("%s\n# load CloudNativePG custom.conf configuration\n"
									"include 'custom.conf'\n"
									"\n# load CloudNativePG override.conf configuration\n"
									"include 'override.conf'\n", conf);

		write_conf(pgdata, "postgresql.conf", more);
	}
	write_conf(pgdata, "custom.conf", custom_conf(c, inst));
	write_conf(pgdata, "override.conf", override ? override : "");
	write_conf(pgdata, "pg_hba.conf", hba_conf(c));
	write_conf(pgdata, "pg_ident.conf", ident_conf(c));
	fsync_fname(pgdata, true);
	for (int i = 0; i < (int) lengthof(conf_files); i++)
		fsync_fname(psprintf("%s/%s", pgdata, conf_files[i]), false);
}

void
cb_initdb_run(CbCluster *c, CbInstance *inst)
{
	char	   *tmp = cb_instance_fresh_tmp(c, inst);
	CbChildOptions opts;
	CbChildResult res;

	cb_instance_child_options(inst, "initdb", cb_initdb_argv(c, tmp), &opts);
	if (!cb_run_child(&opts, &res))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("initdb failed (exit code %d)", res.exit_code),
				 errdetail("%s", res.tail ? res.tail : "")));

	cb_write_instance_config(c, inst, tmp, NULL);
	cb_instance_install_tmp(inst);
}
