/*
 * stats.h - process-wide counters, exported at GET /metrics.
 *
 * One event loop, one thread: plain increments (memcached's global stats,
 * without its locks). Each counter is one line of the X-macro list; the
 * same counters are also exported as labelled families by status
 * (carenav_inbound_messages_total{status=...}, carenav_outbound_messages_total),
 * which is what dashboards group by.
 */
#ifndef CARENAV_GATEWAY_STATS_H
#define CARENAV_GATEWAY_STATS_H

#include <stdint.h>

#include "attrs.h"
#include "segment.h"

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
	X(connections_refused, "carenav_http_connections_refused_total", "New connections refused (503): a connection limit reached and no idle connection to close") \
	X(connections_closed_idle, "carenav_http_connections_closed_idle_total", "Idle keep-alive connections closed to make room for a new one at a connection limit") \
	X(inbound_spooled, "carenav_inbound_spooled_total", "Inbound SMS written to the local spool while the database was down") \
	X(db_connections_lost, "carenav_database_connections_lost_total", "Database connections lost (server gone, failover, network)") \
	X(db_reconnects, "carenav_database_reconnects_total", "Database connections re-established after a loss") \
	X(api_rate_limited, "carenav_api_rate_limited_total", "Operator API requests refused (429): per operator, or per address for failed authentication") \
	X(api_auth_failures, "carenav_api_auth_failures_total", "Operator API requests without a valid token") \
	X(bodies_purged, "carenav_retention_bodies_purged_total", "Message bodies blanked by the retention purge (RETENTION_DAYS)") \
	X(states_cleared, "carenav_retention_states_cleared_total", "Dialogue states of conversations idle past RETENTION_DAYS emptied by the retention purge") \
	X(outbox_trimmed, "carenav_outbox_rows_trimmed_total", "Outbox rows of replies no longer pending deleted after OUTBOX_KEEP_DAYS") \
	X(outbound_rate_held, "carenav_outbound_rate_held_total", "Outbound SMS held back for later by OUTBOUND_RATE_PER_SEC") \
	X(outbound_country_refused, "carenav_outbound_country_refused_total", "Outbound SMS refused for good: destination not a number in OUTBOUND_COUNTRIES") \
	X(outbound_gate_bypassed, "carenav_outbound_gate_bypassed_total", "Urgent outbound SMS (emergency, staff alert) sent past the send cap or country list")

struct stats {
#define X(field, name, help) uint64_t field;
	STATS_COUNTER_LIST(X)
#undef X
};

extern struct stats stats;

/* Upper bounds of the webhook latency histogram's buckets, in milliseconds. */
#define STATS_LATENCY_BUCKETS_MS { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 }
#define STATS_LATENCY_NBUCKETS 11

/* Segments of the texts the provider accepted, by encoding (segment.h: 0 gsm7, 1 ucs2). */
extern uint64_t stats_segments_sent[2];

/* Counts the segments of one text the provider accepted (segment_count() of it as sent). */
void stats_count_segments_sent(size_t segments, enum segment_encoding encoding);

/* Records one answered inbound webhook: receipt to reply, in milliseconds. */
void stats_observe_webhook_ms(double ms);
/* Milliseconds on a monotonic clock, for measuring latencies. */
double stats_now_ms(void);
/* The counters and the histogram in Prometheus text format, as a new string (caller frees). */
char *stats_format(void);

#endif
