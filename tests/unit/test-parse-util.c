/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "parse-util.h"
#include "strv.h"

static void test_size(void **state)
{
	uint64_t v;
	char buf[32];

	(void)state;
	assert_int_equal(parse_size("64G", &v), 0);
	assert_true(v == 64ULL << 30);
	assert_int_equal(parse_size("64GiB", &v), 0);
	assert_true(v == 64ULL << 30);
	assert_int_equal(parse_size("512m", &v), 0);
	assert_true(v == 512ULL << 20);
	assert_int_equal(parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("-1G", &v), -EINVAL);
	assert_int_equal(parse_size("12X", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999999999999999", &v), -ERANGE);

	format_size(64ULL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "64G");
	format_size(1536ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "1536M");
	format_size(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
}

static void test_numbers(void **state)
{
	uint64_t u;
	unsigned x;
	int i;
	bool b;

	(void)state;
	assert_int_equal(safe_atou64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(safe_atou64("18446744073709551616", &u), -ERANGE);
	assert_int_equal(safe_atou64(" 1", &u), -EINVAL);
	assert_int_equal(safe_atou64("1 ", &u), -EINVAL);
	assert_int_equal(safe_atou("4294967296", &x), -ERANGE);
	assert_int_equal(safe_atoi("-1", &i), 0);
	assert_int_equal(i, -1);
	assert_int_equal(safe_atoi("0x10", &i), -EINVAL);
	assert_int_equal(parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
}

static void test_pci(void **state)
{
	struct pci_addr a, b;
	char buf[PCI_ADDR_STRLEN];

	(void)state;
	assert_int_equal(parse_pci_addr("0000:0f:00.0", &a), 0);
	assert_int_equal(a.bus, 0x0f);
	assert_string_equal(format_pci_addr(&a, buf), "0000:0f:00.0");
	assert_int_equal(parse_pci_addr("0F:00.1", &b), 0);
	assert_true(pci_addr_same_slot(&a, &b));
	assert_true(pci_addr_compare(&a, &b) < 0);
	assert_int_equal(parse_pci_addr("0000:11:00.3", &a), 0);
	assert_int_equal(a.function, 3);
	assert_int_equal(parse_pci_addr("10000:00:00.0", &a), -EINVAL);
	assert_int_equal(parse_pci_addr("0000:00:20.0", &a), -ERANGE); /* slot > 31 */
	assert_int_equal(parse_pci_addr("0000:00:00.8", &a), -ERANGE);
	assert_int_equal(parse_pci_addr("0000:0g:00.0", &a), -EINVAL);
	assert_int_equal(parse_pci_addr("0000:0f:00", &a), -EINVAL);
	assert_int_equal(parse_pci_addr("0f:00.0.1", &a), -EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(name_is_valid("win11"));
	assert_true(name_is_valid("a_b-C9"));
	assert_false(name_is_valid(""));
	assert_false(name_is_valid("a b"));
	assert_false(name_is_valid("../x"));
	assert_false(name_is_valid("abcdefghijabcdefghijabcdefghijabc")); /* 33 */
	assert_true(name_is_valid("abcdefghijabcdefghijabcdefghijab"));	  /* 32 */
}

static void test_cpu_list(void **state)
{
	unsigned *v = NULL;
	size_t n;
	char *s;

	(void)state;
	assert_int_equal(parse_cpu_list("0,16,1,17", 64, 0, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[1], 16);
	free(v);
	assert_int_equal(parse_cpu_list("0-7,16-23", 64, 0, &v, &n), 0);
	assert_int_equal(n, 16);
	assert_int_equal(v[8], 16);
	assert_int_equal(format_cpu_list(v, n, &s), 0);
	assert_string_equal(s, "0-7,16-23");
	free(s);
	free(v);
	assert_int_equal(parse_cpu_list("0,0", 64, 0, &v, &n), -EEXIST);
	assert_int_equal(parse_cpu_list("0,1,0,1", 64, CPU_LIST_ALLOW_DUPLICATES, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[2], 0);
	free(v);
	assert_int_equal(parse_cpu_list("3-1", 64, 0, &v, &n), -EINVAL);
	assert_int_equal(parse_cpu_list("1,", 64, 0, &v, &n), -EINVAL);
	assert_int_equal(parse_cpu_list("64", 64, 0, &v, &n), -ERANGE);
	assert_int_equal(parse_cpu_list("a", 64, 0, &v, &n), -EINVAL);
	assert_int_equal(parse_cpu_list("", 64, 0, &v, &n), -EINVAL);
}

static void test_escape(void **state)
{
	char *s;

	(void)state;
	s = qemu_opt_escape("American Megatrends International, LLC.");
	assert_string_equal(s, "American Megatrends International,, LLC.");
	free(s);
	s = qemu_opt_escape(",,");
	assert_string_equal(s, ",,,,");
	free(s);
	s = shell_quote("-name");
	assert_string_equal(s, "-name");
	free(s);
	s = shell_quote("vendor=A B");
	assert_string_equal(s, "'vendor=A B'");
	free(s);
	s = shell_quote("it's");
	assert_string_equal(s, "'it'\\''s'");
	free(s);
}

static void test_strv(void **state)
{
	struct strv v = { 0 };

	(void)state;
	assert_int_equal(strv_push(&v, "a"), 0);
	assert_int_equal(strv_pushf(&v, "b%d", 1), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[1], "b1");
	assert_null(v.v[2]);
	assert_int_equal(strv_push_take(&v, NULL), -ENOMEM);
	assert_int_equal(strv_push(&v, "c"), -ENOMEM); /* sticky */
	strv_done(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),	 cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pci),	 cmocka_unit_test(test_names),
		cmocka_unit_test(test_cpu_list), cmocka_unit_test(test_escape),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
