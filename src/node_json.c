/*-------------------------------------------------------------------------
 *
 * node_json.c
 *	  cb_node_to_json(): a CbNode tree as JSON, the form the catalog stores
 *	  (as jsonb) and feeds back to cb_manifest_parse() later; JSON is YAML
 *	  flow syntax, so the round trip must give the same structs.
 *
 * Pure, like the rest of the model (see model.h and manifest.c).
 *
 * IDENTIFICATION
 *	  src/node_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"

#include "fields.h"
#include "manifest_int.h"
#include "model.h"


/* ======================================================================
 * JSON
 * ======================================================================
 */

/*
 * A JSON string (RFC 8259).  Beyond what JSON needs, the characters YAML
 * reads as line breaks or will not take raw (DEL, C1 controls, U+2028/9,
 * BOM, U+FFFE/F) are escaped too, since the text is read back by libyaml.
 */
void
cb_json_string(StringInfo buf, const char *s)
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
		else if ((len = cb_raw_unsafe(p, &code)) > 0)
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
			if (cb_node_kind(node, &res) == SK_STRING)
				cb_json_string(buf, node->value);
			else if (res.kind == SK_FLOAT && !isfinite(res.d))
				cb_json_string(buf, cb_canonical_text(&res, node->value));	/* JSON has no inf */
			else if (res.kind == SK_NULL)
				appendStringInfoString(buf, "null");
			else
				appendStringInfoString(buf, cb_canonical_text(&res, node->value));
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
				cb_json_string(buf, node->keys[i]);
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
 * of cb_raw_unsafe() come back raw, always inside a JSON string, where the
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

		if ((len = cb_raw_unsafe(p, &code)) > 0)
		{
			appendStringInfo(&buf, "\\u%04x", code);
			p += len - 1;
		}
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	return buf.data;
}
