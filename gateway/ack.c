/*
 * ack.c - staff acknowledgement parsing (PURE). See ack.h.
 */
#include "ack.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "enum_name.h"

/* Words that start an acknowledgement, longest first so "acknowledged" is not read as "ack". */
static const char *const ack_words[] = { "acknowledged", "acknowledge", "ack", "ok", NULL };

bool
ack_parse(const char *text, char code[ACK_CODE_MAX])
{
	const char *p = text;
	const char *const *w;
	size_t n = 0;
	bool is_ok;

	code[0] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	for (w = ack_words; *w != NULL; w++) {
		size_t len = strlen(*w);

		if (strncasecmp(p, *w, len) == 0 && !isalpha((unsigned char)p[len])) {
			p += len;
			break;
		}
	}
	if (*w == NULL)
		return false;
	is_ok = strcmp(*w, "ok") == 0;
	while (isspace((unsigned char)*p) || *p == '#' || *p == ':' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p)) {
		if (n + 1 >= ACK_CODE_MAX)
			return false;  /* no code is that long: not an ACK */
		code[n++] = *p++;
	}
	code[n] = '\0';
	while (isspace((unsigned char)*p) || *p == '.' || *p == '!')
		p++;
	if (*p != '\0')
		return false;  /* "ack that's not right" is a sentence, not an ACK */
	return !is_ok || n > 0;
}

/* The name of a kind ("coded"), for logs. */
CN_ENUM_NAME(ack_kind_name, enum ack_kind, ACK_KIND_LIST)

enum ack_kind
ack_classify(const char *text, bool bare_allowed, char code[ACK_CODE_MAX])
{
	if (!ack_parse(text, code))
		return ACK_NONE;
	if (code[0] != '\0')
		return ACK_CODED;
	return bare_allowed ? ACK_BARE : ACK_CODE_REQUIRED;
}
