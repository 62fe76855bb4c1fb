# The test object stores of t/005 to t/007, started the same way: s3rver
# (test/s3rig.sh, checks Signature V4) or azurite (test/azrig.sh, checks
# Shared Key), each on a free port of its own, stopped when the test ends.
#
#   rig_start('s3' | 'azure', DIR, own_keys => TAG)
#       undef once the store answers, else why the test cannot run here
#       (for plan skip_all).  For s3 the test also needs barman-cloud and
#       boto3.  own_keys: a key pair of this run's own for the S3 store
#       (ps shows every process of the host, other tests' too, and those
#       use the rig's default testkey/testsecret).
#   gcs_rig_start(DIR, port => P, cert => PEM, key => PEM, sa_pub => PEM,
#       email => E, expires_in => S)
#       test/gcsrig.py (Python 3 and openssl only): Google Cloud Storage's
#       XML API subset and an OAuth2 token endpoint that verifies the
#       service account's RS256 JWTs, over HTTPS on 127.0.0.1:P; objects
#       under DIR/data/<bucket>/, events in DIR/gcsrig.log.  undef once it
#       listens, else why not.
#   have(CMD)   is CMD on PATH?
package StoreRig;

use strict;
use warnings;
use Cwd qw(getcwd);
use Exporter 'import';
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(have rig_start gcs_rig_start);

my @started;    # scripts to stop at the end
my @handles;    # IPC::Run handles to kill at the end

sub have { return system('sh', '-c', "command -v $_[0] >/dev/null 2>&1") == 0; }

# the telling lines of a failed start (npm writes many)
sub reason_in
{
	my ($file, $prefix) = @_;
	return '' unless -f $file;
	my @lines = split /\n/, slurp_file($file);
	my @telling = grep { /^$prefix: |npm error (code|request)/ } @lines;
	return join(' / ', @telling ? @telling : @lines[ max(0, $#lines - 2) .. $#lines ]);
}

sub s3_prerequisites
{
	my ($script) = @_;
	system('bash', $script, 'deps') if $> == 0 && !have('barman-cloud-backup');
	return 'barman-cloud-backup not found (as root: apt-get install barman-cli-cloud)'
	  unless have('barman-cloud-backup') && have('barman-cloud-wal-archive');
	return 'python3-boto3 not found'
	  unless system('python3', '-c', 'import boto3') == 0;
	return undef;
}

sub rig_start
{
	my ($kind, $dir, %o) = @_;
	my ($name, $var, $what) = $kind eq 's3' ?
	  ('s3rig', 'S3RIG', 'the S3 test store') : ('azrig', 'AZRIG', 'azurite');
	my $script = getcwd() . "/test/$name.sh";
	my $why;

	return "node or npm not found (Node.js >= 20 runs $what)" unless have('node') && have('npm');
	return $why if $kind eq 's3' && defined($why = s3_prerequisites($script));
	$ENV{"${var}_DIR"} = $dir;
	$ENV{"${var}_PORT"} = PostgreSQL::Test::Cluster::get_free_port();
	$ENV{"${var}_NODE_DIR"} //= "$dir/node";
	if ($o{own_keys})
	{
		my $tag = sprintf('%d%04d', $$, int(rand(10000)));
		$ENV{S3RIG_KEY} = "$o{own_keys}key$tag";
		$ENV{S3RIG_SECRET} = "$o{own_keys}Secret-$tag-Kq";
	}
	push @started, $script;
	mkdir $dir;
	system("bash '$script' start >'$dir.start.log' 2>&1") == 0
	  or return "$what could not start: " . reason_in("$dir.start.log", $name);
	return undef;
}

sub gcs_rig_start
{
	my ($dir, %o) = @_;
	return 'python3 not found' unless have('python3');
	return 'openssl not found' unless have('openssl');
	mkdir $dir;
	mkdir "$dir/data";
	my $log = "$dir/gcsrig.log";
	my $h = IPC::Run::start([ 'python3', getcwd() . '/test/gcsrig.py', '--dir', "$dir/data",
			'--port', $o{port}, '--cert', $o{cert}, '--key', $o{key}, '--sa-pub', $o{sa_pub},
			'--client-email', $o{email}, '--expires-in', $o{expires_in} // 3600, '--log', $log ],
		'>', "$dir/gcsrig.out", '2>&1');
	push @handles, $h;
	for (1 .. 100)
	{
		return undef if -f $log && slurp_file($log) =~ /^listening$/m;
		last unless $h->pumpable;
		usleep(100_000);
	}
	return 'gcsrig did not start: ' . (-f "$dir/gcsrig.out" ? slurp_file("$dir/gcsrig.out") : '');
}

END
{
	local $?;    # the test's exit status is not the stores'
	system('bash', $_, 'stop') for @started;
	$_->kill_kill for @handles;
}

1;
