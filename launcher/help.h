/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The long help texts: `gamevm help VERB` and `gamevm VERB --help` print a
 * verb's full usage (arguments, options, exit status, an example) from the
 * table in help.c; `gamevm --version` prints the version and the build
 * options that matter. The one-line usages of the overview stay with the
 * verb table in main.c. docs/gamevm.md (the gamevm(1) page) says the same
 * at length; tests/install/test-man.py checks that every verb has both.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Prints the full help of VERB; false (nothing printed) when the table has none. */
bool help_verb_print(FILE *f, const char *verb);

/* `gamevm --version`: version, default directories, whether test hooks are live. */
void help_version(FILE *f);
