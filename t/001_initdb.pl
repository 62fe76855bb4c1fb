# The initdb bootstrap method end to end: a control instance bootstraps real
# target clusters; every assertion reads the real outcome (the target's
# catalog, files, logs, ps).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('56100-56199', "cnpg_bootstrap.max_workers = 4\n");

# ps sampler: every 20 ms, all command lines, until stopped
my $sampler = ps_sampler_start("$root/ps.txt", 20);

# ---------- 1. every initdb option, post-init in order, user Secret + refs ----
is(apply(<<'YAML'), 'Secret/owner-secret created, Secret/sql-secret created, ConfigMap/sql-config created, Cluster/opts created', 'apply opts');
apiVersion: v1
kind: Secret
metadata:
  name: owner-secret
type: kubernetes.io/basic-auth
stringData:
  username: appuser
  password: "Pa55:w'o\\rd-of-appuser"
---
apiVersion: v1
kind: Secret
metadata:
  name: sql-secret
stringData:
  a.sql: INSERT INTO log_app (what) VALUES ('secret-ref');
  p.sql: INSERT INTO log_pg (what) VALUES ('secret-ref');
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: sql-config
data:
  a.sql: |
    INSERT INTO log_app (what) VALUES ('configmap-ref');
    INSERT INTO log_app (what) VALUES ('configmap-ref-2');
  t.sql: CREATE TABLE tmpl_ref (i int);
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: opts
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      work_mem: "7MB"
  bootstrap:
    initdb:
      database: appdb
      owner: appuser
      secret:
        name: owner-secret
      dataChecksums: true
      encoding: LATIN1
      localeCollate: C
      localeCType: C
      walSegmentSize: 32
      postInitSQL:
        - CREATE TABLE log_pg (n serial, what text)
        - INSERT INTO log_pg (what) VALUES ('inline')
      postInitSQLRefs:
        secretRefs:
          - name: sql-secret
            key: p.sql
      postInitTemplateSQL:
        - CREATE TABLE tmpl_marker (i int)
      postInitTemplateSQLRefs:
        configMapRefs:
          - name: sql-config
            key: t.sql
      postInitApplicationSQL:
        - CREATE TABLE log_app (n serial, what text)
        - INSERT INTO log_app (what) VALUES ('inline')
      postInitApplicationSQLRefs:
        configMapRefs:
          - name: sql-config
            key: a.sql
        secretRefs:
          - name: sql-secret
            key: a.sql
YAML
is(wait_cluster('opts'), 'Cluster in healthy state', 'opts healthy');
is(tq('opts', 'postgres', 'SHOW data_checksums'), 'on', 'dataChecksums -> data_checksums on');
is(tq('opts', 'postgres', 'SHOW wal_segment_size'), '32MB', 'walSegmentSize 32 -> 32MB');
is(tq('opts', 'postgres', "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = 'appdb'"),
	'LATIN1 C C', 'encoding/collate/ctype of the app database');
is(tq('opts', 'postgres', 'SHOW work_mem'), '7MB', 'spec parameter applied');
is(tq('opts', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'"), 'appuser', 'app database owned by the owner');
is(tq('opts', 'postgres', "SELECT string_agg(what, ',' ORDER BY n) FROM log_pg"), 'inline,secret-ref', 'postgres: inline then refs');
is(tq('opts', 'template1', "SELECT count(*) FROM pg_class WHERE relname IN ('tmpl_marker', 'tmpl_ref')"), '2', 'template1 SQL and refs');
is(tq('opts', 'appdb', "SELECT count(*) FROM pg_class WHERE relname IN ('tmpl_marker', 'tmpl_ref')"), '2', 'app database made from template1 after its SQL');
is(tq('opts', 'appdb', "SELECT string_agg(what, ',' ORDER BY n) FROM log_app"), 'inline,secret-ref,configmap-ref,configmap-ref-2',
	'app: inline, then Secrets before ConfigMaps, a script as one exec');

# the owner logs in over TCP with the Secret's password
my $port = port_of('opts-1');
{
	local $ENV{PGPASSWORD} = "Pa55:w'o\\rd-of-appuser";
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'appuser', '-d', 'appdb',
		'-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "appuser\n", 'owner logs in over TCP with the password of its Secret');
	local $ENV{PGPASSWORD} = 'wrong';
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'appuser', '-d', 'appdb',
		'-c', 'SELECT 1' ], '>', \$out, '2>', \$err);
	like($err, qr/password authentication failed/, 'a wrong password is refused');
}
is(tq('opts', 'postgres', "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres'"), 't',
	'superuser access disabled: postgres has no password');

# status from real state
my $pid = (split /\n/, slurp_file("$root/opts/opts-1/pgdata/postmaster.pid"))[0];
is(q1("SELECT role || ' ' || status || ' ' || pid || ' ' || timeline || ' ' || (lsn IS NOT NULL) FROM cnpg_bootstrap_instances('opts')"),
	"primary running $pid 1 true", 'instance row: role, status, pid, timeline, lsn');
is(status('opts', "current_primary || ' ' || rw_port || ' ' || ready_instances"), "opts-1 $port 1", 'status: primary, rw_port');
is(q1("SELECT count(*) FROM cnpg_bootstrap.steps WHERE cluster = 'opts' AND outcome = 'done' AND finished_at >= started_at"),
	'2', 'destructive steps journaled with times');

# ---------- 2. generated app Secret, defaults, superuser access, uri ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: gen
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
YAML
is(wait_cluster('gen'), 'Cluster in healthy state', 'gen healthy');
my $pw = secret('gen-app', 'password');
like($pw, qr/^[A-Za-z0-9]{64}$/, 'generated password: 64 letters and digits');
is(($pw =~ tr/0-9//), 10, 'generated password: exactly 10 digits');
is(secret('gen-app', 'username') . ' ' . secret('gen-app', 'dbname'), 'app app', 'defaults app/app');
my $gport = port_of('gen-1');
is(secret('gen-app', 'port'), $gport, 'Secret port is the primary port');
{
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', secret('gen-app', 'uri'), '-c', 'SELECT current_user, current_database()' ],
		'>', \$out, '2>', \$err);
	is($out, "app|app\n", 'the uri of the generated Secret works as given');
	local $ENV{PGPASSWORD} = secret('gen-superuser', 'password');
	IPC::Run::run([ 'psql', '-X', '-At', '-h', 'localhost', '-p', $gport, '-U', 'postgres', '-d', 'postgres',
		'-c', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user' ], '>', \$out, '2>', \$err);
	is($out, "t\n", 'enableSuperuserAccess: postgres logs in with the generated superuser Secret');
}
is(tq('gen', 'postgres', "SELECT datcollate || ' ' || datctype || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'app'"),
	'C C UTF8', 'default initdb flags: UTF8, C, C');

# ---------- 3. ICU provider; options the binaries lack ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: icu
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      localeProvider: icu
      icuLocale: und
      localeCType: C.UTF-8
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: rules
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      localeProvider: icu
      icuLocale: und
      icuRules: "&A < z <<< Z"
YAML
is(wait_cluster('icu'), 'Cluster in healthy state', 'icu healthy');
is(tq('icu', 'postgres', "SELECT datlocprovider::text || ' ' || daticulocale || ' ' || datctype FROM pg_database WHERE datname = 'app'"),
	'i und C.UTF-8', 'localeProvider icu, icuLocale, localeCType');
is(wait_cluster('rules'), 'Bootstrap failed', 'icuRules on PostgreSQL 15 fails');
like(status('rules', 'phase_reason'), qr/icuRules needs PostgreSQL 16 or later.*PostgreSQL 15/, 'reason names the option and versions');
ok(!-e "$root/rules/rules-1/pgdata", 'no data directory made for it');

# ---------- 4. failures: a failing statement, a missing reference -------------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: badsql
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQL:
        - CREATE TABLE fine (i int)
        - CREATE TABLE broken (
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: badref
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitApplicationSQLRefs:
        secretRefs:
          - name: no-such-secret
            key: x.sql
YAML
is(wait_cluster('badsql'), 'Bootstrap failed', 'failing post-init statement');
like(status('badsql', 'phase_reason'), qr/post-init: .*postInitSQL\[1\] in database "postgres": syntax error at end of input/,
	'reason: step, item and the server message');
is(tq('badsql', 'postgres', "SELECT count(*) FROM pg_class WHERE relname = 'fine'"), '1', 'the cluster is left as it is for inspection');
is(wait_cluster('badref'), 'Bootstrap failed', 'missing Secret reference');
like(status('badref', 'phase_reason'), qr/Secret "no-such-secret" referenced by spec.bootstrap.initdb.postInitApplicationSQLRefs.secretRefs\[0\] does not exist/,
	'reason names the missing Secret and the field');

# ---------- 5. SIGTERM stops the worker and its child within a second ---------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: slow
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitApplicationSQL:
        - CREATE TABLE runs (at timestamptz DEFAULT clock_timestamp())
        - INSERT INTO runs DEFAULT VALUES
        - SELECT pg_sleep(3)
YAML
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'slow' AND step = 'post-init' AND outcome = 'running')")
  or die 'post-init of slow never started';
my $wpid = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap worker' AND application_name = 'cnpg_bootstrap worker' LIMIT 1");
my $t0 = time();
q1("SELECT pg_terminate_backend($wpid)");
# measured on the process itself: a psql poll would add its own start-up
usleep(5_000) while alive($wpid) && time() - $t0 < 10;
cmp_ok(time() - $t0, '<', 1.0, 'SIGTERM stops the worker within a second');

# ---------- 6. kill -9 of the control postmaster during post-init -------------
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'slow' AND step = 'post-init' AND outcome = 'running')")
  or die 'post-init of slow never restarted';
crash_control();
is(wait_cluster('slow'), 'Cluster in healthy state', 'after kill -9 during post-init the cluster becomes healthy');
is(tq('slow', 'app', 'SELECT count(*) FROM runs'), '1', 'every post-init statement ran exactly once');

# ---------- 7. kill -9 during initdb ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: crashinit
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQL:
        - CREATE TABLE once (i int)
        - INSERT INTO once VALUES (1)
YAML
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'crashinit' AND step = 'initdb' AND outcome = 'running')")
  or die 'initdb of crashinit never started';
crash_control();
is(wait_cluster('crashinit'), 'Cluster in healthy state', 'after kill -9 during initdb the cluster becomes healthy');
is(tq('crashinit', 'postgres', 'SELECT count(*) FROM once'), '1', 'post-init ran exactly once');

# ---------- 8. targets survive a fast restart of the control instance ---------
my $opid = (split /\n/, slurp_file("$root/opts/opts-1/pgdata/postmaster.pid"))[0];
$node->restart;
is((split /\n/, slurp_file("$root/opts/opts-1/pgdata/postmaster.pid"))[0], $opid, 'target kept running across a control restart');
is(status('opts', 'phase'), 'Cluster in healthy state', 'still healthy');

# ---------- 9. no password anywhere ----------
my $ps = ps_sampled($sampler);
my @passwords = ("Pa55:w'o\\rd-of-appuser", $pw, secret('gen-superuser', 'password'));
my $logs = slurp_file($node->logfile);
my $target_logs = '';
for my $f (glob("$root/*/*/log/*"), glob("$root/*/*/pgdata/log/*"))
{
	$target_logs .= slurp_file($f) if -f $f;
}
ok(length($ps) > 1000, 'ps was sampled during the run');
my $status_text = q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s")
  . q1("SELECT string_agg(i::text, ' ') FROM cnpg_bootstrap.steps i");
ok(length($target_logs) > 1000, 'target logs were read');
for my $p (@passwords)
{
	ok(index($logs, $p) < 0, 'no password in the control log');
	ok(index($ps, $p) < 0, 'no password in ps output');
	ok(index($target_logs, $p) < 0, 'no password in the target logs');
	ok(index($status_text, $p) < 0, 'no password in status or the step journal');
}

# ---------- 10. delete stops and removes the cluster, frees its ports ---------
my $gpid = (split /\n/, slurp_file("$root/gen/gen-1/pgdata/postmaster.pid"))[0];
is(q1("SELECT cnpg_bootstrap_delete('Cluster', 'gen')"), 't', 'delete');
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)")
  or die 'teardown never finished';
ok(!-d "$root/gen", 'cluster directory removed');
ok(!alive($gpid), 'its postmaster stopped');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE name LIKE 'gen-%'"), '0', 'generated Secrets removed');
is(q1("SELECT count(*) FROM cnpg_bootstrap.instances WHERE port = $gport"), '0', 'its port is free again');

# stop every target before the temp dir goes
for my $c (qw(opts icu badsql slow crashinit))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}
q1("SELECT cnpg_bootstrap_delete('Cluster', 'rules')");
q1("SELECT cnpg_bootstrap_delete('Cluster', 'badref')");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)");
$node->stop;
done_testing();
