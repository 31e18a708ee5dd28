// SPDX-License-Identifier: MIT
// Tests for the IP -> ASN database (include/botwatch/networks.h): known lookups on the real
// ip-location-db files (skipped when $BW_DATA lacks them), range boundaries, malformed and
// overlapping rows, every limit, and the MaxMind detection path.
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

#include "botwatch/networks.h"

static bw_ip ip_of(const char *text)
{
    bw_ip ip;
    assert_true(bw_ip_parse(bw_slice_cstr(text), &ip));
    return ip;
}

typedef struct lookup_case {
    const char *ip;
    uint32_t asn;       // 0: expect no match
    const char *org;
} lookup_case;

static void check_lookups(const bw_asn_db *db, const lookup_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bw_ip ip = ip_of(cases[i].ip);
        bw_asn_info info;
        bool found = bw_asn_lookup(db, &ip, &info);
        if (found != (cases[i].asn != 0) || info.asn != cases[i].asn)
            fail_msg("%s: expected AS%u, got AS%u (found=%d)", cases[i].ip, cases[i].asn, info.asn, found);
        if (cases[i].org && !bw_slice_eq(info.org, bw_slice_cstr(cases[i].org)))
            fail_msg("%s: expected org '%s', got '%.*s'", cases[i].ip, cases[i].org, (int)info.org.n, info.org.p);
    }
}

static double now_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_real_data(void **state)
{
    (void)state;
    const char *data = getenv("BW_DATA");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/npm-asn/package", data ? data : "");
    char v4[1100];
    snprintf(v4, sizeof v4, "%s/asn-ipv4.csv", dir);
    if (!data || access(v4, R_OK) != 0) {
        print_message("skipping: %s absent (run scripts/fetch-data.sh)\n", v4);
        skip();
    }
    bw_asn_db *db = bw_asn_db_new();
    assert_non_null(db);
    char errbuf[BW_ERRBUF_SIZE];
    double wall = now_seconds(CLOCK_MONOTONIC), cpu = now_seconds(CLOCK_PROCESS_CPUTIME_ID);
    assert_int_equal(bw_asn_db_load(db, dir, errbuf), BW_OK);
    // Printed, not asserted: the target (< 0.5 s, Release) is measured, not a test gate.
    print_message("loaded %zu ranges, %zu orgs in %.3f s wall, %.3f s CPU\n", bw_asn_db_range_count(db),
                  bw_asn_db_org_count(db), now_seconds(CLOCK_MONOTONIC) - wall,
                  now_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu);
    // Counted with Python's csv module over both files.
    assert_int_equal(bw_asn_db_range_count(db), 411961 + 103197);
    assert_int_equal(bw_asn_db_skipped_rows(db), 0);
    // One real overlap: 214.95.0.0-215.0.255.255 (AS749) and 215.0.0.0-215.1.3.255 (AS721)
    // share 215.0.0.0/16; the later-starting range wins it, so no range is added or lost.
    assert_int_equal(bw_asn_db_overlaps(db), 1);
    assert_int_equal(bw_asn_db_org_count(db), 81276);
    assert_string_equal(errbuf, "");
    static const lookup_case cases[] = {
        { "1.0.0.1", 13335, "Cloudflare, Inc." },
        { "1.0.0.0", 13335, "Cloudflare, Inc." },       // range start
        { "1.0.0.255", 13335, "Cloudflare, Inc." },     // range end
        { "1.0.1.0", 0, NULL },                         // one past: gap before 1.0.4.0
        { "1.0.3.255", 0, NULL },
        { "1.0.4.0", 38803, "Gtelecom Pty Ltd" },
        { "8.8.8.8", 15169, "Google LLC" },
        { "2.26.200.7", 201907, "LLC \"SPUTNIK\"" },    // "" unescaped
        { "214.95.0.0", 749, "United States Department of Defense (DoD)" },
        { "214.255.255.255", 749, NULL },
        { "215.0.0.0", 721, "DoD Network Information Center" },   // the overlap
        { "215.1.3.255", 721, NULL },
        { "10.1.2.3", 0, NULL },                        // private
        { "0.0.0.0", 0, NULL },
        { "255.255.255.255", 0, NULL },
        { "2606:4700::1111", 13335, "Cloudflare, Inc." },
        { "2606:4700:4e:ffff:ffff:ffff:ffff:ffff", 13335, "Cloudflare, Inc." },
        { "2606:4700:4f::", 209242, "Cloudflare London, LLC" },
        { "2001:200:1ba::1", 24047, "Internet Systems Consortium, Inc." },
        { "2001:200:1b9:ffff:ffff:ffff:ffff:ffff", 2500, "WIDE Project" },
        { "2a03:2880:f003:c07:face:b00c::2", 32934, "Facebook, Inc." },
        { "::1", 0, NULL },
    };
    check_lookups(db, cases, sizeof cases / sizeof cases[0]);

    // Lookup speed, printed: 1M pseudo-random IPv4 addresses (xorshift, fixed seed).
    uint32_t x = 2463534242u, hits = 0;
    double t1 = now_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        bw_ip ip;
        bw_ip_from_v4(x, &ip);
        bw_asn_info info;
        hits += bw_asn_lookup(db, &ip, &info);
    }
    double per = (now_seconds(CLOCK_PROCESS_CPUTIME_ID) - t1) * 1e3;   // CPU ns per lookup
    print_message("1M random IPv4 lookups: %.0f ns CPU each, %u covered\n", per, hits);
    assert_true(hits > 0);
    bw_asn_db_free(db);
}

static void test_malformed_rows(void **state)
{
    (void)state;
    static const char csv[] =
        "1.2.3.0,1.2.3.255,100,Good One\n"               // 1
        "1.2.4.300,1.2.4.9,1,bad ip\n"                   // 2
        "1.2.5.0,::1,1,mixed families\n"                 // 3
        "1.2.6.9,1.2.6.4,1,start after end\n"            // 4
        "1.2.7.0,1.2.7.9,abc,bad asn\n"                  // 5
        "1.2.8.0,1.2.8.9,4294967296,asn overflow\n"      // 6
        "1.2.9.0,1.2.9.9,1\n"                            // 7
        "1.2.10.0,1.2.10.9,1,\"unterminated\n"           // 8
        "1.2.11.0,1.2.11.9,1,\"quoted\"junk\n"           // 9
        "01.2.12.0,1.2.12.9,1,leading zero\n"            // 10
        "\n"                                             // 11: blank, not counted
        "1.2.13.0,1.2.13.255,200,\"Two, \"\"Quoted\"\"\"\r\n"  // 12: CRLF, quotes
        "1.2.14.0,1.2.14.9,1,un\"quoted quote\n"         // 13
        "2001:db8::,2001:db8::ffff,300,Six";             // 14: no final newline
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "t.csv", csv, sizeof csv - 1, errbuf), BW_OK);
    assert_string_equal(errbuf, "t.csv:2: bad IP address (row skipped)");
    assert_int_equal(bw_asn_db_range_count(db), 3);
    assert_int_equal(bw_asn_db_skipped_rows(db), 10);
    static const lookup_case cases[] = {
        { "1.2.3.0", 100, "Good One" },
        { "1.2.3.255", 100, "Good One" },
        { "1.2.4.0", 0, NULL },
        { "1.2.13.7", 200, "Two, \"Quoted\"" },
        { "2001:db8::ffff", 300, "Six" },
        { "2001:db8::1:0", 0, NULL },
    };
    check_lookups(db, cases, sizeof cases / sizeof cases[0]);
    bw_asn_db_free(db);
}

// The CSV scanner parses addresses itself (for speed); it must agree with inet_pton
// (bw_ip_parse) on what is an address and which address it is.
static void test_address_forms_match_inet_pton(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "2001:DB8::aBc", "2001:db8:0:0:1::1", "::ffff:1.2.3.5", "64:ff9b::192.0.2.1",
        "1::2::3", ":1::", "1:::2", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:", ":",
        "g::", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5",
        "1..2.3", "01.2.3.4", "1.2.3.04", "", " 1.2.3.4", "1.2.3.4 ", "1::1.2.3",
    };
    size_t n = sizeof forms / sizeof forms[0];
    bw_buf csv = BW_BUF_INIT;
    size_t valid = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bw_buf_printf(&csv, "%s,%s,%zu,form\n", forms[i], forms[i], i + 1), 0);
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "f.csv", csv.p, csv.n, errbuf), BW_OK);
    for (size_t i = 0; i < n; i++) {
        bw_ip ip;
        if (!bw_ip_parse(bw_slice_cstr(forms[i]), &ip))
            continue;
        valid++;
        bw_asn_info info;
        assert_true(bw_asn_lookup(db, &ip, &info));
        if (info.asn != i + 1)
            fail_msg("'%s': scanner read it as row %u's address", forms[i], info.asn);
    }
    assert_int_equal(bw_asn_db_range_count(db), valid);
    assert_int_equal(bw_asn_db_skipped_rows(db), n - valid);
    bw_buf_free(&csv);
    bw_asn_db_free(db);
}

// Many generated IPv4 ranges (enough for the /16 index the lookup uses on large data),
// checked against an independent binary search over the same list at every range edge
// and at random addresses.
typedef struct gen_range {
    uint32_t start, end, asn;
} gen_range;

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
    return *x;
}

static uint32_t reference_lookup(const gen_range *r, size_t n, uint32_t ip)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[mid].end < ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo].start <= ip ? r[lo].asn : 0;
}

static void check_v4(const bw_asn_db *db, const gen_range *r, size_t n, uint32_t ip)
{
    bw_ip addr;
    bw_ip_from_v4(ip, &addr);
    bw_asn_info info;
    bw_asn_lookup(db, &addr, &info);
    uint32_t expected = reference_lookup(r, n, ip);
    if (info.asn != expected)
        fail_msg("%u.%u.%u.%u: AS%u, expected AS%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
                 info.asn, expected);
}

static void test_many_ranges_match_reference(void **state)
{
    (void)state;
    enum { N = 20000 };
    gen_range *r = calloc(N, sizeof *r);
    assert_non_null(r);
    bw_buf csv = BW_BUF_INIT;
    uint32_t seed = 12345, cursor = 1 << 20;
    size_t n = 0;
    while (n < N) {
        uint32_t gap = xorshift(&seed) % 3 == 0 ? 0 : xorshift(&seed) % (1u << 17);
        uint32_t len = xorshift(&seed) % 50 == 0 ? xorshift(&seed) % (1u << 24) : xorshift(&seed) % (1u << 12);
        if ((uint64_t)cursor + gap + len >= UINT32_MAX)
            break;
        r[n] = (gen_range){ cursor + gap, cursor + gap + len, (uint32_t)n + 1 };
        cursor = r[n].end + 1;
        bw_ip a, b;
        char sa[BW_IP_STRLEN], sb[BW_IP_STRLEN];
        bw_ip_from_v4(r[n].start, &a);
        bw_ip_from_v4(r[n].end, &b);
        bw_ip_format(&a, sa);
        bw_ip_format(&b, sb);
        assert_int_equal(bw_buf_printf(&csv, "%s,%s,%u,gen\n", sa, sb, r[n].asn), 0);
        n++;
    }
    assert_true(n > 5000);
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "gen.csv", csv.p, csv.n, errbuf), BW_OK);
    assert_int_equal(bw_asn_db_range_count(db), n);
    for (size_t i = 0; i < n; i++) {
        check_v4(db, r, n, r[i].start);
        check_v4(db, r, n, r[i].end);
        check_v4(db, r, n, r[i].start - 1);
        if (r[i].end < UINT32_MAX)
            check_v4(db, r, n, r[i].end + 1);
    }
    for (int i = 0; i < 200000; i++)
        check_v4(db, r, n, xorshift(&seed));
    check_v4(db, r, n, 0);
    check_v4(db, r, n, UINT32_MAX);
    bw_asn_db_free(db);
    bw_buf_free(&csv);
    free(r);
}

static void test_overlaps_and_order(void **state)
{
    (void)state;
    // Deliberately unsorted, with nested, partial and identical overlaps and a range that
    // ends at the top of the address space.
    static const char csv[] =
        "20.0.0.50,20.0.0.200,4,partial later\n"
        "10.0.1.0,10.0.1.255,2,inner\n"
        "10.0.0.0,10.0.255.255,1,outer\n"
        "20.0.0.0,20.0.0.100,3,partial earlier\n"
        "30.0.0.0,30.0.0.255,5,first copy\n"
        "30.0.0.0,30.0.0.255,6,second copy\n"
        "10.0.1.128,10.0.1.128,7,innermost\n"
        "ffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,8,top\n"
        "ffff:ffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,9,top inner\n"
        "40.0.0.0,40.255.255.255,10,spans many /16s\n"
        "250.0.0.0,255.255.255.255,11,ends at the top of IPv4\n";
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "o.csv", csv, sizeof csv - 1, errbuf), BW_OK);
    assert_int_equal(bw_asn_db_skipped_rows(db), 0);
    assert_int_equal(bw_asn_db_overlaps(db), 5);
    static const lookup_case cases[] = {
        { "10.0.0.0", 1, "outer" },
        { "10.0.0.255", 1, NULL },
        { "10.0.1.0", 2, "inner" },
        { "10.0.1.127", 2, NULL },
        { "10.0.1.128", 7, "innermost" },
        { "10.0.1.129", 2, NULL },
        { "10.0.1.255", 2, NULL },
        { "10.0.2.0", 1, NULL },
        { "10.0.255.255", 1, NULL },
        { "10.1.0.0", 0, NULL },
        { "20.0.0.49", 3, NULL },
        { "20.0.0.50", 4, NULL },
        { "20.0.0.100", 4, NULL },
        { "20.0.0.200", 4, NULL },
        { "20.0.0.201", 0, NULL },
        { "30.0.0.7", 5, "first copy" },
        { "39.255.255.255", 0, NULL },
        { "40.0.0.0", 10, NULL },
        { "40.128.7.1", 10, "spans many /16s" },   // its /16 has no range starting in it
        { "40.255.255.255", 10, NULL },
        { "41.0.0.0", 0, NULL },
        { "249.255.255.255", 0, NULL },
        { "255.255.255.255", 11, NULL },
        { "::1:0:0:0", 0, NULL },                 // just above the IPv4-mapped block
        { "ffff::1", 8, NULL },
        { "ffff:fffe:ffff:ffff:ffff:ffff:ffff:ffff", 8, NULL },
        { "ffff:ffff::", 9, NULL },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9, NULL },
    };
    check_lookups(db, cases, sizeof cases / sizeof cases[0]);
    // A second source appended later is merged into the same order.
    static const char more[] = "1.1.1.0,1.1.1.255,13335,\"Cloudflare, Inc.\"\n";
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "m.csv", more, sizeof more - 1, errbuf), BW_OK);
    static const lookup_case after[] = { { "1.1.1.1", 13335, "Cloudflare, Inc." }, { "10.0.1.128", 7, NULL } };
    check_lookups(db, after, 2);
    bw_asn_db_free(db);
}

static void test_limits(void **state)
{
    (void)state;
    static const char csv[] =
        "1.0.0.0,1.0.0.255,1,aaaa\n"
        "2.0.0.0,2.0.0.255,2,bbbb bbbb bbbb bbbb bbbb\n"
        "3.0.0.0,3.0.0.255,3,cc\n";
    char errbuf[BW_ERRBUF_SIZE];
    bw_asn_limits limits;

    bw_asn_limits_default(&limits);
    limits.max_ranges = 2;
    bw_asn_db *db = bw_asn_db_new_with_limits(&limits);
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "l.csv", csv, sizeof csv - 1, errbuf), BW_ERR_LIMIT);
    assert_string_equal(errbuf, "l.csv:3: more than 2 ranges (max_ranges); rest of file not loaded");
    assert_int_equal(bw_asn_db_range_count(db), 2);   // what was loaded is kept
    bw_asn_db_free(db);

    bw_asn_limits_default(&limits);
    limits.max_line_bytes = 30;
    db = bw_asn_db_new_with_limits(&limits);
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "l.csv", csv, sizeof csv - 1, errbuf), BW_OK);
    assert_string_equal(errbuf, "l.csv:2: row longer than max_line_bytes (row skipped)");
    assert_int_equal(bw_asn_db_range_count(db), 2);
    bw_asn_db_free(db);

    bw_asn_limits_default(&limits);
    limits.max_org_bytes = 4;
    db = bw_asn_db_new_with_limits(&limits);
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "l.csv", csv, sizeof csv - 1, errbuf), BW_OK);
    assert_string_equal(errbuf, "l.csv:2: organisation name longer than max_org_bytes (row skipped)");
    assert_int_equal(bw_asn_db_skipped_rows(db), 1);
    bw_asn_db_free(db);

    char path[] = "/tmp/bw-asn-limit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, csv, sizeof csv - 1), (ssize_t)(sizeof csv - 1));
    close(fd);
    bw_asn_limits_default(&limits);
    limits.max_file_bytes = 10;
    db = bw_asn_db_new_with_limits(&limits);
    assert_int_equal(bw_asn_db_load(db, path, errbuf), BW_ERR_LIMIT);
    assert_non_null(strstr(errbuf, "max_file_bytes"));
    assert_int_equal(bw_asn_db_range_count(db), 0);
    bw_asn_db_free(db);
    unlink(path);
}

static void test_load_errors(void **state)
{
    (void)state;
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load(db, "/nonexistent/asn.csv", errbuf), BW_ERR_IO);
    assert_string_equal(errbuf, "/nonexistent/asn.csv: No such file or directory");
    char dir[] = "/tmp/bw-asn-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(bw_asn_db_load(db, dir, errbuf), BW_ERR_NOTFOUND);
    rmdir(dir);
    bw_asn_db_free(db);
}

static void test_mmdb_detection(void **state)
{
    (void)state;
    static const char marker[] = "\xAB\xCD\xEFMaxMind.com";
    size_t n = 300 * 1024;
    char *buf = calloc(1, n);
    assert_non_null(buf);
    assert_false(bw_asn_is_mmdb(buf, n));
    memcpy(buf + n - 100, marker, sizeof marker - 1);
    assert_true(bw_asn_is_mmdb(buf, n));
    memset(buf + n - 100, 0, sizeof marker - 1);
    memcpy(buf + 1000, marker, sizeof marker - 1);   // too far from the end: not metadata
    assert_false(bw_asn_is_mmdb(buf, n));
    assert_false(bw_asn_is_mmdb(marker, 5));

    // A file with the marker but no valid metadata is sent to libmaxminddb, which refuses
    // it: the CSV scanner must not be tried on it.
    char path[] = "/tmp/bw-mmdb-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char fake[] = "1.0.0.0,1.0.0.255,1,x\n\xAB\xCD\xEFMaxMind.com\x00";
    assert_int_equal(write(fd, fake, sizeof fake - 1), (ssize_t)(sizeof fake - 1));
    close(fd);
    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_asn_db_load(db, path, errbuf), BW_ERR_PARSE);
    assert_non_null(strstr(errbuf, path));
    assert_int_equal(bw_asn_db_range_count(db), 0);
    assert_int_equal(bw_asn_db_mmdb_count(db), 0);
    bw_asn_db_free(db);
    unlink(path);
    free(buf);
}

// ---- A MaxMind DB written from the published format (MaxMind DB spec 2.0), so the .mmdb
// path is tested against libmaxminddb itself without shipping a third-party database.
// IPv4 tree (ip_version 4), 24-bit records, a handful of prefixes.

typedef struct mmdb_writer {
    bw_buf data;            // data section
    int64_t (*records)[2];  // per node: >= 0 node index, -1 empty, <= -2 data offset -(off+2)
    size_t node_count;
} mmdb_writer;

static void mm_control(bw_buf *b, unsigned type, size_t size)
{
    assert_true(size < 29 + 256);   // sizes 29..284 take one extra byte
    size_t low = size < 29 ? size : 29;
    assert_int_equal(bw_buf_append_char(b, (char)((type <= 7 ? type : 0) << 5 | low)), 0);
    if (type > 7)
        assert_int_equal(bw_buf_append_char(b, (char)(type - 7)), 0);
    if (size >= 29)
        assert_int_equal(bw_buf_append_char(b, (char)(size - 29)), 0);
}

static void mm_string(bw_buf *b, const char *s)
{
    mm_control(b, 2, strlen(s));
    assert_int_equal(bw_buf_append_cstr(b, s), 0);
}

static void mm_uint(bw_buf *b, unsigned type, uint64_t v)   // 5 uint16, 6 uint32, 9 uint64
{
    uint8_t bytes[8];
    size_t n = 0;
    for (uint64_t x = v; x; x >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    mm_control(b, type, n);
    assert_int_equal(bw_buf_append(b, bytes, n), 0);
}

// Inserts prefix a.b.c.d/len pointing at data_offset.
static void mm_insert(mmdb_writer *w, const char *v4, unsigned len, size_t data_offset)
{
    bw_ip ip = ip_of(v4);
    uint32_t addr = bw_ip_v4(&ip);
    size_t node = 0;
    for (unsigned bit = 0; bit < len; bit++) {
        int side = (addr >> (31 - bit)) & 1;
        if (bit == len - 1) {
            w->records[node][side] = -(int64_t)data_offset - 2;
            return;
        }
        if (w->records[node][side] < 0) {
            w->records = realloc(w->records, (w->node_count + 1) * sizeof *w->records);
            assert_non_null(w->records);
            w->records[w->node_count][0] = w->records[w->node_count][1] = -1;
            w->records[node][side] = (int64_t)w->node_count++;
        }
        node = (size_t)w->records[node][side];
    }
}

static void write_test_mmdb(const char *path)
{
    mmdb_writer w = { .data = BW_BUF_INIT, .records = malloc(sizeof *w.records), .node_count = 1 };
    assert_non_null(w.records);
    w.records[0][0] = w.records[0][1] = -1;

    size_t as_only = w.data.n;
    mm_control(&w.data, 7, 2);
    mm_string(&w.data, "autonomous_system_number");
    mm_uint(&w.data, 6, 64500);
    mm_string(&w.data, "autonomous_system_organization");
    mm_string(&w.data, "Example Transit, Inc.");
    size_t as_and_country = w.data.n;
    mm_control(&w.data, 7, 3);
    mm_string(&w.data, "autonomous_system_number");
    mm_uint(&w.data, 6, 64501);
    mm_string(&w.data, "autonomous_system_organization");
    mm_string(&w.data, "Doc Net Two");
    mm_string(&w.data, "country");
    mm_control(&w.data, 7, 1);
    mm_string(&w.data, "iso_code");
    mm_string(&w.data, "NL");
    size_t country_only = w.data.n;
    mm_control(&w.data, 7, 1);
    mm_string(&w.data, "country");
    mm_control(&w.data, 7, 1);
    mm_string(&w.data, "iso_code");
    mm_string(&w.data, "DE");

    mm_insert(&w, "192.0.2.0", 24, as_only);
    mm_insert(&w, "198.51.100.0", 25, as_and_country);
    mm_insert(&w, "203.0.113.0", 24, country_only);

    bw_buf file = BW_BUF_INIT;
    for (size_t i = 0; i < w.node_count; i++) {
        for (int side = 0; side < 2; side++) {
            int64_t r = w.records[i][side];
            uint64_t value = r >= 0 ? (uint64_t)r
                           : r == -1 ? w.node_count
                           : w.node_count + 16 + (uint64_t)(-r - 2);
            uint8_t bytes[3] = { (uint8_t)(value >> 16), (uint8_t)(value >> 8), (uint8_t)value };
            assert_int_equal(bw_buf_append(&file, bytes, 3), 0);
        }
    }
    static const uint8_t separator[16] = { 0 };
    assert_int_equal(bw_buf_append(&file, separator, 16), 0);
    assert_int_equal(bw_buf_append(&file, w.data.p, w.data.n), 0);
    assert_int_equal(bw_buf_append_cstr(&file, "\xAB\xCD\xEFMaxMind.com"), 0);
    mm_control(&file, 7, 9);
    mm_string(&file, "node_count");
    mm_uint(&file, 6, w.node_count);
    mm_string(&file, "record_size");
    mm_uint(&file, 5, 24);
    mm_string(&file, "ip_version");
    mm_uint(&file, 5, 4);
    mm_string(&file, "database_type");
    mm_string(&file, "botwatch-test-ASN");
    mm_string(&file, "languages");
    mm_control(&file, 11, 1);
    mm_string(&file, "en");
    mm_string(&file, "binary_format_major_version");
    mm_uint(&file, 5, 2);
    mm_string(&file, "binary_format_minor_version");
    mm_uint(&file, 5, 0);
    mm_string(&file, "build_epoch");
    mm_uint(&file, 9, 1700000000);
    mm_string(&file, "description");
    mm_control(&file, 7, 1);
    mm_string(&file, "en");
    mm_string(&file, "botwatch test fixture");

    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(file.p, 1, file.n, f), file.n);
    assert_int_equal(fclose(f), 0);
    bw_buf_free(&file);
    bw_buf_free(&w.data);
    free(w.records);
}

static void test_mmdb_lookups(void **state)
{
    (void)state;
    char path[] = "/tmp/bw-test-XXXXXX.mmdb";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    write_test_mmdb(path);

    bw_asn_db *db = bw_asn_db_new();
    char errbuf[BW_ERRBUF_SIZE];
    // CSV first, to show the .mmdb is asked first whatever the load order.
    static const char csv[] = "192.0.2.0,192.0.2.255,1,csv says\n203.0.113.0,203.0.113.255,64503,Csv Net\n";
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "c.csv", csv, sizeof csv - 1, errbuf), BW_OK);
    assert_int_equal(bw_asn_db_load(db, path, errbuf), BW_OK);
    assert_int_equal(bw_asn_db_mmdb_count(db), 1);
    assert_int_equal(bw_asn_db_range_count(db), 2);

    static const struct {
        const char *ip;
        uint32_t asn;
        const char *org, *country;
    } cases[] = {
        { "192.0.2.0", 64500, "Example Transit, Inc.", "" },
        { "192.0.2.255", 64500, "Example Transit, Inc.", "" },
        { "198.51.100.127", 64501, "Doc Net Two", "NL" },
        { "198.51.100.128", 0, "", "" },                // one past the /25
        { "203.0.113.9", 64503, "Csv Net", "DE" },      // ASN from CSV, country from mmdb
        { "192.0.3.0", 0, "", "" },
        { "2001:db8::1", 0, "", "" },                   // IPv6 asked of an IPv4-only db
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bw_ip ip = ip_of(cases[i].ip);
        bw_asn_info info;
        bool found = bw_asn_lookup(db, &ip, &info);
        assert_int_equal(found, cases[i].asn != 0 || cases[i].country[0]);
        if (info.asn != cases[i].asn || !bw_slice_eq(info.org, bw_slice_cstr(cases[i].org))
            || !bw_slice_eq(info.country, bw_slice_cstr(cases[i].country)))
            fail_msg("%s: got AS%u '%.*s' %.*s", cases[i].ip, info.asn, (int)info.org.n, info.org.p,
                     (int)info.country.n, info.country.p);
    }
    bw_asn_db_free(db);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_data),
        cmocka_unit_test(test_malformed_rows),
        cmocka_unit_test(test_address_forms_match_inet_pton),
        cmocka_unit_test(test_many_ranges_match_reference),
        cmocka_unit_test(test_overlaps_and_order),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_mmdb_detection),
        cmocka_unit_test(test_mmdb_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
