# The pg_basebackup method exactly as the Bootstrap page sets it up (issue 12):
# a plain source whose pg_hba.conf lets streaming_replica in for
# replication only ("host replication streaming_replica all md5") must be
# cloned, so every preflight check goes over a replication connection; and
# the copy is ours: the source's postgresql.auto.conf (ALTER SYSTEM) is set
# aside as postgresql.auto.conf.source and does not override our settings,
# on the clone's primary nor on its standbys.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('58000-58099');

# ---------- the page's source ----------
my $src = PostgreSQL::Test::Cluster->new('pagesource');
$src->init(allows_streaming => 1);
# every statement and replication command the source receives is logged,
# with its user and application
$src->append_conf('postgresql.conf', "listen_addresses = 'localhost'\nlog_connections = on\n"
	  . "log_statement = 'all'\nlog_replication_commands = on\nlog_line_prefix = '%m [%p] %u %a '\n");
# the harness's own socket access, then exactly the page's line: nothing lets
# streaming_replica reach a database
open(my $hba, '>', $src->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nlocal replication all trust\n";
print $hba "host replication streaming_replica all md5\n";
close $hba;
$src->start;
my $pw = 'Page:s3cret\\pw';
(my $pw_sql = $pw) =~ s/'/''/g;
# the page: CREATE USER streaming_replica WITH REPLICATION, then \password
$src->safe_psql('postgres', "CREATE USER streaming_replica WITH REPLICATION PASSWORD '$pw_sql';"
	  . ' CREATE TABLE page_data AS SELECT generate_series(1, 700) AS i;');
# the source's own ALTER SYSTEM settings, which must not reach the clone
$src->safe_psql('postgres', "ALTER SYSTEM SET ssl = off");
$src->safe_psql('postgres', "ALTER SYSTEM SET work_mem = '77MB'");
$src->reload;
my $sport = $src->port;

# the hba really refuses streaming_replica a regular connection
{
	local $ENV{PGPASSWORD} = $pw;
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', 'localhost', '-p', $sport, '-U', 'streaming_replica',
		'-d', 'postgres', '-c', 'SELECT 1' ], '>', \$out, '2>', \$err);
	like($err, qr/no pg_hba\.conf entry/, 'the source refuses streaming_replica outside replication');
}

my $src_log_offset = -s $src->logfile;

# the page's manifest: host and user, the password from a Secret, no dbname
apply(pw_secret('source-db-replica-user', $pw) . <<"YAML");
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: target-db
spec:
  instances: 2
  bootstrap:
    pg_basebackup:
      source: source-db
  storage:
    size: 1Gi
  externalClusters:
  - name: source-db
    connectionParameters:
      host: localhost
      port: "$sport"
      user: streaming_replica
    password:
      name: source-db-replica-user
      key: password
YAML
my $phase = wait_cluster('target-db', '6 minutes');
is($phase, 'Cluster in healthy state', 'item 1: the page\'s source is cloned')
  or diag(status('target-db', 'phase_reason'));
is(tq('target-db', 'postgres', 'SELECT count(*) FROM page_data'), '700', 'item 1: the source\'s data');
is(tq('target-db', 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'item 1: the clone is a primary');
my $src_log = slurp_file($src->logfile, $src_log_offset);
unlike($src_log, qr/no pg_hba\.conf entry/, 'item 1: nothing of ours was refused by the source\'s pg_hba.conf');
like($src_log, qr/replication connection authorized: user=streaming_replica/,
	'item 1: the source saw replication connections of streaming_replica');
like($src_log, qr/streaming_replica cnpg_bootstrap LOG:  received replication command: IDENTIFY_SYSTEM/,
	'item 1: the preflight asked IDENTIFY_SYSTEM over a replication connection');
unlike($src_log, qr/streaming_replica \S+ LOG:  statement:|cannot execute SQL commands/,
	'item 1: no SQL reached the source (no SET search_path either)');

# ---------- item 2: the copy runs with our configuration ----------
my $pgdata = "$root/target-db/target-db-1/pgdata";
for my $inst ('target-db-1', 'target-db-2')
{
	is(tq('target-db', 'postgres', 'SHOW ssl', $inst), 'on', "item 2: $inst runs with ssl = on (ours), not the source's ALTER SYSTEM");
	isnt(tq('target-db', 'postgres', 'SHOW work_mem', $inst), '77MB', "item 2: $inst does not take the source's work_mem");
	is(tq('target-db', 'postgres', "SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'", $inst),
		'0', "item 2: $inst has no ALTER SYSTEM setting in force");
	my $auto_file = "$root/target-db/$inst/pgdata/postgresql.auto.conf";
	ok(-f $auto_file, "item 2: $inst has a postgresql.auto.conf of its own (ALTER SYSTEM needs it)");
	my $auto = -f $auto_file ? slurp_file($auto_file) : '';
	unlike($auto, qr/ssl|work_mem/, "item 2: $inst: postgresql.auto.conf holds none of the source's settings");
}
my $kept = "$pgdata/postgresql.auto.conf.source";
ok(-f $kept, 'item 2: the source\'s file is kept as postgresql.auto.conf.source');
is(sprintf('%o', ((stat($kept))[2] // 0) & 07777), '600', 'item 2: postgresql.auto.conf.source is 0600');
my $kept_text = -f $kept ? slurp_file($kept) : '';
like($kept_text, qr/^ssl = 'off'$/m, 'item 2: it holds the source\'s ssl line');
like($kept_text, qr/^work_mem = '77MB'$/m, 'item 2: it holds the source\'s work_mem line');
# ALTER SYSTEM works on the clone (the file exists and is ours)
tq('target-db', 'postgres', "ALTER SYSTEM SET work_mem = '5MB'");
like(slurp_file("$pgdata/postgresql.auto.conf"), qr/^work_mem = '5MB'$/m, 'item 2: ALTER SYSTEM writes the clone\'s own file');

# ---------- no password anywhere ----------
my $logs = slurp_file($node->logfile);
for my $f (glob("$root/target-db/*/log/*")) { $logs .= slurp_file($f) if -f $f; }
ok(index($logs, $pw) < 0, 'no password in the logs');
my $status_text = q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s");
ok(index($status_text, $pw) < 0, 'no password in status');

q1("SELECT cnpg_bootstrap_delete('Cluster', 'target-db')");
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
$src->stop;
done_testing();
