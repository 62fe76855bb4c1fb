/*-------------------------------------------------------------------------
 *
 * test_objectstore.c
 *	  Standalone tests of src/objectstore.c, src/barman.c and
 *	  src/walrestore_conf.c, without a server: the transfer loop waits with poll() instead of the latch
 *	  (objectstore.c built with -DCB_OS_NO_BACKEND).
 *
 *	  test_objectstore selftest
 *		AWS's published Signature V4 examples, URI and query encoding, the
 *		XML reader (good and malformed documents), destinationPath and
 *		credentials, backup.info and Python literals, times and LSNs, WAL
 *		and base tar names, CloudNativePG's backup choice on a made-up
 *		catalog; then transfers against a fake HTTP server forked here:
 *		retries on 503, none on 403, resume after a cut connection (Range
 *		plus If-Match), a store that ignores Range, a stalled answer, a
 *		refused connection, listing pages with continuation tokens, ranged
 *		GET, HEAD, parallel GETs, a cancel that stops a transfer at once,
 *		and no credential in any message.  Ends with "N passed, N failed".
 *
 *	  test_objectstore rig DEST CMD ARGS...
 *		One operation against a real store (t/005_objectstore.pl runs them
 *		against the s3rver rig).  Credentials and endpoint from the
 *		environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *		AWS_DEFAULT_REGION, AWS_SESSION_TOKEN, S3_ENDPOINT.  CMD is one of
 *		  list PREFIX DELIMITER|- MAXKEYS
 *		  get KEY OUTFILE [OFFSET LENGTH]
 *		  head KEY
 *		  getmany OUTDIR KEY...
 *		  catalog SERVER [backupID=X] [targetTime=X] [targetLSN=X] [targetTLI=X]
 *		  basefiles SERVER BACKUPID
 *		  walobjects SERVER
 *		Output is "name=value" lines (catalog: backup=ID|usable|status|
 *		timeline|begin_time|end_time|begin_wal|end_wal|begin_xlog|end_xlog|
 *		systemid|backup_label lines); exit status 1 when the store said no.
 *
 * Build from the repository root (t/005_objectstore.pl does the same):
 *   cc -O2 -g -Wall -DCB_OS_NO_BACKEND -I src -I "$(pg_config --includedir-server)" \
 *      -I "$(pg_config --includedir)" -o /tmp/test_objectstore \
 *      test/unit/test_objectstore.c test/unit/os_testkit.c test/unit/unit_shim.c \
 *      src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c \
 *      src/oswait.c src/hmac_sha256.c src/azureblob.c src/gcs.c src/barman.c \
 *      src/walrestore_conf.c \
 *      -L"$(pg_config --pkglibdir)" -lpgcommon -lpgport -lcurl -lssl -lcrypto
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "barman.h"
#include "objectstore.h"
#include "os_testkit.h"
#include "walrestore_conf.h"

/* test reporting, in unit_shim.c */
extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

#define check unit_check
#define check_str unit_check_str

/* ---------- pure parts ---------- */

static void
test_sigv4(void)
{
	static const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	static const char *empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	CbOsHeader	h[4] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Range", "bytes=0-9"},
		{"x-amz-content-sha256", empty_hash},
		{"x-amz-date", "20130524T000000Z"},
	};
	CbOsHeader	q[2] = {{"prefix", "J"}, {"max-keys", "2"}};
	CbOsHeader	lifecycle = {"lifecycle", NULL};
	CbOsSigV4	s;
	char	   *creq;
	char	   *sts;
	char	   *auth;

	memset(&s, 0, sizeof(s));
	s.method = "GET";
	s.canonical_uri = "/test.txt";
	s.canonical_query = "";
	s.nheaders = 4;
	s.headers = h;
	s.payload_hash = empty_hash;
	s.amz_date = "20130524T000000Z";
	s.region = "us-east-1";
	s.service = "s3";
	s.access_key_id = "AKIAIOSFODNN7EXAMPLE";
	s.secret_access_key = secret;
	auth = cb_os_sigv4_authorization(&s, &creq, &sts);
	check_str(creq, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
			  "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
			  "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
			  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			  "sigv4: AWS GetObject example, canonical request");
	check_str(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
			  "sigv4: AWS GetObject example, string to sign");
	check_str(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
			  "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
			  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			  "sigv4: AWS GetObject example, Authorization");
	check(!contains(auth, secret) && !contains(creq, secret) && !contains(sts, secret),
		  "sigv4: no secret in the texts");

	/* ListObjects: unsorted parameters must be sorted */
	h[1] = h[2];
	h[2] = h[3];
	s.nheaders = 3;
	s.canonical_uri = "/";
	s.canonical_query = cb_os_canonical_query(2, q);
	check_str(s.canonical_query, "max-keys=2&prefix=J", "sigv4: query sorted");
	auth = cb_os_sigv4_authorization(&s, NULL, NULL);
	check(contains(auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
		  "sigv4: AWS ListObjects example");

	/* GET ?lifecycle: a parameter without value is written "lifecycle=" */
	s.canonical_query = cb_os_canonical_query(1, &lifecycle);
	check_str(s.canonical_query, "lifecycle=", "sigv4: empty value");
	auth = cb_os_sigv4_authorization(&s, NULL, NULL);
	check(contains(auth, "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
		  "sigv4: AWS GetBucketLifecycle example");

	/* header values: trimmed, inner spaces collapsed; names lower case */
	h[0] = (CbOsHeader) {"X-Amz-Meta-A", "  a   b  c "};
	s.nheaders = 1;
	cb_os_sigv4_authorization(&s, &creq, NULL);
	check(contains(creq, "\nx-amz-meta-a:a b c\n"), "sigv4: header value trimmed");
}

static void
test_encoding(void)
{
	CbOsHeader	q[4] = {
		{"prefix", "pg/base/"}, {"list-type", "2"},
		{"continuation-token", "1ab+c/d=="}, {"delimiter", "/"},
	};

	check_str(cb_os_uri_encode("pg/wals/00000001.history", true),
			  "pg/wals/00000001.history", "encode: plain key kept");
	check_str(cb_os_uri_encode("a b+c/d~e_f.g-h%", true), "a%20b%2Bc/d~e_f.g-h%25",
			  "encode: reserved characters of a key");
	check_str(cb_os_uri_encode("a/b", false), "a%2Fb", "encode: '/' in a query value");
	check_str(cb_os_uri_encode("\xc3\xa9", true), "%C3%A9", "encode: UTF-8 bytes, upper-case hex");
	check_str(cb_os_canonical_query(4, q),
			  "continuation-token=1ab%2Bc%2Fd%3D%3D&delimiter=%2F&list-type=2&prefix=pg%2Fbase%2F",
			  "encode: canonical query of a listing page");
}

static void
test_xml(void)
{
	const char *doc =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>backups</Name><Prefix>pg/</Prefix><KeyCount>3</KeyCount>"
		"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>pg/a&amp;b</Key><LastModified>2026-11-27T17:08:19.000Z</LastModified>"
		"<ETag>&quot;abc&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key><![CDATA[pg/<raw>&]]></Key><Size>0</Size></Contents>"
		"<!-- a comment --><CommonPrefixes><Prefix>pg/base/&#x41;&#66;/</Prefix></CommonPrefixes>"
		"<NextContinuationToken>tok+/=</NextContinuationToken><Empty/></ListBucketResult>\n";
	const char *bad[] = {
		"<ListBucketResult><Contents><Key>x</Key></ListBucketResult>",
		"<ListBucketResult><Contents><Key>x</Key><Size>1</Size></Contents>",
		"<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult/>",
		"<ListBucketResult><Contents><Key>&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
		"text<ListBucketResult/>",
		"<ListBucketResult/><ListBucketResult/>",
		"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"",
	};
	CbOsListPage page;
	char	   *errmsg = NULL;
	char	   *code = NULL;
	char	   *message = NULL;

	check(cb_os_parse_list_xml(doc, strlen(doc), &page, &errmsg), "xml: ListBucketResult parsed");
	check(page.nobjects == 2 && page.nprefixes == 1 && page.is_truncated,
		  "xml: two objects, one prefix, truncated");
	if (page.nobjects == 2 && page.nprefixes == 1)
	{
		check_str(page.objects[0].key, "pg/a&b", "xml: entity in a key");
		check(page.objects[0].size == 1234, "xml: size");
		check_str(page.objects[0].etag, "\"abc\"", "xml: ETag with its quotes");
		check_str(page.objects[1].key, "pg/<raw>&", "xml: CDATA taken as is");
		check_str(page.prefixes[0], "pg/base/AB/", "xml: character references");
		check_str(page.next_token, "tok+/=", "xml: continuation token");
	}
	for (int i = 0; i < (int) lengthof(bad); i++)
	{
		errmsg = NULL;
		check(!cb_os_parse_list_xml(bad[i], strlen(bad[i]), &page, &errmsg) && errmsg,
			  psprintf("xml: refused: %.40s", bad[i]));
	}
	doc = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
		"<Message>The request signature we calculated does not match</Message>"
		"<StringToSign>x</StringToSign></Error>";
	check(cb_os_parse_error_xml(doc, strlen(doc), &code, &message) &&
		  strcmp(code, "SignatureDoesNotMatch") == 0 &&
		  strcmp(message, "The request signature we calculated does not match") == 0,
		  "xml: Error document");
	check(!cb_os_parse_error_xml("<html>oops</html>", 17, &code, &message),
		  "xml: not an Error document");
}

/* Secrets for the configuration tests */
static bool
fake_lookup(const char *name, CbMap *data)
{
	static CbKV creds[] = {
		{"ACCESS_KEY_ID", "AKIDTEST", 8},
		{"ACCESS_SECRET_KEY", "s3cr3t/Key+", 11},
		{"REGION", "eu-west-3", 9},
		{"SESSION_TOKEN", "tok3n", 5},
	};
	static CbKV ca[] = {{"ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 59}};

	if (strcmp(name, "aws-creds") == 0)
	{
		data->n = lengthof(creds);
		data->items = creds;
		return true;
	}
	if (strcmp(name, "store-ca") == 0)
	{
		data->n = 1;
		data->items = ca;
		return true;
	}
	return false;
}

static CbKeyRef
ref(const char *name, const char *key)
{
	CbKeyRef	r = {true, (char *) name, (char *) key};

	return r;
}

static void
test_config(const char *tmpdir)
{
	CbObjectStore st;
	CbOsConfig	cfg;
	CbOsError	err;
	char	   *bucket;
	char	   *prefix;
	char	   *ca = psprintf("%s/ca.crt", tmpdir);
	struct stat sb;
	CbOsClient *c;

	check(cb_os_parse_destination("s3://backups/some/path/", &bucket, &prefix, &err) &&
		  strcmp(bucket, "backups") == 0 && strcmp(prefix, "some/path") == 0,
		  "destination: bucket and prefix");
	check(cb_os_parse_destination("s3://backups", &bucket, &prefix, &err) &&
		  strcmp(prefix, "") == 0, "destination: bucket alone");
	check(!cb_os_parse_destination("gs://backups/x", &bucket, &prefix, &err) &&
		  contains(err.message, "not an s3:// URL"), "destination: gs:// refused");
	check(!cb_os_parse_destination("s3:///x", &bucket, &prefix, &err) &&
		  contains(err.message, "no valid bucket"), "destination: empty bucket refused");
	check(!cb_os_parse_destination("s3://a@b/x", &bucket, &prefix, &err),
		  "destination: odd bucket refused");

	memset(&st, 0, sizeof(st));
	st.present = true;
	st.destination_path = "s3://backups/pg";
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  strcmp(err.message, "ObjectStoreConfiguration invalid: no credentials defined") == 0,
		  "config: no credentials (CNPG's text)");
	st.has_azure = true;
	st.azure_inherit_from_azure_ad = true;
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  strcmp(err.message, "azureCredentials.inheritFromAzureAD not supported yet") == 0 && err.hint,
		  "config: Azure AD identity not supported yet, with a hint (test_azureblob.c tests Azure)");
	st.azure_inherit_from_azure_ad = false;
	st.has_azure = false;
	st.has_google = true;
	st.google_gke_environment = true;
	st.destination_path = "gs://backups/pg";
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  strcmp(err.message, "googleCredentials.gkeEnvironment not supported yet") == 0 &&
		  contains(err.hint, "service-account JSON key"),
		  "config: gkeEnvironment (workload identity) not supported yet, with a hint (t/015 tests Google)");
	st.google_gke_environment = false;
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  contains(err.message, "if gkeEnvironment is false, secret with credentials must be provided"),
		  "config: googleCredentials without a key (CNPG's text)");
	st.has_google = false;
	st.destination_path = "s3://backups/pg";
	st.has_s3 = true;
	st.s3_inherit_from_iam_role = true;
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  contains(err.message, "inheritFromIAMRole not supported yet"),
		  "config: inheritFromIAMRole refused");
	st.s3_inherit_from_iam_role = false;
	st.s3_access_key_id = ref("aws-creds", "ACCESS_KEY_ID");
	st.s3_secret_access_key = ref("aws-creds", "NOPE");
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  strcmp(err.message, "missing key NOPE, inside secret aws-creds") == 0,
		  "config: missing key (CNPG's text)");
	st.s3_secret_access_key = ref("gone", "x");
	check(!cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  contains(err.message, "secrets \"gone\" not found"), "config: missing Secret");
	st.s3_secret_access_key = ref("aws-creds", "ACCESS_SECRET_KEY");
	st.s3_region = ref("aws-creds", "REGION");
	st.s3_session_token = ref("aws-creds", "SESSION_TOKEN");
	st.endpoint_url = "https://minio.example:9000/";
	st.endpoint_ca = ref("store-ca", "ca.crt");
	check(cb_os_config_from_store(&st, fake_lookup, ca, &cfg, &err) &&
		  strcmp(cfg.access_key_id, "AKIDTEST") == 0 &&
		  strcmp(cfg.secret_access_key, "s3cr3t/Key+") == 0 &&
		  strcmp(cfg.region, "eu-west-3") == 0 && strcmp(cfg.session_token, "tok3n") == 0 &&
		  strcmp(cfg.endpoint_ca_file, ca) == 0,
		  "config: every s3Credentials key resolved");
	check(stat(ca, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 59,
		  "config: endpointCA written 0600");

	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
	cfg.endpoint_url = "ftp://x";
	check(cb_os_client_create(&cfg, &err) == NULL && contains(err.message, "not an http or https URL"),
		  "client: ftp endpoint refused");
	cfg.endpoint_url = "http://user:pass@host:9000";
	check(cb_os_client_create(&cfg, &err) == NULL && !contains(err.message, "pass"),
		  "client: user:password@ in endpointURL refused without echoing it");
	cfg.endpoint_url = NULL;
	cfg.session_token = "tok3n\n";
	check(cb_os_client_create(&cfg, &err) == NULL &&
		  strcmp(err.message, "s3Credentials sessionToken holds a control character") == 0 &&
		  contains(err.hint, "newline"),
		  "client: a trailing newline in a credential is named, not sent");
	cfg.session_token = "tok3n";
	c = cb_os_client_create(&cfg, &err);
	check(c != NULL && strcmp(cb_os_url(c, "x/y"), "s3://backups/pg/x/y") == 0,
		  "client: AWS endpoint, URLs for messages");
	cb_os_client_free(c);
}

/* backup.info as barman-cloud 3.4 writes it (plus a tablespace) */
static const char *sample_info =
"backup_label='START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\\nCHECKPOINT LOCATION: 0/3000060\\nLABEL: it\\'s \\x41\\u00e9\\n'\n"
"begin_offset=40\n"
"begin_time=2026-11-27 17:08:19.424124+00:00\n"
"begin_wal=000000010000000000000003\n"
"begin_xlog=0/3000028\n"
"compression=None\n"
"copy_stats={'total_time': 18.451113, 'number_of_workers': 2}\n"
"end_time=2026-11-27 17:08:31.998127+00:00\n"
"end_wal=000000010000000000000003\n"
"end_xlog=0/3000138\n"
"error=None\n"
"# a comment\n"
"\n"
"status=DONE\n"
"systemid=7712899217089993304\n"
"tablespaces=[('tbs1', 16385, '/tmp/t b1'), (\"o'k\", 16386, '/x')]\n"
"timeline=1\n"
"version=150018\n"
"xlog_segment_size=16777216\n";

/* ---------- cnpg_bootstrap_wal_restore's configuration file ---------- */

static void
write_raw(const char *path, const char *text)
{
	int			fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
		perror(path);
	close(fd);
}

static void
test_walrestore_conf(const char *tmpdir)
{
	static const char *bad[] = {
		"prefetch=0\n", "prefetch=-3\n", "prefetch=2x\n", "bogus=1\n",
		"standby=maybe\n", "region=a\\q\n", "no equals sign\n",
		"region=a\nregion=b\n", "spool_dir=relative\n", "store_timeout=0\n",
		"store_timeout=3601\n",
	};
	char	   *path = psprintf("%s/walrestore.conf", tmpdir);
	const char *secret = "se\\cr=et\nline2 #x\r";
	CbWalRestoreConf w;
	CbWalRestoreConf r;
	char	   *errmsg = NULL;
	struct stat sb;

	memset(&w, 0, sizeof(w));
	w.destination_path = "s3://bkt/some prefix";
	w.endpoint_url = "http://127.0.0.1:9000";
	w.access_key_id = "AKID";
	w.secret_access_key = (char *) secret;
	w.server_name = "pg";
	w.spool_dir = "/tmp/spool dir";
	w.prefetch = 8;
	w.standby = true;
	w.store_timeout = 3;
	check(cb_walrestore_conf_write(path, &w, &errmsg), "walrestore conf: written");
	check(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "walrestore conf: mode 0600");
	check(cb_walrestore_conf_read(path, &r, &errmsg) &&
		  strcmp(r.secret_access_key, secret) == 0 &&
		  strcmp(r.destination_path, w.destination_path) == 0 &&
		  strcmp(r.spool_dir, w.spool_dir) == 0 && r.endpoint_ca_file == NULL &&
		  r.region == NULL && r.session_token == NULL && r.prefetch == 8 && r.standby &&
		  r.store_timeout == 3,
		  "walrestore conf: read back, escapes undone, NULLs left out");
	chmod(path, 0640);
	check(!cb_walrestore_conf_read(path, &r, &errmsg) && contains(errmsg, "mode 0640"),
		  "walrestore conf: group-readable file refused");
	for (int i = 0; i < (int) lengthof(bad); i++)
	{
		bool		refused;

		write_raw(path, psprintf("destination_path=s3://b\naccess_key_id=k\n"
								 "secret_access_key=Zecret\nserver_name=pg\n%s%s",
								 strncmp(bad[i], "spool_dir", 9) ? "spool_dir=/s\n" : "",
								 bad[i]));
		refused = !cb_walrestore_conf_read(path, &r, &errmsg) && errmsg &&
			!contains(errmsg, "Zecret");
		check(refused, psprintf("walrestore conf: bad file %d refused: %s",
								i, refused ? strstr(errmsg, "\": ") + 3 : "(read)"));
	}
	write_raw(path, "destination_path=s3://b\naccess_key_id=k\nsecret_access_key=s\n"
			  "server_name=pg\nspool_dir=/s\nprefetch=1000\n");
	check(cb_walrestore_conf_read(path, &r, &errmsg) &&
		  r.prefetch == CB_WALRESTORE_MAX_PREFETCH && !r.standby && r.store_timeout == 0,
		  "walrestore conf: prefetch capped, standby off and store_timeout unset by default");
	write_raw(path, "destination_path=s3://b\naccess_key_id=k\nserver_name=pg\nspool_dir=/s\n");
	check(!cb_walrestore_conf_read(path, &r, &errmsg) &&
		  contains(errmsg, "\"secret_access_key\" is missing"),
		  "walrestore conf: a missing secret key is named");
	unlink(path);
}

static void
test_backup_info(void)
{
	CbBarmanBackup b;
	char	   *errmsg = NULL;

	memset(&b, 0, sizeof(b));
	check(cb_barman_parse_info(sample_info, strlen(sample_info), &b, &errmsg),
		  "backup.info: parsed");
	check_str(b.status, "DONE", "backup.info: status");
	check(b.timeline == 1 && b.version == 150018 && b.xlog_segment_size == 16777216,
		  "backup.info: integers");
	check_str(b.begin_wal, "000000010000000000000003", "backup.info: begin_wal");
	check_str(b.end_xlog, "0/3000138", "backup.info: end_xlog");
	check(b.has_begin_time && b.has_end_time, "backup.info: times");
	check_str(cb_barman_format_time(b.end_time), "2026-11-27 17:08:31.998127+00:00",
			  "backup.info: end_time to the microsecond");
	check(cb_barman_info_get(&b, "compression") == NULL &&
		  cb_barman_info_get(&b, "error") == NULL, "backup.info: None");
	check_str(cb_barman_info_get(&b, "copy_stats"),
			  "{'total_time': 18.451113, 'number_of_workers': 2}", "backup.info: other keys kept");
	check_str(b.backup_label,
			  "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\n"
			  "CHECKPOINT LOCATION: 0/3000060\nLABEL: it's A\xc3\xa9\n",
			  "backup.info: backup_label decoded from its repr");
	check(b.ntablespaces == 2 && b.tablespaces[0].oid == 16385 &&
		  strcmp(b.tablespaces[0].location, "/tmp/t b1") == 0 &&
		  strcmp(b.tablespaces[1].name, "o'k") == 0, "backup.info: tablespaces");
	check(cb_barman_backup_usable(&b), "backup.info: usable");

	memset(&b, 0, sizeof(b));
	check(!cb_barman_parse_info("status=DONE\nthis line\n", 23, &b, &errmsg) &&
		  contains(errmsg, "invalid line"), "backup.info: a line without '=' refused");
	memset(&b, 0, sizeof(b));
	check(!cb_barman_parse_info("timeline=one\n", 13, &b, &errmsg) &&
		  contains(errmsg, "timeline"), "backup.info: a bad integer named");
	memset(&b, 0, sizeof(b));
	check(!cb_barman_parse_info("end_time=yesterday\n", 19, &b, &errmsg) &&
		  contains(errmsg, "end_time"), "backup.info: a bad time named");
	memset(&b, 0, sizeof(b));
	check(cb_barman_parse_info("begin_time=2026-01-01 00:00:00+00:00\nend_time=None\nstatus=FAILED\n",
							   65, &b, &errmsg) && !cb_barman_backup_usable(&b),
		  "backup.info: no end_time, not usable");
	check(cb_barman_py_string("\"a'b\\\\c\"", &errmsg) &&
		  strcmp(cb_barman_py_string("\"a'b\\\\c\"", &errmsg), "a'b\\c") == 0,
		  "python: double-quoted literal");
	check(cb_barman_py_string("'abc", &errmsg) == NULL, "python: unterminated literal");
	check(cb_barman_py_string("'a' + 'b'", &errmsg) == NULL, "python: only one literal");
}

static void
test_times(void)
{
	static const struct
	{
		const char *in;
		const char *utc;		/* NULL: refused */
	}			cases[] = {
		{"2026-11-27 17:08:19.424124+00:00", "2026-11-27 17:08:19.424124+00:00"},
		{"2026-11-27", "2026-11-27 00:00:00.000000+00:00"},
		{"2026-11-27 17:08:19", "2026-11-27 17:08:19.000000+00:00"},
		{"2026-11-27 17:08:19+02", "2026-11-27 15:08:19.000000+00:00"},
		{"2026-11-27 17:08:19.5-03:30", "2026-11-27 20:38:19.500000+00:00"},
		{"2026-11-27 17:08:19+01:00:30", "2026-11-27 16:07:49.000000+00:00"},
		{"2026-11-27 17:08:19Z", "2026-11-27 17:08:19.000000+00:00"},
		{"2026-11-27T17:08:19Z", "2026-11-27 17:08:19.000000+00:00"},
		{"2026-11-27T17:08:19.123456789+01:00", "2026-11-27 16:08:19.123456+00:00"},
		{"2026-11-27T17:08:19", "2026-11-27 17:08:19.000000+00:00"},
		{"2026-01-01T00:30:00+01:00", "2025-12-31 23:30:00.000000+00:00"},
		{"2024-02-29 12:00:00", "2024-02-29 12:00:00.000000+00:00"},
		{"1969-12-31 23:59:59.5", "1969-12-31 23:59:59.500000+00:00"},
		{"2026-11-27T17:08:19+0100", NULL},
		{"2026-13-01", NULL},
		{"2026-02-29", NULL},
		{"2026-11-27 17:08", NULL},
		{"2026-11-27 24:00:00", NULL},
		{"yesterday", NULL},
		{"", NULL},
	};
	uint64		lsn;

	for (int i = 0; i < (int) lengthof(cases); i++)
	{
		int64		us;
		char	   *errmsg = NULL;
		bool		ok = cb_barman_parse_time(cases[i].in, &us, &errmsg);

		if (cases[i].utc)
			check(ok && strcmp(cb_barman_format_time(us), cases[i].utc) == 0,
				  psprintf("time: \"%s\" is %s", cases[i].in, cases[i].utc));
		else
			check(!ok && contains(errmsg, cases[i].in), psprintf("time: \"%s\" refused", cases[i].in));
	}
	check(cb_barman_parse_lsn("0/3000138", &lsn) && lsn == 0x3000138, "lsn: 0/3000138");
	check(cb_barman_parse_lsn("A/ffffffff", &lsn) && lsn == ((uint64) 0xA << 32 | 0xffffffff),
		  "lsn: high part, lower case");
	check(!cb_barman_parse_lsn("0/100000000", &lsn) && !cb_barman_parse_lsn("0/", &lsn) &&
		  !cb_barman_parse_lsn("3000138", &lsn) && !cb_barman_parse_lsn("0/x", &lsn),
		  "lsn: malformed refused");
}

static void
test_names(void)
{
	CbBarmanBaseFile f;
	char	   *name;
	CbCompression comp;

	check(cb_barman_wal_kind("000000010000000000000003") == CB_WAL_SEGMENT &&
		  cb_barman_wal_kind("000000010000000000000003.00000028.backup") == CB_WAL_BACKUP &&
		  cb_barman_wal_kind("000000010000000000000003.partial") == CB_WAL_PARTIAL &&
		  cb_barman_wal_kind("00000002.history") == CB_WAL_HISTORY,
		  "wal: kinds");
	check(cb_barman_wal_kind("00000002.historyx") == CB_WAL_NONE &&
		  cb_barman_wal_kind("0000000100000000000000") == CB_WAL_NONE &&
		  cb_barman_wal_kind("backup.info") == CB_WAL_NONE &&
		  cb_barman_wal_kind("00000001000000000000000G") == CB_WAL_NONE,
		  "wal: other names");
	check_str(cb_barman_wal_key("pg", "00000001000000AB000000CD", CB_COMPRESSION_NONE),
			  "pg/wals/00000001000000AB/00000001000000AB000000CD", "wal: segment key");
	check_str(cb_barman_wal_dir("pg", "00000001000000ab000000cd"),
			  "pg/wals/00000001000000AB/", "wal: folder in upper case, as barman formats it");
	check_str(cb_barman_wal_key("pg", "000000010000000000000003", CB_COMPRESSION_GZIP),
			  "pg/wals/0000000100000000/000000010000000000000003.gz", "wal: gzip key");
	check_str(cb_barman_wal_key("pg", "00000002.history", CB_COMPRESSION_XZ),
			  "pg/wals/00000002.history.xz", "wal: history files directly in wals/");
	check(cb_barman_parse_wal_object("000000010000000000000003.bz2", &name, &comp) &&
		  strcmp(name, "000000010000000000000003") == 0 && comp == CB_COMPRESSION_BZIP2,
		  "wal: .bz2 object");
	check(cb_barman_parse_wal_object("000000010000000000000003.00000028.backup.gz", &name, &comp) &&
		  comp == CB_COMPRESSION_GZIP, "wal: compressed .backup object");
	check(cb_barman_parse_wal_object("00000002.history", &name, &comp) &&
		  comp == CB_COMPRESSION_NONE, "wal: plain history object");
	check(!cb_barman_parse_wal_object("000000010000000000000003.zip", &name, &comp) &&
		  !cb_barman_parse_wal_object("foo.gz", &name, &comp) &&
		  !cb_barman_parse_wal_object("000000010000000000000003.gz.gz", &name, &comp),
		  "wal: unknown objects ignored");

	check(cb_barman_parse_base_name("data.tar", &f) && f.is_data && f.part == 0 &&
		  f.compression == CB_COMPRESSION_NONE, "base: data.tar");
	check(cb_barman_parse_base_name("data.tar.gz", &f) && f.compression == CB_COMPRESSION_GZIP,
		  "base: data.tar.gz");
	check(cb_barman_parse_base_name("data_0001.tar.bz2", &f) && f.is_data && f.part == 1 &&
		  f.compression == CB_COMPRESSION_BZIP2, "base: a split part");
	check(cb_barman_parse_base_name("16385_0002.tar.snappy", &f) && !f.is_data &&
		  f.tablespace_oid == 16385 && f.part == 2 && f.compression == CB_COMPRESSION_SNAPPY,
		  "base: a tablespace part");
	check(!cb_barman_parse_base_name("backup.info", &f) &&
		  !cb_barman_parse_base_name("data.tgz", &f) &&
		  !cb_barman_parse_base_name("data_x.tar", &f) &&
		  !cb_barman_parse_base_name("data.tar.zip", &f) &&
		  !cb_barman_parse_base_name("pg_control.tar", &f),
		  "base: other names refused");
}

/* a catalog made up for the choice rules */
static CbBarmanCatalog *
made_up_catalog(void)
{
	static const struct
	{
		const char *id;
		const char *info;
	}			backups[] = {
		{"20260101T000000", "timeline=1\nbegin_time=2026-01-01 00:00:00+00:00\n"
		"end_time=2026-01-01 00:10:00.5+00:00\nend_xlog=0/3000138\nstatus=DONE\n"},
		{"20260102T000000", "timeline=1\nbegin_time=2026-01-02 00:00:00+00:00\n"
		"end_time=2026-01-02 00:10:00+00:00\nend_xlog=0/5000100\nstatus=DONE\n"},
		{"20260103T000000", "timeline=2\nbegin_time=2026-01-03 00:00:00+01:00\n"
		"end_time=2026-01-03 00:10:00+01:00\nend_xlog=0/7000060\nstatus=DONE\n"},
		{"20260104T000000", "timeline=2\nbegin_time=2026-01-04 00:00:00+00:00\n"
		"end_time=None\nstatus=FAILED\n"},
		{"20260105T000000", NULL},
	};
	CbBarmanCatalog *cat = palloc0(sizeof(CbBarmanCatalog));
	char	   *errmsg;

	cat->base_url = "s3://backups/pg/base/";
	cat->nbackups = lengthof(backups);
	cat->backups = palloc0(sizeof(CbBarmanBackup) * cat->nbackups);
	/* in an order the choice must not depend on: usable ones last */
	for (int i = 0; i < cat->nbackups; i++)
	{
		CbBarmanBackup *b = &cat->backups[(i + 3) % cat->nbackups];

		b->backup_id = (char *) backups[i].id;
		if (backups[i].info == NULL)
			b->info_problem = "no backup.info (a backup in progress, or a stray folder)";
		else
			cb_barman_parse_info(backups[i].info, strlen(backups[i].info), b, &errmsg);
	}
	cb_barman_sort_catalog(cat);
	return cat;
}

static const char *
choose(const CbBarmanCatalog *cat, const char *id, const char *time,
	   const char *lsn, const char *tli, char **detail)
{
	CbRecoveryTarget t;
	char	   *errmsg;
	char	   *errdetail;
	const CbBarmanBackup *b;

	memset(&t, 0, sizeof(t));
	t.present = id || time || lsn || tli;
	t.backup_id = (char *) id;
	t.target_time = (char *) time;
	t.target_lsn = (char *) lsn;
	t.target_tli = (char *) tli;
	t.target_immediate = t.exclusive = CB_UNSET;
	b = cb_barman_choose(cat, t.present ? &t : NULL, &errmsg, &errdetail);
	if (detail)
		*detail = errdetail;
	return b ? b->backup_id : errmsg;
}

static void
test_choice(void)
{
	CbBarmanCatalog *cat = made_up_catalog();
	CbBarmanCatalog empty;
	char	   *detail;

	check_str(choose(cat, NULL, NULL, NULL, NULL, NULL), "20260103T000000",
			  "choice: no target -> newest usable");
	check_str(choose(cat, NULL, NULL, NULL, "latest", NULL), "20260103T000000",
			  "choice: targetTLI latest -> newest");
	check_str(choose(cat, NULL, NULL, NULL, "1", NULL), "20260102T000000",
			  "choice: targetTLI 1 -> newest on timeline 1");
	check_str(choose(cat, NULL, NULL, NULL, "02", &detail), "no target backup found",
			  "choice: targetTLI 02 matches nothing (string compare, as CNPG)");
	check(contains(detail, "backup 20260103T000000: on timeline 2, not targetTLI 02") &&
		  contains(detail, "backup 20260104T000000: not completed: no end_time (status FAILED)") &&
		  contains(detail, "backup 20260105T000000: no backup.info"),
		  "choice: the detail says why each backup was not taken");
	check_str(choose(cat, "20260101T000000", NULL, NULL, NULL, NULL), "20260101T000000",
			  "choice: backupID");
	check_str(choose(cat, "20260103T000000", "2000-01-01", NULL, "1", NULL), "20260103T000000",
			  "choice: backupID wins, timeline and time ignored");
	check_str(choose(cat, "20260104T000000", NULL, NULL, NULL, NULL),
			  "no backup found with ID 20260104T000000", "choice: backupID of an unfinished backup");
	check_str(choose(cat, "nope", NULL, NULL, NULL, NULL), "no backup found with ID nope",
			  "choice: unknown backupID");
	check_str(choose(cat, NULL, "2026-01-02 00:10:00", NULL, NULL, NULL), "20260102T000000",
			  "choice: targetTime equal to an end_time takes it");
	check_str(choose(cat, NULL, "2026-01-02T00:09:59.999999Z", NULL, NULL, NULL), "20260101T000000",
			  "choice: targetTime just before an end_time takes the previous one");
	check_str(choose(cat, NULL, "2026-01-02 01:10:00+01:00", NULL, NULL, NULL), "20260102T000000",
			  "choice: targetTime with an offset");
	check_str(choose(cat, NULL, "2026-01-03 00:10:00+01:00", NULL, NULL, NULL), "20260103T000000",
			  "choice: end_time with an offset");
	check_str(choose(cat, NULL, "2030-01-01", NULL, "1", NULL), "20260102T000000",
			  "choice: targetTime on timeline 1");
	check_str(choose(cat, NULL, "2026-01-01T00:10:00.499999Z", NULL, NULL, &detail),
			  "no target backup found", "choice: targetTime before every backup");
	check(contains(detail, "ends at 2026-01-01 00:10:00.500000+00:00, after targetTime 2026-01-01T00:10:00.499999Z"),
		  "choice: the detail gives the end time");
	check(contains(choose(cat, NULL, "yesterday", NULL, NULL, NULL),
				   "while parsing recovery target targetTime: "),
		  "choice: bad targetTime (CNPG's prefix)");
	check_str(choose(cat, NULL, NULL, "0/5000100", NULL, NULL), "20260101T000000",
			  "choice: targetLSN equal to an end LSN does not take it (strict)");
	check_str(choose(cat, NULL, NULL, "0/5000101", NULL, NULL), "20260102T000000",
			  "choice: targetLSN just past an end LSN");
	check_str(choose(cat, NULL, NULL, "1/0", NULL, NULL), "20260103T000000",
			  "choice: targetLSN past everything");
	check(contains(choose(cat, NULL, NULL, "xyz", NULL, NULL),
				   "while parsing recovery target targetLSN"),
		  "choice: bad targetLSN");
	memset(&empty, 0, sizeof(empty));
	empty.base_url = "s3://backups/none/base/";
	check_str(choose(&empty, NULL, NULL, NULL, NULL, &detail), "no target backup found",
			  "choice: empty store");
	check(contains(detail, "Nothing was found under s3://backups/none/base/"),
		  "choice: the detail names where we looked");
}

/* ---------- scenarios for the fake HTTP server (os_testkit.c) ---------- */

#define OBJ_SIZE 100000

static char object[OBJ_SIZE];

/* handlers, one per scenario */
static void
h_retry_503(int fd, int n, const char *req)
{
	if (n < 2)
		fake_error(fd, "503 Service Unavailable", "SlowDown", "Please reduce your request rate.");
	else
		fake_reply(fd, "200 OK", "ETag: \"e1\"\r\n", object, OBJ_SIZE);
}

static void
h_forbidden(int fd, int n, const char *req)
{
	/* a store that echoes what it got, credentials included */
	fake_error(fd, "403 Forbidden", "SignatureDoesNotMatch",
			   "The request signature we calculated does not match the signature you provided. "
			   "(key AKIDTEST secret s3cr3t/Key+ token tok3n)");
}

static void
h_not_found(int fd, int n, const char *req)
{
	fake_error(fd, "404 Not Found", "NoSuchKey", "The specified key does not exist.");
}

static void
h_no_bucket(int fd, int n, const char *req)
{
	fake_error(fd, "404 Not Found", "NoSuchBucket", "The specified bucket does not exist");
}

/*
 * the first answer stops after 30000 bytes; then 206 / full 200 / 412; mode
 * 3 (and 4): the first answer has no Content-Length (it ends at the close),
 * then 206
 */
static int	cut_mode;

static void
h_cut(int fd, int n, const char *req)
{
	char	   *head;

	if (n == 0 && cut_mode >= 3)
	{
		head = "HTTP/1.1 200 OK\r\nConnection: close\r\nETag: \"e1\"\r\n\r\n";
		fake_send(fd, head, strlen(head));
		fake_send(fd, object, 30000);
		return;
	}
	if (n == 0)
	{
		head = psprintf("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n"
						"ETag: \"e1\"\r\n\r\n", OBJ_SIZE);
		fake_send(fd, head, strlen(head));
		fake_send(fd, object, 30000);
		return;
	}
	if ((cut_mode == 0 || cut_mode == 3) && strstr(req, "\r\nRange: bytes=30000-\r\n") &&
		strstr(req, "\r\nIf-Match: \"e1\"\r\n"))
	{
		head = psprintf("Content-Range: bytes 30000-%d/%d\r\nETag: \"e1\"\r\n",
						OBJ_SIZE - 1, OBJ_SIZE);
		fake_reply(fd, "206 Partial Content", head, object + 30000, OBJ_SIZE - 30000);
	}
	else if (cut_mode == 1)
		fake_reply(fd, "200 OK", "ETag: \"e1\"\r\n", object, OBJ_SIZE);
	else
		fake_error(fd, "412 Precondition Failed", "PreconditionFailed",
				   "At least one of the pre-conditions you specified did not hold");
}

static void
h_stall(int fd, int n, const char *req)
{
	char	   *head = psprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", OBJ_SIZE);

	fake_send(fd, head, strlen(head));
	fake_send(fd, object, 100);
	sleep(30);
}

static void
h_drip(int fd, int n, const char *req)
{
	char	   *head = psprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", OBJ_SIZE);

	fake_send(fd, head, strlen(head));
	for (int i = 0; i < OBJ_SIZE; i++)
	{
		fake_send(fd, object + i, 1);
		usleep(20000);
	}
}

/* three pages, keys under pre/x/ */
static void
h_list(int fd, int n, const char *req)
{
	const char *body;

	if (!strstr(req, "GET /bkt?") || !strstr(req, "list-type=2") ||
		!strstr(req, "prefix=pre%2Fx%2F"))
		body = NULL;
	else if (strstr(req, "continuation-token=t%2B1%2F%3D"))
		body = "<ListBucketResult><IsTruncated>true</IsTruncated>"
			"<Contents><Key>pre/x/c</Key><Size>3</Size></Contents>"
			"<Contents><Key>pre/x/d</Key><Size>4</Size></Contents>"
			"<NextContinuationToken>t2</NextContinuationToken></ListBucketResult>";
	else if (strstr(req, "continuation-token=t2"))
		body = "<ListBucketResult><IsTruncated>false</IsTruncated>"
			"<Contents><Key>pre/x/e</Key><Size>5</Size></Contents>"
			"<CommonPrefixes><Prefix>pre/x/sub/</Prefix></CommonPrefixes></ListBucketResult>";
	else if (strstr(req, "continuation-token"))
		body = NULL;
	else
		body = "<ListBucketResult><IsTruncated>true</IsTruncated>"
			"<Contents><Key>pre/x/a</Key><Size>1</Size></Contents>"
			"<Contents><Key>pre/x/b</Key><Size>2</Size></Contents>"
			"<NextContinuationToken>t+1/=</NextContinuationToken></ListBucketResult>";
	if (body)
		fake_reply(fd, "200 OK", "Content-Type: application/xml\r\n", body, strlen(body));
	else
		fake_error(fd, "400 Bad Request", "InvalidArgument", "unexpected listing request");
}

/* a listing without Content-Length, cut off the first time (and always with mode 1) */
static int	list_cut_mode;

static void
h_list_cut(int fd, int n, const char *req)
{
	const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>pre/x/a</Key><Size>1</Size></Contents></ListBucketResult>\n";
	const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/xml\r\n\r\n";

	fake_send(fd, head, strlen(head));
	fake_send(fd, body, n == 0 || list_cut_mode == 1 ? strlen(body) - 12 : strlen(body));
}

/* a listing that never ends: every page truncated, with a new token */
static void
h_list_endless(int fd, int n, const char *req)
{
	char	   *body = psprintf("<ListBucketResult><IsTruncated>true</IsTruncated>"
								"<Contents><Key>pre/x/k%d</Key><Size>1</Size></Contents>"
								"<NextContinuationToken>t%d</NextContinuationToken></ListBucketResult>",
								n, n + 1);

	fake_reply(fd, "200 OK", "Content-Type: application/xml\r\n", body, strlen(body));
}

/* keys outside the prefix listed, some shorter than it */
static void
h_list_outside(int fd, int n, const char *req)
{
	const char *body = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>pre/x/base/b1/data.tar</Key><Size>1</Size></Contents>"
		"<Contents><Key>pre/x/</Key><Size>1</Size></Contents>"
		"<Contents><Key>pre/y</Key><Size>2</Size></Contents>"
		"<Contents><Key>pre</Key><Size>3</Size></Contents>"
		"<Contents><Key>other/x/base/b1/data.tar</Key><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>pre/</Prefix></CommonPrefixes>"
		"<CommonPrefixes><Prefix>pre/x/base/b1/</Prefix></CommonPrefixes></ListBucketResult>";

	fake_reply(fd, "200 OK", "Content-Type: application/xml\r\n", body, strlen(body));
}

/* ranged GET, HEAD, and ten objects k0..k9 */
static void
h_objects(int fd, int n, const char *req)
{
	if (strncmp(req, "HEAD /bkt/pre/there ", 20) == 0)
	{
		const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 12345\r\n"
			"ETag: \"e9\"\r\nLast-Modified: Fri, 27 Nov 2026 17:08:19 GMT\r\n\r\n";

		fake_send(fd, head, strlen(head));
	}
	else if (strncmp(req, "HEAD ", 5) == 0)
		fake_send(fd, "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 65);
	else if (strncmp(req, "GET /bkt/pre/obj ", 17) == 0 && strstr(req, "\r\nRange: bytes=10-19\r\n"))
		fake_reply(fd, "206 Partial Content", "Content-Range: bytes 10-19/100000\r\n", object + 10, 10);
	else if (strncmp(req, "GET /bkt/pre/k", 14) == 0)
	{
		int			k = req[14] - '0';

		fake_reply(fd, "200 OK", NULL, object + k * 1000, 1000 + k);
	}
	else
		fake_error(fd, "400 Bad Request", "InvalidArgument", "unexpected request");
}

static CbOsClient *
fake_client(int port, int max_retries, int stall_s)
{
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = CB_OS_PROVIDER_S3;
	cfg.destination_path = "s3://bkt/pre";
	cfg.endpoint_url = psprintf("http://127.0.0.1:%d", port);
	cfg.access_key_id = "AKIDTEST";
	cfg.secret_access_key = "s3cr3t/Key+";
	cfg.session_token = "tok3n";
	cfg.max_retries = max_retries;
	cfg.retry_base_ms = 20;
	cfg.retry_max_ms = 100;
	cfg.stall_timeout_s = stall_s;
	cfg.connect_timeout_ms = 2000;
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
	c = cb_os_client_create(&cfg, &err);
	if (c == NULL)
	{
		fprintf(stderr, "client: %s\n", err.message);
		exit(2);
	}
	return c;
}

static bool
no_credential(const CbOsError *err)
{
	return !contains(err->message, "s3cr3t") && !contains(err->message, "tok3n") &&
		!contains(err->message, "AKIDTEST");
}

static void
test_fake_errors(const char *log)
{
	int			port;
	pid_t		pid;
	CbOsClient *c;
	CbOsError	err;
	CbOsStats	st;
	StringInfoData buf;
	double		t0;

	initStringInfo(&buf);
	pid = fake_start(h_retry_503, log, &port);
	c = fake_client(port, 5, 5);
	check(cb_os_get(c, "obj", 0, -1, collect, &buf, NULL, &err) == CB_OS_OK &&
		  buf.len == OBJ_SIZE && memcmp(buf.data, object, OBJ_SIZE) == 0,
		  "fake: 503 SlowDown twice, then the object");
	cb_os_get_stats(c, &st);
	check(st.requests == 3 && st.retries == 2, "fake: two retries");
	check(contains(slurp(log), "\r\nx-amz-security-token: tok3n\r\n") &&
		  contains(slurp(log), "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") &&
		  contains(slurp(log), "Credential=AKIDTEST/") &&
		  contains(slurp(log), "/us-east-1/s3/aws4_request") &&
		  contains(slurp(log), "\r\nHost: 127.0.0.1:") &&
		  contains(slurp(log), "GET /bkt/pre/obj HTTP/1.1"),
		  "fake: path-style request, session token signed, default region");
	cb_os_client_free(c);
	fake_stop(pid);

	pid = fake_start(h_forbidden, log, &port);
	c = fake_client(port, 5, 5);
	t0 = now_s();
	check(cb_os_get(c, "obj", 0, -1, collect, &buf, NULL, &err) == CB_OS_ERROR &&
		  err.http_status == 403 && strcmp(err.code, "SignatureDoesNotMatch") == 0 &&
		  contains(err.message, "HTTP 403 SignatureDoesNotMatch: The request signature") &&
		  contains(err.hint, "secretAccessKey"),
		  "fake: 403 SignatureDoesNotMatch with the store's message and a hint");
	cb_os_get_stats(c, &st);
	check(st.requests == 1 && now_s() - t0 < 1.0, "fake: 403 not retried, fails at once");
	check(no_credential(&err) && contains(err.message, "[redacted]"),
		  "fake: credentials echoed by the store are redacted");
	cb_os_client_free(c);
	fake_stop(pid);

	pid = fake_start(h_not_found, log, &port);
	c = fake_client(port, 5, 5);
	check(cb_os_get(c, "wals/x", 0, -1, collect, &buf, NULL, &err) == CB_OS_NOT_FOUND &&
		  contains(err.message, "object \"s3://bkt/pre/wals/x\" does not exist"),
		  "fake: 404 NoSuchKey is CB_OS_NOT_FOUND");
	cb_os_client_free(c);
	fake_stop(pid);

	pid = fake_start(h_no_bucket, log, &port);
	c = fake_client(port, 5, 5);
	{
		CbOsListing l;

		check(cb_os_list(c, "x/", "/", 0, &l, &err) == CB_OS_ERROR &&
			  contains(err.message, "bucket \"bkt\" does not exist at http://127.0.0.1:") &&
			  strcmp(err.code, "NoSuchBucket") == 0,
			  "fake: NoSuchBucket names the bucket and the endpoint");
	}
	cb_os_client_free(c);
	fake_stop(pid);

	/* nothing listens: connection refused, retried, then the last error */
	pid = fake_start(h_not_found, log, &port);
	fake_stop(pid);
	c = fake_client(port, 2, 5);
	check(cb_os_get(c, "obj", 0, -1, collect, &buf, NULL, &err) == CB_OS_ERROR &&
		  contains(err.message, "after 3 attempts") && err.http_status == 0 &&
		  contains(err.hint, "reachable"),
		  "fake: connection refused, retried twice, then failed");
	cb_os_client_free(c);
}

static void
test_fake_resume(const char *log)
{
	int			port;
	pid_t		pid;
	CbOsClient *c;
	CbOsError	err;
	StringInfoData buf;
	int64		size;

	initStringInfo(&buf);
	for (cut_mode = 0; cut_mode < 3; cut_mode++)
	{
		static const char *what[] = {
			"fake: cut connection resumed with Range and If-Match (206)",
			"fake: a store that ignores Range: the bytes already had are skipped",
			"fake: object changed (412): not retried",
		};

		resetStringInfo(&buf);
		pid = fake_start(h_cut, log, &port);
		c = fake_client(port, 3, 5);
		if (cut_mode < 2)
			check(cb_os_get(c, "obj", 0, -1, collect, &buf, &size, &err) == CB_OS_OK &&
				  buf.len == OBJ_SIZE && memcmp(buf.data, object, OBJ_SIZE) == 0 &&
				  size == OBJ_SIZE, what[cut_mode]);
		else
			check(cb_os_get(c, "obj", 0, -1, collect, &buf, &size, &err) == CB_OS_ERROR &&
				  contains(err.message, "HTTP 412 PreconditionFailed") && buf.len == 30000,
				  what[cut_mode]);
		cb_os_client_free(c);
		fake_stop(pid);
	}

	/*
	 * An answer without Content-Length cut at 30000 bytes looks whole to
	 * libcurl: with the size the listing gave, it is resumed (206), else
	 * it is taken as the object (nothing can tell).
	 */
	for (cut_mode = 3; cut_mode < 5; cut_mode++)
	{
		CbOsGetRequest req;

		resetStringInfo(&buf);
		pid = fake_start(h_cut, log, &port);
		c = fake_client(port, 3, 5);
		memset(&req, 0, sizeof(req));
		req.key = "obj";
		req.length = -1;
		req.expect_size = cut_mode == 3 ? OBJ_SIZE : 0;
		req.fn = collect;
		req.arg = &buf;
		cb_os_get_many(c, 1, &req);
		if (cut_mode == 3)
			check(req.status == CB_OS_OK && buf.len == OBJ_SIZE &&
				  memcmp(buf.data, object, OBJ_SIZE) == 0,
				  "fake: an answer without Content-Length cut short of the listed size is resumed");
		else
			check(req.status == CB_OS_OK && buf.len == 30000,
				  "fake: without a listed size, an answer without Content-Length ends at the close");
		cb_os_client_free(c);
		fake_stop(pid);
	}
}

static void
test_fake_timing(const char *log)
{
	int			port;
	pid_t		pid;
	CbOsClient *c;
	CbOsError	err;
	StringInfoData buf;
	double		t0;
	struct itimerval it;

	initStringInfo(&buf);
	pid = fake_start(h_stall, log, &port);
	c = fake_client(port, -1, 1);
	t0 = now_s();
	check(cb_os_get(c, "obj", 0, -1, collect, &buf, NULL, &err) == CB_OS_ERROR &&
		  contains(err.message, "no data received for 1 s") && now_s() - t0 < 2.0,
		  "fake: a stalled answer fails after stall_timeout_s");
	printf("# %s (%.2f s)\n", err.message, now_s() - t0);
	cb_os_client_free(c);
	fake_stop(pid);

	pid = fake_start(h_drip, log, &port);
	c = fake_client(port, 3, 5);
	signal(SIGALRM, stop_handler);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 300000;
	stop_requested = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	check(cb_os_get(c, "obj", 0, -1, collect, &buf, NULL, &err) == CB_OS_ERROR &&
		  contains(err.message, "interrupted") && stop_requested &&
		  now_s() - stop_time < 0.5,
		  psprintf("fake: a stop request ends a transfer at once (%.0f ms)",
				   (now_s() - stop_time) * 1000));
	stop_requested = 0;
	cb_os_client_free(c);
	fake_stop(pid);
}

/* a hostile store's listings: bounded, and nothing outside the prefix */
static void
test_fake_listing_bounds(const char *log)
{
	int			port;
	pid_t		pid;
	CbOsClient *c;
	CbOsError	err;
	CbOsListing l;
	int			nfiles = -1;
	CbBarmanBaseFile *files;

	pid = fake_start(h_list_endless, log, &port);
	c = fake_client(port, 0, 5);
	check(cb_os_list(c, "x/", NULL, 0, &l, &err) == CB_OS_ERROR &&
		  contains(err.message, "more than 1000 pages") && l.npages == 1001,
		  psprintf("fake: a listing that never ends stops after 1000 pages (%s)",
				   err.message ? err.message : "no error"));
	cb_os_client_free(c);
	fake_stop(pid);

	pid = fake_start(h_list_outside, log, &port);
	c = fake_client(port, 0, 5);
	check(cb_os_list(c, "x/base/", NULL, 0, &l, &err) == CB_OS_OK && l.nobjects == 1 &&
		  strcmp(l.objects[0].key, "x/base/b1/data.tar") == 0 && l.nprefixes == 1 &&
		  strcmp(l.prefixes[0], "x/base/b1/") == 0,
		  "fake: keys outside the prefix listed are left out");
	check(cb_barman_list_base_files(c, "x", "b1", &nfiles, &files, &err) == CB_OS_OK &&
		  nfiles == 1 && strcmp(files[0].key, "x/base/b1/data.tar") == 0,
		  "fake: a backup's files are only those under its folder (keys outside the prefix)");
	cb_os_client_free(c);
	fake_stop(pid);
}

static void
test_fake_listing(const char *log)
{
	int			port;
	pid_t		pid;
	CbOsClient *c;
	CbOsError	err;
	CbOsListing l;
	CbOsObject	info;
	StringInfoData buf;
	CbOsGetRequest reqs[10];
	StringInfoData bufs[10];
	bool		all_same = true;

	pid = fake_start(h_list, log, &port);
	c = fake_client(port, 0, 5);
	check(cb_os_list(c, "x/", "/", 2, &l, &err) == CB_OS_OK && l.npages == 3 &&
		  l.nobjects == 5 && l.nprefixes == 1,
		  "fake: three listing pages followed by their tokens");
	if (l.nobjects == 5 && l.nprefixes == 1)
		check(strcmp(l.objects[0].key, "x/a") == 0 && strcmp(l.objects[4].key, "x/e") == 0 &&
			  l.objects[3].size == 4 && strcmp(l.prefixes[0], "x/sub/") == 0,
			  "fake: keys relative to the destinationPath");
	check(contains(slurp(log), "GET /bkt?continuation-token=t%2B1%2F%3D&delimiter=%2F&list-type=2&max-keys=2&prefix=pre%2Fx%2F HTTP/1.1"),
		  "fake: the query is sent exactly as signed (sorted, encoded)");
	cb_os_client_free(c);
	fake_stop(pid);

	for (list_cut_mode = 0; list_cut_mode < 2; list_cut_mode++)
	{
		pid = fake_start(h_list_cut, log, &port);
		c = fake_client(port, 2, 5);
		if (list_cut_mode == 0)
			check(cb_os_list(c, "x/", NULL, 0, &l, &err) == CB_OS_OK && l.nobjects == 1,
				  "fake: a listing cut off without Content-Length is asked again");
		else
			check(cb_os_list(c, "x/", NULL, 0, &l, &err) == CB_OS_ERROR &&
				  contains(err.message, "before the end of its XML document") &&
				  contains(err.message, "after 3 attempts"),
				  "fake: a listing always cut off fails after the retries, saying so");
		cb_os_client_free(c);
		fake_stop(pid);
	}

	initStringInfo(&buf);
	pid = fake_start(h_objects, log, &port);
	c = fake_client(port, 0, 5);
	check(cb_os_get(c, "obj", 10, 10, collect, &buf, NULL, &err) == CB_OS_OK &&
		  buf.len == 10 && memcmp(buf.data, object + 10, 10) == 0,
		  "fake: ranged GET");
	check(cb_os_head(c, "there", &info, &err) == CB_OS_OK && info.size == 12345 &&
		  strcmp(info.etag, "\"e9\"") == 0, "fake: HEAD gives size and ETag");
	check(cb_os_head(c, "gone", &info, &err) == CB_OS_NOT_FOUND, "fake: HEAD 404");
	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < 10; i++)
	{
		initStringInfo(&bufs[i]);
		reqs[i].key = psprintf("k%d", i);
		reqs[i].length = -1;
		reqs[i].fn = collect;
		reqs[i].arg = &bufs[i];
	}
	check(cb_os_get_many(c, 10, reqs), "fake: ten GETs at once");
	for (int i = 0; i < 10; i++)
		all_same &= bufs[i].len == 1000 + i && memcmp(bufs[i].data, object + i * 1000, 1000 + i) == 0;
	check(all_same, "fake: each with its own bytes");
	cb_os_client_free(c);
	fake_stop(pid);
}

static int
selftest(void)
{
	char		tmpl[] = "/tmp/cbos.XXXXXX";
	char	   *dir = mkdtemp(tmpl);
	char	   *log;

	if (dir == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	log = psprintf("%s/requests.log", dir);
	for (int i = 0; i < OBJ_SIZE; i++)
		object[i] = (char) ((i * 7919) >> 3);
	signal(SIGPIPE, SIG_IGN);

	test_sigv4();
	test_encoding();
	test_xml();
	test_config(dir);
	test_backup_info();
	test_times();
	test_names();
	test_walrestore_conf(dir);
	test_choice();
	test_fake_errors(log);
	test_fake_listing_bounds(log);
	test_fake_resume(log);
	test_fake_timing(log);
	test_fake_listing(log);

	unlink(log);
	unlink(psprintf("%s/ca.crt", dir));
	rmdir(dir);
	return unit_finish();
}

/* ---------- the real store ---------- */

static void
print_stats(CbOsClient *c, double t0, int64 bytes)
{
	CbOsStats	st;
	double		secs = now_s() - t0;

	cb_os_get_stats(c, &st);
	printf("bytes=" INT64_FORMAT "\nseconds=%.3f\nMBps=%.1f\nrequests=" INT64_FORMAT "\nretries=" INT64_FORMAT "\n",
		   bytes, secs, secs > 0 ? bytes / secs / 1048576.0 : 0.0, st.requests, st.retries);
}

static int
rig_get(CbOsClient *c, int argc, char **argv)
{
	FileSink	sink = {NULL, 0};
	CbOsError	err;
	CbOsStatus	s;
	int64		size;
	double		t0;

	if (argc != 2 && argc != 4)
		return 2;
	if ((sink.f = fopen(argv[1], "w")) == NULL)
	{
		perror(argv[1]);
		return 2;
	}
	t0 = now_s();
	s = cb_os_get(c, argv[0], argc == 4 ? atoll(argv[2]) : 0,
				  argc == 4 ? atoll(argv[3]) : -1, file_write, &sink, &size, &err);
	fclose(sink.f);
	if (s != CB_OS_OK)
	{
		print_error(status_word(s), &err);
		return 1;
	}
	printf("status=ok\nsize=" INT64_FORMAT "\n", size);
	print_stats(c, t0, sink.bytes);
	return 0;
}

static int
rig_getmany(CbOsClient *c, int argc, char **argv)
{
	int			n = argc - 1;
	CbOsGetRequest *reqs;
	FileSink   *sinks;
	int64		total = 0;
	double		t0;
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
	t0 = now_s();
	ok = cb_os_get_many(c, n, reqs);
	for (int i = 0; i < n; i++)
	{
		fclose(sinks[i].f);
		total += sinks[i].bytes;
		if (reqs[i].status != CB_OS_OK)
			printf("failed=%s %s\n", reqs[i].key, reqs[i].err.message);
	}
	printf("status=%s\nfiles=%d\n", ok ? "ok" : "error", n);
	print_stats(c, t0, total);
	return ok ? 0 : 1;
}

static int
count_lines(const char *s)
{
	int			n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return s ? n : -1;
}

static int
rig_catalog(CbOsClient *c, int argc, char **argv)
{
	CbBarmanCatalog cat;
	CbOsError	err;
	CbRecoveryTarget t;
	const CbBarmanBackup *b;
	char	   *errmsg;
	char	   *errdetail;

	if (argc < 1)
		return 2;
	memset(&t, 0, sizeof(t));
	t.target_immediate = t.exclusive = CB_UNSET;
	for (int i = 1; i < argc; i++)
	{
		static const struct
		{
			const char *name;
			size_t		offset;
		}			opts[] = {
			{"backupID=", offsetof(CbRecoveryTarget, backup_id)},
			{"targetTime=", offsetof(CbRecoveryTarget, target_time)},
			{"targetLSN=", offsetof(CbRecoveryTarget, target_lsn)},
			{"targetTLI=", offsetof(CbRecoveryTarget, target_tli)},
		};
		int			k;

		for (k = 0; k < (int) lengthof(opts); k++)
			if (strncmp(argv[i], opts[k].name, strlen(opts[k].name)) == 0)
				break;
		if (k == (int) lengthof(opts))
			return 2;
		*(char **) ((char *) &t + opts[k].offset) = argv[i] + strlen(opts[k].name);
		t.present = true;
	}
	if (cb_barman_load_catalog(c, argv[0], &cat, &err) != CB_OS_OK)
	{
		print_error("error", &err);
		return 1;
	}
	printf("status=ok\nbackups=%d\n", cat.nbackups);
	for (int i = 0; i < cat.nbackups; i++)
	{
		CbBarmanBackup *x = &cat.backups[i];

		/* '|' between fields: times hold spaces */
		printf("backup=%s|%d|%s|%d|%s|%s|%s|%s|%s|%s|%s|%d\n",
			   x->backup_id, cb_barman_backup_usable(x), x->status ? x->status : "",
			   x->timeline, x->has_begin_time ? cb_barman_format_time(x->begin_time) : "",
			   x->has_end_time ? cb_barman_format_time(x->end_time) : "",
			   x->begin_wal ? x->begin_wal : "", x->end_wal ? x->end_wal : "",
			   x->begin_xlog ? x->begin_xlog : "", x->end_xlog ? x->end_xlog : "",
			   x->systemid ? x->systemid : "", count_lines(x->backup_label));
	}
	b = cb_barman_choose(&cat, t.present ? &t : NULL, &errmsg, &errdetail);
	if (b)
		printf("chosen=%s\n", b->backup_id);
	else
	{
		printf("error=%s\n", errmsg);
		for (char *line = strtok(errdetail, "\n"); line; line = strtok(NULL, "\n"))
			printf("detail=%s\n", line);
	}
	return 0;
}

static int
rig_basefiles(CbOsClient *c, int argc, char **argv)
{
	CbBarmanBaseFile *files;
	int			n;
	CbOsError	err;

	if (argc != 2)
		return 2;
	if (cb_barman_list_base_files(c, argv[0], argv[1], &n, &files, &err) != CB_OS_OK)
	{
		print_error("error", &err);
		return 1;
	}
	printf("status=ok\nfiles=%d\n", n);
	for (int i = 0; i < n; i++)
		printf("file=%s " INT64_FORMAT " %s %s %u %d\n", files[i].key, files[i].size,
			   cb_compression_name(files[i].compression),
			   files[i].is_data ? "data" : "tablespace", files[i].tablespace_oid, files[i].part);
	return 0;
}

/* every object under wals/: its WAL name, and that our key for it is its key */
static int
rig_walobjects(CbOsClient *c, int argc, char **argv)
{
	CbOsListing l;
	CbOsError	err;
	int			bad = 0;

	if (argc != 1)
		return 2;
	if (cb_os_list(c, psprintf("%s/wals/", argv[0]), NULL, 0, &l, &err) != CB_OS_OK)
	{
		print_error("error", &err);
		return 1;
	}
	printf("status=ok\nobjects=%d\n", l.nobjects);
	for (int i = 0; i < l.nobjects; i++)
	{
		const char *base = strrchr(l.objects[i].key, '/') + 1;
		char	   *name;
		CbCompression comp;

		if (!cb_barman_parse_wal_object(base, &name, &comp))
		{
			printf("unknown=%s\n", l.objects[i].key);
			continue;
		}
		if (strcmp(cb_barman_wal_key(argv[0], name, comp), l.objects[i].key) != 0)
			bad++;
		printf("wal=%s %s %s\n", name, cb_compression_name(comp), l.objects[i].key);
	}
	printf("key_mismatches=%d\n", bad);
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
		{"basefiles", rig_basefiles}, {"walobjects", rig_walobjects},
	};
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *c;
	double		t0 = now_s();

	if (argc < 2)
		return 2;
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = CB_OS_PROVIDER_S3;
	cfg.destination_path = argv[0];
	cfg.endpoint_url = getenv("S3_ENDPOINT");
	cfg.access_key_id = getenv("AWS_ACCESS_KEY_ID");
	cfg.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	cfg.region = getenv("AWS_DEFAULT_REGION");
	cfg.session_token = getenv("AWS_SESSION_TOKEN");
	cfg.max_parallel = getenv("CB_MAX_PARALLEL") ? atoi(getenv("CB_MAX_PARALLEL")) : 0;
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
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

			printf("elapsed=%.3f\n", now_s() - t0);
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
