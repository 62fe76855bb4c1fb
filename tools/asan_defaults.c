/*-------------------------------------------------------------------------
 *
 * asan_defaults.c
 *	  Sanitizer options compiled into the WAL programs of the ASan build
 *	  (tools/asan-check.sh only; never part of a normal build).  A target
 *	  server runs restore_command with an environment of its own (the
 *	  worker's children inherit nothing), so ASAN_OPTIONS cannot reach the
 *	  programs there: without these, a report would only reach the
 *	  server's log and LeakSanitizer would turn every exit into status 23,
 *	  which PostgreSQL reads as a failed restore_command.
 *
 * CB_ASAN_LOG is the log_path prefix, given with -D by the script.
 *
 *-------------------------------------------------------------------------
 */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:abort_on_error=0:log_path=" CB_ASAN_LOG;
}

const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:log_path=" CB_ASAN_LOG;
}
