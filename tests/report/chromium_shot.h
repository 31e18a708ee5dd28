// SPDX-License-Identifier: MIT
// Headless-Chromium screenshots and PNG colour statistics for the HTML report tests
// (chromium_shot.c).
#ifndef BW_TEST_CHROMIUM_SHOT_H
#define BW_TEST_CHROMIUM_SHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHROMIUM "/usr/bin/chromium"

typedef struct png_stats {
    uint32_t width, height;
    size_t distinct_colours;
    double background_share;   // pixels of the most common colour
} png_stats;

// The whole file, NUL-terminated (caller frees), or NULL.
char *read_all(const char *path, size_t *len);
// Enough of PNG for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced.
bool png_decode_stats(const uint8_t *png, size_t n, png_stats *out);
// Renders html into png (width x height) with a fresh profile under work_dir; fails the
// test if Chromium fails; returns the number of console lines it logged.
int chromium_render(const char *work_dir, const char *html, const char *png, int width, int height);

#endif
