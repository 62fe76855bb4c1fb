/*-------------------------------------------------------------------------
 *
 * barman.c
 *	  Barman Cloud's object-store layout, read as CloudNativePG reads it:
 *	  backup.info files (key=value lines with Python-literal values), the
 *	  catalog of a server's base backups and the choice among them for a
 *	  recoveryTarget, and the naming of base tars and WAL objects.
 *
 * CloudNativePG gets its catalog from barman-cloud-backup-list --format
 * json; we read the same backup.info files directly (one listing, then the
 * files in parallel) and apply the same rules (barman-cloud
 * pkg/catalog/catalog.go, docs/cnpg-rules.md §9.1).  Times are taken with their
 * microseconds and offset, as CloudNativePG does with the begin_time_iso
 * fields of barman-cloud 3.12 and later; the ctime fields that older
 * barman-cloud-backup-list prints lose both.
 *
 * Compression is known only from a name's suffix: backup.info says
 * compression=None even for a gzipped backup.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "barman.h"

/* a backup.info is a few kB; anything near this is not one */
#define BARMAN_INFO_MAX		(256 * 1024)
/* all the backup.info files of a catalog together */
#define BARMAN_CATALOG_MAX	(64 * 1024 * 1024)

#define USECS_PER_SEC_64	INT64CONST(1000000)

/* ---------- compression ---------- */

static const struct
{
	CbCompression compression;
	const char *name;
	const char *suffix;
}			compressions[] = {
	{CB_COMPRESSION_NONE, "none", ""},
	{CB_COMPRESSION_GZIP, "gzip", ".gz"},
	{CB_COMPRESSION_BZIP2, "bzip2", ".bz2"},
	{CB_COMPRESSION_XZ, "xz", ".xz"},
	{CB_COMPRESSION_SNAPPY, "snappy", ".snappy"},
	{CB_COMPRESSION_ZSTD, "zstd", ".zst"},
	{CB_COMPRESSION_LZ4, "lz4", ".lz4"},
};

static int
compression_index(CbCompression c)
{
	for (int i = 0; i < (int) lengthof(compressions); i++)
		if (compressions[i].compression == c)
			return i;
	return 0;
}

const char *
cb_compression_name(CbCompression c)
{
	return compressions[compression_index(c)].name;
}

const char *
cb_compression_suffix(CbCompression c)
{
	return compressions[compression_index(c)].suffix;
}

/* the compression whose suffix (not "") ends name; false if none */
static bool
compression_of_suffix(const char *suffix, CbCompression *c)
{
	for (int i = 1; i < (int) lengthof(compressions); i++)
		if (strcmp(suffix, compressions[i].suffix) == 0)
		{
			*c = compressions[i].compression;
			return true;
		}
	return false;
}

/* ---------- WAL names ---------- */

static bool
is_hex_run(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* barman's xlog regular expression, in C */
CbWalKind
cb_barman_wal_kind(const char *name)
{
	size_t		len = strlen(name);

	if (len < 8 || !is_hex_run(name, 8))
		return CB_WAL_NONE;
	if (strcmp(name + 8, ".history") == 0)
		return CB_WAL_HISTORY;
	if (len < 24 || !is_hex_run(name + 8, 16))
		return CB_WAL_NONE;
	if (len == 24)
		return CB_WAL_SEGMENT;
	if (strcmp(name + 24, ".partial") == 0)
		return CB_WAL_PARTIAL;
	if (len == 24 + 1 + 8 + 7 && name[24] == '.' && is_hex_run(name + 25, 8) &&
		strcmp(name + 33, ".backup") == 0)
		return CB_WAL_BACKUP;
	return CB_WAL_NONE;
}

char *
cb_barman_wal_dir(const char *server, const char *name)
{
	CbWalKind	kind = cb_barman_wal_kind(name);
	char		dir[17];

	if (kind == CB_WAL_NONE)
		return NULL;
	if (kind == CB_WAL_HISTORY)
		return psprintf("%s/wals/", server);
	/* barman formats the folder from the parsed numbers: upper case */
	for (int i = 0; i < 16; i++)
		dir[i] = pg_ascii_toupper((unsigned char) name[i]);
	dir[16] = '\0';
	return psprintf("%s/wals/%s/", server, dir);
}

char *
cb_barman_wal_key(const char *server, const char *name, CbCompression compression)
{
	char	   *dir = cb_barman_wal_dir(server, name);

	return dir ? psprintf("%s%s%s", dir, name, cb_compression_suffix(compression)) : NULL;
}

bool
cb_barman_parse_wal_object(const char *basename, char **name,
						   CbCompression *compression)
{
	const char *dot;
	char	   *stem;

	if (cb_barman_wal_kind(basename) != CB_WAL_NONE)
	{
		*name = pstrdup(basename);
		*compression = CB_COMPRESSION_NONE;
		return true;
	}
	/* one compression suffix, as barman's get_wal_paths allows */
	if ((dot = strrchr(basename, '.')) == NULL ||
		!compression_of_suffix(dot, compression))
		return false;
	stem = pnstrdup(basename, dot - basename);
	if (cb_barman_wal_kind(stem) == CB_WAL_NONE)
		return false;
	*name = stem;
	return true;
}

/* ---------- base backup files ---------- */

bool
cb_barman_parse_base_name(const char *basename, CbBarmanBaseFile *f)
{
	const char *ext = strchr(basename, '.');
	const char *underscore;
	size_t		stem_len;
	char	   *stem;

	if (ext == NULL || strncmp(ext, ".tar", 4) != 0)
		return false;
	if (ext[4] == '\0')
		f->compression = CB_COMPRESSION_NONE;
	else if (!compression_of_suffix(ext + 4, &f->compression))
		return false;

	/* <data|oid>[_<part>] */
	stem = pnstrdup(basename, ext - basename);
	stem_len = strlen(stem);
	f->part = 0;
	if ((underscore = strchr(stem, '_')) != NULL)
	{
		const char *p = underscore + 1;

		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
			return false;
		f->part = atoi(p);
		stem_len = underscore - stem;
		stem[stem_len] = '\0';
	}
	f->is_data = strcmp(stem, "data") == 0;
	f->tablespace_oid = InvalidOid;
	if (!f->is_data)
	{
		if (stem_len == 0 || stem_len > 10 || strspn(stem, "0123456789") != stem_len)
			return false;
		f->tablespace_oid = (Oid) strtoul(stem, NULL, 10);
	}
	return true;
}

static int
base_file_cmp(const void *a, const void *b)
{
	const CbBarmanBaseFile *x = a;
	const CbBarmanBaseFile *y = b;

	if (x->is_data != y->is_data)
		return x->is_data ? -1 : 1;
	if (x->tablespace_oid != y->tablespace_oid)
		return x->tablespace_oid < y->tablespace_oid ? -1 : 1;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return strcmp(x->key, y->key);
}

CbOsStatus
cb_barman_list_base_files(CbOsClient *client, const char *server_name,
						  const char *backup_id, int *nfiles,
						  CbBarmanBaseFile **files, CbOsError *err)
{
	char	   *prefix = psprintf("%s/base/%s/", server_name, backup_id);
	size_t		plen = strlen(prefix);
	CbOsListing listing;
	CbBarmanBaseFile *out;
	int			n = 0;

	if (cb_os_list(client, prefix, NULL, 0, &listing, err) != CB_OS_OK)
		return CB_OS_ERROR;
	out = palloc0(sizeof(CbBarmanBaseFile) * Max(listing.nobjects, 1));
	for (int i = 0; i < listing.nobjects; i++)
	{
		const char *key = listing.objects[i].key;
		const char *base = key + plen;

		/* a store's answer may hold anything: only what is under prefix */
		if (strlen(key) > plen && strncmp(key, prefix, plen) == 0 &&
			strchr(base, '/') == NULL && cb_barman_parse_base_name(base, &out[n]))
		{
			out[n].key = listing.objects[i].key;
			out[n].size = listing.objects[i].size;
			n++;
		}
	}
	qsort(out, n, sizeof(CbBarmanBaseFile), base_file_cmp);
	*nfiles = n;
	*files = out;
	return CB_OS_OK;
}

/* ---------- Python literals ---------- */

static void
append_utf8(StringInfo out, unsigned long cp)
{
	unsigned char utf8[4];

	unicode_to_utf8((pg_wchar) cp, utf8);
	appendBinaryStringInfo(out, (char *) utf8, pg_utf_mblen(utf8));
}

/* \x, \u, \U: exactly n hex digits */
static bool
py_hex_escape(const char **p, int n, StringInfo out)
{
	char		digits[9];
	unsigned long cp;

	if (!is_hex_run(*p, n))
		return false;
	memcpy(digits, *p, n);
	digits[n] = '\0';
	cp = strtoul(digits, NULL, 16);
	if (cp > 0x10FFFF)
		return false;
	append_utf8(out, cp);
	*p += n;
	return true;
}

/*
 * One Python str literal at *p (as repr() writes them: '...' or "...",
 * single line): decoded into out, *p moved past it.
 */
static bool
py_scan_string(const char **p, StringInfo out)
{
	static const char simple[][2] = {
		{'\\', '\\'}, {'\'', '\''}, {'"', '"'}, {'n', '\n'}, {'r', '\r'},
		{'t', '\t'}, {'a', '\a'}, {'b', '\b'}, {'f', '\f'}, {'v', '\v'},
	};
	const char *s = *p;
	char		quote = *s++;

	if (quote != '\'' && quote != '"')
		return false;
	while (*s && *s != quote)
	{
		int			i;

		if (*s != '\\')
		{
			appendStringInfoChar(out, *s++);
			continue;
		}
		s++;
		for (i = 0; i < (int) lengthof(simple); i++)
			if (*s == simple[i][0])
				break;
		if (i < (int) lengthof(simple))
		{
			appendStringInfoChar(out, simple[i][1]);
			s++;
		}
		else if (*s >= '0' && *s <= '7')
		{
			int			v = 0;

			for (int k = 0; k < 3 && *s >= '0' && *s <= '7'; k++)
				v = v * 8 + (*s++ - '0');
			append_utf8(out, v);
		}
		else if (*s == 'x' || *s == 'u' || *s == 'U')
		{
			int			n = *s == 'x' ? 2 : *s == 'u' ? 4 : 8;

			s++;
			if (!py_hex_escape(&s, n, out))
				return false;
		}
		else if (*s == '\0')
			return false;
		else
		{
			/* Python keeps an unknown escape as written */
			appendStringInfoChar(out, '\\');
			appendStringInfoChar(out, *s++);
		}
	}
	if (*s != quote)
		return false;
	*p = s + 1;
	return true;
}

static void
py_skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

char *
cb_barman_py_string(const char *literal, char **errmsg)
{
	StringInfoData out;
	const char *p = literal;

	initStringInfo(&out);
	py_skip_space(&p);
	if (!py_scan_string(&p, &out))
	{
		*errmsg = pstrdup("not a Python string literal");
		return NULL;
	}
	py_skip_space(&p);
	if (*p != '\0')
	{
		*errmsg = pstrdup("text after a Python string literal");
		return NULL;
	}
	return out.data;
}

/* "[('name', oid, '/location'), ...]" (tuples or lists) */
static bool
py_parse_tablespaces(const char *lit, CbBarmanBackup *b)
{
	const char *p = lit;
	int			max = 4;

	b->ntablespaces = 0;
	b->tablespaces = palloc(sizeof(CbBarmanTablespace) * max);
	py_skip_space(&p);
	if (*p++ != '[')
		return false;
	for (;;)
	{
		CbBarmanTablespace ts;
		StringInfoData s;
		char		close;
		char	   *stop;

		py_skip_space(&p);
		if (*p == ']')
			break;
		if (*p != '(' && *p != '[')
			return false;
		close = *p++ == '(' ? ')' : ']';
		initStringInfo(&s);
		py_skip_space(&p);
		if (!py_scan_string(&p, &s))
			return false;
		ts.name = s.data;
		py_skip_space(&p);
		if (*p++ != ',')
			return false;
		py_skip_space(&p);
		ts.oid = (Oid) strtoul(p, &stop, 10);
		if (stop == p)
			return false;
		p = stop;
		py_skip_space(&p);
		if (*p++ != ',')
			return false;
		py_skip_space(&p);
		initStringInfo(&s);
		if (!py_scan_string(&p, &s))
			return false;
		ts.location = s.data;
		py_skip_space(&p);
		if (*p == ',')
			p++;
		py_skip_space(&p);
		if (*p++ != close)
			return false;
		if (b->ntablespaces == max)
			b->tablespaces = repalloc(b->tablespaces, sizeof(CbBarmanTablespace) * (max *= 2));
		b->tablespaces[b->ntablespaces++] = ts;
		py_skip_space(&p);
		if (*p == ',')
			p++;
	}
	p++;
	py_skip_space(&p);
	return *p == '\0';
}

/* ---------- times and LSNs ---------- */

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static int64
days_from_civil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64 z, int64 *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* exactly n digits at *p */
static bool
take_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
take_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

typedef struct TimeParts
{
	int64		year;
	int			month,
				day,
				hour,
				minute,
				second;
	int64		usec;
	int			offset_sec;		/* east of UTC */
} TimeParts;

/* ".123456789": up to 9 digits, kept to the microsecond */
static bool
take_fraction(const char **p, TimeParts *t)
{
	int			n = 0;
	int64		v = 0;

	if (**p != '.' && **p != ',')
		return true;
	(*p)++;
	while (isdigit((unsigned char) **p))
	{
		if (++n > 9)
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	if (n == 0)
		return false;
	for (; n < 9; n++)
		v *= 10;
	t->usec = v / 1000;
	return true;
}

/* ±HH[:MM[:SS]] (lib/pq) or ±HH:MM (RFC 3339), or Z */
static bool
take_offset(const char **p, TimeParts *t, bool rfc3339)
{
	int			sign;
	int			h,
				m = 0,
				s = 0;

	if (take_char(p, 'Z'))
		return true;
	if (**p != '+' && **p != '-')
		return !rfc3339;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (!take_digits(p, 2, &h))
		return false;
	if (rfc3339)
	{
		/* Go's Z07:00 */
		if (!take_char(p, ':') || !take_digits(p, 2, &m))
			return false;
	}
	else if (take_char(p, ':'))
	{
		/* lib/pq: :MM, then maybe :SS */
		if (!take_digits(p, 2, &m) || (take_char(p, ':') && !take_digits(p, 2, &s)))
			return false;
	}
	if (h > 23 || m > 59 || s > 59)
		return false;
	t->offset_sec = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool
parts_valid(const TimeParts *t)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (t->year % 4 == 0 && t->year % 100 != 0) || t->year % 400 == 0;

	return t->month >= 1 && t->month <= 12 && t->day >= 1 &&
		t->day <= mdays[t->month - 1] && (t->month != 2 || t->day <= 28 || leap) &&
		t->hour <= 23 && t->minute <= 59 && t->second <= 59;
}

/* lib/pq's ParseTimestamp: "Y-MM-DD[ HH:MM:SS[.f][offset]]" */
static bool
parse_pq_time(const char *s, TimeParts *t)
{
	const char *p = s;
	char	   *stop;

	t->year = strtol(p, &stop, 10);
	if (stop == p || !isdigit((unsigned char) *p) || stop - p > 9)
		return false;
	p = stop;
	if (!take_char(&p, '-') || !take_digits(&p, 2, &t->month) ||
		!take_char(&p, '-') || !take_digits(&p, 2, &t->day))
		return false;
	if (*p == '\0')
		return true;
	if (!take_char(&p, ' ') || !take_digits(&p, 2, &t->hour) ||
		!take_char(&p, ':') || !take_digits(&p, 2, &t->minute) ||
		!take_char(&p, ':') || !take_digits(&p, 2, &t->second) ||
		!take_fraction(&p, t) || !take_offset(&p, t, false))
		return false;
	return *p == '\0';
}

/* RFC 3339 (Go: fraction optional), or the same without a zone (UTC) */
static bool
parse_rfc3339_time(const char *s, TimeParts *t)
{
	const char *p = s;
	int			year;

	if (!take_digits(&p, 4, &year) || !take_char(&p, '-') ||
		!take_digits(&p, 2, &t->month) || !take_char(&p, '-') ||
		!take_digits(&p, 2, &t->day) || !take_char(&p, 'T') ||
		!take_digits(&p, 2, &t->hour) || !take_char(&p, ':') ||
		!take_digits(&p, 2, &t->minute) || !take_char(&p, ':') ||
		!take_digits(&p, 2, &t->second) || !take_fraction(&p, t))
		return false;
	t->year = year;
	if (*p == '\0')
		return true;
	return take_offset(&p, t, true) && *p == '\0';
}

bool
cb_barman_parse_time(const char *s, int64 *usec, char **errmsg)
{
	TimeParts	t;
	bool		ok;

	memset(&t, 0, sizeof(t));
	ok = parse_pq_time(s, &t);
	if (!ok)
	{
		memset(&t, 0, sizeof(t));
		ok = parse_rfc3339_time(s, &t);
	}
	if (!ok || !parts_valid(&t))
	{
		*errmsg = psprintf("parsing time \"%s\": not YYYY-MM-DD[ HH:MM:SS[.ffffff][+HH[:MM]]] nor RFC 3339", s);
		return false;
	}
	*usec = ((days_from_civil(t.year, t.month, t.day) * 86400 +
			  t.hour * 3600 + t.minute * 60 + t.second - t.offset_sec) *
			 USECS_PER_SEC_64) + t.usec;
	return true;
}

char *
cb_barman_format_time(int64 usec)
{
	int64		secs = usec / USECS_PER_SEC_64;
	int64		frac = usec % USECS_PER_SEC_64;
	int64		days;
	int64		sod;
	int64		y;
	int			m,
				d;

	if (frac < 0)
	{
		frac += USECS_PER_SEC_64;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0)
	{
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	return psprintf("%04lld-%02d-%02d %02d:%02d:%02d.%06lld+00:00",
					(long long) y, m, d, (int) (sod / 3600), (int) (sod / 60 % 60),
					(int) (sod % 60), (long long) frac);
}

bool
cb_barman_parse_lsn(const char *s, uint64 *lsn)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	uint64		parts[2];
	const char *p[2];
	size_t		len[2];

	if (slash == NULL)
		return false;
	p[0] = s;
	len[0] = slash - s;
	p[1] = slash + 1;
	len[1] = strlen(p[1]);
	for (int i = 0; i < 2; i++)
	{
		uint64		v = 0;

		if (len[i] == 0)
			return false;
		for (size_t k = 0; k < len[i]; k++)
		{
			char		c = p[i][k];

			if (!isxdigit((unsigned char) c))
				return false;
			v = v * 16 + (isdigit((unsigned char) c) ? c - '0' : (c | 0x20) - 'a' + 10);
			if (v > PG_UINT32_MAX)
				return false;
		}
		parts[i] = v;
	}
	*lsn = (parts[0] << 32) | parts[1];
	return true;
}

/* ---------- backup.info ---------- */

typedef enum InfoKind
{
	INFO_TEXT,
	INFO_INT,
	INFO_INT64,
	INFO_TIME,
	INFO_PYSTR,
	INFO_TABLESPACES
} InfoKind;

/* the keys recovery needs, and where each goes */
static const struct
{
	const char *key;
	InfoKind	kind;
	size_t		offset;
	size_t		flag;			/* INFO_TIME: its has_ flag */
}			info_fields[] = {
	{"backup_name", INFO_TEXT, offsetof(CbBarmanBackup, backup_name), 0},
	{"status", INFO_TEXT, offsetof(CbBarmanBackup, status), 0},
	{"error", INFO_TEXT, offsetof(CbBarmanBackup, error), 0},
	{"begin_time", INFO_TIME, offsetof(CbBarmanBackup, begin_time),
	offsetof(CbBarmanBackup, has_begin_time)},
	{"end_time", INFO_TIME, offsetof(CbBarmanBackup, end_time),
	offsetof(CbBarmanBackup, has_end_time)},
	{"begin_wal", INFO_TEXT, offsetof(CbBarmanBackup, begin_wal), 0},
	{"end_wal", INFO_TEXT, offsetof(CbBarmanBackup, end_wal), 0},
	{"begin_xlog", INFO_TEXT, offsetof(CbBarmanBackup, begin_xlog), 0},
	{"end_xlog", INFO_TEXT, offsetof(CbBarmanBackup, end_xlog), 0},
	{"timeline", INFO_INT, offsetof(CbBarmanBackup, timeline), 0},
	{"systemid", INFO_TEXT, offsetof(CbBarmanBackup, systemid), 0},
	{"version", INFO_INT, offsetof(CbBarmanBackup, version), 0},
	{"xlog_segment_size", INFO_INT64, offsetof(CbBarmanBackup, xlog_segment_size), 0},
	{"backup_label", INFO_PYSTR, offsetof(CbBarmanBackup, backup_label), 0},
	{"tablespaces", INFO_TABLESPACES, 0, 0},
};

/* one value (not None) into its field */
static bool
info_set_field(CbBarmanBackup *b, int f, const char *value, char **errmsg)
{
	char	   *base = (char *) b;
	char	   *stop;
	int64		v;

	switch (info_fields[f].kind)
	{
		case INFO_TEXT:
			*(char **) (base + info_fields[f].offset) = pstrdup(value);
			return true;
		case INFO_INT:
		case INFO_INT64:
			v = strtoll(value, &stop, 10);
			if (stop == value || *stop != '\0' ||
				(info_fields[f].kind == INFO_INT && (v < PG_INT32_MIN || v > PG_INT32_MAX)))
				break;
			if (info_fields[f].kind == INFO_INT)
				*(int *) (base + info_fields[f].offset) = (int) v;
			else
				*(int64 *) (base + info_fields[f].offset) = v;
			return true;
		case INFO_TIME:
			if (!cb_barman_parse_time(value, (int64 *) (base + info_fields[f].offset), errmsg))
				return false;
			*(bool *) (base + info_fields[f].flag) = true;
			return true;
		case INFO_PYSTR:
			return (*(char **) (base + info_fields[f].offset) =
					cb_barman_py_string(value, errmsg)) != NULL;
		case INFO_TABLESPACES:
			if (py_parse_tablespaces(value, b))
				return true;
			break;
	}
	*errmsg = psprintf("malformed value of %s", info_fields[f].key);
	return false;
}

/* FieldListFile.load: skip blank and # lines, split at the first '=' */
bool
cb_barman_parse_info(const char *text, size_t len, CbBarmanBackup *b,
					 char **errmsg)
{
	char	   *copy = pnstrdup(text, len);
	char	   *line = copy;
	int			max = 32;

	b->info.n = 0;
	b->info.items = palloc(sizeof(CbKV) * max);
	while (line && *line)
	{
		char	   *next = strchr(line, '\n');
		char	   *eq;
		char	   *key;
		char	   *value;

		if (next)
			*next++ = '\0';
		key = line;
		line = next;
		while (isspace((unsigned char) *key))
			key++;
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
		{
			*errmsg = psprintf("invalid line \"%s\"", key);
			return false;
		}
		value = eq + 1;
		while (eq > key && isspace((unsigned char) eq[-1]))
			eq--;
		*eq = '\0';
		while (isspace((unsigned char) *value))
			value++;
		for (char *end = value + strlen(value);
			 end > value && isspace((unsigned char) end[-1]);)
			*--end = '\0';
		if (b->info.n == max)
			b->info.items = repalloc(b->info.items, sizeof(CbKV) * (max *= 2));
		b->info.items[b->info.n].key = key;
		b->info.items[b->info.n].value = strcmp(value, "None") == 0 ? NULL : value;
		b->info.items[b->info.n].len = strlen(value);
		b->info.n++;
	}
	for (int f = 0; f < (int) lengthof(info_fields); f++)
	{
		const char *v = cb_barman_info_get(b, info_fields[f].key);

		if (v && !info_set_field(b, f, v, errmsg))
		{
			*errmsg = psprintf("%s: %s", info_fields[f].key, *errmsg);
			return false;
		}
	}
	b->has_info = true;
	return true;
}

const char *
cb_barman_info_get(const CbBarmanBackup *b, const char *key)
{
	/* the last line of a key wins, as in barman */
	for (int i = b->info.n - 1; i >= 0; i--)
		if (strcmp(b->info.items[i].key, key) == 0)
			return b->info.items[i].value;
	return NULL;
}

bool
cb_barman_backup_usable(const CbBarmanBackup *b)
{
	return b->has_info && b->has_begin_time && b->has_end_time;
}

/* ---------- the catalog ---------- */

/*
 * CloudNativePG sorts with Less(i, j) = i.begin < j.end, incomplete
 * backups first; for backups that do not overlap that is the order of
 * their times, which is what this does in a total order.
 */
static int
backup_cmp(const void *a, const void *b)
{
	const CbBarmanBackup *x = a;
	const CbBarmanBackup *y = b;
	bool		ux = cb_barman_backup_usable(x);
	bool		uy = cb_barman_backup_usable(y);

	if (ux != uy)
		return ux ? 1 : -1;
	if (ux && x->begin_time != y->begin_time)
		return x->begin_time < y->begin_time ? -1 : 1;
	if (ux && x->end_time != y->end_time)
		return x->end_time < y->end_time ? -1 : 1;
	return strcmp(x->backup_id, y->backup_id);
}

/* one backup.info being read, and what all of them hold so far */
typedef struct InfoBuf
{
	StringInfoData buf;
	size_t	   *total;
} InfoBuf;

static bool
info_write(void *arg, const char *data, size_t len)
{
	InfoBuf    *ib = arg;

	if (ib->buf.len + len > BARMAN_INFO_MAX || *ib->total + len > BARMAN_CATALOG_MAX)
		return false;
	*ib->total += len;
	appendBinaryStringInfo(&ib->buf, data, len);
	return true;
}

CbOsStatus
cb_barman_load_catalog(CbOsClient *client, const char *server_name,
					   CbBarmanCatalog *cat, CbOsError *err)
{
	char	   *base = psprintf("%s/base/", server_name);
	size_t		blen = strlen(base);
	CbOsListing listing;
	CbOsGetRequest *reqs;
	InfoBuf    *bufs;
	size_t		total = 0;
	int			n = 0;

	memset(cat, 0, sizeof(CbBarmanCatalog));
	cat->server_name = pstrdup(server_name);
	cat->base_url = cb_os_url(client, base);
	if (cb_os_list(client, base, "/", 0, &listing, err) != CB_OS_OK)
		return CB_OS_ERROR;

	cat->backups = palloc0(sizeof(CbBarmanBackup) * Max(listing.nprefixes, 1));
	reqs = palloc0(sizeof(CbOsGetRequest) * Max(listing.nprefixes, 1));
	bufs = palloc(sizeof(InfoBuf) * Max(listing.nprefixes, 1));
	for (int i = 0; i < listing.nprefixes; i++)
	{
		const char *p = listing.prefixes[i];
		size_t		len = strlen(p);

		/* "<base><id>/", nothing else: the store's answer is not trusted */
		if (len < blen + 2 || strncmp(p, base, blen) != 0 || p[len - 1] != '/' ||
			memchr(p + blen, '/', len - blen - 1) != NULL)
			continue;
		cat->backups[n].backup_id = pnstrdup(p + blen, len - blen - 1);
		initStringInfo(&bufs[n].buf);
		bufs[n].total = &total;
		reqs[n].key = psprintf("%s%s", p, "backup.info");
		reqs[n].length = -1;
		reqs[n].fn = info_write;
		reqs[n].arg = &bufs[n];
		n++;
	}
	cb_os_get_many(client, n, reqs);
	for (int i = 0; i < n; i++)
	{
		CbBarmanBackup *b = &cat->backups[i];
		char	   *errmsg;

		if (reqs[i].status == CB_OS_ERROR)
		{
			*err = reqs[i].err;
			return CB_OS_ERROR;
		}
		if (reqs[i].status == CB_OS_NOT_FOUND)
			b->info_problem = pstrdup("no backup.info (a backup in progress, or a stray folder)");
		else if (!cb_barman_parse_info(bufs[i].buf.data, bufs[i].buf.len, b, &errmsg))
		{
			b->has_info = false;
			b->info_problem = psprintf("backup.info unreadable: %s", errmsg);
		}
	}
	cat->nbackups = n;
	cb_barman_sort_catalog(cat);
	return CB_OS_OK;
}

void
cb_barman_sort_catalog(CbBarmanCatalog *cat)
{
	qsort(cat->backups, cat->nbackups, sizeof(CbBarmanBackup), backup_cmp);
}

/* ---------- the choice ---------- */

typedef enum ChoiceMode
{
	CHOOSE_ID,
	CHOOSE_TIME,
	CHOOSE_LSN,
	CHOOSE_LATEST
} ChoiceMode;

typedef struct Choice
{
	ChoiceMode	mode;
	const char *backup_id;
	const char *tli;			/* "" or "latest": any timeline */
	int64		time;
	const char *time_text;
	uint64		lsn;
	const char *lsn_text;
} Choice;

/* why b is not a candidate for ch; NULL when it is */
static char *
backup_rejection(const CbBarmanBackup *b, const Choice *ch)
{
	uint64		end_lsn;

	if (!b->has_info)
		return b->info_problem;
	if (!cb_barman_backup_usable(b))
		return psprintf("not completed: no %s (status %s)",
						b->has_begin_time ? "end_time" : "begin_time",
						b->status ? b->status : "unknown");
	if (ch->mode == CHOOSE_ID)
		return strcmp(b->backup_id, ch->backup_id) == 0 ? NULL :
			pstrdup("not the requested backupID");

	/* strconv.Itoa(timeline) == targetTLI, or targetTLI "" / "latest" */
	if (ch->tli[0] != '\0' && strcmp(ch->tli, "latest") != 0 &&
		strcmp(psprintf("%d", b->timeline), ch->tli) != 0)
		return psprintf("on timeline %d, not targetTLI %s", b->timeline, ch->tli);
	if (ch->mode == CHOOSE_TIME && b->end_time > ch->time)
		return psprintf("ends at %s, after targetTime %s",
						cb_barman_format_time(b->end_time), ch->time_text);
	if (ch->mode == CHOOSE_LSN &&
		!(cb_barman_parse_lsn(b->end_xlog, &end_lsn) && end_lsn < ch->lsn))
		return psprintf("ends at LSN %s, not before targetLSN %s",
						b->end_xlog ? b->end_xlog : "(none)", ch->lsn_text);
	return NULL;
}

static bool
choice_from_target(const CbRecoveryTarget *target, Choice *ch, char **errmsg)
{
	memset(ch, 0, sizeof(Choice));
	ch->mode = CHOOSE_LATEST;
	ch->tli = "";
	if (target == NULL || !target->present)
		return true;
	if (target->target_tli)
		ch->tli = target->target_tli;
	if (target->backup_id && target->backup_id[0])
	{
		ch->mode = CHOOSE_ID;
		ch->backup_id = target->backup_id;
	}
	else if (target->target_time && target->target_time[0])
	{
		ch->mode = CHOOSE_TIME;
		ch->time_text = target->target_time;
		if (!cb_barman_parse_time(target->target_time, &ch->time, errmsg))
		{
			*errmsg = psprintf("while parsing recovery target targetTime: %s", *errmsg);
			return false;
		}
	}
	else if (target->target_lsn && target->target_lsn[0])
	{
		ch->mode = CHOOSE_LSN;
		ch->lsn_text = target->target_lsn;
		if (!cb_barman_parse_lsn(target->target_lsn, &ch->lsn))
		{
			*errmsg = psprintf("while parsing recovery target targetLSN: invalid LSN \"%s\"",
							   target->target_lsn);
			return false;
		}
	}
	return true;
}

const CbBarmanBackup *
cb_barman_choose(const CbBarmanCatalog *cat, const CbRecoveryTarget *target,
				 char **errmsg, char **errdetail)
{
	Choice		ch;
	StringInfoData detail;

	*errdetail = NULL;
	if (!choice_from_target(target, &ch, errmsg))
		return NULL;

	/* newest first; the first candidate wins */
	for (int i = cat->nbackups - 1; i >= 0; i--)
		if (backup_rejection(&cat->backups[i], &ch) == NULL)
			return &cat->backups[i];

	*errmsg = ch.mode == CHOOSE_ID ?
		psprintf("no backup found with ID %s", ch.backup_id) :
		pstrdup("no target backup found");
	initStringInfo(&detail);
	if (cat->nbackups == 0)
		appendStringInfo(&detail, "Nothing was found under %s.", cat->base_url);
	for (int i = 0; i < cat->nbackups; i++)
		appendStringInfo(&detail, "%sbackup %s: %s", i ? "\n" : "",
						 cat->backups[i].backup_id,
						 backup_rejection(&cat->backups[i], &ch));
	*errdetail = detail.data;
	return NULL;
}
