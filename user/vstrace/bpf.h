/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The eBPF backend of vstrace: load bpf/vstrace.bpf.o through its skeleton,
 * attach it, and read its counters into the same structures the module's
 * netlink client fills (vstrace_nl.h).
 *
 * A session is a set of pins under the pin directory (VSTRACE_BPF_PIN_DIR,
 * /sys/fs/bpf/vstrace): one per program - a link if it is attached - and
 * the maps under maps/.  It outlives the process that made it, and one made
 * by hand reads the same way:
 *
 *   bpftool prog loadall bpf/vstrace.bpf.o /sys/fs/bpf/vstrace autoattach \
 *           pinmaps /sys/fs/bpf/vstrace/maps
 *
 * (without pinmaps too, while the programs are pinned: the maps are then
 * found through them).
 *
 * Every call returns 0 or a negative errno, and on failure writes a message
 * to @err (@errlen bytes, always terminated).
 */
#ifndef VS_VSTRACE_BPF_H
#define VS_VSTRACE_BPF_H

#include <stddef.h>
#include "vstrace_nl.h"

/*
 * Start a session: open the skeleton, set the filters, load, attach every
 * program whose function this kernel has (the others are left out, and so
 * are programs that fail to attach), pin links and maps.  -EBUSY if a
 * session is running; the counters of a stopped one are dropped.  On
 * success @err names the probe points left out, or is empty.
 */
int vs_bpf_start(const struct vs_filter *f, char *err, size_t errlen);

/*
 * Stop the session: remove the program and link pins, which detaches the
 * programs; the maps stay pinned, so the counters stay readable.  Called
 * again once stopped, remove the maps too.  -ENOENT if there is nothing.
 */
int vs_bpf_stop(char *err, size_t errlen);

/*
 * Read the counters (@stats) and the session state (@st: probe points,
 * filters, times); either may be NULL.  -ENOENT without a session.
 */
int vs_bpf_read(struct vs_stats *stats, struct vs_status *st, char *err,
		size_t errlen);

/* Zero every counter of the session, running or stopped. */
int vs_bpf_reset(char *err, size_t errlen);

/* Use @dir instead of VSTRACE_BPF_PIN_DIR (tests); NULL restores it. */
void vs_bpf_set_pin_dir(const char *dir);

#endif
