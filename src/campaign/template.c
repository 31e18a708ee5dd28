// SPDX-License-Identifier: MIT
// Judo-style template inference (Pitsillidis et al., NDSS 2010): the token sequence every
// member of a campaign shares, in order, with the places where members differ marked "<*>".
// Members are aligned progressively: the template so far against the next member by a
// longest common subsequence; tokens outside the common subsequence collapse into one slot
// per run. Run when a campaign's row is written (eviction, end of an ingest run) or it is
// shown.
//
// The LCS table is computed bit-parallel (Allison & Dix 1986, in Hyyrö's 2004 form): one
// row of the table is a bit vector over the member's tokens whose set bits mark where the
// LCS length steps up, and the next row is two word operations per 64 tokens. The
// traceback reads table values as popcounts of those rows and walks exactly as the plain
// quadratic table did, so the template is the same token for token (test_template_lcs
// checks this against the plain table on random and real inputs).
#include <stdlib.h>
#include <string.h>

#include "campaign_internal.h"

typedef struct tok {
    const char *p;
    size_t n;
    uint64_t h;             // FNV-1a of the bytes: most comparisons end here
    bool slot;
} tok;

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

static size_t split(bw_slice s, tok *out, size_t max)
{
    size_t count = 0, i = 0;
    while (i < s.n && count < max) {
        while (i < s.n && s.p[i] == ' ')
            i++;
        size_t start = i;
        while (i < s.n && s.p[i] != ' ')
            i++;
        if (i > start)
            out[count++] = (tok){ s.p + start, i - start, fnv(s.p + start, i - start), false };
    }
    return count;
}

static bool same(const tok *a, const tok *b)
{
    return !a->slot && !b->slot && a->h == b->h && a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

// Scratch of one inference: the bit rows of the LCS table, and the member's distinct tokens
// (an open-addressed table by hash) with the bit vector of the positions each occurs at.
typedef struct lcs_space {
    uint64_t *rows;          // (an + 1) rows of `words` words
    size_t rows_cap;
    uint64_t *match;         // one vector of `words` words per distinct member token
    size_t match_cap;
    uint32_t *slots;         // hash table: distinct token index + 1, 0 = empty
    size_t slots_cap;
    uint32_t *rep;           // distinct token -> a member position holding it
    size_t rep_cap;
} lcs_space;

static int reserve(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    void *np = realloc(*p, need * size);
    if (!np)
        return -1;
    *p = np;
    *cap = need;
    return 0;
}

// LCS length of a[i..] and b[j..] from row an - i (bits [0, bn - j) count: the member is
// processed reversed, so bit q stands for member token bn - 1 - q).
static unsigned table_value(const uint64_t *row, size_t bits)
{
    unsigned v = 0;
    size_t w = 0;
    for (; (w + 1) * 64 <= bits; w++)
        v += (unsigned)__builtin_popcountll(row[w]);
    if (bits % 64)
        v += (unsigned)__builtin_popcountll(row[w] & ((UINT64_C(1) << (bits % 64)) - 1));
    return v;
}

// Aligns a (an tokens) with b (bn tokens), appending to next from *nn: matched tokens, and
// one slot per run of tokens outside the common subsequence. -1 on no memory.
static int align(lcs_space *sp, const tok *a, size_t an, const tok *b, size_t bn, tok *next, size_t *nn,
                 size_t next_max)
{
    const uint64_t *rows = NULL;
    size_t words = (bn + 63) / 64;
    if (an && bn) {
        // Distinct member tokens, each with the (reversed) positions it occurs at.
        size_t cap = 16;
        while (cap < bn * 2)
            cap *= 2;
        if (reserve((void **)&sp->slots, &sp->slots_cap, cap, sizeof *sp->slots) ||
            reserve((void **)&sp->rep, &sp->rep_cap, bn, sizeof *sp->rep) ||
            reserve((void **)&sp->match, &sp->match_cap, bn * words, sizeof *sp->match) ||
            reserve((void **)&sp->rows, &sp->rows_cap, (an + 1) * words, sizeof *sp->rows))
            return -1;
        memset(sp->slots, 0, cap * sizeof *sp->slots);
        size_t mask = cap - 1, distinct = 0;
        for (size_t j = 0; j < bn; j++) {
            size_t k = b[j].h & mask;
            uint32_t d;
            for (;;) {
                d = sp->slots[k];
                if (!d) {
                    d = (uint32_t)++distinct;
                    sp->slots[k] = d;
                    sp->rep[d - 1] = (uint32_t)j;
                    memset(sp->match + (d - 1) * words, 0, words * sizeof *sp->match);
                    break;
                }
                if (same(&b[sp->rep[d - 1]], &b[j]))
                    break;
                k = (k + 1) & mask;
            }
            size_t q = bn - 1 - j;
            sp->match[(d - 1) * words + q / 64] |= UINT64_C(1) << (q % 64);
        }
        // Row p (p tokens of a from its end, i.e. i = an - p): V starts all ones; then
        // V' = (V + (V & M)) | (V & ~M) for the match vector M of a[i]. The stored row is
        // ~V: a set bit q marks where LCS(a[i..], the last q + 1 member tokens) steps up.
        uint64_t *r = sp->rows;
        memset(r, 0, words * sizeof *r);
        for (size_t p = 1; p <= an; p++) {
            const tok *t = &a[an - p];
            const uint64_t *m = NULL;
            if (!t->slot) {
                for (size_t k = t->h & mask; sp->slots[k]; k = (k + 1) & mask)
                    if (same(&b[sp->rep[sp->slots[k] - 1]], t)) {
                        m = sp->match + (sp->slots[k] - 1) * words;
                        break;
                    }
            }
            const uint64_t *prev = r + (p - 1) * words;
            uint64_t *cur = r + p * words;
            if (!m) {
                memcpy(cur, prev, words * sizeof *cur);
                continue;
            }
            unsigned carry = 0;
            for (size_t w = 0; w < words; w++) {
                uint64_t v = ~prev[w], u = v & m[w];
                uint64_t sum = v + u;
                unsigned c1 = sum < v;
                uint64_t sum2 = sum + carry;
                unsigned c2 = sum2 < sum;
                carry = c1 | c2;
                cur[w] = ~(sum2 | (v & ~m[w]));
            }
        }
        rows = r;
    }
    size_t i = 0, j = 0, out = *nn;
    bool gap = false;
    while (i < an || j < bn) {
        if (i < an && j < bn && same(&a[i], &b[j])) {
            next[out++] = a[i];
            i++, j++;
            gap = false;
            continue;
        }
        // dp[i + 1][j] >= dp[i][j + 1], read from rows an - i - 1 and an - i.
        if (i < an && (j == bn || table_value(rows + (an - i - 1) * words, bn - j) >=
                                      table_value(rows + (an - i) * words, bn - j - 1)))
            i++;
        else
            j++;
        if (!gap && out < next_max) {
            next[out++] = (tok){ "<*>", 3, 0, true };
            gap = true;
        }
    }
    *nn = out;
    return 0;
}

static bw_status emit(const tok *t, size_t n, bw_buf *out)
{
    size_t len = n ? n - 1 : 0;
    for (size_t i = 0; i < n; i++)
        len += t[i].n;
    if (bw_buf_reserve(out, len + 1) != 0)
        return BW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && bw_buf_append_char(out, ' ') != 0)
            return BW_ERR_NOMEM;
        if (bw_buf_append(out, t[i].p, t[i].n) != 0)
            return BW_ERR_NOMEM;
    }
    return BW_OK;
}

// One member: its first max_tokens tokens, one space between. A prepared text (single
// spaces, no leading or trailing one) within the cap is copied whole.
static bw_status emit_one(bw_slice s, size_t max_tokens, bw_buf *out)
{
    bool clean = s.n == 0 || (s.p[0] != ' ' && s.p[s.n - 1] != ' ');
    size_t tokens = s.n ? 1 : 0;
    for (const char *p = s.p, *end = s.p + s.n; clean && p && (p = memchr(p, ' ', (size_t)(end - p))); p++) {
        if (p[1] == ' ' || ++tokens > max_tokens)
            clean = false;
    }
    if (clean)
        return s.n && bw_buf_append(out, s.p, s.n) != 0 ? BW_ERR_NOMEM : BW_OK;
    size_t i = 0, count = 0;
    while (i < s.n && count < max_tokens) {
        while (i < s.n && s.p[i] == ' ')
            i++;
        size_t start = i;
        while (i < s.n && s.p[i] != ' ')
            i++;
        if (i == start)
            break;
        if ((count++ && bw_buf_append_char(out, ' ') != 0) || bw_buf_append(out, s.p + start, i - start) != 0)
            return BW_ERR_NOMEM;
    }
    return BW_OK;
}

// Members of one template mostly agree: the common prefix is matched directly (the
// alignment below matches equal tokens first, so this gives the same template), and the
// LCS table covers only the rest.
bw_status bw_campaign_infer_template(const bw_slice *members, size_t count, size_t max_tokens, bw_buf *out)
{
    if (count == 0 || max_tokens == 0)
        return BW_OK;
    if (max_tokens > 4096)
        max_tokens = 4096;   // bounds the scratch whatever the caller asks
    if (count == 1)
        return emit_one(members[0], max_tokens, out);
    tok *tmpl = malloc(sizeof *tmpl * max_tokens * 2);
    tok *next = malloc(sizeof *next * max_tokens * 2);
    tok *member = malloc(sizeof *member * max_tokens);
    if (!tmpl || !next || !member) {
        free(tmpl), free(next), free(member);
        return BW_ERR_NOMEM;
    }
    lcs_space sp = { 0 };
    bw_status status = BW_OK;
    size_t tn = split(members[0], tmpl, max_tokens);
    for (size_t m = 1; m < count; m++) {
        size_t mn = split(members[m], member, max_tokens);
        size_t prefix = 0;
        while (prefix < tn && prefix < mn && same(&tmpl[prefix], &member[prefix]))
            prefix++;
        memcpy(next, tmpl, prefix * sizeof *next);
        size_t nn = prefix;
        if (align(&sp, tmpl + prefix, tn - prefix, member + prefix, mn - prefix, next, &nn, max_tokens * 2) != 0) {
            status = BW_ERR_NOMEM;
            break;
        }
        tok *swap = tmpl;
        tmpl = next;
        next = swap;
        tn = nn < max_tokens ? nn : max_tokens;
    }
    if (status == BW_OK)
        status = emit(tmpl, tn, out);
    free(tmpl), free(next), free(member);
    free(sp.rows), free(sp.match), free(sp.slots), free(sp.rep);
    return status;
}
