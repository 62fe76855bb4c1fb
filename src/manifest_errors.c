/*-------------------------------------------------------------------------
 *
 * manifest_errors.c
 *	  The shape of the manifest's errors: CbError filling, Go-quoted keys
 *	  and values, and what an error text may show (key_showable(),
 *	  shown_value()): never a scalar's value that could be a secret.
 *
 * Pure, like the rest of the model (see model.h and manifest.c).
 *
 * IDENTIFICATION
 *	  src/manifest_errors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "fields.h"
#include "manifest_int.h"
#include "model.h"


/* ======================================================================
 * Errors
 * ======================================================================
 */

bool
cb_set_error(CbError *err, int sqlstate, char *message, char *detail, char *hint)
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
 * raw, so the stored JSON escapes them (cb_json_string) and so must the text
 * read back from jsonb (cb_stored_json_for_yaml).  Returns the length of
 * the UTF-8 sequence at p and sets *code, or 0 if p starts none.
 */
int
cb_raw_unsafe(const unsigned char *p, int *code)
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
char *
cb_go_quote_cut(const char *s)
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
		else if ((n = cb_raw_unsafe((const unsigned char *) s + i, &code)) > 1)
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
bool
cb_key_showable(const char *key)
{
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || strchr("-._/$@", *p) != NULL))
			return false;
	return true;
}

char *
cb_key_repr(const char *key)
{
	return cb_key_showable(key) ? cb_go_quote_cut(key) : pstrdup("\"<key hidden>\"");
}

/* a node's value in an "Invalid value: X" text: quoted unless typed */
char *
cb_value_repr(const CbNode *node)
{
	ScalarKind	k = cb_node_kind(node, NULL);

	if (node->type != CB_NODE_SCALAR)
		return cb_go_quote_cut(cb_json_type_name(node));
	if (k == SK_STRING)
		return cb_go_quote_cut(node->value);
	return pstrdup(node->value);
}


/*
 * A value in an error text (Kubernetes' "Invalid value: X"), or
 * "<value hidden>".  Shown only for a named field of a document that is
 * not a Secret: a value of a free-form map (<key> in the schema path:
 * connectionParameters, parameters, ConfigMap data, plugin parameters,
 * requests, ...) may be a password.  The callers are the checks of enums,
 * patterns, lengths and bounds, which only named fields have: the rule
 * also holds if the schema ever gives such a map a constraint.
 */
char *
cb_shown_value(const DocCtx *c, const char *tsv_path, const CbNode *node)
{
	if (strcmp(c->schema->kind, "Secret") == 0 || strstr(tsv_path, "<key>") != NULL)
		return pstrdup("\"<value hidden>\"");
	return cb_value_repr(node);
}

/* a 22023 error about one field, in Kubernetes' shape */
bool
cb_field_error(DocCtx *c, const char *path, const char *problem, char *k8s, char *hint)
{
	return cb_set_error(c->err, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("%s: %s: %s", c->label, path, problem),
						psprintf("%s: %s: %s", c->invalid, path, k8s),
						hint);
}
