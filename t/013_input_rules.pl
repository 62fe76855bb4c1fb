# Issue 11's input rules where they need real servers:
#  - a Secret the user applied under the name of a generated one
#    (<cluster>-app, <cluster>-superuser) is used as it is, as CloudNativePG
#    uses an existing Secret: never overwritten, never taken over (it
#    survives the cluster's deletion); one whose username is not the owner
#    fails the bootstrap with the reason, and stays as the user wrote it;
#  - parameter names in any case reach the target as PostgreSQL reads
#    them (WAL_LEVEL replaces CloudNativePG's default wal_level);
#  - initdb options of the allowlist still work.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('57300-57399', "cnpg_bootstrap.max_workers = 2\n");

my $app_pw = 'Known-App-Pa55word';
my $su_pw = 'Known-Superuser-Pa55word';

# ---------- 1. user Secrets named as the generated ones ----------------------
is(apply(<<"YAML"), 'Secret/us-app created, Secret/us-superuser created, Cluster/us created', 'apply us');
apiVersion: v1
kind: Secret
metadata:
  name: us-app
type: kubernetes.io/basic-auth
stringData:
  username: app
  password: $app_pw
  note: written by the user
---
apiVersion: v1
kind: Secret
metadata:
  name: us-superuser
type: kubernetes.io/basic-auth
stringData:
  username: postgres
  password: $su_pw
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: us
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  postgresql:
    parameters:
      WAL_LEVEL: replica
      Work_Mem: 7MB
  bootstrap:
    initdb:
      options: ["--data-checksums", "-E", "UTF8", "--locale=C"]
YAML
is(wait_cluster('us'), 'Cluster in healthy state', 'us healthy');

is(secret('us-app', 'password'), $app_pw, 'us-app: the password is the user\'s');
is(secret('us-app', 'note'), 'written by the user', 'us-app: the user\'s other keys are kept');
is(secret('us-app', 'uri'), '', 'us-app: no generated key added');
is(secret('us-superuser', 'password'), $su_pw, 'us-superuser: the password is the user\'s');
is(q1("SELECT string_agg(name || '=' || coalesce(generated_by, 'user'), ',' ORDER BY name)"
	  . " FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name IN ('us-app', 'us-superuser')"),
	'us-app=user,us-superuser=user', 'both Secrets are still the user\'s, not generated');

my $port = port_of('us-1');
{
	my ($out, $err);
	local $ENV{PGPASSWORD} = $app_pw;
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'app', '-d', 'app',
		'-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "app\n", 'the owner logs in with the password of the user\'s us-app');
	local $ENV{PGPASSWORD} = $su_pw;
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'postgres', '-d', 'postgres',
		'-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "postgres\n", 'postgres logs in with the password of the user\'s us-superuser');
}

# parameter names in any case: the target reads them as one parameter each
is(tq('us', 'postgres', 'SHOW wal_level'), 'replica', 'WAL_LEVEL: replica replaced the default wal_level');
is(tq('us', 'postgres', 'SHOW work_mem'), '7MB', 'Work_Mem reached the target');
unlike(slurp_file("$root/us/us-1/pgdata/custom.conf"), qr/^(WAL_LEVEL|Work_Mem)\b/m,
	'custom.conf names the parameters in lower case');
# initdb options of the allowlist
is(tq('us', 'postgres', 'SHOW data_checksums'), 'on', 'initdb options: --data-checksums');

# deleting the cluster leaves the user's Secrets alone
ok(q1("SELECT cnpg_bootstrap_delete('Cluster', 'us')") eq 't', 'us deleted');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name IN ('us-app', 'us-superuser')"),
	'2', 'the user\'s Secrets survive the cluster');
is(secret('us-app', 'password'), $app_pw, 'us-app still holds the user\'s password');

# ---------- 2. a user <cluster>-app whose username is not the owner ----------
apply(<<'YAML');
apiVersion: v1
kind: Secret
metadata:
  name: bad-app
type: kubernetes.io/basic-auth
stringData:
  username: someone-else
  password: Other-Pa55word
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: bad
spec:
  instances: 1
  storage:
    size: 1Gi
YAML
is(wait_cluster('bad'), 'Bootstrap failed', 'bad: a foreign username fails the bootstrap');
like(status('bad', 'phase_reason'), qr/wrong username 'someone-else' in secret "bad-app", expected 'app'/,
	'the reason names the Secret, its username and the owner');
unlike(status('bad', 'phase_reason'), qr/Other-Pa55word/, 'the reason holds no password');
is(secret('bad-app', 'username') . ' ' . secret('bad-app', 'password'), 'someone-else Other-Pa55word',
	'bad-app is as the user wrote it');
is(q1("SELECT generated_by IS NULL FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name = 'bad-app'"),
	't', 'bad-app is still the user\'s');

done_testing();
