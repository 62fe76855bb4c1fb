/*-------------------------------------------------------------------------
 *
 * import.c
 *	  Logical import (spec.bootstrap.initdb.import).  Being written: until
 *	  then an import fails the bootstrap with a clear reason.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "import.h"

void
cb_import_run(CbCluster *c, CbInstance *primary)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("spec.bootstrap.initdb.import is not implemented yet")));
}
