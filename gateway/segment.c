/*
 * segment.c - split one reply text into SMS segments (PURE). See segment.h.
 *
 * The text is first decoded into characters, each with its cost in the
 * chosen encoding (GSM-7 septets or UTF-16 units). Splitting then works on
 * characters only, so a part can never end inside a UTF-8 sequence, a GSM-7
 * escape pair or a UTF-16 surrogate pair. The part count n is not known before
 * splitting but the prefix "(i/n) " depends on it, so we split assuming n has
 * d digits and retry with d+1 when the result needs more.
 */
#include "segment.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct segment_char {
	size_t off;	  /* byte offset in the input */
	uint32_t cp;	  /* code point; U+FFFD for an invalid byte */
	unsigned char nbytes; /* bytes consumed in the input */
	unsigned char cost;   /* septets (GSM-7) or UTF-16 units (UCS-2) */
};

static const char *const segment_encoding_names[] = {
#define SEGMENT_NAME(e, n) n,
	SEGMENT_ENCODING_LIST(SEGMENT_NAME)
#undef SEGMENT_NAME
};

/* GSM 03.38 basic table, non-ASCII part (ASCII handled in segment_gsm_cost). */
static const uint32_t segment_gsm_basic[] = {
	0x00a3, 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec, 0x00f2, 0x00c7, 0x00d8,
	0x00f8, 0x00c5, 0x00e5, 0x0394, 0x03a6, 0x0393, 0x039b, 0x03a9, 0x03a0,
	0x03a8, 0x03a3, 0x0398, 0x039e, 0x00c6, 0x00e6, 0x00df, 0x00c9, 0x00a4,
	0x00a1, 0x00c4, 0x00d6, 0x00d1, 0x00dc, 0x00a7, 0x00bf, 0x00e4, 0x00f6,
	0x00f1, 0x00fc, 0x00e0,
};

/* Returns the name of an encoding ("gsm7", "ucs2"). */
const char *
segment_encoding_name(enum segment_encoding encoding)
{
	if ((size_t)encoding >= sizeof segment_encoding_names / sizeof segment_encoding_names[0])
		return "unknown";
	return segment_encoding_names[encoding];
}

/* Septets for cp in GSM-7, or 0 when cp is not representable. */
static int
segment_gsm_cost(uint32_t cp)
{
	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '^' || cp == '{' || cp == '}' || cp == '\\' || cp == '[' ||
	    cp == '~' || cp == ']' || cp == '|' || cp == 0x20ac || cp == '\f')
		return 2;
	if (cp >= 0x20 && cp < 0x7f)
		return cp == '`' ? 0 : 1;
	for (size_t i = 0; i < sizeof segment_gsm_basic / sizeof segment_gsm_basic[0]; i++)
		if (segment_gsm_basic[i] == cp)
			return 1;
	return 0;
}

/* Decodes one UTF-8 character at s (n bytes left); invalid -> U+FFFD, 1 byte. */
static size_t
segment_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t need;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		c = s[0] & 0x07;
	} else
		goto bad;
	if (need >= n)
		goto bad;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((need == 2 && c < 0x800) || (need == 3 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return need + 1;
bad:
	*cp = 0xfffd;
	return 1;
}

static bool
segment_is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\n' || cp == '\r' || cp == '\t';
}

/* Appends the UTF-8 of chars [from, to) to a new string, invalid bytes as U+FFFD. */
static char *
segment_copy(const char *text, const struct segment_char *chars, size_t from,
    size_t to, const char *prefix)
{
	size_t plen = strlen(prefix), n = plen, o;
	char *out;

	for (size_t i = from; i < to; i++)
		n += chars[i].cp == 0xfffd && chars[i].nbytes == 1 ? 3 : chars[i].nbytes;
	out = xmalloc(n + 1);
	memcpy(out, prefix, plen);
	o = plen;
	for (size_t i = from; i < to; i++) {
		if (chars[i].cp == 0xfffd && chars[i].nbytes == 1) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(out + o, text + chars[i].off, chars[i].nbytes);
			o += chars[i].nbytes;
		}
	}
	out[o] = '\0';
	return out;
}

static size_t
segment_digits(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/*
 * Splits chars [first, last) into parts of at most cap cost each, storing
 * [start, end) pairs in bounds (may be NULL to count only). Returns the count.
 */
static size_t
segment_plan(const struct segment_char *chars, size_t first, size_t last,
    size_t cap, size_t *bounds)
{
	size_t pos = first, count = 0;

	while (pos < last) {
		size_t used = 0, end = pos, brk = 0, next;

		while (end < last && used + chars[end].cost <= cap) {
			used += chars[end].cost;
			end++;
		}
		if (end >= last)
			next = end = last;
		else if (segment_is_space(chars[end].cp))
			next = end;
		else {
			for (size_t i = end; i > pos; i--)
				if (segment_is_space(chars[i - 1].cp)) {
					brk = i - 1;
					break;
				}
			if (brk > pos)
				end = brk;
			if (end == pos) /* a character costlier than cap: cannot happen */
				end++;
			next = end;
		}
		while (end > pos && segment_is_space(chars[end - 1].cp))
			end--;
		if (bounds != NULL) {
			bounds[2 * count] = pos;
			bounds[2 * count + 1] = end;
		}
		count++;
		while (next < last && segment_is_space(chars[next].cp))
			next++;
		pos = next;
	}
	return count;
}

/* Splits text (len bytes of UTF-8, may be invalid) into SMS parts. */
size_t
segment_split(const char *text, size_t len, char ***parts, enum segment_encoding *encoding)
{
	const unsigned char *s = (const unsigned char *)text;
	struct segment_char *chars;
	size_t nchars = 0, first, last, total = 0, count, digits, *bounds;
	bool gsm = true;
	enum segment_encoding enc;

	*parts = NULL;
	if (encoding != NULL)
		*encoding = SEGMENT_GSM7;
	if (text == NULL || len == 0)
		return 0;
	chars = xcalloc(len, sizeof *chars);
	for (size_t off = 0; off < len;) {
		struct segment_char *c = &chars[nchars++];

		c->off = off;
		c->nbytes = (unsigned char)segment_decode(s + off, len - off, &c->cp);
		if (segment_gsm_cost(c->cp) == 0)
			gsm = false;
		off += c->nbytes;
	}
	enc = gsm ? SEGMENT_GSM7 : SEGMENT_UCS2;
	if (encoding != NULL)
		*encoding = enc;
	for (size_t i = 0; i < nchars; i++) {
		chars[i].cost = (unsigned char)(gsm ? segment_gsm_cost(chars[i].cp) :
		    (chars[i].cp >= 0x10000 ? 2 : 1));
		total += chars[i].cost;
	}
	first = 0;
	last = nchars;
	while (first < last && segment_is_space(chars[first].cp))
		first++;
	while (last > first && segment_is_space(chars[last - 1].cp))
		last--;
	if (first == last) {
		free(chars);
		return 0;
	}
	for (size_t i = 0; i < first; i++)
		total -= chars[i].cost;
	for (size_t i = last; i < nchars; i++)
		total -= chars[i].cost;
	if (total <= (gsm ? SEGMENT_GSM7_SINGLE : SEGMENT_UCS2_SINGLE)) {
		*parts = xmalloc(sizeof **parts);
		(*parts)[0] = segment_copy(text, chars, first, last, "");
		free(chars);
		return 1;
	}
	for (digits = 1;; digits++) {
		size_t cap = (gsm ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART) - (4 + 2 * digits);

		count = segment_plan(chars, first, last, cap, NULL);
		if (segment_digits(count) <= digits)
			break;
	}
	bounds = xcalloc(2 * count, sizeof *bounds);
	(void)segment_plan(chars, first, last,
	    (gsm ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART) - (4 + 2 * digits), bounds);
	*parts = xcalloc(count, sizeof **parts);
	for (size_t i = 0; i < count; i++) {
		char prefix[48];

		(void)snprintf(prefix, sizeof prefix, "(%zu/%zu) ", i + 1, count);
		(*parts)[i] = segment_copy(text, chars, bounds[2 * i], bounds[2 * i + 1], prefix);
	}
	free(bounds);
	free(chars);
	return count;
}

/* Frees a parts array returned by segment_split (NULL ok). */
void
segment_free(char **parts, size_t nparts)
{
	if (parts == NULL)
		return;
	for (size_t i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
}
