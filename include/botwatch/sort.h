// SPDX-License-Identifier: MIT
// Stable merge sort, written once for any element type: BW_DEFINE_SORT(name, T, less) defines
//   static bool name(T *v, size_t n)
// which sorts v[0, n) by less, keeping equal elements in their input order, and returns
// true; it returns false, with v untouched, only when it cannot allocate n elements of
// scratch (the caller then falls back to qsort). less(const T *a, const T *b) must be a
// strict weak order. Runs of 16 by insertion, then bottom-up merges between v and the
// scratch.
//
// Why not qsort: its comparison is a call through a pointer, and the botnet step sorts
// every (campaign, sender IP) sighting of the store three times over; with qsort those
// sorts were 70% of the step's instructions (callgrind, a 60,000-message spamsim stream,
// 29 Nov 2026). And C does not promise that qsort is stable (glibc's was a merge sort up
// to 2.36, an introsort after): this one is, so equal elements keep their order everywhere.
#ifndef BOTWATCH_SORT_H
#define BOTWATCH_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BW_SORT_RUN 16

#define BW_DEFINE_SORT(name, T, less)                                                     \
    static bool name(T *v, size_t n)                                                      \
    {                                                                                     \
        if (n < 2)                                                                        \
            return true;                                                                  \
        T *scratch = NULL;                                                                \
        if (n > BW_SORT_RUN && !(scratch = malloc(n * sizeof *scratch)))                  \
            return false;                                                                 \
        for (size_t s = 0; s < n; s += BW_SORT_RUN) {                                     \
            size_t e = n - s < BW_SORT_RUN ? n : s + BW_SORT_RUN;                         \
            for (size_t i = s + 1; i < e; i++) {                                          \
                T x = v[i];                                                               \
                size_t j = i;                                                             \
                while (j > s && less(&x, &v[j - 1])) {                                    \
                    v[j] = v[j - 1];                                                      \
                    j--;                                                                  \
                }                                                                         \
                v[j] = x;                                                                 \
            }                                                                             \
        }                                                                                 \
        T *src = v, *dst = scratch;                                                       \
        for (size_t width = BW_SORT_RUN; width < n; width *= 2) {                         \
            for (size_t lo = 0; lo < n; lo += 2 * width) {                                \
                size_t mid = n - lo < width ? n : lo + width;                             \
                size_t hi = n - mid < width ? n : mid + width;                            \
                size_t i = lo, j = mid, k = lo;                                           \
                while (i < mid && j < hi)                                                 \
                    dst[k++] = less(&src[j], &src[i]) ? src[j++] : src[i++];              \
                while (i < mid)                                                           \
                    dst[k++] = src[i++];                                                  \
                while (j < hi)                                                            \
                    dst[k++] = src[j++];                                                  \
            }                                                                             \
            T *swap = src;                                                                \
            src = dst;                                                                    \
            dst = swap;                                                                   \
        }                                                                                 \
        if (src != v)                                                                     \
            memcpy(v, src, n * sizeof *v);                                                \
        free(scratch);                                                                    \
        return true;                                                                      \
    }

#endif
