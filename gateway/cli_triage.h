/*
 * cli_triage.h - "carenav triage": the red-flag matcher on texts from stdin,
 * so a clinician can check a phrase-list change before loading it.
 */
#ifndef CARENAV_GATEWAY_CLI_TRIAGE_H
#define CARENAV_GATEWAY_CLI_TRIAGE_H

struct redflag_rules;

/* argv[0] is "triage"; reads stdin, writes JSON Lines to stdout; returns the exit status. */
int cli_triage(const struct redflag_rules *rules, int argc, char **argv);

#endif
