/*
 * optoken.h - the operator tokens of OPERATOR_TOKENS (PURE).
 *
 * "name:token,name2:token2": each token authenticates an operator and its
 * name is what their actions are recorded under. Names are [a-z0-9_-]
 * (1-32 characters, unique), tokens at least OPTOKEN_MIN_LEN printable
 * characters without spaces, commas or colons, and unique.
 */
#ifndef CARENAV_GATEWAY_OPTOKEN_H
#define CARENAV_GATEWAY_OPTOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"
#include "strpair.h"

#define OPTOKEN_MIN_LEN 16
#define OPTOKEN_MAX_NAME 32

/* Each item: the operator's name, and as its value the token (secret, never logged). */
struct optoken_list {
	struct strpair *items;  /* owned */
	size_t n;
};

/* Parses spec ("" gives an empty list); false + *cause (no secret in it) if malformed. */
bool optoken_parse(const char *spec, struct optoken_list *out, char **cause) CN_MUSTCHECK;
/* Frees the items; the list itself is the caller's. */
void optoken_list_clear(struct optoken_list *list);

#endif
