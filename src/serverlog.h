/*-------------------------------------------------------------------------
 *
 * serverlog.h
 *	  What an instance's own csvlog says about how it last stopped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SERVERLOG_H
#define CB_SERVERLOG_H

extern char *cb_serverlog_last_fatal(const char *logdir);
extern char *cb_serverlog_exit_reason(const char *logdir);
extern bool cb_serverlog_wal_gone(const char *logdir);
extern char *cb_serverlog_start_failure(const char *logdir);

#endif							/* CB_SERVERLOG_H */
