/*
 * check_segment.c - unit tests for the SMS segmenter (gateway/segment.c).
 *
 * Environment: none.
 *
 * Every split is checked against the same invariants (each part within its
 * encoding's limit, counted independently here; valid UTF-8; "(i/n) " prefix
 * when split; the words of the parts put together give back the input), then
 * the table cases add their own expectations.
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

/* Joins the words of parts (prefixes removed) with single spaces. */
static char *
rejoin(char **parts, size_t n)
{
	size_t total = 1;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		total += strlen(parts[i]) + 1;
	out = o = xcalloc(1, total);
	for (size_t i = 0; i < n; i++) {
		const char *p = parts[i];

		if (n > 1)
			p = strchr(p, ' ') + 1;
		o += sprintf(o, "%s%s", i ? " " : "", p);
	}
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

/* Splits text and checks every invariant; returns the part count. */
static size_t
split_checked(const char *text, size_t len, enum segment_encoding *enc, char ***partsp,
    bool words_intact)
{
	char **parts;
	size_t n = segment_split(text, len, &parts, enc);
	long single = *enc == SEGMENT_GSM7 ? SEGMENT_GSM7_SINGLE : SEGMENT_UCS2_SINGLE;
	long multi = *enc == SEGMENT_GSM7 ? SEGMENT_GSM7_PART : SEGMENT_UCS2_PART;

	for (size_t i = 0; i < n; i++) {
		long c = cost(parts[i], *enc);
		char prefix[48];

		ck_assert_msg(c >= 0, "part %zu is not valid UTF-8", i);
		ck_assert_msg(c <= (n == 1 ? single : multi), "part %zu costs %ld > %ld", i, c,
		    n == 1 ? single : multi);
		ck_assert_msg(c > 0, "part %zu is empty", i);
		if (n > 1) {
			(void)snprintf(prefix, sizeof prefix, "(%zu/%zu) ", i + 1, n);
			ck_assert_msg(strncmp(parts[i], prefix, strlen(prefix)) == 0, "part %zu lacks %s", i,
			    prefix);
			ck_assert_msg(parts[i][strlen(prefix)] != ' ', "part %zu starts with a space", i);
		}
		ck_assert_msg(parts[i][strlen(parts[i]) - 1] != ' ', "part %zu ends with a space", i);
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
	size_t want_parts;
	enum segment_encoding want_enc;
};

static const struct seg_case seg_cases[] = {
	{ "empty", "", 0, "", 0, SEGMENT_GSM7 },
	{ "blank", " ", 5, "\n", 0, SEGMENT_GSM7 },
	{ "short", "Hello", 1, "", 1, SEGMENT_GSM7 },
	{ "gsm 160", "a", 160, "", 1, SEGMENT_GSM7 },
	{ "gsm 161", "a", 161, "", 2, SEGMENT_GSM7 },
	{ "gsm 160 words", "abcd ", 32, "", 1, SEGMENT_GSM7 }, /* trailing space trimmed: 159 */
	{ "gsm basic accents", "é", 160, "", 1, SEGMENT_GSM7 },
	{ "gsm spanish punctuation", "¿ñ¡ü", 40, "", 1, SEGMENT_GSM7 },
	{ "ext 80 euro", "€", 80, "", 1, SEGMENT_GSM7 },
	{ "ext 81 euro", "€", 81, "", 2, SEGMENT_GSM7 },
	{ "ext 159+brace", "a", 159, "{", 2, SEGMENT_GSM7 },
	{ "ext 158+brace", "a", 158, "}", 1, SEGMENT_GSM7 },
	{ "ext mix", "{}[]~^|\\", 10, "", 1, SEGMENT_GSM7 },
	{ "ext mix over", "{}[]~^|\\", 10, "x", 2, SEGMENT_GSM7 },
	{ "ucs2 70", "á", 70, "", 1, SEGMENT_UCS2 },
	{ "ucs2 71", "á", 71, "", 2, SEGMENT_UCS2 },
	{ "ucs2 one accent", "a", 69, "í", 1, SEGMENT_UCS2 },
	{ "ucs2 one accent over", "a", 70, "í", 2, SEGMENT_UCS2 },
	{ "backtick is not gsm", "a", 10, "`", 1, SEGMENT_UCS2 },
	{ "emoji 35", "\xf0\x9f\x98\x80", 35, "", 1, SEGMENT_UCS2 },
	{ "emoji 36", "\xf0\x9f\x98\x80", 36, "", 2, SEGMENT_UCS2 },
	{ "cjk", "\xe4\xbd\xa0", 70, "", 1, SEGMENT_UCS2 },
	{ "long word gsm", "x", 400, "", 3, SEGMENT_GSM7 },
	{ "long word ucs2", "ó", 200, "", 4, SEGMENT_UCS2 },
	{ "2000 chars words", "word ", 400, "", 14, SEGMENT_GSM7 },
	{ "2000 chars ucs2", "palabra más ", 170, "", 34, SEGMENT_UCS2 },
	{ "newlines", "line\n", 40, "", 2, SEGMENT_GSM7 },
};

START_TEST(test_table)
{
	const struct seg_case *c = &seg_cases[_i];
	char *text = repeat(c->unit, c->times), *full = xasprintf("%s%s", text, c->tail);
	enum segment_encoding enc;
	size_t n;

	/* Texts without spaces are one long word, split hard: words change. */
	n = split_checked(full, strlen(full), &enc, NULL, strchr(full, ' ') != NULL || strchr(full, '\n') != NULL);
	ck_assert_msg(n == c->want_parts, "%s: %zu parts, want %zu", c->name, n, c->want_parts);
	ck_assert_msg(enc == c->want_enc, "%s: encoding %s", c->name, segment_encoding_name(enc));
	free(text);
	free(full);
}
END_TEST

START_TEST(test_exact_single_untouched)
{
	char *text = repeat("a", 160), **parts;
	enum segment_encoding enc;

	ck_assert_uint_eq(split_checked(text, 160, &enc, &parts, true), 1);
	ck_assert_str_eq(parts[0], text);
	segment_free(parts, 1);
	free(text);
}
END_TEST

START_TEST(test_word_boundaries)
{
	/* 140 a's, then words: "straddling" would cross the 147-septet part end. */
	char *as = repeat("a", 140), *text = xasprintf("%s straddling words here", as), **parts;
	enum segment_encoding enc;
	size_t n = split_checked(text, strlen(text), &enc, &parts, true);

	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(parts[0] + strlen("(1/2) "), as);
	ck_assert_str_eq(parts[1], "(2/2) straddling words here");
	segment_free(parts, n);
	free(as);
	free(text);
}
END_TEST

START_TEST(test_hard_split_long_word)
{
	char *text = repeat("x", 400), **parts;
	enum segment_encoding enc;
	size_t n = split_checked(text, 400, &enc, &parts, false), total = 0;

	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(strspn(parts[i] + 6, "x"), strlen(parts[i] + 6));
		total += strlen(parts[i] + 6);
	}
	ck_assert_uint_eq(total, 400);
	ck_assert_uint_eq(strlen(parts[0]), 153);
	segment_free(parts, n);
	free(text);
}
END_TEST

START_TEST(test_no_split_inside_multibyte)
{
	/* 3-byte and 4-byte characters around every possible cut point. */
	static const char *const units[] = { "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3\xa1", "\xe4\xbd\xa0" };

	for (size_t u = 0; u < 4; u++)
		for (size_t times = 60; times < 200; times += 7) {
			char *text = repeat(units[u], times), **parts;
			enum segment_encoding enc;
			size_t n = split_checked(text, strlen(text), &enc, &parts, false), total = 0;

			for (size_t i = 0; i < n; i++) {
				const char *p = n > 1 ? strchr(parts[i], ' ') + 1 : parts[i];

				ck_assert_uint_eq(strlen(p) % strlen(units[u]), 0);
				total += strlen(p);
			}
			ck_assert_uint_eq(total, strlen(text));
			segment_free(parts, n);
			free(text);
		}
}
END_TEST

START_TEST(test_emoji_pair_not_split)
{
	/* 66 units of 'a' then an emoji (2 units) must move the emoji whole. */
	char *as = repeat("a", 66), *text = xasprintf("%s\xf0\x9f\x98\x80%s", as, as), **parts;
	enum segment_encoding enc;
	size_t n = split_checked(text, strlen(text), &enc, &parts, false);

	ck_assert_int_eq(enc, SEGMENT_UCS2);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_ge(cost(parts[i], enc), 0);
	segment_free(parts, n);
	free(as);
	free(text);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const char bad[] = "ok \xff\xfe then \xc3 cut \xe2\x82 and \xed\xa0\x80 surrogate \xf4\x90\x80\x80";
	char **parts;
	enum segment_encoding enc;
	size_t n = split_checked(bad, sizeof bad - 1, &enc, &parts, false);

	ck_assert_int_eq(enc, SEGMENT_UCS2);
	ck_assert_uint_ge(n, 1);
	ck_assert_ptr_nonnull(strstr(parts[0], "ok \xef\xbf\xbd\xef\xbf\xbd then"));
	segment_free(parts, n);
	/* A lone truncated sequence at the very end. */
	n = segment_split("abc\xe2", 4, &parts, &enc);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(parts[0], "abc\xef\xbf\xbd");
	segment_free(parts, n);
}
END_TEST

START_TEST(test_null_and_empty)
{
	char **parts = (char **)1;
	enum segment_encoding enc = SEGMENT_UCS2;

	ck_assert_uint_eq(segment_split(NULL, 0, &parts, &enc), 0);
	ck_assert_ptr_null(parts);
	ck_assert_int_eq(enc, SEGMENT_GSM7);
	ck_assert_uint_eq(segment_split("", 0, &parts, NULL), 0);
	segment_free(NULL, 0);
}
END_TEST

START_TEST(test_many_parts_numbering)
{
	/* Over 9 parts: the prefix grows to "(10/12) " and must still fit. */
	char *text = repeat("abcdefg ", 200), **parts;
	enum segment_encoding enc;
	size_t n = split_checked(text, strlen(text), &enc, &parts, true);

	ck_assert_uint_ge(n, 10);
	ck_assert_ptr_nonnull(strstr(parts[9], "(10/"));
	segment_free(parts, n);
	free(text);
	/* And over 99 parts. */
	text = repeat("ab ", 6000);
	n = split_checked(text, strlen(text), &enc, &parts, true);
	ck_assert_uint_ge(n, 100);
	ck_assert_ptr_nonnull(strstr(parts[99], "(100/"));
	segment_free(parts, n);
	free(text);
}
END_TEST

START_TEST(test_random_bytes)
{
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
		n = split_checked(buf, len, &enc, &parts, false);
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

static Suite *
segment_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("segment");

	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof seg_cases / sizeof seg_cases[0]));
	tcase_add_test(tc, test_exact_single_untouched);
	tcase_add_test(tc, test_word_boundaries);
	tcase_add_test(tc, test_hard_split_long_word);
	tcase_add_test(tc, test_no_split_inside_multibyte);
	tcase_add_test(tc, test_emoji_pair_not_split);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_null_and_empty);
	tcase_add_test(tc, test_many_parts_numbering);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_encoding_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_suite(segment_suite());
}
