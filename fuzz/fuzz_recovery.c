/*-------------------------------------------------------------------------
 *
 * fuzz_recovery.c
 *	  libFuzzer target for spec.bootstrap.recovery.recoveryTarget: its
 *	  validation (src/validate_webhook.c cb_check_recovery_target,
 *	  src/validate_values.c cb_is_lsn/cb_is_xid, src/config_writer.c
 *	  cb_recovery_target_time) and the recovery_target_* lines that
 *	  src/config_writer.c cb_recovery_target_conf writes into the restored
 *	  server's configuration.
 *
 * Input: a flag byte, then fields separated by 0xFF (fuzz_util.h):
 *	 targetTime, targetLSN, targetXID, targetName, targetTLI, backupID;
 *	 flag bit i (0..5) puts field i in the manifest, bit 6 adds
 *	 targetImmediate: true, bit 7 exclusive: true.
 *
 * Properties:
 *	 1. the writer alone, on the raw fields (validated or not): every line
 *		is "recovery_target_<x> = '<value>'", keys known, sorted and
 *		unique, no raw newline, carriage return or lone quote inside the
 *		quotes, and PostgreSQL's configuration lexer (guc-file.l: STRING,
 *		then GUC_scanstr) reads back exactly the value given;
 *	 2. through the model: a Cluster manifest with that recoveryTarget is
 *		parsed and validated; when accepted, at most one target is set,
 *		each value has the syntax PostgreSQL takes (LSN, 32-bit xid,
 *		restore point name, timeline), the YAML values arrived unchanged,
 *		and the written lines hold property 1.  A refusal carries a message.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_util.h"

#include "model.h"

extern void shim_reset(void);
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const field_names[] = {
	"targetTime", "targetLSN", "targetXID", "targetName", "targetTLI", "backupID"
};

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* guc-file.l's STRING token from the opening quote; NULL if it is none */
static const char *
conf_string(const char *p, StringInfo value)
{
	if (*p++ != '\'')
		return NULL;
	for (;;)
	{
		if (*p == '\0' || *p == '\n' || *p == '\r')
			return NULL;
		if (*p == '\'')
		{
			if (p[1] != '\'')
				return p + 1;
			appendStringInfoChar(value, '\'');
			p += 2;
		}
		else if (*p == '\\')
		{
			/* GUC_scanstr's escapes */
			p++;
			if (*p == '\0' || *p == '\n')
				return NULL;
			switch (*p)
			{
				case 'b':
					appendStringInfoChar(value, '\b');
					p++;
					break;
				case 'f':
					appendStringInfoChar(value, '\f');
					p++;
					break;
				case 'n':
					appendStringInfoChar(value, '\n');
					p++;
					break;
				case 'r':
					appendStringInfoChar(value, '\r');
					p++;
					break;
				case 't':
					appendStringInfoChar(value, '\t');
					p++;
					break;
				case '0':
				case '1':
				case '2':
				case '3':
				case '4':
				case '5':
				case '6':
				case '7':
					{
						int			oct = 0;

						for (int k = 0; k < 3 && *p >= '0' && *p <= '7'; k++)
							oct = oct * 8 + (*p++ - '0');
						appendStringInfoChar(value, (char) oct);
						break;
					}
				default:
					appendStringInfoChar(value, *p++);
					break;
			}
		}
		else
			appendStringInfoChar(value, *p++);
	}
}

/* property 1 */
static void
check_conf(const char *conf, const CbRecoveryTarget *t)
{
	char	   *time = cb_recovery_target_time(t->target_time);
	const struct
	{
		const char *key;
		const char *value;
	}			want[] = {
		{"recovery_target", t->target_immediate == 1 ? "immediate" : NULL},
		{"recovery_target_inclusive", t->exclusive == 1 ? "false" : "true"},
		{"recovery_target_lsn", t->target_lsn},
		{"recovery_target_name", t->target_name},
		{"recovery_target_time", time ? time : t->target_time},
		{"recovery_target_timeline", t->target_tli},
		{"recovery_target_xid", t->target_xid},
	};
	const char *p = conf;

	if (!t->present)
	{
		if (*conf != '\0')
			fz_fail("recovery_target lines without a recoveryTarget", conf, NULL);
		return;
	}
	for (int i = 0; i < (int) lengthof(want); i++)
	{
		StringInfoData value;
		size_t		klen = strlen(want[i].key);

		if (empty(want[i].value))
			continue;
		if (strncmp(p, want[i].key, klen) != 0 || strncmp(p + klen, " = ", 3) != 0)
			fz_fail(psprintf("line for %s", want[i].key), conf, NULL);
		initStringInfo(&value);
		p = conf_string(p + klen + 3, &value);
		if (p == NULL || *p != '\n')
			fz_fail(psprintf("%s: not one quoted value on one line", want[i].key), conf, NULL);
		p++;
		if (strcmp(value.data, want[i].value) != 0)
			fz_fail(psprintf("%s reads back differently", want[i].key),
					fz_show(value.data, value.len),
					fz_show(want[i].value, strlen(want[i].value)));
	}
	if (*p != '\0')
		fz_fail("unexpected text after the recovery_target lines", conf, NULL);
}

/* the syntax PostgreSQL's check hooks take, written here independently */
static bool
hex_word(const char *s, size_t n)
{
	while (n > 0 && *s == '0')
		s++, n--;
	if (n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

static void
check_accepted(const CbRecoveryTarget *t, char **fields, uint8 flags)
{
	int			targets = (t->target_immediate != CB_UNSET) + !empty(t->target_lsn) +
		!empty(t->target_name) + !empty(t->target_xid) + !empty(t->target_time);
	char	   *got[] = {t->target_time, t->target_lsn, t->target_xid,
		t->target_name, t->target_tli, t->backup_id};

	if (targets > 1)
		fz_fail("two recovery targets accepted", NULL, NULL);
	for (int i = 0; i < (int) lengthof(got); i++)
		if ((flags & (1 << i)) && strcmp(got[i] ? got[i] : "", fields[i]) != 0)
			fz_fail(psprintf("%s changed on its way in", field_names[i]),
					fz_show(got[i] ? got[i] : "", got[i] ? strlen(got[i]) : 0),
					fz_show(fields[i], strlen(fields[i])));
	if (!empty(t->target_lsn))
	{
		const char *slash = strchr(t->target_lsn, '/');

		if (slash == NULL || slash == t->target_lsn || slash[1] == '\0' ||
			!hex_word(t->target_lsn, slash - t->target_lsn) ||
			!hex_word(slash + 1, strlen(slash + 1)))
			fz_fail("bad targetLSN accepted", t->target_lsn, NULL);
	}
	if (!empty(t->target_xid))
	{
		size_t		n = strspn(t->target_xid, "0123456789");

		if (n != strlen(t->target_xid) || strtoull(t->target_xid, NULL, 10) > 0xFFFFFFFFULL ||
			n > 20)
			fz_fail("bad targetXID accepted", t->target_xid, NULL);
	}
	if (!empty(t->target_name))
	{
		if (strlen(t->target_name) >= 64)
			fz_fail("targetName of 64 bytes or more accepted", t->target_name, NULL);
		for (const char *p = t->target_name; *p; p++)
			if ((unsigned char) *p < 0x20 || *p == 0x7F)
				fz_fail("control character in targetName accepted", t->target_name, NULL);
	}
	if (!empty(t->target_tli) && strcmp(t->target_tli, "latest") != 0)
	{
		const char *d = t->target_tli + (t->target_tli[0] == '+' || t->target_tli[0] == '-');

		if (*d == '\0' || strspn(d, "0123456789") != strlen(d) || t->target_tli[0] == '-' ||
			strspn(d, "0") == strlen(d))
			fz_fail("bad targetTLI accepted", t->target_tli, NULL);
	}
	if (!empty(t->target_time) && cb_recovery_target_time(t->target_time) == NULL)
		fz_fail("targetTime accepted that cb_recovery_target_time refuses", t->target_time, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FzInput		in;
	char	   *fields[6];
	CbRecoveryTarget raw;
	StringInfoData y;
	CbManifest *m;
	CbError		err;
	CbStringList existing = {0, NULL};

	fz_split(data, size, &in);
	for (int i = 0; i < 6; i++)
		fields[i] = fz_text(in.field[i], in.len[i]);

	/* 1: the writer on whatever it is given */
	memset(&raw, 0, sizeof(raw));
	raw.present = true;
	raw.target_time = fields[0];
	raw.target_lsn = fields[1];
	raw.target_xid = fields[2];
	raw.target_name = fields[3];
	raw.target_tli = fields[4];
	raw.backup_id = fields[5];
	raw.target_immediate = (in.flags & 0x40) ? 1 : CB_UNSET;
	raw.exclusive = (in.flags & 0x80) ? 1 : CB_UNSET;
	check_conf(cb_recovery_target_conf(&raw), &raw);

	/* 2: through the manifest */
	initStringInfo(&y);
	appendStringInfoString(&y,
						   "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: fz\n"
						   "spec:\n  instances: 1\n  storage:\n    size: 1Gi\n  bootstrap:\n"
						   "    recovery:\n      source: origin\n      recoveryTarget:\n");
	for (int i = 0; i < 6; i++)
		if (in.flags & (1 << i))
		{
			appendStringInfo(&y, "        %s: ", field_names[i]);
			fz_yaml_dq(&y, fields[i]);
			appendStringInfoChar(&y, '\n');
		}
	if (in.flags & 0x40)
		appendStringInfoString(&y, "        targetImmediate: true\n");
	if (in.flags & 0x80)
		appendStringInfoString(&y, "        exclusive: true\n");
	appendStringInfoString(&y,
						   "  externalClusters:\n  - name: origin\n    barmanObjectStore:\n"
						   "      destinationPath: s3://backups\n      serverName: pg\n"
						   "      s3Credentials:\n        accessKeyId: {name: s, key: a}\n"
						   "        secretAccessKey: {name: s, key: b}\n");
	if (!cb_manifest_parse(y.data, y.len, &m, &err))
	{
		if (err.message == NULL || err.sqlstate == 0)
			fz_fail("a refusal without a message", y.data, NULL);
	}
	else if (m->ndocs != 1 || m->docs[0].cluster == NULL)
		fz_fail("not one Cluster", y.data, NULL);
	else if (cb_manifest_validate(m, &existing, &err))
	{
		const CbRecoveryTarget *t = &m->docs[0].cluster->bootstrap.recovery.target;

		check_accepted(t, fields, in.flags);
		check_conf(cb_recovery_target_conf(t), t);
	}
	else if (err.message == NULL || err.sqlstate == 0)
		fz_fail("a validation failure without a message", y.data, NULL);
	shim_reset();
	return 0;
}
