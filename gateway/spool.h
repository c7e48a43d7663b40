/*
 * spool.h - the local, fsync'd spool of inbound SMS for when PostgreSQL is
 * unreachable.
 *
 * A webhook is answered 200 only once its message is durable: committed in
 * PostgreSQL, or appended here and fsync'd. The spool is replayed into the
 * database in order as soon as it is reachable again, and cut back only
 * after the replayed rows have committed.
 *
 * File format (var/spool/inbound.spool): a sequence of records, each
 *   u32 little-endian payload length | u32 little-endian CRC-32 of payload | payload
 * where the payload is a JSON object {"provider", "sid", "from", "to",
 * "body", "num_media", "at_ms"} and, when the provider flagged a keyword,
 * "opt_out_type". A torn record at the end (a crash during
 * append) fails its length or checksum and is ignored, as is anything after it.
 */
#ifndef CARENAV_GATEWAY_SPOOL_H
#define CARENAV_GATEWAY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"

struct spool;
struct store_inbound;

#define SPOOL_MAX_RECORD (64 * 1024)

/* One record's fields; strings borrowed from the buffer being parsed. */
struct spool_record {
	const char *provider, *sid, *from, *to, *body;
	int num_media;
	int64_t at_ms;
	const char *opt_out_type;  /* or NULL */
};

/* Called per valid record in file order; return false to stop. */
typedef bool spool_record_cb(const struct spool_record *rec, size_t end_offset, void *arg);

/*
 * PURE: walks the records in buf[0..len). Returns the offset just past the
 * last whole, valid record (the length of the usable prefix).
 */
size_t spool_parse(const char *buf, size_t len, spool_record_cb *cb, void *arg);
/* PURE: spool_parse that adds the valid records in buf[0..len) to *records. */
size_t spool_count(const char *buf, size_t len, size_t *records);
/* PURE: CRC-32 (IEEE, as zlib). */
uint32_t spool_crc32(const void *data, size_t len);

/* Opens (creating) dir/inbound.spool; a torn tail from a crash is cut off. */
struct spool *spool_open(const char *dir, char **cause) CN_MUSTCHECK;
void spool_close(struct spool *spool);
/* Appends one message and fsyncs; false + *cause if the disk would not take it. */
bool spool_append(struct spool *spool, const struct store_inbound *msg, int64_t at_ms,
    char **cause) CN_MUSTCHECK;
/* Bytes of records waiting for replay (0 = empty). */
size_t spool_pending_bytes(const struct spool *spool);
/* Records waiting for replay. */
size_t spool_pending_records(const struct spool *spool);
/*
 * Reads the whole spool into *buf (caller frees); *len its usable length.
 * Replay parses it, commits the records, then calls spool_consume(len).
 */
bool spool_read(struct spool *spool, char **buf, size_t *len, char **cause) CN_MUSTCHECK;
/*
 * Drops the first len bytes (records that are now committed), keeping any
 * appended since: a new file is written, fsync'd and renamed over the old.
 */
bool spool_consume(struct spool *spool, size_t len, char **cause) CN_MUSTCHECK;

#endif
