/*-------------------------------------------------------------------------
 *
 * config_writer.c
 *	  Configuration text written from a validated spec: custom.conf
 *	  (cb_custom_conf), the recovery_target_* lines (cb_recovery_target_conf)
 *	  and the postgresql.conf quoting they share (cb_conf_quote).
 *
 * They turn validated fields into text under the same
 * rules: the recovery_target_* lines of a recovery (docs/cnpg-rules.md §9.2 step
 * 6) and the text of custom.conf (4.2 step 4).
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/config_writer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"
#include "validate_int.h"


/* ---------- configuration file text ---------- */

/*
 * A value as a postgresql.conf string literal (docs/cnpg-rules.md §4.2 step 4):
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
 * custom.conf (docs/cnpg-rules.md §4.2 step 4): the spec's parameters (defaulted,
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
		cb_map_set(&conf, spec->parameters.items[i].key,
				   spec->parameters.items[i].value);
	cb_map_set(&conf, "cluster_name", spec->name);
	cb_map_sort(&conf);

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

	if (!cb_fixed_digits(s, 4, &ts->year) || s[4] != '-' ||
		!cb_fixed_digits(s + 5, 2, &ts->month) || s[7] != '-' ||
		!cb_fixed_digits(s + 8, 2, &ts->day))
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

	if (!cb_fixed_digits(s, 2, &ts->hour) || s[2] != ':' ||
		!cb_fixed_digits(s + 3, 2, &ts->minute) || s[5] != ':' ||
		!cb_fixed_digits(s + 6, 2, &ts->second) ||
		ts->hour > 23 || ts->minute > 59 || ts->second > 59)
		return NULL;
	s += 8;
	strcpy(ts->fraction, "000000");
	if (*s == '.' && cb_is_digit(s[1]))
		for (s++, i = 0; cb_is_digit(*s); s++, i++)
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
	if (!cb_fixed_digits(s + 1, 2, &ts->offset_hours) || ts->offset_hours > 23)
		return NULL;
	s += 3;
	if (*s == ':' || colon_minutes)
	{
		if (*s != ':' || !cb_fixed_digits(s + 1, 2, &ts->offset_minutes) ||
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
 * (docs/cnpg-rules.md §1.5): PostgreSQL-style input is kept as written, RFC 3339
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
 * The recovery_target_* lines (docs/cnpg-rules.md §9.2 step 6), sorted by key,
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
