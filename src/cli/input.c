/*-------------------------------------------------------------------------
 *
 * input.c
 *	  cnpg-bootstrap: -f FILE|DIR|- into manifests.  A directory gives its
 *	  *.yaml, *.yml and *.json files in name order (not recursively, hidden
 *	  files left out), as kubectl apply -f DIR does.  Each manifest is sent
 *	  whole to the server, which parses it: errors come back with the line
 *	  and column in that file.  Sizes are bounded by the server's own limit;
 *	  a NUL byte, which a text parameter cannot carry, is refused here.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* read at most CLI_MAX_MANIFEST bytes of fd; false (error printed) if more */
static bool
read_all(int fd, const char *name, CliManifest *m)
{
	size_t		cap = 64 * 1024;
	size_t		len = 0;
	char	   *buf = malloc(cap + 1);
	char	   *nul;

	if (buf == NULL)
	{
		cli_error("out of memory");
		return false;
	}
	for (;;)
	{
		ssize_t		r;

		if (len == cap)
		{
			char	   *nbuf;

			if (cap > CLI_MAX_MANIFEST)
			{
				cli_error("%s: the manifest is larger than %d bytes", name, CLI_MAX_MANIFEST);
				free(buf);
				return false;
			}
			/* one byte past the limit tells a larger manifest */
			cap = cap * 2 > CLI_MAX_MANIFEST ? CLI_MAX_MANIFEST + 1 : cap * 2;
			nbuf = realloc(buf, cap + 1);
			if (nbuf == NULL)
			{
				cli_error("out of memory");
				free(buf);
				return false;
			}
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			cli_error("could not read \"%s\": %s", name, strerror(errno));
			free(buf);
			return false;
		}
		if (r == 0)
			break;
		len += (size_t) r;
	}
	if (len > CLI_MAX_MANIFEST)
	{
		cli_error("%s: the manifest is larger than %d bytes", name, CLI_MAX_MANIFEST);
		free(buf);
		return false;
	}
	buf[len] = '\0';
	nul = memchr(buf, '\0', len);
	if (nul)
	{
		int			line = 1;
		int			column = 1;

		for (const char *p = buf; p < nul; p++)
		{
			if (*p == '\n')
				line++, column = 1;
			else if (((unsigned char) *p & 0xC0) != 0x80)
				column++;
		}
		cli_error("%s:%d:%d: the manifest holds a NUL byte", name, line, column);
		free(buf);
		return false;
	}
	m->name = strdup(name);
	m->text = buf;
	m->len = len;
	return m->name != NULL;
}

static bool
read_file(const char *path, CliManifest *m)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	bool		ok;

	if (fd < 0)
	{
		cli_error("could not open \"%s\": %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		cli_error("\"%s\" is not a regular file", path);
		close(fd);
		return false;
	}
	ok = read_all(fd, path, m);
	close(fd);
	return ok;
}

static bool
manifest_suffix(const char *name)
{
	static const char *const suffixes[] = {".yaml", ".yml", ".json"};
	size_t		len = strlen(name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
	{
		size_t		sl = strlen(suffixes[i]);

		if (len > sl && strcmp(name + len - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* append one manifest to the growing array */
static bool
push(CliManifest **out, int *n, int *cap, CliManifest *m)
{
	if (*n == *cap)
	{
		CliManifest *nout;

		*cap = *cap ? *cap * 2 : 8;
		nout = realloc(*out, sizeof(CliManifest) * *cap);
		if (nout == NULL)
		{
			cli_error("out of memory");
			return false;
		}
		*out = nout;
	}
	(*out)[(*n)++] = *m;
	return true;
}

static bool
read_dir(const char *path, CliManifest **out, int *n, int *cap)
{
	DIR		   *d = opendir(path);
	struct dirent *de;
	char	  **names = NULL;
	int			nnames = 0;
	int			found = 0;
	bool		ok = true;

	if (d == NULL)
	{
		cli_error("could not open directory \"%s\": %s", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	  **nn;

		if (de->d_name[0] == '.' || !manifest_suffix(de->d_name))
			continue;
		nn = realloc(names, sizeof(char *) * (nnames + 1));
		if (nn == NULL)
		{
			ok = false;
			break;
		}
		names = nn;
		if (asprintf(&names[nnames], "%s%s%s", path,
					 path[strlen(path) - 1] == '/' ? "" : "/", de->d_name) < 0)
		{
			ok = false;
			break;
		}
		nnames++;
	}
	closedir(d);
	if (!ok)
	{
		cli_error("out of memory");
		return false;
	}
	qsort(names, nnames, sizeof(char *), name_cmp);
	for (int i = 0; i < nnames && ok; i++)
	{
		CliManifest m;
		struct stat st;

		/* a subdirectory named like a manifest is skipped, as kubectl does without -R */
		if (stat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		ok = read_file(names[i], &m) && push(out, n, cap, &m);
		found++;
	}
	for (int i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (ok && found == 0)
	{
		cli_error("no manifest (*.yaml, *.yml, *.json) in directory \"%s\"", path);
		return false;
	}
	return ok;
}

bool
cli_read_inputs(const CliOptions *opt, CliManifest **out, int *n)
{
	int			cap = 0;
	bool		stdin_read = false;

	*out = NULL;
	*n = 0;
	for (int i = 0; i < opt->nfiles; i++)
	{
		const char *f = opt->files[i];
		struct stat st;
		CliManifest m;

		if (strcmp(f, "-") == 0)
		{
			if (stdin_read)
			{
				cli_error("-f - may be given once");
				return false;
			}
			stdin_read = true;
			if (!read_all(STDIN_FILENO, "-", &m) || !push(out, n, &cap, &m))
				return false;
			continue;
		}
		if (stat(f, &st) == 0 && S_ISDIR(st.st_mode))
		{
			if (!read_dir(f, out, n, &cap))
				return false;
			continue;
		}
		if (!read_file(f, &m) || !push(out, n, &cap, &m))
			return false;
	}
	return true;
}
