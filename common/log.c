/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * The one piece of process-wide state in gamevm: where log lines go is a
 * property of the process (its stderr), not of any object, and every layer
 * that logs would otherwise need a context threaded through it.
 */
static struct {
	int max_level;
	bool journal;
	bool tty;
	bool timestamps;
} log_state = { .max_level = LOG_INFO };

/* JOURNAL_STREAM is "DEV:INO" of the stream systemd connected to stderr. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(void)
{
	const char *lvl = getenv("GAMEVM_LOG_LEVEL");

	log_state.journal = stderr_is_journal();
	log_state.tty = isatty(STDERR_FILENO);
	if (lvl && streq(lvl, "debug"))
		log_state.max_level = LOG_DEBUG;
}

void log_set_max_level(int level)
{
	log_state.max_level = level;
}

int log_get_max_level(void)
{
	return log_state.max_level;
}

void log_set_timestamps(bool on)
{
	log_state.timestamps = on;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	char buf[4096];
	const char *tag = "";
	va_list ap;
	int saved = errno;

	if (error < 0)
		error = -error;
	if (level > log_state.max_level)
		return -error;

	/* %m in fmt refers to the error passed in, not whatever errno holds now. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (log_state.journal) {
		fprintf(stderr, "<%d>%s\n", level, buf);
	} else {
		if (level <= LOG_ERR)
			tag = "error: ";
		else if (level == LOG_WARNING)
			tag = "warning: ";
		if (log_state.timestamps && log_state.tty) {
			struct timespec ts;
			struct tm tm;
			clock_gettime(CLOCK_REALTIME, &ts);
			localtime_r(&ts.tv_sec, &tm);
			fprintf(stderr, "%02d:%02d:%02d.%03ld %s%s\n", tm.tm_hour, tm.tm_min,
				tm.tm_sec, ts.tv_nsec / 1000000, tag, buf);
		} else {
			fprintf(stderr, "%s%s\n", tag, buf);
		}
	}
	errno = saved;
	return -error;
}
