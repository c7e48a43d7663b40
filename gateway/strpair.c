/*
 * strpair.c - owned name = value string pairs. See strpair.h.
 */
#include "strpair.h"

#include <stdlib.h>

void
strpairs_clear(struct strpair **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*v)[i].name);
		free((*v)[i].value);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}
