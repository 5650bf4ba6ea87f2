/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every selftest shares about the testbed it runs in: whether it is
 * there, the kernel's complaints (to compare before and after a test), and
 * loading vstrace.ko from the project's build directory.
 */
#ifndef VSTRACE_SELFTEST_TESTBED_UTIL_H
#define VSTRACE_SELFTEST_TESTBED_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Inside tools/testbed/run (VSTRACE_TESTBED=1): kernel work is allowed. */
static inline bool in_testbed(void)
{
	const char *s = getenv("VSTRACE_TESTBED");

	return s && !strcmp(s, "1");
}

/*
 * Lines of kernel trouble in dmesg (warnings, BUGs, oopses, lockups, leaks):
 * counted at a fixture's setup and compared at its teardown.  -1 if dmesg
 * cannot be read.
 */
static inline int kernel_trouble(void)
{
	FILE *f = popen("dmesg 2>/dev/null | grep -cE "
			"'WARNING:|BUG:|Oops|general protection|soft lockup|refcount_t|kmemleak'",
			"r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

static inline bool vstrace_ko_loaded(void)
{
	return access("/sys/module/vstrace", F_OK) == 0;
}

/* $VSTRACE_KO, else @project/build/kmod-$(uname -r)/vstrace.ko. */
static inline void vstrace_ko_path(const char *project, char *buf, size_t len)
{
	const char *env = getenv("VSTRACE_KO");
	struct utsname u;

	uname(&u);
	if (env)
		snprintf(buf, len, "%s", env);
	else
		snprintf(buf, len, "%s/build/kmod-%s/vstrace.ko", project, u.release);
}

/* Load vstrace.ko with @params unless it is loaded; 0 or -errno. */
static inline int vstrace_ko_load(const char *project, const char *params)
{
	char path[PATH_MAX + 128];
	int fd, ret;

	if (vstrace_ko_loaded())
		return 0;
	vstrace_ko_path(project, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int vstrace_ko_unload(void)
{
	if (!vstrace_ko_loaded())
		return 0;
	return syscall(SYS_delete_module, "vstrace", O_NONBLOCK) ? -errno : 0;
}

#endif
