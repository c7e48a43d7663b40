/*
 * embedded.h - data files compiled into the binary by cmake/embed.cmake.
 *
 * Each array ends with an entry whose name is NULL. Files keep their
 * sorted-by-name order, which for migrations is the order they apply in.
 */
#ifndef CARENAV_GATEWAY_EMBEDDED_H
#define CARENAV_GATEWAY_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;  /* file name without directory, e.g. "001_init.sql" */
	const char *data;  /* contents, NUL-terminated */
	size_t len;        /* bytes, without the NUL */
};

extern const struct embedded_file embedded_migrations[];
extern const struct embedded_file embedded_functions[];  /* sql/functions/<area>.sql */
extern const struct embedded_file embedded_flows[];
extern const struct embedded_file embedded_triage[];
extern const struct embedded_file embedded_console[];

/* The embedded file called name, or NULL. */
const struct embedded_file *embedded_find(const struct embedded_file *files, const char *name);

#endif
