/*
 * check_segment.c - unit tests for the SMS segmenter (gateway/segment.c).
 *
 * Environment: none.
 *
 * Counting is checked on a table of texts at the edges of each encoding's
 * limits. Every split is checked against the same invariants (each message
 * within the limit, counted independently here; valid UTF-8; no numbering;
 * the words of the messages put together give back the input), then each
 * case adds its own expectations: whole replies stay whole, cuts fall on a
 * line, sentence or word.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "segment.h"
#include "xmalloc.h"

/* Decodes one code point; returns bytes used or 0 when invalid. */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	need = s[0] >= 0xf0 ? 3 : s[0] >= 0xe0 ? 2 : s[0] >= 0xc2 ? 1 : 0;
	if (need == 0 || need >= n || s[0] > 0xf4)
		return 0;
	*cp = s[0] & (0x3f >> need);
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return need + 1;
}

static bool
is_gsm_ext(uint32_t cp)
{
	return cp != 0 && (strchr("^{}\\[~]|\f", (int)cp) != NULL || cp == 0x20ac) && cp < 0x10000;
}

/* Cost of s in the encoding: septets or UTF-16 units; -1 if not valid UTF-8. */
static long
cost(const char *s, enum segment_encoding enc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	long c = 0;

	while (n > 0) {
		uint32_t cp;
		size_t k = utf8_next(p, n, &cp);

		if (k == 0)
			return -1;
		if (enc == SEGMENT_GSM7)
			c += (cp < 0x80 && is_gsm_ext(cp)) || cp == 0x20ac ? 2 : 1;
		else
			c += cp >= 0x10000 ? 2 : 1;
		p += k;
		n -= k;
	}
	return c;
}

/* Joins the words of parts with single spaces. */
static char *
rejoin(char **parts, size_t n)
{
	size_t total = 1;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		total += strlen(parts[i]) + 1;
	out = o = xcalloc(1, total);
	for (size_t i = 0; i < n; i++)
		o += sprintf(o, "%s%s", i ? " " : "", parts[i]);
	return out;
}

/* Collapses runs of whitespace into one space and trims. */
static char *
squash(const char *s)
{
	char *out = xcalloc(1, strlen(s) + 1), *o = out;
	bool sp = true;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
			if (!sp)
				*o++ = ' ';
			sp = true;
		} else {
			*o++ = *s;
			sp = false;
		}
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

/* Segments a message of cost c takes, counted independently of segment.c. */
static long
segments_of(long c, enum segment_encoding enc)
{
	long single = enc == SEGMENT_GSM7 ? SEGMENT_GSM7_SINGLE : SEGMENT_UCS2_SINGLE;
	long part = enc == SEGMENT_GSM7 ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART;

	return c == 0 ? 0 : c <= single ? 1 : (c + part - 1) / part;
}

/* Splits text within limit and checks every invariant; returns the message count. */
static size_t
split_checked(const char *text, size_t len, const struct segment_limit *lim, enum segment_encoding *enc,
    char ***partsp, bool words_intact)
{
	char **parts;
	size_t n = segment_split(text, len, lim, &parts, enc);

	for (size_t i = 0; i < n; i++) {
		long c = cost(parts[i], *enc);

		ck_assert_msg(c > 0, "message %zu is empty or not valid UTF-8", i);
		if (lim->max_segments > 0)
			ck_assert_msg(segments_of(c, *enc) <= (long)lim->max_segments,
			    "message %zu takes %ld segments > %zu", i, segments_of(c, *enc), lim->max_segments);
		if (lim->max_chars > 0)
			ck_assert_msg(c <= (long)lim->max_chars, "message %zu costs %ld > %zu", i, c,
			    lim->max_chars);
		ck_assert_msg(parts[i][0] != ' ' && parts[i][0] != '\n', "message %zu starts blank", i);
		ck_assert_msg(parts[i][strlen(parts[i]) - 1] != ' ', "message %zu ends with a space", i);
		ck_assert_msg(strncmp(parts[i], "(1/", 3) != 0, "message %zu is numbered", i);
	}
	if (words_intact && n > 0) {
		char *txt = xstrndup(text, len), *a = squash(txt), *joined = rejoin(parts, n),
		     *b = squash(joined);

		ck_assert_str_eq(a, b);
		free(txt);
		free(a);
		free(joined);
		free(b);
	}
	if (partsp != NULL)
		*partsp = parts;
	else
		segment_free(parts, n);
	return n;
}

static char *
repeat(const char *unit, size_t times)
{
	size_t ul = strlen(unit);
	char *s = xmalloc(ul * times + 1);

	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * times] = '\0';
	return s;
}

struct seg_case {
	const char *name;
	const char *unit; /* repeated `times` times, then `tail` appended */
	size_t times;
	const char *tail;
	size_t want_segments;
	enum segment_encoding want_enc;
};

static const struct seg_case seg_cases[] = {
	{ "empty", "", 0, "", 0, SEGMENT_GSM7 },
	{ "short", "Hello", 1, "", 1, SEGMENT_GSM7 },
	{ "gsm 160", "a", 160, "", 1, SEGMENT_GSM7 },
	{ "gsm 161", "a", 161, "", 2, SEGMENT_GSM7 },
	{ "gsm 306", "a", 306, "", 2, SEGMENT_GSM7 },
	{ "gsm 307", "a", 307, "", 3, SEGMENT_GSM7 },
	{ "gsm basic accents", "é", 160, "", 1, SEGMENT_GSM7 },
	{ "gsm spanish punctuation", "¿ñ¡ü", 40, "", 1, SEGMENT_GSM7 },
	{ "ext 80 euro", "€", 80, "", 1, SEGMENT_GSM7 },
	{ "ext 81 euro", "€", 81, "", 2, SEGMENT_GSM7 },
	{ "ext 159+brace", "a", 159, "{", 2, SEGMENT_GSM7 },
	{ "ext 158+brace", "a", 158, "}", 1, SEGMENT_GSM7 },
	{ "ucs2 70", "á", 70, "", 1, SEGMENT_UCS2 },
	{ "ucs2 71", "á", 71, "", 2, SEGMENT_UCS2 },
	{ "ucs2 134", "á", 134, "", 2, SEGMENT_UCS2 },
	{ "ucs2 135", "á", 135, "", 3, SEGMENT_UCS2 },
	{ "ucs2 one accent", "a", 69, "í", 1, SEGMENT_UCS2 },
	{ "backtick is not gsm", "a", 10, "`", 1, SEGMENT_UCS2 },
	{ "emoji 35", "\xf0\x9f\x98\x80", 35, "", 1, SEGMENT_UCS2 },
	{ "emoji 36", "\xf0\x9f\x98\x80", 36, "", 2, SEGMENT_UCS2 },
	{ "2000 chars words", "word ", 400, "", 14, SEGMENT_GSM7 },
};

START_TEST(test_count_table)
{
	const struct seg_case *c = &seg_cases[_i];
	char *text = repeat(c->unit, c->times), *full = xasprintf("%s%s", text, c->tail);
	enum segment_encoding enc;
	size_t n = segment_count(full, strlen(full), &enc);

	ck_assert_msg(n == c->want_segments, "%s: %zu segments, want %zu", c->name, n, c->want_segments);
	ck_assert_msg(enc == c->want_enc, "%s: encoding %s", c->name, segment_encoding_name(enc));
	free(text);
	free(full);
}
END_TEST

START_TEST(test_reply_within_limit_goes_whole)
{
	/* A 3-segment reply with a list: one message, not cut mid-item. */
	static const char reply[] = "Go to the ER now if you have any of these:\n"
	    "- Sudden or severe weakness in an arm or leg\n- Loss of bladder or bowel control\n"
	    "- Chest pain, shortness of breath or dizziness\n- Nausea, vomiting, fever or a very "
	    "tender belly\n- Sudden, severe pain that is quickly getting worse";
	struct segment_limit twilio = { 0, 1600 }, kannel = { 10, 0 };
	enum segment_encoding enc;
	char **parts;

	ck_assert_uint_ge(segment_count(reply, strlen(reply), NULL), 2);
	ck_assert_uint_eq(split_checked(reply, strlen(reply), &twilio, &enc, &parts, true), 1);
	ck_assert_str_eq(parts[0], reply);
	segment_free(parts, 1);
	ck_assert_uint_eq(split_checked(reply, strlen(reply), &kannel, &enc, NULL, true), 1);
	ck_assert(segment_fits(reply, strlen(reply), &twilio));
}
END_TEST

/*
 * Splits text (owned; freed) into one-segment messages with words intact and
 * asserts that it makes two, the first containing in_first and the second
 * being second (either NULL: not checked).
 */
static void
assert_cut_in_two(char *text, const char *in_first, const char *second)
{
	struct segment_limit one = { 1, 0 };
	enum segment_encoding enc;
	char **parts;
	size_t n = split_checked(text, strlen(text), &one, &enc, &parts, true);

	ck_assert_msg(n == 2, "%zu messages, want 2: %s", n, text);
	if (in_first != NULL)
		ck_assert_ptr_nonnull(strstr(parts[0], in_first));
	if (second != NULL)
		ck_assert_str_eq(parts[1], second);
	segment_free(parts, n);
	free(text);
}

START_TEST(test_cut_at_lines_then_sentences_then_words)
{
	char *as = repeat("a", 130);

	/* Lines: each item stays whole. */
	assert_cut_in_two(xasprintf("Menu:\n1 Heat and cold for the first days of pain\n2 Posture at the desk and in "
	    "the car\n3 Foam rolling for tight muscles\n4 Stretching, gently, every day and night\n5 Done"),
	    NULL, "5 Done");
	/* Sentences, when there is no line break. */
	assert_cut_in_two(xasprintf("%.100s. Then a second sentence that will not fit. And a third one here.", as),
	    "not fit.", "And a third one here.");
	/* Words, when there is no sentence end either. */
	assert_cut_in_two(xasprintf("%s straddling words here and more words to go past the end", as), NULL, NULL);
	free(as);
}
END_TEST

START_TEST(test_hard_split_long_word)
{
	struct segment_limit one = { 1, 0 };
	char *text = repeat("x", 400), **parts;
	enum segment_encoding enc;
	size_t n = split_checked(text, 400, &one, &enc, &parts, false), total = 0;

	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(strspn(parts[i], "x"), strlen(parts[i]));
		total += strlen(parts[i]);
	}
	ck_assert_uint_eq(total, 400);
	ck_assert_uint_eq(strlen(parts[0]), 160);
	segment_free(parts, n);
	free(text);
}
END_TEST

START_TEST(test_no_split_inside_multibyte)
{
	/* 3-byte and 4-byte characters around every possible cut point. */
	static const char *const units[] = { "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3\xa1", "\xe4\xbd\xa0" };
	struct segment_limit one = { 1, 0 };

	for (size_t u = 0; u < 4; u++)
		for (size_t times = 60; times < 200; times += 7) {
			char *text = repeat(units[u], times), **parts;
			enum segment_encoding enc;
			size_t n = split_checked(text, strlen(text), &one, &enc, &parts, false), total = 0;

			for (size_t i = 0; i < n; i++) {
				ck_assert_uint_eq(strlen(parts[i]) % strlen(units[u]), 0);
				total += strlen(parts[i]);
			}
			ck_assert_uint_eq(total, strlen(text));
			segment_free(parts, n);
			free(text);
		}
}
END_TEST

START_TEST(test_over_limit_refused_by_fits)
{
	struct segment_limit kannel = { 3, 0 }, twilio = { 0, 1600 };
	char *ucs = repeat("ñá ", 300), *gsm = repeat("abc ", 401);

	/* 900 UTF-16 units: 14 segments, over Kannel's 3 but within Twilio's 1600 characters. */
	ck_assert(!segment_fits(ucs, strlen(ucs), &kannel));
	ck_assert(segment_fits(ucs, strlen(ucs), &twilio));
	ck_assert(!segment_fits(gsm, strlen(gsm), &twilio)); /* 1604 characters */
	ck_assert(segment_fits(gsm, strlen(gsm), NULL));
	free(ucs);
	free(gsm);
}
END_TEST

START_TEST(test_fold_gsm7)
{
	static const char es[] = "¿Dónde está el dolor? Línea automática, médico, niño, pingüino ¡ya! — “ok” …";
	char *folded = segment_fold_gsm7(es);
	enum segment_encoding enc;

	ck_assert_str_eq(folded, "¿Donde esta el dolor? Linea automatica, medico, niño, pingüino ¡ya! - \"ok\" ...");
	(void)segment_count(folded, strlen(folded), &enc);
	ck_assert_int_eq(enc, SEGMENT_GSM7);
	free(folded);
	/* What has no stand-in stays, so the text is still UCS-2. */
	folded = segment_fold_gsm7("ok \xf0\x9f\x98\x80");
	ck_assert_str_eq(folded, "ok \xf0\x9f\x98\x80");
	free(folded);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const char bad[] = "ok \xff\xfe then \xc3 cut \xe2\x82 and \xed\xa0\x80 surrogate \xf4\x90\x80\x80";
	struct segment_limit one = { 1, 0 };
	char **parts;
	enum segment_encoding enc;
	size_t n = split_checked(bad, sizeof bad - 1, &one, &enc, &parts, false);

	ck_assert_int_eq(enc, SEGMENT_UCS2);
	ck_assert_uint_ge(n, 1);
	ck_assert_ptr_nonnull(strstr(parts[0], "ok \xef\xbf\xbd\xef\xbf\xbd then"));
	segment_free(parts, n);
	/* A lone truncated sequence at the very end. */
	n = segment_split("abc\xe2", 4, &one, &parts, &enc);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(parts[0], "abc\xef\xbf\xbd");
	segment_free(parts, n);
}
END_TEST

START_TEST(test_null_and_empty)
{
	char **parts = (char **)1;
	enum segment_encoding enc = SEGMENT_UCS2;

	ck_assert_uint_eq(segment_split(NULL, 0, NULL, &parts, &enc), 0);
	ck_assert_ptr_null(parts);
	ck_assert_int_eq(enc, SEGMENT_GSM7);
	ck_assert_uint_eq(segment_split(" \n ", 3, NULL, &parts, NULL), 0);
	ck_assert_uint_eq(segment_count(NULL, 0, NULL), 0);
	segment_free(NULL, 0);
}
END_TEST

START_TEST(test_random_bytes)
{
	struct segment_limit one = { 1, 0 };
	unsigned seed = 99;

	for (int r = 0; r < 3000; r++) {
		char buf[600], **parts;
		size_t len = (size_t)r % sizeof buf, n;
		enum segment_encoding enc;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly text-like bytes with some spaces and high bytes. */
			buf[i] = (char)((seed >> 16) % 5 == 0 ? ' ' : (seed >> 20) % 3 == 0 ?
			    (char)(0x80 + (seed >> 8) % 0x80) : (char)('a' + (seed >> 8) % 26));
		}
		n = split_checked(buf, len, &one, &enc, &parts, false);
		segment_free(parts, n);
	}
}
END_TEST

START_TEST(test_encoding_names)
{
	ck_assert_str_eq(segment_encoding_name(SEGMENT_GSM7), "gsm7");
	ck_assert_str_eq(segment_encoding_name(SEGMENT_UCS2), "ucs2");
	ck_assert_str_eq(segment_encoding_name((enum segment_encoding)7), "unknown");
}
END_TEST

int
main(void)
{
	TCase *tc = tcase_create("segment");

	tcase_add_loop_test(tc, test_count_table, 0, (int)(sizeof seg_cases / sizeof seg_cases[0]));
	CHECK_RUN_ADD(tc, test_reply_within_limit_goes_whole, test_cut_at_lines_then_sentences_then_words,
	    test_hard_split_long_word, test_no_split_inside_multibyte, test_over_limit_refused_by_fits,
	    test_fold_gsm7, test_invalid_utf8, test_null_and_empty, test_random_bytes, test_encoding_names);
	return check_run_case("segment", tc);
}
