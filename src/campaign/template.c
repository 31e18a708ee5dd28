// SPDX-License-Identifier: MIT
// Judo-style template inference (Pitsillidis et al., NDSS 2010): the token sequence every
// member of a campaign shares, in order, with the places where members differ marked "<*>".
// Members are aligned progressively: the template so far against the next member by a
// longest common subsequence; tokens outside the common subsequence collapse into one slot
// per run. Quadratic in the tokens after the members' common prefix; run when a campaign's
// row is written (eviction, end of an ingest run) or it is shown.
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

// Members of one template mostly agree: the common prefix is matched directly (the
// alignment below matches equal tokens first, so this gives the same template), and the
// LCS table covers only the rest, allocated to its size. On bench/ingest this took the
// end-of-run campaign rows from ~8 s to well under a second.
bw_status bw_campaign_infer_template(const bw_slice *members, size_t count, size_t max_tokens, bw_buf *out)
{
    if (count == 0 || max_tokens == 0)
        return BW_OK;
    if (max_tokens > 4096)
        max_tokens = 4096;   // keeps the DP table under 34 MB whatever the caller asks
    tok *tmpl = malloc(sizeof *tmpl * max_tokens * 2);
    tok *next = malloc(sizeof *next * max_tokens * 2);
    tok *member = malloc(sizeof *member * max_tokens);
    uint64_t *bh = malloc(sizeof *bh * max_tokens);
    uint16_t *dp = NULL;
    size_t dp_cap = 0;
    if (!tmpl || !next || !member || !bh) {
        free(tmpl), free(next), free(member), free(bh);
        return BW_ERR_NOMEM;
    }
    bw_status status = BW_OK;
    size_t tn = split(members[0], tmpl, max_tokens);
    for (size_t m = 1; m < count; m++) {
        size_t mn = split(members[m], member, max_tokens);
        size_t prefix = 0;
        while (prefix < tn && prefix < mn && same(&tmpl[prefix], &member[prefix]))
            prefix++;
        memcpy(next, tmpl, prefix * sizeof *next);
        size_t nn = prefix;
        const tok *a = tmpl + prefix, *b = member + prefix;
        size_t an = tn - prefix, bn = mn - prefix;
        if (an || bn) {
            size_t stride = bn + 1, cells = (an + 1) * stride;
            if (cells > dp_cap) {
                uint16_t *grown = realloc(dp, cells * sizeof *dp);
                if (!grown) {
                    status = BW_ERR_NOMEM;
                    break;
                }
                dp = grown;
                dp_cap = cells;
            }
            // dp[i][j] = LCS length of a[i..] and b[j..]. The member's token hashes are
            // copied to one dense array, so a cell compares two words and only a hash
            // match (a real match, nearly always) looks at the tokens themselves.
            for (size_t j = 0; j < bn; j++)
                bh[j] = b[j].h;
            for (size_t j = 0; j <= bn; j++)
                dp[an * stride + j] = 0;
            for (size_t i = an; i-- > 0;) {
                uint16_t *row = dp + i * stride, *below = dp + (i + 1) * stride;
                const tok *ai = &a[i];
                uint64_t ah = ai->h;
                row[bn] = 0;
                for (size_t j = bn; j-- > 0;) {
                    uint16_t v;
                    if (bh[j] == ah && same(ai, &b[j]))
                        v = (uint16_t)(below[j + 1] + 1);
                    else {
                        uint16_t down = below[j], right = row[j + 1];
                        v = down > right ? down : right;
                    }
                    row[j] = v;
                }
            }
            size_t i = 0, j = 0;
            bool gap = false;
            while (i < an || j < bn) {
                if (i < an && j < bn && same(&a[i], &b[j])) {
                    next[nn++] = a[i];
                    i++, j++;
                    gap = false;
                    continue;
                }
                if (i < an && (j == bn || dp[(i + 1) * stride + j] >= dp[i * stride + j + 1]))
                    i++;
                else
                    j++;
                if (!gap && nn < max_tokens * 2) {
                    next[nn++] = (tok){ "<*>", 3, 0, true };
                    gap = true;
                }
            }
        }
        tok *swap = tmpl;
        tmpl = next;
        next = swap;
        tn = nn < max_tokens ? nn : max_tokens;
    }
    for (size_t i = 0; i < tn && status == BW_OK; i++)
        if ((i > 0 && bw_buf_append_char(out, ' ') != 0) || bw_buf_append(out, tmpl[i].p, tmpl[i].n) != 0)
            status = BW_ERR_NOMEM;
    free(tmpl), free(next), free(member), free(bh), free(dp);
    return status;
}
