/*
 * cli_triage.h - "carenav triage": both red-flag detectors (phrase rules and
 * text model) on texts from stdin, so a clinician can check a phrase-list or
 * model change before loading it; and "carenav triage train", which builds
 * the text model from the labelled texts.
 */
#ifndef CARENAV_GATEWAY_CLI_TRIAGE_H
#define CARENAV_GATEWAY_CLI_TRIAGE_H

struct triage;

/* argv[0] is "triage"; reads stdin, writes JSON Lines to stdout; returns the exit status. */
int cli_triage(const struct triage *t, int argc, char **argv);

/* argv[0] is "train": carenav triage train --out FILE [--data DIR]; returns the exit status. */
int cli_triage_train(int argc, char **argv);

#endif
