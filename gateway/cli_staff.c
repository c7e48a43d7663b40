/*
 * cli_staff.c - staff and on-call commands. See cli_staff.h.
 *
 *   carenav staff add --name NAME --phone NUMBER [--role ROLE] [--language en|es] [--webhook URL]
 *   carenav staff list
 *   carenav staff remove NUMBER
 *   carenav oncall add --phone NUMBER --tier primary|backup --from "YYYY-MM-DD HH:MM"
 *                      --to "YYYY-MM-DD HH:MM" [--tz ZONE] [--days N]
 *   carenav oncall list [--all]
 *
 * Shift times are wall-clock times in --tz (default UTC); PostgreSQL turns
 * them into instants with its time zone database, so a shift across a
 * daylight-saving change is exact. A --to earlier than --from is an
 * overnight shift; --days N repeats it on N consecutive days.
 */
#include "cli_staff.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oncall.h"
#include "phone.h"

static PGresult *
cli_exec(PGconn *pg, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "carenav: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int
cli_staff_add(PGconn *pg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "phone", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' }, { "language", required_argument, NULL, 'l' },
		{ "webhook", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 } };
	const char *name = NULL, *phone = NULL, *role = "nurse", *language = "en", *webhook = NULL;
	const char *params[5];
	PGresult *res;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:p:r:l:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': phone = optarg; break;
		case 'r': role = optarg; break;
		case 'l': language = optarg; break;
		case 'w': webhook = optarg; break;
		default: return 2;
		}
	}
	if (name == NULL || phone == NULL) {
		fprintf(stderr, "carenav: staff add needs --name and --phone\n");
		return 2;
	}
	if (!phone_valid(phone)) {
		fprintf(stderr, "carenav: %s is not a phone number (use E.164, e.g. +15551230001)\n", phone);
		return 2;
	}
	if (strcmp(language, "en") != 0 && strcmp(language, "es") != 0) {
		fprintf(stderr, "carenav: --language must be en or es\n");
		return 2;
	}
	if (webhook != NULL && strncmp(webhook, "https://", 8) != 0 && strncmp(webhook, "http://", 7) != 0) {
		fprintf(stderr, "carenav: --webhook must be an http(s) URL\n");
		return 2;
	}
	params[0] = name;
	params[1] = phone;
	params[2] = role;
	params[3] = language;
	params[4] = webhook;
	res = cli_exec(pg, "INSERT INTO staff (name, phone, role, language, webhook_url) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name, "
	    "role = EXCLUDED.role, language = EXCLUDED.language, webhook_url = EXCLUDED.webhook_url, "
	    "active = true, unreachable_at = NULL, unreachable_reason = NULL RETURNING id, (xmax = 0)", 5, params);
	if (res == NULL)
		return 1;
	printf("%s staff %s (%s), id %s\n", PQgetvalue(res, 0, 1)[0] == 't' ? "added" : "updated", name,
	    phone, PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int
cli_staff_list(PGconn *pg)
{
	PGresult *res = cli_exec(pg,
	    "SELECT s.id, s.name, s.phone, s.role, s.language, "
	    "CASE WHEN s.webhook_url IS NULL THEN '-' ELSE 'yes' END, "
	    "coalesce((SELECT string_agg(DISTINCT o.tier, ',') FROM oncall_shifts o WHERE o.staff_id = s.id "
	    "AND o.starts_at <= now() AND o.ends_at > now()), '-'), "
	    "CASE WHEN s.unreachable_at IS NULL THEN '' ELSE 'UNREACHABLE since ' || "
	    "to_char(s.unreachable_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC: ' || "
	    "left(coalesce(s.unreachable_reason, ''), 80) END "
	    "FROM staff s WHERE s.active ORDER BY s.name", 0, NULL);

	if (res == NULL)
		return 1;
	printf("%-5s %-24s %-16s %-10s %-4s %-7s %-11s %s\n", "id", "name", "phone", "role", "lang", "webhook",
	    "on call now", "status");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-5s %-24s %-16s %-10s %-4s %-7s %-11s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		    PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7)[0] ?
		    PQgetvalue(res, i, 7) : "ok");
	PQclear(res);
	return 0;
}

static int
cli_staff_remove(PGconn *pg, int argc, char **argv)
{
	const char *params[1];
	PGresult *res;

	if (argc != 2) {
		fprintf(stderr, "carenav: usage: staff remove NUMBER\n");
		return 2;
	}
	params[0] = argv[1];
	/* Kept, inactive: the audit trail names them. */
	res = cli_exec(pg, "UPDATE staff SET active = false WHERE phone = $1 AND active RETURNING name", 1,
	    params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "carenav: no active staff member has phone %s\n", argv[1]);
		PQclear(res);
		return 1;
	}
	printf("removed %s (%s); their future shifts no longer count\n", PQgetvalue(res, 0, 0), argv[1]);
	PQclear(res);
	return 0;
}

int
cli_staff(PGconn *pg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return cli_staff_add(pg, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return cli_staff_list(pg);
	if (argc >= 1 && strcmp(argv[0], "remove") == 0)
		return cli_staff_remove(pg, argc, argv);
	fprintf(stderr, "carenav: usage: staff add|list|remove\n");
	return 2;
}

static int
cli_oncall_add(PGconn *pg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "phone", required_argument, NULL, 'p' }, { "tier", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 'u' },
		{ "tz", required_argument, NULL, 'z' }, { "days", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 } };
	const char *phone = NULL, *tier = NULL, *from = NULL, *to = NULL, *tz = "UTC", *days = "1";
	const char *params[6];
	PGresult *res;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:t:f:u:z:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': phone = optarg; break;
		case 't': tier = optarg; break;
		case 'f': from = optarg; break;
		case 'u': to = optarg; break;
		case 'z': tz = optarg; break;
		case 'd': days = optarg; break;
		default: return 2;
		}
	}
	if (phone == NULL || tier == NULL || from == NULL || to == NULL) {
		fprintf(stderr, "carenav: oncall add needs --phone, --tier, --from and --to\n");
		return 2;
	}
	if (oncall_tier_parse(tier) < 0) {
		fprintf(stderr, "carenav: --tier must be primary or backup\n");
		return 2;
	}
	if (atoi(days) < 1 || atoi(days) > 366) {
		fprintf(stderr, "carenav: --days must be 1..366\n");
		return 2;
	}
	params[0] = phone;
	params[1] = tier;
	params[2] = from;
	params[3] = to;
	params[4] = tz;
	params[5] = days;
	/* Wall-clock times in the zone; an end before the start is the next day's. */
	res = cli_exec(pg,
	    "WITH s AS (SELECT id FROM staff WHERE phone = $1 AND active), "
	    "t AS (SELECT $3::timestamp AS a, CASE WHEN $4::timestamp <= $3::timestamp "
	    "      THEN $4::timestamp + interval '1 day' ELSE $4::timestamp END AS b) "
	    "INSERT INTO oncall_shifts (staff_id, tier, starts_at, ends_at, time_zone) "
	    "SELECT s.id, $2, (t.a + d * interval '1 day') AT TIME ZONE $5, "
	    "       (t.b + d * interval '1 day') AT TIME ZONE $5, $5 "
	    "FROM s, t, generate_series(0, $6::int - 1) d "
	    "RETURNING id, starts_at AT TIME ZONE 'UTC', ends_at AT TIME ZONE 'UTC'", 6, params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) == 0) {
		fprintf(stderr, "carenav: no active staff member has phone %s (carenav staff add first)\n", phone);
		PQclear(res);
		return 1;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("added %s shift %s: %s to %s UTC\n", tier, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2));
	PQclear(res);
	return 0;
}

static int
cli_oncall_list(PGconn *pg, int argc, char **argv)
{
	const char *all = argc > 1 && strcmp(argv[1], "--all") == 0 ? "true" : "false";
	const char *params[] = { all };
	PGresult *res = cli_exec(pg,
	    "SELECT o.id, s.name, s.phone, o.tier, "
	    "to_char(o.starts_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI'), "
	    "to_char(o.ends_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI'), o.time_zone, "
	    "CASE WHEN o.starts_at <= now() AND o.ends_at > now() THEN 'ON CALL NOW' ELSE '' END "
	    "FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
	    "WHERE s.active AND ($1::boolean OR o.ends_at > now()) ORDER BY o.starts_at, o.tier", 1, params);

	if (res == NULL)
		return 1;
	printf("%-5s %-22s %-16s %-8s %-16s %-16s %-20s %s\n", "id", "name", "phone", "tier", "from", "to",
	    "time zone", "");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-5s %-22s %-16s %-8s %-16s %-16s %-20s %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		    PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
	PQclear(res);
	return 0;
}

int
cli_oncall(PGconn *pg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return cli_oncall_add(pg, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return cli_oncall_list(pg, argc, argv);
	fprintf(stderr, "carenav: usage: oncall add|list\n");
	return 2;
}
