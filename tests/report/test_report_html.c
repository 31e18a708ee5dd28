// SPDX-License-Identifier: MIT
// The HTML report in a real browser: the fixture's report is written to a file and checked
// to be self-contained (no script, no external URL); then, when /usr/bin/chromium exists,
// rendered headless to a PNG. The test fails if Chromium logs any console message (a
// script error or a Content-Security-Policy violation is one), and checks the screenshot
// is the expected size and not blank by inflating its pixels with zlib and counting colours.
// A page with a deliberate script error shows the console check is not vacuous.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "botwatch/report.h"
#include "chromium_shot.h"
#include "fixture_db.h"

enum { SHOT_W = 1280, SHOT_H = 2000 };

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/bw-html-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_report(const char *db, const char *html)
{
    bw_store_options opts = { .read_only = true };
    bw_store *store = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_store_open(db, &opts, &store, errbuf), BW_OK);
    bw_report_options ro;
    bw_report_options_default(&ro);
    ro.anomaly_name = fixture_anomaly_name;
    bw_report *report = NULL;
    assert_int_equal(bw_report_build(store, &ro, &report, errbuf), BW_OK);
    FILE *f = fopen(html, "w");
    assert_non_null(f);
    assert_int_equal(bw_report_write(report, BW_REPORT_HTML, f, errbuf), BW_OK);
    assert_int_equal(fclose(f), 0);
    bw_report_free(report);
    bw_store_close(store, errbuf);
}

static void test_html_is_self_contained(void **state)
{
    (void)state;
    char db[128], html[128];
    snprintf(db, sizeof db, "%s/fixture.db", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    assert_int_equal(fixture_db_create(db, true), 0);
    write_report(db, html);
    size_t n = 0;
    char *page = read_all(html, &n);
    assert_non_null(page);
    assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    static const char *const forbidden[] = { "<script", "http://", "https://", "url(", "@import", "<link", "<img",
                                             "<iframe", "<object", "<b>", " on" "load=", " on" "error=" };
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        if (strstr(page, forbidden[i]))
            fail_msg("the HTML report contains '%s'", forbidden[i]);
    assert_non_null(strstr(page, "Content-Security-Policy"));
    assert_non_null(strstr(page, "aria-label=\"Messages per day\""));
    assert_non_null(strstr(page, "aria-label=\"Top sender networks\""));
    assert_non_null(strstr(page, "aria-label=\"Top URL domains\""));
    assert_non_null(strstr(page, "aria-label=\"Botnets by messages\""));
    assert_non_null(strstr(page, "<h2>Campaigns and botnets</h2>"));
    // The fixture's botnets send 7 of 9 messages: no number of them reaches 90%.
    assert_non_null(strstr(page, "No number of botnets sends 90% of the spam: together they send 77.8%."));
    size_t open = 0, close = 0;
    for (const char *p = page; (p = strstr(p, "<svg")); p++)
        open++;
    for (const char *p = page; (p = strstr(p, "</svg>")); p++)
        close++;
    assert_int_equal(open, 4);    // daily volume, networks, domains, botnets
    assert_int_equal(close, 4);
    free(page);
}

static void test_html_renders_in_chromium(void **state)
{
    (void)state;
    if (access(CHROMIUM, X_OK) != 0) {
        print_message("skipping: %s absent\n", CHROMIUM);
        skip();
    }
    char db[128], html[128], png[128];
    snprintf(db, sizeof db, "%s/render.db", dir);
    snprintf(html, sizeof html, "%s/render.html", dir);
    snprintf(png, sizeof png, "%s/render.png", dir);
    assert_int_equal(fixture_db_create(db, true), 0);
    write_report(db, html);
    assert_int_equal(chromium_render(dir, html, png, SHOT_W, SHOT_H), 0);
    size_t n = 0;
    uint8_t *shot = (uint8_t *)read_all(png, &n);
    if (!shot)
        fail_msg("no screenshot at %s", png);
    assert_true(n > 20000);
    png_stats stats;
    assert_true(png_decode_stats(shot, n, &stats));
    print_message("screenshot %ux%u, %zu bytes, %zu colours, background %.1f%%\n", stats.width, stats.height, n,
                  stats.distinct_colours, 100 * stats.background_share);
    assert_int_equal(stats.width, SHOT_W);
    assert_int_equal(stats.height, SHOT_H);
    // Text, bars and cards give hundreds of colours (anti-aliasing); a blank page has one.
    assert_true(stats.distinct_colours >= 50);
    assert_true(stats.background_share < 0.9);
    free(shot);
    // Keep a copy for people to look at.
    char copy[512];
    snprintf(copy, sizeof copy, "cp '%s' '%s/report_html_screenshot.png'", png, BW_BINARY_DIR);
    if (system(copy) != 0)
        print_message("could not keep a copy of the screenshot\n");
}

static void test_console_errors_are_caught(void **state)
{
    (void)state;
    if (access(CHROMIUM, X_OK) != 0) {
        print_message("skipping: %s absent\n", CHROMIUM);
        skip();
    }
    char html[128], png[128];
    snprintf(html, sizeof html, "%s/broken.html", dir);
    snprintf(png, sizeof png, "%s/broken.png", dir);
    FILE *f = fopen(html, "w");
    assert_non_null(f);
    fputs("<!DOCTYPE html><html><body><p>broken</p><script>undefinedFunction()</script></body></html>\n", f);
    fclose(f);
    assert_true(chromium_render(dir, html, png, 400, 300) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_is_self_contained),
        cmocka_unit_test(test_html_renders_in_chromium),
        cmocka_unit_test(test_console_errors_are_caught),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
