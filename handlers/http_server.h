/*
 * http_server.h - the gateway's HTTP server: listening, connection limits,
 * routing.
 *
 * Each handler file exports a table of `struct http_route` (http_reply.h):
 * method, path, and either an open handler or an operator handler with the
 * role it needs, so each API file's table is its permission matrix. The
 * server only walks the tables (tmux cmd-*.c entries) and has the API admit
 * the operator before an operator handler runs.
 */
#ifndef CARENAV_HANDLERS_HTTP_SERVER_H
#define CARENAV_HANDLERS_HTTP_SERVER_H

#include "attrs.h"
#include "http_reply.h"

struct event_base;
struct http_ctx;
struct http_server;

/* Binds HTTP_HOST:HTTP_PORT; false + *cause if it cannot. */
struct http_server *http_server_new(struct event_base *base, struct http_ctx *ctx, char **cause)
    CN_MUSTCHECK;
void http_server_free(struct http_server *srv);
/* Closes the listening socket; requests already received still get answers. */
void http_server_stop_accepting(struct http_server *srv);
/* The port actually bound (useful with HTTP_PORT=0). */
int http_server_port(const struct http_server *srv);

#endif
