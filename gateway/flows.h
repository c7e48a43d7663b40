/*
 * flows.h - the running gateway's cache of parsed flow versions.
 *
 * Flow versions never change once stored, so each is fetched and parsed
 * once per process and kept for good.
 */
#ifndef CARENAV_GATEWAY_FLOWS_H
#define CARENAV_GATEWAY_FLOWS_H

#include <stdint.h>

struct db;
struct flow;
struct flows;

/* flow is borrowed from the cache (valid until flows_free); NULL with error on failure. */
typedef void flows_get_cb(const struct flow *flow, const char *error, void *arg);

struct flows *flows_new(struct db *db);
void flows_free(struct flows *flows);
/* Finds a flow version; calls back at once when cached, else after a query. */
void flows_get(struct flows *flows, int64_t version_id, flows_get_cb *cb, void *arg);

#endif
