# The cnpg-bootstrap command (issue 17) against a real control instance:
# apply (kubectl's lines, a directory, stdin), --dry-run (nothing stored),
# --wait and wait (a healthy and a failing cluster, a timeout, exit
# statuses), status, get secret, psql (unix socket and TCP), delete (by
# name and -f), bad YAML (file, line and column) and a missing file.
# The control instance logs every statement with its parameters, every
# error's statement and every plan (auto_explain, verbose: the planner
# folds bound parameters into constants).  Applying the old way (psql, the
# manifest as statement text) leaks the manifest into that log; through
# the command neither a Secret's value nor the manifest's text reaches it,
# after a good apply nor after a failing one.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('59250-59299', <<'CONF');
log_statement = 'all'
log_min_duration_statement = 0
log_min_error_statement = debug5
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
shared_preload_libraries = 'cnpg_bootstrap,auto_explain'
auto_explain.log_min_duration = 0
auto_explain.log_verbose = on
auto_explain.log_nested_statements = on
CONF

# the command built in this tree (make installcheck runs from it), else
# the one installed next to pg_config's programs, else PATH's
my $cli;
for my $c (($ENV{TESTDIR} ? ("$ENV{TESTDIR}/src/bin/cnpg-bootstrap") : ()), 'src/bin/cnpg-bootstrap',
	$node->config_data('--bindir') . '/cnpg-bootstrap')
{
	if (-x $c) { $cli = $c; last; }
}
$cli //= 'cnpg-bootstrap';
note("command: $cli");

# run the command against the control instance: (exit status, stdout, stderr)
sub cli_env
{
	my ($env, $stdin, @args) = @_;
	my ($out, $err) = ('', '');
	$stdin //= '';
	local %ENV = (%ENV, %$env);
	IPC::Run::run([ $cli, '-h', $node->host, '-p', $node->port, @args ],
		'<', \$stdin, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}
sub cli { return cli_env({}, @_); }

my $dir = tempdir('/tmp/cbcli.XXXXXX', CLEANUP => 1);
sub put { my ($name, $text) = @_; open(my $fh, '>', "$dir/$name") or die; print $fh $text; close $fh; return "$dir/$name"; }

sub log_since { my ($offset) = @_; return slurp_file($node->logfile, $offset); }

# ---------- --help, --version, usage ----------
my ($rc, $out, $err) = cli(undef, '--help');
is($rc, 0, '--help exits 0');
like($out, qr/apply -f FILE\|DIR\|-.*status \[CLUSTER\]/s, '--help lists the commands');
($rc, $out) = cli(undef, '--version');
like($out, qr/^cnpg-bootstrap \(cnpg_bootstrap\) \d+\.\d+/, '--version');
($rc, $out, $err) = cli(undef, 'apply');
is($rc, 2, 'apply without -f: usage error (2)');
like($err, qr/apply needs -f/, 'apply without -f: says so');

# ---------- 1. the old way leaks into this log ----------
my $old_secret = 'OldWay-Secret-31415';
my $old_manifest = <<"YAML";
# old-way-manifest-marker
apiVersion: v1
kind: Secret
metadata:
  name: old-way
stringData:
  password: $old_secret
YAML
my $offset = -s $node->logfile;
my ($prc) = $node->psql('postgres', "SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true)",
	extra_params => [ '-v', "m=$old_manifest" ]);
is($prc, 0, 'the old way: psql applies (dry run)');
my $log = log_since($offset);
like($log, qr/\Q$old_secret\E/, 'the old way: the Secret value is in the log (log_statement = all)');
like($log, qr/old-way-manifest-marker/, 'the old way: the manifest text is in the log');
# and a failing apply the old way
$offset = -s $node->logfile;
$node->psql('postgres', "SELECT * FROM cnpg_bootstrap_apply(:'m')",
	extra_params => [ '-v', "m=$old_manifest  bad: [\n" ]);
like(log_since($offset), qr/\Q$old_secret\E/, 'the old way, failing: the Secret value is in the log');

# ---------- 2. the command: dry run, a directory, stdin ----------
# from here on the log must hold nothing of the command's manifests
my $cli_offset = -s $node->logfile;
my $new_secret = 'NewWay-Secret-27182';
mkdir "$dir/m" or die;
put('m/a-secret.yaml', <<"YAML");
# cli-manifest-marker
apiVersion: v1
kind: Secret
metadata:
  name: cli-secret
stringData:
  password: $new_secret
  note: "Grüße, 日本"
YAML
put('m/b-cluster.yaml', "# cli-manifest-marker\n" . cluster_yaml('cli1', "  enableSuperuserAccess: true\n"));
put('m/notes.txt', "not a manifest\n");

$offset = -s $node->logfile;
($rc, $out, $err) = cli(undef, 'apply', '-f', "$dir/m", '--dry-run');
is($rc, 0, 'apply --dry-run exits 0') or diag($err);
is($out, "secret/cli-secret created (dry run)\ncluster.postgresql.cnpg.io/cli1 created (dry run)\n",
	'apply --dry-run: one line per object, (dry run)');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE name IN ('cli-secret', 'cli1')"), '0',
	'apply --dry-run: nothing stored');
is(q1("SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name = 'cli1'"), '0', 'apply --dry-run: no cluster status');

# a server NOTICE names the file too
my $noted = put('noted.yaml', cluster_yaml('noted', "  affinity:\n    enablePodAntiAffinity: true\n"));
($rc, $out, $err) = cli(undef, 'apply', '-f', $noted, '--dry-run');
is($rc, 0, 'apply --dry-run with a NOTICE exits 0');
like($err, qr/^cnpg-bootstrap: notice: \Q$noted\E: Cluster\/noted: fields accepted but not acted on by cnpg_bootstrap: spec\.affinity/m,
	'a NOTICE: the file and the server\'s message') or diag($err);

($rc, $out, $err) = cli(undef, 'apply', '-f', "$dir/m", '--wait=4m');
is($rc, 0, 'apply -f DIR --wait exits 0') or diag($err);
note("apply --wait printed:\n$out");
like($out, qr/\Asecret\/cli-secret created\ncluster\.postgresql\.cnpg\.io\/cli1 created\n/,
	'apply -f DIR: kubectl\'s lines, files in name order, notes.txt left out');
like($out, qr/^cluster\.postgresql\.cnpg\.io\/cli1: Cluster in healthy state \(after \d+s\)$/m,
	'apply --wait: the final phase');
is(secret('cli-secret', 'password'), $new_secret, 'the Secret is stored');
is(status('cli1', 'phase'), 'Cluster in healthy state', 'cli1 is healthy');

($rc, $out) = cli(undef, 'apply', '-f', "$dir/m/a-secret.yaml");
is($out, "secret/cli-secret unchanged\n", 'apply again: unchanged');

($rc, $out, $err) = cli("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cli-cm\ndata:\n  k: v\n",
	'apply', '-f', '-');
is("$rc $out", "0 configmap/cli-cm created\n", 'apply -f -: a ConfigMap from stdin') or diag($err);

# ---------- 3. wait, status, get secret, psql ----------
($rc, $out, $err) = cli(undef, 'wait', 'cli1', '--timeout=2m');
is($rc, 0, 'wait on a healthy cluster exits 0') or diag($err);
like($out, qr/cli1: Cluster in healthy state/, 'wait prints the phase');
($rc, $out, $err) = cli(undef, 'wait', 'no-such');
is($rc, 1, 'wait on a missing cluster exits 1');
like($err, qr/cluster\.postgresql\.cnpg\.io "no-such" not found/, 'wait on a missing cluster: not found');

our $port;
$port = port_of('cli1-1');
($rc, $out, $err) = cli(undef, 'status', 'cli1');
is($rc, 0, 'status cli1 exits 0') or diag($err);
note($out);
like($out, qr/^Status:\s+Cluster in healthy state$/m, 'status: the phase');
like($out, qr/^Primary instance:\s+cli1-1$/m, 'status: the primary');
like($out, qr/^Read-write service:\s+\S+:$port$/m, 'status: the read-write endpoint');
like($out, qr/^NAME\s+ROLE\s+STATUS\s+PORT\s+TIMELINE\s+CURRENT LSN/m, 'status: the instances table');
like($out, qr/^cli1-1\s+primary\s+\S+\s+$port\s+1\s+[0-9A-F]+\/[0-9A-F]+/m,
	'status: the instance with role, status, port, timeline, LSN');
like($out, qr/^initdb\s+.*done\s+\d\d:\d\d:\d\d\s+\d+\.\ds/m, 'status: the steps with their durations');
($rc, $out) = cli(undef, 'status');
like($out, qr/^NAME\s+INSTANCES\s+READY\s+STATUS.*\ncli1\s+1\s+1\s+Cluster in healthy state\s+cli1-1\s+\d+[smhd]$/m,
	'status: one line per cluster');
($rc, $out, $err) = cli(undef, 'status', 'no-such');
is($rc, 1, 'status of a missing cluster exits 1');

my $app_pw = secret('cli1-app', 'password');
($rc, $out, $err) = cli(undef, 'get', 'secret', 'cli1-app');
is($rc, 0, 'get secret NAME exits 0') or diag($err);
like($out, qr/^password:\s+\d+ bytes$/m, 'get secret NAME: lists the keys with their sizes');
like($out, qr/Generated by:\s+Cluster\/cli1/, 'get secret NAME: says which cluster made it');
unlike($out, qr/\Q$app_pw\E/, 'get secret NAME: shows no value');
($rc, $out) = cli(undef, 'get', 'secret', 'cli1-app', 'password');
is($out, "$app_pw\n", 'get secret NAME KEY: the value');
($rc, $out) = cli(undef, 'get', 'secret', 'cli-secret', 'password');
is($out, "$new_secret\n", 'get secret: an applied Secret\'s value');
($rc, $out) = cli(undef, 'get', 'secret', 'cli-secret', 'note');
is($out, "Grüße, 日本\n", 'get secret: a value beyond ASCII, as written (UTF-8 both ways)');
($rc, $out, $err) = cli(undef, 'get', 'secret', 'no-such');
is($rc, 1, 'get secret of a missing Secret exits 1');
like($err, qr/secret "no-such" not found/, 'get secret: not found');
($rc, $out, $err) = cli(undef, 'get', 'secret', 'cli1-app', 'no-key');
like("$rc $err", qr/^1 .*has no key "no-key"/, 'get secret: a missing key');

($rc, $out, $err) = cli(undef, 'psql', 'cli1', '--', '-XAtc', 'SELECT current_user || 42');
is("$rc $out", "0 postgres42\n", 'psql CLUSTER -- ARGS: psql on the primary as postgres') or diag($err);
($rc, $out) = cli(undef, 'psql', 'cli1', '--', '-XAtc', 'SELECT inet_server_port() IS NULL');
is($out, "t\n", 'psql: over the unix socket (peer authentication) when this OS user may');

# over TCP: the superuser Secret's password through a passfile, never argv
my $su_pw = secret('cli1-superuser', 'password');
my $tmp = tempdir('/tmp/cbclitmp.XXXXXX', CLEANUP => 1);
my $sampler = ps_sampler_start("$dir/ps.txt", 20);
($rc, $out, $err) = cli_env({ TMPDIR => $tmp, PGPASSWORD => 'wrong' }, undef, 'psql', 'cli1', '--tcp', '--',
	'-XAtc', 'SELECT current_user, inet_server_port(), pg_sleep(0.3)');
ps_sampler_stop($sampler);
is("$rc $out", "0 postgres|$port|\n", 'psql --tcp: as postgres over TCP with the superuser password') or diag($err);
my @left = glob("$tmp/*");
is(scalar(@left), 0, 'psql --tcp: the passfile is gone once psql ends');
unlike(slurp_file("$dir/ps.txt"), qr/\Q$su_pw\E/, 'psql --tcp: the password never shows on a command line');
like(slurp_file("$dir/ps.txt"), qr/psql -h localhost -p $port -U postgres/, 'psql --tcp: the sampler saw psql\'s command line');

# a monitoring role granted the status functions: status and wait work
q1("CREATE ROLE cbmon LOGIN; GRANT EXECUTE ON FUNCTION cnpg_bootstrap_status(text),"
	. " cnpg_bootstrap_instances(text), cnpg_bootstrap_replication(text) TO cbmon");
($rc, $out, $err) = cli(undef, '-U', 'cbmon', 'status', 'cli1');
is($rc, 0, 'status as a monitoring role exits 0') or diag($err);
like($out, qr/^cli1-1\s+primary\s+\S+\s+$port/m, 'status as a monitoring role: the instances');
like($out, qr/^Steps\nNot shown: permission denied/m, 'status as a monitoring role: the steps are not shown, and why');
($rc, $out, $err) = cli(undef, '-U', 'cbmon', 'wait', 'cli1');
is("$rc $err", '0 ', 'wait as a monitoring role');
($rc, $out, $err) = cli(undef, '-U', 'cbmon', 'get', 'secret', 'cli1-app', 'password');
like("$rc $err", qr/^1 .*permission denied/, 'get secret as a monitoring role: permission denied');
($rc, $out, $err) = cli(undef, '-U', 'cbmon', 'apply', '-f', "$dir/m/a-secret.yaml");
is($rc, 1, 'apply as a role that may not turn logging off exits 1');
like($err, qr/permission denied to set parameter "log_statement"\n.*nothing was sent/,
	'apply as such a role: refused before the manifest is sent') or diag($err);

# ---------- 4. a timeout, a failing cluster ----------
put('cli2.yaml', cluster_yaml('cli2'));
($rc, $out, $err) = cli(undef, 'apply', '-f', "$dir/cli2.yaml", '--wait=1ms');
is($rc, 1, 'apply --wait with a timeout too short exits 1');
like($err, qr/timed out after \d+s waiting for cluster\.postgresql\.cnpg\.io\/cli2/, 'apply --wait: timed out');
($rc, $out, $err) = cli(undef, 'delete', 'cluster', 'cli2');
is($rc, 0, 'cli2 deleted');

put('bad.yaml', <<'YAML' . cluster_yaml('clibad'));
apiVersion: v1
kind: Secret
metadata:
  name: clibad-app
stringData:
  username: someone-else
  password: Failing-Cluster-Pw-99
---
YAML
($rc, $out, $err) = cli(undef, 'apply', '-f', "$dir/bad.yaml", '--wait=3m');
is($rc, 1, 'apply --wait of a failing cluster exits 1');
note("apply --wait printed:\n$out$err");
like($out, qr/^cluster\.postgresql\.cnpg\.io\/clibad: Bootstrap failed: .*wrong username/m,
	'apply --wait: the failure and its reason');
($rc, $out) = cli(undef, 'wait', 'clibad');
is($rc, 1, 'wait on a failed cluster exits 1');
like($out, qr/clibad: Bootstrap failed/, 'wait: Bootstrap failed');

# ---------- 5. errors: bad YAML, a rule, a missing file ----------
my $bad_value = 'Bad-Yaml-Secret-4242';
my $bad_yaml = put('broken.yaml', <<"YAML");
apiVersion: v1
kind: Secret
metadata:
  name: broken
  stringData: {password: $bad_value
YAML
$offset = -s $node->logfile;
($rc, $out, $err) = cli(undef, 'apply', '-f', $bad_yaml);
is($rc, 1, 'bad YAML exits 1');
note("bad YAML:\n$err");
like($err, qr/^cnpg-bootstrap: error: \Q$bad_yaml\E:\d+:\d+: invalid YAML at line \d+, column \d+/m,
	'bad YAML: the file, line and column');
unlike($err, qr/\Q$bad_value\E/, 'bad YAML: the message shows no value');
my $rule = put('rule.yaml', "apiVersion: v1\nkind: Secret\nmetadata:\n  name: rule\nstringData:\n  password: 98765432123\n");
($rc, $out, $err) = cli(undef, 'apply', '-f', $rule);
is($rc, 1, 'a rule violation exits 1');
note("a rule violation:\n$err");
like($err, qr/\Q$rule\E(:\d+)*: .*stringData\.password: must be a string\n(DETAIL:  .*\n)?HINT:  Quote the value/,
	'a rule violation: the message and its HINT');
like(log_since($offset), qr/ERROR/, 'the failing applies are in the log');

($rc, $out, $err) = cli(undef, 'apply', '-f', "$dir/no-such.yaml");
is($rc, 1, 'a missing file exits 1');
like($err, qr/could not open ".*no-such\.yaml": No such file or directory/, 'a missing file: the message');
($rc, $out, $err) = cli(undef, 'apply', '-f', $bad_yaml, '-f', "$dir/m");
is($rc, 1, 'one bad file among several: exits 1');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE name = 'broken'"), '0', 'a bad file: nothing stored');

# ---------- 6. nothing of the manifests in the log ----------
$log = log_since($cli_offset);
for my $v ($new_secret, 'Failing-Cluster-Pw-99', $bad_value, '98765432123', 'cli-manifest-marker', 'stringData:')
{
	my @hits = grep { /\Q$v\E/ } split /\n/, $log;
	is(scalar(@hits), 0, "the log does not hold \"$v\"") or diag(join("\n", @hits[0 .. ($#hits > 5 ? 5 : $#hits)]));
}
like($log, qr/statement: SET log_statement = 'none'/, 'the command\'s sessions were logged until they turned logging off');

# ---------- 7. delete ----------
($rc, $out, $err) = cli(undef, 'delete', 'cluster', 'clibad');
is("$rc $out", "0 cluster.postgresql.cnpg.io \"clibad\" deleted\n", 'delete cluster NAME') or diag($err);
($rc, $out, $err) = cli(undef, 'delete', 'secret/clibad-app');
is("$rc $out", "0 secret \"clibad-app\" deleted\n", 'delete KIND/NAME');
($rc, $out, $err) = cli(undef, 'delete', 'configmap', 'no-such');
is($rc, 1, 'delete of a missing object exits 1');
like($err, qr/configmap "no-such" not found/, 'delete of a missing object: not found');
($rc) = cli(undef, 'delete', 'configmap', 'no-such', '--ignore-not-found');
is($rc, 0, 'delete --ignore-not-found');
($rc, $out, $err) = cli(undef, 'delete', '-f', "$dir/m");
is($rc, 0, 'delete -f DIR exits 0') or diag($err);
is($out, "cluster.postgresql.cnpg.io \"cli1\" deleted\nsecret \"cli-secret\" deleted\n",
	'delete -f: the Cluster first, then the Secret');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE name IN ('cli1', 'cli-secret', 'clibad', 'clibad-app')"),
	'0', 'delete: the objects are gone');
($rc, $out, $err) = cli(undef, 'delete', '-f', "$dir/m");
is($rc, 1, 'delete -f again: not found, exits 1');

done_testing();
