/*
 * escalation.h - the sweep that alerts staff about open escalations until
 * one of them acknowledges.
 *
 * Due steps live in escalations.next_due_at, so timers survive restarts and
 * are shared by every gateway process; this module only finds what is due,
 * decides who is alerted (oncall.c) and commits each round.
 */
#ifndef CARENAV_GATEWAY_ESCALATION_H
#define CARENAV_GATEWAY_ESCALATION_H

#include <stdbool.h>

struct config;
struct db;
struct escalation;
struct event_base;
struct flows;
struct http_client;
struct outbox;

struct escalation *escalation_new(struct event_base *base, struct db *db, struct flows *flows,
    struct http_client *http, struct outbox *outbox, const struct config *cfg);
void escalation_free(struct escalation *esc);
/* An escalation may have been created: look now instead of at the next sweep. */
void escalation_kick(struct escalation *esc);
void escalation_stop(struct escalation *esc);
/* True while a sweep or a staff webhook post is in flight. */
bool escalation_busy(const struct escalation *esc);

#endif
