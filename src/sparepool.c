/*-------------------------------------------------------------------------
 *
 * sparepool.c
 *	  The warm pool of spare data directories: initdb run ahead of time,
 *	  while the worker is idle, so that a Cluster whose initdb options
 *	  match takes a finished data directory by rename() and goes straight
 *	  to configuration, start and post-init.
 *
 * Layout, all under <data_root>/.spares/ (a directory made like a cluster
 * directory, with our ownership marker; ".spares" is no DNS label, so no
 * cluster can be called that):
 *
 *	recipes/<key>			a recipe (sparepool.h) some cluster used; its
 *							mtime is when it was last used
 *	recipes/<key>.size		bytes of the last spare made from it
 *	recipes/<key>.failed	initdb failed for it: not retried for a while
 *	recipes/defaults		the key of a defaulted Cluster's recipe
 *	<key>.<id>.new/			a spare being made: recipe, pgdata/
 *	<key>.<id>/				a complete spare: recipe, size, pgdata/
 *	.trash.<id>/			being removed
 *	.lock					flock()ed by the one run that changes the pool
 *
 * <key> is a hash of the recipe; a spare is only taken after its recipe
 * file compared equal word by word, so a collision costs a miss, never a
 * wrong data directory.
 *
 * Nothing half-made is ever taken: initdb runs into <key>.<id>.new/pgdata
 * (it syncs what it wrote), the directory is synced and only then renamed
 * to <key>.<id>, and only names without a suffix are taken.  A run that
 * was interrupted (SIGTERM, a kill of initdb or of the worker, a crash of
 * the control instance) leaves a .new directory, which the next run
 * removes before anything else, under the lock.  Taking is one rename() of
 * <key>.<id>/pgdata to the instance's <pgdata>.tmp: of two workers, one
 * gets it; removing a spare first renames its whole directory away, so a
 * removal and a take never meet half-way.  Each spare is its own initdb
 * run: two clusters never share a system identifier.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cnpg_bootstrap.h"
#include "fsutil.h"
#include "ownership.h"
#include "process.h"
#include "sparepool.h"

int			cb_spare_pool_size = 1;
int			cb_spare_pool_max_mb = 1024;

#define POOL_NAME			".spares"
#define RECIPE_HEADER		"cnpg_bootstrap initdb recipe 1\n"
#define KEY_LEN				16
/* a recipe counts as recently used this long */
#define RECENT_SECS			(24 * 3600)
/* a recipe whose initdb failed is not tried again before this */
#define FAILED_SECS			600
/* at most this many recipes besides the defaults get spares */
#define MAX_RECIPES			8
/* a recipe never made yet is guessed at this size */
#define GUESS_BYTES			((int64) 64 * 1024 * 1024)
/* a spare is never made when less than this share of the disk would stay free */
#define MIN_FREE_PERCENT	5

/* flags of initdb that change nothing in what it makes */
static const char *const noise_flags[] = {
	"-d", "--debug", "-N", "--no-sync", "--no-instructions", "--no-sync-data-files", NULL
};

/* never run from a recipe file (defence in depth: we wrote it) */
static const char *const refused_prefixes[] = {
	"-D", "--pgdata", "-X", "--waldir", "-L", "-U", "--username", "--pwfile",
	"-W", "--pwprompt", "-A", "--auth", "-c", "--set", "-s", "--show", "-S",
	"--sync-only", "-n", "--no-clean", "-V", "--version", "-?", "--help",
	"--discard-caches", NULL
};

/* ---------- recipes ---------- */

char *
cb_spare_recipe(int major, const char *const *argv, const char *app_db,
				const char *app_owner)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, RECIPE_HEADER "major %d\n", major);
	if (app_db != NULL && app_owner != NULL)
		appendStringInfo(&buf, "app-database %s\napp-owner %s\n", app_db, app_owner);
	for (int i = 0; argv[i] != NULL; i++)
	{
		bool		noise = false;

		/* -D <path> is where, not what */
		if (strcmp(argv[i], "-D") == 0 && argv[i + 1] != NULL)
		{
			i++;
			continue;
		}
		for (int n = 0; noise_flags[n]; n++)
			noise = noise || strcmp(argv[i], noise_flags[n]) == 0;
		if (noise || strncmp(argv[i], "--sync-method=", 14) == 0)
			continue;
		appendStringInfo(&buf, "%s\n", argv[i]);
	}
	return buf.data;
}

static char *
recipe_key(const char *recipe)
{
	uint64		h = hash_bytes_extended((const unsigned char *) recipe,
										(int) strlen(recipe), 0);

	return psprintf("%016llx", (unsigned long long) h);
}

static bool
is_key(const char *s, size_t len)
{
	return len == KEY_LEN && strspn(s, "0123456789abcdef") >= KEY_LEN;
}

/*
 * The argv a recipe stands for, checked; NULL (and *why) if it is not one
 * we would run.
 */
static char **
recipe_argv(const char *recipe, const char *pgdata, char **app_db,
			char **app_owner, char **why)
{
	char	   *copy = pstrdup(recipe);
	char	  **argv = palloc0(sizeof(char *) * 72);
	int			n = 0;
	char	   *line;
	char	   *save = NULL;

	if (strncmp(copy, RECIPE_HEADER, strlen(RECIPE_HEADER)) != 0)
	{
		*why = "it does not start with the recipe header";
		return NULL;
	}
	for (line = strtok_r(copy + strlen(RECIPE_HEADER), "\n", &save); line;
		 line = strtok_r(NULL, "\n", &save))
	{
		/* the header, before the program */
		if (n == 0 && strncmp(line, "major ", 6) == 0)
			continue;
		if (n == 0 && strncmp(line, "app-database ", 13) == 0)
		{
			*app_db = line + 13;
			continue;
		}
		if (n == 0 && strncmp(line, "app-owner ", 10) == 0)
		{
			*app_owner = line + 10;
			continue;
		}
		if (n >= 68)
		{
			*why = "it has too many words";
			return NULL;
		}
		if (n == 0 && (line[0] != '/' || strlen(line) < 7 ||
					   strcmp(line + strlen(line) - 7, "/initdb") != 0))
		{
			*why = "its program is not an absolute path to initdb";
			return NULL;
		}
		if (n == 1 && strcmp(line, "--username=postgres") != 0)
		{
			*why = "its first option is not --username=postgres";
			return NULL;
		}
		if (n >= 2)
			for (int r = 0; refused_prefixes[r]; r++)
				if (strncmp(line, refused_prefixes[r], strlen(refused_prefixes[r])) == 0)
				{
					*why = psprintf("it holds the refused option %s", refused_prefixes[r]);
					return NULL;
				}
		argv[n++] = line;
	}
	if (n < 2)
	{
		*why = "it names no program";
		return NULL;
	}
	if ((*app_db == NULL) != (*app_owner == NULL) ||
		(*app_db && (strlen(*app_db) >= NAMEDATALEN || strlen(*app_owner) >= NAMEDATALEN ||
					 (*app_db)[0] == '\0' || (*app_owner)[0] == '\0')))
	{
		*why = "its application database or owner is not a name";
		return NULL;
	}
	argv[n++] = "-D";
	argv[n++] = (char *) pgdata;
	return argv;
}

/* ---------- the pool directory ---------- */

/* <resolved data_root>/.spares, or NULL (and *why) if data_root is unusable */
static char *
pool_path(char **why)
{
	char		root[PATH_MAX];
	char	   *problem = cb_data_root_problem(root, false);

	if (problem != NULL)
	{
		*why = problem;
		return NULL;
	}
	return psprintf("%s/%s", root, POOL_NAME);
}

/* the pool directory, ours with our marker, or NULL and why not */
static char *
pool_checked(char **why)
{
	char	   *pool = pool_path(why);
	struct stat st;
	char	   *refusal;

	if (pool == NULL)
		return NULL;
	if (lstat(pool, &st) != 0)
	{
		*why = psprintf("there is no spare pool yet (\"%s\")", pool);
		return NULL;
	}
	if ((refusal = cb_owned_dir_refusal(pool, POOL_NAME)) != NULL)
	{
		*why = refusal;
		return NULL;
	}
	return pool;
}

/* make the pool directory (ours, with our marker) and recipes/; ERROR if unsafe */
static char *
pool_create(void)
{
	char	   *why = NULL;
	char	   *pool = pool_path(&why);

	if (pool == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", why)));
	cb_owned_dir_create(pool, POOL_NAME);
	cb_mkdir_p(psprintf("%s/recipes", pool));
	return pool;
}

static time_t
file_mtime(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return st.st_mtime;
}

/* a small file of ours (recipes, sizes), or NULL */
static char *
read_small(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		st.st_size > 8192)
		return NULL;
	return cb_read_file(path, NULL);
}

static int64
recorded_bytes(const char *path, int64 otherwise)
{
	char	   *s = read_small(path);
	int64		v = s ? strtoi64(s, NULL, 10) : 0;

	return v > 0 ? v : otherwise;
}

/* ---------- taking ---------- */

void
cb_spare_note_recipe(const char *recipe)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (cb_spare_pool_size <= 0)
		return;
	PG_TRY();
	{
		char	   *pool = pool_create();
		char	   *path = psprintf("%s/recipes/%s", pool, recipe_key(recipe));
		char	   *old = read_small(path);

		if (old != NULL && strcmp(old, recipe) == 0)
			(void) utime(path, NULL);
		else
			cb_write_file(path, recipe, strlen(recipe), 0600);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(LOG,
				(errmsg("cnpg_bootstrap: could not record an initdb recipe for the spare pool: %s",
						edata->message)));
	}
	PG_END_TRY();
}

/* "<key>.<id>" of a complete spare (no suffix) */
static bool
complete_name(const char *name, const char *key)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL || !is_key(name, dot - name) || strchr(dot + 1, '.') != NULL ||
		dot[1] == '\0')
		return false;
	return key == NULL || strncmp(name, key, KEY_LEN) == 0;
}

/* a directory of ours, not a link */
static bool
own_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
}

char *
cb_spare_take(const char *recipe, const char *dest, char **why)
{
	char	   *pool;
	char	   *key = recipe_key(recipe);
	DIR		   *d;
	struct dirent *de;
	List	   *names = NIL;
	ListCell   *lc;

	if (cb_spare_pool_size <= 0)
	{
		*why = "the spare pool is off (cnpg_bootstrap.spare_pool_size = 0)";
		return NULL;
	}
	if ((pool = pool_checked(why)) == NULL)
		return NULL;
	if ((d = opendir(pool)) == NULL)
	{
		*why = psprintf("could not open \"%s\": %m", pool);
		return NULL;
	}
	while ((de = readdir(d)) != NULL)
		if (complete_name(de->d_name, key))
			names = lappend(names, pstrdup(de->d_name));
	closedir(d);

	foreach(lc, names)
	{
		char	   *shell = psprintf("%s/%s", pool, (char *) lfirst(lc));
		char	   *pgdata = psprintf("%s/pgdata", shell);
		char	   *theirs;

		if (!own_dir(shell) || !own_dir(pgdata) ||
			(theirs = read_small(psprintf("%s/recipe", shell))) == NULL ||
			strcmp(theirs, recipe) != 0)
			continue;
		if (rename(pgdata, dest) != 0)
		{
			if (errno == ENOENT)
				continue;		/* another worker took it first */
			*why = psprintf("could not move spare \"%s\" into place: %m", shell);
			return NULL;
		}
		(void) cb_fsync_dir(shell);
		/* the empty shell goes; if it stays, the next refill removes it */
		(void) unlink(psprintf("%s/recipe", shell));
		(void) unlink(psprintf("%s/size", shell));
		(void) unlink(psprintf("%s/bake.sql", shell));
		if (rmdir(shell) == 0)
			(void) cb_fsync_dir(pool);
		return pstrdup(lfirst(lc));
	}
	*why = names == NIL ? "no spare matches this Cluster's initdb options yet" :
		"no complete spare matches this Cluster's initdb options";
	return NULL;
}

/* ---------- what the pool holds ---------- */

typedef struct Wanted
{
	char		key[KEY_LEN + 1];
	time_t		used;
	int			have;
} Wanted;

static int
wanted_cmp(const ListCell *a, const ListCell *b)
{
	const Wanted *x = lfirst(a);
	const Wanted *y = lfirst(b);

	return x->used > y->used ? -1 : x->used < y->used ? 1 : 0;
}

static Wanted *
find_wanted(List *wanted, const char *key)
{
	ListCell   *lc;

	foreach(lc, wanted)
		if (strncmp(((Wanted *) lfirst(lc))->key, key, KEY_LEN) == 0)
			return lfirst(lc);
	return NULL;
}

/*
 * The recipes that get spares: the defaults first, then those used in the
 * last day, most recent first, without those that failed lately.
 */
static List *
wanted_recipes(const char *pool)
{
	char	   *dir = psprintf("%s/recipes", pool);
	char	   *defaults = read_small(psprintf("%s/defaults", dir));
	time_t		now = time(NULL);
	List	   *recent = NIL;
	List	   *wanted = NIL;
	DIR		   *d;
	struct dirent *de;
	ListCell   *lc;

	if (cb_spare_pool_size <= 0)
		return NIL;
	if ((d = opendir(dir)) != NULL)
	{
		while ((de = readdir(d)) != NULL)
		{
			time_t		used;
			Wanted	   *w;

			if (!is_key(de->d_name, strlen(de->d_name)))
				continue;
			used = file_mtime(psprintf("%s/%s", dir, de->d_name));
			if (used == 0 || used < now - RECENT_SECS ||
				file_mtime(psprintf("%s/%s.failed", dir, de->d_name)) > now - FAILED_SECS)
				continue;
			w = palloc0(sizeof(Wanted));
			strlcpy(w->key, de->d_name, sizeof(w->key));
			w->used = used;
			recent = lappend(recent, w);
		}
		closedir(d);
	}
	list_sort(recent, wanted_cmp);

	if (defaults != NULL && is_key(defaults, strlen(defaults)) &&
		file_mtime(psprintf("%s/%s", dir, defaults)) != 0 &&
		file_mtime(psprintf("%s/%s.failed", dir, defaults)) <= now - FAILED_SECS)
	{
		Wanted	   *w = palloc0(sizeof(Wanted));

		strlcpy(w->key, defaults, sizeof(w->key));
		wanted = lappend(wanted, w);
	}
	foreach(lc, recent)
		if (list_length(wanted) < MAX_RECIPES + 1 &&
			find_wanted(wanted, ((Wanted *) lfirst(lc))->key) == NULL)
			wanted = lappend(wanted, lfirst(lc));
	return wanted;
}

/* what a new spare of key would take: its last one, else a guess */
static int64
expected_bytes(const char *pool, const char *key)
{
	return recorded_bytes(psprintf("%s/recipes/%s.size", pool, key), GUESS_BYTES);
}

/* fills st; names (if not NULL) gets the surplus spares' names */
static void
pool_state(const char *pool, CbSparePoolState *st, List **surplus_names,
		   List **leftover_names)
{
	List	   *wanted = wanted_recipes(pool);
	int64		bound = (int64) cb_spare_pool_max_mb * 1024 * 1024;
	DIR		   *d;
	struct dirent *de;
	ListCell   *lc;

	memset(st, 0, sizeof(*st));
	st->usable = true;
	if ((d = opendir(pool)) == NULL)
	{
		st->usable = false;
		return;
	}
	while ((de = readdir(d)) != NULL)
	{
		const char *name = de->d_name;
		size_t		len = strlen(name);
		char	   *shell = psprintf("%s/%s", pool, name);
		Wanted	   *w;

		if ((len > 4 && strcmp(name + len - 4, ".new") == 0 && is_key(name, Min(len, KEY_LEN))) ||
			strncmp(name, ".trash.", 7) == 0 ||
			(complete_name(name, NULL) && !own_dir(psprintf("%s/pgdata", shell))))
		{
			st->leftovers++;
			if (leftover_names)
				*leftover_names = lappend(*leftover_names, pstrdup(name));
			continue;
		}
		if (!complete_name(name, NULL))
			continue;
		st->complete++;
		st->bytes += recorded_bytes(psprintf("%s/size", shell), GUESS_BYTES);
		w = find_wanted(wanted, name);
		if (w != NULL && w->have < cb_spare_pool_size)
			w->have++;
		else
		{
			st->surplus++;
			if (surplus_names)
				*surplus_names = lappend(*surplus_names, pstrdup(name));
		}
	}
	closedir(d);

	foreach(lc, wanted)
	{
		Wanted	   *w = lfirst(lc);

		if (w->have < cb_spare_pool_size &&
			st->bytes + expected_bytes(pool, w->key) <= bound)
		{
			st->missing = pstrdup(w->key);
			break;
		}
	}
}

void
cb_spare_pool_state(CbSparePoolState *st)
{
	char	   *why = NULL;
	char	   *pool = pool_path(&why);
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (pool == NULL)
		return;
	if (lstat(pool, &sb) != 0)
	{
		/* nothing yet: a run makes the pool and learns the defaults */
		st->usable = cb_spare_pool_size > 0;
		st->missing = cb_spare_pool_size > 0 ? "" : NULL;
		return;
	}
	if (cb_owned_dir_refusal(pool, POOL_NAME) != NULL)
		return;
	pool_state(pool, st, NULL, NULL);
	/* the defaults are not known yet: a run learns them */
	if (cb_spare_pool_size > 0 && st->missing == NULL &&
		read_small(psprintf("%s/recipes/defaults", pool)) == NULL)
		st->missing = "";
}

/* ---------- refilling (the pool worker) ---------- */

/* rename away, then remove: a take never meets a half-removed spare */
static void
remove_spare(const char *pool, const char *name, const char *what)
{
	static unsigned seq = 0;
	char	   *path = psprintf("%s/%s", pool, name);
	char	   *trash = path;

	if (strncmp(name, ".trash.", 7) != 0)
	{
		trash = psprintf("%s/.trash.%x%x.%u", pool, (unsigned) time(NULL), (unsigned) MyProcPid,
						 ++seq);
		if (rename(path, trash) != 0)
		{
			if (errno != ENOENT)
				ereport(LOG,
						(errcode_for_file_access(),
						 errmsg("cnpg_bootstrap: could not set aside spare \"%s\": %m", path)));
			return;
		}
	}
	if (!cb_rmtree(trash))
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("cnpg_bootstrap: could not remove \"%s\": %m", trash)));
	else
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: removed %s \"%s\"", what, name)));
}

static int64 du_total;

static int
du_entry(const char *path, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	du_total += (int64) sb->st_blocks * 512;
	return 0;
}

/* bytes a tree takes on disk (never follows links) */
static int64
disk_usage(const char *path)
{
	du_total = 0;
	(void) nftw(path, du_entry, 16, FTW_PHYS);
	return du_total;
}

/*
 * The application database and its owner, made in the spare as post-init
 * would make them first thing (CREATE ROLE ... LOGIN, CREATE DATABASE ...
 * OWNER ...): only recipes of Clusters without post-init SQL carry them,
 * so nothing is reordered.  Single-user mode: no port, no socket, no
 * server left running if we are killed; its end is a shutdown checkpoint
 * with fsync on (never -F), which makes the new files durable.
 */
static bool
bake_app(const char *fresh, const char *initdb, const char *app_db,
		 const char *app_owner, CbChildResult *res)
{
	char	   *bindir = pstrdup(initdb);
	char	   *sql = psprintf("%s/bake.sql", fresh);
	char	   *script = psprintf("CREATE ROLE %s LOGIN;\nCREATE DATABASE %s OWNER %s;\n",
								  quote_identifier(app_owner), quote_identifier(app_db),
								  quote_identifier(app_owner));
	const char *argv[12];
	CbChildOptions opts;
	int			n = 0;

	*strrchr(bindir, '/') = '\0';
	cb_write_file_ext(sql, script, strlen(script), 0600, false);
	argv[n++] = psprintf("%s/postgres", bindir);
	argv[n++] = "--single";
	argv[n++] = "-D";
	argv[n++] = psprintf("%s/pgdata", fresh);
	argv[n++] = "-c";
	argv[n++] = "exit_on_error=on";
	argv[n++] = "postgres";
	argv[n] = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.argv = argv;
	opts.cwd = fresh;
	opts.stdin_path = sql;
	opts.log_prefix = "postgres --single (spare pool)";
	opts.new_session = true;
	if (!cb_run_child(&opts, res))
		return false;
	(void) unlink(sql);
	return true;
}

/* make one spare of key; false if it could not be made */
static bool
make_spare(const char *pool, const char *key)
{
	char	   *recipe = read_small(psprintf("%s/recipes/%s", pool, key));
	char	   *id = psprintf("%s.%x%x", key, (unsigned) time(NULL), (unsigned) MyProcPid);
	char	   *fresh = psprintf("%s/%s.new", pool, id);
	char	   *done = psprintf("%s/%s", pool, id);
	char	   *why = NULL;
	char	  **argv = NULL;
	char	   *app_db = NULL;
	char	   *app_owner = NULL;
	CbChildOptions opts;
	CbChildResult res;
	int64		avail,
				total,
				bytes;
	uint64		killed = cb_children_killed_count();
	const char *stage = "initdb";
	bool		ok;
	TimestampTz t0 = GetCurrentTimestamp();

	if (recipe == NULL || strcmp(recipe_key(recipe), key) != 0)
		why = "its recipe file is missing or does not match its name";
	else
		argv = recipe_argv(recipe, psprintf("%s/pgdata", fresh), &app_db, &app_owner, &why);
	if (why != NULL)
	{
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: recipe %s is not used: %s", key, why)));
		cb_write_file(psprintf("%s/recipes/%s.failed", pool, key), "", 0, 0600);
		return false;
	}
	if (cb_fs_space(pool, &avail, &total) &&
		avail - expected_bytes(pool, key) < total / 100 * MIN_FREE_PERCENT)
	{
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: not making a spare, the file system of \"%s\" is nearly full",
						pool)));
		return false;
	}

	if (mkdir(fresh, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", fresh)));
	cb_write_file_ext(psprintf("%s/recipe", fresh), recipe, strlen(recipe), 0600, false);

	memset(&opts, 0, sizeof(opts));
	opts.argv = (const char *const *) argv;
	opts.cwd = pool;
	opts.log_prefix = "initdb (spare pool)";
	opts.new_session = true;
	ok = cb_run_child(&opts, &res);
	if (ok && app_db != NULL)
	{
		stage = "making the application database";
		ok = bake_app(fresh, argv[0], app_db, app_owner, &res);
	}
	if (!ok)
	{
		bool		killed_from_outside = cb_children_killed_count() != killed;

		remove_spare(pool, psprintf("%s.new", id), "the half-made spare");
		/* killed from outside: not the recipe's fault, tried again later */
		if (!killed_from_outside)
			cb_write_file(psprintf("%s/recipes/%s.failed", pool, key), "", 0, 0600);
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: %s for recipe %s %s (exit code %d)",
						stage, key, killed_from_outside ? "was killed" : "failed", res.exit_code),
				 res.tail && res.tail[0] ? errdetail("%s", res.tail) : 0));
		return false;
	}

	/* initdb synced its files; the entries above them, then the rename */
	bytes = disk_usage(fresh);
	cb_write_file_ext(psprintf("%s/size", fresh), psprintf(INT64_FORMAT, bytes),
					  strlen(psprintf(INT64_FORMAT, bytes)), 0600, false);
	cb_write_file(psprintf("%s/recipes/%s.size", pool, key), psprintf(INT64_FORMAT, bytes),
				  strlen(psprintf(INT64_FORMAT, bytes)), 0600);
	if (!cb_fsync_dir(psprintf("%s/pgdata", fresh)) || !cb_fsync_dir(fresh))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync \"%s\": %m", fresh)));
	if (rename(fresh, done) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\": %m", fresh)));
	(void) cb_fsync_dir(pool);
	ereport(LOG,
			(errmsg("cnpg_bootstrap: spare pool: spare \"%s\" ready (%ld ms, " INT64_FORMAT " kB)",
					id, (long) (TimestampDifferenceMilliseconds(t0, GetCurrentTimestamp())),
					bytes / 1024)));
	return true;
}

bool
cb_spare_refill(const char *default_recipe)
{
	char	   *pool = pool_create();
	int			lock = open(psprintf("%s/.lock", pool), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CbSparePoolState st;
	List	   *surplus = NIL;
	List	   *leftovers = NIL;
	ListCell   *lc;

	if (lock < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s/.lock\": %m", pool)));
	/* held until this process exits: one run at a time */
	if (flock(lock, LOCK_EX | LOCK_NB) != 0)
	{
		close(lock);
		return false;
	}

	/* first: what an interrupted run left is never used, only removed */
	pool_state(pool, &st, &surplus, &leftovers);
	foreach(lc, leftovers)
		remove_spare(pool, lfirst(lc), "the leftover of an interrupted refill");

	if (default_recipe != NULL && cb_spare_pool_size > 0)
	{
		char	   *key = recipe_key(default_recipe);
		char	   *path = psprintf("%s/recipes/%s", pool, key);
		char	   *old = read_small(path);
		char	   *def = read_small(psprintf("%s/recipes/defaults", pool));

		if (old == NULL || strcmp(old, default_recipe) != 0)
			cb_write_file(path, default_recipe, strlen(default_recipe), 0600);
		if (def == NULL || strcmp(def, key) != 0)
			cb_write_file(psprintf("%s/recipes/defaults", pool), key, strlen(key), 0600);
	}

	surplus = NIL;
	pool_state(pool, &st, &surplus, NULL);
	foreach(lc, surplus)
		remove_spare(pool, lfirst(lc), "the spare no recipe wants");
	if (surplus != NIL)
		pool_state(pool, &st, NULL, NULL);
	if (st.missing != NULL && st.missing[0] != '\0')
		(void) make_spare(pool, st.missing);
	return true;
}
