/*
 * cli_staff.h - "carenav staff ..." and "carenav oncall ...": the staff
 * register and the on-call schedule, managed without writing SQL.
 * Blocking libpq: these are CLI commands, never run in the event loop.
 */
#ifndef CARENAV_GATEWAY_CLI_STAFF_H
#define CARENAV_GATEWAY_CLI_STAFF_H

#include <libpq-fe.h>

/* argv[0] is "add", "list" or "remove"; returns the process exit status. */
int cli_staff(PGconn *pg, int argc, char **argv);
/* argv[0] is "add" or "list"; returns the process exit status. */
int cli_oncall(PGconn *pg, int argc, char **argv);

#endif
