/*
 * cli_operator.h - "carenav operator ...": operator accounts for the API
 * and the console, managed from the server's shell (whoever can run this
 * can read DATABASE_URL, so the shell is the trust root for the first admin).
 * Blocking libpq: a CLI command, never run in the event loop.
 */
#ifndef CARENAV_GATEWAY_CLI_OPERATOR_H
#define CARENAV_GATEWAY_CLI_OPERATOR_H

#include <libpq-fe.h>

struct config;

/* argv[0] is add, list, disable, enable, reset, token, revoke or totp; returns the exit status. */
int cli_operator(PGconn *pg, const struct config *cfg, int argc, char **argv);

#endif
