// SPDX-License-Identifier: MIT
// A bump allocator per message or session (CONVENTIONS 12): many small allocations, one
// reset. Memory from bw_arena_alloc() lives until bw_arena_reset() or bw_arena_free().
// A configurable cap bounds what one untrusted input can make the arena hold.
#ifndef BOTWATCH_ARENA_H
#define BOTWATCH_ARENA_H

#include <stddef.h>

#include "botwatch/str.h"

typedef struct bw_arena bw_arena;

// cap_bytes: the most the arena may hold in all (0 = no cap). NULL on allocation failure.
bw_arena *bw_arena_new(size_t cap_bytes);
// Returns `size` bytes aligned to max_align_t, or NULL if the cap or memory ran out.
void *bw_arena_alloc(bw_arena *a, size_t size);
void *bw_arena_memdup(bw_arena *a, const void *p, size_t n);   // adds a NUL after n bytes
bw_slice bw_arena_slice_dup(bw_arena *a, bw_slice s);          // .p NULL on failure
// Keeps the first block for reuse, frees the others: cheap per-message reset.
void bw_arena_reset(bw_arena *a);
size_t bw_arena_used(const bw_arena *a);
void bw_arena_free(bw_arena *a);

#endif
