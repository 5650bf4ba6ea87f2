// SPDX-License-Identifier: GPL-2.0
/*
 * The eBPF backend: start, stop, reset and read sessions of
 * bpf/vstrace.bpf.o (see bpf.h for what a session is).
 *
 * Start follows the libbpf-tools loaders: open the skeleton, set the rodata
 * filters, load, attach, then pin instead of polling, so that the session
 * outlives this process.  Readers find everything by path; the skeleton,
 * opened but never loaded, tells them the program and map names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf.h"
#include "vstrace.h"
#include "vstrace.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define __PROBE_NAME(id, name) name,
static const char *const probe_points[] = { VSTRACE_BPF_PROBES(__PROBE_NAME) };
_Static_assert(ARRAY_SIZE(probe_points) == VSTRACE_BPF_NR_PROBES, "probes");

static char pin_dir[PATH_MAX - 64] = VSTRACE_BPF_PIN_DIR;

void vs_bpf_set_pin_dir(const char *dir)
{
	snprintf(pin_dir, sizeof(pin_dir), "%s", dir ? dir : VSTRACE_BPF_PIN_DIR);
}

static int set_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* libbpf's last warning, to explain a failed load or attach. */
static char libbpf_msg[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t n;

	if (getenv("VSTRACE_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
	n = strlen(libbpf_msg);
	if (n && libbpf_msg[n - 1] == '\n')
		libbpf_msg[n - 1] = '\0';
	return 0;
}

/* "kprobe/FUNC" -> "FUNC" */
static const char *prog_point(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

static int probe_index(const char *point)
{
	for (int i = 0; i < VSTRACE_BPF_NR_PROBES; i++)
		if (!strcmp(point, probe_points[i]))
			return i;
	return -1;
}

/* The skeleton, opened only: program and map names, rodata layout. */
static int open_skel(struct vstrace **skel, char *err, size_t errlen)
{
	int ret;

	libbpf_set_print(libbpf_print);
	libbpf_msg[0] = '\0';
	*skel = vstrace__open();
	if (*skel)
		return 0;
	ret = errno ? -errno : -EINVAL;
	return set_err(err, errlen, ret, "cannot open the BPF skeleton: %s",
		       libbpf_msg[0] ? libbpf_msg : strerror(-ret));
}

/* Pin name of a map, as bpf_object__pin_maps() makes it ('.' -> '_'). */
static void map_pin_path(char *buf, size_t len, const char *map_name)
{
	char *p;
	int n;

	n = snprintf(buf, len, "%s/%s/", pin_dir, VSTRACE_BPF_MAP_SUBDIR);
	snprintf(buf + n, len - (size_t)n, "%s", map_name);
	for (p = buf + n; *p; p++)
		if (*p == '.')
			*p = '_';
}

/* A pinned object is a link, not a program (both answer get_info). */
static bool is_link_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:bpf-link");
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* ---- a session as found on bpffs ---- */

struct session {
	struct vstrace *skel;			/* opened, not loaded */
	int stats_fd, session_fd, rodata_fd;	/* -1: not found */
	bool maps_pinned;			/* stats found under maps/ */
	int nr_links;				/* attached programs */
	int nr_progs;				/* programs pinned unattached */
	bool linked[VSTRACE_BPF_NR_PROBES];
	__u32 prog_ids[VSTRACE_BPF_NR_PROBES];	/* of the pins */
	int nr_prog_ids;
	__u64 load_time;			/* earliest, boottime ns; 0: none */
};

static void session_close(struct session *s)
{
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->session_fd >= 0)
		close(s->session_fd);
	if (s->rodata_fd >= 0)
		close(s->rodata_fd);
	vstrace__destroy(s->skel);
}

/* Take map @fd as one of the session's, by its kernel name; else close it. */
static void adopt_map(struct session *s, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const char *rodata = bpf_map__name(s->skel->maps.rodata);
	int *slot = NULL;

	if (!bpf_map_get_info_by_fd(fd, &info, &len)) {
		if (!strcmp(info.name, VSTRACE_BPF_STATS_MAP))
			slot = &s->stats_fd;
		else if (!strcmp(info.name, VSTRACE_BPF_SESSION_MAP))
			slot = &s->session_fd;
		else if (!strncmp(info.name, rodata, sizeof(info.name) - 1))
			slot = &s->rodata_fd;
	}
	if (slot && *slot < 0)
		*slot = fd;
	else
		close(fd);
}

/* The maps a pinned program (or the program of a pinned link) uses. */
static void maps_of_prog(struct session *s, int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[16];
	int fd;

	info.nr_map_ids = ARRAY_SIZE(ids);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return;
	if (s->nr_prog_ids < VSTRACE_BPF_NR_PROBES)
		s->prog_ids[s->nr_prog_ids++] = info.id;
	if (info.load_time && (!s->load_time || info.load_time < s->load_time))
		s->load_time = info.load_time;
	for (__u32 i = 0; i < info.nr_map_ids && i < ARRAY_SIZE(ids); i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd >= 0)
			adopt_map(s, fd);
	}
}

/* Look at what is pinned: -ENOENT if nothing of a session is. */
static int session_find(struct session *s, char *err, size_t errlen)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	int fd, idx, ret;

	memset(s, 0, sizeof(*s));
	s->stats_fd = s->session_fd = s->rodata_fd = -1;
	ret = open_skel(&s->skel, err, errlen);
	if (ret)
		return ret;

	map_pin_path(path, sizeof(path), VSTRACE_BPF_STATS_MAP);
	s->stats_fd = bpf_obj_get(path);
	s->maps_pinned = s->stats_fd >= 0;
	map_pin_path(path, sizeof(path), VSTRACE_BPF_SESSION_MAP);
	s->session_fd = bpf_obj_get(path);
	map_pin_path(path, sizeof(path), bpf_map__name(s->skel->maps.rodata));
	s->rodata_fd = bpf_obj_get(path);

	bpf_object__for_each_program(prog, s->skel->obj) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int prog_fd;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_program__name(prog));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (is_link_fd(fd) && !bpf_link_get_info_by_fd(fd, &info, &len)) {
			idx = probe_index(prog_point(prog));
			if (idx >= 0)
				s->linked[idx] = true;
			s->nr_links++;
			prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
			if (prog_fd >= 0) {
				maps_of_prog(s, prog_fd);
				close(prog_fd);
			}
		} else {
			s->nr_progs++;
			maps_of_prog(s, fd);
		}
		close(fd);
	}
	if (s->stats_fd < 0 && !s->nr_links && !s->nr_progs) {
		session_close(s);
		return set_err(err, errlen, -ENOENT,
			       "no BPF session (nothing pinned in %s)", pin_dir);
	}
	if (s->stats_fd < 0) {
		session_close(s);
		return set_err(err, errlen, -ENOENT,
			       "%s holds programs but no map %s", pin_dir,
			       VSTRACE_BPF_STATS_MAP);
	}
	return 0;
}

/* Unlink every entry of directory @path but @keep; 0 if it does not exist. */
static int unlink_entries(const char *path, const char *keep)
{
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (keep && !strcmp(de->d_name, keep)))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) && errno != ENOENT)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

/* Remove the program and link pins (detaches), or with @maps everything. */
static int unpin_all(bool maps)
{
	char path[PATH_MAX];
	int ret = 0, r;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, VSTRACE_BPF_MAP_SUBDIR);
	if (maps) {
		ret = unlink_entries(path, NULL);
		if (rmdir(path) && errno != ENOENT)
			ret = -errno;
	}
	r = unlink_entries(pin_dir, VSTRACE_BPF_MAP_SUBDIR);
	if (r)
		ret = r;
	if (maps && rmdir(pin_dir) && errno != ENOENT)
		ret = -errno;
	return ret;
}

/*
 * The kernel lets go of an unpinned link from a workqueue, so programs may
 * run for a while after unlink(): wait until each is freed, which is after
 * its link detached it.
 */
static int wait_progs_gone(const __u32 *ids, int n)
{
	int fd, i, waited_ms = 0;

	for (i = 0; i < n; i++) {
		while ((fd = bpf_prog_get_fd_by_id(ids[i])) >= 0) {
			close(fd);
			if (waited_ms++ >= 10000)
				return -ETIMEDOUT;
			usleep(1000);
		}
	}
	return 0;
}

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* A program's load_time (boottime ns) as CLOCK_REALTIME ns. */
static __u64 boottime_to_real(__u64 t)
{
	return now_ns(CLOCK_REALTIME) - (now_ns(CLOCK_BOOTTIME) - t);
}

/* The kernel functions of @want (NULL-terminated) found in /proc/kallsyms. */
static int kallsyms_find(const char **want, bool *found, int n)
{
	char line[512], name[256];
	char type;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %c %255s", &type, name) != 2 ||
		    (type != 't' && type != 'T'))
			continue;
		for (int i = 0; i < n; i++)
			if (!found[i] && !strcmp(name, want[i]))
				found[i] = true;
	}
	fclose(f);
	return 0;
}

/* ---- the API ---- */

int vs_bpf_start(const struct vs_filter *f, char *err, size_t errlen)
{
	struct vstrace_bpf_session sess = { .start_ns = now_ns(CLOCK_REALTIME) };
	const char *points[VSTRACE_BPF_NR_PROBES + 1] = {};
	bool found[VSTRACE_BPF_NR_PROBES + 1] = {};
	struct bpf_program *progs[VSTRACE_BPF_NR_PROBES + 1];
	char path[PATH_MAX], left_out[512] = "";
	struct bpf_program *prog;
	struct vstrace *skel;
	struct session old;
	int i, n = 0, attached = 0, zero = 0, ret;
	size_t lo = 0;

	snprintf(path, sizeof(path), "%s", pin_dir);
	if (!is_bpffs(dirname(path)))
		return set_err(err, errlen, -ENODEV, "%s is not on a BPF file system (bpffs)",
			       pin_dir);
	ret = session_find(&old, err, errlen);
	if (!ret) {
		bool running = old.nr_links > 0;

		session_close(&old);
		if (running)
			return set_err(err, errlen, -EBUSY,
				       "a BPF session is already running (%s)", pin_dir);
	}
	/* A stopped session's counters, or a half-made one: dropped. */
	unpin_all(true);

	ret = open_skel(&skel, err, errlen);
	if (ret)
		return ret;
	skel->rodata->targ_cid = f && f->cid >= 0 ? (__u32)f->cid : VSTRACE_BPF_ANY;
	skel->rodata->targ_port = f && f->port >= 0 ? (__u32)f->port : VSTRACE_BPF_ANY;
	skel->rodata->targ_transport = f && f->transport >= 0 &&
		f->transport < VSTRACE_NR_TRANSPORTS ? (__u32)f->transport :
		VSTRACE_NR_TRANSPORTS;

	/* Leave out programs whose function is not in this kernel. */
	bpf_object__for_each_program(prog, skel->obj) {
		if (n == VSTRACE_BPF_NR_PROBES)
			break;
		progs[n] = prog;
		points[n++] = prog_point(prog);
	}
	ret = kallsyms_find(points, found, n);
	if (ret) {
		set_err(err, errlen, ret, "cannot read /proc/kallsyms: %s", strerror(-ret));
		goto out_destroy;
	}
	for (i = 0; i < n; i++) {
		if (found[i])
			continue;
		bpf_program__set_autoload(progs[i], false);
		lo += (size_t)snprintf(left_out + lo, sizeof(left_out) - lo,
				       "%s%s (not in this kernel)", lo ? ", " : "",
				       points[i]);
		if (lo >= sizeof(left_out))
			lo = sizeof(left_out) - 1;
	}

	libbpf_msg[0] = '\0';
	ret = vstrace__load(skel);
	if (ret) {
		set_err(err, errlen, ret, "cannot load the BPF programs: %s",
			libbpf_msg[0] ? libbpf_msg : strerror(-ret));
		goto out_destroy;
	}
	ret = bpf_map_update_elem(bpf_map__fd(skel->maps.vstrace_session), &zero,
				  &sess, BPF_ANY);
	if (ret) {
		set_err(err, errlen, ret, "cannot write the session map: %s",
			strerror(-ret));
		goto out_destroy;
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		ret = set_err(err, errlen, -errno, "cannot create %s: %s", pin_dir,
			      strerror(errno));
		goto out_destroy;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_dir, VSTRACE_BPF_MAP_SUBDIR);
	ret = bpf_object__pin_maps(skel->obj, path);
	if (ret) {
		set_err(err, errlen, ret, "cannot pin the maps in %s: %s", path,
			libbpf_msg[0] ? libbpf_msg : strerror(-ret));
		goto out_unpin;
	}

	for (i = 0; i < n; i++) {
		struct bpf_link *link;

		if (!found[i])
			continue;
		link = bpf_program__attach(progs[i]);
		if (!link) {
			lo += (size_t)snprintf(left_out + lo, sizeof(left_out) - lo,
					       "%s%s (attach: %s)", lo ? ", " : "",
					       points[i], strerror(errno));
			if (lo >= sizeof(left_out))
				lo = sizeof(left_out) - 1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", pin_dir,
			 bpf_program__name(progs[i]));
		ret = bpf_link__pin(link, path);
		if (ret) {
			set_err(err, errlen, ret, "cannot pin %s: %s", path,
				strerror(-ret));
			bpf_link__destroy(link);
			goto out_unpin;
		}
		/*
		 * The pin holds it now.  Closing our fds leaves it attached (for
		 * a kprobe, libbpf also disables the perf event, which stops
		 * perf output only: the BPF program still runs; bpftool's
		 * autoattach does the same).
		 */
		bpf_link__destroy(link);
		attached++;
	}
	if (!attached) {
		ret = set_err(err, errlen, -ENOENT,
			      "no probe point could be attached: %s", left_out);
		goto out_unpin;
	}
	set_err(err, errlen, 0, "%s", left_out);
	vstrace__destroy(skel);
	return 0;

out_unpin:
	unpin_all(true);
out_destroy:
	vstrace__destroy(skel);
	return ret;
}

int vs_bpf_stop(char *err, size_t errlen)
{
	struct vstrace_bpf_session sess = {};
	__u32 ids[VSTRACE_BPF_NR_PROBES];
	struct session s;
	char path[PATH_MAX];
	int ret, nr_ids, zero = 0;

	ret = session_find(&s, err, errlen);
	if (ret)
		return ret;
	if (!s.nr_links && !s.nr_progs) {
		/* Stopped already: drop the counters too. */
		session_close(&s);
		ret = unpin_all(true);
		if (ret)
			return set_err(err, errlen, ret, "cannot remove %s: %s",
				       pin_dir, strerror(-ret));
		return 0;
	}

	/* Found through the programs only (bpftool without pinmaps): pin. */
	if (!s.maps_pinned) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, VSTRACE_BPF_MAP_SUBDIR);
		mkdir(path, 0700);
		map_pin_path(path, sizeof(path), VSTRACE_BPF_STATS_MAP);
		bpf_obj_pin(s.stats_fd, path);
		if (s.rodata_fd >= 0) {
			map_pin_path(path, sizeof(path),
				     bpf_map__name(s.skel->maps.rodata));
			bpf_obj_pin(s.rodata_fd, path);
		}
	}
	if (s.session_fd >= 0 && !bpf_map_lookup_elem(s.session_fd, &zero, &sess)) {
		if (!sess.start_ns && s.load_time)
			sess.start_ns = boottime_to_real(s.load_time);
		sess.stop_ns = now_ns(CLOCK_REALTIME);
		bpf_map_update_elem(s.session_fd, &zero, &sess, BPF_ANY);
	}
	memcpy(ids, s.prog_ids, sizeof(ids));
	nr_ids = s.nr_prog_ids;
	session_close(&s);
	ret = unpin_all(false);
	if (ret)
		return set_err(err, errlen, ret, "cannot unpin the programs in %s: %s",
			       pin_dir, strerror(-ret));
	ret = wait_progs_gone(ids, nr_ids);
	if (ret)
		return set_err(err, errlen, ret,
			       "unpinned, but the programs are still loaded after 10 s");
	return 0;
}

/* Sum the per-CPU copies of the stats map. */
static int read_stats(int fd, struct vstrace_bpf_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus(), zero = 0, ret = 0;
	struct vstrace_bpf_stats *v;
	const __u64 *src;
	__u64 *dst = (__u64 *)sum;
	size_t n = sizeof(*sum) / sizeof(__u64);

	_Static_assert(sizeof(*sum) % 8 == 0, "per-CPU values are 8-byte aligned");
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < ncpu; c++) {
		src = (const __u64 *)&v[c];
		for (size_t i = 0; i < n; i++)
			dst[i] += src[i];
	}
out:
	free(v);
	return ret;
}

int vs_bpf_read(struct vs_stats *stats, struct vs_status *st, char *err,
		size_t errlen)
{
	struct vstrace_bpf_session sess = {};
	struct vstrace_bpf_stats sum;
	struct bpf_program *prog;
	struct session s;
	struct stat sb;
	char path[PATH_MAX];
	int ret, zero = 0;
	__u64 now;

	ret = session_find(&s, err, errlen);
	if (ret)
		return ret;
	ret = read_stats(s.stats_fd, &sum);
	if (ret) {
		session_close(&s);
		return set_err(err, errlen, ret, "cannot read map %s: %s",
			       VSTRACE_BPF_STATS_MAP, strerror(-ret));
	}

	if (stats) {
		memset(stats, 0, sizeof(*stats));
		for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
			for (int d = 0; d < VSTRACE_BPF_PKT_DIRS; d++)
				for (int op = 0; op < VSTRACE_NR_OPS; op++) {
					stats->packets[t][d][op] = sum.packets[t][d][op];
					stats->bytes[t][d][op] = sum.bytes[t][d][op];
				}
		memcpy(stats->counters, sum.counters, sizeof(stats->counters));
	}
	if (!st)
		goto out;

	memset(st, 0, sizeof(*st));
	st->version = VSTRACE_GENL_VERSION;
	st->active = s.nr_links > 0;
	if (s.session_fd >= 0)
		bpf_map_lookup_elem(s.session_fd, &zero, &sess);
	st->start_ns = sess.start_ns;
	if (!st->start_ns && s.load_time)
		st->start_ns = boottime_to_real(s.load_time);
	map_pin_path(path, sizeof(path), VSTRACE_BPF_STATS_MAP);
	if (!st->start_ns && !stat(path, &sb))
		st->start_ns = (__u64)sb.st_ctim.tv_sec * 1000000000ull +
			       (__u64)sb.st_ctim.tv_nsec;
	now = now_ns(CLOCK_REALTIME);
	if (st->active && st->start_ns && now > st->start_ns)
		st->duration_ns = now - st->start_ns;
	else if (!st->active && sess.stop_ns > st->start_ns && st->start_ns)
		st->duration_ns = sess.stop_ns - st->start_ns;

	st->filter_cid = st->filter_port = st->filter_transport = -1;
	if (s.rodata_fd >= 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		struct vstrace__rodata *ro;

		if (!bpf_map_get_info_by_fd(s.rodata_fd, &info, &len) &&
		    info.value_size >= sizeof(*ro) && (ro = calloc(1, info.value_size))) {
			if (!bpf_map_lookup_elem(s.rodata_fd, &zero, ro)) {
				if (ro->targ_cid != VSTRACE_BPF_ANY)
					st->filter_cid = ro->targ_cid;
				if (ro->targ_port != VSTRACE_BPF_ANY)
					st->filter_port = ro->targ_port;
				if (ro->targ_transport < VSTRACE_NR_TRANSPORTS)
					st->filter_transport = ro->targ_transport;
			}
			free(ro);
		}
	}

	bpf_object__for_each_program(prog, s.skel->obj) {
		struct vs_probe_status *p;
		int idx = probe_index(prog_point(prog));

		if (st->nr_probes == VS_MAX_PROBES)
			break;
		p = &st->probes[st->nr_probes++];
		snprintf(p->point, sizeof(p->point), "%s", prog_point(prog));
		if (idx < 0)
			continue;
		p->attached = s.linked[idx];
		p->hits = sum.probe_hits[idx];
		/* Running without it: its function is not in this kernel. */
		if (st->active && !p->attached)
			p->error = -ENOENT;
	}
out:
	session_close(&s);
	return 0;
}

int vs_bpf_reset(char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), zero = 0, ret;
	struct vstrace_bpf_stats *v;
	struct session s;

	ret = session_find(&s, err, errlen);
	if (ret)
		return ret;
	if (ncpu <= 0) {
		session_close(&s);
		return set_err(err, errlen, -EINVAL, "cannot count the possible CPUs");
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v) {
		session_close(&s);
		return set_err(err, errlen, -ENOMEM, "out of memory");
	}
	ret = bpf_map_update_elem(s.stats_fd, &zero, v, BPF_ANY) ? -errno : 0;
	free(v);
	session_close(&s);
	if (ret)
		return set_err(err, errlen, ret, "cannot reset map %s: %s",
			       VSTRACE_BPF_STATS_MAP, strerror(-ret));
	return 0;
}
