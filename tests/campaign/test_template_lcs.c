// SPDX-License-Identifier: MIT
// Template inference computes its LCS table bit-parallel; this checks it against the plain
// quadratic table it replaced (kept here as the reference, with the same traceback), on
// random token streams over small vocabularies (many ties, repeated tokens, slots from
// progressive alignment), on lengths around the 64-token word boundaries and the token cap,
// and on irregular spacing. The templates must be identical byte for byte.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/campaign.h"

// ---- reference: the plain O(n*m) table (botwatch before the bit-parallel table) ----------

typedef struct rtok {
    const char *p;
    size_t n;
    bool slot;
} rtok;

static size_t ref_split(bw_slice s, rtok *out, size_t max)
{
    size_t count = 0, i = 0;
    while (i < s.n && count < max) {
        while (i < s.n && s.p[i] == ' ')
            i++;
        size_t start = i;
        while (i < s.n && s.p[i] != ' ')
            i++;
        if (i > start)
            out[count++] = (rtok){ s.p + start, i - start, false };
    }
    return count;
}

static bool ref_same(const rtok *a, const rtok *b)
{
    return !a->slot && !b->slot && a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

static void ref_template(const bw_slice *members, size_t count, size_t max_tokens, bw_buf *out)
{
    if (count == 0 || max_tokens == 0)
        return;
    rtok *tmpl = malloc(sizeof *tmpl * max_tokens * 2), *next = malloc(sizeof *next * max_tokens * 2);
    rtok *member = malloc(sizeof *member * max_tokens);
    unsigned *dp = malloc(sizeof *dp * (max_tokens + 1) * (max_tokens + 1));
    assert_non_null(tmpl);
    assert_non_null(next);
    assert_non_null(member);
    assert_non_null(dp);
    size_t tn = ref_split(members[0], tmpl, max_tokens);
    for (size_t m = 1; m < count; m++) {
        size_t mn = ref_split(members[m], member, max_tokens);
        size_t nn = 0, stride = mn + 1;
        for (size_t j = 0; j <= mn; j++)
            dp[tn * stride + j] = 0;
        for (size_t i = tn; i-- > 0;) {
            dp[i * stride + mn] = 0;
            for (size_t j = mn; j-- > 0;) {
                unsigned down = dp[(i + 1) * stride + j], right = dp[i * stride + j + 1];
                dp[i * stride + j] = ref_same(&tmpl[i], &member[j]) ? dp[(i + 1) * stride + j + 1] + 1
                                     : down > right                  ? down
                                                                     : right;
            }
        }
        size_t i = 0, j = 0;
        bool gap = false;
        while (i < tn || j < mn) {
            if (i < tn && j < mn && ref_same(&tmpl[i], &member[j])) {
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
                next[nn++] = (rtok){ "<*>", 3, true };
                gap = true;
            }
        }
        rtok *swap = tmpl;
        tmpl = next;
        next = swap;
        tn = nn < max_tokens ? nn : max_tokens;
    }
    for (size_t i = 0; i < tn; i++) {
        if (i)
            assert_int_equal(bw_buf_append_char(out, ' '), 0);
        assert_int_equal(bw_buf_append(out, tmpl[i].p, tmpl[i].n), 0);
    }
    free(tmpl), free(next), free(member), free(dp);
}

// ---- helpers ---------------------------------------------------------------------------

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *const WORDS[] = { "buy", "cheap", "<num>", "<url:dom>", "viagra", "now", "at", "only",
                                     "dollars", "<rcpt>", "the", "a", "of", "to", "and", "in", "for", "you",
                                     "is", "on", "with", "your", "this", "it", "we", "are", "get", "free" };

// A member: a base text with each token kept, replaced or followed by an insertion at random.
static void make_member(bw_buf *b, const unsigned *base, size_t n, unsigned vocab, unsigned change_pct)
{
    bw_buf_clear(b);
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(rnd() % 100);
        unsigned w = base[i];
        if (r < change_pct / 2)
            continue;   // dropped
        if (r < change_pct)
            w = (unsigned)(rnd() % vocab);
        if (count++)
            bw_buf_append_char(b, ' ');
        bw_buf_append_cstr(b, WORDS[w]);
        if (rnd() % 100 < change_pct / 3) {
            bw_buf_append_char(b, ' ');
            bw_buf_append_cstr(b, WORDS[rnd() % vocab]);
            count++;
        }
    }
}

static void check(const bw_slice *members, size_t count, size_t max_tokens)
{
    bw_buf want = BW_BUF_INIT, got = BW_BUF_INIT;
    ref_template(members, count, max_tokens, &want);
    assert_int_equal(bw_campaign_infer_template(members, count, max_tokens, &got), BW_OK);
    if (want.n != got.n || (want.n && memcmp(want.p, got.p, want.n) != 0)) {
        print_message("members %zu, max_tokens %zu\nwant: %.*s\ngot:  %.*s\n", count, max_tokens, (int)want.n,
                      want.p ? want.p : "", (int)got.n, got.p ? got.p : "");
        fail();
    }
    bw_buf_free(&want);
    bw_buf_free(&got);
}

// ---- tests -----------------------------------------------------------------------------

static void test_random_against_reference(void **state)
{
    (void)state;
    static const size_t lengths[] = { 1, 2, 5, 17, 63, 64, 65, 100, 127, 128, 129, 200, 255, 256, 300 };
    static const unsigned vocabs[] = { 2, 3, 6, 28 };
    static const unsigned changes[] = { 5, 20, 50, 90 };
    bw_buf texts[8];
    for (int i = 0; i < 8; i++)
        texts[i] = BW_BUF_INIT;
    unsigned base[400];
    size_t cases = 0;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
        for (size_t vi = 0; vi < sizeof vocabs / sizeof vocabs[0]; vi++)
            for (size_t ci = 0; ci < sizeof changes / sizeof changes[0]; ci++)
                for (int round = 0; round < 3; round++) {
                    size_t n = lengths[li];
                    for (size_t i = 0; i < n; i++)
                        base[i] = (unsigned)(rnd() % vocabs[vi]);
                    size_t count = 2 + (size_t)(rnd() % 7);
                    bw_slice members[8];
                    for (size_t m = 0; m < count; m++) {
                        make_member(&texts[m], base, n, vocabs[vi], changes[ci]);
                        members[m] = bw_buf_slice(&texts[m]);
                    }
                    check(members, count, 256);
                    check(members, count, 64);
                    check(members, count, 7);
                    check(members, 1, 256);
                    check(members, 1, 3);
                    cases++;
                }
    print_message("%zu random member sets, each at 5 token caps, identical to the plain LCS table\n", cases);
    for (int i = 0; i < 8; i++)
        bw_buf_free(&texts[i]);
}

static void test_edges(void **state)
{
    (void)state;
    static const char *sets[][4] = {
        { "a b c", "", "a b c", NULL },
        { "", "a b", "", NULL },
        { "  a   b  ", " a  c ", "b", NULL },            // irregular spacing
        { "x z", "z y z", NULL, NULL },
        { "y z", "z y z", NULL, NULL },
        { "a a a a", "a", "a a", NULL },
        { "<*> a", "<*> b", "a <*>", NULL },             // a literal "<*>" token is not a slot
        { "p q r s", "s r q p", "q s p r", "r p s q" },
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        bw_slice members[4];
        size_t count = 0;
        while (count < 4 && sets[s][count])
            members[count] = bw_slice_cstr(sets[s][count]), count++;
        for (size_t c = 1; c <= count; c++) {
            check(members, c, 256);
            check(members, c, 2);
            check(members, c, 1);
        }
    }
    // Long members (5,000 tokens, cut at the cap), differing every 7th token.
    bw_buf a = BW_BUF_INIT, b = BW_BUF_INIT;
    for (int i = 0; i < 5000; i++) {
        bw_buf_printf(&a, "%sw%d", i ? " " : "", i % 50);
        bw_buf_printf(&b, "%sw%d", i ? " " : "", i % 7 ? i % 50 : 99);
    }
    bw_slice long_members[2] = { bw_buf_slice(&a), bw_buf_slice(&b) };
    check(long_members, 2, 2000);
    check(long_members, 2, 1000);
    bw_buf_free(&a);
    bw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
