/*-------------------------------------------------------------------------
 *
 * os_int.h
 *	  What the files of the object-store client share and nothing outside
 *	  them uses: the client and transfer structures, the bounds, and the
 *	  few helpers that cross files (objectstore.c: messages and scrubbing;
 *	  os_transfer.c: creating and running transfers).  The public API is
 *	  objectstore.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_OS_INT_H
#define CB_OS_INT_H

#include <curl/curl.h>

#include "lib/stringinfo.h"

#include "gcs.h"
#include "objectstore.h"

#define OS_DEFAULT_REGION		"us-east-1"
#define OS_UNSIGNED_PAYLOAD		"UNSIGNED-PAYLOAD"
#define OS_USER_AGENT			"cnpg_bootstrap"
#define OS_WAIT_MAX_MS			1000
#define OS_ERROR_BODY_MAX		(64 * 1024)
#define OS_LIST_BODY_MAX		(32 * 1024 * 1024)
/* a listing's bounds: a Barman folder holds hundreds of keys, not millions */
#define OS_LIST_MAX_PAGES		1000
#define OS_LIST_MAX_ENTRIES		100000
#define OS_LIST_MAX_KEY_BYTES	(64 * 1024 * 1024)
#define OS_GET_BUFFER_SIZE		(256 * 1024)
#define OS_XML_MAX_DEPTH		16

/* ---------- the client and its transfers ---------- */

struct CbOsClient
{
#ifndef CB_OS_NO_BACKEND
	MemoryContext cxt;			/* holds the client; deleting it runs
								 * os_client_cleanup */
	MemoryContextCallback cleanup;
#endif
	CbOsConfig	cfg;			/* own copies, defaults applied */
	const char *kind;			/* "S3" or "Azure", for messages */
	char	   *bucket;			/* or the Azure container */
	char	   *prefix;			/* "" or "some/prefix/" */
	char	   *origin;			/* scheme://authority of every request */
	char	   *host;			/* the Host header, signed */
	char	   *base_path;		/* "/bucket" (path-style) or "" */
	char	   *account;		/* Azure: the account that signs */
	char	   *sas_query;		/* Azure: SAS without '?', NULL if none */
	char	   *sas_sig;		/* its sig= value, scrubbed from texts */
	CbGcsAuth  *gcs;			/* Google: the key and its access token */
	CURLM	   *multi;
	int			nsocks;			/* sockets libcurl wants watched */
	int			maxsocks;
	CbOsWaitSocket *socks;
	int64		timer_deadline; /* monotonic ms of libcurl's timer, -1 none */
	CbOsStats	stats;
};

typedef enum OsOp
{
	OS_OP_GET,
	OS_OP_HEAD,
	OS_OP_LIST
} OsOp;

typedef enum OsState
{
	OS_WAITING,					/* to be started at not_before */
	OS_RUNNING,
	OS_DONE
} OsState;

typedef struct OsTransfer
{
	CbOsClient *client;
	OsOp		op;
	char	   *key;			/* full key in the bucket, "" for a listing */
	char	   *query;			/* canonical query, "" if none */
	int			nparams;		/* the query's parts, not encoded (Azure */
	CbOsHeader *params;			/* signs them) */
	char	   *url_text;		/* s3://... for messages */
	int64		offset;
	int64		length;			/* -1: to the end */
	int64		expect_size;	/* > 0: the object's size as listed, for
								 * an answer whose length is not given */
	CbOsWriteFn fn;
	void	   *arg;
	StringInfoData body;		/* listing or error document */

	/* one attempt */
	CURL	   *easy;
	struct curl_slist *headers;
	char		errbuf[CURL_ERROR_SIZE];
	long		http_status;
	bool		to_fn;			/* this attempt's body goes to fn */
	int64		skip;			/* bytes to drop: the store ignored Range */
	char	   *resp_etag;
	char	   *resp_range;		/* Content-Range */
	char	   *resp_last_modified;
	char	   *resp_error_code;	/* x-ms-error-code (Azure, HEAD has no
									 * body) */
	bool		stopped_by_fn;
	bool		got_all;		/* range complete, rest not wanted */
	int64		last_progress;	/* ms: attempt start or last byte in */
	char	   *abort_reason;	/* we stopped it (changed object, overflow) */

	/* across attempts */
	int64		delivered;
	char	   *etag;
	int64		size;
	char	   *last_modified;
	int			attempt;
	int64		not_before;
	OsState		state;
	CbOsStatus	result;
	CbOsError  *err;
} OsTransfer;

/* objectstore.c: small helpers */
extern int64 os_now_ms(void);
extern void os_error_clear(CbOsError *err);
extern char *os_scrub(const CbOsClient *c, char *s);
extern void os_fail(const CbOsClient *c, CbOsError *err, int http_status,
					const char *code, const char *hint, const char *fmt,...)
			pg_attribute_printf(6, 7);
extern bool os_starts_with(const char *s, const char *prefix);
extern bool os_has_control(const char *s, size_t len);

/* os_transfer.c: transfers and the loop that runs them */
extern OsTransfer *os_transfer(CbOsClient *c, OsOp op, const char *key,
							   CbOsError *err);
extern void os_transfer_free(OsTransfer *t);
extern const char *os_op_name(const OsTransfer *t);
extern void os_run(CbOsClient *c, OsTransfer **ts, int n, int max_parallel);
extern void os_run_until(CbOsClient *c, OsTransfer **ts, int n,
						 int max_parallel, bool (*until) (void *arg),
						 void *until_arg);
extern void os_abandon(OsTransfer **ts, int n);

#endif							/* CB_OS_INT_H */
