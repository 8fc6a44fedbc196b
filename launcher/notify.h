/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal sd_notify(3): one datagram to $NOTIFY_SOCKET, no libsystemd.
 * Abstract socket names ("@name") are supported. When NOTIFY_SOCKET is
 * unset (not started by systemd with Type=notify) every call is a no-op.
 *
 * Usage:
 *   notify_send("READY=1\nSTATUS=Guest running");
 *   notify_send("STOPPING=1");
 *
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset, negative errno
 * otherwise (the caller logs it as a warning: systemd will time out).
 */
#pragma once

int notify_send(const char *msg);
/* Same with the socket address given ("/run/systemd/notify" or "@abstract"). */
int notify_send_to(const char *socket_path, const char *msg);
