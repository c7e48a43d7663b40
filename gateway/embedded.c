/*
 * embedded.c - lookups in the compiled-in data files. See embedded.h.
 */
#include "embedded.h"

#include <string.h>

const struct embedded_file *
embedded_find(const struct embedded_file *files, const char *name)
{
	for (; files->name != NULL; files++) {
		if (strcmp(files->name, name) == 0)
			return files;
	}
	return NULL;
}
