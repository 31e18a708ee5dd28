// SPDX-License-Identifier: MIT
// Registrable domains from the Public Suffix List, answered from a hash table.
//
// Why not libpsl alone: psl_registrable_domain() costs ~8,500 instructions per host under
// callgrind (a DAFSA walk for every suffix of the host, each after a scan for non-ASCII
// bytes), 6% of the full extraction of bench/parse on the SpamAssassin corpus. The table
// below answers an ASCII host in a few hundred. libpsl stays: it answers every host this
// table cannot (non-ASCII, over HOST_MAX bytes, list file missing), and it is the oracle of
// tests/url/test_psl.c, which checks every rule of the list and every corpus host.
//
// The semantics are libpsl's (0.21), so both give the same answer for the same list:
//  - a suffix of one label is public (the implicit "*" rule);
//  - a suffix found in the list is public unless it is an exception ("!www.ck");
//  - otherwise it is public when its parent is a wildcard rule's base ("*.ck" -> "ck");
//  - names with an empty label ("a..b", ".a", "a.") are left to libpsl, whose versions
//    differ on them (0.21.2 ignores a trailing dot);
//  - the registrable domain is the suffix one label longer than the longest public suffix,
//    found by walking from the left; none when the host itself is public.
// Rules are read from the list file the publicsuffix package installs (the same list
// libpsl's psl_latest() loads); internationalised rules are stored in their ASCII
// (punycode) form, as hosts reach us already converted by the URL normaliser.
#include "psl_internal.h"

#include <idn2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
#define PSL_MAX_RULES 65536      // today ~9,400; a list 7x larger is not a list we expect
#define PSL_MAX_RULE_BYTES 253   // a DNS name

enum { F_PLAIN = 1, F_WILDCARD = 2, F_EXCEPTION = 4 };

typedef struct entry {
    uint64_t hash;               // 0 = empty slot
    uint32_t offset;             // key bytes in pool
    uint16_t len;
    uint8_t flags;
} entry;

struct bw_psl {
    entry *slots;
    size_t mask;
    char *pool;
    size_t pool_n, pool_cap;
    size_t rules;
};

// The hash of a suffix is built from its last byte towards its first, so one pass from
// the right of a host gives the hash of every suffix of it.
static inline uint64_t hash_step(uint64_t h, unsigned char c) { return (h ^ c) * 0x100000001b3ULL; }
#define HASH_INIT 0xcbf29ce484222325ULL

static uint64_t hash_reverse(const char *p, size_t n)
{
    uint64_t h = HASH_INIT;
    while (n > 0)
        h = hash_step(h, (unsigned char)p[--n]);
    return h ? h : 1;
}

static const entry *find(const bw_psl *t, const char *p, size_t n, uint64_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const entry *e = &t->slots[i];
        if (!e->hash)
            return NULL;
        if (e->hash == h && e->len == n && !memcmp(t->pool + e->offset, p, n))
            return e;
    }
}

static bool add(bw_psl *t, const char *p, size_t n, uint8_t flags)
{
    if (n == 0 || n > PSL_MAX_RULE_BYTES)
        return true;   // not a name: skipped like libpsl skips what it cannot store
    uint64_t h = hash_reverse(p, n);
    entry *e = (entry *)find(t, p, n, h);
    if (e) {
        e->flags |= flags;   // "foo.bar" and "*.foo.bar" share one entry, as in libpsl
        return true;
    }
    if (t->rules >= PSL_MAX_RULES || (t->rules + 1) * 2 > t->mask + 1)
        return false;
    if (t->pool_n + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap * 2 : 65536;
        while (cap < t->pool_n + n)
            cap *= 2;
        char *bigger = realloc(t->pool, cap);
        if (!bigger)
            return false;
        t->pool = bigger;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_n, p, n);
    size_t i = h & t->mask;
    while (t->slots[i].hash)
        i = (i + 1) & t->mask;
    t->slots[i] = (entry){ h, (uint32_t)t->pool_n, (uint16_t)n, flags };
    t->pool_n += n;
    t->rules++;
    return true;
}

static bool is_ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return false;
    return true;
}

// One line of the list: "rule", "*.rule", "!rule"; comments and blank lines give nothing.
static bool add_line(bw_psl *t, char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line || *line == '\n' || *line == '\r' || (line[0] == '/' && line[1] == '/'))
        return true;
    char *end = line;
    while (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
        end++;
    *end = '\0';
    uint8_t flags;
    if (*line == '!') {
        line++;
        flags = F_EXCEPTION;
    } else if (*line == '*') {
        if (line[1] != '.')
            return true;   // "*foo": not a rule libpsl supports either
        line += 2;
        flags = F_WILDCARD | F_PLAIN;
    } else {
        if (!strchr(line, '.'))
            return true;   // a TLD: the implicit "*" rule already makes it public
        flags = F_PLAIN;
    }
    size_t n = strlen(line);
    if (is_ascii(line, n))
        return add(t, line, n, flags);
    // Hosts arrive as A-labels; the U-label form would never be looked up.
    char *ascii = NULL;
    bool ok = true;
    if (idn2_lookup_u8((const uint8_t *)line, (uint8_t **)&ascii, 0) == IDN2_OK && ascii)
        ok = add(t, ascii, strlen(ascii), flags);
    idn2_free(ascii);
    return ok;
}

static void psl_free(bw_psl *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->pool);
    free(t);
}

bw_psl *bw_psl_load(const char *path)
{
    FILE *f = fopen(path ? path : PSL_FILE, "r");
    if (!f)
        return NULL;
    bw_psl *t = calloc(1, sizeof *t);
    if (t) {
        t->mask = 32768 - 1;   // 2^15 slots for up to 16k rules; grows below if needed
        t->slots = calloc(t->mask + 1, sizeof *t->slots);
    }
    char line[512];
    bool ok = t && t->slots;
    while (ok && fgets(line, sizeof line, f)) {
        if (!add_line(t, line)) {
            // Full: rebuild at twice the size from the start of the file.
            if (t->mask + 1 >= 2 * (size_t)PSL_MAX_RULES) {
                ok = false;
                break;
            }
            size_t slots = (t->mask + 1) * 2;
            free(t->slots);
            t->slots = calloc(slots, sizeof *t->slots);
            t->mask = slots - 1;
            t->pool_n = t->rules = 0;
            ok = t->slots != NULL;
            rewind(f);
        }
    }
    ok = ok && !ferror(f) && t->rules > 0;
    fclose(f);
    if (!ok) {
        psl_free(t);
        return NULL;
    }
    return t;
}

void bw_psl_free(bw_psl *t) { psl_free(t); }

size_t bw_psl_rule_count(const bw_psl *t) { return t ? t->rules : 0; }

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static bw_psl *shared_table;

static void load_shared(void) { shared_table = bw_psl_load(NULL); }

const bw_psl *bw_psl_shared(void)
{
    pthread_once(&shared_once, load_shared);
    return shared_table;
}

// Public per libpsl's rules (see the top of this file). suffix_hash[i] is the hash of
// host[i..n).
static bool is_public(const bw_psl *t, const char *host, size_t n, size_t at, const uint64_t *suffix_hash)
{
    const char *dot = memchr(host + at, '.', n - at);
    if (!dot)
        return true;   // one label
    const entry *e = find(t, host + at, n - at, suffix_hash[at]);
    if (e)
        return !(e->flags & F_EXCEPTION);
    size_t parent = (size_t)(dot - host) + 1;
    e = find(t, host + parent, n - parent, suffix_hash[parent]);
    return e && (e->flags & F_WILDCARD);
}

long bw_psl_registrable(const bw_psl *t, const char *host, size_t n)
{
    // Only well-formed names are answered here: libpsl versions differ on empty labels
    // (a trailing dot is ignored by some), so those go to the installed libpsl.
    if (!t || n == 0 || n > BW_PSL_MAX_HOST || host[0] == '.' || host[n - 1] == '.')
        return BW_PSL_ASK_LIBPSL;
    uint64_t suffix_hash[BW_PSL_MAX_HOST + 1];
    uint64_t h = HASH_INIT;
    suffix_hash[n] = 1;   // the empty suffix: never stored
    for (size_t i = n; i > 0; i--) {
        unsigned char c = (unsigned char)host[i - 1];
        if (c >= 0x80 || c == 0 || (c == '.' && host[i] == '.'))
            return BW_PSL_ASK_LIBPSL;   // UTF-8 (libpsl converts it), a NUL, an empty label
        h = hash_step(h, c);
        suffix_hash[i - 1] = h ? h : 1;
    }
    // Walk from the left: the first public suffix ends the walk, and the suffix before it
    // is the registrable domain.
    long regdom = BW_PSL_NONE;
    size_t at = 0;
    for (;;) {
        if (is_public(t, host, n, at, suffix_hash))
            return regdom;
        const char *dot = memchr(host + at, '.', n - at);
        if (!dot)
            return regdom;
        regdom = (long)at;
        at = (size_t)(dot - host) + 1;
    }
}
