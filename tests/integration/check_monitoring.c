/*
 * check_monitoring.c - the dashboard and the alert rules read metrics that
 * exist: every carenav_* name in deploy/grafana/carenav.json's queries and
 * in deploy/prometheus/carenav-rules.yml's expressions is a family the
 * running gateway exports at /metrics (histogram names by their _bucket,
 * _sum and _count series), except carenav_backup_*, which deploy/pg-backup
 * writes for node_exporter. The dashboard is valid JSON whose panels each
 * have a place and at least one query. (promtool checks the rules' syntax
 * and behaviour: tests prom_rules_check and prom_rules_test.)
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_text.h"
#include "harness.h"
#include "xmalloc.h"

#define PATIENT "+15551230001"
#define CLINIC "+15550001111"

/* True if /metrics has a sample line of exactly this series name. */
static bool
monitoring_exported(const char *metrics, const char *name)
{
	size_t n = strlen(name);
	const char *p = metrics;

	while ((p = strstr(p, name)) != NULL) {
		bool line_start = p == metrics || p[-1] == '\n';

		if (line_start && (p[n] == ' ' || p[n] == '{'))
			return true;
		p += n;
	}
	return false;
}

/* Checks every carenav_* word in text; returns how many were checked. */
static int
monitoring_check_names(const char *metrics, const char *text, const char *where)
{
	const char *p = text;
	int checked = 0;

	while ((p = strstr(p, "carenav_")) != NULL) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		char *name = xstrndup(p, n);

		/* carenav_backup_* comes from deploy/pg-backup, not the gateway; "carenav-rules" is a file name. */
		if (p > text && (p[-1] == '_' || p[-1] == '/' || p[-1] == '-')) {
			/* part of a longer word or a path */
		} else if (strncmp(name, "carenav_backup_", 15) != 0) {
			ck_assert_msg(monitoring_exported(metrics, name), "%s uses %s, which /metrics does not export",
			    where, name);
			checked++;
		}
		free(name);
		p += n;
	}
	return checked;
}

START_TEST(test_dashboard_and_rules_use_real_metrics)
{
	const char *deploy = getenv("CARENAV_DEPLOY_DIR");
	char *conninfo = harness_db_create(), *metrics = NULL, *path, *rules, *line;
	struct harness_gw gw;
	json_error_t err;
	json_t *dash, *panels, *panel;
	size_t i;
	int queries = 0, checked = 0, rule_names = 0;

	ck_assert_ptr_nonnull(deploy);
	harness_gw_init(&gw, conninfo, NULL);
	harness_gw_start(&gw);
	ck_assert_int_eq(harness_post_sms(gw.port, "SMmon001", PATIENT, CLINIC, "my back hurts"), 200);
	ck_assert_int_eq(harness_get(gw.port, "/metrics", &metrics), 200);
	/* The database-wide gauges are only there while the database is up. */
	ck_assert_msg(monitoring_exported(metrics, "carenav_oncall_staff"), "%s", metrics);
	ck_assert(!monitoring_exported(metrics, "carenav_oncall"));

	path = xasprintf("%s/grafana/carenav.json", deploy);
	dash = json_load_file(path, 0, &err);
	ck_assert_msg(dash != NULL, "%s:%d: %s", path, err.line, err.text);
	ck_assert_str_eq(json_string_value(json_object_get(dash, "uid")), "carenav");
	panels = json_object_get(dash, "panels");
	ck_assert(json_is_array(panels) && json_array_size(panels) >= 10);
	json_array_foreach(panels, i, panel) {
		const char *type = json_string_value(json_object_get(panel, "type"));
		json_t *targets = json_object_get(panel, "targets"), *target, *pos;
		size_t j;

		ck_assert_ptr_nonnull(type);
		pos = json_object_get(panel, "gridPos");
		ck_assert_msg(json_is_integer(json_object_get(pos, "w")) && json_is_integer(json_object_get(pos, "y")),
		    "panel %zu has no gridPos", i);
		if (strcmp(type, "row") == 0)
			continue;
		ck_assert_msg(json_array_size(targets) >= 1, "panel %zu has no query", i);
		json_array_foreach(targets, j, target) {
			const char *expr = json_string_value(json_object_get(target, "expr"));
			char *where = xasprintf("dashboard panel \"%s\"",
			    json_string_value(json_object_get(panel, "title")));

			ck_assert_ptr_nonnull(expr);
			ck_assert_msg(strstr(expr, "carenav_") != NULL, "%s: %s", where, expr);
			checked += monitoring_check_names(metrics, expr, where);
			queries++;
			free(where);
		}
	}
	ck_assert_int_ge(queries, 30);
	ck_assert_int_ge(checked, 30);
	json_decref(dash);
	free(path);

	/* The rules: only the expression lines are read (comments name files and settings). */
	path = xasprintf("%s/prometheus/carenav-rules.yml", deploy);
	rules = file_text_read(path, NULL);
	for (line = strtok(rules, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *expr = strstr(line, "expr:");

		if (expr != NULL && strchr(line, '#') == NULL)
			rule_names += monitoring_check_names(metrics, expr, "carenav-rules.yml");
	}
	ck_assert_int_ge(rule_names, 12);
	free(rules);
	free(path);
	free(metrics);
	harness_gw_stop_clean(&gw);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("monitoring", 60, test_dashboard_and_rules_use_real_metrics)
