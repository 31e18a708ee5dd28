// SPDX-License-Identifier: MIT
// Unit tests for bw_url: one table row per spam obfuscation and per boundary rule (where a
// URL ends in a sentence), with the normalised URL, host, registrable domain and flags
// expected; then HTML attribute values, deduplication and both limits.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "botwatch/error.h"
#include "botwatch/url.h"

typedef struct url_case {
    const char *text;
    const char *url;       // NULL: no URL expected
    const char *host;
    const char *domain;
    bool obfuscated;
    bool is_ip;
} url_case;

static const url_case cases[] = {
    // plain, and where a URL ends
    { "see http://www.Example.COM/Path?q=1 now", "http://www.example.com/Path?q=1", "www.example.com", "example.com", false, false },
    { "(http://example.com/a_(b))", "http://example.com/a_(b)", "example.com", "example.com", false, false },
    { "go to http://example.com/x.", "http://example.com/x", "example.com", "example.com", false, false },
    { "\"http://example.com/q?a=1&b=2\",", "http://example.com/q?a=1&b=2", "example.com", "example.com", false, false },
    { "<https://example.co.uk/>", "https://example.co.uk/", "example.co.uk", "example.co.uk", false, false },
    { "https://shop.example.co.uk:8080/x", "https://shop.example.co.uk:8080/x", "shop.example.co.uk", "example.co.uk", false, false },
    { "http://example.com", "http://example.com/", "example.com", "example.com", false, false },
    { "http://example.com\xe2\x80\x9d said", "http://example.com/", "example.com", "example.com", false, false },
    { "ftp://ftp.example.org/pub", "ftp://ftp.example.org/pub", "ftp.example.org", "example.org", false, false },
    { "http://www.example.com./", "http://www.example.com/", "www.example.com", "example.com", false, false },
    // obfuscations
    { "visit www.example.com today", "http://www.example.com/", "www.example.com", "example.com", true, false },
    { "WWW.Example.net/offer!", "http://www.example.net/offer", "www.example.net", "example.net", true, false },
    { "hxxp://evil.example.com/x", "http://evil.example.com/x", "evil.example.com", "example.com", true, false },
    { "hXXps://evil.example.com/", "https://evil.example.com/", "evil.example.com", "example.com", true, false },
    { "h**p://evil.example.com/", "http://evil.example.com/", "evil.example.com", "example.com", true, false },
    { "http:\\\\evil.example.com\\x", "http://evil.example.com\\x", "evil.example.com", "example.com", true, false },
    { "http://%77%77%77.example.com/", "http://www.example.com/", "www.example.com", "example.com", true, false },
    { "http://&#119;ww&#46;example&#x2e;com/", "http://www.example.com/", "www.example.com", "example.com", true, false },
    { "http://bank.com@evil.example/login", "http://bank.com@evil.example/login", "evil.example", "evil.example", true, false },
    { "http://user:pw@evil.example:81/", "http://user:pw@evil.example:81/", "evil.example", "evil.example", true, false },
    { "http://3232235777/", "http://192.168.1.1/", "192.168.1.1", "192.168.1.1", true, true },
    { "http://0xC0.0250.1.1/", "http://192.168.1.1/", "192.168.1.1", "192.168.1.1", true, true },
    { "http://0300.0250.0001.0001/", "http://192.168.1.1/", "192.168.1.1", "192.168.1.1", true, true },
    { "http://192.168.1/x", "http://192.168.0.1/x", "192.168.0.1", "192.168.0.1", true, true },
    { "http://203.0.113.9/", "http://203.0.113.9/", "203.0.113.9", "203.0.113.9", false, true },
    { "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x", "2001:db8::1", "2001:db8::1", false, true },
    // IDN to A-label
    { "http://b\xc3\xbc" "cher.example/", "http://xn--bcher-kva.example/", "xn--bcher-kva.example", "xn--bcher-kva.example", false, false },
    { "http://XN--BCHER-KVA.example/", "http://xn--bcher-kva.example/", "xn--bcher-kva.example", "xn--bcher-kva.example", false, false },
    // not URLs
    { "mailto:someone@example.com", NULL, NULL, NULL, false, false },
    { "http://intranet/x", "http://intranet/x", "intranet", "intranet", false, false },
    { "http://http://inner.example/x", "http://inner.example/x", "inner.example", "inner.example", false, false },
    { "http://internet.e-mail/", "http://internet.e-mail/", "internet.e-mail", "internet.e-mail", false, false },
    { "http://x.example/a|b^c{d}", "http://x.example/a|b^c{d}", "x.example", "x.example", false, false },
    { "http://bank.example%40evil.example/", "http://evil.example/", "evil.example", "evil.example", true, false },
    { "http://", NULL, NULL, NULL, false, false },
    { "http://a..b/", NULL, NULL, NULL, false, false },
    { "http://example.123/", NULL, NULL, NULL, false, false },
    { "swww.example.com and foo@www.example.com", NULL, NULL, NULL, false, false },
    { "xhxxp://x.example/", NULL, NULL, NULL, false, false },
    // the 16-byte end scan: stops and non-stop high bytes past the first 16 bytes
    { "http://example.com/some/long/path\xe2\x80\x9d said", "http://example.com/some/long/path", "example.com", "example.com", false, false },
    { "http://example.com/caf\xc3\xa9-au-lait/and-more-bytes", "http://example.com/caf\xc3\xa9-au-lait/and-more-bytes", "example.com", "example.com", false, false },
    { "http://example.com/0123456789abcdef`x", "http://example.com/0123456789abcdef", "example.com", "example.com", false, false },
    { "http://example.com/0123456789abcdef'x", "http://example.com/0123456789abcdef", "example.com", "example.com", false, false },
    { "http://example.com/0123456789abcdef\x7fx", "http://example.com/0123456789abcdef", "example.com", "example.com", false, false },
    { "http://example.com/0123456789abcdef\tx", "http://example.com/0123456789abcdef", "example.com", "example.com", false, false },
    { "http://example.com/0123456789abcde>x", "http://example.com/0123456789abcde", "example.com", "example.com", false, false },
    // the one-pass host check and the general one agree at their edges
    { "http://EXAMPLE.COM../", "http://example.com/", "example.com", "example.com", false, false },
    { "http://-x_y.example/", "http://-x_y.example/", "-x_y.example", "-x_y.example", false, false },
    { "http://.example.com/", NULL, NULL, NULL, false, false },
    { "http://www/", NULL, NULL, NULL, false, false },
    { "http://exa!mple.com/", NULL, NULL, NULL, false, false },
    { "http://a!b%40evil.example/", "http://evil.example/", "evil.example", "evil.example", true, false },
    { "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/",
      "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", false, false },
    { "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/", NULL, NULL, NULL, false, false },
    { "http://0x7F.1/", "http://127.0.0.1/", "127.0.0.1", "127.0.0.1", true, true },
    // the authority's end and its last '@' past the first 16 bytes
    { "http://someone.long.name@another.one@evil.example.com:8080/x", "http://someone.long.name@another.one@evil.example.com:8080/x",
      "evil.example.com", "example.com", true, false },
    { "http://www&#46;long-example-name&#46;com&#46;au/x", "http://www.long-example-name.com.au/x",
      "www.long-example-name.com.au", "long-example-name.com.au", true, false },
};

static void check_url(const bw_url *u, const url_case *c, size_t index)
{
    if (u->url.n != strlen(c->url) || memcmp(u->url.p, c->url, u->url.n)
        || u->host.n != strlen(c->host) || memcmp(u->host.p, c->host, u->host.n)
        || u->domain.n != strlen(c->domain) || memcmp(u->domain.p, c->domain, u->domain.n)
        || u->obfuscated != c->obfuscated || u->host_is_ip != c->is_ip) {
        fprintf(stderr, "case %zu [%s]: got url=%.*s host=%.*s domain=%.*s obf=%d ip=%d\n", index, c->text,
                (int)u->url.n, u->url.p, (int)u->host.n, u->host.p, (int)u->domain.n, u->domain.p,
                u->obfuscated, u->host_is_ip);
        fail();
    }
}

static void test_text_table(void **state)
{
    (void)state;
    char errbuf[BW_ERRBUF_SIZE];
    bw_url_set *set = bw_url_set_new(NULL, errbuf);
    assert_non_null(set);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bw_url_set_reset(set);
        assert_int_equal(bw_url_scan_text(set, bw_slice_cstr(cases[i].text)), BW_OK);
        size_t count;
        const bw_url *urls = bw_url_set_items(set, &count);
        if (!cases[i].url) {
            if (count != 0) {
                fprintf(stderr, "case %zu [%s]: unexpected %.*s\n", i, cases[i].text, (int)urls[0].url.n, urls[0].url.p);
                fail();
            }
            continue;
        }
        if (count != 1) {
            fprintf(stderr, "case %zu [%s]: %zu URLs\n", i, cases[i].text, count);
            fail();
        }
        check_url(&urls[0], &cases[i], i);
        assert_false(urls[0].from_html);
    }
    bw_url_set_free(set);
}

static void test_html_links(void **state)
{
    (void)state;
    char errbuf[BW_ERRBUF_SIZE];
    bw_url_set *set = bw_url_set_new(NULL, errbuf);
    static const char *values[] = {
        " http://a.example/x ", "//b.example/img.gif", "www.c.example", "javascript:window.open('http://d.example/')",
        "mailto:x@e.example", "cid:part1@x", "/relative/path", "#top", "images/x.gif",
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_int_equal(bw_url_add_html_link(set, bw_slice_cstr(values[i]), false), BW_OK);
    size_t count;
    const bw_url *urls = bw_url_set_items(set, &count);
    assert_int_equal(count, 4);
    assert_string_equal(urls[0].url.p, "http://a.example/x");
    assert_string_equal(urls[1].url.p, "http://b.example/img.gif");
    assert_false(urls[1].obfuscated);
    assert_string_equal(urls[2].url.p, "http://www.c.example/");
    assert_string_equal(urls[3].url.p, "http://d.example/");
    for (size_t i = 0; i < count; i++)
        assert_true(urls[i].from_html);
    bw_url_set_free(set);
}

static void test_dedup_and_limits(void **state)
{
    (void)state;
    char errbuf[BW_ERRBUF_SIZE];
    bw_url_limits limits = { .max_urls = 3, .max_url_bytes = 32 };
    bw_url_set *set = bw_url_set_new(&limits, errbuf);
    assert_non_null(set);
    assert_int_equal(bw_url_scan_text(set, bw_slice_cstr(
        "http://a.example/ HTTP://A.EXAMPLE/ hxxp://a.example/ http://b.example/ "
        "http://c.example/0123456789012345678901234567890123456789 http://d.example/")), BW_OK);
    assert_int_equal(bw_url_add_html_link(set, bw_slice_cstr("http://a.example/"), false), BW_OK);
    size_t count;
    const bw_url *urls = bw_url_set_items(set, &count);
    assert_int_equal(count, 3);
    assert_true(urls[0].obfuscated);     // seen once as hxxp
    assert_true(urls[0].from_html);      // and once in an attribute
    assert_int_equal(urls[2].url.n, 7 + 32);   // "http://" + the 32 bytes kept
    assert_true(bw_url_set_flags(set) & BW_URL_COUNT_LIMIT);
    assert_true(bw_url_set_flags(set) & BW_URL_LENGTH_LIMIT);
    bw_url_set_reset(set);
    assert_int_equal(bw_url_set_flags(set), 0);
    assert_int_equal(bw_url_scan_text(set, bw_slice_cstr("http://a.example/")), BW_OK);
    urls = bw_url_set_items(set, &count);
    assert_int_equal(count, 1);
    assert_false(urls[0].obfuscated);
    bw_url_set_free(set);

    bw_url_limits bad = { .max_urls = 0, .max_url_bytes = 32 };
    assert_null(bw_url_set_new(&bad, errbuf));
}

// Triggers (':' of "://", '.' of "www.") at every offset of the scanner's 16-byte steps, after
// decoy dots and colons that start no URL, and URLs ending exactly at the end of the text.
static void test_trigger_offsets(void **state)
{
    (void)state;
    char errbuf[BW_ERRBUF_SIZE];
    bw_url_set *set = bw_url_set_new(NULL, errbuf);
    assert_non_null(set);
    for (int pad = 0; pad < 48; pad++)
        for (int form = 0; form < 3; form++) {
            char url[64], host[32], text[160];
            if (form == 0) {
                snprintf(host, sizeof host, "a%d.example", pad);
                snprintf(url, sizeof url, "http://%s/x", host);
            } else if (form == 1) {
                snprintf(host, sizeof host, "b%d.example", pad);
                snprintf(url, sizeof url, "www.%s", host);
                snprintf(host, sizeof host, "www.b%d.example", pad);
            } else {
                snprintf(host, sizeof host, "c%d.example", pad);
                snprintf(url, sizeof url, "see: ftp://%s/", host);
            }
            int n = snprintf(text, sizeof text, "a.b: %.*s %s", pad, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", url);
            bw_url_set_reset(set);
            assert_int_equal(bw_url_scan_text(set, bw_slice_make(text, (size_t)n)), BW_OK);
            size_t count;
            const bw_url *urls = bw_url_set_items(set, &count);
            if (count != 1 || urls[0].host.n != strlen(host) || memcmp(urls[0].host.p, host, urls[0].host.n)) {
                fprintf(stderr, "pad %d form %d [%s]: %zu URLs, host %.*s\n", pad, form, text, count,
                        count ? (int)urls[0].host.n : 0, count ? urls[0].host.p : "");
                fail();
            }
        }
    bw_url_set_free(set);
}

static void test_many_urls_linear(void **state)
{
    (void)state;
    // 200k "www." triggers and "://"s: the scan must stay linear and bounded.
    static char text[1 << 20];
    for (size_t i = 0; i + 8 < sizeof text; i += 8)
        memcpy(text + i, i % 16 ? " www.a.b" : "http://", i % 16 ? 8 : 7);
    text[sizeof text - 1] = '\0';
    char errbuf[BW_ERRBUF_SIZE];
    bw_url_set *set = bw_url_set_new(NULL, errbuf);
    assert_int_equal(bw_url_scan_text(set, bw_slice_make(text, sizeof text - 1)), BW_OK);
    size_t count;
    bw_url_set_items(set, &count);
    assert_true(count >= 1);
    bw_url_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_html_links),
        cmocka_unit_test(test_dedup_and_limits),
        cmocka_unit_test(test_many_urls_linear),
        cmocka_unit_test(test_trigger_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
