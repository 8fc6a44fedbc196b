/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor on firmware, TPM and SELinux: the UEFI firmware the plan
 * chose, the Microsoft 2023 certificates in the VM's variable store (the
 * 2011 CAs expire in 2026), swtpm for a TPM, SELinux's mode, gamevm's
 * policy module and recent denials that name QEMU or swtpm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"
#include "spawn.h"

#define MAX_VARS   (64u << 20)
#define AUDIT_TAIL (4u << 20)

static bool has(const char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

/*
 * Certificates in a variable store are DER: their names are plain ASCII.
 * The VM's own copy once it exists, else the template it will be copied
 * from.
 */
static int check_ms_2023(struct doctor *d)
{
	const char *path = d->p->nvram_path;
	_cleanup_free_ char *vars = NULL;
	size_t len = 0;

	if (!d->p->secure_boot)
		return 0;
	/* Paths on the host, under its root (a fixture's, in tests). */
	if (!path ||
	    read_full_file_at(d->h->root_fd, path + strspn(path, "/"), MAX_VARS, &vars, &len) < 0) {
		path = d->p->fw_vars_template;
		if (!path || read_full_file_at(d->h->root_fd, path + strspn(path, "/"), MAX_VARS,
					       &vars, &len) < 0)
			return 0;
	}
	/* Only a store with Microsoft's keys: a test key (snakeoil) is not about Windows. */
	if (!has(vars, len, "Microsoft Corporation KEK CA 2011") &&
	    !has(vars, len, "Microsoft Corporation UEFI CA 2011") &&
	    !has(vars, len, "Windows Production PCA 2011"))
		return 0;
	if (has(vars, len, "Windows UEFI CA 2023") && has(vars, len, "Microsoft UEFI CA 2023"))
		return doctor_add(d, "firmware.ms_ca_2023", DOCTOR_PASS, path, NULL,
				  "the variable store holds Microsoft's 2023 UEFI CAs");
	return doctor_add(
		d, "firmware.ms_ca_2023", DOCTOR_WARN, path,
		"let Windows Update apply the Secure Boot certificate update (it adds them to db, with the Microsoft KEK), or start from a variable store that has them (a newer edk2, or virt-fw-vars --add-db with Microsoft's 2023 certificates)",
		"the variable store has Microsoft's 2011 CAs only: they expire in 2026, after which boot managers signed only with the 2023 CAs will not boot");
}

static int check_firmware(struct doctor *d)
{
	int r;

	if (!d->c || !d->p || !d->p->fw_code)
		return 0;
	r = doctor_add(d, "firmware.uefi", DOCTOR_PASS, d->p->fw_code, NULL,
		       "UEFI firmware '%s'%s, variables from '%s'", d->p->fw_code,
		       d->p->secure_boot ? " with Secure Boot" : "", strna(d->p->fw_vars_template));
	if (r >= 0)
		r = check_ms_2023(d);
	return r;
}

static int check_swtpm(struct doctor *d)
{
	_cleanup_free_ char *bin = NULL, *setup = NULL;

	if (!d->c || d->c->tpm == TPM_NONE)
		return 0;
	if (spawn_find_binary(d->h->root_fd, "swtpm", &bin) < 0)
		return doctor_add(d, "tpm.swtpm", DOCTOR_FAIL, "usr/bin/swtpm",
				  "apt install swtpm swtpm-tools, or set [tpm] model = none",
				  "no swtpm: the VM's TPM 2.0 (Windows 11 needs one) cannot run");
	if (spawn_find_binary(d->h->root_fd, "swtpm_setup", &setup) < 0)
		return doctor_add(d, "tpm.swtpm", DOCTOR_FAIL, "usr/bin/swtpm_setup",
				  "apt install swtpm-tools",
				  "no swtpm_setup: the TPM's state cannot be manufactured");
	return doctor_add(d, "tpm.swtpm", DOCTOR_PASS, bin, NULL, "swtpm and swtpm_setup found");
}

/* The lines of the audit log's tail that deny something to QEMU or swtpm. */
static size_t avc_denials(const struct doctor *d, char *first, size_t size)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0, len = 0;
	char *line, *save = NULL, *start;
	int fd;

	fd = openat(d->h->root_fd, "var/log/audit/audit.log", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	{
		off_t end = lseek(fd, 0, SEEK_END);

		if (end > (off_t)AUDIT_TAIL)
			(void)lseek(fd, end - (off_t)AUDIT_TAIL, SEEK_SET);
		else
			(void)lseek(fd, 0, SEEK_SET);
	}
	text = malloc(AUDIT_TAIL + 1);
	if (text) {
		ssize_t k;

		while (len < AUDIT_TAIL && (k = read(fd, text + len, AUDIT_TAIL - len)) > 0)
			len += (size_t)k;
		text[len] = 0;
	}
	close(fd);
	if (!text)
		return 0;
	start = text;
	for (line = strtok_r(start, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "avc:") || !strstr(line, "denied"))
			continue;
		if (!strstr(line, "comm=\"qemu") && !strstr(line, "comm=\"swtpm"))
			continue;
		if (n++ == 0)
			snprintf(first, size, "%s", line);
	}
	return n;
}

static int check_selinux(struct doctor *d)
{
	_cleanup_free_ char *enforce = NULL, *config = NULL;
	char path[256], first[512] = "";
	const char *type = "targeted";
	size_t denials;
	char *t;
	int r;

	if (read_one_line_at(d->h->sys_fd, "fs/selinux/enforce", &enforce) < 0)
		return doctor_add(d, "selinux", DOCTOR_SKIP, "sys/fs/selinux/enforce", NULL,
				  "SELinux is not enabled");
	if (read_full_file_at(d->h->root_fd, "etc/selinux/config", 64u << 10, &config, NULL) >= 0 &&
	    (t = strstr(config, "\nSELINUXTYPE="))) {
		t += strlen("\nSELINUXTYPE=");
		t[strcspn(t, " \t\n")] = 0;
		type = t;
	}
	snprintf(path, sizeof(path), "var/lib/selinux/%s/active/modules/400/gamevm", type);
	if (faccessat(d->h->root_fd, path, F_OK, 0) < 0)
		r = doctor_add(
			d, "selinux.module", streq(enforce, "1") ? DOCTOR_WARN : DOCTOR_PASS, path,
			"semodule -i /usr/share/selinux/packages/gamevm.pp",
			"SELinux is %s and gamevm's policy module is not installed: swtpm's pid file, QEMU's locked memory and the pcscd socket may be denied",
			streq(enforce, "1") ? "enforcing" : "permissive");
	else
		r = doctor_add(d, "selinux.module", DOCTOR_PASS, path, NULL,
			       "SELinux is %s; gamevm's policy module is installed",
			       streq(enforce, "1") ? "enforcing" : "permissive");
	if (r < 0)
		return r;
	denials = avc_denials(d, first, sizeof(first));
	if (denials == 0)
		return 0;
	return doctor_add(
		d, "selinux.denials", DOCTOR_WARN, "var/log/audit/audit.log",
		"ausearch -m avc -c qemu-system-x86 -c swtpm shows them all; audit2allow -a turns them into a rule if the module does not cover them",
		"%zu recent SELinux denial(s) for QEMU or swtpm, e.g. %s", denials, first);
}

int doctor_check_firmware(struct doctor *d)
{
	int r = check_firmware(d);

	if (r >= 0)
		r = check_swtpm(d);
	if (r >= 0)
		r = check_selinux(d);
	return r;
}
