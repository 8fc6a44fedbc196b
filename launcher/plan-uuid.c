/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stable identities derived from the VM name: the VM UUID (SMBIOS type 1,
 * -uuid; Windows activation keys on it, so it must not change between
 * runs) and NIC MAC addresses. RFC 4122 version 5 (SHA-1, name-based), so
 * anyone can recompute them: python3 -c 'import uuid;
 * print(uuid.uuid5(uuid.UUID("6c5efcff-dc33-519d-96ec-5ac6ff96ef4f"), "win11"))'.
 * SHA-1 is fine here: these are names, not secrets.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plan-internal.h"

/* uuid5(NAMESPACE_DNS, "gamevm.invalid") */
static const uint8_t gamevm_ns[16] = { 0x6c, 0x5e, 0xfc, 0xff, 0xdc, 0x33, 0x51, 0x9d,
				       0x96, 0xec, 0x5a, 0xc6, 0xff, 0x96, 0xef, 0x4f };

struct sha1 {
	uint32_t h[5];
	uint8_t block[64];
	size_t used;
	uint64_t bytes;
};

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(struct sha1 *s)
{
	uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)s->block[4 * i] << 24 | (uint32_t)s->block[4 * i + 1] << 16 |
		       (uint32_t)s->block[4 * i + 2] << 8 | s->block[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

static void sha1_init(struct sha1 *s)
{
	*s = (struct sha1){ .h = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 } };
}

static void sha1_update(struct sha1 *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	s->bytes += n;
	while (n--) {
		s->block[s->used++] = *p++;
		if (s->used == 64) {
			sha1_block(s);
			s->used = 0;
		}
	}
}

static void sha1_final(struct sha1 *s, uint8_t out[20])
{
	uint64_t bits = s->bytes * 8;
	uint8_t pad = 0x80, zero = 0, len[8];

	sha1_update(s, &pad, 1);
	while (s->used != 56)
		sha1_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(s, len, 8);
	for (int i = 0; i < 20; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void uuid5_bytes(const char *name, uint8_t u[16])
{
	struct sha1 s;
	uint8_t h[20];

	sha1_init(&s);
	sha1_update(&s, gamevm_ns, sizeof(gamevm_ns));
	sha1_update(&s, name, strlen(name));
	sha1_final(&s, h);
	memcpy(u, h, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x50); /* version 5 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void plan_uuid5(const char *name, char ret[static 37])
{
	uint8_t u[16];

	uuid5_bytes(name, u);
	snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

void plan_mac(const char *vm, const char *net, char ret[static 18])
{
	char name[128];
	uint8_t u[16];

	snprintf(name, sizeof(name), "%s/net/%s", vm, net);
	uuid5_bytes(name, u);
	/* 52:54:00 is QEMU's locally administered prefix. */
	snprintf(ret, 18, "52:54:00:%02x:%02x:%02x", u[0], u[1], u[2]);
}
