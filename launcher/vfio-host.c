/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side of VFIO binding that is not binding itself: the timed
 * sysfs writes, who holds a device's nodes (proc/PID/fd), whether the host
 * display uses a GPU, modprobe, and the health check after the VM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"
#include "vfio-internal.h"

#define HOLDERS_LISTED 8

int vfio_read_binding(const struct host_root *h, const char *addr, char **ret_driver,
		      char **ret_override)
{
	_cleanup_free_ char *driver = NULL, *override = NULL;
	char path[128];
	int r;

	if (h->sys_fd < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver", addr);
	r = read_link_basename_at(h->sys_fd, path, &driver);
	if (r < 0 && r != -ENOENT)
		return r;
	if (ret_override) {
		snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", addr);
		r = read_one_line_at(h->sys_fd, path, &override);
		if (r < 0 && r != -ENOENT)
			return r;
		/* The kernel shows "(null)" while none is set. */
		if (override && (streq(override, "(null)") || !*override)) {
			free(override);
			override = NULL;
		}
		*ret_override = TAKE_PTR(override);
	}
	*ret_driver = TAKE_PTR(driver);
	return 0;
}

/* ---- timed writes ----------------------------------------------------------------- */

int vfio_write_timed(const struct host_root *h, const char *path, const char *value, int timeout_ms)
{
	struct child c = CHILD_NULL;
	int status = 0, r;
	pid_t pid;

	if (h->sys_fd < 0)
		return -ENOENT;
	pid = fork();
	if (pid < 0)
		return NEG_ERRNO();
	if (pid == 0) {
		/* The one write; the errno goes back as the exit status. */
		r = write_string_at(h->sys_fd, path, value);
		_exit(r < 0 ? MIN(-r, 255) : 0);
	}
	c.pid = pid;
	c.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	c.name = "sysfs writer";

	r = child_wait(&c, timeout_ms, &status);
	if (r == -ETIMEDOUT) {
		/*
		 * A write stuck in the kernel (a driver's remove() waiting for
		 * its users) may not even die of SIGKILL; then it is left
		 * behind rather than hanging gamevm with it.
		 */
		(void)child_signal(&c, SIGKILL);
		if (child_wait(&c, 200, NULL) < 0)
			closep(&c.pidfd);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(status))
		return -EIO;
	return -WEXITSTATUS(status);
}

/* ---- who holds a device -------------------------------------------------------------- */

/* The /dev paths of the device's nodes; a trailing '*' matches a prefix. */
static int device_nodes(const struct host_root *h, const char *addr, bool cards_only,
			struct strv *ret)
{
	_cleanup_(closedirp) DIR *drm = NULL, *snd = NULL;
	_cleanup_free_ char *group = NULL;
	char path[128];
	unsigned n;

	snprintf(path, sizeof(path), "bus/pci/devices/%s/drm", addr);
	drm = opendir_at(h->sys_fd, path);
	for (struct dirent *de; drm && (de = readdir(drm));) {
		if (strncmp(de->d_name, "card", 4) == 0 && safe_atou(de->d_name + 4, &n) >= 0)
			strv_pushf(ret, "/dev/dri/card%u", n);
		else if (!cards_only && strncmp(de->d_name, "renderD", 7) == 0 &&
			 safe_atou(de->d_name + 7, &n) >= 0)
			strv_pushf(ret, "/dev/dri/renderD%u", n);
	}
	if (cards_only)
		return ret->err;

	snprintf(path, sizeof(path), "bus/pci/devices/%s/sound", addr);
	snd = opendir_at(h->sys_fd, path);
	for (struct dirent *de; snd && (de = readdir(snd));) {
		if (strncmp(de->d_name, "card", 4) != 0 || safe_atou(de->d_name + 4, &n) < 0)
			continue;
		strv_pushf(ret, "/dev/snd/controlC%u", n);
		strv_pushf(ret, "/dev/snd/pcmC%uD*", n);
		strv_pushf(ret, "/dev/snd/hwC%uD*", n);
	}

	snprintf(path, sizeof(path), "bus/pci/devices/%s/iommu_group", addr);
	if (read_link_basename_at(h->sys_fd, path, &group) >= 0)
		strv_pushf(ret, "/dev/vfio/%s", group);
	return ret->err;
}

static const char *node_match(char **nodes, const char *target)
{
	strv_foreach (n, nodes) {
		size_t len = strlen(*n);

		if (len > 0 && (*n)[len - 1] == '*') {
			if (strncmp(*n, target, len - 1) == 0)
				return target;
		} else if (streq(*n, target))
			return *n;
	}
	return NULL;
}

/* Appends "comm (pid P, NODE)" for each node of nodes that PID has open. */
static int scan_pid(const struct host_root *h, const char *pid, char **nodes, struct strv *out,
		    size_t *n_found)
{
	_cleanup_(closedirp) DIR *fds = NULL;
	_cleanup_free_ char *comm = NULL;
	struct strv seen = {};
	char path[64];

	snprintf(path, sizeof(path), "%s/fd", pid);
	fds = opendir_at(h->proc_fd, path);
	if (!fds)
		return 0; /* gone, or not ours to look at */
	for (struct dirent *de; (de = readdir(fds));) {
		char target[PATH_MAX];
		const char *m;
		bool dup = false;
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(fds), de->d_name, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = 0;
		m = node_match(nodes, target);
		if (!m)
			continue;
		strv_foreach (s, seen.v)
			dup = dup || streq(*s, target);
		if (dup)
			continue;
		strv_push(&seen, target);
		if (!comm) {
			snprintf(path, sizeof(path), "%s/comm", pid);
			if (read_one_line_at(h->proc_fd, path, &comm) < 0)
				comm = strdup("?");
		}
		if (++*n_found <= HOLDERS_LISTED)
			strv_pushf(out, "%s (pid %s, %s)", comm ? comm : "?", pid, target);
	}
	int r = seen.err;
	strv_done(&seen);
	return r;
}

/* pids (may be NULL): each holder's pid, once. */
static int holders_text(const struct host_root *h, char **nodes, char **ret, struct strv *pids)
{
	_cleanup_(closedirp) DIR *proc = NULL;
	struct strv out = {};
	size_t n_found = 0, len = 0;
	char *s, *e;
	int r = 0;

	*ret = NULL;
	if (h->proc_fd < 0 || !nodes || !nodes[0])
		return 0;
	proc = opendir_at(h->proc_fd, ".");
	if (!proc)
		return NEG_ERRNO();
	for (struct dirent *de; (de = readdir(proc));) {
		unsigned pid;

		size_t before = n_found;

		if (safe_atou(de->d_name, &pid) < 0)
			continue;
		r = scan_pid(h, de->d_name, nodes, &out, &n_found);
		if (r < 0)
			break;
		if (pids && n_found > before)
			strv_push(pids, de->d_name);
	}
	if (r == 0 && n_found > HOLDERS_LISTED)
		strv_pushf(&out, "and %zu more", n_found - HOLDERS_LISTED);
	if (r == 0)
		r = out.err;
	if (r < 0 || out.n == 0) {
		strv_done(&out);
		return r;
	}
	strv_foreach (p, out.v)
		len += strlen(*p) + 2;
	s = malloc(len + 1);
	if (!s) {
		strv_done(&out);
		return -ENOMEM;
	}
	e = s;
	*e = 0;
	strv_foreach (p, out.v)
		e = stpcpy(stpcpy(e, p == out.v ? "" : ", "), *p);
	strv_done(&out);
	*ret = s;
	return 0;
}

int vfio_find_holders(const struct host_root *h, const struct pci_addr *a, bool cards_only,
		      char **ret)
{
	struct strv nodes = {};
	char addr[PCI_ADDR_STRLEN];
	int r;

	*ret = NULL;
	if (h->sys_fd < 0)
		return 0;
	format_pci_addr(a, addr);
	r = device_nodes(h, addr, cards_only, &nodes);
	if (r >= 0)
		r = holders_text(h, nodes.v, ret, NULL);
	strv_done(&nodes);
	return r;
}

int vfio_find_holder_pids(const struct host_root *h, const struct pci_addr *a,
			  struct strv *ret_pids)
{
	_cleanup_free_ char *text = NULL;
	struct strv nodes = {};
	char addr[PCI_ADDR_STRLEN];
	int r;

	if (h->sys_fd < 0)
		return 0;
	format_pci_addr(a, addr);
	r = device_nodes(h, addr, false, &nodes);
	if (r >= 0)
		r = holders_text(h, nodes.v, &text, ret_pids);
	strv_done(&nodes);
	return r < 0 ? r : ret_pids->err;
}

/* ---- the host display ------------------------------------------------------------------ */

bool vfio_is_firmware_fb(const char *dev)
{
	static const char *const names[] = {
		"efi-framebuffer", "simple-framebuffer",   "vesa-framebuffer",
		"vesafb",	   "platform-framebuffer",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strncmp(dev, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/*
 * A firmware framebuffer (efifb, simplefb, vesafb, simpledrm) is a platform
 * device over the memory of the boot VGA device: "fb0 (efi-framebuffer.0)".
 */
static int firmware_fb(const struct host_root *h, char **ret)
{
	static const char *const dirs[] = { "class/graphics", "class/drm" };

	*ret = NULL;
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_(closedirp) DIR *d = opendir_at(h->sys_fd, dirs[i]);

		for (struct dirent *de; d && (de = readdir(d));) {
			_cleanup_free_ char *dev = NULL;
			char path[300];

			if (strncmp(de->d_name, i == 0 ? "fb" : "card", i == 0 ? 2 : 4) != 0 ||
			    strchr(de->d_name, '-'))
				continue;
			snprintf(path, sizeof(path), "%s/%s/device", dirs[i], de->d_name);
			if (read_link_basename_at(h->sys_fd, path, &dev) < 0 ||
			    !vfio_is_firmware_fb(dev))
				continue;
			if (asprintf(ret, "%s (%s)", de->d_name, dev) < 0)
				return -ENOMEM;
			return 0;
		}
	}
	return 0;
}

int vfio_display_use(const struct host_root *h, const struct host_pci_dev *dev, char **ret)
{
	_cleanup_free_ char *fw = NULL, *holders = NULL;
	_cleanup_(closedirp) DIR *gfx = NULL;
	struct strv why = {};
	char addr[PCI_ADDR_STRLEN], path[128];
	size_t len = 0;
	char *s, *e;
	int r;

	*ret = NULL;
	if (h->sys_fd < 0)
		return 0;
	format_pci_addr(&dev->addr, addr);

	if (dev->boot_vga) {
		/* fbdev emulation of the GPU's own DRM driver (amdgpudrmfb, ...). */
		snprintf(path, sizeof(path), "bus/pci/devices/%s/graphics", addr);
		gfx = opendir_at(h->sys_fd, path);
		for (struct dirent *de; gfx && (de = readdir(gfx));)
			if (strncmp(de->d_name, "fb", 2) == 0)
				strv_pushf(&why,
					   "it is the boot VGA device and framebuffer %s is on it",
					   de->d_name);
		if (why.n == 0) {
			r = firmware_fb(h, &fw);
			if (r < 0)
				goto out;
			if (fw)
				strv_pushf(
					&why,
					"it is the boot VGA device and the firmware framebuffer %s is on it",
					fw);
		}
	}

	r = vfio_find_holders(h, &dev->addr, true, &holders);
	if (r < 0)
		goto out;
	if (holders)
		strv_pushf(&why, "its DRM card node is open in %s", holders);

	r = why.err;
	if (r < 0 || why.n == 0)
		goto out;
	strv_foreach (p, why.v)
		len += strlen(*p) + 2;
	s = malloc(len + 1);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	e = s;
	*e = 0;
	strv_foreach (p, why.v)
		e = stpcpy(stpcpy(e, p == why.v ? "" : "; "), *p);
	*ret = s;
out:
	strv_done(&why);
	return r;
}

/* ---- modprobe ---------------------------------------------------------------------------- */

int vfio_modprobe(const struct host_root *h, const char *const *args, char **ret_output)
{
	int status, r;

	if (ret_output)
		*ret_output = NULL;
	r = host_run(h, "modprobe", args, VFIO_MODPROBE_TIMEOUT_MS, &status, ret_output);
	if (r < 0)
		return r;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- health after the VM -------------------------------------------------------------- */

int vfio_check_health(const struct host_root *h, const struct vfio_dev *devs, size_t n,
		      struct plan_diags *d)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = -1;
		char addr[PCI_ADDR_STRLEN], path[128];
		unsigned char id[2];
		ssize_t got;
		int r;

		format_pci_addr(&devs[i].addr, addr);
		snprintf(path, sizeof(path), "bus/pci/devices/%s/config", addr);
		fd = h->sys_fd < 0 ? -1 : openat(h->sys_fd, path, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -1 : pread(fd, id, sizeof(id), 0);
		if (got == (ssize_t)sizeof(id) && (id[0] != 0xff || id[1] != 0xff))
			continue;
		if (got < 0 || got != (ssize_t)sizeof(id))
			r = prepare_diag(
				d, LOG_ERR,
				"%s did not come back from the VM: its config space (/sys/bus/pci/devices/%s/config) cannot be read (%s); the host may need a reboot to use it again",
				addr, addr, got < 0 ? strerror(errno) : "short read");
		else
			r = prepare_diag(
				d, LOG_ERR,
				"%s did not come back from the VM: its config space reads 0xffff (/sys/bus/pci/devices/%s/config), the device no longer answers (a failed reset; for AMD GPUs see vendor-reset, https://github.com/gnif/vendor-reset); the host may need a reboot to use it again",
				addr, addr);
		if (r < 0)
			return r;
		ret = -EIO;
	}
	return ret;
}
