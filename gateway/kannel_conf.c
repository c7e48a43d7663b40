/*
 * kannel_conf.c - what kannel.conf says about a sendsms-user (PURE).
 * See kannel_conf.h.
 */
#include "kannel_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

/* The group being read: only a sendsms-user's keys are kept. */
struct kannel_conf_group {
	bool sendsms_user;
	bool user_matches;
	struct kannel_conf_user user;
};

/* Trims spaces at both ends of s in place; returns its start. */
static char *
kannel_conf_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A value without its double quotes (and what follows a closing quote), or without a trailing comment. */
static char *
kannel_conf_value(char *v)
{
	char *end;

	if (*v == '"') {
		end = strchr(++v, '"');
		if (end != NULL)
			*end = '\0';
		return v;
	}
	if ((end = strchr(v, '#')) != NULL)
		*end = '\0';
	return kannel_conf_trim(v);
}

static int
kannel_conf_bool(const char *v)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
	    strcmp(v, "1") == 0)
		return 1;
	return 0;
}

static long
kannel_conf_long(const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 0)
		return -1;
	return n;
}

/* The group just ended: is it the one looked for? */
static bool
kannel_conf_end(struct kannel_conf_group *g, struct kannel_conf_user *out)
{
	bool found = g->sendsms_user && g->user_matches;

	if (found)
		*out = g->user;
	memset(g, 0, sizeof *g);
	return found;
}

bool
kannel_conf_sendsms_user(const char *text, const char *username, struct kannel_conf_user *out)
{
	struct kannel_conf_group g = { 0 };
	char *copy = xstrdup(text ? text : ""), *line, *next, *eq, *key, *value;
	bool found = false;

	for (line = copy; line != NULL && !found; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line = kannel_conf_trim(line);
		if (*line == '\0') {
			found = kannel_conf_end(&g, out);
			continue;
		}
		if (*line == '#' || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		key = kannel_conf_trim(line);
		value = kannel_conf_value(kannel_conf_trim(eq + 1));
		if (strcmp(key, "group") == 0) {
			found = kannel_conf_end(&g, out);
			g.sendsms_user = strcmp(value, "sendsms-user") == 0;
			g.user.max_messages = -1;
			g.user.concatenation = -1;
		} else if (strcmp(key, "username") == 0) {
			g.user_matches = strcmp(value, username) == 0;
		} else if (strcmp(key, "max-messages") == 0) {
			g.user.max_messages = kannel_conf_long(value);
		} else if (strcmp(key, "concatenation") == 0) {
			g.user.concatenation = kannel_conf_bool(value);
		}
	}
	if (!found)
		found = kannel_conf_end(&g, out);
	free(copy);
	return found;
}
