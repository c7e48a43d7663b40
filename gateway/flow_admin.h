/*
 * flow_admin.h - putting flow documents into the database (blocking libpq;
 * for the CLI and for startup, never inside the event loop).
 *
 * A flow document is validated with flow_load() before it is stored, so
 * the gateway never meets a flow it cannot run. Every load is a new,
 * immutable version: conversations keep the version they started on.
 */
#ifndef CARENAV_GATEWAY_FLOW_ADMIN_H
#define CARENAV_GATEWAY_FLOW_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"

/* Validates doc and stores it as the newest version of its flow; sets *version. */
bool flow_admin_load(PGconn *pg, const char *doc, size_t len, int *version, char **name,
    char **cause) CN_MUSTCHECK;
/* Stores each compiled-in flow (sql/flows/) that has no version yet: the first start. */
bool flow_admin_seed(PGconn *pg, char **cause) CN_MUSTCHECK;

#endif
