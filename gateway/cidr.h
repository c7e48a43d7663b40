/*
 * cidr.h - lists of IP addresses and networks ("10.0.0.0/8, ::1"), PURE.
 *
 * TRUSTED_PROXIES is such a list: the peers whose X-Forwarded-For header
 * the gateway believes. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
 * dual-stack listener reports for an IPv4 client) match as the IPv4 address.
 */
#ifndef CARENAV_GATEWAY_CIDR_H
#define CARENAV_GATEWAY_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"

/* Longest text an address can need (INET6_ADDRSTRLEN), plus its NUL. */
#define CIDR_ADDR_MAX 46

struct cidr {
	int family;               /* AF_INET or AF_INET6 */
	unsigned char addr[16];   /* network byte order; 4 bytes used for AF_INET */
	int prefix;               /* leading bits that must match: 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *items;  /* owned */
	size_t n;
};

/*
 * Parses addresses and networks separated by commas and/or spaces ("" is
 * an empty list). False + *cause (caller frees) on the first bad entry.
 */
bool cidr_list_parse(const char *text, struct cidr_list *out, char **cause) CN_MUSTCHECK;
void cidr_list_clear(struct cidr_list *list);
/* True if addr (an address as text) lies in one of the list's networks. */
bool cidr_list_match(const struct cidr_list *list, const char *addr);
/*
 * The first entry that covers a huge part of the internet (an IPv4 prefix
 * under /8, an IPv6 one under /16, such as 0.0.0.0/0), written as text to
 * buf; NULL if none. Trusting it lets any client pick its own address.
 */
const char *cidr_list_too_broad(const struct cidr_list *list, char *buf, size_t size);
/*
 * Rewrites an address in its canonical text form (IPv4-mapped IPv6 as IPv4)
 * into buf; false if text is not an address.
 */
bool cidr_canonical(const char *text, char *buf, size_t size) CN_MUSTCHECK;

#endif
