/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracers vstrace can drive, behind one set of calls: "kmod"
 * (vstrace.ko over generic netlink) and "bpf" (bpf/vstrace.bpf.o).
 * Every call returns 0 or a negative errno with a message in @err.
 */
#ifndef VSTRACE_BACKEND_H
#define VSTRACE_BACKEND_H

#include <stddef.h>
#include "vstrace_nl.h"

struct vs_backend {
	const char *name;
	/* @st or @stats may be NULL. */
	int (*read)(struct vs_status *st, struct vs_stats *stats, char *err,
		    size_t errlen);
	/* On success @err may carry a note (probe points left out). */
	int (*start)(const struct vs_filter *f, char *err, size_t errlen);
	int (*stop)(char *err, size_t errlen);
	int (*reset)(char *err, size_t errlen);
};

/* NULL if @name is not a backend. */
const struct vs_backend *vs_backend_get(const char *name);

#endif
