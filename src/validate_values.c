/*-------------------------------------------------------------------------
 *
 * validate_values.c
 *	  Small parsers the checks share: digits, Kubernetes quantities,
 *	  PostgreSQL memory sizes, image tags and versions, LSNs and xids, and
 *	  the helpers over maps, external clusters and replica mode.
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_values.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_int.h"


/* ---------- small parsers shared by the checks ---------- */

bool
cb_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
cb_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || cb_is_digit(c);
}

static int
hex_value(char c)
{
	if (cb_is_digit(c))
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

bool
cb_str_eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Go's strconv.Atoi: optional sign, decimal digits, 64-bit range */
bool
cb_go_atoi(const char *s, int64 *result)
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
		if (!cb_is_digit(*s) || value > (PG_UINT64_MAX - (*s - '0')) / 10)
			return false;
		value = value * 10 + (*s - '0');
	}
	if (value > (uint64) PG_INT64_MAX + (negative ? 1 : 0))
		return false;
	*result = negative ? (int64) (0 - value) : (int64) value;
	return true;
}

/* a run of exactly n decimal digits at s */
bool
cb_fixed_digits(const char *s, int n, int *result)
{
	int			value = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!cb_is_digit(s[i]))
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
		!cb_go_atoi(suffix + 1, &exponent) || exponent != (int32) exponent)
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
	for (; cb_is_digit(*p); p++, digits = true)
		mantissa = mantissa * 10 + (*p - '0');
	if (*p == '.')
		for (p++; cb_is_digit(*p); p++, digits = true, fraction_digits++)
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
bool
cb_parse_pg_memory(const char *value, int64 *bytes)
{
	StringInfoData buf;
	int64		dummy;
	const char *p;
	char	   *ki;

	if (str_empty(value))
		return false;
	if (cb_go_atoi(value, &dummy))
		value = psprintf("%sMB", value);
	if (value[strlen(value) - 1] != 'B')
		return false;

	/* drop the "B" and the spaces */
	initStringInfo(&buf);
	for (p = value; p[1] != '\0'; p++)
		if (*p != ' ')
			appendStringInfoChar(&buf, *p);

	/* "MB" means "Mi", "kB" means "Ki"; "B" alone leaves a bare number */
	if (!cb_go_atoi(buf.data, &dummy))
	{
		appendStringInfoChar(&buf, 'i');
		while ((ki = strstr(buf.data, "ki")) != NULL)
			*ki = 'K';
	}
	return cb_parse_quantity(buf.data, bytes);
}


/* ---------- image names and PostgreSQL versions ---------- */


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

	while (cb_is_digit(*p))
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

		if (!cb_go_atoi(minor, &number) || number >= 100)
			return false;
		version[dot - version] = '\0';
	}
	if (!cb_go_atoi(version, &number) || number > INT_MAX)
		return false;
	*major = (int) number;
	return true;
}

/*
 * machinery's reference.New, then FromTag: a digest is cut from the end,
 * the tag is what follows the first ':' after the last '/', and no tag
 * without a digest means "latest".
 */
CbImageTagStatus
cb_image_tag_status(const char *image, int *major)
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
		cb_image_tag_status(image_name, &major) != CB_IMAGE_OK)
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

void
cb_map_set(CbMap *map, const char *key, const char *value)
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
void
cb_map_sort(CbMap *map)
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


/* two hexadecimal numbers around a "/", each fitting 64 bits */
bool
cb_is_lsn(const char *lsn)
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
bool
cb_is_xid(const char *xid)
{
	uint64		value = 0;

	if (*xid == '\0')
		return false;
	for (; *xid; xid++)
	{
		if (!cb_is_digit(*xid))
			return false;
		value = value * 10 + (*xid - '0');
		if (value > PG_UINT32_MAX)
			return false;
	}
	return true;
}
