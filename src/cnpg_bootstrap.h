/*-------------------------------------------------------------------------
 *
 * cnpg_bootstrap.h
 *	  What the module entry (cnpg_bootstrap.c) shares with the rest: GUC
 *	  variables and the shared-memory state of the launcher.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CNPG_BOOTSTRAP_H
#define CNPG_BOOTSTRAP_H

#include "postgres.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* GUCs (cnpg_bootstrap.c) */
extern char *cb_data_root;
extern char *cb_port_range;
extern char *cb_listen_addresses;
extern char *cb_bindir;
extern int	cb_max_workers;
extern char *cb_database_name;

/* cnpg_bootstrap.port_range's parser: cb_parse_port_range() in ports.h */

#endif							/* CNPG_BOOTSTRAP_H */
