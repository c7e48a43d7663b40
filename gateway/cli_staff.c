/*
 * cli_staff.c - staff and on-call commands. See cli_staff.h.
 *
 *   carenav staff add --name NAME --phone NUMBER [--role ROLE] [--language en|es] [--webhook URL]
 *   carenav staff edit NUMBER [--name NAME] [--phone NEW] [--role ROLE] [--language en|es] [--webhook URL|""]
 *   carenav staff list
 *   carenav staff remove NUMBER
 *   carenav oncall add --phone NUMBER --tier primary|backup --from "YYYY-MM-DD HH:MM"
 *                      --to "YYYY-MM-DD HH:MM" [--tz ZONE] [--days N] [--fold earlier|later]
 *   carenav oncall edit ID [--phone NUMBER] [--tier T] [--from ..] [--to ..] [--tz ZONE] [--fold ..]
 *   carenav oncall remove ID
 *   carenav oncall list [--all]
 *   carenav oncall check [--days N]
 *
 * A schedule that cannot be wrong: every input is checked before any SQL
 * runs, and a refused command writes nothing and says which field is wrong
 * in plain words. Shift times are wall-clock times in --tz (an IANA zone
 * name, default UTC), turned into instants with PostgreSQL's time zone
 * database (carenav_local_instants): a time the clocks skip is refused, a
 * time they pass twice needs --fold. A --to earlier than --from is an
 * overnight shift; --days N repeats it on N consecutive days. One person
 * cannot hold two shifts at once (primary and backup, or two of a tier);
 * two primaries at once and stretches without a primary are warnings
 * ("oncall check", also run by "carenav doctor"). No PostgreSQL error text
 * reaches the user: cli_sql says what could not be done and why in words.
 */
#include "cli_staff.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_sql.h"
#include "config.h"
#include "http_client.h"
#include "oncall.h"
#include "phone.h"
#include "store_admin.h"
#include "xmalloc.h"

#define CLI_MAX_DAYS 366
#define CLI_DAY_MS (24 * 3600 * 1000LL)
#define CLI_NO_SHIFT "there is no shift %lld (see \"carenav oncall list --all\")"

/* The settings of this command's run (set by cli_staff and cli_oncall): numbers are normalised by them. */
static const struct config *cli_cfg;

static bool
cli_name_ok(const char *name, const char *field)
{
	size_t len = strlen(name);

	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "carenav: %s must be plain text on one line\n", field);
			return false;
		}
	}
	if (len == 0 || len > 80 || strspn(name, " ") == len) {
		fprintf(stderr, "carenav: %s must be 1 to 80 characters\n", field);
		return false;
	}
	return true;
}

/*
 * Writes the number as the webhooks store it (E.164, DEFAULT_COUNTRY_CODE)
 * into norm (PHONE_NORM_MAX bytes), or says why it is not one.
 */
static bool
cli_phone(const char *phone, const char *field, char *norm)
{
	const char *why;

	if (phone_normalize(phone, (int)cli_cfg->default_country_code, PHONE_FULL, norm, &why))
		return true;
	fprintf(stderr, "carenav: %s: \"%s\" is not a phone number: %s (e.g. +15551230001)\n", field, phone,
	    why);
	return false;
}

static bool
cli_language_ok(const char *language)
{
	if (strcmp(language, "en") != 0 && strcmp(language, "es") != 0) {
		fprintf(stderr, "carenav: --language must be en or es\n");
		return false;
	}
	return true;
}

static bool
cli_webhook_ok(const char *webhook)
{
	if (webhook[0] != '\0' && !http_client_url_ok(webhook)) {
		fprintf(stderr, "carenav: --webhook must be an http(s) URL (or \"\" for none)\n");
		return false;
	}
	return true;
}

/* A subcommand: "staff add", "oncall list", ...; run gets argv from the subcommand's name on. */
struct cli_command {
	const char *name;
	int (*run)(PGconn *pg, int argc, char **argv);
};

/* Runs the subcommand argv[0] names, or says usage (the names, after `what`). Returns the exit status. */
static int
cli_command_run(const struct cli_command *cmds, size_t ncmds, const char *what, PGconn *pg,
    const struct config *cfg, int argc, char **argv)
{
	cli_cfg = cfg;
	for (size_t i = 0; argc >= 1 && i < ncmds; i++) {
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].run(pg, argc, argv);
	}
	fprintf(stderr, "carenav: usage: %s ", what);
	for (size_t i = 0; i < ncmds; i++)
		fprintf(stderr, "%s%s", i > 0 ? "|" : "", cmds[i].name);
	fputc('\n', stderr);
	return 2;
}

/* A positive whole number, or -1. */
static long long
cli_id(const char *s)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	return *end != '\0' || v <= 0 ? -1 : v;
}

/*
 * Reads options that each take a value from argv[first] on: the value of
 * opts[i] (long or short form) goes to *fields[i]. False on an unknown
 * option (getopt has said which).
 */
static bool
cli_getopt_values(int argc, char **argv, int first, const struct option *opts, const char *shortopts,
    const char **const *fields)
{
	int c;
	size_t i;

	optind = first;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		for (i = 0; opts[i].name != NULL && opts[i].val != c; i++)
			;
		if (opts[i].name == NULL)
			return false;
		*fields[i] = optarg;
	}
	return true;
}

/* The options staff add and edit share: NULL where not given (add sets its defaults first). */
struct cli_staff_args {
	const char *name, *phone, *role, *language, *webhook;
	char norm[PHONE_NORM_MAX];  /* --phone normalised, by cli_staff_args_ok */
};

/* Reads the options from argv[first] on; false on an unknown one (getopt has said which). */
static bool
cli_staff_getopt(int argc, char **argv, int first, struct cli_staff_args *a)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "phone", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' }, { "language", required_argument, NULL, 'l' },
		{ "webhook", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 } };
	/* In the order of opts. */
	const char **fields[] = { &a->name, &a->phone, &a->role, &a->language, &a->webhook };

	return cli_getopt_values(argc, argv, first, opts, "n:p:r:l:w:", fields);
}

/* Checks each option given, says what is wrong with the first bad one; points phone at its normal form. */
static bool
cli_staff_args_ok(struct cli_staff_args *a)
{
	if ((a->name != NULL && !cli_name_ok(a->name, "--name")) ||
	    (a->role != NULL && !cli_name_ok(a->role, "--role")) ||
	    (a->phone != NULL && !cli_phone(a->phone, "--phone", a->norm)) ||
	    (a->language != NULL && !cli_language_ok(a->language)) ||
	    (a->webhook != NULL && !cli_webhook_ok(a->webhook)))
		return false;
	if (a->phone != NULL)
		a->phone = a->norm;
	return true;
}

static int
cli_staff_add(PGconn *pg, int argc, char **argv)
{
	struct cli_staff_args a = { .role = "nurse", .language = "en" };
	const char *params[5], *name, *phone, *webhook;
	PGresult *res;

	if (!cli_staff_getopt(argc, argv, 1, &a))
		return 2;
	if (a.name == NULL || a.phone == NULL) {
		fprintf(stderr, "carenav: staff add needs --name and --phone\n");
		return 2;
	}
	if (!cli_staff_args_ok(&a))
		return 2;
	name = a.name;
	phone = a.phone;
	webhook = a.webhook;
	params[0] = phone;
	res = cli_sql_exec(pg, "look up the number", store_admin_staff_number_sql, 1, params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) == 1 && cli_sql_get(res, 0, "active")[0] == 't') {
		fprintf(stderr, "carenav: %s is already registered to %s (%s, %s); nothing changed. "
		    "To change it: carenav staff edit %s --name ... --language ...\n", phone, cli_sql_get(res, 0, "name"),
		    cli_sql_get(res, 0, "role"), cli_sql_get(res, 0, "language"), phone);
		PQclear(res);
		return 1;
	}
	PQclear(res);
	params[0] = name;
	params[1] = phone;
	params[2] = a.role;
	params[3] = a.language;
	params[4] = webhook != NULL && webhook[0] != '\0' ? webhook : NULL;
	/* A removed number comes back with the details given now. */
	res = cli_sql_row(pg, "add the staff member", store_admin_staff_add_sql, 5, params,
	    "%s was registered meanwhile; nothing changed", phone);
	if (res == NULL)
		return 1;
	printf("%s staff %s (%s), id %s\n", cli_sql_get(res, 0, "inserted")[0] == 't' ? "added" : "re-added",
	    name, phone, cli_sql_get(res, 0, "id"));
	PQclear(res);
	return 0;
}

static int
cli_staff_edit(PGconn *pg, int argc, char **argv)
{
	struct cli_staff_args a = { 0 };
	const char *params[7], *phone, *new_phone;
	char norm[PHONE_NORM_MAX];
	PGresult *res;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "carenav: usage: staff edit NUMBER [--name N] [--phone NEW] [--role R] "
		    "[--language en|es] [--webhook URL|\"\"]\n");
		return 2;
	}
	if (!cli_staff_getopt(argc, argv, 2, &a))
		return 2;
	if (optind < argc) {
		fprintf(stderr, "carenav: staff edit: unexpected \"%s\"\n", argv[optind]);
		return 2;
	}
	if (a.name == NULL && a.phone == NULL && a.role == NULL && a.language == NULL && a.webhook == NULL) {
		fprintf(stderr, "carenav: staff edit needs something to change: --name, --phone, --role, "
		    "--language or --webhook\n");
		return 2;
	}
	if (!cli_phone(argv[1], "staff edit", norm) || !cli_staff_args_ok(&a))
		return 2;
	phone = norm;
	new_phone = a.phone;
	if (new_phone != NULL && strcmp(new_phone, phone) != 0) {
		params[0] = new_phone;
		res = cli_sql_exec(pg, "look up the number", store_admin_staff_owner_sql, 1, params);
		if (res == NULL)
			return 1;
		if (PQntuples(res) > 0) {
			fprintf(stderr, "carenav: --phone: %s already belongs to %s; nothing changed\n", new_phone,
			    PQgetvalue(res, 0, 0));
			PQclear(res);
			return 1;
		}
		PQclear(res);
	}
	params[0] = phone;
	params[1] = a.name;
	params[2] = new_phone;
	params[3] = a.role;
	params[4] = a.language;
	params[5] = a.webhook;
	params[6] = a.webhook != NULL ? "t" : "f";
	res = cli_sql_row(pg, "change the staff member", store_admin_staff_edit_sql, 7, params,
	    "no active staff member has phone %s", phone);
	if (res == NULL)
		return 1;
	printf("staff %s now: %s, %s, %s, language %s, webhook %s\n", cli_sql_get(res, 0, "id"),
	    cli_sql_get(res, 0, "name"), cli_sql_get(res, 0, "phone"), cli_sql_get(res, 0, "role"),
	    cli_sql_get(res, 0, "language"), cli_sql_get(res, 0, "webhook"));
	PQclear(res);
	return 0;
}

static int
cli_staff_list(PGconn *pg, int argc, char **argv)
{
	static const struct cli_sql_column cols[] = { { "id", 5 }, { "name", 24 }, { "phone", 16 },
		{ "role", 10 }, { "lang", 4 }, { "webhook", 7 }, { "on call now", 11 }, { "status", 0 } };

	(void)argc;
	(void)argv;
	return cli_sql_list(pg, "list staff", store_admin_staff_list_sql, 0, NULL, cols,
	    (int)(sizeof cols / sizeof cols[0]));
}

static int
cli_staff_remove(PGconn *pg, int argc, char **argv)
{
	const char *params[2];
	char norm[PHONE_NORM_MAX];
	PGresult *res;

	if (argc != 2) {
		fprintf(stderr, "carenav: usage: staff remove NUMBER\n");
		return 2;
	}
	if (!cli_phone(argv[1], "staff remove", norm))
		return 2;
	params[0] = norm;
	params[1] = argv[1];  /* a row added before numbers were normalised */
	/* Kept, inactive: the audit trail names them. */
	res = cli_sql_row(pg, "remove the staff member", store_admin_staff_remove_sql, 2, params,
	    "no active staff member has phone %s", argv[1]);
	if (res == NULL)
		return 1;
	printf("removed %s (%s); their future shifts no longer count\n", PQgetvalue(res, 0, 0), argv[1]);
	PQclear(res);
	return 0;
}

int
cli_staff(PGconn *pg, const struct config *cfg, int argc, char **argv)
{
	static const struct cli_command cmds[] = { { "add", cli_staff_add }, { "edit", cli_staff_edit },
		{ "list", cli_staff_list }, { "remove", cli_staff_remove } };

	return cli_command_run(cmds, sizeof cmds / sizeof cmds[0], "staff", pg, cfg, argc, argv);
}

/* ---- the on-call schedule ---- */

/* A stored shift, for the overlap checks and messages. */
struct cli_shift {
	long long id;
	char *name;          /* owned */
	char *span;          /* owned: "2026-12-04 08:00 to 2026-12-04 20:00 America/Chicago" */
	struct oncall_shift s;
};

struct cli_shifts {
	struct cli_shift *v;  /* owned */
	size_t n;
};

static void
cli_shifts_free(struct cli_shifts *all)
{
	for (size_t i = 0; i < all->n; i++) {
		free(all->v[i].name);
		free(all->v[i].span);
	}
	free(all->v);
	all->v = NULL;
	all->n = 0;
}

/* Shifts of active staff that end after from_ms and start before to_ms (ms since the epoch). */
static bool
cli_shifts_load(PGconn *pg, int64_t from_ms, int64_t to_ms, struct cli_shifts *out)
{
	char a[32], b[32];
	const char *params[] = { a, b };
	PGresult *res;

	snprintf(a, sizeof a, "%" PRId64, from_ms);
	snprintf(b, sizeof b, "%" PRId64, to_ms);
	res = cli_sql_exec(pg, "read the schedule", store_admin_shifts_sql, 2, params);
	if (res == NULL)
		return false;
	out->n = (size_t)PQntuples(res);
	out->v = xcalloc(out->n + 1, sizeof *out->v);
	for (size_t i = 0; i < out->n; i++) {
		struct cli_shift *c = &out->v[i];

		c->id = atoll(cli_sql_get(res, (int)i, "id"));
		c->s.staff_id = atoll(cli_sql_get(res, (int)i, "staff_id"));
		c->name = xstrdup(cli_sql_get(res, (int)i, "name"));
		c->s.tier = oncall_tier_parse(cli_sql_get(res, (int)i, "tier")) == ONCALL_BACKUP ? ONCALL_BACKUP :
		    ONCALL_PRIMARY;
		c->s.start_ms = atoll(cli_sql_get(res, (int)i, "starts_ms"));
		c->s.end_ms = atoll(cli_sql_get(res, (int)i, "ends_ms"));
		c->span = xstrdup(cli_sql_get(res, (int)i, "span"));
	}
	PQclear(res);
	return true;
}

static bool
cli_now_ms(PGconn *pg, int64_t *now_ms)
{
	PGresult *res = cli_sql_exec(pg, "read the time", store_admin_now_ms_sql, 0, NULL);

	if (res == NULL)
		return false;
	*now_ms = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* --tz: an IANA name the time zone database knows. */
static bool
cli_zone_ok(PGconn *pg, const char *tz)
{
	const char *params[] = { tz };
	PGresult *res;
	bool known;

	if (!oncall_zone_name_ok(tz)) {
		fprintf(stderr, "carenav: --tz: \"%s\" is not a time zone name; use the IANA name of the place, "
		    "e.g. America/Chicago or Europe/Madrid (abbreviations such as CST or EST do not say when "
		    "daylight saving applies)\n", tz);
		return false;
	}
	res = cli_sql_exec(pg, "check the time zone", store_admin_zone_exists_sql, 1, params);
	if (res == NULL)
		return false;
	known = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!known)
		fprintf(stderr, "carenav: --tz: no time zone is called \"%s\" (e.g. America/Chicago, "
		    "Europe/Madrid, UTC)\n", tz);
	return known;
}

/* The instant a wall-clock time names in tz; refuses times the clocks skip, or pass twice without --fold. */
static bool
cli_resolve(PGconn *pg, const char *field, const struct oncall_local *t, const char *tz, const char *fold,
    int64_t *ms)
{
	char local[32];
	const char *params[] = { local, tz };
	long long v[2];
	int n = 0;
	PGresult *res;

	oncall_local_format(t, local, sizeof local);
	res = cli_sql_exec(pg, "convert the time", store_admin_local_instants_sql, 2, params);
	if (res == NULL)
		return false;
	n = sscanf(PQgetvalue(res, 0, 0), "%lld %lld", &v[0], &v[1]);
	PQclear(res);
	if (n <= 0) {
		fprintf(stderr, "carenav: %s: %s does not exist in %s: the clocks jump forward over it "
		    "(daylight saving); pick a time outside the jump\n", field, local, tz);
		return false;
	}
	if (n == 2 && fold == NULL) {
		fprintf(stderr, "carenav: %s: %s happens twice in %s (the clocks go back); say which with "
		    "--fold earlier or --fold later\n", field, local, tz);
		return false;
	}
	*ms = n == 2 && strcmp(fold, "later") == 0 ? v[1] : v[0];
	return true;
}

/* What a new or changed shift is; validated by cli_shift_plan. */
struct cli_plan {
	long long staff_id;
	const char *staff_name;
	enum oncall_tier tier;
	struct oncall_local from, to;
	const char *tz;
	const char *fold;       /* NULL, "earlier" or "later" */
	int days;
	long long exclude_id;   /* the shift being edited, else 0 */
	struct oncall_shift *out;  /* owned: days shifts once planned */
};

/*
 * Turns the plan into instants and checks it against the schedule. False,
 * with the reason on stderr, for anything that must not be written; the
 * overlapping primaries it only warns about.
 */
static bool
cli_shift_plan(PGconn *pg, struct cli_plan *p)
{
	struct oncall_local to = p->to;
	struct cli_shifts all = { 0 };
	char a[20], b[20];
	int64_t now_ms;
	bool ok = true;

	if (oncall_local_cmp(&p->from, &p->to) == 0) {
		oncall_local_format(&p->from, a, sizeof a);
		fprintf(stderr, "carenav: --from and --to are the same time (%s): a shift needs a length "
		    "(for a whole day, give --to the next day)\n", a);
		return false;
	}
	if (oncall_local_cmp(&p->to, &p->from) < 0)
		oncall_local_add_days(&to, 1);  /* overnight */
	if (!cli_now_ms(pg, &now_ms))
		return false;
	p->out = xcalloc((size_t)p->days, sizeof *p->out);
	for (int d = 0; d < p->days; d++) {
		struct oncall_local f = p->from, t = to;
		struct oncall_shift *s = &p->out[d];

		oncall_local_add_days(&f, d);
		oncall_local_add_days(&t, d);
		s->staff_id = p->staff_id;
		s->tier = p->tier;
		if (!cli_resolve(pg, "--from", &f, p->tz, p->fold, &s->start_ms) ||
		    !cli_resolve(pg, "--to", &t, p->tz, p->fold, &s->end_ms))
			return false;
		oncall_local_format(&f, a, sizeof a);
		oncall_local_format(&t, b, sizeof b);
		if (s->end_ms <= s->start_ms) {
			fprintf(stderr, "carenav: --to: the shift %s to %s %s ends before it starts (the clocks "
			    "go back in between); move --to or use --fold\n", a, b, p->tz);
			return false;
		}
		if (s->end_ms - s->start_ms > 7 * CLI_DAY_MS) {
			fprintf(stderr, "carenav: --to: the shift %s to %s is longer than 7 days; enter shifts as "
			    "they are worked (--days repeats one)\n", a, b);
			return false;
		}
		if (s->end_ms <= now_ms) {
			fprintf(stderr, "carenav: --from/--to: the shift %s to %s %s is already over; nothing "
			    "was written\n", a, b, p->tz);
			return false;
		}
		if (d > 0 && oncall_overlap(&p->out[d - 1], s)) {
			fprintf(stderr, "carenav: --days: the shift is longer than a day, so repeating it daily "
			    "would overlap itself\n");
			return false;
		}
	}
	if (!cli_shifts_load(pg, p->out[0].start_ms, p->out[p->days - 1].end_ms, &all))
		return false;
	for (int d = 0; d < p->days && ok; d++) {
		for (size_t i = 0; i < all.n && ok; i++) {
			const struct cli_shift *c = &all.v[i];

			if (c->id == p->exclude_id || !oncall_overlap(&c->s, &p->out[d]))
				continue;
			if (c->s.staff_id == p->staff_id && c->s.tier != p->tier) {
				fprintf(stderr, "carenav: --tier: %s is already on call as %s then (shift %lld, %s); "
				    "the same person cannot be primary and backup at once\n", c->name,
				    oncall_tier_name(c->s.tier), c->id, c->span);
				ok = false;
			} else if (c->s.staff_id == p->staff_id) {
				fprintf(stderr, "carenav: --from/--to: %s already has a %s shift then (shift %lld, %s); "
				    "change that one with \"carenav oncall edit %lld\"\n", c->name,
				    oncall_tier_name(c->s.tier), c->id, c->span, c->id);
				ok = false;
			} else if (c->s.tier == ONCALL_PRIMARY && p->tier == ONCALL_PRIMARY) {
				fprintf(stderr, "warning: %s is also primary then (shift %lld, %s): both of them will "
				    "be alerted\n", c->name, c->id, c->span);
			}
		}
	}
	cli_shifts_free(&all);
	return ok;
}

static const char *
cli_array(const struct oncall_shift *v, int n, bool start, char *buf, size_t size)
{
	size_t len = 0;

	len += (size_t)snprintf(buf + len, size - len, "{");
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, i ? "," : "",
		    start ? v[i].start_ms : v[i].end_ms);
	if (len < size)
		snprintf(buf + len, size - len, "}");
	return buf;
}

/* The staff member with this phone: id and name (owned). False, with a message, if none. */
static bool
cli_staff_find(PGconn *pg, const char *phone, long long *id, char **name)
{
	char norm[PHONE_NORM_MAX];
	const char *params[] = { norm };
	PGresult *res;

	if (!cli_phone(phone, "--phone", norm))
		return false;
	res = cli_sql_row(pg, "look up the staff member", store_admin_staff_find_sql, 1, params,
	    "--phone: no active staff member has phone %s (carenav staff add first)", phone);
	if (res == NULL)
		return false;
	*id = atoll(cli_sql_get(res, 0, "id"));
	*name = xstrdup(cli_sql_get(res, 0, "name"));
	PQclear(res);
	return true;
}

/* The options add and edit share. */
struct cli_shift_args {
	const char *phone, *tier, *from, *to, *tz, *days, *fold;
};

static int
cli_shift_getopt(int argc, char **argv, int first, struct cli_shift_args *a, bool edit)
{
	static const struct option opts[] = {
		{ "phone", required_argument, NULL, 'p' }, { "tier", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 'u' },
		{ "tz", required_argument, NULL, 'z' }, { "days", required_argument, NULL, 'd' },
		{ "fold", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
	/* In the order of opts. */
	const char **fields[] = { &a->phone, &a->tier, &a->from, &a->to, &a->tz, &a->days, &a->fold };

	if (!cli_getopt_values(argc, argv, first, opts, "p:t:f:u:z:d:o:", fields))
		return 2;
	if (optind < argc) {
		fprintf(stderr, "carenav: unexpected \"%s\" (times go in quotes: --from \"2026-12-04 08:00\")\n",
		    argv[optind]);
		return 2;
	}
	if (a->tier != NULL && oncall_tier_parse(a->tier) < 0) {
		fprintf(stderr, "carenav: --tier must be primary or backup\n");
		return 2;
	}
	if (a->days != NULL && (edit || cli_id(a->days) < 1 || cli_id(a->days) > CLI_MAX_DAYS)) {
		fprintf(stderr, edit ? "carenav: --days is for oncall add; edit changes one shift\n" :
		    "carenav: --days must be a whole number from 1 to 366\n");
		return 2;
	}
	if (a->fold != NULL && strcmp(a->fold, "earlier") != 0 && strcmp(a->fold, "later") != 0) {
		fprintf(stderr, "carenav: --fold must be earlier or later\n");
		return 2;
	}
	return 0;
}

static bool
cli_local_arg(const char *field, const char *text, struct oncall_local *out)
{
	if (!oncall_local_parse(text, out)) {
		fprintf(stderr, "carenav: %s: \"%s\" is not a date and time; write it as \"YYYY-MM-DD HH:MM\" "
		    "(24-hour clock), e.g. \"2026-12-04 08:00\"\n", field, text);
		return false;
	}
	return true;
}

static int
cli_oncall_add(PGconn *pg, int argc, char **argv)
{
	struct cli_shift_args a = { .tz = "UTC", .days = "1" };
	struct cli_plan p = { 0 };
	char *name = NULL, starts[CLI_MAX_DAYS * 24], ends[CLI_MAX_DAYS * 24], staffbuf[24];
	const char *params[6];
	PGresult *res;
	int rc;

	if ((rc = cli_shift_getopt(argc, argv, 1, &a, false)) != 0)
		return rc;
	if (a.phone == NULL || a.tier == NULL || a.from == NULL || a.to == NULL) {
		fprintf(stderr, "carenav: oncall add needs --phone, --tier, --from and --to\n");
		return 2;
	}
	if (!cli_local_arg("--from", a.from, &p.from) || !cli_local_arg("--to", a.to, &p.to))
		return 2;
	if (!cli_zone_ok(pg, a.tz) || !cli_staff_find(pg, a.phone, &p.staff_id, &name))
		return 1;
	p.staff_name = name;
	p.tier = (enum oncall_tier)oncall_tier_parse(a.tier);
	p.tz = a.tz;
	p.fold = a.fold;
	p.days = (int)cli_id(a.days);
	rc = 1;
	if (!cli_shift_plan(pg, &p))
		goto out;
	snprintf(staffbuf, sizeof staffbuf, "%lld", p.staff_id);
	params[0] = staffbuf;
	params[1] = a.tier;
	params[2] = cli_array(p.out, p.days, true, starts, sizeof starts);
	params[3] = cli_array(p.out, p.days, false, ends, sizeof ends);
	params[4] = a.tz;
	res = cli_sql_exec(pg, "add the shift", store_admin_shift_add_sql, 5, params);
	if (res == NULL)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		printf("added %s shift %s for %s: %s to %s %s (%s to %s UTC)\n", a.tier, cli_sql_get(res, i, "id"),
		    name, cli_sql_get(res, i, "starts_local"), cli_sql_get(res, i, "ends_local"), a.tz,
		    cli_sql_get(res, i, "starts_utc"), cli_sql_get(res, i, "ends_utc"));
	PQclear(res);
	rc = 0;
out:
	free(p.out);
	free(name);
	return rc;
}

static int
cli_oncall_edit(PGconn *pg, int argc, char **argv)
{
	struct cli_shift_args a = { 0 };
	struct cli_plan p = { 0 };
	char *name = NULL, *phone = NULL, *tier = NULL, *tz = NULL, *from = NULL, *to = NULL;
	char idbuf[24], staffbuf[24], sbuf[24], ebuf[24];
	const char *params[6];
	long long id = argc >= 2 ? cli_id(argv[1]) : -1;
	PGresult *res;
	int rc;

	if (id < 0) {
		fprintf(stderr, "carenav: usage: oncall edit ID [--phone P] [--tier T] [--from ..] [--to ..] "
		    "[--tz ZONE] [--fold earlier|later] (ID from \"carenav oncall list\")\n");
		return 2;
	}
	if ((rc = cli_shift_getopt(argc, argv, 2, &a, true)) != 0)
		return rc;
	if (a.phone == NULL && a.tier == NULL && a.from == NULL && a.to == NULL && a.tz == NULL) {
		fprintf(stderr, "carenav: oncall edit needs something to change: --phone, --tier, --from, --to "
		    "or --tz\n");
		return 2;
	}
	if ((a.from != NULL && !cli_local_arg("--from", a.from, &p.from)) ||
	    (a.to != NULL && !cli_local_arg("--to", a.to, &p.to)))
		return 2;
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	params[0] = idbuf;
	res = cli_sql_row(pg, "read the shift", store_admin_shift_get_sql, 1, params, CLI_NO_SHIFT, id);
	if (res == NULL)
		return 1;
	phone = xstrdup(a.phone != NULL ? a.phone : cli_sql_get(res, 0, "phone"));
	tier = xstrdup(a.tier != NULL ? a.tier : cli_sql_get(res, 0, "tier"));
	tz = xstrdup(a.tz != NULL ? a.tz : cli_sql_get(res, 0, "time_zone"));
	from = xstrdup(cli_sql_get(res, 0, "starts_local"));
	to = xstrdup(cli_sql_get(res, 0, "ends_local"));
	PQclear(res);
	rc = 1;
	/* Unchanged ends keep their wall-clock time (in the new zone, if --tz changed). */
	if (a.from == NULL && !oncall_local_parse(from, &p.from))
		goto out;
	if (a.to == NULL && !oncall_local_parse(to, &p.to))
		goto out;
	if (!cli_zone_ok(pg, tz) || !cli_staff_find(pg, phone, &p.staff_id, &name))
		goto out;
	p.staff_name = name;
	p.tier = (enum oncall_tier)oncall_tier_parse(tier);
	p.tz = tz;
	p.fold = a.fold;
	p.days = 1;
	p.exclude_id = id;
	if (!cli_shift_plan(pg, &p))
		goto out;
	snprintf(staffbuf, sizeof staffbuf, "%lld", p.staff_id);
	snprintf(sbuf, sizeof sbuf, "%" PRId64, p.out[0].start_ms);
	snprintf(ebuf, sizeof ebuf, "%" PRId64, p.out[0].end_ms);
	params[1] = staffbuf;
	params[2] = tier;
	params[3] = sbuf;
	params[4] = ebuf;
	params[5] = tz;
	res = cli_sql_row(pg, "change the shift", store_admin_shift_edit_sql, 6, params,
	    "shift %lld was removed meanwhile", id);
	if (res == NULL)
		goto out;
	printf("changed shift %lld: %s %s, %s to %s %s\n", id, tier, name, cli_sql_get(res, 0, "starts_local"),
	    cli_sql_get(res, 0, "ends_local"), tz);
	PQclear(res);
	rc = 0;
out:
	free(p.out);
	free(name);
	free(phone);
	free(tier);
	free(tz);
	free(from);
	free(to);
	return rc;
}

static int
cli_oncall_remove(PGconn *pg, int argc, char **argv)
{
	long long id = argc == 2 ? cli_id(argv[1]) : -1;
	char idbuf[24];
	const char *params[] = { idbuf };
	PGresult *res;

	if (id < 0) {
		fprintf(stderr, "carenav: usage: oncall remove ID (a shift number from \"carenav oncall list\")\n");
		return 2;
	}
	snprintf(idbuf, sizeof idbuf, "%lld", id);
	res = cli_sql_row(pg, "remove the shift", store_admin_shift_remove_sql, 1, params, CLI_NO_SHIFT, id);
	if (res == NULL)
		return 1;
	printf("removed shift %lld: %s %s, %s to %s %s\n", id, cli_sql_get(res, 0, "tier"),
	    cli_sql_get(res, 0, "name"), cli_sql_get(res, 0, "starts_local"), cli_sql_get(res, 0, "ends_local"),
	    cli_sql_get(res, 0, "time_zone"));
	PQclear(res);
	return 0;
}

static int
cli_oncall_list(PGconn *pg, int argc, char **argv)
{
	static const struct cli_sql_column cols[] = { { "id", 5 }, { "name", 22 }, { "phone", 16 },
		{ "tier", 8 }, { "from", 16 }, { "to", 16 }, { "time zone", 20 }, { "", 0 } };
	const char *all = argc > 1 && strcmp(argv[1], "--all") == 0 ? "true" : "false";
	const char *params[] = { all };

	return cli_sql_list(pg, "list the schedule", store_admin_shift_list_sql, 1, params, cols,
	    (int)(sizeof cols / sizeof cols[0]));
}

/* ms since the epoch as "YYYY-MM-DD HH:MM" in the zone most shifts were entered in (else UTC). */
static void
cli_format_ms(PGconn *pg, int64_t ms, char *buf, size_t size)
{
	char v[32];
	const char *params[] = { v };
	PGresult *res;

	snprintf(v, sizeof v, "%" PRId64, ms);
	res = PQexecParams(pg, store_admin_local_time_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
	else
		snprintf(buf, size, "%" PRId64 " ms", ms);
	PQclear(res);
}

int
cli_oncall_problems(PGconn *pg, int days, cli_oncall_say_cb say, void *arg)
{
	struct cli_shifts all = { 0 };
	struct oncall_shift *s;
	struct oncall_gap gaps[64];
	size_t ngaps;
	int64_t now_ms, to_ms;
	char a[64], b[64], *line;
	int problems = 0;

	if (!cli_now_ms(pg, &now_ms))
		return -1;
	to_ms = now_ms + days * CLI_DAY_MS;
	if (!cli_shifts_load(pg, now_ms, to_ms, &all))
		return -1;
	s = xcalloc(all.n + 1, sizeof *s);
	for (size_t i = 0; i < all.n; i++)
		s[i] = all.v[i].s;
	ngaps = oncall_gaps(s, all.n, now_ms, to_ms, gaps, sizeof gaps / sizeof gaps[0]);
	for (size_t i = 0; i < ngaps && i < sizeof gaps / sizeof gaps[0]; i++) {
		cli_format_ms(pg, gaps[i].start_ms, a, sizeof a);
		cli_format_ms(pg, gaps[i].end_ms, b, sizeof b);
		line = xasprintf(gaps[i].backup_on ? "no primary from %s to %s: only the backup is on call" :
		    "nobody is on call from %s to %s", gaps[i].start_ms == now_ms ? "now" : a, b);
		say(arg, line);
		free(line);
		problems++;
	}
	for (size_t i = 0; i < all.n; i++) {
		for (size_t j = i + 1; j < all.n; j++) {
			if (all.v[i].s.tier != ONCALL_PRIMARY || all.v[j].s.tier != ONCALL_PRIMARY ||
			    all.v[i].s.staff_id == all.v[j].s.staff_id || !oncall_overlap(&all.v[i].s, &all.v[j].s))
				continue;
			line = xasprintf("%s (shift %lld, %s) and %s (shift %lld, %s) are both primary at once: "
			    "both are alerted", all.v[i].name, all.v[i].id, all.v[i].span, all.v[j].name, all.v[j].id,
			    all.v[j].span);
			say(arg, line);
			free(line);
			problems++;
		}
	}
	free(s);
	cli_shifts_free(&all);
	return problems;
}

static void
cli_check_say(void *arg, const char *line)
{
	(void)arg;
	printf("warning: %s\n", line);
}

static int
cli_oncall_check(PGconn *pg, int argc, char **argv)
{
	long long days = 7;
	int problems;

	if (argc == 3 && strcmp(argv[1], "--days") == 0)
		days = cli_id(argv[2]);
	else if (argc != 1)
		days = -1;
	if (days < 1 || days > 90) {
		fprintf(stderr, "carenav: usage: oncall check [--days N] (N from 1 to 90, default 7)\n");
		return 2;
	}
	problems = cli_oncall_problems(pg, (int)days, cli_check_say, NULL);
	if (problems < 0)
		return 1;
	if (problems == 0)
		printf("ok: a primary is on call all of the next %lld day(s), never two at once\n", days);
	return problems > 0 ? 1 : 0;
}

int
cli_oncall(PGconn *pg, const struct config *cfg, int argc, char **argv)
{
	static const struct cli_command cmds[] = { { "add", cli_oncall_add }, { "edit", cli_oncall_edit },
		{ "remove", cli_oncall_remove }, { "list", cli_oncall_list }, { "check", cli_oncall_check } };

	return cli_command_run(cmds, sizeof cmds / sizeof cmds[0], "oncall", pg, cfg, argc, argv);
}
