/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The undo journal: every change gamevm makes to the host, written down
 * before it is made, so that teardown, or `gamevm cleanup` after gamevm
 * was killed, can put the host back as it was.
 *
 * The file is run_dir/journal (0600), JSON lines, appended only:
 *   {"journal":1,"vm":"win11","boot":"<boot id>"}               header
 *   {"seq":1,"kind":"module","target":"vfio-pci"}
 *   {"seq":2,"kind":"driver","target":"0000:03:00.1","old":"snd_hda_intel","new":"vfio-pci"}
 *   {"seq":3,"kind":"hugepages","target":"devices/system/node/node0/hugepages/hugepages-1048576kB","old":"0","new":"8"}
 *   {"done":3}                                                  record 3 undone
 * A record whose line was torn (no newline, or unparsable as the last
 * line: the process died inside write(2)) is ignored: its change was never
 * started, since the change comes after the write. A bad line anywhere else
 * is -EBADMSG.
 *
 * Nothing is fsync'd. Every change recorded here (driver bindings,
 * hugepage pools, IRQ affinities, cgroups...) lives in the running kernel
 * and is gone after a reboot, and within one boot the page cache holds what
 * was written even when gamevm is SIGKILLed. So a journal matters only in
 * the boot that wrote it: "boot" records it, and a journal from another
 * boot (a /run that is not a tmpfs) is removed, not replayed. That keeps
 * some 25 fsyncs (10 ms on ext4) off every start.
 *
 * Usage (gamevm start):
 *   _cleanup_(journal_freep) struct journal *j = NULL;
 *   r = journal_create(run_fd, name, &j);        -EEXIST: a stale journal
 *   r = journal_append(j, &rec, &seq);            then make the change
 *   ...
 *   r = journal_replay(j, h, prepare_undo, &opts, &diags);   teardown
 *
 * Usage (gamevm cleanup, or start over a stale journal):
 *   r = journal_open_existing(run_fd, &j);        -ENOENT: nothing to do
 *   if (journal_pending(j) > 0) journal_replay(...);
 *
 * Replay walks the records backwards, calls undo for each one not yet
 * done, and appends {"done":N} after each undo that succeeded, so a second
 * replay skips it; each undo is idempotent as well (it looks at the host
 * first), which covers a crash between an undo and its marker. When every
 * record is done the file is removed.
 *
 * Library code: returns 0 or negative errno, never prints; what it did and
 * what failed goes into struct plan_diags for the launcher to print.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hostroot.h"
#include "plan.h"

#define JOURNAL_FILE	 "journal"
#define JOURNAL_MAX_SIZE (1024 * 1024)
#define JOURNAL_LINE_MAX 8192
/* Old sysfs contents kept in a record: attributes are small. */
#define JOURNAL_VALUE_MAX 4096

enum journal_kind {
	/* target: path under sys/; old: its content before; new: what was written */
	JOURNAL_SYSFS,
	/*
	 * target: PCI address; old: the driver it was bound to (NULL: none);
	 * old_override: its driver_override (NULL: none); new: "vfio-pci"
	 */
	JOURNAL_DRIVER,
	/* target: pool dir under sys/; old: nr_hugepages before; new: the target written */
	JOURNAL_HUGEPAGES,
	/* target: the module gamevm loaded ("vfio-pci") */
	JOURNAL_MODULE,
	/* target: path under dev/ ("vfio/12"); old, new: "UID:GID" */
	JOURNAL_CHOWN,
	/* target: path under proc/ ("irq/24/smp_affinity_list"); old, new: as for sysfs */
	JOURNAL_PROCFS,
	/*
	 * target: path under sys/ of a "[always] madvise never" attribute;
	 * old, new: the chosen word
	 */
	JOURNAL_SYSFS_CHOICE,
	/*
	 * target: a cgroup v2 dir under sys/ ("fs/cgroup"); new: the controller
	 * gamevm enabled in its cgroup.subtree_control ("cpuset")
	 */
	JOURNAL_CGROUP_CONTROLLER,
	/* target: a cgroup v2 dir under sys/ that gamevm created ("fs/cgroup/gamevm/win11") */
	JOURNAL_CGROUP_DIR,
	/* target: a cgroup's cpuset.cpus under sys/; old, new: CPU lists ("" = inherit) */
	JOURNAL_CGROUP_CPUS,
	/* target: a systemd unit gamevm stopped ("display-manager.service"); old: "active" */
	JOURNAL_UNIT,
	/*
	 * target: a platform device gamevm unbound from its driver, a firmware
	 * framebuffer ("efi-framebuffer.0"); old: that driver ("efifb")
	 */
	JOURNAL_PLATFORM_DRIVER,
	/*
	 * target: a regular file under dev/ that gamevm created ("shm/looking-glass");
	 * new: the "UID:GID" it gave it. Undo: removed while it is still a
	 * regular file of that owner, else left alone (someone else's now).
	 */
	JOURNAL_FILE_CREATED,
	/* target: path under dev/ ("kvmfr0"); old, new: permission bits in octal ("0600") */
	JOURNAL_CHMOD,
	/*
	 * target: a path under the root itself ("run/user/1000/pulse/native");
	 * old: "MODE ACL", its permission bits in octal and its
	 * system.posix_acl_access in hex ("-": none), restored exactly; new:
	 * the ACL gamevm wrote, in hex.
	 */
	JOURNAL_ACL,
	_JOURNAL_KIND_MAX,
	_JOURNAL_KIND_INVALID = -EINVAL,
};

const char *journal_kind_to_string(enum journal_kind k);
enum journal_kind journal_kind_from_string(const char *s);

struct journal_record {
	unsigned seq; /* 1-based, in the order written; set by journal_append */
	enum journal_kind kind;
	char *target;
	char *old;
	char *old_override;
	char *new;
	bool done; /* undone already (by a replay, or early: hugepages_release_target) */
};

struct journal {
	int dir_fd;    /* the run dir */
	int fd;	       /* the file, O_APPEND */
	char *vm;      /* from the header, NULL if the header was torn */
	char *boot_id; /* from the header: the boot that wrote it, NULL if not said */
	struct journal_record *records;
	size_t n_records;
	bool torn; /* an incomplete last line was ignored */
};

/*
 * Creates run_fd/journal with its header (O_EXCL, 0600); boot_id (from
 * journal_boot_id, NULL: not known) goes in the header. -EEXIST when one is
 * there: a previous run did not finish its teardown (open it with
 * journal_open_existing and replay it).
 */
int journal_create(int run_fd, const char *vm, const char *boot_id, struct journal **ret);
/* This boot's id (proc/sys/kernel/random/boot_id), -ENOENT without proc/. */
int journal_boot_id(const struct host_root *h, char **ret);
/* The journal was written in another boot than boot_id (both known). */
bool journal_from_other_boot(const struct journal *j, const char *boot_id);
/* Removes the file whatever is pending: for a journal from another boot. */
int journal_discard(struct journal *j);
/*
 * Loads run_fd/journal for replay (and further appends). -ENOENT when
 * there is none, -EBADMSG for a damaged record before the last line,
 * -EFBIG beyond JOURNAL_MAX_SIZE.
 */
int journal_open_existing(int run_fd, struct journal **ret);
void journal_free(struct journal *j);
void journal_freep(struct journal **j);

/* Records not yet undone. */
size_t journal_pending(const struct journal *j);
const struct journal_record *journal_find(const struct journal *j, unsigned seq);

/*
 * Appends rec (its seq is assigned; rec->done is ignored).
 * Call it before making the change it describes. *ret_seq may be NULL.
 */
int journal_append(struct journal *j, const struct journal_record *rec, unsigned *ret_seq);
/* Marks record seq undone (appends {"done":seq}). -ENOENT for an unknown seq. */
int journal_mark_done(struct journal *j, unsigned seq);

/*
 * Undoes one record: 0 when the host is as the record says it was before
 * (whether this call changed it or it already was), negative errno when
 * not, with a diagnostic. Adds a LOG_INFO diagnostic saying what it
 * restored.
 */
typedef int (*journal_undo_fn)(const struct host_root *h, const struct journal_record *rec,
			       void *userdata, struct plan_diags *d);

/*
 * Undoes every pending record, last first. A failing undo is reported and
 * the replay goes on with the others (each stands alone); it stays pending
 * for the next replay. When nothing is left pending the file is removed.
 * Returns 0, or the first undo's error.
 */
int journal_replay(struct journal *j, const struct host_root *h, journal_undo_fn undo,
		   void *userdata, struct plan_diags *d);
/* Removes the file; -EBUSY while records are pending. */
int journal_remove(struct journal *j);

/* ---- generic kinds ------------------------------------------------------------ */

/* Journals sys/path's current content, then writes value to it. */
int journal_write_sysfs(struct journal *j, const struct host_root *h, const char *path,
			const char *value);
int journal_undo_sysfs(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d);
/* The same under proc/ (JOURNAL_PROCFS); a target gone (an IRQ freed) counts as restored. */
int journal_write_procfs(struct journal *j, const struct host_root *h, const char *path,
			 const char *value);
int journal_undo_procfs(const struct host_root *h, const struct journal_record *rec,
			struct plan_diags *d);
/*
 * "[always] madvise never" attributes (JOURNAL_SYSFS_CHOICE): journals the
 * bracketed word, then writes value. The undo writes the old word back
 * unless it is already the chosen one.
 */
int journal_write_sysfs_choice(struct journal *j, const struct host_root *h, const char *path,
			       const char *value);
int journal_undo_sysfs_choice(const struct host_root *h, const struct journal_record *rec,
			      struct plan_diags *d);
/* The bracketed word of s ("madvise" of "always [madvise] never"); -EBADMSG when none. */
int sysfs_choice_current(const char *s, char **ret);
/*
 * Journals dev/path's owner, then changes it to uid:gid (nothing written
 * when it is already theirs). *ret_changed (may be NULL) says whether it was.
 */
int journal_chown_dev(struct journal *j, const struct host_root *h, const char *path, uid_t uid,
		      gid_t gid, bool *ret_changed);
/* A node that is gone (its group left vfio-pci) counts as restored. */
int journal_undo_chown(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d);

/*
 * journal-desktop.c. Journals, then creates dev/path (O_EXCL, O_NOFOLLOW:
 * never an existing file or a link) as a regular file of size bytes,
 * owned by uid:gid with mode: all set on the open fd. -EEXIST when there
 * is one already (nothing journaled then).
 */
int journal_create_dev_file(struct journal *j, const struct host_root *h, const char *path,
			    uid_t uid, gid_t gid, mode_t mode, uint64_t size);
int journal_undo_file_created(const struct host_root *h, const struct journal_record *rec,
			      struct plan_diags *d);
/*
 * Journals dev/path's permission bits, then sets mode (nothing written
 * when they already are). A symlink is refused (-ELOOP). *ret_changed may be NULL.
 */
int journal_chmod_dev(struct journal *j, const struct host_root *h, const char *path, mode_t mode,
		      bool *ret_changed);
/* A node that is gone counts as restored. */
int journal_undo_chmod(const struct host_root *h, const struct journal_record *rec,
		       struct plan_diags *d);

/*
 * Gives uid the permissions perm (ACL_READ 4, ACL_WRITE 2, ACL_EXECUTE 1)
 * on path (under the root, not followed when it is a link: -ELOOP) with a
 * POSIX ACL entry user:UID, the mask widened to let it through; the old
 * ACL and mode journaled first. Nothing is written when uid has them already.
 */
int journal_acl_add_user(struct journal *j, const struct host_root *h, const char *path, uid_t uid,
			 unsigned perm, bool *ret_changed);
/* The old ACL (or none) and mode put back; a path that is gone counts as restored. */
int journal_undo_acl(const struct host_root *h, const struct journal_record *rec,
		     struct plan_diags *d);
/*
 * system.posix_acl_access of ACL (*old_len bytes, old NULL: none, the ACL
 * mode implies) with user:uid given perm and the mask recomputed; pure.
 * *ret (malloc'd) NULL when uid has perm already.
 */
int acl_xattr_add_user(const uint8_t *old, size_t old_len, mode_t mode, uid_t uid, unsigned perm,
		       uint8_t **ret, size_t *ret_len);

/* Appends one diagnostic to d (0 or -ENOMEM): for the prepare steps. */
int prepare_diag(struct plan_diags *d, int level, const char *fmt, ...) _printf_(3, 4);
