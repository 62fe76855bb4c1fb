/*-------------------------------------------------------------------------
 *
 * tls.h
 *	  The cluster PKI as CloudNativePG makes it (docs/cnpg-rules.md §6.1): a CA,
 *	  the server certificate and client certificates (streaming_replica),
 *	  all ECDSA P-256, SHA-256, valid from now - 5 min to now + 90 days.
 *
 * Everything is exchanged as PEM text (certificates "CERTIFICATE", keys
 * "EC PRIVATE KEY", i.e. SEC1 as CNPG writes them), palloc'd.  Nothing here
 * throws: failures return false/NULL with *errmsg set (palloc'd), and the
 * caller ereports (without the key material, which never appears in an
 * error text).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_TLS_H
#define CB_TLS_H

#include "postgres.h"

/* a certificate and its private key, PEM, palloc'd */
typedef struct CbTlsPair
{
	char	   *cert_pem;
	char	   *key_pem;
} CbTlsPair;

/*
 * A CA ready to sign (certificate + private key).  Holds OpenSSL objects
 * outside palloc: release with cb_tls_ca_free, also on error paths.
 */
typedef struct CbTlsCA CbTlsCA;

/*
 * New CA: CN=<cluster>, OU=<namespace>, basicConstraints critical CA:TRUE,
 * keyUsage critical keyCertSign+cRLSign, subjectKeyIdentifier.  key_pem:
 * an existing private key to reuse (CA renewal keeps its key), or NULL for a
 * new one.
 */
extern bool cb_tls_make_ca(const char *cluster, const char *namespace,
						   const char *key_pem, CbTlsPair *out,
						   char **errmsg);

/* Load a CA to sign with; checks that the key matches and that it is a CA. */
extern CbTlsCA *cb_tls_load_ca(const char *cert_pem, const char *key_pem,
							   char **errmsg);
extern void cb_tls_ca_free(CbTlsCA *ca);

/*
 * Server certificate: CN=cn (CNPG: <cluster>-rw), basicConstraints critical
 * CA:FALSE, keyUsage critical digitalSignature+keyEncipherment+keyAgreement,
 * extKeyUsage serverAuth, authorityKeyIdentifier of the CA.  alt_names is a
 * NULL-terminated list: an IPv4/IPv6 literal becomes an IP SAN, anything
 * else a DNS SAN; cn is added when missing (as an IP SAN if it is an
 * address), as CNPG does.  key_pem: key to reuse, or NULL.
 */
extern bool cb_tls_make_server_cert(const CbTlsCA *ca, const char *cn,
									const char *const *alt_names,
									const char *key_pem, CbTlsPair *out,
									char **errmsg);

/*
 * Client certificate: CN=cn (streaming_replica, or a role name), keyUsage
 * critical digitalSignature+keyAgreement, extKeyUsage clientAuth, no SAN.
 */
extern bool cb_tls_make_client_cert(const CbTlsCA *ca, const char *cn,
									const char *key_pem, CbTlsPair *out,
									char **errmsg);

/*
 * Checks for certificates supplied by the user (CNPG only verifies those):
 * cb_tls_verify: cert chains to ca_cert_pem and is valid now;
 * cb_tls_check_key: key_pem is the private key of cert_pem.
 */
extern bool cb_tls_verify(const char *ca_cert_pem, const char *cert_pem,
						  char **errmsg);
extern bool cb_tls_check_key(const char *cert_pem, const char *key_pem,
							 char **errmsg);

/*
 * Validity of a certificate, as Unix times.  CNPG renews when now + 7 days
 * is past notAfter or now is before notBefore: see cb_tls_expiring.
 */
extern bool cb_tls_cert_validity(const char *cert_pem, int64 *not_before,
								 int64 *not_after, char **errmsg);
extern bool cb_tls_expiring(const char *cert_pem, bool *expiring,
							char **errmsg);

#endif							/* CB_TLS_H */
