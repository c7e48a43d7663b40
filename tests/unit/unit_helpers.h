/*
 * unit_helpers.h - what several unit tests share: a fake environment for
 * the loaders that take a getenv function, the check that a parser refused
 * an input for the right reason, and the check of a yes/no predicate over
 * lists of inputs.
 */
#ifndef CARENAV_TESTS_UNIT_HELPERS_H
#define CARENAV_TESTS_UNIT_HELPERS_H

#include <stdbool.h>

/* Makes env (NULL-terminated name/value pairs, borrowed) what unit_env_get sees. */
void unit_env_set(const char *const *env);
/* getenv over the pairs given to unit_env_set; NULL when a name is not there. */
const char *unit_env_get(const char *name);

/*
 * Asserts that a parse of input was refused (ok false) with a cause that
 * contains want; frees cause. Call it after the parse, not around it: C does
 * not say whether cause is read before or after the parse sets it.
 */
void unit_assert_refused(bool ok, const char *input, char *cause, const char *want);

/* Asserts that pred takes each of yes and refuses each of no (both NULL-terminated). */
void unit_assert_yes_no(bool (*pred)(const char *), const char *name, const char *const *yes,
    const char *const *no);

#endif
