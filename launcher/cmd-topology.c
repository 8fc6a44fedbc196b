/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stub: being written */
#include <errno.h>
#include "cli.h"

int verb_topology(const struct cli *c)
{
	return -EOPNOTSUPP;
}
