/* SPDX-License-Identifier: GPL-2.0 */
/* Printing what vstrace reads (show.c). */
#ifndef VSTRACE_SHOW_H
#define VSTRACE_SHOW_H

#include <stdbool.h>
#include <stdio.h>
#include "json_writer.h"
#include "vstrace_nl.h"

/*
 * The "vstrace show --json" object: kernel, backend, session, stages, ops,
 * packets, credit, drops, tx_queue_max, overhead, counters, probes.
 */
void vs_show_json(FILE *out, bool pretty, const char *backend, const struct vs_status *st,
		  const struct vs_stats *s);
/* The text form on stdout: packets per op, the per-stage table, counters. */
void vs_show_text(const char *backend, const struct vs_status *st, const struct vs_stats *s);
/* The "probes" list of status and show --json. */
void vs_show_probes_json(json_writer_t *w, const struct vs_status *st);
/* How a probe runs ("ftrace, return"; "-" when the backend does not say). */
void vs_probe_kind_text(const struct vs_probe_status *p, char *buf, size_t len);
/* "none", or the session's filters, on stdout. */
void vs_print_filters(const struct vs_status *st);

#endif
