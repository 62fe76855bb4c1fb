/*-------------------------------------------------------------------------
 *
 * ownership.h
 *	  What the worker may create, stop and remove on the host: the data
 *	  root it checks, and the cluster directories that carry its ownership
 *	  marker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_OWNERSHIP_H
#define CB_OWNERSHIP_H

/* the marker file inside every cluster directory we created */
#define CB_OWNERSHIP_MARKER ".cnpg_bootstrap"

/*
 * NULL if cnpg_bootstrap.data_root is usable (set, resolvable, neither is,
 * contains nor is inside the control's data directory, not inside any
 * PostgreSQL data directory); else why not.  resolved (PATH_MAX) gets its
 * realpath.  create: make it first if it is missing.
 */
extern char *cb_data_root_problem(char *resolved, bool create);
/* the same, raising an ERROR with a hint */
extern void cb_check_data_root(char *resolved);

/* resolved paths, compared component by component: path is dir or below */
extern bool cb_path_within(const char *path, const char *dir);

/*
 * Create the cluster directory dir (<resolved data_root>/<cluster>) with
 * our marker, atomically; accept it if it already carries our marker;
 * ERROR if it exists without it.
 */
extern void cb_owned_dir_create(const char *dir, const char *cluster);

/*
 * NULL if dir may be stopped and removed for cluster: it is
 * <data_root in force>/<cluster>, a directory of ours with our marker and
 * no PostgreSQL data directory we did not create; else why not.
 */
extern char *cb_owned_dir_refusal(const char *dir, const char *cluster);

/* remove a directory cb_owned_dir_refusal() accepted, the marker last */
extern bool cb_owned_dir_remove(const char *dir);

#endif							/* CB_OWNERSHIP_H */
