/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "swtpm.h"

/* Paths end up in "key=value,..." options and config lines: keep them plain. */
static bool path_is_plain(const char *s)
{
	return !isempty(s) && !strpbrk(s, ",\n\r");
}

int swtpm_setup_argv(const struct swtpm_setup_opts *o, struct strv *ret)
{
	struct strv v = { 0 };

	if (!o || isempty(o->binary) || !path_is_plain(o->state_dir) || isempty(o->vm_name) ||
	    isempty(o->uuid))
		return -EINVAL;

	strv_push(&v, o->binary);
	strv_push(&v, "--tpm2");
	strv_push(&v, "--tpmstate");
	strv_push(&v, o->state_dir);
	/* swtpm_setup splits --tpm at spaces and runs it as is: "BIN socket". */
	if (o->swtpm_binary) {
		if (strchr(o->swtpm_binary, ' ')) {
			strv_done(&v);
			return -EINVAL;
		}
		strv_push(&v, "--tpm");
		strv_pushf(&v, "%s socket", o->swtpm_binary);
	}
	if (o->config) {
		strv_push(&v, "--config");
		strv_push(&v, o->config);
	}
	/*
	 * --create-platform-cert implies --create-ek-cert implies --createek;
	 * all three are spelled out so the argv reads like the design.
	 * --not-overwrite makes a second run a no-op instead of an error.
	 */
	strv_push(&v, "--createek");
	strv_push(&v, "--create-ek-cert");
	strv_push(&v, "--create-platform-cert");
	strv_push(&v, "--lock-nvram");
	strv_push(&v, "--not-overwrite");
	strv_push(&v, "--pcr-banks");
	strv_push(&v, o->pcr_banks ? o->pcr_banks : "sha256");
	/* The EK certificate's subject names the VM (swtpm_localca --vmid). */
	strv_push(&v, "--vmid");
	strv_pushf(&v, "%s:%s", o->vm_name, o->uuid);
	if (o->logfile) {
		strv_push(&v, "--logfile");
		strv_push(&v, o->logfile);
	}
	if (v.err) {
		int r = v.err;

		strv_done(&v);
		return r;
	}
	*ret = v;
	return 0;
}

int swtpm_socket_argv(const struct swtpm_socket_opts *o, struct strv *ret)
{
	struct strv v = { 0 };

	if (!o || isempty(o->binary) || !path_is_plain(o->state_dir) || o->ctrl_fd < 0 ||
	    (o->log_fd < 0 && o->log_file && !path_is_plain(o->log_file)))
		return -EINVAL;

	strv_push(&v, o->binary);
	strv_push(&v, "socket");
	strv_push(&v, "--tpm2");
	strv_push(&v, "--tpmstate");
	strv_pushf(&v, "dir=%s,mode=0600", o->state_dir);
	/*
	 * fd=: the listening socket gamevm bound (swtpm 0.7 accepts on it);
	 * QEMU connects to its path and hands swtpm the data channel over it.
	 */
	strv_push(&v, "--ctrl");
	strv_pushf(&v, "type=unixio,fd=%d", o->ctrl_fd);
	if (o->log_fd >= 0) {
		strv_push(&v, "--log");
		strv_pushf(&v, "fd=%d", o->log_fd);
	} else if (o->log_file) {
		strv_push(&v, "--log");
		strv_pushf(&v, "file=%s", o->log_file);
	}
	/* Exit when QEMU's control connection goes away. */
	strv_push(&v, "--terminate");
	/*
	 * swtpm's own syscall filter, which kills it on a denied call. It is
	 * the default where swtpm was built with libseccomp (0.7: the
	 * "cmdarg-seccomp" capability); said explicitly, so that a changed
	 * default cannot turn it into "log" unnoticed.
	 */
	strv_push(&v, "--seccomp");
	strv_push(&v, "action=kill");
	if (v.err) {
		int r = v.err;

		strv_done(&v);
		return r;
	}
	*ret = v;
	return 0;
}

int swtpm_config_build(const char *localca_binary, const char *localca_config_path,
		       const char *localca_options, const char *ca_dir, char **ret_setup_conf,
		       char **ret_localca_conf)
{
	_cleanup_free_ char *setup = NULL, *ca = NULL;
	int r;

	if (!path_is_plain(localca_binary) || !path_is_plain(localca_config_path) ||
	    !path_is_plain(ca_dir) || (localca_options && !path_is_plain(localca_options)))
		return -EINVAL;

	/* Format: swtpm_setup.conf(8). */
	r = asprintf(&setup,
		     "# Written by gamevm: this VM's own local CA (see firmware/swtpm.h).\n"
		     "create_certs_tool = %s\n"
		     "create_certs_tool_config = %s\n"
		     "%s%s%s"
		     "active_pcr_banks = sha256\n",
		     localca_binary, localca_config_path,
		     localca_options ? "create_certs_tool_options = " : "",
		     localca_options ? localca_options : "", localca_options ? "\n" : "");
	if (r < 0) {
		setup = NULL;
		return -ENOMEM;
	}
	/* Format: swtpm-localca.conf(8); the CA key is created on first use. */
	r = asprintf(&ca,
		     "# Written by gamevm.\n"
		     "statedir = %s\n"
		     "signingkey = %s/signkey.pem\n"
		     "issuercert = %s/issuercert.pem\n"
		     "certserial = %s/certserial\n",
		     ca_dir, ca_dir, ca_dir, ca_dir);
	if (r < 0) {
		ca = NULL;
		return -ENOMEM;
	}
	*ret_setup_conf = TAKE_PTR(setup);
	*ret_localca_conf = TAKE_PTR(ca);
	return 0;
}

int tpm_state_present(int tpm_dir_fd)
{
	struct stat st;

	if (fstatat(tpm_dir_fd, SWTPM_STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* An empty file is what a run killed half-way leaves: no state. */
	return S_ISREG(st.st_mode) && st.st_size > 0;
}
