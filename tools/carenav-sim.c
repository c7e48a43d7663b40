/*
 * carenav-sim - text the running gateway as if from a phone.
 *
 *   carenav-sim [--from +15551230001] [--to +15550001111] "my back hurts"
 *   carenav-sim --from +15551230001          (interactive: one text per line)
 *
 * Each text is posted to the gateway's Twilio webhook, exactly as Twilio
 * would. With the sandbox provider the gateway writes every outbound SMS to
 * a log (SANDBOX_OUTBOX_LOG, default var/outbox.log); the simulator reads
 * the new lines addressed to its number and prints them as the phone would
 * show them. The sandbox takes these unsigned posts from this machine
 * only, unless the gateway sets SANDBOX_WEBHOOK_SECRET: then the simulator
 * sends the same value (from its own environment) in X-Sandbox-Secret.
 * A CLI, so blocking libcurl is fine here.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "form.h"
#include "http_discard.h"
#include "xmalloc.h"

struct sim {
	const char *url;   /* the webhook */
	const char *from;  /* the simulated patient */
	const char *to;    /* the clinic's number */
	const char *log;   /* the sandbox provider's log */
	const char *secret; /* SANDBOX_WEBHOOK_SECRET, or NULL */
	double wait_s;     /* longest wait for replies */
	double quiet_s;    /* stop waiting once replies pause this long */
};

static double
sim_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static long
sim_log_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static bool
sim_post(const struct sim *sim, const char *text)
{
	char sid[40];
	const char *kv[] = { "MessageSid", sid, "SmsSid", sid, "AccountSid", "ACsimulator",
		"From", sim->from, "To", sim->to, "Body", text, "NumMedia", "0" };
	char *body;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	CURLcode rc;
	long status = 0;

	snprintf(sid, sizeof sid, "SMsim%08x%08x%08x", (unsigned)arc4random(), (unsigned)arc4random(),
	    (unsigned)arc4random());
	body = form_encode(kv, 7);
	curl_easy_setopt(curl, CURLOPT_URL, sim->url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_discard_cb);
	if (sim->secret != NULL) {
		char *h = xasprintf("X-Sandbox-Secret: %s", sim->secret);

		headers = curl_slist_append(headers, h);
		free(h);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(body);
	if (rc != CURLE_OK) {
		fprintf(stderr, "carenav-sim: cannot reach %s: %s (is the gateway running?)\n", sim->url,
		    curl_easy_strerror(rc));
		return false;
	}
	if (status == 403) {
		fprintf(stderr, "carenav-sim: gateway refused the text (HTTP 403): the sandbox takes texts from its "
		    "own machine only, or needs SANDBOX_WEBHOOK_SECRET set here as on the gateway; with "
		    "SMS_PROVIDER=twilio or kannel it takes only that provider's signed posts\n");
		return false;
	}
	if (status != 200) {
		fprintf(stderr, "carenav-sim: gateway answered HTTP %ld\n", status);
		return false;
	}
	return true;
}

/* Prints log lines for our number written after offset; returns how many. */
static int
sim_read_replies(const struct sim *sim, long *offset)
{
	FILE *f = fopen(sim->log, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;

	if (f == NULL)
		return 0;
	fseek(f, *offset, SEEK_SET);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *doc;
		const char *to;

		if (line[n - 1] != '\n')
			break;  /* a line still being written: read it next time */
		*offset += (long)n;
		doc = json_loads(line, 0, NULL);
		to = json_string_value(json_object_get(doc, "to"));
		if (to != NULL && strcmp(to, sim->from) == 0) {
			printf("< %s\n\n", json_string_value(json_object_get(doc, "body")));
			count++;
		}
		json_decref(doc);
	}
	free(line);
	fclose(f);
	fflush(stdout);
	return count;
}

static bool
sim_text(const struct sim *sim, const char *text)
{
	long offset = sim_log_size(sim->log);
	double start = sim_now(), last = 0;
	int got = 0;

	printf("> %s\n", text);
	if (!sim_post(sim, text))
		return false;
	while (sim_now() - start < sim->wait_s) {
		int n = sim_read_replies(sim, &offset);

		if (n > 0) {
			got += n;
			last = sim_now();
		} else if (got > 0 && sim_now() - last > sim->quiet_s) {
			break;
		}
		usleep(100 * 1000);
	}
	if (got == 0)
		printf("(no reply within %.0f s; is SMS_PROVIDER=sandbox and %s the gateway's log?)\n",
		    sim->wait_s, sim->log);
	return true;
}

static void
sim_usage(void)
{
	fprintf(stderr,
	    "usage: carenav-sim [--url URL] [--from NUMBER] [--to NUMBER] [--log FILE] [--wait SECONDS] [TEXT]\n"
	    "  Without TEXT, reads one text per line from standard input.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' }, { "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' }, { "log", required_argument, NULL, 'l' },
		{ "wait", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *port = getenv("HTTP_PORT"), *var = getenv("VAR_DIR");
	const char *sandbox_log = getenv("SANDBOX_OUTBOX_LOG");
	const char *secret = getenv("SANDBOX_WEBHOOK_SECRET");
	struct sim sim = { 0 };
	char *url, *log;
	int c, rc = 0;

	url = xasprintf("http://127.0.0.1:%s/sms/inbound", port ? port : "8080");
	log = sandbox_log && *sandbox_log ? xstrdup(sandbox_log) : xasprintf("%s/outbox.log", var ? var : "var");
	sim.url = url;
	sim.log = log;
	sim.secret = secret && *secret ? secret : NULL;
	sim.from = "+15551230001";
	sim.to = "+15550001111";
	sim.wait_s = 8;
	sim.quiet_s = 1.5;
	while ((c = getopt_long(argc, argv, "u:f:t:l:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': sim.url = optarg; break;
		case 'f': sim.from = optarg; break;
		case 't': sim.to = optarg; break;
		case 'l': sim.log = optarg; break;
		case 'w': sim.wait_s = atof(optarg); break;
		default: sim_usage(); return c == 'h' ? 0 : 2;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (optind < argc) {
		rc = sim_text(&sim, argv[optind]) ? 0 : 1;
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		fprintf(stderr, "Texting %s as %s. Type a message and press Enter (Ctrl-D to quit).\n",
		    sim.to, sim.from);
		while ((n = getline(&line, &cap, stdin)) > 0) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] != '\0' && !sim_text(&sim, line))
				rc = 1;
		}
		free(line);
	}
	curl_global_cleanup();
	free(url);
	free(log);
	return rc;
}
