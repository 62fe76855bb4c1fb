/*-------------------------------------------------------------------------
 *
 * tls.c
 *	  The cluster PKI made the way CloudNativePG makes it (pkg/certs): a CA
 *	  per cluster, the server certificate it signs for the instances and
 *	  client certificates (streaming_replica) for cert authentication; plus
 *	  the checks applied to certificates a user supplies.
 *
 * OpenSSL 3 API only (EVP keys, OSSL_ENCODER; OPENSSL_API_COMPAT is raised
 * below so that a deprecated call does not compile).  Results are PEM text
 * in palloc'd memory; OpenSSL objects never leave this file except inside
 * an opaque CbTlsCA.  No ereport here: every function returns a message for
 * the caller to report, and no message ever holds key material.
 *
 * What CNPG's Go code does and we copy: ECDSA P-256 keys written as SEC1
 * "EC PRIVATE KEY"; random serials below 2^128; validity from 5 minutes ago
 * (clock skew) to 90 days ahead; critical keyUsage and basicConstraints;
 * subjectKeyIdentifier on the CA only and authorityKeyIdentifier on leaves
 * (as crypto/x509 does); subject OU then CN.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

/* OpenSSL 3 API only: deprecated calls fail to compile */
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 30000
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define CB_TLS_CURVE			"P-256"
#define CB_TLS_BACKDATE_SECS	(5 * 60)
#define CB_TLS_VALID_DAYS		90
#define CB_TLS_EXPIRING_SECS	(7 * 24 * 3600)
#define CB_TLS_SERIAL_BITS		128

struct CbTlsCA
{
	X509	   *cert;
	EVP_PKEY   *key;
};

/* what a new certificate is for */
typedef enum CbCertKind
{
	CB_CERT_CA,
	CB_CERT_SERVER,
	CB_CERT_CLIENT
} CbCertKind;

/*
 * An error message: what failed, plus OpenSSL's first queued reason (these
 * name a library condition, never data).  Clears OpenSSL's error queue.
 */
static char *
cb_tls_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char		buf[256];

	ERR_clear_error();
	if (e == 0)
		return pstrdup(what);
	ERR_error_string_n(e, buf, sizeof(buf));
	return psprintf("%s: %s", what, buf);
}

/* the contents of a memory BIO as a palloc'd string */
static char *
cb_bio_to_string(BIO *bio)
{
	char	   *data;
	long		len = BIO_get_mem_data(bio, &data);
	char	   *s = palloc(len + 1);

	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* never prompt on a terminal for a passphrase: encrypted keys are refused */
static int
cb_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static X509 *
cb_read_cert(const char *pem)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	X509	   *cert;

	if (bio == NULL)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, cb_no_passphrase, NULL);
	BIO_free(bio);
	return cert;
}

static EVP_PKEY *
cb_read_key(const char *pem)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY   *key;

	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, cb_no_passphrase, NULL);
	BIO_free(bio);
	return key;
}

/* a reused key (renewal) or a new P-256 key */
static EVP_PKEY *
cb_get_key(const char *key_pem, char **errmsg)
{
	EVP_PKEY   *key;

	if (key_pem == NULL)
	{
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CB_TLS_CURVE);
		if (key == NULL)
			*errmsg = cb_tls_error("could not generate an ECDSA P-256 key");
		return key;
	}
	key = cb_read_key(key_pem);
	if (key == NULL)
	{
		*errmsg = cb_tls_error("could not read the private key");
		return NULL;
	}
	if (!EVP_PKEY_is_a(key, "EC"))
	{
		EVP_PKEY_free(key);
		*errmsg = pstrdup("the private key is not an ECDSA key");
		return NULL;
	}
	return key;
}

/* SEC1 "EC PRIVATE KEY" PEM, with the curve and the public key, as Go's */
static char *
cb_key_to_pem(EVP_PKEY *key, char **errmsg)
{
	OSSL_ENCODER_CTX *ectx;
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *pem = NULL;

	if (bio == NULL)
	{
		*errmsg = cb_tls_error("out of memory");
		return NULL;
	}
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key, OSSL_KEYMGMT_SELECT_ALL,
										 "PEM", "type-specific", NULL);
	if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
		!OSSL_ENCODER_to_bio(ectx, bio))
		*errmsg = cb_tls_error("could not encode the private key");
	else
		pem = cb_bio_to_string(bio);
	OSSL_ENCODER_CTX_free(ectx);
	BIO_free(bio);
	return pem;
}

static char *
cb_cert_to_pem(X509 *cert, char **errmsg)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *pem = NULL;

	if (bio == NULL || !PEM_write_bio_X509(bio, cert))
		*errmsg = cb_tls_error("could not encode the certificate");
	else
		pem = cb_bio_to_string(bio);
	BIO_free(bio);
	return pem;
}

/* one extension from OpenSSL's configuration syntax (fixed strings only) */
static bool
cb_add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool		ok;

	if (ext == NULL)
		return false;
	ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* a random serial number in [1, 2^128), as CNPG's */
static bool
cb_set_serial(X509 *cert)
{
	BIGNUM	   *bn = BN_new();
	bool		ok = false;

	if (bn == NULL)
		return false;
	do
	{
		if (!BN_rand(bn, CB_TLS_SERIAL_BITS, BN_RAND_TOP_ANY,
					 BN_RAND_BOTTOM_ANY))
			goto done;
	} while (BN_is_zero(bn));
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
done:
	BN_free(bn);
	return ok;
}

/* a name that can go in a DNS SAN (IA5String): printable ASCII, no space */
static bool
cb_valid_dns_name(const char *name)
{
	const unsigned char *p;

	if (name[0] == '\0')
		return false;
	for (p = (const unsigned char *) name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

/* an IP address literal as an OCTET STRING, or NULL */
static ASN1_OCTET_STRING *
cb_ip_address(const char *name)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);

	ERR_clear_error();			/* "not an address" is not an error here */
	return ip;
}

/*
 * subjectAltName built from the list, not from a configuration string, so
 * that no name can inject OpenSSL syntax.  cn is added when missing.
 */
static bool
cb_add_san(X509 *cert, const char *cn, const char *const *alt_names,
		   char **errmsg)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int			n = 0;
	int			i;
	bool		have_cn = false;
	bool		ok = false;
	const char **names;

	if (gens == NULL)
	{
		*errmsg = cb_tls_error("out of memory");
		return false;
	}

	if (alt_names)
		while (alt_names[n])
			n++;
	names = palloc(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
	{
		names[i] = alt_names[i];
		if (strcmp(alt_names[i], cn) == 0)
			have_cn = true;
	}
	if (!have_cn)
		names[n++] = cn;

	for (i = 0; i < n; i++)
	{
		GENERAL_NAME *gen;
		ASN1_OCTET_STRING *ip;
		int			j;
		bool		dup = false;

		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				dup = true;
		if (dup)
			continue;

		gen = GENERAL_NAME_new();
		if (gen == NULL)
		{
			*errmsg = cb_tls_error("out of memory");
			goto done;
		}
		ip = cb_ip_address(names[i]);
		if (ip)
			GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
		else
		{
			ASN1_IA5STRING *ia5;

			if (!cb_valid_dns_name(names[i]))
			{
				GENERAL_NAME_free(gen);
				*errmsg = psprintf("invalid DNS name for a certificate: \"%s\"",
								   names[i]);
				goto done;
			}
			ia5 = ASN1_IA5STRING_new();
			if (ia5 == NULL || !ASN1_STRING_set(ia5, names[i], -1))
			{
				ASN1_IA5STRING_free(ia5);
				GENERAL_NAME_free(gen);
				*errmsg = cb_tls_error("out of memory");
				goto done;
			}
			GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		}
		if (!sk_GENERAL_NAME_push(gens, gen))
		{
			GENERAL_NAME_free(gen);
			*errmsg = cb_tls_error("out of memory");
			goto done;
		}
	}

	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0,
						  X509V3_ADD_DEFAULT) != 1)
	{
		*errmsg = cb_tls_error("could not add the subjectAltName extension");
		goto done;
	}
	ok = true;

done:
	GENERAL_NAMES_free(gens);
	pfree(names);
	return ok;
}

/*
 * Build and sign one certificate.  issuer == NULL makes it self-signed with
 * key.  Returns the PEM pair or false with *errmsg.
 */
static bool
cb_make_cert(CbCertKind kind, const char *cn, const char *ou,
			 const char *const *alt_names, const CbTlsCA *issuer,
			 const char *key_pem, CbTlsPair *out, char **errmsg)
{
	EVP_PKEY   *key = NULL;
	X509	   *cert = NULL;
	X509_NAME  *name;
	X509V3_CTX	ctx;
	X509	   *issuer_cert;
	EVP_PKEY   *sign_key;
	char	   *cert_pem;
	char	   *out_key_pem;
	bool		ok = false;

	*errmsg = NULL;
	memset(out, 0, sizeof(*out));
	ERR_clear_error();

	if (cn == NULL || cn[0] == '\0')
	{
		*errmsg = pstrdup("a certificate needs a common name");
		return false;
	}

	key = cb_get_key(key_pem, errmsg);
	if (key == NULL)
		return false;

	cert = X509_new();
	if (cert == NULL || !X509_set_version(cert, X509_VERSION_3) ||
		!cb_set_serial(cert) ||
		X509_gmtime_adj(X509_getm_notBefore(cert), -CB_TLS_BACKDATE_SECS) == NULL ||
		X509_gmtime_adj(X509_getm_notAfter(cert),
						(long) CB_TLS_VALID_DAYS * 24 * 3600) == NULL ||
		!X509_set_pubkey(cert, key))
	{
		*errmsg = cb_tls_error("could not build a certificate");
		goto done;
	}

	/* subject: OU before CN, the order crypto/x509 writes them in */
	name = X509_get_subject_name(cert);
	if ((ou != NULL &&
		 !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
									 (const unsigned char *) ou, -1, -1, 0)) ||
		!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
									(const unsigned char *) cn, -1, -1, 0))
	{
		*errmsg = cb_tls_error("invalid certificate subject (a name is limited to 64 characters)");
		goto done;
	}

	issuer_cert = issuer ? issuer->cert : cert;
	sign_key = issuer ? issuer->key : key;
	if (!X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)))
	{
		*errmsg = cb_tls_error("could not set the certificate issuer");
		goto done;
	}

	X509V3_set_ctx(&ctx, issuer_cert, cert, NULL, NULL, 0);
	switch (kind)
	{
		case CB_CERT_CA:
			ok = cb_add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
				cb_add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
				cb_add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
			break;
		case CB_CERT_SERVER:
			ok = cb_add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
				cb_add_ext(cert, &ctx, NID_key_usage,
						   "critical,digitalSignature,keyEncipherment,keyAgreement") &&
				cb_add_ext(cert, &ctx, NID_ext_key_usage, "serverAuth");
			break;
		case CB_CERT_CLIENT:
			ok = cb_add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
				cb_add_ext(cert, &ctx, NID_key_usage,
						   "critical,digitalSignature,keyAgreement") &&
				cb_add_ext(cert, &ctx, NID_ext_key_usage, "clientAuth");
			break;
	}
	/* a CA supplied without a subjectKeyIdentifier: no AKI then */
	if (ok && kind != CB_CERT_CA && X509_get0_subject_key_id(issuer_cert) != NULL)
		ok = cb_add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!ok)
	{
		*errmsg = cb_tls_error("could not add the certificate extensions");
		goto done;
	}
	ok = false;

	if (kind == CB_CERT_SERVER && !cb_add_san(cert, cn, alt_names, errmsg))
		goto done;

	if (X509_sign(cert, sign_key, EVP_sha256()) <= 0)
	{
		*errmsg = cb_tls_error("could not sign the certificate");
		goto done;
	}

	cert_pem = cb_cert_to_pem(cert, errmsg);
	if (cert_pem == NULL)
		goto done;
	out_key_pem = cb_key_to_pem(key, errmsg);
	if (out_key_pem == NULL)
		goto done;
	out->cert_pem = cert_pem;
	out->key_pem = out_key_pem;
	ok = true;

done:
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ok;
}

bool
cb_tls_make_ca(const char *cluster, const char *namespace,
			   const char *key_pem, CbTlsPair *out, char **errmsg)
{
	return cb_make_cert(CB_CERT_CA, cluster, namespace, NULL, NULL, key_pem,
						out, errmsg);
}

bool
cb_tls_make_server_cert(const CbTlsCA *ca, const char *cn,
						const char *const *alt_names, const char *key_pem,
						CbTlsPair *out, char **errmsg)
{
	return cb_make_cert(CB_CERT_SERVER, cn, NULL, alt_names, ca, key_pem,
						out, errmsg);
}

bool
cb_tls_make_client_cert(const CbTlsCA *ca, const char *cn,
						const char *key_pem, CbTlsPair *out, char **errmsg)
{
	return cb_make_cert(CB_CERT_CLIENT, cn, NULL, NULL, ca, key_pem, out,
						errmsg);
}

CbTlsCA *
cb_tls_load_ca(const char *cert_pem, const char *key_pem, char **errmsg)
{
	X509	   *cert;
	EVP_PKEY   *key;
	CbTlsCA    *ca;

	*errmsg = NULL;
	ERR_clear_error();
	cert = cb_read_cert(cert_pem);
	if (cert == NULL)
	{
		*errmsg = cb_tls_error("could not read the CA certificate");
		return NULL;
	}
	key = cb_read_key(key_pem);
	if (key == NULL)
	{
		X509_free(cert);
		*errmsg = cb_tls_error("could not read the CA private key");
		return NULL;
	}
	if (X509_check_private_key(cert, key) != 1)
	{
		*errmsg = pstrdup("the CA private key does not match the CA certificate");
		goto fail;
	}
	if (X509_check_ca(cert) == 0)
	{
		*errmsg = pstrdup("the CA certificate is not a certificate authority (basicConstraints CA:TRUE missing)");
		goto fail;
	}
	ERR_clear_error();

	ca = palloc(sizeof(CbTlsCA));
	ca->cert = cert;
	ca->key = key;
	return ca;

fail:
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return NULL;
}

void
cb_tls_ca_free(CbTlsCA *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	pfree(ca);
}

bool
cb_tls_verify(const char *ca_cert_pem, const char *cert_pem, char **errmsg)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	X509	   *cert = NULL;
	BIO		   *bio = NULL;
	X509	   *ca;
	int			nca = 0;
	bool		ok = false;

	*errmsg = NULL;
	ERR_clear_error();
	if (store == NULL || sctx == NULL)
	{
		*errmsg = cb_tls_error("out of memory");
		goto done;
	}

	/* the CA text may be a bundle */
	bio = BIO_new_mem_buf(ca_cert_pem, -1);
	while (bio && (ca = PEM_read_bio_X509(bio, NULL, cb_no_passphrase, NULL)) != NULL)
	{
		X509_STORE_add_cert(store, ca);
		X509_free(ca);
		nca++;
	}
	ERR_clear_error();			/* the end of the bundle reads as an error */
	if (nca == 0)
	{
		*errmsg = pstrdup("no certificate found in the CA text");
		goto done;
	}

	cert = cb_read_cert(cert_pem);
	if (cert == NULL)
	{
		*errmsg = cb_tls_error("could not read the certificate");
		goto done;
	}

	if (!X509_STORE_CTX_init(sctx, store, cert, NULL))
	{
		*errmsg = cb_tls_error("could not verify the certificate");
		goto done;
	}
	if (X509_verify_cert(sctx) != 1)
	{
		*errmsg = psprintf("certificate verification failed: %s",
						   X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
		goto done;
	}
	ok = true;

done:
	BIO_free(bio);
	X509_free(cert);
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

bool
cb_tls_check_key(const char *cert_pem, const char *key_pem, char **errmsg)
{
	X509	   *cert;
	EVP_PKEY   *key;
	bool		ok;

	*errmsg = NULL;
	ERR_clear_error();
	cert = cb_read_cert(cert_pem);
	if (cert == NULL)
	{
		*errmsg = cb_tls_error("could not read the certificate");
		return false;
	}
	key = cb_read_key(key_pem);
	if (key == NULL)
	{
		X509_free(cert);
		*errmsg = cb_tls_error("could not read the private key");
		return false;
	}
	ok = X509_check_private_key(cert, key) == 1;
	if (!ok)
		*errmsg = pstrdup("the private key does not match the certificate");
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ok;
}

static bool
cb_asn1_time_to_unix(const ASN1_TIME *t, int64 *result)
{
	struct tm	tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*result = (int64) timegm(&tm);
	return true;
}

bool
cb_tls_cert_validity(const char *cert_pem, int64 *not_before,
					 int64 *not_after, char **errmsg)
{
	X509	   *cert;
	bool		ok;

	*errmsg = NULL;
	ERR_clear_error();
	cert = cb_read_cert(cert_pem);
	if (cert == NULL)
	{
		*errmsg = cb_tls_error("could not read the certificate");
		return false;
	}
	ok = cb_asn1_time_to_unix(X509_get0_notBefore(cert), not_before) &&
		cb_asn1_time_to_unix(X509_get0_notAfter(cert), not_after);
	if (!ok)
		*errmsg = pstrdup("could not read the validity of the certificate");
	X509_free(cert);
	ERR_clear_error();
	return ok;
}

bool
cb_tls_expiring(const char *cert_pem, bool *expiring, char **errmsg)
{
	int64		not_before;
	int64		not_after;
	int64		now = (int64) time(NULL);

	if (!cb_tls_cert_validity(cert_pem, &not_before, &not_after, errmsg))
		return false;
	*expiring = now < not_before || now + CB_TLS_EXPIRING_SECS > not_after;
	return true;
}
