/*-------------------------------------------------------------------------
 *
 * certs.h
 *	  A cluster's PKI as CloudNativePG makes it: the <cluster>-ca,
 *	  <cluster>-server and <cluster>-replication Secrets, and their files
 *	  under <data_root>/<cluster>/certs/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CERTS_H
#define CB_CERTS_H

#include "cluster.h"

/* make what is missing (never regenerate), write the files, set c->tls */
extern void cb_certs_ensure(CbCluster *c);

/* file names under c->certs_dir */
#include "certfiles.h"

#endif							/* CB_CERTS_H */
