/*-------------------------------------------------------------------------
 *
 * azureblob.h
 *	  The Azure Blob Storage pieces of the object-store client
 *	  (objectstore.c): destinationPath as barman-cloud reads it, connection
 *	  strings, Shared Key signatures (HMAC-SHA256 with OpenSSL), and the
 *	  HTTP date.  Pure: palloc and StringInfo only, no request is made here;
 *	  the client type, the transfers and the List Blobs reader stay in
 *	  objectstore.c, shared with S3.
 *
 * Errors are returned as texts (*errmsg, *hint) that never quote a key or
 * a SAS token.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_AZUREBLOB_H
#define CB_AZUREBLOB_H

#include "postgres.h"

#include "objectstore.h"

/* the x-ms-version we speak (Range answers with Content-Range, NextMarker) */
#define CB_AZ_VERSION "2021-08-06"

/*
 * Where a destinationPath points, as barman-cloud's AzureCloudInterface
 * reads it:
 *   https://<account>.blob.core.windows.net/<container>[/<prefix>]
 *     (any host ending in blob.core.windows.net; always reached over
 *     https, as the Azure SDK does with a bare account URL);
 *   http(s)://<host:port>/<account>/<container>[/<prefix>]
 *     (an emulator such as azurite: path-style, account first).
 * With endpoint (a connection string's BlobEndpoint) the requests go there
 * instead and only the container and prefix come from the path, as barman
 * does when AZURE_STORAGE_CONNECTION_STRING is set.
 */
typedef struct CbAzDestination
{
	char	   *origin;			/* scheme://host[:port] */
	char	   *base_path;		/* "/<container>" or "/<account>/<container>"
								 * (encoded) */
	char	   *account;		/* from the URL; NULL if it names none */
	char	   *container;
	char	   *prefix;			/* without leading/trailing '/', "" if none */
	bool		emulated;
} CbAzDestination;

extern bool cb_az_parse_destination(const char *path, const char *endpoint,
									CbAzDestination *dest, char **errmsg,
									char **hint);

/*
 * A connection string ("AccountName=...;AccountKey=...;BlobEndpoint=...",
 * keys case-insensitive, UseDevelopmentStorage=true for azurite's
 * defaults).  The endpoint is BlobEndpoint, else
 * <protocol>://<account>.blob.<EndpointSuffix>.  Fields absent are NULL.
 */
typedef struct CbAzConnection
{
	char	   *account;
	char	   *key;
	char	   *sas_token;
	char	   *endpoint;
} CbAzConnection;

extern bool cb_az_parse_connection_string(const char *cs, CbAzConnection *conn,
										  char **errmsg);

/* RFC 1123 date for x-ms-date, English names whatever the locale */
extern void cb_az_http_date(time_t t, char out[32]);

/*
 * A request to sign with Shared Key.  headers are every header sent:
 * the standard ones of the string-to-sign are picked by name, the x-ms-*
 * ones canonicalized.  params are the query's names and values, not
 * encoded.
 */
typedef struct CbAzSharedKey
{
	const char *method;
	const char *account;
	const char *key;			/* base64, as the portal shows it */
	const char *path;			/* encoded URL path, as sent */
	int			nparams;
	const CbOsHeader *params;
	int			nheaders;
	const CbOsHeader *headers;
} CbAzSharedKey;

/*
 * "SharedKey <account>:<signature>", or NULL with *errmsg when the key is
 * not base64.  string_to_sign, when not NULL, receives that text (no
 * secret in it).
 */
extern char *cb_az_shared_key_authorization(const CbAzSharedKey *req,
											char **string_to_sign,
											char **errmsg);

/* the value of the SAS token's sig parameter (to scrub it), or NULL */
extern char *cb_az_sas_signature(const char *sas);

#endif							/* CB_AZUREBLOB_H */
