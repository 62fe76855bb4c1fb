/*-------------------------------------------------------------------------
 *
 * hostlayout.c
 *	  Where a cluster lives on the host (docs/design.md §3):
 *	  <data_root>/<cluster>/<instance>/{pgdata,log}, <cluster>/run (unix
 *	  sockets), <cluster>/certs; which binaries serve it; whether its
 *	  storage fits.  The file helpers it uses are fsutil.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "lib/stringinfo.h"

#include "cnpg_bootstrap.h"
#include "fsutil.h"
#include "hostlayout.h"
#include "ownership.h"
#include "process.h"

/* <dir>/.s.PGSQL.<port> must fit in sockaddr_un.sun_path (108 with NUL) */
#define CB_MAX_SOCKET_PATH 107

static char *
first_listen_address(void)
{
	char	   *list = pstrdup(cb_listen_addresses ? cb_listen_addresses : "");
	char	   *first = strtok(list, ", \t");

	if (first == NULL || strcmp(first, "*") == 0 || strcmp(first, "0.0.0.0") == 0)
		return "localhost";
	return first;
}

void
cb_layout_init(CbCluster *c)
{
	const char *name = c->name;
	struct passwd *pw = getpwuid(geteuid());
	char		root[PATH_MAX];

	/* validate.c made it a DNS label; this is the last line of defence */
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		elog(ERROR, "cluster name \"%s\" cannot be used as a path component", name);
	/* every path below comes from the resolved root (see ownership.c) */
	cb_check_data_root(root);

	c->dir = psprintf("%s/%s", root, name);
	c->run_dir = psprintf("%s/run", c->dir);
	c->certs_dir = psprintf("%s/certs", c->dir);
	c->os_user = pstrdup(pw ? pw->pw_name : "postgres");
	c->host = first_listen_address();

	if (strlen(c->run_dir) + strlen("/.s.PGSQL.65535") > CB_MAX_SOCKET_PATH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("unix socket path of cluster \"%s\" would be too long", name),
				 errdetail("\"%s/.s.PGSQL.<port>\" must fit in %d bytes.",
						   c->run_dir, CB_MAX_SOCKET_PATH),
				 errhint("Use a shorter cnpg_bootstrap.data_root or cluster name.")));

	c->ninstances = c->spec->instances;
	c->instances = palloc0(sizeof(CbInstance) * c->ninstances);
	for (int i = 0; i < c->ninstances; i++)
	{
		CbInstance *inst = &c->instances[i];

		inst->serial = i + 1;
		inst->name = psprintf("%s-%d", name, i + 1);
		inst->dir = psprintf("%s/%s", c->dir, inst->name);
		inst->pgdata = psprintf("%s/pgdata", inst->dir);
		inst->logdir = psprintf("%s/log", inst->dir);
	}
}

void
cb_layout_create(CbCluster *c)
{
	/* ours with our marker, or made now; never a directory we did not create */
	cb_owned_dir_create(c->dir, c->name);
	cb_mkdir_p(c->run_dir);
	cb_mkdir_p(c->certs_dir);
	for (int i = 0; i < c->ninstances; i++)
		cb_mkdir_p(c->instances[i].logdir);
}

/* "initdb (PostgreSQL) 15.18" -> 15 */
static int
binaries_major(const char *initdb)
{
	const char *argv[] = {initdb, "--version", NULL};
	CbChildOptions opts;
	CbChildResult res;
	const char *p;
	struct stat st;

	memset(&opts, 0, sizeof(opts));
	opts.argv = argv;
	opts.new_session = true;
	/* in data_root once it exists (the first steps create it), else in / */
	if (cb_data_root && cb_data_root[0] == '/' &&
		stat(cb_data_root, &st) == 0 && S_ISDIR(st.st_mode))
		opts.cwd = cb_data_root;
	if (!cb_run_child(&opts, &res) || (p = strstr(res.tail, "(PostgreSQL) ")) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not tell the version of \"%s\"", initdb),
				 errdetail("%s", res.tail ? res.tail : "")));
	return atoi(p + strlen("(PostgreSQL) "));
}

void
cb_resolve_bindir(CbCluster *c)
{
	const char *tmpl = cb_bindir;
	StringInfoData dir;
	char	   *initdb;

	initStringInfo(&dir);
	if (tmpl == NULL || tmpl[0] == '\0')
	{
		char		own[MAXPGPATH];

		strlcpy(own, my_exec_path, sizeof(own));
		get_parent_directory(own);
		appendStringInfoString(&dir, own);
	}
	else
		for (const char *p = tmpl; *p; p++)
		{
			if (p[0] == '%' && p[1] == 'v')
			{
				if (c->spec->pg_major <= 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("cannot tell the PostgreSQL major version of spec.imageName \"%s\"",
									c->spec->image_name ? c->spec->image_name : ""),
							 errhint("cnpg_bootstrap.bindir uses %%v; give imageName a tag like 15.5 or 17.")));
				appendStringInfo(&dir, "%d", c->spec->pg_major);
				p++;
			}
			else
				appendStringInfoChar(&dir, *p);
		}

	initdb = psprintf("%s/initdb", dir.data);
	if (access(initdb, X_OK) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("no PostgreSQL binaries for cluster \"%s\" in \"%s\"", c->name, dir.data),
				 errdetail("\"%s\" is not an executable file.", initdb),
				 errhint("Install PostgreSQL %d or set cnpg_bootstrap.bindir.",
						 c->spec->pg_major)));
	c->bindir = dir.data;
	/* our own binaries are the server's version: no need to ask them */
	c->major = (tmpl == NULL || tmpl[0] == '\0') ? PG_VERSION_NUM / 10000 :
		binaries_major(initdb);
}

/*
 * Every instance of the cluster lives under data_root: each needs its
 * spec.storage.size, plus spec.walStorage.size when WAL has a volume of its
 * own in CloudNativePG.
 */
void
cb_check_free_space(CbCluster *c)
{
	int64		free_bytes;
	int64		each = 0;
	int64		needed;
	int			n = c->spec->instances > 0 ? c->spec->instances : 1;

	if (c->spec->storage_bytes > 0)
		each = c->spec->storage_bytes;
	if (c->spec->wal_storage_bytes > 0)
		each = (PG_INT64_MAX - each < c->spec->wal_storage_bytes) ? PG_INT64_MAX :
			each + c->spec->wal_storage_bytes;
	if (each <= 0 || !cb_fs_space(cb_data_root, &free_bytes, NULL))
		return;
	needed = (each > PG_INT64_MAX / n) ? PG_INT64_MAX : each * n;
	if (free_bytes >= needed)
		return;
	if (c->spec->wal_storage_bytes > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DISK_FULL),
				 errmsg("not enough free space for cluster \"%s\"", c->name),
				 errdetail_plural("spec.storage.size is %s (" INT64_FORMAT " bytes) and spec.walStorage.size is %s (" INT64_FORMAT " bytes) for %d instance: " INT64_FORMAT " bytes in all; \"%s\" has " INT64_FORMAT " bytes free.",
								  "spec.storage.size is %s (" INT64_FORMAT " bytes) and spec.walStorage.size is %s (" INT64_FORMAT " bytes) for each of %d instances: " INT64_FORMAT " bytes in all; \"%s\" has " INT64_FORMAT " bytes free.",
								  n,
								  c->spec->storage_size ? c->spec->storage_size : "unset",
								  Max(c->spec->storage_bytes, 0),
								  c->spec->wal_storage_size, c->spec->wal_storage_bytes,
								  n, needed, cb_data_root, free_bytes),
				 errhint("Free space under cnpg_bootstrap.data_root or lower spec.storage.size, spec.walStorage.size or spec.instances.")));
	ereport(ERROR,
			(errcode(ERRCODE_DISK_FULL),
			 errmsg("not enough free space for cluster \"%s\"", c->name),
			 errdetail_plural("spec.storage.size is %s (" INT64_FORMAT " bytes) for %d instance: " INT64_FORMAT " bytes in all; \"%s\" has " INT64_FORMAT " bytes free.",
							  "spec.storage.size is %s (" INT64_FORMAT " bytes) for each of %d instances: " INT64_FORMAT " bytes in all; \"%s\" has " INT64_FORMAT " bytes free.",
							  n,
							  c->spec->storage_size, c->spec->storage_bytes,
							  n, needed, cb_data_root, free_bytes),
			 errhint("Free space under cnpg_bootstrap.data_root or lower spec.storage.size or spec.instances.")));
}
