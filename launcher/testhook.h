/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hooks that only test builds honour. The same launcher code is linked
 * into build/gamevm with testhook-off (every hook inert) and into
 * build/gamevm-test and the unit tests with testhook-on, so the shipped
 * binary cannot be steered by an environment variable left lying around.
 *
 *   GAMEVM_TEST_KVM=FILE    host-kvm.c: FILE (the fixture form of dev/kvm)
 *                           stands in for /dev/kvm, so a test can play a
 *                           KVM that this host lacks or that fails.
 *   GAMEVM_TEST_KILL_AT=P   gamevm sends itself SIGKILL when it reaches
 *                           the point P of its start or stop (the names
 *                           passed to testhook_point()), so a test can show
 *                           that 'gamevm cleanup' restores the host from
 *                           any of them (tests/integration/test-faults.py).
 *
 * The points, in the order a run passes them: locked, state, journal:N
 * (record N written and synced, its change not yet made), prepared, swtpm,
 * qemu, pin, pinned, running, powerdown, quit, exited, replay:N (N records
 * undone).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* getenv(name) in test builds; NULL in the shipped binary. */
const char *testhook_getenv(const char *name);
/* Whether this binary honours the hooks at all. */
bool testhook_enabled(void);

/* A fault injection point: SIGKILL to gamevm itself when GAMEVM_TEST_KILL_AT names it. */
void testhook_point(const char *point);
/* The same with a number: testhook_point_n("journal", 3) is "journal:3". */
void testhook_point_n(const char *point, size_t n);
