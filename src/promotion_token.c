/*-------------------------------------------------------------------------
 *
 * promotion_token.c
 *	  spec.replica.promotionToken (docs/cnpg-rules.md §3.2, item 19): the token a
 *	  demoted CloudNativePG primary hands over, checked at apply as
 *	  CloudNativePG's webhook checks it.  Taken out of validate.c, which
 *	  calls it; pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/promotion_token.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "promotion_token.h"

#define NELEM(array)	((int) lengthof(array))

/* a hex digit (JSON's \u escapes) */
static bool
is_hex(char c)
{
	return c != '\0' && strchr("0123456789abcdefABCDEF", c) != NULL;
}

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
				if (++j->p >= j->end || !is_hex(*j->p))
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
	if (json_at(j, '-') || (j->p < j->end && (*j->p >= '0' && *j->p <= '9')))
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
			if (pg_strcasecmp(key.data, promotion_token_fields[f][0]) == 0)
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
char *
cb_promotion_token_problem(const char *token)
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
