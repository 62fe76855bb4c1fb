/*-------------------------------------------------------------------------
 *
 * hmac_sha256.c
 *	  HMAC-SHA-256 with OpenSSL, shared by every signer of the extension:
 *	  AWS Signature V4 (os_sigv4.c), Azure Shared Key (azureblob.c) and the
 *	  SCRAM verifiers of passwords (secrets.c).  It needs nothing of the
 *	  backend, so the WAL program (src/bin, -DCB_OS_NO_BACKEND) and the
 *	  standalone tests link it as well.
 *
 *	  A failure is returned, not thrown: each caller keeps its own policy
 *	  (an ERROR for a password verifier, a signature the store refuses for
 *	  a request).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hmac_sha256.h"

/* HMAC-SHA-256(key, msg) into out; false (out zeroed) if OpenSSL fails */
bool
cb_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			   unsigned char out[CB_HMAC_SHA256_LEN])
{
	unsigned int outlen = CB_HMAC_SHA256_LEN;

	if (HMAC(EVP_sha256(), key, (int) keylen, msg, msglen, out,
			 &outlen) == NULL || outlen != CB_HMAC_SHA256_LEN)
	{
		memset(out, 0, CB_HMAC_SHA256_LEN);
		return false;
	}
	return true;
}
