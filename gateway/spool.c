/*
 * spool.c - append-only fsync'd spool of inbound SMS. See spool.h.
 *
 * Appends are one write(2) of a whole record on an O_APPEND descriptor,
 * then fsync(2); the directory is fsync'd when the file is created or
 * replaced, so the name survives a crash too (redis rdb.c). Consuming
 * writes the remainder to a temporary file, fsyncs it, renames it over
 * the spool and fsyncs the directory: at every instant the spool on disk
 * holds every record not yet committed to PostgreSQL.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "xmalloc.h"

#define SPOOL_HEADER 8

struct spool {
	char *dir;       /* owned */
	char *path;      /* owned: dir/inbound.spool */
	int fd;          /* O_APPEND */
	size_t bytes;    /* usable bytes in the file */
	size_t records;  /* records in those bytes */
};

uint32_t
spool_crc32(const void *data, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static uint32_t
spool_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
spool_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Reads one payload's fields; false if it is not a record we wrote. */
static bool
spool_decode(const char *payload, size_t len, spool_record_cb *cb, size_t end, void *arg,
    bool *stop)
{
	json_t *doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
	struct spool_record rec;
	json_int_t media = 0, at = 0;
	bool ok;

	rec.opt_out_type = NULL;  /* records written before 015 have none */
	ok = doc != NULL && json_unpack(doc, "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s?s}", "provider",
	    &rec.provider, "sid", &rec.sid, "from", &rec.from, "to", &rec.to, "body", &rec.body,
	    "num_media", &media, "at_ms", &at, "opt_out_type", &rec.opt_out_type) == 0;
	if (ok) {
		rec.num_media = (int)media;
		rec.at_ms = (int64_t)at;
		*stop = cb != NULL && !cb(&rec, end, arg);
	}
	json_decref(doc);
	return ok;
}

size_t
spool_parse(const char *buf, size_t len, spool_record_cb *cb, void *arg)
{
	size_t off = 0;

	while (len - off >= SPOOL_HEADER) {
		const unsigned char *h = (const unsigned char *)buf + off;
		uint32_t plen = spool_get_u32(h), crc = spool_get_u32(h + 4);
		bool stop = false;

		if (plen == 0 || plen > SPOOL_MAX_RECORD || plen > len - off - SPOOL_HEADER)
			break;  /* torn: the length was written, the payload was not */
		if (spool_crc32(buf + off + SPOOL_HEADER, plen) != crc)
			break;  /* torn or damaged: nothing after it can be trusted */
		if (!spool_decode(buf + off + SPOOL_HEADER, plen, cb, off + SPOOL_HEADER + plen, arg, &stop))
			break;
		off += SPOOL_HEADER + plen;
		if (stop)
			break;
	}
	return off;
}

static bool
spool_count_cb(const struct spool_record *rec, size_t end, void *arg)
{
	(void)rec;
	(void)end;
	(*(size_t *)arg)++;
	return true;
}

size_t
spool_count(const char *buf, size_t len, size_t *records)
{
	return spool_parse(buf, len, spool_count_cb, records);
}

static bool
spool_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool
spool_slurp(const char *path, char **buf, size_t *len, char **cause)
{
	FILE *f = fopen(path, "rb");
	long size;

	*buf = NULL;
	*len = 0;
	if (f == NULL) {
		if (errno == ENOENT)
			return true;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return false;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	*buf = xmalloc((size_t)size + 1);
	if (size > 0 && fread(*buf, 1, (size_t)size, f) != (size_t)size) {
		*cause = xasprintf("%s: short read", path);
		free(*buf);
		*buf = NULL;
		fclose(f);
		return false;
	}
	fclose(f);
	*len = (size_t)size;
	return true;
}

struct spool *
spool_open(const char *dir, char **cause)
{
	struct spool *spool = xcalloc(1, sizeof *spool);
	char *buf;
	size_t len;

	spool->fd = -1;
	spool->dir = xstrdup(dir);
	spool->path = xasprintf("%s/inbound.spool", dir);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		*cause = xasprintf("spool directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (!spool_slurp(spool->path, &buf, &len, cause))
		goto fail;
	spool->bytes = spool_count(buf, len, &spool->records);
	free(buf);
	spool->fd = open(spool->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (spool->fd < 0) {
		*cause = xasprintf("%s: %s", spool->path, strerror(errno));
		goto fail;
	}
	/* Cut a torn tail so new records are not appended after garbage. */
	if (len > spool->bytes && (ftruncate(spool->fd, (off_t)spool->bytes) != 0 || fsync(spool->fd) != 0)) {
		*cause = xasprintf("%s: cannot cut torn tail: %s", spool->path, strerror(errno));
		goto fail;
	}
	spool_fsync_dir(dir);
	return spool;
fail:
	spool_close(spool);
	return NULL;
}

void
spool_close(struct spool *spool)
{
	if (spool == NULL)
		return;
	if (spool->fd >= 0)
		close(spool->fd);
	free(spool->dir);
	free(spool->path);
	free(spool);
}

bool
spool_append(struct spool *spool, const struct store_inbound *msg, int64_t at_ms, char **cause)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s*}", "provider", msg->provider,
	    "sid", msg->sid, "from", msg->from, "to", msg->to, "body", msg->body, "num_media",
	    msg->num_media, "at_ms", (json_int_t)at_ms, "opt_out_type", msg->opt_out_type);
	char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t plen = payload ? strlen(payload) : 0;
	unsigned char *rec;
	ssize_t n;
	bool ok = false;

	json_decref(doc);
	if (payload == NULL || plen > SPOOL_MAX_RECORD) {
		*cause = xstrdup("message cannot be spooled");
		free(payload);
		return false;
	}
	rec = xmalloc(SPOOL_HEADER + plen);
	spool_put_u32(rec, (uint32_t)plen);
	spool_put_u32(rec + 4, spool_crc32(payload, plen));
	memcpy(rec + SPOOL_HEADER, payload, plen);
	n = write(spool->fd, rec, SPOOL_HEADER + plen);
	if (n == (ssize_t)(SPOOL_HEADER + plen) && fsync(spool->fd) == 0) {
		spool->bytes += SPOOL_HEADER + plen;
		spool->records++;
		ok = true;
	} else {
		*cause = xasprintf("%s: %s", spool->path, n < 0 ? strerror(errno) : "short write or fsync failed");
		/* A partial record would hide the ones after it: cut it off again. */
		if (ftruncate(spool->fd, (off_t)spool->bytes) != 0)
			*cause = xasprintf("%s: cannot undo a partial write: %s", spool->path, strerror(errno));
	}
	free(rec);
	free(payload);
	return ok;
}

size_t
spool_pending_bytes(const struct spool *spool)
{
	return spool->bytes;
}

size_t
spool_pending_records(const struct spool *spool)
{
	return spool->records;
}

bool
spool_read(struct spool *spool, char **buf, size_t *len, char **cause)
{
	if (!spool_slurp(spool->path, buf, len, cause))
		return false;
	if (*len > spool->bytes)
		*len = spool->bytes;
	return true;
}

bool
spool_consume(struct spool *spool, size_t len, char **cause)
{
	char *buf = NULL, *tmp = xasprintf("%s.tmp", spool->path);
	size_t total, records = 0, rest;
	int fd = -1;
	bool ok = false;

	if (!spool_read(spool, &buf, &total, cause))
		goto out;
	rest = total - (len < total ? len : total);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || (rest > 0 && write(fd, buf + total - rest, rest) != (ssize_t)rest) ||
	    fsync(fd) != 0) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, spool->path) != 0) {
		*cause = xasprintf("rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	spool_fsync_dir(spool->dir);
	/* Appends go to the new file from now on. */
	close(spool->fd);
	spool->fd = fd;
	fd = -1;
	if (fcntl(spool->fd, F_SETFL, O_APPEND) != 0) {
		*cause = xasprintf("%s: %s", spool->path, strerror(errno));
		goto out;
	}
	spool->bytes = spool_count(buf + total - rest, rest, &records);
	spool->records = records;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(tmp);
	return ok;
}
