/*-------------------------------------------------------------------------
 *
 * redact.h
 *	  Lines of a child's output (pg_dump, pg_restore, pg_basebackup ...)
 *	  that can echo a statement or values of it are kept out of the control
 *	  instance's log, the per-tool log files and the failure tail.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_REDACT_H
#define CB_REDACT_H

/*
 * One complete line of the output stream "stream" (any pointer that stays
 * the same for the lines of one child).  Returns the line to keep (line
 * itself or a replacement) or NULL to drop it.
 */
extern const char *cb_redact_child_line(const void *stream, const char *line);

/* the same rules on a whole text of several lines; palloc'd */
extern char *cb_redact_text(const char *text);

#endif							/* CB_REDACT_H */
