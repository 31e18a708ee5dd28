// SPDX-License-Identifier: MIT
// The beacon scorer: given one pair's call times (and sizes), how much does it look like a
// bot phoning home? Two views of timing are combined. RITA's: the inter-call times of a
// beacon have a small spread around their median (MAD/median) and no skew (Bowley). And
// BAYWATCH's: a periodicity test that survives random jitter and missed calls, judged
// against permuted copies of the same series so that the threshold adapts to the number of
// calls and the span. Data-size regularity and coverage of the observation span refine it.
// docs/flows.md gives every formula and default with the reason.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/flowscore.h"
#include "flowscore_internal.h"

void bw_flowscore_options_default(bw_flowscore_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->limits.max_pairs = 4000000;
    opts->limits.max_events_per_pair = 8192;
    opts->threads = 2;
    opts->skip_local_scope = true;
    opts->seed = 0x62773135u;   // fixed: the same log gives the same report
    opts->min_calls = 8;
    opts->threshold = 0.70;
    opts->burst_merge_s = 0.01;
    opts->min_period_s = 0.1;
    opts->jitter_tolerance = 0.35;
    opts->max_harmonic = 4;
    opts->permutations = 19;
    opts->min_z = 3.0;
    opts->madm_ref = 0.5;
    opts->coverage_bins = 24;
    opts->persistence_s = 6 * 3600.0;
    opts->prevalence_min_hosts = 10;
    opts->prevalence_low = 0.02;
    opts->prevalence_high = 0.10;
    opts->prevalence_floor = 0.5;
    opts->p2p_min_peers = 30;
    opts->p2p_min_failed_ratio = 0.3;
    opts->smtp_min_dsts = 20;
}

// Scratch space for one series: sized once per series, reused by every replicate.
typedef struct series_scratch {
    double *calls;     // merged call times
    double *deltas;
    double *work;      // sorted copies, ratios
    double *work2;     // MAD scratch
} series_scratch;

// Robust period estimate from inter-call times: start at the median interval, then
// re-estimate from every interval divided by its nearest multiple, so intervals that
// bridge missed calls (2P, 3P...) vote for P instead of inflating it. The median of those
// ratios is the estimate; their MAD says how much the period wanders (jitter).
static double estimate_period(const double *deltas, size_t n, unsigned max_harmonic, double *work,
                              double *work2, double *mad_out)
{
    int iterations = mad_out ? 3 : 2;   // replicates need no MAD and converge as fast
    memcpy(work, deltas, n * sizeof *work);
    double period = fs_median(work, n);
    double mad = 0;
    for (int iter = 0; iter < iterations && period > 0; iter++) {
        size_t m_n = 0;
        for (size_t i = 0; i < n; i++) {
            double m = floor(deltas[i] / period + 0.5);
            if (m < 1 || m > max_harmonic)
                continue;
            work[m_n++] = deltas[i] / m;
        }
        if (m_n == 0)
            break;
        period = fs_median(work, m_n);
        if (mad_out && iter == iterations - 1)
            mad = fs_mad(work, m_n, period, work2);
    }
    if (mad_out)
        *mad_out = mad;
    return period;
}

// Fraction of intervals that sit on the comb {P, 2P, ..., max_harmonic*P}, each tooth
// tol*P*sqrt(m) wide: independent jitter on m consecutive intervals adds up like a random
// walk, so a bridged gap of m periods spreads by sqrt(m).
static double comb_fraction(const double *deltas, size_t n, double period, double tol,
                            unsigned max_harmonic)
{
    if (n == 0 || period <= 0)
        return 0;
    size_t on = 0;
    for (size_t i = 0; i < n; i++) {
        double m = floor(deltas[i] / period + 0.5);
        if (m < 1 || m > max_harmonic)
            continue;
        if (fabs(deltas[i] - m * period) <= tol * period * sqrt(m))
            on++;
    }
    return (double)on / (double)n;
}

// Merges calls closer than merge_s (a call that opened two connections is one call).
static size_t merge_calls(const double *ts, size_t n, double merge_s, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && ts[i] - out[k - 1] < merge_s)
            continue;
        out[k++] = ts[i];
    }
    return k;
}

static double periodicity_stat(const bw_flowscore_options *opts, const double *calls, size_t k,
                               series_scratch *s, double *period_out, double *mad_out)
{
    for (size_t i = 1; i < k; i++)
        s->deltas[i - 1] = calls[i] - calls[i - 1];
    double period = estimate_period(s->deltas, k - 1, opts->max_harmonic, s->work, s->work2, mad_out);
    if (period_out)
        *period_out = period;
    return comb_fraction(s->deltas, k - 1, period, opts->jitter_tolerance, opts->max_harmonic);
}

// Data-size regularity, as RITA's ds score: a beacon asks the same question every time
// (and a dead controller's calls all carry 0 bytes), so sizes barely vary.
static double size_score(const uint64_t *bytes, size_t n, double madm_ref, double *work, double *work2)
{
    if (!bytes || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        work[i] = (double)bytes[i];
    fs_sort_doubles(work, n);
    double skew_score = 1 - fabs(fs_bowley_sorted(work, n));
    double median = fs_quantile_sorted(work, n, 0.5);
    double mad = fs_mad(work, n, median, work2);
    double madm_score = median > 0 ? fs_clamp01(1 - (mad / median) / madm_ref) : (mad == 0 ? 1 : 0);
    return (skew_score + madm_score) / 2;
}

// Coverage: how long the pair lasts, relative to the observation span but capped at
// persistence_s (a bot phones home for as long as its machine is up; a burst of page loads
// lasts seconds), times how evenly its calls fill that lifetime (bins of span/coverage_bins,
// at least two periods wide so a slow beacon is not punished for the gaps between calls).
static double coverage_score(const double *calls, size_t k, double span_first, double span_last,
                             double nbins_target, double persistence_s, double period)
{
    double first = calls[0], last = calls[k - 1];
    double span = span_last - span_first;
    if (span <= 0)
        return 1;
    double life = last - first;
    double width = span / (nbins_target > 0 ? nbins_target : 24);
    if (width < 2 * period)
        width = 2 * period;
    size_t nbins = (size_t)ceil(life / width);
    if (nbins < 1)
        nbins = 1;
    if (nbins > 4096)
        nbins = 4096;
    width = life > 0 ? life / (double)nbins : 1;
    unsigned char seen[4096];
    memset(seen, 0, nbins);
    for (size_t i = 0; i < k; i++) {
        size_t b = life > 0 ? (size_t)((calls[i] - first) / width) : 0;
        if (b >= nbins)
            b = nbins - 1;
        seen[b] = 1;
    }
    size_t filled = 0;
    for (size_t b = 0; b < nbins; b++)
        filled += seen[b];
    double window = persistence_s > 0 && persistence_s < span ? persistence_s : span;
    return fs_clamp01(life / window) * (double)filled / (double)nbins;
}

bool bw_flowscore_score_series(const bw_flowscore_options *opts_in, const double *ts,
                               const uint64_t *bytes, size_t n, double span_first,
                               double span_last, uint64_t seed, bw_beacon *out)
{
    bw_flowscore_options defaults;
    const bw_flowscore_options *opts = opts_in;
    if (!opts) {
        bw_flowscore_options_default(&defaults);
        opts = &defaults;
    }
    if (n < 2 || n < opts->min_calls)
        return false;
    series_scratch s;
    double *block = malloc(4 * n * sizeof(double));
    if (!block)
        return false;
    s.calls = block;
    s.deltas = block + n;
    s.work = block + 2 * n;
    s.work2 = block + 3 * n;

    size_t k = merge_calls(ts, n, opts->burst_merge_s, s.calls);
    bool ok = k >= 2 && k >= opts->min_calls;
    if (!ok)
        goto done;
    if (span_last <= span_first) {
        span_first = ts[0];
        span_last = ts[n - 1];
    }

    // RITA's view: spread and skew of the inter-call times.
    for (size_t i = 1; i < k; i++)
        s.work[i - 1] = s.calls[i] - s.calls[i - 1];
    fs_sort_doubles(s.work, k - 1);
    double skew = fs_bowley_sorted(s.work, k - 1);
    double median = fs_quantile_sorted(s.work, k - 1, 0.5);
    double mad = fs_mad(s.work, k - 1, median, s.work2);
    out->ts_skew_score = fs_clamp01(1 - fabs(skew));
    out->ts_madm_score = median > 0 ? fs_clamp01(1 - (mad / median) / opts->madm_ref) : 0;
    out->ts_score = (out->ts_skew_score + out->ts_madm_score) / 2;

    // BAYWATCH's view: periodicity against a permutation null. Each replicate re-places the
    // same number of calls uniformly over the same lifetime (a permutation of the binned
    // series at the merge resolution) and goes through the same estimator, so the null
    // includes the estimator's freedom to pick the best-fitting period.
    double period = 0, period_mad = 0;
    double stat = periodicity_stat(opts, s.calls, k, &s, &period, &period_mad);
    fs_rng rng = { seed };
    double null_max = 0, null_sum = 0;
    // Short series get five times the replicates: their null is coarse (a handful of
    // intervals), so "beats every replicate" must be tested against more of them; they are
    // cheap, and the early stop keeps ordinary pairs at one or two replicates anyway.
    unsigned reps = k < 32 ? opts->permutations * 5 : opts->permutations;
    double first = s.calls[0], life = s.calls[k - 1] - s.calls[0];
    double *perm = malloc((k + reps + 1) * sizeof(double));
    if (!perm) {
        ok = false;
        goto done;
    }
    double *null_vals = perm + k;
    // Sorted uniform points straight from normalised exponential spacings: O(k), no sort.
    // A replicate reaching the observed statistic decides "not significant" at once, so
    // ordinary (non-periodic) pairs cost one or two replicates, not all of them.
    unsigned done = 0;
    bool beaten = false;
    for (unsigned r = 0; r < reps && !beaten; r++) {
        // k - 2 interior points need k - 1 spacings; the last one closes the interval.
        double total = 0;
        for (size_t i = 1; i + 1 < k; i++) {
            total += -log(1 - fs_rng_unit(&rng));
            perm[i] = total;
        }
        total += -log(1 - fs_rng_unit(&rng));
        perm[0] = first;
        for (size_t i = 1; i + 1 < k; i++)
            perm[i] = first + life * perm[i] / total;
        perm[k - 1] = first + life;
        double v = periodicity_stat(opts, perm, k, &s, NULL, NULL);
        null_vals[r] = v;
        null_sum += v;
        done++;
        if (v > null_max)
            null_max = v;
        beaten = v >= stat;
        // Sequential stop the other way too: after 7 replicates, a statistic this far above
        // them all (twice min_z) is not going to be caught by the remaining ones.
        if (!beaten && done >= 7) {
            double mean = null_sum / done, var = 0;
            for (unsigned q = 0; q < done; q++)
                var += (null_vals[q] - mean) * (null_vals[q] - mean);
            double sd = sqrt(var / (done - 1));
            if (sd > 0 && (stat - mean) / sd >= 2 * opts->min_z)
                break;
        }
    }
    reps = done;
    double null_mean = reps ? null_sum / reps : 0;
    double null_var = 0;
    for (unsigned r = 0; r < reps; r++)
        null_var += (null_vals[r] - null_mean) * (null_vals[r] - null_mean);
    double null_sd = reps > 1 ? sqrt(null_var / (reps - 1)) : 0;
    // Beyond every replicate AND min_z standard deviations above their mean: a network has
    // thousands of pairs with enough calls, so a plain p < 0.05 would flag dozens by chance.
    double z = null_sd > 0 ? (stat - null_mean) / null_sd : (stat > null_mean ? INFINITY : 0);
    bool significant = reps == 0 ? stat > 0.5 : (!beaten && stat > null_max && z >= opts->min_z);
    out->period_z = z;
    free(perm);
    out->period_stat = stat;
    out->period_null = null_max;
    out->period_score = significant && null_mean < 1 ? fs_clamp01((stat - null_mean) / (1 - null_mean)) : 0;
    out->period = period;
    out->period_mad = period_mad;

    out->ds_score = size_score(bytes, n, opts->madm_ref, s.work, s.work2);
    out->coverage_score =
        coverage_score(s.calls, k, span_first, span_last, opts->coverage_bins, opts->persistence_s, period);

    // A series that is not periodic beyond chance never reaches the default threshold on
    // its spread alone: few calls can look tidy by luck, the permutation test knows how often.
    double regularity = significant ? fmax(out->ts_score, out->period_score) : 0.5 * out->ts_score;
    out->raw_score = regularity * (0.5 + 0.15 * out->ds_score + 0.35 * out->coverage_score);
    // Faster than min_period_s the rhythm is a scanner's or a flood's pacing, not a call home.
    if (period < opts->min_period_s)
        out->raw_score = 0;
    out->score = out->raw_score;
    out->first_seen = ts[0];
    out->last_seen = ts[n - 1];
done:
    free(block);
    return ok;
}
