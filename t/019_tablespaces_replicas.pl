# Issue 12, items 3 and 4 (the parts without an object store): a source
# with two tablespaces holding data is cloned, its tablespaces mapped into
# <instance>/tablespaces/<name> of the clone and of its standby, nothing
# written under the source's own tablespace folders; a replica cluster
# follows spec.replica.source even when the bootstrap source is another
# externalCluster, with minApplyDelay as recovery_min_apply_delay; a
# recovery target on a replica cluster, and a minApplyDelay that is not a
# duration, are refused at apply.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('58100-58199');
my $tmp = PostgreSQL::Test::Utils::tempdir();

# ---------- the source: a plain server with two tablespaces ----------
my $plain = PostgreSQL::Test::Cluster->new('tsplain');
$plain->init(allows_streaming => 1);
$plain->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
open(my $hba, '>', $plain->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nlocal replication all trust\n";
for my $addr ('127.0.0.1/32', '::1/128')
{
	print $hba "host all seeduser $addr trust\nhost replication seeduser $addr trust\n";
	# replonly: replication connections only, as the Bootstrap page's source
	print $hba "host replication replonly $addr trust\nhost all replonly $addr reject\n";
	print $hba "host all all $addr scram-sha-256\nhost replication all $addr scram-sha-256\n";
}
close $hba;
$plain->start;
my $pw = 't019-pw';
my %tsdir = (ts_one => "$tmp/ts_one", ts_two => "$tmp/ts_two");
mkdir $_ for values %tsdir;
chmod 0700, $_ for values %tsdir;
system('chown', '-R', 'postgres:', $tmp) if $> == 0;
$plain->safe_psql('postgres', "CREATE ROLE streaming_replica LOGIN REPLICATION PASSWORD '$pw';"
	  . " CREATE ROLE seeduser LOGIN REPLICATION; CREATE ROLE replonly LOGIN REPLICATION;");
$plain->safe_psql('postgres', "CREATE TABLESPACE ts_one LOCATION '$tsdir{ts_one}'");
$plain->safe_psql('postgres', "CREATE TABLESPACE ts_two LOCATION '$tsdir{ts_two}'");
$plain->safe_psql('postgres', 'CREATE TABLE t_one TABLESPACE ts_one AS SELECT generate_series(1, 1000) AS i;'
	  . ' CREATE TABLE t_two TABLESPACE ts_two AS SELECT generate_series(1, 2000) AS i;'
	  . ' CREATE INDEX t_two_i ON t_two (i) TABLESPACE ts_one;'
	  . ' CHECKPOINT');
my $pport = $plain->port;
sub entries { opendir(my $d, $_[0]) or return '?'; return join(' ', sort grep { !/^\.\.?$/ } readdir $d); }
my %before = map { $_ => entries($tsdir{$_}) } keys %tsdir;
note("source tablespace folders: $before{ts_one} | $before{ts_two}");

sub ext
{
	my ($name, $user, $secret) = @_;
	my $auth = $secret ? "    password:\n      name: $secret\n      key: password\n" : '';
	return <<"YAML" . $auth;
  - name: $name
    connectionParameters:
      host: localhost
      port: "$pport"
      user: $user
      dbname: postgres
YAML
}

# ---------- item 4: refused at apply ----------
sub refused
{
	my ($yaml) = @_;
	eval { apply($yaml) };
	return $@ // '';
}
my $store_src = <<'YAML';
  - name: store
    barmanObjectStore:
      destinationPath: s3://nowhere
      endpointURL: http://127.0.0.1:1
      s3Credentials:
        accessKeyId:
          name: none
          key: ACCESS_KEY_ID
        secretAccessKey:
          name: none
          key: ACCESS_SECRET_KEY
YAML
my $err = refused(<<"YAML" . $store_src);
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: pitrreplica
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: store
  bootstrap:
    recovery:
      source: store
      recoveryTarget:
        targetTime: "2026-01-01 00:00:00+00"
  externalClusters:
YAML
like($err, qr/recoveryTarget.*replica/s, 'a recovery target on a replica cluster is refused at apply');
is(q1("SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name = 'pitrreplica'"), '0', '... and nothing is stored');
$err = refused(<<"YAML" . ext('origin', 'streaming_replica'));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: baddelay
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: origin
    minApplyDelay: soon
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
YAML
like($err, qr/minApplyDelay/, 'a minApplyDelay that is not a duration is refused at apply');

# ---------- item 3: tablespaces cloned and mapped, standby too ----------
apply(pw_secret('ts-pw', $pw) . <<"YAML" . ext('tsplain', 'streaming_replica', 'ts-pw'));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: tsclone
spec:
  instances: 2
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: tsplain
  externalClusters:
YAML
my $healthy = is(wait_cluster('tsclone'), 'Cluster in healthy state', 'tsclone: a source with two tablespaces is cloned')
  or diag(status('tsclone', 'phase_reason'));
for my $inst ('tsclone-1', 'tsclone-2')
{
	is(tq('tsclone', 'postgres', 'SELECT (SELECT count(*) FROM t_one) || \' \' || (SELECT count(*) FROM t_two)'
		  . ' || \' \' || (SELECT count(*) FROM t_two WHERE i = 1999)', $inst),
		'1000 2000 1', "$inst: the rows of both tablespaces (and an index in one) are readable");
	is(tq('tsclone', 'postgres', "SELECT string_agg(spcname || '=' || pg_tablespace_location(oid), ' ' ORDER BY spcname)"
		  . " FROM pg_tablespace WHERE spcname LIKE 'ts_%'", $inst),
		"ts_one=$root/tsclone/$inst/tablespaces/ts_one ts_two=$root/tsclone/$inst/tablespaces/ts_two",
		"$inst: its tablespaces are under its own <instance>/tablespaces/<name>");
}
is(tq('tsclone', 'postgres', 'SELECT pg_is_in_recovery()', 'tsclone-2'), 't', 'tsclone-2 is a standby');
tq('tsclone', 'postgres', 'INSERT INTO t_one SELECT generate_series(1001, 1100)');
my $ok = 0;
for (1 .. ($healthy ? 300 : 0))
{
	my $n = tq('tsclone', 'postgres', 'SELECT count(*) FROM t_one', 'tsclone-2') // '';
	if ($n eq '1100') { $ok = 1; last; }
	usleep(100_000);
}
ok($ok, 'tsclone-2: rows written in a tablespace on the new primary arrive on the standby');
is(entries($tsdir{$_}), $before{$_}, "nothing of the clone written under the source's $_ folder") for sort keys %tsdir;

# ---------- item 3: a source that takes replication connections only ----------
# its tablespaces are listed from BASE_BACKUP's header, folders named by oid
apply(<<"YAML" . ext('tsplain', 'replonly'));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: tsrepl
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: tsplain
  externalClusters:
YAML
{
	# the page's source: the preflight and the tablespace list over replication connections only
	is(wait_cluster('tsrepl'), 'Cluster in healthy state', 'tsrepl: a replication-only source with tablespaces is cloned')
	  or diag(status('tsrepl', 'phase_reason'));
	is(tq('tsrepl', 'postgres', 'SELECT (SELECT count(*) FROM t_one) || \' \' || (SELECT count(*) FROM t_two)'),
		'1000 2000', 'tsrepl: the rows of both tablespaces are readable');
	like(tq('tsrepl', 'postgres', "SELECT string_agg(pg_tablespace_location(oid), ' ' ORDER BY spcname)"
		  . " FROM pg_tablespace WHERE spcname LIKE 'ts_%'") // '',
		qr{^\Q$root/tsrepl/tsrepl-1/tablespaces/\E\d+ \Q$root/tsrepl/tsrepl-1/tablespaces/\E\d+$},
		'tsrepl: its tablespaces are under <instance>/tablespaces/<oid>');
}
is(entries($tsdir{$_}), $before{$_}, "tsrepl: nothing written under the source's $_ folder") for sort keys %tsdir;
q1("SELECT cnpg_bootstrap_delete('Cluster', 'tsrepl')");

# ---------- item 4: spec.replica.source is followed; minApplyDelay ----------
# seed (user seeduser) and origin (user streaming_replica) are the same
# server: which one the walreceiver uses shows which one is followed
apply(pw_secret('follow-pw', $pw) . <<"YAML" . ext('seed', 'seeduser') . ext('origin', 'streaming_replica', 'follow-pw'));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: follow
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: origin
    minApplyDelay: 2s
  bootstrap:
    pg_basebackup:
      source: seed
  externalClusters:
YAML
$healthy = is(wait_cluster('follow'), 'Cluster in healthy state', 'follow: replica cluster healthy')
  or diag(status('follow', 'phase_reason'));
is(tq('follow', 'postgres', 'SELECT pg_is_in_recovery()'), 't', 'follow: in continuous recovery');
is(tq('follow', 'postgres', 'SHOW recovery_min_apply_delay'), '2s', 'follow: minApplyDelay is recovery_min_apply_delay');
is(tq('follow', 'postgres', 'SELECT count(*) FROM t_two'), '2000', 'follow: tablespace data present on the replica cluster');
$plain->safe_psql('postgres', 'INSERT INTO t_two SELECT generate_series(2001, 2050)');
$ok = 0;
for (1 .. ($healthy ? 300 : 0))
{
	my $n = tq('follow', 'postgres', 'SELECT count(*) FROM t_two') // '';
	if ($n eq '2050') { $ok = 1; last; }
	usleep(100_000);
}
ok($ok, 'follow: rows written on the source after the bootstrap arrive');
is($plain->safe_psql('postgres', "SELECT string_agg(usename, ' ') FROM pg_stat_replication"), 'streaming_replica',
	'follow: the source sees one walreceiver, as the user of spec.replica.source (origin), not of the bootstrap source');
my $override = "$root/follow/follow-1/pgdata/override.conf";
like(-e $override ? slurp_file($override) : '', qr/^primary_conninfo = .*user='*streaming_replica/m,
	'follow: primary_conninfo is that of origin');

# the instances stop with their clusters
q1("SELECT cnpg_bootstrap_delete('Cluster', '$_')") for qw(tsclone follow);
done_testing();
