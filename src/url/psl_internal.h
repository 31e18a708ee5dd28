// SPDX-License-Identifier: MIT
// Registrable domains from the Public Suffix List by hash lookups (src/url/psl.c), with
// libpsl's semantics; libpsl answers what this cannot and is its test oracle.
#ifndef BW_URL_PSL_INTERNAL_H
#define BW_URL_PSL_INTERNAL_H

#include <stddef.h>

#define BW_PSL_MAX_HOST 253      // longer hosts are left to libpsl
#define BW_PSL_NONE (-1L)        // the host has no registrable domain (it is public itself)
#define BW_PSL_ASK_LIBPSL (-2L)  // not answered here: non-ASCII, too long, or no table

typedef struct bw_psl bw_psl;

// Loads the list at path (NULL: the publicsuffix package's file). NULL if unreadable.
bw_psl *bw_psl_load(const char *path);
void bw_psl_free(bw_psl *table);
size_t bw_psl_rule_count(const bw_psl *table);

// The process-wide table, loaded on first use (thread-safe); NULL if the list is missing.
const bw_psl *bw_psl_shared(void);

// Offset in host[0..n) where its registrable domain starts, BW_PSL_NONE, or
// BW_PSL_ASK_LIBPSL. The host is lowercase, as the URL normaliser writes it.
long bw_psl_registrable(const bw_psl *table, const char *host, size_t n);

#endif
