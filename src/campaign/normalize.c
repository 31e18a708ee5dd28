// SPDX-License-Identifier: MIT
// Template text of a message: the words of its subject and visible text, case-folded, with
// everything a spam template fills per message (numbers, ids, addresses, the recipient,
// URLs) replaced by typed placeholders, so that two messages from one template differ only
// where the template's author let them. One pass over the bytes, no regex, bounded output:
// this runs on every ingested message and its input is hostile.
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "campaign_internal.h"

// Defaults: 256 KB covers the visible text of nearly all spam (the SpamAssassin spam has a
// median under 4 KB); 1,000 tokens are far more than a template needs to be recognised
// (SpamAssassin: median 149 tokens, 4% of messages longer, almost all of them ham digests
// and newsletters, which were 15% of all tokens: the normaliser stops there), and 64 bytes
// hold any real word while stopping one "word" of base64 from dominating.
void bw_campaign_norm_limits_default(bw_campaign_norm_limits *limits)
{
    limits->max_input_bytes = 256 * 1024;
    limits->max_tokens = 1000;
    limits->max_token_bytes = 64;
}

uint32_t bw_campaign_fold(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
    if (cp < 0x100) {
        if (cp == 0xB5)
            return 0x3BC;   // micro sign folds to Greek mu
        if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
            return cp + 0x20;
        return cp;
    }
    if (cp < 0x180) {       // Latin Extended-A: pairs, with the parity switching twice
        if (cp == 0x130)
            return 'i';
        if (cp == 0x178)
            return 0xFF;
        if ((cp <= 0x137 || (cp >= 0x14A && cp <= 0x177)) && (cp % 2) == 0)
            return cp + 1;
        if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && (cp % 2) == 1)
            return cp + 1;
        return cp;
    }
    if (cp >= 0x386 && cp <= 0x3AB) {   // Greek capitals
        if (cp == 0x386)
            return 0x3AC;
        if (cp >= 0x388 && cp <= 0x38A)
            return cp + 0x25;
        if (cp == 0x38C)
            return 0x3CC;
        if (cp == 0x38E || cp == 0x38F)
            return cp + 0x3F;
        if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
            return cp + 0x20;
        return cp;
    }
    if (cp == 0x3C2)
        return 0x3C3;       // final sigma
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 0x20;
    if (cp >= 0x460 && cp <= 0x481 && (cp % 2) == 0)
        return cp + 1;
    return cp;
}

// Decodes one UTF-8 sequence at p (n > 0 bytes left). Returns its length; *cp is U+FFFD
// and the length 1 for an invalid or truncated sequence.
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// Letters and digits of any script are word characters; Latin-1 symbols, general and CJK
// punctuation and the replacement character separate words.
static bool is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
        return false;
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF0F) || cp == 0xFFFD)
        return false;
    return true;
}

static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }
static inline bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 0x20) : c; }

// Where tokens go: the template text and the sketch's token hashes. Every token touches
// these, so they are plain scalars (and pointers) that the hot loop keeps in a local copy,
// in registers: kept in memory, each byte stored into a word or the text (through char
// pointers, which may alias anything) would force them to be reloaded.
// The sink only hashes a token (NH, a few instructions) and queues the hash; the shingles
// are rolled, mixed and binned by bw_campaign_sketch_hashes() a batch at a time, in a loop
// that keeps the sketch's state in registers. Done per token here, with the state in this
// struct (in memory: it is too large for the registers), that part was about 50
// instructions a token; the batch loop needs about 26 (callgrind, bench_prepare, 28 Nov 2026).
#define SINK_HASH_BATCH 256
typedef struct token_sink {
    size_t tokens, max_tokens;
    size_t text_limit;      // tokens written to the text (the rest are only sketched), at
                            // most max_tokens: one compare for a token of the text
    bw_buf *out;
    char *text;             // out's bytes, length and capacity, written back by sink_store
    size_t text_n, text_cap;
    bool full;              // max_tokens reached: ignore the rest
    bool nomem;
    bool stop;              // full or nomem
    bool sketching;         // hash the tokens into sketch
    // Queued token hashes: hashes[0, hashes_n), after the BW_CAMPAIGN_SKETCH_HISTORY hashes
    // before them (as bw_campaign_sketch_hashes() wants them).
    uint64_t *hashes;
    size_t hashes_n;
    bw_campaign_sketch *sketch;
    uint64_t nh[4];
    const uint64_t *nh_tail;
    const bw_hash_key *key;
} token_sink;

typedef struct norm_state {
    const bw_campaign_norm_limits *limits;
    token_sink sink;
    size_t cap;             // bytes a word keeps (max_token_bytes, at most the word buffer)
    bool general_only;      // no fast path (bw_campaign_normalize_general, for tests)
    unsigned flags;
    bw_slice rcpt_addr;
    // Words of the recipient's name and address local part, folded and zero-padded, for
    // <rcpt>; the first 8 bytes of each as a word for a one-compare reject.
    size_t rcpt_word_count;
    uint64_t rcpt_lengths;  // bit n: some word has n bytes (all are < 64)
    uint64_t rcpt_heads;    // bit rcpt_bit(head): some word has that head (a filter)
    size_t rcpt_word_len[8];
    uint64_t rcpt_head[8];
    char rcpt_words[8][64 + 8];
    // The word being built, folded. Between words its first BW_CAMPAIGN_TOKEN_KEY bytes are
    // zero, so a word of fewer bytes is a padded token as it stands (campaign_internal.h).
    _Alignas(8) char wbuf[256 + BW_CAMPAIGN_TOKEN_KEY];
} norm_state;

static inline void wbuf_clear(norm_state *st) { memset(st->wbuf, 0, BW_CAMPAIGN_TOKEN_KEY); }

// Makes room for one more token in the text; false when out of memory.
static bool __attribute__((noinline)) sink_grow(token_sink *k, size_t room)
{
    k->out->n = k->text_n;
    if (bw_buf_reserve(k->out, room) != 0)
        return false;
    k->text = k->out->p;
    k->text_cap = k->out->cap;
    return true;
}

// Sketches the queued token hashes and keeps the last ones as the next batch's history.
static void __attribute__((noinline)) sink_flush_hashes(token_sink *k)
{
    bw_campaign_sketch_hashes(k->sketch, k->hashes, k->hashes_n);
    if (k->hashes_n >= BW_CAMPAIGN_SKETCH_HISTORY)
        memcpy(k->hashes - BW_CAMPAIGN_SKETCH_HISTORY, k->hashes + k->hashes_n - BW_CAMPAIGN_SKETCH_HISTORY,
               BW_CAMPAIGN_SKETCH_HISTORY * sizeof *k->hashes);
    else
        memmove(k->hashes - BW_CAMPAIGN_SKETCH_HISTORY, k->hashes - BW_CAMPAIGN_SKETCH_HISTORY + k->hashes_n,
                BW_CAMPAIGN_SKETCH_HISTORY * sizeof *k->hashes);
    k->hashes_n = 0;
}

// Writes one padded token (while the text has room) and hashes it into the sketch.
static inline void sink_token(token_sink *k, const char *tok, size_t n)
{
    if (k->tokens >= k->text_limit) {
        // Past the text's tokens, or at the cap.
        if (k->tokens >= k->max_tokens) {
            k->full = k->stop = true;
            return;
        }
    } else {
        size_t room = n < BW_CAMPAIGN_TOKEN_KEY ? BW_CAMPAIGN_TOKEN_KEY : n;
        if (k->text_n + room + 2 > k->text_cap && !sink_grow(k, room + 1)) {
            k->nomem = k->stop = true;
            return;
        }
        char *d = k->text + k->text_n;
        *d = ' ';                   // the first token overwrites it
        d += k->tokens > 0;
        if (n < BW_CAMPAIGN_TOKEN_KEY) {
            memcpy(d, tok, BW_CAMPAIGN_TOKEN_KEY);   // the padding's zero ends the text
        } else {
            memcpy(d, tok, n);
            d[n] = '\0';
        }
        k->text_n = (size_t)(d - k->text) + n;
    }
    k->tokens++;
    if (!k->sketching)
        return;
    // bw_campaign_token_hash(); the rest of bw_campaign_sketch_padded() is done in batches.
    uint64_t th;
    if (n >= BW_CAMPAIGN_TOKEN_KEY) {
        th = bw_campaign_token_hash(k->key, k->nh, tok, n);
    } else {
        // Its second product looked up when the third word is 0.
        uint64_t w0 = bw_campaign_load64(tok), w1 = bw_campaign_load64(tok + 8), w2 = bw_campaign_load64(tok + 16);
        th = bw_campaign_mul_fold(w0 + k->nh[0], w1 + k->nh[1]) +
             (w2 ? bw_campaign_mul_fold(w2 + k->nh[2], n + k->nh[3]) : k->nh_tail[n]);
    }
    k->hashes[k->hashes_n++] = th;
    if (k->hashes_n == SINK_HASH_BATCH)
        sink_flush_hashes(k);
}

static inline void emit(norm_state *st, const char *tok, size_t n) { sink_token(&st->sink, tok, n); }

// Placeholders are padded tokens too.
#define EMIT_LIT(st, s)                                                                  \
    do {                                                                                 \
        _Static_assert(sizeof(s) <= BW_CAMPAIGN_TOKEN_KEY, "placeholder longer than a key"); \
        static const char lit_[BW_CAMPAIGN_TOKEN_KEY] = s;                               \
        emit((st), lit_, sizeof(s) - 1);                                                 \
    } while (0)
#define SINK_LIT(k, s)                                                                   \
    do {                                                                                 \
        static const char lit_[BW_CAMPAIGN_TOKEN_KEY] = s;                               \
        sink_token((k), lit_, sizeof(s) - 1);                                            \
    } while (0)

static bool slice_eq_ci(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

// One of 64 bits for a word's first 8 bytes (multiplicative hashing: the top 6 bits).
static inline unsigned rcpt_bit(uint64_t head) { return (unsigned)((head * 0x9e3779b97f4a7c15ULL) >> 58); }

// Splits the recipient name and the address's local part into folded ASCII-or-UTF-8 words
// of at least two bytes; those words in the text become <rcpt> ("Dear john.smith").
static void add_rcpt_words(norm_state *st, bw_slice s)
{
    size_t i = 0;
    while (i < s.n && st->rcpt_word_count < 8) {
        while (i < s.n && !is_alnum((unsigned char)s.p[i]) && (unsigned char)s.p[i] < 0x80)
            i++;
        size_t start = i;
        while (i < s.n && (is_alnum((unsigned char)s.p[i]) || (unsigned char)s.p[i] >= 0x80))
            i++;
        size_t n = i - start;
        if (n >= 2 && n < 64) {
            char *w = st->rcpt_words[st->rcpt_word_count];
            for (size_t k = 0; k < n; k++)
                w[k] = (char)lower((unsigned char)s.p[start + k]);
            st->rcpt_head[st->rcpt_word_count] = bw_campaign_load64(w);
            st->rcpt_lengths |= 1ULL << n;
            st->rcpt_heads |= 1ULL << rcpt_bit(st->rcpt_head[st->rcpt_word_count]);
            st->rcpt_word_len[st->rcpt_word_count++] = n;
        }
    }
}

static bool __attribute__((noinline)) rcpt_word_match(const norm_state *st, const char *w, size_t n, uint64_t head)
{
    for (size_t i = 0; i < st->rcpt_word_count; i++)
        if (st->rcpt_word_len[i] == n && st->rcpt_head[i] == head &&
            (n <= 8 || memcmp(st->rcpt_words[i] + 8, w + 8, n - 8) == 0))
            return true;
    return false;
}

// w is the word buffer: zero after the word within its first 8 bytes, as the stored words.
// Nearly every word is rejected inline by its length and a one-word filter of the heads.
static inline bool is_rcpt_word(const norm_state *st, const char *w, size_t n)
{
    if (n >= 64 || !(st->rcpt_lengths & (1ULL << n)))
        return false;
    uint64_t head = bw_campaign_load64(w);
    if (!((st->rcpt_heads >> rcpt_bit(head)) & 1))
        return false;
    return rcpt_word_match(st, w, n, head);
}

// A URL chunk: scheme (http, https, hxxp, ftp ...) "://" or a bare "www." host. Only the
// class of its host survives: an IP literal or a name.
static bool url_placeholder(norm_state *st, const unsigned char *p, size_t n)
{
    size_t host = SIZE_MAX;
    for (size_t i = 0; i + 2 < n && i < 12; i++) {
        if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/') {
            host = i + 3;
            break;
        }
        if (!is_alpha(p[i]) && p[i] != '*')
            break;
    }
    if (host == SIZE_MAX) {
        if (n >= 5 && lower(p[0]) == 'w' && lower(p[1]) == 'w' && lower(p[2]) == 'w' && p[3] == '.' && is_alnum(p[4]))
            host = 0;
        else
            return false;
    }
    size_t end = host;
    while (end < n && p[end] != '/' && p[end] != '?' && p[end] != '#')
        end++;
    // user@host: the host is after the last '@'
    for (size_t i = end; i > host; i--)
        if (p[i - 1] == '@') {
            host = i;
            break;
        }
    bool ip = host < end;
    if (host < end && p[host] == '[')
        ip = true;
    else
        for (size_t i = host; i < end && p[i] != ':'; i++)
            if (!is_digit(p[i]) && p[i] != '.')
                ip = false;
    if (ip)
        EMIT_LIT(st, "<url:ip>");
    else
        EMIT_LIT(st, "<url:dom>");
    return true;
}

// local@domain.tld, optionally after "mailto:".
static bool email_placeholder(norm_state *st, const unsigned char *p, size_t n)
{
    const unsigned char *at = memchr(p, '@', n);
    if (!at || at == p)
        return false;
    size_t local = (size_t)(at - p);
    bool dot = false;
    for (size_t i = local + 1; i + 1 < n; i++)
        if (p[i] == '.' && is_alnum(p[i + 1]))
            dot = true;
    if (!dot || !is_alnum(p[local - 1]) || local + 1 >= n || !is_alnum(p[local + 1]))
        return false;
    const unsigned char *addr = p;
    size_t addr_n = n;
    if (n > 7 && slice_eq_ci((const char *)p, 7, "mailto:", 7)) {
        addr += 7;
        addr_n -= 7;
    }
    if (st->rcpt_addr.n && slice_eq_ci((const char *)addr, addr_n, st->rcpt_addr.p, st->rcpt_addr.n))
        EMIT_LIT(st, "<rcpt>");
    else
        EMIT_LIT(st, "<email>");
    return true;
}

// A run of base64 characters this long, with digits and both cases, is an encoded id or a
// hash buster, never a word.
static bool b64_chunk(const unsigned char *p, size_t n)
{
    if (n < 16)
        return false;
    bool digit = false, up = false, low = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (is_digit(c))
            digit = true;
        else if (c >= 'A' && c <= 'Z')
            up = true;
        else if (c >= 'a' && c <= 'z')
            low = true;
        else if (c != '+' && c != '/' && c != '=' && c != '-' && c != '_')
            return false;
    }
    return digit && up && low;
}

// The slow path's word: its bytes are in st->wbuf.
typedef struct word {
    size_t n;
    size_t chars;
    size_t digits, letters, hexes;
    bool non_ascii;
} word;

static void word_flush(norm_state *st, word *w)
{
    if (w->chars == 0)
        return;
    if (w->letters == 0 && w->digits > 0 && !w->non_ascii)
        EMIT_LIT(st, "<num>");
    else if (!w->non_ascii && w->chars >= 8 && w->hexes == w->chars && w->digits > 0)
        EMIT_LIT(st, "<hex>");
    else if (w->digits >= 3 && w->letters > 0)
        EMIT_LIT(st, "<id>");
    else if (is_rcpt_word(st, st->wbuf, w->n))
        EMIT_LIT(st, "<rcpt>");
    else
        emit(st, st->wbuf, w->n);
    wbuf_clear(st);
    w->n = w->chars = w->digits = w->letters = w->hexes = 0;
    w->non_ascii = false;
}

static void word_add(norm_state *st, word *w, uint32_t cp)
{
    char enc[4];
    uint32_t folded = bw_campaign_fold(cp);
    size_t len = utf8_encode(folded, enc);
    if (w->n + len > st->cap) {
        st->flags |= BW_NORM_LONG_TOKEN;
        return;             // the word keeps its first cap bytes
    }
    memcpy(st->wbuf + w->n, enc, len);
    w->n += len;
    w->chars++;
    if (cp >= '0' && cp <= '9')
        w->digits++;
    else if (cp < 0x80)
        w->letters++;
    else {
        w->letters++;
        w->non_ascii = true;
    }
    if (cp < 0x80 && is_hex((unsigned char)cp))
        w->hexes++;
}

// Byte classes for the ASCII runs of split_words (bytes >= 0x80 are 0: decoded).
enum { C_WORD = 1, C_DIGIT = 2, C_HEX = 4, C_UPPER = 8 };
static const uint8_t ASCII_CLASS[256] = {
    ['0'] = 7, ['1'] = 7, ['2'] = 7, ['3'] = 7, ['4'] = 7, ['5'] = 7, ['6'] = 7, ['7'] = 7, ['8'] = 7, ['9'] = 7,
    ['a'] = 5, ['b'] = 5, ['c'] = 5, ['d'] = 5, ['e'] = 5, ['f'] = 5, ['A'] = 13, ['B'] = 13, ['C'] = 13, ['D'] = 13,
    ['E'] = 13, ['F'] = 13, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['G'] = 9, ['H'] = 9, ['I'] = 9, ['J'] = 9, ['K'] = 9, ['L'] = 9, ['M'] = 9, ['N'] = 9,
    ['O'] = 9, ['P'] = 9, ['Q'] = 9, ['R'] = 9, ['S'] = 9, ['T'] = 9, ['U'] = 9, ['V'] = 9, ['W'] = 9, ['X'] = 9,
    ['Y'] = 9, ['Z'] = 9,
};

// Words of one whitespace-delimited chunk (the slow path: chunks that are not one plain
// ASCII word). Digits joined by . , : / - stay one number ("1,299.95", "555-0123");
// apostrophes inside words vanish ("don't" -> "dont"). A run of ASCII letters and digits
// is copied folded in one tight loop; other bytes are decoded, classified and folded.
static void split_words(norm_state *st, const unsigned char *p, size_t n)
{
    word w = { 0 };
    size_t cap = st->cap;
    char *buf = st->wbuf;
    size_t i = 0;
    while (i < n && !st->sink.stop) {
        unsigned char c = p[i];
        if (c < 0x80) {
            uint8_t cls = ASCII_CLASS[c];
            if (cls & C_WORD) {
                size_t room = cap > w.n ? cap - w.n : 0;
                size_t stop = n - i < room ? n : i + room;
                size_t j = i, digits = 0, hexes = 0;
                char *dst = buf + w.n;
                while (j < stop && ((cls = ASCII_CLASS[p[j]]) & C_WORD)) {
                    *dst++ = (char)(p[j] | ((cls & C_UPPER) << 2));
                    digits += (cls >> 1) & 1;
                    hexes += (cls >> 2) & 1;
                    j++;
                }
                size_t stored = j - i;
                w.n += stored;
                w.chars += stored;
                w.digits += digits;
                w.letters += stored - digits;
                w.hexes += hexes;
                if (j < n && (ASCII_CLASS[p[j]] & C_WORD)) {
                    // No room left: the word keeps its first cap bytes.
                    st->flags |= BW_NORM_LONG_TOKEN;
                    while (j < n && (ASCII_CLASS[p[j]] & C_WORD))
                        j++;
                }
                i = j;
                continue;
            }
            if (!(w.chars > 0 && i + 1 < n &&
                  (((c == '.' || c == ',' || c == ':' || c == '/' || c == '-') && w.letters == 0 &&
                    is_digit(p[i + 1])) ||
                   (c == '\'' && is_alpha(p[i + 1])))))
                word_flush(st, &w);
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(p + i, n - i, &cp);
        if (cp == 0xFFFD && len == 1)
            st->flags |= BW_NORM_BAD_UTF8;
        if (is_word_cp(cp))
            word_add(st, &w, cp);
        else
            word_flush(st, &w);
        i += len;
    }
    word_flush(st, &w);
}

// Byte classes of the chunk scan. S_SPACE: the separators, bytes <= 0x20 and 0x7F. S_AT
// and S_COLON make a chunk worth the address and URL checks. S_PUNCT: ASCII punctuation
// other than '@' and the base64 extras; S_B64P: those extras (+ / = - _). The fast path
// lets S_PUNCT lead and trail a word.
enum { S_AT = 1, S_COLON = 2, S_SPACE = 4, S_PUNCT = 8, S_B64P = 16 };
#define SP S_SPACE
#define PU S_PUNCT
static const uint8_t CHUNK_SPECIAL[256] = {
    [0] = SP, [1] = SP, [2] = SP, [3] = SP, [4] = SP, [5] = SP, [6] = SP, [7] = SP, [8] = SP, [9] = SP, [10] = SP,
    [11] = SP, [12] = SP, [13] = SP, [14] = SP, [15] = SP, [16] = SP, [17] = SP, [18] = SP, [19] = SP, [20] = SP,
    [21] = SP, [22] = SP, [23] = SP, [24] = SP, [25] = SP, [26] = SP, [27] = SP, [28] = SP, [29] = SP, [30] = SP,
    [31] = SP, [32] = SP, [127] = SP,
    ['!'] = PU, ['"'] = PU, ['#'] = PU, ['$'] = PU, ['%'] = PU, ['&'] = PU, ['\''] = PU, ['('] = PU, [')'] = PU,
    ['*'] = PU, [','] = PU, ['.'] = PU, [':'] = PU | S_COLON, [';'] = PU, ['<'] = PU, ['>'] = PU, ['?'] = PU,
    ['['] = PU, ['\\'] = PU, [']'] = PU, ['^'] = PU, ['`'] = PU, ['{'] = PU, ['|'] = PU, ['}'] = PU, ['~'] = PU,
    ['@'] = S_AT, ['+'] = S_B64P, ['/'] = S_B64P, ['='] = S_B64P, ['-'] = S_B64P, ['_'] = S_B64P,
};
#undef SP
#undef PU

// The fast path's table: for an ASCII letter or digit, the folded byte (low 8 bits) and
// ones in the digit (bits 16+), hex digit (bits 32+) and upper-case (bits 48+) counters,
// so one addition a byte counts all three; 0 for every other byte.
#define W_DIGIT(c) [c] = (uint64_t)(c) | (1ULL << 16) | (1ULL << 32)
#define W_HEXL(c) [c] = (uint64_t)(c) | (1ULL << 32)
#define W_HEXU(c) [c] = (uint64_t)((c) + 0x20) | (1ULL << 32) | (1ULL << 48)
#define W_LOW(c) [c] = (uint64_t)(c)
#define W_UP(c) [c] = (uint64_t)((c) + 0x20) | (1ULL << 48)
static const uint64_t WORD_BYTE[256] = {
    W_DIGIT('0'), W_DIGIT('1'), W_DIGIT('2'), W_DIGIT('3'), W_DIGIT('4'), W_DIGIT('5'), W_DIGIT('6'),
    W_DIGIT('7'), W_DIGIT('8'), W_DIGIT('9'),
    W_HEXL('a'), W_HEXL('b'), W_HEXL('c'), W_HEXL('d'), W_HEXL('e'), W_HEXL('f'),
    W_HEXU('A'), W_HEXU('B'), W_HEXU('C'), W_HEXU('D'), W_HEXU('E'), W_HEXU('F'),
    W_LOW('g'), W_LOW('h'), W_LOW('i'), W_LOW('j'), W_LOW('k'), W_LOW('l'), W_LOW('m'), W_LOW('n'), W_LOW('o'),
    W_LOW('p'), W_LOW('q'), W_LOW('r'), W_LOW('s'), W_LOW('t'), W_LOW('u'), W_LOW('v'), W_LOW('w'), W_LOW('x'),
    W_LOW('y'), W_LOW('z'),
    W_UP('G'), W_UP('H'), W_UP('I'), W_UP('J'), W_UP('K'), W_UP('L'), W_UP('M'), W_UP('N'), W_UP('O'),
    W_UP('P'), W_UP('Q'), W_UP('R'), W_UP('S'), W_UP('T'), W_UP('U'), W_UP('V'), W_UP('W'), W_UP('X'),
    W_UP('Y'), W_UP('Z'),
};
#undef W_DIGIT
#undef W_HEXL
#undef W_HEXU
#undef W_LOW
#undef W_UP

// The fast path, for chunks of one of two shapes, each of which it handles exactly as the
// general path below would, in one pass and without the word state:
//  - ASCII punctuation only, without '@' and ':' ("--", ">", "|"): no token;
//  - S_PUNCT*, one word, S_PUNCT* ("(like", "Re:", "$39.95", "can't", "70%"), where the word
//    is ASCII letters and digits within the word cap, with the joins split_words makes
//    (digits over . , : / -, letters over an apostrophe).
// Neither can be a URL (the only '/' is one between digits, so there is no "://", and
// "www." is followed by punctuation at most) or an address (no '@'), and base64 only when
// it is the bare word. Returns the chunk's end, or 0 for any other chunk (the caller then
// takes the general path; the word buffer is clean again).
static inline size_t fast_chunk(const norm_state *st, token_sink *k, char *buf, size_t cap, const unsigned char *p,
                                size_t n, size_t start)
{
    size_t j = start;
    uint64_t v = WORD_BYTE[p[j]];
    if ((uint8_t)v == 0) {
        unsigned seen = 0, t;
        while (j < n && ((t = CHUNK_SPECIAL[p[j]]) & (S_PUNCT | S_B64P))) {
            seen |= t;
            j++;
        }
        if (j == n || (CHUNK_SPECIAL[p[j]] & S_SPACE))
            return (seen & S_COLON) ? 0 : j;
        v = WORD_BYTE[p[j]];
        if ((seen & S_B64P) || (uint8_t)v == 0)
            return 0;
    }
    bool bare = j == start;     // so far no byte base64 lacks
    size_t o = 0, end;
    uint64_t counts = 0;
    for (;;) {
        size_t stop = n - j < cap - o ? n : j + (cap - o);
        char *dst = buf + o - j;
        size_t run = j;
        while (j < stop && (uint8_t)(v = WORD_BYTE[p[j]]) != 0) {
            dst[j] = (char)v;
            counts += v;
            j++;
        }
        o += j - run;
        if (j == n) {
            end = j;
            break;
        }
        unsigned char c = p[j];
        unsigned t = CHUNK_SPECIAL[c];
        if (t & S_SPACE) {
            end = j;
            break;
        }
        if (o < cap && j + 1 < n) {
            unsigned char next = p[j + 1];
            if (c == '\'' && is_alpha(next)) {
                bare = false;
                j++;
                continue;
            }
            if ((c == '.' || c == ',' || c == ':' || c == '/' || c == '-') && is_digit(next) &&
                ((counts >> 16) & 0xFFFF) == o) {
                bare = bare && (c == '/' || c == '-');
                j++;
                continue;
            }
        }
        // Trailing punctuation, then a separator or the end; a word byte here means the
        // run outgrew the cap.
        if (!(t & S_PUNCT))
            goto general;
        end = j + 1;
        while (end < n && (CHUNK_SPECIAL[p[end]] & S_PUNCT))
            end++;
        if (end < n && !(CHUNK_SPECIAL[p[end]] & S_SPACE))
            goto general;
        bare = false;
        break;
    }
    size_t digits = (size_t)(counts >> 16) & 0xFFFF;
    if (digits == 0) {
        if (is_rcpt_word(st, buf, o))
            SINK_LIT(k, "<rcpt>");
        else
            sink_token(k, buf, o);
    } else {
        size_t hexes = (size_t)(counts >> 32) & 0xFFFF, upper = (size_t)(counts >> 48), letters = o - digits;
        if (bare && end - start >= 16 && upper > 0 && letters > upper)
            SINK_LIT(k, "<b64>");
        else if (letters == 0)
            SINK_LIT(k, "<num>");
        else if (o >= 8 && hexes == o)
            SINK_LIT(k, "<hex>");
        else if (digits >= 3)
            SINK_LIT(k, "<id>");
        else if (is_rcpt_word(st, buf, o))
            SINK_LIT(k, "<rcpt>");
        else
            sink_token(k, buf, o);
    }
    memset(buf, 0, BW_CAMPAIGN_TOKEN_KEY);
    return end;
general:
    memset(buf, 0, BW_CAMPAIGN_TOKEN_KEY);
    return 0;
}

// The general path for one chunk starting at start: URL, address, base64 or its words.
// Returns the chunk's end.
static size_t __attribute__((noinline)) slow_chunk(norm_state *st, const unsigned char *p, size_t n, size_t start)
{
    size_t i = start;
    unsigned seen = 0;      // only S_AT and S_COLON are read
    bool at_end = false;
#ifdef __SSE2__
    // The chunk's end and its '@' and ':' 16 bytes at a time: these chunks (links,
    // addresses) are long, and the byte loop below was a fifth of the general path
    // (callgrind, bench_prepare, 28 Nov 2026).
    while (!at_end && n - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i sep = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x),
                                   _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)));
        unsigned seps = (unsigned)_mm_movemask_epi8(sep);
        unsigned ats = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('@')));
        unsigned colons = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
        unsigned inside = seps ? (1u << __builtin_ctz(seps)) - 1 : 0xFFFF;
        seen |= (ats & inside ? S_AT : 0) | (colons & inside ? S_COLON : 0);
        if (seps) {
            i += (size_t)__builtin_ctz(seps);
            at_end = true;
        } else {
            i += 16;
        }
    }
#endif
    while (!at_end && i < n) {
        unsigned t = CHUNK_SPECIAL[p[i]];
        if (t & S_SPACE)
            break;
        seen |= t;
        i++;
    }
    size_t len = i - start;
    bool maybe_www = len >= 5 && (p[start] | 0x20) == 'w';
    if (seen & (S_AT | S_COLON) || maybe_www || (len >= 5 && p[start] == '<') || (len >= 5 && p[start] == '(')) {
        // Trim the punctuation that wraps addresses and links in prose: <...>, (...), "...".
        size_t a = start, b = i;
        while (a < b && (p[a] == '<' || p[a] == '(' || p[a] == '[' || p[a] == '"' || p[a] == '\''))
            a++;
        while (b > a && (p[b - 1] == '>' || p[b - 1] == ')' || p[b - 1] == ']' || p[b - 1] == '"' ||
                         p[b - 1] == '\'' || p[b - 1] == '.' || p[b - 1] == ',' || p[b - 1] == ';' ||
                         p[b - 1] == '!' || p[b - 1] == '?' || p[b - 1] == ':'))
            b--;
        if (a < b && (url_placeholder(st, p + a, b - a) || ((seen & S_AT) && email_placeholder(st, p + a, b - a))))
            return i;
    }
    if (len >= 16 && b64_chunk(p + start, len)) {
        EMIT_LIT(st, "<b64>");
        return i;
    }
    split_words(st, p + start, len);
    return i;
}

#ifdef __SSE2__
// KEEP_BYTES + 16 - r: r bytes 0xFF, then zeros (keeps the first r bytes of a block).
static const uint8_t KEEP_BYTES[32] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };

// The digit (bits 0+), hex digit (bits 16+) and upper-case (bits 32+) counts of p[0, n).
static uint64_t __attribute__((noinline)) word_counts(const unsigned char *p, size_t n)
{
    uint64_t counts = 0;
    for (size_t i = 0; i < n; i++)
        counts += WORD_BYTE[p[i]] >> 16;
    return counts;
}

static inline uint64_t low64(__m128i x)
{
#ifdef __x86_64__
    return (uint64_t)_mm_cvtsi128_si64(x);
#else
    uint64_t v;
    _mm_storel_epi64((__m128i *)(void *)&v, x);
    return v;
#endif
}

// sink_token() of a word of n < 16 bytes held zero-padded in a register: the text gets one
// 16-byte store (the padding's zero ends it) and the NH hash takes its words from the
// register (the third is zero), where sink_token() went through the word buffer (a store,
// three loads, a 24-byte copy and a clearing store).
static inline void sink_block_word(token_sink *k, __m128i padded, size_t n)
{
    if (k->tokens >= k->text_limit) {
        if (k->tokens >= k->max_tokens) {
            k->full = k->stop = true;
            return;
        }
    } else {
        if (k->text_n + BW_CAMPAIGN_TOKEN_KEY + 2 > k->text_cap && !sink_grow(k, BW_CAMPAIGN_TOKEN_KEY + 1)) {
            k->nomem = k->stop = true;
            return;
        }
        char *d = k->text + k->text_n;
        *d = ' ';
        d += k->tokens > 0;
        _mm_storeu_si128((__m128i *)(void *)d, padded);
        k->text_n = (size_t)(d - k->text) + n;
    }
    k->tokens++;
    if (!k->sketching)
        return;
    uint64_t w0 = low64(padded), w1 = low64(_mm_unpackhi_epi64(padded, padded));
    k->hashes[k->hashes_n++] = bw_campaign_mul_fold(w0 + k->nh[0], w1 + k->nh[1]) + k->nh_tail[n];
    if (k->hashes_n == SINK_HASH_BATCH)
        sink_flush_hashes(k);
}

// is_rcpt_word() of a word of n < 16 bytes in a register. The length and head filters are
// tested as one: a recipient has words of common lengths ("john", "smith"), so the length
// test alone passed often and, as a branch of its own, mispredicted.
static inline bool block_rcpt_word(const norm_state *st, __m128i padded, size_t n)
{
    uint64_t head = low64(padded);
    if (!((st->rcpt_lengths >> n) & (st->rcpt_heads >> rcpt_bit(head)) & 1))
        return false;
    _Alignas(16) char w[16];
    _mm_store_si128((__m128i *)(void *)w, padded);
    return rcpt_word_match(st, w, n, head);
}

// The separator (bytes <= 0x20; 0x7F, also one, is left to the byte paths), digit and
// word-byte (ASCII letter or digit) masks of the 16 bytes at p.
static inline void block_masks(const unsigned char *p, uint64_t *spaces, uint64_t *digits, uint64_t *word_bytes)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    // Range checks as one signed compare each: c - lo < len (unsigned) is c + (0x80 - lo) <
    // 0x80 + len (signed). Bytes >= 0x80 fall outside both ranges.
    const __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)),
                                                       _mm_set1_epi8((char)(0x80 - 'a'))),
                                          _mm_set1_epi8((char)(0x80 + 26)));
    const __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))),
                                         _mm_set1_epi8((char)(0x80 + 10)));
    const __m128i space = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x);
    *spaces = (unsigned)_mm_movemask_epi8(space);
    *digits = (unsigned)_mm_movemask_epi8(digit);
    *word_bytes = (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit));
}

// Bytes of the window whose masks plain_block() reads at once. On SpamAssassin a window of
// 16 took 1.7 words a call (a block's last word mostly runs past it), 32 takes 3.0 and 48
// 3.9, which measured no faster than 32 (bench_prepare, 28 Nov 2026).
#define PLAIN_WINDOW 32
// The plain chunks, a window of PLAIN_WINDOW input bytes at a time (16 when fewer are
// left; the caller leaves at least 16): whitespace, and words of ASCII letters and digits,
// each perhaps with one trailing punctuation byte (S_PUNCT: "word," "Re:") and followed by
// whitespace. The window's masks (letters, digits, separators) are made once; every such
// chunk the window holds whole is taken from them, its word reloaded from its own start,
// folded and sunk from a register. Such a chunk is one that fast_chunk() takes (no leading
// punctuation, one run within the cap, no join, too short for base64), and this gives its
// token exactly. Sets *at to where it stopped: the window's end, or the start of a chunk it
// did not take; returns true when that chunk is not one for this path (the byte paths then
// take it), false when the next window may take it (it runs past this one).
// Before the block path, a table lookup, store and count per word byte and another lookup
// per separator were 21% of preparation (callgrind, bench_prepare, 28 Nov 2026). Taking
// one chunk a load (the version before this one) made every chunk wait for the masks of
// the one before (they give the next load's address): from one window's masks the words
// are independent, and only the windows form a chain (docs/campaigns.md §7 has the figures).
static inline bool plain_block(const norm_state *st, token_sink *k, size_t longest, const unsigned char *p,
                               size_t n, size_t *at)
{
    const size_t i = *at;
    uint64_t spaces, digits, word_bytes;
    block_masks(p + i, &spaces, &digits, &word_bytes);
    unsigned width = 16;
    for (; width < PLAIN_WINDOW && n - i >= width + 16; width += 16) {
        uint64_t spaces2, digits2, word_bytes2;
        block_masks(p + i + width, &spaces2, &digits2, &word_bytes2);
        spaces |= spaces2 << width, digits |= digits2 << width, word_bytes |= word_bytes2 << width;
    }
    unsigned pos = (unsigned)__builtin_ctzll(~spaces);   // at most width
    while (pos < width) {
        unsigned r = (unsigned)__builtin_ctzll(~(word_bytes >> pos));   // the run's length
        if (r - 1 >= longest) {     // also r == 0
            // Not a plain chunk, unless the run may go on in the next block.
            *at = i + pos;
            return pos == 0 || r == 0 || pos + r < width;
        }
        unsigned after = r;         // the chunk's length
        if (!((spaces >> (pos + r)) & 1)) {
            if (pos + r + 1 >= width) {   // its end is in the next block
                *at = i + pos;
                return pos == 0;
            }
            if (!((spaces >> (pos + r + 1)) & 1) || !(CHUNK_SPECIAL[p[i + pos + r]] & S_PUNCT)) {
                *at = i + pos;
                return true;
            }
            after = r + 1;
        }
        if (n - (i + pos) < 16) {   // the word's own load would read past the text
            *at = i + pos;
            return false;
        }
        const __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + i + pos));
        const __m128i upper = _mm_cmplt_epi8(_mm_add_epi8(y, _mm_set1_epi8((char)(0x80 - 'A'))),
                                             _mm_set1_epi8((char)(0x80 + 26)));
        const __m128i keep = _mm_loadu_si128((const __m128i *)(const void *)(KEEP_BYTES + 16 - r));
        const __m128i padded = _mm_and_si128(_mm_or_si128(y, _mm_and_si128(upper, _mm_set1_epi8(0x20))), keep);
        const unsigned run = (1u << r) - 1, word_digits = (unsigned)(digits >> pos) & run;
        if (word_digits == 0) {
            if (block_rcpt_word(st, padded, r))
                SINK_LIT(k, "<rcpt>");
            else
                sink_block_word(k, padded, r);
        } else if (word_digits == run) {
            SINK_LIT(k, "<num>");
        } else {
            uint64_t counts = word_counts(p + i + pos, r);
            size_t ndigits = (size_t)counts & 0xFFFF, hexes = (size_t)(counts >> 16) & 0xFFFF;
            if (r >= 8 && hexes == r)
                SINK_LIT(k, "<hex>");
            else if (ndigits >= 3)
                SINK_LIT(k, "<id>");
            else if (block_rcpt_word(st, padded, r))
                SINK_LIT(k, "<rcpt>");
            else
                sink_block_word(k, padded, r);
        }
        pos += after;
        // The whitespace after the chunk, as far as this block shows it (at least one byte).
        pos += (unsigned)__builtin_ctzll(~(spaces >> pos));
        if (k->stop)
            break;
    }
    *at = i + pos;
    return false;
}
#endif

static void normalize_part(norm_state *st, bw_slice s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    const size_t n = s.n, cap = st->cap;
    char *buf = st->wbuf;
    token_sink k = st->sink;   // in registers; st->sink is the copy the general path uses
    size_t i = 0;
#ifdef __SSE2__
    // plain_block() takes runs of 1 to 15 bytes within the word cap (a run of 15 still
    // has a zero byte in its register; a bare run of 16 may be base64); none with
    // general_only.
    const size_t plain_longest = st->general_only ? 0 : cap < 15 ? cap : 15;
#endif
    while (i < n && !k.stop) {
#ifdef __SSE2__
        if (plain_longest && n - i >= 16 && !plain_block(st, &k, plain_longest, p, n, &i))
            continue;
#endif
        while (i < n && (CHUNK_SPECIAL[p[i]] & S_SPACE))
            i++;
        if (i == n)
            break;
        size_t end = st->general_only ? 0 : fast_chunk(st, &k, buf, cap, p, n, i);
        if (end) {
            i = end;
            continue;
        }
        st->sink = k;
        i = slow_chunk(st, p, n, i);
        k = st->sink;
    }
    st->sink = k;
}

static bw_status normalize(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text, bw_slice rcpt_addr,
                           bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens, bw_campaign_sketch *sketch,
                           bool general_only, size_t *token_count, unsigned *flags);

bw_status bw_campaign_normalize(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out,
                                size_t *token_count, unsigned *flags)
{
    return normalize(limits, subject, text, rcpt_addr, rcpt_name, out, SIZE_MAX, NULL, false, token_count, flags);
}

bw_status bw_campaign_normalize_general(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                        bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t *token_count,
                                        unsigned *flags)
{
    return normalize(limits, subject, text, rcpt_addr, rcpt_name, out, SIZE_MAX, NULL, true, token_count, flags);
}

bw_status bw_campaign_normalize_sketch(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                       bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens,
                                       bw_campaign_sketch *sketch, size_t *token_count, unsigned *flags)
{
    return normalize(limits, subject, text, rcpt_addr, rcpt_name, out, text_max_tokens, sketch, false, token_count,
                     flags);
}

static bw_status normalize(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text, bw_slice rcpt_addr,
                           bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens, bw_campaign_sketch *sketch,
                           bool general_only, size_t *token_count, unsigned *flags)
{
    bw_campaign_norm_limits defaults;
    if (!limits) {
        bw_campaign_norm_limits_default(&defaults);
        limits = &defaults;
    }
    norm_state st;
    memset(&st, 0, sizeof st);
    st.limits = limits;
    st.cap = limits->max_token_bytes < 256 ? limits->max_token_bytes : 256;
    st.general_only = general_only;
    st.rcpt_addr = rcpt_addr;
    token_sink *k = &st.sink;
    k->max_tokens = limits->max_tokens;
    k->text_limit = text_max_tokens < limits->max_tokens ? text_max_tokens : limits->max_tokens;
    k->out = out;
    k->text = out->p;
    k->text_n = out->n;
    k->text_cap = out->cap;
    // The sink's hash queue, after the sketch's last token hashes (not in norm_state: it
    // would be zeroed for every message).
    uint64_t hashes[BW_CAMPAIGN_SKETCH_HISTORY + SINK_HASH_BATCH];
    if (sketch) {
        k->sketching = true;
        k->sketch = sketch;
        bw_campaign_sketch_history(sketch, hashes);
        k->hashes = hashes + BW_CAMPAIGN_SKETCH_HISTORY;
        k->hashes_n = 0;
        memcpy(k->nh, sketch->nh, sizeof k->nh);
        k->nh_tail = sketch->nh_tail;
        k->key = sketch->key;
    }
    add_rcpt_words(&st, rcpt_name);
    const char *at = rcpt_addr.n ? memchr(rcpt_addr.p, '@', rcpt_addr.n) : NULL;
    if (at)
        add_rcpt_words(&st, bw_slice_make(rcpt_addr.p, (size_t)(at - rcpt_addr.p)));

    size_t budget = limits->max_input_bytes;
    bw_slice parts[2] = { subject, text };
    for (int part = 0; part < 2; part++) {
        bw_slice s = parts[part];
        if (s.n > budget) {
            s.n = budget;
            st.flags |= BW_NORM_INPUT_LIMIT;
        }
        budget -= s.n;
        normalize_part(&st, s);
    }
    if (k->full)
        st.flags |= BW_NORM_TOKEN_LIMIT;
    if (sketch)
        sink_flush_hashes(k);
    bool nomem = k->nomem;
    out->n = k->text_n;
    if (out->cap == 0 && bw_buf_reserve(out, 1) != 0)
        nomem = true;
    if (out->cap)
        out->p[out->n] = '\0';   // also when no token was written into a fresh buffer
    if (token_count)
        *token_count = k->tokens;
    if (flags)
        *flags = st.flags;
    return nomem ? BW_ERR_NOMEM : BW_OK;
}
