/*
 * metrics_check.h - the assertion the integration tests make on the
 * gateway's Prometheus text: GET /metrics answers 200 and says each of a
 * list of things (a whole "name value\n" line, or a prefix of one).
 */
#ifndef CARENAV_METRICS_CHECK_H
#define CARENAV_METRICS_CHECK_H

/* Fails the test unless GET /metrics on port answers 200 with every one of want (NULL-terminated) in it. */
void metrics_check_has(int port, const char *const *want);

#endif
