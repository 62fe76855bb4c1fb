/*-------------------------------------------------------------------------
 *
 * procstat.c
 *	  Parse /proc/<pid>/stat.  The command name (field 2) may hold spaces
 *	  and parentheses: the fields after it start after the last ')'.
 *
 * Used where a pid alone proves nothing (it may have been recycled): the
 * child record compares start times and looks for members of a group or
 * session, the instance toolkit refuses a zombie postmaster.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "procstat.h"

bool
cb_proc_stat(pid_t pid, CbProcStat *ps)
{
	char		path[64];
	char		buf[2048];
	int			fd;
	ssize_t		n;
	char	   *p;
	int			field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return false;
	p += 2;
	memset(ps, 0, sizeof(*ps));
	ps->state = *p;
	/* p is at field 3; walk to fields 4, 5, 6 and 22 */
	for (field = 3; field < 22; field++)
	{
		p = strchr(p, ' ');
		if (p == NULL)
			return false;
		p++;
		if (field + 1 == 4)
			ps->ppid = (pid_t) strtol(p, NULL, 10);
		else if (field + 1 == 5)
			ps->pgrp = (pid_t) strtol(p, NULL, 10);
		else if (field + 1 == 6)
			ps->session = (pid_t) strtol(p, NULL, 10);
	}
	ps->start = strtoull(p, NULL, 10);
	return ps->start > 0;
}
