# No secret value of a manifest in the control instance's log, in the
# errors a client gets, or in pg_stat_activity (issue 11).  The control
# instance logs everything it can (debug1, verbose, statements of every
# message); each case uses a value of its own, searched for afterwards.
# No target cluster is made: Clusters are applied with dry_run.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('57200-57299', <<'CONF');
log_min_messages = debug1
log_min_error_statement = debug1
log_error_verbosity = verbose
CONF

# one case: run $sql (psql's stdin), then neither the log written meanwhile
# nor what the client got (stdout, stderr) may hold any of @values
sub no_leak
{
	my ($what, $sql, $want_error, @values) = @_;
	my $offset = -s $node->logfile;
	my ($rc, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	my $log = slurp_file($node->logfile, $offset);
	if ($want_error) { isnt($rc, 0, "$what: fails"); }
	else { is($rc, 0, "$what: succeeds") or diag($err); }
	for my $v (@values)
	{
		unlike($log, qr/\Q$v\E/, "$what: the log does not hold $v")
		  or diag(join("\n", grep { /\Q$v\E/ } split /\n/, $log));
		unlike("$out\n$err", qr/\Q$v\E/, "$what: the client's messages do not hold $v")
		  or diag($err);
	}
	return ($log, $err);
}

sub secret_doc
{
	my ($name, $body) = @_;
	return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: $name\n$body---\n";
}

# a Cluster for dry runs, with extra lines under spec
sub cluster_doc { return cluster_yaml(@_); }

# ---------- 1. the YAML layer: no value in errmsg, DETAIL or HINT ----------

# a YAML integer where a Secret wants a string: the HINT used to quote it
my (undef, $err) = no_leak('integer in stringData',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('int-secret', "stringData:\n  password: 98765432123\n") . "\$m\$)",
	1, '98765432123');
like($err, qr/stringData\.password: must be a string/, 'integer in stringData: the error names the path');
like($err, qr/HINT:  Quote the value to make it a string\./, 'integer in stringData: the hint says what to do');

# a tagged scalar that does not fit its tag
my $log;
no_leak('tagged scalar',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('tag-secret', "stringData:\n  password: !!int Tagged5ecret77\n") . "\$m\$)",
	1, 'Tagged5ecret77');

# a password that starts with * is an alias to YAML: the unknown anchor's
# name is the rest of the password
($log, $err) = no_leak('unquoted value starting with *',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('alias-secret', "stringData:\n  password: *Alias-Secret-42\n") . "\$m\$)",
	1, 'Alias-Secret-42');
like($err, qr/unknown anchor(.|\n)*HINT:  A plain value that starts with .\*. is an alias/, 'unquoted value starting with *: the error says what YAML saw');

# "key:value" without a space in a flow map is one key to YAML
($log, $err) = no_leak('key:value as a key',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('colon-secret', "stringData: {username: app, password:Colon-Secret-55}\n") . "\$m\$)",
	1, 'Colon-Secret-55');
like($err, qr/stringData\.<key 2>: invalid key/, 'key:value as a key: the error gives the rank of the key');

# the same as an unknown field, and as a duplicate key
($log, $err) = no_leak('key:value as an unknown field',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . cluster_doc('colon-field', "  superuserSecret: {name:Unknown-Secret-66}\n") . "\$m\$, dry_run => true)",
	1, 'Unknown-Secret-66');
like($err, qr/spec\.superuserSecret\.<key hidden>: unknown field/, 'key:value as an unknown field: the path ends in <key hidden>');
no_leak('key:value as a duplicate key',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('dup-secret', "stringData: {password:Dup-Secret-77, password:Dup-Secret-77}\n") . "\$m\$)",
	1, 'Dup-Secret-77');

# an integer in connectionParameters, then a tagged scalar there: neither
# is quoted back
for my $case ([ 'integer', 'sslpassword: 31415926535', '31415926535' ],
	[ 'tagged', 'sslcompression: !!float Tagged-Float-0815', 'Tagged-Float-0815' ])
{
	no_leak("$case->[0] in connectionParameters",
		"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . cluster_doc('cp-odd', <<"YAML") . "\$m\$, dry_run => true)",
  bootstrap:
    pg_basebackup:
      source: src
  externalClusters:
  - name: src
    connectionParameters:
      host: localhost
      $case->[1]
YAML
		1, $case->[2]);
}
no_leak('integer in data',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . secret_doc('data-int', "data:\n  password: 27182818284\n") . "\$m\$)",
	1, '27182818284');
no_leak('integer in a parameter',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . cluster_doc('par-int', "  postgresql:\n    parameters:\n      primary_conninfo: 16180339887\n") . "\$m\$, dry_run => true)",
	1, '16180339887');

# a refused parameter with a password in it: validate.c's check
no_leak('refused primary_conninfo',
	"SELECT * FROM cnpg_bootstrap_apply(\$m\$" . cluster_doc('par-refused', "  postgresql:\n    parameters:\n      primary_conninfo: \"host=x password=Refused-Secret-9999\"\n") . "\$m\$, dry_run => true)",
	1, 'Refused-Secret-9999');

# ---------- 2. apply called from PL/pgSQL: no CONTEXT quoting the manifest --

# fails in the model (an unknown field), the Secret beside it is the leak
no_leak('DO block, model error',
	"DO \$do\$ BEGIN PERFORM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('do-fail', "stringData:\n  password: \"DoFail-Secret-8128\"\n")
	  . cluster_doc('do-fail', "  nosuchfield: 1\n")
	  . "\$m\$); END \$do\$",
	1, 'DoFail-Secret-8128');

# succeeds with a NOTICE (fields not acted on), dry run
($log) = no_leak('DO block, NOTICE',
	"DO \$do\$ BEGIN PERFORM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('do-notice', "stringData:\n  password: \"DoNotice-Secret-4096\"\n")
	  . cluster_doc('do-notice', "  resources:\n    requests:\n      cpu: 1\n")
	  . "\$m\$, dry_run => true); END \$do\$",
	0, 'DoNotice-Secret-4096');
like($log, qr/NOTICE:  00000: Cluster\/do-notice: fields accepted but not acted on/, 'DO block, NOTICE: the notice is logged');

# succeeds with a WARNING (a data value ending in a newline), stored
my $b64 = encode_base64("DoWarn-Secret-2048\n", '');
($log) = no_leak('DO block, WARNING',
	"DO \$do\$ BEGIN PERFORM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('do-warn', "data:\n  password: $b64\nstringData:\n  other: \"DoWarn-Plain-1024\"\n")
	  . "\$m\$); END \$do\$",
	0, 'DoWarn-Secret-2048', $b64, 'DoWarn-Plain-1024');
like($log, qr/WARNING:  01000: Secret\/do-warn: data\.password: the decoded value ends in a newline/, 'DO block, WARNING: the warning is logged');

# an error from below (the INSERT of a read-only transaction), re-thrown
($log) = no_leak('DO block, error from below',
	"BEGIN READ ONLY;\nDO \$do\$ BEGIN PERFORM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('do-below', "stringData:\n  password: \"DoBelow-Secret-6174\"\n")
	  . "\$m\$); END \$do\$;\nROLLBACK;",
	1, 'DoBelow-Secret-6174');
like($log, qr/ERROR:  25006: cannot execute INSERT in a read-only transaction/, 'error from below: logged');

# ---------- 3. statements logged with messages after apply ------------------

# the rest of a multi-statement query string fails: its STATEMENT line is
# the whole string
no_leak('error later in the same query string',
	"SELECT count(*) FROM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('multi', "stringData:\n  password: \"Multi-Secret-1123\"\n")
	  . "\$m\$, dry_run => true) \\; SELECT 1/0;",
	1, 'Multi-Secret-1123');

# a direct call with a NOTICE (log_min_error_statement = debug1)
no_leak('direct call, NOTICE',
	"SELECT count(*) FROM cnpg_bootstrap_apply(\$m\$"
	  . secret_doc('direct-notice', "stringData:\n  password: \"Direct-Secret-5040\"\n")
	  . cluster_doc('direct-notice', "  resources:\n    requests:\n      cpu: 1\n")
	  . "\$m\$, dry_run => true)",
	0, 'Direct-Secret-5040');

# ---------- 4. pg_stat_activity: while apply waits, and after it -----------

{
	my $locker = $node->background_psql('postgres');
	$locker->query_safe("BEGIN; LOCK TABLE cnpg_bootstrap.objects IN ACCESS EXCLUSIVE MODE;");
	my $applier = $node->background_psql('postgres');
	$applier->query_safe("SET application_name = 'cb010_applier'");
	$applier->query_until(qr/started/, "\\echo started\nSELECT count(*) FROM cnpg_bootstrap_apply(\$m\$"
		  . secret_doc('activity', "stringData:\n  password: \"Activity-Secret-3600\"\n")
		  . "\$m\$) \\; SELECT pg_sleep(2);\n");
	my $act = "SELECT query FROM pg_stat_activity WHERE application_name = 'cb010_applier'";
	ok($node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE application_name = 'cb010_applier'"),
		'pg_stat_activity: apply waits for the lock');
	my $q = q1($act);
	unlike($q, qr/Activity-Secret-3600/, 'pg_stat_activity: the manifest is not shown while apply runs');
	like($q, qr/cnpg_bootstrap_apply/, 'pg_stat_activity: it says apply runs') or diag($q);
	$locker->query_safe('COMMIT');
	ok($node->poll_query_until('postgres',
		"SELECT state = 'idle' FROM pg_stat_activity WHERE application_name = 'cb010_applier'"),
		'pg_stat_activity: the applier is idle again');
	unlike(q1($act), qr/Activity-Secret-3600/, 'pg_stat_activity: the manifest is not shown after apply returned');
	is(q1("SELECT count(*) FROM cnpg_bootstrap.secret_data WHERE secret = 'activity'"), '1', 'pg_stat_activity: the Secret was stored');
	$applier->quit;
	$locker->quit;
}

# ---------- 5. pg_dump of the control database ------------------------------

# Secrets are dumped (a restored control instance must find them); the
# documented way out leaves their values out
{
	my $hex = unpack('H*', 'Activity-Secret-3600');
	my $out;
	IPC::Run::run([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-d', 'postgres' ], '>', \$out)
	  or die 'pg_dump failed';
	like($out, qr/$hex/, 'pg_dump: Secret values are in a dump of the control database');
	IPC::Run::run([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
		'--exclude-table-data=cnpg_bootstrap.secret_data' ], '>', \$out)
	  or die 'pg_dump failed';
	unlike($out, qr/$hex/, 'pg_dump --exclude-table-data=cnpg_bootstrap.secret_data: no Secret value');
	like($out, qr/COPY cnpg_bootstrap\.objects/, 'pg_dump --exclude-table-data: the other catalog tables are still dumped');
	like(q1("SELECT obj_description('cnpg_bootstrap.secret_data'::regclass, 'pg_class')"),
		qr/--exclude-table-data=cnpg_bootstrap\.secret_data/, 'secret_data says how to leave it out of a dump');
}

# the whole log, once more
my $all = slurp_file($node->logfile);
for my $v (qw(98765432123 Tagged5ecret77 Unknown-Secret-66 Dup-Secret-77 Colon-Secret-55 Alias-Secret-42 31415926535 Tagged-Float-0815 27182818284 16180339887 DoFail-Secret-8128 DoNotice-Secret-4096
	DoWarn-Secret-2048 DoWarn-Plain-1024 DoBelow-Secret-6174 Multi-Secret-1123 Direct-Secret-5040 Activity-Secret-3600))
{
	unlike($all, qr/\Q$v\E/, "whole log: no $v");
}

done_testing();
