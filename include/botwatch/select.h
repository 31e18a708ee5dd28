// SPDX-License-Identifier: MIT
// Quickselect, written once for any element type: BW_DEFINE_SELECT(name, T, less) defines
//   static void name(T *v, size_t n, size_t k)
// which reorders v[0, n) (n >= 1, k < n) so that v[k] is the element a sort by less would
// put there, none before it is after it and none after it is before it. Median-of-three
// pivots, Hoare partition; O(n) on average. less(const T *a, const T *b) must be a strict
// weak order. A macro, not a callback, so the comparison is inlined: the flow scorer takes
// thousands of medians per host pair and the campaign index selects among 100,000 campaigns.
#ifndef BOTWATCH_SELECT_H
#define BOTWATCH_SELECT_H

#include <stddef.h>

#define BW_DEFINE_SELECT(name, T, less)                                                   \
    static void name(T *v, size_t n, size_t k)                                            \
    {                                                                                     \
        size_t lo = 0, hi = n - 1;                                                        \
        while (hi > lo) {                                                                 \
            size_t mid = lo + (hi - lo) / 2;                                              \
            T tmp;                                                                        \
            if (less(&v[mid], &v[lo])) {                                                  \
                tmp = v[mid], v[mid] = v[lo], v[lo] = tmp;                                \
            }                                                                             \
            if (less(&v[hi], &v[lo])) {                                                   \
                tmp = v[hi], v[hi] = v[lo], v[lo] = tmp;                                  \
            }                                                                             \
            if (less(&v[hi], &v[mid])) {                                                  \
                tmp = v[hi], v[hi] = v[mid], v[mid] = tmp;                                \
            }                                                                             \
            T pivot = v[mid];                                                             \
            size_t i = lo, j = hi;                                                        \
            while (i <= j) {                                                              \
                while (less(&v[i], &pivot))                                               \
                    i++;                                                                  \
                while (less(&pivot, &v[j]))                                               \
                    j--;                                                                  \
                if (i <= j) {                                                             \
                    tmp = v[i], v[i] = v[j], v[j] = tmp;                                  \
                    i++;                                                                  \
                    if (j == 0)                                                           \
                        break;                                                            \
                    j--;                                                                  \
                }                                                                         \
            }                                                                             \
            if (k <= j)                                                                   \
                hi = j;                                                                   \
            else if (k >= i)                                                              \
                lo = i;                                                                   \
            else                                                                          \
                return;                                                                   \
        }                                                                                 \
    }

#endif
