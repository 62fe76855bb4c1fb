/*-------------------------------------------------------------------------
 *
 * test_azureblob.c
 *	  Standalone tests of the Azure Blob Storage side of the object-store
 *	  client (src/azureblob.c and the Azure paths of src/objectstore.c),
 *	  without a server: objectstore.c built with -DCB_OS_NO_BACKEND, the
 *	  transfer loop waiting with poll().
 *
 *	  test_azureblob selftest
 *		A Shared Key signature computed independently (Python's hmac),
 *		the x-ms-date, destinationPath in barman-cloud's two forms,
 *		connection strings, List Blobs and error documents (with the BOM
 *		Azure sends), configuration from an azureCredentials stanza, no
 *		key or SAS token in any message; then, against a fake server forked
 *		here, a 503 ServerBusy retried and a cut download resumed with
 *		x-ms-range and If-Match, each request signed again.  Ends with
 *		"N passed, N failed".
 *
 *	  test_azureblob rig DEST CMD ARGS...
 *		One operation against a real store (t/007_azure.pl runs them
 *		against azurite).  Credentials from the environment, as barman-cloud
 *		takes them: AZURE_STORAGE_CONNECTION_STRING, else
 *		AZURE_STORAGE_SAS_TOKEN, else AZURE_STORAGE_KEY (with
 *		AZURE_STORAGE_ACCOUNT); CB_MAX_RETRIES sets max_retries.  CMD:
 *		  mkcontainer                 (Shared Key; test setup only)
 *		  put KEY FILE                (Put Blob, Shared Key; setup only)
 *		  list PREFIX DELIMITER|- MAXRESULTS
 *		  get KEY OUTFILE [OFFSET LENGTH]
 *		  head KEY
 *		  getmany OUTDIR KEY...
 *		  catalog SERVER
 *		Output is "name=value" lines; exit status 1 when the store said no.
 *
 * Build from the repository root (t/007_azure.pl does the same):
 *   cc -O2 -g -Wall -DCB_OS_NO_BACKEND -I src -I "$(pg_config --includedir-server)" \
 *      -I "$(pg_config --includedir)" -o /tmp/test_azureblob \
 *      test/unit/test_azureblob.c test/unit/os_testkit.c test/unit/unit_shim.c \
 *      src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c \
 *      src/oswait.c src/hmac_sha256.c src/azureblob.c src/gcs.c src/barman.c \
 *      -L"$(pg_config --pkglibdir)" -lpgcommon \
 *      -lpgport -lcurl -lssl -lcrypto
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "azureblob.h"
#include "barman.h"
#include "objectstore.h"
#include "os_testkit.h"

extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

#define check unit_check
#define check_str unit_check_str

/* azurite's published development key (not a secret) */
#define DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* ---------- self-tests ---------- */

static void
test_shared_key(void)
{
	/* mixed case names and any order: the signer sorts and lowers them */
	CbOsHeader	h[] = {
		{"x-ms-version", "2021-08-06"},
		{"If-Match", "\"0x8D\""},
		{"X-MS-Range", "bytes=100-199"},
		{"x-ms-date", "Fri, 27 Nov 2026 18:53:58 GMT"},
	};
	CbOsHeader	q[] = {
		{"restype", "container"}, {"prefix", "pg/wals/"}, {"comp", "list"},
	};
	CbAzSharedKey req = {"GET", "devstoreaccount1", DEV_KEY,
		"/devstoreaccount1/backups", lengthof(q), q, lengthof(h), h};
	char	   *sts = NULL;
	char	   *errmsg = NULL;
	char	   *auth = cb_az_shared_key_authorization(&req, &sts, &errmsg);

	check_str(sts,
			  "GET\n\n\n\n\n\n\n\n\"0x8D\"\n\n\n\n"
			  "x-ms-date:Fri, 27 Nov 2026 18:53:58 GMT\nx-ms-range:bytes=100-199\n"
			  "x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/backups\n"
			  "comp:list\nprefix:pg/wals/\nrestype:container",
			  "shared key: string to sign");
	/* python3: base64(hmac.new(b64decode(key), sts, sha256).digest()) */
	check_str(auth, "SharedKey devstoreaccount1:Yk2xo0jBRXXzVzxjirDKFbfxjZZdP/ywozlb5FBJ9K0=",
			  "shared key: signature as Python's hmac computes it");
	req.key = "not base64 at all!";
	check(cb_az_shared_key_authorization(&req, NULL, &errmsg) == NULL &&
		  contains(errmsg, "not base64") && !contains(errmsg, "at all"),
		  "shared key: a key that is not base64 is refused without quoting it");
}

static void
test_date(void)
{
	char		d[32];

	cb_az_http_date(0, d);
	check_str(d, "Thu, 01 Jan 1970 00:00:00 GMT", "x-ms-date: the epoch");
	cb_az_http_date(1795805638, d);
	check_str(d, "Fri, 27 Nov 2026 18:53:58 GMT", "x-ms-date: a Friday in November");
}

static void
test_destination(void)
{
	CbAzDestination d;
	char	   *errmsg;
	char	   *hint;

	check(cb_az_parse_destination("https://acct.blob.core.windows.net/backups/some/path/",
								  NULL, &d, &errmsg, &hint) &&
		  !d.emulated && strcmp(d.origin, "https://acct.blob.core.windows.net") == 0 &&
		  strcmp(d.account, "acct") == 0 && strcmp(d.container, "backups") == 0 &&
		  strcmp(d.prefix, "some/path") == 0 && strcmp(d.base_path, "/backups") == 0,
		  "destination: Azure form");
	check(cb_az_parse_destination("http://acct.blob.core.windows.net/c", NULL, &d, &errmsg, &hint) &&
		  strcmp(d.origin, "https://acct.blob.core.windows.net") == 0 && d.prefix[0] == '\0',
		  "destination: Azure is reached over https, as the SDK does");
	check(cb_az_parse_destination("http://127.0.0.1:10000/devstoreaccount1/backups/pg",
								  NULL, &d, &errmsg, &hint) &&
		  d.emulated && strcmp(d.origin, "http://127.0.0.1:10000") == 0 &&
		  strcmp(d.account, "devstoreaccount1") == 0 &&
		  strcmp(d.container, "backups") == 0 && strcmp(d.prefix, "pg") == 0 &&
		  strcmp(d.base_path, "/devstoreaccount1/backups") == 0,
		  "destination: emulator form, account first");
	check(cb_az_parse_destination("http://azurite:10000/devstoreaccount1/backups",
								  "http://127.0.0.1:20000/devstoreaccount1/", &d, &errmsg, &hint) &&
		  strcmp(d.origin, "http://127.0.0.1:20000") == 0 &&
		  strcmp(d.base_path, "/devstoreaccount1/backups") == 0,
		  "destination: a connection string's BlobEndpoint wins, as in barman");
	check(!cb_az_parse_destination("s3://bucket/x", NULL, &d, &errmsg, &hint) &&
		  contains(errmsg, "not an http or https URL") && contains(hint, "blob.core.windows.net"),
		  "destination: s3:// refused with a hint");
	check(!cb_az_parse_destination("https://acct.blob.core.windows.net/", NULL, &d, &errmsg, &hint) &&
		  contains(errmsg, "no valid container"), "destination: no container");
	check(!cb_az_parse_destination("http://127.0.0.1:10000/devstoreaccount1", NULL, &d, &errmsg, &hint) &&
		  contains(errmsg, "no valid container"), "destination: emulator without container");
	check(!cb_az_parse_destination("https://u:p@acct.blob.core.windows.net/c", NULL, &d, &errmsg, &hint),
		  "destination: user:password@ refused");
}

static void
test_connection_string(void)
{
	CbAzConnection c;
	char	   *errmsg;

	check(cb_az_parse_connection_string("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
										"AccountKey=" DEV_KEY ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
										&c, &errmsg) &&
		  strcmp(c.account, "devstoreaccount1") == 0 && strcmp(c.key, DEV_KEY) == 0 &&
		  strcmp(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1") == 0 && c.sas_token == NULL,
		  "connection string: azurite's, '=' inside the key kept");
	check(cb_az_parse_connection_string("UseDevelopmentStorage=true", &c, &errmsg) &&
		  strcmp(c.account, "devstoreaccount1") == 0 &&
		  strcmp(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1") == 0,
		  "connection string: UseDevelopmentStorage=true");
	check(cb_az_parse_connection_string("accountname=acct;accountkey=a2V5;endpointsuffix=core.chinacloudapi.cn",
										&c, &errmsg) &&
		  strcmp(c.endpoint, "https://acct.blob.core.chinacloudapi.cn") == 0,
		  "connection string: case-insensitive names, endpoint from the suffix");
	check(cb_az_parse_connection_string("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2021&sig=abc%3D",
										&c, &errmsg) &&
		  strcmp(c.sas_token, "sv=2021&sig=abc%3D") == 0 && c.key == NULL,
		  "connection string: SAS with BlobEndpoint");
	check(!cb_az_parse_connection_string("AccountName=acct", &c, &errmsg) &&
		  contains(errmsg, "AccountKey or SharedAccessSignature"),
		  "connection string: no key nor SAS");
	check(!cb_az_parse_connection_string("AccountKey=c2VjcmV0Cg==;junk", &c, &errmsg) &&
		  !contains(errmsg, "c2VjcmV0"), "connection string: malformed, key not quoted");
}

static void
test_list_xml(void)
{
	static const char page1[] =
		"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"b\">"
		"<Prefix>pg/</Prefix><MaxResults>3</MaxResults><Delimiter>/</Delimiter><Blobs>"
		"<Blob><Name>pg/a&amp;b</Name><Properties><Creation-Time>x</Creation-Time>"
		"<Last-Modified>Fri, 27 Nov 2026 18:53:58 GMT</Last-Modified><Etag>0x8DC</Etag>"
		"<Content-Length>1234</Content-Length><BlobType>BlockBlob</BlobType></Properties>"
		"<Metadata/></Blob>"
		"<BlobPrefix><Name>pg/base/</Name></BlobPrefix>"
		"<Blob><Name>pg/z</Name><Properties><Content-Length>0</Content-Length></Properties></Blob>"
		"</Blobs><NextMarker>2!48!abc</NextMarker></EnumerationResults>";
	static const char last[] =
		"<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>";
	static const char bad[] =
		"<EnumerationResults><Blobs><Blob><Name>x</Name></Blob></Blobs></EnumerationResults>";
	CbOsListPage p;
	char	   *errmsg;
	char	   *code;
	char	   *msg;

	check(cb_os_parse_azure_list_xml(page1, sizeof(page1) - 1, &p, &errmsg) &&
		  p.nobjects == 2 && p.nprefixes == 1 && p.is_truncated &&
		  strcmp(p.next_token, "2!48!abc") == 0 &&
		  strcmp(p.objects[0].key, "pg/a&b") == 0 && p.objects[0].size == 1234 &&
		  strcmp(p.objects[0].etag, "0x8DC") == 0 &&
		  contains(p.objects[0].last_modified, "2026") &&
		  p.objects[1].size == 0 && strcmp(p.prefixes[0], "pg/base/") == 0,
		  "list xml: blobs, prefixes, NextMarker, a BOM first");
	check(cb_os_parse_azure_list_xml(last, sizeof(last) - 1, &p, &errmsg) &&
		  !p.is_truncated && p.nobjects == 0, "list xml: an empty NextMarker ends it");
	check(!cb_os_parse_azure_list_xml(bad, sizeof(bad) - 1, &p, &errmsg) &&
		  contains(errmsg, "Content-Length"), "list xml: a blob without its size refused");
	check(!cb_os_parse_azure_list_xml("<ListBucketResult/>", 19, &p, &errmsg),
		  "list xml: an S3 document refused");
	check(cb_os_parse_error_xml("\xEF\xBB\xBF<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code>"
								"<Message>Server failed to authenticate the request.\nRequestId:1</Message></Error>",
								145, &code, &msg) &&
		  strcmp(code, "AuthenticationFailed") == 0 && contains(msg, "authenticate"),
		  "error xml: Azure's, after a BOM");
}

/* Secrets for the configuration tests */
static bool
fake_lookup(const char *name, CbMap *data)
{
	static CbKV creds[] = {
		{"ACCOUNT", "devstoreaccount1", 16},
		{"KEY", DEV_KEY, 88},
		{"SAS", "sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=SeCrEtSiG%3D", 73},
		{"CONN", "AccountName=other;AccountKey=" DEV_KEY ";BlobEndpoint=http://127.0.0.1:1/other", 155},
		{"NL", DEV_KEY "\n", 89},
	};

	if (strcmp(name, "az") != 0)
		return false;
	data->n = lengthof(creds);
	data->items = creds;
	return true;
}

static CbKeyRef
ref(const char *key)
{
	CbKeyRef	r = {true, "az", (char *) key};

	return r;
}

static bool
no_secret(const CbOsError *err)
{
	return !contains(err->message, "Eby8vdM0") && !contains(err->message, "SeCrEtSiG") &&
		!contains(err->hint, "Eby8vdM0");
}

static void
test_config(void)
{
	CbObjectStore st;
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *c;

	memset(&st, 0, sizeof(st));
	st.present = true;
	st.has_azure = true;
	st.destination_path = "http://127.0.0.1:10000/devstoreaccount1/backups/pg";
	st.azure_inherit_from_azure_ad = true;
	check(!cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  strcmp(err.message, "azureCredentials.inheritFromAzureAD not supported yet") == 0 && err.hint,
		  "config: inheritFromAzureAD not supported yet, with a hint");
	st.azure_inherit_from_azure_ad = false;
	st.azure_use_default_credentials = true;
	check(!cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  contains(err.message, "useDefaultAzureCredentials not supported yet") && err.hint,
		  "config: useDefaultAzureCredentials not supported yet");
	st.azure_use_default_credentials = false;
	st.azure_storage_account = ref("ACCOUNT");
	check(!cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  contains(err.message, "needs storageKey or storageSasToken"),
		  "config: an account alone is not enough");
	st.azure_storage_key = ref("KEY");
	check(cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  cfg.provider == CB_OS_PROVIDER_AZURE && strcmp(cfg.azure_key, DEV_KEY) == 0 &&
		  strcmp(cfg.azure_account, "devstoreaccount1") == 0 && cfg.azure_endpoint == NULL,
		  "config: storageAccount + storageKey");
	st.azure_storage_key = ref("MISSING");
	check(!cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  strcmp(err.message, "missing key MISSING, inside secret az") == 0,
		  "config: a missing Secret key in CNPG's words");
	st.azure_storage_key.present = false;
	st.azure_storage_sas_token = ref("SAS");
	check(cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  contains(cfg.azure_sas_token, "sig=") && cfg.azure_key == NULL,
		  "config: storageSasToken");
	memset(&st.azure_storage_account, 0, sizeof(CbKeyRef));
	st.azure_storage_sas_token.present = false;
	st.azure_connection_string = ref("CONN");
	check(cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  strcmp(cfg.azure_account, "other") == 0 &&
		  strcmp(cfg.azure_endpoint, "http://127.0.0.1:1/other") == 0,
		  "config: connectionString parsed into account, key, endpoint");
	st.destination_path = "s3://bucket/pg";
	check(!cb_os_config_from_store(&st, fake_lookup, NULL, &cfg, &err) &&
		  contains(err.message, "not an http or https URL") && err.hint,
		  "config: an s3:// destinationPath with azureCredentials");

	/* the client refuses what cannot work, naming no secret */
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = CB_OS_PROVIDER_AZURE;
	cfg.destination_path = "http://127.0.0.1:1/devstoreaccount1/backups";
	cfg.azure_key = DEV_KEY "\n";
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
	check((c = cb_os_client_create(&cfg, &err)) == NULL &&
		  contains(err.message, "storageKey holds a control character") && no_secret(&err),
		  "client: a key ending in a newline is named, not shown");
	cfg.azure_key = "Eby8vdM0 not base64!";
	check((c = cb_os_client_create(&cfg, &err)) == NULL &&
		  contains(err.message, "not base64") && no_secret(&err),
		  "client: a key that is not base64");
	cfg.azure_key = DEV_KEY;
	c = cb_os_client_create(&cfg, &err);
	check(c != NULL && strcmp(cb_os_url(c, "pg/x"),
							  "http://127.0.0.1:1/devstoreaccount1/backups/pg/x") == 0,
		  "client: URLs in messages are the blob's");
	if (c)
	{
		CbOsObject	info;

		/* nothing listens on port 1: a refused connection, not a hang */
		cb_os_client_free(c);
		cfg.max_retries = -1;
		cfg.azure_sas_token = "?sv=1&sig=SeCrEtSiG%3D";
		c = cb_os_client_create(&cfg, &err);
		check(c && cb_os_head(c, "x", &info, &err) == CB_OS_ERROR &&
			  contains(err.message, "Azure HEAD of") && no_secret(&err),
			  "client: a failed request says Azure and shows no SAS");
		cb_os_client_free(c);
	}
}

/* ---------- retries and resume against the fake server (os_testkit.c) ---------- */

#define FAKE_SIZE 100000
static char fake_object[FAKE_SIZE];

/* request n: 503 ServerBusy, then half the blob and a cut, then the rest */
static void
h_busy_cut(int fd, int n, const char *req)
{
	if (n == 0)
	{
		const char *body = "\xEF\xBB\xBF<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code>"
			"<Message>Busy.\nRequestId:1</Message></Error>";

		fake_reply(fd, "503 Service Unavailable", "x-ms-error-code: ServerBusy\r\n",
				   body, strlen(body));
	}
	else if (n == 1)
	{
		char	   *head = psprintf("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n"
									"ETag: \"0x8D1\"\r\n\r\n", FAKE_SIZE);

		fake_send(fd, head, strlen(head));
		fake_send(fd, fake_object, 40000);
	}
	else if (strstr(req, "\r\nx-ms-range: bytes=40000-\r\n") &&
			 strstr(req, "\r\nIf-Match: \"0x8D1\"\r\n"))
		fake_reply(fd, "206 Partial Content",
				   psprintf("Content-Range: bytes 40000-%d/%d\r\nETag: \"0x8D1\"\r\n",
							FAKE_SIZE - 1, FAKE_SIZE),
				   fake_object + 40000, FAKE_SIZE - 40000);
	else
		fake_reply(fd, "400 Bad Request", NULL, "", 0);
}

static void
test_fake_resume(const char *tmpdir)
{
	char	   *log = psprintf("%s/azure-fake.log", tmpdir);
	int			port;
	pid_t		pid;
	CbOsConfig	cfg;
	CbOsClient *c;
	CbOsError	err;
	CbOsStats	st;
	StringInfoData got;
	char	   *reqs;
	int			auths = 0;

	for (int i = 0; i < FAKE_SIZE; i++)
		fake_object[i] = (char) (i * 7 + i / 251);
	pid = fake_start(h_busy_cut, log, &port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = CB_OS_PROVIDER_AZURE;
	cfg.destination_path = psprintf("http://127.0.0.1:%d/devstoreaccount1/backups/pg", port);
	cfg.azure_key = DEV_KEY;
	cfg.retry_base_ms = 20;
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
	c = cb_os_client_create(&cfg, &err);
	initStringInfo(&got);
	check(c && cb_os_get(c, "base/data.tar", 0, -1, collect, &got, NULL, &err) == CB_OS_OK &&
		  got.len == FAKE_SIZE && memcmp(got.data, fake_object, FAKE_SIZE) == 0,
		  "fake: 503 retried, a cut download resumed, every byte once");
	cb_os_get_stats(c, &st);
	check(st.requests == 3 && st.retries == 2, "fake: three requests, two retries");
	cb_os_client_free(c);
	fake_stop(pid);

	reqs = slurp(log);
	for (const char *p = reqs; (p = strstr(p, "\r\nAuthorization: SharedKey devstoreaccount1:")); p++)
		auths++;
	check(auths == 3 && contains(reqs, "GET /devstoreaccount1/backups/pg/base/data.tar HTTP/1.1") &&
		  contains(reqs, "\r\nx-ms-version: " CB_AZ_VERSION "\r\n"),
		  "fake: each attempt signed anew with Shared Key, path-style URL");
}

static int
selftest(void)
{
	test_shared_key();
	test_date();
	test_destination();
	test_connection_string();
	test_list_xml();
	test_config();
	test_fake_resume(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return unit_finish();
}

/* ---------- the real store ---------- */

/* the configuration from the environment, as barman-cloud reads it */
static bool
rig_config(const char *dest, CbOsConfig *cfg)
{
	const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");

	memset(cfg, 0, sizeof(CbOsConfig));
	cfg->provider = CB_OS_PROVIDER_AZURE;
	cfg->destination_path = (char *) dest;
	if (cs)
	{
		CbAzConnection conn;
		char	   *errmsg;

		if (!cb_az_parse_connection_string(cs, &conn, &errmsg))
		{
			printf("status=error\nmessage=%s\n", errmsg);
			return false;
		}
		cfg->azure_account = conn.account;
		cfg->azure_key = conn.key;
		cfg->azure_sas_token = conn.sas_token;
		cfg->azure_endpoint = conn.endpoint;
	}
	else if (getenv("AZURE_STORAGE_SAS_TOKEN"))
		cfg->azure_sas_token = getenv("AZURE_STORAGE_SAS_TOKEN");
	else
		cfg->azure_key = getenv("AZURE_STORAGE_KEY");
	if (!cs)
		cfg->azure_account = getenv("AZURE_STORAGE_ACCOUNT");
	cfg->max_retries = getenv("CB_MAX_RETRIES") ? atoi(getenv("CB_MAX_RETRIES")) : 0;
	cfg->retry_base_ms = 50;
	cfg->wait = cb_os_poll_wait;
	cfg->wait_arg = (void *) &stop_requested;
	return true;
}

/*
 * A PUT signed with Shared Key, with plain libcurl: only to set the store
 * up (the client itself only reads).  body may be NULL (no body).
 */
static int
rig_put(const CbOsConfig *cfg, const char *path, int nparams,
		const CbOsHeader *params, const char *extra, FILE *body, long len)
{
	CbAzDestination d;
	char	   *errmsg;
	char	   *hint;
	char		date[32];
	CbOsHeader	h[5];
	int			n = 0;
	CbAzSharedKey sk;
	struct curl_slist *list = NULL;
	CURL	   *e = curl_easy_init();
	long		status = 0;
	char	   *url;

	if (!cb_az_parse_destination(cfg->destination_path, cfg->azure_endpoint, &d, &errmsg, &hint))
	{
		printf("status=error\nmessage=%s\n", errmsg);
		return 1;
	}
	cb_az_http_date(time(NULL), date);
	h[n++] = (CbOsHeader) {"x-ms-date", date};
	h[n++] = (CbOsHeader) {"x-ms-version", CB_AZ_VERSION};
	h[n++] = (CbOsHeader) {"Content-Length", psprintf("%ld", len)};
	if (extra)
		h[n++] = (CbOsHeader) {"x-ms-blob-type", extra};
	sk = (CbAzSharedKey) {"PUT", cfg->azure_account ? cfg->azure_account : d.account,
		cfg->azure_key, psprintf("%s%s", d.base_path, path), nparams, params, n, h};
	h[n++] = (CbOsHeader) {"Authorization", cb_az_shared_key_authorization(&sk, NULL, &errmsg)};
	for (int i = 0; i < n; i++)
		list = curl_slist_append(list, psprintf("%s: %s", h[i].name, h[i].value));
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, "Content-Type:");
	url = psprintf("%s%s%s%s", d.origin, d.base_path, path,
				   nparams ? "?restype=container" : "");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(e, CURLOPT_READDATA, body);
	curl_easy_setopt(e, CURLOPT_INFILESIZE, len);
	if (body == NULL)
		curl_easy_setopt(e, CURLOPT_READFUNCTION, NULL);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	printf("\nstatus=%s\nhttp=%ld\n", status == 201 ? "ok" : "error", status);
	curl_easy_cleanup(e);
	return status == 201 ? 0 : 1;
}

static int
rig_upload(const CbOsConfig *cfg, const char *key, const char *file)
{
	FILE	   *f = fopen(file, "rb");
	struct stat sb;
	int			rc;
	CbAzDestination d;
	char	   *errmsg;
	char	   *hint;

	if (f == NULL || fstat(fileno(f), &sb) != 0)
	{
		perror(file);
		return 2;
	}
	if (!cb_az_parse_destination(cfg->destination_path, cfg->azure_endpoint, &d, &errmsg, &hint))
		return 2;
	/* keys are relative to the destinationPath, as in the client */
	rc = rig_put(cfg, psprintf("/%s%s%s", d.prefix, d.prefix[0] ? "/" : "",
							   cb_os_uri_encode(key, true)),
				 0, NULL, "BlockBlob", f, (long) sb.st_size);
	fclose(f);
	return rc;
}

static int
rig_get(CbOsClient *c, int argc, char **argv)
{
	FileSink	sink = {NULL, 0};
	CbOsError	err;
	CbOsStatus	s;
	int64		size;
	double		t0 = now_s();

	if (argc != 2 && argc != 4)
		return 2;
	if ((sink.f = fopen(argv[1], "w")) == NULL)
		return 2;
	s = cb_os_get(c, argv[0], argc == 4 ? atoll(argv[2]) : 0,
				  argc == 4 ? atoll(argv[3]) : -1, file_write, &sink, &size, &err);
	fclose(sink.f);
	if (s != CB_OS_OK)
	{
		print_error(status_word(s), &err);
		return 1;
	}
	printf("status=ok\nsize=" INT64_FORMAT "\nbytes=" INT64_FORMAT "\nseconds=%.3f\n",
		   size, sink.bytes, now_s() - t0);
	return 0;
}

static int
rig_getmany(CbOsClient *c, int argc, char **argv)
{
	int			n = argc - 1;
	CbOsGetRequest *reqs;
	FileSink   *sinks;
	bool		ok;

	if (argc < 2)
		return 2;
	reqs = palloc0(sizeof(CbOsGetRequest) * n);
	sinks = palloc0(sizeof(FileSink) * n);
	for (int i = 0; i < n; i++)
	{
		const char *key = argv[i + 1];
		const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

		if ((sinks[i].f = fopen(psprintf("%s/%s", argv[0], base), "w")) == NULL)
			return 2;
		reqs[i].key = key;
		reqs[i].length = -1;
		reqs[i].fn = file_write;
		reqs[i].arg = &sinks[i];
	}
	ok = cb_os_get_many(c, n, reqs);
	for (int i = 0; i < n; i++)
	{
		fclose(sinks[i].f);
		if (reqs[i].status != CB_OS_OK)
			printf("failed=%s %s\n", reqs[i].key, reqs[i].err.message);
	}
	printf("status=%s\nfiles=%d\n", ok ? "ok" : "error", n);
	return ok ? 0 : 1;
}

static int
rig_catalog(CbOsClient *c, int argc, char **argv)
{
	CbBarmanCatalog cat;
	CbOsError	err;
	const CbBarmanBackup *b;
	char	   *errmsg;
	char	   *errdetail;

	if (argc != 1)
		return 2;
	if (cb_barman_load_catalog(c, argv[0], &cat, &err) != CB_OS_OK)
	{
		print_error("error", &err);
		return 1;
	}
	printf("status=ok\nbackups=%d\n", cat.nbackups);
	for (int i = 0; i < cat.nbackups; i++)
		printf("backup=%s|%d|%s|%s\n", cat.backups[i].backup_id,
			   cb_barman_backup_usable(&cat.backups[i]),
			   cat.backups[i].begin_wal ? cat.backups[i].begin_wal : "",
			   cat.backups[i].end_wal ? cat.backups[i].end_wal : "");
	if ((b = cb_barman_choose(&cat, NULL, &errmsg, &errdetail)) != NULL)
		printf("chosen=%s\n", b->backup_id);
	return 0;
}

static int
rig(int argc, char **argv)
{
	static const struct
	{
		const char *name;
		int			(*fn) (CbOsClient *c, int argc, char **argv);
	}			cmds[] = {
		{"list", rig_list}, {"get", rig_get}, {"head", rig_head},
		{"getmany", rig_getmany}, {"catalog", rig_catalog},
	};
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *c;
	double		t0 = now_s();

	if (argc < 2)
		return 2;
	if (!rig_config(argv[0], &cfg))
		return 1;
	if (strcmp(argv[1], "mkcontainer") == 0)
	{
		CbOsHeader	p[] = {{"restype", "container"}};

		return rig_put(&cfg, "", 1, p, NULL, NULL, 0);
	}
	if (strcmp(argv[1], "put") == 0)
		return argc == 4 ? rig_upload(&cfg, argv[2], argv[3]) : 2;
	signal(SIGTERM, stop_handler);
	signal(SIGINT, stop_handler);
	if ((c = cb_os_client_create(&cfg, &err)) == NULL)
	{
		print_error("error", &err);
		return 1;
	}
	for (int i = 0; i < (int) lengthof(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
		{
			int			rc = cmds[i].fn(c, argc - 2, argv + 2);
			CbOsStats	st;

			cb_os_get_stats(c, &st);
			printf("requests=" INT64_FORMAT "\nretries=" INT64_FORMAT "\nelapsed=%.3f\n",
				   st.requests, st.retries, now_s() - t0);
			cb_os_client_free(c);
			return rc;
		}
	return 2;
}

int
main(int argc, char **argv)
{
	int			rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "selftest") == 0)
		rc = selftest();
	else if (argc >= 2 && strcmp(argv[1], "rig") == 0)
		rc = rig(argc - 2, argv + 2);
	if (rc == 2)
		fprintf(stderr, "usage: %s selftest | rig DEST CMD ARGS... (see the file header)\n", argv[0]);
	return rc;
}
