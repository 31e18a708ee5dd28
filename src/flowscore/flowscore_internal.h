// SPDX-License-Identifier: MIT
// Internals shared by the flowscore sources: robust statistics over small arrays and a
// small deterministic PRNG (the permutation test must give the same answer on every run
// and with any thread count, so it never uses a global or time-seeded generator).
#ifndef BOTWATCH_FLOWSCORE_INTERNAL_H
#define BOTWATCH_FLOWSCORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

// Sorts v in place and returns the q-quantile (0..1) by linear interpolation; 0 if n == 0.
double fs_quantile_sorted(const double *sorted, size_t n, double q);
void fs_sort_doubles(double *v, size_t n);
// Median of v (reordered in place).
double fs_median(double *v, size_t n);
// Median absolute deviation around center; scratch must hold n doubles.
double fs_mad(const double *v, size_t n, double center, double *scratch);
// Bowley (quartile) skew of sorted values: (Q3 + Q1 - 2 Q2) / (Q3 - Q1), 0 when Q3 == Q1.
double fs_bowley_sorted(const double *sorted, size_t n);

static inline double fs_clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

typedef struct fs_rng {
    uint64_t s;
} fs_rng;

// splitmix64: tiny, fast, statistically fine for Monte Carlo nulls.
static inline uint64_t fs_rng_next(fs_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
// Uniform in [0, 1).
static inline double fs_rng_unit(fs_rng *r) { return (double)(fs_rng_next(r) >> 11) * 0x1.0p-53; }

#endif
