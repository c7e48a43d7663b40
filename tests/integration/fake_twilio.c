/*
 * fake_twilio.c - a Twilio REST API stand-in on loopback. See fake_twilio.h.
 */
#include "fake_twilio.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "form.h"
#include "harness.h"
#include "xmalloc.h"

#define FAKE_TWILIO_MAX_SCRIPT 64
#define FAKE_TWILIO_MAX_NUMBERS 16

/* A phone that answers every message to it the same way. */
struct fake_twilio_number {
	char to[32];
	int status;  /* HTTP status */
	int code;    /* Twilio error code in the error document */
};

struct fake_twilio {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;  /* NULL while down */
	bool want_up;                      /* what fake_twilio_listen_cb makes true */
	int delay_ms;
	bool echo_errors;                  /* error messages quote To and Body, as some of Twilio's do */
	pthread_t thread;
	pthread_mutex_t lock;       /* guards everything below */
	int port;
	int script[FAKE_TWILIO_MAX_SCRIPT];
	size_t nscript, script_pos;
	struct fake_twilio_request *reqs;
	size_t nreqs;
	int next_sid;
	char created_status[32];    /* the status of 201 answers */
	int error_code;             /* 0: 20000 + HTTP status */
	char retry_after[64];       /* on 429 and 503 answers; "" = none */
	struct fake_twilio_number numbers[FAKE_TWILIO_MAX_NUMBERS];
	size_t nnumbers;
	struct fake_twilio_reply *held;    /* replies the delay holds back; event thread only */
};

/* Parses a form body into f (free with form_free); false if it is not one. */
static bool
fake_twilio_parse_form(const char *body, struct form *f)
{
	char *cause = NULL;

	if (form_parse(body, strlen(body), f, &cause))
		return true;
	free(cause);
	return false;
}

/* The To field of a form body, into to (empty if none). */
static void
fake_twilio_form_to(const char *body, char *to, size_t size)
{
	struct form f;
	const char *v;

	to[0] = '\0';
	if (!fake_twilio_parse_form(body, &f))
		return;
	v = form_get(&f, "To");
	if (v != NULL)
		snprintf(to, size, "%s", v);
	form_free(&f);
}

/*
 * A reply held back by the delay setting. Held replies are listed so that
 * fake_twilio_stop frees those still waiting when a test ends early.
 */
struct fake_twilio_reply {
	struct fake_twilio *ft;
	struct evhttp_request *req;
	int status;
	struct evbuffer *out;
	struct event *timer;
	struct fake_twilio_reply *prev, *next;
};

static void
fake_twilio_reply_free(struct fake_twilio_reply *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->ft->held = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	event_free(r->timer);
	evbuffer_free(r->out);
	free(r);
}

static void
fake_twilio_send_later(evutil_socket_t fd, short what, void *arg)
{
	struct fake_twilio_reply *r = arg;

	(void)fd;
	(void)what;
	evhttp_send_reply(r->req, r->status, r->status == 201 ? "Created" : "Scripted", r->out);
	fake_twilio_reply_free(r);
}

/* An error document whose message quotes the number and the text, as Twilio's sometimes do. */
static void
fake_twilio_echo_error(struct evbuffer *out, int status, const char *form_body)
{
	struct form form;
	char *msg, *doc;
	const char *to, *text;
	json_t *o;

	if (!fake_twilio_parse_form(form_body, &form))
		memset(&form, 0, sizeof form);
	to = form_get(&form, "To");
	text = form_get(&form, "Body");
	msg = xasprintf("The message '%s' to %s could not be sent", text ? text : "", to ? to : "");
	o = json_pack("{s:i, s:s, s:i}", "code", 21617, "message", msg, "status", status);
	doc = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	evbuffer_add_printf(out, "%s", doc);
	free(doc);
	free(msg);
	form_free(&form);
}

static void
fake_twilio_handle(struct evhttp_request *req, void *arg)
{
	struct fake_twilio *ft = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out = evbuffer_new();
	struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(headers, "Authorization");
	const char *ctype = evhttp_find_header(headers, "Content-Type");
	size_t len = evbuffer_get_length(in);
	struct fake_twilio_request r;
	int status, delay_ms, code = 0;
	char to[32];

	r.path = xstrdup(evhttp_request_get_uri(req));
	r.authorization = xstrdup(auth ? auth : "");
	r.content_type = xstrdup(ctype ? ctype : "");
	r.body = len > 0 ? xstrndup((const char *)evbuffer_pullup(in, -1), len) : xstrdup("");  /* GET: no body */
	r.at_s = harness_now_s();
	fake_twilio_form_to(r.body, to, sizeof to);
	pthread_mutex_lock(&ft->lock);
	status = 0;
	for (size_t i = 0; i < ft->nnumbers; i++) {
		if (strcmp(ft->numbers[i].to, to) == 0 && ft->numbers[i].status != 0) {
			status = ft->numbers[i].status;
			code = ft->numbers[i].code;
		}
	}
	if (status == 0)
		status = ft->script_pos < ft->nscript ? ft->script[ft->script_pos++] : 201;
	if (code == 0)
		code = ft->error_code ? ft->error_code : 20000 + status;
	r.answered = status;
	ft->reqs = xreallocarray(ft->reqs, ft->nreqs + 1, sizeof *ft->reqs);
	ft->reqs[ft->nreqs++] = r;
	if (status == 201)
		evbuffer_add_printf(out, "{\"sid\": \"SMfake%04d\", \"status\": \"%s\"}", ++ft->next_sid,
		    ft->created_status);
	else if (ft->echo_errors)
		fake_twilio_echo_error(out, status, r.body);
	else
		evbuffer_add_printf(out, "{\"code\": %d, \"message\": \"scripted failure\", \"status\": %d}",
		    code, status);
	if ((status == 429 || status == 503) && ft->retry_after[0] != '\0')
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ft->retry_after);
	delay_ms = ft->delay_ms;
	pthread_mutex_unlock(&ft->lock);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (delay_ms > 0) {
		struct fake_twilio_reply *later = xcalloc(1, sizeof *later);
		struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

		later->ft = ft;
		later->req = req;
		later->status = status;
		later->out = out;
		later->timer = evtimer_new(ft->base, fake_twilio_send_later, later);
		later->next = ft->held;
		if (ft->held != NULL)
			ft->held->prev = later;
		ft->held = later;
		evtimer_add(later->timer, &tv);
		return;
	}
	evhttp_send_reply(req, status, status == 201 ? "Created" : "Scripted", out);
	evbuffer_free(out);
}

static void *
fake_twilio_main(void *arg)
{
	struct fake_twilio *ft = arg;

	/* Keep running while the listener is unbound ("down"): nothing else is pending then. */
	event_base_loop(ft->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct fake_twilio *
fake_twilio_start(void)
{
	struct fake_twilio *ft = xcalloc(1, sizeof *ft);
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	ev_socklen_t len = sizeof ss;

	evthread_use_pthreads();
	pthread_mutex_init(&ft->lock, NULL);
	snprintf(ft->created_status, sizeof ft->created_status, "sent");
	ft->base = event_base_new();
	ft->http = evhttp_new(ft->base);
	evhttp_set_gencb(ft->http, fake_twilio_handle, ft);
	sock = evhttp_bind_socket_with_handle(ft->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(sock);
	ft->sock = sock;
	getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len);
	ft->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	ck_assert_int_eq(pthread_create(&ft->thread, NULL, fake_twilio_main, ft), 0);
	return ft;
}

void
fake_twilio_stop(struct fake_twilio *ft)
{
	event_base_loopbreak(ft->base);
	pthread_join(ft->thread, NULL);
	while (ft->held != NULL)
		fake_twilio_reply_free(ft->held);
	evhttp_free(ft->http);
	event_base_free(ft->base);
	for (size_t i = 0; i < ft->nreqs; i++)
		fake_twilio_request_free(&ft->reqs[i]);
	free(ft->reqs);
	pthread_mutex_destroy(&ft->lock);
	free(ft);
}

int
fake_twilio_port(const struct fake_twilio *ft)
{
	return ft->port;
}

void
fake_twilio_echo_errors(struct fake_twilio *ft, bool on)
{
	pthread_mutex_lock(&ft->lock);
	ft->echo_errors = on;
	pthread_mutex_unlock(&ft->lock);
}

void
fake_twilio_script(struct fake_twilio *ft, const int *statuses, size_t n)
{
	ck_assert_uint_le(n, FAKE_TWILIO_MAX_SCRIPT);
	pthread_mutex_lock(&ft->lock);
	if (n > 0)
		memcpy(ft->script, statuses, n * sizeof *statuses);
	ft->nscript = n;
	ft->script_pos = 0;
	pthread_mutex_unlock(&ft->lock);
}

size_t
fake_twilio_count(struct fake_twilio *ft)
{
	size_t n;

	pthread_mutex_lock(&ft->lock);
	n = ft->nreqs;
	pthread_mutex_unlock(&ft->lock);
	return n;
}

struct fake_twilio_request
fake_twilio_get(struct fake_twilio *ft, size_t i)
{
	struct fake_twilio_request r;

	pthread_mutex_lock(&ft->lock);
	ck_assert_uint_lt(i, ft->nreqs);
	r.path = xstrdup(ft->reqs[i].path);
	r.authorization = xstrdup(ft->reqs[i].authorization);
	r.content_type = xstrdup(ft->reqs[i].content_type);
	r.body = xstrdup(ft->reqs[i].body);
	r.answered = ft->reqs[i].answered;
	r.at_s = ft->reqs[i].at_s;
	pthread_mutex_unlock(&ft->lock);
	return r;
}

void
fake_twilio_request_free(struct fake_twilio_request *r)
{
	free(r->path);
	free(r->authorization);
	free(r->content_type);
	free(r->body);
}

/* The form of request i if it was answered 201 (free with form_free); false if not, or not a form. Under the lock. */
static bool
fake_twilio_sent_form(const struct fake_twilio *ft, size_t i, struct form *f)
{
	return ft->reqs[i].answered == 201 && fake_twilio_parse_form(ft->reqs[i].body, f);
}

size_t
fake_twilio_count_sent(struct fake_twilio *ft, const char *key, const char *value)
{
	size_t n = 0;

	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; i < ft->nreqs; i++) {
		struct form f;
		const char *v;

		if (!fake_twilio_sent_form(ft, i, &f))
			continue;
		v = form_get(&f, key);
		n += v != NULL && strcmp(v, value) == 0;
		form_free(&f);
	}
	pthread_mutex_unlock(&ft->lock);
	return n;
}

/* Runs on the server thread: binds or unbinds the listener, as wanted (idempotent). */
static void
fake_twilio_listen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake_twilio *ft = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&ft->lock);
	if (!ft->want_up && ft->sock != NULL) {
		evhttp_del_accept_socket(ft->http, ft->sock);
		ft->sock = NULL;
	} else if (ft->want_up && ft->sock == NULL) {
		ft->sock = evhttp_bind_socket_with_handle(ft->http, "127.0.0.1", (ev_uint16_t)ft->port);
	}
	pthread_mutex_unlock(&ft->lock);
}

static void
fake_twilio_toggle(struct fake_twilio *ft, bool want_up)
{
	pthread_mutex_lock(&ft->lock);
	ft->want_up = want_up;
	pthread_mutex_unlock(&ft->lock);
	for (int i = 0; i < 200; i++) {
		bool up;

		pthread_mutex_lock(&ft->lock);
		up = ft->sock != NULL;
		pthread_mutex_unlock(&ft->lock);
		if (up == want_up)
			return;
		if (i == 0 || i % 20 == 0)
			event_base_once(ft->base, -1, EV_TIMEOUT, fake_twilio_listen_cb, ft, NULL);
		usleep(10 * 1000);
	}
	ck_abort_msg("fake twilio could not %s", want_up ? "listen again" : "stop listening");
}

void
fake_twilio_go_down(struct fake_twilio *ft)
{
	fake_twilio_toggle(ft, false);
}

void
fake_twilio_come_back(struct fake_twilio *ft)
{
	fake_twilio_toggle(ft, true);
}

/* Sets one of ft's int settings; under the lock, as the server thread reads them. */
static void
fake_twilio_set_int(struct fake_twilio *ft, int *setting, int value)
{
	pthread_mutex_lock(&ft->lock);
	*setting = value;
	pthread_mutex_unlock(&ft->lock);
}

/* Sets one of ft's text settings (a char array of size bytes); under the lock, as the server thread reads them. */
static void
fake_twilio_set_text(struct fake_twilio *ft, char *setting, size_t size, const char *value)
{
	pthread_mutex_lock(&ft->lock);
	snprintf(setting, size, "%s", value);
	pthread_mutex_unlock(&ft->lock);
}

void
fake_twilio_set_created_status(struct fake_twilio *ft, const char *status)
{
	fake_twilio_set_text(ft, ft->created_status, sizeof ft->created_status, status);
}

void
fake_twilio_set_error_code(struct fake_twilio *ft, int code)
{
	fake_twilio_set_int(ft, &ft->error_code, code);
}

void
fake_twilio_set_retry_after(struct fake_twilio *ft, const char *value)
{
	fake_twilio_set_text(ft, ft->retry_after, sizeof ft->retry_after, value ? value : "");
}

void
fake_twilio_number(struct fake_twilio *ft, const char *to, int status, int code)
{
	size_t i;

	pthread_mutex_lock(&ft->lock);
	for (i = 0; i < ft->nnumbers && strcmp(ft->numbers[i].to, to) != 0; i++)
		;
	if (i == ft->nnumbers) {
		ck_assert_uint_lt(ft->nnumbers, FAKE_TWILIO_MAX_NUMBERS);
		ft->nnumbers++;
	}
	snprintf(ft->numbers[i].to, sizeof ft->numbers[i].to, "%s", to);
	ft->numbers[i].status = status;
	ft->numbers[i].code = code;
	pthread_mutex_unlock(&ft->lock);
}

void
fake_twilio_set_delay(struct fake_twilio *ft, int delay_ms)
{
	fake_twilio_set_int(ft, &ft->delay_ms, delay_ms);
}

char *
fake_twilio_bodies_to(struct fake_twilio *ft, const char *to)
{
	char *out = xstrdup("");

	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; i < ft->nreqs; i++) {
		struct form f;
		char *next;
		const char *v, *b;

		if (!fake_twilio_sent_form(ft, i, &f))
			continue;
		v = form_get(&f, "To");
		b = form_get(&f, "Body");
		if (v != NULL && b != NULL && strcmp(v, to) == 0) {
			next = xasprintf("%s%s%s", out, out[0] ? "\n" : "", b);
			free(out);
			out = next;
		}
		form_free(&f);
	}
	pthread_mutex_unlock(&ft->lock);
	return out;
}

size_t
fake_twilio_count_to(struct fake_twilio *ft, const char *to)
{
	size_t n = 0;
	char got[32];

	pthread_mutex_lock(&ft->lock);
	for (size_t i = 0; i < ft->nreqs; i++) {
		fake_twilio_form_to(ft->reqs[i].body, got, sizeof got);
		n += strcmp(got, to) == 0;
	}
	pthread_mutex_unlock(&ft->lock);
	return n;
}
