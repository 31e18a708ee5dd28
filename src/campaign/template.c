// SPDX-License-Identifier: MIT
// Judo-style template inference (Pitsillidis et al., NDSS 2010): the token sequence every
// member of a campaign shares, in order, with the places where members differ marked "<*>".
// Members are aligned progressively: the template so far against the next member by a
// longest common subsequence; tokens outside the common subsequence collapse into one slot
// per run. Quadratic in max_tokens per member, run only when a campaign is shown.
#include <stdlib.h>
#include <string.h>

#include "campaign_internal.h"

typedef struct tok {
    const char *p;
    size_t n;
    bool slot;
} tok;

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
            out[count++] = (tok){ s.p + start, i - start, false };
    }
    return count;
}

static bool same(const tok *a, const tok *b)
{
    return !a->slot && !b->slot && a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

bw_status bw_campaign_infer_template(const bw_slice *members, size_t count, size_t max_tokens, bw_buf *out)
{
    if (count == 0 || max_tokens == 0)
        return BW_OK;
    if (max_tokens > 4096)
        max_tokens = 4096;   // keeps the DP table under 34 MB whatever the caller asks
    size_t stride = max_tokens + 1;
    tok *tmpl = malloc(sizeof *tmpl * max_tokens * 2);
    tok *next = malloc(sizeof *next * max_tokens * 2);
    tok *member = malloc(sizeof *member * max_tokens);
    uint16_t *dp = malloc(sizeof *dp * stride * stride);
    if (!tmpl || !next || !member || !dp) {
        free(tmpl), free(next), free(member), free(dp);
        return BW_ERR_NOMEM;
    }
    size_t tn = split(members[0], tmpl, max_tokens);
    for (size_t m = 1; m < count; m++) {
        size_t mn = split(members[m], member, max_tokens);
        // dp[i][j] = LCS length of tmpl[i..] and member[j..]
        for (size_t i = tn + 1; i-- > 0;)
            for (size_t j = mn + 1; j-- > 0;) {
                uint16_t v;
                if (i == tn || j == mn)
                    v = 0;
                else if (same(&tmpl[i], &member[j]))
                    v = (uint16_t)(dp[(i + 1) * stride + j + 1] + 1);
                else {
                    uint16_t down = dp[(i + 1) * stride + j], right = dp[i * stride + j + 1];
                    v = down > right ? down : right;
                }
                dp[i * stride + j] = v;
            }
        size_t i = 0, j = 0, nn = 0;
        bool gap = false;
        while (i < tn || j < mn) {
            if (i < tn && j < mn && same(&tmpl[i], &member[j])) {
                next[nn++] = tmpl[i];
                i++, j++;
                gap = false;
                continue;
            }
            if (i < tn && (j == mn || dp[(i + 1) * stride + j] >= dp[i * stride + j + 1]))
                i++;
            else
                j++;
            if (!gap && nn < max_tokens * 2) {
                next[nn++] = (tok){ "<*>", 3, true };
                gap = true;
            }
        }
        tok *swap = tmpl;
        tmpl = next;
        next = swap;
        tn = nn < max_tokens ? nn : max_tokens;
    }
    bw_status status = BW_OK;
    for (size_t i = 0; i < tn && status == BW_OK; i++)
        if ((i > 0 && bw_buf_append_char(out, ' ') != 0) || bw_buf_append(out, tmpl[i].p, tmpl[i].n) != 0)
            status = BW_ERR_NOMEM;
    free(tmpl), free(next), free(member), free(dp);
    return status;
}
