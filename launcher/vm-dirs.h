/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's directories, its lock, its listening sockets and status.json.
 *
 *   run_dir   (/run/gamevm/NAME, root 0755): lock, status.json, qmp.sock
 *             (root 0600), swtpm.sock (QEMU user 0600), qemu.log, swtpm.log
 *   state_dir (/var/lib/gamevm/NAME, root 0711): NVRAM copy, tpm/
 *
 * Usage (gamevm start):
 *   _cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
 *   _cleanup_free_ char *why = NULL;
 *   r = vm_dirs_open(&paths, name, uid, gid, &d, &why);
 *   if (r < 0)
 *           return log_error_errno(r, "%s", why);   (-EBUSY: already running)
 *   if (d.stale_swtpm) log_notice("Removed stale ...");
 *   ... spawn with d.qmp_fd as fd 3 ...
 *   vm_status_write(d.run_fd, &st);
 *
 * Usage (gamevm stop / status / list, which never take the lock):
 *   r = vm_run_dir_open(paths.run_dir, &fd);       -ENOENT: never started
 *   r = vm_lock_probe(fd);                         1 running, 0 not
 *   r = vm_status_read(fd, &st, &why);
 *
 * The lock is an open file description lock (fcntl F_OFD_SETLK, whole file,
 * write) on run_dir/lock rather than flock(): it behaves the same (owned by
 * the open file, released when gamevm exits, however it exits), and
 * F_OFD_GETLK lets stop/status/list ask whether it is held without briefly
 * taking it, which could make a concurrent start fail.
 *
 * Everything goes through the two directory fds (openat, mkdirat, fchownat);
 * the sockets are bound through /proc/self/fd/N/NAME when the absolute path
 * does not fit sun_path (108 bytes).
 *
 * Library code: returns 0 or negative errno and never prints; messages for
 * the user come back through char **error (malloc'd, set on failure only).
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

#define VM_LOCK_FILE	"lock"
#define VM_STATUS_FILE	"status.json"
#define VM_QMP_SOCKET	"qmp.sock"
#define VM_SWTPM_SOCKET "swtpm.sock"
#define VM_QEMU_LOG	"qemu.log"
#define VM_SWTPM_LOG	"swtpm.log"
/* [audio]: QEMU's copy of the desktop user's PulseAudio cookie, for gamevm's life only. */
#define VM_PULSE_COOKIE	   "pulse-cookie"
#define VM_STATUS_MAX_SIZE (256 * 1024)

struct vm_dirs {
	char *name;	/* the VM's name */
	char *run_path; /* for messages and for the paths given to children */
	char *state_path;
	int run_fd; /* O_DIRECTORY */
	int state_fd;
	int lock_fd;	  /* holds the lock while open */
	int qmp_fd;	  /* listening, bound to run_dir/qmp.sock */
	int swtpm_fd;	  /* listening, bound to run_dir/swtpm.sock */
	int qemu_log_fd;  /* run_dir/qemu.log, O_APPEND */
	int swtpm_log_fd; /* run_dir/swtpm.log, O_APPEND */
	bool stale_qmp;	  /* a socket left by a dead run was removed */
	bool stale_swtpm;
	bool stale_status; /* status.json of a dead run was removed */
};

#define VM_DIRS_NULL                                                                               \
	{                                                                                          \
		.run_fd = -1, .state_fd = -1, .lock_fd = -1, .qmp_fd = -1, .swtpm_fd = -1,         \
		.qemu_log_fd = -1, .swtpm_log_fd = -1                                              \
	}

/*
 * Creates run_dir (root 0755, parents as needed, 0755) and state_dir (root
 * 0711, parents 0755), takes the lock, removes stale sockets and
 * status.json (safe: the lock proves their owner is gone), binds and listens
 * on qmp.sock (root 0600) and swtpm.sock (uid:gid 0600), opens the logs.
 * uid/gid: the QEMU user. Errors: -EBUSY when another gamevm holds the lock
 * (*error: "VM 'NAME' is already running (gamevm pid P); stop it with
 * 'gamevm stop NAME'"), -ENAMETOOLONG when a socket path cannot be bound,
 * -ENOTDIR/-EPERM... with *error naming the path.
 */
int vm_dirs_open(const struct vm_paths *paths, const char *name, uid_t uid, gid_t gid,
		 struct vm_dirs *ret, char **error);
/*
 * Binds and listens on qmp.sock and swtpm.sock again, as vm_dirs_open()
 * did, for a second QEMU and swtpm in the same run (the restart under
 * TCG, a restart policy); the first ones were handed over and closed (one
 * still open, as swtpm.sock without a TPM, is closed first). -EINVAL
 * unless d holds the lock.
 */
int vm_dirs_bind_sockets(struct vm_dirs *d, uid_t uid, gid_t gid, char **error);
/* Removes the sockets and status.json, closes everything, releases the lock. */
void vm_dirs_close(struct vm_dirs *d);

/*
 * Creates run_dir as vm_dirs_open() does and takes the VM's lock, nothing
 * else: for verbs that need the VM off while they work (gamevm snapshot,
 * restore), so that no start can begin meanwhile. -EBUSY when another
 * gamevm holds it (no *error: the caller says what it was doing). Closing
 * *ret_lock_fd releases the lock.
 */
int vm_lock_take(const char *run_dir, int *ret_lock_fd, char **error);

/* Opens an existing run_dir (O_DIRECTORY|O_CLOEXEC). -ENOENT if absent. */
int vm_run_dir_open(const char *run_dir, int *ret_fd);
/*
 * 1 when a gamevm holds run_fd's lock (the VM is running), 0 when not (or
 * there is no lock file). *ret_pid (if non-NULL) gets the holder's pid from
 * status.json when it can be read, else 0. Never takes the lock.
 */
int vm_lock_probe(int run_fd, pid_t *ret_pid);

enum vm_state {
	VM_STATE_STARTING, /* children spawned, pinning, guest paused (-S) */
	VM_STATE_RUNNING,  /* cont sent */
	VM_STATE_PAUSED,   /* guest stopped (STOP event) */
	VM_STATE_STOPPING, /* stop sequence under way */
	VM_STATE_PREPARED, /* gamevm prepare holds the host prepared; no QEMU */
	_VM_STATE_MAX,
	_VM_STATE_INVALID = -EINVAL,
};

const char *vm_state_to_string(enum vm_state s);
enum vm_state vm_state_from_string(const char *s); /* _VM_STATE_INVALID if unknown */

struct vm_status_vcpu {
	unsigned index; /* cpu-index from query-cpus-fast */
	pid_t tid;
	int host_cpu; /* planned host CPU, -1 = not pinned */
};

struct vm_status_iothread {
	char *id; /* "iothread1" */
	pid_t tid;
};

struct vm_status_hostdev {
	char *host;  /* "0000:81:00.0" */
	char *guest; /* "01:00.0", from query-pci once the guest runs; NULL until then */
};

struct vm_status {
	char *name;
	enum vm_state state;
	pid_t gamevm_pid;
	pid_t qemu_pid;	     /* 0 = not (yet) running */
	pid_t swtpm_pid;     /* 0 = none */
	uint64_t start_time; /* seconds since the epoch (CLOCK_REALTIME) */
	char *qemu_version;  /* "7.2.19", NULL if unknown */
	struct vm_status_vcpu *vcpus;
	size_t n_vcpus;
	struct vm_status_iothread *iothreads;
	size_t n_iothreads;
	struct vm_status_hostdev *hostdevs; /* passed-through host PCI functions */
	size_t n_hostdevs;
};

void vm_status_done(struct vm_status *s);

/* Pure: serialise / parse (checked member by member, bounded). */
int vm_status_to_json(const struct vm_status *s, char **ret);
int vm_status_from_json(const char *json, size_t len, struct vm_status *ret, char **error);

/* run_fd/status.json, written to a tmp file, fsync'd and renamed over (0644). */
int vm_status_write(int run_fd, const struct vm_status *s);
/* -ENOENT when absent; -EINVAL with *error saying which member is wrong. */
int vm_status_read(int run_fd, struct vm_status *ret, char **error);
