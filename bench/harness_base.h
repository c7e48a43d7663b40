/*
 * harness_base.h - the event loop of the benchmark's stand-ins for Twilio
 * (bench/loadgen.c sends its webhooks, bench/fake_provider.c takes its
 * replies).
 *
 * They share the machine's cores with the gateway and PostgreSQL, though in
 * production neither is on that machine: every microsecond they spend is
 * taken from what the benchmark measures. libevent's epoll changelist
 * merges a connection's interest changes within one loop iteration into
 * one epoll_ctl call, or none: their CPU per text fell from 0.034 / 0.034
 * ms to 0.023-0.026 / 0.028-0.030 ms (loadgen / fake provider, quick runs).
 * libevent warns that the changelist can misreport events for dup()ed
 * descriptors; neither program dups one.
 */
#ifndef CARENAV_BENCH_HARNESS_BASE_H
#define CARENAV_BENCH_HARNESS_BASE_H

#include <event2/event.h>

static inline struct event_base *
harness_base_new(void)
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
