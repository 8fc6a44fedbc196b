/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's TPM state: manufactured once with swtpm_setup (EK and platform
 * certificates, sha256 PCR bank, NVRAM locked) before QEMU starts, run as
 * the QEMU user with every capability dropped.
 *
 * Layout in state_dir (root 0711):
 *   tpm/                  QEMU user, 0700: swtpm state (tpm2-00.permall)
 *   tpm-ca/               QEMU user, 0700: this VM's local CA (see swtpm.h)
 *   swtpm_setup.conf      root, 0644   (rewritten on every manufacture)
 *   swtpm-localca.conf    root, 0644
 *
 * Usage:
 *   struct tpm_setup t = { .swtpm_setup_binary = ..., .uid = uid, ... };
 *   r = tpm_manufacture(d.state_fd, d.state_path, &t, &why);
 *   if (r < 0) return log_error_errno(r, "Failed to manufacture the TPM: %s: %m", why);
 *   if (r > 0) log_info("Manufactured TPM 2.0 state in '%s/tpm'", d.state_path);
 *
 * Not library code in the strict sense (it spawns), but it never prints:
 * swtpm_setup's own output goes to t->log_fd.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define TPM_STATE_SUBDIR "tpm"
#define TPM_CA_SUBDIR	 "tpm-ca"

struct tpm_setup {
	const char *swtpm_setup_binary; /* absolute: "/usr/bin/swtpm_setup" */
	const char *swtpm_binary;	/* absolute: "/usr/bin/swtpm" */
	const char *localca_binary;	/* absolute: "/usr/bin/swtpm_localca" */
	const char *localca_options;	/* "/etc/swtpm-localca.options" or NULL */
	const char *vm_name;
	const char *uuid;
	const char *user_name; /* for messages */
	uid_t uid;	       /* the QEMU user */
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	int log_fd;	/* swtpm_setup's stdout and stderr; -1 = inherit */
	int timeout_ms; /* 0 = 60 s */
};

/*
 * Makes tpm/ and tpm-ca/ (QEMU user, 0700), and when tpm/ holds no state
 * yet runs swtpm_setup to completion. Returns 1 when it manufactured a TPM,
 * 0 when one was there already (nothing run), negative errno on failure
 * with *error set: "swtpm_setup exited with status 1" (its output is in
 * log_fd), a spawn
 * step, or -ETIMEDOUT ("swtpm_setup did not finish within 60 s"; it is
 * killed).
 */
int tpm_manufacture(int state_fd, const char *state_path, const struct tpm_setup *t, char **error);
