/* cnpg_bootstrap--0.1.sql */

\echo Use "CREATE EXTENSION cnpg_bootstrap" to load this file. \quit

-- The catalog: stored manifests and what the bootstrap worker made of them.
-- Secrets live here, so nothing in this schema is readable by PUBLIC.
CREATE SCHEMA cnpg_bootstrap;
REVOKE ALL ON SCHEMA cnpg_bootstrap FROM PUBLIC;

-- One row per applied (or generated) Cluster, Secret, ConfigMap and ObjectStore.
-- doc is the document as written, without a Secret's values.
CREATE TABLE cnpg_bootstrap.objects (
	kind text NOT NULL CHECK (kind IN ('Cluster', 'Secret', 'ConfigMap', 'ObjectStore')),
	name text NOT NULL,
	namespace text NOT NULL DEFAULT 'default',
	doc jsonb NOT NULL,
	generation integer NOT NULL DEFAULT 1,
	generated_by text,				-- Cluster that generated this Secret
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (kind, name)
);

-- Decoded Secret values (data merged with stringData); bytea, as Secrets
-- may hold binary keys.
CREATE TABLE cnpg_bootstrap.secret_data (
	secret text NOT NULL,
	key text NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (secret, key)
);

-- Status of each Cluster, as cnpg_bootstrap_status() shows it.
CREATE TABLE cnpg_bootstrap.clusters (
	name text PRIMARY KEY,
	phase text NOT NULL,
	phase_reason text,
	instances integer NOT NULL,
	ready_instances integer NOT NULL DEFAULT 0,
	current_primary text,
	bootstrap_method text NOT NULL,
	rw_host text,
	rw_port integer,
	started_at timestamptz,
	ready_at timestamptz,
	generation integer NOT NULL DEFAULT 1,
	bootstrapped boolean NOT NULL DEFAULT false,	-- a destructive step began
	progress text,
	-- the generation the worker last brought to healthy (0: not yet); a
	-- healthy cluster with an older one has a re-applied spec to act on
	observed_generation integer NOT NULL DEFAULT 0,
	-- stopped on demand (cnpg_bootstrap_stop, cnpg.io/hibernation: "on"),
	-- and kept stopped, across restarts of the control instance, until started
	hibernation boolean NOT NULL DEFAULT false
);

-- One row per instance (<cluster>-<n>); ports are unique host-wide.
CREATE TABLE cnpg_bootstrap.instances (
	cluster text NOT NULL REFERENCES cnpg_bootstrap.clusters ON DELETE CASCADE,
	instance text NOT NULL,
	serial integer NOT NULL,
	role text NOT NULL DEFAULT 'primary',
	status text NOT NULL DEFAULT 'pending',
	port integer UNIQUE,
	data_directory text,
	pid integer,
	timeline integer,
	lsn pg_lsn,							-- primary: current; replica: replayed
	lag_bytes bigint,					-- replica: behind the primary's LSN
	-- supervision (src/supervise.c, src/lifecycle.c): restarts after the
	-- instance was found stopped, the last one, why it had stopped, and the
	-- backoff of one that keeps stopping soon after its restart
	restarts integer NOT NULL DEFAULT 0,
	last_restart timestamptz,
	last_exit text,
	quick_failures integer NOT NULL DEFAULT 0,
	next_restart timestamptz,
	PRIMARY KEY (cluster, instance)
);

-- The reconciliation journal: one row per named step (and instance).
CREATE TABLE cnpg_bootstrap.steps (
	cluster text NOT NULL REFERENCES cnpg_bootstrap.clusters ON DELETE CASCADE,
	step text NOT NULL,
	instance text NOT NULL DEFAULT '',
	started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at timestamptz,
	outcome text NOT NULL DEFAULT 'running'
		CHECK (outcome IN ('running', 'done', 'failed')),
	detail text,
	PRIMARY KEY (cluster, step, instance)
);

-- Deleted Clusters whose servers and directory the worker still has to
-- remove; their ports stay taken until it has.  directory is the resolved
-- cluster directory the worker made, NULL if none is known (nothing is then
-- stopped or removed).  refused: why the worker would not stop or remove it
-- (not under the data_root in force, no ownership marker, ...); it tries
-- again a minute after refused_at.  Delete the row to give up.
CREATE TABLE cnpg_bootstrap.teardown (
	cluster text PRIMARY KEY,
	directory text,
	ports integer[] NOT NULL DEFAULT '{}',
	requested_at timestamptz NOT NULL DEFAULT now(),
	refused text,
	refused_at timestamptz
);

-- Dumped with the extension, so that a control instance restored from a
-- pg_dump finds its Secrets; README says how to leave the values out.
SELECT pg_catalog.pg_extension_config_dump('cnpg_bootstrap.objects', '');
SELECT pg_catalog.pg_extension_config_dump('cnpg_bootstrap.secret_data', '');
COMMENT ON TABLE cnpg_bootstrap.secret_data IS
	'Secret values, in clear. pg_dump of this database includes them; '
	'pg_dump --exclude-table-data=cnpg_bootstrap.secret_data leaves them out.';

REVOKE ALL ON ALL TABLES IN SCHEMA cnpg_bootstrap FROM PUBLIC;

CREATE FUNCTION cnpg_bootstrap_apply(manifest text, dry_run boolean DEFAULT false)
RETURNS TABLE (kind text, name text, action text)
AS 'MODULE_PATHNAME', 'cnpg_bootstrap_apply'
LANGUAGE C VOLATILE;

CREATE FUNCTION cnpg_bootstrap_delete(kind text, name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cnpg_bootstrap_delete'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION cnpg_bootstrap_secret(name text, key text)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT convert_from(d.value, 'UTF8')
	  FROM cnpg_bootstrap.secret_data d
	 WHERE d.secret = $1 AND d.key = $2
$$;

-- status, instances and wait may be granted to a monitoring role: they are
-- SECURITY DEFINER over tables PUBLIC cannot read, and show no secret.
CREATE FUNCTION cnpg_bootstrap_status(cluster text DEFAULT NULL)
RETURNS TABLE (cluster text, phase text, phase_reason text, instances integer,
			   ready_instances integer, current_primary text,
			   bootstrap_method text, rw_host text, rw_port integer,
			   started_at timestamptz, ready_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.name, c.phase, c.phase_reason, c.instances, c.ready_instances,
		   c.current_primary, c.bootstrap_method, c.rw_host, c.rw_port,
		   c.started_at, c.ready_at
	  FROM cnpg_bootstrap.clusters c
	 WHERE $1 IS NULL OR c.name = $1
	 ORDER BY c.name
$$;

CREATE FUNCTION cnpg_bootstrap_instances(cluster text)
RETURNS TABLE (instance text, role text, status text, port integer,
			   data_directory text, pid integer, timeline integer, lsn pg_lsn,
			   restarts integer, last_restart timestamptz, last_exit_reason text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.instance, i.role, i.status, i.port, i.data_directory, i.pid,
		   i.timeline, i.lsn, i.restarts, i.last_restart, i.last_exit
	  FROM cnpg_bootstrap.instances i
	 WHERE i.cluster = $1
	 ORDER BY i.serial
$$;

-- Replication state of each instance, as the worker last saw it.
CREATE FUNCTION cnpg_bootstrap_replication(cluster text)
RETURNS TABLE (instance text, role text, status text, lsn pg_lsn, lag_bytes bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.instance, i.role, i.status, i.lsn, i.lag_bytes
	  FROM cnpg_bootstrap.instances i
	 WHERE i.cluster = $1
	 ORDER BY i.serial
$$;

-- Waits, reading committed status, until the cluster is healthy, failed or
-- hibernated.
CREATE FUNCTION cnpg_bootstrap_wait(cluster text, timeout interval DEFAULT '5 minutes')
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + timeout;
	cur_phase text;
	cur_reason text;
BEGIN
	LOOP
		-- healthy with a spec applied since, or to be stopped: not yet done
		SELECT CASE WHEN c.phase = 'Cluster in healthy state' AND c.hibernation
					THEN 'Waiting for the instances to become active'
					WHEN c.phase = 'Cluster in healthy state' AND c.observed_generation < c.generation
					THEN 'Applying configuration' ELSE c.phase END,
			   c.phase_reason INTO cur_phase, cur_reason
		  FROM cnpg_bootstrap.clusters c WHERE c.name = cluster;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'cluster "%" does not exist', cluster
				USING ERRCODE = 'undefined_object',
					  HINT = 'Apply a Cluster manifest with cnpg_bootstrap_apply() first.';
		END IF;
		IF cur_phase IN ('Cluster in healthy state', 'Bootstrap failed', 'Cluster hibernated') THEN
			RETURN cur_phase;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RAISE EXCEPTION 'timed out waiting for cluster "%"', cluster
				USING ERRCODE = 'query_canceled',
					  DETAIL = format('After %s the phase is "%s" (%s).', timeout,
									  cur_phase, coalesce(cur_reason, '')),
					  HINT = 'See cnpg_bootstrap_status() and the server log; call again with a longer timeout.';
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
END
$$;

-- Stop a cluster cleanly and keep it stopped (across restarts of the control
-- instance too) until cnpg_bootstrap_start(); as the cnpg.io/hibernation
-- annotation does.  True if the wanted state changed.
CREATE FUNCTION cnpg_bootstrap_stop(cluster text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cnpg_bootstrap_stop'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION cnpg_bootstrap_start(cluster text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cnpg_bootstrap_start'
LANGUAGE C VOLATILE STRICT;

REVOKE ALL ON FUNCTION cnpg_bootstrap_apply(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_delete(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_secret(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_instances(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_wait(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_replication(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_stop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cnpg_bootstrap_start(text) FROM PUBLIC;
