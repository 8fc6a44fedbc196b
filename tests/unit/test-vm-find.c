/* SPDX-License-Identifier: GPL-2.0-or-later */
/* launcher/vm-find.c: CONF as a path or a VM name, and the list of defined VMs. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "macro.h"
#include "vm-find.h"

struct dirs {
	char top[64];
	char sys[128], xdg[128];
};

static void touch(const char *dir, const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));
	char p[160];

	assert_non_null(d);
	strcpy(d->top, "/tmp/gamevm-test-find-XXXXXX");
	assert_non_null(mkdtemp(d->top));
	snprintf(d->sys, sizeof(d->sys), "%s/etc", d->top);
	snprintf(d->xdg, sizeof(d->xdg), "%s/xdg", d->top);
	snprintf(p, sizeof(p), "%s/gamevm", d->xdg);
	assert_int_equal(mkdir(d->sys, 0755), 0);
	assert_int_equal(mkdir(d->xdg, 0755), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	touch(d->sys, "win11.conf");
	touch(d->sys, "both.conf");
	touch(d->sys, "not a vm.conf");
	touch(d->sys, "README");
	touch(p, "both.conf");
	touch(p, "mine.conf");
	assert_int_equal(setenv("XDG_CONFIG_HOME", d->xdg, 1), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->top);
	assert_int_equal(system(cmd), 0);
	unsetenv("XDG_CONFIG_HOME");
	free(d);
	return 0;
}

static void test_find(void **state)
{
	struct dirs *d = *state;
	struct cli cl = { .config_dir = d->sys };
	_cleanup_free_ char *p = NULL, *want = NULL;

	/* Paths are taken as they are. */
	assert_int_equal(vm_config_find(&cl, "examples/demo.conf", &p), 0);
	assert_string_equal(p, "examples/demo.conf");
	free(TAKE_PTR(p));
	assert_int_equal(vm_config_find(&cl, "x.conf", &p), 0);
	assert_string_equal(p, "x.conf");
	free(TAKE_PTR(p));

	/* Names: the system directory, and the user's. */
	assert_int_equal(vm_config_find(&cl, "win11", &p), 0);
	assert_true(asprintf(&want, "%s/win11.conf", d->sys) > 0);
	assert_string_equal(p, want);
	free(TAKE_PTR(p));
	free(TAKE_PTR(want));
	assert_int_equal(vm_config_find(&cl, "mine", &p), 0);
	assert_true(asprintf(&want, "%s/gamevm/mine.conf", d->xdg) > 0);
	assert_string_equal(p, want);
	free(TAKE_PTR(p));
	free(TAKE_PTR(want));

	/* In both: root takes the system's, a user their own. */
	assert_int_equal(vm_config_find(&cl, "both", &p), 0);
	assert_true(asprintf(&want, geteuid() == 0 ? "%s/both.conf" : "%s/gamevm/both.conf",
			     geteuid() == 0 ? d->sys : d->xdg) > 0);
	assert_string_equal(p, want);
	free(TAKE_PTR(p));

	assert_int_equal(vm_config_find(&cl, "nope", &p), -ENOENT);
	assert_null(p);
	assert_int_equal(vm_config_find(&cl, "bad name!", &p), -EINVAL);
}

static void test_list(void **state)
{
	struct dirs *d = *state;
	struct cli cl = { .config_dir = d->sys };
	struct vm_defined *v = NULL;
	size_t n = 0;
	bool win11 = false, mine = false, both = false;

	assert_int_equal(vm_configs_list(&cl, &v, &n), 0);
	/* "not a vm.conf" is no VM name, README no config: three VMs, "both" once. */
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		win11 = win11 || streq(v[i].name, "win11");
		mine = mine || streq(v[i].name, "mine");
		both = both || streq(v[i].name, "both");
	}
	assert_true(win11 && mine && both);
	vm_defined_free(v, n);

	/* No directories at all: nothing, no error. */
	cl.config_dir = "/nonexistent/gamevm";
	assert_int_equal(setenv("XDG_CONFIG_HOME", "/nonexistent", 1), 0);
	assert_int_equal(vm_configs_list(&cl, &v, &n), 0);
	assert_int_equal(n, 0);
	vm_defined_free(v, n);
	assert_int_equal(setenv("XDG_CONFIG_HOME", d->xdg, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
