/*-------------------------------------------------------------------------
 *
 * test_tls.c
 *	  Standalone tests of src/tls.c: makes a CA, a server and a client
 *	  certificate, writes them to a directory, and checks them with the
 *	  openssl command line tool (chain, extensions, key format) and with
 *	  tls.c's own checks.
 *
 * Build and run from the repository root:
 *   PGINC=$(pg_config --includedir-server); PGLIB=$(pg_config --pkglibdir)
 *   cc -O1 -g -Wall -I src -I "$PGINC" -I "$(pg_config --includedir)" \
 *      -o /tmp/test_tls test/unit/test_tls.c test/unit/unit_shim.c \
 *      src/tls.c -L"$PGLIB" -lpgcommon -lpgport -lssl -lcrypto
 *   /tmp/test_tls /tmp/tls_out
 * It ends with "N passed, N failed" and exits non-zero on a failure.
 *
 * The directory then holds ca.crt/ca.key, server.crt/server.key (CN
 * demo-rw, SANs localhost, 127.0.0.1, ::1, demo-rw.default ...) and
 * streaming_replica.crt/.key, for a check that PostgreSQL accepts them
 * (run as root; the files must belong to postgres, keys 0600):
 *   D=/tmp/tls_out; chown -R postgres: $D; chmod 600 $D/ca.key $D/server.key $D/streaming_replica.key
 *   runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D $D/pg -A trust -U postgres
 *   cat >> $D/pg/postgresql.conf <<EOC
 *   ssl = on
 *   ssl_cert_file = '$D/server.crt'
 *   ssl_key_file = '$D/server.key'
 *   ssl_ca_file = '$D/ca.crt'
 *   port = 55499
 *   unix_socket_directories = '$D'
 *   EOC
 *   printf 'hostssl all streaming_replica 127.0.0.1/32 cert\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n' > $D/pg/pg_hba.conf
 *   printf 'local all all trust\n' >> $D/pg/pg_hba.conf
 *   runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $D/pg -l $D/pg.log -w start
 *   psql "host=$D port=55499 user=postgres" -c 'CREATE ROLE streaming_replica LOGIN'
 *   psql "host=localhost port=55499 user=postgres sslmode=verify-full sslrootcert=$D/ca.crt" -c 'SELECT 1'
 *   psql "host=::1 port=55499 user=postgres sslmode=verify-full sslrootcert=$D/ca.crt" -c 'SELECT 1'
 *   psql "host=127.0.0.1 port=55499 user=streaming_replica dbname=postgres sslmode=verify-full \
 *         sslrootcert=$D/ca.crt sslcert=$D/streaming_replica.crt sslkey=$D/streaming_replica.key" -c 'SELECT current_user'
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "tls.h"

/* test reporting, in unit_shim.c */
extern void unit_check(bool cond, const char *what);
extern void unit_check_str(const char *got, const char *want, const char *what);
extern int	unit_finish(void);

#define check unit_check
#define check_str unit_check_str

static const char *dir;


static void
write_file(const char *name, const char *text)
{
	char	   *path = psprintf("%s/%s", dir, name);
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
	chmod(path, 0600);
}

/* output of a shell command (fixed strings built here, no user input) */
static char *
run(const char *fmt,...)
{
	char		cmd[2048];
	va_list		ap;
	FILE	   *p;
	StringInfoData out;
	char		buf[4096];
	size_t		n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	initStringInfo(&out);
	p = popen(cmd, "r");
	if (p == NULL)
		return out.data;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		appendBinaryStringInfo(&out, buf, n);
	pclose(p);
	return out.data;
}

static bool
contains(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* the extension block of "openssl x509 -text": critical flags are on the name line */
static void
check_text(const char *text, const char *needle, const char *what)
{
	bool		ok = contains(text, needle);

	check(ok, what);
	if (!ok)
		printf("#   missing: %s\n", needle);
}

int
main(int argc, char **argv)
{
	CbTlsPair	ca_pair;
	CbTlsPair	server;
	CbTlsPair	client;
	CbTlsPair	other_ca;
	CbTlsPair	renewed;
	CbTlsCA    *ca;
	CbTlsCA    *other;
	char	   *err = NULL;
	char	   *text;
	bool		expiring = true;
	int64		nb = 0;
	int64		na = 0;
	const char *sans[] = {
		"localhost", "127.0.0.1", "::1",
		"demo-rw.default", "demo-rw.default.svc", "demo-rw.default.svc.cluster.local",
		"localhost",			/* a duplicate is written once */
		NULL
	};
	const char *bad_sans[] = {"bad name", NULL};

	dir = argc > 1 ? argv[1] : "/tmp/cb_tls_test";
	mkdir(dir, 0700);

	check(cb_tls_make_ca("demo", "default", NULL, &ca_pair, &err), "make CA");
	if (err)
		printf("#   %s\n", err);
	ca = cb_tls_load_ca(ca_pair.cert_pem, ca_pair.key_pem, &err);
	check(ca != NULL, "load CA to sign with");
	if (ca == NULL)
	{
		printf("#   %s\n", err);
		return unit_finish();
	}
	check(cb_tls_make_server_cert(ca, "demo-rw", sans, NULL, &server, &err), "make server certificate");
	check(cb_tls_make_client_cert(ca, "streaming_replica", NULL, &client, &err), "make client certificate");

	write_file("ca.crt", ca_pair.cert_pem);
	write_file("ca.key", ca_pair.key_pem);
	write_file("server.crt", server.cert_pem);
	write_file("server.key", server.key_pem);
	write_file("streaming_replica.crt", client.cert_pem);
	write_file("streaming_replica.key", client.key_pem);

	/* key format as CNPG writes it */
	check(strncmp(ca_pair.key_pem, "-----BEGIN EC PRIVATE KEY-----", 30) == 0 &&
		  strncmp(server.key_pem, "-----BEGIN EC PRIVATE KEY-----", 30) == 0 &&
		  strncmp(client.key_pem, "-----BEGIN EC PRIVATE KEY-----", 30) == 0,
		  "keys are SEC1 'EC PRIVATE KEY' PEM");
	text = run("openssl ec -in %s/server.key -noout -text 2>&1", dir);
	check(contains(text, "ASN1 OID: prime256v1") && contains(text, "pub:"),
		  "server key: P-256 named curve with public key");

	/* chains */
	check(contains(run("openssl verify -CAfile %s/ca.crt %s/server.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: server certificate");
	check(contains(run("openssl verify -CAfile %s/ca.crt -purpose sslserver %s/server.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: server certificate for purpose sslserver");
	check(contains(run("openssl verify -CAfile %s/ca.crt -purpose sslclient %s/streaming_replica.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: client certificate for purpose sslclient");
	check(!contains(run("openssl verify -CAfile %s/ca.crt -purpose sslserver %s/streaming_replica.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: client certificate refused as a server one");
	check(contains(run("openssl verify -CAfile %s/ca.crt -verify_hostname demo-rw.default.svc %s/server.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: hostname in the SANs");
	check(contains(run("openssl verify -CAfile %s/ca.crt -verify_ip ::1 %s/server.crt 2>&1", dir, dir), ": OK"),
		  "openssl verify: IPv6 address in the SANs");

	/* CA extensions */
	text = run("openssl x509 -in %s/ca.crt -noout -text 2>&1", dir);
	check_text(text, "Subject: OU = default, CN = demo", "CA subject OU then CN");
	check_text(text, "Issuer: OU = default, CN = demo", "CA self-signed");
	check_text(text, "Signature Algorithm: ecdsa-with-SHA256", "CA signature ecdsa-with-SHA256");
	check_text(text, "X509v3 Basic Constraints: critical\n                CA:TRUE", "CA basicConstraints critical CA:TRUE");
	check_text(text, "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign", "CA keyUsage critical keyCertSign");
	check_text(text, "X509v3 Subject Key Identifier", "CA subjectKeyIdentifier");
	check_text(text, "Version: 3 (0x2)", "CA is X.509 v3");
	text = run("openssl x509 -in %s/ca.crt -noout -serial 2>&1", dir);
	check(strlen(text) >= strlen("serial=") + 8 && strlen(text) <= strlen("serial=") + 32 + 1,
		  "CA serial is at most 128 bits");

	/* server extensions */
	text = run("openssl x509 -in %s/server.crt -noout -text 2>&1", dir);
	check_text(text, "Subject: CN = demo-rw", "server subject CN=demo-rw");
	check_text(text, "Issuer: OU = default, CN = demo", "server issued by the CA");
	check_text(text, "X509v3 Basic Constraints: critical\n                CA:FALSE", "server basicConstraints critical CA:FALSE");
	check_text(text, "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment, Key Agreement", "server keyUsage");
	check_text(text, "X509v3 Extended Key Usage: \n                TLS Web Server Authentication", "server extKeyUsage serverAuth");
	check_text(text, "X509v3 Authority Key Identifier", "server authorityKeyIdentifier");
	check_text(text, "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:demo-rw.default, DNS:demo-rw.default.svc, DNS:demo-rw.default.svc.cluster.local, DNS:demo-rw",
			   "server SANs: DNS and IP, duplicate dropped, CN added");
	check(!contains(text, "Subject Key Identifier"), "server has no subjectKeyIdentifier (as crypto/x509)");

	/* client extensions */
	text = run("openssl x509 -in %s/streaming_replica.crt -noout -text 2>&1", dir);
	check_text(text, "Subject: CN = streaming_replica", "client subject CN=streaming_replica");
	check_text(text, "X509v3 Key Usage: critical\n                Digital Signature, Key Agreement", "client keyUsage");
	check_text(text, "X509v3 Extended Key Usage: \n                TLS Web Client Authentication", "client extKeyUsage clientAuth");
	check(!contains(text, "Subject Alternative Name"), "client has no SAN");

	/* validity: now - 5 min .. now + 90 days */
	check(cb_tls_cert_validity(server.cert_pem, &nb, &na, &err) &&
		  llabs((long long) (time(NULL) - 300 - nb)) <= 5 &&
		  llabs((long long) (time(NULL) + 90 * 86400 - na)) <= 5,
		  "validity from now - 5 min to now + 90 days");
	check(cb_tls_expiring(server.cert_pem, &expiring, &err) && !expiring,
		  "a new certificate is not expiring");

	/* checks for user-supplied certificates */
	check(cb_tls_verify(ca_pair.cert_pem, server.cert_pem, &err), "cb_tls_verify accepts our chain");
	check(cb_tls_check_key(server.cert_pem, server.key_pem, &err), "cb_tls_check_key accepts the right key");
	check(!cb_tls_check_key(server.cert_pem, client.key_pem, &err) && err != NULL,
		  "cb_tls_check_key refuses another key");
	check(cb_tls_make_ca("other", "default", NULL, &other_ca, &err), "make a second CA");
	check(!cb_tls_verify(other_ca.cert_pem, server.cert_pem, &err) && err != NULL,
		  "cb_tls_verify refuses a certificate of another CA");
	if (err)
		printf("#   (expected) %s\n", err);
	check(cb_tls_load_ca(server.cert_pem, server.key_pem, &err) == NULL &&
		  err != NULL && contains(err, "not a certificate authority"),
		  "a leaf cannot be loaded as a CA");
	check(cb_tls_load_ca(ca_pair.cert_pem, server.key_pem, &err) == NULL &&
		  err != NULL && contains(err, "does not match"),
		  "a CA with the wrong key is refused");
	check(cb_tls_load_ca("garbage", "garbage", &err) == NULL && err != NULL,
		  "garbage PEM is refused with a message");

	/* renewal with the same key; signing with a CA loaded again */
	check(cb_tls_make_ca("demo", "default", ca_pair.key_pem, &renewed, &err) &&
		  cb_tls_check_key(renewed.cert_pem, ca_pair.key_pem, &err),
		  "CA renewed with its key");
	check(cb_tls_make_server_cert(ca, "demo-rw", sans, server.key_pem, &renewed, &err) &&
		  cb_tls_check_key(renewed.cert_pem, server.key_pem, &err) &&
		  strcmp(renewed.cert_pem, server.cert_pem) != 0,
		  "server certificate re-issued with the same key");
	other = cb_tls_load_ca(other_ca.cert_pem, other_ca.key_pem, &err);
	check(other != NULL && cb_tls_make_client_cert(other, "app", NULL, &renewed, &err) &&
		  cb_tls_verify(other_ca.cert_pem, renewed.cert_pem, &err),
		  "second CA signs a client certificate");
	check(!cb_tls_make_server_cert(ca, "demo-rw", bad_sans, NULL, &renewed, &err) &&
		  err != NULL && contains(err, "invalid DNS name"),
		  "an invalid DNS name is refused");
	check(!cb_tls_make_client_cert(ca, "", NULL, &renewed, &err) && err != NULL,
		  "an empty CN is refused");
	{
		char		longcn[80];

		memset(longcn, 'a', 70);
		longcn[70] = '\0';
		check(!cb_tls_make_client_cert(ca, longcn, NULL, &renewed, &err) && err != NULL,
			  "a CN over 64 characters is refused with a message");
	}
	{
		const char *ip_cn_sans[] = {"localhost", NULL};

		check(cb_tls_make_server_cert(ca, "127.0.0.2", ip_cn_sans, NULL, &renewed, &err), "server certificate with an IP CN");
		write_file("ipcn.crt", renewed.cert_pem);
		text = run("openssl x509 -in %s/ipcn.crt -noout -ext subjectAltName 2>&1", dir);
		check_text(text, "DNS:localhost, IP Address:127.0.0.2", "an IP CN becomes an IP SAN");
	}
	cb_tls_ca_free(other);
	cb_tls_ca_free(ca);

	return unit_finish();
}
