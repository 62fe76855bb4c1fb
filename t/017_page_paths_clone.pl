# Paths of the Bootstrap page after a copy that no other test reached
# (issue 12, item 11):
# - pg_basebackup from a standby of the source;
# - the application database existing in the source, owned by someone
#   else: given to the owner;
# - the Secret's username is not the owner: the password step is skipped
#   with a WARNING (the source's password stays);
# - the superuser password on clones: set from the superuser Secret with
#   enableSuperuserAccess, removed without it;
# - recovery refusing a backup of another major version (crafted
#   backup.info in an s3rver store; skipped without Node/npm, barman-cloud
#   or boto3).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use StoreRig;
use CbTest;

my ($node, $root) = start_control('57900-57999');

# a psql login over TCP with a password; the first line of the output or
# of the error
sub tcp_login
{
	my ($port, $user, $password, $db) = @_;
	local $ENV{PGPASSWORD} = $password;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-At', "host=127.0.0.1 port=$port user=$user dbname=" . ($db // 'postgres')
		  . ' sslmode=disable', '-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	chomp $out;
	return $out ne '' ? $out : (split /\n/, $err)[0] // '';
}

# ---------- a plain source and a standby of it ----------
my $src = PostgreSQL::Test::Cluster->new('source');
$src->init(allows_streaming => 1);
$src->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
# TCP needs a password (the harness's own trust lines for TCP are dropped)
open(my $hba, '>', $src->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nlocal replication all trust\n";
for my $addr ('127.0.0.1/32', '::1/128')
{
	print $hba "host all all $addr scram-sha-256\nhost replication all $addr scram-sha-256\n";
}
close $hba;
$src->start;
my $pw = 'Repl-Pa55-017';
$src->safe_psql('postgres', "CREATE ROLE streaming_replica LOGIN REPLICATION PASSWORD '$pw';"
	  . " CREATE ROLE someone LOGIN;"
	  . " CREATE ROLE app LOGIN PASSWORD 'Src-App-Pa55';"
	  . " ALTER ROLE postgres PASSWORD 'Src-Super-Pa55';"
	  . " CREATE DATABASE app OWNER someone;");
$src->safe_psql('app', 'CREATE TABLE src_data AS SELECT generate_series(1, 700) AS i');
$src->backup('b');
my $stby = PostgreSQL::Test::Cluster->new('source_standby');
$stby->init_from_backup($src, 'b', has_streaming => 1);
$stby->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
$stby->start;
$src->safe_psql('app', 'INSERT INTO src_data SELECT generate_series(701, 1000)');
$src->wait_for_catchup($stby, 'replay', $src->lsn('insert'));
is($stby->safe_psql('app', 'SELECT count(*) FROM src_data'), '1000', 'the standby of the source has the rows');

sub clone_yaml
{
	my ($name, $port, $extra_spec, $bootstrap_extra) = @_;
	return pw_secret("$name-repl", $pw) . <<"YAML" . ext_cluster('origin', $port, 'streaming_replica', password => "$name-repl");
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
$extra_spec  bootstrap:
    pg_basebackup:
      source: origin
$bootstrap_extra
YAML
}

# ---------- a clone of the standby: ownership, skipped password, superuser ----------
apply(<<'YAML' . clone_yaml('fromstby', $stby->port, "  enableSuperuserAccess: true\n", <<'BS'));
apiVersion: v1
kind: Secret
metadata:
  name: fromstby-app
stringData:
  username: other
  password: Not-Set-Pa55
---
YAML
      database: app
      owner: app
      secret:
        name: fromstby-app
BS
is(wait_cluster('fromstby'), 'Cluster in healthy state', 'a clone of the source\'s standby is healthy');
is(tq('fromstby', 'app', 'SELECT count(*) FROM src_data'), '1000', 'with the rows the standby replayed');
is(tq('fromstby', 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'and it is a primary');
is(tq('fromstby', 'postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2', 'on a new timeline');
is($stby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the source\'s standby is still a standby');

# the application database existed, owned by someone: given to app
is(tq('fromstby', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"), 'app',
	'the existing application database, owned by someone, is given to its owner');
is($src->safe_psql('postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"), 'someone',
	'(the source is untouched)');

# the Secret's username is other, not app: no password set, a WARNING
my $port = port_of('fromstby-1');
like(slurp_file($node->logfile), qr/WARNING:  .*username 'other' in secret "fromstby-app" is not 'app': password not set/,
	'WARNING: the Secret\'s username is not the owner, password not set');
is(tcp_login($port, 'app', 'Src-App-Pa55', 'app'), 'app', 'app keeps the source\'s password');
like(tcp_login($port, 'app', 'Not-Set-Pa55', 'app'), qr/password authentication failed/, 'the Secret\'s password was not set');
unlike(slurp_file($node->logfile), qr/Not-Set-Pa55/, 'the skipped password is not in the control log');

# enableSuperuserAccess: postgres gets the superuser Secret's password
my $su_pw = secret('fromstby-superuser', 'password');
like($su_pw, qr/^[A-Za-z0-9]{64}$/, 'a superuser Secret was generated');
is(tcp_login($port, 'postgres', $su_pw), 'postgres', 'postgres logs in with the superuser Secret\'s password');
like(tcp_login($port, 'postgres', 'Src-Super-Pa55'), qr/password authentication failed/,
	'the source\'s superuser password is gone');

# ---------- a clone without superuser access: postgres's password removed ----------
apply(clone_yaml('nosu', $src->port, '', ''));
is(wait_cluster('nosu'), 'Cluster in healthy state', 'a clone of the primary, superuser access disabled, is healthy');
is(tq('nosu', 'postgres', "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres'"), 't',
	'the source\'s superuser password is removed');
like(tcp_login(port_of('nosu-1'), 'postgres', 'Src-Super-Pa55'), qr/password authentication failed/,
	'postgres no longer logs in with the source\'s password');
# the Secret's username matches (the generated nosu-app): the password is set
is(tcp_login(port_of('nosu-1'), 'app', secret('nosu-app', 'password'), 'app'), 'app',
	'app logs in with the generated Secret\'s password');
is(tq('nosu', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"), 'app',
	'nosu: the application database is given to app too');

for my $c (qw(fromstby nosu))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$stby->stop;
$src->stop;

# ---------- recovery: a backup of another major version is refused ----------
SKIP:
{
	my $tmp = PostgreSQL::Test::Utils::tempdir();
	my $why = rig_start('s3', "$tmp/rig", own_keys => 't017');
	skip "no S3 test store: $why", 3 if defined $why;
	my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
	my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});
	local $ENV{AWS_ACCESS_KEY_ID} = $key_id;
	local $ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
	local $ENV{AWS_DEFAULT_REGION} = 'us-east-1';
	local $ENV{S3_ENDPOINT} = $ep;
	PostgreSQL::Test::Utils::append_to_file("$tmp/put.py", <<'PY');
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
s3.put_object(Bucket='backups', Key=sys.argv[1], Body=sys.argv[2].encode())
PY
	my $info = <<'INFO';
backup_id=20260101T000000
begin_time=2026-01-01 00:00:00.000000+00:00
end_time=2026-01-01 00:01:00.000000+00:00
begin_wal=000000010000000000000002
end_wal=000000010000000000000002
status=DONE
timeline=1
version=160004
INFO
	for my $put ([ 'pg16/base/20260101T000000/backup.info', $info ],
		[ 'pg16/base/20260101T000000/data.tar', 'not read' ])
	{
		my ($o, $e) = ('', '');
		IPC::Run::run([ 'python3', "$tmp/put.py", @$put ], '>', \$o, '2>', \$e) or die "put: $e";
	}
	apply(<<"YAML");
apiVersion: v1
kind: Secret
metadata:
  name: pg16-s3
stringData:
  ID: $key_id
  KEY: $secret_key
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: pg16
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups
      endpointURL: $ep
      serverName: pg16
      s3Credentials:
        accessKeyId: {name: pg16-s3, key: ID}
        secretAccessKey: {name: pg16-s3, key: KEY}
YAML
	is(wait_cluster('pg16', '2 minutes'), 'Bootstrap failed', 'recovery of a PostgreSQL 16 backup with 15 binaries: Bootstrap failed');
	like(status('pg16', 'phase_reason'), qr/backup 20260101T000000 is of PostgreSQL 16, the binaries are PostgreSQL 15/,
		'the reason names the backup and both versions');
	ok(!-e "$root/pg16/pg16-1/pgdata" && !-e "$root/pg16/pg16-1/pgdata.tmp", 'nothing restored');
	q1("SELECT cnpg_bootstrap_delete('Cluster', 'pg16')");
}

$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
done_testing();
