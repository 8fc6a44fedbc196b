/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * swtpm: argv builders for swtpm_setup (manufacture) and `swtpm socket`,
 * the per-VM swtpm_setup/swtpm-localca config files, and the state check.
 * The launcher spawns them (launcher/tpm.c); nothing here runs anything.
 *
 * Why per-VM config files: Debian's /etc/swtpm-localca.conf keeps the local
 * CA in /var/lib/swtpm-localca (owned by tss, 0750), which the QEMU user
 * cannot write, so swtpm_setup --create-ek-cert run as that user fails. Each
 * VM gets its own small CA in state_dir/tpm-ca instead (owned by the QEMU
 * user); Windows only checks that a TPM 2.0 is there, not who signed its EK.
 *
 * Checked against swtpm 0.7.1: swtpm_setup accepts --vmid (undocumented in
 * --help), swtpm socket accepts --ctrl type=unixio,fd=N (a listening socket
 * it accepts on) and --log fd=N.
 *
 * Library code: returns 0 or negative errno, never prints.
 */
#pragma once

#include <stdbool.h>

#include "strv.h"

/* The file swtpm writes for a TPM 2.0 ("tpm2-00.permall"). */
#define SWTPM_STATE_FILE "tpm2-00.permall"

struct swtpm_setup_opts {
	const char *binary;	  /* swtpm_setup path */
	const char *swtpm_binary; /* --tpm "BIN socket"; NULL = swtpm from PATH */
	const char *state_dir;	  /* the TPM state dir (state_dir/tpm) */
	const char *config;	  /* --config: swtpm_setup.conf, NULL = system default */
	const char *vm_name;	  /* --vmid NAME:UUID */
	const char *uuid;
	const char *logfile;   /* --logfile, NULL = stderr (the spawn's log fd) */
	const char *pcr_banks; /* NULL = "sha256" */
};

/*
 * swtpm_setup --tpm2 --tpmstate DIR --createek --create-ek-cert
 *   --create-platform-cert --lock-nvram --not-overwrite --pcr-banks sha256
 *   --vmid NAME:UUID [--config F] [--tpm 'BIN socket'] [--logfile LOG]
 */
int swtpm_setup_argv(const struct swtpm_setup_opts *o, struct strv *ret);

struct swtpm_socket_opts {
	const char *binary;    /* swtpm path */
	const char *state_dir; /* --tpmstate dir=DIR,mode=0600 */
	int ctrl_fd;	       /* listening socket as the child sees it (3) */
	int log_fd;	       /* --log fd=N as the child sees it, -1 = use log_file */
	const char *log_file;  /* --log file=PATH when log_fd < 0; NULL = none */
};

/* swtpm socket --tpm2 --tpmstate dir=DIR,mode=0600 --ctrl type=unixio,fd=3
 *   --log fd=N|file=PATH --terminate */
int swtpm_socket_argv(const struct swtpm_socket_opts *o, struct strv *ret);

/*
 * The contents of swtpm_setup.conf and swtpm-localca.conf for a CA kept in
 * ca_dir (absolute path). localca_binary: "/usr/bin/swtpm_localca";
 * localca_options: the options file to use (the system's
 * "/etc/swtpm-localca.options") or NULL for none. Caller frees both.
 */
int swtpm_config_build(const char *localca_binary, const char *localca_config_path,
		       const char *localca_options, const char *ca_dir, char **ret_setup_conf,
		       char **ret_localca_conf);

/* 1 when tpm_dir_fd holds a manufactured TPM 2.0 state, 0 when not. */
int tpm_state_present(int tpm_dir_fd);
