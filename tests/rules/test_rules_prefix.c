// SPDX-License-Identifier: MIT
// The matcher skips Hyperscan for a value that cannot start like any of its stream's
// anchored patterns (rules_match.c, anchored_prefix), and evaluates the cheaper side of
// and/or first, scanning a stream only when a rule reaches it. Neither may change a
// result: here patterns chosen to trip a prefix reader (alternatives, optional and
// repeated atoms, classes, escapes, case, inline options) run on many random header
// values with Hyperscan and with PCRE2 only (which never skips), and the labels must agree.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/rules.h"

static const char *const PATTERNS[] = {
    "/^from \\d{1,3}\\./",
    "/^abc/",
    "/^ab|c/",
    "/^(a|b)c/",
    "/^(?:a|b)c/",
    "/^[0-9a-f]{4}x/i",
    "/^a?b/",
    "/^a*b/",
    "/^a+b/",
    "/^a{0,2}b/",
    "/^a{2}b/",
    "/^.b/",
    "/^\\sb/",
    "/^[^a]b/",
    "/^[]a]b/",
    "/^[a-]b/",
    "/^[+-]\\d/",
    "/^\\$x/",
    "/^(?i)abc/",
    "/^ABC/i",
    "/^x\\Qa|\\E/",
    "/^a(?#x)|b/",
    "/^ab$/",
    "/^a\\b/",
    "/^a\\Sb/",
    "/^a/m",
    "/^[[:alpha:]]b/",
    "/^\\x41b/",
    "/^a{1x/",
    "/^a.c/s",
    "/^(a)\\1/",
    "/^\\]a/",
    "/^[\\]a]b/",
    "/^[\\d.]+x/",
    "/^Ab-c/i",
};
#define NPAT (sizeof PATTERNS / sizeof PATTERNS[0])

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void random_value(char *out, size_t cap)
{
    static const char alphabet[] = "aabbcAxX12.$-]+ fromABC";
    size_t n = 1 + rnd(7);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rnd(sizeof alphabet - 1)];
    out[n] = '\0';
    if (rnd(4) == 0)
        memcpy(out, "from 1.", n < 7 ? n : 7);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';   // a field value keeps no trailing blanks
}

static void test_prefix_filter_agrees_with_pcre2(void **state)
{
    (void)state;
    // One stream per pattern (header X-Tk), and one stream holding two anchored patterns
    // and one holding an anchored and an unanchored one (prefixes are per stream).
    bw_buf rules = BW_BUF_INIT;
    for (size_t k = 0; k < NPAT; k++)
        bw_buf_printf(&rules, "rule r%zu { label l%02zu family generic match header(X-T%zu) ~ %s }\n", k, k, k,
                      PATTERNS[k]);
    bw_buf_printf(&rules, "rule u1 { label u1 family generic match header(X-U) ~ /^abc/ }\n"
                          "rule u2 { label u2 family generic match header(X-U) ~ /^x\\d/i }\n"
                          "rule v1 { label v1 family generic match header(X-V) ~ /^abc/ and subject ~ /b/ }\n"
                          "rule v2 { label v2 family generic match header(X-V) ~ /bc/ or not has(X-U) }\n");
    bw_rules *r[2];
    bw_rules_scratch *s[2];
    for (int e = 0; e < 2; e++) {
        char errbuf[BW_ERRBUF_SIZE] = "";
        bw_rules_options opts = { e == 0 ? BW_RULES_ENGINE_AUTO : BW_RULES_ENGINE_PCRE2, NULL, NULL };
        bw_status st = bw_rules_compile_ex(rules.p, rules.n, "prefix.rules", &opts, &r[e], errbuf);
        if (st != BW_OK)
            print_message("%s\n", errbuf);
        assert_int_equal(st, BW_OK);
        s[e] = bw_rules_scratch_new(r[e]);
        assert_non_null(s[e]);
    }
    print_message("%zu of %zu patterns through PCRE2 with the default engine\n", bw_rules_pcre2_pattern_count(r[0]),
                  bw_rules_pattern_count(r[0]));
    char errbuf[BW_ERRBUF_SIZE];
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, errbuf);
    assert_non_null(parser);
    assert_non_null(analyzer);
    bw_buf msg = BW_BUF_INIT, got[2] = { BW_BUF_INIT, BW_BUF_INIT };
    size_t labelled = 0, messages = 3000;
    for (size_t m = 0; m < messages; m++) {
        bw_buf_clear(&msg);
        char v[16];
        for (size_t k = 0; k < NPAT; k++) {
            size_t values = rnd(3);   // 0, 1 or 2 fields
            for (size_t j = 0; j < values; j++) {
                random_value(v, sizeof v);
                bw_buf_printf(&msg, "X-T%zu: %s\r\n", k, v);
            }
        }
        if (rnd(2)) {
            random_value(v, sizeof v);
            bw_buf_printf(&msg, "X-U: %s\r\n", v);
        }
        random_value(v, sizeof v);
        bw_buf_printf(&msg, "X-V: %s\r\nSubject: %s\r\n", v, rnd(2) ? "abc" : "xyz");
        bw_buf_printf(&msg, "From: a@example.com\r\n\r\nbody\r\n");
        const bw_message *parsed;
        assert_int_equal(bw_mime_parse(parser, msg.p, msg.n, &parsed), BW_OK);
        bw_mail_record rec;
        assert_int_equal(bw_mail_analyze(analyzer, parsed, &rec), BW_OK);
        for (int e = 0; e < 2; e++) {
            bw_buf_clear(&got[e]);
            assert_int_equal(bw_rules_match_labels(r[e], s[e], &rec, &got[e]), BW_OK);
        }
        if (got[0].n != got[1].n || (got[0].n && memcmp(got[0].p, got[1].p, got[0].n) != 0)) {
            print_message("engines disagree on\n%s\nhyperscan: %.*s\npcre2:     %.*s\n", msg.p, (int)got[0].n,
                          got[0].p ? got[0].p : "", (int)got[1].n, got[1].p ? got[1].p : "");
            fail();
        }
        labelled += got[0].n > 0;
        bw_mime_parser_reset(parser);
    }
    print_message("%zu random messages, %zu labelled, identical labels with both engines\n", messages, labelled);
    assert_true(labelled > messages / 2);
    bw_buf_free(&msg);
    bw_buf_free(&got[0]);
    bw_buf_free(&got[1]);
    bw_buf_free(&rules);
    bw_mime_parser_free(parser);
    bw_mail_analyzer_free(analyzer);
    for (int e = 0; e < 2; e++) {
        bw_rules_scratch_free(s[e]);
        bw_rules_free(r[e]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_filter_agrees_with_pcre2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
