/*
 * check_kannel_conf.c - reading a sendsms-user out of kannel.conf
 * (kannel_conf_sendsms_user), and `carenav doctor` warning when Kannel
 * would drop the end of a text the gateway lets through (max-messages
 * lower than KANNEL_MAX_MESSAGES, or missing, or no concatenation).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "doctor.h"
#include "kannel_conf.h"
#include "xmalloc.h"

static const char conf[] =
    "# carenav's Kannel\n"
    "group = core\n"
    "admin-port = 13000\n"
    "\n"
    "group = sendsms-user\n"
    "username = other\n"
    "password = x\n"
    "max-messages = 2\n"
    "\n"
    "group = smsbox\n"
    "username = carenav\n"
    "max-messages = 99\n"
    "\n"
    "  group = sendsms-user  \n"
    "username = \"carenav\"\n"
    "password = \"p#w\"\n"
    "max-messages = 6   # six parts\n"
    "concatenation = true\n"
    "\n"
    "group = sendsms-user\n"
    "username = bare\n"
    "password = y\n"
    "group = sendsms-user\n"
    "username = nocat\n"
    "max-messages = 10\n"
    "concatenation = false\n";

START_TEST(test_sendsms_user_found_by_username)
{
	struct kannel_conf_user u;

	ck_assert(kannel_conf_sendsms_user(conf, "carenav", &u));
	ck_assert_int_eq(u.max_messages, 6);
	ck_assert_int_eq(u.concatenation, 1);
	ck_assert(kannel_conf_sendsms_user(conf, "other", &u));
	ck_assert_int_eq(u.max_messages, 2);
	ck_assert_int_eq(u.concatenation, -1);
	/* A group ended by the next "group =" line, not a blank line. */
	ck_assert(kannel_conf_sendsms_user(conf, "bare", &u));
	ck_assert_int_eq(u.max_messages, -1);
	ck_assert_int_eq(u.concatenation, -1);
	/* The last group, ended by the end of the file. */
	ck_assert(kannel_conf_sendsms_user(conf, "nocat", &u));
	ck_assert_int_eq(u.max_messages, 10);
	ck_assert_int_eq(u.concatenation, 0);
	/* A username in another kind of group is not a sendsms-user. */
	ck_assert(!kannel_conf_sendsms_user("group = smsbox\nusername = carenav\nmax-messages = 9\n",
	    "carenav", &u));
	ck_assert(!kannel_conf_sendsms_user(conf, "nobody", &u));
	ck_assert(!kannel_conf_sendsms_user("", "carenav", &u));
	ck_assert(!kannel_conf_sendsms_user(NULL, "carenav", &u));
	/* Not a number: as if not set. */
	ck_assert(kannel_conf_sendsms_user("group = sendsms-user\nusername = a\nmax-messages = lots\n"
	    "concatenation = yes\n", "a", &u));
	ck_assert_int_eq(u.max_messages, -1);
	ck_assert_int_eq(u.concatenation, 1);
}
END_TEST

/* Writes text to a new file named from path (a mkstemp template, filled in). */
static void
write_conf(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert(fputs(text, f) >= 0);
	ck_assert(fclose(f) == 0);
}

/* What `carenav doctor` prints for SMS_PROVIDER=kannel with KANNEL_CONF=path (caller frees). */
static char *
doctor_with_conf(const char *path, const char *username)
{
	const char *env[] = { "SMS_PROVIDER", "kannel", "KANNEL_USERNAME", username, "KANNEL_PASSWORD", "pw",
		"KANNEL_SHARED_SECRET", "s3cret", "KANNEL_CONF", path,
		"KANNEL_SENDSMS_URL", "http://127.0.0.1:1/cgi-bin/sendsms",
		"DATABASE_URL", "host=/nonexistent-carenav-socket dbname=x connect_timeout=1", NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	unit_env_set(env);
	(void)doctor_run(unit_env_get, out);
	fclose(out);
	return buf;
}

START_TEST(test_doctor_warns_on_kannel_conf)
{
	char path[] = "/tmp/check_kannel_conf.XXXXXX";
	char *out;

	write_conf(path, conf);
	/* max-messages = 6 < KANNEL_MAX_MESSAGES (default 10). */
	out = doctor_with_conf(path, "carenav");
	ck_assert_msg(strstr(out, "warn") && strstr(out, "has max-messages = 6, lower than KANNEL_MAX_MESSAGES=10"),
	    "%s", out);
	free(out);
	out = doctor_with_conf(path, "bare");
	ck_assert_msg(strstr(out, "sets no max-messages"), "%s", out);
	free(out);
	out = doctor_with_conf(path, "nocat");
	ck_assert_msg(strstr(out, "does not set concatenation = true"), "%s", out);
	free(out);
	out = doctor_with_conf(path, "nobody");
	ck_assert_msg(strstr(out, "has no sendsms-user with username = nobody"), "%s", out);
	free(out);
	unlink(path);
	/* Unreadable (Kannel on another host): nothing said about it. */
	out = doctor_with_conf("/nonexistent/kannel.conf", "carenav");
	ck_assert_msg(strstr(out, "kannel.conf") == NULL && strstr(out, "max-messages") == NULL, "%s", out);
	free(out);
}
END_TEST

START_TEST(test_doctor_ok_when_kannel_takes_enough)
{
	char path[] = "/tmp/check_kannel_conf.XXXXXX";
	char *out;

	write_conf(path, "group = sendsms-user\nusername = carenav\nmax-messages = 10\nconcatenation = true\n");
	out = doctor_with_conf(path, "carenav");
	ck_assert_msg(strstr(out, "up to 10 concatenated segments (KANNEL_MAX_MESSAGES=10)") != NULL, "%s", out);
	free(out);
	unlink(path);
}
END_TEST

CHECK_RUN_MAIN("kannel_conf", 60, test_sendsms_user_found_by_username, test_doctor_warns_on_kannel_conf,
    test_doctor_ok_when_kannel_takes_enough)
