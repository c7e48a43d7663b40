/*
 * doctor.h - "carenav doctor": checks a deployment and says what is wrong.
 */
#ifndef CARENAV_GATEWAY_DOCTOR_H
#define CARENAV_GATEWAY_DOCTOR_H

#include <stdio.h>

#include "config.h"

typedef const char *doctor_getenv_cb(const char *name);

/*
 * Checks the configuration (from getenv_fn), the state directory and spool,
 * the database (reachable, writable, migrations, flows, on-call cover) and
 * the provider's credentials without sending anything, writing one line per
 * check to out. Returns the number of problems found (0 = healthy).
 */
int doctor_run(doctor_getenv_cb *getenv_fn, FILE *out);

#endif
