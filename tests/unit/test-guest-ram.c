/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest_ram_create() (tuning/guest-ram.c) on this machine's real 2M pool:
 * the pages are taken from the pool and faulted in by the time it returns,
 * held by the fd alone, zeroed, mappable the way QEMU maps them (through
 * /proc/self/fd/N, shared), and back in the pool once the fd is closed; a
 * pool too small is -ENOMEM with nothing held; a bad spec is -EINVAL. The
 * test grows the pool by what it needs and puts nr_hugepages back; it
 * skips when not root or when the kernel has no 2M pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "guest-ram.h"
#include "hostroot.h"
#include "hugepages.h"
#include "journal.h"

#define POOL  "/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define MIB2  (UINT64_C(2) << 20)
#define PAGES 24

static uint64_t pool_read(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), POOL "%s", name);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static int pool_set(uint64_t nr)
{
	FILE *f = fopen(POOL "nr_hugepages", "we");

	if (!f)
		return -errno;
	fprintf(f, "%" PRIu64 "\n", nr);
	return fclose(f) == 0 ? 0 : -errno;
}

/*
 * Persistent pages (nr - surplus): what writing nr_hugepages sets. A VM
 * running meanwhile holds surplus pages; writing back nr_hugepages as read
 * would make them persistent (they would stay in the pool after it).
 */
struct env {
	uint64_t persistent_before;
};

static int setup(void **state)
{
	static struct env e;

	if (geteuid() != 0 || access(POOL "nr_hugepages", W_OK) < 0) {
		print_message("skipped: needs root and %s\n", POOL);
		return -1;
	}
	e.persistent_before = pool_read("nr_hugepages") - pool_read("surplus_hugepages");
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	return pool_set(e->persistent_before) < 0 ? -1 : 0;
}

/* The pool with exactly `free` usable pages more than the reserved ones. */
static void pool_with_free(uint64_t free)
{
	uint64_t nr = pool_read("nr_hugepages"),
		 have = pool_read("free_hugepages") - pool_read("resv_hugepages");

	assert_int_equal(pool_set(nr + free - have), 0);
	if (pool_read("free_hugepages") - pool_read("resv_hugepages") < free)
		skip(); /* memory too fragmented for the test's pages */
}

static void test_faulted_in_and_given_back(void **state)
{
	const unsigned cpus[] = { 0 };
	uint64_t free_before;
	struct statfs sfs;
	struct stat st;
	char path[64];
	int fd = -1, fd2;
	char *p;

	(void)state;
	pool_with_free(PAGES);
	free_before = pool_read("free_hugepages");
	/* 3 threads for 24 pages, all on CPU 0: slices of 8 pages each. */
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = PAGES * MIB2,
								    .page_size = MIB2,
								    .node = -1,
								    .cpus = cpus,
								    .n_cpus = 1,
								    .threads = 3 },
					  &fd),
			 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Faulted in, not only reserved: the pages left the free count. */
	assert_int_equal(pool_read("free_hugepages"), free_before - PAGES);
	assert_int_equal(pool_read("resv_hugepages"), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, PAGES * MIB2);
	assert_int_equal(fstatfs(fd, &sfs), 0);
	assert_int_equal(sfs.f_type, HUGETLBFS_MAGIC);
	assert_int_equal(sfs.f_bsize, MIB2);

	/* As QEMU gets it: mem-path=/proc/self/fd/N, mapped shared; zeroed. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd2 >= 0);
	p = mmap(NULL, PAGES * MIB2, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	assert_true(p != MAP_FAILED);
	for (uint64_t off = 0; off < PAGES * MIB2; off += 4096)
		assert_int_equal(p[off], 0);
	p[0] = 1;
	/* No page more was taken by the second mapping. */
	assert_int_equal(pool_read("free_hugepages"), free_before - PAGES);
	munmap(p, PAGES * MIB2);
	close(fd2);

	close(fd);
	assert_int_equal(pool_read("free_hugepages"), free_before);
}

static void test_pool_too_small(void **state)
{
	uint64_t free_before;
	int fd = -1;

	(void)state;
	pool_with_free(4);
	free_before = pool_read("free_hugepages");
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = 8 * MIB2,
								    .page_size = MIB2,
								    .node = -1,
								    .threads = 2 },
					  &fd),
			 -ENOMEM);
	assert_int_equal(fd, -1);
	assert_int_equal(pool_read("free_hugepages"), free_before);
	assert_int_equal(pool_read("resv_hugepages"), 0);
}

static void test_bad_spec(void **state)
{
	int fd = -1;

	(void)state;
	/* Not a whole number of pages; no threads; a page size that is no power of 2. */
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = MIB2 + 4096,
								    .page_size = MIB2,
								    .node = -1,
								    .threads = 1 },
					  &fd),
			 -EINVAL);
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = MIB2,
								    .page_size = MIB2,
								    .node = -1,
								    .threads = 0 },
					  &fd),
			 -EINVAL);
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = 3 * MIB2,
								    .page_size = 3 * MIB2,
								    .node = -1,
								    .threads = 1 },
					  &fd),
			 -EINVAL);
	assert_int_equal(fd, -1);
}

/* One VM's start on the real pool: reserve, back the RAM, give the pool target back. */
struct vm {
	struct host_root h;
	int run_fd;
	struct journal *j;
	struct hugepages_reservation res;
	struct plan_diags d;
	int ram_fd;
};

static void vm_start(struct vm *v, const char *dir, const char *name, uint64_t pages)
{
	struct hugepages_request req = { .page_size = MIB2, .pages = pages, .node = -1 };

	*v = (struct vm){ .h = HOST_ROOT_NULL, .run_fd = -1, .ram_fd = -1 };
	assert_int_equal(host_root_open("/", &v->h), 0);
	v->run_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(v->run_fd >= 0);
	assert_int_equal(journal_create(v->run_fd, name, NULL, &v->j), 0);
	assert_int_equal(hugepages_reserve(&v->h, v->j, &req, &v->res, &v->d), 0);
	assert_int_equal(guest_ram_create(&(struct guest_ram_spec){ .size = pages * MIB2,
								    .page_size = MIB2,
								    .node = -1,
								    .threads = 2 },
					  &v->ram_fd),
			 0);
	/* As after cont: QEMU holds the pages, the pool target goes back. */
	assert_int_equal(hugepages_release_target(&v->h, v->j, &v->res, &v->d), 0);
}

static void vm_end(struct vm *v)
{
	close(v->ram_fd);
	(void)journal_remove(v->j);
	journal_free(v->j);
	hugepages_reservation_done(&v->res);
	plan_diags_done(&v->d);
	host_root_close(&v->h);
	close(v->run_fd);
}

/*
 * Two VMs overlapping: B raises the pool while A's pages are surplus (A's
 * target was given back), which makes them persistent again. B's give-back
 * must make them surplus again, or they stay in the pool after A.
 */
static void test_two_vms(void **state)
{
	struct env *e = *state;
	/* Each VM's run directory holds its journal. */
	char da[] = "/tmp/gamevm-guest-ram-XXXXXX", db[] = "/tmp/gamevm-guest-ram-XXXXXX";
	struct vm a, b;

	assert_non_null(mkdtemp(da));
	assert_non_null(mkdtemp(db));
	assert_int_equal(pool_set(e->persistent_before), 0);
	vm_start(&a, da, "a", 8);
	assert_int_equal(pool_read("surplus_hugepages"), 8);
	vm_start(&b, db, "b", 8);
	assert_int_equal(pool_read("surplus_hugepages"), 16);
	vm_end(&a);
	vm_end(&b);
	/* Both VMs gone: the pool as before, nothing left behind. */
	assert_int_equal(pool_read("surplus_hugepages"), 0);
	assert_int_equal(pool_read("nr_hugepages"), e->persistent_before);
	rmdir(da);
	rmdir(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faulted_in_and_given_back),
		cmocka_unit_test(test_pool_too_small),
		cmocka_unit_test(test_bad_spec),
		cmocka_unit_test(test_two_vms),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
