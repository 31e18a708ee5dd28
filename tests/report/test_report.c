// SPDX-License-Identifier: MIT
// Report and export on the fixed fixture database (fixture_db.c): exact totals and table
// lines, golden files for the text (non-TTY), JSON and CSV reports and both export formats
// (tests/report/golden/*.ref; BW_UPDATE_GOLDEN=1 rewrites them), escaping of hostile
// strings in every format, time ranges, the report-time ASN lookup and write errors.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "botwatch/report.h"
#include "fixture_db.h"

static char db_path[256];
static char db_noasn_path[256];
static char tmp_dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmp_dir, "/tmp/bw-report-XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/fixture.db", tmp_dir);
    snprintf(db_noasn_path, sizeof db_noasn_path, "%s/noasn.db", tmp_dir);
    // BW_REPORT_FIXTURE_OUT=path also leaves a copy behind, to try the CLI on by hand.
    const char *keep = getenv("BW_REPORT_FIXTURE_OUT");
    if (keep && fixture_db_create(keep, true) != 0)
        return -1;
    return fixture_db_create(db_path, true) || fixture_db_create(db_noasn_path, false);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bw_store *open_store(const char *path)
{
    bw_store_options opts = { .read_only = true };
    bw_store *store = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    if (bw_store_open(path, &opts, &store, errbuf) != BW_OK)
        fail_msg("open %s: %s", path, errbuf);
    return store;
}

// Runs the report into a string (caller frees).
static char *report_string(const char *path, const bw_report_options *opts, bw_report_format format, size_t *len)
{
    bw_store *store = open_store(path);
    bw_report *report = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    if (bw_report_build(store, opts, &report, errbuf) != BW_OK)
        fail_msg("build: %s", errbuf);
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    assert_int_equal(bw_report_write(report, format, f, errbuf), BW_OK);
    fclose(f);
    bw_report_free(report);
    bw_store_close(store, errbuf);
    if (len)
        *len = n;
    return text;
}

static char *export_string(const char *path, bw_export_format format, const bw_store_range *range, uint64_t *rows)
{
    bw_store *store = open_store(path);
    char errbuf[BW_ERRBUF_SIZE];
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    if (bw_export_messages(store, range, format, fixture_anomaly_name, f, rows, errbuf) != BW_OK)
        fail_msg("export: %s", errbuf);
    fclose(f);
    bw_store_close(store, errbuf);
    return text;
}

static void check_golden(const char *name, const char *actual)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/report/golden/%s", BW_SOURCE_DIR, name);
    if (getenv("BW_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(actual, f);
        fclose(f);
        print_message("updated %s\n", path);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s missing (run with BW_UPDATE_GOLDEN=1 once and review it)", path);
    char *expected = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&expected, &n);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(m);
    fclose(f);
    if (strcmp(expected, actual) != 0) {
        char out[512];
        snprintf(out, sizeof out, "%s/%s.actual", BW_BINARY_DIR, name);
        FILE *a = fopen(out, "wb");
        if (a) {
            fputs(actual, a);
            fclose(a);
        }
        free(expected);
        fail_msg("%s differs from the golden file: diff %s %s", name, path, out);
    }
    free(expected);
}

static bw_report_options fixture_options(void)
{
    bw_report_options opts;
    bw_report_options_default(&opts);
    opts.anomaly_name = fixture_anomaly_name;
    return opts;
}

static void test_totals_and_tables(void **state)
{
    (void)state;
    bw_store *store = open_store(db_path);
    bw_report_options opts = fixture_options();
    bw_report *report = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_report_build(store, &opts, &report, errbuf), BW_OK);
    const bw_store_totals *t = bw_report_totals(report);
    assert_int_equal(t->messages, FIXTURE_MESSAGES);
    assert_int_equal(t->unparsed, FIXTURE_UNPARSED);
    assert_int_equal(t->with_sender_ip, FIXTURE_WITH_IP);
    assert_int_equal(t->with_asn, FIXTURE_WITH_ASN);
    assert_int_equal(t->sources, FIXTURE_SOURCES);
    assert_int_equal(t->duplicates, FIXTURE_DUPLICATES);
    assert_int_equal(t->errors, FIXTURE_ERRORS);
    bw_report_free(report);
    bw_store_close(store, errbuf);

    char *json = report_string(db_path, &opts, BW_REPORT_JSON, NULL);
    static const char *const expected[] = {
        ("{\"day\": \"2002-01-05\", \"messages\": 2}, {\"day\": \"2002-01-06\", \"messages\": 2}, "
         "{\"day\": \"2002-02-10\", \"messages\": 2}, {\"day\": \"2002-02-11\", \"messages\": 1}"),
        "{\"month\": \"2002-01\", \"messages\": 4}",
        "{\"month\": \"2002-02\", \"messages\": 3}",
        "{\"asn\": 64500, \"name\": \"Example Transit, Inc.\", \"country\": \"US\", \"messages\": 2, \"share\": 0.2222}",
        "{\"asn\": 64502, \"name\": \"IPv6 Only GmbH\", \"country\": \"DE\", \"messages\": 1, \"share\": 0.1111}",
        "{\"country\": \"NL\", \"messages\": 2",
        "{\"domain\": \"pills.example\", \"messages\": 4, \"share\": 0.4444}",
        "{\"subject\": \"Cheap meds\", \"messages\": 3, \"share\": 0.3333}",
        "{\"name\": \"missing_date\", \"messages\": 3",
        "{\"name\": \"bad_boundary\", \"messages\": 2",
        "\"ingest_errors\": {\"count\": 2",
        "\"reason\": \"parse: truncated <message> at EOF\"",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(json, expected[i]))
            fail_msg("JSON lacks: %s\n%s", expected[i], json);
    free(json);
}

static void test_golden_outputs(void **state)
{
    (void)state;
    bw_report_options opts = fixture_options();
    char *text = report_string(db_path, &opts, BW_REPORT_TEXT, NULL);
    check_golden("report.txt.ref", text);
    free(text);
    char *csv = report_string(db_path, &opts, BW_REPORT_CSV, NULL);
    check_golden("report.csv.ref", csv);
    free(csv);
    char *json = report_string(db_path, &opts, BW_REPORT_JSON, NULL);
    check_golden("report.json.ref", json);
    free(json);
    uint64_t rows = 0;
    char *export_csv = export_string(db_path, BW_EXPORT_CSV, &BW_STORE_RANGE_ALL, &rows);
    assert_int_equal(rows, FIXTURE_MESSAGES);
    check_golden("export.csv.ref", export_csv);
    free(export_csv);
    char *export_jsonl = export_string(db_path, BW_EXPORT_JSONL, &BW_STORE_RANGE_ALL, &rows);
    assert_int_equal(rows, FIXTURE_MESSAGES);
    check_golden("export.jsonl.ref", export_jsonl);
    free(export_jsonl);
}

static void test_hostile_strings_escaped(void **state)
{
    (void)state;
    bw_report_options opts = fixture_options();
    opts.tty = true;
    char *text = report_string(db_path, &opts, BW_REPORT_TEXT, NULL);
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\r'));
    assert_null(strstr(text, "\xe2\x80\xae"));              // RIGHT-TO-LEFT OVERRIDE
    assert_non_null(strstr(text, "Terminal [31mred[0m evil bad \xef\xbf\xbd\xef\xbf\xbd utf8"));
    assert_non_null(strstr(text, "Line break"));
    assert_non_null(strstr(text, "\xe2\x96\x88"));            // the sparkline's full block on a TTY
    free(text);

    char *html = report_string(db_path, &opts, BW_REPORT_HTML, NULL);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;win&quot;"));
    assert_non_null(strstr(html, "Evil &lt;b&gt;Net&lt;/b&gt;, &quot;Ltd&quot;"));
    assert_null(strstr(html, "\x1b"));
    assert_null(strstr(html, "http://"));                    // self-contained: nothing fetched
    assert_null(strstr(html, "https://"));
    free(html);

    uint64_t rows;
    char *csv = export_string(db_path, BW_EXPORT_CSV, &BW_STORE_RANGE_ALL, &rows);
    assert_non_null(strstr(csv, ",\"Comma, \"\"quoted\"\" subject\","));
    assert_non_null(strstr(csv, ",\"helo,with,commas\","));
    assert_non_null(strstr(csv, ",\"Line\r\nbreak\","));
    assert_non_null(strstr(csv, ",pills.example;example.org,missing_date,"));
    free(csv);
    char *jsonl = export_string(db_path, BW_EXPORT_JSONL, &BW_STORE_RANGE_ALL, &rows);
    assert_non_null(strstr(jsonl, "\"subject\": \"Terminal \\u001b[31mred\\u001b[0m"));
    assert_non_null(strstr(jsonl, "\"url_domains\": [\"pills.example\", \"example.org\"]"));
    assert_non_null(strstr(jsonl, "\"anomalies\": [\"missing_date\", \"bad_boundary\"]"));
    // One JSON object per line: rows lines, no raw newline inside a value.
    size_t lines = 0;
    for (const char *p = jsonl; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, FIXTURE_MESSAGES);
    free(jsonl);
}

static void test_ascii_when_piped(void **state)
{
    (void)state;
    bw_report_options opts = fixture_options();
    char *text = report_string(db_path, &opts, BW_REPORT_TEXT, NULL);
    const char *spark = strstr(text, "\n  |");
    assert_non_null(spark);
    for (const char *p = spark + 1; *p != '\n'; p++)
        assert_true((unsigned char)*p < 0x80);
    const char *months = strstr(text, "Messages per month");
    assert_non_null(months);
    assert_non_null(strstr(months, "2002-01           4  ##############################\n"));
    free(text);
}

static void test_time_range(void **state)
{
    (void)state;
    bw_report_options opts = fixture_options();
    opts.range = (bw_store_range){ .has_since = true, .since = 1012521600 };   // 2002-02-01
    bw_store *store = open_store(db_path);
    bw_report *report = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_report_build(store, &opts, &report, errbuf), BW_OK);
    assert_int_equal(bw_report_totals(report)->messages, 3);   // m5, m6, m8; undated excluded
    bw_report_free(report);
    bw_store_close(store, errbuf);
    uint64_t rows = 0;
    bw_store_range until = { .has_until = true, .until = 1010275200 };          // 2002-01-06 00:00
    char *csv = export_string(db_path, BW_EXPORT_CSV, &until, &rows);
    assert_int_equal(rows, 2);
    free(csv);
}

static void test_networks_looked_up_at_report_time(void **state)
{
    (void)state;
    static const char ranges[] =
        "192.0.2.0,192.0.2.255,64500,Example Transit\n"
        "198.51.100.0,198.51.100.255,64501,Evil Net\n"
        "2001:db8::,2001:db8::ffff,64502,IPv6 Only GmbH\n";
    bw_asn_db *asn = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load_csv_buffer(asn, "t.csv", ranges, sizeof ranges - 1, errbuf), BW_OK);
    bw_report_options opts = fixture_options();
    char *without = report_string(db_noasn_path, &opts, BW_REPORT_JSON, NULL);
    assert_non_null(strstr(without, "\"top_asns\": []"));
    free(without);
    opts.asn_db = asn;
    char *json = report_string(db_noasn_path, &opts, BW_REPORT_JSON, NULL);
    assert_non_null(strstr(json, "\"with_asn\": 5"));
    assert_non_null(strstr(json, "\"networks_looked_up\": true"));
    assert_non_null(strstr(json, "{\"asn\": 64500, \"name\": \"Example Transit\", \"country\": \"\", \"messages\": 2"));
    assert_non_null(strstr(json, "{\"asn\": 64501, \"name\": \"Evil Net\", \"country\": \"\", \"messages\": 2"));
    assert_non_null(strstr(json, "{\"asn\": 64502, \"name\": \"IPv6 Only GmbH\", \"country\": \"\", \"messages\": 1"));
    free(json);
    bw_asn_db_free(asn);
}

static void test_top_limit_and_empty_db(void **state)
{
    (void)state;
    bw_report_options opts = fixture_options();
    opts.top = 1;
    char *json = report_string(db_path, &opts, BW_REPORT_JSON, NULL);
    assert_null(strstr(json, "64501"));
    assert_non_null(strstr(json, "64500"));
    free(json);

    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty.db", tmp_dir);
    bw_store *store = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_store_open(empty, NULL, &store, errbuf), BW_OK);
    bw_store_close(store, errbuf);
    for (int f = BW_REPORT_TEXT; f <= BW_REPORT_HTML; f++) {
        size_t n = 0;
        char *out = report_string(empty, &opts, (bw_report_format)f, &n);
        assert_true(n > 100);
        free(out);
    }
    uint64_t rows = 1;
    char *csv = export_string(empty, BW_EXPORT_CSV, &BW_STORE_RANGE_ALL, &rows);
    assert_int_equal(rows, 0);
    assert_string_equal(csv, "sha256,message_id,date,received_at,seen_at,sender_ip,helo,asn,as_name,subject,from,"
                             "envelope_from,url_domains,anomalies,source,source_offset,size,parsed,campaign_id,"
                             "rule_labels,botnet_id\r\n");
    free(csv);
}

// Forged arrival times at the ends of the 64-bit range must not break the chart maths
// (UBSan checks for signed overflow) nor hide the real days.
static void test_extreme_times(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/extreme.db", tmp_dir);
    bw_store *store = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_store_open(path, NULL, &store, errbuf), BW_OK);
    int64_t source;
    assert_int_equal(bw_store_source_open(store, "x.mbox", "mbox", &source, errbuf), BW_OK);
    static const int64_t times[] = { INT64_MIN + 1, INT64_MAX, -62135596800 - 86400, 253402300800,
                                     1010224800, 1010224800 + 86400, 1010224800 + 2 * 86400 };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        for (int copy = 0; copy < (i >= 4 ? 200 : 1); copy++) {
            bw_message msg = { .subject = BW_SLICE_LIT("t"), .part_count = 1 };
            bw_received_hop hop = { .time = (time_t)times[i], .has_time = true };
            bw_mail_record rec = { .message = &msg, .received = &hop, .received_count = 1, .sender_hop = -1 };
            char seed[32];
            snprintf(seed, sizeof seed, "x-%zu-%d", i, copy);
            uint8_t digest[BW_SHA256_LEN];
            bw_sha256(seed, strlen(seed), digest);
            bw_hex(digest, sizeof digest, rec.sha256);
            bw_store_message_meta meta = { .source_id = source, .size = 1 };
            bool inserted;
            assert_int_equal(bw_store_add_message(store, &rec, &meta, &inserted, errbuf), BW_OK);
        }
    }
    assert_int_equal(bw_store_close(store, errbuf), BW_OK);
    bw_report_options opts = fixture_options();
    for (int f = BW_REPORT_TEXT; f <= BW_REPORT_HTML; f++) {
        char *out = report_string(path, &opts, (bw_report_format)f, NULL);
        if (f == BW_REPORT_JSON) {
            // The chart keeps to the three real days; the four forged ones are counted outside.
            assert_non_null(strstr(out, "\"chart\": {\"first_day\": \"2002-01-05\", \"last_day\": \"2002-01-07\","
                                        " \"messages_outside\": 4}"));
        }
        free(out);
    }
    uint64_t rows = 0;
    char *csv = export_string(path, BW_EXPORT_CSV, &BW_STORE_RANGE_ALL, &rows);
    assert_int_equal(rows, 604);
    free(csv);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        print_message("skipping: /dev/full absent\n");
        skip();
    }
    bw_store *store = open_store(db_path);
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_export_messages(store, &BW_STORE_RANGE_ALL, BW_EXPORT_CSV, NULL, f, NULL, errbuf), BW_ERR_IO);
    bw_report_options opts = fixture_options();
    bw_report *report = NULL;
    assert_int_equal(bw_report_build(store, &opts, &report, errbuf), BW_OK);
    assert_int_equal(bw_report_write(report, BW_REPORT_HTML, f, errbuf), BW_ERR_IO);
    bw_report_free(report);
    bw_store_close(store, errbuf);
    fclose(f);
}

static void test_format_names(void **state)
{
    (void)state;
    bw_report_format rf;
    bw_export_format ef;
    assert_true(bw_report_format_parse("html", &rf) && rf == BW_REPORT_HTML);
    assert_false(bw_report_format_parse("xml", &rf));
    assert_true(bw_export_format_parse("jsonl", &ef) && ef == BW_EXPORT_JSONL);
    assert_false(bw_export_format_parse("json", &ef));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totals_and_tables),
        cmocka_unit_test(test_golden_outputs),
        cmocka_unit_test(test_hostile_strings_escaped),
        cmocka_unit_test(test_ascii_when_piped),
        cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_networks_looked_up_at_report_time),
        cmocka_unit_test(test_top_limit_and_empty_db),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
