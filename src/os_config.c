/*-------------------------------------------------------------------------
 *
 * os_config.c
 *	  The object-store client's configuration (objectstore.h, CbOsConfig):
 *	  from a barmanObjectStore stanza and its Secrets to the provider, the
 *	  bucket or container, the prefix and the credentials, with the
 *	  endpoint's CA written to a private file.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azureblob.h"
#include "gcs.h"
#include "objectstore.h"
#include "os_int.h"

/* ---------- configuration ---------- */

#ifndef CB_OS_NO_BACKEND
int			cb_store_timeout = 60;
#endif

bool
cb_os_parse_destination(const char *path, char **bucket, char **prefix,
						CbOsError *err)
{
	const char *p;
	const char *slash;
	size_t		blen;

	os_error_clear(err);
	if (path == NULL || pg_strncasecmp(path, "s3://", 5) != 0)
	{
		os_fail(NULL, err, 0, NULL,
				"With s3Credentials, destinationPath is s3://<bucket>[/<path>].",
				"destinationPath \"%s\" is not an s3:// URL", path ? path : "");
		return false;
	}
	p = path + 5;
	slash = strchr(p, '/');
	blen = slash ? (size_t) (slash - p) : strlen(p);
	if (blen == 0 || blen > 255 || strspn(p, "abcdefghijklmnopqrstuvwxyz"
										  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
										  "0123456789.-_") < blen)
	{
		os_fail(NULL, err, 0, NULL,
				"A bucket name has letters, digits, '.', '-' and '_' only.",
				"destinationPath \"%s\" has no valid bucket name", path);
		return false;
	}
	*bucket = pnstrdup(p, blen);

	/* barman joins the path and the server name with os.path.join */
	*prefix = cb_os_trim_prefix(slash ? slash : "");
	return true;
}

char *
cb_os_trim_prefix(const char *rest)
{
	char	   *pre;
	size_t		plen;

	while (*rest == '/')
		rest++;
	pre = pstrdup(rest);
	plen = strlen(pre);
	while (plen > 0 && pre[plen - 1] == '/')
		pre[--plen] = '\0';
	return pre;
}

/* a Secret key's value, or CloudNativePG's error */
static char *
os_secret_value(CbOsSecretLookup lookup, const CbKeyRef *ref, CbOsError *err)
{
	CbMap		data;

	if (!lookup(ref->name, &data))
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"while getting secret %s: secrets \"%s\" not found",
				ref->name, ref->name);
		return NULL;
	}
	for (int i = 0; i < data.n; i++)
		if (strcmp(data.items[i].key, ref->key) == 0)
			return pnstrdup(data.items[i].value, data.items[i].len);
	os_fail(NULL, err, 0, NULL, NULL, "missing key %s, inside secret %s",
			ref->key, ref->name);
	return NULL;
}

/* whole file, 0600, temp name then rename, so a reader never sees half */
static bool
os_write_private_file(const char *path, const char *content, CbOsError *err)
{
	char	   *tmp = psprintf("%s.tmp", path);
	size_t		len = strlen(content);
	int			fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
	if (fd < 0 ||
		write(fd, content, len) != (ssize_t) len ||
		fsync(fd) != 0 ||
		close(fd) != 0 ||
		rename(tmp, path) != 0)
	{
		os_fail(NULL, err, 0, NULL, NULL, "could not write \"%s\": %m", path);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return false;
	}
	return true;
}

/*
 * The S3 part of cb_os_config_from_store: which Secret key goes where.
 * Optional references (region, sessionToken) may be absent.
 */
static bool
os_config_s3(const CbObjectStore *store, CbOsSecretLookup lookup,
			 CbOsConfig *cfg, CbOsError *err)
{
	const struct
	{
		const CbKeyRef *ref;
		char	  **dest;
		bool		required;
	}			keys[] = {
		{&store->s3_access_key_id, &cfg->access_key_id, true},
		{&store->s3_secret_access_key, &cfg->secret_access_key, true},
		{&store->s3_region, &cfg->region, false},
		{&store->s3_session_token, &cfg->session_token, false},
	};

	if (store->s3_inherit_from_iam_role)
	{
		os_fail(NULL, err, 0, NULL,
				"Give accessKeyId and secretAccessKey from a Secret: a host has no pod identity to inherit.",
				"s3Credentials.inheritFromIAMRole not supported yet");
		return false;
	}
	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		if (!keys[i].ref->present)
		{
			if (!keys[i].required)
				continue;
			os_fail(NULL, err, 0, NULL, NULL,
					"ObjectStoreConfiguration invalid: s3Credentials needs accessKeyId and secretAccessKey");
			return false;
		}
		if ((*keys[i].dest = os_secret_value(lookup, keys[i].ref, err)) == NULL)
			return false;
	}
	return true;
}

/*
 * The Azure part: barman-cloud takes a connection string first, then a SAS
 * token, then the key (AzureCloudInterface._reinit_session); the account
 * it signs with is the destinationPath's, or the connection string's.
 */
static bool
os_config_azure(const CbObjectStore *store, CbOsSecretLookup lookup,
				CbOsConfig *cfg, CbOsError *err)
{
	const struct
	{
		const CbKeyRef *ref;
		char	  **dest;
	}			keys[] = {
		{&store->azure_storage_account, &cfg->azure_account},
		{&store->azure_storage_key, &cfg->azure_key},
		{&store->azure_storage_sas_token, &cfg->azure_sas_token},
	};

	if (store->azure_inherit_from_azure_ad || store->azure_use_default_credentials)
	{
		os_fail(NULL, err, 0, NULL,
				"Give storageKey or storageSasToken (or a connectionString) from a Secret: a host has no Azure identity to use.",
				"azureCredentials.%s not supported yet",
				store->azure_inherit_from_azure_ad ? "inheritFromAzureAD" :
				"useDefaultAzureCredentials");
		return false;
	}
	if (store->azure_connection_string.present)
	{
		char	   *cs = os_secret_value(lookup, &store->azure_connection_string, err);
		CbAzConnection conn;
		char	   *errmsg;

		if (cs == NULL)
			return false;
		if (!cb_az_parse_connection_string(cs, &conn, &errmsg))
		{
			os_fail(NULL, err, 0, NULL, NULL, "azureCredentials connectionString: %s", errmsg);
			return false;
		}
		explicit_bzero(cs, strlen(cs));
		cfg->azure_account = conn.account;
		cfg->azure_key = conn.key;
		cfg->azure_sas_token = conn.sas_token;
		cfg->azure_endpoint = conn.endpoint;
		return true;
	}
	for (int i = 0; i < (int) lengthof(keys); i++)
		if (keys[i].ref->present &&
			(*keys[i].dest = os_secret_value(lookup, keys[i].ref, err)) == NULL)
			return false;
	if (cfg->azure_key == NULL && cfg->azure_sas_token == NULL)
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"ObjectStoreConfiguration invalid: azureCredentials needs storageKey or storageSasToken, or a connectionString");
		return false;
	}
	return true;
}

/*
 * The Google part (gcs.c): a service-account JSON key from the Secret;
 * endpointURL, when given, is where the XML API is (an emulator).
 */
static bool
os_config_google(const CbObjectStore *store, CbOsSecretLookup lookup,
				 CbOsConfig *cfg, CbOsError *err)
{
	char	   *errmsg;
	char	   *hint;
	char	   *bucket;
	char	   *prefix;
	CbGcsKey	key;

	cfg->provider = CB_OS_PROVIDER_GOOGLE;
	if (!cb_gcs_check_credentials(store->google_gke_environment,
								  store->google_application_credentials.present,
								  &errmsg, &hint) ||
		!cb_gcs_parse_destination(store->destination_path, &bucket, &prefix,
								  &errmsg, &hint))
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	if ((cfg->google_credentials = os_secret_value(lookup, &store->google_application_credentials,
												   err)) == NULL)
		return false;
	if (!cb_gcs_parse_key(cfg->google_credentials, &key, &errmsg, &hint))
	{
		os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
		return false;
	}
	if (store->endpoint_url && store->endpoint_url[0])
		cfg->endpoint_url = pstrdup(store->endpoint_url);
	return true;
}

/* destinationPath and credentials of the provider the stanza names */
static bool
os_config_provider(const CbObjectStore *store, CbOsSecretLookup lookup,
				   CbOsConfig *cfg, CbOsError *err)
{
	char	   *bucket;
	char	   *prefix;
	CbAzDestination dest;
	char	   *errmsg;
	char	   *hint;

	cfg->destination_path = pstrdup(store->destination_path);
	if (store->has_google)
		return os_config_google(store, lookup, cfg, err);
	if (store->has_azure)
	{
		/* barman-cloud does not use endpointURL for Azure: neither do we */
		cfg->provider = CB_OS_PROVIDER_AZURE;
		if (!os_config_azure(store, lookup, cfg, err))
			return false;
		if (!cb_az_parse_destination(store->destination_path, cfg->azure_endpoint,
									 &dest, &errmsg, &hint))
		{
			os_fail(NULL, err, 0, NULL, hint, "%s", errmsg);
			return false;
		}
		return true;
	}
	cfg->provider = CB_OS_PROVIDER_S3;
	if (!cb_os_parse_destination(store->destination_path, &bucket, &prefix, err))
		return false;
	if (store->endpoint_url && store->endpoint_url[0])
		cfg->endpoint_url = pstrdup(store->endpoint_url);
	return os_config_s3(store, lookup, cfg, err);
}

bool
cb_os_config_from_store(const CbObjectStore *store, CbOsSecretLookup lookup,
						const char *ca_file, CbOsConfig *cfg, CbOsError *err)
{
	memset(cfg, 0, sizeof(CbOsConfig));
	os_error_clear(err);
#ifndef CB_OS_NO_BACKEND
	cfg->stall_timeout_s = cb_store_timeout;
#endif
	if (!store->present)
	{
		os_fail(NULL, err, 0, NULL, NULL, "no barmanObjectStore configuration");
		return false;
	}
	if (!store->has_s3 && !store->has_azure && !store->has_google)
	{
		os_fail(NULL, err, 0, NULL, NULL,
				"ObjectStoreConfiguration invalid: no credentials defined");
		return false;
	}
	if (!os_config_provider(store, lookup, cfg, err))
		return false;
	if (store->endpoint_ca.present)
	{
		char	   *pem;

		if (ca_file == NULL)
		{
			os_fail(NULL, err, 0, NULL, NULL, "endpointCA given but no file to write it to");
			return false;
		}
		if ((pem = os_secret_value(lookup, &store->endpoint_ca, err)) == NULL ||
			!os_write_private_file(ca_file, pem, err))
			return false;
		cfg->endpoint_ca_file = pstrdup(ca_file);
	}
	return true;
}
