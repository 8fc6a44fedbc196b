/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's directories and lock (launcher/vm-dirs.c), status.json, the NVRAM
 * copy (firmware/nvram.c), the swtpm argv builders (firmware/swtpm.c) and a
 * real TPM manufacture with swtpm_setup (launcher/tpm.c), all in a
 * temporary directory. Needs root for the ownership checks (skipped
 * otherwise); the swtpm tests skip when swtpm is not installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "nvram.h"
#include "spawn.h"
#include "swtpm.h"
#include "tpm.h"
#include "vm-dirs.h"

/* ---- helpers ------------------------------------------------------------------------ */

struct fixture {
	char base[64];
	char run[128], state[128];
	struct vm_paths paths;
	uid_t uid; /* nobody */
	gid_t gid;
};

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct passwd *pw = getpwnam("nobody");

	assert_non_null(f);
	strcpy(f->base, "/tmp/gamevm-test-dirs-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	/* Like /run and /var/lib: the QEMU user must be able to pass through. */
	assert_int_equal(chmod(f->base, 0755), 0);
	snprintf(f->run, sizeof(f->run), "%s/run/gamevm/demo", f->base);
	snprintf(f->state, sizeof(f->state), "%s/lib/gamevm/demo", f->base);
	f->paths = (struct vm_paths){ .run_dir = f->run, .state_dir = f->state };
	f->uid = pw ? pw->pw_uid : 65534;
	f->gid = pw ? pw->pw_gid : 65534;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("needs root, skipped\n");
		skip();
	}
}

static void assert_stat(int dir_fd, const char *name, mode_t type, mode_t mode, uid_t uid,
			gid_t gid)
{
	struct stat st;

	assert_int_equal(fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	if ((st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != mode || st.st_uid != uid ||
	    st.st_gid != gid)
		print_message("%s: mode %o uid %u gid %u\n", name, (unsigned)st.st_mode,
			      (unsigned)st.st_uid, (unsigned)st.st_gid);
	assert_int_equal(st.st_mode & S_IFMT, type);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void open_dirs(struct fixture *f, struct vm_dirs *d)
{
	_cleanup_free_ char *why = NULL;
	int r = vm_dirs_open(&f->paths, "demo", f->uid, f->gid, d, &why);

	if (r < 0)
		print_message("vm_dirs_open: %s: %s\n", strna(why), strerror(-r));
	assert_int_equal(r, 0);
}

/* ---- directories, sockets, lock ------------------------------------------------------- */

static void test_open_layout(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_close_ int base = -1;
	char path[256];
	int c;

	skip_unless_root();
	open_dirs(f, &d);
	assert_string_equal(d.name, "demo");
	assert_string_equal(d.run_path, f->run);
	assert_string_equal(d.state_path, f->state);
	assert_false(d.stale_qmp || d.stale_swtpm || d.stale_status);

	base = open(f->base, O_DIRECTORY | O_CLOEXEC);
	assert_true(base >= 0);
	assert_stat(base, "run/gamevm", S_IFDIR, 0755, 0, 0);
	assert_stat(base, "run/gamevm/demo", S_IFDIR, 0755, 0, 0);
	assert_stat(base, "lib/gamevm", S_IFDIR, 0755, 0, 0);
	assert_stat(base, "lib/gamevm/demo", S_IFDIR, 0711, 0, 0);
	assert_stat(d.run_fd, VM_LOCK_FILE, S_IFREG, 0644, 0, 0);
	assert_stat(d.run_fd, VM_QMP_SOCKET, S_IFSOCK, 0600, 0, 0);
	assert_stat(d.run_fd, VM_SWTPM_SOCKET, S_IFSOCK, 0600, f->uid, f->gid);
	assert_stat(d.run_fd, VM_QEMU_LOG, S_IFREG, 0640, 0, 0);
	assert_stat(d.run_fd, VM_SWTPM_LOG, S_IFREG, 0640, 0, 0);
	assert_true(d.qemu_log_fd >= 0 && d.swtpm_log_fd >= 0 && d.state_fd >= 0);
	assert_true(fcntl(d.qmp_fd, F_GETFD) & FD_CLOEXEC);

	/* Both sockets listen at the paths QEMU will be given. */
	snprintf(path, sizeof(path), "%s/%s", f->run, VM_QMP_SOCKET);
	c = connect_path(path);
	assert_true(c >= 0);
	close(c);
	snprintf(path, sizeof(path), "%s/%s", f->run, VM_SWTPM_SOCKET);
	c = connect_path(path);
	assert_true(c >= 0);
	close(c);

	/* Close removes what the running VM is known by; the logs and lock file stay. */
	vm_dirs_close(&d);
	assert_int_equal(d.run_fd, -1);
	assert_int_equal(faccessat(base, "run/gamevm/demo/qmp.sock", F_OK, 0), -1);
	assert_int_equal(faccessat(base, "run/gamevm/demo/swtpm.sock", F_OK, 0), -1);
	assert_int_equal(faccessat(base, "run/gamevm/demo/status.json", F_OK, 0), -1);
	assert_int_equal(faccessat(base, "run/gamevm/demo/qemu.log", F_OK, 0), 0);
	assert_int_equal(faccessat(base, "run/gamevm/demo/lock", F_OK, 0), 0);
}

static void test_lock_contention(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL, d2 = VM_DIRS_NULL;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int run = -1;
	struct vm_status st = { .state = VM_STATE_RUNNING, .gamevm_pid = 4242, .start_time = 1 };
	char want[256];
	pid_t pid;

	skip_unless_root();
	open_dirs(f, &d);

	/* Before status.json exists the pid is unknown. */
	assert_int_equal(vm_dirs_open(&f->paths, "demo", f->uid, f->gid, &d2, &why), -EBUSY);
	assert_string_equal(why, "VM 'demo' is already running; stop it with 'gamevm stop demo'");
	assert_int_equal(d2.run_fd, -1);

	assert_int_equal(vm_status_write(d.run_fd, &st), 0);
	free(why);
	why = NULL;
	assert_int_equal(vm_dirs_open(&f->paths, "demo", f->uid, f->gid, &d2, &why), -EBUSY);
	snprintf(want, sizeof(want),
		 "VM 'demo' is already running (gamevm pid 4242); stop it with 'gamevm stop demo'");
	assert_string_equal(why, want);

	/* The failed open removed nothing of the running VM's. */
	assert_int_equal(faccessat(d.run_fd, VM_QMP_SOCKET, F_OK, 0), 0);
	assert_int_equal(faccessat(d.run_fd, VM_STATUS_FILE, F_OK, 0), 0);

	/* stop/status/list: probe without taking the lock. */
	assert_int_equal(vm_run_dir_open(f->run, &run), 0);
	assert_int_equal(vm_lock_probe(run, &pid), 1);
	assert_int_equal(pid, 4242);

	/* In another process, as a second gamevm would be. */
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct vm_dirs d3 = VM_DIRS_NULL;
		int r = vm_dirs_open(&f->paths, "demo", f->uid, f->gid, &d3, NULL);
		_exit(r == -EBUSY ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(p, &status, 0), p);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	vm_dirs_close(&d);
	assert_int_equal(vm_lock_probe(run, &pid), 0);
	assert_int_equal(pid, 0);
	open_dirs(f, &d2);
	assert_false(d2.stale_status); /* the clean close removed it */
}

static void test_probe_without_lock_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int fd = -1;
	pid_t pid = 99;

	assert_int_equal(vm_run_dir_open(f->run, &fd), -ENOENT);
	fd = open(f->base, O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vm_lock_probe(fd, &pid), 0);
	assert_int_equal(pid, 0);
}

static void test_stale_files(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vm_status st = { .state = VM_STATE_RUNNING, .gamevm_pid = 1, .start_time = 1 };
	char path[256];
	int s;

	skip_unless_root();
	/* A dead run: sockets nobody listens on, a status.json. */
	open_dirs(f, &d);
	assert_int_equal(vm_status_write(d.run_fd, &st), 0);
	close(d.lock_fd); /* the process "dies": no cleanup, lock released */
	d.lock_fd = -1;
	vm_dirs_close(&d);
	snprintf(path, sizeof(path), "%s/%s", f->run, VM_SWTPM_SOCKET);
	assert_int_equal(unlink(path), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(connect_path(path), -ECONNREFUSED);

	open_dirs(f, &d);
	assert_true(d.stale_qmp);
	assert_true(d.stale_swtpm);
	assert_true(d.stale_status);
	assert_int_equal(faccessat(d.run_fd, VM_STATUS_FILE, F_OK, 0), -1);
	s = connect_path(path);
	assert_true(s >= 0);
	close(s);
}

static void test_socket_path_too_long(void **state)
{
	struct fixture *f = *state;
	struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_free_ char *why = NULL;
	char run[256];
	struct vm_paths p;

	skip_unless_root();
	snprintf(run, sizeof(run), "%s/%s/demo", f->base,
		 "a-rather-long-directory-name-that-pushes-the-socket-path-past-sun-path");
	p = (struct vm_paths){ .run_dir = run, .state_dir = f->state };
	assert_int_equal(vm_dirs_open(&p, "demo", f->uid, f->gid, &d, &why), -ENAMETOOLONG);
	assert_non_null(strstr(why, "qmp.sock"));
	assert_non_null(strstr(why, "more than the 107 a unix socket address holds"));
	assert_int_equal(d.run_fd, -1);
	/* It failed after taking the lock: the lock is released again. */
	_cleanup_close_ int fd = -1;
	assert_int_equal(vm_run_dir_open(run, &fd), 0);
	assert_int_equal(vm_lock_probe(fd, NULL), 0);
}

static void test_foreign_dir_refused(void **state)
{
	struct fixture *f = *state;
	struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_free_ char *why = NULL, *parent = NULL;

	skip_unless_root();
	/* Someone else's directory where the run dir should be. */
	assert_true(asprintf(&parent, "%s/run/gamevm", f->base) > 0);
	assert_int_equal(mkdir(parent, 0755) == 0 || errno == ENOENT, 1);
	{
		_cleanup_free_ char *cmd = NULL;

		assert_true(asprintf(&cmd, "mkdir -p '%s'", parent) > 0);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(mkdir(f->run, 0777), 0);
	assert_int_equal(chown(f->run, f->uid, f->gid), 0);
	assert_int_equal(vm_dirs_open(&f->paths, "demo", f->uid, f->gid, &d, &why), -EPERM);
	assert_non_null(strstr(why, "belongs to uid"));
}

static void test_existing_dir_mode_fixed(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_free_ char *cmd = NULL;
	struct stat st;

	skip_unless_root();
	assert_true(asprintf(&cmd, "mkdir -p '%s' && chmod 0777 '%s'", f->state, f->state) > 0);
	assert_int_equal(system(cmd), 0);
	open_dirs(f, &d);
	assert_int_equal(stat(f->state, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
}

/* ---- status.json ---------------------------------------------------------------------- */

static void test_status_round_trip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(vm_status_done) struct vm_status got = { 0 };
	_cleanup_free_ char *why = NULL;
	struct vm_status_vcpu vcpus[] = { { 0, 1234, 2 }, { 1, 1235, 3 }, { 2, 1236, -1 } };
	struct vm_status_iothread ioth[] = { { (char *)"iothread1", 1300 } };
	struct vm_status_hostdev hd[] = { { (char *)"0000:81:00.0", (char *)"01:00.0" },
					  { (char *)"0000:81:00.1", NULL } };
	struct vm_status st = {
		.name = (char *)"demo",
		.state = VM_STATE_RUNNING,
		.gamevm_pid = 100,
		.qemu_pid = 101,
		.swtpm_pid = 102,
		.start_time = 1764000000,
		.qemu_version = (char *)"7.2.19",
		.vcpus = vcpus,
		.n_vcpus = 3,
		.iothreads = ioth,
		.n_iothreads = 1,
		.hostdevs = hd,
		.n_hostdevs = 2,
	};

	skip_unless_root();
	open_dirs(f, &d);
	assert_int_equal(vm_status_read(d.run_fd, &got, &why), -ENOENT);
	assert_int_equal(vm_status_write(d.run_fd, &st), 0);
	assert_stat(d.run_fd, VM_STATUS_FILE, S_IFREG, 0644, 0, 0);
	assert_int_equal(faccessat(d.run_fd, "status.json.tmp", F_OK, 0), -1);

	assert_int_equal(vm_status_read(d.run_fd, &got, &why), 0);
	assert_string_equal(got.name, "demo");
	assert_int_equal(got.state, VM_STATE_RUNNING);
	assert_int_equal(got.gamevm_pid, 100);
	assert_int_equal(got.qemu_pid, 101);
	assert_int_equal(got.swtpm_pid, 102);
	assert_int_equal(got.start_time, 1764000000);
	assert_string_equal(got.qemu_version, "7.2.19");
	assert_int_equal(got.n_vcpus, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(got.vcpus[i].index, vcpus[i].index);
		assert_int_equal(got.vcpus[i].tid, vcpus[i].tid);
		assert_int_equal(got.vcpus[i].host_cpu, vcpus[i].host_cpu);
	}
	assert_int_equal(got.n_iothreads, 1);
	assert_string_equal(got.iothreads[0].id, "iothread1");
	assert_int_equal(got.iothreads[0].tid, 1300);
	assert_int_equal(got.n_hostdevs, 2);
	assert_string_equal(got.hostdevs[0].host, "0000:81:00.0");
	assert_string_equal(got.hostdevs[0].guest, "01:00.0");
	assert_string_equal(got.hostdevs[1].host, "0000:81:00.1");
	assert_null(got.hostdevs[1].guest); /* not seen in query-pci yet */

	/* Rewriting replaces it whole. */
	vm_status_done(&got);
	st.state = VM_STATE_STOPPING;
	st.n_vcpus = 0;
	st.n_iothreads = 0;
	st.n_hostdevs = 0;
	st.qemu_version = NULL;
	st.name = NULL;
	assert_int_equal(vm_status_write(d.run_fd, &st), 0);
	assert_int_equal(vm_status_read(d.run_fd, &got, &why), 0);
	assert_int_equal(got.state, VM_STATE_STOPPING);
	assert_int_equal(got.n_vcpus, 0);
	assert_null(got.vcpus);
	assert_int_equal(got.n_hostdevs, 0);
	assert_null(got.hostdevs);
	assert_null(got.qemu_version);
	assert_null(got.name);
}

static void expect_bad(const char *json, const char *why_want)
{
	_cleanup_(vm_status_done) struct vm_status st = { 0 };
	_cleanup_free_ char *why = NULL;
	int r = vm_status_from_json(json, strlen(json), &st, &why);

	if (r != -EINVAL || !why || !strstr(why, why_want))
		print_message("json %s: r=%d why '%s', want '%s'\n", json, r, strna(why), why_want);
	assert_int_equal(r, -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, why_want));
	assert_int_equal(st.gamevm_pid, 0); /* ret untouched */
}

static void test_status_rejects_bad(void **state)
{
	expect_bad("{ \"state\": \"running\", ", "not valid JSON");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1 } x",
		   "trailing data");
	expect_bad("[1, 2]", "not a JSON object");
	expect_bad("{ \"gamevm_pid\": 1, \"start_time\": 1 }", "member 'state' is missing");
	expect_bad("{ \"state\": \"sleeping\", \"gamevm_pid\": 1, \"start_time\": 1 }",
		   "member 'state' has unknown value 'sleeping'");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": \"1\", \"start_time\": 1 }",
		   "member 'gamevm_pid' is not an integer");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": -5, \"start_time\": 1 }",
		   "member 'gamevm_pid' is out of range");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 9999999999, \"start_time\": 1 }",
		   "member 'gamevm_pid' is out of range");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1 }",
		   "member 'start_time' is missing");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"vcpus\": { } }",
		   "member 'vcpus' is not an array");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"vcpus\": [ { \"index\": 0, \"tid\": 5 }, { \"index\": 1 } ] }",
		   "member 'vcpus[1].tid' is missing");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"vcpus\": [ 3 ] }",
		   "member 'vcpus[0]' is not an object");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"iothreads\": [ { \"id\": 7, \"tid\": 5 } ] }",
		   "member 'iothreads[0].id' is not a string");
	/* gamevm status reads sysfs by it: a PCI address, never a path. */
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"hostdevs\": [ { \"host\": \"../../../etc\" } ] }",
		   "member 'hostdevs[0].host' is not a PCI address");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"hostdevs\": [ { \"guest\": \"01:00.0\" } ] }",
		   "member 'hostdevs[0].host' is missing");
	expect_bad("{ \"state\": \"running\", \"gamevm_pid\": 1, \"start_time\": 1, "
		   "\"vcpus\": [ { \"index\": 0, \"tid\": 5, \"host_cpu\": [ [ 1 ] ] } ] }",
		   "not valid JSON");

	/* Embedded NUL and oversize input. */
	_cleanup_(vm_status_done) struct vm_status st = { 0 };
	_cleanup_free_ char *why = NULL, *big = NULL;
	assert_int_equal(vm_status_from_json("{}\0{}", 5, &st, &why), -EINVAL);
	big = calloc(1, VM_STATUS_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, ' ', VM_STATUS_MAX_SIZE + 1);
	assert_int_equal(vm_status_from_json(big, VM_STATUS_MAX_SIZE + 1, &st, NULL), -EFBIG);

	/* Unknown members are ignored (newer writers), absent optional ones default. */
	const char *ok = "{ \"state\": \"paused\", \"gamevm_pid\": 7, \"start_time\": 3, "
			 "\"future\": { \"x\": 1 } }";
	assert_int_equal(vm_status_from_json(ok, strlen(ok), &st, &why), 0);
	assert_int_equal(st.state, VM_STATE_PAUSED);
	assert_int_equal(st.gamevm_pid, 7);
	assert_int_equal(st.qemu_pid, 0);
}

static void test_status_corrupted_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(vm_status_done) struct vm_status st = { 0 };
	_cleanup_free_ char *why = NULL;
	pid_t pid = 5;

	skip_unless_root();
	open_dirs(f, &d);
	int fd = openat(d.run_fd, VM_STATUS_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"state\":\"running\",\"gamevm_pid\":", 32), 32);
	close(fd);
	assert_int_equal(vm_status_read(d.run_fd, &st, &why), -EINVAL);
	assert_non_null(strstr(why, "not valid JSON"));
	/* The lock still tells "running"; the pid is just unknown. */
	assert_int_equal(vm_lock_probe(d.run_fd, &pid), 1);
	assert_int_equal(pid, 0);
}

/* ---- NVRAM ------------------------------------------------------------------------------ */

static void test_nvram_copy_once(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_close_ int root = -1;
	_cleanup_free_ char *tdir = NULL, *got = NULL, *got2 = NULL;
	char tmpl[8192];
	size_t len;
	int fd;

	skip_unless_root();
	open_dirs(f, &d);

	/* A host root with a template in it. */
	assert_true(asprintf(&tdir, "%s/root/usr/share/OVMF", f->base) > 0);
	{
		_cleanup_free_ char *cmd = NULL;

		assert_true(asprintf(&cmd, "mkdir -p '%s'", tdir) > 0);
		assert_int_equal(system(cmd), 0);
	}
	for (size_t i = 0; i < sizeof(tmpl); i++)
		tmpl[i] = (char)(i * 7 + 1);
	{
		_cleanup_free_ char *p = NULL;

		assert_true(asprintf(&p, "%s/OVMF_VARS_4M.ms.fd", tdir) > 0);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, tmpl, sizeof(tmpl)), (ssize_t)sizeof(tmpl));
		close(fd);
	}
	{
		_cleanup_free_ char *p = NULL;

		assert_true(asprintf(&p, "%s/root", f->base) > 0);
		root = open(p, O_DIRECTORY | O_CLOEXEC);
		assert_true(root >= 0);
	}

	/* Missing template: nothing created. */
	assert_int_equal(nvram_copy_once(root, "/usr/share/OVMF/nope.fd", d.state_fd,
					 "OVMF_VARS.fd", f->uid, f->gid),
			 -ENOENT);
	assert_int_equal(faccessat(d.state_fd, "OVMF_VARS.fd", F_OK, 0), -1);

	/* First start: copied, owned by the QEMU user, 0600, same bytes. */
	assert_int_equal(nvram_copy_once(root, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", d.state_fd,
					 "OVMF_VARS.fd", f->uid, f->gid),
			 1);
	assert_stat(d.state_fd, "OVMF_VARS.fd", S_IFREG, 0600, f->uid, f->gid);
	assert_int_equal(read_full_file_at(d.state_fd, "OVMF_VARS.fd", 1 << 20, &got, &len), 0);
	assert_int_equal(len, sizeof(tmpl));
	assert_memory_equal(got, tmpl, sizeof(tmpl));
	assert_int_equal(faccessat(d.state_fd, ".OVMF_VARS.fd.tmp", F_OK, 0), -1);

	/* The guest writes its variables... */
	fd = openat(d.state_fd, "OVMF_VARS.fd", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "BOOT", 4, 100), 4);
	close(fd);
	/* ...and the next start leaves them alone. */
	assert_int_equal(nvram_copy_once(root, "usr/share/OVMF/OVMF_VARS_4M.ms.fd", d.state_fd,
					 "OVMF_VARS.fd", f->uid, f->gid),
			 0);
	assert_int_equal(read_full_file_at(d.state_fd, "OVMF_VARS.fd", 1 << 20, &got2, &len), 0);
	assert_int_equal(len, sizeof(tmpl));
	assert_memory_equal(got2 + 100, "BOOT", 4);

	assert_int_equal(nvram_copy_once(root, "/usr/share/OVMF", d.state_fd, "x.fd", 0, 0),
			 -EINVAL); /* a directory */
	assert_int_equal(nvram_copy_once(root, "/x", d.state_fd, "a/b", 0, 0), -EINVAL);
}

/* ---- swtpm ------------------------------------------------------------------------------- */

static void assert_argv(char **v, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_null(v[i]);
}

static void test_swtpm_argv(void **state)
{
	_cleanup_(strv_done) struct strv a = { 0 }, b = { 0 }, c = { 0 };
	const char *const want_setup[] = {
		"/usr/bin/swtpm_setup",
		"--tpm2",
		"--tpmstate",
		"/var/lib/gamevm/demo/tpm",
		"--config",
		"/var/lib/gamevm/demo/swtpm_setup.conf",
		"--createek",
		"--create-ek-cert",
		"--create-platform-cert",
		"--lock-nvram",
		"--not-overwrite",
		"--pcr-banks",
		"sha256",
		"--vmid",
		"demo:0b4f1e10-3c5e-5b8d-9a47-1d2c3b4a5f60",
		"--logfile",
		"/run/gamevm/demo/swtpm.log",
		NULL,
	};
	const char *const want_socket[] = {
		"/usr/bin/swtpm",
		"socket",
		"--tpm2",
		"--tpmstate",
		"dir=/var/lib/gamevm/demo/tpm,mode=0600",
		"--ctrl",
		"type=unixio,fd=3",
		"--log",
		"fd=4",
		"--terminate",
		"--seccomp",
		"action=kill",
		NULL,
	};
	const char *const want_socket_file[] = {
		"/usr/bin/swtpm",
		"socket",
		"--tpm2",
		"--tpmstate",
		"dir=/var/lib/gamevm/demo/tpm,mode=0600",
		"--ctrl",
		"type=unixio,fd=3",
		"--log",
		"file=/run/gamevm/demo/swtpm.log",
		"--terminate",
		"--seccomp",
		"action=kill",
		NULL,
	};

	assert_int_equal(swtpm_setup_argv(
				 &(struct swtpm_setup_opts){
					 .binary = "/usr/bin/swtpm_setup",
					 .state_dir = "/var/lib/gamevm/demo/tpm",
					 .config = "/var/lib/gamevm/demo/swtpm_setup.conf",
					 .vm_name = "demo",
					 .uuid = "0b4f1e10-3c5e-5b8d-9a47-1d2c3b4a5f60",
					 .logfile = "/run/gamevm/demo/swtpm.log" },
				 &a),
			 0);
	assert_argv(a.v, want_setup);
	assert_int_equal(
		swtpm_socket_argv(
			&(struct swtpm_socket_opts){ .binary = "/usr/bin/swtpm",
						     .state_dir = "/var/lib/gamevm/demo/tpm",
						     .ctrl_fd = 3,
						     .log_fd = 4 },
			&b),
		0);
	assert_argv(b.v, want_socket);
	assert_int_equal(
		swtpm_socket_argv(
			&(struct swtpm_socket_opts){ .binary = "/usr/bin/swtpm",
						     .state_dir = "/var/lib/gamevm/demo/tpm",
						     .ctrl_fd = 3,
						     .log_fd = -1,
						     .log_file = "/run/gamevm/demo/swtpm.log" },
			&c),
		0);
	assert_argv(c.v, want_socket_file);

	/* A comma would split swtpm's "dir=...,mode=..." option. */
	struct strv x = { 0 };
	assert_int_equal(swtpm_socket_argv(&(struct swtpm_socket_opts){ .binary = "swtpm",
									.state_dir = "/a,b",
									.ctrl_fd = 3,
									.log_fd = -1 },
					   &x),
			 -EINVAL);
	assert_int_equal(swtpm_setup_argv(&(struct swtpm_setup_opts){ .binary = "swtpm_setup",
								      .state_dir = "/a" },
					  &x),
			 -EINVAL); /* no vmid */
}

static void test_swtpm_config(void **state)
{
	_cleanup_free_ char *setup = NULL, *ca = NULL;

	assert_int_equal(swtpm_config_build("/usr/bin/swtpm_localca", "/s/swtpm-localca.conf",
					    "/etc/swtpm-localca.options", "/s/tpm-ca", &setup, &ca),
			 0);
	assert_non_null(strstr(setup, "\ncreate_certs_tool = /usr/bin/swtpm_localca\n"));
	assert_non_null(strstr(setup, "\ncreate_certs_tool_config = /s/swtpm-localca.conf\n"));
	assert_non_null(
		strstr(setup, "\ncreate_certs_tool_options = /etc/swtpm-localca.options\n"));
	assert_non_null(strstr(ca, "\nstatedir = /s/tpm-ca\n"));
	assert_non_null(strstr(ca, "\nsigningkey = /s/tpm-ca/signkey.pem\n"));
	assert_non_null(strstr(ca, "\nissuercert = /s/tpm-ca/issuercert.pem\n"));
	assert_non_null(strstr(ca, "\ncertserial = /s/tpm-ca/certserial\n"));
	free(setup);
	free(ca);
	setup = ca = NULL;
	assert_int_equal(
		swtpm_config_build("/usr/bin/swtpm_localca", "/s/c", NULL, "/s/ca", &setup, &ca),
		0);
	assert_null(strstr(setup, "create_certs_tool_options"));
	assert_int_equal(
		swtpm_config_build("/x", "/s/c", NULL, "/s/ca\nstatedir = /etc", &setup, &ca),
		-EINVAL);
}

struct swtpm_bins {
	char *setup, *swtpm, *localca;
};

static void swtpm_bins_done(struct swtpm_bins *b)
{
	free(b->setup);
	free(b->swtpm);
	free(b->localca);
}

static void find_swtpm(struct swtpm_bins *b)
{
	_cleanup_close_ int root = open("/", O_DIRECTORY | O_CLOEXEC);

	if (spawn_find_binary(root, "swtpm_setup", &b->setup) < 0 ||
	    spawn_find_binary(root, "swtpm", &b->swtpm) < 0 ||
	    spawn_find_binary(root, "swtpm_localca", &b->localca) < 0) {
		print_message("swtpm not installed, skipped\n");
		skip();
	}
}

static char *file_digest(int dir_fd, const char *path, struct stat *st)
{
	char *buf;
	size_t len;

	assert_int_equal(fstatat(dir_fd, path, st, 0), 0);
	assert_int_equal(read_full_file_at(dir_fd, path, 1 << 20, &buf, &len), 0);
	assert_true(len > 0);
	return buf;
}

static void manufacture(struct fixture *f, uid_t uid, gid_t gid, const char *user)
{
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(swtpm_bins_done) struct swtpm_bins b = { 0 };
	_cleanup_free_ char *why = NULL, *before = NULL, *after = NULL, *log = NULL;
	_cleanup_(strv_done) struct strv argv = { 0 };
	_cleanup_close_ int tpm = -1;
	struct stat st1, st2;
	size_t len;
	int status, r;

	find_swtpm(&b);
	f->uid = uid;
	f->gid = gid;
	open_dirs(f, &d);

	struct tpm_setup t = {
		.swtpm_setup_binary = b.setup,
		.swtpm_binary = b.swtpm,
		.localca_binary = b.localca,
		.localca_options = access("/etc/swtpm-localca.options", R_OK) == 0
					   ? "/etc/swtpm-localca.options"
					   : NULL,
		.vm_name = "demo",
		.uuid = "0b4f1e10-3c5e-5b8d-9a47-1d2c3b4a5f60",
		.user_name = user,
		.uid = uid,
		.gid = gid,
		.log_fd = d.swtpm_log_fd,
	};
	r = tpm_manufacture(d.state_fd, d.state_path, &t, &why);
	if (r < 0) {
		_cleanup_free_ char *l = NULL;

		read_full_file_at(d.run_fd, VM_SWTPM_LOG, 1 << 20, &l, &len);
		print_message("tpm_manufacture: %s: %s\nlog:\n%s\n", strna(why), strerror(-r),
			      strna(l));
	}
	assert_int_equal(r, 1);

	assert_stat(d.state_fd, TPM_STATE_SUBDIR, S_IFDIR, 0700, uid, gid);
	assert_stat(d.state_fd, TPM_CA_SUBDIR, S_IFDIR, 0700, uid, gid);
	tpm = openat(d.state_fd, TPM_STATE_SUBDIR, O_DIRECTORY | O_CLOEXEC);
	assert_true(tpm >= 0);
	assert_int_equal(tpm_state_present(tpm), 1);
	before = file_digest(tpm, SWTPM_STATE_FILE, &st1);
	assert_int_equal(st1.st_uid, uid);
	/* swtpm_setup wrote its progress to the log we gave it. */
	assert_int_equal(read_full_file_at(d.run_fd, VM_SWTPM_LOG, 1 << 20, &log, &len), 0);
	assert_non_null(strstr(log, "Successfully authored TPM state"));

	/* Second start: nothing to do, nothing run. */
	assert_int_equal(tpm_manufacture(d.state_fd, d.state_path, &t, &why), 0);

	/* swtpm_setup itself with --not-overwrite: exits 0, state unchanged. */
	{
		_cleanup_free_ char *dir = NULL, *conf = NULL;
		struct child c = CHILD_NULL;
		struct spawn_opts o = SPAWN_OPTS_INIT;

		assert_true(asprintf(&dir, "%s/tpm", d.state_path) > 0);
		assert_true(asprintf(&conf, "%s/swtpm_setup.conf", d.state_path) > 0);
		assert_int_equal(swtpm_setup_argv(
					 &(struct swtpm_setup_opts){
						 .binary = b.setup,
						 .swtpm_binary = b.swtpm,
						 .state_dir = dir,
						 .config = conf,
						 .vm_name = "demo",
						 .uuid = "0b4f1e10-3c5e-5b8d-9a47-1d2c3b4a5f60" },
					 &argv),
				 0);
		o.argv = argv.v;
		o.uid = uid;
		o.gid = gid;
		o.stdout_fd = o.stderr_fd = d.swtpm_log_fd;
		assert_int_equal(spawn_child(&o, "swtpm_setup", &c, &why), 0);
		assert_int_equal(child_wait(&c, 60000, &status), 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	after = file_digest(tpm, SWTPM_STATE_FILE, &st2);
	assert_int_equal(st1.st_size, st2.st_size);
	assert_memory_equal(before, after, (size_t)st1.st_size);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
}

static void test_tpm_manufacture_nobody(void **state)
{
	struct fixture *f = *state;
	struct passwd *pw = getpwnam("nobody");

	skip_unless_root();
	if (!pw)
		skip();
	manufacture(f, pw->pw_uid, pw->pw_gid, "nobody");
}

/*
 * swtpm_setup failing half-way (a full disk, a crash): it leaves a partial
 * state file behind. Nothing of it may look like a made TPM afterwards, and
 * the next start manufactures it properly.
 */
static void test_tpm_manufacture_fails(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(swtpm_bins_done) struct swtpm_bins b = { 0 };
	_cleanup_free_ char *why = NULL, *script = NULL;
	struct stat st;
	FILE *sh;

	skip_unless_root();
	find_swtpm(&b);
	f->uid = 0;
	f->gid = 0;
	open_dirs(f, &d);
	assert_true(asprintf(&script, "%s/swtpm_setup-fails", d.state_path) > 0);
	sh = fopen(script, "we");
	assert_non_null(sh);
	/* Writes half a state file where it is told to, then fails like ENOSPC would. */
	fputs("#!/bin/sh\nwhile [ $# -gt 0 ]; do\n"
	      "  if [ \"$1\" = --tpmstate ]; then printf half > \"$2/tpm2-00.permall\"; fi\n"
	      "  shift\ndone\necho 'No space left on device' >&2\nexit 1\n",
	      sh);
	assert_int_equal(fclose(sh), 0);
	assert_int_equal(chmod(script, 0755), 0);

	struct tpm_setup t = {
		.swtpm_setup_binary = script,
		.swtpm_binary = b.swtpm,
		.localca_binary = b.localca,
		.vm_name = "demo",
		.uuid = "0b4f1e10-3c5e-5b8d-9a47-1d2c3b4a5f60",
		.user_name = "root",
		.uid = 0,
		.gid = 0,
		.log_fd = d.swtpm_log_fd,
	};
	assert_int_equal(tpm_manufacture(d.state_fd, d.state_path, &t, &why), -EIO);
	assert_non_null(strstr(why, "swtpm_setup exited with status 1"));
	assert_int_equal(fstatat(d.state_fd, TPM_STATE_SUBDIR, &st, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fstatat(d.state_fd, TPM_STATE_SUBDIR ".new", &st, 0), -1);
	assert_int_equal(errno, ENOENT);

	/* A later start makes it, with the real swtpm_setup. */
	t.swtpm_setup_binary = b.setup;
	t.localca_options = access("/etc/swtpm-localca.options", R_OK) == 0
				    ? "/etc/swtpm-localca.options"
				    : NULL;
	free(why);
	why = NULL;
	assert_int_equal(tpm_manufacture(d.state_fd, d.state_path, &t, &why), 1);
	assert_int_equal(fstatat(d.state_fd, TPM_STATE_SUBDIR ".new", &st, 0), -1);
	(void)unlink(script);
}

static void test_tpm_manufacture_root(void **state)
{
	skip_unless_root();
	manufacture(*state, 0, 0, "root");
}

/* CMD_GET_CAPABILITY on swtpm's control channel (swtpm_ioctls.h). */
#define PTM_GET_CAPABILITY 1
#define PTM_SHUTDOWN	   3

/*
 * The design's swtpm command line for real: the listening socket gamevm
 * bound is fd 3, the log is fd 4; a client connecting to the path (as QEMU
 * will) gets answers on the control channel.
 */
static void test_swtpm_socket_fd(void **state)
{
	struct fixture *f = *state;
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(swtpm_bins_done) struct swtpm_bins b = { 0 };
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	_cleanup_(strv_done) struct strv argv = { 0 };
	_cleanup_free_ char *why = NULL, *dir = NULL, *sock = NULL;
	struct passwd *pw = getpwnam("nobody");
	uint32_t cmd = htonl(PTM_GET_CAPABILITY), resp[2];
	struct timeval tv = { .tv_sec = 10 };
	int s, status;
	ssize_t n;

	skip_unless_root();
	find_swtpm(&b);
	if (!pw)
		skip();
	f->uid = pw->pw_uid;
	f->gid = pw->pw_gid;
	open_dirs(f, &d);
	assert_int_equal(mkdirat(d.state_fd, "tpm", 0700), 0);
	assert_int_equal(fchownat(d.state_fd, "tpm", f->uid, f->gid, 0), 0);

	assert_true(asprintf(&dir, "%s/tpm", d.state_path) > 0);
	assert_int_equal(swtpm_socket_argv(&(struct swtpm_socket_opts){ .binary = b.swtpm,
									.state_dir = dir,
									.ctrl_fd = 3,
									.log_fd = 4 },
					   &argv),
			 0);
	struct spawn_fd fds[] = { { d.swtpm_fd, 3 }, { d.swtpm_log_fd, 4 } };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	o.argv = argv.v;
	o.uid = f->uid;
	o.gid = f->gid;
	o.fds = fds;
	o.n_fds = 2;
	o.stdout_fd = o.stderr_fd = d.swtpm_log_fd;
	assert_int_equal(spawn_child(&o, "swtpm", &c, &why), 0);

	assert_true(asprintf(&sock, "%s/%s", f->run, VM_SWTPM_SOCKET) > 0);
	/* As the QEMU user would: the socket is theirs. */
	s = connect_path(sock);
	assert_true(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(s, &cmd, sizeof(cmd)), (ssize_t)sizeof(cmd));
	n = read(s, resp, sizeof(resp));
	assert_int_equal(n, (ssize_t)sizeof(resp));
	assert_int_equal(ntohl(resp[0]), 0); /* TPM_SUCCESS */
	assert_true(ntohl(resp[1]) != 0);    /* some capabilities */

	/* CMD_SHUTDOWN: swtpm answers and exits cleanly. */
	cmd = htonl(PTM_SHUTDOWN);
	assert_int_equal(write(s, &cmd, sizeof(cmd)), (ssize_t)sizeof(cmd));
	assert_int_equal(read(s, resp, sizeof(resp[0])), (ssize_t)sizeof(resp[0]));
	assert_int_equal(ntohl(resp[0]), 0);
	close(s);
	assert_int_equal(child_wait(&c, 10000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_contention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_without_lock_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_path_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_dir_mode_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_round_trip, setup, teardown),
		cmocka_unit_test(test_status_rejects_bad),
		cmocka_unit_test_setup_teardown(test_status_corrupted_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvram_copy_once, setup, teardown),
		cmocka_unit_test(test_swtpm_argv),
		cmocka_unit_test(test_swtpm_config),
		cmocka_unit_test_setup_teardown(test_tpm_manufacture_nobody, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tpm_manufacture_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tpm_manufacture_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swtpm_socket_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
