// SPDX-License-Identifier: MIT
// Acceptance 6 of issue 2: the SpamAssassin public corpus ($BW_DATA/spamassassin.mbox,
// 6,046 messages) is ingested with the ip-location-db ASN data into a fresh store, and the
// report must show the 2001-2002 daily volume, the top sender networks with AS names and
// the top URL domains; its HTML must render in headless Chromium without console errors
// and not blank. Skipped (saying why) when the corpus or the ASN data is absent.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "botwatch/ingest.h"
#include "botwatch/mail.h"
#include "botwatch/report.h"
#include "chromium_shot.h"

static char *report_string(bw_store *store, const bw_report_options *opts, bw_report_format format)
{
    bw_report *report = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    if (bw_report_build(store, opts, &report, errbuf) != BW_OK)
        fail_msg("report: %s", errbuf);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    assert_non_null(f);
    assert_int_equal(bw_report_write(report, format, f, errbuf), BW_OK);
    fclose(f);
    bw_report_free(report);
    return out;
}

// The text between "key": [ and the closing ] of that array.
static char *json_array(const char *json, const char *key)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\": [", key);
    const char *start = strstr(json, needle);
    assert_non_null(start);
    const char *end = strstr(start, "\n  ]");
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

static size_t occurrences(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_spamassassin_report(void **state)
{
    (void)state;
    const char *data = getenv("BW_DATA");
    char mbox[1024], asn_dir[1024];
    snprintf(mbox, sizeof mbox, "%s/spamassassin.mbox", data ? data : "");
    snprintf(asn_dir, sizeof asn_dir, "%s/npm-asn/package", data ? data : "");
    if (!data || access(mbox, R_OK) != 0 || access(asn_dir, R_OK) != 0) {
        print_message("skipping: %s or %s absent (run scripts/fetch-data.sh)\n", mbox, asn_dir);
        skip();
    }
    char dir[] = "/tmp/bw-corpus-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128];
    snprintf(db, sizeof db, "%s/sa.db", dir);

    char errbuf[BW_ERRBUF_SIZE];
    bw_asn_db *asn = bw_asn_db_new();
    assert_int_equal(bw_asn_db_load(asn, asn_dir, errbuf), BW_OK);
    bw_store *store = NULL;
    bw_store_options store_opts = { .bulk_load = true };
    assert_int_equal(bw_store_open(db, &store_opts, &store, errbuf), BW_OK);
    bw_ingest_config config;
    bw_ingest_config_default(&config);
    config.asn = asn;
    config.threads = 2;
    bw_ingest_stats stats;
    const char *paths[] = { mbox };
    if (bw_ingest_paths(store, paths, 1, &config, &stats, errbuf) != BW_OK)
        fail_msg("ingest: %s", errbuf);
    print_message("ingested %llu messages in %.1f s\n", (unsigned long long)stats.messages, stats.elapsed);
    assert_int_equal(bw_store_close(store, errbuf), BW_OK);
    bw_asn_db_free(asn);

    bw_store_options ro = { .read_only = true };
    assert_int_equal(bw_store_open(db, &ro, &store, errbuf), BW_OK);
    bw_report_options opts;
    bw_report_options_default(&opts);
    opts.anomaly_name = bw_mail_anomaly_name;
    char *json = report_string(store, &opts, BW_REPORT_JSON);
    assert_non_null(strstr(json, "\"messages\": 6046,"));

    // The daily volume spans 2001 and 2002: the charted window and the months say so.
    assert_non_null(strstr(json, "\"chart\": {\"first_day\": \"2001-"));
    assert_non_null(strstr(json, "\"last_day\": \"2002-"));
    char *months = json_array(json, "per_month");
    assert_non_null(strstr(months, "\"month\": \"2001-07\""));
    assert_non_null(strstr(months, "\"month\": \"2002-08\""));
    char *days = json_array(json, "per_day");
    print_message("%zu days with mail, %zu months\n", occurrences(days, "\"day\""), occurrences(months, "\"month\""));
    // 27 days of 2001 and 174 of 2002 carry mail (sqlite3: distinct dates of seen_at).
    assert_true(occurrences(days, "\"day\": \"2001-") >= 20);
    assert_true(occurrences(days, "\"day\": \"2002-") >= 150);

    // Top sender networks, every one named.
    char *asns = json_array(json, "top_asns");
    assert_int_equal(occurrences(asns, "\"asn\": "), 10);
    assert_int_equal(occurrences(asns, "\"name\": \"\""), 0);
    // Top URL domains: the corpus's mailing lists are among them.
    char *domains = json_array(json, "top_domains");
    assert_int_equal(occurrences(domains, "\"domain\": "), 10);
    assert_non_null(strstr(domains, "\"domain\": \"sourceforge.net\""));

    char *text = report_string(store, &opts, BW_REPORT_TEXT);
    assert_non_null(strstr(text, "Messages per day\n"));
    assert_non_null(strstr(text, "Top sender networks\n"));
    assert_non_null(strstr(text, "  2001-0"));
    const char *first_asn = strstr(text, "    1  AS");
    assert_non_null(first_asn);
    print_message("%.*s\n", (int)(strchr(first_asn, '\n') - first_asn), first_asn);

    if (access(CHROMIUM, X_OK) == 0) {
        char *html = report_string(store, &opts, BW_REPORT_HTML);
        char html_path[160], png[160];
        snprintf(html_path, sizeof html_path, "%s/report.html", dir);
        snprintf(png, sizeof png, "%s/report.png", dir);
        FILE *f = fopen(html_path, "w");
        assert_non_null(f);
        fputs(html, f);
        fclose(f);
        assert_int_equal(chromium_render(dir, html_path, png, 1280, 2000), 0);
        size_t n = 0;
        uint8_t *shot = (uint8_t *)read_all(png, &n);
        assert_non_null(shot);
        png_stats ps;
        assert_true(png_decode_stats(shot, n, &ps));
        print_message("screenshot %zu bytes, %zu colours, background %.1f%%\n", n, ps.distinct_colours,
                      100 * ps.background_share);
        assert_true(ps.distinct_colours >= 50 && ps.background_share < 0.9);
        char keep[512];
        snprintf(keep, sizeof keep, "cp '%s' '%s/report_corpus_screenshot.png'", png, BW_BINARY_DIR);
        if (system(keep) != 0)
            print_message("could not keep a copy of the screenshot\n");
        free(shot);
        free(html);
    } else {
        print_message("chromium absent: HTML not rendered\n");
    }
    free(text);
    free(domains);
    free(asns);
    free(days);
    free(months);
    free(json);
    bw_store_close(store, errbuf);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_spamassassin_report) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
