/*
 * outbox_gate.h - what may leave, and how fast: the outbox's global send
 * cap (OUTBOUND_RATE_PER_SEC) and destination country allow-list
 * (OUTBOUND_COUNTRIES).
 *
 * The outbox asks the gate about every row it claims. A row within the cap
 * and to an allowed country goes at once. Any other row is held: after the
 * claim, one query (carenav_outbox_hold) decides for all of them in the
 * database, where a row's urgency is known. Emergency instructions (their
 * conversation is in the emergency state), staff alerts and every text of
 * an escalation, and anything queued with priority 10 or more go anyway:
 * neither the cap nor the country list ever holds them back. The others
 * over the cap go back to the queue, each at its own later slot (their
 * attempt not counted); those to a country not allowed fail for good with
 * the reason recorded (never retried).
 */
#ifndef CARENAV_GATEWAY_OUTBOX_GATE_H
#define CARENAV_GATEWAY_OUTBOX_GATE_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct db;
struct outbox_gate;

/* Called once for each held row when the database has decided: send it now, or not (done with it). */
typedef void outbox_gate_done_cb(void *job, bool send, void *arg);

struct outbox_gate *outbox_gate_new(struct db *db, const struct config *cfg);
void outbox_gate_free(struct outbox_gate *g);
/*
 * One claimed row (outbox id, destination): true = send it now. false =
 * held; the next outbox_gate_flush() reports on it through done(job, ...).
 */
bool outbox_gate_check(struct outbox_gate *g, int64_t outbox_id, const char *to, void *job);
/* Sends the held rows' fate to the database; done is called for each (none held: nothing happens). */
void outbox_gate_flush(struct outbox_gate *g, outbox_gate_done_cb *done, void *arg);

#endif
