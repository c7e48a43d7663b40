/*
 * fuzz_data.h - the data files a fuzz target reads once, at initialisation
 * (the phrase rules, the text model), named by its environment.
 */
#ifndef CARENAV_TESTS_FUZZ_DATA_H
#define CARENAV_TESTS_FUZZ_DATA_H

#include <stddef.h>

#include "redflag.h"

/*
 * The whole file the environment variable env names, NUL-terminated (caller
 * frees), its length in *len; aborts, naming target and env, when env is
 * unset or the file cannot be read.
 */
char *fuzz_data_read(const char *target, const char *env, size_t *len);
/* The phrase rules REDFLAG_PHRASES names; aborts, naming target, when they do not load. */
struct redflag_rules *fuzz_data_rules(const char *target);

#endif
