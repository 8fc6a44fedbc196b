/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prep-tool: drives gamevm's host preparation (launcher/prepare.h) alone,
 * for the lab, where the kernel is real: what `gamevm start` will do before
 * it spawns QEMU, and what its teardown does after.
 *
 *   prep-tool [--root DIR] [--run-dir DIR] [--single-gpu] [--uid U --gid G]
 *             [--hugepages SIZE:COUNT:NODE] [--timeout-ms N] (--hold | --teardown)
 *             NAME [ADDR...]
 *
 * Takes the VM's lock in run-dir/NAME like gamevm start, creates the
 * journal, reserves the hugepages (NODE -1: the global pool), binds the
 * devices to vfio-pci, prints every diagnostic ("LEVEL: message") and then
 *   --hold      prints "READY" and waits to be killed (then `gamevm cleanup
 *               NAME` restores the host),
 *   --teardown  replays the journal at once, as gamevm's teardown.
 * Exit status: 0, 1 when preparing failed (after replaying what was done),
 * 2 for usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "hugepages.h"
#include "lab-tool.h"
#include "macro.h"
#include "parse-util.h"
#include "prepare.h"
#include "vfio.h"

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "run-dir", required_argument, NULL, 'd' },
		{ "single-gpu", no_argument, NULL, 's' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "hugepages", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "hold", no_argument, NULL, 'H' },
		{ "teardown", no_argument, NULL, 'T' },
		{},
	};
	const char *root = "/", *run_dir = "/run/gamevm";
	struct vfio_opts o = VFIO_OPTS_INIT;
	struct hugepages_request req = { .node = -1 };
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	_cleanup_free_ struct vfio_dev *devs = NULL;
	struct host_root h = HOST_ROOT_NULL;
	struct journal *j = NULL;
	struct plan_diags d = {};
	bool hold = false, teardown = false;
	char dir[4096];
	size_t n = 0;
	int opt, run_fd, lock_fd, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		unsigned v;
		char size[32];

		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'd':
			run_dir = optarg;
			break;
		case 's':
			o.single_gpu = true;
			break;
		case 'u':
		case 'g':
			if (safe_atou(optarg, &v) < 0)
				return 2;
			if (opt == 'u')
				o.uid = v;
			else
				o.gid = v;
			break;
		case 'p':
			if (sscanf(optarg, "%31[^:]:%" SCNu64 ":%d", size, &req.pages, &req.node) !=
				    3 ||
			    parse_size(size, &req.page_size) < 0)
				return 2;
			break;
		case 't':
			if (safe_atou(optarg, &v) < 0)
				return 2;
			o.unbind_timeout_ms = (int)v;
			break;
		case 'H':
			hold = true;
			break;
		case 'T':
			teardown = true;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || hold == teardown) {
		fprintf(stderr, "usage: see the header of tests/lab/prep-tool.c\n");
		return 2;
	}
	devs = calloc((size_t)(argc - optind), sizeof(*devs));
	if (!devs)
		return 1;
	for (int i = optind + 1; i < argc; i++) {
		devs[n].managed = true;
		if (parse_pci_addr(argv[i], &devs[n].addr) < 0)
			return 2;
		n++;
	}

	snprintf(dir, sizeof(dir), "%s/%s", run_dir, argv[optind]);
	(void)mkdir(run_dir, 0755);
	(void)mkdir(dir, 0755);
	run_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run_fd < 0 || (lock_fd = lab_lock_take(run_fd)) < 0 || host_root_open(root, &h) < 0) {
		perror(dir);
		return 1;
	}
	r = journal_create(run_fd, argv[optind], NULL, &j);
	if (r < 0) {
		fprintf(stderr, "journal: %s\n", strerror(-r));
		return 1;
	}

	r = 0;
	if (req.pages > 0)
		r = hugepages_reserve(&h, j, &req, &res, &d);
	if (r >= 0)
		r = vfio_prepare(&h, j, devs, n, &o, &d);
	lab_print_diags(&d);
	if (r < 0) {
		printf("prepare failed: %s\n", strerror(-r));
		(void)prepare_teardown(j, &h, &o, &d);
		lab_print_diags(&d);
		return 1;
	}
	if (hold) {
		printf("READY\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	r = prepare_teardown(j, &h, &o, &d);
	lab_print_diags(&d);
	journal_free(j);
	host_root_close(&h);
	close(lock_fd);
	close(run_fd);
	return r < 0 ? 1 : 0;
}
