/*
 * flow_admin.h - putting flow documents into the database (blocking libpq;
 * for the CLI and for startup, never inside the event loop).
 *
 * A flow document is validated with flow_load() before it is stored, so
 * the gateway never meets a flow it cannot run. Every load is a new,
 * immutable version: conversations keep the version they started on.
 */
#ifndef CARENAV_GATEWAY_FLOW_ADMIN_H
#define CARENAV_GATEWAY_FLOW_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"
#include "embedded.h"

/* How the newest stored version of a flow stands against the compiled-in (shipped) one. */
enum flow_admin_shipped_state {
	FLOW_SHIPPED_MISSING,	    /* no version stored yet: startup loads the shipped one */
	FLOW_SHIPPED_BROKEN,	    /* the stored one no longer loads: startup loads the shipped one */
	FLOW_SHIPPED_CURRENT,	    /* the stored one is this shipped version, or a newer shipped one */
	FLOW_SHIPPED_UPGRADE,	    /* an unmodified earlier shipped version: startup loads the new one */
	FLOW_SHIPPED_EDITED,	    /* edited here after this shipped version was stored: kept */
	FLOW_SHIPPED_EDITED_NEWER,  /* edited here, and this shipped version is newer: kept, doctor warns */
};

struct flow_admin_status {
	enum flow_admin_shipped_state state;
	char name[72];	/* the flow's name */
	int version;	/* the newest stored version (0 = none) */
	char why[256];	/* FLOW_SHIPPED_BROKEN: the loader's cause */
};

/* Validates doc and stores it as the newest version of its flow; sets *version. */
bool flow_admin_load(PGconn *pg, const char *doc, size_t len, int *version, char **name,
    char **cause) CN_MUSTCHECK;
/* Compares the stored flow named like the compiled-in file f with it (no change made). */
bool flow_admin_shipped(PGconn *pg, const struct embedded_file *f, struct flow_admin_status *st,
    char **cause) CN_MUSTCHECK;
/*
 * Stores each compiled-in flow (sql/flows/) that has no version yet, whose
 * newest version is an unmodified earlier shipped one, or no longer loads.
 */
bool flow_admin_seed(PGconn *pg, char **cause) CN_MUSTCHECK;

#endif
