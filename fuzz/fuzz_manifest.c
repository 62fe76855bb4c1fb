/*-------------------------------------------------------------------------
 *
 * fuzz_manifest.c
 *	  libFuzzer target for the model: YAML text -> cb_manifest_parse ->
 *	  cb_manifest_validate, plus the catalog's round trip through
 *	  cb_node_to_json (what is stored must parse again, to the same JSON).
 *
 * Build and run: see fuzz/README.md ("make fuzz").
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
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* until src/validate.c exists the target still builds; see README */
#pragma weak cb_manifest_validate

/* the stored JSON of an accepted manifest must read back to itself */
static void
check_round_trip(const CbManifest *m)
{
	for (int i = 0; i < m->ndocs; i++)
	{
		char	   *json = cb_node_to_json(m->docs[i].root);
		CbManifest *again;
		CbError		err;

		if (!cb_manifest_parse(json, strlen(json), &again, &err))
		{
			fprintf(stderr, "stored JSON does not parse: %s\n%s\n", err.message, json);
			abort();
		}
		if (again->ndocs != 1 ||
			strcmp(cb_node_to_json(again->docs[0].root), json) != 0 ||
			again->docs[0].ignored_paths.n != m->docs[i].ignored_paths.n)
		{
			fprintf(stderr, "round trip changed the document:\n%s\n", json);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* cnpg_bootstrap_apply receives text: no NUL bytes, NUL-terminated */
	char	   *text = palloc(size + 1);
	CbManifest *m;
	CbError		err;
	CbStringList existing = {0, NULL};

	memcpy(text, data, size);
	text[size] = '\0';
	if (cb_manifest_parse(text, strlen(text), &m, &err))
	{
		check_round_trip(m);
		if (cb_manifest_validate != NULL)
			(void) cb_manifest_validate(m, &existing, &err);
	}
	else if (err.message == NULL || err.sqlstate == 0)
		abort();				/* every failure must explain itself */
	shim_reset();
	return 0;
}
