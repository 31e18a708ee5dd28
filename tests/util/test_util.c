// SPDX-License-Identifier: MIT
// Unit tests for the util module: buffers, JSON escaping, arena caps, SipHash and SHA-256
// against their published test vectors.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/arena.h"
#include "botwatch/hash.h"
#include "botwatch/ip.h"
#include "botwatch/select.h"
#include "botwatch/sort.h"
#include "botwatch/str.h"

static void test_buf_growth(void **state)
{
    (void)state;
    bw_buf b = BW_BUF_INIT;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(bw_buf_printf(&b, "%d,", i % 10), 0);
    assert_int_equal(b.n, 20000);
    assert_memory_equal(b.p, "0,1,2,", 6);
    assert_int_equal(b.p[b.n], '\0');
    bw_buf_free(&b);
    assert_null(b.p);
}

static void test_json_string(void **state)
{
    (void)state;
    bw_buf b = BW_BUF_INIT;
    const char in[] = "a\"b\\c\n\x01\xff\xc3\xa9";
    assert_int_equal(bw_buf_append_json_string(&b, bw_slice_make(in, sizeof in - 1)), 0);
    assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xc3\xa9\"");
    bw_buf_free(&b);
}

static void test_escaped(void **state)
{
    (void)state;
    bw_buf b = BW_BUF_INIT;
    assert_int_equal(bw_buf_append_escaped(&b, BW_SLICE_LIT("ok\r\nlonger"), 6), 0);
    assert_string_equal(b.p, "ok\\x0d\\x0alo...");
    bw_buf_free(&b);
}

static void test_slices(void **state)
{
    (void)state;
    assert_true(bw_slice_eq_ci_cstr(BW_SLICE_LIT("Content-Type"), "content-type"));
    assert_false(bw_slice_eq_ci_cstr(BW_SLICE_LIT("Content-Typ"), "content-type"));
    bw_slice t = bw_slice_trim(BW_SLICE_LIT(" \t x y\r\n"));
    assert_int_equal(t.n, 3);
    assert_int_equal(bw_slice_find(BW_SLICE_LIT("abcabd"), BW_SLICE_LIT("abd")), 3);
    assert_int_equal(bw_slice_find(BW_SLICE_LIT("abc"), BW_SLICE_LIT("x")), -1);
}

static void test_arena_cap(void **state)
{
    (void)state;
    bw_arena *a = bw_arena_new(200000);
    assert_non_null(a);
    assert_non_null(bw_arena_alloc(a, 100000));
    assert_non_null(bw_arena_alloc(a, 90000));
    assert_null(bw_arena_alloc(a, 20000));   // over the cap
    bw_arena_reset(a);
    assert_int_equal(bw_arena_used(a), 0);
    char *s = bw_arena_memdup(a, "abc", 3);
    assert_string_equal(s, "abc");
    bw_arena_free(a);
}

static void test_siphash_vector(void **state)
{
    (void)state;
    // Reference vector from the SipHash paper: key 00..0f, message 00..0e (15 bytes).
    bw_hash_key key = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    assert_true(bw_siphash(&key, msg, 15) == 0xa129ca6149be45e5ULL);
}

static void test_siphash13_vector(void **state)
{
    (void)state;
    // SipHash-1-3 with the paper's key and messages 00..n-1: values of the implementation
    // the URL module had before it moved here (empty, one whole block, block + 7 bytes).
    bw_hash_key key = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    assert_true(bw_siphash13(&key, msg, 0) == 0xabac0158050fc4dcULL);
    assert_true(bw_siphash13(&key, msg, 8) == 0x369095118d299a8eULL);
    assert_true(bw_siphash13(&key, msg, 15) == 0xd320d86d2a519956ULL);
    assert_true(bw_siphash13(&key, msg, 15) != bw_siphash(&key, msg, 15));
}

static void test_sha256_vector(void **state)
{
    (void)state;
    uint8_t d[BW_SHA256_LEN];
    char hex[BW_SHA256_HEX_LEN + 1];
    bw_sha256("abc", 3, d);
    bw_hex(d, sizeof d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Elements with few distinct keys (many ties) and their input position, to check that the
// merge sort keeps equal keys in input order and that quickselect puts the k-th key at k.
typedef struct keyed {
    uint32_t key;
    uint32_t pos;
} keyed;

static inline bool key_less(const keyed *a, const keyed *b) { return a->key < b->key; }
BW_DEFINE_SORT(sort_keyed, keyed, key_less)
BW_DEFINE_SELECT(select_keyed, keyed, key_less)

static int cmp_key_pos(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static void test_sort_and_select(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    // Sizes around the insertion runs (16) and the merge widths, and a large one.
    const size_t sizes[] = { 0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 257, 1000, 4097, 100000 };
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        keyed *v = malloc((n ? n : 1) * sizeof *v), *ref = malloc((n ? n : 1) * sizeof *ref);
        assert_non_null(v);
        assert_non_null(ref);
        for (int round = 0; round < 3; round++) {
            uint32_t range = round == 0 ? 4 : round == 1 ? 1000 : UINT32_MAX;   // ties, some, few
            for (size_t i = 0; i < n; i++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                v[i] = (keyed){ (uint32_t)(rng >> 32) % (range == UINT32_MAX ? UINT32_MAX : range), (uint32_t)i };
            }
            memcpy(ref, v, n * sizeof *v);
            if (n)
                qsort(ref, n, sizeof *ref, cmp_key_pos);   // stable by construction: pos breaks ties
            if (n) {
                // Quickselect: v[k] has the k-th key, nothing before it is larger, nothing after smaller.
                keyed *w = malloc(n * sizeof *w);
                assert_non_null(w);
                for (size_t k = 0; k < n; k += n / 7 + 1) {
                    memcpy(w, v, n * sizeof *v);
                    select_keyed(w, n, k);
                    assert_int_equal(w[k].key, ref[k].key);
                    for (size_t i = 0; i < k; i++)
                        assert_true(w[i].key <= w[k].key);
                    for (size_t i = k + 1; i < n; i++)
                        assert_true(w[i].key >= w[k].key);
                }
                free(w);
            }
            assert_true(sort_keyed(v, n));
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(v[i].key, ref[i].key);
                assert_int_equal(v[i].pos, ref[i].pos);   // stable: equal keys in input order
            }
        }
        free(v);
        free(ref);
    }
}

// bw_ip_cmp gives the sign of memcmp over the 16 bytes (sorts and searches rely on it).
static void test_ip_order(void **state)
{
    (void)state;
    uint64_t rng = 7;
    for (int i = 0; i < 20000; i++) {
        bw_ip a, b;
        for (int k = 0; k < 16; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            a.b[k] = (uint8_t)(rng >> 56);
            // b equals a up to a random byte, so ties and every position get exercised.
            b.b[k] = (uint8_t)(rng >> 48);
        }
        int cut = (int)(rng >> 60);
        for (int k = 0; k < cut; k++)
            b.b[k] = a.b[k];
        if (i % 5 == 0)
            b = a;
        int c = memcmp(a.b, b.b, 16);
        assert_int_equal(bw_ip_cmp(&a, &b), (c > 0) - (c < 0));
        assert_int_equal(bw_ip_cmp(&b, &a), (c < 0) - (c > 0));
    }
}

static void test_ip_cidr(void **state)
{
    (void)state;
    bw_ip ip;
    char text[BW_IP_STRLEN];
    assert_true(bw_ip_parse(BW_SLICE_LIT("192.168.1.7"), &ip));
    assert_true(bw_ip_is_v4(&ip));
    assert_true(bw_ip_v4(&ip) == 0xC0A80107u);
    assert_true(bw_ip_is_special(&ip));
    bw_ip_format(&ip, text);
    assert_string_equal(text, "192.168.1.7");
    assert_false(bw_ip_parse(BW_SLICE_LIT("192.168.1.777"), &ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("2001:DB8::1"), &ip));
    bw_ip_format(&ip, text);
    assert_string_equal(text, "2001:db8::1");
    bw_cidr c;
    assert_true(bw_cidr_parse(BW_SLICE_LIT("10.1.0.0/16"), &c));
    assert_true(bw_ip_parse(BW_SLICE_LIT("10.1.255.3"), &ip) && bw_cidr_contains(&c, &ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("10.2.0.1"), &ip) && !bw_cidr_contains(&c, &ip));
    assert_false(bw_cidr_parse(BW_SLICE_LIT("10.0.0.0/33"), &c));
    assert_true(bw_ip_parse(BW_SLICE_LIT("66.63.168.35"), &ip));
    assert_false(bw_ip_is_special(&ip));
    // IPv4 as inet_pton reads it: four parts of 0..255, no leading zeros, no extra dots;
    // the text ends at a NUL.
    static const char *const bad_v4[] = { "01.2.3.4", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "1..2.3", ".1.2.3",
                                          "256.1.1.1", "1.2.3.4 ", "1.2.3.0x1", "1.2.3.-1" };
    for (size_t i = 0; i < sizeof bad_v4 / sizeof bad_v4[0]; i++)
        assert_false(bw_ip_parse(bw_slice_cstr(bad_v4[i]), &ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("0.0.0.0"), &ip) && bw_ip_v4(&ip) == 0);
    assert_true(bw_ip_parse(BW_SLICE_LIT("255.255.255.255"), &ip) && bw_ip_v4(&ip) == 0xffffffffu);
    assert_true(bw_ip_parse(bw_slice_make("10.0.0.1\0junk", 13), &ip) && bw_ip_v4(&ip) == 0x0A000001u);
    assert_true(bw_ip_parse(BW_SLICE_LIT("::ffff:10.0.0.1"), &ip) && bw_ip_is_v4(&ip) && bw_ip_is_special(&ip));
    // Special ranges at their edges, both families.
    assert_true(bw_ip_parse(BW_SLICE_LIT("172.31.255.255"), &ip) && bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("172.32.0.0"), &ip) && !bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("100.127.255.255"), &ip) && bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("100.128.0.0"), &ip) && !bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("255.255.255.255"), &ip) && bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("fe80::1"), &ip) && bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("febf::1"), &ip) && bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("fec0::1"), &ip) && !bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("2a00:1450::1"), &ip) && !bw_ip_is_special(&ip));
    assert_true(bw_ip_parse(BW_SLICE_LIT("::1"), &ip) && bw_ip_is_special(&ip));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_growth),    cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_escaped),       cmocka_unit_test(test_slices),
        cmocka_unit_test(test_arena_cap),     cmocka_unit_test(test_siphash_vector), cmocka_unit_test(test_siphash13_vector),
        cmocka_unit_test(test_sha256_vector), cmocka_unit_test(test_ip_cidr),
        cmocka_unit_test(test_sort_and_select), cmocka_unit_test(test_ip_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
