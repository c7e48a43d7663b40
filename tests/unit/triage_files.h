/*
 * triage_files.h - the shipped triage data (phrase rules, text model) for
 * the tests of the two detectors, found through the environment that
 * tests/CMakeLists.txt sets, with defaults relative to the repository root.
 */
#ifndef CARENAV_TESTS_UNIT_TRIAGE_FILES_H
#define CARENAV_TESTS_UNIT_TRIAGE_FILES_H

#include "redflag.h"
#include "triage_model.h"

/* The path the environment variable env names, or def when it is unset or empty. */
const char *triage_files_path(const char *env, const char *def);
/* The rules of REDFLAG_PHRASES (default sql/triage/phrases.json); fails the test if they do not load. */
struct redflag_rules *triage_files_rules(void);
/* The model of TRIAGE_MODEL (default sql/triage/model.txt); fails the test if it does not load. */
struct triage_model *triage_files_model(void);

#endif
