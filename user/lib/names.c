// SPDX-License-Identifier: GPL-2.0
/* Name tables for the lists of include/uapi/vstrace.h. */
#include <string.h>
#include "vstrace_nl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __NAME(id, name, ...) name,
#define __OP_NAME(id, name, val) [val] = name,

const char *const vs_transport_names[] = { VSTRACE_TRANSPORTS(__NAME) };
const char *const vs_stage_names[] = { VSTRACE_STAGES(__NAME) };
const char *const vs_dir_names[] = { VSTRACE_DIRS(__NAME) };
const char *const vs_op_names[] = { VSTRACE_OPS(__OP_NAME) };
const char *const vs_counter_names[] = { VSTRACE_COUNTERS(__NAME) };
const char *const vs_probe_kind_names[] = { VSTRACE_PROBE_KINDS(__NAME) };
const char *const vs_class_names[] = { VSTRACE_CLASSES(__NAME) };

_Static_assert(ARRAY_SIZE(vs_transport_names) == VSTRACE_NR_TRANSPORTS, "transports");
_Static_assert(ARRAY_SIZE(vs_stage_names) == VSTRACE_NR_STAGES, "stages");
_Static_assert(ARRAY_SIZE(vs_dir_names) == VSTRACE_NR_DIRS, "dirs");
_Static_assert(ARRAY_SIZE(vs_op_names) == VSTRACE_NR_OPS, "ops");
_Static_assert(ARRAY_SIZE(vs_counter_names) == VSTRACE_NR_COUNTERS, "counters");
_Static_assert(ARRAY_SIZE(vs_probe_kind_names) == VSTRACE_NR_PROBE_KINDS, "probe kinds");
_Static_assert(ARRAY_SIZE(vs_class_names) == VSTRACE_NR_CLASSES, "classes");

int vs_transport_parse(const char *s)
{
	for (unsigned int i = 0; i < VSTRACE_NR_TRANSPORTS; i++)
		if (!strcmp(s, vs_transport_names[i]))
			return (int)i;
	return -1;
}
