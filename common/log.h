/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the launcher (the only layer that prints; libraries return
 * -errno and leave the message to their caller).
 *
 * Output goes to stderr. Under systemd (JOURNAL_STREAM names our stderr) each
 * line carries a "<N>" priority prefix that journald understands; on a
 * terminal lines carry a wall-clock timestamp once timestamps are switched on
 * (the supervisor does; one-shot verbs do not).
 *
 * log_error_errno(r, ...) logs with %m bound to -r and returns r, so a caller
 * can write: return log_error_errno(r, "Failed to read '%s': %m", path);
 */
#pragma once

#include <syslog.h>

#include "macro.h"

void log_setup(void);
void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_timestamps(bool on);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)

#define log_debug(...)	 log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)	 log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)	 log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)	 log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)	  log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)	  log_internal(LOG_ERR, (e), __VA_ARGS__)
