/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tune-tool: drives gamevm's host tuning (tuning/tuning.h, what
 * prepare_host() does last) alone, for the lab, where the kernel is real.
 *
 *   tune-tool [--root DIR] [--run-dir DIR] --pin LIST --housekeeping LIST
 *             (--hold | --teardown) NAME CONF
 *
 * Loads CONF (its [tuning] section; [cpu] vcpus must match --pin), takes
 * the VM's lock in run-dir/NAME like gamevm start, creates the journal,
 * applies the tuning with the plan's pin map and housekeeping set from
 * the options, prints every diagnostic ("LEVEL: message"), "PMQOS held"
 * when dev/cpu_dma_latency is held, and then
 *   --hold      prints "READY" and waits to be killed (then `gamevm cleanup
 *               NAME` restores the host),
 *   --teardown  closes the PM QoS fd and replays the journal at once.
 * Exit status: 0, 1 when tuning failed, 2 for usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "lab-tool.h"
#include "macro.h"
#include "parse-util.h"
#include "prepare.h"
#include "tuning.h"

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "run-dir", required_argument, NULL, 'd' },
		{ "pin", required_argument, NULL, 'p' },
		{ "housekeeping", required_argument, NULL, 'k' },
		{ "hold", no_argument, NULL, 'H' },
		{ "teardown", no_argument, NULL, 'T' },
		{},
	};
	const char *root = "/", *run_dir = "/run/gamevm";
	struct config_error e = {};
	struct vm_config *c = NULL;
	struct plan p = {};
	struct host_root h = HOST_ROOT_NULL;
	struct journal *j = NULL;
	struct plan_diags d = {};
	bool hold = false, teardown = false;
	size_t n_pin = 0;
	char dir[4096];
	int opt, run_fd, lock_fd, fd = -1, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'd':
			run_dir = optarg;
			break;
		case 'p':
			if (parse_cpu_list(optarg, 4096, CPU_LIST_ALLOW_DUPLICATES, &p.vcpu_pin,
					   &n_pin) < 0)
				return 2;
			break;
		case 'k':
			if (parse_cpu_list(optarg, 4096, 0, &p.housekeeping, &p.n_housekeeping) < 0)
				return 2;
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
	if (optind + 2 != argc || hold == teardown) {
		fprintf(stderr, "usage: see the header of tests/lab/tune-tool.c\n");
		return 2;
	}
	if (config_load(argv[optind + 1], &c, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 2;
	}
	if (p.vcpu_pin && n_pin != c->vcpus) {
		fprintf(stderr, "--pin names %zu CPUs, the config has %u vCPUs\n", n_pin, c->vcpus);
		return 2;
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

	r = tuning_apply(&h, j, c, &p, &fd, &d);
	lab_print_diags(&d);
	if (fd >= 0)
		printf("PMQOS held\n");
	if (r < 0) {
		printf("tuning failed: %s\n", strerror(-r));
		(void)prepare_teardown(j, &h, NULL, &d);
		lab_print_diags(&d);
		return 1;
	}
	if (hold) {
		printf("READY\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (fd >= 0)
		close(fd);
	r = prepare_teardown(j, &h, NULL, &d);
	lab_print_diags(&d);
	journal_free(j);
	host_root_close(&h);
	config_free(c);
	config_error_done(&e);
	free(p.vcpu_pin);
	free(p.housekeeping);
	close(lock_fd);
	close(run_fd);
	return r < 0 ? 1 : 0;
}
