/*
 * file_text.h - reading a whole file into memory, for the unit and
 * integration tests that take their data from files or read a log.
 */
#ifndef CARENAV_TESTS_FILE_TEXT_H
#define CARENAV_TESTS_FILE_TEXT_H

#include <stddef.h>

/*
 * The whole file at path, NUL-terminated (caller frees), its length in *len
 * unless len is NULL; fails the test if it cannot be read.
 */
char *file_text_read(const char *path, size_t *len);
/* The same for a file that may not exist yet (a log): "" when it does not. */
char *file_text_read_if_any(const char *path);

#endif
