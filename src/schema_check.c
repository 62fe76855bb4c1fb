/*-------------------------------------------------------------------------
 *
 * schema_check.c
 *	  The walk of a document's tree against its kind's schema (the CRD
 *	  tables generated into fields_gen.c, the hand tables of manifest.c and
 *	  ObjectMeta's here): unknown and required fields, types, enums,
 *	  patterns, lengths and bounds, with Kubernetes' error texts.
 *
 * Pure, like the rest of the model (see model.h and manifest.c).
 *
 * IDENTIFICATION
 *	  src/schema_check.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>
#include <regex.h>

#include "lib/stringinfo.h"

#include "fields.h"
#include "manifest_int.h"
#include "model.h"


static const CbFieldDef objectmeta_fields[] = {
	{.path = "metadata", .type = CB_FIELD_OBJECT, .required = true},
	{.path = "metadata.annotations", .type = CB_FIELD_OBJECT},
	{.path = "metadata.annotations.<key>", .type = CB_FIELD_STRING},
	{.path = "metadata.creationTimestamp", .type = CB_FIELD_STRING},
	{.path = "metadata.deletionGracePeriodSeconds", .type = CB_FIELD_INTEGER},
	{.path = "metadata.deletionTimestamp", .type = CB_FIELD_STRING},
	{.path = "metadata.finalizers", .type = CB_FIELD_ARRAY},
	{.path = "metadata.finalizers[]", .type = CB_FIELD_STRING},
	{.path = "metadata.generateName", .type = CB_FIELD_STRING},
	{.path = "metadata.generation", .type = CB_FIELD_INTEGER},
	{.path = "metadata.labels", .type = CB_FIELD_OBJECT},
	{.path = "metadata.labels.<key>", .type = CB_FIELD_STRING},
	{.path = "metadata.managedFields", .type = CB_FIELD_ARRAY},
	{.path = "metadata.managedFields[]", .type = CB_FIELD_OBJECT, .preserve_unknown = true},
	{.path = "metadata.name", .type = CB_FIELD_STRING},
	{.path = "metadata.namespace", .type = CB_FIELD_STRING},
	{.path = "metadata.ownerReferences", .type = CB_FIELD_ARRAY},
	{.path = "metadata.ownerReferences[]", .type = CB_FIELD_OBJECT, .preserve_unknown = true},
	{.path = "metadata.resourceVersion", .type = CB_FIELD_STRING},
	{.path = "metadata.uid", .type = CB_FIELD_STRING},
};


/* ---------- schema walk ---------- */

static const CbFieldDef *
schema_lookup(const DocCtx *c, const char *path)
{
	/* ObjectMeta is the same for every kind */
	if (strncmp(path, "metadata", 8) == 0 && (path[8] == '\0' || path[8] == '.'))
		return cb_field_lookup(objectmeta_fields, lengthof(objectmeta_fields), path);
	return cb_field_lookup(c->schema->fields, c->schema->nfields, path);
}

static void
push_segment(DocCtx *c, const char *tsv, const char *disp)
{
	if (c->tsv.len > 0)
		appendStringInfoChar(&c->tsv, '.');
	appendStringInfoString(&c->tsv, tsv);
	if (c->disp.len > 0)
		appendStringInfoChar(&c->disp, '.');
	appendStringInfoString(&c->disp, disp);
}

static void
pop_to(DocCtx *c, int tsv_len, int disp_len)
{
	c->tsv.len = tsv_len;
	c->tsv.data[tsv_len] = '\0';
	c->disp.len = disp_len;
	c->disp.data[disp_len] = '\0';
}

static int
levenshtein(const char *a, const char *b)
{
	int			la = strlen(a);
	int			lb = strlen(b);
	int			row[65];

	if (la > 64 || lb > 64)
		return INT_MAX;
	for (int j = 0; j <= lb; j++)
		row[j] = j;
	for (int i = 1; i <= la; i++)
	{
		int			diag = row[0];

		row[0] = i;
		for (int j = 1; j <= lb; j++)
		{
			int			up = row[j];
			int			best = diag + (a[i - 1] != b[j - 1]);

			best = Min(best, up + 1);
			best = Min(best, row[j - 1] + 1);
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* the field names the schema declares directly under parent (tsv notation) */
static void
known_children(const DocCtx *c, const char *parent, StringInfo out, const char *key,
			   const char **nearest)
{
	const CbFieldDef *fields = c->schema->fields;
	int			nfields = c->schema->nfields;
	char	   *prefix = parent[0] ? psprintf("%s.", parent) : pstrdup("");
	size_t		plen = strlen(prefix);
	int			best = INT_MAX;

	if (strncmp(parent, "metadata", 8) == 0)
		fields = objectmeta_fields, nfields = lengthof(objectmeta_fields);
	for (int i = cb_field_lower_bound(fields, nfields, prefix); i < nfields; i++)
	{
		const char *rest = fields[i].path + plen;
		int			d;

		if (strncmp(fields[i].path, prefix, plen) != 0)
			break;
		if (strpbrk(rest, ".[") != NULL || strcmp(rest, "<key>") == 0)
			continue;
		appendStringInfo(out, "%s%s", out->len ? ", " : "", rest);
		d = levenshtein(key, rest);
		if (d < best)
			best = d, *nearest = rest;
	}
	/* close enough to be a typo: one edit in four characters, at least two */
	if (*nearest && best > Max(2, (int) strlen(key) / 4))
		*nearest = NULL;
}

static bool
unknown_field(DocCtx *c, int tsv_len, int disp_len, const char *key)
{
	StringInfoData known;
	const char *nearest = NULL;
	char	   *path;
	char	   *hint;

	pop_to(c, tsv_len, disp_len);
	if (!cb_key_showable(key))
		key = "<key hidden>";
	path = c->disp.len ? psprintf("%s.%s", c->disp.data, key) : pstrdup(key);
	initStringInfo(&known);
	known_children(c, c->tsv.data, &known, key, &nearest);
	if (nearest)
		hint = psprintf("did you mean \"%s\"?", nearest);
	else if (c->disp.len)
		hint = psprintf("Known fields of %s: %s.", c->disp.data, known.data);
	else
		hint = psprintf("Known top-level fields: %s.", known.data);
	return cb_field_error(c, path, "unknown field",
						  psprintf("Invalid value: %s: field not declared in schema", cb_go_quote_cut(key)),
						  hint);
}

/*
 * Has the field "name" of the map being walked a CRD default?
 * The API server fills defaults before it checks required fields, so such
 * a field is never missing (spec.instances defaults to 1).
 */
static bool
has_schema_default(const DocCtx *c, const char *name)
{
	char	   *path = c->tsv.len ? psprintf("%s.%s", c->tsv.data, name) : pstrdup(name);
	const CbFieldDef *def = schema_lookup(c, path);

	pfree(path);
	return def != NULL && def->default_json != NULL;
}

static bool
check_required(DocCtx *c, const CbNode *node, const char *required)
{
	while (required && *required)
	{
		const char *bar = strchr(required, '|');
		char	   *name = bar ? pnstrdup(required, bar - required) : pstrdup(required);

		if (cb_get_set(node, name) == NULL && !has_schema_default(c, name))
		{
			char	   *path = c->disp.len ? psprintf("%s.%s", c->disp.data, name) : name;

			return cb_field_error(c, path, "required value missing",
								  pstrdup("Required value"),
								  psprintf("Add %s.", path));
		}
		required = bar ? bar + 1 : NULL;
	}
	return true;
}

static bool walk_value(DocCtx *c, const CbFieldDef *def, const CbNode *node);

/*
 * The fields of a map, in document order.  A null value is no value: the
 * API server prunes nulls of non-nullable fields.  status is written by the
 * operator, so it is accepted and ignored.
 */
bool
cb_walk_map(DocCtx *c, const CbNode *node, const char *required)
{
	int			tl = c->tsv.len;
	int			dl = c->disp.len;

	for (int i = 0; i < node->nitems; i++)
	{
		const char *key = node->keys[i];
		const CbFieldDef *def;

		if (tl == 0 && strcmp(key, "status") == 0)
			continue;
		push_segment(c, key, key);
		if ((def = schema_lookup(c, c->tsv.data)) == NULL)
		{
			pop_to(c, tl, dl);
			push_segment(c, "<key>", key);
			def = schema_lookup(c, c->tsv.data);
		}
		if (def == NULL)
			return unknown_field(c, tl, dl, key);
		if (node->items[i]->type != CB_NODE_NULL && !walk_value(c, def, node->items[i]))
			return false;
		pop_to(c, tl, dl);
	}
	return check_required(c, node, required);
}

static bool
walk_items(DocCtx *c, const CbNode *node)
{
	int			tl = c->tsv.len;
	int			dl = c->disp.len;
	const CbFieldDef *def;

	appendStringInfoString(&c->tsv, "[]");
	def = schema_lookup(c, c->tsv.data);
	for (int i = 0; def != NULL && i < node->nitems; i++)
	{
		appendStringInfo(&c->disp, "[%d]", i);
		if (!walk_value(c, def, node->items[i]))
			return false;
		c->disp.len = dl;
		c->disp.data[dl] = '\0';
	}
	pop_to(c, tl, dl);
	return true;
}

/* how each CRD type is named and explained when a value has another type */
static const struct
{
	CbFieldType type;
	const char *json;			/* JSON Schema type, as Kubernetes prints it */
	const char *problem;		/* errmsg */
	const char *hint;
}			type_texts[] =
{
	{CB_FIELD_STRING, "string", "must be a string", "Give a text value; quote it if it looks like a number or a boolean."},
	{CB_FIELD_INTEGER, "integer", "must be an integer", "Give a whole number, without quotes."},
	{CB_FIELD_BOOLEAN, "boolean", "must be a boolean", "Write true or false, without quotes."},
	{CB_FIELD_NUMBER, "number", "must be a number", "Give a number, without quotes."},
	{CB_FIELD_OBJECT, "object", "must be a map", "Write it as a YAML map of \"field: value\" lines."},
	{CB_FIELD_ARRAY, "array", "must be a list", "Write it as a YAML list, one item per line starting with \"- \"."},
	{CB_FIELD_INT_OR_STRING, "integer,string", "must be an integer or a string", "Give a whole number or a text value (quote a fraction: \"0.5\")."},
	{CB_FIELD_ANY, "any", "", NULL},
};

static bool
type_matches(CbFieldType type, const CbNode *node, Resolved *res)
{
	ScalarKind	k = node->type == CB_NODE_SCALAR ? cb_node_kind(node, res) : SK_NULL;

	switch (type)
	{
		case CB_FIELD_OBJECT:
			return node->type == CB_NODE_MAP;
		case CB_FIELD_ARRAY:
			return node->type == CB_NODE_SEQ;
		case CB_FIELD_STRING:
			return node->type == CB_NODE_SCALAR && k == SK_STRING;
		case CB_FIELD_INTEGER:
			return node->type == CB_NODE_SCALAR && k == SK_INT;
		case CB_FIELD_NUMBER:
			return node->type == CB_NODE_SCALAR && (k == SK_INT || k == SK_FLOAT);
		case CB_FIELD_BOOLEAN:
			return node->type == CB_NODE_SCALAR && k == SK_BOOL;
		case CB_FIELD_INT_OR_STRING:
			return node->type == CB_NODE_SCALAR && (k == SK_INT || k == SK_STRING);
		case CB_FIELD_ANY:
			return true;
	}
	return false;
}

static bool
type_error(DocCtx *c, const CbFieldDef *def, const CbNode *node)
{
	const char *actual = cb_json_type_name(node);
	const char *hint = NULL;
	int			t = 0;

	while (t < NELEMS(type_texts) - 1 && type_texts[t].type != def->type)
		t++;
	hint = type_texts[t].hint;
	/* never the value: this is where a password written as a number lands */
	if (def->type == CB_FIELD_STRING && node->type == CB_NODE_SCALAR)
		hint = "Quote the value to make it a string.";
	return cb_field_error(c, c->disp.data, type_texts[t].problem,
						  psprintf("Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
								   actual, c->disp.data, type_texts[t].json, actual),
						  pstrdup(hint));
}

static bool
enum_contains(const char *values, const char *value)
{
	size_t		len = strlen(value);

	for (;;)
	{
		const char *bar = strchr(values, '|');
		size_t		n = bar ? (size_t) (bar - values) : strlen(values);

		if (n == len && strncmp(values, value, n) == 0)
			return true;
		if (bar == NULL)
			return false;
		values = bar + 1;
	}
}

/* "a|b" -> "\"a\", \"b\"" (Kubernetes' list of supported values) */
static char *
enum_list(const char *values, const char *quote)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, quote);
	for (const char *p = values; *p; p++)
	{
		if (*p == '|')
			appendStringInfo(&buf, "%s, %s", quote, quote);
		else
			appendStringInfoChar(&buf, *p);
	}
	appendStringInfoString(&buf, quote);
	return buf.data;
}

static int
utf8_length(const char *s)
{
	int			n = 0;

	for (; *s; s++)
		n += ((unsigned char) *s & 0xC0) != 0x80;
	return n;
}

/*
 * The CRD patterns are RE2; POSIX EREs read them the same except for the
 * Perl classes and backslashes inside brackets, rewritten here.
 */
static char *
re2_to_posix(const char *re)
{
	StringInfoData buf;
	bool		in_bracket = false;

	initStringInfo(&buf);
	for (const char *p = re; *p; p++)
	{
		if (*p == '\\' && p[1] != '\0')
		{
			char		e = *++p;

			if (e == 'd')
				appendStringInfoString(&buf, in_bracket ? "0-9" : "[0-9]");
			else if (e == 'w')
				appendStringInfoString(&buf, in_bracket ? "0-9A-Za-z_" : "[0-9A-Za-z_]");
			else if (e == 's')
				appendStringInfoString(&buf, in_bracket ? "[:space:]" : "[[:space:]]");
			else if (in_bracket)
				appendStringInfoChar(&buf, e);	/* literal inside POSIX [] */
			else
				appendStringInfo(&buf, "\\%c", e);
			continue;
		}
		if (*p == '[' && !in_bracket)
		{
			in_bracket = true;
			appendStringInfoChar(&buf, *p);
			/* a leading ^ or ] belongs to the bracket expression */
			if (p[1] == '^')
				appendStringInfoChar(&buf, *++p);
			if (p[1] == ']')
				appendStringInfoChar(&buf, *++p);
			continue;
		}
		if (*p == ']' && in_bracket)
			in_bracket = false;
		appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

/* does value match the CRD pattern?  A pattern we cannot compile passes. */
static bool
pattern_matches(const char *pattern, const char *value)
{
	regex_t		re;
	char	   *posix = re2_to_posix(pattern);
	bool		match;

	if (regcomp(&re, posix, REG_EXTENDED | REG_NOSUB) != 0)
		return true;
	match = regexec(&re, value, 0, NULL, 0) == 0;
	regfree(&re);
	pfree(posix);
	return match;
}

/* what a CRD pattern asks for, in words where the regex is unreadable */
static char *
pattern_hint(const char *pattern)
{
	static const struct
	{
		const char *marker;		/* a piece of the pattern that names it */
		const char *hint;
	}			hints[] =
	{
		{"([KMGTPE]i)|[numkMGTPE]",
		"Give a Kubernetes quantity such as 1Gi, 500Mi, 500M or 1e9 (not 1GB)."},
	};

	for (int i = 0; i < NELEMS(hints); i++)
		if (strstr(pattern, hints[i].marker) != NULL)
			return pstrdup(hints[i].hint);
	return psprintf("The value must match the regular expression %s.", pattern);
}

static bool
check_string(DocCtx *c, const CbFieldDef *def, const CbNode *node)
{
	const char *path = c->disp.data;
	const char *v = node->value;
	char	   *q = cb_shown_value(c, c->tsv.data, node);

	if (def->enum_values && !enum_contains(def->enum_values, v))
		return cb_field_error(c, path, psprintf("unsupported value %s", q),
							  psprintf("Unsupported value: %s: supported values: %s",
									   q, enum_list(def->enum_values, "\"")),
							  psprintf("Allowed values: %s.", enum_list(def->enum_values, "")));
	if (def->has_min_length && utf8_length(v) < def->min_length)
		return cb_field_error(c, path,
							  psprintf("must be at least %d characters long", def->min_length),
							  psprintf("Invalid value: %s: %s in body should be at least %d chars long",
									   q, path, def->min_length),
							  NULL);
	if (def->has_max_length && utf8_length(v) > def->max_length)
		return cb_field_error(c, path,
							  psprintf("must be at most %d characters long", def->max_length),
							  psprintf("Too long: may not be longer than %d", def->max_length),
							  NULL);
	if (def->pattern && !pattern_matches(def->pattern, v))
		return cb_field_error(c, path, "does not match the required pattern",
							  psprintf("Invalid value: %s: %s in body should match '%s'",
									   q, path, def->pattern),
							  pattern_hint(def->pattern));
	return true;
}

static bool
check_bounds(DocCtx *c, const CbFieldDef *def, const CbNode *node, const Resolved *res)
{
	const char *path = c->disp.data;
	double		v = res->kind == SK_INT ? (double) res->i : res->d;
	bool		below = def->has_min &&
		(res->kind == SK_INT ? res->i < def->min : v < (double) def->min);
	bool		above = def->has_max &&
		(res->kind == SK_INT ? res->i > def->max : v > (double) def->max);

	if (below)
		return cb_field_error(c, path,
							  psprintf("must be greater than or equal to " INT64_FORMAT, def->min),
							  psprintf("Invalid value: %s: %s in body should be greater than or equal to " INT64_FORMAT,
									   cb_shown_value(c, c->tsv.data, node), path, def->min),
							  def->has_max ?
							  psprintf("Allowed range: " INT64_FORMAT " to " INT64_FORMAT ".", def->min, def->max) :
							  psprintf("The smallest allowed value is " INT64_FORMAT ".", def->min));
	if (above)
		return cb_field_error(c, path,
							  psprintf("must be less than or equal to " INT64_FORMAT, def->max),
							  psprintf("Invalid value: %s: %s in body should be less than or equal to " INT64_FORMAT,
									   cb_shown_value(c, c->tsv.data, node), path, def->max),
							  def->has_min ?
							  psprintf("Allowed range: " INT64_FORMAT " to " INT64_FORMAT ".", def->min, def->max) :
							  psprintf("The largest allowed value is " INT64_FORMAT ".", def->max));
	return true;
}

static bool
walk_value(DocCtx *c, const CbFieldDef *def, const CbNode *node)
{
	Resolved	res;

	if (!type_matches(def->type, node, &res))
		return type_error(c, def, node);
	switch (def->type)
	{
		case CB_FIELD_OBJECT:
			return def->preserve_unknown || cb_walk_map(c, node, def->required_children);
		case CB_FIELD_ARRAY:
			return walk_items(c, node);
		case CB_FIELD_ANY:
			return true;
		default:
			break;
	}
	if (res.kind == SK_STRING)
		return check_string(c, def, node);
	return check_bounds(c, def, node, &res);
}
