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
#include <zlib.h>

#include <cmocka.h>

#include "botwatch/report.h"
#include "fixture_db.h"

#define CHROMIUM "/usr/bin/chromium"
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

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&data, &n);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, m);
    fclose(m);
    fclose(f);
    *len = n;
    return data;
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

typedef struct png_stats {
    uint32_t width, height;
    size_t distinct_colours;
    double background_share;   // pixels of the most common colour
} png_stats;

static uint8_t paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// Enough of PNG for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced.
static bool png_decode_stats(const uint8_t *png, size_t n, png_stats *out)
{
    if (n < 8 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0)
        return false;
    size_t pos = 8, idat_n = 0;
    uint8_t *idat = NULL;
    uint32_t w = 0, h = 0;
    int channels = 0;
    while (pos + 12 <= n) {
        uint32_t len = be32(png + pos);
        const uint8_t *type = png + pos + 4, *data = png + pos + 8;
        if (len > n - pos - 12)
            break;
        if (memcmp(type, "IHDR", 4) == 0 && len >= 13) {
            w = be32(data);
            h = be32(data + 4);
            if (data[8] != 8 || data[12] != 0)
                return false;
            channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            idat = realloc(idat, idat_n + len);
            memcpy(idat + idat_n, data, len);
            idat_n += len;
        }
        pos += 12 + (size_t)len;
    }
    if (!channels || !w || !h || !idat) {
        free(idat);
        return false;
    }
    size_t stride = (size_t)w * (size_t)channels;
    uLongf raw_n = (uLongf)((stride + 1) * h);
    uint8_t *raw = malloc(raw_n);
    bool ok = raw && uncompress(raw, &raw_n, idat, (uLong)idat_n) == Z_OK && raw_n == (stride + 1) * h;
    free(idat);
    if (!ok) {
        free(raw);
        return false;
    }
    // Undo the per-row filters in place.
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *row = raw + y * (stride + 1) + 1, filter = row[-1];
        const uint8_t *up = y ? row - (stride + 1) : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)channels ? row[x - (size_t)channels] : 0, b = up ? up[x] : 0;
            int c = up && x >= (size_t)channels ? up[x - (size_t)channels] : 0;
            switch (filter) {
            case 0: break;
            case 1: row[x] = (uint8_t)(row[x] + a); break;
            case 2: row[x] = (uint8_t)(row[x] + b); break;
            case 3: row[x] = (uint8_t)(row[x] + (a + b) / 2); break;
            case 4: row[x] = (uint8_t)(row[x] + paeth(a, b, c)); break;
            default: free(raw); return false;
            }
        }
    }
    // Colour histogram in an open-addressing table (RGB + 1 as key, 0 = empty).
    enum { TABLE = 1 << 20 };
    uint32_t *keys = calloc(TABLE, sizeof *keys);
    uint32_t *counts = calloc(TABLE, sizeof *counts);
    size_t distinct = 0;
    uint32_t most = 0;
    for (uint32_t y = 0; y < h && keys && counts; y++) {
        const uint8_t *row = raw + y * (stride + 1) + 1;
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *px = row + (size_t)x * (size_t)channels;
            uint32_t key = ((uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2]) + 1;
            size_t slot = (key * 2654435761u) & (TABLE - 1);
            while (keys[slot] && keys[slot] != key)
                slot = (slot + 1) & (TABLE - 1);
            if (!keys[slot]) {
                keys[slot] = key;
                distinct++;
            }
            if (++counts[slot] > most)
                most = counts[slot];
        }
    }
    out->width = w;
    out->height = h;
    out->distinct_colours = distinct;
    out->background_share = (double)most / ((double)w * h);
    free(keys);
    free(counts);
    free(raw);
    return true;
}

// Renders html to png; returns the number of console lines Chromium logged.
static int render(const char *html, const char *png, int width, int height)
{
    char profile[128], err[128], cmd[2048];
    snprintf(profile, sizeof profile, "%s/profile-XXXXXX", dir);
    assert_non_null(mkdtemp(profile));
    snprintf(err, sizeof err, "%s.stderr", png);
    // Every background service off: the test must not touch the network.
    snprintf(cmd, sizeof cmd,
             "timeout 150 " CHROMIUM " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
             " --disable-background-networking --disable-component-update --disable-sync"
             " --disable-default-apps --disable-extensions --user-data-dir='%s' --enable-logging=stderr --v=0"
             " --screenshot='%s' --window-size=%d,%d 'file://%s' >/dev/null 2>'%s'",
             profile, png, width, height, html, err);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("chromium exited with %d (stderr in %s)", rc, err);
    size_t n = 0;
    char *log = read_all(err, &n);
    assert_non_null(log);
    int console = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, ":CONSOLE") || strstr(line, "Uncaught")) {
            print_message("chromium console: %s\n", line);
            console++;
        }
    }
    free(log);
    return console;
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
    size_t open = 0, close = 0;
    for (const char *p = page; (p = strstr(p, "<svg")); p++)
        open++;
    for (const char *p = page; (p = strstr(p, "</svg>")); p++)
        close++;
    assert_int_equal(open, 3);
    assert_int_equal(close, 3);
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
    assert_int_equal(render(html, png, SHOT_W, SHOT_H), 0);
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
    assert_true(render(html, png, 400, 300) > 0);
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
