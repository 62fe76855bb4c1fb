/*-------------------------------------------------------------------------
 *
 * yaml_tree.c
 *	  libyaml events -> one CbNode tree per document, with line/column:
 *	  YAML 1.1 scalar typing as Kubernetes' sigs.k8s.io/yaml sees it,
 *	  anchors/aliases/merge keys under a node and a byte budget (billion
 *	  laughs, and its variant with one big value aliased many times),
 *	  duplicate keys rejected (NameSet); cb_node_get().
 *
 * Pure, like the rest of the model (see model.h and manifest.c).
 *
 * IDENTIFICATION
 *	  src/yaml_tree.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <yaml.h>

#include "lib/stringinfo.h"

#include "fields.h"
#include "manifest_int.h"
#include "model.h"


/* ======================================================================
 * Scalar typing
 *
 * Kubernetes reads YAML with go-yaml v2 (YAML 1.1) and turns it into JSON
 * before the API server sees it.  A plain scalar therefore is null, a bool
 * (y/yes/on/true and friends), an integer (Go's ParseInt with base prefixes,
 * after removing '_'), a float, or a string; a float with an integral value
 * becomes a JSON integer on the way.  Quoted and block scalars are strings.
 * ======================================================================
 */


/* YAML 1.1 words go-yaml v2 resolves by table */
static const struct
{
	const char *text;
	ScalarKind	kind;
	int			value;			/* bool value, or float: 0 NaN, +-1 infinity */
}			yaml11_words[] =
{
	{"y", SK_BOOL, 1}, {"Y", SK_BOOL, 1},
	{"yes", SK_BOOL, 1}, {"Yes", SK_BOOL, 1}, {"YES", SK_BOOL, 1},
	{"true", SK_BOOL, 1}, {"True", SK_BOOL, 1}, {"TRUE", SK_BOOL, 1},
	{"on", SK_BOOL, 1}, {"On", SK_BOOL, 1}, {"ON", SK_BOOL, 1},
	{"n", SK_BOOL, 0}, {"N", SK_BOOL, 0},
	{"no", SK_BOOL, 0}, {"No", SK_BOOL, 0}, {"NO", SK_BOOL, 0},
	{"false", SK_BOOL, 0}, {"False", SK_BOOL, 0}, {"FALSE", SK_BOOL, 0},
	{"off", SK_BOOL, 0}, {"Off", SK_BOOL, 0}, {"OFF", SK_BOOL, 0},
	{"", SK_NULL, 0}, {"~", SK_NULL, 0},
	{"null", SK_NULL, 0}, {"Null", SK_NULL, 0}, {"NULL", SK_NULL, 0},
	{".nan", SK_FLOAT, 0}, {".NaN", SK_FLOAT, 0}, {".NAN", SK_FLOAT, 0},
	{".inf", SK_FLOAT, 1}, {".Inf", SK_FLOAT, 1}, {".INF", SK_FLOAT, 1},
	{"+.inf", SK_FLOAT, 1}, {"+.Inf", SK_FLOAT, 1}, {"+.INF", SK_FLOAT, 1},
	{"-.inf", SK_FLOAT, -1}, {"-.Inf", SK_FLOAT, -1}, {"-.INF", SK_FLOAT, -1},
};

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * Go's strconv.ParseUint(s, 0, 64) after an optional sign: base prefixes
 * 0x, 0o, 0b, and a leading 0 for octal.  False on syntax or overflow.
 */
static bool
parse_go_integer(const char *s, bool *neg, uint64 *mag)
{
	int			base = 10;
	uint64		v = 0;

	*neg = false;
	if (*s == '+' || *s == '-')
		*neg = (*s++ == '-');
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && s[1] != '\0')
		base = 8, s += 1;
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		int			d = digit_value(*s);

		if (d >= base || v > (PG_UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*mag = v;
	return true;
}

/* go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool
looks_like_float(const char *s)
{
	const char *start;

	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.')
	{
		start = ++s;
		while (isdigit((unsigned char) *s))
			s++;
		if (s == start)
			return false;
	}
	else
	{
		start = s;
		while (isdigit((unsigned char) *s))
			s++;
		if (s == start)
			return false;
		if (*s == '.')
			for (s++; isdigit((unsigned char) *s); s++)
				;
	}
	if (*s == 'e' || *s == 'E')
	{
		s++;
		if (*s == '+' || *s == '-')
			s++;
		start = s;
		while (isdigit((unsigned char) *s))
			s++;
		if (s == start)
			return false;
	}
	return *s == '\0';
}

/* strtod, but an overflow is no float (Go's ParseFloat fails with ErrRange) */
static bool
parse_float(const char *s, double *d)
{
	char	   *end;

	errno = 0;
	*d = strtod(s, &end);
	if (*end != '\0')
		return false;
	return !(errno == ERANGE && isinf(*d));
}

/* the type go-yaml v2 gives a plain scalar (see the section comment) */
static void
resolve_plain(const char *s, Resolved *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = SK_STRING;

	for (int i = 0; i < NELEMS(yaml11_words); i++)
	{
		if (strcmp(s, yaml11_words[i].text) != 0)
			continue;
		r->kind = yaml11_words[i].kind;
		r->b = yaml11_words[i].value != 0;
		if (r->kind == SK_FLOAT)
			r->d = yaml11_words[i].value == 0 ? NAN :
				yaml11_words[i].value * (double) INFINITY;
		return;
	}

	if (s[0] != '\0' && strchr("+-.0123456789", s[0]) != NULL)
	{
		char	   *plain = palloc(strlen(s) + 1);
		char	   *p = plain;
		bool		neg;
		uint64		mag;

		/* go-yaml removes every '_' before trying numbers */
		for (const char *q = s; *q; q++)
			if (*q != '_')
				*p++ = *q;
		*p = '\0';

		if (s[0] != '.' && parse_go_integer(plain, &neg, &mag) &&
			(neg ? mag <= (uint64) PG_INT64_MAX + 1 : mag <= (uint64) PG_INT64_MAX))
		{
			r->kind = SK_INT;
			r->i = neg ? (int64) (0 - mag) : (int64) mag;
		}
		else if (s[0] != '.' && s[0] != '-' && s[0] != '+' &&
				 parse_go_integer(plain, &neg, &mag))
		{
			/* beyond int64: the API server reads it back as a float */
			r->kind = SK_FLOAT;
			r->d = (double) mag;
		}
		else if (looks_like_float(s[0] == '.' ? s : plain) &&
				 parse_float(s[0] == '.' ? s : plain, &r->d))
			r->kind = SK_FLOAT;
		pfree(plain);
	}

	/* JSON has no integral floats: 3.0 arrives as the integer 3 */
	if (r->kind == SK_FLOAT && isfinite(r->d) && r->d == floor(r->d) &&
		r->d >= -9223372036854775808.0 && r->d < 9223372036854775808.0)
	{
		r->kind = SK_INT;
		r->i = (int64) r->d;
	}
}

/* the canonical text of a typed scalar: also valid JSON for finite numbers */
char *
cb_canonical_text(const Resolved *r, const char *orig)
{
	char		buf[64];

	switch (r->kind)
	{
		case SK_BOOL:
			return pstrdup(r->b ? "true" : "false");
		case SK_INT:
			return psprintf(INT64_FORMAT, r->i);
		case SK_FLOAT:
			if (isnan(r->d))
				return pstrdup(".nan");
			if (isinf(r->d))
				return pstrdup(r->d > 0 ? ".inf" : "-.inf");
			/* the shortest text that reads back as the same double */
			for (int prec = 1; prec <= 17; prec++)
			{
				snprintf(buf, sizeof(buf), "%.*g", prec, r->d);
				if (strtod(buf, NULL) == r->d)
					break;
			}
			return pstrdup(buf);
		case SK_NULL:
			return NULL;
		case SK_STRING:
			break;
	}
	return pstrdup(orig);
}

/* the type of a node as the API server sees it */
ScalarKind
cb_node_kind(const CbNode *node, Resolved *r)
{
	Resolved	dummy;

	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	if (node == NULL || node->type == CB_NODE_NULL)
		r->kind = SK_NULL;
	else if (node->type != CB_NODE_SCALAR || node->quoted)
		r->kind = SK_STRING;
	else
		resolve_plain(node->value, r);
	return r->kind;
}

/* JSON Schema's name for a node's type, as Kubernetes prints it */
const char *
cb_json_type_name(const CbNode *node)
{
	static const char *const names[] = {"string", "null", "boolean", "integer", "number"};

	if (node->type == CB_NODE_MAP)
		return "object";
	if (node->type == CB_NODE_SEQ)
		return "array";
	return names[cb_node_kind(node, NULL)];
}


/* ======================================================================
 * NameSet: open-addressing hash of names kept in a caller's array
 *
 * Mapping keys (duplicate check, merge keys) and anchor names are looked
 * up with it, so that big maps or many aliases stay linear.  The set holds
 * indexes into the caller's array, which may be reallocated between calls.
 * ======================================================================
 */


static uint32
hash_name(const char *s)
{
	uint32		h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h;
}

/* the slot of name: holding its index + 1, or free (0) if absent */
static int *
nameset_slot(const NameSet *ns, char *const *names, const char *name)
{
	for (uint32 i = hash_name(name) & (ns->cap - 1);; i = (i + 1) & (ns->cap - 1))
	{
		int		   *slot = &ns->slots[i];

		if (*slot == 0 || strcmp(names[*slot - 1], name) == 0)
			return slot;
	}
}

/* index of name in names[], or -1 */
int
cb_nameset_find(const NameSet *ns, char *const *names, const char *name)
{
	return ns->cap == 0 ? -1 : *nameset_slot(ns, names, name) - 1;
}

/*
 * Enter names[index]; an earlier entry of the same name is replaced (the
 * latest anchor definition wins).  Keeps at least half the slots free.
 */
void
cb_nameset_add(NameSet *ns, char *const *names, int index)
{
	if (2 * (index + 1) > ns->cap)
	{
		ns->cap = ns->cap ? ns->cap * 2 : 16;
		if (ns->slots)
			pfree(ns->slots);
		ns->slots = palloc0(sizeof(int) * ns->cap);
		for (int j = 0; j < index; j++)
			*nameset_slot(ns, names, names[j]) = j + 1;
	}
	*nameset_slot(ns, names, names[index]) = index + 1;
}


/* ======================================================================
 * YAML events -> CbNode trees
 * ======================================================================
 */


static bool
yaml_error_at(Reader *r, int line, int column, char *problem, char *detail)
{
	return cb_set_error(r->err, ERRCODE_INVALID_TEXT_REPRESENTATION,
						psprintf("invalid YAML at line %d, column %d: %s",
								 line, column, problem),
						detail, NULL);
}

static bool
yaml_error_mark(Reader *r, const yaml_mark_t *mark, char *problem)
{
	return yaml_error_at(r, (int) mark->line + 1, (int) mark->column + 1,
						 problem, NULL);
}

/* line and column of a byte offset, for libyaml's reader errors */
static void
offset_position(const Reader *r, size_t offset, int *line, int *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset && i < r->len; i++)
	{
		if (r->text[i] == '\n')
			(*line)++, *column = 1;
		else if (((unsigned char) r->text[i] & 0xC0) != 0x80)
			(*column)++;
	}
}

/* turn libyaml's parser error into a CbError (22P02) */
static bool
parser_error(Reader *r)
{
	yaml_parser_t *p = &r->parser;
	const char *problem = p->problem ? p->problem : "unknown error";
	char	   *detail = NULL;
	int			line;
	int			column;

	if (p->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (p->error == YAML_READER_ERROR)
	{
		offset_position(r, p->problem_offset, &line, &column);
		if (p->problem_value != -1)
			detail = psprintf("The offending byte is 0x%02x.", p->problem_value & 0xff);
		return yaml_error_at(r, line, column, pstrdup(problem), detail);
	}
	if (p->context)
		detail = psprintf("%s at line %d, column %d", p->context,
						  (int) p->context_mark.line + 1,
						  (int) p->context_mark.column + 1);
	return yaml_error_at(r, (int) p->problem_mark.line + 1,
						 (int) p->problem_mark.column + 1,
						 pstrdup(problem), detail);
}

bool
cb_next_event(Reader *r, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&r->parser, ev))
		return parser_error(r);
	return true;
}

/* a size limit passed, at the node that passed it */
static bool
size_error(Reader *r, const yaml_mark_t *mark, const char *what, int64 limit,
		   const char *hint)
{
	return cb_set_error(r->err, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
						psprintf("manifest too large at line %d, column %d: %s holds more than "
								 INT64_FORMAT " bytes of keys and values once aliases are expanded",
								 (int) mark->line + 1, (int) mark->column + 1, what, limit),
						NULL, pstrdup(hint));
}

/* count n more nodes, holding bytes of keys and values, against the budgets */
static bool
spend_nodes(Reader *r, int n, int64 bytes, const yaml_mark_t *mark)
{
	if (n > CB_MAX_NODES - r->nodes)
		return yaml_error_mark(r, mark,
							   psprintf("the manifest has more than %d nodes once aliases are expanded",
										CB_MAX_NODES));
	if (bytes > CB_MAX_DOCUMENT_BYTES - r->doc_bytes)
		return size_error(r, mark, "the document", CB_MAX_DOCUMENT_BYTES,
						  "Kubernetes takes an object of at most 3 MiB (3145728 bytes); "
						  "a Secret or ConfigMap holds at most 1 MiB of values.");
	if (bytes > CB_MAX_MANIFEST_BYTES - r->bytes)
		return size_error(r, mark, "the manifest", CB_MAX_MANIFEST_BYTES,
						  "cnpg_bootstrap_apply takes at most 64 MiB at once: apply the manifest in several parts.");
	r->nodes += n;
	r->bytes += bytes;
	r->doc_bytes += bytes;
	return true;
}

static CbNode *
new_node(CbNodeType type, const yaml_mark_t *mark)
{
	CbNode	   *n = palloc0(sizeof(CbNode));

	n->type = type;
	n->line = (int) mark->line + 1;
	n->column = (int) mark->column + 1;
	return n;
}

static void
remember_anchor(Reader *r, const yaml_char_t *anchor, CbNode *node, int size,
				int64 bytes)
{
	if (anchor == NULL)
		return;
	if (r->nanchors == r->maxanchors)
	{
		r->maxanchors = r->maxanchors ? r->maxanchors * 2 : 16;
		r->anchors = r->anchors ?
			repalloc(r->anchors, sizeof(Anchor) * r->maxanchors) :
			palloc(sizeof(Anchor) * r->maxanchors);
		r->anchor_names = r->anchor_names ?
			repalloc(r->anchor_names, sizeof(char *) * r->maxanchors) :
			palloc(sizeof(char *) * r->maxanchors);
	}
	r->anchor_names[r->nanchors] = pstrdup((const char *) anchor);
	r->anchors[r->nanchors].node = node;
	r->anchors[r->nanchors].size = size;
	r->anchors[r->nanchors].bytes = bytes;
	cb_nameset_add(&r->anchor_set, r->anchor_names, r->nanchors);
	r->nanchors++;
}

/* an alias is the anchored node itself (shared), counted at full size */
static bool
read_alias(Reader *r, yaml_event_t *ev, CbNode **out)
{
	const char *name = (const char *) ev->data.alias.anchor;

	/*
	 * The latest definition wins.  A node is entered once complete, so an
	 * alias inside its own anchor's node is unknown: no cycles.
	 */
	int			i = cb_nameset_find(&r->anchor_set, r->anchor_names, name);

	if (i >= 0)
	{
		if (!spend_nodes(r, r->anchors[i].size, r->anchors[i].bytes, &ev->start_mark))
			return false;
		*out = r->anchors[i].node;
		return true;
	}
	/* not named: an unquoted password that starts with '*' lands here */
	yaml_error_mark(r, &ev->start_mark, pstrdup("an alias refers to an unknown anchor"));
	r->err->hint = pstrdup("A plain value that starts with '*' is an alias to YAML: quote it if it is a value.");
	return false;
}

static bool
is_core_tag(const char *tag, const char *name)
{
	return strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0 &&
		strcmp(tag + strlen(YAML_TAG_PREFIX), name) == 0;
}

/*
 * A scalar: typed when plain and untagged, or tagged !!null/!!bool/!!int/
 * !!float (then the text must fit the tag); a string otherwise, including
 * unknown tags, as go-yaml v2 does.
 */
static bool
read_scalar(Reader *r, yaml_event_t *ev, CbNode **out)
{
	const char *tag = (const char *) ev->data.scalar.tag;
	const char *text = (const char *) ev->data.scalar.value;
	static const char *const typed_tags[] = {"null", "bool", "int", "float"};
	static const ScalarKind tag_kinds[] = {SK_NULL, SK_BOOL, SK_INT, SK_FLOAT};
	static const char *const tag_words[] = {"null", "a boolean", "an integer", "a number"};
	bool		typed = (tag == NULL && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
	int			want = -1;
	Resolved	res;
	CbNode	   *n;

	for (int i = 0; tag != NULL && i < NELEMS(typed_tags); i++)
		if (is_core_tag(tag, typed_tags[i]))
			typed = true, want = i;

	if (typed)
	{
		resolve_plain(text, &res);
		if (want >= 0 && res.kind != tag_kinds[want] &&
			!(tag_kinds[want] == SK_FLOAT && res.kind == SK_INT))
			return yaml_error_mark(r, &ev->start_mark,
								   psprintf("a scalar tagged !!%s is not %s",
											typed_tags[want], tag_words[want]));
	}
	else
		res.kind = SK_STRING;

	n = new_node(res.kind == SK_NULL ? CB_NODE_NULL : CB_NODE_SCALAR, &ev->start_mark);
	n->quoted = !typed;
	n->value = cb_canonical_text(&res, text);
	/* PostgreSQL text cannot hold it: refused later, naming the field */
	n->nul = strlen(text) != ev->data.scalar.length;
	r->nul_seen |= n->nul;
	remember_anchor(r, ev->data.scalar.anchor, n, 1, (int64) ev->data.scalar.length);
	*out = n;
	return true;
}

static void
append_item(CbNode *n, int *cap, const char *key, CbNode *item)
{
	if (n->nitems == *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		n->items = n->items ? repalloc(n->items, sizeof(CbNode *) * *cap) :
			palloc(sizeof(CbNode *) * *cap);
		if (n->type == CB_NODE_MAP)
			n->keys = n->keys ? repalloc(n->keys, sizeof(char *) * *cap) :
				palloc(sizeof(char *) * *cap);
	}
	if (n->type == CB_NODE_MAP)
		n->keys[n->nitems] = (char *) key;
	n->items[n->nitems++] = item;
}

static bool
read_sequence(Reader *r, yaml_event_t *start, int depth, CbNode **out)
{
	CbNode	   *n = new_node(CB_NODE_SEQ, &start->start_mark);
	int			cap = 0;
	int			first = r->nodes;
	int64		first_bytes = r->bytes;
	yaml_event_t ev;

	for (;;)
	{
		CbNode	   *item;

		if (!cb_next_event(r, &ev))
			return false;
		if (ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (!cb_read_node(r, &ev, depth + 1, &item))
			return false;
		append_item(n, &cap, NULL, item);
	}
	yaml_event_delete(&ev);
	remember_anchor(r, start->data.sequence_start.anchor, n, r->nodes - first + 1,
					r->bytes - first_bytes);
	*out = n;
	return true;
}

/* ---------- mappings: keys, duplicates, merge keys ---------- */

/* the text of a mapping key, as sigs.k8s.io/yaml turns keys into strings */
static bool
key_text(Reader *r, const CbNode *key, const yaml_mark_t *mark, const char **text)
{
	if (key->type == CB_NODE_SCALAR && key->nul)
		return yaml_error_mark(r, mark,
							   pstrdup("a mapping key holds a NUL character, which PostgreSQL text cannot hold"));
	if (key->type == CB_NODE_SCALAR)
	{
		*text = key->value;
		return true;
	}
	return yaml_error_mark(r, mark,
						   pstrdup(key->type == CB_NODE_NULL ?
								   "a mapping key is null" :
								   "a mapping key is a list or a map; keys must be plain values"));
}

/*
 * YAML 1.1 merge keys ("<<: *base"): the merged map's entries are added
 * where the mapping does not set them itself; with a list of maps, the
 * first one that sets a key wins.
 */
static bool
apply_merge(Reader *r, CbNode *n, int *cap, NameSet *ks, const CbNode *src)
{
	int			nsrc = src->type == CB_NODE_SEQ ? src->nitems : 1;

	for (int s = 0; s < nsrc; s++)
	{
		const CbNode *map = src->type == CB_NODE_SEQ ? src->items[s] : src;

		if (map->type != CB_NODE_MAP)
			return yaml_error_at(r, map->line, map->column,
								 pstrdup("a merge key (<<) needs a map or a list of maps"),
								 NULL);
		for (int i = 0; i < map->nitems; i++)
		{
			if (cb_nameset_find(ks, n->keys, map->keys[i]) >= 0)
				continue;
			append_item(n, cap, map->keys[i], map->items[i]);
			cb_nameset_add(ks, n->keys, n->nitems - 1);
		}
	}
	return true;
}

static bool
read_mapping(Reader *r, yaml_event_t *start, int depth, CbNode **out)
{
	CbNode	   *n = new_node(CB_NODE_MAP, &start->start_mark);
	int			cap = 0;
	int			first = r->nodes;
	int64		first_bytes = r->bytes;
	NameSet		ks = {NULL, 0};
	CbNode	   *merge = NULL;
	bool		has_merge = false;
	yaml_event_t ev;

	for (;;)
	{
		CbNode	   *key;
		CbNode	   *value;
		const char *text = NULL;	/* set by key_text(); quiets gcc */
		yaml_mark_t key_mark;

		if (!cb_next_event(r, &ev))
			return false;
		if (ev.type == YAML_MAPPING_END_EVENT)
			break;
		key_mark = ev.start_mark;
		if (!cb_read_node(r, &ev, depth + 1, &key) ||
			!key_text(r, key, &key_mark, &text))
			return false;
		if (!cb_next_event(r, &ev) || !cb_read_node(r, &ev, depth + 1, &value))
			return false;

		if (!key->quoted && strcmp(text, "<<") == 0 && !has_merge)
		{
			has_merge = true;
			merge = value->type == CB_NODE_NULL ? NULL : value;
			continue;
		}
		if (cb_nameset_find(&ks, n->keys, text) >= 0 ||
			(has_merge && !key->quoted && strcmp(text, "<<") == 0))
			return yaml_error_mark(r, &key_mark,
								   psprintf("duplicate key %s in a mapping", cb_key_repr(text)));
		append_item(n, &cap, text, value);
		cb_nameset_add(&ks, n->keys, n->nitems - 1);
	}
	yaml_event_delete(&ev);
	if (merge != NULL && !apply_merge(r, n, &cap, &ks, merge))
		return false;
	if (ks.slots)
		pfree(ks.slots);
	remember_anchor(r, start->data.mapping_start.anchor, n, r->nodes - first + 1,
					r->bytes - first_bytes);
	*out = n;
	return true;
}

/*
 * Build the node that starts with event ev (which this takes over), and
 * everything below it.
 */
bool
cb_read_node(Reader *r, yaml_event_t *ev, int depth, CbNode **out)
{
	bool		ok;

	if (ev->type != YAML_ALIAS_EVENT &&
		!spend_nodes(r, 1, ev->type == YAML_SCALAR_EVENT ? (int64) ev->data.scalar.length : 0,
					 &ev->start_mark))
		ok = false;
	else if (depth > CB_MAX_DEPTH)
		ok = yaml_error_mark(r, &ev->start_mark,
							 psprintf("nesting is deeper than %d levels", CB_MAX_DEPTH));
	else
	{
		switch (ev->type)
		{
			case YAML_ALIAS_EVENT:
				ok = read_alias(r, ev, out);
				break;
			case YAML_SCALAR_EVENT:
				ok = read_scalar(r, ev, out);
				break;
			case YAML_SEQUENCE_START_EVENT:
				ok = read_sequence(r, ev, depth, out);
				break;
			case YAML_MAPPING_START_EVENT:
				ok = read_mapping(r, ev, depth, out);
				break;
			default:
				ok = yaml_error_mark(r, &ev->start_mark, pstrdup("unexpected YAML event"));
				break;
		}
	}
	yaml_event_delete(ev);
	return ok;
}


CbNode *
cb_node_get(const CbNode *map, const char *key)
{
	if (map == NULL || map->type != CB_NODE_MAP)
		return NULL;
	for (int i = 0; i < map->nitems; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}
