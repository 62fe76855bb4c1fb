/*-------------------------------------------------------------------------
 *
 * fuzz_util.h
 *	  What the libFuzzer targets of fuzz/ share (header-only, included by
 *	  each target once): splitting an input into fields, making a field
 *	  valid UTF-8, writing it as a YAML double-quoted scalar that libyaml
 *	  reads back to exactly that text, and the failure report.
 *
 * A target's input is one flag byte, then fields separated by 0xFF (a
 * byte that never occurs in UTF-8, so text fields never need it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_FUZZ_UTIL_H
#define CB_FUZZ_UTIL_H

#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/stringinfo.h"

#undef fprintf
#undef vfprintf

#define FZ_MAX_FIELDS 8

typedef struct FzInput
{
	uint8		flags;
	int			n;
	char	   *field[FZ_MAX_FIELDS];	/* NUL-terminated copies */
	size_t		len[FZ_MAX_FIELDS];		/* may hold NULs before len */
} FzInput;

/* a failed property: say which, with the values (hex-safe), and crash */
static void pg_attribute_noreturn()
fz_fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "PROPERTY FAILED: %s\n", what);
	if (a)
		fprintf(stderr, "  got:  [%s]\n", a);
	if (b)
		fprintf(stderr, "  want: [%s]\n", b);
	abort();
}

/* missing fields are empty */
static inline void
fz_split(const uint8_t *data, size_t size, FzInput *in)
{
	size_t		start = 1;

	memset(in, 0, sizeof(*in));
	in->flags = size > 0 ? data[0] : 0;
	for (int i = 0; i < FZ_MAX_FIELDS; i++)
	{
		size_t		end = start;

		while (start <= size && end < size && data[end] != 0xFF)
			end++;
		if (start > size)
			end = start;
		in->len[i] = end - start;
		in->field[i] = palloc(in->len[i] + 1);
		if (in->len[i] > 0)
			memcpy(in->field[i], data + start, in->len[i]);
		in->field[i][in->len[i]] = '\0';
		in->n = i + 1;
		start = end + 1;
	}
}

/*
 * The field as text: NUL and every byte that is not part of a well-formed
 * UTF-8 sequence (overlong, surrogate, beyond U+10FFFF, cut) become '?'.
 */
static inline char *
fz_text(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		int			n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 :
			(c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
		bool		ok = n > 0 && i + n <= len;

		for (int k = 1; ok && k < n; k++)
			ok = (p[i + k] & 0xC0) == 0x80;
		if (ok && n == 3)
			ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);
		if (ok && n == 4)
			ok = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90);
		if (!ok || c == 0)
		{
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, p + i, n);
		i += n;
	}
	out[len] = '\0';
	return out;
}

/*
 * s (valid UTF-8, from fz_text) as a YAML double-quoted scalar: what YAML
 * does not take raw (C0 and C1 controls, DEL, line and paragraph
 * separators, BOM, U+FFFE/F) and '"' and '\' escaped; the rest raw.
 */
static inline void
fz_yaml_dq(StringInfo buf, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	appendStringInfoChar(buf, '"');
	while (*p)
	{
		unsigned int cp;
		int			n;

		if (*p < 0x80)
			cp = *p, n = 1;
		else if (*p < 0xE0)
			cp = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F), n = 2;
		else if (*p < 0xF0)
			cp = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F), n = 3;
		else
			cp = ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) |
				((p[2] & 0x3F) << 6) | (p[3] & 0x3F), n = 4;
		if (cp == '"' || cp == '\\')
			appendStringInfo(buf, "\\%c", (char) cp);
		else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
				 cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)
			appendStringInfo(buf, "\\u%04X", cp);
		else
			appendBinaryStringInfo(buf, (const char *) p, n);
		p += n;
	}
	appendStringInfoChar(buf, '"');
}

/* printable form of a value for a failure report */
static inline char *
fz_show(const char *s, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "\\x%02X", c);
	}
	return buf.data;
}

#endif							/* CB_FUZZ_UTIL_H */
