// SPDX-License-Identifier: MIT
// URL finding and normalisation behind bw_url.h. Text is scanned once for two triggers,
// "scheme:" (http, https, ftp and the spam spellings hxxp, h**p, ttp) and "www.", so the
// cost is linear and mostly a byte loop. Each candidate is cut where a mail reader would
// end the link, trailing punctuation is given back to the sentence, the host is decoded
// and normalised, and the result is deduplicated through a keyed hash table. Strings live
// in an arena reset per message; the public suffix list is loaded once per set.
#include "botwatch/url.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "botwatch/arena.h"
#include "botwatch/hash.h"
#include "botwatch/html.h"
#include "botwatch/ip.h"
#include "psl_internal.h"

// 500 distinct URLs is more than any real newsletter carries; link-farm spam goes beyond
// and the rest tells us nothing new. 4 KiB per URL keeps long tracking URLs whole (browsers
// handle ~2 KiB reliably) while bounding what one URL can cost.
void bw_url_limits_default(bw_url_limits *limits)
{
    limits->max_urls = 500;
    limits->max_url_bytes = 4096;
}

// Byte classes (below), filled once by the first bw_url_set_new().
static void url_class_init(void);
static void host_class_init(void);
static pthread_once_t url_class_once = PTHREAD_ONCE_INIT;

// A host name is at most 253 bytes (RFC 1035); decoded hosts longer are not hosts.
#define HOST_MAX 253
// Direct-mapped host -> domain cache entries (16 KiB).
#define DOMAIN_CACHE_SIZE 1024
// Up to this many distinct URLs a message's URLs are deduplicated by comparing them with
// each kept one (most lengths differ): cheaper than hashing each candidate. Beyond, the
// kept URLs are hashed into the table once and every further candidate is hashed.
#define LINEAR_MAX 16
// Arena cap: every kept URL is stored ~3 times (url, host, domain), plus slack.
#define ARENA_SLACK (64 * 1024)

struct bw_url_set {
    bw_url_limits limits;
    const psl_ctx_t *psl;
    psl_ctx_t *psl_owned;
    const bw_psl *fast_psl;   // the same list as hash lookups (psl.c); NULL: libpsl only
    bw_arena *arena;
    bw_url *items;
    size_t count;
    uint64_t *hashes;        // per item, for the table (once it is live)
    uint32_t *table;         // open addressing: item index + 1, 0 = empty
    bool table_live;         // set when count reached LINEAR_MAX; until then a linear compare
    size_t table_mask;
    bw_hash_key key;
    unsigned flags;
    char *scratch;           // one URL being built (max_url_bytes + host growth)
    size_t scratch_cap;
    // host -> registrable domain, kept across messages: spam repeats its hosts, and a
    // libpsl lookup costs more than the rest of a URL's processing.
    struct domain_cache_entry {
        uint64_t host_hash;   // keyed SipHash of the host; 0 = empty
        uint16_t host_len, domain_len;
    } domain_cache[DOMAIN_CACHE_SIZE];
};

bw_url_set *bw_url_set_new(const bw_url_limits *limits, char *errbuf)
{
    bw_url_set *set = calloc(1, sizeof *set);
    if (!set) {
        bw_error(errbuf, BW_ERR_NOMEM, "url set: out of memory");
        return NULL;
    }
    if (limits)
        set->limits = *limits;
    else
        bw_url_limits_default(&set->limits);
    if (set->limits.max_urls == 0 || set->limits.max_urls > (1u << 24) || set->limits.max_url_bytes < 16) {
        bw_error(errbuf, BW_ERR_INVALID, "url limits out of range (max_urls 1..16M, max_url_bytes >= 16)");
        free(set);
        return NULL;
    }
    pthread_once(&url_class_once, url_class_init);
    set->psl_owned = psl_latest(NULL);
    set->psl = set->psl_owned ? set->psl_owned : psl_builtin();
    set->fast_psl = bw_psl_shared();
    size_t table_size = 16;
    while (table_size < set->limits.max_urls * 2)
        table_size *= 2;
    set->table_mask = table_size - 1;
    set->table = calloc(table_size, sizeof *set->table);
    set->items = calloc(set->limits.max_urls, sizeof *set->items);
    set->hashes = calloc(set->limits.max_urls, sizeof *set->hashes);
    set->scratch_cap = set->limits.max_url_bytes + 4 * HOST_MAX + 64;
    set->scratch = malloc(set->scratch_cap);
    set->arena = bw_arena_new(set->limits.max_urls * (set->limits.max_url_bytes + 2 * HOST_MAX) + ARENA_SLACK);
    if (!set->psl || !set->table || !set->items || !set->hashes || !set->scratch || !set->arena
        || bw_hash_key_random(&set->key) < 0) {
        bw_error(errbuf, BW_ERR_NOMEM, "url set: %s", set->psl ? "out of memory" : "no public suffix list");
        bw_url_set_free(set);
        return NULL;
    }
    return set;
}

void bw_url_set_free(bw_url_set *set)
{
    if (!set)
        return;
    if (set->psl_owned)
        psl_free(set->psl_owned);
    bw_arena_free(set->arena);
    free(set->items);
    free(set->hashes);
    free(set->table);
    free(set->scratch);
    free(set);
}

void bw_url_set_reset(bw_url_set *set)
{
    for (size_t i = 0; set->table_live && i < set->count; i++) {
        // Clear only the slots in use: cheaper than the whole table for typical mail.
        size_t slot = set->hashes[i] & set->table_mask;
        while (set->table[slot]) {
            set->table[slot] = 0;
            slot = (slot + 1) & set->table_mask;
        }
    }
    set->count = 0;
    set->table_live = false;
    set->flags = 0;
    bw_arena_reset(set->arena);
}

const bw_url *bw_url_set_items(const bw_url_set *set, size_t *count)
{
    *count = set->count;
    return set->items;
}

unsigned bw_url_set_flags(const bw_url_set *set) { return set->flags; }

// ---- hashing ----

// Keyed SipHash-1-3 (one compression round a block, three to finish) for the per-message
// URL table and the host -> domain cache: keys are attacker data, so the hash stays keyed
// and random per set, but these tables are bounded (max_urls items, DOMAIN_CACHE_SIZE
// entries) and see every URL of every message, where bw_siphash's 2-4 rounds and byte-wise
// loads were 2.4k instructions a message. 1-3 is the variant Rust's HashMap and CPython's
// string hash use for the same purpose (bw_siphash13, src/util/hash.c).
static inline uint64_t url_hash(const bw_hash_key *key, const char *in, size_t n)
{
    return bw_siphash13(key, in, n);
}

// ---- character classes ----

static inline bool is_alpha(unsigned char c) { return (unsigned char)((c | 0x20) - 'a') < 26; }
static inline bool is_digit(unsigned char c) { return (unsigned char)(c - '0') < 10; }
static inline bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static inline unsigned char lower(unsigned char c) { return (unsigned char)(c - 'A') < 26 ? c | 0x20 : c; }
static inline int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Bytes that end a URL in text: whitespace, controls, and the delimiters RFC 3986
// Appendix C names for URLs in context (<>"), plus the quote characters mail uses.
// "Unwise" bytes ({}|^\) stay: browsers follow such links and spam templates leave them.
static bool ends_url_ascii(unsigned char c)
{
    return c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '`' || c == '\'';
}

// Per-byte classes for the loops that run over every byte of every URL (a table lookup
// instead of a chain of compares; the answers are those of the functions they stand for).
enum {
    UC_STOP = 1 << 0,       // ends_url_ascii()
    UC_HIGH = 1 << 1,       // >= 0x80: may start a Unicode stop (unicode_stop())
    UC_AUTH_END = 1 << 2,   // '/', '?', '\\' and '#' (which needs a look back): may end the authority
    UC_IP = 1 << 3,         // digit, '.', 'x'/'X', hex letter: may be part of a legacy IPv4 host
};
static uint8_t url_class[256];

static void url_class_init(void)
{
    for (unsigned c = 0; c < 256; c++) {
        uint8_t k = 0;
        if (c < 0x80 && ends_url_ascii((unsigned char)c))
            k |= UC_STOP;
        if (c >= 0x80)
            k |= UC_HIGH;
        if (c == '/' || c == '?' || c == '\\' || c == '#')
            k |= UC_AUTH_END;
        if (is_digit((unsigned char)c) || c == '.' || (c | 0x20) == 'x' || hex_value((unsigned char)c) >= 0)
            k |= UC_IP;
        url_class[c] = k;
    }
    host_class_init();
}

// Length of a Unicode space or quotation mark encoded at p (UTF-8), 0 if none: NBSP,
// U+2000..U+200B, U+2028/9, U+202F, U+205F, U+3000, curly quotes and guillemets.
static size_t unicode_stop(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0xc2 && (p[1] == 0xa0 || p[1] == 0x85 || p[1] == 0xab || p[1] == 0xbb))
        return 2;
    if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80
        && (p[2] <= 0x8b || (p[2] >= 0x98 && p[2] <= 0x9f) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3;
    if (n >= 3 && p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
        return 3;
    if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && (p[2] == 0x80 || (p[2] >= 0x88 && p[2] <= 0x91)))
        return 3;
    return 0;
}

// ---- schemes ----

typedef struct scheme {
    const char *written;     // lowercase spelling as found
    size_t len;
    const char *canonical;
    bool obfuscated;
} scheme;

#define SCHEME(w, c, o) { w, sizeof(w) - 1, c, o }
// http and https first: scheme_before() returns them by index.
static const scheme schemes[] = {
    SCHEME("http", "http", false),  SCHEME("https", "https", false), SCHEME("ftp", "ftp", false),
    SCHEME("hxxp", "http", true),   SCHEME("hxxps", "https", true),  SCHEME("h**p", "http", true),
    SCHEME("h**ps", "https", true), SCHEME("hxtp", "http", true),    SCHEME("hxtps", "https", true),
    SCHEME("htp", "http", true),    SCHEME("htps", "https", true),   SCHEME("ttp", "http", true),
    SCHEME("ttps", "https", true),  SCHEME("h..p", "http", true),    SCHEME("h..ps", "https", true),
};

// Finds the scheme ending at p[end) (just before ':'): the longest known spelling whose
// first byte is not preceded by a letter that would make it another word ("xttp" is not
// "ttp"), except that http/https are taken anywhere, as a plain https?:// scan would.
static const scheme *scheme_before(const char *p, size_t end, size_t *start)
{
    // Every spelling ends in 'p' or 's': most ':'s (times, CSS, "Re:") stop here.
    if (end == 0 || ((p[end - 1] | 0x20) != 'p' && (p[end - 1] | 0x20) != 's'))
        return NULL;
    // The common answers first: no spelling is longer than "https" (5) and none of 5 ends
    // in 'p', so a written https or http is the longest match (and neither needs the
    // letter-before test).
    if (end >= 5 && lower((unsigned char)p[end - 5]) == 'h' && lower((unsigned char)p[end - 4]) == 't'
        && lower((unsigned char)p[end - 3]) == 't' && lower((unsigned char)p[end - 2]) == 'p'
        && lower((unsigned char)p[end - 1]) == 's') {
        *start = end - 5;
        return &schemes[1];
    }
    if (end >= 4 && lower((unsigned char)p[end - 4]) == 'h' && lower((unsigned char)p[end - 3]) == 't'
        && lower((unsigned char)p[end - 2]) == 't' && lower((unsigned char)p[end - 1]) == 'p') {
        *start = end - 4;
        return &schemes[0];
    }
    const scheme *best = NULL;
    for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
        size_t len = schemes[k].len;
        if (len > end || (best && len <= best->len))
            continue;
        size_t s = end - len;
        size_t j = 0;
        while (j < len && lower((unsigned char)p[s + j]) == (unsigned char)schemes[k].written[j])
            j++;
        if (j < len)
            continue;
        if (schemes[k].obfuscated && s > 0 && is_alpha((unsigned char)p[s - 1]))
            continue;
        best = &schemes[k];
        *start = s;
    }
    return best;
}

// ---- hosts ----

// inet_aton's forms: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last
// part fills the remaining bytes. Browsers accept all of them and spam uses them to hide
// an IP (http://3232235777/, http://0xC0.0250.1.1/). *canonical is false for any of those.
static bool parse_legacy_ipv4(const char *h, size_t n, uint32_t *out, bool *canonical)
{
    uint64_t parts[4];
    size_t count = 0, i = 0;
    *canonical = true;
    if (n == 0)
        return false;
    while (i <= n) {
        if (count == 4 || i == n)
            return false;
        uint64_t v = 0;
        int base = 10;
        size_t start = i;
        if (h[i] == '0' && i + 1 < n && (h[i + 1] | 0x20) == 'x') {
            base = 16;
            i += 2;
            *canonical = false;
        } else if (h[i] == '0' && i + 1 < n && is_digit((unsigned char)h[i + 1])) {
            base = 8;
            *canonical = false;
        }
        size_t digits = 0;
        for (; i < n && h[i] != '.'; i++) {
            int d = hex_value((unsigned char)h[i]);
            if (d < 0 || d >= base)
                return false;
            v = v * (uint64_t)base + (uint64_t)d;
            if (v > 0xffffffffu)
                return false;
            digits++;
        }
        if (digits == 0 && !(base == 16 && i > start))
            return false;
        parts[count++] = v;
        if (i == n)
            break;
        i++;   // '.'
    }
    if (count != 4)
        *canonical = false;
    uint32_t ip = 0;
    for (size_t k = 0; k + 1 < count; k++) {
        if (parts[k] > 255)
            return false;
        ip |= (uint32_t)parts[k] << (24 - 8 * k);
    }
    uint64_t last_max = count == 1 ? 0xffffffffu : (0xffffffffu >> (8 * (count - 1)));
    if (parts[count - 1] > last_max)
        return false;
    *out = ip | (uint32_t)parts[count - 1];
    return true;
}

// Decodes %XX and character references in a host into out (at most cap bytes). Sets
// *encoded when anything was decoded. False if it does not fit.
static bool decode_host(const char *h, size_t n, char *out, size_t cap, size_t *out_len, bool *encoded)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)h[i];
        if (c != '%' && c != '&') {   // the common byte: no per-byte memcpy call
            if (o + 1 > cap)
                return false;
            out[o++] = (char)c;
            i++;
            continue;
        }
        char utf8[8];
        size_t len = 1, used = 1;
        utf8[0] = (char)c;
        if (c == '%' && i + 2 < n && hex_value((unsigned char)h[i + 1]) >= 0 && hex_value((unsigned char)h[i + 2]) >= 0) {
            utf8[0] = (char)(hex_value((unsigned char)h[i + 1]) * 16 + hex_value((unsigned char)h[i + 2]));
            used = 3;
            *encoded = true;
        } else if (c == '&') {
            size_t u = bw_html_decode_entity(bw_slice_make(h + i, n - i), 1, utf8, &len);
            if (u) {
                used = u;
                *encoded = true;
            } else {
                len = 1;
            }
        }
        if (o + len > cap)
            return false;
        memcpy(out + o, utf8, len);
        o += len;
        i += used;
    }
    *out_len = o;
    return true;
}

typedef struct host_result {
    char text[HOST_MAX + 1 + 2];   // normalised host, NUL-terminated ([v6] without brackets)
    size_t len;
    bool is_ip;
    bool is_v6;
    bool obfuscated;
} host_result;

// Byte classes of the one-pass host check (host_fast()); HC_UPPER is the bit that
// lowercases an ASCII letter.
enum {
    HC_SLOW = 1 << 0,    // '%', '&' or >= 0x80: decoding or IDN, the general path's work
    HC_BAD = 1 << 1,     // neither letter, digit, '-', '_' nor '.'
    HC_IP = 1 << 2,      // UC_IP
    HC_DIGIT = 1 << 3,
    HC_DOT = 1 << 4,
    HC_UPPER = 0x20,
};
static uint8_t host_class[256];

static void host_class_init(void)
{
    for (unsigned c = 0; c < 256; c++) {
        uint8_t k = 0;
        if (c == '%' || c == '&' || c >= 0x80)
            k |= HC_SLOW;
        else if (!is_alnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
            k |= HC_BAD;
        if (url_class[c] & UC_IP)
            k |= HC_IP;
        if (is_digit((unsigned char)c))
            k |= HC_DIGIT;
        if (c == '.')
            k |= HC_DOT;
        if (c >= 'A' && c <= 'Z')
            k |= HC_UPPER;
        host_class[c] = k;
    }
}

static bool host_checks(const char *h, size_t n, size_t labels, bool scheme_written);

// normalise_host() for the common host: ASCII without '%' or '&', at most HOST_MAX bytes
// and not "[...]". Nothing is decoded there, so the general path's passes (copy, lowercase
// and classify, check labels, check the top label) are one pass over the bytes, with the
// same answers. Returns 1 or 0 as normalise_host() would, -1 when the host is not common.
static int host_fast(const char *raw, size_t raw_len, bool scheme_written, host_result *r)
{
    while (raw_len > 0 && raw[raw_len - 1] == '.')
        raw_len--;   // "example.com." is the same host
    if (raw_len == 0 || raw_len > HOST_MAX || raw[0] == '[')
        return -1;
    unsigned any = 0, all = 0xff;
    size_t label_start = 0, labels = 1;
    bool labels_ok = true;
    for (size_t i = 0; i < raw_len; i++) {
        unsigned char c = (unsigned char)raw[i];
        unsigned k = host_class[c];
        any |= k;
        all &= k;
        r->text[i] = (char)(c | (k & HC_UPPER));
        if (k & HC_DOT) {
            size_t label_len = i - label_start;
            labels_ok &= label_len >= 1 && label_len <= 63;
            labels++;
            label_start = i + 1;
        }
    }
    if (any & HC_SLOW)
        return -1;
    r->is_ip = r->is_v6 = r->obfuscated = false;
    uint32_t v4;
    bool canonical;
    if ((all & HC_IP) && parse_legacy_ipv4(r->text, raw_len, &v4, &canonical)) {
        bw_ip ip;
        bw_ip_from_v4(v4, &ip);
        bw_ip_format(&ip, r->text);
        r->len = strlen(r->text);
        r->is_ip = true;
        r->obfuscated = !canonical;
        return 1;
    }
    size_t last_len = raw_len - label_start;
    if ((any & HC_BAD) || !labels_ok || last_len < 1 || last_len > 63)
        return 0;
    r->text[raw_len] = '\0';
    r->len = raw_len;
    return host_checks(r->text, raw_len, labels, scheme_written);
}

// The checks on a valid LDH name of n bytes and labels labels: a dotted name needs a top
// label that is not all digits (else it was a malformed IP); a single label
// ("http://intranet/") only when a scheme was written, and never a scheme's or "www"'s
// name, which marks a typo like "http://http://host/" whose real URL follows.
static bool host_checks(const char *h, size_t n, size_t labels, bool scheme_written)
{
    size_t last = n;
    while (last > 0 && h[last - 1] != '.')
        last--;
    bool top_has_letter = false;
    for (size_t i = last; i < n; i++)
        if (!is_digit((unsigned char)h[i]))
            top_has_letter = true;
    if (!top_has_letter)
        return false;
    if (labels == 1) {
        static const char *const not_hosts[] = { "http", "https", "hxxp", "hxxps", "ftp", "www" };
        if (!scheme_written)
            return false;
        for (size_t k = 0; k < sizeof not_hosts / sizeof not_hosts[0]; k++)
            if (n == strlen(not_hosts[k]) && !memcmp(h, not_hosts[k], n))
                return false;
    }
    return true;
}

// Normalises a raw host into r. False if it is not a plausible Internet host name or IP.
static bool normalise_host(const char *raw, size_t raw_len, bool scheme_written, host_result *r)
{
    int fast = host_fast(raw, raw_len, scheme_written, r);
    if (fast >= 0)
        return fast;
    char decoded[4 * HOST_MAX];
    size_t n = 0;
    bool encoded = false;
    r->is_ip = r->is_v6 = r->obfuscated = false;
    if (raw_len == 0 || raw_len > sizeof decoded)
        return false;
    if (raw[0] == '[') {
        if (raw_len < 3 || raw[raw_len - 1] != ']')
            return false;
        bw_ip ip;
        if (!bw_ip_parse(bw_slice_make(raw + 1, raw_len - 2), &ip))
            return false;
        bw_ip_format(&ip, r->text);
        r->len = strlen(r->text);
        r->is_ip = true;
        r->is_v6 = !bw_ip_is_v4(&ip);
        return true;
    }
    if (!decode_host(raw, raw_len, decoded, sizeof decoded, &n, &encoded))
        return false;
    r->obfuscated = encoded;
    const char *at = encoded ? memrchr(decoded, '@', n) : NULL;
    if (at) {
        // "http://bank.example%40evil.example/": old browsers decoded first, so the
        // host is what follows the (encoded) '@'.
        size_t skip = (size_t)(at + 1 - decoded);
        memmove(decoded, at + 1, n - skip);
        n -= skip;
    }
    while (n > 0 && decoded[n - 1] == '.')
        n--;   // "example.com." is the same host
    if (n == 0)
        return false;
    bool ascii = true, ip_chars = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)decoded[i];
        if (c >= 0x80)
            ascii = false;
        else
            decoded[i] = (char)lower(c);
        if (!(url_class[c] & UC_IP))
            ip_chars = false;
    }
    uint32_t v4;
    bool canonical;
    if (ascii && ip_chars && parse_legacy_ipv4(decoded, n, &v4, &canonical)) {
        bw_ip ip;
        bw_ip_from_v4(v4, &ip);
        bw_ip_format(&ip, r->text);
        r->len = strlen(r->text);
        r->is_ip = true;
        r->obfuscated |= !canonical;
        return true;
    }
    if (!ascii) {
        // IDN: UTF-8 to A-label. libidn2 allocates; IDN hosts are rare enough.
        char utf8z[4 * HOST_MAX + 1];
        memcpy(utf8z, decoded, n);
        utf8z[n] = '\0';
        char *alabel = NULL;
        int rc = idn2_to_ascii_8z(utf8z, &alabel, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK) {
            idn2_free(alabel);
            alabel = NULL;
            rc = idn2_to_ascii_8z(utf8z, &alabel, IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
        }
        if (rc != IDN2_OK || !alabel || strlen(alabel) > HOST_MAX) {
            idn2_free(alabel);
            return false;
        }
        n = strlen(alabel);
        memcpy(decoded, alabel, n);
        idn2_free(alabel);
        for (size_t i = 0; i < n; i++)
            decoded[i] = (char)lower((unsigned char)decoded[i]);
    }
    if (n > HOST_MAX)
        return false;
    // LDH labels (plus '_', seen in real DNS names), then host_checks().
    size_t label_start = 0, labels = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || decoded[i] == '.') {
            size_t label_len = i - label_start;
            if (label_len == 0 || label_len > 63)
                return false;
            labels++;
            label_start = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)decoded[i];
        if (!is_alnum(c) && c != '-' && c != '_')
            return false;
    }
    if (!host_checks(decoded, n, labels, scheme_written))
        return false;
    memcpy(r->text, decoded, n);
    r->text[n] = '\0';
    r->len = n;
    return true;
}

// ---- adding ----

typedef struct origin {
    bool from_html;
    bool hidden;
    bool scheme_written;   // "http://" etc. was there (not "www." alone)
    bool encoded;          // the source hid the host with character references
} origin;

// The end of the authority at the start of rest[0..n): the first '/', '?', '\\' or a '#'
// that is no "&#46;"; *at is set to its last '@', if any. 16 bytes a step (SSE2) while 16
// remain: a candidate byte (one of those or '@') is then looked at alone.
static size_t authority_end(const char *rest, size_t n, const char **at)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i slash = _mm_set1_epi8('/'), quest = _mm_set1_epi8('?'), back = _mm_set1_epi8('\\'),
                  hash = _mm_set1_epi8('#'), atsign = _mm_set1_epi8('@');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(rest + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, slash), _mm_cmpeq_epi8(v, quest)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, back), _mm_cmpeq_epi8(v, hash)));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, _mm_cmpeq_epi8(v, atsign)));
        while (m) {
            size_t j = i + (size_t)__builtin_ctz(m);
            if (rest[j] == '@')
                *at = rest + j;
            else if (rest[j] != '#' || !(j > 0 && rest[j - 1] == '&'))
                return j;
            m &= m - 1;
        }
        i += 16;
    }
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char)rest[i];
        if ((url_class[c] & UC_AUTH_END) && (c != '#' || !(i > 0 && rest[i - 1] == '&')))
            break;   // '/', '?', '\\' or a '#' that is no "&#46;"
        if (c == '@')
            *at = rest + i;
    }
    return i;
}

// Returns BW_OK and sets *taken when the candidate was a URL (new or seen before).
static bw_status add_url(bw_url_set *set, const char *canonical_scheme, const char *rest, size_t rest_len,
                         origin from, bool obfuscated, bool *taken)
{
    *taken = false;
    // rest = authority + path..., after "scheme://".
    const char *at = NULL;   // the last '@' of the authority
    size_t auth_end = authority_end(rest, rest_len, &at);
    const char *auth = rest;
    size_t auth_len = auth_end;
    size_t userinfo_len = 0;
    if (at) {
        userinfo_len = (size_t)(at - auth) + 1;
        obfuscated = true;   // "http://bank.com@evil.com/": the reader sees bank.com
        auth += userinfo_len;
        auth_len -= userinfo_len;
    }
    size_t host_len = auth_len;
    if (auth_len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (!close)
            return BW_OK;
        host_len = (size_t)(close - auth) + 1;
    } else {
        for (size_t i = auth_len; i > 0; i--) {
            if (auth[i - 1] == ':') {
                host_len = i - 1;
                break;
            }
            if (!is_digit((unsigned char)auth[i - 1]))
                break;
        }
    }
    host_result host;
    if (!normalise_host(auth, host_len, from.scheme_written, &host))
        return BW_OK;
    *taken = true;
    obfuscated |= host.obfuscated || from.encoded;

    // url = scheme "://" userinfo host port-and-rest
    size_t scheme_len = strlen(canonical_scheme);
    size_t tail_len = rest_len - (size_t)(auth + host_len - rest);
    size_t need = scheme_len + 3 + userinfo_len + host.len + 2 + tail_len;
    if (need > set->scratch_cap)
        return BW_OK;   // cannot happen: rest_len <= max_url_bytes
    char *u = set->scratch;
    size_t o = 0;
    memcpy(u + o, canonical_scheme, scheme_len);
    o += scheme_len;
    memcpy(u + o, "://", 3);
    o += 3;
    memcpy(u + o, rest, userinfo_len);   // kept as written: it is what the reader saw
    o += userinfo_len;
    if (host.is_v6)
        u[o++] = '[';
    memcpy(u + o, host.text, host.len);
    o += host.len;
    if (host.is_v6)
        u[o++] = ']';
    memcpy(u + o, auth + host_len, tail_len);
    o += tail_len;
    if (o == scheme_len + 3 + userinfo_len + host.len + (host.is_v6 ? 2 : 0))
        u[o++] = '/';   // "http://host" and "http://host/" are one URL

    uint64_t h = 0;
    size_t slot = 0;
    bw_url *dup = NULL;
    if (set->count < LINEAR_MAX) {
        for (size_t k = 0; k < set->count && !dup; k++)
            if (set->items[k].url.n == o && !memcmp(set->items[k].url.p, u, o))
                dup = &set->items[k];
    } else {
        if (!set->table_live) {   // the kept URLs go into the table once
            for (size_t k = 0; k < set->count; k++) {
                set->hashes[k] = url_hash(&set->key, set->items[k].url.p, set->items[k].url.n);
                size_t s = set->hashes[k] & set->table_mask;
                while (set->table[s])
                    s = (s + 1) & set->table_mask;
                set->table[s] = (uint32_t)(k + 1);
            }
            set->table_live = true;
        }
        h = url_hash(&set->key, u, o);
        slot = h & set->table_mask;
        while (set->table[slot]) {
            bw_url *cand = &set->items[set->table[slot] - 1];
            if (set->hashes[set->table[slot] - 1] == h && cand->url.n == o && !memcmp(cand->url.p, u, o)) {
                dup = cand;
                break;
            }
            slot = (slot + 1) & set->table_mask;
        }
    }
    if (dup) {
        dup->from_html |= from.from_html;
        dup->hidden &= from.hidden;
        dup->obfuscated |= obfuscated;
        return BW_OK;
    }
    if (set->count >= set->limits.max_urls) {
        set->flags |= BW_URL_COUNT_LIMIT;
        return BW_OK;
    }
    bw_url *item = &set->items[set->count];
    char *url_copy = bw_arena_memdup(set->arena, u, o);
    char *host_copy = bw_arena_memdup(set->arena, host.text, host.len);
    if (!url_copy || !host_copy)
        return BW_ERR_NOMEM;
    item->url = bw_slice_make(url_copy, o);
    item->host = bw_slice_make(host_copy, host.len);
    item->host_is_ip = host.is_ip;
    item->domain = item->host;
    if (!host.is_ip) {
        // Messages repeat hosts: reuse a recent item's domain before asking libpsl.
        const bw_url *same = NULL;
        for (size_t k = set->count, seen = 0; k > 0 && seen < 16 && !same; k--, seen++)
            if (set->items[k - 1].host.n == host.len && !memcmp(set->items[k - 1].host.p, host.text, host.len))
                same = &set->items[k - 1];
        uint64_t host_hash = 0;
        struct domain_cache_entry *cached = NULL;
        if (!same) {   // the hash is only needed when the recent items did not answer
            host_hash = url_hash(&set->key, host.text, host.len) | 1;
            cached = &set->domain_cache[host_hash & (DOMAIN_CACHE_SIZE - 1)];
        }
        if (same) {
            item->domain = bw_slice_make(host_copy + (host.len - same->domain.n), same->domain.n);
        } else if (cached->host_hash == host_hash && cached->host_len == host.len) {
            item->domain = bw_slice_make(host_copy + (host.len - cached->domain_len), cached->domain_len);
        } else {
            long reg_at = bw_psl_registrable(set->fast_psl, host_copy, host.len);
            if (reg_at >= 0) {
                item->domain = bw_slice_make(host_copy + reg_at, host.len - (size_t)reg_at);
            } else if (reg_at == BW_PSL_ASK_LIBPSL) {
                const char *reg = psl_registrable_domain(set->psl, host_copy);
                if (reg)
                    item->domain = bw_slice_make(reg, host.len - (size_t)(reg - host_copy));
            }
            *cached = (struct domain_cache_entry){ host_hash, (uint16_t)host.len, (uint16_t)item->domain.n };
        }
    }
    item->from_html = from.from_html;
    item->hidden = from.hidden;
    item->obfuscated = obfuscated;
    if (set->table_live) {
        set->hashes[set->count] = h;
        set->table[slot] = (uint32_t)(set->count + 1);
    }
    set->count++;
    return BW_OK;
}

// Where a URL starting at p[start] stops: the first byte no mail reader puts in a link.
// URLs run ~85 bytes, so 16 bytes a step (SSE2, x86-64's baseline) pays here, unlike for
// the ~6-byte words of text: a signed compare flags controls, space and every byte >= 0x80
// at once, equality the six ASCII stops; a flagged high byte that starts no Unicode stop
// is passed over. The tail is the same byte loop as before.
static size_t raw_stop(const char *p, size_t n, size_t start)
{
    size_t i = start;
#ifdef __SSE2__
    const __m128i below = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f), lt = _mm_set1_epi8('<'),
                  gt = _mm_set1_epi8('>'), dq = _mm_set1_epi8('"'), bq = _mm_set1_epi8('`'),
                  sq = _mm_set1_epi8('\'');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, below), _mm_cmpeq_epi8(v, del)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, gt)));
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_or_si128(_mm_cmpeq_epi8(v, bq),
                                                                                  _mm_cmpeq_epi8(v, sq))));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        while (m) {
            size_t j = i + (size_t)__builtin_ctz(m);
            if (!(url_class[(unsigned char)p[j]] & UC_HIGH) || unicode_stop((const unsigned char *)p + j, n - j))
                return j;
            m &= m - 1;
        }
        i += 16;
    }
#endif
    while (i < n) {
        uint8_t k = url_class[(unsigned char)p[i]];
        if (k & UC_STOP)
            break;
        if ((k & UC_HIGH) && unicode_stop((const unsigned char *)p + i, n - i))
            break;
        i++;
    }
    return i;
}

// Gives trailing punctuation back to the sentence: a ')' or ']' only when unbalanced, as
// in "(see http://x/)" versus "http://x/a_(b)". The balance is looked for within the last
// max_window bytes so a hostile run of brackets costs bounded time.
static size_t trim_end(const char *p, size_t start, size_t end, size_t max_window)
{
    while (end > start) {
        unsigned char c = (unsigned char)p[end - 1];
        if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '*' || c == '\\') {
            end--;
            continue;
        }
        if (c == ')' || c == ']') {
            char open = c == ')' ? '(' : '[';
            long depth = 0;
            size_t from = end - start > max_window ? end - max_window : start;
            for (size_t k = from; k < end; k++)
                depth += p[k] == open ? 1 : p[k] == (char)c ? -1 : 0;
            if (depth < 0) {
                end--;
                continue;
            }
        }
        break;
    }
    return end;
}

// Remembers the last raw_stop: every candidate starting inside the same run of URL bytes
// stops at the same place, so rescanning after a rejected candidate stays linear.
typedef struct stop_cache {
    size_t from, stop;
} stop_cache;

static size_t url_end(const bw_url_set *set, stop_cache *cache, const char *p, size_t n, size_t start)
{
    size_t stop;
    if (cache && start >= cache->from && start < cache->stop) {
        stop = cache->stop;
    } else {
        stop = raw_stop(p, n, start);
        if (cache) {
            cache->from = start;
            cache->stop = stop;
        }
    }
    return trim_end(p, start, stop, set->limits.max_url_bytes);
}

// Extracts the candidate at p[auth..end), capping its length.
static bw_status take(bw_url_set *set, const char *scheme_name, const char *p, size_t auth, size_t end,
                      origin from, bool obfuscated, bool *taken)
{
    size_t len = end - auth;
    bool cut = len > set->limits.max_url_bytes;
    if (cut)
        len = set->limits.max_url_bytes;
    bw_status st = add_url(set, scheme_name, p + auth, len, from, obfuscated, taken);
    if (cut && *taken)
        set->flags |= BW_URL_LENGTH_LIMIT;
    return st;
}

// The next ':' or '.' at or after i (n if none), 16 bytes a step (SSE2, x86-64's baseline):
// one pass finds either byte. Two memchr calls with cached answers did the same with ~47
// libc calls a message, whose overhead on the short gaps between dots was 2% of the full
// extraction's time (perf on bench/parse).
static size_t next_trigger(const char *p, size_t n, size_t i)
{
#ifdef __SSE2__
    const __m128i colon = _mm_set1_epi8(':'), dot = _mm_set1_epi8('.');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, dot)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && p[i] != ':' && p[i] != '.')
        i++;
    return i;
}

static bw_status scan(bw_url_set *set, const char *p, size_t n, origin from)
{
    stop_cache cache = { SIZE_MAX, 0 };
    size_t i = 0;
    while (i < n) {
        i = next_trigger(p, n, i);
        if (i >= n)
            break;
        unsigned char c = (unsigned char)p[i];
        if (c == ':') {
            size_t scheme_start = 0;
            const scheme *s = scheme_before(p, i, &scheme_start);
            // "://" (or ":\\" / ":/\": browsers treat '\' as '/' in http URLs)
            if (s && i + 2 < n && (p[i + 1] == '/' || p[i + 1] == '\\') && (p[i + 2] == '/' || p[i + 2] == '\\')) {
                bool slashes_odd = p[i + 1] == '\\' || p[i + 2] == '\\';
                size_t auth = i + 3;
                size_t end = url_end(set, &cache, p, n, auth);
                bool taken = false;
                if (end > auth) {
                    origin with_scheme = from;
                    with_scheme.scheme_written = true;
                    bw_status st = take(set, s->canonical, p, auth, end, with_scheme, s->obfuscated || slashes_odd, &taken);
                    if (st != BW_OK)
                        return st;
                }
                // Not a URL ("http://http://x/", "http://localhost/"): look inside it again.
                i = taken ? end : auth;
                continue;
            }
        } else if (c == '.' && i >= 3 && (p[i - 1] | 0x20) == 'w' && (p[i - 2] | 0x20) == 'w'
                   && (p[i - 3] | 0x20) == 'w') {
            size_t start = i - 3;
            unsigned char before = start > 0 ? (unsigned char)p[start - 1] : ' ';
            if (!is_alnum(before) && before != '.' && before != '-' && before != '_' && before != '/'
                && before != '@' && before != '%' && before != '&') {
                size_t end = url_end(set, &cache, p, n, start);
                bool taken = false;
                if (end > i + 1) {
                    bw_status st = take(set, "http", p, start, end, from, true, &taken);
                    if (st != BW_OK)
                        return st;
                }
                i = taken ? end : i + 1;
                continue;
            }
        }
        i++;
    }
    return BW_OK;
}

bw_status bw_url_scan_text(bw_url_set *set, bw_slice text)
{
    return scan(set, text.p, text.n, (origin){ false, false, false, false });
}

bw_status bw_url_scan_hidden(bw_url_set *set, bw_slice text)
{
    return scan(set, text.p, text.n, (origin){ true, true, false, false });
}

bw_status bw_url_add_html_link(bw_url_set *set, bw_slice value, bool encoded_host)
{
    bw_slice v = bw_slice_trim(value);
    origin from = { true, false, true, encoded_host };
    if (v.n > 2 && v.p[0] == '/' && v.p[1] == '/') {
        size_t end = url_end(set, NULL, v.p, v.n, 2);
        bool taken = false;
        if (end > 2)
            return take(set, "http", v.p, 2, end, from, encoded_host, &taken);
        return BW_OK;
    }
    return scan(set, v.p, v.n, from);
}
