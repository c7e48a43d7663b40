/*
 * strpair.h - an owned name = value string pair, and a list of them: form
 * fields, a conversation's variables, operator tokens. Pure: no I/O.
 */
#ifndef CARENAV_GATEWAY_STRPAIR_H
#define CARENAV_GATEWAY_STRPAIR_H

#include <stddef.h>

struct strpair {
	char *name;   /* owned */
	char *value;  /* owned */
};

/* Frees every pair's strings and the array, and leaves the list empty (*v NULL, *n 0). */
void strpairs_clear(struct strpair **v, size_t *n);

#endif
