/*
 * migrate.h - schema migrations, applied at startup before the loop runs.
 *
 * This is the one place that talks to PostgreSQL with blocking libpq: it
 * runs before the event loop starts (and in CLI commands), never inside it.
 */
#ifndef CARENAV_GATEWAY_MIGRATE_H
#define CARENAV_GATEWAY_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "attrs.h"

/*
 * Connects to the primary, retrying for up to wait_seconds while the server
 * starts or while every host it reaches is read-only; NULL + *cause.
 */
PGconn *migrate_connect(const char *conninfo, int wait_seconds, char **cause) CN_MUSTCHECK;
/*
 * Applies every embedded sql/NNN_*.sql not yet in schema_migrations, in
 * order, then each sql/functions/<area>.sql that changed (all of them when
 * a migration was applied), then the rule titles.
 */
bool migrate_apply(PGconn *pg, char **cause) CN_MUSTCHECK;

#endif
