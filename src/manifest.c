/*-------------------------------------------------------------------------
 *
 * manifest.c
 *	  YAML stream -> CbManifest: parsing, CRD schema check, struct filling.
 *
 * This file owns the first half of the model (src/model.h):
 *
 *	1. libyaml events -> one CbNode tree per document, with line/column,
 *	   YAML 1.1 scalar typing as Kubernetes' sigs.k8s.io/yaml sees it,
 *	   anchors/aliases/merge keys under a node budget (billion laughs),
 *	   duplicate keys rejected.
 *	2. Each document: kind, apiVersion and metadata.name checked, then every
 *	   path checked against the kind's schema (the Cluster and ObjectStore
 *	   CRD tables generated into fields_gen.c, small hand tables for
 *	   ObjectMeta, Secret and ConfigMap), with Kubernetes' error texts.
 *	3. CbClusterSpec / CbSecret / CbConfigMap / CbObjectStoreDoc filled from
 *	   the tree, without any defaulting: validate.c defaults and applies
 *	   CloudNativePG's webhook rules afterwards.
 *	4. cb_node_to_json(), the form the catalog stores (as jsonb) and feeds
 *	   back to cb_manifest_parse() later: JSON is YAML flow syntax, so the
 *	   round trip must give the same structs.
 *
 * The model is pure: only palloc, psprintf and StringInfo from PostgreSQL,
 * no ereport, so that fuzz/pgshim.c can stand in for the server.  The
 * first failing document, in stream order, decides the error.
 *
 * Error texts name the document, the path and the type, never a scalar's
 * value: a YAML type error or a tag that does not fit can happen anywhere,
 * also in a Secret, in connectionParameters or in postgresql.parameters,
 * and the server logs errmsg, DETAIL and HINT.  The only values shown are
 * the document's identity (kind, apiVersion, metadata.name and namespace),
 * keys that look like names (key_showable(): "{password:x}" is one key to
 * YAML), and the values of schema-constrained named fields outside Secrets
 * (an enum, a pattern, a length, a bound: see shown_value()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <yaml.h>

#include "lib/stringinfo.h"

#include "fields.h"
#include "model.h"

/*
 * Limits that keep hostile input cheap.  A real manifest has a few hundred
 * nodes and a nesting depth near 12; aliases are counted at their expanded
 * size, so "billion laughs" stops at the budget.
 */
#define CB_MAX_NODES	500000
#define CB_MAX_DEPTH	100

/* longest value (or key) quoted back in an error text */
#define CB_MAX_QUOTED	120

#define SUPPORTED_KINDS_HINT \
	"cnpg_bootstrap accepts kind Cluster (apiVersion postgresql.cnpg.io/v1), " \
	"Secret (v1), ConfigMap (v1) and ObjectStore (barmancloud.cnpg.io/v1); " \
	"apply other objects to Kubernetes or leave them out of the manifest."

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

#define NELEMS(array) ((int) lengthof(array))


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

typedef enum ScalarKind
{
	SK_STRING,
	SK_NULL,
	SK_BOOL,
	SK_INT,
	SK_FLOAT
} ScalarKind;

typedef struct Resolved
{
	ScalarKind	kind;
	bool		b;
	int64		i;
	double		d;
} Resolved;

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
static char *
canonical_text(const Resolved *r, const char *orig)
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
static ScalarKind
node_kind(const CbNode *node, Resolved *r)
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
static const char *
json_type_name(const CbNode *node)
{
	static const char *const names[] = {"string", "null", "boolean", "integer", "number"};

	if (node->type == CB_NODE_MAP)
		return "object";
	if (node->type == CB_NODE_SEQ)
		return "array";
	return names[node_kind(node, NULL)];
}


/* ======================================================================
 * Errors
 * ======================================================================
 */

static bool
set_error(CbError *err, int sqlstate, char *message, char *detail, char *hint)
{
	err->sqlstate = sqlstate;
	err->message = message;
	err->detail = detail;
	err->hint = hint;
	return false;
}

/*
 * A character that YAML takes only escaped: DEL, the C1 controls (NEL is a
 * line break to libyaml), U+2028/9 (line breaks), BOM and U+FFFE/F.  The
 * manifest can hold them only through escapes ("\x7f", "\u2028"), and
 * PostgreSQL text stores them, so they are accepted; but jsonb prints them
 * raw, so the stored JSON escapes them (json_string) and so must the text
 * read back from jsonb (cb_stored_json_for_yaml).  Returns the length of
 * the UTF-8 sequence at p and sets *code, or 0 if p starts none.
 */
static int
raw_unsafe(const unsigned char *p, int *code)
{
	if (p[0] == 0x7F)
	{
		*code = 0x7F;
		return 1;
	}
	if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
	{
		*code = p[1];
		return 2;
	}
	if ((p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) ||
		(p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) ||
		(p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)))
	{
		*code = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		return 3;
	}
	return 0;
}

/*
 * A value quoted the way Go's %q does, cut at CB_MAX_QUOTED bytes (on a
 * character boundary) so that an error stays readable.
 */
static char *
go_quote(const char *s)
{
	StringInfoData buf;
	size_t		len = strlen(s);
	bool		cut = len > CB_MAX_QUOTED;

	if (cut)
	{
		len = CB_MAX_QUOTED;
		while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
			len--;
	}
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '"');
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		int			n;
		int			code;

		if (c == '"' || c == '\\')
			appendStringInfo(&buf, "\\%c", c);
		else if (c == '\n')
			appendStringInfoString(&buf, "\\n");
		else if (c == '\t')
			appendStringInfoString(&buf, "\\t");
		else if (c < 0x20 || c == 0x7f)
			appendStringInfo(&buf, "\\x%02x", c);
		else if ((n = raw_unsafe((const unsigned char *) s + i, &code)) > 1)
		{
			/* as strconv.Quote prints a rune that is not printable */
			appendStringInfo(&buf, "\\u%04x", code);
			i += n - 1;
		}
		else
			appendStringInfoChar(&buf, (char) c);
	}
	appendStringInfoString(&buf, cut ? "...\"" : "\"");
	return buf.data;
}

/*
 * A mapping key in an error text: quoted, unless it has a character no
 * field name or map key has (space, ':', '=', ...): then it may be
 * "key:value" without a space after the colon, read by YAML as one key.
 */
static bool
key_showable(const char *key)
{
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || strchr("-._/$@", *p) != NULL))
			return false;
	return true;
}

static char *
key_repr(const char *key)
{
	return key_showable(key) ? go_quote(key) : pstrdup("\"<key hidden>\"");
}

/* a node's value in an "Invalid value: X" text: quoted unless typed */
static char *
value_repr(const CbNode *node)
{
	ScalarKind	k = node_kind(node, NULL);

	if (node->type != CB_NODE_SCALAR)
		return go_quote(json_type_name(node));
	if (k == SK_STRING)
		return go_quote(node->value);
	return pstrdup(node->value);
}


/* ======================================================================
 * NameSet: open-addressing hash of names kept in a caller's array
 *
 * Mapping keys (duplicate check, merge keys) and anchor names are looked
 * up with it, so that big maps or many aliases stay linear.  The set holds
 * indexes into the caller's array, which may be reallocated between calls.
 * ======================================================================
 */

typedef struct NameSet
{
	int		   *slots;			/* index + 1 into names[]; 0 = free */
	int			cap;			/* power of 2 */
} NameSet;

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
static int
nameset_find(const NameSet *ns, char *const *names, const char *name)
{
	return ns->cap == 0 ? -1 : *nameset_slot(ns, names, name) - 1;
}

/*
 * Enter names[index]; an earlier entry of the same name is replaced (the
 * latest anchor definition wins).  Keeps at least half the slots free.
 */
static void
nameset_add(NameSet *ns, char *const *names, int index)
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

typedef struct Anchor
{
	CbNode	   *node;
	int			size;			/* nodes in the subtree, aliases expanded */
} Anchor;

typedef struct Reader
{
	yaml_parser_t parser;
	const char *text;
	size_t		len;
	int			nodes;			/* nodes so far, aliases expanded */
	Anchor	   *anchors;		/* of the current document */
	char	  **anchor_names;	/* parallel to anchors */
	int			nanchors;
	int			maxanchors;
	NameSet		anchor_set;		/* over anchor_names */
	bool		nul_seen;		/* a scalar of this document held a NUL */
	CbError    *err;
} Reader;

static bool read_node(Reader *r, yaml_event_t *ev, int depth, CbNode **out);

static bool
yaml_error_at(Reader *r, int line, int column, char *problem, char *detail)
{
	return set_error(r->err, ERRCODE_INVALID_TEXT_REPRESENTATION,
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

static bool
next_event(Reader *r, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&r->parser, ev))
		return parser_error(r);
	return true;
}

/* count n more nodes against the budget */
static bool
spend_nodes(Reader *r, int n, const yaml_mark_t *mark)
{
	if (n > CB_MAX_NODES - r->nodes)
		return yaml_error_mark(r, mark,
							   psprintf("the manifest has more than %d nodes once aliases are expanded",
										CB_MAX_NODES));
	r->nodes += n;
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
remember_anchor(Reader *r, const yaml_char_t *anchor, CbNode *node, int size)
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
	nameset_add(&r->anchor_set, r->anchor_names, r->nanchors);
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
	int			i = nameset_find(&r->anchor_set, r->anchor_names, name);

	if (i >= 0)
	{
		if (!spend_nodes(r, r->anchors[i].size, &ev->start_mark))
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
	n->value = canonical_text(&res, text);
	/* PostgreSQL text cannot hold it: refused later, naming the field */
	n->nul = strlen(text) != ev->data.scalar.length;
	r->nul_seen |= n->nul;
	remember_anchor(r, ev->data.scalar.anchor, n, 1);
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
	yaml_event_t ev;

	for (;;)
	{
		CbNode	   *item;

		if (!next_event(r, &ev))
			return false;
		if (ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (!read_node(r, &ev, depth + 1, &item))
			return false;
		append_item(n, &cap, NULL, item);
	}
	yaml_event_delete(&ev);
	remember_anchor(r, start->data.sequence_start.anchor, n, r->nodes - first + 1);
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
			if (nameset_find(ks, n->keys, map->keys[i]) >= 0)
				continue;
			append_item(n, cap, map->keys[i], map->items[i]);
			nameset_add(ks, n->keys, n->nitems - 1);
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
	NameSet		ks = {NULL, 0};
	CbNode	   *merge = NULL;
	bool		has_merge = false;
	yaml_event_t ev;

	for (;;)
	{
		CbNode	   *key;
		CbNode	   *value;
		const char *text;
		yaml_mark_t key_mark;

		if (!next_event(r, &ev))
			return false;
		if (ev.type == YAML_MAPPING_END_EVENT)
			break;
		key_mark = ev.start_mark;
		if (!read_node(r, &ev, depth + 1, &key) ||
			!key_text(r, key, &key_mark, &text))
			return false;
		if (!next_event(r, &ev) || !read_node(r, &ev, depth + 1, &value))
			return false;

		if (!key->quoted && strcmp(text, "<<") == 0 && !has_merge)
		{
			has_merge = true;
			merge = value->type == CB_NODE_NULL ? NULL : value;
			continue;
		}
		if (nameset_find(&ks, n->keys, text) >= 0 ||
			(has_merge && !key->quoted && strcmp(text, "<<") == 0))
			return yaml_error_mark(r, &key_mark,
								   psprintf("duplicate key %s in a mapping", key_repr(text)));
		append_item(n, &cap, text, value);
		nameset_add(&ks, n->keys, n->nitems - 1);
	}
	yaml_event_delete(&ev);
	if (merge != NULL && !apply_merge(r, n, &cap, &ks, merge))
		return false;
	if (ks.slots)
		pfree(ks.slots);
	remember_anchor(r, start->data.mapping_start.anchor, n, r->nodes - first + 1);
	*out = n;
	return true;
}

/*
 * Build the node that starts with event ev (which this takes over), and
 * everything below it.
 */
static bool
read_node(Reader *r, yaml_event_t *ev, int depth, CbNode **out)
{
	bool		ok;

	if (ev->type != YAML_ALIAS_EVENT && !spend_nodes(r, 1, &ev->start_mark))
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


/* ======================================================================
 * Schemas of the core kinds
 *
 * The Cluster schema is generated (fields_gen.c).  Kubernetes' ObjectMeta,
 * Secret and ConfigMap are small and stable: hand tables, in the same
 * notation and, like the generated ones, sorted by path.
 * ======================================================================
 */

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

static const CbFieldDef secret_fields[] = {
	{.path = "apiVersion", .type = CB_FIELD_STRING},
	{.path = "data", .type = CB_FIELD_OBJECT},
	{.path = "data.<key>", .type = CB_FIELD_STRING},
	{.path = "immutable", .type = CB_FIELD_BOOLEAN},
	{.path = "kind", .type = CB_FIELD_STRING},
	{.path = "metadata", .type = CB_FIELD_OBJECT, .required = true},
	{.path = "stringData", .type = CB_FIELD_OBJECT},
	{.path = "stringData.<key>", .type = CB_FIELD_STRING},
	{.path = "type", .type = CB_FIELD_STRING},
};

static const CbFieldDef configmap_fields[] = {
	{.path = "apiVersion", .type = CB_FIELD_STRING},
	{.path = "binaryData", .type = CB_FIELD_OBJECT},
	{.path = "binaryData.<key>", .type = CB_FIELD_STRING},
	{.path = "data", .type = CB_FIELD_OBJECT},
	{.path = "data.<key>", .type = CB_FIELD_STRING},
	{.path = "immutable", .type = CB_FIELD_BOOLEAN},
	{.path = "kind", .type = CB_FIELD_STRING},
	{.path = "metadata", .type = CB_FIELD_OBJECT, .required = true},
};

static const CbSchema secret_schema = {
	"Secret", "v1", NULL, "metadata", secret_fields, lengthof(secret_fields)
};

static const CbSchema configmap_schema = {
	"ConfigMap", "v1", NULL, "metadata", configmap_fields, lengthof(configmap_fields)
};

/* the kinds cnpg_bootstrap accepts */
static const struct
{
	CbKind		id;
	const CbSchema *schema;
}			supported_kinds[] =
{
	{CB_KIND_CLUSTER, &cb_cluster_schema},
	{CB_KIND_SECRET, &secret_schema},
	{CB_KIND_CONFIGMAP, &configmap_schema},
	{CB_KIND_OBJECTSTORE, &cb_objectstore_schema},
};


/* ======================================================================
 * One document: identity (kind, apiVersion, name) and schema walk
 * ======================================================================
 */

typedef struct DocCtx
{
	const CbSchema *schema;
	int			docno;			/* 1-based, among non-empty documents */
	int			line;
	char	   *label;			/* "Cluster/name", for errmsg */
	char	   *invalid;		/* "Cluster.postgresql.cnpg.io \"name\" is
								 * invalid", for errdetail */
	CbError    *err;
	StringInfoData tsv;			/* path in the tables' notation: a[].b, m.<key> */
	StringInfoData disp;		/* the same path as shown: a[0].b, m.key */
} DocCtx;

/*
 * A value in an error text (Kubernetes' "Invalid value: X"), or
 * "<value hidden>".  Shown only for a named field of a document that is
 * not a Secret: a value of a free-form map (<key> in the schema path:
 * connectionParameters, parameters, ConfigMap data, plugin parameters,
 * requests, ...) may be a password.  The callers are the checks of enums,
 * patterns, lengths and bounds, which only named fields have: the rule
 * also holds if the schema ever gives such a map a constraint.
 */
static char *
shown_value(const DocCtx *c, const char *tsv_path, const CbNode *node)
{
	if (strcmp(c->schema->kind, "Secret") == 0 || strstr(tsv_path, "<key>") != NULL)
		return pstrdup("\"<value hidden>\"");
	return value_repr(node);
}

/* a 22023 error about one field, in Kubernetes' shape */
static bool
field_error(DocCtx *c, const char *path, const char *problem, char *k8s, char *hint)
{
	return set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
					 psprintf("%s: %s: %s", c->label, path, problem),
					 psprintf("%s: %s: %s", c->invalid, path, k8s),
					 hint);
}

static bool
is_string_node(const CbNode *node)
{
	return node != NULL && node->type == CB_NODE_SCALAR &&
		node_kind(node, NULL) == SK_STRING;
}

/* a child of a map that is written and not null, or NULL */
static const CbNode *
get_set(const CbNode *map, const char *key)
{
	const CbNode *node = cb_node_get(map, key);

	return node != NULL && node->type != CB_NODE_NULL ? node : NULL;
}

static bool
no_kind_error(DocCtx *c, const CbNode *root)
{
	const char *what = root->type == CB_NODE_MAP ? "a map without a \"kind\" field" :
		root->type == CB_NODE_SEQ ? "a list" : "a single value";

	return set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
					 psprintf("document %d has no kind (not a Kubernetes object)", c->docno),
					 psprintf("The document starting at line %d is %s.", c->line, what),
					 pstrdup("Each document must be a Kubernetes object with apiVersion, kind and metadata.name; "
							 SUPPORTED_KINDS_HINT));
}

static bool
unsupported_kind_error(DocCtx *c, const CbNode *root, const CbNode *kind)
{
	const CbNode *api = get_set(root, "apiVersion");
	const CbNode *meta = get_set(root, "metadata");
	const CbNode *name = meta ? get_set(meta, "name") : NULL;
	const char *text = kind->type == CB_NODE_SCALAR ? kind->value :
		kind->type == CB_NODE_MAP ? "(a map)" : "(a list)";
	StringInfoData detail;

	initStringInfo(&detail);
	if (kind->type == CB_NODE_SCALAR)
		appendStringInfo(&detail, "kind %s", go_quote(text));
	else
		appendStringInfo(&detail, "kind is %s", kind->type == CB_NODE_MAP ? "a map" : "a list");
	if (is_string_node(api))
		appendStringInfo(&detail, ", apiVersion %s", go_quote(api->value));
	if (is_string_node(name))
		appendStringInfo(&detail, ", name %s", go_quote(name->value));
	appendStringInfo(&detail, " (document %d, line %d).", c->docno, c->line);
	return set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
					 psprintf("unsupported kind %s in document %d (line %d)",
							  kind->type != CB_NODE_SCALAR || key_showable(text) ? text : go_quote(text),
							  c->docno, c->line),
					 detail.data, pstrdup(SUPPORTED_KINDS_HINT));
}

/* find the document's kind among the supported ones */
static bool
check_kind(DocCtx *c, const CbNode *root, CbKind *id)
{
	const CbNode *kind = root->type == CB_NODE_MAP ? get_set(root, "kind") : NULL;

	if (kind == NULL || (kind->type == CB_NODE_SCALAR && kind->value[0] == '\0'))
		return no_kind_error(c, root);
	for (int i = 0; i < NELEMS(supported_kinds); i++)
	{
		if (is_string_node(kind) &&
			strcmp(kind->value, supported_kinds[i].schema->kind) == 0)
		{
			c->schema = supported_kinds[i].schema;
			*id = supported_kinds[i].id;
			return true;
		}
	}
	return unsupported_kind_error(c, root, kind);
}

static bool
check_api_version(DocCtx *c, const CbNode *root)
{
	const CbNode *api = get_set(root, "apiVersion");
	const char *want = c->schema->api_version;

	if (is_string_node(api) && strcmp(api->value, want) == 0)
		return true;
	if (api == NULL)
		return set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						 psprintf("%s: apiVersion: required value missing", c->label),
						 pstrdup("Object 'apiVersion' is missing."),
						 psprintf("Add apiVersion: %s.", want));
	return set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
					 psprintf("%s: apiVersion %s is not supported for kind %s",
							  c->label, value_repr(api), c->schema->kind),
					 psprintf("no matches for kind \"%s\" in version %s",
							  c->schema->kind, value_repr(api)),
					 psprintf("Use apiVersion: %s.", want));
}

/* Kubernetes' RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most maxlen */
static bool
is_dns_label(const char *s, size_t len, size_t maxlen)
{
	if (len == 0 || len > maxlen || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Kubernetes' RFC 1123 subdomain: dot-separated labels, at most 253 */
static bool
is_dns_subdomain(const char *s)
{
	size_t		len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (;;)
	{
		const char *dot = strchr(s, '.');
		size_t		n = dot ? (size_t) (dot - s) : strlen(s);

		if (!is_dns_label(s, n, 253))
			return false;
		if (dot == NULL)
			return true;
		s = dot + 1;
	}
}

/* name the document in errmsg and errdetail by its metadata.name */
static void
set_label(DocCtx *c, const char *name)
{
	c->label = psprintf("%s/%s", c->schema->kind, name);
	c->invalid = c->schema->group ?
		psprintf("%s.%s \"%s\" is invalid", c->schema->kind, c->schema->group, name) :
		psprintf("%s \"%s\" is invalid", c->schema->kind, name);
}

/*
 * metadata.name: required, a string, an RFC 1123 subdomain (as Kubernetes
 * checks every object's name; CloudNativePG narrows it for Clusters in
 * validate.c).  Sets the document's label for later messages.
 */
static bool
check_name(DocCtx *c, const CbNode *root, char **name)
{
	const CbNode *meta = get_set(root, "metadata");
	const CbNode *node = meta && meta->type == CB_NODE_MAP ? get_set(meta, "name") : NULL;
	const CbNode *ns = meta && meta->type == CB_NODE_MAP ? get_set(meta, "namespace") : NULL;

	if (node == NULL)
		return field_error(c, "metadata.name", "required value missing",
						   pstrdup("Required value: name or generateName is required"),
						   pstrdup("Give the object a name under metadata.name; cnpg_bootstrap does not generate names."));
	if (!is_string_node(node))
		return field_error(c, "metadata.name", "must be a string",
						   psprintf("Invalid value: %s: must be a string", value_repr(node)),
						   NULL);
	set_label(c, node->value);
	if (!is_dns_subdomain(node->value))
		return field_error(c, "metadata.name", "invalid name",
						   psprintf("Invalid value: %s: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
									go_quote(node->value)),
						   pstrdup("Use at most 253 lower case letters, digits, '-' and '.', starting and ending with a letter or digit."));
	if (is_string_node(ns) && !is_dns_label(ns->value, strlen(ns->value), 63))
		return field_error(c, "metadata.namespace", "invalid namespace",
						   psprintf("Invalid value: %s: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
									go_quote(ns->value)),
						   pstrdup("Use at most 63 lower case letters, digits and '-', starting and ending with a letter or digit."));
	*name = node->value;
	return true;
}

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
	if (!key_showable(key))
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
	return field_error(c, path, "unknown field",
					   psprintf("Invalid value: %s: field not declared in schema", go_quote(key)),
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

		if (get_set(node, name) == NULL && !has_schema_default(c, name))
		{
			char	   *path = c->disp.len ? psprintf("%s.%s", c->disp.data, name) : name;

			return field_error(c, path, "required value missing",
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
static bool
walk_map(DocCtx *c, const CbNode *node, const char *required)
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
	ScalarKind	k = node->type == CB_NODE_SCALAR ? node_kind(node, res) : SK_NULL;

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
	const char *actual = json_type_name(node);
	const char *hint = NULL;
	int			t = 0;

	while (t < NELEMS(type_texts) - 1 && type_texts[t].type != def->type)
		t++;
	hint = type_texts[t].hint;
	/* never the value: this is where a password written as a number lands */
	if (def->type == CB_FIELD_STRING && node->type == CB_NODE_SCALAR)
		hint = "Quote the value to make it a string.";
	return field_error(c, c->disp.data, type_texts[t].problem,
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
	char	   *q = shown_value(c, c->tsv.data, node);

	if (def->enum_values && !enum_contains(def->enum_values, v))
		return field_error(c, path, psprintf("unsupported value %s", q),
						   psprintf("Unsupported value: %s: supported values: %s",
									q, enum_list(def->enum_values, "\"")),
						   psprintf("Allowed values: %s.", enum_list(def->enum_values, "")));
	if (def->has_min_length && utf8_length(v) < def->min_length)
		return field_error(c, path,
						   psprintf("must be at least %d characters long", def->min_length),
						   psprintf("Invalid value: %s: %s in body should be at least %d chars long",
									q, path, def->min_length),
						   NULL);
	if (def->has_max_length && utf8_length(v) > def->max_length)
		return field_error(c, path,
						   psprintf("must be at most %d characters long", def->max_length),
						   psprintf("Too long: may not be longer than %d", def->max_length),
						   NULL);
	if (def->pattern && !pattern_matches(def->pattern, v))
		return field_error(c, path, "does not match the required pattern",
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
		return field_error(c, path,
						   psprintf("must be greater than or equal to " INT64_FORMAT, def->min),
						   psprintf("Invalid value: %s: %s in body should be greater than or equal to " INT64_FORMAT,
									shown_value(c, c->tsv.data, node), path, def->min),
						   def->has_max ?
						   psprintf("Allowed range: " INT64_FORMAT " to " INT64_FORMAT ".", def->min, def->max) :
						   psprintf("The smallest allowed value is " INT64_FORMAT ".", def->min));
	if (above)
		return field_error(c, path,
						   psprintf("must be less than or equal to " INT64_FORMAT, def->max),
						   psprintf("Invalid value: %s: %s in body should be less than or equal to " INT64_FORMAT,
									shown_value(c, c->tsv.data, node), path, def->max),
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
			return def->preserve_unknown || walk_map(c, node, def->required_children);
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


/* ======================================================================
 * Filling the structs (no defaulting here: see validate.c)
 * ======================================================================
 */

typedef enum FillKind
{
	FILL_STRING,				/* char *: a string */
	FILL_INT,					/* int: an integer that fits */
	FILL_BOOL,					/* bool */
	FILL_TRISTATE,				/* int: CB_UNSET, 0 or 1 */
	FILL_PRESENT,				/* bool: the field is written (and not null) */
	FILL_LIST,					/* CbStringList of strings */
	FILL_MAP,					/* CbMap of strings */
	FILL_KEYREF,				/* CbKeyRef from {name, key} */
	FILL_LOCALREF,				/* CbKeyRef from {name} */
	FILL_SQLREFS				/* CbSQLRefs from {secretRefs, configMapRefs} */
} FillKind;

typedef struct FillRule
{
	const char *path;			/* dotted, below the object being filled */
	FillKind	kind;
	size_t		offset;			/* of the C field in the struct filled */
} FillRule;

#define CS(path, kind, field) {path, kind, offsetof(CbClusterSpec, field)}
#define EC(path, kind, field) {path, kind, offsetof(CbExternalCluster, field)}
#define OS(path, kind, field) {path, kind, offsetof(CbObjectStore, field)}

/* spec.<path> -> CbClusterSpec (externalClusters apart, see below) */
static const FillRule cluster_rules[] = {
	CS("instances", FILL_INT, instances),
	CS("imageName", FILL_STRING, image_name),
	CS("imageCatalogRef", FILL_PRESENT, has_image_catalog_ref),
	CS("storage.size", FILL_STRING, storage_size),
	CS("storage.pvcTemplate.resources.requests.storage", FILL_PRESENT, has_storage_pvc_template_request),
	CS("walStorage.pvcTemplate.resources.requests.storage", FILL_PRESENT, has_wal_storage_pvc_template_request),
	CS("walStorage", FILL_PRESENT, has_wal_storage),
	CS("walStorage.size", FILL_STRING, wal_storage_size),
	CS("superuserSecret", FILL_PRESENT, has_superuser_secret),
	CS("superuserSecret.name", FILL_STRING, superuser_secret_name),
	CS("enableSuperuserAccess", FILL_BOOL, enable_superuser_access),
	CS("logLevel", FILL_STRING, log_level),
	CS("maxSyncReplicas", FILL_INT, max_sync_replicas),
	CS("minSyncReplicas", FILL_INT, min_sync_replicas),
	CS("certificates", FILL_PRESENT, certificates.present),
	CS("certificates.serverCASecret", FILL_STRING, certificates.server_ca_secret),
	CS("certificates.serverTLSSecret", FILL_STRING, certificates.server_tls_secret),
	CS("certificates.clientCASecret", FILL_STRING, certificates.client_ca_secret),
	CS("certificates.replicationTLSSecret", FILL_STRING, certificates.replication_tls_secret),
	CS("certificates.serverAltDNSNames", FILL_LIST, certificates.server_alt_dns_names),
	CS("postgresql.parameters", FILL_MAP, parameters),
	CS("postgresql.pg_hba", FILL_LIST, pg_hba),
	CS("postgresql.pg_ident", FILL_LIST, pg_ident),
	CS("postgresql.shared_preload_libraries", FILL_LIST, shared_preload_libraries),

	CS("bootstrap.initdb", FILL_PRESENT, bootstrap.initdb.present),
	CS("bootstrap.initdb.database", FILL_STRING, bootstrap.initdb.database),
	CS("bootstrap.initdb.owner", FILL_STRING, bootstrap.initdb.owner),
	CS("bootstrap.initdb.secret", FILL_LOCALREF, bootstrap.initdb.secret),
	CS("bootstrap.initdb.options", FILL_LIST, bootstrap.initdb.options),
	CS("bootstrap.initdb.dataChecksums", FILL_TRISTATE, bootstrap.initdb.data_checksums),
	CS("bootstrap.initdb.encoding", FILL_STRING, bootstrap.initdb.encoding),
	CS("bootstrap.initdb.locale", FILL_STRING, bootstrap.initdb.locale),
	CS("bootstrap.initdb.localeCollate", FILL_STRING, bootstrap.initdb.locale_collate),
	CS("bootstrap.initdb.localeCType", FILL_STRING, bootstrap.initdb.locale_ctype),
	CS("bootstrap.initdb.localeProvider", FILL_STRING, bootstrap.initdb.locale_provider),
	CS("bootstrap.initdb.icuLocale", FILL_STRING, bootstrap.initdb.icu_locale),
	CS("bootstrap.initdb.icuRules", FILL_STRING, bootstrap.initdb.icu_rules),
	CS("bootstrap.initdb.builtinLocale", FILL_STRING, bootstrap.initdb.builtin_locale),
	CS("bootstrap.initdb.walSegmentSize", FILL_INT, bootstrap.initdb.wal_segment_size),
	CS("bootstrap.initdb.postInitSQL", FILL_LIST, bootstrap.initdb.post_init_sql),
	CS("bootstrap.initdb.postInitTemplateSQL", FILL_LIST, bootstrap.initdb.post_init_template_sql),
	CS("bootstrap.initdb.postInitApplicationSQL", FILL_LIST, bootstrap.initdb.post_init_application_sql),
	CS("bootstrap.initdb.postInitSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_sql_refs),
	CS("bootstrap.initdb.postInitTemplateSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_template_sql_refs),
	CS("bootstrap.initdb.postInitApplicationSQLRefs", FILL_SQLREFS, bootstrap.initdb.post_init_application_sql_refs),
	CS("bootstrap.initdb.import", FILL_PRESENT, bootstrap.initdb.import.present),
	CS("bootstrap.initdb.import.type", FILL_STRING, bootstrap.initdb.import.type),
	CS("bootstrap.initdb.import.databases", FILL_LIST, bootstrap.initdb.import.databases),
	CS("bootstrap.initdb.import.roles", FILL_LIST, bootstrap.initdb.import.roles),
	CS("bootstrap.initdb.import.source.externalCluster", FILL_STRING, bootstrap.initdb.import.source_external_cluster),
	CS("bootstrap.initdb.import.postImportApplicationSQL", FILL_LIST, bootstrap.initdb.import.post_import_application_sql),
	CS("bootstrap.initdb.import.schemaOnly", FILL_BOOL, bootstrap.initdb.import.schema_only),
	CS("bootstrap.initdb.import.pgDumpExtraOptions", FILL_LIST, bootstrap.initdb.import.pg_dump_extra_options),
	CS("bootstrap.initdb.import.pgRestoreExtraOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_extra_options),
	CS("bootstrap.initdb.import.pgRestorePredataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_predata_options),
	CS("bootstrap.initdb.import.pgRestoreDataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_data_options),
	CS("bootstrap.initdb.import.pgRestorePostdataOptions", FILL_LIST, bootstrap.initdb.import.pg_restore_postdata_options),

	CS("bootstrap.pg_basebackup", FILL_PRESENT, bootstrap.pg_basebackup.present),
	CS("bootstrap.pg_basebackup.source", FILL_STRING, bootstrap.pg_basebackup.source),
	CS("bootstrap.pg_basebackup.database", FILL_STRING, bootstrap.pg_basebackup.database),
	CS("bootstrap.pg_basebackup.owner", FILL_STRING, bootstrap.pg_basebackup.owner),
	CS("bootstrap.pg_basebackup.secret", FILL_LOCALREF, bootstrap.pg_basebackup.secret),

	CS("bootstrap.recovery", FILL_PRESENT, bootstrap.recovery.present),
	CS("bootstrap.recovery.source", FILL_STRING, bootstrap.recovery.source),
	CS("bootstrap.recovery.backup", FILL_LOCALREF, bootstrap.recovery.backup),
	CS("bootstrap.recovery.backup.endpointCA", FILL_KEYREF, bootstrap.recovery.backup_endpoint_ca),
	CS("bootstrap.recovery.volumeSnapshots", FILL_PRESENT, bootstrap.recovery.has_volume_snapshots),
	CS("bootstrap.recovery.volumeSnapshots.walStorage", FILL_PRESENT, bootstrap.recovery.has_volume_snapshots_wal),
	CS("bootstrap.recovery.volumeSnapshots.storage.kind", FILL_STRING, bootstrap.recovery.volume_snapshots_kind),
	CS("bootstrap.recovery.volumeSnapshots.storage.apiGroup", FILL_STRING, bootstrap.recovery.volume_snapshots_api_group),
	CS("bootstrap.recovery.volumeSnapshots.walStorage.kind", FILL_STRING, bootstrap.recovery.volume_snapshots_wal_kind),
	CS("bootstrap.recovery.volumeSnapshots.walStorage.apiGroup", FILL_STRING, bootstrap.recovery.volume_snapshots_wal_api_group),
	CS("bootstrap.recovery.recoveryTarget", FILL_PRESENT, bootstrap.recovery.target.present),
	CS("bootstrap.recovery.recoveryTarget.backupID", FILL_STRING, bootstrap.recovery.target.backup_id),
	CS("bootstrap.recovery.recoveryTarget.targetTLI", FILL_STRING, bootstrap.recovery.target.target_tli),
	CS("bootstrap.recovery.recoveryTarget.targetXID", FILL_STRING, bootstrap.recovery.target.target_xid),
	CS("bootstrap.recovery.recoveryTarget.targetName", FILL_STRING, bootstrap.recovery.target.target_name),
	CS("bootstrap.recovery.recoveryTarget.targetLSN", FILL_STRING, bootstrap.recovery.target.target_lsn),
	CS("bootstrap.recovery.recoveryTarget.targetTime", FILL_STRING, bootstrap.recovery.target.target_time),
	CS("bootstrap.recovery.recoveryTarget.targetImmediate", FILL_TRISTATE, bootstrap.recovery.target.target_immediate),
	CS("bootstrap.recovery.recoveryTarget.exclusive", FILL_TRISTATE, bootstrap.recovery.target.exclusive),
	CS("bootstrap.recovery.database", FILL_STRING, bootstrap.recovery.database),
	CS("bootstrap.recovery.owner", FILL_STRING, bootstrap.recovery.owner),
	CS("bootstrap.recovery.secret", FILL_LOCALREF, bootstrap.recovery.secret),

	CS("replica", FILL_PRESENT, replica.present),
	CS("replica.enabled", FILL_TRISTATE, replica.enabled),
	CS("replica.source", FILL_STRING, replica.source),
	CS("replica.primary", FILL_STRING, replica.primary),
	CS("replica.self", FILL_STRING, replica.self),
	CS("replica.promotionToken", FILL_STRING, replica.promotion_token),
	CS("replica.minApplyDelay", FILL_STRING, replica.min_apply_delay),
};

/*
 * spec.externalClusters[i].<path> -> CbExternalCluster; the fields below
 * barmanObjectStore are filled by object_store_rules.
 */
static const FillRule external_cluster_rules[] = {
	EC("name", FILL_STRING, name),
	EC("connectionParameters", FILL_PRESENT, has_connection_parameters),
	EC("connectionParameters", FILL_MAP, connection_parameters),
	EC("sslCert", FILL_KEYREF, ssl_cert),
	EC("sslKey", FILL_KEYREF, ssl_key),
	EC("sslRootCert", FILL_KEYREF, ssl_root_cert),
	EC("password", FILL_KEYREF, password),
	EC("barmanObjectStore", FILL_PRESENT, barman_object_store.present),
	EC("plugin", FILL_PRESENT, has_plugin),
	EC("plugin.name", FILL_STRING, plugin_name),
	EC("plugin.parameters", FILL_MAP, plugin_parameters),
};

/*
 * A Barman object store -> CbObjectStore: one table for both places it is
 * written, spec.externalClusters[].barmanObjectStore of a Cluster and
 * spec.configuration of an ObjectStore (the plugin's copy of the same type).
 */
static const FillRule object_store_rules[] = {
	OS("destinationPath", FILL_STRING, destination_path),
	OS("endpointURL", FILL_STRING, endpoint_url),
	OS("endpointCA", FILL_KEYREF, endpoint_ca),
	OS("serverName", FILL_STRING, server_name),
	OS("s3Credentials", FILL_PRESENT, has_s3),
	OS("s3Credentials.accessKeyId", FILL_KEYREF, s3_access_key_id),
	OS("s3Credentials.secretAccessKey", FILL_KEYREF, s3_secret_access_key),
	OS("s3Credentials.region", FILL_KEYREF, s3_region),
	OS("s3Credentials.sessionToken", FILL_KEYREF, s3_session_token),
	OS("s3Credentials.inheritFromIAMRole", FILL_BOOL, s3_inherit_from_iam_role),
	OS("azureCredentials", FILL_PRESENT, has_azure),
	OS("azureCredentials.connectionString", FILL_KEYREF, azure_connection_string),
	OS("azureCredentials.storageAccount", FILL_KEYREF, azure_storage_account),
	OS("azureCredentials.storageKey", FILL_KEYREF, azure_storage_key),
	OS("azureCredentials.storageSasToken", FILL_KEYREF, azure_storage_sas_token),
	OS("azureCredentials.inheritFromAzureAD", FILL_BOOL, azure_inherit_from_azure_ad),
	OS("azureCredentials.useDefaultAzureCredentials", FILL_BOOL, azure_use_default_credentials),
	OS("googleCredentials", FILL_PRESENT, has_google),
	OS("googleCredentials.applicationCredentials", FILL_KEYREF, google_application_credentials),
	OS("googleCredentials.gkeEnvironment", FILL_BOOL, google_gke_environment),
	OS("wal.compression", FILL_STRING, wal_compression),
	OS("wal.maxParallel", FILL_INT, wal_max_parallel),
	OS("wal.restoreAdditionalCommandArgs", FILL_LIST, wal_restore_additional_command_args),
	OS("data.compression", FILL_STRING, data_compression),
	OS("data.restoreAdditionalCommandArgs", FILL_LIST, data_restore_additional_command_args),
};

/*
 * The fields of spec a Cluster is bootstrapped from (the columns of
 * CbClusterSpec), as path prefixes; every other written field of spec is
 * reported in doc->ignored_paths.
 */
static const char *const acted_on_paths[] = {
	"spec.bootstrap",
	"spec.certificates",
	"spec.description",
	"spec.enableSuperuserAccess",
	"spec.externalClusters",
	"spec.imageCatalogRef",
	"spec.imageName",
	"spec.instances",
	"spec.logLevel",
	"spec.maxSyncReplicas",
	"spec.minSyncReplicas",
	"spec.postgresGID",
	"spec.postgresUID",
	"spec.postgresql.parameters",
	"spec.postgresql.pg_hba",
	"spec.postgresql.pg_ident",
	"spec.postgresql.shared_preload_libraries",
	"spec.replica",
	"spec.storage.pvcTemplate.resources.requests.storage",
	"spec.storage.size",
	"spec.superuserSecret",
	"spec.walStorage.pvcTemplate.resources.requests.storage",
	"spec.walStorage.size",
};

/* node at a dotted path below a map; NULL if absent or null */
static const CbNode *
node_at(const CbNode *node, const char *path)
{
	while (node != NULL && *path)
	{
		const char *dot = strchr(path, '.');
		size_t		n = dot ? (size_t) (dot - path) : strlen(path);
		const CbNode *next = NULL;

		for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
			if (strncmp(node->keys[i], path, n) == 0 && node->keys[i][n] == '\0')
				next = node->items[i];
		node = next;
		path += dot ? n + 1 : n;
	}
	return node != NULL && node->type != CB_NODE_NULL ? node : NULL;
}

static char *
string_at(const CbNode *node, const char *path)
{
	const CbNode *n = node_at(node, path);

	return n != NULL && n->type == CB_NODE_SCALAR ? n->value : NULL;
}

/*
 * Lists and maps grow by doubling: their capacity is the next power of two
 * of their length, so no capacity field is needed.
 */
static void *
grow_array(void *items, int n, size_t size)
{
	if (n == 0)
		return palloc(size);
	if ((n & (n - 1)) == 0)
		return repalloc(items, size * n * 2);
	return items;
}

static void
string_list_append(CbStringList *list, char *s)
{
	list->items = grow_array(list->items, list->n, sizeof(char *));
	list->items[list->n++] = s;
}

static void
fill_list(CbStringList *list, const CbNode *seq)
{
	for (int i = 0; seq->type == CB_NODE_SEQ && i < seq->nitems; i++)
		if (seq->items[i]->type == CB_NODE_SCALAR)
			string_list_append(list, seq->items[i]->value);
}

static void
map_append(CbMap *map, char *key, char *value, int len)
{
	map->items = grow_array(map->items, map->n, sizeof(CbKV));
	map->items[map->n].key = key;
	map->items[map->n].value = value;
	map->items[map->n].len = len;
	map->n++;
}

/* a map of strings; null values are dropped, as the API server does */
static void
fill_map(CbMap *map, const CbNode *node)
{
	for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
		if (node->items[i]->type == CB_NODE_SCALAR)
			map_append(map, node->keys[i], node->items[i]->value,
					   strlen(node->items[i]->value));
}

static void
fill_keyref(CbKeyRef *ref, const CbNode *node, bool with_key)
{
	ref->present = true;
	ref->name = string_at(node, "name");
	ref->key = with_key ? string_at(node, "key") : NULL;
}

static void
fill_keyref_list(const CbNode *seq, int *n, CbKeyRef **refs)
{
	if (seq == NULL || seq->type != CB_NODE_SEQ || seq->nitems == 0)
		return;
	*refs = palloc0(sizeof(CbKeyRef) * seq->nitems);
	for (int i = 0; i < seq->nitems; i++)
		fill_keyref(&(*refs)[(*n)++], seq->items[i], true);
}

static bool
fill_int(DocCtx *c, const char *prefix, const FillRule *rule, const CbNode *node,
		 int *field)
{
	Resolved	res;

	if (node_kind(node, &res) != SK_INT)
		return true;			/* the schema walk has reported it */
	if (res.i < PG_INT32_MIN || res.i > PG_INT32_MAX)
	{
		char	   *path = psprintf("%s.%s", prefix, rule->path);

		return field_error(c, path, "must fit in 32 bits",
						   psprintf("Invalid value: %s: must be between %d and %d",
									shown_value(c, path, node), PG_INT32_MIN, PG_INT32_MAX),
						   NULL);
	}
	*field = (int) res.i;
	return true;
}

/* apply a table of rules to obj (a map), writing into base */
static bool
fill_rules(DocCtx *c, const char *prefix, const CbNode *obj,
		   const FillRule *rules, int nrules, void *base)
{
	for (int i = 0; i < nrules; i++)
	{
		const FillRule *rule = &rules[i];
		const CbNode *node = node_at(obj, rule->path);
		char	   *field = (char *) base + rule->offset;
		Resolved	res;

		if (rule->kind == FILL_TRISTATE)
			*(int *) field = node && node_kind(node, &res) == SK_BOOL ? res.b : CB_UNSET;
		if (node == NULL)
			continue;
		switch (rule->kind)
		{
			case FILL_STRING:
				*(char **) field = node->type == CB_NODE_SCALAR ? node->value : NULL;
				break;
			case FILL_INT:
				if (!fill_int(c, prefix, rule, node, (int *) field))
					return false;
				break;
			case FILL_BOOL:
				*(bool *) field = node_kind(node, &res) == SK_BOOL && res.b;
				break;
			case FILL_TRISTATE:
				break;
			case FILL_PRESENT:
				*(bool *) field = true;
				break;
			case FILL_LIST:
				fill_list((CbStringList *) field, node);
				break;
			case FILL_MAP:
				fill_map((CbMap *) field, node);
				break;
			case FILL_KEYREF:
			case FILL_LOCALREF:
				fill_keyref((CbKeyRef *) field, node, rule->kind == FILL_KEYREF);
				break;
			case FILL_SQLREFS:
				{
					CbSQLRefs  *refs = (CbSQLRefs *) field;

					fill_keyref_list(node_at(node, "secretRefs"), &refs->nsecrets, &refs->secrets);
					fill_keyref_list(node_at(node, "configMapRefs"), &refs->nconfigmaps, &refs->configmaps);
				}
				break;
		}
	}
	return true;
}

static bool
fill_external_clusters(DocCtx *c, CbClusterSpec *spec, const CbNode *seq)
{
	if (seq == NULL || seq->type != CB_NODE_SEQ || seq->nitems == 0)
		return true;
	spec->external_clusters = palloc0(sizeof(CbExternalCluster) * seq->nitems);
	for (int i = 0; i < seq->nitems; i++)
	{
		char	   *prefix = psprintf("spec.externalClusters[%d]", i);

		CbExternalCluster *ec = &spec->external_clusters[i];

		if (!fill_rules(c, prefix, seq->items[i], external_cluster_rules,
						lengthof(external_cluster_rules), ec))
			return false;
		if (ec->barman_object_store.present &&
			!fill_rules(c, psprintf("%s.barmanObjectStore", prefix),
						node_at(seq->items[i], "barmanObjectStore"), object_store_rules,
						lengthof(object_store_rules), &ec->barman_object_store))
			return false;
		spec->nexternal_clusters++;
	}
	return true;
}

/* is path (concrete, no indexes) acted on, an ancestor of such, or neither? */
typedef enum Acted
{
	ACTED_NO,
	ACTED_YES,
	ACTED_BELOW
} Acted;

/* a kind's acted-on prefixes (acted_on_paths and the like) */
typedef struct ActedOn
{
	const char *const *paths;
	int			npaths;
} ActedOn;

static Acted
acted_on(const ActedOn *table, const char *path)
{
	size_t		len = strlen(path);
	Acted		result = ACTED_NO;

	for (int i = 0; i < table->npaths; i++)
	{
		const char *a = table->paths[i];
		size_t		alen = strlen(a);

		if (len >= alen && strncmp(path, a, alen) == 0 && (path[alen] == '\0' || path[alen] == '.'))
			return ACTED_YES;
		if (alen > len && strncmp(a, path, len) == 0 && a[len] == '.')
			result = ACTED_BELOW;
	}
	return result;
}

/* the shallowest written paths below node that we do not act on */
static void
collect_ignored(CbStringList *out, const ActedOn *table, const CbNode *node,
				const char *path)
{
	for (int i = 0; node->type == CB_NODE_MAP && i < node->nitems; i++)
	{
		char	   *child = psprintf("%s.%s", path, node->keys[i]);

		if (node->items[i]->type == CB_NODE_NULL)
			continue;
		switch (acted_on(table, child))
		{
			case ACTED_YES:
				break;
			case ACTED_BELOW:
				collect_ignored(out, table, node->items[i], child);
				break;
			case ACTED_NO:
				string_list_append(out, child);
				break;
		}
	}
}

static bool
fill_cluster(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbClusterSpec *spec = palloc0(sizeof(CbClusterSpec));
	const CbNode *meta = node_at(root, "metadata");
	const CbNode *specnode = node_at(root, "spec");
	static const char *const methods[] = {"initdb", "pg_basebackup", "recovery"};

	spec->name = doc->name;
	spec->namespace = string_at(meta, "namespace");
	spec->has_resource_version = node_at(meta, "resourceVersion") != NULL;
	if (node_at(meta, "annotations"))
		fill_map(&spec->annotations, node_at(meta, "annotations"));
	if (!fill_rules(c, "spec", specnode, cluster_rules, lengthof(cluster_rules), spec) ||
		!fill_external_clusters(c, spec, node_at(specnode, "externalClusters")))
		return false;
	spec->bootstrap_written = node_at(specnode, "bootstrap") != NULL;
	for (int i = 0; i < NELEMS(methods); i++)
		if (node_at(node_at(specnode, "bootstrap"), methods[i]))
			spec->bootstrap_methods_written++;
	if (specnode)
	{
		ActedOn		table = {acted_on_paths, NELEMS(acted_on_paths)};

		collect_ignored(&doc->ignored_paths, &table, specnode, "spec");
	}
	doc->cluster = spec;
	return true;
}

/*
 * ObjectStore: spec.configuration is a barmanObjectStore and is filled by
 * the same rules; the rest of spec (retentionPolicy, the sidecar) concerns
 * backups taken on Kubernetes, so it is reported as not acted on.
 */
static bool
fill_objectstore(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	static const char *const objectstore_acted_on[] = {"spec.configuration"};
	ActedOn		table = {objectstore_acted_on, NELEMS(objectstore_acted_on)};
	CbObjectStoreDoc *os = palloc0(sizeof(CbObjectStoreDoc));
	const CbNode *specnode = node_at(root, "spec");
	const CbNode *conf = node_at(specnode, "configuration");

	os->name = doc->name;
	os->namespace = string_at(node_at(root, "metadata"), "namespace");
	os->configuration.present = conf != NULL;
	if (!fill_rules(c, "spec.configuration", conf, object_store_rules,
					lengthof(object_store_rules), &os->configuration))
		return false;
	if (specnode)
		collect_ignored(&doc->ignored_paths, &table, specnode, "spec");
	doc->objectstore = os;
	return true;
}


/* ======================================================================
 * Secret and ConfigMap
 * ======================================================================
 */

static int
base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Standard base64 with padding, as Go's encoding/json decodes []byte: CR
 * and LF are skipped anywhere.  On failure *bad is the offending offset.
 */
static bool
decode_base64(const char *in, char **out, int *outlen, int *bad)
{
	size_t		len = strlen(in);
	char	   *buf = palloc(len / 4 * 3 + 4);
	int			n = 0;
	int			quad[4];
	int			q = 0;
	int			pad = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		ch = in[i];

		if (ch == '\r' || ch == '\n')
			continue;
		*bad = (int) i;
		if (ch == '=' && (q >= 2 || pad > 0) && q + pad < 4)
		{
			pad++;
			continue;
		}
		if (pad > 0 || (quad[q] = base64_value(ch)) < 0)
			return false;
		if (++q == 4)
		{
			buf[n++] = (char) ((quad[0] << 2) | (quad[1] >> 4));
			buf[n++] = (char) ((quad[1] << 4) | (quad[2] >> 2));
			buf[n++] = (char) ((quad[2] << 6) | quad[3]);
			q = 0;
		}
	}
	*bad = (int) len;
	if (q + pad != 4 && q + pad != 0)
		return false;
	if (q >= 2)
		buf[n++] = (char) ((quad[0] << 2) | (quad[1] >> 4));
	if (q == 3)
		buf[n++] = (char) ((quad[1] << 4) | (quad[2] >> 2));
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return true;
}

/*
 * Kubernetes' IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, not "." or "..",
 * not starting with ".."; the first failed rule is reported in its words.
 * A key with other characters, or too long, is not shown, only its rank
 * in its section (index from 0, shown from 1): "{password:x}", without a
 * space after the colon, is one key to YAML, and it holds the password.
 */
static bool
check_config_key(DocCtx *c, const char *section, int index, const char *key)
{
	size_t		len = strlen(key);
	bool		charset = len > 0;
	const char *problem;

	/* ASCII only, whatever the server's LC_CTYPE */
	for (size_t i = 0; charset && i < len; i++)
		charset = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
			(key[i] >= '0' && key[i] <= '9') || (key[i] != '\0' && strchr("-._", key[i]) != NULL);
	if (len > 253)
		problem = "must be no more than 253 characters";
	else if (!charset)
		problem = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
	else if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
		problem = psprintf("must not be '%s'", key);
	else if (strncmp(key, "..", 2) == 0)
		problem = "must not start with '..'";
	else
		return true;
	if (len > 253 || !charset)
		return field_error(c, psprintf("%s.<key %d>", section, index + 1), "invalid key",
						   psprintf("Invalid value: \"<key hidden>\": %s", problem),
						   pstrdup("Keys may hold letters, digits, '-', '_' and '.', at most 253 characters. "
								   "The key is not shown: \"key:value\" without a space after the colon is one key to YAML."));
	return field_error(c, psprintf("%s.%s", section, key), "invalid key",
					   psprintf("Invalid value: %s: %s", go_quote(key), problem),
					   pstrdup("Keys may hold letters, digits, '-', '_' and '.', at most 253 characters, and may not be \".\" or start with \"..\"."));
}

/* a base64 value of data/binaryData; the value itself is never quoted back */
static bool
decode_entry(DocCtx *c, const char *section, const char *key, const CbNode *value,
			 char **out, int *outlen)
{
	int			bad;

	if (value->type != CB_NODE_SCALAR)
	{
		*out = pstrdup("");
		*outlen = 0;
		return true;
	}
	if (decode_base64(value->value, out, outlen, &bad))
		return true;
	return field_error(c, psprintf("%s.%s", section, key), "not valid base64",
					   psprintf("Invalid value: \"<value hidden>\": illegal base64 data at input byte %d", bad),
					   psprintf("Values under %s must be base64-encoded%s.", section,
								strcmp(section, "data") == 0 ?
								" (put plain text under stringData instead)" : ""));
}

static void
nameset_of_map(NameSet *ns, const CbNode *map)
{
	for (int i = 0; map != NULL && i < map->nitems; i++)
		nameset_add(ns, map->keys, i);
}

/*
 * stringData (plain) merged with data (base64; stringData wins on a
 * conflict, but every data value must still decode).  A value from data
 * ending in a newline is kept as given but earns a warning: the classic
 * "echo" without -n, which makes CloudNativePG users' logins fail.
 */
static bool
fill_secret(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbSecret   *s = palloc0(sizeof(CbSecret));
	const CbNode *meta = node_at(root, "metadata");
	const CbNode *data = node_at(root, "data");
	const CbNode *sdata = node_at(root, "stringData");
	NameSet		plain = {NULL, 0};

	s->name = doc->name;
	s->namespace = string_at(meta, "namespace");
	s->type = string_at(root, "type");
	if (node_at(meta, "annotations"))
		fill_map(&s->annotations, node_at(meta, "annotations"));
	nameset_of_map(&plain, sdata);
	for (int i = 0; data && i < data->nitems; i++)
	{
		char	   *value;
		int			len;

		if (!check_config_key(c, "data", i, data->keys[i]) ||
			!decode_entry(c, "data", data->keys[i], data->items[i], &value, &len))
			return false;
		if (nameset_find(&plain, sdata ? sdata->keys : NULL, data->keys[i]) >= 0)
			continue;			/* stringData wins */
		map_append(&s->data, data->keys[i], value, len);
		if (len > 0 && value[len - 1] == '\n')
			string_list_append(&doc->warnings,
							   psprintf("data.%s: the decoded value ends in a newline",
										data->keys[i]));
	}
	for (int i = 0; sdata && i < sdata->nitems; i++)
	{
		char	   *value = sdata->items[i]->type == CB_NODE_SCALAR ?
			sdata->items[i]->value : pstrdup("");

		if (!check_config_key(c, "stringData", i, sdata->keys[i]))
			return false;
		map_append(&s->data, sdata->keys[i], value, strlen(value));
	}
	doc->secret = s;
	return true;
}

static bool
fill_configmap(DocCtx *c, CbDocument *doc, const CbNode *root)
{
	CbConfigMap *cm = palloc0(sizeof(CbConfigMap));
	const CbNode *data = node_at(root, "data");
	const CbNode *binary = node_at(root, "binaryData");
	NameSet		text = {NULL, 0};

	cm->name = doc->name;
	cm->namespace = string_at(node_at(root, "metadata"), "namespace");
	for (int i = 0; data && i < data->nitems; i++)
	{
		char	   *value = data->items[i]->type == CB_NODE_SCALAR ?
			data->items[i]->value : pstrdup("");

		if (!check_config_key(c, "data", i, data->keys[i]))
			return false;
		map_append(&cm->data, data->keys[i], value, strlen(value));
	}
	nameset_of_map(&text, data);
	for (int i = 0; binary && i < binary->nitems; i++)
	{
		char	   *value;
		int			len;

		if (!check_config_key(c, "binaryData", i, binary->keys[i]) ||
			!decode_entry(c, "binaryData", binary->keys[i], binary->items[i], &value, &len))
			return false;
		if (nameset_find(&text, data ? data->keys : NULL, binary->keys[i]) >= 0)
			return field_error(c, psprintf("binaryData.%s", binary->keys[i]), "duplicate key",
							   psprintf("Invalid value: %s: duplicate of key present in data",
										go_quote(binary->keys[i])),
							   pstrdup("A key may be in data or in binaryData, not in both."));
	}
	doc->configmap = cm;
	return true;
}


/* ======================================================================
 * The stream
 * ======================================================================
 */

/* the path of the first scalar below node that held a NUL, into path */
static bool
find_nul(const CbNode *node, StringInfo path)
{
	int			len = path->len;

	if (node->type == CB_NODE_SCALAR)
		return node->nul;
	for (int i = 0; i < node->nitems; i++)
	{
		if (node->type == CB_NODE_MAP)
			appendStringInfo(path, "%s%s", len ? "." : "",
							 key_showable(node->keys[i]) ? node->keys[i] : "<key hidden>");
		else
			appendStringInfo(path, "[%d]", i);
		if (find_nul(node->items[i], path))
			return true;
		path->len = len;
		path->data[len] = '\0';
	}
	return false;
}

/*
 * A NUL is the one character PostgreSQL text (and so jsonb) cannot hold:
 * refused naming the field, never showing the value, which may be a
 * secret.  Before check_name(), which would read a name cut at its NUL.
 */
static bool
check_nul(DocCtx *c, const CbNode *root)
{
	const CbNode *meta = get_set(root, "metadata");
	const CbNode *name = meta && meta->type == CB_NODE_MAP ? get_set(meta, "name") : NULL;
	StringInfoData path;

	initStringInfo(&path);
	if (!find_nul(root, &path))
		return true;
	if (is_string_node(name) && !name->nul)
		set_label(c, name->value);
	return field_error(c, path.data, "holds a NUL character, which PostgreSQL text cannot hold",
					   pstrdup("Invalid value: \"<value hidden>\": a NUL character (U+0000) cannot be stored"),
					   pstrdup("Remove the NUL character (written \\0, \\x00 or \\u0000 in a double-quoted YAML string)."));
}

/* check one non-empty document and fill its struct */
static bool
add_document(CbManifest *m, CbNode *root, int line, bool nul_seen, CbError *err)
{
	CbDocument *doc;
	DocCtx		c;
	CbKind		id;
	bool		ok;

	memset(&c, 0, sizeof(c));
	c.docno = m->ndocs + 1;
	c.line = line;
	c.err = err;
	if (!check_kind(&c, root, &id))
		return false;
	c.label = psprintf("%s (document %d)", c.schema->kind, c.docno);
	c.invalid = psprintf("%s%s%s is invalid", c.schema->kind,
						 c.schema->group ? "." : "", c.schema->group ? c.schema->group : "");

	m->docs = m->ndocs ? repalloc(m->docs, sizeof(CbDocument) * (m->ndocs + 1)) :
		palloc(sizeof(CbDocument));
	doc = &m->docs[m->ndocs];
	memset(doc, 0, sizeof(*doc));
	doc->kind = id;
	doc->kind_name = c.schema->kind;
	doc->index = m->ndocs;
	doc->line = line;
	doc->root = root;

	if (!check_api_version(&c, root) || (nul_seen && !check_nul(&c, root)) ||
		!check_name(&c, root, &doc->name))
		return false;
	initStringInfo(&c.tsv);
	initStringInfo(&c.disp);
	if (!walk_map(&c, root, c.schema->root_required))
		return false;

	switch (id)
	{
		case CB_KIND_CLUSTER:
			ok = fill_cluster(&c, doc, root);
			break;
		case CB_KIND_SECRET:
			ok = fill_secret(&c, doc, root);
			break;
		case CB_KIND_CONFIGMAP:
			ok = fill_configmap(&c, doc, root);
			break;
		case CB_KIND_OBJECTSTORE:
			ok = fill_objectstore(&c, doc, root);
			break;
		default:
			ok = false;
			break;
	}
	if (ok)
		m->ndocs++;
	return ok;
}

static bool
read_stream(Reader *r, CbManifest *m)
{
	yaml_event_t ev;

	if (!next_event(r, &ev))	/* STREAM-START */
		return false;
	yaml_event_delete(&ev);
	for (;;)
	{
		CbNode	   *root;
		int			line;
		bool		nul_seen;

		if (!next_event(r, &ev))
			return false;
		if (ev.type == YAML_STREAM_END_EVENT)
		{
			yaml_event_delete(&ev);
			return true;
		}
		line = (int) ev.start_mark.line + 1;	/* DOCUMENT-START */
		yaml_event_delete(&ev);
		if (!next_event(r, &ev) || !read_node(r, &ev, 0, &root))
			return false;
		if (!next_event(r, &ev))	/* DOCUMENT-END */
			return false;
		yaml_event_delete(&ev);
		/* anchors do not cross documents */
		nul_seen = r->nul_seen;
		r->nul_seen = false;
		r->nanchors = 0;
		if (r->anchor_set.cap)
			memset(r->anchor_set.slots, 0, sizeof(int) * r->anchor_set.cap);

		/* an empty document (a stray ---) is no object */
		if (root->type == CB_NODE_NULL)
			continue;
		if (!add_document(m, root, line, nul_seen, r->err))
			return false;
	}
}

/*
 * Parse a YAML stream into documents, each checked against its kind's
 * schema and its struct filled.  On error, *err says why (22P02 for YAML
 * syntax, 22023 for the rest) and false is returned.
 */
bool
cb_manifest_parse(const char *text, size_t len, CbManifest **result, CbError *err)
{
	Reader		r;
	CbManifest *m = palloc0(sizeof(CbManifest));
	bool		ok;

	memset(err, 0, sizeof(*err));
	memset(&r, 0, sizeof(r));
	r.text = text;
	r.len = len;
	r.err = err;
	if (!yaml_parser_initialize(&r.parser))
		return set_error(err, ERRCODE_OUT_OF_MEMORY,
						 pstrdup("could not initialize the YAML parser"), NULL, NULL);
	yaml_parser_set_input_string(&r.parser, (const unsigned char *) text, len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
	ok = read_stream(&r, m);
	yaml_parser_delete(&r.parser);
	if (ok && m->ndocs == 0)
		ok = set_error(err, ERRCODE_INVALID_PARAMETER_VALUE,
					   pstrdup("the manifest holds no Kubernetes object"),
					   pstrdup("The YAML stream is empty or holds only empty documents."),
					   pstrdup(SUPPORTED_KINDS_HINT));
	if (ok)
		*result = m;
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


/* ======================================================================
 * JSON
 * ======================================================================
 */

/*
 * A JSON string (RFC 8259).  Beyond what JSON needs, the characters YAML
 * reads as line breaks or will not take raw (DEL, C1 controls, U+2028/9,
 * BOM, U+FFFE/F) are escaped too, since the text is read back by libyaml.
 */
static void
json_string(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		const char *esc = NULL;
		int			len;
		int			code;

		switch (*p)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
		}
		if (esc)
			appendStringInfoString(buf, esc);
		else if (*p < 0x20)
			appendStringInfo(buf, "\\u%04x", *p);
		else if ((len = raw_unsafe(p, &code)) > 0)
		{
			appendStringInfo(buf, "\\u%04x", code);
			p += len - 1;
		}
		else
			appendStringInfoChar(buf, (char) *p);
	}
	appendStringInfoChar(buf, '"');
}

static void
node_json(StringInfo buf, const CbNode *node)
{
	Resolved	res;

	if (node == NULL || node->type == CB_NODE_NULL)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	switch (node->type)
	{
		case CB_NODE_SCALAR:
			if (node_kind(node, &res) == SK_STRING)
				json_string(buf, node->value);
			else if (res.kind == SK_FLOAT && !isfinite(res.d))
				json_string(buf, canonical_text(&res, node->value));	/* JSON has no inf */
			else if (res.kind == SK_NULL)
				appendStringInfoString(buf, "null");
			else
				appendStringInfoString(buf, canonical_text(&res, node->value));
			break;
		case CB_NODE_SEQ:
			appendStringInfoChar(buf, '[');
			for (int i = 0; i < node->nitems; i++)
			{
				if (i > 0)
					appendStringInfoChar(buf, ',');
				node_json(buf, node->items[i]);
			}
			appendStringInfoChar(buf, ']');
			break;
		case CB_NODE_MAP:
			appendStringInfoChar(buf, '{');
			for (int i = 0; i < node->nitems; i++)
			{
				if (i > 0)
					appendStringInfoChar(buf, ',');
				json_string(buf, node->keys[i]);
				appendStringInfoChar(buf, ':');
				node_json(buf, node->items[i]);
			}
			appendStringInfoChar(buf, '}');
			break;
		case CB_NODE_NULL:
			break;
	}
}

/* compact JSON for a node tree: typed plain scalars unquoted, all else strings */
char *
cb_node_to_json(const CbNode *node)
{
	StringInfoData buf;

	initStringInfo(&buf);
	node_json(&buf, node);
	return buf.data;
}

/*
 * jsonb's text escapes only '"', '\' and the C0 controls: the characters
 * of raw_unsafe() come back raw, always inside a JSON string, where the
 * \u escape means the same to YAML.
 */
char *
cb_stored_json_for_yaml(const char *json)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) json; *p; p++)
	{
		int			len;
		int			code;

		if ((len = raw_unsafe(p, &code)) > 0)
		{
			appendStringInfo(&buf, "\\u%04x", code);
			p += len - 1;
		}
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	return buf.data;
}
