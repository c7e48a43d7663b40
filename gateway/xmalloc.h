/*
 * xmalloc.h - allocators that abort on out-of-memory (tmux xmalloc.c).
 *
 * A daemon that cannot allocate a few bytes cannot do anything useful either;
 * aborting loudly beats limping on with NULL checks nobody tests.
 */
#ifndef CARENAV_GATEWAY_XMALLOC_H
#define CARENAV_GATEWAY_XMALLOC_H

#include <stddef.h>

#include "attrs.h"

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formats into a new string; the caller frees it. */
char *xasprintf(const char *fmt, ...) CN_PRINTF(1, 2);

#endif
