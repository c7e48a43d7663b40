/*
 * db_hosts.h - the hosts of a multi-host DATABASE_URL, in an order that
 * can start anywhere.
 *
 * libpq tries the hosts of a multi-host conninfo in the order written and,
 * with target_session_attrs=read-write, trusts the read-only state that a
 * server reports when the session starts. A pooler in front of each
 * database node (PgBouncer, one per node of a pg_auto_failover pair)
 * reports the state it saw when it first connected, and keeps reporting it
 * after a failover (pgbouncer issue #859): libpq then refuses the new
 * primary and keeps choosing the old one, now a standby. So the settings
 * made here set target_session_attrs=any, carenav asks each new
 * connection itself (SHOW transaction_read_only, the question libpq asks
 * servers that report nothing) and, when it landed on a read-only server,
 * starts its next attempt at the next host. This module only rewrites the
 * settings; it does no I/O.
 */
#ifndef CARENAV_GATEWAY_DB_HOSTS_H
#define CARENAV_GATEWAY_DB_HOSTS_H

#include <stddef.h>

#include "attrs.h"

struct db_hosts;

/* Parses a conninfo (URL or key=value). NULL with *error (owned) when libpq cannot parse it. */
struct db_hosts *db_hosts_new(const char *conninfo, char **error) CN_MUSTCHECK;
void db_hosts_free(struct db_hosts *h);
/* How many hosts the conninfo names (1 for a single host or none). */
size_t db_hosts_count(const struct db_hosts *h);
/*
 * NULL-terminated keyword and value arrays for PQconnectStartParams or
 * PQconnectdbParams (expand_dbname = 0): the same settings but
 * target_session_attrs=any, with the host, hostaddr and port lists rotated
 * to begin at host first % count. Both are owned by h.
 */
const char *const *db_hosts_keywords(const struct db_hosts *h);
const char *const *db_hosts_values(const struct db_hosts *h, size_t first);
/*
 * The position in the list as written of the host a connection reached
 * (PQhost, PQport: a name or an address, and its port; an entry with no
 * port matches any), or db_hosts_count when it is not in the list.
 */
size_t db_hosts_find(const struct db_hosts *h, const char *host, const char *port);

#endif
