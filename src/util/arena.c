// SPDX-License-Identifier: MIT
// Bump allocator (include/botwatch/arena.h): blocks of at least 64 KiB chained; requests
// larger than a block get a block of their own. Reset keeps the first block so a parser
// that handles message after message does not touch malloc on the fast path.
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/arena.h"

#define ARENA_BLOCK 65536

typedef struct arena_block {
    struct arena_block *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
} arena_block;

struct bw_arena {
    arena_block *head;   // current block (most recent)
    arena_block *first;  // oldest block, kept by reset
    size_t total, cap;
};

static arena_block *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(arena_block))
        return NULL;
    arena_block *b = malloc(sizeof(arena_block) + size);
    if (b) {
        b->next = NULL;
        b->size = size;
        b->used = 0;
    }
    return b;
}

bw_arena *bw_arena_new(size_t cap_bytes)
{
    bw_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cap = cap_bytes;
    a->first = a->head = block_new(ARENA_BLOCK);
    if (!a->first) {
        free(a);
        return NULL;
    }
    return a;
}

void *bw_arena_alloc(bw_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX - align)
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    if (a->cap && (size > a->cap || a->total > a->cap - size))
        return NULL;
    arena_block *b = a->head;
    if (b->size - b->used < size) {
        b = block_new(size > ARENA_BLOCK ? size : ARENA_BLOCK);
        if (!b)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->total += size;
    return p;
}

void *bw_arena_memdup(bw_arena *a, const void *p, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *copy = bw_arena_alloc(a, n + 1);
    if (copy) {
        if (n)
            memcpy(copy, p, n);
        copy[n] = '\0';
    }
    return copy;
}

bw_slice bw_arena_slice_dup(bw_arena *a, bw_slice s)
{
    char *p = bw_arena_memdup(a, s.p, s.n);
    return (bw_slice){ p, p ? s.n : 0 };
}

void bw_arena_reset(bw_arena *a)
{
    arena_block *b = a->head;
    while (b != a->first) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = a->first;
    a->first->used = 0;
    a->total = 0;
}

size_t bw_arena_used(const bw_arena *a) { return a->total; }

void bw_arena_free(bw_arena *a)
{
    if (!a)
        return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
