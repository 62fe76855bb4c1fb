/*-------------------------------------------------------------------------
 *
 * cnpg_bootstrap.c
 *	  Module entry: _PG_init, the GUCs and the registration of the launcher
 *	  background worker.  Everything else lives under src/.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "cnpg_bootstrap.h"
#include "faultinject.h"
#include "objectstore.h"
#include "ports.h"
#include "sparepool.h"
#include "supervise.h"
#include "worker.h"

PG_MODULE_MAGIC;

char	   *cb_data_root = NULL;
char	   *cb_port_range = NULL;
char	   *cb_listen_addresses = NULL;
char	   *cb_bindir = NULL;
int			cb_max_workers = 4;
char	   *cb_database_name = NULL;

void		_PG_init(void);

static bool
check_port_range(char **newval, void **extra, GucSource source)
{
	int			lo,
				hi;

	if (!cb_parse_port_range(*newval, &lo, &hi))
	{
		GUC_check_errdetail("cnpg_bootstrap.port_range must look like \"55432-55999\": "
							"two TCP ports between 1024 and 65535, the first not above the second.");
		return false;
	}
	return true;
}

/* data_root must be absolute (or empty: the worker then bootstraps nothing) */
static bool
check_data_root(char **newval, void **extra, GucSource source)
{
	if (**newval != '\0' && !is_absolute_path(*newval))
	{
		GUC_check_errdetail("cnpg_bootstrap.data_root must be an absolute path.");
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cnpg_bootstrap must be loaded via shared_preload_libraries"),
				 errhint("Add cnpg_bootstrap to shared_preload_libraries and restart the server.")));

	DefineCustomStringVariable("cnpg_bootstrap.data_root",
							   "Directory holding all target clusters.",
							   "Empty: the bootstrap worker waits until it is set.",
							   &cb_data_root, "", PGC_SIGHUP, 0,
							   check_data_root, NULL, NULL);
	DefineCustomStringVariable("cnpg_bootstrap.port_range",
							   "TCP ports handed to target instances, as \"low-high\".",
							   NULL, &cb_port_range, "55432-55999", PGC_SIGHUP, 0,
							   check_port_range, NULL, NULL);
	DefineCustomStringVariable("cnpg_bootstrap.listen_addresses",
							   "listen_addresses of target instances.",
							   "The first address is the host written into generated Secrets.",
							   &cb_listen_addresses, "localhost", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("cnpg_bootstrap.bindir",
							   "Directory of initdb, pg_ctl, pg_basebackup, pg_dump; %v is the major version of spec.imageName.",
							   "Empty: the control instance's own bin directory.",
							   &cb_bindir, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cnpg_bootstrap.max_workers",
							"How many clusters are reconciled at the same time.",
							"Each takes one background worker (see max_worker_processes).",
							&cb_max_workers, 4, 1, 64, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("cnpg_bootstrap.store_timeout",
							"How long an object store may stay silent before a request to it is retried.",
							"Each request is tried 7 times with a growing pause; then the cluster waits for the store.",
							&cb_store_timeout, 60, 1, 3600, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("cnpg_bootstrap.supervise_interval",
							"How often the launcher looks at the instances of healthy clusters.",
							"A stopped instance is started again, a standby that does not stream is repaired; 0 turns this off.",
							&cb_supervise_interval, 5, 0, 3600, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("cnpg_bootstrap.spare_pool_size",
							"Spare data directories kept per recently used set of initdb options.",
							"Made by initdb in the background while no cluster is being bootstrapped; 0 turns the pool off and removes the spares.",
							&cb_spare_pool_size, 1, 0, 16, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("cnpg_bootstrap.spare_pool_max_mb",
							"Disk space all spare data directories may take together.",
							NULL, &cb_spare_pool_max_mb, 1024, 0, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomStringVariable("cnpg_bootstrap.database_name",
							   "Database where CREATE EXTENSION cnpg_bootstrap runs and the workers connect.",
							   NULL, &cb_database_name, "postgres", PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("cnpg_bootstrap.fault_injection",
							   "Test only: a fault to inject once, as \"<step>:<start|middle|end>:<kind>[:<tag>]\".",
							   "Empty (the default): none.  See src/faultinject.c.",
							   &cb_fault_injection, "", PGC_SIGHUP,
							   GUC_NOT_IN_SAMPLE | GUC_SUPERUSER_ONLY,
							   cb_fault_check, NULL, NULL);

	MarkGUCPrefixReserved("cnpg_bootstrap");

	cb_worker_init();
}
