/*
 * check_form.c - the webhook form parser and encoder, and phone validation.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "form.h"
#include "phone.h"

static struct form
parse_ok(const char *body)
{
	struct form form;
	char *cause = NULL;

	ck_assert_msg(form_parse(body, strlen(body), &form, &cause), "parse failed: %s", cause);
	return form;
}

static void
parse_fails(const char *body, size_t len, const char *expect_in_cause)
{
	struct form form;
	char *cause = NULL;
	bool ok = form_parse(body, len, &form, &cause);

	unit_assert_refused(ok, body, cause, expect_in_cause);
	ck_assert_ptr_null(form.pairs);
}

/* Asserts that f has each name of kv (name, value, ..., NULL) with that value (the first one, if repeated). */
static void
assert_values(const struct form *f, const char *const *kv)
{
	for (; kv[0] != NULL; kv += 2) {
		const char *v = form_get(f, kv[0]);

		ck_assert_msg(v != NULL && strcmp(v, kv[1]) == 0, "%s = '%s', want '%s'", kv[0],
		    v ? v : "(none)", kv[1]);
	}
}

START_TEST(test_twilio_body)
{
	struct form f = parse_ok("ToCountry=US&MessageSid=SM123&From=%2B15551230001&To=%2B15550001111"
	                         "&Body=my+back+hurts%21&NumMedia=0");

	ck_assert_uint_eq(f.npairs, 6);
	assert_values(&f, (const char *const[]){ "MessageSid", "SM123", "From", "+15551230001",
	    "Body", "my back hurts!", NULL });
	ck_assert_ptr_null(form_get(&f, "Missing"));
	form_free(&f);
}
END_TEST

START_TEST(test_percent_and_plus)
{
	struct form f = parse_ok("a=%2b%2B+b&b=caf%C3%A9&c=100%25&d=%E2%9C%93");

	assert_values(&f, (const char *const[]){ "a", "++ b", "b", "caf\xc3\xa9", "c", "100%",
	    "d", "\xe2\x9c\x93", NULL });
	form_free(&f);
}
END_TEST

START_TEST(test_duplicates_keep_all_first_wins)
{
	struct form f = parse_ok("Body=one&Body=two");

	ck_assert_uint_eq(f.npairs, 2);
	ck_assert_str_eq(form_get(&f, "Body"), "one");
	ck_assert_str_eq(f.pairs[1].value, "two");
	form_free(&f);
}
END_TEST

START_TEST(test_empty_and_valueless)
{
	struct form f = parse_ok("&&a=&b&&");

	ck_assert_uint_eq(f.npairs, 2);
	assert_values(&f, (const char *const[]){ "a", "", "b", "", NULL });
	form_free(&f);
	f = parse_ok("");
	ck_assert_uint_eq(f.npairs, 0);
	form_free(&f);
}
END_TEST

START_TEST(test_bad_escapes)
{
	parse_fails("a=%", 3, "percent");
	parse_fails("a=%4", 4, "percent");
	parse_fails("a=%zz", 5, "percent");
	parse_fails("ok=1&%G1=2", 10, "percent");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	parse_fails("Body=%C3%28", 11, "UTF-8");      /* bad continuation */
	parse_fails("Body=%C0%AF", 11, "UTF-8");      /* overlong '/' */
	parse_fails("Body=%ED%A0%80", 14, "UTF-8");   /* UTF-16 surrogate */
	parse_fails("Body=%F4%90%80%80", 17, "UTF-8"); /* past U+10FFFF */
	parse_fails("Body=%E2%9C", 11, "UTF-8");      /* truncated */
	parse_fails("Body=a%00b", 10, "UTF-8");       /* NUL would truncate the text */
	parse_fails("Body=\xff", 6, "UTF-8");         /* raw invalid byte */
}
END_TEST

START_TEST(test_too_many_fields)
{
	size_t n = 300 * 4;
	char *body = malloc(n + 1);

	for (size_t i = 0; i < 300; i++)
		memcpy(body + i * 4, "a=1&", 4);
	body[n] = '\0';
	parse_fails(body, n, "fields");
	free(body);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	const char *kv[] = { "To", "+1 555", "Body", "caf\xc3\xa9 & 100%=ok?", "E", "" };
	char *enc = form_encode(kv, 3);
	struct form f;

	ck_assert_str_eq(enc, "To=%2B1+555&Body=caf%C3%A9+%26+100%25%3Dok%3F&E=");
	f = parse_ok(enc);
	assert_values(&f, (const char *const[]){ "To", "+1 555", "Body", kv[3], "E", "", NULL });
	form_free(&f);
	free(enc);
}
END_TEST

START_TEST(test_phone_valid)
{
	unit_assert_yes_no(phone_valid, "phone_valid", (const char *const[]){
		"+15551230001", "5551230001", "12345", "123",
		"+123456789012345", /* E.164 allows 15 digits */
		"whatsapp:+15551230001", NULL },
	    (const char *const[]){
		"", "+", "12", "+1 555 123", "+1555123000123456", "robert'); DROP TABLE", ":+1555",
		"WhatsApp:+1555123", NULL });
}
END_TEST

CHECK_RUN_MAIN("form", 30, test_twilio_body, test_percent_and_plus, test_duplicates_keep_all_first_wins,
    test_empty_and_valueless, test_bad_escapes, test_invalid_utf8, test_too_many_fields,
    test_encode_roundtrip, test_phone_valid)
