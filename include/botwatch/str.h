// SPDX-License-Identifier: MIT
// The two string types of botwatch (CONVENTIONS 11). bw_slice borrows (pointer + length,
// never NUL-terminated by contract: mail is full of NULs); bw_buf owns a growable,
// length-carrying buffer whose growth is overflow-checked and which keeps a NUL after its
// contents for convenience only. Model: Postfix VSTRING, rspamd fstring/ftok.
#ifndef BOTWATCH_STR_H
#define BOTWATCH_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct bw_slice {
    const char *p;
    size_t n;
} bw_slice;

#define BW_SLICE_LIT(s) ((bw_slice){ (s), sizeof(s) - 1 })
#define BW_SLICE_NULL ((bw_slice){ NULL, 0 })

static inline bw_slice bw_slice_make(const void *p, size_t n) { return (bw_slice){ (const char *)p, n }; }
static inline bw_slice bw_slice_cstr(const char *s) { return (bw_slice){ s, s ? strlen(s) : 0 }; }
static inline bool bw_slice_empty(bw_slice s) { return s.n == 0; }

bool bw_slice_eq(bw_slice a, bw_slice b);
// ASCII case-insensitive comparison (header names, MIME tokens).
bool bw_slice_eq_ci(bw_slice a, bw_slice b);
bool bw_slice_eq_ci_cstr(bw_slice a, const char *s);
bool bw_slice_starts_with_ci(bw_slice s, const char *prefix);
// Strips ASCII space, tab, CR and LF from both ends.
bw_slice bw_slice_trim(bw_slice s);
// First occurrence of needle in s (memmem); returns the offset or -1.
long bw_slice_find(bw_slice s, bw_slice needle);

typedef struct bw_buf {
    char *p;       // contents, followed by a NUL when cap > 0
    size_t n;      // length of contents
    size_t cap;    // allocated bytes (0 for an empty, unallocated buffer)
} bw_buf;

#define BW_BUF_INIT ((bw_buf){ NULL, 0, 0 })

// Ensures room for `extra` more bytes plus the trailing NUL. Returns 0, or -1 on overflow
// or allocation failure (the buffer is unchanged then).
int bw_buf_reserve(bw_buf *b, size_t extra);
int bw_buf_append(bw_buf *b, const void *data, size_t n);
int bw_buf_append_slice(bw_buf *b, bw_slice s);
int bw_buf_append_cstr(bw_buf *b, const char *s);
int bw_buf_append_char(bw_buf *b, char c);
int bw_buf_printf(bw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void bw_buf_clear(bw_buf *b) { b->n = 0; if (b->cap) b->p[0] = '\0'; }
static inline bw_slice bw_buf_slice(const bw_buf *b) { return (bw_slice){ b->p, b->n }; }
void bw_buf_free(bw_buf *b);

// Appends s as a JSON string literal (quotes included): invalid UTF-8 bytes become U+FFFD,
// control characters are escaped. The one JSON string writer every module uses.
int bw_buf_append_json_string(bw_buf *b, bw_slice s);

// Appends s with every byte outside printable ASCII escaped as \xNN, at most max_bytes of
// input (then "..."): for logging untrusted text (CONVENTIONS 14).
int bw_buf_append_escaped(bw_buf *b, bw_slice s, size_t max_bytes);

#endif
