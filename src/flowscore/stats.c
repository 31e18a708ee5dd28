// SPDX-License-Identifier: MIT
// Robust statistics for the flow scorers: quantiles, median, MAD and Bowley skew. The series
// are short (a pair keeps at most max_events_per_pair calls), so sorting copies is cheaper
// and clearer than selection algorithms.
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/select.h"
#include "flowscore_internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fs_sort_doubles(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
}

double fs_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return sorted[n - 1];
    double frac = pos - (double)lo;
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

// k-th smallest (0-based); reorders v. Medians are taken thousands of times per pair (the
// permutation null), so the O(n) selection beats sorting.
static inline bool double_less(const double *a, const double *b) { return *a < *b; }
BW_DEFINE_SELECT(select_doubles, double, double_less)

static double select_kth(double *v, size_t n, size_t k)
{
    select_doubles(v, n, k);
    return v[k];
}

double fs_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    size_t half = (n - 1) / 2;
    double lower = select_kth(v, n, half);
    if (n % 2)
        return lower;
    // Even count: the mean of the two middle values, as fs_quantile_sorted gives.
    double upper = v[half + 1];
    for (size_t i = half + 2; i < n; i++)
        if (v[i] < upper)
            upper = v[i];
    return (lower + upper) / 2;
}

double fs_mad(const double *v, size_t n, double center, double *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = fabs(v[i] - center);
    return fs_median(scratch, n);
}

double fs_bowley_sorted(const double *sorted, size_t n)
{
    double q1 = fs_quantile_sorted(sorted, n, 0.25);
    double q2 = fs_quantile_sorted(sorted, n, 0.5);
    double q3 = fs_quantile_sorted(sorted, n, 0.75);
    double iqr = q3 - q1;
    // Equal quartiles: a perfectly regular series has no skew to speak of (RITA does the same).
    if (iqr <= 1e-12 * (fabs(q2) + 1))
        return 0;
    return (q3 + q1 - 2 * q2) / iqr;
}
