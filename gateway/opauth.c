/*
 * opauth.c - passwords, tokens and TOTP codes of operators. See opauth.h.
 *
 * Passwords use libsodium's crypto_pwhash_str (Argon2id, interactive
 * limits: about 64 MiB and a tenth of a second per check, which is what
 * makes a stolen table slow to attack). Tokens and session ids are 256
 * random bits, so one SHA-256 is enough to store them: there is nothing to
 * brute-force. TOTP codes are checked with liboath, one step of clock
 * drift either way.
 */
#include "opauth.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "xmalloc.h"

#define OPAUTH_TOTP_STEP 30
#define OPAUTH_TOTP_SECRET_BYTES 20

bool
opauth_init(void)
{
	return sodium_init() >= 0 && oath_init() == OATH_OK;
}

bool
opauth_password_hash(const char *password, char out[OPAUTH_HASH_MAX])
{
	_Static_assert(crypto_pwhash_STRBYTES <= OPAUTH_HASH_MAX, "OPAUTH_HASH_MAX too small");
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

bool
opauth_password_verify(const char *hash, const char *password)
{
	return hash != NULL && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void
opauth_random_hex(char out[OPAUTH_HEX_MAX])
{
	unsigned char bytes[32];

	randombytes_buf(bytes, sizeof bytes);
	sodium_bin2hex(out, OPAUTH_HEX_MAX, bytes, sizeof bytes);
}

void
opauth_random_password(char out[21])
{
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

	for (int i = 0; i < 20; i++)
		out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	out[20] = '\0';
}

void
opauth_sha256_hex(const char *s, char out[OPAUTH_HEX_MAX])
{
	unsigned char digest[32];
	unsigned int n = sizeof digest;

	if (EVP_Digest(s, strlen(s), digest, &n, EVP_sha256(), NULL) != 1)
		abort();
	sodium_bin2hex(out, OPAUTH_HEX_MAX, digest, sizeof digest);
}

char *
opauth_totp_secret(void)
{
	char bytes[OPAUTH_TOTP_SECRET_BYTES], *b32 = NULL;
	size_t len;

	randombytes_buf(bytes, sizeof bytes);
	if (oath_base32_encode(bytes, sizeof bytes, &b32, &len) != OATH_OK)
		abort();
	return b32;
}

bool
opauth_totp_check(const char *secret, const char *code, time_t now)
{
	char *raw = NULL;
	size_t rawlen;
	bool ok;

	if (secret == NULL || code == NULL || strlen(code) != 6 || strspn(code, "0123456789") != 6)
		return false;
	if (oath_base32_decode(secret, strlen(secret), &raw, &rawlen) != OATH_OK)
		return false;
	ok = oath_totp_validate(raw, rawlen, now, OPAUTH_TOTP_STEP, 0, 1, code) >= 0;
	free(raw);
	return ok;
}

char *
opauth_totp_uri(const char *issuer, const char *name, const char *secret)
{
	return xasprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=%d",
	    issuer, name, secret, issuer, OPAUTH_TOTP_STEP);
}
