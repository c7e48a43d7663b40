/*
 * fake_twilio.h - a Twilio REST API stand-in on loopback, for tests.
 *
 * A libevent HTTP server in its own thread. It records every request to
 * /2010-04-01/Accounts/{sid}/Messages.json and answers from a script of
 * status codes (then 201 for everything after), like the real API:
 * 201 {"sid": "SM...", "status": ...} or an error document
 * {"code": ..., "message": ...}. The 201's status is "sent" unless a test
 * sets another (real Twilio says "queued", or "accepted" through a
 * Messaging Service: tests of that stage set it).
 */
#ifndef CARENAV_TESTS_FAKE_TWILIO_H
#define CARENAV_TESTS_FAKE_TWILIO_H

#include <stdbool.h>
#include <stddef.h>

struct fake_twilio;

struct fake_twilio_request {
	char *path;           /* owned */
	char *authorization;  /* owned: the Authorization header, or "" */
	char *content_type;   /* owned */
	char *body;           /* owned */
	int answered;         /* the status code we answered */
	double at_s;          /* when it arrived, harness_now_s() clock */
};

struct fake_twilio *fake_twilio_start(void);
void fake_twilio_stop(struct fake_twilio *ft);
int fake_twilio_port(const struct fake_twilio *ft);
/* The next n requests get these statuses, in order; later ones get 201. */
void fake_twilio_script(struct fake_twilio *ft, const int *statuses, size_t n);
/* on: scripted errors quote To and Body in their message (a Twilio error echoing the text). */
void fake_twilio_echo_errors(struct fake_twilio *ft, bool on);
/* Stops listening (connections are refused) / listens again on the same port. */
void fake_twilio_go_down(struct fake_twilio *ft);
void fake_twilio_come_back(struct fake_twilio *ft);
/* The "status" of later 201 answers (default "sent"). */
void fake_twilio_set_created_status(struct fake_twilio *ft, const char *status);
/* The "code" of later error answers (0, the default: 20000 + the HTTP status). */
void fake_twilio_set_error_code(struct fake_twilio *ft, int code);
/* A Retry-After header on later 429 and 503 answers (NULL: none, the default). */
void fake_twilio_set_retry_after(struct fake_twilio *ft, const char *value);
/*
 * Every later message To=to is answered with HTTP status and Twilio error
 * code (e.g. 400/21211 invalid number, 400/21610 unsubscribed, 503/0), ahead of
 * the script; status 0 switches that number back to normal.
 */
void fake_twilio_number(struct fake_twilio *ft, const char *to, int status, int code);
/* Answers every request only after delay_ms (0: at once). */
void fake_twilio_set_delay(struct fake_twilio *ft, int delay_ms);
/* The Body values accepted (201) for messages To=to, in arrival order, joined by "\n" (caller frees). */
char *fake_twilio_bodies_to(struct fake_twilio *ft, const char *to);
/* Message requests To=to received so far, whatever they were answered. */
size_t fake_twilio_count_to(struct fake_twilio *ft, const char *to);
/* Requests received so far. */
size_t fake_twilio_count(struct fake_twilio *ft);
/* A copy of request i (0-based); free with fake_twilio_request_free. */
struct fake_twilio_request fake_twilio_get(struct fake_twilio *ft, size_t i);
void fake_twilio_request_free(struct fake_twilio_request *r);
/* Number of requests answered 201 whose form field key equals value. */
size_t fake_twilio_count_sent(struct fake_twilio *ft, const char *key, const char *value);

#endif
