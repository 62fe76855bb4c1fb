/*-------------------------------------------------------------------------
 *
 * test_gcs.c
 *	  The Google Cloud Storage client (src/gcs.c and the Google paths of
 *	  src/objectstore.c) driven step by step, for t/015 against
 *	  test/gcsrig.py: one client, so that a token refresh within one
 *	  process, the token request's cancel and the errors can be seen.
 *
 *   test_gcs KEYFILE DEST ENDPOINT CAFILE STEP...
 *     STEP: list:PREFIX | get:KEY:OUTFILE | head:KEY | sleep:MS
 *   prints "step=<what> status=<ok|notfound|error> ...", an error's
 *   "message=" and "hint=" lines, "done" at the end; exit 0 when every
 *   step was ok.  SIGTERM stops a transfer (or a token request)
 *   in progress: "stopped_after_ms=" tells how long the stop took.
 *
 * Built by t/015 (CB_OS_NO_BACKEND):
 *   cc -DCB_OS_NO_BACKEND -Isrc -Isrc/bin -I<pg server includes> \
 *      test/unit/test_gcs.c test/unit/os_testkit.c test/unit/unit_shim.c \
 *      src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c \
 *      src/oswait.c src/hmac_sha256.c src/azureblob.c src/gcs.c \
 *      -L<pkglibdir> -lpgcommon -lpgport -lcurl -lssl -lcrypto
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "objectstore.h"
#include "os_testkit.h"

static bool
to_file(void *arg, const char *data, size_t len)
{
	return fwrite(data, 1, len, (FILE *) arg) == len;
}

static const char *
word(CbOsStatus s)
{
	return s == CB_OS_OK ? "ok" : s == CB_OS_NOT_FOUND ? "notfound" : "error";
}

static void
report(const char *step, CbOsStatus s, const CbOsError *err)
{
	printf("step=%s status=%s http=%d\n", step, word(s), s == CB_OS_OK ? 0 : err->http_status);
	if (s != CB_OS_OK)
		printf("message=%s\nhint=%s\n", err->message ? err->message : "",
			   err->hint ? err->hint : "");
	if (stop_requested)
		printf("stopped_after_ms=%.0f\n", (now_s() - stop_time) * 1000);
}

int
main(int argc, char **argv)
{
	CbOsConfig	cfg;
	CbOsError	err;
	CbOsClient *c;
	StringInfoData key;
	FILE	   *f;
	char		buf[4096];
	size_t		n;
	bool		all_ok = true;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 5 || (f = fopen(argv[1], "r")) == NULL)
	{
		fprintf(stderr, "usage: test_gcs KEYFILE DEST ENDPOINT CAFILE STEP...\n");
		return 2;
	}
	initStringInfo(&key);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		appendBinaryStringInfo(&key, buf, n);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.provider = CB_OS_PROVIDER_GOOGLE;
	cfg.google_credentials = key.data;
	cfg.destination_path = argv[2];
	cfg.endpoint_url = argv[3];
	cfg.endpoint_ca_file = argv[4];
	cfg.max_retries = 1;
	cfg.wait = cb_os_poll_wait;
	cfg.wait_arg = (void *) &stop_requested;
	signal(SIGTERM, stop_handler);
	if ((c = cb_os_client_create(&cfg, &err)) == NULL)
	{
		report("create", CB_OS_ERROR, &err);
		return 1;
	}
	for (int i = 5; i < argc && !stop_requested; i++)
	{
		char	   *step = pstrdup(argv[i]);
		char	   *arg = strchr(step, ':');
		CbOsStatus	s = CB_OS_OK;

		if (arg == NULL)
			return 2;
		*arg++ = '\0';
		memset(&err, 0, sizeof(err));
		if (strcmp(step, "sleep") == 0)
		{
			usleep(atoi(arg) * 1000);
			continue;
		}
		if (strcmp(step, "list") == 0)
		{
			CbOsListing l;

			s = cb_os_list(c, arg, NULL, 2, &l, &err);
			report(argv[i], s, &err);
			if (s == CB_OS_OK)
				printf("objects=%d pages=%d\n", l.nobjects, l.npages);
		}
		else if (strcmp(step, "head") == 0)
		{
			CbOsObject o;

			s = cb_os_head(c, arg, &o, &err);
			report(argv[i], s, &err);
			if (s == CB_OS_OK)
				printf("size=" INT64_FORMAT "\n", o.size);
		}
		else if (strcmp(step, "get") == 0)
		{
			char	   *out = strchr(arg, ':');
			FILE	   *of;

			if (out == NULL)
				return 2;
			*out++ = '\0';
			if ((of = fopen(out, "w")) == NULL)
				return 2;
			s = cb_os_get(c, arg, 0, -1, to_file, of, NULL, &err);
			fclose(of);
			report(argv[i], s, &err);
		}
		else
			return 2;
		all_ok &= s == CB_OS_OK;
	}
	cb_os_client_free(c);
	printf("done\n");
	return all_ok && !stop_requested ? 0 : 1;
}
