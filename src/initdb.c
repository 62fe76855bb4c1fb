/*-------------------------------------------------------------------------
 *
 * initdb.c
 *	  The initdb bootstrap method: the initdb command line built from every
 *	  spec.bootstrap.initdb option (docs/cnpg-rules.md §4.2), run into
 *	  <pgdata>.tmp (or a spare data directory of the same command line
 *	  taken from the pool, sparepool.c), configured (instance_config.c)
 *	  and installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "initdb.h"
#include "instance.h"
#include "process.h"
#include "sparepool.h"

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

char *
cb_initdb_spare_recipe(CbCluster *c, const char **argv)
{
	const CbInitdb *spec = &c->spec->bootstrap.initdb;
	bool		app = c->has_app && c->app_db && c->app_owner && !spec->import.present &&
		spec->post_init_sql.n == 0 && spec->post_init_template_sql.n == 0 &&
		spec->post_init_application_sql.n == 0 &&
		strlen(c->app_db) < NAMEDATALEN && strlen(c->app_owner) < NAMEDATALEN &&
		strchr(c->app_db, '\n') == NULL && strchr(c->app_owner, '\n') == NULL &&
		/* what initdb made already: post-init finds it and makes nothing */
		strcmp(c->app_owner, "postgres") != 0 && strcmp(c->app_db, "postgres") != 0 &&
		strcmp(c->app_db, "template0") != 0 && strcmp(c->app_db, "template1") != 0;

	for (int i = 0; i < CB_POSTINIT_NDBS; i++)
		app = app && c->nrefs[i] == 0;
	return cb_spare_recipe(c->major, argv, app ? c->app_db : NULL, app ? c->app_owner : NULL);
}

/*
 * A spare of the same recipe moved to tmp, if the pool has one; the
 * journal's "spare" row of the instance says which, or why none (the pool
 * being on).
 */
static bool
take_spare(CbCluster *c, CbInstance *inst, const char **argv, const char *tmp)
{
	char	   *recipe;
	char	   *spare;
	char	   *why = NULL;
	char	   *detail;

	if (cb_spare_pool_size <= 0)
		return false;
	recipe = cb_initdb_spare_recipe(c, argv);
	cb_spare_note_recipe(recipe);
	spare = cb_spare_take(recipe, tmp, &why);
	detail = spare ? psprintf("took spare data directory \"%s\" (made by initdb ahead of time)", spare) :
		psprintf("no spare taken: %s; initdb runs", why);
	ereport(LOG,
			(errmsg("cnpg_bootstrap: instance \"%s\": %s", inst->name, detail)));
	if (cb_journal_step_begin(c->journal, "spare", inst->name))
		cb_journal_step_finish(c->journal, "spare", inst->name, true, detail);
	cb_journal_progress(c->journal, psprintf("initdb: %s", detail));
	return spare != NULL;
}

void
cb_initdb_run(CbCluster *c, CbInstance *inst)
{
	char	   *tmp = cb_instance_fresh_tmp(c, inst);
	const char **argv = cb_initdb_argv(c, tmp);
	CbChildOptions opts;
	CbChildResult res;

	if (take_spare(c, inst, argv, tmp))
	{
		cb_write_instance_config(c, inst, tmp, NULL);
		cb_instance_install_tmp(inst);
		return;
	}
	cb_instance_child_options(inst, "initdb", argv, &opts);
	if (!cb_run_child(&opts, &res))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("initdb failed (exit code %d)", res.exit_code),
				 errdetail("%s", res.tail ? res.tail : "")));

	cb_write_instance_config(c, inst, tmp, NULL);
	cb_instance_install_tmp(inst);
}
