-- Input rules of issue 11 (safety first), checked at apply:
--  1. PostgreSQL parameter names are case-insensitive, so are the checks of
--     the parameters the operator owns, of wal_level and its companions;
--     include directives are no parameters; two keys that differ only in
--     case are one parameter;
--  2. bootstrap.initdb.options: only options that map to CloudNativePG's
--     own initdb fields, read the way initdb's getopt reads them;
--  3. externalClusters[].connectionParameters: no password, sslpassword,
--     passfile, host TLS/CRL files, service files; a pg_basebackup source
--     needs connectionParameters.
-- No error field ever carries the value of a refused parameter, option or
-- connection parameter: each case below holds a marker (S3CR3T) that the
-- error must not contain.
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;
\set ON_ERROR_STOP 0
\set VERBOSITY default

-- SQLSTATE and errmsg of a rejection, or what a dry run accepted; and
-- whether S3CR3T appears in any error field
CREATE FUNCTION pg_temp.try_apply(manifest text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
	r record;
	result text := 'accepted:';
	msg text;
	det text;
	hnt text;
BEGIN
	FOR r IN SELECT * FROM cnpg_bootstrap_apply(manifest, dry_run => true) LOOP
		result := result || ' ' || r.kind || '/' || r.name || ' ' || r.action;
	END LOOP;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		hnt = PG_EXCEPTION_HINT;
	IF concat(msg, det, hnt) LIKE '%S3CR3T%' THEN
		RETURN 'LEAK: ' || concat_ws(' | ', msg, det, hnt);
	END IF;
	RETURN SQLSTATE || ' ' || msg;
END
$f$;

-- a Cluster with the given parameters (a YAML flow map) and instances
CREATE FUNCTION pg_temp.params(params text, instances int DEFAULT 1,
							   annotations text DEFAULT '{}') RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-params
  annotations: %s
spec:
  instances: %s
  storage:
    size: 1Gi
  postgresql:
    parameters: %s
$m$, annotations, instances, params)
$f$;

-- a Cluster whose initdb has the given options (a YAML flow sequence)
CREATE FUNCTION pg_temp.initdb_options(options text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-initdb
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      options: %s
$m$, options)
$f$;

-- a pg_basebackup Cluster whose source has the given connectionParameters
CREATE FUNCTION pg_temp.source(params text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-source
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
  - name: origin
    connectionParameters: %s
    password: {name: origin-pw, key: password}
$m$, params)
$f$;

------------------------------------------------------------------------
-- 1. parameter names are case-insensitive
------------------------------------------------------------------------

-- operator parameters in any case; an operator parameter is accepted only
-- with CloudNativePG's own value (archive_mode 'on'), in any case too
SELECT p, pg_temp.try_apply(pg_temp.params(p))
FROM (VALUES ('{Restore_Command: "cp /S3CR3T/%f %p"}'),
			 ('{Log_File_Mode: "0666"}'),
			 ('{Shared_Preload_Libraries: S3CR3T}'),
			 ('{Data_Directory: /tmp/S3CR3T}'),
			 ('{PORT: "5432"}'),
			 ('{SSL_Passphrase_Command: "echo S3CR3T"}'),
			 ('{Archive_Command: "S3CR3T"}'),
			 ('{Archive_Mode: "on"}'),
			 ('{ARCHIVE_MODE: "off"}'),
			 ('{Log_Destination: csvlog}'),
			 ('{Work_Mem: 8MB}')) AS t(p);

-- include directives are no parameters: postgresql.conf would read the file
SELECT p, pg_temp.try_apply(pg_temp.params(p))
FROM (VALUES ('{include: /etc/S3CR3T}'),
			 ('{include_if_exists: /etc/S3CR3T}'),
			 ('{include_dir: /etc/S3CR3T}'),
			 ('{INCLUDE: /etc/S3CR3T}'),
			 ('{Include_Dir: /etc/S3CR3T}'),
			 ('{included: "1"}')) AS t(p);

-- two keys that differ only in case are the same parameter
SELECT pg_temp.try_apply(pg_temp.params('{work_mem: 4MB, WORK_MEM: S3CR3T}'));

-- wal_level and its companions, whatever the case of their names
SELECT p, n, pg_temp.try_apply(pg_temp.params(p, n, a))
FROM (VALUES ('{WAL_LEVEL: minimal}', 3, '{}'),
			 ('{Wal_Level: minimal}', 1, '{}'),
			 ('{Wal_Level: minimal, Max_Wal_Senders: "5"}', 1,
			  '{cnpg.io/skipWalArchiving: enabled}'),
			 ('{Wal_Level: minimal, Max_Wal_Senders: "0"}', 1,
			  '{cnpg.io/skipWalArchiving: enabled}'),
			 ('{Wal_Level: S3CR3T}', 1, '{}'),
			 ('{Wal_Log_Hints: "off"}', 3, '{}'),
			 ('{Wal_Log_Hints: S3CR3T}', 1, '{}'),
			 ('{Max_Wal_Size: S3CR3T}', 1, '{}'),
			 ('{Min_Wal_Size: 2GB}', 1, '{}')) AS t(p, n, a);

-- the whole error of a refused primary_conninfo: the parameter is named,
-- its value (a password here) is not
SELECT * FROM cnpg_bootstrap_apply(pg_temp.params(
	'{Primary_Conninfo: "host=x password=S3CR3T"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.params(
	'{wal_level: S3CR3T}'), dry_run => true);

-- pg_hba and pg_ident lines: one line each, no include, no @file
CREATE FUNCTION pg_temp.hba(field text, lines text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-hba
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    %s: %s
$m$, field, lines)
$f$;
SELECT f, l, pg_temp.try_apply(pg_temp.hba(f, l))
FROM (VALUES ('pg_hba', '["host all all 0.0.0.0/0 trust\ninclude /etc/S3CR3T"]'),
			 ('pg_hba', '["include_dir /etc/S3CR3T"]'),
			 ('pg_hba', '["  include_if_exists /etc/S3CR3T"]'),
			 ('pg_hba', '["host all @/etc/S3CR3T 0.0.0.0/0 scram-sha-256"]'),
			 ('pg_hba', '["host db1,@/etc/S3CR3T all 0.0.0.0/0 scram-sha-256"]'),
			 ('pg_ident', '["include /etc/S3CR3T"]'),
			 ('pg_ident', '["m u1 u2\rinclude /etc/S3CR3T"]'),
			 ('pg_hba', '["host all \"@literal\" 0.0.0.0/0 scram-sha-256"]'),
			 ('pg_hba', '["host all all 10.0.0.0/8 scram-sha-256 # @comment"]'),
			 ('pg_hba', '["hostssl app app all cert", "host all included 0.0.0.0/0 md5"]'),
			 ('pg_ident', '["mymap /^(.*)@example\\.com$ \\1"]')) AS t(f, l);

------------------------------------------------------------------------
-- 2. initdb options
------------------------------------------------------------------------

-- refused, each naming the option (never its value)
SELECT o, pg_temp.try_apply(pg_temp.initdb_options(o))
FROM (VALUES ('["-D", "/tmp/S3CR3T"]'),
			 ('["-D/tmp/S3CR3T"]'),
			 ('["--pgdata=/tmp/S3CR3T"]'),
			 ('["--pgdata", "/tmp/S3CR3T"]'),
			 ('["-X", "/tmp/S3CR3T"]'),
			 ('["--waldir=/tmp/S3CR3T"]'),
			 ('["-L", "/tmp/S3CR3T"]'),
			 ('["--pwfile=/etc/S3CR3T"]'),
			 ('["-W"]'),
			 ('["--pwprompt"]'),
			 ('["-U", "S3CR3T"]'),
			 ('["--username=S3CR3T"]'),
			 ('["-A", "trust"]'),
			 ('["--auth=trust"]'),
			 ('["--auth-local=trust"]'),
			 ('["--auth-host=trust"]'),
			 ('["-c", "archive_command=S3CR3T"]'),
			 ('["--set=archive_command=S3CR3T"]'),
			 ('["-s"]'),
			 ('["--show"]'),
			 ('["-S"]'),
			 ('["--sync-only"]'),
			 ('["-g"]'),
			 ('["--allow-group-access"]'),
			 ('["-n"]'),
			 ('["--discard-caches"]'),
			 ('["-V"]'),
			 ('["--help"]'),
			 ('["-kD", "/tmp/S3CR3T"]'),
			 ('["-kD/tmp/S3CR3T"]'),
			 ('["-k", "/tmp/S3CR3T"]'),
			 ('["--"]'),
			 ('["--", "-D"]'),
			 ('["-"]'),
			 ('["--pgd=/tmp/S3CR3T"]'),
			 ('["--enc=UTF8"]'),
			 ('["--no-such-option"]'),
			 ('["-E"]'),
			 ('["--locale"]'),
			 ('["--data-checksums=S3CR3T"]'),
			 ('["--encoding=UTF8", "-kq"]')) AS t(o);

-- accepted: what maps to CloudNativePG's initdb fields, and harmless flags;
-- a value is whatever follows its option, as getopt reads it
SELECT o, pg_temp.try_apply(pg_temp.initdb_options(o))
FROM (VALUES ('["-k"]'),
			 ('["--data-checksums"]'),
			 ('["-E", "UTF8", "--locale=C"]'),
			 ('["-EUTF8", "--lc-collate", "C", "--lc-ctype=C"]'),
			 ('["-kE", "UTF8"]'),
			 ('["-kEUTF8", "-d"]'),
			 ('["--encoding", "-D"]'),
			 ('["--locale-provider=icu", "--icu-locale=en"]'),
			 ('["--lc-messages=C", "--lc-monetary=C", "--lc-numeric=C", "--lc-time=C"]'),
			 ('["--no-locale", "--no-sync", "--no-instructions", "-N"]'),
			 ('["--wal-segsize=32", "-T", "english"]'),
			 ('["--debug"]')) AS t(o);

-- the whole error
SELECT * FROM cnpg_bootstrap_apply(pg_temp.initdb_options(
	'["-k", "--pwfile=/etc/S3CR3T"]'), dry_run => true);

------------------------------------------------------------------------
-- 3. connectionParameters
------------------------------------------------------------------------

SELECT p, pg_temp.try_apply(pg_temp.source(p))
FROM (VALUES ('{host: localhost, password: S3CR3T}'),
			 ('{host: localhost, sslpassword: S3CR3T}'),
			 ('{host: localhost, SSLPassword: S3CR3T}'),
			 ('{host: localhost, passfile: /etc/S3CR3T}'),
			 ('{host: localhost, sslkey: /etc/S3CR3T}'),
			 ('{host: localhost, sslcert: /etc/S3CR3T}'),
			 ('{host: localhost, sslrootcert: /etc/S3CR3T}'),
			 ('{host: localhost, sslcrl: /etc/S3CR3T}'),
			 ('{host: localhost, sslcrldir: /etc/S3CR3T}'),
			 ('{host: localhost, sslkeylogfile: /tmp/S3CR3T}'),
			 ('{host: localhost, service: S3CR3T}'),
			 ('{host: localhost, servicefile: /etc/S3CR3T}'),
			 ('{host: localhost, port: "5432", user: postgres, dbname: postgres, sslmode: verify-full}'),
			 ('{host: localhost, sslrootcert: system}')) AS t(p);

-- the whole error
SELECT * FROM cnpg_bootstrap_apply(pg_temp.source(
	'{host: localhost, user: u, sslpassword: S3CR3T}'), dry_run => true);

-- keys that are not plain words: written unquoted into a conninfo they made
-- other keywords, past the refusals above (found by fuzz/fuzz_conninfo);
-- the key is not shown
SELECT pg_temp.try_apply(pg_temp.source('{host: localhost, " passfile": /etc/S3CR3T}'));
SELECT pg_temp.try_apply(pg_temp.source($${host: localhost, "application_name='S3CR3T' passfile": /etc/S3CR3T}$$));
SELECT pg_temp.try_apply(pg_temp.source('{host: localhost, "host=S3CR3T": x}'));

-- a pg_basebackup source without connectionParameters fails at apply
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-nosource
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups/x
      s3Credentials:
        accessKeyId: {name: s3, key: id}
        secretAccessKey: {name: s3, key: key}
$$, dry_run => true);

-- rules hold for every externalClusters entry, used or not
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: r-unused
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
  - name: other
    connectionParameters: {host: localhost, service: S3CR3T}
$$, dry_run => true);

-- nothing was stored
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name LIKE 'r-%';
