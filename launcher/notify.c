/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "notify.h"

/*
 * The protocol (sd_notify(3), systemd's "NOTIFY_SOCKET" docs): one datagram
 * of newline-separated VAR=value lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET; a leading '@' names an abstract socket (the '@' becomes a
 * NUL and the address length excludes any trailing NUL). With
 * NotifyAccess=main the sender must be the main pid: gamevm itself, which is
 * why children never send anything.
 */
int notify_send_to(const char *socket_path, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	size_t plen;
	socklen_t salen;
	ssize_t n;

	if (isempty(socket_path))
		return 0;
	if (!msg)
		return -EINVAL;
	if (socket_path[0] != '/' && socket_path[0] != '@')
		return -EAFNOSUPPORT; /* vsock addresses ("vsock:...") are not for us */

	plen = strlen(socket_path);
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, socket_path, plen);
	if (sa.sun_path[0] == '@') {
		sa.sun_path[0] = '\0';
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	} else {
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = RETRY_EINTR(sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(msg) ? 1 : -EMSGSIZE;
}

int notify_send(const char *msg)
{
	return notify_send_to(getenv("NOTIFY_SOCKET"), msg);
}
