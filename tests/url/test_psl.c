// SPDX-License-Identifier: MIT
// src/url/psl.c against libpsl, its oracle: the same registrable domain (or none) for every
// rule of the Public Suffix List with labels added in front of it, for exceptions and
// wildcards and their parents, and for random hosts built from list labels with the
// malformed shapes URLs carry (empty labels, leading and trailing dots, one label).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psl_internal.h"

#define LIST "/usr/share/publicsuffix/public_suffix_list.dat"

typedef struct fixture {
    const bw_psl *table;
    psl_ctx_t *oracle;
    size_t checked, with_domain, without;
} fixture;

static void check(fixture *f, const char *host)
{
    size_t n = strlen(host);
    if (n > BW_PSL_MAX_HOST)
        return;
    long ours = bw_psl_registrable(f->table, host, n);
    const char *theirs = psl_registrable_domain(f->oracle, host);
    if (ours == BW_PSL_ASK_LIBPSL)
        return;   // answered by libpsl itself in src/url
    long want = theirs ? (long)(theirs - host) : BW_PSL_NONE;
    if (ours != want)
        fail_msg("host '%s': table says %s, libpsl says %s", host, ours >= 0 ? host + ours : "(none)",
                 theirs ? theirs : "(none)");
    f->checked++;
    if (ours >= 0)
        f->with_domain++;
    else
        f->without++;
}

static void check_prefixed(fixture *f, const char *suffix)
{
    static const char *const prefixes[] = { "", "x.", "www.y.", "a.b.c.", ".", "..", "z..", "q-1." };
    char host[600];
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(host, sizeof host, "%s%s", prefixes[i], suffix);
        check(f, host);
        snprintf(host, sizeof host, "%s%s.", prefixes[i], suffix);   // trailing dot
        check(f, host);
    }
}

static void test_every_rule(void **state)
{
    (void)state;
    fixture f = { bw_psl_shared(), psl_latest(NULL), 0, 0, 0 };
    assert_non_null(f.table);   // the publicsuffix package (scripts/install-deps.sh)
    assert_non_null(f.oracle);
    FILE *in = fopen(LIST, "r");
    assert_non_null(in);
    char line[512];
    size_t rules = 0;
    while (fgets(line, sizeof line, in)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '\n' || (p[0] == '/' && p[1] == '/'))
            continue;
        p[strcspn(p, " \t\r\n")] = '\0';
        if (*p == '!' || *p == '*')
            p += *p == '!' ? 1 : (p[1] == '.' ? 2 : 1);
        char *ascii = NULL;
        if (idn2_lookup_u8((const uint8_t *)p, (uint8_t **)&ascii, 0) == IDN2_OK && ascii) {
            check_prefixed(&f, ascii);
            const char *dot = strchr(ascii, '.');
            if (dot)
                check_prefixed(&f, dot + 1);   // the parent of each rule
        }
        idn2_free(ascii);
        rules++;
    }
    fclose(in);
    print_message("%zu list lines, %zu rules in the table, %zu hosts agree with libpsl (%zu with a registrable "
                  "domain, %zu without)\n",
                  rules, bw_psl_rule_count(f.table), f.checked, f.with_domain, f.without);
    assert_true(rules > 5000);
    assert_true(f.with_domain > 10000 && f.without > 5000);   // both answers are exercised
    psl_free(f.oracle);
}

static void test_random_hosts(void **state)
{
    (void)state;
    fixture f = { bw_psl_shared(), psl_latest(NULL), 0, 0, 0 };
    assert_non_null(f.table);
    static const char *const labels[] = { "com", "uk", "co", "ck", "www", "jp", "kawasaki", "city", "bd", "er",
                                          "blogspot", "github", "io", "example", "s3", "amazonaws", "compute",
                                          "xn--55qx5d", "cn", "", "a", "mm", "kobe", "pvt", "k12", "ak", "us" };
    uint64_t seed = 42;
    char host[300];
    for (int round = 0; round < 200000; round++) {
        size_t n = 0;
        int count = 1 + (int)(seed >> 60) % 6;
        for (int k = 0; k < count; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *label = labels[(seed >> 33) % (sizeof labels / sizeof labels[0])];
            size_t len = strlen(label);
            if (k > 0)
                host[n++] = '.';
            memcpy(host + n, label, len);
            n += len;
        }
        host[n] = '\0';
        check(&f, host);
    }
    print_message("%zu random hosts agree with libpsl\n", f.checked);
    assert_true(f.checked > 150000);
    // Not for the table: libpsl answers these in src/url.
    assert_int_equal(bw_psl_registrable(f.table, "b\xc3\xbc" "cher.de", 9), BW_PSL_ASK_LIBPSL);
    assert_int_equal(bw_psl_registrable(NULL, "example.com", 11), BW_PSL_ASK_LIBPSL);
    assert_int_equal(bw_psl_registrable(f.table, "example.com.", 12), BW_PSL_ASK_LIBPSL);
    assert_int_equal(bw_psl_registrable(f.table, "a..example.com", 14), BW_PSL_ASK_LIBPSL);
    assert_int_equal(bw_psl_registrable(f.table, "www.example.co.uk", 17), 4);
    assert_int_equal(bw_psl_registrable(f.table, "co.uk", 5), BW_PSL_NONE);
    psl_free(f.oracle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rule),
        cmocka_unit_test(test_random_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
