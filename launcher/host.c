/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * All host facts in one call, for the verbs that need the whole picture
 * (cmdline, check, start). The QEMU binary is probed separately: which one
 * to run is the config's choice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"

static int read_kernel_cmdline(const struct host_root *h, char **ret)
{
	char *s;
	size_t len;
	int r;

	if (h->proc_fd < 0) {
		*ret = NULL;
		return 0;
	}
	r = read_full_file_at(h->proc_fd, "cmdline", 64 * 1024, &s, NULL);
	if (read_err_is_absent(r)) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = 0;
	*ret = s;
	return 0;
}

void host_facts_done(struct host_facts *f)
{
	if (!f)
		return;
	host_cpus_done(&f->cpus);
	host_memory_done(&f->memory);
	host_pci_done(&f->pci);
	host_dmi_done(&f->dmi);
	free(f->kernel_cmdline);
	host_user_done(&f->qemu_user);
	host_desktop_done(&f->desktop);
	*f = (struct host_facts){};
}

int host_facts_qemu_user(const struct host_root *h, const char *name, struct host_facts *f)
{
	struct host_user u = {};
	int r;

	if (h->is_real && geteuid() != 0)
		r = host_user_self(&u);
	else
		r = host_user_lookup(h, name, &u);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	host_user_done(&f->qemu_user);
	f->qemu_user = u;
	return 0;
}

int host_facts_probe(const struct host_root *h, struct host_facts *ret)
{
	_cleanup_(host_facts_done) struct host_facts f = {};
	int r;

	r = host_cpus_probe(h, &f.cpus);
	if (r < 0)
		return r;
	r = host_memory_probe(h, &f.memory);
	if (r < 0)
		return r;
	/*
	 * PCI devices closed to us (a sandbox's masked sysfs) are no devices and
	 * no IOMMU: a VM without passthrough does not need them, and one with
	 * it gets the plan's error naming sys/kernel/iommu_groups. "gamevm
	 * iommu" calls host_pci_probe() itself and reports the refusal.
	 */
	r = host_pci_probe(h, &f.pci);
	if (r < 0 && !read_err_is_absent(r))
		return r;
	r = host_kvm_probe(h, &f.kvm);
	if (r < 0)
		return r;
	r = host_dmi_probe(h, &f.dmi);
	if (r < 0)
		return r;
	r = read_kernel_cmdline(h, &f.kernel_cmdline);
	if (r < 0)
		return r;

	*ret = f;
	f = (struct host_facts){};
	return 0;
}
