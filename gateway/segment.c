/*
 * segment.c - split one reply text into SMS segments (PURE). See segment.h.
 *
 * The text is first decoded into characters, each with its cost in the
 * chosen encoding (GSM-7 septets or UTF-16 units). Splitting then works on
 * characters only, so a message can never end inside a UTF-8 sequence, a
 * GSM-7 escape pair or a UTF-16 surrogate pair. A reply goes out whole (the
 * provider and the handset join its segments); only one longer than the
 * provider takes is cut, at a line, sentence or word, never numbered.
 */
#include "segment.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enum_name.h"
#include "xmalloc.h"

struct segment_char {
	size_t off;	  /* byte offset in the input */
	uint32_t cp;	  /* code point; U+FFFD for an invalid byte */
	unsigned char nbytes; /* bytes consumed in the input */
	unsigned char cost;   /* septets (GSM-7) or UTF-16 units (UCS-2) */
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
CN_ENUM_NAME(segment_encoding_name, enum segment_encoding, SEGMENT_ENCODING_LIST)

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

/* Copies the UTF-8 of chars [from, to) to a new string, invalid bytes as U+FFFD. */
static char *
segment_copy(const char *text, const struct segment_char *chars, size_t from, size_t to)
{
	size_t n = 0, o = 0;
	char *out;

	for (size_t i = from; i < to; i++)
		n += chars[i].cp == 0xfffd && chars[i].nbytes == 1 ? 3 : chars[i].nbytes;
	out = xmalloc(n + 1);
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

/* Segments a message of this total cost takes in the encoding. */
static size_t
segment_of_cost(size_t cost, bool gsm)
{
	size_t single = gsm ? SEGMENT_GSM7_SINGLE : SEGMENT_UCS2_SINGLE;
	size_t part = gsm ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART;

	if (cost == 0)
		return 0;
	return cost <= single ? 1 : (cost + part - 1) / part;
}

/*
 * Decodes text into *chars with each character's cost; returns the count.
 * *gsm says whether every character is in GSM-7 (the costs follow it).
 */
static size_t
segment_decode_all(const char *text, size_t len, struct segment_char **chars, bool *gsm)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0;

	*gsm = true;
	*chars = xcalloc(len + 1, sizeof **chars);
	for (size_t off = 0; off < len;) {
		struct segment_char *c = &(*chars)[n++];

		c->off = off;
		c->nbytes = (unsigned char)segment_decode(s + off, len - off, &c->cp);
		if (segment_gsm_cost(c->cp) == 0)
			*gsm = false;
		off += c->nbytes;
	}
	for (size_t i = 0; i < n; i++)
		(*chars)[i].cost = (unsigned char)(*gsm ? segment_gsm_cost((*chars)[i].cp) :
		    ((*chars)[i].cp >= 0x10000 ? 2 : 1));
	return n;
}

/*
 * Counts the SMS segments text takes as one message. One pass that sums the
 * cost in both encodings, with no array: every reply is counted (when the
 * step builds it), and this runs per text.
 */
size_t
segment_count(const char *text, size_t len, enum segment_encoding *encoding)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t gsm_cost = 0, ucs2_cost = 0, cost;
	bool gsm = true;
	uint32_t cp;

	if (encoding != NULL)
		*encoding = SEGMENT_GSM7;
	if (text == NULL || len == 0)
		return 0;
	for (size_t off = 0; off < len;) {
		off += segment_decode(s + off, len - off, &cp);
		cost = segment_gsm_cost(cp);
		gsm = gsm && cost > 0;
		gsm_cost += cost;
		ucs2_cost += cp >= 0x10000 ? 2 : 1;
	}
	if (encoding != NULL)
		*encoding = gsm ? SEGMENT_GSM7 : SEGMENT_UCS2;
	return segment_of_cost(gsm ? gsm_cost : ucs2_cost, gsm);
}

/* Ends a sentence or a list item: a break after it reads naturally. */
static bool
segment_is_stop(uint32_t cp)
{
	return cp == '.' || cp == '!' || cp == '?' || cp == ':' || cp == ';';
}

/*
 * Where a message starting at pos that may cost up to cap should end: the
 * last line break that fits, else the last sentence end, else the last
 * space, else the cap itself (a word longer than a message).
 */
static size_t
segment_cut(const struct segment_char *chars, size_t pos, size_t last, size_t cap)
{
	size_t end = pos, used = 0, line = 0, stop = 0, space = 0;

	while (end < last && used + chars[end].cost <= cap) {
		used += chars[end].cost;
		end++;
	}
	if (end >= last)
		return last;
	for (size_t i = end; i > pos; i--) {
		uint32_t cp = chars[i].cp, before = chars[i - 1].cp;

		if (i < last && cp == '\n' && line == 0)
			line = i;
		if (segment_is_space(cp) && segment_is_stop(before) && stop == 0)
			stop = i;
		if (segment_is_space(cp) && space == 0)
			space = i;
	}
	if (line > pos)
		return line;
	if (stop > pos)
		return stop;
	if (space > pos)
		return space;
	return end > pos ? end : pos + 1;
}

/*
 * The most a message may cost (septets or UTF-16 units) within limit, 0 for
 * no limit. Characters are counted as their cost, which errs on the safe
 * side for the few that cost two.
 */
static size_t
segment_cap(const struct segment_limit *limit, bool gsm)
{
	size_t cap = 0;

	if (limit == NULL)
		return 0;
	if (limit->max_segments > 0)
		cap = limit->max_segments == 1 ? (gsm ? SEGMENT_GSM7_SINGLE : SEGMENT_UCS2_SINGLE) :
		    limit->max_segments * (gsm ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART);
	if (limit->max_chars > 0 && (cap == 0 || limit->max_chars < cap))
		cap = limit->max_chars;
	return cap;
}

/* Does text fit in one message within limit? */
bool
segment_fits(const char *text, size_t len, const struct segment_limit *limit)
{
	struct segment_char *chars;
	size_t n, cost = 0, cap;
	bool gsm;

	if (text == NULL || len == 0)
		return true;
	n = segment_decode_all(text, len, &chars, &gsm);
	for (size_t i = 0; i < n; i++)
		cost += chars[i].cost;
	free(chars);
	cap = segment_cap(limit, gsm);
	return cap == 0 || cost <= cap;
}

/* Splits text into as few whole messages within limit as fit. */
size_t
segment_split(const char *text, size_t len, const struct segment_limit *limit, char ***parts,
    enum segment_encoding *encoding)
{
	struct segment_char *chars;
	size_t nchars, first, last, total = 0, count = 0, cap, pos;
	bool gsm;

	*parts = NULL;
	if (encoding != NULL)
		*encoding = SEGMENT_GSM7;
	if (text == NULL || len == 0)
		return 0;
	nchars = segment_decode_all(text, len, &chars, &gsm);
	if (encoding != NULL)
		*encoding = gsm ? SEGMENT_GSM7 : SEGMENT_UCS2;
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
	for (size_t i = first; i < last; i++)
		total += chars[i].cost;
	cap = segment_cap(limit, gsm);
	if (cap == 0 || total <= cap) {
		*parts = xmalloc(sizeof **parts);
		(*parts)[0] = segment_copy(text, chars, first, last);
		free(chars);
		return 1;
	}
	for (pos = first; pos < last; count++) {
		size_t end = segment_cut(chars, pos, last, cap), next = end;

		while (end > pos && segment_is_space(chars[end - 1].cp))
			end--;
		*parts = xreallocarray(*parts, count + 1, sizeof **parts);
		(*parts)[count] = segment_copy(text, chars, pos, end);
		while (next < last && segment_is_space(chars[next].cp))
			next++;
		pos = next;
	}
	free(chars);
	return count;
}

/*
 * Plain GSM-7 stand-ins for characters outside it that have one: accented
 * vowels (all of them, é too, so Spanish reads the same throughout), and
 * typographic punctuation. ñ ü ¿ ¡ are GSM-7 and stay.
 */
static const struct {
	uint32_t cp;
	const char *as;
} segment_gsm_folds[] = {
	{ 0x00e1, "a" }, { 0x00e9, "e" }, { 0x00ed, "i" }, { 0x00f3, "o" }, { 0x00fa, "u" },
	{ 0x00c1, "A" }, { 0x00c9, "E" }, { 0x00cd, "I" }, { 0x00d3, "O" }, { 0x00da, "U" },
	{ 0x00e2, "a" }, { 0x00ea, "e" }, { 0x00ee, "i" }, { 0x00f4, "o" }, { 0x00fb, "u" },
	{ 0x00e3, "a" }, { 0x00f5, "o" }, { 0x00e7, "c" }, { 0x00ef, "i" }, { 0x00eb, "e" },
	{ 0x00a0, " " }, { 0x2018, "'" }, { 0x2019, "'" }, { 0x201c, "\"" }, { 0x201d, "\"" },
	{ 0x2013, "-" }, { 0x2014, "-" }, { 0x2022, "-" }, { 0x2026, "..." },
};

/* Returns text with the characters GSM-7 lacks replaced by plain ones (caller frees). */
char *
segment_fold_gsm7(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), o = 0;
	char *out = xmalloc(len + 1); /* no stand-in is longer than what it replaces */

	for (size_t off = 0; off < len;) {
		uint32_t cp;
		size_t n, k;
		const char *as = NULL;

		/* ASCII has no stand-in: most of a reply, copied without the table */
		if (s[off] < 0x80) {
			out[o++] = (char)s[off++];
			continue;
		}
		n = segment_decode(s + off, len - off, &cp);
		for (k = 0; k < sizeof segment_gsm_folds / sizeof segment_gsm_folds[0]; k++)
			if (segment_gsm_folds[k].cp == cp) {
				as = segment_gsm_folds[k].as;
				break;
			}
		if (as != NULL && cp != 0xfffd) {
			memcpy(out + o, as, strlen(as));
			o += strlen(as);
		} else {
			memcpy(out + o, text + off, n);
			o += n;
		}
		off += n;
	}
	out[o] = '\0';
	return out;
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
