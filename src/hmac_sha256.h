/*-------------------------------------------------------------------------
 *
 * hmac_sha256.h
 *	  HMAC-SHA-256, the one implementation behind AWS Signature V4
 *	  (os_sigv4.c), Azure Shared Key (azureblob.c) and SCRAM verifiers
 *	  (secrets.c).  See hmac_sha256.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_HMAC_SHA256_H
#define CB_HMAC_SHA256_H

#define CB_HMAC_SHA256_LEN		32

extern bool cb_hmac_sha256(const void *key, size_t keylen, const void *msg,
						   size_t msglen, unsigned char out[CB_HMAC_SHA256_LEN]);

#endif							/* CB_HMAC_SHA256_H */
