/*
 * stats.h - process-wide counters, exported at GET /metrics.
 *
 * One event loop, one thread: plain increments (memcached's global stats,
 * without its locks). Each counter is one line of the X-macro list.
 */
#ifndef CARENAV_GATEWAY_STATS_H
#define CARENAV_GATEWAY_STATS_H

#include <stdint.h>

#define STATS_COUNTER_LIST(X)                                                             \
	X(inbound_stored, "carenav_inbound_stored_total", "Inbound SMS stored")                 \
	X(inbound_duplicate, "carenav_inbound_duplicate_total", "Inbound SMS retried by the provider, stored once") \
	X(inbound_rejected, "carenav_inbound_rejected_total", "Webhooks refused as bad input (4xx)") \
	X(signature_failures, "carenav_webhook_signature_failures_total", "Webhooks refused: bad signature or secret") \
	X(inbound_unavailable, "carenav_inbound_unavailable_total", "Webhooks answered 503: could not store") \
	X(steps_committed, "carenav_dialogue_steps_total", "Dialogue steps committed")          \
	X(step_conflicts, "carenav_dialogue_step_conflicts_total", "Dialogue steps retried after a concurrent step") \
	X(outbound_sent, "carenav_outbound_sent_total", "Outbound SMS accepted by the provider") \
	X(outbound_retried, "carenav_outbound_retried_total", "Outbound send attempts that will be retried") \
	X(outbound_failed, "carenav_outbound_failed_total", "Outbound SMS that failed for good") \
	X(outbound_resends_absorbed, "carenav_outbound_resends_absorbed_total", "Resends after a crash that the provider recognised as already delivered") \
	X(delivery_reports, "carenav_delivery_reports_total", "Delivery reports received")      \
	X(escalation_rounds, "carenav_escalation_alert_rounds_total", "Escalation alert rounds committed") \
	X(escalation_no_oncall, "carenav_escalation_no_oncall_total", "Alert rounds with nobody on call") \
	X(webhook_alert_failed, "carenav_escalation_webhook_failed_total", "Staff webhook posts that failed") \
	X(ack_refused, "carenav_ack_refused_total", "ACK texts from numbers that are not staff") \
	X(rate_limited, "carenav_rate_limited_total", "Texts not answered: the number was over the rate limit") \
	X(connections_refused, "carenav_http_connections_refused_total", "Connections refused over MAX_CONNECTIONS")

struct stats {
#define X(field, name, help) uint64_t field;
	STATS_COUNTER_LIST(X)
#undef X
};

extern struct stats stats;

/* Appends the counters in Prometheus text format to a new string (caller frees). */
char *stats_format(void);

#endif
