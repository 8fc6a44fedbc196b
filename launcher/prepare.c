/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host preparation and teardown for one VM (see prepare.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "handoff.h"
#include "macro.h"
#include "prepare.h"

void prepare_state_done(struct prepare_state *s)
{
	if (!s)
		return;
	free(s->devs);
	hugepages_reservation_done(&s->hugepages);
	/* 0 is what a zeroed state holds, not an fd of ours (pmqos.c never returns < 3). */
	if (s->pmqos_fd > 2)
		closep(&s->pmqos_fd);
	*s = (struct prepare_state){};
}

int prepare_devs_from_plan(const struct plan *p, struct vfio_dev **ret, size_t *ret_n)
{
	struct vfio_dev *v;

	if (p->n_hostdevs == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	v = calloc(p->n_hostdevs, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_hostdevs; i++)
		v[i] = (struct vfio_dev){
			.addr = p->hostdevs[i].host,
			.managed = p->hostdevs[i].cfg->managed,
			.primary_display = p->hostdevs[i].cfg->primary_display,
		};
	*ret = v;
	*ret_n = p->n_hostdevs;
	return 0;
}

int prepare_host(const struct prepare_params *pp, struct journal *j, struct prepare_state *ret,
		 struct plan_diags *d)
{
	struct hugepages_request req;
	int r;

	*ret = (struct prepare_state){ .vfio = pp->vfio, .pmqos_fd = -1 };
	ret->vfio.single_gpu = pp->c->single_gpu;
	/* plan_build() checked reset methods and its warning was printed. */
	ret->vfio.reset_warned = true;
	r = prepare_devs_from_plan(pp->p, &ret->devs, &ret->n_devs);
	if (r < 0)
		return r;

	/*
	 * Hugepages first: a shortfall then fails the start before any device
	 * has left the host, and the longer the system runs the more
	 * fragmented memory gets.
	 */
	r = hugepages_request_from_plan(pp->c, pp->p, pp->f, &req);
	if (r >= 0)
		r = hugepages_reserve(pp->h, j, &req, &ret->hugepages, d);
	if (r < 0 && r != -ENODATA)
		return r;

	/*
	 * single-gpu: the host's display lets go of the GPU first (its units,
	 * consoles, firmware framebuffer), so that the unbind in vfio_prepare
	 * finds nobody holding it.
	 */
	if (pp->c->single_gpu) {
		struct handoff_opts ho = {
			.units = pp->c->single_gpu_stop,
			.release_ms = (int)pp->c->single_gpu_timeout * 1000,
			.end_sessions = pp->c->single_gpu_end_sessions,
			.keep_consoles = !pp->c->single_gpu_consoles,
		};

		r = handoff_prepare(pp->h, j, ret->devs, ret->n_devs, &ho, d);
		if (r < 0)
			return r;
	}

	r = vfio_prepare(pp->h, j, ret->devs, ret->n_devs, &ret->vfio, d);
	if (r < 0)
		return r;
	r = prepare_desktop(pp, j, d);
	if (r < 0)
		return r;

	/* Last: nothing worth quieting the host for until the VM can start. */
	return tuning_apply(pp->h, j, pp->c, pp->p, &ret->pmqos_fd, d);
}

int prepare_after_start(const struct host_root *h, struct journal *j, struct prepare_state *s,
			struct plan_diags *d)
{
	return hugepages_release_target(h, j, &s->hugepages, d);
}

int prepare_after_vm(const struct host_root *h, const struct prepare_state *s, struct plan_diags *d)
{
	return vfio_check_health(h, s->devs, s->n_devs, d);
}

int prepare_undo(const struct host_root *h, const struct journal_record *rec, void *userdata,
		 struct plan_diags *d)
{
	const struct vfio_opts *o = userdata;

	switch (rec->kind) {
	case JOURNAL_SYSFS:
		return journal_undo_sysfs(h, rec, d);
	case JOURNAL_DRIVER:
		return vfio_undo_driver(h, rec, o, d);
	case JOURNAL_HUGEPAGES:
		return hugepages_undo(h, rec, d);
	case JOURNAL_MODULE:
		return vfio_undo_module(h, rec, d);
	case JOURNAL_CHOWN:
		return journal_undo_chown(h, rec, d);
	case JOURNAL_PROCFS:
		return journal_undo_procfs(h, rec, d);
	case JOURNAL_SYSFS_CHOICE:
		return journal_undo_sysfs_choice(h, rec, d);
	case JOURNAL_CGROUP_CONTROLLER:
		return tuning_cpuset_undo_controller(h, rec, d);
	case JOURNAL_CGROUP_DIR:
		return tuning_cpuset_undo_dir(h, rec, d);
	case JOURNAL_CGROUP_CPUS:
		return tuning_cpuset_undo_cpus(h, rec, d);
	case JOURNAL_UNIT:
		return handoff_undo_unit(h, rec, d);
	case JOURNAL_PLATFORM_DRIVER:
		return handoff_undo_platform(h, rec, d);
	case JOURNAL_FILE_CREATED:
		return journal_undo_file_created(h, rec, d);
	case JOURNAL_CHMOD:
		return journal_undo_chmod(h, rec, d);
	case JOURNAL_ACL:
		return journal_undo_acl(h, rec, d);
	default:
		return -EINVAL;
	}
}

int prepare_teardown(struct journal *j, const struct host_root *h, const struct vfio_opts *o,
		     struct plan_diags *d)
{
	return journal_replay(j, h, prepare_undo, (void *)o, d);
}
