/*
 * lang.c - ASCII folding of UTF-8 text and a Spanish/English guess.
 *
 * Why: patients write "vómito", "vomito", "VÓMITO" or paste text with curly
 * apostrophes ("can’t"); the matchers want one spelling. lang_fold_next()
 * decodes UTF-8 leniently (an invalid byte becomes a separator, never a read
 * past len) and maps Latin letters with diacritics to their base letter.
 *
 * lang_detect() is deliberately simple: it counts function words and common
 * symptom words that only one of the two languages uses, plus Spanish-only
 * characters (á é í ó ú ñ ¿ ¡). Ties and unknown text default to English,
 * because "clearly Spanish" is the only case where replying in Spanish is the
 * safer choice.
 */
#include "lang.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Base letters for U+00C0..U+00FF; ' ' where no letter fits. */
static const char lang_latin1[64] = {
	'a', 'a', 'a', 'a', 'a', 'a', ' ', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
	'd', 'n', 'o', 'o', 'o', 'o', 'o', ' ', 'o', 'u', 'u', 'u', 'u', 'y', ' ', 's',
	'a', 'a', 'a', 'a', 'a', 'a', ' ', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
	'd', 'n', 'o', 'o', 'o', 'o', 'o', ' ', 'o', 'u', 'u', 'u', 'u', 'y', ' ', 'y',
};

static bool
lang_is_cont(const unsigned char *p, size_t avail, size_t n)
{
	size_t i;

	if (avail < n)
		return false;
	for (i = 0; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return false;
	}
	return true;
}

/* Decodes one code point; returns -1 (and *adv = 1) for an invalid byte. */
static int32_t
lang_decode(const unsigned char *p, size_t avail, size_t *adv)
{
	int32_t cp;

	*adv = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xC2 && p[0] <= 0xDF && lang_is_cont(p + 1, avail - 1, 1)) {
		*adv = 2;
		return ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
	}
	if (p[0] >= 0xE0 && p[0] <= 0xEF && lang_is_cont(p + 1, avail - 1, 2)) {
		cp = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		*adv = 3;
		return cp;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4 && lang_is_cont(p + 1, avail - 1, 3)) {
		cp = ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) |
		    ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
		if (cp < 0x10000 || cp > 0x10FFFF)
			return -1;
		*adv = 4;
		return cp;
	}
	return -1;
}

/* Decodes and folds one character; see lang.h. */
int
lang_fold_next(const char *text, size_t len, size_t *pos, bool *accented)
{
	const unsigned char *p = (const unsigned char *)text + *pos;
	size_t adv;
	int32_t cp;

	*accented = false;
	if (*pos >= len) {
		*pos = len;
		return ' ';
	}
	cp = lang_decode(p, len - *pos, &adv);
	*pos += adv;
	if (cp < 0)
		return ' ';
	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			return cp - 'A' + 'a';
		if (cp == '\n' || cp == '\r')
			return '\n';
		if (cp == '\'' || cp == '`')
			return LANG_FOLD_APOS;
		if (cp < 0x20 || cp == 0x7F)
			return ' ';
		return cp;
	}
	if (cp >= 0xC0 && cp <= 0xFF) {
		switch (cp) {
		case 0xE1: case 0xE9: case 0xED: case 0xF3: case 0xFA: case 0xF1:
		case 0xFC: case 0xC1: case 0xC9: case 0xCD: case 0xD3: case 0xDA:
		case 0xD1: case 0xDC:
			*accented = true;
			break;
		default:
			break;
		}
		return lang_latin1[cp - 0xC0];
	}
	if (cp == 0xBF || cp == 0xA1) {
		*accented = true;
		return LANG_FOLD_OPENER;
	}
	if (cp == 0xB4 || cp == 0x2018 || cp == 0x2019 || cp == 0x02BC)
		return LANG_FOLD_APOS;
	if (cp >= 0x0300 && cp <= 0x036F) {
		*accented = (cp == 0x0301 || cp == 0x0303);
		return LANG_FOLD_IGNORE;
	}
	if (cp == 0x200D || cp == 0xFE0F || cp == 0xFEFF || cp == 0x200B)
		return LANG_FOLD_IGNORE;
	if (cp == 0x2028 || cp == 0x2029 || cp == 0x85)
		return '\n';
	if (cp == 0x2026)
		return '.';
	return ' ';
}

/* Words that (almost) only Spanish uses; sorted for bsearch. */
static const char *const lang_es_words[] = {
	"abajo", "aceptan", "adormecido", "ahora", "aire", "al", "algo",
	"alta", "ando", "arriba", "asi", "aun", "ayer", "ayuda", "ayudar",
	"baja", "bien", "brazo", "brazos", "buenas", "buenos", "cabeza",
	"cadera", "caderas", "caminar", "cansada", "cansado", "cansancio",
	"cintura", "cita", "como", "cuando", "cuanto", "cuerpo", "cuesta",
	"de", "debil", "del", "derecha", "desde", "desmaye", "dia", "dias",
	"dio", "dolor", "dolores", "donde", "dormir", "dos", "duele", "el",
	"ella", "en", "entonces", "entumecido", "es", "eso", "espalda",
	"esta", "estaba", "estan", "este", "esto", "estomago", "estoy",
	"falta", "favor", "fiebre", "gracias", "hace", "hasta", "hay",
	"hola", "hora", "horas", "hormigueo", "hoy", "izquierda", "la",
	"lado", "las", "le", "les", "lo", "los", "mal", "manana", "mareada",
	"mareado", "mareo", "mareos", "mas", "mejor", "mes", "meses", "mi",
	"mis", "mucha", "muchas", "mucho", "muchos", "muy", "nada", "nalgas",
	"nauseas", "necesito", "ni", "noche", "nos", "nunca", "orina",
	"orinar", "otra", "otro", "panza", "para", "pecho", "peor", "pero",
	"peso", "pierna", "piernas", "poco", "por", "porfa", "porque",
	"puede", "pueden", "puedo", "pues", "quien", "quiero", "respirar",
	"se", "seguro", "semana", "semanas", "si", "siempre", "siento",
	"sin", "sobre", "solo", "su", "sus", "tambien", "tampoco", "tanto",
	"tarde", "temperatura", "tener", "tengo", "tenia", "tiene", "tienes",
	"todavia", "todo", "trabajar", "trabajo", "tres", "un", "una", "uno",
	"usted", "ustedes", "veces", "vejiga", "vez", "vomitar", "vomite",
	"vomito", "y", "ya", "yo",
};

/* Words that (almost) only English uses; sorted for bsearch. */
static const char *const lang_en_words[] = {
	"also", "am", "and", "are", "at", "back", "be", "been", "but", "can",
	"cant", "chest", "days", "dizzy", "do", "does", "dont", "feel",
	"feeling", "fever", "for", "get", "got", "had", "has", "have", "hello",
	"help", "hi", "hurt", "hurts", "i", "im", "in", "is", "it", "its",
	"ive", "just", "leg", "legs", "my", "not", "numb", "of", "on", "pain",
	"please", "pls", "really", "since", "sleep", "so", "thanks", "that",
	"the", "this", "to", "today", "very", "was", "weeks", "what", "when",
	"with", "work", "yes", "yesterday", "you", "your",
};

static int
lang_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, *(const char *const *)b);
}

static bool
lang_in(const char *word, const char *const *list, size_t n)
{
	return bsearch(word, list, n, sizeof(*list), lang_cmp) != NULL;
}

/* Spanish participles and gerunds: "vomitado", "doliendo", "perdido". */
static bool
lang_es_suffix(const char *word, size_t wlen)
{
	static const char *const suffixes[] = { "ado", "ada", "ido", "ida",
	    "ando", "iendo", "cion" };
	size_t i, n;

	if (wlen < 5)
		return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		n = strlen(suffixes[i]);
		if (strcmp(word + wlen - n, suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* Counts language-specific words and Spanish accents; ties go to English. */
const char *
lang_detect(const char *text, size_t len)
{
	char word[24];
	size_t pos = 0, wlen = 0;
	int es = 0, en = 0, accents = 0, c;
	bool acc, done;

	if (text == NULL)
		return "en";
	for (done = false; !done;) {
		done = pos >= len;
		c = done ? ' ' : lang_fold_next(text, len, &pos, &acc);
		if (!done && acc && accents < 4)
			accents++;
		if (c == LANG_FOLD_IGNORE || c == LANG_FOLD_APOS)
			continue;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (wlen < sizeof(word) - 1)
				word[wlen] = (char)c;
			wlen++;
			continue;
		}
		if (wlen > 0 && wlen < sizeof(word)) {
			word[wlen] = '\0';
			if (wlen < 2)
				;   /* "y", "o", "a": too weak alone */
			else if (lang_in(word, lang_es_words,
			    sizeof(lang_es_words) / sizeof(lang_es_words[0])))
				es++;
			else if (lang_in(word, lang_en_words,
			    sizeof(lang_en_words) / sizeof(lang_en_words[0])))
				en++;
			else if (lang_es_suffix(word, wlen))
				es++;
		}
		wlen = 0;
	}
	es += 2 * accents;
	return (es > en && es >= 1) ? "es" : "en";
}
