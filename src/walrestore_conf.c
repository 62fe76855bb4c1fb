/*-------------------------------------------------------------------------
 *
 * walrestore_conf.c
 *	  Writer and reader of cnpg_bootstrap_wal_restore's configuration file
 *	  (format in walrestore_conf.h).  The worker writes it, the program that
 *	  restore_command runs reads it.
 *
 * Pure: palloc and StringInfo only, errors returned as text, so that it
 * links into the module and, with PostgreSQL's frontend libpgcommon, into
 * the program.  Messages name keys and line numbers, never a value: the
 * file holds a secret key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/stringinfo.h"

#include "walrestore_conf.h"

#define CONF_MAX_BYTES (1024 * 1024)

/* the string fields, in the order they are written */
static const struct
{
	const char *key;
	size_t		offset;
	bool		required;
}			conf_strings[] = {
	{"provider", offsetof(CbWalRestoreConf, provider), false},
	{"destination_path", offsetof(CbWalRestoreConf, destination_path), true},
	{"endpoint_url", offsetof(CbWalRestoreConf, endpoint_url), false},
	{"endpoint_ca_file", offsetof(CbWalRestoreConf, endpoint_ca_file), false},
	{"access_key_id", offsetof(CbWalRestoreConf, access_key_id), false},
	{"secret_access_key", offsetof(CbWalRestoreConf, secret_access_key), false},
	{"region", offsetof(CbWalRestoreConf, region), false},
	{"session_token", offsetof(CbWalRestoreConf, session_token), false},
	{"azure_account", offsetof(CbWalRestoreConf, azure_account), false},
	{"azure_key", offsetof(CbWalRestoreConf, azure_key), false},
	{"azure_sas_token", offsetof(CbWalRestoreConf, azure_sas_token), false},
	{"azure_endpoint", offsetof(CbWalRestoreConf, azure_endpoint), false},
	{"google_credentials", offsetof(CbWalRestoreConf, google_credentials), false},
	{"server_name", offsetof(CbWalRestoreConf, server_name), true},
	{"spool_dir", offsetof(CbWalRestoreConf, spool_dir), true},
};

#define CONF_STR(conf, i) \
	((char **) ((char *) (conf) + conf_strings[i].offset))

/* ---------- writing ---------- */

static void
append_value(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, "%s=", key);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\\')
			appendStringInfoString(buf, "\\\\");
		else if (*p == '\n')
			appendStringInfoString(buf, "\\n");
		else if (*p == '\r')
			appendStringInfoString(buf, "\\r");
		else
			appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\n');
}

static char *
conf_text(const CbWalRestoreConf *conf)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf,
						   "# cnpg_bootstrap_wal_restore configuration, written by cnpg_bootstrap.\n"
						   "# Holds credentials: keep it mode 0600.\n");
	for (int i = 0; i < (int) lengthof(conf_strings); i++)
	{
		const char *v = *CONF_STR(conf, i);

		if (v != NULL)
			append_value(&buf, conf_strings[i].key, v);
	}
	appendStringInfo(&buf, "prefetch=%d\nstandby=%s\n",
					 Max(1, Min(conf->prefetch, CB_WALRESTORE_MAX_PREFETCH)),
					 conf->standby ? "on" : "off");
	if (conf->wal_segment_size > 0)
		appendStringInfo(&buf, "wal_segment_size=%d\n", conf->wal_segment_size);
	if (conf->store_timeout > 0)
		appendStringInfo(&buf, "store_timeout=%d\n", conf->store_timeout);
	return buf.data;
}

/* fsync the directory holding path, so that a rename in it is durable */
bool
cb_fsync_parent_dir(const char *path)
{
	char	   *dir = pstrdup(path);
	char	   *slash = strrchr(dir, '/');
	int			fd;
	bool		ok;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

bool
cb_walrestore_conf_write(const char *path, const CbWalRestoreConf *conf,
						 char **errmsg)
{
	char	   *tmp = psprintf("%s.tmp", path);
	char	   *text = conf_text(conf);
	size_t		len = strlen(text);
	int			fd;
	bool		ok;

	/* a leftover of a crashed write may have any mode: start afresh */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		*errmsg = psprintf("could not create \"%s\": %m", tmp);
		return false;
	}
	ok = write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
	if (!ok)
		*errmsg = psprintf("could not write \"%s\": %m", tmp);
	if (close(fd) != 0 && ok)
	{
		*errmsg = psprintf("could not write \"%s\": %m", tmp);
		ok = false;
	}
	if (ok && rename(tmp, path) != 0)
	{
		*errmsg = psprintf("could not rename \"%s\" to \"%s\": %m", tmp, path);
		ok = false;
	}
	if (!ok)
		unlink(tmp);
	else if (!cb_fsync_parent_dir(path))
	{
		*errmsg = psprintf("could not fsync the directory of \"%s\": %m", path);
		ok = false;
	}
	memset(text, 0, len);		/* the secret should not linger in memory */
	pfree(text);
	return ok;
}

/* ---------- reading ---------- */

/* the whole file, after checking who may read it */
static char *
read_private_file(const char *path, char **errmsg)
{
	int			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char	   *data;
	ssize_t		n;

	if (fd < 0)
	{
		*errmsg = psprintf("could not open configuration file \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		*errmsg = psprintf("configuration file \"%s\" is not a regular file", path);
	else if (st.st_uid != geteuid())
		*errmsg = psprintf("configuration file \"%s\" is not owned by the current user", path);
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		*errmsg = psprintf("configuration file \"%s\" has group or world access (mode %04o); it holds credentials and must be mode 0600",
						   path, (unsigned int) (st.st_mode & 07777));
	else if (st.st_size > CONF_MAX_BYTES)
		*errmsg = psprintf("configuration file \"%s\" is too large", path);
	else
	{
		data = palloc(st.st_size + 1);
		n = read(fd, data, st.st_size);
		close(fd);
		if (n != st.st_size)
		{
			*errmsg = psprintf("could not read configuration file \"%s\": %m", path);
			return NULL;
		}
		data[n] = '\0';
		return data;
	}
	close(fd);
	return NULL;
}

/* undo append_value's escapes in place; false for an unknown escape */
static bool
unescape(char *s)
{
	char	   *out = s;

	for (char *p = s; *p; p++)
	{
		if (*p != '\\')
		{
			*out++ = *p;
			continue;
		}
		p++;
		if (*p == '\\')
			*out++ = '\\';
		else if (*p == 'n')
			*out++ = '\n';
		else if (*p == 'r')
			*out++ = '\r';
		else
			return false;
	}
	*out = '\0';
	return true;
}

static bool
parse_bool(const char *s, bool *v)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*v = true;
	else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*v = false;
	else
		return false;
	return true;
}

/* one key=value, already unescaped; false with *errmsg */
static bool
conf_set(CbWalRestoreConf *conf, const char *key, char *value,
		 bool *seen_prefetch, char **errmsg)
{
	char	   *end;
	long		n;

	for (int i = 0; i < (int) lengthof(conf_strings); i++)
		if (strcmp(key, conf_strings[i].key) == 0)
		{
			if (*CONF_STR(conf, i) != NULL)
			{
				*errmsg = psprintf("key \"%s\" appears twice", key);
				return false;
			}
			*CONF_STR(conf, i) = value;
			return true;
		}
	if (strcmp(key, "standby") == 0)
	{
		if (parse_bool(value, &conf->standby))
			return true;
		*errmsg = pstrdup("standby must be on or off");
		return false;
	}
	if (strcmp(key, "wal_segment_size") == 0)
	{
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < 1 || n > CB_WALRESTORE_MAX_SEGMENT)
		{
			*errmsg = pstrdup("wal_segment_size must be a positive integer of at most 1 GB");
			return false;
		}
		conf->wal_segment_size = (int) n;
		return true;
	}
	if (strcmp(key, "store_timeout") == 0)
	{
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < 1 || n > 3600)
		{
			*errmsg = pstrdup("store_timeout must be a number of seconds from 1 to 3600");
			return false;
		}
		conf->store_timeout = (int) n;
		return true;
	}
	if (strcmp(key, "prefetch") != 0)
	{
		*errmsg = psprintf("unknown key \"%s\"", key);
		return false;
	}
	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < 1)
	{
		*errmsg = pstrdup("prefetch must be a positive integer");
		return false;
	}
	/* wal.maxParallel has no upper bound: more at once would not help */
	conf->prefetch = (int) Min(n, CB_WALRESTORE_MAX_PREFETCH);
	*seen_prefetch = true;
	return true;
}

/* the provider's credentials: s3 needs both keys, azure a key or a SAS */
static bool
conf_credentials_present(const CbWalRestoreConf *conf, char **errmsg)
{
	if (conf->provider == NULL || strcmp(conf->provider, "s3") == 0)
	{
		if (conf->access_key_id == NULL || conf->secret_access_key == NULL)
		{
			*errmsg = psprintf("key \"%s\" is missing",
							   conf->access_key_id ? "secret_access_key" : "access_key_id");
			return false;
		}
		return true;
	}
	if (strcmp(conf->provider, "google") == 0)
	{
		if (conf->google_credentials != NULL)
			return true;
		*errmsg = pstrdup("key \"google_credentials\" is missing");
		return false;
	}
	if (strcmp(conf->provider, "azure") != 0)
	{
		*errmsg = pstrdup("provider must be s3, azure or google");
		return false;
	}
	if (conf->azure_key == NULL && conf->azure_sas_token == NULL)
	{
		*errmsg = pstrdup("key \"azure_key\" or \"azure_sas_token\" is missing");
		return false;
	}
	return true;
}

static bool
conf_parse(char *text, CbWalRestoreConf *conf, char **errmsg)
{
	bool		seen_prefetch = false;
	int			lineno = 0;
	char	   *next;

	for (char *line = text; line != NULL; line = next)
	{
		char	   *eq;
		size_t		len;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL || eq == line)
		{
			*errmsg = psprintf("line %d is not key=value", lineno);
			return false;
		}
		*eq = '\0';
		if (!unescape(eq + 1))
		{
			*errmsg = psprintf("line %d: unknown escape in the value of \"%s\"", lineno, line);
			return false;
		}
		if (!conf_set(conf, line, eq + 1, &seen_prefetch, errmsg))
		{
			*errmsg = psprintf("line %d: %s", lineno, *errmsg);
			return false;
		}
	}
	for (int i = 0; i < (int) lengthof(conf_strings); i++)
		if (conf_strings[i].required && *CONF_STR(conf, i) == NULL)
		{
			*errmsg = psprintf("key \"%s\" is missing", conf_strings[i].key);
			return false;
		}
	if (!conf_credentials_present(conf, errmsg))
		return false;
	if (!seen_prefetch)
		conf->prefetch = 1;
	if (conf->spool_dir[0] != '/')
	{
		*errmsg = pstrdup("spool_dir must be an absolute path");
		return false;
	}
	return true;
}

bool
cb_walrestore_conf_read(const char *path, CbWalRestoreConf *conf,
						char **errmsg)
{
	char	   *text;

	memset(conf, 0, sizeof(*conf));
	*errmsg = NULL;
	if ((text = read_private_file(path, errmsg)) == NULL)
		return false;
	if (!conf_parse(text, conf, errmsg))
	{
		*errmsg = psprintf("configuration file \"%s\": %s", path, *errmsg);
		memset(conf, 0, sizeof(*conf));
		return false;
	}
	return true;
}

void
cb_walrestore_conf_from_os(CbWalRestoreConf *conf, const CbOsConfig *cfg)
{
	conf->provider = cfg->provider == CB_OS_PROVIDER_AZURE ? "azure" :
		cfg->provider == CB_OS_PROVIDER_GOOGLE ? "google" : NULL;
	conf->destination_path = cfg->destination_path;
	conf->endpoint_url = cfg->endpoint_url;
	conf->endpoint_ca_file = cfg->endpoint_ca_file;
	conf->access_key_id = cfg->access_key_id;
	conf->secret_access_key = cfg->secret_access_key;
	conf->region = cfg->region;
	conf->session_token = cfg->session_token;
	conf->azure_account = cfg->azure_account;
	conf->azure_key = cfg->azure_key;
	conf->azure_sas_token = cfg->azure_sas_token;
	conf->azure_endpoint = cfg->azure_endpoint;
	conf->google_credentials = cfg->google_credentials;
	conf->store_timeout = cfg->stall_timeout_s;
}

void
cb_walrestore_conf_to_os(const CbWalRestoreConf *conf, CbOsConfig *cfg)
{
	cfg->provider = (conf->provider && strcmp(conf->provider, "azure") == 0) ?
		CB_OS_PROVIDER_AZURE :
		(conf->provider && strcmp(conf->provider, "google") == 0) ?
		CB_OS_PROVIDER_GOOGLE : CB_OS_PROVIDER_S3;
	cfg->destination_path = conf->destination_path;
	cfg->endpoint_url = conf->endpoint_url;
	cfg->endpoint_ca_file = conf->endpoint_ca_file;
	cfg->access_key_id = conf->access_key_id;
	cfg->secret_access_key = conf->secret_access_key;
	cfg->region = conf->region;
	cfg->session_token = conf->session_token;
	cfg->azure_account = conf->azure_account;
	cfg->azure_key = conf->azure_key;
	cfg->azure_sas_token = conf->azure_sas_token;
	cfg->azure_endpoint = conf->azure_endpoint;
	cfg->google_credentials = conf->google_credentials;
	cfg->stall_timeout_s = conf->store_timeout;
}
