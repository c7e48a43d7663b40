/*
 * opauth.h - the secrets of operator accounts: passwords (Argon2id),
 * random API tokens and session ids (stored as SHA-256), and TOTP
 * second factors (RFC 6238, via liboath).
 *
 * Nothing here touches the database; the CLI and the API use it to make
 * and check secrets, and store only what opauth_sha256_hex or
 * opauth_password_hash returns.
 */
#ifndef CARENAV_GATEWAY_OPAUTH_H
#define CARENAV_GATEWAY_OPAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "attrs.h"

/* Room for an Argon2id string (crypto_pwhash_STRBYTES). */
#define OPAUTH_HASH_MAX 128
/* 64 hex digits + NUL: a SHA-256 digest, or 32 random bytes. */
#define OPAUTH_HEX_MAX 65
/* API tokens made by the CLI start with this, so they are recognisable in a leak. */
#define OPAUTH_TOKEN_PREFIX "cnt_"

/* Loads libsodium and liboath; false if either cannot start. */
bool opauth_init(void) CN_MUSTCHECK;
/* Argon2id string of password (interactive limits) into out; false if it cannot (memory). */
bool opauth_password_hash(const char *password, char out[OPAUTH_HASH_MAX]) CN_MUSTCHECK;
/* True if password matches hash (a string from opauth_password_hash). */
bool opauth_password_verify(const char *hash, const char *password);
/* 32 random bytes as 64 lowercase hex digits. */
void opauth_random_hex(char out[OPAUTH_HEX_MAX]);
/* A password to show once: 20 characters from an unambiguous alphabet. */
void opauth_random_password(char out[21]);
/* SHA-256 of s as lowercase hex. */
void opauth_sha256_hex(const char *s, char out[OPAUTH_HEX_MAX]);
/* A new base32 TOTP secret (20 random bytes; caller frees). */
char *opauth_totp_secret(void);
/* True if code is the 6-digit TOTP of secret (base32) at now, one 30 s step either side. */
bool opauth_totp_check(const char *secret, const char *code, time_t now);
/* The otpauth://totp/ URI an authenticator app scans (caller frees). */
char *opauth_totp_uri(const char *issuer, const char *name, const char *secret);

#endif
