// SPDX-License-Identifier: MIT
// Test helpers shared by the HTML report tests: render a page in headless Chromium (every
// background service off, console messages counted) and decode a PNG screenshot with zlib
// far enough to count its colours.
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

#include "chromium_shot.h"

char *read_all(const char *path, size_t *len)
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


static uint8_t paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// Enough of PNG for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced.
bool png_decode_stats(const uint8_t *png, size_t n, png_stats *out)
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
int chromium_render(const char *work_dir, const char *html, const char *png, int width, int height)
{
    char profile[512], err[512], cmd[4096];
    snprintf(profile, sizeof profile, "%s/profile-XXXXXX", work_dir);
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

