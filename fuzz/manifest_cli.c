/*-------------------------------------------------------------------------
 *
 * manifest_cli.c
 *	  Run the model on a manifest file without a server, and print what
 *	  cb_manifest_parse (and cb_manifest_validate, when linked) make of it.
 *
 * Usage: manifest_cli [-j] [-r] FILE...
 *	  -j  also print each document as cb_node_to_json gives it
 *	  -r  round trip: parse the JSON again and check it gives the same
 *		  documents (kind, name, ignored paths, JSON)
 *
 * Output per file: "FILE: OK" and one line per document (kind, name,
 * ignored paths, warnings), or "FILE: ERROR <sqlstate>" with the message,
 * detail and hint.  Exit status 1 if any file failed.
 *
 * Built against fuzz/pgshim.c; see fuzz/README.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/stringinfo.h"
#include "model.h"

extern void shim_reset(void);

/* validate.c may not be linked in: then only the parser runs */
#pragma weak cb_manifest_validate

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		perror(path);
		exit(2);
	}
	buf = palloc(size + 1);
	if (fread(buf, 1, size, f) != (size_t) size)
	{
		perror(path);
		exit(2);
	}
	fclose(f);
	buf[size] = '\0';
	*len = size;
	return buf;
}

/* ERRCODE_* packs five characters six bits each (MAKE_SQLSTATE) */
static const char *
sqlstate_text(int code)
{
	static char buf[6];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = (char) ((code & 0x3F) + '0');
		code >>= 6;
	}
	buf[5] = '\0';
	return buf;
}

static void
print_error(const char *path, const CbError *err)
{
	printf("%s: ERROR %s: %s\n", path, sqlstate_text(err->sqlstate), err->message);
	if (err->detail)
		printf("  DETAIL: %s\n", err->detail);
	if (err->hint)
		printf("  HINT: %s\n", err->hint);
}

static void
print_list(const char *what, const CbStringList *list)
{
	if (list->n == 0)
		return;
	printf("    %s:", what);
	for (int i = 0; i < list->n; i++)
		printf("%s %s", i ? "," : "", list->items[i]);
	printf("\n");
}

/* the JSON of every document, joined: what a round trip must preserve */
static char *
summary(const CbManifest *m)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < m->ndocs; i++)
	{
		const CbDocument *d = &m->docs[i];

		appendStringInfo(&buf, "%s/%s %s\n", d->kind_name, d->name,
						 cb_node_to_json(d->root));
		for (int j = 0; j < d->ignored_paths.n; j++)
			appendStringInfo(&buf, " ignored %s\n", d->ignored_paths.items[j]);
		for (int j = 0; j < d->warnings.n; j++)
			appendStringInfo(&buf, " warning %s\n", d->warnings.items[j]);
	}
	return buf.data;
}

/* each document alone through JSON and back must read the same */
static bool
round_trip(const char *path, const CbManifest *m)
{
	char	   *before = summary(m);
	StringInfoData json;
	CbManifest *again;
	CbError		err;

	initStringInfo(&json);
	for (int i = 0; i < m->ndocs; i++)
		appendStringInfo(&json, "---\n%s\n", cb_node_to_json(m->docs[i].root));
	if (!cb_manifest_parse(json.data, json.len, &again, &err))
	{
		print_error(path, &err);
		printf("%s: round trip FAILED: the JSON does not parse\n", path);
		return false;
	}
	if (strcmp(before, summary(again)) != 0)
	{
		printf("%s: round trip FAILED\n--- before\n%s--- after\n%s", path, before,
			   summary(again));
		return false;
	}
	return true;
}

static bool
run_file(const char *path, bool json, bool rt)
{
	size_t		len;
	char	   *text = read_file(path, &len);
	CbManifest *m;
	CbError		err;
	CbStringList existing = {0, NULL};

	if (!cb_manifest_parse(text, len, &m, &err))
	{
		print_error(path, &err);
		return false;
	}
	if (rt && !round_trip(path, m))
		return false;
	if (cb_manifest_validate != NULL && !cb_manifest_validate(m, &existing, &err))
	{
		print_error(path, &err);
		return false;
	}
	printf("%s: OK\n", path);
	for (int i = 0; i < m->ndocs; i++)
	{
		const CbDocument *d = &m->docs[i];

		printf("  %s %s (line %d)\n", d->kind_name, d->name, d->line);
		print_list("ignored", &d->ignored_paths);
		print_list("warnings", &d->warnings);
		if (json)
			printf("    json: %s\n", cb_node_to_json(d->root));
	}
	return true;
}

int
main(int argc, char **argv)
{
	bool		json = false;
	bool		rt = false;
	int			failed = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "-j") == 0)
			json = true;
		else if (strcmp(argv[i], "-r") == 0)
			rt = true;
		else
		{
			failed += !run_file(argv[i], json, rt);
			shim_reset();
		}
	}
	return failed ? 1 : 0;
}
