/*
 * twilio_world.h - one test's world: a fresh database, the fake Twilio API
 * (tests/integration/fake_twilio.c) and a gateway using both, with every
 * webhook the harness posts signed as Twilio would; or, with opts.sandbox,
 * a database and a gateway on the sandbox provider. Shared by the
 * integration tests that text the gateway through its webhook.
 */
#ifndef CARENAV_TWILIO_WORLD_H
#define CARENAV_TWILIO_WORLD_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "fake_twilio.h"
#include "harness.h"

#define TWILIO_WORLD_TOKEN "s3cret"
#define TWILIO_WORLD_BASE "https://sms.clinic.example"

struct twilio_world {
	char *conninfo;
	PGconn *pg;              /* NULL while the database does not exist (opts.conninfo) */
	struct fake_twilio *ft;  /* NULL on the sandbox provider */
	struct harness_gw gw;
	int sid;                 /* webhooks numbered so far by the test */
};

struct twilio_world_opts {
	bool sandbox;                   /* the sandbox provider instead of the fake Twilio */
	const char *base_url;           /* PUBLIC_BASE_URL and the signatures' base; NULL = TWILIO_WORLD_BASE */
	const char *const *settings;    /* more NAME=value, NULL-terminated; later ones win */
	const char *conninfo;           /* NULL = a new database; else this one, not connected to */
};

/* Starts the world; o may be NULL for the defaults. */
void twilio_world_start(struct twilio_world *w, const struct twilio_world_opts *o);
/*
 * Puts the staff members with these numbers on call as primary and backup,
 * from an hour ago to two hours ahead, entered as wall-clock time in tz.
 */
void twilio_world_on_call(struct twilio_world *w, const char *primary, const char *backup, const char *tz);
/*
 * Posts a text from `from` to `to` as an inbound webhook with the world's next
 * message sid, to the gateway on port (0: the world's); returns the HTTP status.
 */
long twilio_world_post_sms(struct twilio_world *w, int port, const char *from, const char *to, const char *body);
/*
 * Texts the gateway from `from` to `to` (twilio_world_post_sms on the world's
 * gateway, which must answer 200), then harness_wait_processed.
 */
void twilio_world_text(struct twilio_world *w, const char *from, const char *to, const char *body,
    int timeout_ms);
/* Waits up to timeout_ms until the fake Twilio accepted n messages to `to` (at least); returns how many. */
size_t twilio_world_wait_sent_to(struct twilio_world *w, const char *to, size_t n, int timeout_ms);
/* harness_wait_settled on the world's database. */
void twilio_world_wait_settled(struct twilio_world *w, int timeout_ms);
void twilio_world_free(struct twilio_world *w);
/* Stops the gateway, failing the test unless it drained cleanly (exit status 0), and frees the world. */
void twilio_world_stop(struct twilio_world *w);
/*
 * Runs a test program's tests as the suite name, each with a timeout of
 * timeout_s: the first list each in a fresh *w started with o (both
 * borrowed) before the test and freed after it, in the test's own process (a
 * checked fixture); then the second list, whose tests start worlds of their
 * own. Returns main()'s exit status. One per program:
 *   return twilio_world_run("dialogue", 120, &world, &sandbox, CHECK_RUN_LIST(test_a, test_b),
 *       CHECK_RUN_LIST(test_own_settings));
 */
int twilio_world_run(const char *name, int timeout_s, struct twilio_world *w, const struct twilio_world_opts *o,
    const TTest *const *in_world, size_t n_in_world, const TTest *const *own, size_t n_own);

#endif
