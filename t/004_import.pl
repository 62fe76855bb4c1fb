# spec.bootstrap.initdb.import end to end: a plain PostgreSQL source made
# here (scram password for the importing role) with several databases,
# roles and memberships, a contrib extension, large objects, sequences,
# views, functions and a table of a million rows; microservice, schemaOnly
# and monolith imports compared with the source; the pg_roles fallback;
# clear failures; no dump left, no password in logs, ps or status; a crash
# of the control instance mid-import.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('56400-56499');
note("data_root: $root");

my $sampler = ps_sampler_start("$root/ps.txt", 20);

# ---------- the source ----------
my $src = PostgreSQL::Test::Cluster->new('source');
$src->init;
$src->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
# initdb -A trust also trusts TCP: only the test's own socket stays trusted
open(my $hba, '>', $src->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";
close $hba;
$src->start;
my $pw = "imp:o'rt\\Pa55";
(my $pw_sql = $pw) =~ s/'/''/g;
$src->safe_psql('postgres', <<"SQL");
CREATE ROLE importer LOGIN SUPERUSER PASSWORD '$pw_sql';
CREATE ROLE reader LOGIN PASSWORD '$pw_sql';
GRANT pg_read_all_data TO reader;
CREATE ROLE norights LOGIN PASSWORD '$pw_sql';
CREATE ROLE limited LOGIN PASSWORD '$pw_sql';
CREATE ROLE shop_owner LOGIN PASSWORD 'shop-owner-pw';
CREATE ROLE readers NOLOGIN;
CREATE ROLE analyst LOGIN CREATEDB PASSWORD 'analyst-pw' VALID UNTIL '2099-01-01 00:00:00+00' CONNECTION LIMIT 7;
GRANT readers TO analyst WITH ADMIN OPTION;
GRANT pg_read_all_stats TO analyst;
CREATE ROLE replicator LOGIN REPLICATION;
CREATE ROLE cnpg_pooler_pgbouncer LOGIN;
CREATE DATABASE shop OWNER shop_owner;
CREATE DATABASE hr OWNER analyst;
CREATE DATABASE crm;
SQL
$src->safe_psql('shop', <<'SQL');
CREATE EXTENSION pg_trgm;
SET ROLE shop_owner;
CREATE TABLE big (id bigserial PRIMARY KEY, name text NOT NULL, price numeric(12,2));
INSERT INTO big (name, price) SELECT 'item ' || g, (g % 1000) * 1.25 FROM generate_series(1, 1000000) g;
CREATE INDEX big_price ON big (price);
CREATE TABLE tags (id serial PRIMARY KEY, tag text UNIQUE);
INSERT INTO tags (tag) SELECT 'tag-' || md5(g::text) FROM generate_series(1, 2000) g;
CREATE INDEX tags_trgm ON tags USING gin (tag gin_trgm_ops);
CREATE SEQUENCE counter START 100;
SELECT nextval('counter'), nextval('counter'), nextval('counter');
CREATE VIEW expensive AS SELECT id, name FROM big WHERE price > 1200;
CREATE FUNCTION double_it(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
SELECT lo_from_bytea(0, convert_to('large object one', 'UTF8'));
SELECT lo_from_bytea(0, convert_to(repeat('blob', 10000), 'UTF8'));
GRANT SELECT ON big TO readers;
COMMENT ON TABLE big IS 'a million rows';
SQL
$src->safe_psql('hr', <<'SQL');
CREATE EXTENSION hstore;
SET ROLE analyst;
CREATE TABLE staff (id int PRIMARY KEY, name text, attrs hstore);
INSERT INTO staff SELECT g, 'person ' || g, hstore('level', (g % 5)::text) FROM generate_series(1, 500) g;
CREATE VIEW seniors AS SELECT * FROM staff WHERE attrs -> 'level' = '4';
GRANT SELECT ON staff TO readers;
RESET ROLE;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO limited;
SQL
$src->safe_psql('crm', <<'SQL');
CREATE TABLE customer (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
INSERT INTO customer (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 3000) g;
ALTER TABLE customer OWNER TO shop_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO limited;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO limited;
SQL
my $sport = $src->port;

# per table: rows and an md5 of every row in key order
my %tables = (shop => [qw(big tags)], hr => ['staff'], crm => ['customer']);
sub fingerprint
{
	my ($table) = @_;
	return "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY t.id)) FROM $table t";
}

sub cluster_doc
{
	my ($name, $import, $user, $secret_pw) = @_;
	return pw_secret("$name-pw", $secret_pw // $pw) . <<"YAML" . ext_cluster('source', $sport, $user // 'importer', password => "$name-pw");
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
$import
YAML
}

# ---------- 1. microservice ----------
apply(cluster_doc('micro', <<'YAML'));
      postInitApplicationSQL:
        - CREATE EXTENSION hstore
      import:
        type: microservice
        databases: [shop]
        source:
          externalCluster: source
        pgRestoreExtraOptions: [--no-tablespaces]
        pgRestorePostdataOptions: [--no-tablespaces, --no-comments]
        postImportApplicationSQL:
          - CREATE TABLE imported_marker AS SELECT count(*) AS n FROM big
YAML
is(wait_cluster('micro'), 'Cluster in healthy state', 'microservice import healthy');
for my $t (@{ $tables{shop} })
{
	is(tq('micro', 'app', fingerprint($t)), $src->safe_psql('shop', fingerprint($t)), "micro: $t rows and md5 equal the source");
}
is(tq('micro', 'app', 'SELECT last_value FROM counter'), '102', 'micro: sequence value carried');
is(tq('micro', 'app', 'SELECT last_value FROM big_id_seq'), '1000000', 'micro: serial sequence value carried');
is(tq('micro', 'app', 'SELECT count(*) FROM expensive'), $src->safe_psql('shop', 'SELECT count(*) FROM expensive'), 'micro: view');
is(tq('micro', 'app', 'SELECT double_it(21)'), '42', 'micro: function');
is(tq('micro', 'app', "SELECT count(*) FROM tags WHERE tag % 'tag-c4ca4238a0b923820dcc509a6f75849b'"), '1', 'micro: pg_trgm works');
is(tq('micro', 'app', "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), '|' ORDER BY oid) FROM pg_largeobject_metadata"),
	$src->safe_psql('shop', "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), '|' ORDER BY oid) FROM pg_largeobject_metadata"),
	'micro: large objects carried');
is(tq('micro', 'app', "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	  . " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> 'app' AND c.relname <> 'imported_marker'"), '0',
	'micro: every relation owned by app (postImportApplicationSQL runs as postgres, as in CloudNativePG)');
is(tq('micro', 'app', "SELECT count(*) FROM pg_largeobject_metadata WHERE pg_get_userbyid(lomowner) <> 'app'"), '0',
	'micro: large objects owned by app');
is(tq('micro', 'app', "SELECT count(*) FROM pg_proc WHERE proname = 'double_it' AND pg_get_userbyid(proowner) = 'app'"), '1',
	'micro: function owned by app');
is(tq('micro', 'app', "SELECT coalesce(array_to_string(relacl, ','), '') FROM pg_class WHERE relname = 'big'"), '',
	'micro: no privileges carried (--no-privileges)');
is(tq('micro', 'app', 'SELECT n FROM imported_marker'), '1000000', 'micro: postImportApplicationSQL ran after the data');
is(tq('micro', 'app', "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'big'"), 't', 'micro: ANALYZE ran');
is(tq('micro', 'postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"), 'f', 'micro: owner is not SUPERUSER afterwards');
is(tq('micro', 'app', "SELECT count(*) FROM pg_extension WHERE extname = 'hstore'"), '0',
	'micro: extensions made by postInitApplicationSQL are dropped before the restore (CloudNativePG)');
ok(!-e "$root/micro/import", 'micro: no dump directory left');
is(q1("SELECT string_agg(instance || ':' || outcome, ' ' ORDER BY instance) FROM cnpg_bootstrap.steps WHERE cluster = 'micro' AND step = 'import'"),
	':done app:done', 'micro: import journaled (whole and per database)');
like(slurp_file($node->logfile), qr/pg_restore app: running \S+ .*--section=post-data.*--no-comments/,
	'micro: per-section options give one pg_restore run per section');
like(slurp_file($node->logfile), qr/pg_dump shop: running \S+pg_dump -Fd -j\d+ /, 'micro: pg_dump -Fd -j');

# ---------- 2. schemaOnly ----------
apply(cluster_doc('schemaonly', <<'YAML'));
      import:
        type: microservice
        databases: [shop]
        schemaOnly: true
        source:
          externalCluster: source
YAML
is(wait_cluster('schemaonly'), 'Cluster in healthy state', 'schemaOnly import healthy');
is(tq('schemaonly', 'app', 'SELECT (SELECT count(*) FROM big) + (SELECT count(*) FROM tags)'), '0', 'schemaOnly: no rows copied');
is(tq('schemaonly', 'app', "SELECT count(*) FROM pg_indexes WHERE indexname IN ('big_price', 'tags_trgm')"), '2',
	'schemaOnly: post-data (indexes) restored');
is(tq('schemaonly', 'app', 'SELECT double_it(2)'), '4', 'schemaOnly: functions');

# ---------- 3. monolith, everything ----------
apply(cluster_doc('mono', <<'YAML'));
      import:
        type: monolith
        databases: ["*"]
        roles: ["*"]
        source:
          externalCluster: source
YAML
is(wait_cluster('mono'), 'Cluster in healthy state', 'monolith import healthy');
for my $db (sort keys %tables)
{
	for my $t (@{ $tables{$db} })
	{
		is(tq('mono', $db, fingerprint($t)), $src->safe_psql($db, fingerprint($t)), "mono: $db.$t rows and md5 equal the source");
	}
}
my $owners = "SELECT string_agg(c.relname || '=' || pg_get_userbyid(c.relowner), ',' ORDER BY c.relname)"
  . " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'";
for my $db (sort keys %tables)
{
	is(tq('mono', $db, $owners), $src->safe_psql($db, $owners), "mono: $db object owners kept");
}
my $dbowners = "SELECT string_agg(datname || '=' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database"
  . " WHERE datname IN ('shop', 'hr', 'crm')";
is(tq('mono', 'postgres', $dbowners), $src->safe_psql('postgres', $dbowners), 'mono: database owners kept');
my $acl = "SELECT array_to_string(relacl, ',') FROM pg_class WHERE relname = 'big'";
is(tq('mono', 'shop', $acl), $src->safe_psql('shop', $acl), 'mono: privileges kept');
my $members = "SELECT string_agg(r.rolname || '>' || m.rolname || ':' || am.admin_option, ',' ORDER BY r.rolname, m.rolname)"
  . " FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member"
  . " WHERE m.rolname IN ('analyst', 'reader')";
is(tq('mono', 'postgres', $members), $src->safe_psql('postgres', $members), 'mono: role memberships (predefined roles too)');
my $attrs = "SELECT string_agg(concat_ws(':', rolname, rolcanlogin, rolcreatedb, rolconnlimit,"
  . " to_char(rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')), ',' ORDER BY rolname)"
  . " FROM pg_roles WHERE rolname IN ('analyst', 'readers', 'shop_owner')";
is(tq('mono', 'postgres', $attrs), $src->safe_psql('postgres', $attrs),
	'mono: role attributes carried');
is(tq('mono', 'postgres', "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolsuper OR rolreplication"),
	'postgres,streaming_replica', 'mono: no imported role is SUPERUSER or REPLICATION');
is(tq('mono', 'postgres', "SELECT count(*) FROM pg_roles WHERE rolname IN ('importer', 'replicator')"), '2',
	'mono: superuser and replication roles imported without those attributes');
{
	my ($out, $err);
	local $ENV{PGPASSWORD} = 'analyst-pw';
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', port_of('mono-1'), '-U', 'analyst', '-d', 'hr',
		'-c', 'SELECT current_user, count(*) FROM staff' ], '>', \$out, '2>', \$err);
	is($out, "analyst|500\n", 'mono: a role logs in on the target with its source password (verifier carried)');
}
is(tq('mono', 'shop', "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), '|' ORDER BY oid) FROM pg_largeobject_metadata"),
	$src->safe_psql('shop', "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), '|' ORDER BY oid) FROM pg_largeobject_metadata"),
	'mono: large objects carried');
is(tq('mono', 'hr', "SELECT count(*) FROM seniors"), '100', 'mono: view over an hstore column');
is(tq('mono', 'postgres', "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate"),
	'crm,hr,postgres,shop', 'mono: "*" imports every database but postgres');
ok(!-e "$root/mono/import", 'mono: no dump directory left');

# ---------- 4. monolith as a role that cannot read pg_authid ----------
apply(cluster_doc('fallback', <<'YAML', 'limited'));
      import:
        type: monolith
        databases: [hr, crm]
        roles: [analyst, readers, shop_owner, limited, cnpg_pooler_pgbouncer]
        source:
          externalCluster: source
YAML
is(wait_cluster('fallback'), 'Cluster in healthy state', 'monolith without pg_authid healthy');
like(slurp_file($node->logfile), qr/WARNING:  source source: role "limited" cannot read pg_authid; roles are imported from pg_roles without their passwords/,
	'fallback: WARNING names the role and what is lost');
like(slurp_file($node->logfile), qr/WARNING:  role "cnpg_pooler_pgbouncer" is not imported/, 'fallback: a listed role of the target is skipped with a WARNING');
is(tq('fallback', 'postgres', "SELECT string_agg(rolname || ':' || (rolpassword IS NULL), ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('analyst', 'readers', 'shop_owner', 'importer')"),
	'analyst:true,readers:true,shop_owner:true', 'fallback: listed roles only, without passwords');
is(tq('fallback', 'hr', fingerprint('staff')), $src->safe_psql('hr', fingerprint('staff')), 'fallback: data');
is(tq('fallback', 'postgres', $members), 'pg_read_all_stats>analyst:false,readers>analyst:true', 'fallback: memberships');

# ---------- 5. clear failures ----------
sub failing
{
	my ($name, $import, $user, $secret_pw) = @_;
	apply(cluster_doc($name, $import, $user, $secret_pw));
	is(wait_cluster($name), 'Bootstrap failed', "$name fails");
	ok(!-e "$root/$name/import", "$name: no dump directory left");
	return status($name, 'phase_reason');
}
my $micro_shop = <<'YAML';
      import:
        type: microservice
        databases: [shop]
        source:
          externalCluster: source
YAML
like(failing('badpw', $micro_shop, 'importer', 'wrong'),
	qr/^import: source source does not answer: .*password authentication failed for user "importer"/s, 'wrong password');
like(failing('nodb', $micro_shop =~ s/\[shop\]/[nosuch]/r, 'importer'),
	qr/^import: preflight of source source: database "nosuch" does not exist/, 'missing database named');
like(failing('norights', $micro_shop, 'norights'),
	qr/^import: preflight of source source: role "norights" cannot read everything in database "shop"\nNot readable: sequence public.big_id_seq, sequence public.counter, sequence public.tags_id_seq, table public.big, table public.tags, \.\.\./,
	'missing rights named');
like(failing('nolo', $micro_shop, 'reader'), qr/cannot read everything in database "shop"\nNot readable: large object \d+/,
	'large objects it cannot read named');
like(failing('badopt', $micro_shop . "        pgDumpExtraOptions: [-v, -f, /tmp/elsewhere]\n", 'importer'),
	qr/^import: spec.bootstrap.initdb.import.pgDumpExtraOptions\[1\]: option "-f" cannot be passed to pg_dump\nthe dump goes to a directory/,
	'-f refused with its reason');
my $leaky = 'postgresql://importer:' . 'Leak3dSecret@localhost/shop';
my $reason = failing('badopt2', $micro_shop . "        pgRestoreDataOptions: [\"--dbname=$leaky\"]\n", 'importer');
like($reason, qr/pgRestoreDataOptions\[0\]: option "--dbname" cannot be passed to pg_restore/, '--dbname refused');
ok(index($reason, 'Leak3dSecret') < 0, 'a refused option\'s value is not echoed');
like(failing('badopt3', $micro_shop . "        pgRestoreExtraOptions: [-n]\n", 'importer'),
	qr/pgRestoreExtraOptions\[0\]: option "-n" cannot be passed to pg_restore\nits value is missing/, 'a missing value refused');
like(failing('badopt4', $micro_shop . "        pgDumpExtraOptions: [shop2]\n", 'importer'),
	qr/pgDumpExtraOptions\[0\]: option "\(not an option\)"/, 'a positional argument refused');
like(failing('conflict', $micro_shop =~ s/      import:/      postInitApplicationSQL: ["CREATE TABLE tags (x int)"]\n      import:/r, 'importer'),
	qr/^import: database "app": pg_restore \(pre-data, data, post-data\) failed \(exit code 1\)\npg_restore: error: .*relation "tags" already exists/s,
	'a pg_restore failure names database, step and the tool\'s message');
unlike(status('conflict', 'phase_reason'), qr/Command was/, 'the statement echo is not in the reason');
is(tq('conflict', 'postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"), 'f', 'owner not SUPERUSER after a failed restore');

# ---------- 6. a crash of the control instance mid-import ----------
apply(cluster_doc('crashimp', $micro_shop));
$node->poll_query_until('postgres',
	"SELECT progress LIKE 'import: database 1 of 1 (app): pg_restore%' FROM cnpg_bootstrap.clusters WHERE name = 'crashimp'")
  or die 'restore never started';
usleep(500_000);
crash_control();
is(wait_cluster('crashimp'), 'Cluster in healthy state', 'healthy after a crash mid-import');
for my $t (@{ $tables{shop} })
{
	is(tq('crashimp', 'app', fingerprint($t)), $src->safe_psql('shop', fingerprint($t)), "crash: $t complete");
}
is(tq('crashimp', 'app', 'SELECT count(*) FROM pg_largeobject_metadata'), '2', 'crash: large objects once, not twice');
is(tq('crashimp', 'postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"), 'f', 'crash: owner not SUPERUSER');
ok(!-e "$root/crashimp/import", 'crash: no dump directory left');
like(slurp_file($node->logfile), qr/the import of database "app" of cluster "crashimp" did not finish; restoring it from scratch/,
	'crash: the half-restored database was redone');

# a monolith: two databases restored at once, both made again by pg_restore --create
apply(cluster_doc('crashmono', <<'YAML'));
      import:
        type: monolith
        databases: [shop, hr]
        roles: ["*"]
        source:
          externalCluster: source
YAML
$node->poll_query_until('postgres',
	"SELECT progress LIKE 'import: databases 1, 2 of 2 (shop, hr): pg_restore%' FROM cnpg_bootstrap.clusters WHERE name = 'crashmono'")
  or die 'monolith restore never started';
usleep(500_000);
crash_control();
is(wait_cluster('crashmono'), 'Cluster in healthy state', 'monolith healthy after a crash mid-import');
for my $db ('shop', 'hr')
{
	for my $t (@{ $tables{$db} })
	{
		is(tq('crashmono', $db, fingerprint($t)), $src->safe_psql($db, fingerprint($t)), "crash monolith: $db.$t complete");
	}
	is(tq('crashmono', $db, $owners), $src->safe_psql($db, $owners), "crash monolith: $db owners");
}
is(tq('crashmono', 'shop', 'SELECT count(*) FROM pg_largeobject_metadata'), '2', 'crash monolith: large objects once');
like(slurp_file($node->logfile), qr/the import of database "shop" of cluster "crashmono" did not finish; restoring it from scratch/,
	'crash monolith: the half-restored database was redone');

# ---------- 7. no password in logs, ps or status ----------
my $ps = ps_sampled($sampler);
like($ps, qr/pg_dump -Fd/, 'ps saw pg_dump running');
like($ps, qr/pg_restore/, 'ps saw pg_restore running');
my $status_text = q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s")
  . q1("SELECT string_agg(i::text, ' ') FROM cnpg_bootstrap.steps i")
  . q1("SELECT string_agg(coalesce(progress, ''), ' ') FROM cnpg_bootstrap.clusters");
my $logs = slurp_file($node->logfile);
for my $f (glob("$root/*/*/log/*")) { $logs .= slurp_file($f) if -f $f; }
my $verifier = $src->safe_psql('postgres', "SELECT rolpassword FROM pg_authid WHERE rolname = 'analyst'");
like($verifier, qr/^SCRAM-SHA-256/, 'the source stores a verifier');
for my $secret ($pw, $verifier, 'analyst-pw', 'Leak3dSecret')
{
	ok(index($ps, $secret) < 0, 'no secret in ps output');
	ok(index($logs, $secret) < 0, 'no secret in the logs');
	ok(index($status_text, $secret) < 0, 'no secret in status');
}

for my $c (qw(micro schemaonly mono fallback badpw nodb norights nolo badopt badopt2 badopt3 badopt4 conflict crashimp crashmono))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
$src->stop;
done_testing();
