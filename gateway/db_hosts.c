/*
 * db_hosts.c - the hosts of a multi-host DATABASE_URL, rotated. See db_hosts.h.
 */
#include "db_hosts.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct db_hosts {
	size_t count;          /* hosts in the list */
	size_t nkeys;          /* settings, without the NULL terminator */
	const char **keywords; /* owned array; strings owned by options or literals */
	char ***values;        /* owned: count arrays of nkeys + 1, one per first host */
	const char *host_list, *hostaddr_list, *port_list;  /* as written (in options), or NULL */
	PQconninfoOption *options;
};

/* Entries in a comma-separated libpq list ("a,b,,c" has 4). */
static size_t
list_count(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		n += *s == ',';
	return n;
}

/* Entry i of a list, or "" past its end (caller frees). */
static char *
list_entry(const char *s, size_t i)
{
	for (; i > 0 && s != NULL; i--) {
		s = strchr(s, ',');
		if (s != NULL)
			s++;
	}
	return s == NULL ? xstrdup("") : xstrndup(s, strcspn(s, ","));
}

/* The list s rotated to begin at entry first: "a,b,c" from 1 is "b,c,a". */
static char *
list_rotate(const char *s, size_t first)
{
	size_t n = list_count(s), len = strlen(s);
	const char *start = s;
	char *out = xmalloc(len + 2);

	for (size_t i = 0; i < first % n; i++)
		start = strchr(start, ',') + 1;
	if (start == s) {
		memcpy(out, s, len + 1);
		return out;
	}
	/* The tail from start, a comma, then the head up to the comma before start. */
	len = strlen(start);
	memcpy(out, start, len);
	out[len] = ',';
	memcpy(out + len + 1, s, (size_t)(start - s - 1));
	out[len + 1 + (size_t)(start - s - 1)] = '\0';
	return out;
}

static bool
is_host_list_key(const char *keyword)
{
	return strcmp(keyword, "host") == 0 || strcmp(keyword, "hostaddr") == 0 || strcmp(keyword, "port") == 0;
}

/* Unset, or target_session_attrs, which is always "any" here (added last). */
static bool
is_left_out(const PQconninfoOption *o)
{
	return o->val == NULL || strcmp(o->keyword, "target_session_attrs") == 0;
}

struct db_hosts *
db_hosts_new(const char *conninfo, char **error)
{
	char *libpq_error = NULL;
	PQconninfoOption *options = PQconninfoParse(conninfo, &libpq_error);
	struct db_hosts *h;
	size_t k = 0;
	bool rotate;

	if (options == NULL) {
		*error = xstrdup(libpq_error != NULL ? libpq_error : "out of memory");
		(*error)[strcspn(*error, "\n")] = '\0';
		PQfreemem(libpq_error);
		return NULL;
	}
	h = xcalloc(1, sizeof *h);
	h->options = options;
	h->count = 1;
	h->nkeys = 1;  /* target_session_attrs */
	for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
		if (is_left_out(o))
			continue;
		h->nkeys++;
		if (strcmp(o->keyword, "host") == 0)
			h->host_list = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			h->hostaddr_list = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			h->port_list = o->val;
		if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) {
			size_t n = list_count(o->val);

			h->count = n > h->count ? n : h->count;
		}
	}
	h->keywords = xcalloc(h->nkeys + 1, sizeof *h->keywords);
	h->values = xcalloc(h->count, sizeof *h->values);
	for (size_t first = 0; first < h->count; first++)
		h->values[first] = xcalloc(h->nkeys + 1, sizeof **h->values);
	for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
		if (is_left_out(o))
			continue;
		/* A single port applies to every host and stays as it is. */
		rotate = is_host_list_key(o->keyword) && list_count(o->val) == h->count;
		h->keywords[k] = o->keyword;
		for (size_t first = 0; first < h->count; first++)
			h->values[first][k] = rotate ? list_rotate(o->val, first) : xstrdup(o->val);
		k++;
	}
	/* Explicitly, so that PGTARGETSESSIONATTRS in the environment cannot make libpq refuse the primary. */
	h->keywords[k] = "target_session_attrs";
	for (size_t first = 0; first < h->count; first++)
		h->values[first][k] = xstrdup("any");
	return h;
}

void
db_hosts_free(struct db_hosts *h)
{
	if (h == NULL)
		return;
	for (size_t first = 0; first < h->count; first++) {
		for (size_t k = 0; k < h->nkeys; k++)
			free(h->values[first][k]);
		free(h->values[first]);
	}
	free(h->values);
	free(h->keywords);
	PQconninfoFree(h->options);
	free(h);
}

size_t
db_hosts_count(const struct db_hosts *h)
{
	return h->count;
}

const char *const *
db_hosts_keywords(const struct db_hosts *h)
{
	return h->keywords;
}

const char *const *
db_hosts_values(const struct db_hosts *h, size_t first)
{
	return (const char *const *)h->values[first % h->count];
}

size_t
db_hosts_find(const struct db_hosts *h, const char *host, const char *port)
{
	bool one_port = h->port_list == NULL || list_count(h->port_list) == 1;

	for (size_t i = 0; i < h->count; i++) {
		char *name = list_entry(h->host_list, i), *addr = list_entry(h->hostaddr_list, i);
		char *p = list_entry(h->port_list, one_port ? 0 : i);
		bool match = (strcmp(name, host) == 0 || strcmp(addr, host) == 0) &&
		    (p[0] == '\0' || strcmp(p, port) == 0);

		free(name);
		free(addr);
		free(p);
		if (match)
			return i;
	}
	return h->count;
}
