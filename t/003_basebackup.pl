# The pg_basebackup method: clones of a cluster made by cnpg_bootstrap (TLS)
# and of a plain PostgreSQL server (password through a pgpass file),
# preflight failures, a replica cluster, a crash mid-clone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('56300-56399');

my $sampler = ps_sampler_start("$root/ps.txt", 20);

# ---------- (a) the seed's TLS example, from a cluster of our own ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: src
spec:
  instances: 1
  storage:
    size: 1Gi
YAML
is(wait_cluster('src'), 'Cluster in healthy state', 'source cluster healthy');
tq('src', 'app', 'CREATE TABLE before_clone AS SELECT generate_series(1, 500) AS i');
my $sport = port_of('src-1');
apply(<<"YAML" . ext_cluster('src', $sport, 'streaming_replica', extra => <<'TLS'));
apiVersion: v1
kind: Secret
metadata:
  name: newowner-secret
stringData:
  username: newowner
  password: 'n3w:own\\er'
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: tlsclone
spec:
  instances: 2
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: src
      database: newapp
      owner: newowner
      secret:
        name: newowner-secret
YAML
      sslmode: verify-full
    sslKey:
      name: src-replication
      key: tls.key
    sslCert:
      name: src-replication
      key: tls.crt
    sslRootCert:
      name: src-ca
      key: ca.crt
TLS
is(wait_cluster('tlsclone'), 'Cluster in healthy state', 'TLS clone healthy');
is(tq('tlsclone', 'app', 'SELECT count(*) FROM before_clone'), '500', '(c) data present on the clone');
is(tq('tlsclone', 'postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2', '(c) the clone is on a new timeline');
is(tq('tlsclone', 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'the clone is a primary');
is(tq('tlsclone', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'newapp'"), 'newowner',
	'(c) application database created and owned by its owner');
{
	local $ENV{PGPASSWORD} = "n3w:own\\er";
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', port_of('tlsclone-1'), '-U', 'newowner', '-d', 'newapp',
		'-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "newowner\n", '(c) the owner logs in with the password of its Secret');
}
is(q1("SELECT string_agg(role || ':' || status, ' ' ORDER BY instance) FROM cnpg_bootstrap_instances('tlsclone')"),
	'primary:running replica:streaming', 'a standby made from the new primary');
is(tq('tlsclone', 'postgres', "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE s.client_dn = '/CN=streaming_replica'"),
	'1', 'its standby streams with the clone\'s own replication certificate');
for my $f (glob("$root/tlsclone/controller/external/src/*"))
{
	is(sprintf('%o', (stat($f))[2] & 07777), '600', "$f is 0600");
}

# ---------- (b) the seed's password example, from a plain server ----------
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init(allows_streaming => 1);
$plain->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
# TCP needs a password (the harness's own trust lines for TCP are dropped)
open(my $hba, '>', $plain->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nlocal replication all trust\n";
for my $addr ('127.0.0.1/32', '::1/128')
{
	print $hba "host all all $addr scram-sha-256\nhost replication all $addr scram-sha-256\n";
}
close $hba;
$plain->start;
my $pw = "s3cr:et\\pass";
(my $pw_sql = $pw) =~ s/'/''/g;
$plain->safe_psql('postgres', "CREATE ROLE streaming_replica LOGIN REPLICATION PASSWORD '$pw_sql';"
	  . " CREATE ROLE norepl LOGIN PASSWORD '$pw_sql';"
	  . " CREATE TABLE plain_data AS SELECT generate_series(1, 1000) AS i;");
my $pport = $plain->port;

# a Cluster cloned from plain as $o{user} (default streaming_replica), the
# password from Secret $o{secret} (default plain-pw); with $o{password} that
# Secret is made first
sub plain_clone
{
	my ($name, %o) = @_;
	my $secret = $o{secret} // 'plain-pw';
	my $instances = $o{instances} // 1;
	my $replica = $o{replica} ? "  replica:\n    enabled: true\n    source: plain\n" : '';
	return (defined $o{password} ? pw_secret($secret, $o{password}) : '') . <<"YAML"
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: $instances
  storage:
    size: 1Gi
$replica  bootstrap:
    pg_basebackup:
      source: plain
YAML
	  . ext_cluster('plain', $pport, $o{user} // 'streaming_replica', password => $secret);
}

apply(plain_clone('pwclone', password => $pw));
is(wait_cluster('pwclone'), 'Cluster in healthy state', '(b) clone of a plain server with a password');
is(tq('pwclone', 'postgres', 'SELECT count(*) FROM plain_data'), '1000', '(b) its data');
is(tq('pwclone', 'postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2', '(b) new timeline');
is(tq('pwclone', 'postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app'"), '1', '(b) app database created');
is(tq('pwclone', 'postgres', 'SHOW ssl'), 'on', 'our configuration: ssl on');
is(tq('pwclone', 'postgres', "SELECT rolreplication FROM pg_roles WHERE rolname = 'streaming_replica'"), 't', 'streaming_replica present');

# (e) the pgpass file: mode and content
my $pgpass = "$root/pwclone/controller/external/plain/pgpass";
is(sprintf('%o', (stat($pgpass))[2] & 07777), '600', '(e) pgpass is 0600');
is(slurp_file($pgpass), "*:*:*:streaming_replica:s3cr\\:et\\\\pass\n", '(e) one escaped line, any host and port');

# ---------- (f) a replica cluster follows its source ----------
apply(plain_clone('replica', instances => 2, replica => 1));
is(wait_cluster('replica'), 'Cluster in healthy state', '(f) replica cluster healthy');
like(status('replica', 'phase_reason'), qr/Replica cluster: replica-1 follows source plain/, '(f) status says it is a replica cluster');
is(tq('replica', 'postgres', 'SELECT pg_is_in_recovery()'), 't', '(f) in continuous recovery');
$plain->safe_psql('postgres', 'INSERT INTO plain_data SELECT generate_series(1001, 1500)');
my $lsn = $plain->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
for my $inst ('replica-1', 'replica-2')
{
	my $ok = 0;
	for (1 .. 300)
	{
		my $r = tq('replica', 'postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'", $inst);
		if (defined $r && $r eq 't') { $ok = 1; last; }
		usleep(100_000);
	}
	ok($ok, "(f) $inst caught up with the source");
	is(tq('replica', 'postgres', 'SELECT count(*) FROM plain_data', $inst), '1500', "(f) $inst sees the new rows");
}
is(tq('replica', 'postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app'"), '0', 'no app database on a replica cluster');

# ---------- (d) preflight failures ----------
sub failing_clone
{
	my ($name, $user, $secret_pw) = @_;
	apply(plain_clone($name, user => $user, secret => "$name-pw", password => $secret_pw));
	is(wait_cluster($name), 'Bootstrap failed', "$name fails");
	ok(!-e "$root/$name/$name-1/pgdata", "$name: nothing copied");
	return status($name, 'phase_reason');
}
like(failing_clone('badpw', 'streaming_replica', 'wrong'), qr/preflight: source plain does not answer: .*password authentication failed/,
	'(d) wrong password');
like(failing_clone('norepl', 'norepl', $pw), qr/the role has neither REPLICATION nor SUPERUSER/, '(d) no REPLICATION');
$plain->append_conf('postgresql.conf', "max_wal_senders = 2\n");
$plain->restart;
# the replica cluster's primary streams from plain again once its walreceiver
# retries (wal_retrieve_retry_interval): then one sender is free, not enough
$plain->poll_query_until('postgres', 'SELECT count(*) >= 1 FROM pg_stat_replication')
  or die 'the replica cluster did not reconnect to plain';
like(failing_clone('fewsenders', 'streaming_replica', $pw), qr/not enough free WAL senders/, '(d) max_wal_senders');
$plain->append_conf('postgresql.conf', "max_wal_senders = 10\n");
$plain->restart;
# a bindir whose binaries say they are another major version
my $fake = "$root/fakebin";
mkdir $fake;
for my $tool (qw(pg_ctl pg_basebackup postgres))
{
	symlink("/usr/lib/postgresql/15/bin/$tool", "$fake/$tool");
}
open(my $fh, '>', "$fake/initdb") or die;
print $fh "#!/bin/sh\necho 'initdb (PostgreSQL) 16.4'\n";
close $fh;
chmod 0755, "$fake/initdb";
q1("ALTER SYSTEM SET cnpg_bootstrap.bindir = '$fake'");
q1('SELECT pg_reload_conf()');
like(failing_clone('otherversion', 'streaming_replica', $pw), qr/major version differs.*PostgreSQL 15.*PostgreSQL 16/s,
	'(d) version mismatch');
q1('ALTER SYSTEM RESET cnpg_bootstrap.bindir');
q1('SELECT pg_reload_conf()');

# ---------- (g) a crash of the control instance mid-clone ----------
$plain->safe_psql('postgres', 'CREATE TABLE big AS SELECT g AS i, repeat(md5(g::text), 10) AS t FROM generate_series(1, 600000) g');
apply(plain_clone('crashclone'));
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'crashclone' AND step = 'clone' AND outcome = 'running')")
  or die 'clone never started';
usleep(300_000);
crash_control();
is(wait_cluster('crashclone'), 'Cluster in healthy state', '(g) healthy after a crash mid-clone');
is(tq('crashclone', 'postgres', 'SELECT count(*) FROM big'), '600000', '(g) the redone clone is complete');
ok(!-e "$root/crashclone/crashclone-1/pgdata.tmp", '(g) no half copy left');

# ---------- (e) no password in logs, ps or status ----------
my $ps = ps_sampled($sampler);
ok($ps =~ /pg_basebackup/, 'ps saw pg_basebackup running');
my $status_text = q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s")
  . q1("SELECT string_agg(i::text, ' ') FROM cnpg_bootstrap.steps i");
my $logs = slurp_file($node->logfile);
for my $f (glob("$root/*/*/log/*")) { $logs .= slurp_file($f) if -f $f; }
for my $secret ($pw, "n3w:own\\er")
{
	ok(index($ps, $secret) < 0, '(e) no password in ps output');
	ok(index($logs, $secret) < 0, '(e) no password in the logs');
	ok(index($status_text, $secret) < 0, '(e) no password in status');
}

for my $c (qw(src tlsclone pwclone replica badpw norepl fewsenders otherversion crashclone))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
$plain->stop;
done_testing();
