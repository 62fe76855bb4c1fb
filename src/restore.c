/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  The recovery bootstrap method (docs/cnpg-rules.md §9): the backup chosen
 *	  from a Barman Cloud catalog is streamed from the object store through
 *	  libarchive straight into <pgdata>.tmp (no copy of the archive on
 *	  disk), renamed when every tar is in; then archive recovery with a
 *	  restore_command that runs our own cnpg_bootstrap_wal_restore (C,
 *	  keep-alive, parallel prefetch) instead of a Python process per
 *	  segment; then the new primary on a new timeline.
 *
 * Why libarchive: Debian's well-kept tar and decompression library (gzip,
 * bzip2, xz, and PAX headers, which barman-cloud writes), with a pull
 * interface fed here by the S3 client's stream (objectstore.c).
 *
 * Safety of the extraction: tarextract.c writes regular files and
 * directories only, with modes of its own, never through a link, within a
 * bound; and a store may not send more bytes than its listing announced.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cnpg_bootstrap.h"
#include "external.h"
#include "fsutil.h"
#include "instance.h"
#include "pgconn.h"
#include "process.h"
#include "replica.h"
#include "restore.h"
#include "serverlog.h"
#include "tarextract.h"
#include "waituntil.h"
#include "walrestore_conf.h"
#include "walspool.h"

#define CB_WAL_RESTORE_PROGRAM	"cnpg_bootstrap_wal_restore"
#define CB_DEFAULT_WAL_PREFETCH 8

/* an object store failure as an ERROR: the store's own words */
static void
store_error(const char *what, const CbOsError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s%s", what ? what : "", err->message ? err->message : "object store error"),
			 err->hint ? errhint("%s", err->hint) : 0));
}

/* ---------- store step ---------- */

/*
 * The Barman Cloud plugin form of a recovery source: the ObjectStore named
 * by parameters.barmanObjectName, in the folder parameters.serverName, else
 * the externalCluster's name, as the Bootstrap page says (plugin-barman-
 * cloud's RecoveryServerName takes the Cluster's own name: the page wins).
 */
static void
find_plugin_store(CbCluster *c, CbRestore *r, const char *name)
{
	const CbExternalCluster *ec = r->source;
	const char *store = cb_plugin_object_store(ec);
	const char *server = cb_map_get(&ec->plugin_parameters, "serverName");
	const CbObjectStore *os;

	if (ec->plugin_name == NULL || strcmp(ec->plugin_name, CB_BARMAN_CLOUD_PLUGIN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("plugin \"%s\" of spec.externalClusters[%s] is not supported for recovery",
						ec->plugin_name ? ec->plugin_name : "", name),
				 errhint("cnpg_bootstrap restores through barmanObjectStore or the %s plugin only.",
						 CB_BARMAN_CLOUD_PLUGIN)));
	if (store == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spec.externalClusters[%s].plugin.parameters.barmanObjectName is missing", name),
				 errhint("Name the ObjectStore to restore from in plugin.parameters.barmanObjectName.")));
	/* read from the catalog by the plan (resolved.h) */
	if ((os = cb_resolved_objectstore(c->resolved, store)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ObjectStore \"%s\" referenced by spec.externalClusters[%s].plugin.parameters.barmanObjectName does not exist",
						store, name),
				 errhint("Apply the ObjectStore (kind ObjectStore, apiVersion barmancloud.cnpg.io/v1) with cnpg_bootstrap_apply before the Cluster, e.g. in the same manifest.")));
	r->store = os;
	r->server_name = pstrdup(server && server[0] ? server : ec->name);
}

/* r->source's store: barmanObjectStore, else the plugin form */
static void
find_store(CbCluster *c, CbRestore *r, const char *name)
{
	if (r->source->barman_object_store.present)
	{
		r->store = &r->source->barman_object_store;
		r->server_name = r->store->server_name && r->store->server_name[0] ?
			r->store->server_name : r->source->name;
		return;
	}
	if (!r->source->has_plugin)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("missing barman object store configuration for source: %s", name)));
	find_plugin_store(c, r, name);
}

/* the externalCluster named by recovery.source, with its store */
static void
find_source(CbCluster *c, CbRestore *r)
{
	const char *name = c->spec->bootstrap.recovery.source;

	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recovery source not specified"),
				 errhint("recovery.backup names a Backup object, which cnpg_bootstrap does not receive: use recovery.source.")));
	r->source = cb_find_external_cluster(c->spec, name);
	if (r->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("missing external cluster %s (named by spec.bootstrap.recovery.source)", name)));
	find_store(c, r, name);
}

/*
 * The Secrets cb_os_config_from_store reads: those the plan resolved for
 * the cluster at hand (its lookup takes no argument of ours, hence this).
 */
static const CbResolvedObjects *lookup_resolved;

static bool
lookup_resolved_secret(const char *name, CbMap *data)
{
	return cb_resolved_secret(lookup_resolved, name, data);
}

/* the store's credentials from their Secrets, its CA in a file of ours */
static void
resolve_credentials(CbCluster *c, CbRestore *r, const char *name)
{
	char	   *dir = psprintf("%s/controller/external/%s", c->dir, name ? name : "");
	CbOsError	err;
	bool		ok;

	cb_mkdir_p(dir);
	lookup_resolved = c->resolved;
	ok = cb_os_config_from_store(r->store, lookup_resolved_secret,
								 psprintf("%s/barman-ca.crt", dir), &r->cfg, &err);
	lookup_resolved = NULL;
	if (!ok)
		store_error(NULL, &err);
}

/* the backup CloudNativePG would pick, and its files; ERROR names why none */
static void
choose_backup(CbCluster *c, CbRestore *r)
{
	CbBarmanCatalog cat;
	CbOsError	err;
	char	   *msg;
	char	   *detail;
	const CbBarmanBackup *b;

	if (cb_barman_load_catalog(r->client, r->server_name, &cat, &err) != CB_OS_OK)
		store_error(NULL, &err);
	b = cb_barman_choose(&cat, &c->spec->bootstrap.recovery.target, &msg, &detail);
	if (b == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s", msg),
				 detail ? errdetail("%s", detail) : 0));
	if (b->version > 0 && b->version / 10000 != c->major)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("backup %s is of PostgreSQL %d, the binaries are PostgreSQL %d",
						b->backup_id, b->version / 10000, c->major),
				 errhint("Set cnpg_bootstrap.bindir to binaries of the backup's major version.")));
	if (cb_barman_list_base_files(r->client, r->server_name, b->backup_id,
								  &r->nfiles, &r->files, &err) != CB_OS_OK)
		store_error(NULL, &err);
	if (r->nfiles == 0 || !r->files[0].is_data)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("backup %s has no data.tar under %s", b->backup_id,
						cb_os_url(r->client, psprintf("%s/base/%s/", r->server_name, b->backup_id)))));
	r->backup = b;
	r->total_bytes = 0;
	for (int i = 0; i < r->nfiles; i++)
		r->total_bytes += r->files[i].size;
}

/* CloudNativePG probes the first WAL the backup needs before restoring */
static void
check_first_wal(CbRestore *r)
{
	CbOsListing listing;
	CbOsError	err;
	const char *wal = r->backup->begin_wal;

	if (wal == NULL || cb_barman_wal_kind(wal) != CB_WAL_SEGMENT)
		return;
	if (cb_os_list(r->client, cb_barman_wal_key(r->server_name, wal, CB_COMPRESSION_NONE),
				   NULL, 1, &listing, &err) != CB_OS_OK)
		store_error("encountered an error while checking the presence of first needed WAL in the archive: ", &err);
	if (listing.nobjects == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("encountered an error while checking the presence of first needed WAL in the archive: %s not found",
						cb_os_url(r->client, cb_barman_wal_key(r->server_name, wal, CB_COMPRESSION_NONE)))));
}

CbRestore *
cb_restore_prepare(CbCluster *c, bool choose)
{
	CbRestore  *r = palloc0(sizeof(CbRestore));
	CbOsError	err;

	find_source(c, r);
	resolve_credentials(c, r, c->spec->bootstrap.recovery.source);
	if (!choose)
		return r;
	if ((r->client = cb_os_client_create(&r->cfg, &err)) == NULL)
		store_error(NULL, &err);
	choose_backup(c, r);
	check_first_wal(r);
	cb_journal_progress(c->journal, psprintf("backup %s (%s to %s), %d file(s), " INT64_FORMAT " bytes",
										  r->backup->backup_id,
										  r->backup->begin_wal ? r->backup->begin_wal : "?",
										  r->backup->end_wal ? r->backup->end_wal : "?",
										  r->nfiles, r->total_bytes));
	ereport(LOG,
			(errmsg("cnpg_bootstrap: cluster \"%s\" restores backup %s of %s",
					c->name, r->backup->backup_id,
					cb_os_url(r->client, r->server_name))));
	return r;
}

/* ---------- restore step ---------- */

typedef struct Feed
{
	CbCluster  *c;
	CbRestore  *r;
	CbOsStream *stream;
	int64	   *done;			/* bytes of all files so far */
	TimestampTz last_report;
	int64		file_left;		/* what the listing said is left of this file */
	CbTarBudget budget;			/* what all the files may write */
} Feed;

static void
report_restore(Feed *f, bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	char	   *text;

	if (!force && !TimestampDifferenceExceeds(f->last_report, now, 1000))
		return;
	f->last_report = now;
	text = psprintf("Restoring backup %s: " INT64_FORMAT " of " INT64_FORMAT " kB",
					f->r->backup->backup_id, *f->done / 1024, f->r->total_bytes / 1024);
	cb_journal_progress(f->c->journal, psprintf("restore: " INT64_FORMAT "/" INT64_FORMAT " kB",
											 *f->done / 1024, f->r->total_bytes / 1024));
	cb_journal_phase(f->c->journal, CB_PHASE_SETTING_UP, text);
}

/* libarchive pulls: the next bytes of the stream */
static la_ssize_t
feed_read(struct archive *a, void *arg, const void **buf)
{
	Feed	   *f = arg;
	const char *data;
	size_t		len;

	if (cb_os_stream_read(f->stream, &data, &len) != CB_OS_OK)
	{
		archive_set_error(a, EIO, "%s", cb_os_stream_error(f->stream)->message);
		return -1;
	}
	/* a store that sends more than it listed is not believed */
	if ((f->file_left -= len) < 0)
	{
		archive_set_error(a, EFBIG, "the store sends more bytes than its listing says the object has");
		return -1;
	}
	*f->done += len;
	report_restore(f, false);
	*buf = data;
	return (la_ssize_t) len;
}

static void
archive_failed(struct archive *a, const char *what, const char *file)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not restore %s: %s: %s", file, what,
					archive_error_string(a) ? archive_error_string(a) : "unknown error")));
}

/* one tar of the backup, from the store into dest (tarextract.c) */
static void
extract_file(Feed *f, const CbBarmanBaseFile *bf, const char *dest)
{
	const char *url = cb_os_url(f->r->client, bf->key);
	struct archive *in = archive_read_new();

	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	f->stream = cb_os_stream_open(f->r->client, bf->key);
	cb_os_stream_expect(f->stream, bf->size);
	f->file_left = bf->size;
	if (archive_read_open(in, f, NULL, feed_read, NULL) != ARCHIVE_OK)
		archive_failed(in, "opening", url);
	cb_tar_extract(in, dest, bf->is_data, url, &f->budget);
	archive_read_free(in);
	cb_os_stream_close(f->stream);
	f->stream = NULL;
}

/* a tablespace's folder of ours: <instance>/tablespaces/<name or oid> */
static char *
tablespace_dir(CbInstance *inst, const CbBarmanBackup *b, Oid oid)
{
	for (int i = 0; i < b->ntablespaces; i++)
		if (b->tablespaces[i].oid == oid && b->tablespaces[i].name &&
			strchr(b->tablespaces[i].name, '/') == NULL && b->tablespaces[i].name[0] != '.')
			return psprintf("%s/tablespaces/%s", inst->dir, b->tablespaces[i].name);
	return psprintf("%s/tablespaces/%u", inst->dir, oid);
}

/* what a backup leaves out and a server needs (all empty at start) */
static void
complete_layout(const char *tmp, const char *url)
{
	static const char *const dirs[] = {
		"pg_wal", "pg_wal/archive_status", "pg_tblspc", "pg_replslot", "pg_stat_tmp",
		"pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans",
		"pg_logical", "pg_logical/snapshots", "pg_logical/mappings",
	};

	if (!cb_path_exists(psprintf("%s/backup_label", tmp)) ||
		!cb_path_exists(psprintf("%s/global/pg_control", tmp)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s has no backup_label or global/pg_control: not a complete backup", url)));
	for (int i = 0; i < (int) lengthof(dirs); i++)
	{
		char	   *d = psprintf("%s/%s", tmp, dirs[i]);

		if (!cb_path_exists(d) && mkdir(d, S_IRWXU) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create \"%s\": %m", d)));
	}
}

static void
restore_files(CbCluster *c, CbRestore *r, const char *tmp, int64 *done)
{
	CbInstance *inst = &c->instances[0];
	Feed		feed = {c, r, NULL, done, 0};

	cb_tar_budget_init(&feed.budget, r->backup, tmp);

	for (int i = 0; i < r->nfiles; i++)
	{
		const CbBarmanBaseFile *bf = &r->files[i];
		const char *dest = tmp;

		if (!bf->is_data)
		{
			dest = tablespace_dir(inst, r->backup, bf->tablespace_oid);
			cb_mkdir_p(dest);
			if (bf->part == 0)
			{
				char	   *link = psprintf("%s/pg_tblspc/%u", tmp, bf->tablespace_oid);

				cb_mkdir_p(psprintf("%s/pg_tblspc", tmp));
				unlink(link);
				if (symlink(dest, link) != 0)
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not create symbolic link \"%s\": %m", link)));
			}
		}
		extract_file(&feed, bf, dest);
	}
	report_restore(&feed, true);
}

void
cb_restore_base(CbCluster *c, CbRestore *r)
{
	CbInstance *inst = &c->instances[0];
	char	   *tmp;
	int64		done = 0;
	char	   *tsdir = psprintf("%s/tablespaces", inst->dir);

	cb_journal_mark_bootstrapped(c->journal);
	/* a half restore from an interrupted run is discarded, never reused */
	tmp = cb_instance_fresh_tmp(c, inst);
	if (cb_path_exists(tsdir) && !cb_rmtree(tsdir))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", tsdir)));
	if (mkdir(tmp, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create \"%s\": %m", tmp)));
	PG_TRY();
	{
		restore_files(c, r, tmp, &done);
		complete_layout(tmp, cb_os_url(r->client, r->files[0].key));
	}
	PG_CATCH();
	{
		/* nothing half-restored stays behind to look like a data directory */
		cb_rmtree(tmp);
		cb_rmtree(tsdir);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cb_instance_install_tmp(inst);
	ereport(LOG,
			(errmsg("cnpg_bootstrap: cluster \"%s\": backup %s restored, " INT64_FORMAT " bytes read",
					c->name, r->backup->backup_id, done)));
}

/* ---------- configure step ---------- */

/* the spec's value of an integer setting, or PostgreSQL's default */
static int
spec_int(CbCluster *c, const char *key, int dflt)
{
	const char *v = cb_map_get(&c->spec->parameters, key);

	return v ? atoi(v) : dflt;
}

/*
 * Settings a standby needs at least as high as the primary had
 * (docs/cnpg-rules.md §9.2 step 6): max(spec, pg_control of the backup).
 */
static void
raise_to_control_file(CbCluster *c, const char *pgdata, StringInfo conf)
{
	bool		crc_ok;
	ControlFileData *cf = get_controlfile(pgdata, &crc_ok);
	const struct
	{
		const char *key;
		int			dflt;
		int			control;
	}			keys[] = {
		{"max_connections", 100, cf->MaxConnections},
		{"max_wal_senders", 10, cf->max_wal_senders},
		{"max_worker_processes", 8, cf->max_worker_processes},
		{"max_prepared_transactions", 0, cf->max_prepared_xacts},
		{"max_locks_per_transaction", 64, cf->max_locks_per_xact},
	};

	if (!crc_ok || cf->pg_control_version != PG_CONTROL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the restored global/pg_control is %s",
						crc_ok ? "of another major version" : "corrupt (CRC mismatch)")));
	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		int			spec = spec_int(c, keys[i].key, keys[i].dflt);

		if (keys[i].control > spec)
			appendStringInfo(conf, "%s = '%d'\n", keys[i].key, keys[i].control);
	}
}

/* a path for /bin/sh, in single quotes */
static char *
shell_quote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(&buf, "'\\''");
		else
			appendStringInfoChar(&buf, *s);
	}
	appendStringInfoChar(&buf, '\'');
	return buf.data;
}

/* our program, beside the control instance's postgres binary */
static char *
wal_restore_program(void)
{
	char		dir[MAXPGPATH];
	char	   *path;

	strlcpy(dir, my_exec_path, sizeof(dir));
	get_parent_directory(dir);
	path = psprintf("%s/%s", dir, CB_WAL_RESTORE_PROGRAM);
	if (access(path, X_OK) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not find %s: %m", path),
				 errhint("\"make install\" installs it beside the server's binaries.")));
	return path;
}

/*
 * The restore_command: our program and a 0600 file with what it needs,
 * credentials included, so that nothing secret is on a command line.
 */
static char *
restore_command(CbCluster *c, CbRestore *r, bool replica)
{
	CbInstance *inst = &c->instances[0];
	char	   *dir = psprintf("%s/" CB_WALSPOOL_DIR, inst->dir);
	char	   *conf_path = psprintf("%s/" CB_WALSPOOL_CONF, dir);
	CbWalRestoreConf conf;
	char	   *why;
	bool		crc_ok;
	ControlFileData *cf = get_controlfile(inst->pgdata, &crc_ok);

	cb_mkdir_p(dir);
	if (chmod(dir, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not change the mode of \"%s\": %m", dir)));
	memset(&conf, 0, sizeof(conf));
	cb_walrestore_conf_from_os(&conf, &r->cfg);
	conf.server_name = r->server_name;
	conf.spool_dir = psprintf("%s/" CB_WALSPOOL_SPOOL, dir);
	conf.prefetch = r->store->wal_max_parallel > 0 ?
		r->store->wal_max_parallel : CB_DEFAULT_WAL_PREFETCH;
	conf.standby = replica;
	/* the program refuses a WAL file larger than a segment */
	if (crc_ok && cf->xlog_seg_size <= CB_WALRESTORE_MAX_SEGMENT)
		conf.wal_segment_size = (int) cf->xlog_seg_size;
	if (cb_path_exists(conf.spool_dir))
		cb_rmtree(conf.spool_dir);
	cb_mkdir_p(conf.spool_dir);
	if (!cb_walrestore_conf_write(conf_path, &conf, &why))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write \"%s\": %s", conf_path, why)));
	return psprintf("%s %s %%f %%p", shell_quote(wal_restore_program()), shell_quote(conf_path));
}

/*
 * The restore_command of a replica cluster following externalCluster
 * `name`: WAL shipping from its object store (barmanObjectStore or the
 * plugin form), the same program and file as a recovery's; NULL when that
 * cluster has no store.
 */
char *
cb_replica_restore_command(CbCluster *c, const char *name)
{
	CbRestore  *r = palloc0(sizeof(CbRestore));

	r->source = cb_find_external_cluster(c->spec, name);
	if (r->source == NULL ||
		(!r->source->barman_object_store.present && !r->source->has_plugin))
		return NULL;
	find_store(c, r, name);
	resolve_credentials(c, r, name);
	return restore_command(c, r, true);
}

void
cb_restore_configure(CbCluster *c, CbRestore *r, bool replica)
{
	CbInstance *inst = &c->instances[0];
	StringInfoData conf;

	initStringInfo(&conf);
	/*
	 * A replica cluster follows spec.replica.source; the store restored
	 * from is kept only if that source has none.
	 */
	if (replica)
	{
		bool		other = c->spec->replica.source &&
			strcmp(r->source->name, c->spec->replica.source) != 0;

		appendStringInfoString(&conf,
							   cb_replica_recovery_conf(c, other ? restore_command(c, r, true) : NULL));
	}
	else
		appendStringInfo(&conf, "restore_command = %s\n",
						 cb_conf_quote(restore_command(c, r, false)));
	raise_to_control_file(c, inst->pgdata, &conf);
	cb_take_over_copy(inst->pgdata);
	if (replica)
	{
		cb_write_instance_config(c, inst, inst->pgdata, conf.data);
		cb_write_file(psprintf("%s/standby.signal", inst->pgdata), "", 0, 0600);
		return;
	}
	appendStringInfoString(&conf, "recovery_target_action = 'promote'\n\n");
	appendStringInfoString(&conf, cb_recovery_target_conf(&c->spec->bootstrap.recovery.target));
	cb_write_instance_config(c, inst, inst->pgdata, conf.data);
	cb_write_file(psprintf("%s/recovery.signal", inst->pgdata), "", 0, 0600);
}

/* ---------- promote step ---------- */

/*
 * The last error the WAL program wrote since the server last started: the
 * restore_command's stderr goes to the server's stderr log.  A recovery
 * that stopped because the store did not answer says so only there.  NULL
 * if there is none.  Bounded: the last 256 kB of the log, one line of at
 * most 1 kB.  Safe to show: the program's messages name keys, paths and
 * WAL files, and the store's errors it prints pass os_scrub() first.
 */
#define CB_WAL_ERROR_PREFIX		"cnpg_bootstrap_wal_restore: ERROR: "
#define CB_WAL_ERROR_LOG_TAIL	(256 * 1024)
#define CB_WAL_ERROR_MAX		1024

char *
cb_restore_wal_error(const CbInstance *inst)
{
	char	   *log = cb_read_file_tail(psprintf("%s/postgres", inst->logdir),
										CB_WAL_ERROR_LOG_TAIL, NULL);
	char	   *from;
	char	   *hit = NULL;
	char	   *p;

	if (log == NULL)
		return NULL;
	/* what the latest start wrote */
	from = log;
	for (p = log; (p = strstr(p, "starting PostgreSQL")) != NULL; p++)
		from = p;
	/* only lines the program wrote itself: they begin with its name */
	for (p = from; (p = strstr(p, "\n" CB_WAL_ERROR_PREFIX)) != NULL; p++)
		hit = p + 1;
	if (hit == NULL)
		return NULL;
	p = strchr(hit, '\n');
	return pnstrdup(hit, Min(p ? (size_t) (p - hit) : strlen(hit), CB_WAL_ERROR_MAX));
}

/*
 * One value from the server over *conn, connected first if NULL; NULL if
 * it does not answer, and then *conn is closed.
 */
static char *
probe(CbCluster *c, PGconn **conn, const char *sql)
{
	char	   *err = NULL;
	char	   *v;

	if (*conn == NULL &&
		(*conn = cb_connect_local(c->run_dir, c->instances[0].port, "postgres", 5000, &err)) == NULL)
		return NULL;
	if ((v = cb_query_value(*conn, sql, &err)) == NULL)
	{
		cb_disconnect(*conn);
		*conn = NULL;
	}
	return v;
}

/* the prefetcher holds its lock while it runs */
static bool
lock_taken(CbWait *w, void *arg)
{
	return flock(*(int *) arg, LOCK_EX | LOCK_NB) == 0;
}

/*
 * After promotion nothing asks for WAL any more: tell the WAL program's
 * background prefetcher to stop, wait (5 s at most) until it has let go of
 * its lock, and remove the spool with what it fetched beyond the end.
 */
static void
stop_prefetcher(CbInstance *inst)
{
	char	   *spool = psprintf("%s/" CB_WALSPOOL_DIR "/" CB_WALSPOOL_SPOOL, inst->dir);
	CbWaitSpec	spec = {.what = "the WAL prefetcher's lock", .timeout_ms = 5000};
	int			fd;

	if (!cb_path_exists(spool))
		return;
	cb_write_file(psprintf("%s/" CB_WALSPOOL_STOP, spool), "", 0, 0600);
	fd = open(psprintf("%s/" CB_WALSPOOL_PREFETCHER, spool), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		(void) cb_wait_until(lock_taken, &fd, &spec);
	if (!cb_rmtree(spool))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", spool)));
	if (fd >= 0)
		close(fd);
}

typedef struct RecoveryWait
{
	CbCluster  *c;
	bool		replica;
	TimestampTz last;			/* of the last progress report */
} RecoveryWait;

/* NULL while the server does not accept connections yet: the next pass tries again */
static PGconn *
connect_recovering(void *arg, int which)
{
	RecoveryWait *r = arg;
	char	   *err = NULL;

	return cb_connect_local(r->c->run_dir, r->c->instances[0].port, "postgres", 5000, &err);
}

/* one pass of the wait: true once recovery is where it should be */
static bool
recovery_reached(CbWait *w, void *arg)
{
	RecoveryWait *r = arg;
	CbCluster  *c = r->c;
	bool		replica = r->replica;
	TimestampTz *last = &r->last;
	CbInstance *inst = &c->instances[0];
	PGconn	   *conn;
	char	   *err = NULL;
	char	   *v = NULL;

	if (cb_instance_pid(inst->pgdata) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s stopped during recovery: %s", inst->name, cb_serverlog_last_fatal(inst->logdir)),
				 errhint("See the logs under \"%s\".", inst->logdir)));
	/* the connection is kept from pass to pass (waituntil.c) */
	if ((conn = cb_wait_conn(w, 0)) != NULL)
		v = cb_query_value(conn, "SELECT pg_catalog.pg_is_in_recovery()::text || ' ' ||"
						   " coalesce(pg_catalog.pg_last_wal_replay_lsn()::text, '')", &err);
	if (v && !replica && strncmp(v, "false", 5) == 0)
		return true;
	/* a replica is ready once it has replayed what the store holds */
	if (v && replica && strncmp(v, "true", 4) == 0 &&
		cb_path_exists(psprintf("%s/" CB_WALSPOOL_DIR "/" CB_WALSPOOL_SPOOL "/" CB_WALSPOOL_END_OF_ARCHIVE, inst->dir)))
		return true;
	if (v && TimestampDifferenceExceeds(*last, GetCurrentTimestamp(), 1000))
	{
		*last = GetCurrentTimestamp();
		cb_journal_progress(c->journal, psprintf("replaying WAL: at %s", strchr(v, ' ') + 1));
		cb_journal_phase(c->journal, CB_PHASE_SETTING_UP,
						 psprintf("Recovering %s: WAL replayed up to %s", inst->name,
								  strchr(v, ' ') + 1));
	}
	return false;
}

/*
 * A recovery can wait for hours (a slow store, a replica): it has no
 * deadline; cb_wait_until runs every pass in a context of its own, reset
 * after it, and keeps the connection to the server from pass to pass.
 */
void
cb_restore_wait(CbCluster *c, bool replica)
{
	CbInstance *inst = &c->instances[0];
	PGconn	  **conn = palloc0(sizeof(PGconn *));
	RecoveryWait r = {c, replica, 0};
	CbWaitSpec	spec = {.what = "recovery", .timeout_ms = 0, .connect = connect_recovering};
	char	   *override;

	(void) cb_wait_until(recovery_reached, &r, &spec);
	if (replica)
		return;

	stop_prefetcher(inst);
	/* nothing runs the WAL program any more: its credentials go */
	override = psprintf("%s/" CB_WALSPOOL_DIR "/" CB_WALSPOOL_CONF, inst->dir);
	if (unlink(override) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", override)));

	/*
	 * Promoted on a new timeline.  The raised settings and the recovery
	 * ones go; a restart makes the primary announce the spec's values, so
	 * that standbys configured from the spec can follow it.
	 */
	override = cb_read_file(psprintf("%s/override.conf", inst->pgdata), NULL);
	cb_write_file(psprintf("%s/override.conf", inst->pgdata), "", 0, 0600);
	if (override && strstr(override, "\nmax_"))
	{
		cb_instance_stop(c, inst->pgdata, "fast");
		cb_instance_start(c, inst);
	}
	else
	{
		(void) probe(c, conn, "SELECT pg_catalog.pg_reload_conf()");
		cb_disconnect(*conn);
	}
}
