/*-------------------------------------------------------------------------
 *
 * fuzz_secret.c
 *	  libFuzzer target for a Secret's values (src/manifest_fill.c,
 *	  cb_fill_secret and its base64 decoder): a Secret manifest is built
 *	  from the input and parsed; what the model stores must be what the
 *	  API server would store.
 *
 * Input: a flag byte, then fields separated by 0xFF (fuzz_util.h):
 *	 0: text of data.raw, as given (base64 or not)
 *	 1: bytes that the target base64-encodes itself into data.enc, with a
 *		line break every (flags >> 1 & 15) characters (CRLF if flag 0x20)
 *	 2: text of stringData.plain; also stringData.raw if flag 0x01 and
 *		stringData.enc if flag 0x40 (stringData wins over data)
 *
 * Properties: the manifest is accepted exactly when field 0 is standard,
 * padded base64 once CR and LF are removed (Go's encoding/json for []byte;
 * the reference decoder below is written independently of the model's);
 * then every key holds exactly the expected bytes (NULs included), and
 * nothing else is in the Secret.  A refusal must carry a message.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_util.h"

#include "model.h"

extern void shim_reset(void);
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
ref_encode(const char *in, size_t len, int wrap, bool crlf)
{
	StringInfoData buf;
	int			col = 0;

	initStringInfo(&buf);
	for (size_t i = 0; i < len; i += 3)
	{
		unsigned int v = (unsigned char) in[i] << 16;
		char		quad[4];

		if (i + 1 < len)
			v |= (unsigned char) in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char) in[i + 2];
		quad[0] = b64chars[(v >> 18) & 63];
		quad[1] = b64chars[(v >> 12) & 63];
		quad[2] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < len ? b64chars[v & 63] : '=';
		for (int k = 0; k < 4; k++)
		{
			if (wrap > 0 && col > 0 && col % wrap == 0)
				appendStringInfoString(&buf, crlf ? "\r\n" : "\n");
			appendStringInfoChar(&buf, quad[k]);
			col++;
		}
	}
	return buf.data;
}

/* strict padded base64, CR/LF anywhere ignored; false if it is not */
static bool
ref_decode(const char *s, char **out, size_t *outlen)
{
	size_t		len = strlen(s);
	char	   *t = palloc(len + 1);
	size_t		n = 0;
	size_t		pad = 0;
	char	   *res;
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			t[n++] = s[i];
	if (n % 4 != 0)
		return false;
	while (pad < n && t[n - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return false;
	for (size_t i = 0; i < n - pad; i++)
		if (t[i] == '\0' || strchr(b64chars, t[i]) == NULL)
			return false;
	res = palloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4)
	{
		unsigned int v = 0;
		int			chars = 0;

		for (int k = 0; k < 4; k++)
		{
			v <<= 6;
			if (t[i + k] != '=')
			{
				v |= (unsigned int) (strchr(b64chars, t[i + k]) - b64chars);
				chars++;
			}
		}
		res[o++] = (char) (v >> 16);
		if (chars >= 3)
			res[o++] = (char) (v >> 8);
		if (chars == 4)
			res[o++] = (char) v;
	}
	*out = res;
	*outlen = o;
	return true;
}

static void
expect_key(const CbSecret *s, const char *key, const char *want, size_t wantlen)
{
	for (int i = 0; i < s->data.n; i++)
		if (strcmp(s->data.items[i].key, key) == 0)
		{
			const CbKV *kv = &s->data.items[i];

			if ((size_t) kv->len != wantlen || memcmp(kv->value, want, wantlen) != 0 ||
				kv->value[kv->len] != '\0')
				fz_fail(psprintf("Secret key %s", key), fz_show(kv->value, kv->len),
						fz_show(want, wantlen));
			return;
		}
	fz_fail(psprintf("Secret key %s missing", key), NULL, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FzInput		in;
	StringInfoData y;
	char	   *raw;
	char	   *plain;
	char	   *raw_decoded = NULL;
	size_t		raw_len = 0;
	bool		valid;
	bool		crlf;
	int			wrap;
	CbManifest *m;
	CbError		err;

	fz_split(data, size, &in);
	raw = fz_text(in.field[0], in.len[0]);
	plain = fz_text(in.field[2], in.len[2]);
	wrap = (in.flags >> 1) & 15;
	crlf = (in.flags & 0x20) != 0;
	valid = ref_decode(raw, &raw_decoded, &raw_len);

	initStringInfo(&y);
	appendStringInfoString(&y, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fz\ndata:\n  raw: ");
	fz_yaml_dq(&y, raw);
	appendStringInfoString(&y, "\n  enc: ");
	fz_yaml_dq(&y, ref_encode(in.field[1], in.len[1], wrap, crlf));
	appendStringInfoString(&y, "\nstringData:\n  plain: ");
	fz_yaml_dq(&y, plain);
	if (in.flags & 0x01)
	{
		appendStringInfoString(&y, "\n  raw: ");
		fz_yaml_dq(&y, plain);
	}
	if (in.flags & 0x40)
	{
		appendStringInfoString(&y, "\n  enc: ");
		fz_yaml_dq(&y, plain);
	}
	appendStringInfoChar(&y, '\n');

	if (!cb_manifest_parse(y.data, y.len, &m, &err))
	{
		if (err.message == NULL || err.sqlstate == 0)
			fz_fail("a refusal without a message", y.data, NULL);
		if (valid)
			fz_fail(psprintf("valid Secret refused: %s", err.message), y.data, NULL);
	}
	else
	{
		const CbSecret *s;

		if (!valid)
			fz_fail("invalid base64 accepted", y.data, NULL);
		if (m->ndocs != 1 || m->docs[0].secret == NULL)
			fz_fail("not one Secret", y.data, NULL);
		s = m->docs[0].secret;
		if (s->data.n != 3)
			fz_fail(psprintf("%d keys, not 3", s->data.n), y.data, NULL);
		expect_key(s, "plain", plain, strlen(plain));
		if (in.flags & 0x01)
			expect_key(s, "raw", plain, strlen(plain));
		else
			expect_key(s, "raw", raw_decoded, raw_len);
		if (in.flags & 0x40)
			expect_key(s, "enc", plain, strlen(plain));
		else
			expect_key(s, "enc", in.field[1], in.len[1]);
	}
	shim_reset();
	return 0;
}
