/*-------------------------------------------------------------------------
 *
 * os_testkit.h
 *	  What the two object-store test programs (test_objectstore.c,
 *	  test_azureblob.c) share, defined in os_testkit.c:
 *	  - the monotonic clock and the stop flag their transfers wait on
 *	    (cb_os_poll_wait's wait_arg);
 *	  - a fake HTTP server forked per self-test scenario: one handler per
 *	    scenario, each request head appended to a log the test reads back;
 *	  - the "rig" side's name=value output (errors, list, head) that the
 *	    TAP tests parse.
 *	  Each program keeps its own handlers, test data and rig commands.
 *
 *	  Both programs are built from explicit source lists in
 *	  t/005_objectstore.pl and t/007_azure.pl, which name os_testkit.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OS_TESTKIT_H
#define OS_TESTKIT_H

#include <signal.h>
#include <sys/types.h>

#include "objectstore.h"

/* set by stop_handler; stop_time says when, to time a cancel */
extern volatile sig_atomic_t stop_requested;
extern double stop_time;

extern double now_s(void);
extern void stop_handler(int sig);
extern bool contains(const char *s, const char *what);

/* ---------- the fake HTTP server ---------- */

/* answers the n-th connection (from 0), whose request head is request */
typedef void (*FakeHandler) (int fd, int n, const char *request);

extern void fake_send(int fd, const char *data, size_t len);
extern void fake_reply(int fd, const char *status, const char *headers,
					   const char *body, size_t len);
extern void fake_error(int fd, const char *status, const char *code,
					   const char *message);
extern pid_t fake_start(FakeHandler handler, const char *log, int *port);
extern void fake_stop(pid_t pid);
extern char *slurp(const char *path);
extern bool collect(void *arg, const char *data, size_t len);

/* ---------- the rig's output ---------- */

typedef struct FileSink
{
	FILE	   *f;
	int64		bytes;
} FileSink;

extern void print_error(const char *what, const CbOsError *err);
extern const char *status_word(CbOsStatus s);
extern bool file_write(void *arg, const char *data, size_t len);
extern int	rig_list(CbOsClient *c, int argc, char **argv);
extern int	rig_head(CbOsClient *c, int argc, char **argv);

#endif							/* OS_TESTKIT_H */
