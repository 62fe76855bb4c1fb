/*-------------------------------------------------------------------------
 *
 * certfiles.h
 *	  The names of a cluster's TLS files under <cluster>/certs/, written by
 *	  certs.c and named in the configuration (initdb.c) and the standbys'
 *	  primary_conninfo (standby.c): one place, so they cannot drift apart.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CERTFILES_H
#define CB_CERTFILES_H

#define CB_SERVER_CRT		"server.crt"
#define CB_SERVER_KEY		"server.key"
#define CB_CLIENT_CA		"client-ca.crt"
#define CB_SERVER_CA		"server-ca.crt"
#define CB_REPLICATION_CRT	"streaming_replica.crt"
#define CB_REPLICATION_KEY	"streaming_replica.key"

#endif							/* CB_CERTFILES_H */
