// SPDX-License-Identifier: MIT
// C declarations of bench/tlsh_shim.cpp (TLSH has no C API).
#ifndef BOTWATCH_BENCH_TLSH_SHIM_H
#define BOTWATCH_BENCH_TLSH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
// A TLSH of data, or NULL if TLSH refuses the input (under 50 bytes, too little variety).
void *tlsh_shim_hash(const unsigned char *data, size_t n);
int tlsh_shim_diff(const void *a, const void *b);   // 0 = identical; larger = more different
void tlsh_shim_free(void *h);
#ifdef __cplusplus
}
#endif

#endif
