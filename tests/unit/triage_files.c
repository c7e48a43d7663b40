/*
 * triage_files.c - the shipped triage data for the detector tests. See
 * triage_files.h.
 */
#include "triage_files.h"

#include <check.h>
#include <stdlib.h>

#include "file_text.h"

/* One data file while it is parsed. */
struct triage_file {
	const char *path;  /* borrowed from the environment or a literal */
	char *text;        /* owned */
	size_t len;        /* bytes of text */
	char *cause;       /* the parser's reason for refusing it, owned */
};

static struct triage_file
triage_file_read(const char *env, const char *def)
{
	struct triage_file f = { .path = triage_files_path(env, def) };

	f.text = file_text_read(f.path, &f.len);
	return f;
}

/* What a parser made of f (NULL: refused): fails the test, with the parser's reason, when
 * it is NULL; frees f's text. */
static void *
triage_file_loaded(struct triage_file *f, void *loaded)
{
	ck_assert_msg(loaded != NULL, "%s: %s", f->path, f->cause ? f->cause : "?");
	free(f->text);
	return loaded;
}

const char *
triage_files_path(const char *env, const char *def)
{
	const char *v = getenv(env);

	return (v != NULL && v[0] != '\0') ? v : def;
}

struct redflag_rules *
triage_files_rules(void)
{
	struct triage_file f = triage_file_read("REDFLAG_PHRASES", "sql/triage/phrases.json");

	return triage_file_loaded(&f, redflag_rules_load(f.text, f.len, &f.cause));
}

struct triage_model *
triage_files_model(void)
{
	struct triage_file f = triage_file_read("TRIAGE_MODEL", "sql/triage/model.txt");

	return triage_file_loaded(&f, triage_model_load(f.text, f.len, &f.cause));
}
