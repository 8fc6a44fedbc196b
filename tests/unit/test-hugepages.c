/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hugepage reservation and give-back (tuning/hugepages.c) on a copy of the
 * ryzen-5950x fixture (2M: 32768 reserved and free; 1G: none), with the
 * fake kernel of fakekernel.h granting pages up to a capacity the test
 * sets: pages already free counted, only the shortfall added, compaction
 * and the shortfall message, give-back of exactly what was added, the
 * early release of the pool target, the node for node = auto.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fakekernel.h"
#include "prep-env.h"
#include "hugepages.h"
#include "prepare.h"

#define G1_NODE0  "devices/system/node/node0/hugepages/hugepages-1048576kB"
#define G1_NODE1  "devices/system/node/node1/hugepages/hugepages-1048576kB"
#define M2_GLOBAL "kernel/mm/hugepages/hugepages-2048kB"
#define GIB	  (UINT64_C(1) << 30)
#define MIB2	  (UINT64_C(2) << 20)

static uint64_t pool(const char *dir, const char *file)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "sys/%s/%s", dir, file);
	return fk_get_u64(rel);
}

static void set_pool(const char *dir, uint64_t nr, uint64_t fr)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "sys/%s/nr_hugepages", dir);
	assert_int_equal(fk_put_u64(rel, nr), 0);
	snprintf(rel, sizeof(rel), "sys/%s/free_hugepages", dir);
	assert_int_equal(fk_put_u64(rel, fr), 0);
}

static int setup(void **state)
{
	fk_setup("ryzen-5950x");
	return 0;
}

static int teardown(void **state)
{
	fk_teardown();
	return 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_already_free(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = MIB2, .pages = 8192, .node = -1 };
	_cleanup_free_ char *info = NULL;
	struct env e;

	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	assert_int_equal(res.seq, 0);
	assert_int_equal(res.obtained, 8192);
	assert_int_equal(e.j->n_records, 0);
	assert_int_equal(fk_hp_writes, 0);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "8192 2M huge pages needed, 32768 already free in the global pool");
	env_close(&e);
}

static void test_reserve_and_give_back(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 16, .node = 0 };
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL, *info = NULL;
	struct env e;

	fk_set_pool(G1_NODE0, 64, 64);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	assert_int_equal(res.nr_before, 0);
	assert_int_equal(res.nr_after, 16);
	assert_int_equal(res.obtained, 16);
	assert_false(res.compacted);
	assert_int_equal(pool(G1_NODE0, "free_hugepages"), 16);
	/* Journaled: the pool, its count before and the target. */
	assert_int_equal(e.j->n_records, 1);
	assert_int_equal(e.j->records[0].kind, JOURNAL_HUGEPAGES);
	assert_string_equal(e.j->records[0].target, G1_NODE0);
	assert_string_equal(e.j->records[0].old, "0");
	assert_string_equal(e.j->records[0].new, "16");
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "reserved 16 1G huge pages on NUMA node 0");
	assert_contains(info, "nr_hugepages 0 -> 16");

	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	assert_int_equal(pool(G1_NODE0, "nr_hugepages"), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

static void test_partly_free_counts(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 8, .node = 0 };
	struct env e;

	/* 4 reserved, 2 of them in use by someone else: 2 free count, 6 are added. */
	set_pool(G1_NODE0, 4, 2);
	fk_set_pool(G1_NODE0, 64, 64);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	assert_int_equal(res.free_before, 2);
	assert_int_equal(pool(G1_NODE0, "nr_hugepages"), 10);
	assert_int_equal(pool(G1_NODE0, "free_hugepages"), 8);
	assert_string_equal(e.j->records[0].old, "4");
	assert_string_equal(e.j->records[0].new, "10");

	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	assert_int_equal(pool(G1_NODE0, "nr_hugepages"), 4);
	assert_int_equal(pool(G1_NODE0, "free_hugepages"), 2);
	env_close(&e);
}

static void test_resv_not_counted(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = MIB2, .pages = 100, .node = -1 };
	struct env e;

	/* All 32768 free pages are promised to another mapping already. */
	assert_int_equal(fk_put("sys/" M2_GLOBAL "/resv_hugepages", "32768\n"), 0);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	assert_int_equal(res.free_before, 0);
	assert_string_equal(e.j->records[0].new, "32868");
	env_close(&e);
}

static void test_compaction_helps(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 16, .node = 0 };
	_cleanup_free_ char *info = NULL;
	struct env e;

	fk_set_pool(G1_NODE0, 5, 20);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	assert_true(fk_compacted);
	assert_true(res.compacted);
	assert_int_equal(res.nr_after, 16);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "after compacting memory");
	env_close(&e);
}

static void test_shortfall(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 16, .node = 0 };
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL, *err = NULL;
	struct env e;

	fk_set_pool(G1_NODE0, 5, 12);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), -ENOMEM);
	assert_true(fk_compacted);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err,
			"only 12 of the 16 1G huge pages the VM needs could be had on NUMA node 0");
	assert_contains(err, "nr_hugepages is 12, 16 was asked for), even after compacting memory");
	assert_contains(err, "hugepagesz=1G hugepages=16");
	assert_contains(err, "use 2M pages");
	/* The 12 it did get are journaled, and go back with the replay. */
	assert_int_equal(e.j->n_records, 1);
	assert_int_equal(pool(G1_NODE0, "nr_hugepages"), 12);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

static void test_others_pages_stay(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 16, .node = 0 };
	struct env e;

	fk_set_pool(G1_NODE0, 64, 64);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	/* Another VM adds 4 for itself meanwhile. */
	set_pool(G1_NODE0, 20, 20);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	assert_int_equal(pool(G1_NODE0, "nr_hugepages"), 4);

	/* The pool at or below its old count (given back, or lowered by hand): nothing written. */
	set_pool(G1_NODE0, 0, 0);
	plan_diags_done(&e.d);
	fk_hp_writes = 0;
	assert_int_equal(hugepages_undo(&e.h, &e.j->records[0], &e.d), 0);
	assert_int_equal(fk_hp_writes, 0);
	env_close(&e);
}

static void test_release_target(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 16, .node = 0 };
	_cleanup_free_ char *info = NULL;
	struct env e;

	fk_set_pool(G1_NODE0, 64, 64);
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), 0);
	/* QEMU preallocated its RAM: every page in use. */
	set_pool(G1_NODE0, 16, 0);
	fk_hp_writes = 0;
	assert_int_equal(hugepages_release_target(&e.h, e.j, &res, &e.d), 0);
	assert_int_equal(fk_hp_writes, 1);
	/* The pages QEMU holds are surplus now: the kernel frees them as QEMU does. */
	assert_int_equal(pool(G1_NODE0, "surplus_hugepages"), 16);
	assert_true(e.j->records[0].done);
	info = diags_text(&e.d, LOG_INFO);
	assert_contains(info, "nr_hugepages set back to 0");

	/* Released twice, or replayed after: nothing more is written. */
	assert_int_equal(hugepages_release_target(&e.h, e.j, &res, &e.d), 0);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	assert_int_equal(fk_hp_writes, 1);
	env_close(&e);
}

static void test_no_pool(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = GIB, .pages = 4, .node = 3 };
	_cleanup_free_ char *err = NULL;
	struct env e;

	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), -ENOENT);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "this host has no 1G huge pages on NUMA node 3");
	/* What to do about it. */
	assert_contains(err, "hugepagesz=1G hugepages=4");
	assert_int_equal(e.j->n_records, 0);
	env_close(&e);
}

/* A pool that cannot be read: an error naming it, before anything changes. */
static void test_pool_unreadable(void **state)
{
	_cleanup_(hugepages_reservation_done) struct hugepages_reservation res = {};
	struct hugepages_request req = { .page_size = MIB2, .pages = 4, .node = -1 };
	_cleanup_free_ char *err = NULL, *before = NULL, *after = NULL;
	struct env e;

	/* read(2) of a directory fails (EISDIR), as an attribute the kernel will not show. */
	assert_int_equal(fk_unlink("sys/" M2_GLOBAL "/nr_hugepages"), 0);
	assert_int_equal(fk_mkdirs("sys/" M2_GLOBAL "/nr_hugepages"), 0);
	before = fk_snapshot();
	env_open_journal(&e);
	assert_int_equal(hugepages_reserve(&e.h, e.j, &req, &res, &e.d), -EISDIR);
	err = diags_text(&e.d, LOG_ERR);
	assert_contains(err, "cannot read the 2M huge page pool '");
	assert_contains(err, M2_GLOBAL "': Is a directory");
	assert_int_equal(e.j->n_records, 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

static void test_request_from_plan(void **state)
{
	_cleanup_(host_pci_done) struct host_pci pci = {};
	_cleanup_(host_memory_done) struct host_memory mem = {};
	struct vm_pci cfg = { .managed = true };
	struct plan_hostdev hd = { .cfg = &cfg };
	struct vm_config c = { .memory_bytes = 16 * GIB, .memory_node = -1 };
	struct plan p = { .hugepage_size = GIB, .hostdevs = &hd, .n_hostdevs = 1 };
	struct host_facts f = {};
	struct hugepages_request req;
	struct host_root h = HOST_ROOT_NULL;

	/* The passthrough GPU sits on node 1 of a two-node host. */
	assert_int_equal(fk_mkdirs("sys/" G1_NODE1), 0);
	set_pool(G1_NODE1, 0, 0);
	assert_int_equal(fk_put("sys/" G1_NODE1 "/surplus_hugepages", "0\n"), 0);
	assert_int_equal(fk_put("sys/bus/pci/devices/0000:0f:00.0/numa_node", "1\n"), 0);
	assert_int_equal(host_root_open(fk_root, &h), 0);
	assert_int_equal(host_pci_probe(&h, &pci), 0);
	assert_int_equal(host_memory_probe(&h, &mem), 0);
	f.pci = pci;
	f.memory = mem;
	assert_int_equal(parse_pci_addr("0000:0f:00.0", &hd.host), 0);

	assert_int_equal(hugepages_request_from_plan(&c, &p, &f, &req), 0);
	assert_int_equal(req.page_size, GIB);
	assert_int_equal(req.pages, 16);
	assert_int_equal(req.node, 1);

	/* A node given in the config wins. */
	c.memory_node = 0;
	assert_int_equal(hugepages_request_from_plan(&c, &p, &f, &req), 0);
	assert_int_equal(req.node, 0);

	/* No display device passed (the xHCI alone): the global pool. */
	c.memory_node = -1;
	assert_int_equal(parse_pci_addr("0000:11:00.3", &hd.host), 0);
	assert_int_equal(hugepages_request_from_plan(&c, &p, &f, &req), 0);
	assert_int_equal(req.node, -1);

	p.hugepage_size = 0;
	assert_int_equal(hugepages_request_from_plan(&c, &p, &f, &req), -ENODATA);
	host_root_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_already_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_and_give_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partly_free_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resv_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_helps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shortfall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_others_pages_stay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_from_plan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
