/*-------------------------------------------------------------------------
 *
 * tarextract.c
 *	  The members of a base backup's tar, written into a new data directory
 *	  as if the archive were hostile (docs/cnpg-rules.md §9.2, issue 11 item 8).
 *
 * What an archive may do is what a PostgreSQL data directory holds:
 * regular files and directories.  A FIFO, a device, a socket or a hard
 * link is refused, naming the member (a FIFO at global/pg_control would
 * block the worker in open(2) for ever); symbolic links are never made
 * (pg_tblspc's links are ours, to tablespace folders of our own), and PGDATA's
 * tablespace_map is left out, as barman's own recovery does, since it
 * would have PostgreSQL link tablespaces to wherever it says.
 *
 * Modes are ours, not the archive's: files 0600, directories 0700, what
 * initdb makes (never setuid, setgid, sticky, group or world bits).
 * Every path is walked one component at a time from the destination with
 * O_NOFOLLOW, and files are created with O_EXCL: nothing that exists is
 * followed or reused.  Sizes are bounded: a member at most what a data
 * file can be (1 GB), all members together what CbTarBudget allows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "fsutil.h"
#include "tarextract.h"

/* a relation segment (RELSEG_SIZE blocks) or a WAL segment: 1 GB at most */
#define TAR_MEMBER_MAX	Max((int64) RELSEG_SIZE * BLCKSZ, (int64) 1024 * 1024 * 1024)
#define TAR_BUF_SIZE	(256 * 1024)

typedef struct Extract
{
	const char *file;			/* the tar, for messages */
	const char *name;			/* the member, as the archive names it */
	CbTarBudget *budget;
	char	   *buf;
	int			rootfd;			/* the destination */
	int			dirfd;			/* the member's folder, or -1 */
	int			fd;				/* the member, or -1 */
} Extract;

static void pg_attribute_noreturn()
refuse(Extract *x, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not restore %s: member \"%s\" %s", x->file, x->name, why)));
}

void
cb_tar_budget_init(CbTarBudget *budget, const CbBarmanBackup *backup, const char *dir)
{
	const char *size = cb_barman_info_get(backup, "size");
	int64		avail;
	int64		total;
	char	   *end;
	int64		declared = size ? strtoll(size, &end, 10) : 0;

	budget->used = 0;
	budget->max = PG_INT64_MAX;
	budget->why = NULL;
	if (size && *end == '\0' && declared > 0 && declared < PG_INT64_MAX / 2)
	{
		budget->max = declared + declared / 100 + 1024 * 1024;
		budget->why = psprintf("the " INT64_FORMAT " bytes backup.info declares for the backup (plus 1%% and 1 MB)",
							   declared);
	}
	if (cb_fs_space(dir, &avail, &total))
	{
		int64		reserve = total / 50;

		if (avail - reserve < budget->max)
		{
			budget->max = Max(avail - reserve, 0);
			budget->why = psprintf("the free space of the file system holding \"%s\" (" INT64_FORMAT " bytes, 2%% of it kept free)",
								   dir, avail);
		}
	}
}

/* "./a//b/./c/" -> "a/b/c"; NULL for the archive's root */
static char *
clean_name(Extract *x)
{
	StringInfoData out;
	const char *p = x->name;

	if (p[0] == '/')
		refuse(x, "is an absolute path");
	initStringInfo(&out);
	while (*p)
	{
		const char *end = strchr(p, '/') ? strchr(p, '/') : p + strlen(p);
		size_t		len = end - p;

		if (len == 2 && p[0] == '.' && p[1] == '.')
			refuse(x, "leaves its folder (\"..\")");
		if (len > 0 && !(len == 1 && p[0] == '.'))
		{
			if (out.len > 0)
				appendStringInfoChar(&out, '/');
			appendBinaryStringInfo(&out, p, len);
		}
		p = *end ? end + 1 : end;
	}
	return out.len > 0 ? out.data : NULL;
}

/*
 * The folder of rel, each component opened from the destination without
 * following a link and made (0700) where missing; x->dirfd, and the last
 * component's name in *base.
 */
static void
open_parent(Extract *x, char *rel, const char **base)
{
	char	   *p = rel;
	char	   *slash;

	x->dirfd = dup(x->rootfd);
	if (x->dirfd < 0)
		refuse(x, psprintf("could not be written: %m"));
	while ((slash = strchr(p, '/')) != NULL)
	{
		int			next;

		*slash = '\0';
		next = openat(x->dirfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT &&
			(mkdirat(x->dirfd, p, S_IRWXU) == 0 || errno == EEXIST))
			next = openat(x->dirfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			refuse(x, psprintf("cannot be reached through \"%s\": %m", p));
		close(x->dirfd);
		x->dirfd = next;
		p = slash + 1;
	}
	*base = p;
}

static void
write_all(Extract *x, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(x->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			refuse(x, psprintf("could not be written: %m"));
		data += n;
		len -= n;
	}
}

/* a regular member's bytes into a new file of mode 0600 */
static void
write_file(Extract *x, struct archive *in, const char *base)
{
	int64		written = 0;
	la_ssize_t	n;

	x->fd = openat(x->dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				   S_IRUSR | S_IWUSR);
	if (x->fd < 0)
		refuse(x, psprintf("could not be created: %m"));
	while ((n = archive_read_data(in, x->buf, TAR_BUF_SIZE)) > 0)
	{
		written += n;
		if (written > TAR_MEMBER_MAX)
			refuse(x, psprintf("is larger than a data file can be (" INT64_FORMAT " bytes)",
							   TAR_MEMBER_MAX));
		if (n > x->budget->max - x->budget->used)
			refuse(x, psprintf("goes past %s", x->budget->why));
		x->budget->used += n;
		write_all(x, x->buf, n);
		CHECK_FOR_INTERRUPTS();
	}
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not restore %s: reading \"%s\": %s", x->file, x->name,
						archive_error_string(in) ? archive_error_string(in) : "unknown error")));
	/* exactly 0600, whatever the umask */
	if (fchmod(x->fd, S_IRUSR | S_IWUSR) != 0 || close(x->fd) != 0)
	{
		x->fd = -1;
		refuse(x, psprintf("could not be written: %m"));
	}
	x->fd = -1;
}

static const char *
type_name(mode_t type)
{
	switch (type)
	{
		case AE_IFIFO:
			return "a FIFO";
		case AE_IFCHR:
			return "a character device";
		case AE_IFBLK:
			return "a block device";
		case AE_IFSOCK:
			return "a socket";
		default:
			return "of an unknown type";
	}
}

static void
extract_member(Extract *x, struct archive *in, struct archive_entry *e, bool is_data)
{
	mode_t		type = archive_entry_filetype(e);
	char	   *rel;
	const char *base;

	x->name = archive_entry_pathname(e) ? pstrdup(archive_entry_pathname(e)) : "";
	rel = clean_name(x);
	if (archive_entry_hardlink(e) != NULL)
		refuse(x, "is a hard link (a data directory has none)");
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		refuse(x, psprintf("is %s, not a regular file or directory", type_name(type)));
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > TAR_MEMBER_MAX)
		refuse(x, psprintf("declares " INT64_FORMAT " bytes, more than a data file can hold (" INT64_FORMAT ")",
						   (int64) archive_entry_size(e), TAR_MEMBER_MAX));
	if (archive_entry_size_is_set(e) &&
		archive_entry_size(e) > x->budget->max - x->budget->used)
		refuse(x, psprintf("of " INT64_FORMAT " bytes goes past %s",
						   (int64) archive_entry_size(e), x->budget->why));

	/* the root; a symbolic link (never made); an archive's tablespace_map */
	if (rel == NULL || type == AE_IFLNK ||
		(is_data && strcmp(rel, "tablespace_map") == 0))
	{
		if (rel && type != AE_IFLNK)
			ereport(LOG,
					(errmsg("cnpg_bootstrap: %s: tablespace_map left out (tablespaces are linked to folders of our own)",
							x->file)));
		return;
	}
	open_parent(x, rel, &base);
	if (type == AE_IFREG)
		write_file(x, in, base);
	else if (mkdirat(x->dirfd, base, S_IRWXU) != 0)
	{
		struct stat st;

		if (errno != EEXIST ||
			fstatat(x->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			refuse(x, "cannot be made a directory: something else has its name");
	}
	close(x->dirfd);
	x->dirfd = -1;
}

void
cb_tar_extract(struct archive *in, const char *dest, bool is_data,
			   const char *file, CbTarBudget *budget)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext member = AllocSetContextCreate(outer, "cnpg_bootstrap tar member",
												 ALLOCSET_DEFAULT_SIZES);
	Extract    *x = palloc0(sizeof(Extract));
	struct archive_entry *e;
	int			rc;

	x->file = file;
	x->budget = budget;
	x->buf = palloc(TAR_BUF_SIZE);
	x->dirfd = x->fd = -1;
	x->rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x->rootfd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s\": %m", dest)));
	PG_TRY();
	{
		while ((rc = archive_read_next_header(in, &e)) == ARCHIVE_OK)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(member);
			extract_member(x, in, e, is_data);
			MemoryContextSwitchTo(outer);
			MemoryContextReset(member);
		}
		if (rc != ARCHIVE_EOF)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not restore %s: reading: %s", file,
							archive_error_string(in) ? archive_error_string(in) : "unknown error")));
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(outer);
		if (x->fd >= 0)
			close(x->fd);
		if (x->dirfd >= 0)
			close(x->dirfd);
		close(x->rootfd);
	}
	PG_END_TRY();
	MemoryContextDelete(member);
	pfree(x->buf);
	pfree(x);
}
