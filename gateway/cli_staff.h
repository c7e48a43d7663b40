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
 * argv[0] is "add", "edit", "list" or "remove"; returns the process exit
 * status. Numbers are normalised (phone.h, DEFAULT_COUNTRY_CODE of cfg) as
 * the webhooks do, so a staff member's texts and alerts match their row.
 */
int cli_staff(PGconn *pg, const struct config *cfg, int argc, char **argv);
/* argv[0] is "add", "edit", "remove", "list" or "check"; returns the process exit status. */
int cli_oncall(PGconn *pg, const struct config *cfg, int argc, char **argv);

/* Called with one warning about the schedule, in words; line is borrowed. */
typedef void (*cli_oncall_say_cb)(void *arg, const char *line);

/*
 * The schedule's weak spots in the next `days` days: stretches without a
 * primary (or with nobody at all) and two primaries at once, each told to
 * say(). Returns how many, or -1 if the schedule could not be read.
 */
int cli_oncall_problems(PGconn *pg, int days, cli_oncall_say_cb say, void *arg);

#endif
