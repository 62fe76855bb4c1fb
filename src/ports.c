/*-------------------------------------------------------------------------
 *
 * ports.c
 *	  Choosing the TCP port of a target instance: the one parser of
 *	  cnpg_bootstrap.port_range, the probe of a port on this host, and the
 *	  walk of the range that records the first port free both here and in
 *	  the catalog.  The statements it needs are status.c's
 *	  (cb_status_recorded_port, cb_status_claim_port).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ports.h"
#include "status.h"

/*
 * "55432-55999": two ports, low <= high, inside 1024..65535.  The one
 * parser of the setting: the GUC's check hook and the port allocation.
 */
bool
cb_parse_port_range(const char *value, int *lo, int *hi)
{
	char		tail;

	return sscanf(value, "%d-%d%c", lo, hi, &tail) == 2 &&
		*lo >= 1024 && *hi <= 65535 && *lo <= *hi;
}

/* a TCP port nobody listens on (the catalog cannot know foreign servers) */
bool
cb_port_is_free(int port)
{
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr;
	bool		ok;

	if (fd < 0)
		return true;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

/*
 * The port recorded for the instance, else the first port of the range
 * that is free on this host and that the catalog can record for it: not
 * another instance's, not one a teardown still holds (the claim may lose
 * to another worker; the walk then goes on).
 */
int
cb_status_instance_port(const char *cluster, const char *instance, int serial,
						const char *data_directory, int port_lo, int port_hi)
{
	int			port = cb_status_recorded_port(cluster, instance);

	if (port > 0)
		return port;
	for (int p = port_lo; p <= port_hi; p++)
	{
		if (!cb_port_is_free(p))
			continue;
		if (cb_status_claim_port(cluster, instance, serial, data_directory, p))
			return p;
	}
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no free port left in cnpg_bootstrap.port_range %d-%d for instance %s",
					port_lo, port_hi, instance),
			 errhint("Widen cnpg_bootstrap.port_range or delete clusters you no longer need.")));
	return -1;
}
