-- The SQL interface: apply/re-apply actions, status before the worker has
-- run (no data_root in the regression instance), transactions, Secrets,
-- delete rules and privileges.
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;

-- a first apply creates; a Secret given with data (base64) and stringData
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: kubernetes.io/basic-auth
data:
  username: YXBw
stringData:
  password: s3cret-Pa55
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: post-init
data:
  init.sql: CREATE TABLE t (i int);
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-one
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
      owner: app
      secret:
        name: app-secret
      postInitApplicationSQLRefs:
        configMapRefs:
          - name: post-init
            key: init.sql
$$);

SELECT cnpg_bootstrap_secret('app-secret', 'username') AS username,
       cnpg_bootstrap_secret('app-secret', 'password') AS password,
       cnpg_bootstrap_secret('app-secret', 'nosuchkey') AS missing;

-- until the worker has run, the cluster waits
SELECT cluster, phase, phase_reason, instances, ready_instances, bootstrap_method
  FROM cnpg_bootstrap_status('api-one');
SELECT * FROM cnpg_bootstrap_instances('api-one');

-- the same manifest again: unchanged; a changed one: configured
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-one
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
      owner: app
      secret:
        name: app-secret
      postInitApplicationSQLRefs:
        configMapRefs:
          - name: post-init
            key: init.sql
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-one
spec:
  instances: 2
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
      owner: app
      secret:
        name: app-secret
      postInitApplicationSQLRefs:
        configMapRefs:
          - name: post-init
            key: init.sql
$$);
SELECT instances FROM cnpg_bootstrap_status('api-one');

-- a changed Secret value is configured too
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
stringData:
  username: app
  password: other-Pa55
$$);
SELECT cnpg_bootstrap_secret('app-secret', 'password');

-- the bootstrap section is immutable once bootstrapping began
UPDATE cnpg_bootstrap.clusters SET bootstrapped = true WHERE name = 'api-one';
\set VERBOSITY default
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-one
spec:
  instances: 2
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: other
      owner: app
      secret:
        name: app-secret
$$);
UPDATE cnpg_bootstrap.clusters SET bootstrapped = false WHERE name = 'api-one';

-- all or nothing: the second document is bad, the first is not stored
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: never-stored
data:
  a: b
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-bad
spec:
  instances: 0
  storage:
    size: 1Gi
$$);
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name IN ('never-stored', 'api-bad');

-- transactional: a rollback undoes an apply
BEGIN;
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: rolled-back
data:
  a: b
$$);
ROLLBACK;
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name = 'rolled-back';

-- dry run: reported, not stored
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: dry
data:
  a: b
$$, dry_run => true);
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name = 'dry';

-- the same object twice in one stream
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: twice
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: twice
$$);

-- a Secret value ending in a newline is stored, with a WARNING
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: newline-secret
data:
  password: cGFzc3dvcmQK
$$);

-- a referenced Secret/ConfigMap cannot be deleted while the Cluster exists
SELECT cnpg_bootstrap_delete('Secret', 'app-secret');
SELECT cnpg_bootstrap_delete('ConfigMap', 'post-init');
SELECT cnpg_bootstrap_delete('Pooler', 'x');
SELECT cnpg_bootstrap_delete('Cluster', 'api-one');
SELECT cnpg_bootstrap_delete('Cluster', 'api-one');
SELECT cnpg_bootstrap_status('api-one');
-- no data_root here: no directory is recorded, so the worker will remove nothing
SELECT cluster, directory IS NULL AS no_directory FROM cnpg_bootstrap.teardown;
SELECT cnpg_bootstrap_delete('Secret', 'app-secret');
SELECT cnpg_bootstrap_delete('ConfigMap', 'post-init');
SELECT cnpg_bootstrap_delete('Secret', 'newline-secret');
SELECT count(*) FROM cnpg_bootstrap.secret_data;

-- wait on a cluster that does not exist
SELECT cnpg_bootstrap_wait('no-such-cluster', '1 second');

-- stop and start on demand: the wanted state, for an existing cluster only;
-- the cnpg.io/hibernation annotation sets it too: "on", "off", nothing else
SELECT cnpg_bootstrap_stop('no-such-cluster');
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-hib
  annotations:
    cnpg.io/hibernation: "yes"
spec:
  instances: 1
  storage:
    size: 1Gi
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api-hib
  annotations:
    cnpg.io/hibernation: "on"
spec:
  instances: 1
  storage:
    size: 1Gi
$$);
SELECT hibernation FROM cnpg_bootstrap.clusters WHERE name = 'api-hib';
SELECT cnpg_bootstrap_stop('api-hib') AS changed;
SELECT cnpg_bootstrap_start('api-hib') AS changed;
SELECT hibernation FROM cnpg_bootstrap.clusters WHERE name = 'api-hib';
SELECT cnpg_bootstrap_delete('Cluster', 'api-hib');

-- privileges: a plain role can neither apply nor read the catalog
CREATE ROLE cb_plain LOGIN;
SET ROLE cb_plain;
SELECT * FROM cnpg_bootstrap_apply('kind: ConfigMap');
SELECT cnpg_bootstrap_stop('api-hib');
SELECT cnpg_bootstrap_secret('app-secret', 'password');
SELECT count(*) FROM cnpg_bootstrap.objects;
SELECT count(*) FROM cnpg_bootstrap.secret_data;
SELECT * FROM cnpg_bootstrap_status();
RESET ROLE;
-- a monitoring role may be granted status, instances and wait
GRANT USAGE ON SCHEMA public TO cb_plain;
GRANT EXECUTE ON FUNCTION cnpg_bootstrap_status(text) TO cb_plain;
SET ROLE cb_plain;
SELECT count(*) FROM cnpg_bootstrap_status();
SELECT count(*) FROM cnpg_bootstrap.clusters;
RESET ROLE;
DROP OWNED BY cb_plain;
DROP ROLE cb_plain;
DELETE FROM cnpg_bootstrap.teardown;
