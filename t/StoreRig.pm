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
#   have(CMD)   is CMD on PATH?
package StoreRig;

use strict;
use warnings;
use Cwd qw(getcwd);
use Exporter 'import';
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(have rig_start);

my @started;    # scripts to stop at the end

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

END { system('bash', $_, 'stop') for @started; }

1;
