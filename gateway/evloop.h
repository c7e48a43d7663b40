/*
 * evloop.h - the event loop every carenav process runs on: libevent's epoll
 * backend with its changelist.
 *
 * Each text costs a few interest changes on one socket within a loop
 * iteration (evhttp enables reading, then writing, to send a reply; libcurl
 * moves a connection from writing to reading); the changelist merges them
 * into one epoll_ctl call, or none, when the loop next polls (4.3 -> 3.3
 * calls per text in the gateway; the benchmark's load generator and fake
 * provider use it too). A socket closed and reopened under the same number
 * within one iteration is caught: libevent retries the merged MOD as an ADD.
 * libevent warns that the changelist can misreport events for a file that
 * another descriptor still holds (dup(), or a child that inherited it), since
 * a deferred removal then finds the descriptor closed: no carenav process
 * dups a socket, and the one child the gateway spawns while it serves
 * (gateway/main.c, "carenav migrate") inherits none of its descriptors.
 */
#ifndef CARENAV_GATEWAY_EVLOOP_H
#define CARENAV_GATEWAY_EVLOOP_H

#include <event2/event.h>

/* NULL when libevent cannot make one. */
static inline struct event_base *
evloop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

#endif
