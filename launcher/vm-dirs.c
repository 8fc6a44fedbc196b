/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "vm-dirs.h"

#define VM_STATUS_TMP	       "status.json.tmp"
#define VM_STATUS_MAX_CPUS     4096
#define VM_STATUS_MAX_IOTH     256
#define VM_STATUS_MAX_HOSTDEVS 256

/* Replaces *error (if error is non-NULL); keeps errno, so "msg_set(...), -errno" works. */
static int msg_set(char **error, const char *fmt, ...) _printf_(2, 3);
static int msg_set(char **error, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *s;

	if (!error)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*error);
	*error = s;
	errno = saved;
	return 0;
}

/*
 * Opens (creating as needed) every component of path, parents with mode
 * 0755, the last one with mode, each without following symlinks. The last
 * one must belong to us (root): gamevm puts sockets it later connects to
 * there, so nobody else may be able to rename things inside it. Its mode is
 * reset to mode whether it was created or not.
 */
static int dir_make_open(const char *path, mode_t mode, int *ret_fd, char **error)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *p, *next;

	if (!copy)
		return -ENOMEM;
	if (isempty(path))
		return -EINVAL;

	fd = open(path[0] == '/' ? "/" : ".", O_DIRECTORY | O_CLOEXEC | O_RDONLY);
	if (fd < 0)
		return msg_set(error, "cannot open '%s'", path[0] == '/' ? "/" : "."), -errno;

	for (p = copy; p; p = next) {
		bool last;
		int nfd;

		while (*p == '/')
			p++;
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		if (!*p)
			continue;
		last = !next || !next[strspn(next, "/")];

		if (mkdirat(fd, p, last ? mode : 0755) < 0 && errno != EEXIST) {
			int err = errno;

			return msg_set(error, "cannot create directory '%s'", path), -err;
		}
		nfd = openat(fd, p, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_RDONLY);
		if (nfd < 0) {
			int err = errno;

			return msg_set(error, "cannot open directory '%s' (at '%s')", path, p),
			       -err;
		}
		close(fd);
		fd = nfd;
	}

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid())
		return msg_set(error, "'%s' belongs to uid %u, not to uid %u: remove it", path,
			       (unsigned)st.st_uid, (unsigned)geteuid()),
		       -EPERM;
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0) {
		int err = errno;

		return msg_set(error, "cannot set the mode of '%s'", path), -err;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Removes dir_fd/name if it is there; 1 when it was, 0 when not. */
static int unlink_if_present(int dir_fd, const char *name)
{
	if (unlinkat(dir_fd, name, 0) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/*
 * A listening unix socket at dir_fd/name, mode 0600, owned by uid:gid.
 * abs is the absolute path the clients will use: it must fit sun_path
 * (QEMU connects to it). The bind itself goes through /proc/self/fd/N/name
 * so it lands in the directory we hold open, whatever happened to the path.
 * Permissions are fixed before listen(): until then nobody can connect.
 */
static int socket_bind_listen(int dir_fd, const char *name, const char *abs, uid_t uid, gid_t gid,
			      int *ret_fd, char **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int n;

	if (strlen(abs) >= sizeof(sa.sun_path))
		return msg_set(error,
			       "socket path '%s' is %zu bytes, more than the %zu a unix socket "
			       "address holds: use a shorter --run-dir",
			       abs, strlen(abs), sizeof(sa.sun_path) - 1),
		       -ENAMETOOLONG;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return msg_set(error, "socket name '%s' too long", name), -ENAMETOOLONG;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return msg_set(error, "cannot create a socket for '%s'", abs), -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		return msg_set(error, "cannot bind '%s'", abs), -err;
	}
	if (fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(dir_fd, name, 0600, 0) < 0) {
		int err = errno;

		return msg_set(error, "cannot set the owner and mode of '%s'", abs), -err;
	}
	if (listen(fd, 4) < 0) {
		int err = errno;

		return msg_set(error, "cannot listen on '%s'", abs), -err;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int lock_take(int run_fd, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	fd = openat(run_fd, VM_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int log_open(int run_fd, const char *name, int *ret_fd)
{
	int fd = openat(run_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static int close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

int vm_dirs_bind_sockets(struct vm_dirs *d, uid_t uid, gid_t gid, char **error)
{
	_cleanup_free_ char *qmp = NULL, *swtpm = NULL;
	_cleanup_close_ int qmp_fd = -1, swtpm_fd = -1;
	int r;

	if (d->lock_fd < 0 || d->run_fd < 0)
		return -EINVAL;
	/* One a VM without a TPM never handed over: bound again like the other. */
	d->qmp_fd = close_fd(d->qmp_fd);
	d->swtpm_fd = close_fd(d->swtpm_fd);
	if (asprintf(&qmp, "%s/%s", d->run_path, VM_QMP_SOCKET) < 0 ||
	    asprintf(&swtpm, "%s/%s", d->run_path, VM_SWTPM_SOCKET) < 0)
		return -ENOMEM;
	/* We hold the lock: a socket left there is from a child we already reaped. */
	(void)unlink_if_present(d->run_fd, VM_QMP_SOCKET);
	(void)unlink_if_present(d->run_fd, VM_SWTPM_SOCKET);
	r = socket_bind_listen(d->run_fd, VM_QMP_SOCKET, qmp, geteuid(), getegid(), &qmp_fd, error);
	if (r < 0)
		return r;
	r = socket_bind_listen(d->run_fd, VM_SWTPM_SOCKET, swtpm, uid, gid, &swtpm_fd, error);
	if (r < 0) {
		(void)unlinkat(d->run_fd, VM_QMP_SOCKET, 0);
		return r;
	}
	d->qmp_fd = TAKE_FD(qmp_fd);
	d->swtpm_fd = TAKE_FD(swtpm_fd);
	return 0;
}

int vm_dirs_open(const struct vm_paths *paths, const char *name, uid_t uid, gid_t gid,
		 struct vm_dirs *ret, char **error)
{
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	int r;

	if (!paths || !paths->run_dir || !paths->state_dir || isempty(name))
		return -EINVAL;

	d.name = strdup(name);
	d.run_path = strdup(paths->run_dir);
	d.state_path = strdup(paths->state_dir);
	if (!d.name || !d.run_path || !d.state_path)
		return -ENOMEM;

	r = dir_make_open(d.run_path, 0755, &d.run_fd, error);
	if (r < 0)
		return r;

	r = lock_take(d.run_fd, &d.lock_fd);
	if (r == -EBUSY) {
		pid_t pid = 0;

		(void)vm_lock_probe(d.run_fd, &pid);
		if (pid > 0)
			msg_set(error,
				"VM '%s' is already running (gamevm pid %d); stop it with 'gamevm stop %s'",
				name, (int)pid, name);
		else
			msg_set(error, "VM '%s' is already running; stop it with 'gamevm stop %s'",
				name, name);
		return r;
	}
	if (r < 0)
		return msg_set(error, "cannot lock '%s/%s'", d.run_path, VM_LOCK_FILE), r;

	/* We hold the lock: whatever a previous run left behind has no owner. */
	r = unlink_if_present(d.run_fd, VM_QMP_SOCKET);
	if (r < 0)
		return msg_set(error, "cannot remove '%s/%s'", d.run_path, VM_QMP_SOCKET), r;
	d.stale_qmp = r > 0;
	r = unlink_if_present(d.run_fd, VM_SWTPM_SOCKET);
	if (r < 0)
		return msg_set(error, "cannot remove '%s/%s'", d.run_path, VM_SWTPM_SOCKET), r;
	d.stale_swtpm = r > 0;
	r = unlink_if_present(d.run_fd, VM_STATUS_FILE);
	if (r < 0)
		return msg_set(error, "cannot remove '%s/%s'", d.run_path, VM_STATUS_FILE), r;
	d.stale_status = r > 0;
	(void)unlink_if_present(d.run_fd, VM_STATUS_TMP);

	r = dir_make_open(d.state_path, 0711, &d.state_fd, error);
	if (r < 0)
		return r;

	r = vm_dirs_bind_sockets(&d, uid, gid, error);
	if (r < 0)
		return r;

	r = log_open(d.run_fd, VM_QEMU_LOG, &d.qemu_log_fd);
	if (r >= 0)
		r = log_open(d.run_fd, VM_SWTPM_LOG, &d.swtpm_log_fd);
	if (r < 0)
		return msg_set(error, "cannot open the logs in '%s'", d.run_path), r;

	*ret = d;
	d = (struct vm_dirs)VM_DIRS_NULL;
	return 0;
}

void vm_dirs_close(struct vm_dirs *d)
{
	int saved = errno;

	if (!d)
		return;
	/* Only the lock holder may remove what the running VM is known by. */
	if (d->lock_fd >= 0 && d->run_fd >= 0) {
		if (d->qmp_fd >= 0)
			(void)unlinkat(d->run_fd, VM_QMP_SOCKET, 0);
		if (d->swtpm_fd >= 0)
			(void)unlinkat(d->run_fd, VM_SWTPM_SOCKET, 0);
		(void)unlinkat(d->run_fd, VM_STATUS_FILE, 0);
		(void)unlinkat(d->run_fd, VM_STATUS_TMP, 0);
		(void)unlinkat(d->run_fd, VM_PULSE_COOKIE, 0);
	}
	d->qmp_fd = close_fd(d->qmp_fd);
	d->swtpm_fd = close_fd(d->swtpm_fd);
	d->qemu_log_fd = close_fd(d->qemu_log_fd);
	d->swtpm_log_fd = close_fd(d->swtpm_log_fd);
	d->state_fd = close_fd(d->state_fd);
	d->run_fd = close_fd(d->run_fd);
	/* Last: the lock covers everything above. The file itself stays. */
	d->lock_fd = close_fd(d->lock_fd);
	free(d->name);
	free(d->run_path);
	free(d->state_path);
	d->name = d->run_path = d->state_path = NULL;
	errno = saved;
}

int vm_lock_take(const char *run_dir, int *ret_lock_fd, char **error)
{
	_cleanup_close_ int run_fd = -1;
	int r;

	if (isempty(run_dir) || !ret_lock_fd)
		return -EINVAL;
	r = dir_make_open(run_dir, 0755, &run_fd, error);
	if (r < 0)
		return r;
	r = lock_take(run_fd, ret_lock_fd);
	if (r < 0 && r != -EBUSY)
		msg_set(error, "cannot lock '%s/%s'", run_dir, VM_LOCK_FILE);
	return r;
}

int vm_run_dir_open(const char *run_dir, int *ret_fd)
{
	int fd;

	if (isempty(run_dir))
		return -EINVAL;
	fd = open(run_dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int vm_lock_probe(int run_fd, pid_t *ret_pid)
{
	_cleanup_close_ int fd = -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	fd = openat(run_fd, VM_LOCK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		if (ret_pid)
			*ret_pid = 0;
		return 0;
	}
	/* F_OFD_GETLK reports a conflicting lock without taking one. */
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	if (ret_pid) {
		struct vm_status st = { 0 };

		*ret_pid = 0;
		if (fl.l_type != F_UNLCK && vm_status_read(run_fd, &st, NULL) >= 0)
			*ret_pid = st.gamevm_pid;
		vm_status_done(&st);
	}
	return fl.l_type != F_UNLCK;
}

static const char *const vm_state_names[_VM_STATE_MAX] = {
	[VM_STATE_STARTING] = "starting", [VM_STATE_PREPARED] = "prepared",
	[VM_STATE_RUNNING] = "running",	  [VM_STATE_PAUSED] = "paused",
	[VM_STATE_STOPPING] = "stopping",
};

const char *vm_state_to_string(enum vm_state s)
{
	return s >= 0 && s < _VM_STATE_MAX ? vm_state_names[s] : NULL;
}

enum vm_state vm_state_from_string(const char *s)
{
	for (int i = 0; s && i < _VM_STATE_MAX; i++)
		if (streq(s, vm_state_names[i]))
			return (enum vm_state)i;
	return _VM_STATE_INVALID;
}

void vm_status_done(struct vm_status *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->qemu_version);
	free(s->vcpus);
	for (size_t i = 0; i < s->n_iothreads; i++)
		free(s->iothreads[i].id);
	free(s->iothreads);
	for (size_t i = 0; i < s->n_hostdevs; i++) {
		free(s->hostdevs[i].host);
		free(s->hostdevs[i].guest);
	}
	free(s->hostdevs);
	*s = (struct vm_status){ 0 };
}

/* json-c returns 0 on success; adding to a fresh object only fails on ENOMEM. */
static int obj_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int arr_add(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

int vm_status_to_json(const struct vm_status *s, char **ret)
{
	_cleanup_(json_putp) json_object *root = json_object_new_object();
	json_object *vcpus, *ioth;
	const char *state = vm_state_to_string(s->state);
	const char *text;
	int r = 0;

	if (!root)
		return -ENOMEM;
	if (!state)
		return -EINVAL;

	/* Absent members (name, qemu_version) read back as NULL. */
	if (s->name)
		r |= obj_add(root, "name", json_object_new_string(s->name));
	r |= obj_add(root, "state", json_object_new_string(state));
	r |= obj_add(root, "gamevm_pid", json_object_new_int64(s->gamevm_pid));
	r |= obj_add(root, "qemu_pid", json_object_new_int64(s->qemu_pid));
	r |= obj_add(root, "swtpm_pid", json_object_new_int64(s->swtpm_pid));
	r |= obj_add(root, "start_time", json_object_new_uint64(s->start_time));
	if (s->qemu_version)
		r |= obj_add(root, "qemu_version", json_object_new_string(s->qemu_version));
	if (r < 0)
		return -ENOMEM;

	vcpus = json_object_new_array();
	if (obj_add(root, "vcpus", vcpus) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_vcpus; i++) {
		json_object *v = json_object_new_object();

		if (arr_add(vcpus, v) < 0)
			return -ENOMEM;
		r |= obj_add(v, "index", json_object_new_int64(s->vcpus[i].index));
		r |= obj_add(v, "tid", json_object_new_int64(s->vcpus[i].tid));
		r |= obj_add(v, "host_cpu", json_object_new_int64(s->vcpus[i].host_cpu));
	}
	ioth = json_object_new_array();
	if (obj_add(root, "iothreads", ioth) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_iothreads; i++) {
		json_object *v = json_object_new_object();

		if (arr_add(ioth, v) < 0 || !s->iothreads[i].id)
			return -ENOMEM;
		r |= obj_add(v, "id", json_object_new_string(s->iothreads[i].id));
		r |= obj_add(v, "tid", json_object_new_int64(s->iothreads[i].tid));
	}
	if (s->n_hostdevs > 0) {
		json_object *hd = json_object_new_array();

		if (obj_add(root, "hostdevs", hd) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < s->n_hostdevs; i++) {
			json_object *v = json_object_new_object();

			if (arr_add(hd, v) < 0 || !s->hostdevs[i].host)
				return -ENOMEM;
			r |= obj_add(v, "host", json_object_new_string(s->hostdevs[i].host));
			if (s->hostdevs[i].guest)
				r |= obj_add(v, "guest",
					     json_object_new_string(s->hostdevs[i].guest));
		}
	}
	if (r < 0)
		return -ENOMEM;

	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	*ret = strdup(text);
	return *ret ? 0 : -ENOMEM;
}

/* A member path for messages: "vcpus[2].tid". */
struct jpath {
	char buf[64];
};

static const char *jpath(struct jpath *p, const char *arr, size_t i, const char *key)
{
	if (arr)
		snprintf(p->buf, sizeof(p->buf), "%s[%zu].%s", arr, i, key);
	else
		snprintf(p->buf, sizeof(p->buf), "%s", key);
	return p->buf;
}

/*
 * Integer member in [min, max]. required = false: absent or null gives
 * *ret = def. -EINVAL with *error naming the member otherwise.
 */
static int get_int(json_object *o, const char *arr, size_t i, const char *key, bool required,
		   int64_t min, int64_t max, int64_t def, int64_t *ret, char **error)
{
	struct jpath p;
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return msg_set(error, "member '%s' is missing", jpath(&p, arr, i, key)),
			       -EINVAL;
		*ret = def;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return msg_set(error, "member '%s' is not an integer", jpath(&p, arr, i, key)),
		       -EINVAL;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno != 0 || x < min || x > max)
		return msg_set(error, "member '%s' is out of range", jpath(&p, arr, i, key)),
		       -EINVAL;
	*ret = x;
	return 0;
}

static int get_str(json_object *o, const char *arr, size_t i, const char *key, bool required,
		   char **ret, char **error)
{
	struct jpath p;
	json_object *v;
	char *s;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return msg_set(error, "member '%s' is missing", jpath(&p, arr, i, key)),
			       -EINVAL;
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return msg_set(error, "member '%s' is not a string", jpath(&p, arr, i, key)),
		       -EINVAL;
	s = strdup(json_object_get_string(v));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int get_array(json_object *o, const char *key, size_t max, json_object **ret, size_t *ret_n,
		     char **error)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return msg_set(error, "member '%s' is not an array", key), -EINVAL;
	n = json_object_array_length(v);
	if (n > max)
		return msg_set(error, "member '%s' has %zu entries, more than %zu", key, n, max),
		       -EINVAL;
	*ret = v;
	*ret_n = n;
	return 0;
}

static json_object *array_object(json_object *a, const char *key, size_t i, char **error)
{
	json_object *v = json_object_array_get_idx(a, i);

	if (!v || !json_object_is_type(v, json_type_object)) {
		msg_set(error, "member '%s[%zu]' is not an object", key, i);
		return NULL;
	}
	return v;
}

int vm_status_from_json(const char *json, size_t len, struct vm_status *ret, char **error)
{
	_cleanup_(vm_status_done) struct vm_status s = { 0 };
	_cleanup_(json_putp) json_object *root = NULL;
	json_tokener *tok;
	json_object *arr;
	_cleanup_free_ char *state = NULL;
	int64_t x;
	size_t n;
	int r;

	if (len > VM_STATUS_MAX_SIZE)
		return msg_set(error, "larger than %d bytes", VM_STATUS_MAX_SIZE), -EFBIG;
	if (memchr(json, '\0', len))
		return msg_set(error, "contains a NUL byte"), -EINVAL;

	/* Depth 4 is what the format needs (root, array, entry, value). */
	tok = json_tokener_new_ex(4);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		msg_set(error, "not valid JSON: %s",
			e == json_tokener_success ? "trailing data or incomplete document"
						  : json_tokener_error_desc(e));
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object))
		return msg_set(error, "not a JSON object"), -EINVAL;

	r = get_str(root, NULL, 0, "state", true, &state, error);
	if (r < 0)
		return r;
	s.state = vm_state_from_string(state);
	if ((int)s.state < 0)
		return msg_set(error, "member 'state' has unknown value '%s'", state), -EINVAL;

	r = get_str(root, NULL, 0, "name", false, &s.name, error);
	if (r >= 0)
		r = get_str(root, NULL, 0, "qemu_version", false, &s.qemu_version, error);
	if (r >= 0)
		r = get_int(root, NULL, 0, "gamevm_pid", true, 1, INT32_MAX, 0, &x, error);
	if (r < 0)
		return r;
	s.gamevm_pid = (pid_t)x;
	r = get_int(root, NULL, 0, "qemu_pid", false, 0, INT32_MAX, 0, &x, error);
	if (r < 0)
		return r;
	s.qemu_pid = (pid_t)x;
	r = get_int(root, NULL, 0, "swtpm_pid", false, 0, INT32_MAX, 0, &x, error);
	if (r < 0)
		return r;
	s.swtpm_pid = (pid_t)x;
	r = get_int(root, NULL, 0, "start_time", true, 0, INT64_MAX, 0, &x, error);
	if (r < 0)
		return r;
	s.start_time = (uint64_t)x;

	r = get_array(root, "vcpus", VM_STATUS_MAX_CPUS, &arr, &n, error);
	if (r < 0)
		return r;
	if (n > 0) {
		s.vcpus = calloc(n, sizeof(*s.vcpus));
		if (!s.vcpus)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = array_object(arr, "vcpus", i, error);
		int64_t idx, tid, cpu;

		if (!v)
			return -EINVAL;
		r = get_int(v, "vcpus", i, "index", true, 0, UINT32_MAX, 0, &idx, error);
		if (r >= 0)
			r = get_int(v, "vcpus", i, "tid", true, 1, INT32_MAX, 0, &tid, error);
		if (r >= 0)
			r = get_int(v, "vcpus", i, "host_cpu", false, -1, INT32_MAX, -1, &cpu,
				    error);
		if (r < 0)
			return r;
		s.vcpus[i] = (struct vm_status_vcpu){ .index = (unsigned)idx,
						      .tid = (pid_t)tid,
						      .host_cpu = (int)cpu };
		s.n_vcpus = i + 1;
	}

	r = get_array(root, "iothreads", VM_STATUS_MAX_IOTH, &arr, &n, error);
	if (r < 0)
		return r;
	if (n > 0) {
		s.iothreads = calloc(n, sizeof(*s.iothreads));
		if (!s.iothreads)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = array_object(arr, "iothreads", i, error);
		int64_t tid;

		if (!v)
			return -EINVAL;
		r = get_str(v, "iothreads", i, "id", true, &s.iothreads[i].id, error);
		if (r < 0)
			return r;
		s.n_iothreads = i + 1;
		r = get_int(v, "iothreads", i, "tid", true, 1, INT32_MAX, 0, &tid, error);
		if (r < 0)
			return r;
		s.iothreads[i].tid = (pid_t)tid;
	}

	r = get_array(root, "hostdevs", VM_STATUS_MAX_HOSTDEVS, &arr, &n, error);
	if (r < 0)
		return r;
	if (n > 0) {
		s.hostdevs = calloc(n, sizeof(*s.hostdevs));
		if (!s.hostdevs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = array_object(arr, "hostdevs", i, error);
		struct pci_addr a;

		if (!v)
			return -EINVAL;
		s.n_hostdevs = i + 1;
		r = get_str(v, "hostdevs", i, "host", true, &s.hostdevs[i].host, error);
		if (r < 0)
			return r;
		/* It names a sysfs directory for gamevm status: a PCI address and nothing else. */
		if (parse_pci_addr(s.hostdevs[i].host, &a) < 0)
			return msg_set(error, "member 'hostdevs[%zu].host' is not a PCI address",
				       i),
			       -EINVAL;
		r = get_str(v, "hostdevs", i, "guest", false, &s.hostdevs[i].guest, error);
		if (r < 0)
			return r;
	}

	*ret = s;
	s = (struct vm_status){ 0 };
	return 0;
}

int vm_status_write(int run_fd, const struct vm_status *s)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t len, off = 0;
	int r;

	r = vm_status_to_json(s, &text);
	if (r < 0)
		return r;
	len = strlen(text);

	/* Readers never see a half-written file: write aside, then rename over. */
	(void)unlinkat(run_fd, VM_STATUS_TMP, 0);
	fd = openat(run_fd, VM_STATUS_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = RETRY_EINTR(write(fd, text + off, len - off));

		if (n < 0) {
			r = -errno;
			goto fail;
		}
		off += (size_t)n;
	}
	/* No fsync: a runtime file, meaningless after a crash of the host. */
	if (renameat(run_fd, VM_STATUS_TMP, run_fd, VM_STATUS_FILE) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	(void)unlinkat(run_fd, VM_STATUS_TMP, 0);
	return r;
}

int vm_status_read(int run_fd, struct vm_status *ret, char **error)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_full_file_at(run_fd, VM_STATUS_FILE, VM_STATUS_MAX_SIZE, &buf, &len);
	if (r == -EFBIG)
		return msg_set(error, "larger than %d bytes", VM_STATUS_MAX_SIZE), r;
	if (r < 0)
		return r;
	return vm_status_from_json(buf, len, ret, error);
}
