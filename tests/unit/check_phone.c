/*
 * check_phone.c - phone number normalisation and the country list
 * (phone.c), provider error redaction (redact.c) and the global send
 * bucket (ratelimit.c): all pure, no clock, no database.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "phone.h"
#include "ratelimit.h"
#include "redact.h"

static void
norm_is(const char *in, int cc, enum phone_accept accept, const char *want)
{
	char out[PHONE_NORM_MAX];
	const char *why = NULL;

	ck_assert_msg(phone_normalize(in, cc, accept, out, &why), "\"%s\" (cc %d) refused: %s", in, cc, why);
	ck_assert_msg(strcmp(out, want) == 0, "\"%s\" (cc %d) -> \"%s\", want \"%s\"", in, cc, out, want);
}

static void
norm_refused(const char *in, int cc, enum phone_accept accept)
{
	char out[PHONE_NORM_MAX];
	const char *why = NULL;

	ck_assert_msg(!phone_normalize(in, cc, accept, out, &why), "\"%s\" (cc %d) accepted as \"%s\"", in, cc,
	    out);
	ck_assert_ptr_nonnull(why);
}

/* The forms of issue #15 are one number. */
START_TEST(test_one_patient_one_number)
{
	norm_is("+15551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("15551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("5551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("tel:+15551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("tel:+1-555-111-0003", 1, PHONE_FULL, "+15551110003");
	norm_is("0015551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("01115551110003", 1, PHONE_FULL, "+15551110003");
	norm_is("+1 (555) 111-0003", 1, PHONE_FULL, "+15551110003");
	norm_is("(555) 111.0003", 1, PHONE_FULL, "+15551110003");
	/* A foreign number from a North American clinic. */
	norm_is("011447700900123", 1, PHONE_FULL, "+447700900123");
	norm_is("00447700900123", 1, PHONE_FULL, "+447700900123");
	norm_is("+447700900123", 1, PHONE_FULL, "+447700900123");
	/* A clinic in the UK (44): trunk 0, international without "+", "00". */
	norm_is("07700900123", 44, PHONE_FULL, "+447700900123");
	norm_is("447700900123", 44, PHONE_FULL, "+447700900123");
	norm_is("00447700900123", 44, PHONE_FULL, "+447700900123");
	norm_is("0015551110003", 44, PHONE_FULL, "+15551110003");
	norm_is("7700900123", 44, PHONE_FULL, "+447700900123");
	/* "011" is only international in North America (0113 is Leeds). */
	norm_is("01132960000", 44, PHONE_FULL, "+441132960000");
	/* A channel prefix is kept, its number normalised. */
	norm_is("whatsapp:15551110003", 1, PHONE_FULL, "whatsapp:+15551110003");
}
END_TEST

START_TEST(test_not_numbers)
{
	norm_refused("", 1, PHONE_FULL);
	norm_refused("+", 1, PHONE_FULL);
	norm_refused("not a number", 1, PHONE_FULL);
	norm_refused("robert'); DROP TABLE", 1, PHONE_FULL);
	norm_refused("+1555123", 1, PHONE_FULL);             /* North America: 10 digits after 1 */
	norm_refused("+155512300011", 1, PHONE_FULL);
	norm_refused("555111000", 1, PHONE_FULL);            /* 9 digits */
	norm_refused("25551110003", 1, PHONE_FULL);          /* 11 digits not starting with 1 */
	norm_refused("+0123456789", 1, PHONE_FULL);
	norm_refused("+1234567890123456", 1, PHONE_FULL);    /* 16 digits */
	norm_refused("+12345", 44, PHONE_FULL);              /* too short for E.164 */
	norm_refused("12345", 1, PHONE_FULL);                /* a short code is no patient */
	norm_refused("WhatsApp:+15551110003", 1, PHONE_FULL);
	norm_refused(":+15551110003", 1, PHONE_FULL);
	norm_refused("+1555111000\n3", 1, PHONE_FULL);
	norm_refused("+1 555 111 0003 ext 5", 1, PHONE_FULL);
	norm_refused("1555111000315551110003155511100031555111000315551110003155511100031", 1, PHONE_FULL);
	/* A short code only where one is allowed (the clinic's own To), and only bare. */
	norm_is("12345", 1, PHONE_FULL_OR_SHORT, "12345");
	norm_is("+15550001111", 1, PHONE_FULL_OR_SHORT, "+15550001111");
	norm_refused("12-345", 1, PHONE_FULL_OR_SHORT);
	norm_refused("01234", 44, PHONE_FULL_OR_SHORT);
}
END_TEST

START_TEST(test_e164)
{
	unit_assert_yes_no(phone_is_e164, "phone_is_e164", (const char *const[]){
		"+15551110003", "+447700900123", NULL },
	    (const char *const[]){
		"15551110003", "+1555111000a", "whatsapp:+15551110003", "+0555111000", NULL });
}
END_TEST

/* phone_country_list_valid as a yes/no predicate. */
static bool
country_list_valid(const char *list)
{
	const char *why;

	return phone_country_list_valid(list, &why);
}

START_TEST(test_countries)
{
	ck_assert(phone_country_allowed("+15551110003", "1"));
	ck_assert(!phone_country_allowed("+447700900123", "1"));
	ck_assert(phone_country_allowed("+447700900123", "1, 44"));
	ck_assert(!phone_country_allowed("+4915123456789", "1,44"));
	ck_assert(phone_country_allowed("+4915123456789", "*"));
	ck_assert(phone_country_allowed("whatsapp:+15551110003", "1"));
	ck_assert(!phone_country_allowed("15551110003", "1"));   /* not E.164: never guessed */
	ck_assert(!phone_country_allowed("+15551110003", ""));
	/* An entry matches the whole calling code at the start, not any digits. */
	ck_assert(!phone_country_allowed("+15551110003", "12"));
	unit_assert_yes_no(country_list_valid, "phone_country_list_valid", (const char *const[]){
		"", "1", "1, 44,52", "*", NULL },
	    (const char *const[]){ "US", "+1", "1;44", "1234", "044", "1,,x", NULL });
}
END_TEST

START_TEST(test_redact_digits)
{
	char s[] = "To +15551230001, account 1234567, code 21610, 123456 six";

	redact_digits(s);
	ck_assert_str_eq(s, "To +*******0001, account ***4567, code 21610, 123456 six");
}
END_TEST

START_TEST(test_redact_provider_error)
{
	const char *body = "Go to the emergency room now or call 911. Reply STOP to opt out.";
	char *e, *long_err;

	/* The message quotes the text sent and the number: neither is kept. */
	e = redact_provider_error("HTTP 400: twilio error 21617: Message 'Go to the emergency room now' to "
	    "+15551230001 refused", body);
	ck_assert_msg(strstr(e, "emergency room") == NULL, "%s", e);
	ck_assert_msg(strstr(e, "15551230001") == NULL, "%s", e);
	ck_assert_str_eq(e, "HTTP 400: twilio error 21617: Message '[message text]' to +*******0001 refused");
	free(e);
	/* Nothing to hide: the same text back. */
	e = redact_provider_error("HTTP 503: twilio error 20503: Service unavailable", body);
	ck_assert_str_eq(e, "HTTP 503: twilio error 20503: Service unavailable");
	free(e);
	/* A short body echoed whole. */
	e = redact_provider_error("kannel: rejected 'ok thanks'", "ok thanks");
	ck_assert_str_eq(e, "kannel: rejected '[message text]'");
	free(e);
	/* Control bytes become spaces, and the length is bounded. */
	long_err = malloc(2001);
	memset(long_err, 'x', 2000);
	long_err[0] = '\n';
	long_err[2000] = '\0';
	e = redact_provider_error(long_err, NULL);
	ck_assert_uint_eq(strlen(e), REDACT_ERROR_MAX + 3);
	ck_assert_int_eq(e[0], ' ');
	ck_assert_str_eq(e + REDACT_ERROR_MAX, "...");
	free(e);
	free(long_err);
}
END_TEST

START_TEST(test_send_bucket)
{
	struct ratelimit_rate r;
	int64_t wait_ms = 0;
	int sent = 0;

	ratelimit_rate_init(&r, 10, 1000);
	/* A full second's worth at once, then nothing until it refills. */
	for (int i = 0; i < 100; i++)
		sent += ratelimit_rate_take(&r, 1000, &wait_ms);
	ck_assert_int_eq(sent, 10);
	ck_assert(!ratelimit_rate_take(&r, 1000, &wait_ms));
	ck_assert_int_eq(wait_ms, 100);
	ck_assert(!ratelimit_rate_take(&r, 1050, &wait_ms));
	ck_assert_int_eq(wait_ms, 50);
	ck_assert(ratelimit_rate_take(&r, 1100, &wait_ms));
	/* Over 3 s at most 10 + 3 * 10. */
	sent = 0;
	for (int64_t t = 1100; t <= 4100; t += 5)
		sent += ratelimit_rate_take(&r, t, &wait_ms);
	ck_assert_int_le(sent, 30);
	ck_assert_int_ge(sent, 29);
	/* 0 = no cap. */
	ratelimit_rate_init(&r, 0, 0);
	for (int i = 0; i < 1000; i++)
		ck_assert(ratelimit_rate_take(&r, 0, &wait_ms));
}
END_TEST

CHECK_RUN_MAIN("phone", 30, test_one_patient_one_number, test_not_numbers, test_e164, test_countries,
    test_redact_digits, test_redact_provider_error, test_send_bucket)
