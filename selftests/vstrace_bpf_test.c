// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of the eBPF backend (bpf/vstrace.bpf.o, user/vstrace/bpf.c), run
 * inside the testbed (tools/testbed/run) as root:
 *
 *  - `bpftool prog loadall ... autoattach pinmaps` loads every program and
 *    attaches the loopback ones, with vhost and virtio absent;
 *  - exact packet and byte counts for known traffic over vsock loopback, both
 *    for a bpftool-made session and for vs_bpf_start();
 *  - the vs_bpf_start/read/reset/stop life cycle and its errors, filters;
 *  - with vstrace.ko loaded as well, both backends count the same.
 *
 * Each test uses its own pin directory, removed at teardown, and fails if
 * the kernel logged a warning, BUG or oops meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>
#include "kselftest_harness.h"
#include "testbed_util.h"
#include "vsock_util.h"
#include "vstrace_nl.h"
#include "vstrace/bpf.h"
#include "vstrace.h"

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

static char project[PATH_MAX];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char cmd[3 * PATH_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One connection, @n round trips of @size bytes, server and client here. */
static int traffic(unsigned int port, int n, size_t size)
{
	struct server srv;
	int err;

	err = server_start(&srv, port, false);
	if (err)
		return err;
	err = ping_pong(VMADDR_CID_LOCAL, port, n, size);
	server_stop(&srv);
	return err;
}

static unsigned int test_port(int n)
{
	return 21000 + (unsigned int)(getpid() % 1000) * 10 + (unsigned int)n;
}

/* The exact counts of @n round trips of @size bytes over loopback. */
static void expect_rw(struct __test_metadata *_metadata, const struct vs_stats *s,
		      int n, size_t size)
{
	const int L = VSTRACE_TRANSPORT_LOOPBACK;

	EXPECT_EQ(2ull * n, s->packets[L][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n * size, s->bytes[L][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n, s->packets[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n * size, s->bytes[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(1, s->packets[L][VSTRACE_DIR_TX][VSTRACE_OP_REQUEST]);
	EXPECT_EQ(1, s->packets[L][VSTRACE_DIR_TX][VSTRACE_OP_RESPONSE]);
	EXPECT_EQ(1, s->packets[L][VSTRACE_DIR_RX][VSTRACE_OP_REQUEST]);
	/* Nothing was attributed to a transport that is not in the path. */
	EXPECT_EQ(0, s->packets[VSTRACE_TRANSPORT_VIRTIO][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(0, s->packets[VSTRACE_TRANSPORT_VIRTIO][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(0, s->packets[VSTRACE_TRANSPORT_VHOST][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(0, s->packets[VSTRACE_TRANSPORT_VHOST][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_GE(s->counters[VSTRACE_CTR_PROBE_HITS], 8ull * n);
}

static const struct vs_probe_status *find_probe(const struct vs_status *st,
						const char *point)
{
	for (unsigned int i = 0; i < st->nr_probes; i++)
		if (!strcmp(st->probes[i].point, point))
			return &st->probes[i];
	return NULL;
}

/* ---- fixture: a pin directory of our own, dmesg watched ---- */

FIXTURE(bpf) {
	char dir[PATH_MAX - 32];
	char err[512];
	int trouble;
};

FIXTURE_SETUP(bpf)
{
	struct stat sb;

	if (!in_testbed())
		SKIP(return, "needs the testbed (VSTRACE_TESTBED=1): loads BPF programs");
	snprintf(self->dir, sizeof(self->dir), "/sys/fs/bpf/vstrace_test_%d", getpid());
	ASSERT_EQ(0, stat("/sys/fs/bpf", &sb)) TH_LOG("no /sys/fs/bpf");
	ASSERT_EQ(0, run("test -r %s/bpf/vstrace.bpf.o", project))
		TH_LOG("bpf/vstrace.bpf.o not built");
	self->trouble = kernel_trouble();
	run("modprobe vsock_loopback 2>/dev/null");
	run("rm -rf %s", self->dir);
	vs_bpf_set_pin_dir(self->dir);
}

FIXTURE_TEARDOWN(bpf)
{
	if (!in_testbed())
		return;
	run("rm -rf %s", self->dir);
	EXPECT_EQ(self->trouble, kernel_trouble())
		TH_LOG("the kernel logged a warning, BUG or oops (see dmesg)");
}

/*
 * bpftool prog loadall with @opts; its messages (one per program it could
 * not attach) go to the log as TAP comments.
 */
static int bpftool_loadall(const char *dir, const char *opts)
{
	return run("out=$(bpftool prog loadall %s/bpf/vstrace.bpf.o %s autoattach %s 2>&1); "
		   "rc=$?; printf '%%s\\n' \"$out\" | sed 's/^/# bpftool: /'; exit $rc",
		   project, dir, opts);
}

static int bpftool_loadall_pinmaps(const char *dir)
{
	char opts[PATH_MAX];

	snprintf(opts, sizeof(opts), "pinmaps %s/maps", dir);
	return bpftool_loadall(dir, opts);
}

/* (a) bpftool loads everything; the loopback points are attached. */
TEST_F(bpf, bpftool_loadall_autoattach)
{
	const struct vs_probe_status *p;
	struct vs_status st;
	struct vs_stats s;

	ASSERT_EQ(0, bpftool_loadall_pinmaps(self->dir));
	ASSERT_EQ(0, vs_bpf_read(&s, &st, self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	EXPECT_TRUE(st.active);
	EXPECT_EQ(-1, st.filter_cid);
	EXPECT_EQ(-1, st.filter_port);
	EXPECT_EQ(-1, st.filter_transport);
	EXPECT_NE(0, st.start_ns);
	p = find_probe(&st, "vsock_loopback_send_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
	p = find_probe(&st, "virtio_transport_recv_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
	/* No virtio-vsock device and no vhost here: pinned, not attached. */
	if (access("/sys/module/vhost_vsock", F_OK)) {
		p = find_probe(&st, "vhost_transport_send_pkt");
		ASSERT_NE(NULL, p);
		EXPECT_FALSE(p->attached);
		EXPECT_EQ(-ENOENT, p->error);
	}
}

/* (b) counts of a bpftool-made session, read through the pinned maps. */
static void check_bpftool_rw(struct __test_metadata *_metadata, const char *dir,
			     char *err, size_t errlen, int n, size_t size,
			     unsigned int port)
{
	struct vs_stats s;

	ASSERT_EQ(0, bpftool_loadall_pinmaps(dir));
	ASSERT_EQ(0, traffic(port, n, size));
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, err, errlen)) TH_LOG("%s", err);
	expect_rw(_metadata, &s, n, size);
}

TEST_F(bpf, bpftool_loopback_rw_exact_64b)
{
	check_bpftool_rw(_metadata, self->dir, self->err, sizeof(self->err),
			 100, 64, test_port(1));
}

TEST_F(bpf, bpftool_loopback_rw_exact_64k)
{
	check_bpftool_rw(_metadata, self->dir, self->err, sizeof(self->err),
			 10, 65536, test_port(2));
}

/* Without pinmaps the maps are found through the pinned programs. */
TEST_F(bpf, bpftool_without_pinmaps_readable)
{
	struct vs_stats s;

	ASSERT_EQ(0, bpftool_loadall(self->dir, ""));
	ASSERT_EQ(0, traffic(test_port(3), 20, 128));
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	expect_rw(_metadata, &s, 20, 128);
	/* Stopping keeps the counters: the maps get pinned. */
	ASSERT_EQ(0, vs_bpf_stop(self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	expect_rw(_metadata, &s, 20, 128);
}

/* (c) vs_bpf_start with a port filter, exact counts, stop keeps them. */
static void check_start_rw(struct __test_metadata *_metadata, char *err,
			   size_t errlen, int n, size_t size, unsigned int port)
{
	struct vs_filter f = { .cid = -1, .port = port, .transport = -1 };
	struct vs_status st;
	struct vs_stats s;

	ASSERT_EQ(0, vs_bpf_start(&f, err, errlen)) TH_LOG("%s", err);
	ASSERT_EQ(0, traffic(port, n, size));
	ASSERT_EQ(0, vs_bpf_stop(err, errlen)) TH_LOG("%s", err);
	ASSERT_EQ(0, vs_bpf_read(&s, &st, err, errlen)) TH_LOG("%s", err);
	EXPECT_FALSE(st.active);
	EXPECT_EQ(port, st.filter_port);
	expect_rw(_metadata, &s, n, size);
}

TEST_F(bpf, start_loopback_rw_exact_1b)
{
	check_start_rw(_metadata, self->err, sizeof(self->err), 50, 1, test_port(4));
}

TEST_F(bpf, start_loopback_rw_exact_4k)
{
	check_start_rw(_metadata, self->err, sizeof(self->err), 50, 4096, test_port(5));
}

TEST_F(bpf, start_read_reset_stop_cycle)
{
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	const struct vs_probe_status *p;
	struct vs_status st;
	struct vs_stats s;
	int i;

	ASSERT_EQ(-ENOENT, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	ASSERT_EQ(-ENOENT, vs_bpf_stop(self->err, sizeof(self->err)));
	ASSERT_EQ(0, vs_bpf_start(&f, self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	TH_LOG("left out: %s", self->err[0] ? self->err : "none");
	EXPECT_EQ(-EBUSY, vs_bpf_start(&f, self->err, sizeof(self->err)));

	ASSERT_EQ(0, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	EXPECT_TRUE(st.active);
	EXPECT_NE(0, st.start_ns);
	EXPECT_EQ((unsigned int)VSTRACE_BPF_NR_PROBES, st.nr_probes);
	p = find_probe(&st, "vsock_loopback_send_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);

	ASSERT_EQ(0, traffic(test_port(6), 10, 100));
	ASSERT_EQ(0, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	expect_rw(_metadata, &s, 10, 100);
	p = find_probe(&st, "virtio_transport_recv_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_GE(p->hits, 40);

	ASSERT_EQ(0, vs_bpf_reset(self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, self->err, sizeof(self->err)));
	for (i = 0; i < VSTRACE_NR_TRANSPORTS; i++)
		EXPECT_EQ(0, s.packets[i][VSTRACE_DIR_TX][VSTRACE_OP_RW]);

	ASSERT_EQ(0, traffic(test_port(7), 5, 10));
	ASSERT_EQ(0, vs_bpf_stop(self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	/* Stopped: detached, counters readable and no longer moving. */
	ASSERT_EQ(0, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	EXPECT_FALSE(st.active);
	EXPECT_NE(0, st.duration_ns);
	expect_rw(_metadata, &s, 5, 10);
	ASSERT_EQ(0, traffic(test_port(8), 5, 10));
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, self->err, sizeof(self->err)));
	expect_rw(_metadata, &s, 5, 10);
	EXPECT_EQ(0, run("bpftool link list | grep -q kprobe && exit 1; exit 0"));

	/* Stopped twice: everything is gone. */
	ASSERT_EQ(0, vs_bpf_stop(self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	EXPECT_NE(0, access(self->dir, F_OK));
	EXPECT_EQ(-ENOENT, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	EXPECT_EQ(-ENOENT, vs_bpf_stop(self->err, sizeof(self->err)));
}

TEST_F(bpf, port_filter_excludes_other_traffic)
{
	struct vs_filter f = { .cid = -1, .port = test_port(9), .transport = -1 };
	struct vs_stats s;
	int t, d;

	ASSERT_EQ(0, vs_bpf_start(&f, self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, traffic(test_port(10), 20, 64));
	ASSERT_EQ(0, vs_bpf_read(&s, NULL, self->err, sizeof(self->err)));
	for (t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (d = 0; d < VSTRACE_NR_DIRS; d++)
			EXPECT_EQ(0, s.packets[t][d][VSTRACE_OP_RW]);
	EXPECT_GE(s.counters[VSTRACE_CTR_FILTERED], 80);
}

TEST_F(bpf, transport_filter_excludes_loopback)
{
	struct vs_filter f = { .cid = -1, .port = -1,
			       .transport = VSTRACE_TRANSPORT_VHOST };
	struct vs_status st;
	struct vs_stats s;

	ASSERT_EQ(0, vs_bpf_start(&f, self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, traffic(test_port(11), 10, 64));
	ASSERT_EQ(0, vs_bpf_read(&s, &st, self->err, sizeof(self->err)));
	EXPECT_EQ(VSTRACE_TRANSPORT_VHOST, st.filter_transport);
	EXPECT_EQ(0, s.packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_GE(s.counters[VSTRACE_CTR_FILTERED], 40);
}

/* ---- (d) both backends at once ---- */

static int load_module(bool *loaded)
{
	char path[PATH_MAX + 128];
	struct utsname u;
	int fd, ret;

	*loaded = false;
	if (!access("/sys/module/vstrace", F_OK))
		return 0;
	uname(&u);
	snprintf(path, sizeof(path), "%s/build/kmod-%s/vstrace.ko", project, u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	*loaded = !ret;
	return ret;
}

TEST_F(bpf, agrees_with_kmod)
{
	struct vs_filter f = { .cid = -1, .port = test_port(12), .transport = -1 };
	struct vs_stats k, b;
	struct vs_nl *nl;
	bool loaded;
	int err, t, d, op;

	err = load_module(&loaded);
	if (err == -ENOENT)
		SKIP(return, "vstrace.ko not built for this kernel");
	ASSERT_EQ(0, err) TH_LOG("cannot load vstrace.ko: %s", strerror(-err));
	ASSERT_EQ(0, vs_nl_open(&nl));
	vs_nl_stop(nl);
	ASSERT_EQ(0, vs_nl_start(nl, &f)) TH_LOG("%s", vs_nl_error(nl));
	ASSERT_EQ(0, vs_bpf_start(&f, self->err, sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, traffic(f.port, 30, 1000));
	/* Let the closing packets (SHUTDOWN, RST) through before either stops. */
	usleep(500000);
	ASSERT_EQ(0, vs_bpf_stop(self->err, sizeof(self->err)));
	ASSERT_EQ(0, vs_nl_stop(nl));
	ASSERT_EQ(0, vs_nl_stats(nl, &k));
	ASSERT_EQ(0, vs_bpf_read(&b, NULL, self->err, sizeof(self->err)));
	vs_nl_close(nl);
	if (loaded)
		syscall(SYS_delete_module, "vstrace", O_NONBLOCK);

	expect_rw(_metadata, &b, 30, 1000);
	for (t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (d = 0; d < VSTRACE_NR_DIRS; d++)
			for (op = 0; op < VSTRACE_NR_OPS; op++) {
				EXPECT_EQ(k.packets[t][d][op], b.packets[t][d][op])
					TH_LOG("packets %s %s %s", vs_transport_names[t],
					       vs_dir_names[d], vs_op_names[op]);
				EXPECT_EQ(k.bytes[t][d][op], b.bytes[t][d][op])
					TH_LOG("bytes %s %s %s", vs_transport_names[t],
					       vs_dir_names[d], vs_op_names[op]);
			}
	EXPECT_EQ(k.counters[VSTRACE_CTR_DROPS], b.counters[VSTRACE_CTR_DROPS]);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		/* The project is the parent of selftests/. */
		snprintf(project, sizeof(project), "%s", dirname(dirname(self)));
	}
	return test_harness_run(argc, argv);
}
