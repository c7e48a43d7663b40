/*
 * cli_staff.h - "carenav staff ..." and "carenav oncall ...": the staff
 * register and the on-call schedule, managed without writing SQL.
 * Blocking libpq: these are CLI commands, never run in the event loop.
 */
#ifndef CARENAV_GATEWAY_CLI_STAFF_H
#define CARENAV_GATEWAY_CLI_STAFF_H

#include <libpq-fe.h>

struct config;

/*
 * argv[0] is "add", "list" or "remove"; returns the process exit status.
 * Numbers are normalised (phone.h, DEFAULT_COUNTRY_CODE of cfg) as the
 * webhooks do, so a staff member's texts and alerts match their row.
 */
int cli_staff(PGconn *pg, const struct config *cfg, int argc, char **argv);
/* argv[0] is "add" or "list"; returns the process exit status. */
int cli_oncall(PGconn *pg, const struct config *cfg, int argc, char **argv);

#endif
