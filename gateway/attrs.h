/*
 * attrs.h - compiler attributes shared by every module.
 *
 * CN_MUSTCHECK marks fallible calls whose result must be looked at
 * (pgbouncer's _MUSTCHECK); CN_PRINTF lets the compiler check format strings.
 */
#ifndef CARENAV_GATEWAY_ATTRS_H
#define CARENAV_GATEWAY_ATTRS_H

#define CN_MUSTCHECK __attribute__((warn_unused_result))
#define CN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define CN_NORETURN __attribute__((noreturn))

#endif
