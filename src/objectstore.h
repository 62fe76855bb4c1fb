/*-------------------------------------------------------------------------
 *
 * objectstore.h
 *	  A small object-store client for background workers: libcurl's multi
 *	  interface driven by a wait function (the worker's latch in the
 *	  server), streamed and ranged GETs, HEAD, listings that follow every
 *	  page, retries with backoff.  Two providers behind the same calls: S3
 *	  (AWS Signature V4 computed here with OpenSSL, ListObjectsV2) and Azure
 *	  Blob Storage (Shared Key or SAS, List Blobs; see azureblob.h), and
 *	  Google Cloud Storage (its XML API with an OAuth2 bearer token from a
 *	  service-account key; see gcs.h).
 *
 * Nothing here throws for a failure of the store: every call returns a
 * CbOsStatus and fills a CbOsError whose texts never hold a credential.
 * (In the server the default wait function runs CHECK_FOR_INTERRUPTS, so a
 * SIGTERM still ends the worker the usual way, within a second.)
 *
 * Keys given to and returned by the calls are relative to the
 * destinationPath: with s3://bucket/some/prefix, key "srv/base/x" is the
 * object "some/prefix/srv/base/x" of "bucket"; likewise for an Azure
 * container (https://account.blob.core.windows.net/container/some/prefix).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_OBJECTSTORE_H
#define CB_OBJECTSTORE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"

typedef enum CbOsStatus
{
	CB_OS_OK = 0,
	CB_OS_NOT_FOUND,			/* 404 NoSuchKey or BlobNotFound (or HEAD
								 * 404): not an error
								 * for a WAL past the end of the archive */
	CB_OS_ERROR
} CbOsStatus;

typedef struct CbOsError
{
	int			http_status;	/* 0 when no HTTP answer came */
	char	   *code;			/* the store's <Code> (NoSuchBucket,
								 * SignatureDoesNotMatch ...) or a name of
								 * ours ("ConnectionFailed" ...); may be NULL */
	char	   *message;		/* complete sentence for errmsg */
	char	   *hint;			/* for errhint, may be NULL */
} CbOsError;

/* ---------- waiting ---------- */

#define CB_OS_WAIT_READ		0x01
#define CB_OS_WAIT_WRITE	0x02

typedef struct CbOsWaitSocket
{
	int			fd;
	int			events;			/* CB_OS_WAIT_READ | CB_OS_WAIT_WRITE */
	int			revents;		/* set by the wait function */
} CbOsWaitSocket;

/*
 * Wait until one of the sockets is ready or timeout_ms (>= 0, at most 1000)
 * passed; set revents.  Return false to abandon every transfer in progress
 * (they fail with "interrupted").  The server's function
 * (cb_os_latch_wait) also wakes on the latch and runs CHECK_FOR_INTERRUPTS
 * after it has released what it allocated, so it may throw; it never
 * returns false.  Called with nsocks 0 to sleep between retries.
 */
typedef bool (*CbOsWaitFn) (void *arg, CbOsWaitSocket *socks, int nsocks,
							long timeout_ms);

#ifndef CB_OS_NO_BACKEND
extern bool cb_os_latch_wait(void *arg, CbOsWaitSocket *socks, int nsocks,
							 long timeout_ms);
#else
/*
 * The same with poll(), for the standalone programs: arg points to a
 * volatile sig_atomic_t that a signal handler sets to stop (or is NULL).
 */
extern bool cb_os_poll_wait(void *arg, CbOsWaitSocket *socks, int nsocks,
							long timeout_ms);
#endif

/* ---------- configuration ---------- */

typedef enum CbOsProvider
{
	CB_OS_PROVIDER_S3,
	CB_OS_PROVIDER_AZURE,
	CB_OS_PROVIDER_GOOGLE
} CbOsProvider;

typedef struct CbOsConfig
{
	CbOsProvider provider;
	char	   *destination_path;	/* s3://bucket[/prefix], or an Azure URL */
	char	   *endpoint_url;	/* NULL: AWS (virtual-hosted style) */
	char	   *endpoint_ca_file;	/* PEM bundle, NULL: the system's */
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *region;			/* NULL: us-east-1 */
	char	   *session_token;	/* NULL: none */

	/* Azure Blob Storage (azureCredentials; endpoint_url is not used) */
	char	   *azure_account;	/* storageAccount or AccountName; signs
								 * only with azure_endpoint, else the
								 * destinationPath's account does */
	char	   *azure_key;		/* base64 account key: Shared Key */
	char	   *azure_sas_token;	/* SAS query ('?' optional); wins over
									 * the key, as in barman-cloud */
	char	   *azure_endpoint; /* a connection string's BlobEndpoint; NULL:
								 * from destinationPath */

	/* Google Cloud Storage (googleCredentials; endpoint_url: the XML API's
	 * origin, NULL for storage.googleapis.com) */
	char	   *google_credentials; /* the service-account JSON key */

	/* tuning; 0 means the default in brackets */
	int			connect_timeout_ms; /* [10000] */
	int			stall_timeout_s;	/* no byte for this long = failure [60] */
	int			max_retries;	/* after the first attempt [6]; -1: none */
	int			retry_base_ms;	/* first backoff, doubled each time [200] */
	int			retry_max_ms;	/* backoff cap [5000] */
	int			max_parallel;	/* transfers at once in get_many [8] */

	CbOsWaitFn	wait;			/* NULL: cb_os_latch_wait (server only) */
	void	   *wait_arg;
} CbOsConfig;

#ifndef CB_OS_NO_BACKEND
/*
 * cnpg_bootstrap.store_timeout: seconds without a byte from the store
 * before a request is given up and retried (cfg.stall_timeout_s of every
 * client cb_os_config_from_store configures, the WAL program's included)
 */
extern int	cb_store_timeout;
#endif

/*
 * A Secret's values, looked up by name (the recovery method looks them up
 * among the Secrets the plan resolved, resolved.h); false when the Secret
 * does not exist.
 */
typedef bool (*CbOsSecretLookup) (const char *name, CbMap *data);

/*
 * Fill cfg from a barmanObjectStore stanza: the provider from the
 * credentials given, the credentials resolved through lookup (an Azure
 * connectionString is parsed into the azure_* fields), endpointCA written
 * to ca_file (0600, atomically) when set.  Errors use CloudNativePG's
 * texts ("ObjectStoreConfiguration invalid: no credentials defined",
 * "missing key <k>, inside secret <s>"); gkeEnvironment, inheritFromIAMRole,
 * inheritFromAzureAD and useDefaultAzureCredentials give "<field> not
 * supported yet" with a hint.
 */
extern bool cb_os_config_from_store(const CbObjectStore *store,
									CbOsSecretLookup lookup,
									const char *ca_file,
									CbOsConfig *cfg, CbOsError *err);

/* s3://bucket[/prefix]: prefix without leading/trailing '/', "" if none */
extern bool cb_os_parse_destination(const char *path, char **bucket,
									char **prefix, CbOsError *err);
/* a copy of the path after a bucket, without leading/trailing '/' */
extern char *cb_os_trim_prefix(const char *rest);

/* ---------- the client ---------- */

typedef struct CbOsClient CbOsClient;

/*
 * NULL with err set if the configuration cannot work (bad URL, Azure ...).
 * No request is made.  In the server the client and its libcurl handles
 * are released with the memory context it was created in, so an ERROR
 * thrown between calls leaks nothing.
 */
extern CbOsClient *cb_os_client_create(const CbOsConfig *cfg, CbOsError *err);
extern void cb_os_client_free(CbOsClient *client);

/* "s3://bucket/prefix/<key>" or the blob's https URL, for messages */
extern char *cb_os_url(const CbOsClient *client, const char *key);

typedef struct CbOsObject
{
	char	   *key;			/* relative to the destinationPath */
	int64		size;
	char	   *etag;			/* as the store sent it, quotes included */
	char	   *last_modified;
} CbOsObject;

typedef struct CbOsListing
{
	int			nobjects;
	CbOsObject *objects;		/* in the store's order (by key) */
	int			nprefixes;
	char	  **prefixes;		/* CommonPrefixes, relative, ending in the
								 * delimiter */
	int			npages;			/* requests made */
} CbOsListing;

/*
 * ListObjectsV2 (Azure: List Blobs) of everything under prefix (relative),
 * following continuation tokens (NextMarker).  delimiter may be NULL;
 * max_keys 0 = the store's default (1000, Azure 5000).  A missing bucket
 * or container is an error naming it; a prefix with nothing under it is
 * an empty listing.  Entries the store returns outside prefix are left
 * out; more than 1000 pages, 100000 entries or 64 MB of names is an error
 * (a store whose listing never ends cannot exhaust memory).
 */
extern CbOsStatus cb_os_list(CbOsClient *client, const char *prefix,
							 const char *delimiter, int max_keys,
							 CbOsListing *out, CbOsError *err);

/*
 * Receives the bytes of a GET in order, each byte once even across retries
 * (a retry resumes with a Range from where the last one stopped, guarded by
 * If-Match on the object's ETag).  Return false to stop the transfer (it
 * then fails with "stopped by the receiver").  Must not throw: libcurl is
 * on the stack.
 */
typedef bool (*CbOsWriteFn) (void *arg, const char *data, size_t len);

/*
 * GET key, bytes [offset, offset + length) (length -1: to the end),
 * streamed to fn.  size_out, when not NULL, gets the object's full size if
 * the store told it.
 */
extern CbOsStatus cb_os_get(CbOsClient *client, const char *key,
							int64 offset, int64 length,
							CbOsWriteFn fn, void *arg,
							int64 *size_out, CbOsError *err);

/* GET a small object whole into buf (fails past max_bytes) */
extern CbOsStatus cb_os_get_buffer(CbOsClient *client, const char *key,
								   size_t max_bytes, StringInfo buf,
								   CbOsError *err);

/* several GETs at once (at most cfg.max_parallel), each with its result */
typedef struct CbOsGetRequest
{
	const char *key;
	int64		offset;
	int64		length;			/* -1: to the end */
	int64		expect_size;	/* > 0: the size the listing gave; a body
								 * that ends short of it (an answer without
								 * Content-Length cut off) is resumed, not
								 * taken as whole.  0: unknown */
	CbOsWriteFn fn;
	void	   *arg;
	/* results */
	CbOsStatus	status;
	CbOsError	err;
	int64		size;			/* object size if known, else -1 */
} CbOsGetRequest;

/* true when every request got CB_OS_OK */
extern bool cb_os_get_many(CbOsClient *client, int n, CbOsGetRequest *reqs);

/*
 * A GET read piece by piece, for readers that pull (libarchive): read
 * returns the next bytes (len 0 with CB_OS_OK = the end), waiting on the
 * latch like every transfer; retries resume where the bytes stopped.
 */
typedef struct CbOsStream CbOsStream;

extern CbOsStream *cb_os_stream_open(CbOsClient *client, const char *key);
/* before the first read: the size the listing gave (as expect_size above) */
extern void cb_os_stream_expect(CbOsStream *s, int64 size);
extern CbOsStatus cb_os_stream_read(CbOsStream *s, const char **data, size_t *len);
extern const CbOsError *cb_os_stream_error(const CbOsStream *s);
extern void cb_os_stream_close(CbOsStream *s);

/* HEAD key: size, etag, last_modified (key set to the given key) */
extern CbOsStatus cb_os_head(CbOsClient *client, const char *key,
							 CbOsObject *info, CbOsError *err);

/* counters, for progress and benchmarks */
typedef struct CbOsStats
{
	int64		requests;		/* attempts, retries included */
	int64		retries;
	int64		bytes_received; /* response bodies */
} CbOsStats;

extern void cb_os_get_stats(const CbOsClient *client, CbOsStats *stats);

/* ---------- building blocks, exposed for the unit tests ---------- */

/* AWS URI encoding: all but A-Za-z0-9-_.~ as %XX; '/' kept if keep_slash */
extern char *cb_os_uri_encode(const char *s, bool keep_slash);

typedef struct CbOsHeader
{
	const char *name;
	const char *value;
} CbOsHeader;

typedef struct CbOsSigV4
{
	const char *method;
	const char *canonical_uri;	/* encoded path, "/" at least */
	const char *canonical_query;	/* sorted and encoded, "" if none */
	int			nheaders;
	const CbOsHeader *headers;	/* all signed headers, host included */
	const char *payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ */
	const char *region;
	const char *service;		/* "s3" */
	const char *access_key_id;
	const char *secret_access_key;
} CbOsSigV4;

/*
 * The Authorization header value.  canonical_request and string_to_sign,
 * when not NULL, receive those texts (for tests and debugging; they hold no
 * secret).
 */
extern char *cb_os_sigv4_authorization(const CbOsSigV4 *req,
									   char **canonical_request,
									   char **string_to_sign);

/* canonical query string from name/value pairs (values may be NULL) */
extern char *cb_os_canonical_query(int n, const CbOsHeader *params);

/*
 * The parts of a ListObjectsV2 answer or an <Error> document.  Returns
 * false with *errmsg for a document that is not well formed.
 */
typedef struct CbOsListPage
{
	bool		is_truncated;
	char	   *next_token;
	int			nobjects;
	CbOsObject *objects;		/* keys as in the document (full) */
	int			nprefixes;
	char	  **prefixes;
} CbOsListPage;

extern bool cb_os_parse_list_xml(const char *xml, size_t len,
								 CbOsListPage *page, char **errmsg);
extern bool cb_os_parse_error_xml(const char *xml, size_t len,
								  char **code, char **message);

/* the same parts of an Azure List Blobs answer (EnumerationResults) */
extern bool cb_os_parse_azure_list_xml(const char *xml, size_t len,
									   CbOsListPage *page, char **errmsg);

#endif							/* CB_OBJECTSTORE_H */
