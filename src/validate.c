/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Defaulting and admission checks of the documents of a manifest, done
 *	  the way CloudNativePG's webhooks and the Kubernetes API server do them.
 *
 * A Cluster goes through the steps it would meet on Kubernetes
 * (SPEC-cnpg.md section 0): defaulting (section 2), then the CRD's schema
 * and CEL rules (section 3.1), then, only if those passed, the checks of
 * CloudNativePG's validating webhook (section 3.2) in the webhook's order.
 * Every check of a step runs and its errors are collected, because
 * Kubernetes reports a list: the first error names the field in errmsg,
 * errdetail carries the whole list in the API server's words, so that a
 * user who takes the manifest to Kubernetes meets the same text.  Secrets
 * and ConfigMaps get the API server's checks of object names and data keys
 * (SPEC.md section 5: names become paths).
 *
 * Bad values are printed as Go's field errors print them: strings with %q,
 * integers plain, lists and structs with %#v; but the value of a
 * parameter, an initdb option or a connection parameter is never printed
 * (Kubernetes' omitted value), because it may be a secret.  Two liberties: where Go
 * prints the address held by a pointer field we print what it points to,
 * and the long ExternalCluster and VolumeSnapshot structs are abbreviated.
 *
 * Also here, because they turn validated fields into text under the same
 * rules: the recovery_target_* lines of a recovery (SPEC-cnpg.md 9.2 step
 * 6) and the text of custom.conf (4.2 step 4).
 *
 * Like the rest of the model (see model.h) this file is pure: palloc,
 * psprintf and StringInfo only, no ereport, no qsort/snprintf from
 * libpgport, so that the fuzz target links it against fuzz/pgshim.c.
 *
 * IDENTIFICATION
 *	  src/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stddef.h>

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_input.h"

/* lengthof() as an int, for loops over the tables below */
#define NELEM(array)	((int) lengthof(array))


/* ---------- collected field errors ---------- */

/* Kubernetes field.ErrorType, with the words the API server prints */
typedef enum CbFieldErrorType
{
	CB_FIELD_INVALID,
	CB_FIELD_REQUIRED,
	CB_FIELD_FORBIDDEN,
	CB_FIELD_UNSUPPORTED
} CbFieldErrorType;

static const char *const field_error_words[] = {
	[CB_FIELD_INVALID] = "Invalid value",
	[CB_FIELD_REQUIRED] = "Required value",
	[CB_FIELD_FORBIDDEN] = "Forbidden",
	[CB_FIELD_UNSUPPORTED] = "Unsupported value"
};

typedef struct CbFieldError
{
	CbFieldErrorType type;
	const char *path;
	const char *value;			/* Go-formatted bad value; NULL: not shown */
	const char *detail;			/* CloudNativePG's text, may be NULL */
	const char *hint;			/* what is allowed, for errhint */
} CbFieldError;

typedef struct CbFieldErrors
{
	int			n;
	int			cap;
	CbFieldError *items;
} CbFieldErrors;

/* everything a Cluster's checks look at */
typedef struct CbValidation
{
	CbClusterSpec *spec;
	CbMap		user_parameters;	/* spec.postgresql.parameters as written */
	const CbStringList *existing_clusters;
	bool		bootstrap_written;	/* spec.bootstrap in the document */
	int			bootstrap_methods;	/* methods written, before defaulting */
	CbFieldErrors errors;
} CbValidation;

typedef void (*CbCheck) (CbValidation *v);

static bool
str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void
add_field_error(CbFieldErrors *errors, CbFieldErrorType type, const char *path,
				const char *value, const char *detail, const char *hint)
{
	CbFieldError *e;

	if (errors->n == errors->cap)
	{
		errors->cap = errors->cap ? errors->cap * 2 : 8;
		errors->items = errors->items
			? repalloc(errors->items, errors->cap * sizeof(CbFieldError))
			: palloc(errors->cap * sizeof(CbFieldError));
	}
	e = &errors->items[errors->n++];
	e->type = type;
	e->path = path;
	e->value = value;
	e->detail = detail;
	e->hint = hint;
}

static void
invalid(CbValidation *v, const char *path, const char *value,
		const char *detail, const char *hint)
{
	add_field_error(&v->errors, CB_FIELD_INVALID, path, value, detail, hint);
}

/* Required and Forbidden errors never print the value */
static void
required(CbValidation *v, const char *path, const char *detail,
		 const char *hint)
{
	add_field_error(&v->errors, CB_FIELD_REQUIRED, path, NULL, detail, hint);
}

static void
forbidden(CbValidation *v, const char *path, const char *detail,
		  const char *hint)
{
	add_field_error(&v->errors, CB_FIELD_FORBIDDEN, path, NULL, detail, hint);
}

/* how validate_input.c's rules report: Forbidden prints no value */
static void
report_forbidden(void *arg, const char *path, const char *detail,
				 const char *hint)
{
	forbidden((CbValidation *) arg, path, detail, hint);
}

/* "<path>: <Type>[: <value>][: <detail>]", field.Error.Error() */
static char *
field_error_text(const CbFieldError *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s: %s", e->path, field_error_words[e->type]);
	if (e->value != NULL)
		appendStringInfo(&buf, ": %s", e->value);
	if (!str_empty(e->detail))
		appendStringInfo(&buf, ": %s", e->detail);
	return buf.data;
}


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
static void
append_go_quoted(StringInfo buf, const char *s)
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

static char *
go_quote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_go_quoted(&buf, s);
	return buf.data;
}

static char *
go_int(int64 n)
{
	return psprintf(INT64_FORMAT, n);
}

/* %#v of a []string */
static char *
go_string_slice(const CbStringList *list)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "[]string{");
	for (i = 0; i < list->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		append_go_quoted(&buf, list->items[i]);
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
static char *
go_key_selector(const char *type, const CbKeyRef *ref)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "api.%s{LocalObjectReference:api.LocalObjectReference{Name:",
					 type);
	append_go_quoted(&buf, ref->name);
	appendStringInfoString(&buf, "}, Key:");
	append_go_quoted(&buf, ref->key);
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

static char *
go_recovery_target(const CbRecoveryTarget *t)
{
	CbGoField	fields[] = {
		{"BackupID", go_quote(t->backup_id)},
		{"TargetTLI", go_quote(t->target_tli)},
		{"TargetXID", go_quote(t->target_xid)},
		{"TargetName", go_quote(t->target_name)},
		{"TargetLSN", go_quote(t->target_lsn)},
		{"TargetTime", go_quote(t->target_time)},
		{"TargetImmediate", go_bool_pointer(t->target_immediate)},
		{"Exclusive", go_bool_pointer(t->exclusive)},
	};

	return go_struct("v1.RecoveryTarget", fields, NELEM(fields));
}

static char *
go_replica(const CbReplica *r)
{
	CbGoField	fields[] = {
		{"Self", go_quote(r->self)},
		{"Primary", go_quote(r->primary)},
		{"Source", go_quote(r->source)},
		{"Enabled", go_bool_pointer(r->enabled)},
		{"PromotionToken", go_quote(r->promotion_token)},
		{"MinApplyDelay", r->min_apply_delay
			? psprintf("(*v1.Duration)(%s)", go_quote(r->min_apply_delay))
		: "(*v1.Duration)(nil)"},
	};

	return go_struct("v1.ReplicaClusterConfiguration", fields,
					 NELEM(fields));
}

static char *
go_backup_source(const CbRecovery *rec)
{
	CbGoField	fields[] = {
		{"LocalObjectReference",
		psprintf("api.LocalObjectReference{Name:%s}", go_quote(rec->backup.name))},
		{"EndpointCA", rec->backup_endpoint_ca.present
			? psprintf("(*api.SecretKeySelector)(%s)",
					   go_key_selector("SecretKeySelector",
									   &rec->backup_endpoint_ca))
		: "(*api.SecretKeySelector)(nil)"},
	};

	return go_struct("v1.BackupSource", fields, NELEM(fields));
}

/* []v1.ExternalCluster, abbreviated to the names */
static char *
go_external_clusters(const CbClusterSpec *spec)
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
		append_go_quoted(&buf, spec->external_clusters[i].name);
		appendStringInfoString(&buf, ", ...}");
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}


/* ---------- small parsers shared by the checks ---------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static int
hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool
str_eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Go's strconv.Atoi: optional sign, decimal digits, 64-bit range */
static bool
go_atoi(const char *s, int64 *result)
{
	bool		negative = false;
	uint64		value = 0;

	if (s == NULL)
		return false;
	if (*s == '+' || *s == '-')
		negative = (*s++ == '-');
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		if (!is_digit(*s) || value > (PG_UINT64_MAX - (*s - '0')) / 10)
			return false;
		value = value * 10 + (*s - '0');
	}
	if (value > (uint64) PG_INT64_MAX + (negative ? 1 : 0))
		return false;
	*result = negative ? (int64) (0 - value) : (int64) value;
	return true;
}

/* a run of exactly n decimal digits at s */
static bool
fixed_digits(const char *s, int n, int *result)
{
	int			value = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return false;
		value = value * 10 + (s[i] - '0');
	}
	*result = value;
	return true;
}


/* ---------- Kubernetes quantities ---------- */

/* apimachinery's resource suffixes: value = number * 2^exp2 * 10^exp10 */
static const struct
{
	const char *suffix;
	int			exp2;
	int			exp10;
}			quantity_suffixes[] = {
	{"", 0, 0}, {"m", 0, -3}, {"k", 0, 3}, {"M", 0, 6}, {"G", 0, 9},
	{"T", 0, 12}, {"P", 0, 15}, {"E", 0, 18},
	{"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0},
	{"Pi", 50, 0}, {"Ei", 60, 0},
};

static long double
power_of(int base, int exponent)
{
	long double result = 1;
	int			i;

	/* beyond this, an int64 has long overflowed or gone to zero */
	exponent = Min(exponent, 400);
	for (i = 0; i < exponent; i++)
		result *= base;
	return result;
}

/* the exponents of a quantity suffix, false if it is not one */
static bool
quantity_suffix(const char *suffix, int *exp2, int *exp10)
{
	int			i;
	int64		exponent;

	for (i = 0; i < NELEM(quantity_suffixes); i++)
	{
		if (strcmp(suffix, quantity_suffixes[i].suffix) == 0)
		{
			*exp2 = quantity_suffixes[i].exp2;
			*exp10 = quantity_suffixes[i].exp10;
			return true;
		}
	}
	/* or a decimal exponent: "e" or "E" and a signed integer */
	if ((suffix[0] != 'e' && suffix[0] != 'E') ||
		!go_atoi(suffix + 1, &exponent) || exponent != (int32) exponent)
		return false;
	*exp2 = 0;
	*exp10 = (int) Max(Min(exponent, 1000), -1000);
	return true;
}

/* Quantity.Value(): rounded up, away from zero, clamped to int64 */
static int64
quantity_to_int64(long double value)
{
	int64		result;

	if (value >= (long double) PG_INT64_MAX)
		return PG_INT64_MAX;
	if (value <= (long double) PG_INT64_MIN)
		return PG_INT64_MIN;
	result = (int64) value;
	if ((long double) result < value)
		result++;
	else if ((long double) result > value)
		result--;
	return result;
}

/*
 * Parse a Kubernetes quantity (apimachinery resource.ParseQuantity):
 * "1Gi", "500M", "1e9", "0.5", "1" are quantities, "1GB" or "1 Gi" are not.
 * bytes may be NULL when only the syntax matters.  The digits are read as
 * one integer and scaled once, so that "1.5Gi" or "0.3k" come out exact.
 */
bool
cb_parse_quantity(const char *text, int64 *bytes)
{
	const char *p = text;
	bool		negative = false;
	bool		digits = false;
	long double mantissa = 0;
	long double value;
	int			fraction_digits = 0;
	int			exp2;
	int			exp10;

	if (str_empty(text))
		return false;
	if (*p == '+' || *p == '-')
		negative = (*p++ == '-');
	for (; is_digit(*p); p++, digits = true)
		mantissa = mantissa * 10 + (*p - '0');
	if (*p == '.')
		for (p++; is_digit(*p); p++, digits = true, fraction_digits++)
			mantissa = mantissa * 10 + (*p - '0');
	if (!digits || !quantity_suffix(p, &exp2, &exp10))
		return false;
	if (bytes == NULL)
		return true;
	exp10 -= fraction_digits;
	value = mantissa * power_of(2, exp2);
	value = exp10 >= 0 ? value * power_of(10, exp10)
		: value / power_of(10, -exp10);
	*bytes = quantity_to_int64(negative ? -value : value);
	return true;
}

/*
 * A PostgreSQL memory setting as CloudNativePG reads it
 * (parsePostgresQuantityValue): a bare number is MB, a unit must end in
 * "B" ("kB", "MB", "GB", "TB", or "B" alone), spaces are allowed before
 * the unit.  "1kb", "1Mb", "1G" are refused, as by PostgreSQL.
 */
static bool
parse_pg_memory(const char *value, int64 *bytes)
{
	StringInfoData buf;
	int64		dummy;
	const char *p;
	char	   *ki;

	if (str_empty(value))
		return false;
	if (go_atoi(value, &dummy))
		value = psprintf("%sMB", value);
	if (value[strlen(value) - 1] != 'B')
		return false;

	/* drop the "B" and the spaces */
	initStringInfo(&buf);
	for (p = value; p[1] != '\0'; p++)
		if (*p != ' ')
			appendStringInfoChar(&buf, *p);

	/* "MB" means "Mi", "kB" means "Ki"; "B" alone leaves a bare number */
	if (!go_atoi(buf.data, &dummy))
	{
		appendStringInfoChar(&buf, 'i');
		while ((ki = strstr(buf.data, "ki")) != NULL)
			*ki = 'K';
	}
	return cb_parse_quantity(buf.data, bytes);
}


/* ---------- image names and PostgreSQL versions ---------- */

typedef enum CbImageTagStatus
{
	CB_IMAGE_OK,
	CB_IMAGE_LATEST,
	CB_IMAGE_DIGEST_ONLY,
	CB_IMAGE_BAD_VERSION
} CbImageTagStatus;

/* the "@sha256:<hex>" digest that ends an image name, or NULL */
static const char *
image_digest(const char *image)
{
	const char *at;

	for (at = strstr(image, "@sha256:"); at; at = strstr(at + 1, "@sha256:"))
	{
		const char *p = at + strlen("@sha256:");

		while (hex_value(*p) >= 0)
			p++;
		if (*p == '\0' && p > at + strlen("@sha256:"))
			return at;
	}
	return NULL;
}

/*
 * machinery's version.FromTag: the tag must start with `(\d\.?)+`; of that
 * match, the first number is the major and the second, if any, a minor
 * below 100.
 */
static bool
major_from_tag(const char *tag, int *major)
{
	const char *p = tag;
	const char *dot;
	int64		number;
	char	   *version;

	while (is_digit(*p))
	{
		p++;
		if (*p == '.')
			p++;
	}
	if (p == tag)
		return false;
	version = pnstrdup(tag, p - tag);
	dot = strchr(version, '.');
	if (dot != NULL)
	{
		const char *next = strchr(dot + 1, '.');
		char	   *minor = next ? pnstrdup(dot + 1, next - dot - 1)
			: pstrdup(dot + 1);

		if (!go_atoi(minor, &number) || number >= 100)
			return false;
		version[dot - version] = '\0';
	}
	if (!go_atoi(version, &number) || number > INT_MAX)
		return false;
	*major = (int) number;
	return true;
}

/*
 * machinery's reference.New, then FromTag: a digest is cut from the end,
 * the tag is what follows the first ':' after the last '/', and no tag
 * without a digest means "latest".
 */
static CbImageTagStatus
image_tag_status(const char *image, int *major)
{
	const char *digest = image_digest(image);
	char	   *name = digest ? pnstrdup(image, digest - image) : pstrdup(image);
	const char *slash = strrchr(name, '/');
	const char *colon = strchr(slash ? slash : name, ':');

	if (colon == NULL || colon[1] == '\0')
		return digest ? CB_IMAGE_DIGEST_ONLY : CB_IMAGE_LATEST;
	if (strcmp(colon + 1, "latest") == 0)
		return CB_IMAGE_LATEST;
	if (!major_from_tag(colon + 1, major))
		return CB_IMAGE_BAD_VERSION;
	return CB_IMAGE_OK;
}

/* PostgreSQL major of an image's tag ("...:18.6-system-trixie" -> 18), 0 if none */
int
cb_pg_major_from_image(const char *image_name)
{
	int			major = 0;

	if (str_empty(image_name) ||
		image_tag_status(image_name, &major) != CB_IMAGE_OK)
		return 0;
	return major;
}


/* ---------- maps, external clusters, replica mode ---------- */

const char *
cb_map_get(const CbMap *map, const char *key)
{
	int			i;

	for (i = 0; map != NULL && i < map->n; i++)
		if (str_eq(map->items[i].key, key))
			return map->items[i].value;
	return NULL;
}

static void
map_set(CbMap *map, const char *key, const char *value)
{
	int			i;

	for (i = 0; i < map->n; i++)
		if (str_eq(map->items[i].key, key))
			break;
	if (i == map->n)
	{
		map->items = map->items
			? repalloc(map->items, (map->n + 1) * sizeof(CbKV))
			: palloc((map->n + 1) * sizeof(CbKV));
		map->items[map->n++].key = pstrdup(key);
	}
	map->items[i].value = pstrdup(value ? value : "");
	map->items[i].len = strlen(map->items[i].value);
}

/* insertion sort by key: the maps are small, and qsort is libpgport's */
static void
map_sort(CbMap *map)
{
	int			i;
	int			j;

	for (i = 1; i < map->n; i++)
	{
		CbKV		item = map->items[i];

		for (j = i; j > 0 && strcmp(map->items[j - 1].key, item.key) > 0; j--)
			map->items[j] = map->items[j - 1];
		map->items[j] = item;
	}
}

const CbExternalCluster *
cb_find_external_cluster(const CbClusterSpec *spec, const char *name)
{
	int			i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < spec->nexternal_clusters; i++)
		if (str_eq(spec->external_clusters[i].name, name))
			return &spec->external_clusters[i];
	return NULL;
}

/*
 * The ObjectStore named by an externalCluster's Barman Cloud plugin form,
 * plugin: {name: barman-cloud.cloudnative-pg.io, parameters:
 * {barmanObjectName: X}}; NULL for any other source.
 */
const char *
cb_plugin_object_store(const CbExternalCluster *ec)
{
	const char *name;

	if (!ec->has_plugin || !str_eq(ec->plugin_name, CB_BARMAN_CLOUD_PLUGIN))
		return NULL;
	name = cb_map_get(&ec->plugin_parameters, "barmanObjectName");
	return str_empty(name) ? NULL : name;
}

/*
 * CloudNativePG's IsReplica: an explicit "enabled" decides; otherwise the
 * cluster is a replica unless it is the designated primary, so a stanza
 * holding only "source" makes a replica.
 */
bool
cb_is_replica_cluster(const CbClusterSpec *spec)
{
	const CbReplica *r = &spec->replica;

	if (!r->present)
		return false;
	if (r->enabled != CB_UNSET)
		return r->enabled != 0;
	return !str_eq(str_empty(r->self) ? spec->name : r->self, r->primary);
}


/* ---------- PostgreSQL parameters ---------- */

/* CloudNativePG's defaults (SPEC-cnpg.md 1.2), sorted by key */
static const struct
{
	const char *key;
	const char *value;
}			parameter_defaults[] = {
	{"archive_timeout", "5min"},
	{"dynamic_shared_memory_type", "posix"},
	{"full_page_writes", "on"},
	{"log_destination", "csvlog"},
	{"log_directory", "/controller/log"},
	{"log_filename", "postgres"},
	{"log_rotation_age", "0"},
	{"log_rotation_size", "0"},
	{"log_truncate_on_rotation", "false"},
	{"logging_collector", "on"},
	{"max_parallel_workers", "32"},
	{"max_replication_slots", "32"},
	{"max_worker_processes", "32"},
	{"shared_memory_type", "mmap"},
	{"shared_preload_libraries", ""},
	{"ssl_max_protocol_version", "TLSv1.3"},
	{"ssl_min_protocol_version", "TLSv1.3"},
	{"wal_keep_size", "512MB"},
	{"wal_level", "logical"},
	{"wal_log_hints", "on"},
	{"wal_receiver_timeout", "5s"},
	{"wal_sender_timeout", "5s"},
};

/*
 * Parameters the operator owns: the "fixed" and the "blocked" lists of
 * SPEC-cnpg.md 1.2, which the webhook treats alike.
 */
static const char *const operator_parameters[] = {
	/* fixed */
	"archive_mode", "cluster_name", "port", "primary_conninfo",
	"primary_slot_name", "recovery_target", "recovery_target_action",
	"recovery_target_inclusive", "recovery_target_lsn", "recovery_target_name",
	"recovery_target_time", "recovery_target_timeline", "recovery_target_xid",
	"restore_command", "shared_preload_libraries", "temp_tablespaces",
	"archive_command", "pg_failover_slots.primary_dsn",
	"pg_failover_slots.standby_slot_names", "ssl", "ssl_ca_file",
	"ssl_cert_file", "ssl_crl_file", "ssl_dh_params_file", "ssl_key_file",
	"ssl_passphrase_command", "ssl_passphrase_command_supports_reload",
	"ssl_prefer_server_ciphers", "synchronous_standby_names",
	"synchronized_standby_slots",
	/* blocked */
	"allow_system_table_mods", "bonjour", "bonjour_name", "config_file",
	"data_directory", "data_sync_retry", "event_source", "external_pid_file",
	"hba_file", "hot_standby", "ident_file", "jit_provider",
	"listen_addresses", "logging_collector", "unix_socket_directories",
	"unix_socket_group", "unix_socket_permissions", "archive_cleanup_command",
	"log_destination", "log_directory", "log_file_mode", "log_filename",
	"log_rotation_age", "log_rotation_size", "log_truncate_on_rotation",
	"promote_trigger_file", "recovery_end_command", "recovery_min_apply_delay",
	"restart_after_crash", "stats_temp_directory", "syslog_facility",
	"syslog_ident", "syslog_sequence_numbers", "syslog_split_messages",
};

static bool
is_operator_parameter(const char *key)
{
	int			i;

	for (i = 0; i < NELEM(operator_parameters); i++)
		if (cb_guc_name_eq(operator_parameters[i], key))
			return true;
	return false;
}

static const char *
parameter_default(const char *key)
{
	int			i;

	for (i = 0; i < NELEM(parameter_defaults); i++)
		if (cb_guc_name_eq(parameter_defaults[i].key, key))
			return parameter_defaults[i].value;
	return NULL;
}

/* computed archive_mode (SPEC-cnpg.md 1.2) */
static const char *
archive_mode_for(const CbClusterSpec *spec)
{
	if (str_eq(cb_map_get(&spec->annotations, "cnpg.io/skipWalArchiving"),
			   "enabled"))
		return "off";
	return cb_is_replica_cluster(spec) ? "always" : "on";
}

/*
 * What CloudNativePG's default computation yields for a key, without the
 * mandatory settings: the only value an operator parameter may be given.
 */
static const char *
operator_parameter_reference(const CbClusterSpec *spec, const char *key)
{
	if (cb_guc_name_eq(key, "archive_mode"))
		return archive_mode_for(spec);
	return parameter_default(key);
}

/*
 * The stored map (SPEC-cnpg.md section 2 item 5): the defaults, the user's
 * values over them (operator parameters included, so that the checks can
 * refuse them), archive_mode computed last.  Names are folded to lower
 * case, as PostgreSQL reads them: "WAL_LEVEL" replaces the default
 * wal_level instead of standing beside it, and every later lookup by name
 * sees it.
 */
static CbMap
sanitized_parameters(const CbClusterSpec *spec, const CbMap *user)
{
	CbMap		result = {0};
	int			i;

	for (i = 0; i < NELEM(parameter_defaults); i++)
		map_set(&result, parameter_defaults[i].key, parameter_defaults[i].value);
	for (i = 0; i < user->n; i++)
		if (user->items[i].key != NULL)
			map_set(&result, cb_guc_name_lower(user->items[i].key),
					user->items[i].value);
	map_set(&result, "archive_mode", archive_mode_for(spec));
	map_sort(&result);
	return result;
}

/* a GUC name, optionally namespaced with a single dot */
static bool
is_parameter_name(const char *key)
{
	int			part;

	for (part = 0; part < 2; part++)
	{
		if (!((*key >= 'A' && *key <= 'Z') || (*key >= 'a' && *key <= 'z') ||
			  *key == '_'))
			return false;
		for (key++; *key && *key != '.'; key++)
			if (!((*key >= 'A' && *key <= 'Z') || is_lower_alnum(*key) ||
				  *key == '_' || *key == '$'))
				return false;
		if (*key == '\0')
			return true;
		key++;
	}
	return false;
}

/* CloudNativePG's ParsePostgresConfigBoolean: PostgreSQL's unique prefixes */
static bool
parse_pg_boolean(const char *value, bool *result)
{
	static const char *const true_words[] = {
		"1", "on", "y", "ye", "yes", "t", "tr", "tru", "true"
	};
	static const char *const false_words[] = {
		"0", "of", "off", "n", "no", "f", "fa", "fal", "fals", "false"
	};
	int			i;

	for (i = 0; i < NELEM(true_words); i++)
		if (str_eq_nocase(value, true_words[i]))
			return (*result = true);
	for (i = 0; i < NELEM(false_words); i++)
		if (str_eq_nocase(value, false_words[i]))
			return !(*result = false);
	return false;
}


/* ---------- configuration file text ---------- */

/*
 * A value as a postgresql.conf string literal (SPEC-cnpg.md 4.2 step 4):
 * quoted, with '' for a quote and C escapes that PostgreSQL's parser reads.
 */
char *
cb_conf_quote(const char *value)
{
	static const char *const escapes[] = {
		['\\'] = "\\\\", ['\''] = "''", ['\n'] = "\\n", ['\r'] = "\\r",
		['\t'] = "\\t", ['\b'] = "\\b", ['\f'] = "\\f"
	};
	StringInfoData buf;
	const unsigned char *p;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '\'');
	for (p = (const unsigned char *) (value ? value : ""); *p; p++)
	{
		if (*p < NELEM(escapes) && escapes[*p] != NULL)
			appendStringInfoString(&buf, escapes[*p]);
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	appendStringInfoChar(&buf, '\'');
	return buf.data;
}

/*
 * custom.conf (SPEC-cnpg.md 4.2 step 4): the spec's parameters (defaulted,
 * so CloudNativePG's defaults and archive_mode are there) and cluster_name,
 * one "key = 'value'" line each, sorted, the cnpg.* keys last.  The model
 * has no SHA-256 of its own (no OpenSSL here), so the caller passes one to
 * get the closing cnpg.config_sha256 line over the non-cnpg lines, or NULL
 * to leave that line out.
 */
char *
cb_custom_conf(const CbClusterSpec *spec,
			   char *(*sha256_hex) (const char *data, size_t len))
{
	CbMap		conf = {0};
	StringInfoData body;
	StringInfoData cnpg;
	int			i;

	for (i = 0; i < spec->parameters.n; i++)
		map_set(&conf, spec->parameters.items[i].key,
				spec->parameters.items[i].value);
	map_set(&conf, "cluster_name", spec->name);
	map_sort(&conf);

	initStringInfo(&body);
	initStringInfo(&cnpg);
	for (i = 0; i < conf.n; i++)
		appendStringInfo(strncmp(conf.items[i].key, "cnpg.", 5) == 0
						 ? &cnpg : &body,
						 "%s = %s\n", conf.items[i].key,
						 cb_conf_quote(conf.items[i].value));
	if (sha256_hex != NULL)
		appendStringInfo(&cnpg, "cnpg.config_sha256 = %s\n",
						 cb_conf_quote(sha256_hex(body.data, body.len)));
	appendStringInfoString(&body, cnpg.data);
	return body.data;
}


/* ---------- recovery targets ---------- */

static const int days_in_month[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

typedef struct CbTimestamp
{
	int			year,
				month,
				day,
				hour,
				minute,
				second;
	char		fraction[7];	/* microseconds, six digits */
	int			offset_sign;	/* +1 / -1 */
	int			offset_hours;
	int			offset_minutes;
} CbTimestamp;

/* "YYYY-MM-DD", with the day checked against the month */
static const char *
parse_date(const char *s, CbTimestamp *ts)
{
	bool		leap;

	if (!fixed_digits(s, 4, &ts->year) || s[4] != '-' ||
		!fixed_digits(s + 5, 2, &ts->month) || s[7] != '-' ||
		!fixed_digits(s + 8, 2, &ts->day))
		return NULL;
	if (ts->month < 1 || ts->month > 12 || ts->day < 1 ||
		ts->day > days_in_month[ts->month - 1])
		return NULL;
	leap = (ts->year % 4 == 0 && ts->year % 100 != 0) || ts->year % 400 == 0;
	if (ts->month == 2 && ts->day == 29 && !leap)
		return NULL;
	return s + 10;
}

/* "HH:MM:SS" then an optional fraction of one or more digits */
static const char *
parse_time_of_day(const char *s, CbTimestamp *ts)
{
	int			i;

	if (!fixed_digits(s, 2, &ts->hour) || s[2] != ':' ||
		!fixed_digits(s + 3, 2, &ts->minute) || s[5] != ':' ||
		!fixed_digits(s + 6, 2, &ts->second) ||
		ts->hour > 23 || ts->minute > 59 || ts->second > 59)
		return NULL;
	s += 8;
	strcpy(ts->fraction, "000000");
	if (*s == '.' && is_digit(s[1]))
		for (s++, i = 0; is_digit(*s); s++, i++)
			if (i < 6)
				ts->fraction[i] = *s;
	return s;
}

/* "+HH[:MM]" / "-HH[:MM]"; with colon_minutes, ":MM" must be there */
static const char *
parse_offset(const char *s, CbTimestamp *ts, bool colon_minutes)
{
	if (*s != '+' && *s != '-')
		return NULL;
	ts->offset_sign = *s == '-' ? -1 : 1;
	ts->offset_minutes = 0;
	if (!fixed_digits(s + 1, 2, &ts->offset_hours) || ts->offset_hours > 23)
		return NULL;
	s += 3;
	if (*s == ':' || colon_minutes)
	{
		if (*s != ':' || !fixed_digits(s + 1, 2, &ts->offset_minutes) ||
			ts->offset_minutes > 59)
			return NULL;
		s += 3;
	}
	return s;
}

/* lib/pq's ParseTimestamp: YYYY-MM-DD[ HH:MM:SS[.f][±HH[:MM]]] */
static bool
is_pq_timestamp(const char *s)
{
	CbTimestamp ts;

	if ((s = parse_date(s, &ts)) == NULL)
		return false;
	if (*s == '\0')
		return true;
	if (*s != ' ' || (s = parse_time_of_day(s + 1, &ts)) == NULL)
		return false;
	if (*s == '+' || *s == '-')
		s = parse_offset(s, &ts, false);
	return s != NULL && *s == '\0';
}

/* RFC 3339 (zone "Z" or ±HH:MM), or the same without a zone (UTC) */
static bool
parse_rfc3339(const char *s, CbTimestamp *ts)
{
	if ((s = parse_date(s, ts)) == NULL || *s != 'T' ||
		(s = parse_time_of_day(s + 1, ts)) == NULL)
		return false;
	ts->offset_sign = 1;
	ts->offset_hours = ts->offset_minutes = 0;
	if (*s == 'Z')
		s++;
	else if (*s == '+' || *s == '-')
		s = parse_offset(s, ts, true);
	return s != NULL && *s == '\0';
}

/*
 * machinery's ParseTargetTime, then the form written to the configuration
 * (SPEC-cnpg.md 1.5): PostgreSQL-style input is kept as written, RFC 3339
 * and the zone-less "T" form become "YYYY-MM-DD HH:MM:SS.ffffff±HH:MM".
 * NULL if the value is not an accepted target time.
 */
char *
cb_recovery_target_time(const char *target_time)
{
	CbTimestamp ts;

	if (target_time == NULL)
		return NULL;
	if (is_pq_timestamp(target_time))
		return pstrdup(target_time);
	if (!parse_rfc3339(target_time, &ts))
		return NULL;
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d.%s%c%02d:%02d",
					ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second,
					ts.fraction, ts.offset_sign < 0 ? '-' : '+',
					ts.offset_hours, ts.offset_minutes);
}

/*
 * The recovery_target_* lines (SPEC-cnpg.md 9.2 step 6), sorted by key,
 * with the values quoted as in custom.conf; nothing without a
 * recoveryTarget.  Validation has accepted the target before this runs.
 */
char *
cb_recovery_target_conf(const CbRecoveryTarget *target)
{
	StringInfoData buf;
	char	   *time = cb_recovery_target_time(target->target_time);
	const struct
	{
		const char *key;
		const char *value;
	}			lines[] = {
		{"recovery_target", target->target_immediate == 1 ? "immediate" : NULL},
		{"recovery_target_inclusive", target->exclusive == 1 ? "false" : "true"},
		{"recovery_target_lsn", target->target_lsn},
		{"recovery_target_name", target->target_name},
		{"recovery_target_time", time ? time : target->target_time},
		{"recovery_target_timeline", target->target_tli},
		{"recovery_target_xid", target->target_xid},
	};
	int			i;

	initStringInfo(&buf);
	if (!target->present)
		return buf.data;
	for (i = 0; i < NELEM(lines); i++)
		if (!str_empty(lines[i].value))
			appendStringInfo(&buf, "%s = %s\n", lines[i].key,
							 cb_conf_quote(lines[i].value));
	return buf.data;
}

/* two hexadecimal numbers around a "/", each fitting 64 bits */
static bool
is_lsn(const char *lsn)
{
	int			part;

	for (part = 0; part < 2; part++)
	{
		uint64		value = 0;
		const char *start = lsn;

		for (; hex_value(*lsn) >= 0; lsn++)
		{
			if (value > PG_UINT64_MAX >> 4)
				return false;
			value = (value << 4) | hex_value(*lsn);
		}
		if (lsn == start || *lsn != (part == 0 ? '/' : '\0'))
			return false;
		lsn++;
	}
	return true;
}

/* strconv.ParseUint(x, 10, 32) */
static bool
is_xid(const char *xid)
{
	uint64		value = 0;

	if (*xid == '\0')
		return false;
	for (; *xid; xid++)
	{
		if (!is_digit(*xid))
			return false;
		value = value * 10 + (*xid - '0');
		if (value > PG_UINT32_MAX)
			return false;
	}
	return true;
}


/* ---------- Kubernetes names ---------- */

#define DNS1123_SUBDOMAIN_ERROR \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
	"characters, '-' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define DNS1123_LABEL_ERROR \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric " \
	"characters or '-', and must start and end with an alphanumeric " \
	"character (e.g. 'my-name',  or '123-abc', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define CONFIG_KEY_ERROR \
	"a valid config key must consist of alphanumeric characters, '-', '_' " \
	"or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used " \
	"for validation is '[-._a-zA-Z0-9]+')"

#define HINT_OBJECT_NAME \
	"Object names are lower case letters, digits, '-' and '.', start and " \
	"end with a letter or digit, and are at most 253 characters long."
#define HINT_NAMESPACE \
	"A namespace is lower case letters, digits and '-', starts and ends " \
	"with a letter or digit, and is at most 63 characters long."
#define HINT_CLUSTER_NAME \
	"A Cluster name starts with a lower case letter, holds lower case " \
	"letters, digits and '-', ends with a letter or digit, and is at most " \
	"50 characters long."

/*
 * One DNS label of len bytes: lower case letters, digits and '-', not
 * starting or ending with '-' (DNS-1035 also refuses a leading digit).
 */
static bool
is_dns_label(const char *s, size_t len, bool dns1035)
{
	size_t		i;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-' ||
		(dns1035 && is_digit(s[0])))
		return false;
	for (i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool
is_dns_subdomain(const char *s)
{
	const char *dot;

	while ((dot = strchr(s, '.')) != NULL)
	{
		if (!is_dns_label(s, dot - s, false))
			return false;
		s = dot + 1;
	}
	return is_dns_label(s, strlen(s), false);
}

/* the API server's checks of metadata.name and metadata.namespace */
static void
check_object_meta(CbFieldErrors *errors, const char *name,
				  const char *namespace)
{
	if (str_empty(name))
		add_field_error(errors, CB_FIELD_REQUIRED, "metadata.name", NULL,
						"name or generateName is required", HINT_OBJECT_NAME);
	else
	{
		if (strlen(name) > 253)
			add_field_error(errors, CB_FIELD_INVALID, "metadata.name",
							go_quote(name), "must be no more than 253 characters",
							HINT_OBJECT_NAME);
		if (!is_dns_subdomain(name))
			add_field_error(errors, CB_FIELD_INVALID, "metadata.name",
							go_quote(name), DNS1123_SUBDOMAIN_ERROR,
							HINT_OBJECT_NAME);
	}
	if (str_empty(namespace))
		return;
	if (strlen(namespace) > 63)
		add_field_error(errors, CB_FIELD_INVALID, "metadata.namespace",
						go_quote(namespace), "must be no more than 63 characters",
						HINT_NAMESPACE);
	if (!is_dns_label(namespace, strlen(namespace), false))
		add_field_error(errors, CB_FIELD_INVALID, "metadata.namespace",
						go_quote(namespace), DNS1123_LABEL_ERROR, HINT_NAMESPACE);
}

/* IsConfigMapKey, for the keys of Secret and ConfigMap data */
static void
check_data_keys(CbFieldErrors *errors, const CbMap *data)
{
	const char *hint = "Data keys are letters, digits, '-', '_' and '.', "
		"at most 253 characters, and not \".\" or \"..\".";
	int			i;

	for (i = 0; i < data->n; i++)
	{
		const char *key = data->items[i].key ? data->items[i].key : "";
		char	   *path = psprintf("data[%s]", key);
		const char *p;

		if (strlen(key) > 253)
			add_field_error(errors, CB_FIELD_INVALID, path, go_quote(key),
							"must be no more than 253 characters", hint);
		for (p = key; *p; p++)
			if (!(is_lower_alnum(*p) || (*p >= 'A' && *p <= 'Z') ||
				  *p == '-' || *p == '_' || *p == '.'))
				break;
		if (*key == '\0' || *p != '\0')
			add_field_error(errors, CB_FIELD_INVALID, path, go_quote(key),
							CONFIG_KEY_ERROR, hint);
		else if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
			add_field_error(errors, CB_FIELD_INVALID, path, go_quote(key),
							psprintf("must not be '%s'", key), hint);
		else if (strncmp(key, "..", 2) == 0)
			add_field_error(errors, CB_FIELD_INVALID, path, go_quote(key),
							"must not start with '..'", hint);
	}
}


/* ---------- schema and CEL rules (SPEC-cnpg.md 3.1) ---------- */

/* integer bounds, "<path> in body should be ..." as the API server says */
static void
schema_bounds(CbValidation *v, const char *path, int64 value, int64 minimum,
			  int64 maximum)
{
	const char *hint = maximum == PG_INT64_MAX
		? psprintf("%s must be at least " INT64_FORMAT ".", path, minimum)
		: psprintf("%s must be between " INT64_FORMAT " and " INT64_FORMAT ".",
				   path, minimum, maximum);

	if (value < minimum)
		invalid(v, path, go_int(value),
				psprintf("%s in body should be greater than or equal to " INT64_FORMAT,
						 path, minimum), hint);
	else if (value > maximum)
		invalid(v, path, go_int(value),
				psprintf("%s in body should be less than or equal to " INT64_FORMAT,
						 path, maximum), hint);
}

static void
schema_required_string(CbValidation *v, const char *path, const char *value,
					   bool min_length_1)
{
	if (value == NULL)
		required(v, path, NULL, psprintf("Set %s.", path));
	else if (min_length_1 && value[0] == '\0')
		invalid(v, path, go_quote(value),
				psprintf("%s in body should be at least 1 chars long", path),
				psprintf("%s must not be empty.", path));
}

/* the CRD's enums, each list NULL-terminated */
static const char *const log_levels[] = {
	"error", "warning", "info", "debug", "trace", NULL
};
static const char *const import_types[] = {"microservice", "monolith", NULL};
static const char *const wal_compressions[] = {
	"bzip2", "gzip", "lz4", "snappy", "xz", "zstd", NULL
};
static const char *const data_compressions[] = {
	"bzip2", "gzip", "lz4", "snappy", NULL
};

static void
schema_enum(CbValidation *v, const char *path, const char *value,
			const char *const *allowed)
{
	StringInfoData detail;
	StringInfoData hint;
	int			i;

	if (value == NULL)
		return;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(value, allowed[i]) == 0)
			return;
	initStringInfo(&detail);
	initStringInfo(&hint);
	appendStringInfoString(&detail, "supported values: ");
	appendStringInfo(&hint, "%s is one of: ", path);
	for (i = 0; allowed[i] != NULL; i++)
	{
		appendStringInfo(&detail, "%s\"%s\"", i ? ", " : "", allowed[i]);
		appendStringInfo(&hint, "%s%s", i ? ", " : "", allowed[i]);
	}
	appendStringInfoChar(&hint, '.');
	add_field_error(&v->errors, CB_FIELD_UNSUPPORTED, path, go_quote(value),
					detail.data, hint.data);
}

/* CEL rules are reported against the object, whose value shows as "object" */
static void
schema_cel(CbValidation *v, bool ok, const char *path, const char *message,
		   const char *hint)
{
	if (!ok)
		invalid(v, path, go_quote("object"), message, hint);
}

static void
schema_spec(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;

	schema_cel(v, !(spec->image_name != NULL && spec->has_image_catalog_ref),
			   "spec", "imageName and imageCatalogRef are mutually exclusive",
			   "Give either spec.imageName or spec.imageCatalogRef, not both.");
	schema_bounds(v, "spec.instances", spec->instances, 1, PG_INT64_MAX);
	schema_bounds(v, "spec.maxSyncReplicas", spec->max_sync_replicas, 0,
				  PG_INT64_MAX);
	schema_bounds(v, "spec.minSyncReplicas", spec->min_sync_replicas, 0,
				  PG_INT64_MAX);
	schema_enum(v, "spec.logLevel", spec->log_level, log_levels);
	if (spec->has_superuser_secret)
		schema_required_string(v, "spec.superuserSecret.name",
							   spec->superuser_secret_name, false);
	if (spec->replica.present)
		schema_required_string(v, "spec.replica.source", spec->replica.source,
							   true);
}

static void
schema_initdb_locales(CbValidation *v, const CbInitdb *initdb)
{
	const char *provider = initdb->locale_provider;

	schema_cel(v, initdb->builtin_locale == NULL || str_eq(provider, "builtin"),
			   "spec.bootstrap.initdb",
			   "builtinLocale is only available when localeProvider is set to `builtin`",
			   "Set localeProvider: builtin to use builtinLocale.");
	schema_cel(v, initdb->icu_locale == NULL || str_eq(provider, "icu"),
			   "spec.bootstrap.initdb",
			   "icuLocale is only available when localeProvider is set to `icu`",
			   "Set localeProvider: icu to use icuLocale.");
	schema_cel(v, initdb->icu_rules == NULL || str_eq(provider, "icu"),
			   "spec.bootstrap.initdb",
			   "icuRules is only available when localeProvider is set to `icu`",
			   "Set localeProvider: icu to use icuRules.");
}

/* secretRefs[] / configMapRefs[] items: name and key are required */
static void
schema_sql_refs(CbValidation *v, const char *path, const CbSQLRefs *refs)
{
	const struct
	{
		const char *list;
		int			n;
		const CbKeyRef *items;
	}			lists[] = {
		{"secretRefs", refs->nsecrets, refs->secrets},
		{"configMapRefs", refs->nconfigmaps, refs->configmaps},
	};
	int			l;
	int			i;

	for (l = 0; l < NELEM(lists); l++)
		for (i = 0; i < lists[l].n; i++)
		{
			char	   *item = psprintf("%s.%s[%d]", path, lists[l].list, i);

			if (lists[l].items[i].name == NULL)
				required(v, psprintf("%s.name", item), NULL,
						 "Each SQL reference needs a name and a key.");
			if (lists[l].items[i].key == NULL)
				required(v, psprintf("%s.key", item), NULL,
						 "Each SQL reference needs a name and a key.");
		}
}

static void
schema_bootstrap(CbValidation *v)
{
	const CbBootstrap *b = &v->spec->bootstrap;
	const CbImport *imp = &b->initdb.import;

	if (b->initdb.present)
	{
		schema_initdb_locales(v, &b->initdb);
		/* 0 stands for "not written" */
		if (b->initdb.wal_segment_size != 0)
			schema_bounds(v, "spec.bootstrap.initdb.walSegmentSize",
						  b->initdb.wal_segment_size, 1, 1024);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitSQLRefs",
						&b->initdb.post_init_sql_refs);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitTemplateSQLRefs",
						&b->initdb.post_init_template_sql_refs);
		schema_sql_refs(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs",
						&b->initdb.post_init_application_sql_refs);
	}
	if (b->initdb.present && imp->present)
	{
		schema_required_string(v, "spec.bootstrap.initdb.import.type",
							   imp->type, false);
		schema_enum(v, "spec.bootstrap.initdb.import.type", imp->type,
					import_types);
		schema_required_string(v,
							   "spec.bootstrap.initdb.import.source.externalCluster",
							   imp->source_external_cluster, false);
	}
	if (b->pg_basebackup.present)
		schema_required_string(v, "spec.bootstrap.pg_basebackup.source",
							   b->pg_basebackup.source, true);
	if (b->recovery.present && b->recovery.backup.present)
		schema_required_string(v, "spec.bootstrap.recovery.backup.name",
							   b->recovery.backup.name, false);
}

/*
 * The key selectors of an external cluster: which parts the schema
 * requires, and which become file names (SPEC-cnpg.md 1.6, section 7).
 */
static const struct
{
	const char *path;			/* below spec.externalClusters[i] */
	size_t		offset;			/* of the CbKeyRef in CbExternalCluster */
	bool		name_required;
	bool		is_file_name;
}			external_selectors[] = {
	{"sslCert", offsetof(CbExternalCluster, ssl_cert), false, true},
	{"sslKey", offsetof(CbExternalCluster, ssl_key), false, true},
	{"sslRootCert", offsetof(CbExternalCluster, ssl_root_cert), false, true},
	{"password", offsetof(CbExternalCluster, password), false, false},
};

static const CbKeyRef *
external_selector(const CbExternalCluster *ec, int i)
{
	return (const CbKeyRef *) ((const char *) ec + external_selectors[i].offset);
}

/* the key selectors of a Barman object store: name and key both required */
static const struct
{
	const char *path;			/* below the store */
	size_t		offset;			/* of the CbKeyRef in CbObjectStore */
}			store_selectors[] = {
	{"endpointCA", offsetof(CbObjectStore, endpoint_ca)},
	{"s3Credentials.accessKeyId", offsetof(CbObjectStore, s3_access_key_id)},
	{"s3Credentials.secretAccessKey", offsetof(CbObjectStore, s3_secret_access_key)},
	{"s3Credentials.region", offsetof(CbObjectStore, s3_region)},
	{"s3Credentials.sessionToken", offsetof(CbObjectStore, s3_session_token)},
	{"azureCredentials.connectionString", offsetof(CbObjectStore, azure_connection_string)},
	{"azureCredentials.storageAccount", offsetof(CbObjectStore, azure_storage_account)},
	{"azureCredentials.storageKey", offsetof(CbObjectStore, azure_storage_key)},
	{"azureCredentials.storageSasToken", offsetof(CbObjectStore, azure_storage_sas_token)},
	{"googleCredentials.applicationCredentials",
	offsetof(CbObjectStore, google_application_credentials)},
};

/*
 * The schema of a Barman object store, wherever it is written: a Cluster's
 * spec.externalClusters[i].barmanObjectStore or an ObjectStore's
 * spec.configuration (path names it).
 */
static void
schema_object_store(CbValidation *v, const CbObjectStore *store, const char *path)
{
	int			i;

	for (i = 0; i < NELEM(store_selectors); i++)
	{
		const CbKeyRef *ref = (const CbKeyRef *)
		((const char *) store + store_selectors[i].offset);
		char	   *ref_path = psprintf("%s.%s", path, store_selectors[i].path);

		if (!ref->present)
			continue;
		if (ref->name == NULL)
			required(v, psprintf("%s.name", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
		if (ref->key == NULL)
			required(v, psprintf("%s.key", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
	}
	schema_required_string(v, psprintf("%s.destinationPath", path),
						   store->destination_path, true);
	if (store->wal_max_parallel != 0)
		schema_bounds(v, psprintf("%s.wal.maxParallel", path),
					  store->wal_max_parallel, 1, PG_INT64_MAX);
	schema_enum(v, psprintf("%s.wal.compression", path),
				store->wal_compression, wal_compressions);
	schema_enum(v, psprintf("%s.data.compression", path),
				store->data_compression, data_compressions);
}

static void
schema_external_cluster(CbValidation *v, const CbExternalCluster *ec,
						const char *path)
{
	int			i;

	if (ec->name == NULL)
		required(v, psprintf("%s.name", path), NULL,
				 "Every external cluster needs a name.");
	for (i = 0; i < NELEM(external_selectors); i++)
	{
		const CbKeyRef *ref = external_selector(ec, i);
		char	   *ref_path = psprintf("%s.%s", path, external_selectors[i].path);

		if (!ref->present)
			continue;
		if (external_selectors[i].name_required && ref->name == NULL)
			required(v, psprintf("%s.name", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
		if (ref->key == NULL)
			required(v, psprintf("%s.key", ref_path), NULL,
					 "A secret key selector needs a name and a key.");
	}
	if (ec->barman_object_store.present)
		schema_object_store(v, &ec->barman_object_store,
							psprintf("%s.barmanObjectStore", path));
}

static void
schema_external_clusters(CbValidation *v)
{
	int			i;

	for (i = 0; i < v->spec->nexternal_clusters; i++)
		schema_external_cluster(v, &v->spec->external_clusters[i],
								psprintf("spec.externalClusters[%d]", i));
}

/* the API server's checks, in the order it reports them */
static const CbCheck schema_checks[] = {
	schema_spec,
	schema_bootstrap,
	schema_external_clusters,
};


/* ---------- webhook checks (SPEC-cnpg.md 3.2) ---------- */

#define HINT_APP_DB "Give both the database and its owner, or neither."

/* item 1: database and owner come in pairs */
static void
check_application_database(CbValidation *v, const char *method,
						   const char *database, const char *owner)
{
	if (!str_empty(database) && str_empty(owner))
		invalid(v, psprintf("spec.bootstrap.%s.owner", method), go_quote(""),
				"You need to specify the database owner user", HINT_APP_DB);
	if (str_empty(database) && !str_empty(owner))
		invalid(v, psprintf("spec.bootstrap.%s.database", method), go_quote(""),
				"You need to specify the database name", HINT_APP_DB);
}

/* item 3: only postInitApplicationSQLRefs is checked, as CloudNativePG does */
static void
check_application_sql_refs(CbValidation *v, const CbSQLRefs *refs)
{
	const char *hint = "Each SQL reference needs a name and a key.";
	int			i;

	for (i = 0; i < refs->nsecrets; i++)
		if (str_empty(refs->secrets[i].name) || str_empty(refs->secrets[i].key))
			invalid(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs.secretRefs",
					go_key_selector("SecretKeySelector", &refs->secrets[i]),
					"key and name must be specified", hint);
	for (i = 0; i < refs->nconfigmaps; i++)
		if (str_empty(refs->configmaps[i].name) || str_empty(refs->configmaps[i].key))
			invalid(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs.configMapRefs",
					go_key_selector("ConfigMapKeySelector", &refs->configmaps[i]),
					"key and name must be specified", hint);
}

/* items 1-3 for initdb */
static void
check_initdb(CbValidation *v)
{
	const CbInitdb *initdb = &v->spec->bootstrap.initdb;

	if (!initdb->present)
		return;
	check_application_database(v, "initdb", initdb->database, initdb->owner);
	if (initdb->wal_segment_size != 0 &&
		(initdb->wal_segment_size & (initdb->wal_segment_size - 1)) != 0)
		invalid(v, "spec.bootstrap.initdb.walSegmentSize",
				go_int(initdb->wal_segment_size),
				"WAL segment size must be a power of 2",
				"walSegmentSize must be a power of 2 between 1 and 1024 (MB).");
	check_application_sql_refs(v, &initdb->post_init_application_sql_refs);
	cb_check_initdb_options(&initdb->options, "spec.bootstrap.initdb.options",
							report_forbidden, v);
}

/* item 1 for recovery and pg_basebackup */
static void
check_recovery_database(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;

	if (rec->present)
		check_application_database(v, "recovery", rec->database, rec->owner);
}

static void
check_pg_basebackup_database(CbValidation *v)
{
	const CbBasebackup *bb = &v->spec->bootstrap.pg_basebackup;

	if (bb->present)
		check_application_database(v, "pg_basebackup", bb->database, bb->owner);
}

#define IMPORT_PATH "spec.bootstrap.initdb.import."
#define HINT_MICROSERVICE \
	"A microservice import takes exactly one database, named without " \
	"wildcards, and no roles."
#define HINT_MONOLITH \
	"A monolith import takes a list of databases and roles, or \"*\" alone " \
	"for all, and no postImportApplicationSQL."

static void
check_microservice_import(CbValidation *v, const CbImport *imp)
{
	if (imp->databases.n != 1)
		invalid(v, IMPORT_PATH "databases", go_string_slice(&imp->databases),
				"You need to specify a single database for the `microservice` import type",
				HINT_MICROSERVICE);
	/* CloudNativePG prints the databases here, not the roles */
	if (imp->roles.n != 0)
		invalid(v, IMPORT_PATH "roles", go_string_slice(&imp->databases),
				"You cannot specify roles to import for the `microservice` import type",
				HINT_MICROSERVICE);
	if (imp->databases.n == 1 && strchr(imp->databases.items[0], '*') != NULL)
		invalid(v, IMPORT_PATH "databases.0", go_string_slice(&imp->databases),
				"You cannot specify any wildcard for the `microservice` import type",
				HINT_MICROSERVICE);
}

static bool
list_contains(const CbStringList *list, const char *item)
{
	int			i;

	for (i = 0; i < list->n; i++)
		if (str_eq(list->items[i], item))
			return true;
	return false;
}

static void
check_monolith_import(CbValidation *v, const CbImport *imp)
{
	if (imp->databases.n < 1)
		invalid(v, IMPORT_PATH "databases", go_string_slice(&imp->databases),
				"You need to specify at least a database for the `monolith` import type",
				HINT_MONOLITH);
	if (imp->databases.n > 1 && list_contains(&imp->databases, "*"))
		invalid(v, IMPORT_PATH "databases", go_string_slice(&imp->databases),
				"Wildcard import cannot be used along other database names",
				HINT_MONOLITH);
	if (imp->roles.n > 1 && list_contains(&imp->roles, "*"))
		invalid(v, IMPORT_PATH "roles", go_string_slice(&imp->databases),
				"Wildcard import cannot be used along other role names",
				HINT_MONOLITH);
	if (imp->post_import_application_sql.n > 0)
		invalid(v, IMPORT_PATH "postImportApplicationSQL",
				go_string_slice(&imp->post_import_application_sql),
				"postImportApplicationSQL is not allowed for the `monolith` import type",
				HINT_MONOLITH);
}

/* item 4 */
static void
check_import(CbValidation *v)
{
	const CbImport *imp = &v->spec->bootstrap.initdb.import;

	if (!v->spec->bootstrap.initdb.present || !imp->present)
		return;
	if (str_eq(imp->type, "microservice"))
		check_microservice_import(v, imp);
	else if (str_eq(imp->type, "monolith"))
		check_monolith_import(v, imp);
	else
		invalid(v, IMPORT_PATH "type", go_quote(imp->type),
				"Unrecognized import type",
				"The import type is microservice or monolith.");
}

/* item 5 (CloudNativePG's path is in lower case) */
static void
check_superuser_secret(CbValidation *v)
{
	if (v->spec->has_superuser_secret &&
		str_empty(v->spec->superuser_secret_name))
		invalid(v, "spec.superusersecret.name", go_quote(""),
				"Super user secret name can't be empty",
				"Name the superuser Secret, or leave superuserSecret out.");
}

/* item 6 */
static void
check_certificates(CbValidation *v)
{
	const CbCertificates *c = &v->spec->certificates;

	if (!c->present)
		return;
	if (!str_empty(c->server_tls_secret))
	{
		if (c->server_alt_dns_names.n != 0)
		{
			StringInfoData names;
			int			i;

			/* fmt.Sprintf("%v") of the list, then quoted */
			initStringInfo(&names);
			appendStringInfoChar(&names, '[');
			for (i = 0; i < c->server_alt_dns_names.n; i++)
				appendStringInfo(&names, "%s%s", i ? " " : "",
								 c->server_alt_dns_names.items[i]);
			appendStringInfoChar(&names, ']');
			invalid(v, "spec.certificates.serveraltdnsnames", go_quote(names.data),
					"Server alternative DNS names can't be defined when server TLS secret is provided",
					"Put the alternative names in the server certificate you provide.");
		}
		if (str_empty(c->server_ca_secret))
			invalid(v, "spec.certificates.servercasecret", go_quote(""),
					"Server CA secret can't be empty when server TLS secret is provided",
					"Give serverCASecret along with serverTLSSecret.");
	}
	if (!str_empty(c->replication_tls_secret) && str_empty(c->client_ca_secret))
		invalid(v, "spec.certificates.clientcasecret", go_quote(""),
				"Client CA secret can't be empty when client replication secret is provided",
				"Give clientCASecret along with replicationTLSSecret.");
}

/* item 7 */
static void
check_bootstrap_method(CbValidation *v)
{
	if (v->bootstrap_methods > 1)
		forbidden(v, "spec.bootstrap",
				  "Only one bootstrap method can be specified at a time",
				  "Use one of initdb, recovery and pg_basebackup.");
}

/* item 8 */
static void
check_image_name(CbValidation *v)
{
	static const char *const messages[] = {
		[CB_IMAGE_LATEST] = "Can't use 'latest' as image tag as we can't detect upgrades",
		[CB_IMAGE_DIGEST_ONLY] = "Can't use just the image sha as we can't detect upgrades",
		[CB_IMAGE_BAD_VERSION] = "invalid version tag",
	};
	const char *image = v->spec->image_name;
	int			major;
	CbImageTagStatus status;

	if (str_empty(image))
		return;
	status = image_tag_status(image, &major);
	if (status != CB_IMAGE_OK)
		invalid(v, "spec.imageName", go_quote(image), messages[status],
				"The image tag must start with the PostgreSQL version, as in "
				"ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie.");
}

#define TARGET_PATH "spec.bootstrap.recovery.recoveryTarget"

/* item 9, first half: exclusiveness and the syntax of each target */
static void
check_recovery_target_values(CbValidation *v, const CbRecoveryTarget *t)
{
	int			targets = (t->target_immediate != CB_UNSET) +
		!str_empty(t->target_lsn) + !str_empty(t->target_name) +
		!str_empty(t->target_xid) + !str_empty(t->target_time);

	if (targets > 1)
		invalid(v, TARGET_PATH, go_recovery_target(t),
				"Recovery target options are mutually exclusive",
				"Give one of targetImmediate, targetLSN, targetName, targetXID and targetTime.");
	if (!str_empty(t->target_time) && cb_recovery_target_time(t->target_time) == NULL)
		invalid(v, TARGET_PATH, go_quote(t->target_time),
				"The format of TargetTime is invalid",
				"Write targetTime as YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]] or in RFC 3339.");
	if (!str_empty(t->target_lsn) && !is_lsn(t->target_lsn))
		invalid(v, TARGET_PATH, go_quote(t->target_lsn), "Invalid TargetLSN",
				"Write targetLSN as two hexadecimal numbers around a slash, as in 0/3000060.");
	if (!str_empty(t->target_xid) && !is_xid(t->target_xid))
		invalid(v, TARGET_PATH ".targetXID", go_quote(t->target_xid),
				"recovery target xid must be a non-negative 32-bit integer",
				"targetXID is a decimal number from 0 to 4294967295.");
}

/* PostgreSQL's restore point names: NAMEDATALEN-1 bytes, no control characters */
static void
check_recovery_target_name(CbValidation *v, const CbRecoveryTarget *t)
{
	const char *hint = "targetName is a restore point name: at most 63 bytes, "
		"no control characters.";
	const char *p;

	if (str_empty(t->target_name))
		return;
	if (strlen(t->target_name) >= 64)
		invalid(v, TARGET_PATH ".targetName", go_quote(t->target_name),
				"recovery target name must be shorter than 64 bytes", hint);
	for (p = t->target_name; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7F)
			break;
	if (*p != '\0')
		invalid(v, TARGET_PATH ".targetName", go_quote(t->target_name),
				"recovery target name must not contain ASCII control characters",
				hint);
}

/* item 9 */
static void
check_recovery_target(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const CbRecoveryTarget *t = &rec->target;
	int64		tli;

	if (!rec->present || !t->present)
		return;
	check_recovery_target_values(v, t);
	check_recovery_target_name(v, t);

	/* a backup catalog finds the base backup by time or LSN only */
	if ((!str_empty(t->target_name) || !str_empty(t->target_xid) ||
		 t->target_immediate != CB_UNSET) &&
		!rec->has_volume_snapshots && str_empty(t->backup_id))
		required(v, TARGET_PATH, "BackupID is missing",
				 "Give backupID with targetName, targetXID or targetImmediate.");

	if (!str_empty(t->target_tli) && strcmp(t->target_tli, "latest") != 0 &&
		(!go_atoi(t->target_tli, &tli) || tli < 1))
		invalid(v, TARGET_PATH ".targetTLI", go_recovery_target(t),
				"recovery target timeline can be set to 'latest' or a positive integer",
				"targetTLI is latest or a timeline number from 1.");
}

/* item 10, with CloudNativePG's minSyncReplicas checks before it */
static void
check_sync_replicas(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const char *hint = "0 <= minSyncReplicas <= maxSyncReplicas < instances.";

	if (spec->min_sync_replicas < 0)
		invalid(v, "spec.minSyncReplicas", go_int(spec->min_sync_replicas),
				"minSyncReplicas must be a non negative integer", hint);
	if (spec->min_sync_replicas > spec->max_sync_replicas)
		invalid(v, "spec.minSyncReplicas", go_int(spec->min_sync_replicas),
				"minSyncReplicas cannot be greater than maxSyncReplicas", hint);
	if (spec->max_sync_replicas < 0)
		invalid(v, "spec.maxSyncReplicas", go_int(spec->max_sync_replicas),
				"maxSyncReplicas must be a non negative integer", hint);
	if (spec->max_sync_replicas >= spec->instances)
		invalid(v, "spec.maxSyncReplicas", go_int(spec->max_sync_replicas),
				"maxSyncReplicas must be lower than the number of instances", hint);
}

static void
check_storage_size(CbValidation *v, const char *path, const char *size,
				   bool has_template_request)
{
	const char *hint = "The size is a Kubernetes quantity such as 1Gi, 500M "
		"or 1e9 (not 1GB).";

	if (!str_empty(size) && !cb_parse_quantity(size, NULL))
		invalid(v, psprintf("%s.size", path), go_quote(size),
				"Size value isn't valid", hint);
	if (str_empty(size) && !has_template_request)
		invalid(v, psprintf("%s.size", path), go_quote(size),
				"Size not configured. Please add it, or a storage request in the pvcTemplate.",
				hint);
}

/* item 11 */
static void
check_storage(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;

	check_storage_size(v, "spec.storage", spec->storage_size,
					   spec->has_storage_pvc_template_request);
	if (spec->has_wal_storage)
		check_storage_size(v, "spec.walStorage", spec->wal_storage_size,
						   spec->has_wal_storage_pvc_template_request);
}

/* item 12: names become services, paths and certificate names */
static void
check_name(CbValidation *v)
{
	const char *name = v->spec->name ? v->spec->name : "";

	if (strlen(name) > 63 || !is_dns_label(name, strlen(name), true))
		invalid(v, "metadata.name", go_quote(name),
				"cluster name must be a valid DNS label", HINT_CLUSTER_NAME);
	if (strlen(name) > 50)
		invalid(v, "metadata.name", go_quote(name),
				"the maximum length of a cluster name is 50 characters",
				HINT_CLUSTER_NAME);
}

#define HINT_EXTERNAL \
	"Sources are named in spec.externalClusters."

static void
check_external_reference(CbValidation *v, const char *path, const char *name)
{
	if (cb_find_external_cluster(v->spec, name) == NULL)
		invalid(v, path, go_quote(name),
				psprintf("External cluster %s not found", name ? name : ""),
				HINT_EXTERNAL);
}

/*
 * item 13; and, where CloudNativePG fails at run time, a source that
 * pg_basebackup cannot connect to
 */
static void
check_pg_basebackup_source(CbValidation *v)
{
	const CbBasebackup *bb = &v->spec->bootstrap.pg_basebackup;
	const CbExternalCluster *ec;

	if (!bb->present)
		return;
	check_external_reference(v, "spec.bootstrap.pg_basebackup.source",
							 bb->source);
	ec = cb_find_external_cluster(v->spec, bb->source);
	if (ec != NULL && ec->connection_parameters.n == 0)
		invalid(v, "spec.bootstrap.pg_basebackup.source", go_quote(bb->source),
				psprintf("External cluster %s cannot be used for pg_basebackup: "
						 "missing connection parameters", bb->source),
				"A pg_basebackup source needs connectionParameters.");
}

/* item 14 */
static void
check_recovery_source(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const CbExternalCluster *ec;

	if (!rec->present || str_empty(rec->source))
		return;
	check_external_reference(v, "spec.bootstrap.recovery.source", rec->source);
	ec = cb_find_external_cluster(v->spec, rec->source);
	if (ec == NULL || (ec->connection_parameters.n == 0 &&
					   !ec->barman_object_store.present && !ec->has_plugin))
		invalid(v, "spec.bootstrap.recovery.source", go_quote(rec->source),
				psprintf("External cluster %s cannot be used for recovery: "
						 "missing connection parameters, Barman, or CNPG-i configuration",
						 rec->source),
				"A recovery source needs a barmanObjectStore (or a plugin, or connectionParameters).");
}

/*
 * item 15.  The kinds of volumeSnapshots.storage/walStorage are not in the
 * model, so "Only VolumeSnapshots and PersistentVolumeClaims are supported"
 * is not checked here.
 */
static void
check_recovery_data_source(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const char *hint = "A recovery from volumeSnapshots takes no backup and "
		"no backupID, and needs spec.walStorage for a WAL snapshot.";

	if (!rec->present || !rec->has_volume_snapshots)
		return;
	if (rec->backup.present)
	{
		invalid(v, "spec.bootstrap.recovery.backup", go_backup_source(rec),
				"Recovery from dataSource is not compatible with other types of recovery",
				hint);
		return;
	}
	if (rec->target.present && !str_empty(rec->target.backup_id))
	{
		invalid(v, TARGET_PATH ".backupID", go_quote(rec->target.backup_id),
				"Cannot specify a backupID when recovering using a DataSource",
				hint);
		return;
	}
	if (rec->has_volume_snapshots_wal && !v->spec->has_wal_storage)
		invalid(v, "spec.bootstrap.recovery.dataSource.walStorage",
				"v1.TypedLocalObjectReference{...}",
				"A WAL storage configuration is required when recovering using a DataSource for WALs",
				hint);
}

/* a name that becomes one path component (SPEC-cnpg.md 1.6) */
static bool
is_path_component(const char *s)
{
	return s == NULL || (strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
						 strchr(s, '/') == NULL && strchr(s, '\\') == NULL);
}

static void
check_path_component(CbValidation *v, const char *path, const char *value)
{
	if (!is_path_component(value))
		invalid(v, path, go_quote(value),
				"cannot contain a path separator or a '..' component",
				"Names that become file names cannot hold '/' or '\\', nor be '.' or '..'.");
}

static void
check_external_cluster(CbValidation *v, const CbExternalCluster *ec,
					   const char *path)
{
	int			i;

	if (ec->connection_parameters.n == 0 && !ec->barman_object_store.present &&
		!ec->has_plugin)
		required(v, path,
				 "one of connectionParameters, plugin and barmanObjectStore is required",
				 "Give the source's connectionParameters, barmanObjectStore or plugin.");
	check_path_component(v, psprintf("%s.name", path), ec->name);
	cb_check_connection_parameters(&ec->connection_parameters,
								   psprintf("%s.connectionParameters", path),
								   report_forbidden, v);
	for (i = 0; i < NELEM(external_selectors); i++)
	{
		const CbKeyRef *ref = external_selector(ec, i);

		if (!ref->present || !external_selectors[i].is_file_name)
			continue;
		check_path_component(v, psprintf("%s.%s.name", path,
										 external_selectors[i].path), ref->name);
		check_path_component(v, psprintf("%s.%s.key", path,
										 external_selectors[i].path), ref->key);
	}
}

/* item 16 */
static void
check_external_clusters(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	bool		duplicates = false;
	int			i;
	int			j;

	for (i = 0; i < spec->nexternal_clusters; i++)
	{
		check_external_cluster(v, &spec->external_clusters[i],
							   psprintf("spec.externalClusters[%d]", i));
		for (j = 0; j < i; j++)
			if (str_eq(spec->external_clusters[i].name,
					   spec->external_clusters[j].name))
				duplicates = true;
	}
	if (duplicates)
		invalid(v, "spec.externalClusters", go_external_clusters(spec),
				"the list of external clusters contains duplicate values",
				"Give each external cluster its own name.");
}

/* CloudNativePG's check runs on creation only: not yet stored here */
static bool
is_new_cluster(const CbValidation *v)
{
	if (v->spec->has_resource_version)
		return false;
	return v->existing_clusters == NULL ||
		!list_contains(v->existing_clusters, v->spec->name);
}

/* item 17 (CloudNativePG's paths say replicaCluster, the JSON key is replica) */
static void
check_replica_mode(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const CbReplica *r = &spec->replica;
	const CbBootstrap *b = &spec->bootstrap;

	if (!r->present)
		return;
	if (r->enabled != CB_UNSET && !str_empty(r->primary))
		forbidden(v, "spec.replicaCluster.enabled",
				  "replica mode enabled is not compatible with the primary field",
				  "Use replica.enabled, or replica.primary with replica.self, not both.");
	if (cb_is_replica_cluster(spec))
	{
		if (!v->bootstrap_written)
			required(v, "spec.bootstrap",
					 "bootstrap configuration is required for replica mode",
					 "A replica cluster bootstraps with pg_basebackup or recovery.");
		else if (!b->pg_basebackup.present && !b->recovery.present &&
				 is_new_cluster(v))
			invalid(v, "spec.replicaCluster", go_replica(r),
					"replica mode bootstrap is compatible only with pg_basebackup or recovery",
					"A replica cluster bootstraps with pg_basebackup or recovery.");
	}
	check_external_reference(v, "spec.replicaCluster.primaryServerName", r->source);
	if (!str_empty(r->self))
		check_external_reference(v, "spec.replicaCluster.self", r->self);
	if (!str_empty(r->primary))
		check_external_reference(v, "spec.replicaCluster.primary", r->primary);
}

#define PARAMETERS_PATH "spec.postgresql.parameters."

/*
 * item 18: names, then the parameters the operator owns, whatever the case
 * of their names (PostgreSQL's are case-insensitive; CloudNativePG's check
 * is not).  A refused parameter's value is never shown: it may be a
 * password (primary_conninfo) or a command.
 */
static void
check_parameter_keys(CbValidation *v)
{
	const CbMap *user = &v->user_parameters;
	int			i;

	cb_check_parameter_names(user, PARAMETERS_PATH, report_forbidden, v);
	cb_check_config_lines(&v->spec->pg_hba, "spec.postgresql.pg_hba", true,
						  report_forbidden, v);
	cb_check_config_lines(&v->spec->pg_ident, "spec.postgresql.pg_ident", false,
						  report_forbidden, v);
	for (i = 0; i < user->n; i++)
	{
		const char *key = user->items[i].key ? user->items[i].key : "";
		const char *value = user->items[i].value;
		const char *reference;

		if (!is_parameter_name(key))
		{
			invalid(v, psprintf(PARAMETERS_PATH "%s", key), go_quote(key),
					"must be a valid PostgreSQL configuration parameter name "
					"(a GUC name, optionally namespaced with a single dot)",
					"Parameter names are letters, digits, '_' and '$', with at most one dot.");
			continue;
		}
		if (!is_operator_parameter(key))
			continue;
		reference = operator_parameter_reference(v->spec, key);
		if (reference == NULL || !str_eq(value, reference))
			invalid(v, psprintf(PARAMETERS_PATH "%s", key), NULL,
					"Can't set fixed configuration parameter",
					cb_guc_name_eq(key, "shared_preload_libraries")
					? "List libraries in spec.postgresql.shared_preload_libraries."
					: reference
					? psprintf("%s is managed by the operator: leave it out, or set it to '%s'.",
							   key, reference)
					: psprintf("%s is managed by the operator: leave it out.", key));
	}
}

/* item 18: wal_level and what it needs */
static void
check_wal_level(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const char *wal_level = cb_map_get(&spec->parameters, "wal_level");
	const char *senders = cb_map_get(&spec->parameters, "max_wal_senders");
	bool		needs_wal = spec->instances > 1 || cb_is_replica_cluster(spec) ||
		!str_eq(cb_map_get(&spec->parameters, "archive_mode"), "off");

	if (!str_eq(wal_level, "logical") && !str_eq(wal_level, "replica") &&
		!str_eq(wal_level, "minimal"))
		invalid(v, PARAMETERS_PATH "wal_level", NULL,
				"unrecognized `wal_level` value - allowed values: `logical`, `replica`, `minimal`",
				"wal_level is logical, replica or minimal.");
	else if (needs_wal && str_eq(wal_level, "minimal"))
		invalid(v, PARAMETERS_PATH "wal_level", NULL,
				"`wal_level` should be set at `logical` or `replica` when `archive_mode` is `on`, "
				"'.instances' field is greater than 1, or this is a replica cluster",
				"wal_level minimal needs one instance, no replica mode and WAL archiving off.");
	if (str_eq(wal_level, "minimal") && !str_eq(senders, "0"))
		invalid(v, PARAMETERS_PATH "max_wal_senders", NULL,
				"`max_wal_senders` should be set at `0` when `wal_level` is `minimal`",
				"Set max_wal_senders to 0 with wal_level minimal.");
}

/* item 18: memory values as PostgreSQL writes them (oracle row 21) */
static void
check_shared_buffers(CbValidation *v)
{
	const char *value = cb_map_get(&v->spec->parameters, "shared_buffers");

	/* CloudNativePG prints the parameter's name as the bad value */
	if (!str_empty(value) && !parse_pg_memory(value, NULL))
		invalid(v, PARAMETERS_PATH "shared_buffers", go_quote("shared_buffers"),
				"Invalid value for configuration parameter shared_buffers. More info on "
				"accepted values format: https://www.postgresql.org/docs/current/"
				"config-setting.html#CONFIG-SETTING-NAMES-VALUES",
				"Memory values are a number of MB, or a number with B, kB, MB, GB or TB, as in 256MB.");
}

static void
check_wal_log_hints(CbValidation *v)
{
	const char *value = cb_map_get(&v->spec->parameters, "wal_log_hints");
	bool		on = false;

	if (value == NULL)
		return;
	if (!parse_pg_boolean(value, &on))
		invalid(v, PARAMETERS_PATH "wal_log_hints", NULL,
				"invalid `wal_log_hints`. Must be a postgres boolean",
				"wal_log_hints is on or off.");
	if (v->spec->instances > 1 && !on)
		invalid(v, PARAMETERS_PATH "wal_log_hints", NULL,
				"`wal_log_hints` must be set to `on` when `instances` > 1",
				"Standbys need wal_log_hints on (pg_rewind).");
}

/* min_wal_size < max_wal_size < the WAL volume (validateWalSizeConfiguration) */
static void
check_wal_sizes(CbValidation *v)
{
	static const struct
	{
		const char *key;
		const char *fallback;
	}			sizes[] = {{"min_wal_size", "80MB"}, {"max_wal_size", "1GB"}};
	const char *hint = "min_wal_size must be below max_wal_size, both below "
		"the walStorage size.";
	const char *values[2];
	int64		bytes[2] = {0, 0};
	int64		volume = 0;
	int			i;

	for (i = 0; i < 2; i++)
	{
		const char *value = cb_map_get(&v->spec->parameters, sizes[i].key);

		values[i] = str_empty(value) ? sizes[i].fallback : value;
		if (!parse_pg_memory(values[i], &bytes[i]))
		{
			bytes[i] = 0;
			invalid(v, psprintf(PARAMETERS_PATH "%s", sizes[i].key), NULL,
					psprintf("Invalid value for configuration parameter %s",
							 sizes[i].key), hint);
		}
	}
	if (bytes[0] != 0 && bytes[1] != 0 && bytes[0] >= bytes[1])
		invalid(v, PARAMETERS_PATH "min_wal_size", NULL,
				"Invalid vale. Parameter min_wal_size (default 80MB) should be "
				"smaller than parameter max_wal_size (default 1GB)", hint);
	if (!v->spec->has_wal_storage ||
		!cb_parse_quantity(v->spec->wal_storage_size, &volume))
		return;
	for (i = 0; i < 2; i++)
		if (values[i] != sizes[i].fallback && bytes[i] != 0 && bytes[i] >= volume)
			invalid(v, psprintf(PARAMETERS_PATH "%s", sizes[i].key), NULL,
					psprintf("Invalid value. Parameter %s (default %s) should be "
							 "smaller than WAL volume size",
							 sizes[i].key, sizes[i].fallback), hint);
}

/* item 18 */
static void
check_configuration(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	int			major = 0;

	check_parameter_keys(v);

	/*
	 * An image tag without a version was reported by item 8; CloudNativePG
	 * stops here then.  With an image catalog the major is the catalog's,
	 * which the model does not carry, so the version check is skipped.
	 */
	if (!spec->has_image_catalog_ref)
	{
		if (image_tag_status(spec->image_name ? spec->image_name : "", &major) != CB_IMAGE_OK)
			return;
		if (major < 13)
			invalid(v, "spec.imageName", go_quote(spec->image_name),
					"Unsupported PostgreSQL version. Versions 13 or newer are supported",
					"Use an image of PostgreSQL 13 or newer.");
	}
	check_wal_level(v);
	check_shared_buffers(v);
	check_wal_log_hints(v);
	check_wal_sizes(v);
}


/* ---------- promotion tokens (item 19) ---------- */

/*
 * A promotion token is base64 (standard alphabet, padded) of a JSON object
 * whose six pg_controldata fields must be non-empty strings.  This is a
 * loose port of CloudNativePG's ParsePgControldataToken and IsValid: the
 * base64 errors are Go's, the JSON ones are close to Go's but not always
 * the same words.
 */
static int
base64_value(char c)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *hit = c ? strchr(alphabet, c) : NULL;

	return hit ? (int) (hit - alphabet) : -1;
}

static size_t
skip_newlines(const char *in, size_t i, size_t len)
{
	while (i < len && (in[i] == '\n' || in[i] == '\r'))
		i++;
	return i;
}

/*
 * One quantum of Go's base64 decodeQuantum: up to four symbols, newlines
 * skipped, "=" padding only at the very end.  Returns false with *bad set
 * to the offset Go reports.
 */
static bool
base64_quantum(const char *in, size_t len, size_t *si, StringInfo out,
			   size_t *bad)
{
	uint32		bits = 0;
	int			j;

	for (j = 0; j < 4; j++)
	{
		char		c;

		if (*si == len)
		{
			if (j == 0)
				return true;
			*bad = *si - j;		/* padding is required */
			return false;
		}
		c = in[(*si)++];
		if (base64_value(c) >= 0)
		{
			bits = (bits << 6) | base64_value(c);
			continue;
		}
		if (c == '\n' || c == '\r')
		{
			j--;
			continue;
		}
		if (c != '=' || j < 2)
			return (*bad = *si - 1), false;
		if (j == 2)
		{
			*si = skip_newlines(in, *si, len);
			if (*si == len)
				return (*bad = len), false;
			if (in[*si] != '=')
				return (*bad = *si - 1), false;
			(*si)++;
		}
		*si = skip_newlines(in, *si, len);
		if (*si < len)
			return (*bad = *si), false;
		break;
	}
	bits <<= 6 * (4 - j);
	appendStringInfoChar(out, (char) (bits >> 16));
	if (j > 2)
		appendStringInfoChar(out, (char) (bits >> 8));
	if (j > 3)
		appendStringInfoChar(out, (char) bits);
	return true;
}

/* NULL, or Go's error text */
static char *
base64_decode(const char *in, StringInfo out)
{
	size_t		len = strlen(in);
	size_t		si = 0;
	size_t		bad;

	while (si < len)
		if (!base64_quantum(in, len, &si, out, &bad))
			return psprintf("illegal base64 data at input byte %zu", bad);
	return NULL;
}

typedef struct CbJson
{
	const char *p;
	const char *end;
	const char *error;
} CbJson;

static void
json_space(CbJson *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
							 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
json_at(const CbJson *j, char c)
{
	return j->p < j->end && *j->p == c;
}

static bool
json_fail(CbJson *j, const char *context)
{
	if (j->error != NULL)
		return false;
	if (j->p >= j->end)
		j->error = "unexpected end of JSON input";
	else if ((unsigned char) *j->p < 0x20 || (unsigned char) *j->p >= 0x7F)
		j->error = psprintf("invalid character '\\x%02x' %s",
							(unsigned char) *j->p, context);
	else
		j->error = psprintf("invalid character '%c' %s", *j->p, context);
	return false;
}

/* a string; its bytes go to out if given (a \u escape counts as one '?') */
static bool
json_string(CbJson *j, StringInfo out)
{
	if (!json_at(j, '"'))
		return json_fail(j, "looking for beginning of value");
	for (j->p++; j->p < j->end && *j->p != '"'; j->p++)
	{
		char		c = *j->p;
		int			i;

		if ((unsigned char) c < 0x20)
			return json_fail(j, "in string literal");
		if (c == '\\')
		{
			if (++j->p >= j->end || strchr("\"\\/bfnrtu", *j->p) == NULL)
				return json_fail(j, "in string escape code");
			c = *j->p;
			for (i = 0; c == 'u' && i < 4; i++)
				if (++j->p >= j->end || hex_value(*j->p) < 0)
					return json_fail(j, "in \\u hexadecimal character escape");
			c = c == 'u' ? '?' : c;
		}
		if (out)
			appendStringInfoChar(out, c);
	}
	if (j->p >= j->end)
		return json_fail(j, "in string literal");
	j->p++;
	return true;
}

static bool json_value(CbJson *j, int depth);

/* after '{' or '[': members separated by commas, then the closer */
static bool
json_container(CbJson *j, int depth, bool object)
{
	char		closer = object ? '}' : ']';

	j->p++;
	json_space(j);
	if (json_at(j, closer))
		return ++j->p, true;
	for (;;)
	{
		json_space(j);
		if (object && !json_at(j, '"'))
			return json_fail(j, "looking for beginning of object key string");
		if (object && !json_string(j, NULL))
			return false;
		json_space(j);
		if (object && !json_at(j, ':'))
			return json_fail(j, "after object key");
		j->p += object ? 1 : 0;
		if (!json_value(j, depth + 1))
			return false;
		json_space(j);
		if (json_at(j, closer))
			return ++j->p, true;
		if (!json_at(j, ','))
			return json_fail(j, object ? "after object key:value pair"
							 : "after array element");
		j->p++;
	}
}

static bool
json_value(CbJson *j, int depth)
{
	static const char *const literals[] = {"true", "false", "null"};
	int			i;

	json_space(j);
	if (depth > 100)
		return (j->error = "exceeded max depth"), false;
	if (json_at(j, '{') || json_at(j, '['))
		return json_container(j, depth, *j->p == '{');
	if (json_at(j, '"'))
		return json_string(j, NULL);
	for (i = 0; i < NELEM(literals); i++)
		if ((size_t) (j->end - j->p) >= strlen(literals[i]) &&
			strncmp(j->p, literals[i], strlen(literals[i])) == 0)
			return j->p += strlen(literals[i]), true;
	if (json_at(j, '-') || (j->p < j->end && is_digit(*j->p)))
	{
		while (j->p < j->end && strchr("+-.eE0123456789", *j->p) != NULL)
			j->p++;
		return true;
	}
	return json_fail(j, "looking for beginning of value");
}

/* Go's name for the JSON type of the value starting with c */
static const char *
json_kind(char c)
{
	switch (c)
	{
		case '{':
			return "object";
		case '[':
			return "array";
		case '"':
			return "string";
		case 't':
		case 'f':
			return "bool";
		default:
			return "number";
	}
}

/* the token's fields: JSON key, Go field name */
static const char *const promotion_token_fields[][2] = {
	{"latestCheckpointTimelineID", "LatestCheckpointTimelineID"},
	{"redoWalFile", "REDOWALFile"},
	{"databaseSystemIdentifier", "DatabaseSystemIdentifier"},
	{"latestCheckpointREDOLocation", "LatestCheckpointREDOLocation"},
	{"timeOfLatestCheckpoint", "TimeOfLatestCheckpoint"},
	{"operatorVersion", "OperatorVersion"},
};

/*
 * Walk the members of an object already known to be well-formed JSON,
 * noting which token fields hold a non-empty string.  Go matches field
 * names without regard to case, and a later duplicate wins.
 */
static const char *
json_token_fields(CbJson *j, bool *filled)
{
	StringInfoData key;
	StringInfoData value;
	const char *type_error = NULL;
	int			f;

	for (j->p++, json_space(j); !json_at(j, '}'); json_space(j))
	{
		initStringInfo(&key);
		json_string(j, &key);
		json_space(j);
		j->p++;					/* ':' */
		json_space(j);
		for (f = 0; f < NELEM(promotion_token_fields); f++)
			if (str_eq_nocase(key.data, promotion_token_fields[f][0]))
				break;
		if (f < NELEM(promotion_token_fields) && json_at(j, '"'))
		{
			initStringInfo(&value);
			json_string(j, &value);
			filled[f] = value.len > 0;
		}
		else
		{
			if (f < NELEM(promotion_token_fields) && !json_at(j, 'n') &&
				type_error == NULL)
				type_error = psprintf("json: cannot unmarshal %s into Go struct "
									  "field PgControldataTokenContent.%s of type string",
									  json_kind(*j->p), promotion_token_fields[f][0]);
			json_value(j, 1);
		}
		json_space(j);
		if (json_at(j, ','))
			j->p++;
	}
	return type_error;
}

/*
 * NULL if the promotion token is good, else CloudNativePG's detail for a
 * bad format or a bad content.
 */
static char *
promotion_token_problem(const char *token)
{
	StringInfoData decoded;
	bool		filled[NELEM(promotion_token_fields)] = {false};
	const char *error;
	CbJson		j;
	int			f;

	initStringInfo(&decoded);
	if ((error = base64_decode(token, &decoded)) != NULL)
		return psprintf("Invalid promotionToken format: invalid promotion token "
						"(Base64 decoding failed): %s", error);

	/* as Go's Unmarshal: the syntax of the whole input first */
	j.p = decoded.data;
	j.end = decoded.data + decoded.len;
	j.error = NULL;
	if (json_value(&j, 0))
	{
		json_space(&j);
		if (j.p < j.end)
			json_fail(&j, "after top-level value");
	}
	error = j.error;

	/* then the shape: an object (or null) with string fields */
	j.p = decoded.data;
	json_space(&j);
	if (error == NULL && json_at(&j, '{'))
		error = json_token_fields(&j, filled);
	else if (error == NULL && !json_at(&j, 'n'))
		error = psprintf("json: cannot unmarshal %s into Go value of type "
						 "utils.PgControldataTokenContent", json_kind(*j.p));
	if (error != NULL)
		return psprintf("Invalid promotionToken format: invalid promotion token "
						"(JSON decoding failed): %s", error);

	for (f = 0; f < NELEM(promotion_token_fields); f++)
		if (!filled[f])
			return psprintf("Invalid promotionToken content: invalid promotion "
							"token (%s is empty)", promotion_token_fields[f][1]);
	return NULL;
}

/* item 19 */
static void
check_promotion_token(CbValidation *v)
{
	const CbReplica *r = &v->spec->replica;
	const char *hint = "A promotion token comes from the demoted primary "
		"(base64 of its pg_controldata JSON) and is given to a primary "
		"cluster, without minApplyDelay.";
	char	   *problem;

	if (!r->present || str_empty(r->promotion_token))
		return;
	if (!str_empty(r->min_apply_delay))
		invalid(v, "spec.replicaCluster.minApplyDelay", go_quote(r->promotion_token),
				"minApplyDelay cannot be applied with a promotion token", hint);
	else if (cb_is_replica_cluster(v->spec))
		invalid(v, "spec.replicaCluster.token", go_quote(r->promotion_token),
				"promotionToken is only allowed for primary clusters", hint);
	else if ((problem = promotion_token_problem(r->promotion_token)) != NULL)
		invalid(v, "spec.replicaCluster.token", go_quote(r->promotion_token),
				problem, hint);
}

/* CloudNativePG's validate(), in its order */
static const CbCheck webhook_checks[] = {
	check_initdb,				/* items 1-3 */
	check_recovery_database,	/* item 1 */
	check_pg_basebackup_database,	/* item 1 */
	check_import,				/* item 4 */
	check_superuser_secret,		/* item 5 */
	check_certificates,			/* item 6 */
	check_bootstrap_method,		/* item 7 */
	check_image_name,			/* item 8 */
	check_recovery_target,		/* item 9 */
	check_sync_replicas,		/* item 10 */
	check_storage,				/* item 11 */
	check_name,					/* item 12 */
	check_pg_basebackup_source, /* item 13 */
	check_recovery_source,		/* item 14 */
	check_recovery_data_source, /* item 15 */
	check_external_clusters,	/* item 16 */
	check_replica_mode,			/* item 17 */
	check_configuration,		/* item 18 */
	check_promotion_token,		/* item 19 */
};


/* ---------- defaulting (SPEC-cnpg.md section 2) ---------- */

/* the app DB and its owner; its Secret is generated unless one is named */
static void
default_application_database(const CbClusterSpec *spec, char **database,
							 char **owner, CbKeyRef *secret, bool creates_db)
{
	if (str_empty(*owner))
		*owner = *database;
	if (creates_db && !secret->present && !str_empty(*database) &&
		!str_empty(*owner))
		secret->name = psprintf("%s-app", spec->name ? spec->name : "");
}

static void
default_bootstrap(CbClusterSpec *spec)
{
	CbBootstrap *b = &spec->bootstrap;

	if (b->recovery.present)
	{
		b->method = CB_BOOTSTRAP_RECOVERY;
		if (str_empty(b->recovery.database))
			b->recovery.database = pstrdup("app");
		default_application_database(spec, &b->recovery.database,
									 &b->recovery.owner, &b->recovery.secret,
									 !cb_is_replica_cluster(spec));
	}
	else if (b->pg_basebackup.present)
	{
		b->method = CB_BOOTSTRAP_PG_BASEBACKUP;
		if (str_empty(b->pg_basebackup.database))
			b->pg_basebackup.database = pstrdup("app");
		default_application_database(spec, &b->pg_basebackup.database,
									 &b->pg_basebackup.owner,
									 &b->pg_basebackup.secret,
									 !cb_is_replica_cluster(spec));
	}
	else
	{
		CbInitdb   *initdb = &b->initdb;

		b->method = CB_BOOTSTRAP_INITDB;
		initdb->present = true;
		/* a monolith import brings its own databases */
		if (str_empty(initdb->database) &&
			!(initdb->import.present && str_eq(initdb->import.type, "monolith")))
			initdb->database = pstrdup("app");
		default_application_database(spec, &initdb->database, &initdb->owner,
									 &initdb->secret, true);
		if (str_empty(initdb->encoding))
			initdb->encoding = pstrdup("UTF8");
		if (str_empty(initdb->locale_collate))
			initdb->locale_collate = pstrdup("C");
		if (str_empty(initdb->locale_ctype))
			initdb->locale_ctype = pstrdup("C");
	}
}

/*
 * Fill what CloudNativePG's defaulting and the CRD defaults fill.  A
 * generated Secret name is set with its CbKeyRef's present left false, so
 * that later steps know to create it.
 */
static void
default_cluster(CbClusterSpec *spec)
{
	if (str_empty(spec->namespace))
		spec->namespace = pstrdup("default");
	if (spec->instances == 0)
		spec->instances = 1;
	if (str_empty(spec->image_name) && !spec->has_image_catalog_ref)
		spec->image_name = pstrdup(CB_DEFAULT_IMAGE);
	default_bootstrap(spec);
	if (str_empty(spec->log_level))
		spec->log_level = pstrdup("info");
	if (!spec->has_superuser_secret)
		spec->superuser_secret_name = psprintf("%s-superuser",
											   spec->name ? spec->name : "");
	spec->parameters = sanitized_parameters(spec, &spec->parameters);
	spec->pg_major = spec->has_image_catalog_ref ? 0 :
		cb_pg_major_from_image(spec->image_name);
	if (!cb_parse_quantity(spec->storage_size, &spec->storage_bytes))
		spec->storage_bytes = 0;
	if (!cb_parse_quantity(spec->wal_storage_size, &spec->wal_storage_bytes))
		spec->wal_storage_bytes = 0;
}


/* ---------- documents ---------- */

static void
run_checks(CbValidation *v, const CbCheck *checks, int nchecks)
{
	int			i;

	for (i = 0; i < nchecks; i++)
		checks[i] (v);
}

/*
 * Default a Cluster, then check it as Kubernetes would: object metadata,
 * schema and CEL; the webhook only if those passed.
 */
static void
validate_cluster(CbClusterSpec *spec, const CbStringList *existing_clusters,
				 CbFieldErrors *errors)
{
	CbValidation v = {0};
	const CbBootstrap *b = &spec->bootstrap;

	v.spec = spec;
	v.existing_clusters = existing_clusters;
	v.user_parameters = spec->parameters;
	v.bootstrap_methods = Max(spec->bootstrap_methods_written,
							  b->initdb.present + b->recovery.present +
							  b->pg_basebackup.present);
	v.bootstrap_written = spec->bootstrap_written || v.bootstrap_methods > 0;

	default_cluster(spec);
	check_object_meta(&v.errors, spec->name, spec->namespace);
	run_checks(&v, schema_checks, NELEM(schema_checks));
	if (v.errors.n == 0)
		run_checks(&v, webhook_checks, NELEM(webhook_checks));
	if (v.errors.n == 0)
		cb_check_replica_rules(spec, report_forbidden, &v);
	*errors = v.errors;
}

/*
 * An ObjectStore: object metadata, then its configuration as a Cluster's
 * barmanObjectStore is checked, plus the CRD's CEL rule against serverName
 * (the plugin takes it from the Cluster's plugin parameters).
 */
static void
validate_objectstore(CbObjectStoreDoc *os, CbFieldErrors *errors)
{
	CbValidation v = {0};

	if (str_empty(os->namespace))
		os->namespace = pstrdup("default");
	check_object_meta(&v.errors, os->name, os->namespace);
	schema_cel(&v, os->configuration.server_name == NULL, "spec.configuration",
			   "use the 'serverName' plugin parameter in the Cluster resource",
			   "Remove spec.configuration.serverName; give serverName in the Cluster's "
			   "externalClusters[].plugin.parameters instead.");
	schema_object_store(&v, &os->configuration, "spec.configuration");
	*errors = v.errors;
}

/*
 * The first error names the document and the field in errmsg; errdetail is
 * the API server's rejection with every error, duplicates removed as
 * Kubernetes does; errhint says what the first field allows.
 */
static void
report_errors(CbError *err, const CbDocument *doc, const char *name,
			  const CbFieldErrors *errors)
{
	static const char *const kinds[][2] = {
		[CB_KIND_CLUSTER] = {"Cluster", "Cluster.postgresql.cnpg.io"},
		[CB_KIND_SECRET] = {"Secret", "Secret"},
		[CB_KIND_CONFIGMAP] = {"ConfigMap", "ConfigMap"},
		[CB_KIND_OBJECTSTORE] = {"ObjectStore", "ObjectStore.barmancloud.cnpg.io"},
	};
	const CbFieldError *first = &errors->items[0];
	char	  **texts = palloc(errors->n * sizeof(char *));
	int			ntexts = 0;
	StringInfoData detail;
	int			i;
	int			k;

	for (i = 0; i < errors->n; i++)
	{
		char	   *text = field_error_text(&errors->items[i]);

		for (k = 0; k < ntexts && strcmp(texts[k], text) != 0; k++)
			;
		if (k == ntexts)
			texts[ntexts++] = text;
	}
	initStringInfo(&detail);
	appendStringInfo(&detail, "%s ", kinds[doc->kind][1]);
	append_go_quoted(&detail, name);
	appendStringInfoString(&detail, " is invalid: ");
	if (ntexts > 1)
		appendStringInfoChar(&detail, '[');
	for (i = 0; i < ntexts; i++)
		appendStringInfo(&detail, "%s%s", i ? ", " : "", texts[i]);
	if (ntexts > 1)
		appendStringInfoChar(&detail, ']');

	err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
	err->message = psprintf("%s: %s: %s",
							str_empty(name)
							? psprintf("%s (document %d)", kinds[doc->kind][0],
									   doc->index + 1)
							: psprintf("%s/%s", kinds[doc->kind][0], name),
							first->path,
							str_empty(first->detail)
							? field_error_words[first->type] : first->detail);
	err->detail = detail.data;
	err->hint = first->hint ? pstrdup(first->hint) : NULL;
}

/*
 * Default and validate every document of the manifest, in stream order.
 * The first document with errors stops the walk: err describes it and the
 * result is false.  Secrets referenced by a Cluster need not exist yet;
 * they are looked up when the cluster bootstraps.
 */
bool
cb_manifest_validate(CbManifest *manifest, const CbStringList *existing_clusters,
					 CbError *err)
{
	int			d;

	for (d = 0; d < manifest->ndocs; d++)
	{
		CbDocument *doc = &manifest->docs[d];
		CbFieldErrors errors = {0};
		const char *name = doc->name;

		if (doc->kind == CB_KIND_CLUSTER && doc->cluster != NULL)
		{
			validate_cluster(doc->cluster, existing_clusters, &errors);
			name = doc->cluster->name;
		}
		else if (doc->kind == CB_KIND_SECRET && doc->secret != NULL)
		{
			if (str_empty(doc->secret->namespace))
				doc->secret->namespace = pstrdup("default");
			check_object_meta(&errors, doc->secret->name, doc->secret->namespace);
			check_data_keys(&errors, &doc->secret->data);
			name = doc->secret->name;
		}
		else if (doc->kind == CB_KIND_CONFIGMAP && doc->configmap != NULL)
		{
			if (str_empty(doc->configmap->namespace))
				doc->configmap->namespace = pstrdup("default");
			check_object_meta(&errors, doc->configmap->name,
							  doc->configmap->namespace);
			check_data_keys(&errors, &doc->configmap->data);
			name = doc->configmap->name;
		}
		else if (doc->kind == CB_KIND_OBJECTSTORE && doc->objectstore != NULL)
			validate_objectstore(doc->objectstore, &errors);
		if (errors.n > 0)
		{
			report_errors(err, doc, name, &errors);
			return false;
		}
	}
	return true;
}
