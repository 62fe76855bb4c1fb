/*-------------------------------------------------------------------------
 *
 * cnpg_bootstrap_wal_fetch.c
 *	  restore_command for WAL archived by Barman Cloud in an S3 or Azure
 *	  Blob object store, in C: what barman-cloud-wal-restore does, without
 *	  Python, and with prefetch.
 *
 *	  cnpg_bootstrap_wal_fetch CONFIG-FILE %f %p
 *
 * CONFIG-FILE (src/walrestore_conf.h, written by the background worker,
 * mode 0600) holds the store, the credentials, the serverName, the spool
 * directory, how many segments to fetch at once and whether this is a
 * replica cluster.  Credentials are never taken from the command line.
 *
 * For %f:
 *   1. <spool_dir>/%f exists (prefetched by an earlier call): renamed to
 *	    %p.  No request, a few milliseconds.
 *   2. A segment: list <server>/wals/<TLI+log>/, take the object of %f
 *	    (any compression suffix) and the following segments of the folder
 *	    with consecutive numbers, up to `prefetch` in all; GET them in
 *	    parallel, decompress (libarchive: gzip, bzip2, xz, zstd, lz4;
 *	    snappy is refused), write %f to %p and the others to the spool,
 *	    each through "<name>.tmp", fsync, a rename and an fsync of the
 *	    directory.  Nothing is held in memory whole: plain bytes go to
 *	    the file as they come, compressed ones to an unlinked file beside
 *	    it first; a WAL file larger than the cluster's segment size
 *	    (wal_segment_size in the configuration, else 1 GB) is refused,
 *	    compressed or not.  History, .partial and .backup files are
 *	    fetched alone, after a listing of their name as prefix (to learn
 *	    the suffix).  A failure to prefetch is only a warning.
 *   3. Not in the store: exit 1, one line on stderr.
 *
 * Installed as cnpg_bootstrap_wal_fetch, behind cnpg_bootstrap_wal_restore
 * (cnpg_bootstrap_wal_restore.c): loading libcurl, OpenSSL and libarchive
 * (some forty shared libraries) costs more than step 1 itself, so the
 * front does step 1 with libc alone and execs this program on a miss.
 * Built under its own name (the TAP tests), it does all the steps alone.
 *
 * Exit status, as PostgreSQL reads it (docs: "Recovering Using a
 * Continuous Archive Backup", restore_command):
 *   0    %p written.
 *   1    %f is not in the archive (the end of the archive), or any failure
 *	      when standby=on: a replica cluster retries later (and may stream
 *	      meanwhile).
 *   128  any other failure in recovery (standby=off): network errors after
 *	      the client's retries, a refused signature, a bad configuration.
 *	      Status 1 would make PostgreSQL take the failure for the end of
 *	      the archive and finish recovery early, at a wrong point, on a new
 *	      timeline; a status above 125 makes it abort recovery instead, so
 *	      that the bootstrap fails visibly and can be retried.
 *	      A configuration that cannot be read also gives 128: standby is
 *	      not known then.  So does an exit the program did not choose
 *	      (libpgcommon's out of memory exits with 1): see wr_guard_exits.
 * SIGTERM (PostgreSQL's startup process forwards a shutdown to its
 * restore_command) abandons the transfers at once, removes the temporary
 * files and ends the program by SIGTERM, as PostgreSQL expects.
 *
 * Every message is one line on stderr, prefixed with the program name; the
 * store's texts come from objectstore.c, which scrubs credentials.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <archive.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "barman.h"
#include "objectstore.h"
#include "walrestore_conf.h"
#include "walspool.h"
#include "wal_restore_shim.h"

#define EXIT_NOT_FOUND	1
#define EXIT_FATAL		128

/* a WAL object of the listing */
typedef struct WalObject
{
	char	   *name;			/* WAL name, without the suffix */
	char	   *key;
	int64		size;			/* as listed: a shorter answer is resumed */
	CbCompression compression;
} WalObject;

/* one file being fetched */
typedef struct Fetch
{
	WalObject	obj;
	char	   *path;			/* %p, or <spool_dir>/<name> */
	char	   *tmp;			/* path + ".tmp" */
	int			fd;
	int			zfd;			/* the compressed object, in an unlinked
								 * file beside tmp; -1 when plain */
	int64		limit;			/* bytes the WAL file may have */
	int64		received;
	bool		too_big;		/* more than limit: the GET was stopped */
	int			write_errno;	/* a failed write to fd */
} Fetch;

static volatile sig_atomic_t got_sigterm = false;

/* temporary files to remove at exit: NULL once renamed */
static char *temp_files[CB_WALRESTORE_MAX_PREFETCH];
static int	ntemp_files;

/* the largest WAL file: the segment size, or PostgreSQL's limit */
static int64 wal_file_max = CB_WALRESTORE_MAX_SEGMENT;

static int	fail_status = EXIT_FATAL;

/* the detached prefetcher: its failures are not PostgreSQL's */
static bool in_background = false;

/* ---------- signals, exit, messages ---------- */

static void
sigterm_handler(int sig)
{
	got_sigterm = true;
}

static void
remove_temp_files(void)
{
	for (int i = 0; i < ntemp_files; i++)
		if (temp_files[i] != NULL)
			unlink(temp_files[i]);
}

/* end by the signal PostgreSQL sent, so that it sees a shutdown */
static void
die_by_sigterm(void)
{
	remove_temp_files();
	ntemp_files = 0;
	signal(SIGTERM, SIG_DFL);
	raise(SIGTERM);
	wr_exit(EXIT_FATAL);		/* not reached */
}

static void
setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigterm_handler;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* first registered, last run: an unexpected exit is a failure */
	wr_guard_exits();
	atexit(remove_temp_files);
}

static void pg_attribute_printf(2, 3)
complain(const char *level, const char *fmt,...)
{
	va_list		ap;

	if (in_background && strcmp(level, "ERROR") == 0)
		level = "WARNING";
	fprintf(stderr, "%s%s: %s: ", WR_PROGNAME, in_background ? " (prefetch)" : "", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* a failure of the store for what; exits */
static void pg_attribute_noreturn()
store_failure(const char *what, const CbOsError *err)
{
	if (got_sigterm)
		die_by_sigterm();
	complain("ERROR", "could not fetch %s: %s%s%s%s", what, err->message,
			 err->hint ? " (" : "", err->hint ? err->hint : "",
			 err->hint ? ")" : "");
	wr_exit(fail_status);
}

/* ---------- the wait function of the S3 client ---------- */

/* ---------- files ---------- */

static bool
write_all(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= n;
	}
	return true;
}

/* across file systems: copy, then remove the source */
static bool
copy_file(const char *from, const char *to)
{
	char		buf[65536];
	char	   *tmp = psprintf("%s.tmp", to);
	int			in = open(from, O_RDONLY | O_CLOEXEC);
	int			out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t		n = 0;
	bool		ok = in >= 0 && out >= 0;

	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write_all(out, buf, n);
	ok = ok && n == 0 && fsync(out) == 0;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		ok = false;
	ok = ok && rename(tmp, to) == 0;
	if (!ok)
		unlink(tmp);
	else
		unlink(from);
	return ok;
}

/* step 1: a segment prefetched by an earlier call */
static bool
take_from_spool(const char *spool_dir, const char *name, const char *dest)
{
	char	   *path = psprintf("%s/%s", spool_dir, name);

	if (rename(path, dest) == 0)
		return true;
	if (errno == ENOENT)
		return false;
	if (errno == EXDEV && copy_file(path, dest))
		return true;
	complain("WARNING", "could not move \"%s\" to \"%s\", fetching it again: %m",
			 path, dest);
	unlink(path);
	return false;
}

/* ---------- listing ---------- */

/* the WAL objects under prefix, in the store's (key) order */
static int
list_wal_objects(CbOsClient *client, const char *prefix, WalObject **objects)
{
	CbOsListing listing;
	CbOsError	err;
	int			n = 0;

	if (cb_os_list(client, prefix, NULL, 0, &listing, &err) != CB_OS_OK)
		store_failure(psprintf("the listing of %s", cb_os_url(client, prefix)), &err);
	*objects = palloc0(sizeof(WalObject) * (listing.nobjects + 1));
	for (int i = 0; i < listing.nobjects; i++)
	{
		const char *key = listing.objects[i].key;
		const char *slash = strrchr(key, '/');
		WalObject  *o = &(*objects)[n];

		if (!cb_barman_parse_wal_object(slash ? slash + 1 : key, &o->name,
										&o->compression))
			continue;
		o->key = pstrdup(key);
		o->size = listing.objects[i].size;
		n++;
	}
	return n;
}

static uint32
segment_number(const char *name)
{
	return (uint32) strtoul(name + 16, NULL, 16);
}

/*
 * The object of name, then (for a segment) the consecutive segments that
 * follow it in the folder, up to max in all.  The folder is one timeline
 * and one log, so "consecutive" is the last 8 hex digits plus one.
 */
static int
choose_batch(WalObject *objs, int n, const char *name, int max,
			 WalObject *batch)
{
	int			count = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(objs[i].name, name) == 0)
			break;
	if (i == n)
		return 0;
	batch[count++] = objs[i];
	if (cb_barman_wal_kind(name) != CB_WAL_SEGMENT)
		return count;
	for (i++; i < n && count < max; i++)
	{
		const WalObject *prev = &batch[count - 1];

		if (cb_barman_wal_kind(objs[i].name) != CB_WAL_SEGMENT ||
			strcmp(objs[i].name, prev->name) == 0)
			continue;			/* a .backup, or a second suffix of one */
		if (segment_number(objs[i].name) != segment_number(prev->name) + 1 ||
			objs[i].compression == CB_COMPRESSION_SNAPPY)
			break;
		batch[count++] = objs[i];
	}
	return count;
}

/* ---------- decompression ---------- */

static int
filter_code(CbCompression c)
{
	switch (c)
	{
		case CB_COMPRESSION_GZIP:
			return ARCHIVE_FILTER_GZIP;
		case CB_COMPRESSION_BZIP2:
			return ARCHIVE_FILTER_BZIP2;
		case CB_COMPRESSION_XZ:
			return ARCHIVE_FILTER_XZ;
		case CB_COMPRESSION_ZSTD:
			return ARCHIVE_FILTER_ZSTD;
		case CB_COMPRESSION_LZ4:
			return ARCHIVE_FILTER_LZ4;
		default:
			return ARCHIVE_FILTER_NONE;
	}
}

/* "more than N bytes": the reason a WAL file is refused */
static char *
too_big(const Fetch *f, const char *how)
{
	return psprintf("the object holds more than " INT64_FORMAT " bytes%s, more than a WAL file of this cluster",
					f->limit, how);
}

/* the compressed object (f->zfd), decompressed into f->fd; NULL or why not */
static char *
decompress(Fetch *f)
{
	static char buf[256 * 1024];
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	la_ssize_t	n;
	int64		total = 0;
	char	   *why = NULL;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (lseek(f->zfd, 0, SEEK_SET) != 0)
		why = psprintf("could not read back \"%s\": %m", f->tmp);
	else if (archive_read_open_fd(a, f->zfd, 64 * 1024) != ARCHIVE_OK ||
			 archive_read_next_header(a, &entry) != ARCHIVE_OK)
		why = psprintf("not readable as %s data: %s",
					   cb_compression_name(f->obj.compression),
					   archive_error_string(a) ? archive_error_string(a) : "empty");
	else if (archive_filter_code(a, 0) != filter_code(f->obj.compression))
		why = psprintf("not %s data (the suffix says it is)",
					   cb_compression_name(f->obj.compression));
	while (why == NULL && (n = archive_read_data(a, buf, sizeof(buf))) != 0)
	{
		if (n < 0)
			why = psprintf("corrupt %s data: %s", cb_compression_name(f->obj.compression),
						   archive_error_string(a));
		else if (total + n > f->limit)
			why = too_big(f, " once decompressed");
		else if (!write_all(f->fd, buf, n))
			why = psprintf("could not write \"%s\": %m", f->tmp);
		total += n > 0 ? n : 0;
	}
	if (why == NULL && total == 0)
		why = pstrdup("decompressed to nothing");
	archive_read_free(a);
	return why;
}

/* ---------- fetching ---------- */

/*
 * The largest compressed object that can hold f->limit bytes: gzip, bzip2,
 * xz, zstd and lz4 add well under 1/16 to data that does not compress.
 */
static int64
compressed_limit(const Fetch *f)
{
	return f->limit + f->limit / 16 + 1024 * 1024;
}

/*
 * GET callback: plain bytes straight to the file, compressed ones to a
 * file of their own (never to memory: an object may be as large as a
 * store lets it be), each within its bound.
 */
static bool
receive(void *arg, const char *data, size_t len)
{
	Fetch	   *f = arg;
	bool		plain = f->obj.compression == CB_COMPRESSION_NONE;

	f->received += len;
	if (f->received > (plain ? f->limit : compressed_limit(f)))
	{
		f->too_big = true;
		return false;
	}
	if (write_all(plain ? f->fd : f->zfd, data, len))
		return true;
	f->write_errno = errno;
	return false;
}

static bool
open_temp(Fetch *f, const WalObject *obj, const char *path)
{
	f->obj = *obj;
	f->path = pstrdup(path);
	f->tmp = psprintf("%s.tmp", path);
	f->limit = wal_file_max;
	f->zfd = -1;
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->fd < 0)
		return false;
	temp_files[ntemp_files++] = f->tmp;
	if (obj->compression != CB_COMPRESSION_NONE)
	{
		char	   *z = psprintf("%s.z", f->tmp);

		/* unlinked at once: nothing to clean up, whatever happens */
		unlink(z);
		f->zfd = open(z, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f->zfd < 0 || unlink(z) != 0)
			return false;
	}
	return true;
}

/*
 * After its GET (failed: the store's reason, else NULL): decompress,
 * fsync, close, rename; NULL or why not.  The file is fsynced before its
 * rename and the directory after it: a crash never leaves a WAL file
 * under its final name with contents that did not reach the disk.
 */
static char *
finish_file(Fetch *f, const char *failed)
{
	char	   *why = failed ? pstrdup(failed) : NULL;

	if (why == NULL && f->too_big)
		why = too_big(f, f->obj.compression == CB_COMPRESSION_NONE ? "" : " (compressed)");
	else if (why == NULL && f->write_errno != 0)
	{
		errno = f->write_errno;
		why = psprintf("could not write \"%s\": %m", f->tmp);
	}
	else if (why == NULL && f->obj.compression != CB_COMPRESSION_NONE)
		why = decompress(f);
	if (f->zfd >= 0)
		close(f->zfd);
	if (why == NULL && fsync(f->fd) != 0)
		why = psprintf("could not fsync \"%s\": %m", f->tmp);
	if (close(f->fd) != 0 && why == NULL)
		why = psprintf("could not write \"%s\": %m", f->tmp);
	if (why == NULL && rename(f->tmp, f->path) != 0)
		why = psprintf("could not rename \"%s\" to \"%s\": %m", f->tmp, f->path);
	if (why == NULL && !cb_fsync_parent_dir(f->path))
		complain("WARNING", "could not fsync the directory of \"%s\": %m", f->path);
	if (why != NULL)
		unlink(f->tmp);
	for (int i = 0; i < ntemp_files; i++)
		if (temp_files[i] == f->tmp)
			temp_files[i] = NULL;
	return why;
}

/* the files of the batch, %p first; how many could be opened */
static int
open_batch(const CbWalRestoreConf *conf, const char *dest, WalObject *batch,
		   int n, Fetch *fetches)
{
	int			opened;

	if (!open_temp(&fetches[0], &batch[0], dest))
	{
		complain("ERROR", "could not create \"%s.tmp\": %m", dest);
		wr_exit(fail_status);
	}
	if (n > 1 && mkdir(conf->spool_dir, 0700) != 0 && errno != EEXIST)
	{
		complain("WARNING", "could not create spool directory \"%s\", not prefetching: %m",
				 conf->spool_dir);
		return 1;
	}
	for (opened = 1; opened < n; opened++)
		if (!open_temp(&fetches[opened], &batch[opened],
					   psprintf("%s/%s", conf->spool_dir, batch[opened].name)))
		{
			complain("WARNING", "could not create \"%s/%s.tmp\", prefetching less: %m",
					 conf->spool_dir, batch[opened].name);
			break;
		}
	return opened;
}

/* GET the batch at once, then write the files; exits on a failure of %f */
static void
fetch_batch(CbOsClient *client, const CbWalRestoreConf *conf,
			const char *dest, WalObject *batch, int n)
{
	Fetch		fetches[CB_WALRESTORE_MAX_PREFETCH];
	CbOsGetRequest reqs[CB_WALRESTORE_MAX_PREFETCH];

	memset(fetches, 0, sizeof(fetches));
	memset(reqs, 0, sizeof(reqs));
	n = open_batch(conf, dest, batch, n, fetches);
	for (int i = 0; i < n; i++)
	{
		reqs[i].key = fetches[i].obj.key;
		reqs[i].length = -1;
		reqs[i].expect_size = fetches[i].obj.size;
		reqs[i].fn = receive;
		reqs[i].arg = &fetches[i];
	}
	cb_os_get_many(client, n, reqs);
	if (got_sigterm)
		die_by_sigterm();
	for (int i = 0; i < n; i++)
	{
		char	   *why = NULL;
		/* stopped by receive(): finish_file says why */
		bool		stopped = fetches[i].too_big || fetches[i].write_errno != 0;

		if (reqs[i].status == CB_OS_NOT_FOUND && i == 0)
		{
			complain("LOG", "WAL file %s was removed from the archive meanwhile", batch[0].name);
			wr_exit(EXIT_NOT_FOUND);
		}
		if (reqs[i].status != CB_OS_OK && !stopped && i == 0)
			store_failure(psprintf("WAL file %s", batch[0].name), &reqs[0].err);
		why = finish_file(&fetches[i], reqs[i].status != CB_OS_OK && !stopped ?
						  reqs[i].err.message : NULL);
		if (why != NULL && i == 0)
		{
			complain("ERROR", "could not restore WAL file %s: %s", batch[0].name, why);
			wr_exit(fail_status);
		}
		if (why != NULL)
			complain("WARNING", "could not prefetch WAL file %s: %s", batch[i].name, why);
	}
}

static CbOsClient *
make_client(const CbWalRestoreConf *conf)
{
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *client;

	memset(&cfg, 0, sizeof(cfg));
	cb_walrestore_conf_to_os(conf, &cfg);
	cfg.max_parallel = conf->prefetch;
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &got_sigterm;
	if ((client = cb_os_client_create(&cfg, &err)) == NULL)
	{
		complain("ERROR", "%s", err.message);
		wr_exit(fail_status);
	}
	return client;
}

/*
 * <spool_dir>/.end-of-archive names the first segment the store does not
 * have: the worker waits for it to know that a replica cluster has
 * replayed everything archived so far (PostgreSQL does not say so).
 */
static void
mark_end_of_archive(const CbWalRestoreConf *conf, const char *name)
{
	char	   *path = psprintf("%s/" CB_WALSPOOL_END_OF_ARCHIVE, conf->spool_dir);
	char	   *tmp = psprintf("%s.tmp", path);
	FILE	   *f = fopen(tmp, "w");

	if (f == NULL || fprintf(f, "%s\n", name) < 0 || fclose(f) != 0 ||
		rename(tmp, path) != 0)
		complain("WARNING", "could not write \"%s\": %s", path, strerror(errno));
}

/* ---------- the background prefetcher ---------- */

#define PREFETCH_IDLE_EXIT_MS	30000
#define PREFETCH_POLL_MS		20
#define PREFETCH_TMP_WAIT_MS	30000

/* segments waiting in the spool */
static int
spool_depth(const char *spool_dir)
{
	DIR		   *dir = opendir(spool_dir);
	struct dirent *de;
	int			n = 0;

	while (dir && (de = readdir(dir)) != NULL)
		if (strlen(de->d_name) == 24 && cb_barman_wal_kind(de->d_name) == CB_WAL_SEGMENT)
			n++;
	if (dir)
		closedir(dir);
	return n;
}

/*
 * The segments that follow `last` in the store, consecutive, at most max;
 * the folder of `last`, then the next one (a new log id).
 */
static int
batch_after(CbOsClient *client, const CbWalRestoreConf *conf, const char *last,
			int max, WalObject *batch)
{
	uint32		tli,
				log,
				seg;

	if (sscanf(last, "%08X%08X%08X", &tli, &log, &seg) != 3)
		return 0;
	for (int folder = 0; folder < 2; folder++)
	{
		char	   *dir = psprintf("%s/wals/%08X%08X/", conf->server_name, tli, log + folder);
		WalObject  *objs;
		int			n = list_wal_objects(client, dir, &objs);

		for (int i = 0; i < n; i++)
			if (cb_barman_wal_kind(objs[i].name) == CB_WAL_SEGMENT &&
				strncmp(objs[i].name, last, 8) == 0 &&
				segment_number(objs[i].name) == segment_number(last) + 1)
				return choose_batch(objs, n, objs[i].name, max, batch);
	}
	return 0;
}

/* the last miss (note_miss) was on another timeline than `last`'s */
static bool
other_timeline_wanted(const CbWalRestoreConf *conf, const char *last)
{
	FILE	   *f = fopen(psprintf("%s/.wanted", conf->spool_dir), "r");
	char		wanted[64] = "";
	bool		other;

	if (f == NULL)
		return false;
	other = fgets(wanted, sizeof(wanted), f) != NULL && strncmp(wanted, last, 8) != 0;
	fclose(f);
	return other;
}

/*
 * Keeps up to twice `prefetch` segments in the spool while PostgreSQL
 * replays, so that downloads overlap replay instead of stopping it every
 * `prefetch` segments.  One at a time (an flock on <spool>/.prefetcher);
 * ends at the end of the archive, on any failure (the foreground fetches
 * what is missing), when PostgreSQL follows another timeline, when the
 * worker says recovery has ended (<spool>/.stop), or when nothing is taken
 * from the spool for 30 s.
 */
static void
run_prefetcher(const CbWalRestoreConf *conf, const char *after)
{
	CbOsClient *client = make_client(conf);
	char	   *last = pstrdup(after);
	int			idle_ms = 0;
	int			depth = -1;

	while (!got_sigterm && idle_ms < PREFETCH_IDLE_EXIT_MS)
	{
		WalObject	batch[CB_WALRESTORE_MAX_PREFETCH];
		int			now = spool_depth(conf->spool_dir);
		int			n;

		if (other_timeline_wanted(conf, last) ||
			access(psprintf("%s/" CB_WALSPOOL_STOP, conf->spool_dir), F_OK) == 0)
			break;				/* another timeline, or recovery has ended */
		idle_ms = now < depth || now < conf->prefetch ? 0 : idle_ms;
		depth = now;
		if (now >= 2 * conf->prefetch)
		{
			pg_usleep(PREFETCH_POLL_MS * 1000L);
			idle_ms += PREFETCH_POLL_MS;
			continue;
		}
		n = batch_after(client, conf, last, conf->prefetch, batch);
		if (n == 0 || batch[0].compression == CB_COMPRESSION_SNAPPY)
			break;				/* the end of the archive, for now */
		fetch_batch(client, conf, psprintf("%s/%s", conf->spool_dir, batch[0].name),
					batch, n);
		last = batch[n - 1].name;
	}
	cb_os_client_free(client);
}

/* a detached process (double fork: nobody's child, no zombie) */
static void
start_prefetcher(const CbWalRestoreConf *conf, const char *after)
{
	char	   *lock = psprintf("%s/" CB_WALSPOOL_PREFETCHER, conf->spool_dir);
	int			fd;
	pid_t		pid;

	if (mkdir(conf->spool_dir, 0700) != 0 && errno != EEXIST)
	{
		complain("WARNING", "could not create spool directory \"%s\", not prefetching: %m",
				 conf->spool_dir);
		return;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		if (fd >= 0)
			close(fd);
		return;					/* one is running: it keeps the spool full */
	}
	fflush(stderr);
	if ((pid = fork()) != 0)
	{
		close(fd);				/* the lock stays with the prefetcher's copy */
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	in_background = true;
	ntemp_files = 0;
	run_prefetcher(conf, after);
	_exit(0);
}

/*
 * A miss while the prefetcher is downloading that very segment: wait for
 * it rather than fetch it twice.  True if it may be in the spool now.
 */
static bool
wait_for_prefetcher(const char *spool_dir, const char *name)
{
	char	   *tmp = psprintf("%s/%s.tmp", spool_dir, name);
	int			waited = 0;

	if (access(tmp, F_OK) != 0)
		return false;
	while (access(tmp, F_OK) == 0 && waited < PREFETCH_TMP_WAIT_MS)
	{
		if (got_sigterm)
			die_by_sigterm();
		pg_usleep(5 * 1000L);
		waited += 5;
	}
	return true;
}

/*
 * A miss: what the spool still holds at or before %f will never be asked
 * for (a race with the prefetcher, or another timeline), and the
 * prefetcher is told which timeline PostgreSQL follows.
 */
static void
note_miss(const CbWalRestoreConf *conf, const char *name)
{
	DIR		   *dir = opendir(conf->spool_dir);
	struct dirent *de;
	char	   *wanted = psprintf("%s/.wanted", conf->spool_dir);
	FILE	   *f;

	while (dir && (de = readdir(dir)) != NULL)
		if (strlen(de->d_name) == 24 && cb_barman_wal_kind(de->d_name) == CB_WAL_SEGMENT &&
			strcmp(de->d_name, name) <= 0)
			unlink(psprintf("%s/%s", conf->spool_dir, de->d_name));
	if (dir)
		closedir(dir);
	if ((f = fopen(wanted, "w")) != NULL)
	{
		fprintf(f, "%s\n", name);
		fclose(f);
	}
}

/* step 2 and 3: from the store */
static int
fetch_from_store(const CbWalRestoreConf *conf, const char *name,
				 const char *dest)
{
	char	   *dir = cb_barman_wal_dir(conf->server_name, name);
	bool		segment = cb_barman_wal_kind(name) == CB_WAL_SEGMENT;
	CbOsClient *client;
	WalObject  *objs;
	WalObject	batch[CB_WALRESTORE_MAX_PREFETCH];
	int			n;

	if (segment && wait_for_prefetcher(conf->spool_dir, name) &&
		take_from_spool(conf->spool_dir, name, dest))
		return 0;
	if (segment)
		note_miss(conf, name);
	/* the name as a prefix: its object, whatever its compression suffix */
	client = make_client(conf);
	n = list_wal_objects(client, psprintf("%s%s", dir, name), &objs);
	n = choose_batch(objs, n, name, 1, batch);
	if (n == 0)
	{
		complain("LOG", "WAL file %s not found in %s", name,
				 cb_os_url(client, dir));
		if (segment)
			mark_end_of_archive(conf, name);
		return EXIT_NOT_FOUND;
	}
	if (batch[0].compression == CB_COMPRESSION_SNAPPY)
	{
		complain("ERROR", "WAL file %s is snappy-compressed, which %s cannot read (use gzip, bzip2 or another wal.compression)",
				 name, WR_PROGNAME);
		return fail_status;
	}
	/* %f alone: PostgreSQL waits for it; what follows comes in the background */
	fetch_batch(client, conf, dest, batch, 1);
	cb_os_client_free(client);
	if (segment && conf->prefetch > 1)
		start_prefetcher(conf, name);
	return 0;
}

static int
restore(int argc, char **argv)
{
	CbWalRestoreConf conf;
	const char *name;
	const char *dest;
	char	   *errmsg;

	if (argc != 4)
	{
		fprintf(stderr, "usage: %s CONFIG-FILE %%f %%p\n", WR_PROGNAME);
		return EXIT_FATAL;
	}
	name = argv[2];
	dest = argv[3];
	setup_signals();
	if (!cb_walrestore_conf_read(argv[1], &conf, &errmsg))
	{
		complain("ERROR", "%s", errmsg);
		return EXIT_FATAL;
	}
	fail_status = wr_error_exit_status = conf.standby ? 1 : EXIT_FATAL;
	if (conf.wal_segment_size > 0)
		wal_file_max = conf.wal_segment_size;
	/* also keeps '/' and ".." out of the spool's paths */
	if (cb_barman_wal_kind(name) == CB_WAL_NONE)
	{
		complain("ERROR", "\"%s\" is not a WAL file name", name);
		return fail_status;
	}
	if (take_from_spool(conf.spool_dir, name, dest))
		return 0;
	return fetch_from_store(&conf, name, dest);
}

int
main(int argc, char **argv)
{
	wr_exit(restore(argc, argv));
}
