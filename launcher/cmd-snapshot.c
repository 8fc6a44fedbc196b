/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm snapshot NAME [TAG], gamevm snapshot --list [NAME] [--json],
 * gamevm restore NAME TAG: copies of a VM's raw disk images, taken and put
 * back while the VM is off (docs/snapshots.md). The copies themselves are
 * snapshot-copy.h's; here: which disks, where their snapshots live, the
 * VM's lock, progress, messages.
 *
 * Every disk the guest can write ([disk] media = disk, not read-only) takes
 * part; qcow2 images and block devices are refused with what to use
 * instead. DIR/IMAGE's snapshots are DIR/IMAGE.snapshots/TAG: next to the
 * image, so on its filesystem, where a reflink can share its extents.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "macro.h"
#include "snapshot-copy.h"
#include "vm-dirs.h"
#include "vm-find.h"

/* Give up looking for a shared extent after this many (list only). */
#define LIST_FIEMAP_MAX_EXTENTS 65536
#define PROGRESS_TTY_USEC	(250 * 1000ULL)
#define PROGRESS_LOG_USEC	(5 * 1000 * 1000ULL)

struct disk_ctx {
	const struct vm_disk *d;
	char *dir_path;	 /* the image's directory */
	char *image;	 /* the image's name in it */
	char *snap_path; /* dir_path/image.snapshots */
	int dir_fd;
	int img_fd; /* -1: not open, or absent (restore recreates it) */
	int snap_fd;
	struct stat st; /* the image's, when img_fd >= 0 */
	struct copy_tmp tmp;
};

struct vm_ctx {
	struct config_error err;
	struct vm_config *c;
	struct disk_ctx *disks;
	size_t n;
	int lock_fd;
};

#define VM_CTX_NULL                                                                                \
	{                                                                                          \
		.lock_fd = -1                                                                      \
	}

static void vm_ctx_done(struct vm_ctx *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct disk_ctx *dc = &v->disks[i];

		copy_tmp_done(&dc->tmp);
		if (dc->img_fd >= 0)
			close(dc->img_fd);
		if (dc->snap_fd >= 0)
			close(dc->snap_fd);
		if (dc->dir_fd >= 0)
			close(dc->dir_fd);
		free(dc->dir_path);
		free(dc->image);
		free(dc->snap_path);
	}
	free(v->disks);
	config_free(v->c);
	config_error_done(&v->err);
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	*v = (struct vm_ctx)VM_CTX_NULL;
}

static bool disk_takes_part(const struct vm_disk *d)
{
	return d->media == DISK_MEDIA_DISK && !d->readonly;
}

/*
 * Loads CONF (a VM name or a path) and picks its disks. Every disk that
 * cannot be snapshotted by gamevm is reported (each with what to use
 * instead), then -EOPNOTSUPP. quiet: for --list over every VM.
 */
static int vm_ctx_load(const struct cli *cl, const char *arg, bool quiet, struct vm_ctx *v)
{
	_cleanup_free_ char *path = NULL;
	size_t refused = 0;
	int r;

	r = vm_config_find(cl, arg, &path);
	if (r < 0)
		return r;
	r = config_load(path, &v->c, &v->err);
	if (r < 0) {
		if (v->err.msg)
			return log_error_errno(r, "%s", v->err.msg);
		return log_error_errno(r, "Failed to load '%s': %m", path);
	}
	v->disks = calloc(MAX(v->c->n_disks, (size_t)1), sizeof(*v->disks));
	if (!v->disks)
		return log_error_errno(-ENOMEM, "Out of memory.");

	for (size_t i = 0; i < v->c->n_disks; i++) {
		const struct vm_disk *d = &v->c->disks[i];
		struct disk_ctx *dc;
		const char *slash;

		if (!disk_takes_part(d))
			continue;
		if (d->format == DISK_FORMAT_QCOW2) {
			refused++;
			if (!quiet)
				log_error(
					"%s:%u: [disk %s] '%s' is a qcow2 image: gamevm snapshots "
					"raw images. Use qcow2's own snapshots while the VM is "
					"off ('qemu-img snapshot -c TAG %s'; -l lists, -a TAG "
					"restores), or convert it to raw ('qemu-img convert -O raw "
					"%s IMAGE.raw') and name that in the config.",
					v->c->path, d->line, d->name, d->path, d->path, d->path);
			continue;
		}
		dc = &v->disks[v->n++];
		*dc = (struct disk_ctx){
			.d = d, .dir_fd = -1, .img_fd = -1, .snap_fd = -1, .tmp = COPY_TMP_NULL
		};
		slash = strrchr(d->path, '/');
		if (!slash || !slash[1])
			return log_error_errno(-EINVAL, "[disk %s] path '%s' is not absolute.",
					       d->name, d->path);
		dc->dir_path = slash == d->path ? strdup("/")
						: strndup(d->path, (size_t)(slash - d->path));
		dc->image = strdup(slash + 1);
		if (!dc->dir_path || !dc->image ||
		    asprintf(&dc->snap_path, "%s%s", d->path, SNAPSHOT_DIR_SUFFIX) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (refused > 0)
		return -EOPNOTSUPP;
	if (v->n == 0) {
		if (!quiet)
			log_error("%s: VM '%s' has no disk the guest can write ([disk NAME] with "
				  "media = disk, not read-only): nothing to snapshot.",
				  v->c->path, v->c->name);
		return -ENOENT;
	}
	return 0;
}

/* Takes the VM's lock: no gamevm start can begin while it is held. */
static int vm_ctx_lock(const struct cli *cl, struct vm_ctx *v)
{
	_cleanup_free_ char *run_dir = NULL, *why = NULL;
	int r;

	if (asprintf(&run_dir, "%s/%s", cl->run_dir, v->c->name) < 0) {
		run_dir = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	r = vm_lock_take(run_dir, &v->lock_fd, &why);
	if (r == -EBUSY)
		return log_error_errno(r, "VM '%s' is running; stop it first ('gamevm stop %s').",
				       v->c->name, v->c->name);
	if (r < 0)
		return log_error_errno(r, "%s: %m", why ? why : run_dir);
	return 0;
}

/*
 * Opens the image's directory and the image (must_exist = false: an
 * absent image is fine, restore puts it back). Refuses what is not a
 * regular file: a block device, a link, anything else.
 */
static int disk_open_image(struct disk_ctx *dc, bool must_exist)
{
	const char *path = dc->d->path, *name = dc->d->name;

	dc->dir_fd = open(dc->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dc->dir_fd < 0)
		return log_error_errno(NEG_ERRNO(), "[disk %s] cannot open the directory '%s': %m",
				       name, dc->dir_path);
	/* O_NONBLOCK: a FIFO named there must not block the open. */
	dc->img_fd = openat(dc->dir_fd, dc->image, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (dc->img_fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (errno == ELOOP)
			return log_error_errno(
				-ELOOP,
				"[disk %s] '%s' is a symbolic link: name the image itself in the "
				"config (a restore replaces the file by a rename, which would "
				"replace the link).",
				name, path);
		return log_error_errno(NEG_ERRNO(), "[disk %s] cannot open '%s': %m", name, path);
	}
	if (fstat(dc->img_fd, &dc->st) < 0)
		return log_error_errno(NEG_ERRNO(), "[disk %s] cannot stat '%s': %m", name, path);
	if (S_ISBLK(dc->st.st_mode))
		return log_error_errno(
			-EOPNOTSUPP,
			"[disk %s] '%s' is a block device: gamevm snapshots image files. Use the "
			"volume manager's snapshots with the VM off (LVM: 'lvcreate --snapshot "
			"--size 20G --name %s-TAG VG/LV', 'lvconvert --merge' to go back; ZFS: "
			"'zfs snapshot POOL/VOL@TAG', 'zfs rollback').",
			name, path, dc->image);
	if (!S_ISREG(dc->st.st_mode))
		return log_error_errno(-EINVAL, "[disk %s] '%s' is not a regular file.", name,
				       path);
	return 0;
}

/* Opens (create: creates, 0700) the image's snapshot directory; -ENOENT when absent. */
static int disk_open_snapdir(struct disk_ctx *dc, bool create)
{
	_cleanup_free_ char *sub = NULL;
	struct stat st;

	if (asprintf(&sub, "%s%s", dc->image, SNAPSHOT_DIR_SUFFIX) < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");
	if (create) {
		if (mkdirat(dc->dir_fd, sub, 0700) == 0) {
			if (fsync(dc->dir_fd) < 0)
				return log_error_errno(NEG_ERRNO(), "Failed to fsync '%s': %m",
						       dc->dir_path);
		} else if (errno != EEXIST) {
			return log_error_errno(NEG_ERRNO(), "[disk %s] cannot create '%s': %m",
					       dc->d->name, dc->snap_path);
		}
	}
	dc->snap_fd = openat(dc->dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dc->snap_fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return log_error_errno(NEG_ERRNO(), "[disk %s] cannot open '%s': %m", dc->d->name,
				       dc->snap_path);
	}
	if (fstat(dc->snap_fd, &st) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to stat '%s': %m", dc->snap_path);
	/* Whoever can write there could swap the snapshots we restore from. */
	if (st.st_uid != geteuid() || (st.st_mode & 0022))
		return log_error_errno(-EPERM,
				       "'%s' belongs to uid %u with mode %04o; expected a "
				       "directory of uid %u that only it can write.",
				       dc->snap_path, (unsigned)st.st_uid,
				       (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	return 0;
}

/* ---- progress ---------------------------------------------------------------------- */

struct progress {
	const char *disk;
	bool tty;
	bool printed; /* a \r line is on the terminal */
	uint64_t t0, last;
	sigset_t stop; /* pending one of these: cancel */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static bool stop_pending(const sigset_t *stop)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return false;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(stop, s) == 1 && sigismember(&pending, s) == 1)
			return true;
	return false;
}

static int progress_cb(uint64_t done, uint64_t total, void *userdata)
{
	struct progress *p = userdata;
	uint64_t now = now_usec(), elapsed;
	char d[32], t[32], rate[32];

	if (stop_pending(&p->stop))
		return -ECANCELED;
	if (done == 0 || now - p->last < (p->tty ? PROGRESS_TTY_USEC : PROGRESS_LOG_USEC))
		return 0;
	p->last = now;
	elapsed = MAX(now - p->t0, (uint64_t)1);
	format_bytes(done, d, sizeof(d));
	format_bytes(total, t, sizeof(t));
	format_bytes((uint64_t)((double)done * 1e6 / (double)elapsed), rate, sizeof(rate));
	if (p->tty) {
		fprintf(stderr, "\r[disk %s] %s of %s (%u%%), %s/s\033[K", p->disk, d, t,
			(unsigned)(total ? done * 100 / total : 100), rate);
		p->printed = true;
	} else {
		log_info("[disk %s] %s of %s copied (%u%%), %s/s", p->disk, d, t,
			 (unsigned)(total ? done * 100 / total : 100), rate);
	}
	return 0;
}

/*
 * Copies src_fd into a new file in dst_dir_fd (dc->tmp), owned like
 * *like, logging how. what: "snapshot" or "restore", for messages.
 */
static int disk_copy(struct disk_ctx *dc, int src_fd, int dst_dir_fd, const struct stat *like,
		     const sigset_t *stop, const char *src_path)
{
	_cleanup_free_ char *why = NULL;
	struct progress p = { .disk = dc->d->name, .tty = isatty(STDERR_FILENO) == 1 };
	struct copy_opts o = {
		.uid = like->st_uid,
		.gid = like->st_gid,
		.mode = like->st_mode & 07777,
		.progress = progress_cb,
		.userdata = &p,
		.no_reflink = !isempty(getenv("GAMEVM_SNAPSHOT_NO_REFLINK")),
	};
	char size[32], data[32], rate[32];
	double secs;
	int r;

	p.stop = *stop;
	p.t0 = p.last = now_usec();
	r = copy_to_tmp(src_fd, dst_dir_fd, &o, &dc->tmp, &why);
	if (p.printed)
		fputs("\n", stderr);
	if (r == -ECANCELED)
		return log_error_errno(r, "Interrupted: nothing was changed.");
	if (r < 0)
		return log_error_errno(r, "[disk %s] copying '%s' failed: %s", dc->d->name,
				       src_path, why ? why : strerror(-r));
	secs = (double)(now_usec() - p.t0) / 1e6;
	format_bytes(dc->tmp.size, size, sizeof(size));
	if (dc->tmp.method == COPY_METHOD_REFLINK) {
		log_info("[disk %s] %s (%s): reflink, %.2f s", dc->d->name, src_path, size, secs);
	} else {
		format_bytes(dc->tmp.copied, data, sizeof(data));
		format_bytes((uint64_t)((double)dc->tmp.copied / MAX(secs, 1e-3)), rate,
			     sizeof(rate));
		log_info("[disk %s] %s (%s): sparse copy of %s of data, %.2f s (%s/s)", dc->d->name,
			 src_path, size, data, secs, rate);
	}
	return 0;
}

static void block_stop_signals(sigset_t *ret)
{
	sigemptyset(ret);
	sigaddset(ret, SIGINT);
	sigaddset(ret, SIGTERM);
	sigaddset(ret, SIGHUP);
	/* Blocked to the end: pending, they cancel the copy (progress_cb) or the commit. */
	sigprocmask(SIG_BLOCK, ret, NULL);
}

/* ---- snapshot ---------------------------------------------------------------------- */

static int snapshot_take(const struct cli *cl, const char *arg, const char *tag)
{
	_cleanup_(vm_ctx_done) struct vm_ctx v = VM_CTX_NULL;
	sigset_t stop;
	size_t committed = 0;
	int r;

	r = vm_ctx_load(cl, arg, false, &v);
	if (r < 0)
		return r;
	r = vm_ctx_lock(cl, &v);
	if (r < 0)
		return r;
	block_stop_signals(&stop);

	for (size_t i = 0; i < v.n; i++) {
		struct disk_ctx *dc = &v.disks[i];
		struct stat st;

		r = disk_open_image(dc, true);
		if (r >= 0)
			r = disk_open_snapdir(dc, true);
		if (r < 0)
			return r;
		if (fstatat(dc->snap_fd, tag, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return log_error_errno(
				-EEXIST,
				"VM '%s' has a snapshot '%s' already (%s/%s): choose "
				"another tag, or remove that one first.",
				v.c->name, tag, dc->snap_path, tag);
		if (errno != ENOENT)
			return log_error_errno(NEG_ERRNO(), "Failed to look at '%s/%s': %m",
					       dc->snap_path, tag);
	}

	/* Every copy first, without a name; then the names: all disks or none. */
	for (size_t i = 0; i < v.n; i++) {
		struct disk_ctx *dc = &v.disks[i];

		r = disk_copy(dc, dc->img_fd, dc->snap_fd, &dc->st, &stop, dc->d->path);
		if (r < 0)
			return r;
	}
	if (stop_pending(&stop))
		return log_error_errno(-ECANCELED, "Interrupted: nothing was changed.");
	for (; committed < v.n; committed++) {
		struct disk_ctx *dc = &v.disks[committed];
		_cleanup_free_ char *why = NULL;

		r = copy_tmp_commit(&dc->tmp, tag, false, &why);
		if (r < 0) {
			log_error_errno(r, "[disk %s] %s: %s", dc->d->name, dc->snap_path,
					why ? why : strerror(-r));
			break;
		}
	}
	if (committed < v.n) {
		/* Take back the disks already named: a snapshot has all of them or is not one. */
		for (size_t i = 0; i < committed; i++) {
			struct disk_ctx *dc = &v.disks[i];

			if (unlinkat(dc->snap_fd, tag, 0) < 0 || fsync(dc->snap_fd) < 0)
				log_error_errno(NEG_ERRNO(), "Failed to remove '%s/%s': %m",
						dc->snap_path, tag);
		}
		return r;
	}
	log_info("Snapshot '%s' of VM '%s' taken (%zu disk%s).", tag, v.c->name, v.n,
		 v.n == 1 ? "" : "s");
	/* The tag on stdout: TAG=$(gamevm snapshot win11). */
	printf("%s\n", tag);
	return 0;
}

/* ---- restore ----------------------------------------------------------------------- */

int verb_restore(const struct cli *cl)
{
	_cleanup_(vm_ctx_done) struct vm_ctx v = VM_CTX_NULL;
	const char *tag = cl->args[1];
	sigset_t stop;
	size_t done = 0;
	int r;

	if (!snapshot_tag_is_valid(tag))
		return log_error_errno(-EINVAL,
				       "'%s' is not a snapshot tag (1 to %d of A-Z a-z 0-9 . _ -, "
				       "not starting with '.' or '-').",
				       tag, SNAPSHOT_TAG_MAX);
	r = vm_ctx_load(cl, cl->args[0], false, &v);
	if (r < 0)
		return r;
	r = vm_ctx_lock(cl, &v);
	if (r < 0)
		return r;
	block_stop_signals(&stop);

	/* Every disk's snapshot must be there before anything is copied. */
	for (size_t i = 0; i < v.n; i++) {
		struct disk_ctx *dc = &v.disks[i];

		r = disk_open_image(dc, false);
		if (r < 0)
			return r;
		r = disk_open_snapdir(dc, false);
		if (r == -ENOENT)
			return log_error_errno(
				-ENOENT,
				"VM '%s' has no snapshot of disk '%s' (no '%s'); see "
				"'gamevm snapshot --list %s'.",
				v.c->name, dc->d->name, dc->snap_path, v.c->name);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < v.n; i++) {
		struct disk_ctx *dc = &v.disks[i];
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *src = NULL;
		struct stat st;

		if (asprintf(&src, "%s/%s", dc->snap_path, tag) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
		fd = openat(dc->snap_fd, tag, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT)
			return log_error_errno(
				-ENOENT,
				"VM '%s' has no snapshot '%s' of disk '%s' (%s); see "
				"'gamevm snapshot --list %s'.",
				v.c->name, tag, dc->d->name, src, v.c->name);
		if (fd < 0)
			return log_error_errno(NEG_ERRNO(), "Failed to open '%s': %m", src);
		if (fstat(fd, &st) < 0)
			return log_error_errno(NEG_ERRNO(), "Failed to stat '%s': %m", src);
		if (!S_ISREG(st.st_mode))
			return log_error_errno(-EINVAL, "'%s' is not a regular file.", src);
		/* The image keeps its owner and mode; a recreated one gets the snapshot's. */
		r = disk_copy(dc, fd, dc->dir_fd, dc->img_fd >= 0 ? &dc->st : &st, &stop, src);
		if (r < 0)
			return r;
	}
	if (stop_pending(&stop))
		return log_error_errno(-ECANCELED, "Interrupted: nothing was changed.");
	for (; done < v.n; done++) {
		struct disk_ctx *dc = &v.disks[done];
		_cleanup_free_ char *why = NULL;

		r = copy_tmp_commit(&dc->tmp, dc->image, true, &why);
		if (r < 0) {
			log_error_errno(r, "[disk %s] cannot put the copy in place of '%s': %s",
					dc->d->name, dc->d->path, why ? why : strerror(-r));
			if (done > 0)
				log_error("VM '%s': %zu of %zu disks were restored to '%s', the "
					  "others not: run 'gamevm restore %s %s' again.",
					  v.c->name, done, v.n, tag, v.c->name, tag);
			return r;
		}
	}
	log_info("VM '%s' restored to snapshot '%s' (%zu disk%s).", v.c->name, tag, v.n,
		 v.n == 1 ? "" : "s");
	return 0;
}

/* ---- list -------------------------------------------------------------------------- */

struct snap_entry {
	char *vm;
	char *tag;
	char *disk;
	char *path;
	size_t disk_index; /* in the VM's disks that take part */
	size_t n_disks;	   /* how many take part */
	time_t time;	   /* mtime: when it was taken */
	uint64_t size, allocated;
	int shared; /* 1, 0, -1 unknown */
};

struct snap_list {
	struct snap_entry *v;
	size_t n;
};

static void snap_list_done(struct snap_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].vm);
		free(l->v[i].tag);
		free(l->v[i].disk);
		free(l->v[i].path);
	}
	free(l->v);
	*l = (struct snap_list){};
}

static int list_disk(const struct vm_ctx *v, size_t di, struct snap_list *l)
{
	struct disk_ctx *dc = &v->disks[di];
	struct dirent *de;
	DIR *d;
	int r;

	dc->dir_fd = open(dc->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dc->dir_fd < 0)
		return errno == ENOENT ? 0
				       : log_error_errno(NEG_ERRNO(), "Failed to open '%s': %m",
							 dc->dir_path);
	r = disk_open_snapdir(dc, false);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	d = fdopendir(dc->snap_fd);
	if (!d)
		return log_error_errno(NEG_ERRNO(), "Failed to read '%s': %m", dc->snap_path);
	dc->snap_fd = -1; /* d owns it now */
	while ((de = readdir(d))) {
		struct snap_entry *e, *nv;
		struct stat st;
		int fd;

		/* Names that are no tag are not ours, or a copy still under way. */
		if (!snapshot_tag_is_valid(de->d_name))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		nv = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		if (!nv) {
			close(fd);
			r = -ENOMEM;
			break;
		}
		l->v = nv;
		e = &l->v[l->n++];
		*e = (struct snap_entry){
			.vm = strdup(v->c->name),
			.tag = strdup(de->d_name),
			.disk = strdup(dc->d->name),
			.disk_index = di,
			.n_disks = v->n,
			.time = st.st_mtim.tv_sec,
			.size = (uint64_t)st.st_size,
			.allocated = (uint64_t)st.st_blocks * 512,
		};
		r = file_shares_extents(fd, LIST_FIEMAP_MAX_EXTENTS);
		e->shared = r < 0 ? -1 : r;
		close(fd);
		r = 0;
		if (asprintf(&e->path, "%s/%s", dc->snap_path, de->d_name) < 0)
			e->path = NULL;
		if (!e->vm || !e->tag || !e->disk || !e->path) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(d);
	return r < 0 ? log_error_errno(r, "Out of memory.") : 0;
}

static int list_vm(const struct cli *cl, const char *arg, bool quiet, struct snap_list *l)
{
	_cleanup_(vm_ctx_done) struct vm_ctx v = VM_CTX_NULL;
	int r;

	r = vm_ctx_load(cl, arg, quiet, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < v.n; i++) {
		r = list_disk(&v, i, l);
		if (r < 0)
			return r;
	}
	return 0;
}

/* By VM, then tag (default tags sort by time), then the disks in config order. */
static int entry_cmp(const void *a, const void *b)
{
	const struct snap_entry *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	if (c == 0)
		c = strcmp(x->tag, y->tag);
	if (c == 0)
		c = x->disk_index < y->disk_index ? -1 : x->disk_index > y->disk_index;
	return c;
}

/* The entries [i, *ret_end) share VM and tag. */
static size_t group_end(const struct snap_list *l, size_t i)
{
	size_t j = i + 1;

	while (j < l->n && streq(l->v[j].vm, l->v[i].vm) && streq(l->v[j].tag, l->v[i].tag))
		j++;
	return j;
}

static void list_print_json(const struct snap_list *l)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < l->n;) {
		size_t end = group_end(l, i);
		json_object *o = json_object_new_object(), *disks = json_object_new_array();

		json_object_object_add(o, "vm", json_object_new_string(l->v[i].vm));
		json_object_object_add(o, "tag", json_object_new_string(l->v[i].tag));
		json_object_object_add(o, "time", json_object_new_int64(l->v[i].time));
		json_object_object_add(o, "complete",
				       json_object_new_boolean(end - i == l->v[i].n_disks));
		for (size_t k = i; k < end; k++) {
			const struct snap_entry *e = &l->v[k];
			json_object *d = json_object_new_object();

			json_object_object_add(d, "disk", json_object_new_string(e->disk));
			json_object_object_add(d, "path", json_object_new_string(e->path));
			json_object_object_add(d, "time", json_object_new_int64(e->time));
			json_object_object_add(d, "size", json_object_new_uint64(e->size));
			json_object_object_add(d, "allocated",
					       json_object_new_uint64(e->allocated));
			json_object_object_add(d, "shared",
					       e->shared < 0 ? NULL
							     : json_object_new_boolean(e->shared));
			json_object_array_add(disks, d);
		}
		json_object_object_add(o, "disks", disks);
		json_object_array_add(arr, o);
		i = end;
	}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

static void list_print_text(const struct snap_list *l)
{
	printf("%-16s %-24s %-19s %-12s %10s %10s %s\n", "VM", "TAG", "DATE", "DISK", "SIZE",
	       "ALLOCATED", "SHARED");
	for (size_t i = 0; i < l->n;) {
		size_t end = group_end(l, i);

		for (size_t k = i; k < end; k++) {
			const struct snap_entry *e = &l->v[k];
			char date[32] = "-", size[32], alloc[32];
			struct tm tm;

			if (localtime_r(&e->time, &tm))
				strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
			format_bytes(e->size, size, sizeof(size));
			format_bytes(e->allocated, alloc, sizeof(alloc));
			printf("%-16s %-24s %-19s %-12s %10s %10s %s\n", e->vm, e->tag, date,
			       e->disk, size, alloc,
			       e->shared < 0 ? "-"
			       : e->shared   ? "yes"
					     : "no");
		}
		if (end - i != l->v[i].n_disks)
			log_warning("Snapshot '%s' of VM '%s' has %zu of the VM's %zu disks: it "
				    "cannot be restored.",
				    l->v[i].tag, l->v[i].vm, end - i, l->v[i].n_disks);
		i = end;
	}
}

static int snapshot_list(const struct cli *cl)
{
	_cleanup_(snap_list_done) struct snap_list l = {};
	int r;

	if (cl->n_args == 1) {
		r = list_vm(cl, cl->args[0], false, &l);
		if (r < 0)
			return r;
	} else {
		struct vm_defined *def = NULL;
		size_t n_def = 0;

		r = vm_configs_list(cl, &def, &n_def);
		if (r < 0)
			return log_error_errno(r, "Failed to list the VMs' configs: %m");
		for (size_t i = 0; i < n_def; i++) {
			r = list_vm(cl, def[i].path, true, &l);
			/* Not ours to judge here: qcow2, no disk, a config with errors. */
			if (r == -ENOMEM)
				break;
			r = 0;
		}
		vm_defined_free(def, n_def);
		if (r < 0)
			return r;
	}
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	if (cl->json)
		list_print_json(&l);
	else if (l.n == 0)
		log_info("No snapshots.");
	else
		list_print_text(&l);
	return 0;
}

int verb_snapshot(const struct cli *cl)
{
	char tag[SNAPSHOT_TAG_MAX + 1];

	if (cl->list) {
		if (cl->n_args > 1) {
			log_error("Usage: gamevm snapshot --list [NAME] [--json]");
			return 2;
		}
		return snapshot_list(cl);
	}
	if (cl->n_args < 1) {
		log_error("Usage: gamevm snapshot NAME [TAG], gamevm snapshot --list [NAME]");
		return 2;
	}
	if (cl->n_args == 2) {
		if (!snapshot_tag_is_valid(cl->args[1]))
			return log_error_errno(-EINVAL,
					       "'%s' is not a snapshot tag (1 to %d of A-Z a-z 0-9 "
					       ". _ -, not starting with '.' or '-').",
					       cl->args[1], SNAPSHOT_TAG_MAX);
		snprintf(tag, sizeof(tag), "%s", cl->args[1]);
	} else if (snapshot_tag_default(time(NULL), tag) < 0) {
		return log_error_errno(-EINVAL, "Failed to format the time as a tag.");
	}
	return snapshot_take(cl, cl->args[0], tag);
}
