// SPDX-License-Identifier: MIT
// Template text of a message: the words of its subject and visible text, case-folded, with
// everything a spam template fills per message (numbers, ids, addresses, the recipient,
// URLs) replaced by typed placeholders, so that two messages from one template differ only
// where the template's author let them. One pass over the bytes, no regex, bounded output:
// this runs on every ingested message and its input is hostile.
#include <stdint.h>
#include <string.h>

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

typedef struct norm_state {
    const bw_campaign_norm_limits *limits;
    bw_buf *out;
    size_t text_max;        // tokens written to out (the rest are only sketched)
    bw_campaign_sketch *sketch;   // NULL: text only
    size_t tokens;
    unsigned flags;
    bool full;              // max_tokens reached: ignore the rest
    bool nomem;
    bw_slice rcpt_addr;
    // Words of the recipient's name and address local part, folded, for <rcpt>.
    char rcpt_words[8][64];
    size_t rcpt_word_len[8];
    size_t rcpt_word_count;
} norm_state;

// Writes one token (while the text has room) and hashes it into the sketch; fnv is the
// FNV-1a of its bytes (the word scanner computes it as it copies them).
static void emit_fnv(norm_state *st, const char *tok, size_t n, uint32_t fnv)
{
    if (st->full || st->nomem || n == 0)
        return;
    if (st->tokens >= st->limits->max_tokens) {
        st->full = true;
        st->flags |= BW_NORM_TOKEN_LIMIT;
        return;
    }
    if (st->tokens < st->text_max) {
        bw_buf *out = st->out;
        if (out->n + n + 2 > out->cap && bw_buf_reserve(out, n + 1) != 0) {
            st->nomem = true;
            return;
        }
        if (st->tokens > 0)
            out->p[out->n++] = ' ';
        memcpy(out->p + out->n, tok, n);
        out->n += n;
        out->p[out->n] = '\0';
    }
    if (st->sketch)
        bw_campaign_sketch_token(st->sketch, tok, n, fnv);
    st->tokens++;
}

static void emit(norm_state *st, const char *tok, size_t n)
{
    uint32_t fnv = BW_CAMPAIGN_FNV_INIT;
    if (st->sketch)
        for (size_t i = 0; i < n; i++)
            fnv = bw_campaign_fnv_step(fnv, (unsigned char)tok[i]);
    emit_fnv(st, tok, n, fnv);
}

#define EMIT_LIT(st, s) emit((st), (s), sizeof(s) - 1)

static bool slice_eq_ci(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

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
            st->rcpt_word_len[st->rcpt_word_count++] = n;
        }
    }
}

static bool is_rcpt_word(const norm_state *st, const char *w, size_t n)
{
    for (size_t i = 0; i < st->rcpt_word_count; i++)
        if (st->rcpt_word_len[i] == n && memcmp(st->rcpt_words[i], w, n) == 0)
            return true;
    return false;
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

typedef struct word {
    char buf[256];          // folded UTF-8 of the word (capped at max_token_bytes)
    size_t n;
    size_t chars;
    size_t digits, letters, hexes;
    uint32_t fnv;           // FNV-1a of buf
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
    else if (st->rcpt_word_count && is_rcpt_word(st, w->buf, w->n))
        EMIT_LIT(st, "<rcpt>");
    else
        emit_fnv(st, w->buf, w->n, w->fnv);
    w->n = w->chars = w->digits = w->letters = w->hexes = 0;
    w->fnv = BW_CAMPAIGN_FNV_INIT;
    w->non_ascii = false;
}

static void word_add(norm_state *st, word *w, uint32_t cp)
{
    char enc[4];
    uint32_t folded = bw_campaign_fold(cp);
    size_t len = utf8_encode(folded, enc);
    size_t cap = st->limits->max_token_bytes < sizeof w->buf ? st->limits->max_token_bytes : sizeof w->buf;
    if (w->n + len > cap) {
        st->flags |= BW_NORM_LONG_TOKEN;
        return;             // the word keeps its first cap bytes
    }
    memcpy(w->buf + w->n, enc, len);
    for (size_t i = 0; i < len; i++)
        w->fnv = bw_campaign_fnv_step(w->fnv, (unsigned char)enc[i]);
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

// Words of one whitespace-delimited chunk. Digits joined by . , : / - stay one number
// ("1,299.95", "555-0123"); apostrophes inside words vanish ("don't" -> "dont").
// Byte classes for the ASCII fast path of split_words (bytes >= 0x80 are 0: decoded).
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

// Words of one whitespace-delimited chunk. Digits joined by . , : / - stay one number
// ("1,299.95", "555-0123"); apostrophes inside words vanish ("don't" -> "dont"). A run of
// ASCII letters and digits is copied folded in one tight loop (counts, FNV and all);
// other bytes are decoded, classified and folded.
static void split_words(norm_state *st, const unsigned char *p, size_t n)
{
    word w;
    w.n = w.chars = w.digits = w.letters = w.hexes = 0;
    w.fnv = BW_CAMPAIGN_FNV_INIT;
    w.non_ascii = false;
    size_t cap = st->limits->max_token_bytes < sizeof w.buf ? st->limits->max_token_bytes : sizeof w.buf;
    size_t i = 0;
    while (i < n && !st->full) {
        unsigned char c = p[i];
        if (c < 0x80) {
            uint8_t cls = ASCII_CLASS[c];
            if (cls & C_WORD) {
                size_t room = cap > w.n ? cap - w.n : 0;
                size_t stop = n - i < room ? n : i + room;
                size_t j = i, digits = 0, hexes = 0;
                uint32_t fnv = w.fnv;
                char *dst = w.buf + w.n;
                while (j < stop && ((cls = ASCII_CLASS[p[j]]) & C_WORD)) {
                    unsigned char l = (unsigned char)(p[j] | ((cls & C_UPPER) << 2));
                    *dst++ = (char)l;
                    fnv = bw_campaign_fnv_step(fnv, l);
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
                w.fnv = fnv;
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

// Bytes that make a chunk worth the URL, address or base64 checks; a plain word (most
// chunks) goes straight to split_words.
// S_SPACE marks the separators: bytes <= 0x20 and 0x7F.
enum { S_AT = 1, S_COLON = 2, S_DOT = 4, S_B64 = 8, S_SPACE = 16 };
static const uint8_t CHUNK_SPECIAL[256] = {
    [0] = S_SPACE, [1] = S_SPACE, [2] = S_SPACE, [3] = S_SPACE, [4] = S_SPACE, [5] = S_SPACE, [6] = S_SPACE,
    [7] = S_SPACE, [8] = S_SPACE, [9] = S_SPACE, [10] = S_SPACE, [11] = S_SPACE, [12] = S_SPACE,
    [13] = S_SPACE, [14] = S_SPACE, [15] = S_SPACE, [16] = S_SPACE, [17] = S_SPACE, [18] = S_SPACE,
    [19] = S_SPACE, [20] = S_SPACE, [21] = S_SPACE, [22] = S_SPACE, [23] = S_SPACE, [24] = S_SPACE,
    [25] = S_SPACE, [26] = S_SPACE, [27] = S_SPACE, [28] = S_SPACE, [29] = S_SPACE, [30] = S_SPACE,
    [31] = S_SPACE, [32] = S_SPACE, [127] = S_SPACE,
    ['@'] = S_AT, [':'] = S_COLON, ['.'] = S_DOT, ['+'] = S_B64, ['/'] = S_B64, ['='] = S_B64,
};

static void normalize_part(norm_state *st, bw_slice s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.n && !st->full && !st->nomem) {
        while (i < s.n && (CHUNK_SPECIAL[p[i]] & S_SPACE))
            i++;
        size_t start = i;
        unsigned seen = 0;
        while (i < s.n) {
            unsigned t = CHUNK_SPECIAL[p[i]];
            if (t & S_SPACE)
                break;
            seen |= t;
            i++;
        }
        if (i == start)
            break;
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
                continue;
        }
        if (len >= 16 && b64_chunk(p + start, len)) {
            EMIT_LIT(st, "<b64>");
            continue;
        }
        split_words(st, p + start, len);
    }
}

bw_status bw_campaign_normalize(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out,
                                size_t *token_count, unsigned *flags)
{
    return bw_campaign_normalize_sketch(limits, subject, text, rcpt_addr, rcpt_name, out, SIZE_MAX, NULL,
                                        token_count, flags);
}

bw_status bw_campaign_normalize_sketch(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                       bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens,
                                       bw_campaign_sketch *sketch, size_t *token_count, unsigned *flags)
{
    bw_campaign_norm_limits defaults;
    if (!limits) {
        bw_campaign_norm_limits_default(&defaults);
        limits = &defaults;
    }
    norm_state st;
    memset(&st, 0, sizeof st);
    st.limits = limits;
    st.out = out;
    st.text_max = text_max_tokens;
    st.sketch = sketch;
    st.rcpt_addr = rcpt_addr;
    add_rcpt_words(&st, rcpt_name);
    const char *at = rcpt_addr.n ? memchr(rcpt_addr.p, '@', rcpt_addr.n) : NULL;
    if (at)
        add_rcpt_words(&st, bw_slice_make(rcpt_addr.p, (size_t)(at - rcpt_addr.p)));

    size_t budget = limits->max_input_bytes;
    bw_slice parts[2] = { subject, text };
    for (int k = 0; k < 2; k++) {
        bw_slice s = parts[k];
        if (s.n > budget) {
            s.n = budget;
            st.flags |= BW_NORM_INPUT_LIMIT;
        }
        budget -= s.n;
        normalize_part(&st, s);
    }
    if (out->cap == 0 && bw_buf_reserve(out, 1) != 0)
        st.nomem = true;
    if (token_count)
        *token_count = st.tokens;
    if (flags)
        *flags = st.flags;
    return st.nomem ? BW_ERR_NOMEM : BW_OK;
}
