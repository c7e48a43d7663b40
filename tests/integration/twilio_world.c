/*
 * twilio_world.c - a database, the fake Twilio API and a gateway for one
 * test (see twilio_world.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twilio_world.h"
#include "xmalloc.h"

void
twilio_world_start(struct twilio_world *w, const struct twilio_world_opts *o)
{
	static const struct twilio_world_opts defaults;
	const char *base;
	char *env[32] = { NULL };
	size_t n = 0;

	if (o == NULL)
		o = &defaults;
	base = o->base_url != NULL ? o->base_url : TWILIO_WORLD_BASE;
	memset(w, 0, sizeof *w);
	w->conninfo = o->conninfo != NULL ? xstrdup(o->conninfo) : harness_db_create();
	if (!o->sandbox) {
		w->ft = fake_twilio_start();
		env[n++] = xstrdup("SMS_PROVIDER=twilio");
		env[n++] = xstrdup("TWILIO_ACCOUNT_SID=ACtest123");
		env[n++] = xstrdup("TWILIO_AUTH_TOKEN=" TWILIO_WORLD_TOKEN);
		env[n++] = xasprintf("TWILIO_API_BASE=http://127.0.0.1:%d", fake_twilio_port(w->ft));
		env[n++] = xasprintf("PUBLIC_BASE_URL=%s", base);
		harness_sign_twilio(TWILIO_WORLD_TOKEN, base);
	}
	for (size_t i = 0; o->settings != NULL && o->settings[i] != NULL; i++) {
		ck_assert_uint_lt(n, sizeof env / sizeof env[0] - 1);
		env[n++] = xstrdup(o->settings[i]);
	}
	harness_gw_init(&w->gw, w->conninfo, (const char *const *)env);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	harness_gw_start(&w->gw);
	if (o->conninfo == NULL)
		w->pg = harness_db_connect(w->conninfo);
}

void
twilio_world_on_call(struct twilio_world *w, const char *primary, const char *backup, const char *tz)
{
	char *from, *to, *out = NULL, *sql;

	sql = xasprintf("SELECT to_char(now() AT TIME ZONE '%s' - interval '1 hour', 'YYYY-MM-DD HH24:MI')", tz);
	from = harness_query_text(w->pg, sql);
	free(sql);
	sql = xasprintf("SELECT to_char(now() AT TIME ZONE '%s' + interval '2 hours', 'YYYY-MM-DD HH24:MI')", tz);
	to = harness_query_text(w->pg, sql);
	free(sql);
	ck_assert_msg(harness_gw_cli(&w->gw, &out, "oncall", "add", "--phone", primary, "--tier", "primary",
	    "--from", from, "--to", to, "--tz", tz, NULL) == 0, "%s", out);
	free(out);
	ck_assert_int_eq(harness_gw_cli(&w->gw, NULL, "oncall", "add", "--phone", backup, "--tier", "backup",
	    "--from", from, "--to", to, "--tz", tz, NULL), 0);
	/* Entered as wall-clock time in tz, the shifts cover now. */
	ck_assert_int_eq(harness_query_int(w->pg, "SELECT count(*) FROM oncall_shifts "
	    "WHERE starts_at <= now() AND ends_at > now()"), 2);
	free(from);
	free(to);
}

long
twilio_world_post_sms(struct twilio_world *w, int port, const char *from, const char *to, const char *body)
{
	char sid[32];

	snprintf(sid, sizeof sid, "SMworld%05d", ++w->sid);
	return harness_post_sms(port != 0 ? port : w->gw.port, sid, from, to, body);
}

size_t
twilio_world_wait_sent_to(struct twilio_world *w, const char *to, size_t n, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		size_t got = fake_twilio_count_sent(w->ft, "To", to);

		if (got >= n)
			return got;
		usleep(50 * 1000);
	}
	ck_abort_msg("%s never got %zu messages; see %s", to, n, w->gw.log_path);
	return 0;
}

void
twilio_world_text(struct twilio_world *w, const char *from, const char *to, const char *body, int timeout_ms)
{
	ck_assert_int_eq(twilio_world_post_sms(w, 0, from, to, body), 200);
	harness_wait_processed(w->pg, timeout_ms, w->gw.log_path);
}

void
twilio_world_wait_settled(struct twilio_world *w, int timeout_ms)
{
	harness_wait_settled(w->pg, timeout_ms, w->gw.log_path);
}

void
twilio_world_free(struct twilio_world *w)
{
	harness_gw_free(&w->gw);
	if (w->ft != NULL)
		fake_twilio_stop(w->ft);
	if (w->pg != NULL)
		PQfinish(w->pg);
	free(w->conninfo);
	harness_sign_twilio(NULL, NULL);
}

void
twilio_world_stop(struct twilio_world *w)
{
	harness_gw_stop_clean(&w->gw);
	twilio_world_free(w);
}

/* The world and options of twilio_world_run's fixture. */
static struct twilio_world *fixture_world;
static const struct twilio_world_opts *fixture_opts;

static void
twilio_world_fixture_start(void)
{
	twilio_world_start(fixture_world, fixture_opts);
}

static void
twilio_world_fixture_free(void)
{
	twilio_world_free(fixture_world);
}

int
twilio_world_run(const char *name, int timeout_s, struct twilio_world *w, const struct twilio_world_opts *o,
    const TTest *const *in_world, size_t n_in_world, const TTest *const *own, size_t n_own)
{
	Suite *s = suite_create(name);
	TCase *fixed = tcase_create("in_world"), *own_case = tcase_create("own_world");

	fixture_world = w;
	fixture_opts = o;
	tcase_add_checked_fixture(fixed, twilio_world_fixture_start, twilio_world_fixture_free);
	tcase_set_timeout(fixed, timeout_s);
	check_run_add(fixed, in_world, n_in_world);
	suite_add_tcase(s, fixed);
	tcase_set_timeout(own_case, timeout_s);
	check_run_add(own_case, own, n_own);
	suite_add_tcase(s, own_case);
	return check_run_suite(s);
}
