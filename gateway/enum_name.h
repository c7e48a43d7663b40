/*
 * enum_name.h - an enum value's name, from the X-macro list that defines
 * the enum (STYLE §3: one list makes both, memcached proto_parser.h).
 *
 * CN_ENUM_NAME(fn, type, LIST) defines `const char *fn(type value)`: the
 * name LIST's X(id, name) row gives value, or "unknown" for a value outside
 * the list. Write it without a trailing semicolon, where the function goes.
 */
#ifndef CARENAV_GATEWAY_ENUM_NAME_H
#define CARENAV_GATEWAY_ENUM_NAME_H

#include <stddef.h>

#define CN_ENUM_NAME_ROW(id, name) [id] = name,

#define CN_ENUM_NAME(fn, type, LIST)                                                       \
	const char *                                                                       \
	fn(type value)                                                                     \
	{                                                                                  \
		static const char *const names[] = { LIST(CN_ENUM_NAME_ROW) };            \
                                                                                           \
		return (size_t)value < sizeof names / sizeof names[0] ? names[value] : "unknown"; \
	}

#endif
