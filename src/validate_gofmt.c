/*-------------------------------------------------------------------------
 *
 * validate_gofmt.c
 *	  Bad values printed as Go's field errors print them: strings with %q,
 *	  integers plain, lists and structs with %#v (see validate.c).
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_gofmt.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_int.h"


/* ---------- Go value formatting ---------- */

/* length of a well-formed UTF-8 sequence at p, 0 if there is none */
static int
utf8_sequence_length(const unsigned char *p)
{
	int			len;
	int			i;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return 0;
	for (i = 1; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

/* strconv.Quote: what %q prints */
void
cb_append_go_quoted(StringInfo buf, const char *s)
{
	static const char *const escapes[] = {
		['\a'] = "\\a", ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
		['\r'] = "\\r", ['\t'] = "\\t", ['\v'] = "\\v",
		['"'] = "\\\"", ['\\'] = "\\\\"
	};
	const unsigned char *p = (const unsigned char *) (s ? s : "");

	appendStringInfoChar(buf, '"');
	while (*p)
	{
		int			len = utf8_sequence_length(p);

		if (len > 0)
		{
			int			code = len == 2 ? ((p[0] & 0x1F) << 6) | (p[1] & 0x3F) :
				len == 3 ? ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F) : 0;

			/* runes Go does not print: C1 controls, line separators, BOM, U+FFFE/F */
			if ((code >= 0x80 && code <= 0x9F) || code == 0x2028 || code == 0x2029 ||
				code == 0xFEFF || code == 0xFFFE || code == 0xFFFF)
				appendStringInfo(buf, "\\u%04x", code);
			else
				appendBinaryStringInfo(buf, (const char *) p, len);
			p += len;
			continue;
		}
		if (*p < NELEM(escapes) && escapes[*p] != NULL)
			appendStringInfoString(buf, escapes[*p]);
		else if (*p < 0x20 || *p >= 0x7F)
			appendStringInfo(buf, "\\x%02x", *p);
		else
			appendStringInfoChar(buf, (char) *p);
		p++;
	}
	appendStringInfoChar(buf, '"');
}

char *
cb_go_quote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	cb_append_go_quoted(&buf, s);
	return buf.data;
}

char *
cb_go_int(int64 n)
{
	return psprintf(INT64_FORMAT, n);
}

/* %#v of a []string */
char *
cb_go_string_slice(const CbStringList *list)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "[]string{");
	for (i = 0; i < list->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		cb_append_go_quoted(&buf, list->items[i]);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* a *bool field: Go prints an address, we print the value */
static const char *
go_bool_pointer(int tristate)
{
	if (tristate == CB_UNSET)
		return "(*bool)(nil)";
	return tristate ? "(*bool)(true)" : "(*bool)(false)";
}

/* %#v of machinery's api.SecretKeySelector / api.ConfigMapKeySelector */
char *
cb_go_key_selector(const char *type, const CbKeyRef *ref)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "api.%s{LocalObjectReference:api.LocalObjectReference{Name:",
					 type);
	cb_append_go_quoted(&buf, ref->name);
	appendStringInfoString(&buf, "}, Key:");
	cb_append_go_quoted(&buf, ref->key);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Structs printed with %#v: a Go type name and its fields in declaration
 * order, each already formatted.
 */
typedef struct CbGoField
{
	const char *name;
	const char *value;
} CbGoField;

static char *
go_struct(const char *type, const CbGoField *fields, int nfields)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s{", type);
	for (i = 0; i < nfields; i++)
		appendStringInfo(&buf, "%s%s:%s", i > 0 ? ", " : "",
						 fields[i].name, fields[i].value);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

char *
cb_go_recovery_target(const CbRecoveryTarget *t)
{
	CbGoField	fields[] = {
		{"BackupID", cb_go_quote(t->backup_id)},
		{"TargetTLI", cb_go_quote(t->target_tli)},
		{"TargetXID", cb_go_quote(t->target_xid)},
		{"TargetName", cb_go_quote(t->target_name)},
		{"TargetLSN", cb_go_quote(t->target_lsn)},
		{"TargetTime", cb_go_quote(t->target_time)},
		{"TargetImmediate", go_bool_pointer(t->target_immediate)},
		{"Exclusive", go_bool_pointer(t->exclusive)},
	};

	return go_struct("v1.RecoveryTarget", fields, NELEM(fields));
}

char *
cb_go_replica(const CbReplica *r)
{
	CbGoField	fields[] = {
		{"Self", cb_go_quote(r->self)},
		{"Primary", cb_go_quote(r->primary)},
		{"Source", cb_go_quote(r->source)},
		{"Enabled", go_bool_pointer(r->enabled)},
		{"PromotionToken", cb_go_quote(r->promotion_token)},
		{"MinApplyDelay", r->min_apply_delay
			? psprintf("(*v1.Duration)(%s)", cb_go_quote(r->min_apply_delay))
		: "(*v1.Duration)(nil)"},
	};

	return go_struct("v1.ReplicaClusterConfiguration", fields,
					 NELEM(fields));
}

char *
cb_go_backup_source(const CbRecovery *rec)
{
	CbGoField	fields[] = {
		{"LocalObjectReference",
		psprintf("api.LocalObjectReference{Name:%s}", cb_go_quote(rec->backup.name))},
		{"EndpointCA", rec->backup_endpoint_ca.present
			? psprintf("(*api.SecretKeySelector)(%s)",
					   cb_go_key_selector("SecretKeySelector",
										  &rec->backup_endpoint_ca))
		: "(*api.SecretKeySelector)(nil)"},
	};

	return go_struct("v1.BackupSource", fields, NELEM(fields));
}

/* []v1.ExternalCluster, abbreviated to the names */
char *
cb_go_external_clusters(const CbClusterSpec *spec)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "[]v1.ExternalCluster{");
	for (i = 0; i < spec->nexternal_clusters; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "v1.ExternalCluster{Name:");
		cb_append_go_quoted(&buf, spec->external_clusters[i].name);
		appendStringInfoString(&buf, ", ...}");
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
