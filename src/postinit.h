/*-------------------------------------------------------------------------
 *
 * postinit.h
 *	  Roles, databases, post-init SQL and passwords of a new primary, in
 *	  CloudNativePG's order, over libpq as postgres on the unix socket.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_POSTINIT_H
#define CB_POSTINIT_H

#include "cluster.h"

/* docs/design.md §4 / docs/cnpg-rules.md §4.3, steps 1-8 */
extern void cb_postinit_run(CbCluster *c, CbInstance *primary);
/*
 * After a clone or a recovery (docs/decisions.md §2): create the application
 * database and its owner if missing, give it to the owner; each idempotent.
 * The password comes with cb_configure_roles.
 */
extern void cb_app_database_after_copy(CbCluster *c, CbInstance *primary);
/* the owner's password, postgres' password or NULL, streaming_replica */
extern void cb_configure_roles(CbCluster *c, CbInstance *primary);

#endif							/* CB_POSTINIT_H */
