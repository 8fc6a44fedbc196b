/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CPU planner on the fixture hosts (tests/hosts/, the CPU-only ones from
 * tests/hosts/tools/planner-hosts.py): exact pin maps, housekeeping sets and
 * guest topologies for pin = auto, and the warnings of explicit pin lists.
 * Then "gamevm topology CONF", which shows the plan.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "config.h"
#include "host.h"
#include "macro.h"
#include "planner.h"

/* ---- helpers ------------------------------------------------------------------------ */

static void probe(const char *host, struct host_cpus *ret)
{
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	_cleanup_free_ char *dir = NULL;
	const char *src = getenv("GAMEVM_SRCDIR");

	assert_non_null(src);
	assert_true(asprintf(&dir, "%s/tests/hosts/%s", src, host) > 0);
	assert_int_equal(host_root_open(dir, &h), 0);
	assert_int_equal(host_cpus_probe(&h, ret), 0);
}

/* The planner's answer for one request; in.vcpus etc. set by the caller. */
struct run {
	struct host_cpus c;
	struct cpu_plan p;
	char pin[1024];
	char hk[512];
};

static struct planner_input input(unsigned vcpus)
{
	return (struct planner_input){ .vcpus = vcpus,
				       .pin_auto = true,
				       .housekeeping_auto = true,
				       .gpu_node = -1,
				       .memory_node = -1 };
}

static void join(const unsigned *v, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u", i ? "," : "", v[i]);
}

static void plan_on(struct run *x, const struct planner_input *in)
{
	assert_int_equal(planner_build(&x->c, in, &x->p), 0);
	x->pin[0] = x->hk[0] = 0;
	if (x->p.vcpu_pin)
		join(x->p.vcpu_pin, in->vcpus, x->pin, sizeof(x->pin));
	join(x->p.housekeeping, x->p.n_housekeeping, x->hk, sizeof(x->hk));
}

static void run_host(struct run *x, const char *host, const struct planner_input *in)
{
	memset(x, 0, sizeof(*x));
	probe(host, &x->c);
	plan_on(x, in);
}

static void run_done(struct run *x)
{
	cpu_plan_done(&x->p);
	host_cpus_done(&x->c);
}

/* A diagnostic of this level about key whose message holds every fragment given. */
static const struct planner_diag *find_diag(const struct run *x, int level, const char *key,
					    const char *a, const char *b)
{
	for (size_t i = 0; i < x->p.n_diags; i++) {
		const struct planner_diag *d = &x->p.diags[i];

		if (d->level == level && streq(d->key, key) && (!a || strstr(d->msg, a)) &&
		    (!b || strstr(d->msg, b)))
			return d;
	}
	return NULL;
}

static void assert_diag(const struct run *x, int level, const char *key, const char *a,
			const char *b)
{
	if (!find_diag(x, level, key, a, b)) {
		for (size_t i = 0; i < x->p.n_diags; i++)
			fprintf(stderr, "  diag %d [%s] %s\n", x->p.diags[i].level,
				x->p.diags[i].key, x->p.diags[i].msg);
		fail_msg("no diagnostic level %d key %s with '%s' '%s'", level, key, a ? a : "",
			 b ? b : "");
	}
}

static size_t count_level(const struct run *x, int level)
{
	size_t n = 0;

	for (size_t i = 0; i < x->p.n_diags; i++)
		n += x->p.diags[i].level == level;
	return n;
}

static void assert_no_warnings(const struct run *x)
{
	for (size_t i = 0; i < x->p.n_diags; i++)
		if (x->p.diags[i].level <= LOG_WARNING)
			fail_msg("unexpected: %s", x->p.diags[i].msg);
}

static void assert_topology(const struct run *x, unsigned cores, unsigned threads)
{
	assert_int_equal(x->p.topology.sockets, 1);
	assert_int_equal(x->p.topology.dies, 1);
	assert_int_equal(x->p.topology.cores, cores);
	assert_int_equal(x->p.topology.threads, threads);
}

/* Plans pin = auto, housekeeping = auto for vcpus on host and checks the result. */
static void check_auto(const char *host, unsigned vcpus, const char *pin, const char *hk,
		       unsigned cores, unsigned threads)
{
	struct planner_input in = input(vcpus);
	struct run x;

	run_host(&x, host, &in);
	assert_false(cpu_plan_has_error(&x.p));
	assert_true(x.p.pin_planned);
	assert_true(x.p.housekeeping_planned);
	assert_string_equal(x.pin, pin);
	assert_string_equal(x.hk, hk);
	assert_topology(&x, cores, threads);
	assert_diag(&x, LOG_NOTICE, "pin", "auto: ", NULL);
	run_done(&x);
}

#define SEED_MAP                                                                                   \
	"0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,26,11,27,12,28,13,29,14,30,15,31"
#define CCD1_MAP "8,24,9,25,10,26,11,27,12,28,13,29,14,30,15,31"

/* ---- Ryzen 9 5950X: two CCDs of 32M ------------------------------------------------- */

static void test_5950x_seed(void **state)
{
	struct planner_input in = input(32);
	struct run x;

	(void)state;
	/* The seed's map exactly; housekeeping shares core 0, every thread is a vCPU. */
	check_auto("ryzen-5950x", 32, SEED_MAP, "0,16", 16, 2);

	run_host(&x, "ryzen-5950x", &in);
	assert_no_warnings(&x);
	assert_diag(&x, LOG_NOTICE, "pin", "vCPUs 0-15 on CPUs 0-7,16-23 (L3 #0, 32M)",
		    "vCPUs 16-31 on CPUs 8-15,24-31 (L3 #1, 32M)");
	assert_diag(&x, LOG_NOTICE, "pin", "guest topology 16 cores x 2 threads",
		    "housekeeping CPUs 0,16 (shared with vCPUs 0-1: every core runs a vCPU)");
	assert_int_equal(x.p.node, -1);
	run_done(&x);
}

static void test_5950x_fewer(void **state)
{
	struct planner_input in = input(16);
	struct run x;

	(void)state;
	/* A whole CCD, the one without core 0, which keeps the housekeeping. */
	check_auto("ryzen-5950x", 16, CCD1_MAP, "0,16", 8, 2);
	check_auto("ryzen-5950x", 8, "8,24,9,25,10,26,11,27", "0,16", 4, 2);
	check_auto("ryzen-5950x", 2, "8,24", "0,16", 1, 2);
	/* Past one CCD: the second fills up without core 0. */
	check_auto("ryzen-5950x", 24, CCD1_MAP ",1,17,2,18,3,19,4,20", "0,16", 12, 2);
	check_auto("ryzen-5950x", 30, CCD1_MAP ",1,17,2,18,3,19,4,20,5,21,6,22,7,23", "0,16", 15,
		   2);

	run_host(&x, "ryzen-5950x", &in);
	assert_no_warnings(&x);
	assert_diag(&x, LOG_NOTICE, "pin", "auto: vCPUs 0-15 on CPUs 8-15,24-31 (L3 #1, 32M)",
		    "; housekeeping CPUs 0,16");
	assert_null(strstr(x.p.diags[0].msg, "shared"));
	run_done(&x);
}

static void test_5950x_odd(void **state)
{
	struct planner_input in = input(31);
	struct run x;

	(void)state;
	/* An odd count: pairs as for 32, the last core half used, threads = 1. */
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.pin, "0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,26,11,"
				   "27,12,28,13,29,14,30,15");
	assert_string_equal(x.hk, "0,16");
	assert_topology(&x, 31, 1);
	assert_diag(&x, LOG_NOTICE, "vcpus", "31 vCPUs, an odd number",
		    "30 or 32 vCPUs give it threads = 2");
	run_done(&x);

	in = input(15);
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.pin, "8,24,9,25,10,26,11,27,12,28,13,29,14,30,15");
	assert_string_equal(x.hk, "0,16");
	assert_topology(&x, 15, 1);
	run_done(&x);
}

static void test_too_many_vcpus(void **state)
{
	struct planner_input in = input(33);
	struct run x;

	(void)state;
	run_host(&x, "ryzen-5950x", &in);
	assert_true(cpu_plan_has_error(&x.p));
	assert_diag(&x, LOG_ERR, "vcpus", "33 vCPUs, but this host has 32 online CPU threads",
		    "set vcpus = 32 or less");
	assert_null(x.p.vcpu_pin);
	run_done(&x);

	in = input(5);
	run_host(&x, "no-iommu", &in);
	assert_diag(&x, LOG_ERR, "vcpus", "5 vCPUs, but this host has 4 online CPU threads", NULL);
	run_done(&x);
}

/* ---- X3D: one 96M L3, or two L3s of unequal size ---------------------------------- */

static void test_5800x3d_7800x3d(void **state)
{
	(void)state;
	/* One L3: all of it, housekeeping shared; fewer vCPUs leave core 0 alone. */
	check_auto("ryzen-5800x3d", 16, "0,8,1,9,2,10,3,11,4,12,5,13,6,14,7,15", "0,8", 8, 2);
	check_auto("ryzen-5800x3d", 14, "1,9,2,10,3,11,4,12,5,13,6,14,7,15", "0,8", 7, 2);
	check_auto("ryzen-5800x3d", 8, "1,9,2,10,3,11,4,12", "0,8", 4, 2);
	check_auto("ryzen-7800x3d", 16, "0,8,1,9,2,10,3,11,4,12,5,13,6,14,7,15", "0,8", 8, 2);
	check_auto("ryzen-7800x3d", 12, "1,9,2,10,3,11,4,12,5,13,6,14", "0,8", 6, 2);
	check_auto("ryzen-7800x3d", 4, "1,9,2,10", "0,8", 2, 2);
}

static void test_7950x3d(void **state)
{
	struct planner_input in = input(16);
	struct run x;

	(void)state;
	/* The V-cache CCD whole; housekeeping moves to the other CCD. */
	check_auto("ryzen-7950x3d", 16, "0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23", "8,24", 8, 2);
	run_host(&x, "ryzen-7950x3d", &in);
	assert_no_warnings(&x);
	assert_diag(&x, LOG_NOTICE, "pin", "vCPUs 0-15 on CPUs 0-7,16-23 (L3 #0, 96M)",
		    "housekeeping CPUs 8,24 (the first core, CPUs 0,16, runs vCPUs)");
	run_done(&x);

	/* Room to spare on the V-cache CCD: core 0 stays housekeeping. */
	check_auto("ryzen-7950x3d", 8, "1,17,2,18,3,19,4,20", "0,16", 4, 2);
	check_auto("ryzen-7950x3d", 14, "1,17,2,18,3,19,4,20,5,21,6,22,7,23", "0,16", 7, 2);
	/* Past the V-cache CCD: it stays whole, the rest goes to CCD1. */
	check_auto("ryzen-7950x3d", 24,
		   "0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,26,11,27", "12,28", 12, 2);
	check_auto("ryzen-7950x3d", 32, SEED_MAP, "0,16", 16, 2);

	/* housekeeping given: the planner works around it. */
	in = input(8);
	in.housekeeping_auto = false;
	in.housekeeping = (const unsigned[]){ 1, 17 };
	in.n_housekeeping = 2;
	run_host(&x, "ryzen-7950x3d", &in);
	assert_string_equal(x.pin, "0,16,2,18,3,19,4,20");
	assert_string_equal(x.hk, "1,17");
	assert_false(x.p.housekeeping_planned);
	assert_no_warnings(&x);
	run_done(&x);
}

/* ---- hybrid Intel -------------------------------------------------------------------- */

static void test_12900k(void **state)
{
	struct planner_input in = input(20);
	struct run x;

	(void)state;
	check_auto("intel-12900k", 16, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
		   "16,17,18,19,20,21,22,23", 8, 2);
	check_auto("intel-12900k", 8, "0,1,2,3,4,5,6,7", "16,17,18,19,20,21,22,23", 4, 2);

	/* More than the P-cores: E-cores follow, with a warning, and threads = 1. */
	run_host(&x, "intel-12900k", &in);
	assert_string_equal(x.pin, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
	assert_string_equal(x.hk, "20,21,22,23");
	assert_topology(&x, 20, 1);
	assert_diag(&x, LOG_WARNING, "vcpus", "20 vCPUs, but this host has 16 P-core threads",
		    "vCPUs 16-19 run on E-cores (CPUs 16-19)");
	assert_diag(&x, LOG_NOTICE, "pin", "vCPUs 0-15 on CPUs 0-15 (L3 #0, 30M, P-cores)",
		    "vCPUs 16-19 on CPUs 16-19 (L3 #0, 30M, E-cores)");
	/* The one warning says it all, threads = 1 included. */
	assert_int_equal(count_level(&x, LOG_WARNING), 1);
	run_done(&x);

	/* Every thread: housekeeping shares the first E-core. */
	in = input(24);
	run_host(&x, "intel-12900k", &in);
	assert_string_equal(x.hk, "16");
	run_done(&x);
}

static void test_14900k(void **state)
{
	struct planner_input in = input(16);
	struct run x;

	(void)state;
	check_auto("intel-14900k", 16, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
		   "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31", 8, 2);
	check_auto("intel-14900k", 4, "0,1,2,3", "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
		   2, 2);

	/* The golden config's explicit map (tests/golden/configs/intel-4090.conf): clean. */
	in = input(16);
	in.pin_auto = in.housekeeping_auto = false;
	in.pin = (const unsigned[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	in.n_pin = 16;
	in.housekeeping = (const unsigned[]){ 16, 17, 18, 19 };
	in.n_housekeeping = 4;
	run_host(&x, "intel-14900k", &in);
	assert_int_equal(x.p.n_diags, 0);
	assert_topology(&x, 8, 2);
	run_done(&x);

	/* vCPUs on E-cores while P-cores idle. */
	in = input(4);
	in.pin_auto = false;
	in.pin = (const unsigned[]){ 16, 17, 2, 3 };
	in.n_pin = 4;
	run_host(&x, "intel-14900k", &in);
	assert_diag(&x, LOG_WARNING, "pin",
		    "vCPUs 0-1 on E-cores (CPUs 16-17) while the P-core CPUs 0-1,4-15 run no vCPU",
		    "pin the vCPUs to P-cores first");
	/* housekeeping = auto: the E-cores without vCPUs. */
	assert_string_equal(x.hk, "18,19,20,21,22,23,24,25,26,27,28,29,30,31");
	run_done(&x);

	/* No pinning, housekeeping = auto: every E-core. */
	in = input(4);
	in.pin_auto = false;
	run_host(&x, "intel-14900k", &in);
	assert_null(x.p.vcpu_pin);
	assert_string_equal(x.hk, "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31");
	assert_diag(&x, LOG_NOTICE, "housekeeping", "auto: CPUs 16-31", NULL);
	assert_topology(&x, 4, 1);
	run_done(&x);
}

/* ---- NUMA: Threadripper 2990WX, four nodes of two 8M CCXs ------------------------------ */

static void test_2990wx(void **state)
{
	struct planner_input in = input(16);
	struct run x;

	(void)state;
	/* The GPU's node, whole; housekeeping on the first free core. */
	in.gpu_node = 2;
	strcpy(in.gpu, "0000:41:00.0");
	run_host(&x, "threadripper-2990wx", &in);
	assert_string_equal(x.pin, "16,48,17,49,18,50,19,51,20,52,21,53,22,54,23,55");
	assert_string_equal(x.hk, "0,32");
	assert_int_equal(x.p.node, 2);
	assert_no_warnings(&x);
	assert_diag(&x, LOG_NOTICE, "pin", "vCPUs 0-7 on CPUs 16-19,48-51 (node 2, L3 #4, 8M)",
		    "vCPUs 8-15 on CPUs 20-23,52-55 (node 2, L3 #5, 8M)");
	run_done(&x);

	/* One CCX on the GPU's node 0, the one without core 0. */
	in = input(8);
	in.gpu_node = 0;
	run_host(&x, "threadripper-2990wx", &in);
	assert_string_equal(x.pin, "4,36,5,37,6,38,7,39");
	assert_string_equal(x.hk, "0,32");
	assert_int_equal(x.p.node, 0);
	run_done(&x);

	/* No GPU: the memory node; housekeeping on that node too. */
	in = input(8);
	in.memory_node = 2;
	run_host(&x, "threadripper-2990wx", &in);
	assert_string_equal(x.pin, "20,52,21,53,22,54,23,55");
	assert_string_equal(x.hk, "16,48");
	assert_int_equal(x.p.node, 2);
	run_done(&x);

	/* Neither: node 0; past it, the next node, with a warning. */
	in = input(24);
	run_host(&x, "threadripper-2990wx", &in);
	assert_string_equal(x.pin, "0,32,1,33,2,34,3,35,4,36,5,37,6,38,7,39,8,40,9,41,10,42,11,43");
	assert_string_equal(x.hk, "12,44");
	assert_int_equal(x.p.node, -1);
	assert_diag(&x, LOG_WARNING, "vcpus", "24 vCPUs do not fit on NUMA node 0 (16 CPU threads)",
		    "vCPUs 16-23 run on CPUs 8-11,40-43 of other nodes");
	run_done(&x);

	/* Memory and GPU on different nodes. */
	in = input(8);
	in.gpu_node = 2;
	in.memory_node = 0;
	strcpy(in.gpu, "0000:41:00.0");
	run_host(&x, "threadripper-2990wx", &in);
	assert_string_equal(x.pin, "20,52,21,53,22,54,23,55");
	assert_diag(&x, LOG_WARNING, "node",
		    "guest memory on node 0, but the GPU 0000:41:00.0 is on node 2",
		    "node = 2 keeps memory, GPU and vCPUs together");
	assert_string_equal(x.p.diags[0].section, "memory");
	run_done(&x);

	/* An explicit list away from the GPU. */
	in = input(4);
	in.pin_auto = false;
	in.gpu_node = 2;
	strcpy(in.gpu, "0000:41:00.0");
	in.pin = (const unsigned[]){ 0, 32, 1, 33 };
	in.n_pin = 4;
	run_host(&x, "threadripper-2990wx", &in);
	assert_diag(&x, LOG_WARNING, "pin",
		    "vCPUs 0-3 run outside NUMA node 2, where the GPU 0000:41:00.0 is",
		    "node 2 has CPUs 16-23,48-55");
	run_done(&x);

	/* Spread over nodes for nothing. */
	in = input(4);
	in.pin_auto = false;
	in.pin = (const unsigned[]){ 0, 32, 8, 40 };
	in.n_pin = 4;
	run_host(&x, "threadripper-2990wx", &in);
	assert_diag(&x, LOG_WARNING, "pin", "the vCPUs span several NUMA nodes",
		    "4 vCPUs fit on node 0 (CPUs 0-7,32-39)");
	assert_diag(&x, LOG_WARNING, "pin",
		    "the vCPUs span 2 L3 domains (L3 #0: vCPUs 0-1; L3 #2: vCPUs 2-3)",
		    "4 vCPUs fit in 1");
	run_done(&x);
}

/* ---- no SMT ------------------------------------------------------------------------------ */

static void test_no_smt(void **state)
{
	struct planner_input in = input(4);
	struct run x;

	(void)state;
	run_host(&x, "no-iommu", &in);
	assert_diag(&x, LOG_NOTICE, "pin", "housekeeping CPUs 0 (shared with vCPU 0: every core",
		    NULL);
	run_done(&x);
	check_auto("no-iommu", 4, "0,1,2,3", "0", 4, 1);
	check_auto("no-iommu", 3, "1,2,3", "0", 3, 1);
	check_auto("no-iommu", 1, "1", "0", 1, 1);
}

/* ---- explicit pin lists ------------------------------------------------------------------ */

static struct planner_input explicit_pin(const unsigned *pin, unsigned n)
{
	struct planner_input in = input(n);

	in.pin_auto = in.housekeeping_auto = false;
	in.pin = pin;
	in.n_pin = n;
	return in;
}

static void test_check_seed(void **state)
{
	static const unsigned seed[] = { 0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
					 21, 6,	 22, 7,	 23, 8,	 24, 9,	 25, 10, 26,
					 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
	struct planner_input in = explicit_pin(seed, 32);
	struct run x;

	(void)state;
	/* The seed: housekeeping shares core 0 because no core is left; not worth a word. */
	in.housekeeping = (const unsigned[]){ 0, 16 };
	in.n_housekeeping = 2;
	run_host(&x, "ryzen-5950x", &in);
	assert_int_equal(x.p.n_diags, 0);
	assert_string_equal(x.pin, SEED_MAP);
	assert_topology(&x, 16, 2);
	assert_false(x.p.pin_planned);
	run_done(&x);

	/* housekeeping = auto beside it: the first core (shared, nothing else is free). */
	in.housekeeping = NULL;
	in.n_housekeeping = 0;
	in.housekeeping_auto = true;
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.hk, "0,16");
	assert_true(x.p.housekeeping_planned);
	run_done(&x);
}

static void test_check_domains_and_pairs(void **state)
{
	struct planner_input in;
	struct run x;

	(void)state;
	/* Fits one CCD but spans two; the pairs are siblings: threads = 2. */
	in = explicit_pin((const unsigned[]){ 7, 23, 8, 24 }, 4);
	run_host(&x, "ryzen-5950x", &in);
	assert_topology(&x, 2, 2);
	assert_diag(
		&x, LOG_WARNING, "pin",
		"the vCPUs span 2 L3 domains (L3 #0: vCPUs 0-1; L3 #1: vCPUs 2-3), but 4 vCPUs fit in 1",
		"keep them in one domain, such as L3 #0 (CPUs 0-7,16-23)");
	run_done(&x);

	/* threads = 2 with each guest core split across the CCDs. */
	in = explicit_pin((const unsigned[]){ 7, 8, 23, 24 }, 4);
	in.topology = (struct vm_topology){ 1, 1, 2, 2 };
	run_host(&x, "ryzen-5950x", &in);
	assert_diag(
		&x, LOG_WARNING, "pin",
		"guest SMT pairs split across L3 domains: vCPUs 0,1 on CPUs 7,8 (L3 #0 and #1); vCPUs 2,3 on CPUs 23,24 (L3 #0 and #1)",
		"they share no cache");
	assert_null(find_diag(&x, LOG_WARNING, "threads", NULL, NULL));
	run_done(&x);

	/* threads = 2 on separate cores of one CCD. */
	in = explicit_pin((const unsigned[]){ 1, 2, 17, 18 }, 4);
	in.topology = (struct vm_topology){ 1, 1, 2, 2 };
	run_host(&x, "ryzen-5950x", &in);
	assert_diag(
		&x, LOG_WARNING, "threads",
		"guest threads = 2 on host CPUs that are not SMT siblings: vCPUs 0,1 on CPUs 1,2; vCPUs 2,3 on CPUs 17,18",
		"or set threads = 1");
	assert_null(find_diag(&x, LOG_WARNING, "pin", NULL, NULL));
	run_done(&x);

	/* Siblings the guest takes for separate cores. */
	in = explicit_pin((const unsigned[]){ 1, 2, 17, 18 }, 4);
	run_host(&x, "ryzen-5950x", &in);
	assert_topology(&x, 4, 1);
	assert_diag(
		&x, LOG_WARNING, "pin",
		"SMT siblings that the guest sees as separate cores (threads = 1): vCPUs 0,2 on CPUs 1,17; vCPUs 1,3 on CPUs 2,18",
		NULL);
	run_done(&x);

	/* Pairs in order, one CCD: nothing to say. */
	in = explicit_pin((const unsigned[]){ 1, 17, 2, 18 }, 4);
	run_host(&x, "ryzen-5950x", &in);
	assert_int_equal(x.p.n_diags, 0);
	assert_topology(&x, 2, 2);
	run_done(&x);

	/* Single threads of separate cores: fine too. */
	in = explicit_pin((const unsigned[]){ 1, 2, 3, 4 }, 4);
	run_host(&x, "ryzen-5950x", &in);
	assert_int_equal(x.p.n_diags, 0);
	assert_topology(&x, 4, 1);
	run_done(&x);
}

static void test_check_overcommit_and_housekeeping(void **state)
{
	struct planner_input in;
	struct run x;

	(void)state;
	in = explicit_pin((const unsigned[]){ 1, 17, 2, 2 }, 4);
	run_host(&x, "ryzen-5950x", &in);
	assert_diag(&x, LOG_WARNING, "pin", "host CPU 2 runs vCPUs 2,3: vCPUs on one CPU thread",
		    "give every vCPU a host CPU of its own");
	assert_topology(&x, 4, 1);
	run_done(&x);

	/* On the housekeeping core while others are free. */
	in = explicit_pin((const unsigned[]){ 0, 16, 1, 17 }, 4);
	in.housekeeping = (const unsigned[]){ 0, 16 };
	in.n_housekeeping = 2;
	run_host(&x, "ryzen-5950x", &in);
	assert_diag(&x, LOG_WARNING, "pin",
		    "vCPUs 0-1 on CPUs 0,16, on the cores of the housekeeping CPUs 0,16",
		    "CPUs 2,18 run no vCPU and could take housekeeping = 2,18");
	run_done(&x);

	/* The SMT sibling of a housekeeping CPU counts as its core. */
	in = explicit_pin((const unsigned[]){ 16, 1 }, 2);
	in.housekeeping = (const unsigned[]){ 0 };
	in.n_housekeeping = 1;
	run_host(&x, "ryzen-5950x", &in);
	assert_diag(&x, LOG_WARNING, "pin",
		    "vCPU 0 on CPU 16, on the cores of the housekeeping CPUs 0", NULL);
	run_done(&x);

	/* housekeeping = auto beside a list that leaves core 0 free. */
	in = explicit_pin((const unsigned[]){ 8, 24, 9, 25 }, 4);
	in.housekeeping_auto = true;
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.hk, "0,16");
	assert_diag(&x, LOG_NOTICE, "housekeeping", "auto: CPUs 0,16", NULL);
	run_done(&x);

	/* ... and one that uses core 0: the first free core. */
	in = explicit_pin((const unsigned[]){ 0, 16, 1, 17 }, 4);
	in.housekeeping_auto = true;
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.hk, "2,18");
	assert_no_warnings(&x);
	run_done(&x);
}

static void test_check_missing_offline(void **state)
{
	struct planner_input in = explicit_pin((const unsigned[]){ 3, 40 }, 2);
	struct run x;

	(void)state;
	in.housekeeping = (const unsigned[]){ 0, 99 };
	in.n_housekeeping = 2;
	memset(&x, 0, sizeof(x));
	probe("ryzen-5950x", &x.c);
	x.c.cpus[3].online = false;
	plan_on(&x, &in);
	assert_true(cpu_plan_has_error(&x.p));
	assert_diag(&x, LOG_ERR, "pin", "host CPU 3 is offline", "cpu3/online");
	assert_diag(&x, LOG_ERR, "pin", "host CPU 40 does not exist", "this host has CPUs 0-31");
	assert_diag(&x, LOG_ERR, "housekeeping", "host CPU 99 does not exist", NULL);
	/* Nothing else is said about a list that names CPUs the host lacks. */
	assert_int_equal(count_level(&x, LOG_WARNING), 0);
	run_done(&x);
}

static void test_offline_sibling(void **state)
{
	struct planner_input in = input(31);
	struct run x;

	(void)state;
	/* CPU 31 offline: core 15 has one thread; 31 vCPUs take every thread. */
	memset(&x, 0, sizeof(x));
	probe("ryzen-5950x", &x.c);
	x.c.cpus[31].online = false;
	plan_on(&x, &in);
	assert_false(cpu_plan_has_error(&x.p));
	assert_string_equal(x.pin, "0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,26,11,"
				   "27,12,28,13,29,14,30,15");
	assert_string_equal(x.hk, "0,16");
	run_done(&x);
}

static void test_threads_one(void **state)
{
	struct planner_input in = input(8);
	struct run x;

	(void)state;
	/* threads = 1 asked: one vCPU per core, siblings left idle. */
	in.topology = (struct vm_topology){ 1, 1, 8, 1 };
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.pin, "8,9,10,11,12,13,14,15");
	assert_string_equal(x.hk, "0,16");
	assert_topology(&x, 8, 1);
	assert_no_warnings(&x);
	run_done(&x);

	/* More vCPUs than cores: siblings after all, and a warning that the guest cannot know. */
	in = input(20);
	in.topology = (struct vm_topology){ 1, 1, 20, 1 };
	run_host(&x, "ryzen-5950x", &in);
	assert_string_equal(x.pin, CCD1_MAP ",1,17,2,18");
	assert_diag(&x, LOG_WARNING, "pin", "SMT siblings that the guest sees as separate cores",
		    NULL);
	run_done(&x);

	/* threads = 2 asked on a host without SMT. */
	in = input(4);
	in.topology = (struct vm_topology){ 1, 1, 2, 2 };
	run_host(&x, "no-iommu", &in);
	assert_diag(&x, LOG_WARNING, "threads", "this host has no SMT", NULL);
	assert_string_equal(x.pin, "0,1,2,3");
	run_done(&x);

	/* A topology that is not vcpus. */
	in = input(4);
	in.topology = (struct vm_topology){ 1, 1, 3, 1 };
	run_host(&x, "no-iommu", &in);
	assert_diag(&x, LOG_ERR, "threads",
		    "sockets 1 x dies 1 x cores 3 x threads 1 is not vcpus = 4", NULL);
	run_done(&x);
}

static void test_no_pinning(void **state)
{
	struct planner_input in = input(6);
	struct run x;

	(void)state;
	in.pin_auto = in.housekeeping_auto = false;
	run_host(&x, "ryzen-5950x", &in);
	assert_null(x.p.vcpu_pin);
	assert_null(x.p.housekeeping);
	assert_int_equal(x.p.n_diags, 0);
	assert_topology(&x, 6, 1);
	run_done(&x);

	/* housekeeping = auto alone: the first core. */
	in.housekeeping_auto = true;
	run_host(&x, "ryzen-5950x", &in);
	assert_null(x.p.vcpu_pin);
	assert_string_equal(x.hk, "0,16");
	run_done(&x);
}

/* Same input, same plan: the planner has no hidden state. */
static void test_deterministic(void **state)
{
	struct planner_input in = input(24);
	struct run x, y;

	(void)state;
	run_host(&x, "ryzen-7950x3d", &in);
	run_host(&y, "ryzen-7950x3d", &in);
	assert_string_equal(x.pin, y.pin);
	assert_string_equal(x.hk, y.hk);
	assert_int_equal(x.p.n_diags, y.p.n_diags);
	for (size_t i = 0; i < x.p.n_diags; i++)
		assert_string_equal(x.p.diags[i].msg, y.p.diags[i].msg);
	run_done(&x);
	run_done(&y);
}

/* ---- the input of a config --------------------------------------------------------------- */

static void test_input_from_config(void **state)
{
	_cleanup_(config_error_done) struct config_error e = { 0 };
	struct host_pci_dev devs[2] = {
		{ .class_code = 0x0c0330, .numa_node = 1 },
		{ .class_code = 0x030000, .numa_node = 2 },
	};
	struct host_pci pci = { .devs = devs, .n_devs = 2 };
	struct planner_input in;
	struct vm_config *c = NULL;

	(void)state;
	assert_int_equal(parse_pci_addr("0000:0a:00.0", &devs[0].addr), 0);
	assert_int_equal(parse_pci_addr("0000:41:00.0", &devs[1].addr), 0);
	assert_int_equal(
		config_load_string(
			"t.conf",
			"[vm]\nname = t\n[memory]\nsize = 1G\nnode = 0\n[cpu]\nvcpus = 8\npin = auto\n"
			"housekeeping = 0,16\n[pci usb]\naddress = 0a:00.0\n[pci gpu]\naddress = 41:00.0\n",
			&c, &e),
		0);
	planner_input_from_config(c, &pci, &in);
	assert_int_equal(in.vcpus, 8);
	assert_true(in.pin_auto);
	assert_null(in.pin);
	assert_false(in.housekeeping_auto);
	assert_int_equal(in.n_housekeeping, 2);
	assert_int_equal(in.housekeeping[1], 16);
	assert_int_equal(in.memory_node, 0);
	/* The first display controller, not the first device. */
	assert_int_equal(in.gpu_node, 2);
	assert_string_equal(in.gpu, "0000:41:00.0");

	planner_input_from_config(c, NULL, &in);
	assert_int_equal(in.gpu_node, -1);
	assert_string_equal(in.gpu, "");
	config_free(c);
}

/* ---- gamevm topology CONF ------------------------------------------------------------------ */

static char *run_gamevm(const char *host, const char *conf_text, const char *extra, int *ret_status)
{
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	char conf[] = "/tmp/test-planner-XXXXXX.conf";
	const char *src = getenv("GAMEVM_SRCDIR"), *bin = getenv("GAMEVM_BIN");
	size_t size = 0;
	FILE *p, *o;
	int fd, st;

	assert_non_null(src);
	assert_non_null(bin);
	fd = mkstemps(conf, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf_text, strlen(conf_text)), (ssize_t)strlen(conf_text));
	close(fd);
	assert_true(asprintf(&cmd, "'%s' --root '%s/tests/hosts/%s' topology %s '%s' 2>&1", bin,
			     src, host, extra, conf) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	o = open_memstream(&out, &size);
	assert_non_null(o);
	for (int ch; (ch = fgetc(p)) != EOF;)
		fputc(ch, o);
	fclose(o);
	st = pclose(p);
	unlink(conf);
	*ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return TAKE_PTR(out);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static const char auto_conf[] = "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 16\n"
				"pin = auto\nhousekeeping = auto\n";

static void test_cli_plan(void **state)
{
	_cleanup_free_ char *out = NULL;
	int st;

	(void)state;
	out = run_gamevm("ryzen-7950x3d", auto_conf, "", &st);
	assert_int_equal(st, 0);
	/* The host layout first, then the plan beside it, per L3 domain and per vCPU. */
	assert_non_null(strstr(out, "L3 #0: 96M, CPUs 0-7,16-23\n"));
	assert_non_null(strstr(out, "pin = auto, housekeeping = auto, topology from the plan"));
	assert_non_null(
		strstr(out, "guest topology: 1 socket, 1 die, 8 cores, 2 threads per core"));
	assert_non_null(strstr(out, "    L3 #0 (96M): vCPUs 0-15 on CPUs 0-7,16-23\n"));
	assert_non_null(
		strstr(out, "    L3 #1 (32M): housekeeping on CPUs 8,24; idle CPUs 9-15,25-31\n"));
	assert_non_null(strstr(out, "  vCPU  1 -> CPU 16  L3 #0  core  0 thread 1\n"));
	assert_non_null(strstr(out, "  emulator and I/O threads -> CPUs 8,24\n"));
	assert_non_null(strstr(
		out, "  notice: [cpu] pin: auto: vCPUs 0-15 on CPUs 0-7,16-23 (L3 #0, 96M)"));
	free(out);

	/* Too many vCPUs: the error in the report, and exit status 0 all the same. */
	out = run_gamevm("no-iommu", auto_conf, "", &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(
		out, "  error: [cpu] vcpus: 16 vCPUs, but this host has 4 online CPU threads"));
	assert_non_null(strstr(out, "  no pin map: see the error below.\n"));
}

static void test_cli_plan_json(void **state)
{
	_cleanup_free_ char *out = NULL;
	struct json_object *o, *plan, *pin, *diag, *vcpu;
	int st;

	(void)state;
	out = run_gamevm("intel-12900k", auto_conf, "--json", &st);
	assert_int_equal(st, 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_int_equal(json_object_get_int(get(get(o, "config"), "vcpus")), 16);
	plan = get(o, "plan");
	pin = get(plan, "vcpu_pin");
	assert_int_equal(json_object_array_length(pin), 16);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(pin, 15)), 15);
	assert_string_equal(json_object_get_string(get(plan, "housekeeping_list")), "16-23");
	assert_true(json_object_get_boolean(get(plan, "pin_planned")));
	assert_int_equal(json_object_get_int(get(get(plan, "topology"), "threads")), 2);
	assert_true(json_object_is_type(get(plan, "node"), json_type_null));
	vcpu = json_object_array_get_idx(get(plan, "vcpus"), 3);
	assert_int_equal(json_object_get_int(get(vcpu, "cpu")), 3);
	assert_string_equal(json_object_get_string(get(vcpu, "type")), "performance");
	assert_int_equal(json_object_get_int(get(vcpu, "core")), 1);
	diag = json_object_array_get_idx(get(plan, "diagnostics"), 0);
	assert_string_equal(json_object_get_string(get(diag, "level")), "notice");
	assert_string_equal(json_object_get_string(get(diag, "key")), "pin");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5950x_seed),
		cmocka_unit_test(test_5950x_fewer),
		cmocka_unit_test(test_5950x_odd),
		cmocka_unit_test(test_too_many_vcpus),
		cmocka_unit_test(test_5800x3d_7800x3d),
		cmocka_unit_test(test_7950x3d),
		cmocka_unit_test(test_12900k),
		cmocka_unit_test(test_14900k),
		cmocka_unit_test(test_2990wx),
		cmocka_unit_test(test_no_smt),
		cmocka_unit_test(test_check_seed),
		cmocka_unit_test(test_check_domains_and_pairs),
		cmocka_unit_test(test_check_overcommit_and_housekeeping),
		cmocka_unit_test(test_check_missing_offline),
		cmocka_unit_test(test_offline_sibling),
		cmocka_unit_test(test_threads_one),
		cmocka_unit_test(test_no_pinning),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_input_from_config),
		cmocka_unit_test(test_cli_plan),
		cmocka_unit_test(test_cli_plan_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
