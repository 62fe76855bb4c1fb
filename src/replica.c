/*-------------------------------------------------------------------------
 *
 * replica.c
 *	  What a replica cluster's designated primary follows: the
 *	  externalCluster named by spec.replica.source, whatever method and
 *	  source bootstrapped it.  CloudNativePG's page: WAL shipping from the
 *	  source's object store, streaming from its server, or both, either one
 *	  feeding the replica when the other does not; minApplyDelay delays the
 *	  replay.
 *
 * The restore_command is restore.c's (our WAL program and its 0600 file);
 * primary_conninfo is external.c's conninfo, which never holds a password.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "external.h"
#include "replica.h"
#include "restore.h"
#include "validate_input.h"

char *
cb_replica_recovery_conf(CbCluster *c, const char *bootstrap_restore_command)
{
	const char *name = c->spec->replica.source;
	const CbExternalCluster *ec = name ? cb_find_external_cluster(c->spec, name) : NULL;
	char	   *command;
	int			delay_ms;
	StringInfoData conf;

	if (ec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("missing external cluster %s (named by spec.replica.source)",
						name ? name : "")));
	initStringInfo(&conf);
	/*
	 * Without a store of its own, a replica restored from a store keeps
	 * that one: the backup needs its WAL to become consistent, which the
	 * server may no longer have.
	 */
	if ((command = cb_replica_restore_command(c, name)) == NULL)
		command = (char *) bootstrap_restore_command;
	if (command != NULL)
		appendStringInfo(&conf, "restore_command = %s\n", cb_conf_quote(command));
	if (ec->connection_parameters.n > 0)
	{
		CbSource   *src = cb_source_prepare(c, name, "spec.replica.source");

		appendStringInfo(&conf, "primary_conninfo = %s\n",
						 cb_conf_quote(cb_source_conninfo(src, NULL, NULL)));
	}
	if (command == NULL && ec->connection_parameters.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spec.replica.source %s has neither an object store nor connectionParameters", name),
				 errhint("A replica cluster follows its source by WAL shipping from a barmanObjectStore, by streaming, or both.")));
	appendStringInfoString(&conf, "recovery_target_timeline = 'latest'\n");
	/* validated at apply: a Go duration of 0 to INT_MAX ms */
	if (c->spec->replica.min_apply_delay &&
		cb_go_duration_ms(c->spec->replica.min_apply_delay, &delay_ms))
		appendStringInfo(&conf, "recovery_min_apply_delay = '%dms'\n", delay_ms);
	return conf.data;
}
