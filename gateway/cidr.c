/*
 * cidr.c - address/prefix lists for TRUSTED_PROXIES. See cidr.h.
 *
 * A list is a handful of entries (the load balancers), so matching is a
 * linear scan with a byte-wise prefix compare.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xmalloc.h"

static const unsigned char cidr_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses one address (no prefix) into *out with its full prefix; IPv4-mapped becomes IPv4. */
static bool
cidr_parse_addr(const char *text, struct cidr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
		return true;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
		if (memcmp(out->addr, cidr_v4mapped, sizeof cidr_v4mapped) == 0) {
			memmove(out->addr, out->addr + 12, 4);
			memset(out->addr + 4, 0, 12);
			out->family = AF_INET;
			out->prefix = 32;
		}
		return true;
	}
	return false;
}

/* Parses "addr" or "addr/prefix" (item is NUL-terminated); false + *cause. */
static bool
cidr_parse_one(const char *item, struct cidr *out, char **cause)
{
	char buf[CIDR_ADDR_MAX + 8];
	char *slash, *end;
	bool mapped;
	long prefix;

	if (strlen(item) >= sizeof buf) {
		*cause = xasprintf("\"%s\" is not an address or network", item);
		return false;
	}
	snprintf(buf, sizeof buf, "%s", item);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	mapped = strchr(buf, ':') != NULL;
	if (!cidr_parse_addr(buf, out)) {
		*cause = xasprintf("\"%s\" is not an address or network", item);
		return false;
	}
	if (slash == NULL)
		return true;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	/* An IPv4-mapped network's prefix counts the 96 mapping bits. */
	if (mapped && out->family == AF_INET)
		prefix -= 96;
	if (errno != 0 || end == slash + 1 || *end != '\0' || prefix < 0 ||
	    prefix > (out->family == AF_INET ? 32 : 128)) {
		*cause = xasprintf("\"%s\" has a bad prefix length", item);
		return false;
	}
	out->prefix = (int)prefix;
	return true;
}

bool
cidr_list_parse(const char *text, struct cidr_list *out, char **cause)
{
	const char *p = text;

	memset(out, 0, sizeof *out);
	while (*p != '\0') {
		size_t n = strcspn(p, ", \t\n");
		char *item;
		struct cidr c;
		bool ok;

		if (n == 0) {
			p++;
			continue;
		}
		item = xstrndup(p, n);
		ok = cidr_parse_one(item, &c, cause);
		free(item);
		if (!ok) {
			cidr_list_clear(out);
			return false;
		}
		out->items = xreallocarray(out->items, out->n + 1, sizeof *out->items);
		out->items[out->n++] = c;
		p += n;
	}
	return true;
}

void
cidr_list_clear(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static bool
cidr_contains(const struct cidr *net, const struct cidr *a)
{
	int whole = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != a->family)
		return false;
	if (memcmp(net->addr, a->addr, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[whole] ^ a->addr[whole]) & (0xff00 >> rest)) == 0;
}

bool
cidr_list_match(const struct cidr_list *list, const char *addr)
{
	struct cidr a;

	if (list->n == 0 || addr == NULL || !cidr_parse_addr(addr, &a))
		return false;
	for (size_t i = 0; i < list->n; i++) {
		if (cidr_contains(&list->items[i], &a))
			return true;
	}
	return false;
}

const char *
cidr_list_too_broad(const struct cidr_list *list, char *buf, size_t size)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct cidr *c = &list->items[i];
		char text[CIDR_ADDR_MAX];

		if (c->prefix >= (c->family == AF_INET ? 8 : 16))
			continue;
		if (inet_ntop(c->family, c->addr, text, sizeof text) == NULL)
			snprintf(text, sizeof text, "?");
		snprintf(buf, size, "%s/%d", text, c->prefix);
		return buf;
	}
	return NULL;
}

bool
cidr_canonical(const char *text, char *buf, size_t size)
{
	struct cidr a;

	if (!cidr_parse_addr(text, &a))
		return false;
	return inet_ntop(a.family, a.addr, buf, (socklen_t)size) != NULL;
}
