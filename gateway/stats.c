/*
 * stats.c - process-wide counters and the webhook latency histogram. See stats.h.
 */
#include "stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "timeutil.h"
#include "xmalloc.h"

struct stats stats;

static const double stats_bucket_ms[STATS_LATENCY_NBUCKETS] = STATS_LATENCY_BUCKETS_MS;
/* Observations per bucket (not cumulative: summed when formatted). */
static uint64_t stats_latency_counts[STATS_LATENCY_NBUCKETS + 1];
static double stats_latency_sum_ms;
static uint64_t stats_latency_n;

double
stats_now_ms(void)
{
	return (double)timeutil_mono_us() / 1000.0;
}

void
stats_observe_webhook_ms(double ms)
{
	size_t i = 0;

	while (i < STATS_LATENCY_NBUCKETS && ms > stats_bucket_ms[i])
		i++;
	stats_latency_counts[i]++;
	stats_latency_sum_ms += ms;
	stats_latency_n++;
}

uint64_t stats_segments_sent[2];

void
stats_count_segments_sent(size_t segments, enum segment_encoding encoding)
{
	stats_segments_sent[encoding == SEGMENT_UCS2] += segments;
}

/* Appends to *out (which it owns), printf-style. */
static void
stats_append(char **out, const char *fmt, ...) CN_PRINTF(2, 3);

static void
stats_append(char **out, const char *fmt, ...)
{
	va_list ap;
	char *add, *next;

	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	next = xasprintf("%s%s", *out, add);
	free(add);
	free(*out);
	*out = next;
}

/* One sample of a labelled family. */
static void
stats_labelled(char **out, const char *family, const char *status, uint64_t value)
{
	stats_append(out, "%s{status=\"%s\"} %" PRIu64 "\n", family, status, value);
}

char *
stats_format(void)
{
	char *out = xstrdup("");
	uint64_t cumulative = 0;

#define X(field, name, help) \
	stats_append(&out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, \
	    stats.field);
	STATS_COUNTER_LIST(X)
#undef X

	stats_append(&out, "# HELP carenav_inbound_messages_total Inbound webhooks by outcome\n"
	    "# TYPE carenav_inbound_messages_total counter\n");
	stats_labelled(&out, "carenav_inbound_messages_total", "stored",
	    stats.inbound_stored - stats.inbound_spooled);
	stats_labelled(&out, "carenav_inbound_messages_total", "spooled", stats.inbound_spooled);
	stats_labelled(&out, "carenav_inbound_messages_total", "duplicate", stats.inbound_duplicate);
	stats_labelled(&out, "carenav_inbound_messages_total", "rejected", stats.inbound_rejected);
	stats_labelled(&out, "carenav_inbound_messages_total", "unauthenticated", stats.signature_failures);
	stats_labelled(&out, "carenav_inbound_messages_total", "unavailable", stats.inbound_unavailable);
	stats_append(&out, "# HELP carenav_outbound_messages_total Outbound send attempts by outcome\n"
	    "# TYPE carenav_outbound_messages_total counter\n");
	stats_labelled(&out, "carenav_outbound_messages_total", "sent", stats.outbound_sent);
	stats_labelled(&out, "carenav_outbound_messages_total", "retry", stats.outbound_retried);
	stats_labelled(&out, "carenav_outbound_messages_total", "failed", stats.outbound_failed);
	stats_labelled(&out, "carenav_outbound_messages_total", "resend_absorbed",
	    stats.outbound_resends_absorbed);

	stats_append(&out, "# HELP carenav_sms_segments_sent_total SMS segments of the texts the provider "
	    "accepted (a concatenated text counts each part), by encoding\n"
	    "# TYPE carenav_sms_segments_sent_total counter\n"
	    "carenav_sms_segments_sent_total{encoding=\"gsm7\"} %" PRIu64 "\n"
	    "carenav_sms_segments_sent_total{encoding=\"ucs2\"} %" PRIu64 "\n",
	    stats_segments_sent[0], stats_segments_sent[1]);

	stats_append(&out, "# HELP carenav_webhook_duration_seconds Inbound SMS webhooks, receipt to answer "
	    "(stored, spooled, duplicate or 503)\n# TYPE carenav_webhook_duration_seconds histogram\n");
	for (size_t i = 0; i < STATS_LATENCY_NBUCKETS; i++) {
		cumulative += stats_latency_counts[i];
		stats_append(&out, "carenav_webhook_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
		    stats_bucket_ms[i] / 1000.0, cumulative);
	}
	stats_append(&out, "carenav_webhook_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "carenav_webhook_duration_seconds_sum %.6f\ncarenav_webhook_duration_seconds_count %" PRIu64 "\n",
	    stats_latency_n, stats_latency_sum_ms / 1000.0, stats_latency_n);
	return out;
}
