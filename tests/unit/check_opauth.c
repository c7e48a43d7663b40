/*
 * check_opauth.c - operator secrets: Argon2id passwords, token digests,
 * TOTP codes against the RFC 6238 test vectors (SHA-1, 6 digits), and the
 * otpauth:// URI.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "opauth.h"

/* RFC 6238 appendix B's SHA-1 key, "12345678901234567890", in base32. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

START_TEST(test_password)
{
	char hash[OPAUTH_HASH_MAX];

	ck_assert(opauth_init());
	ck_assert(opauth_password_hash("correct horse", hash));
	ck_assert_msg(strncmp(hash, "$argon2id$", 10) == 0, "%s", hash);
	ck_assert(opauth_password_verify(hash, "correct horse"));
	ck_assert(!opauth_password_verify(hash, "correct horse "));
	ck_assert(!opauth_password_verify(hash, ""));
	ck_assert(!opauth_password_verify(NULL, "correct horse"));
	ck_assert(!opauth_password_verify("not a hash", "correct horse"));
}
END_TEST

START_TEST(test_tokens)
{
	char a[OPAUTH_HEX_MAX], b[OPAUTH_HEX_MAX], pw[21];

	ck_assert(opauth_init());
	opauth_random_hex(a);
	opauth_random_hex(b);
	ck_assert_uint_eq(strlen(a), 64);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
	ck_assert_str_ne(a, b);
	opauth_sha256_hex("abc", a);
	ck_assert_str_eq(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	opauth_random_password(pw);
	ck_assert_uint_eq(strlen(pw), 20);
	ck_assert(strpbrk(pw, "0O1lI") == NULL);
}
END_TEST

START_TEST(test_totp)
{
	char *secret, *uri;

	ck_assert(opauth_init());
	ck_assert(opauth_totp_check(RFC_SECRET, "287082", 59));
	ck_assert(opauth_totp_check(RFC_SECRET, "081804", 1111111109));
	ck_assert(opauth_totp_check(RFC_SECRET, "005924", 1234567890));
	/* one 30 s step of drift either way, not two */
	ck_assert(opauth_totp_check(RFC_SECRET, "005924", 1234567890 + 30));
	ck_assert(opauth_totp_check(RFC_SECRET, "005924", 1234567890 - 30));
	ck_assert(!opauth_totp_check(RFC_SECRET, "005924", 1234567890 + 90));
	ck_assert(!opauth_totp_check(RFC_SECRET, "005925", 1234567890));
	ck_assert(!opauth_totp_check(RFC_SECRET, "05924", 1234567890));
	ck_assert(!opauth_totp_check(RFC_SECRET, "00592a", 1234567890));
	ck_assert(!opauth_totp_check(RFC_SECRET, NULL, 1234567890));
	ck_assert(!opauth_totp_check("not base32!", "005924", 1234567890));
	secret = opauth_totp_secret();
	ck_assert_uint_eq(strlen(secret), 32);
	uri = opauth_totp_uri("carenav", "nina", secret);
	ck_assert_msg(strncmp(uri, "otpauth://totp/carenav:nina?secret=", 35) == 0 &&
	    strstr(uri, secret) != NULL && strstr(uri, "issuer=carenav") != NULL, "%s", uri);
	free(uri);
	free(secret);
}
END_TEST

CHECK_RUN_MAIN("opauth", 60, test_password, test_tokens, test_totp)
