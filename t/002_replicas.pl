# instances: 3 -> a primary and two streaming standbys, cloned over TLS with
# the cluster's own CA and the streaming_replica client certificate.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('56200-56299');

# a query on one instance of a cluster
sub iq { my ($cluster, $inst, $sql) = @_; return tq($cluster, 'postgres', $sql, $inst); }

sub apply_cluster
{
	my ($name, $instances) = @_;
	q1("SELECT * FROM cnpg_bootstrap_apply(\$y\$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: $instances
  storage:
    size: 1Gi
\$y\$)");
	return q1("SELECT cnpg_bootstrap_wait('$name', '4 minutes')");
}

is(apply_cluster('three', 3), 'Cluster in healthy state', 'instances: 3 becomes healthy');
is(q1("SELECT string_agg(instance || ':' || role || ':' || status, ' ' ORDER BY instance) FROM cnpg_bootstrap_instances('three')"),
	'three-1:primary:running three-2:replica:streaming three-3:replica:streaming', 'one primary, two streaming replicas');
is(q1("SELECT current_primary || ' ' || rw_port || ' ' || ready_instances FROM cnpg_bootstrap_status('three')"),
	'three-1 ' . port_of('three-1') . ' 3', 'rw_host/rw_port point at the primary');
is(q1("SELECT cnpg_bootstrap_secret('three-app', 'port')"), port_of('three-1'), 'app Secret port is the primary');
is(iq('three', 'three-2', 'SELECT pg_is_in_recovery()'), 't', 'three-2 is a standby');
is(iq('three', 'three-3', 'SELECT pg_is_in_recovery()'), 't', 'three-3 is a standby');

# rows written on the primary appear on both standbys
iq('three', 'three-1', 'CREATE TABLE r (i int); INSERT INTO r SELECT generate_series(1, 1000)');
my $lsn = iq('three', 'three-1', 'SELECT pg_current_wal_lsn()');
for my $s ('three-2', 'three-3')
{
	my $ok = 0;
	for (1 .. 300)
	{
		my $r = iq('three', $s, "SELECT pg_last_wal_replay_lsn() >= '$lsn'");
		if (defined $r && $r eq 't') { $ok = 1; last; }
		select(undef, undef, undef, 0.1);
	}
	ok($ok, "$s replayed up to the primary");
	is(iq('three', $s, 'SELECT count(*) FROM r'), '1000', "rows on $s");
	is(iq('three', $s, 'SELECT status FROM pg_stat_wal_receiver'), 'streaming', "$s: pg_stat_wal_receiver streaming");
}

# the replication connections use TLS with the client certificate's CN
is(iq('three', 'three-1',
	"SELECT string_agg(r.application_name || ':' || r.state || ':' || s.ssl || ':' || s.client_dn, ' ' ORDER BY r.application_name)"
	  . " FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"),
	'three-2:streaming:true:/CN=streaming_replica three-3:streaming:true:/CN=streaming_replica',
	'pg_stat_replication + pg_stat_ssl: TLS with CN streaming_replica');
is(iq('three', 'three-1', "SELECT rolreplication AND rolcanlogin FROM pg_roles WHERE rolname = 'streaming_replica'"),
	't', 'streaming_replica has LOGIN REPLICATION');
is(iq('three', 'three-1', 'SHOW ssl'), 'on', 'ssl = on on the primary');
is(iq('three', 'three-2', 'SHOW ssl'), 'on', 'ssl = on on a standby');

# a password login as streaming_replica is refused (over TCP, with or without TLS)
for my $mode ('disable', 'require')
{
	local $ENV{PGPASSWORD} = 'anything';
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', "host=localhost port=" . port_of('three-1')
		. " user=streaming_replica dbname=postgres sslmode=$mode", '-c', 'SELECT 1' ], '>', \$out, '2>', \$err);
	like($err, qr/authentication failed|no pg_hba.conf entry|certificate/, "password login as streaming_replica refused (sslmode=$mode)");
}

# the certificates verify against the CA; key files are 0600
my $certs = "$root/three/certs";
for my $f ('server.crt', 'streaming_replica.crt')
{
	my ($out, $err);
	IPC::Run::run([ 'openssl', 'verify', '-CAfile', "$certs/client-ca.crt", "$certs/$f" ], '>', \$out, '2>', \$err);
	like($out, qr/: OK/, "openssl verify accepts $f");
}
{
	my ($out, $err);
	IPC::Run::run([ 'openssl', 'x509', '-noout', '-text', '-in', "$certs/server.crt" ], '>', \$out, '2>', \$err);
	like($out, qr/DNS:three-rw.*DNS:three-ro/s, 'server certificate SANs hold the services');
	like($out, qr/DNS:three-2/, 'server certificate SANs hold each instance');
	like($out, qr/IP Address:127\.0\.0\.1/, 'and 127.0.0.1');
	like($out, qr/id-ecPublicKey.*prime256v1/s, 'ECDSA P-256');
}
for my $f (glob("$certs/*.key"))
{
	is(sprintf('%o', (stat($f))[2] & 07777), '600', "$f is 0600");
}
is(q1("SELECT string_agg(name, ' ' ORDER BY name) FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND generated_by = 'three'"),
	'three-app three-ca three-replication three-server', 'generated Secrets');
like(q1("SELECT cnpg_bootstrap_secret('three-ca', 'ca.key')"), qr/BEGIN EC PRIVATE KEY/, 'CA key as an EC PRIVATE KEY');

# standby cloning survives a crash of the control instance: the half copy
# is discarded and the clone redone
q1(q{SELECT * FROM cnpg_bootstrap_apply($y$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: crashclone
spec:
  instances: 2
  storage:
    size: 1Gi
$y$)});
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'crashclone' AND step = 'clone' AND outcome = 'running')")
  or die 'clone never started';
crash_control();
is(q1("SELECT cnpg_bootstrap_wait('crashclone', '4 minutes')"), 'Cluster in healthy state', 'healthy after a crash mid-clone');
is(iq('crashclone', 'crashclone-2', 'SELECT status FROM pg_stat_wal_receiver'), 'streaming', 'the redone standby streams');
ok(!-e "$root/crashclone/crashclone-2/pgdata.tmp", 'no half copy left');
q1("SELECT cnpg_bootstrap_delete('Cluster', 'crashclone')");

# instances: 1 stays a single primary
is(apply_cluster('one', 1), 'Cluster in healthy state', 'instances: 1 healthy');
is(q1("SELECT count(*) FROM cnpg_bootstrap_instances('one')"), '1', 'one instance');
is(iq('one', 'one-1', 'SELECT count(*) FROM pg_stat_replication'), '0', 'no standby');

# deleting the cluster stops all three servers
my @pids = map { (split /\n/, slurp_file("$root/three/three-$_/pgdata/postmaster.pid"))[0] } (1 .. 3);
q1("SELECT cnpg_bootstrap_delete('Cluster', 'three')");
q1("SELECT cnpg_bootstrap_delete('Cluster', 'one')");
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)') or die;
ok(!alive($pids[$_]), "three-" . ($_ + 1) . ' stopped') for (0 .. 2);
ok(!-d "$root/three", 'directory removed');
$node->stop;
done_testing();
