/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vstrace_delay.ko for the selftests (selftests/delay/vstrace_delay.c): load
 * it with a function and a delay, read how often and how long it really
 * spun, unload it.  The module is build/delay-$(uname -r)/vstrace_delay.ko
 * under the project directory.
 */
#ifndef VSTRACE_SELFTEST_DELAY_UTIL_H
#define VSTRACE_SELFTEST_DELAY_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define DELAY_MODULE		"vstrace_delay"
#define DELAY_PARAMS_DIR	"/sys/module/" DELAY_MODULE "/parameters"

/* What to delay: func= and where= of the module, and caller= or NULL. */
struct delay_spec {
	const char *func;
	const char *where;	/* "entry" or "return" */
	const char *caller;	/* spin only when called from it; NULL: always */
	int match_op;		/* spin only inside a recv_pkt of this op; 0: any */
	int match_arg;		/* with match_op: the op of func's own argument N */
	uint64_t delay_ns;
};

/* What the module spun: read before and after, subtract. */
struct delay_count {
	uint64_t hits;
	uint64_t spun_ns;
	uint64_t missed;
};

static inline bool delay_loaded(void)
{
	return access("/sys/module/" DELAY_MODULE, F_OK) == 0;
}

static inline void delay_ko_path(const char *project, char *buf, size_t len)
{
	struct utsname u;

	uname(&u);
	snprintf(buf, len, "%s/build/delay-%s/" DELAY_MODULE ".ko", project,
		 u.release);
}

/*
 * Load the module for @spec; 0 or a negative errno (the kernel log says
 * why a function cannot be probed).
 */
static inline int delay_load(const char *project, const struct delay_spec *spec)
{
	char path[PATH_MAX + 128], params[512];
	int fd, ret;

	if (delay_loaded())
		return -EEXIST;
	delay_ko_path(project, path, sizeof(path));
	snprintf(params, sizeof(params),
		 "func=%s where=%s delay_ns=%llu match_op=%d match_arg=%d%s%s",
		 spec->func, spec->where, (unsigned long long)spec->delay_ns,
		 spec->match_op, spec->match_arg, spec->caller ? " caller=" : "",
		 spec->caller ? spec->caller : "");
	/* More parameters for an experiment, e.g. relax=0. */
	if (getenv("VSTRACE_DELAY_PARAMS"))
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
			 " %s", getenv("VSTRACE_DELAY_PARAMS"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int delay_unload(void)
{
	if (!delay_loaded())
		return 0;
	return syscall(SYS_delete_module, DELAY_MODULE, O_NONBLOCK) ? -errno : 0;
}

/* One number from the module's parameters directory. */
static inline int delay_read_param(const char *name, uint64_t *val)
{
	char path[256];
	unsigned long long v;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), DELAY_PARAMS_DIR "/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*val = v;
	return 0;
}

static inline int delay_write_param(const char *name, uint64_t val)
{
	char path[256];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), DELAY_PARAMS_DIR "/%s", name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%llu\n", (unsigned long long)val) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* Change the delay of the loaded module (0 stops delaying). */
static inline int delay_set_ns(uint64_t ns)
{
	return delay_write_param("delay_ns", ns);
}

static inline int delay_read(struct delay_count *c)
{
	int err;

	err = delay_read_param("hits", &c->hits);
	if (!err)
		err = delay_read_param("spun_ns", &c->spun_ns);
	if (!err)
		err = delay_read_param("missed", &c->missed);
	return err;
}

/* @after - @before, field by field. */
static inline struct delay_count delay_diff(const struct delay_count *after,
					    const struct delay_count *before)
{
	struct delay_count d = {
		.hits = after->hits - before->hits,
		.spun_ns = after->spun_ns - before->spun_ns,
		.missed = after->missed - before->missed,
	};

	return d;
}

#endif
