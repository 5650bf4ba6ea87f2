/* SPDX-License-Identifier: GPL-2.0 */
/* Printing what vstrace reads (show.c). */
#ifndef VSTRACE_SHOW_H
#define VSTRACE_SHOW_H

#include <stdbool.h>
#include <stdio.h>
#include "vstrace_nl.h"

/*
 * The "vstrace show --json" object: kernel, backend, session, stages, ops,
 * packets, credit, drops, tx_queue_max, overhead, counters, probes.
 */
void vs_show_json(FILE *out, bool pretty, const char *backend, const struct vs_status *st,
		  const struct vs_stats *s);
/* The text form on stdout: packets per op, the per-stage table, counters. */
void vs_show_text(const char *backend, const struct vs_status *st, const struct vs_stats *s);
/* "none", or the session's filters, on stdout. */
void vs_print_filters(const struct vs_status *st);

#endif
