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
 * This file is the driver: each document's identity (kind, apiVersion,
 * metadata.name), the schemas of Secret and ConfigMap, and the stream of
 * documents.  The steps live in files of their own (manifest_int.h
 * declares what they share): 1. yaml_tree.c, 2. schema_check.c,
 * 3. manifest_fill.c, 4. node_json.c; manifest_errors.c shapes the errors.
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
#include "manifest_int.h"


/* ======================================================================
 * Schemas of the core kinds
 *
 * The Cluster schema is generated (fields_gen.c).  Kubernetes' ObjectMeta,
 * Secret and ConfigMap are small and stable: hand tables, in the same
 * notation and, like the generated ones, sorted by path.
 * ======================================================================
 */


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

/*
 * The kinds cnpg_bootstrap accepts, indexed by CbKind: the one table of
 * kind names (a schema holds its kind's name and API group).
 */
static const struct
{
	CbKind		id;
	const CbSchema *schema;
}			supported_kinds[CB_NKINDS] =
{
	[CB_KIND_CLUSTER] = {CB_KIND_CLUSTER, &cb_cluster_schema},
	[CB_KIND_SECRET] = {CB_KIND_SECRET, &secret_schema},
	[CB_KIND_CONFIGMAP] = {CB_KIND_CONFIGMAP, &configmap_schema},
	[CB_KIND_OBJECTSTORE] = {CB_KIND_OBJECTSTORE, &cb_objectstore_schema},
};

/* "Cluster", "Secret", "ConfigMap", "ObjectStore" */
const char *
cb_kind_name(CbKind kind)
{
	return supported_kinds[kind].schema->kind;
}

/* "Cluster.postgresql.cnpg.io", "Secret": the API server's resource name */
char *
cb_kind_resource(CbKind kind)
{
	const CbSchema *schema = supported_kinds[kind].schema;

	return psprintf("%s%s%s", schema->kind, schema->group ? "." : "",
					schema->group ? schema->group : "");
}


/* ======================================================================
 * One document: identity (kind, apiVersion, name) and schema walk
 * ======================================================================
 */


static bool
is_string_node(const CbNode *node)
{
	return node != NULL && node->type == CB_NODE_SCALAR &&
		cb_node_kind(node, NULL) == SK_STRING;
}

/* a child of a map that is written and not null, or NULL */
const CbNode *
cb_get_set(const CbNode *map, const char *key)
{
	const CbNode *node = cb_node_get(map, key);

	return node != NULL && node->type != CB_NODE_NULL ? node : NULL;
}

static bool
no_kind_error(DocCtx *c, const CbNode *root)
{
	const char *what = root->type == CB_NODE_MAP ? "a map without a \"kind\" field" :
		root->type == CB_NODE_SEQ ? "a list" : "a single value";

	return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("document %d has no kind (not a Kubernetes object)", c->docno),
						psprintf("The document starting at line %d is %s.", c->line, what),
						pstrdup("Each document must be a Kubernetes object with apiVersion, kind and metadata.name; "
								SUPPORTED_KINDS_HINT));
}

static bool
unsupported_kind_error(DocCtx *c, const CbNode *root, const CbNode *kind)
{
	const CbNode *api = cb_get_set(root, "apiVersion");
	const CbNode *meta = cb_get_set(root, "metadata");
	const CbNode *name = meta ? cb_get_set(meta, "name") : NULL;
	const char *text = kind->type == CB_NODE_SCALAR ? kind->value :
		kind->type == CB_NODE_MAP ? "(a map)" : "(a list)";
	StringInfoData detail;

	initStringInfo(&detail);
	if (kind->type == CB_NODE_SCALAR)
		appendStringInfo(&detail, "kind %s", cb_go_quote_cut(text));
	else
		appendStringInfo(&detail, "kind is %s", kind->type == CB_NODE_MAP ? "a map" : "a list");
	if (is_string_node(api))
		appendStringInfo(&detail, ", apiVersion %s", cb_go_quote_cut(api->value));
	if (is_string_node(name))
		appendStringInfo(&detail, ", name %s", cb_go_quote_cut(name->value));
	appendStringInfo(&detail, " (document %d, line %d).", c->docno, c->line);
	return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("unsupported kind %s in document %d (line %d)",
								 kind->type != CB_NODE_SCALAR || cb_key_showable(text) ? text : cb_go_quote_cut(text),
								 c->docno, c->line),
						detail.data, pstrdup(SUPPORTED_KINDS_HINT));
}

/* find the document's kind among the supported ones */
static bool
check_kind(DocCtx *c, const CbNode *root, CbKind *id)
{
	const CbNode *kind = root->type == CB_NODE_MAP ? cb_get_set(root, "kind") : NULL;

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
	const CbNode *api = cb_get_set(root, "apiVersion");
	const char *want = c->schema->api_version;

	if (is_string_node(api) && strcmp(api->value, want) == 0)
		return true;
	if (api == NULL)
		return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
							psprintf("%s: apiVersion: required value missing", c->label),
							pstrdup("Object 'apiVersion' is missing."),
							psprintf("Add apiVersion: %s.", want));
	return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("%s: apiVersion %s is not supported for kind %s",
								 c->label, cb_value_repr(api), c->schema->kind),
						psprintf("no matches for kind \"%s\" in version %s",
								 c->schema->kind, cb_value_repr(api)),
						psprintf("Use apiVersion: %s.", want));
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
	const CbNode *meta = cb_get_set(root, "metadata");
	const CbNode *node = meta && meta->type == CB_NODE_MAP ? cb_get_set(meta, "name") : NULL;
	const CbNode *ns = meta && meta->type == CB_NODE_MAP ? cb_get_set(meta, "namespace") : NULL;

	if (node == NULL)
		return cb_field_error(c, "metadata.name", "required value missing",
							  pstrdup("Required value: name or generateName is required"),
							  pstrdup("Give the object a name under metadata.name; cnpg_bootstrap does not generate names."));
	if (!is_string_node(node))
		return cb_field_error(c, "metadata.name", "must be a string",
							  psprintf("Invalid value: %s: must be a string", cb_value_repr(node)),
							  NULL);
	set_label(c, node->value);
	if (strlen(node->value) > 253 || !cb_is_dns_subdomain(node->value))
		return cb_field_error(c, "metadata.name", "invalid name",
							  psprintf("Invalid value: %s: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
									   cb_go_quote_cut(node->value)),
							  pstrdup("Use at most 253 lower case letters, digits, '-' and '.', starting and ending with a letter or digit."));
	if (is_string_node(ns) && (strlen(ns->value) > 63 ||
							   !cb_is_dns_label(ns->value, strlen(ns->value), false)))
		return cb_field_error(c, "metadata.namespace", "invalid namespace",
							  psprintf("Invalid value: %s: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
									   cb_go_quote_cut(ns->value)),
							  pstrdup("Use at most 63 lower case letters, digits and '-', starting and ending with a letter or digit."));
	*name = node->value;
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
							 cb_key_showable(node->keys[i]) ? node->keys[i] : "<key hidden>");
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
	const CbNode *meta = cb_get_set(root, "metadata");
	const CbNode *name = meta && meta->type == CB_NODE_MAP ? cb_get_set(meta, "name") : NULL;
	StringInfoData path;

	initStringInfo(&path);
	if (!find_nul(root, &path))
		return true;
	if (is_string_node(name) && !name->nul)
		set_label(c, name->value);
	return cb_field_error(c, path.data, "holds a NUL character, which PostgreSQL text cannot hold",
						  pstrdup("Invalid value: \"<value hidden>\": a NUL character (U+0000) cannot be stored"),
						  pstrdup("Remove the NUL character (written \\0, \\x00 or \\u0000 in a double-quoted YAML string)."));
}

/* check one non-empty document and fill its struct */
static bool
add_document(CbManifest *m, CbNode *root, int line, bool nul_seen, CbError *err)
{
	CbDocument *doc;
	DocCtx		c;
	CbKind		id = CB_KIND_CLUSTER;	/* set by check_kind(); quiets gcc */
	bool		ok;

	memset(&c, 0, sizeof(c));
	c.docno = m->ndocs + 1;
	c.line = line;
	c.err = err;
	if (!check_kind(&c, root, &id))
		return false;
	c.label = psprintf("%s (document %d)", c.schema->kind, c.docno);
	c.invalid = psprintf("%s is invalid", cb_kind_resource(id));

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
	if (!cb_walk_map(&c, root, c.schema->root_required))
		return false;

	switch (id)
	{
		case CB_KIND_CLUSTER:
			ok = cb_fill_cluster(&c, doc, root);
			break;
		case CB_KIND_SECRET:
			ok = cb_fill_secret(&c, doc, root);
			break;
		case CB_KIND_CONFIGMAP:
			ok = cb_fill_configmap(&c, doc, root);
			break;
		case CB_KIND_OBJECTSTORE:
			ok = cb_fill_objectstore(&c, doc, root);
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

	if (!cb_next_event(r, &ev))	/* STREAM-START */
		return false;
	yaml_event_delete(&ev);
	for (;;)
	{
		CbNode	   *root;
		int			line;
		bool		nul_seen;

		if (!cb_next_event(r, &ev))
			return false;
		if (ev.type == YAML_STREAM_END_EVENT)
		{
			yaml_event_delete(&ev);
			return true;
		}
		line = (int) ev.start_mark.line + 1;	/* DOCUMENT-START */
		yaml_event_delete(&ev);
		r->doc_bytes = 0;
		if (!cb_next_event(r, &ev) || !cb_read_node(r, &ev, 0, &root))
			return false;
		if (!cb_next_event(r, &ev))	/* DOCUMENT-END */
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
	/* before libyaml reads it: its tokens and our tree would be larger still */
	if (len > CB_MAX_MANIFEST_BYTES)
		return cb_set_error(err, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
							psprintf("manifest too large: %zu bytes, more than %d (64 MiB)",
									 len, CB_MAX_MANIFEST_BYTES),
							NULL,
							pstrdup("cnpg_bootstrap_apply takes at most 64 MiB at once: apply the manifest in several parts."));
	memset(&r, 0, sizeof(r));
	r.text = text;
	r.len = len;
	r.err = err;
	if (!yaml_parser_initialize(&r.parser))
		return cb_set_error(err, ERRCODE_OUT_OF_MEMORY,
							pstrdup("could not initialize the YAML parser"), NULL, NULL);
	yaml_parser_set_input_string(&r.parser, (const unsigned char *) text, len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
	ok = read_stream(&r, m);
	yaml_parser_delete(&r.parser);
	if (ok && m->ndocs == 0)
		ok = cb_set_error(err, ERRCODE_INVALID_PARAMETER_VALUE,
						  pstrdup("the manifest holds no Kubernetes object"),
						  pstrdup("The YAML stream is empty or holds only empty documents."),
						  pstrdup(SUPPORTED_KINDS_HINT));
	if (ok)
		*result = m;
	return ok;
}
