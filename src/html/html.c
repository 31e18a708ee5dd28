// SPDX-License-Identifier: MIT
// The HTML renderer behind bw_html.h: one forward pass over the bytes with a small state
// (inside <head>, inside an <a>, pending whitespace), so its cost is linear in the input
// whatever the nesting or breakage. It follows the HTML5 tokenizer where spam exploits
// the difference (comments, raw-text elements, entity rules in attributes, quoted values
// spanning '>') and simplifies elsewhere: no tree, no implied end tags beyond <head>.
#include "botwatch/html.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

// Defaults. Text: 256 KiB is far more than any human reads in a mail and bounds what a
// multi-megabyte HTML bomb can make us keep. Tags: real tags are under 1 KiB; 16 KiB
// leaves room for inline styles while bounding attribute parsing of a giant tag. URLs:
// browsers cope with ~2 KiB, spam tracking URLs reach 1-2 KiB, so 4 KiB keeps them all.
// Links: newsletters carry up to a few hundred; 1000 bounds link-farm spam. Anchor text:
// 256 bytes is a long sentence; we keep it as a feature, not as content. Hidden segments:
// 1000 comments/scripts/odd attributes is far past real mail, and each costs 16 bytes.
void bw_html_limits_default(bw_html_limits *limits)
{
    limits->max_hidden = 1000;
    limits->max_text_bytes = 256 * 1024;
    limits->max_tag_bytes = 16 * 1024;
    limits->max_attr_bytes = 4096;
    limits->max_links = 1000;
    limits->max_link_text_bytes = 256;
}

const char *bw_html_flag_name(unsigned flag)
{
    switch (flag) {
    case BW_HTML_TEXT_LIMIT: return "html_text_limit";
    case BW_HTML_LINK_LIMIT: return "html_link_limit";
    case BW_HTML_TAG_LIMIT: return "html_tag_limit";
    case BW_HTML_ATTR_LIMIT: return "html_attr_limit";
    case BW_HTML_UNCLOSED_COMMENT: return "html_unclosed_comment";
    case BW_HTML_UNCLOSED_TAG: return "html_unclosed_tag";
    case BW_HTML_NUL: return "html_nul";
    case BW_HTML_HIDDEN_LIMIT: return "html_hidden_limit";
    default: return NULL;
    }
}

// ---- character references ----

typedef struct entity {
    const char *name;
    const char *utf8;
    uint8_t utf8_len;
    uint8_t legacy;     // also recognised without the ';' (HTML4-era names)
} entity;

static const entity entities[] = {
#include "entities.inc"
};
#define ENTITY_COUNT (sizeof entities / sizeof entities[0])
#define ENTITY_MAX_NAME 32
#define LEGACY_MAX_NAME 6   // longest legacy name ("frac34", "middot", ...)

// Compares name[0..n) with the NUL-terminated s, like strcmp would; name may hold NULs
// (tag names in hostile HTML), which never match and never read past s.
static inline int name_cmp(const char *name, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)name[i], b = (unsigned char)s[i];
        if (b == '\0')
            return 1;   // s ended first: name is longer
        if (a != b)
            return a < b ? -1 : 1;
    }
    return s[n] == '\0' ? 0 : -1;
}

static const entity *entity_find(const char *name, size_t n)
{
    size_t lo = 0, hi = ENTITY_COUNT;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = name_cmp(name, n, entities[mid].name);
        if (c == 0)
            return &entities[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

// Browsers read &#128;..&#159; as windows-1252, and spam written in Word relies on it.
static const uint16_t cp1252_c1[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
    0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static inline bool is_alpha(unsigned char c) { return (unsigned char)((c | 0x20) - 'a') < 26; }
static inline bool is_digit(unsigned char c) { return (unsigned char)(c - '0') < 10; }
static inline bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static inline int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t decode_numeric(bw_slice s, char *utf8, size_t *utf8_len)
{
    size_t i = 2;   // past "&#"
    bool hex = i < s.n && (s.p[i] | 0x20) == 'x';
    if (hex)
        i++;
    size_t digits_start = i;
    uint32_t cp = 0;
    bool overflow = false;
    for (; i < s.n; i++) {
        int d = hex ? hex_value((unsigned char)s.p[i]) : (is_digit((unsigned char)s.p[i]) ? s.p[i] - '0' : -1);
        if (d < 0)
            break;
        if (cp > 0x10ffff)
            overflow = true;   // keep consuming digits, the value is already invalid
        else
            cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (i == digits_start)
        return 0;
    if (i < s.n && s.p[i] == ';')
        i++;
    if (overflow || cp > 0x10ffff || cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    else if (cp >= 0x80 && cp <= 0x9f)
        cp = cp1252_c1[cp - 0x80];
    *utf8_len = utf8_encode(cp, utf8);
    return i;
}

size_t bw_html_decode_entity(bw_slice s, int in_attribute, char utf8[8], size_t *utf8_len)
{
    if (s.n < 2 || s.p[0] != '&')
        return 0;
    if (s.p[1] == '#')
        return decode_numeric(s, utf8, utf8_len);
    size_t n = 0;
    while (1 + n < s.n && n < ENTITY_MAX_NAME && is_alnum((unsigned char)s.p[1 + n]))
        n++;
    if (n == 0)
        return 0;
    const char *name = s.p + 1;
    if (1 + n < s.n && s.p[1 + n] == ';') {
        const entity *e = entity_find(name, n);
        if (e) {
            memcpy(utf8, e->utf8, e->utf8_len);
            *utf8_len = e->utf8_len;
            return n + 2;
        }
    }
    // Without ';' only the legacy names count, longest match first ("&notin" -> "¬in").
    for (size_t len = n < LEGACY_MAX_NAME ? n : LEGACY_MAX_NAME; len >= 2; len--) {
        const entity *e = entity_find(name, len);
        if (!e || !e->legacy)
            continue;
        if (in_attribute && 1 + len < s.n && (is_alnum((unsigned char)s.p[1 + len]) || s.p[1 + len] == '='))
            return 0;   // "?a=1&copy=2" in a URL is a parameter, not a character
        memcpy(utf8, e->utf8, e->utf8_len);
        *utf8_len = e->utf8_len;
        return len + 1;
    }
    return 0;
}

// ---- elements ----

enum {
    TAG_BLOCK = 1 << 0,     // a line break before and after
    TAG_CELL = 1 << 1,      // a space: table cells
    TAG_RAW = 1 << 2,       // content is not markup and not shown (script, style, title)
    TAG_IN_HEAD = 1 << 3,   // may appear inside <head> without ending it
    TAG_HREF = 1 << 4,
    TAG_SRC = 1 << 5,
    TAG_ACTION = 1 << 6,
    TAG_ANCHOR = 1 << 7,
    TAG_HEAD = 1 << 8,
    TAG_BODY = 1 << 9,
};

typedef struct tag_info {
    const char *name;
    unsigned flags;
} tag_info;

// Sorted by name for binary search.
static const tag_info tags[] = {
    { "a", TAG_HREF | TAG_ANCHOR },
    { "address", TAG_BLOCK },
    { "area", TAG_HREF },
    { "article", TAG_BLOCK },
    { "aside", TAG_BLOCK },
    { "base", TAG_IN_HEAD },
    { "blockquote", TAG_BLOCK },
    { "body", TAG_BLOCK | TAG_BODY },
    { "br", TAG_BLOCK },
    { "caption", TAG_BLOCK },
    { "center", TAG_BLOCK },
    { "dd", TAG_BLOCK },
    { "div", TAG_BLOCK },
    { "dl", TAG_BLOCK },
    { "dt", TAG_BLOCK },
    { "embed", TAG_SRC },
    { "fieldset", TAG_BLOCK },
    { "figcaption", TAG_BLOCK },
    { "figure", TAG_BLOCK },
    { "footer", TAG_BLOCK },
    { "form", TAG_BLOCK | TAG_ACTION },
    { "frame", TAG_SRC },
    { "h1", TAG_BLOCK },
    { "h2", TAG_BLOCK },
    { "h3", TAG_BLOCK },
    { "h4", TAG_BLOCK },
    { "h5", TAG_BLOCK },
    { "h6", TAG_BLOCK },
    { "head", TAG_HEAD | TAG_IN_HEAD },
    { "header", TAG_BLOCK },
    { "hr", TAG_BLOCK },
    { "html", TAG_IN_HEAD },
    { "iframe", TAG_SRC },
    { "img", TAG_SRC },
    { "input", TAG_SRC },   // <input type=image src=...> is loaded like an image
    { "li", TAG_BLOCK },
    { "link", TAG_IN_HEAD },
    { "main", TAG_BLOCK },
    { "meta", TAG_IN_HEAD },
    { "nav", TAG_BLOCK },
    { "noscript", TAG_IN_HEAD },
    { "ol", TAG_BLOCK },
    { "option", TAG_BLOCK },
    { "p", TAG_BLOCK },
    { "pre", TAG_BLOCK },
    { "script", TAG_RAW | TAG_SRC | TAG_IN_HEAD },
    { "section", TAG_BLOCK },
    { "style", TAG_RAW | TAG_IN_HEAD },
    { "table", TAG_BLOCK },
    { "tbody", TAG_BLOCK },
    { "td", TAG_CELL },
    { "template", TAG_RAW | TAG_IN_HEAD },
    { "tfoot", TAG_BLOCK },
    { "th", TAG_CELL },
    { "thead", TAG_BLOCK },
    { "title", TAG_RAW | TAG_IN_HEAD },
    { "tr", TAG_BLOCK },
    { "ul", TAG_BLOCK },
};
#define TAG_NAME_MAX 16
#define TAG_COUNT (sizeof tags / sizeof tags[0])

// A tag name of up to 16 bytes packed big-endian into two words, zero-padded, and looked
// up in a small open-addressing table built per renderer: a multiply and one or two word
// compares instead of a binary search of string compares. Every element's tag is looked
// up, so this is one of the renderer's hottest paths.
typedef struct tag_key {
    uint64_t hi, lo;
    size_t len;   // a name with trailing NULs packs like a table name but is longer
} tag_key;

static inline void tag_key_add(tag_key *k, size_t at, unsigned char c)
{
    if (at < 8)
        k->hi |= (uint64_t)c << (56 - 8 * at);
    else
        k->lo |= (uint64_t)c << (56 - 8 * (at - 8));
}

#define TAG_SLOTS 256   // > 4x TAG_COUNT: probe sequences stay short

static inline size_t tag_slot(const tag_key *k)
{
    return (size_t)(((k->hi ^ (k->lo * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull) >> 56);
}

// slots: TAG_SLOTS entries holding a tags[] index + 1, 0 = empty.
static const tag_info *tag_find(const tag_key *keys, const uint8_t *slots, const tag_key *name)
{
    for (size_t s = tag_slot(name); slots[s]; s = (s + 1) % TAG_SLOTS) {
        const tag_key *k = &keys[slots[s] - 1];
        if (name->hi == k->hi && name->lo == k->lo)
            return name->len == k->len ? &tags[slots[s] - 1] : NULL;
    }
    return NULL;
}

// ---- the renderer ----

typedef struct link_rec {
    size_t target_off, target_len;   // in link_bytes
    size_t text_start, text_end;     // in text (text_end = SIZE_MAX while the <a> is open)
    bw_html_link_kind kind;
    bool anchor;
    bool encoded_host;
} link_rec;

struct bw_html_renderer {
    bw_html_limits limits;
    bw_buf text;
    bw_buf link_bytes;
    link_rec *recs;
    size_t rec_count, rec_cap;
    bw_html_link *links;
    size_t link_cap;
    bw_slice *hidden;
    size_t hidden_count, hidden_cap;
    // per-document state
    unsigned flags;
    int pending_space;     // 0 none, 1 space, 2 newline: emitted before the next visible byte
    bool in_head;
    bool text_full;
    bool nomem;
    size_t open_anchor;    // index in recs, SIZE_MAX if none
    tag_key tag_keys[TAG_COUNT];   // tags[] packed, same order
    uint8_t tag_slots[TAG_SLOTS];  // hash table over tag_keys
};

bw_html_renderer *bw_html_renderer_new(const bw_html_limits *limits)
{
    bw_html_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (limits)
        r->limits = *limits;
    else
        bw_html_limits_default(&r->limits);
    for (size_t t = 0; t < TAG_COUNT; t++) {
        tag_key *k = &r->tag_keys[t];
        k->len = strlen(tags[t].name);
        for (size_t c = 0; c < k->len; c++)
            tag_key_add(k, c, (unsigned char)tags[t].name[c]);
        size_t slot = tag_slot(k);
        while (r->tag_slots[slot])
            slot = (slot + 1) % TAG_SLOTS;
        r->tag_slots[slot] = (uint8_t)(t + 1);
    }
    return r;
}

void bw_html_renderer_free(bw_html_renderer *r)
{
    if (!r)
        return;
    bw_buf_free(&r->text);
    bw_buf_free(&r->link_bytes);
    free(r->recs);
    free(r->links);
    free(r->hidden);
    free(r);
}

// Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence.
static size_t utf8_safe_cut(const char *s, size_t n)
{
    size_t i = n, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    return (back + 1 >= need || lead < 0xc0) ? n : i - 1;
}

// Appends visible bytes, first the pending separator, within max_text_bytes.
static void emit(bw_html_renderer *r, const char *p, size_t n)
{
    if (r->text_full || n == 0)
        return;
    // Fast path: bw_html_render reserved room for the whole input, which the text (whitespace
    // collapsed, references shortened) nearly never outgrows, so most runs are one memcpy.
    size_t gap = r->pending_space && r->text.n > 0;
    size_t end = r->text.n + gap + n;
    if (end < r->text.cap && end <= r->limits.max_text_bytes) {
        char *out = r->text.p + r->text.n;
        if (gap)
            *out++ = r->pending_space == 2 ? '\n' : ' ';
        memcpy(out, p, n);
        r->text.n = end;
        r->text.p[end] = '\0';
        r->pending_space = 0;
        return;
    }
    if (r->pending_space && r->text.n > 0) {
        char sep = r->pending_space == 2 ? '\n' : ' ';
        if (r->text.n + 1 > r->limits.max_text_bytes) {
            r->text_full = true;
            r->flags |= BW_HTML_TEXT_LIMIT;
            return;
        }
        if (bw_buf_append_char(&r->text, sep) < 0) {
            r->nomem = true;
            return;
        }
    }
    r->pending_space = 0;
    size_t room = r->limits.max_text_bytes - r->text.n;
    if (n > room) {
        n = utf8_safe_cut(p, room);
        r->text_full = true;
        r->flags |= BW_HTML_TEXT_LIMIT;
    }
    if (bw_buf_append(&r->text, p, n) < 0)
        r->nomem = true;
}

static inline void want_space(bw_html_renderer *r, int kind)
{
    if (r->pending_space < kind)
        r->pending_space = kind;
}


// Byte classes of the tag tokenizer (a table lookup instead of a chain of compares per byte).
enum {
    CL_SPACE = 1 << 0,            // is_space()
    CL_TAG_NAME_END = 1 << 1,     // space, '/', '>'
    CL_ATTR_NAME_END = 1 << 2,    // space, '/', '>', '='
    CL_UNQUOTED_END = 1 << 3,     // space, '>'
};
#define CL_WS (CL_SPACE | CL_TAG_NAME_END | CL_ATTR_NAME_END | CL_UNQUOTED_END)
static const uint8_t html_class[256] = {
    [' '] = CL_WS, ['\t'] = CL_WS, ['\n'] = CL_WS, ['\r'] = CL_WS, ['\f'] = CL_WS, ['\v'] = CL_WS,
    ['/'] = CL_TAG_NAME_END | CL_ATTR_NAME_END,
    ['>'] = CL_TAG_NAME_END | CL_ATTR_NAME_END | CL_UNQUOTED_END,
    ['='] = CL_ATTR_NAME_END,
};

// HTML whitespace: ' ', '\t', '\n', '\r', '\f', '\v' (one lookup, not six compares).
static inline bool is_space(unsigned char c) { return html_class[c] & CL_SPACE; }

// Bytes that end a run of visible text: whitespace, '&' and NUL.
static const bool text_stop[256] = {
    [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true, ['\f'] = true, ['\v'] = true,
    ['&'] = true, ['\0'] = true,
};

// The end of the text that renders as written from p[i] (not a stop byte): the first
// stop byte that is not a single ' ' before a non-stop byte, or n. 16 bytes a step (SSE2,
// x86-64's baseline) wherever 17 bytes can be read (readable >= n: the text is followed
// by the rest of the document, so short runs before a tag take one step too); bytes from
// n on count as stops. The word-by-word loops this replaces cost ~3k instructions a
// message.
static size_t plain_run_end(const char *p, size_t n, size_t readable, size_t i)
{
#ifdef __SSE2__
    const __m128i sp = _mm_set1_epi8(' '), amp = _mm_set1_epi8('&'), zero = _mm_setzero_si128(),
                  tab = _mm_set1_epi8('\t'), four = _mm_set1_epi8(4);
    while (i < n && i + 17 <= readable) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i is_sp = _mm_cmpeq_epi8(v, sp);
        // '\t' '\n' '\v' '\f' '\r' are 9..13: v - 9 <= 4 unsigned.
        __m128i ctl = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, tab), four), zero);
        __m128i stop = _mm_or_si128(_mm_or_si128(is_sp, ctl), _mm_or_si128(_mm_cmpeq_epi8(v, amp),
                                                                            _mm_cmpeq_epi8(v, zero)));
        unsigned stops = (unsigned)_mm_movemask_epi8(stop), spaces = (unsigned)_mm_movemask_epi8(is_sp);
        unsigned next_stops = (stops >> 1) | ((unsigned)text_stop[(unsigned char)p[i + 16]] << 15);
        if (n - i < 17) {   // position k >= n - i is past the text; k + 1 >= n - i has no next byte
            unsigned past = ~0u << (n - i);
            stops |= past;
            next_stops |= past >> 1;
        }
        unsigned bad = stops & ~(spaces & ~next_stops) & 0xffffu;
        if (bad)
            return i + (size_t)__builtin_ctz(bad);
        i += 16;
    }
#else
    (void)readable;
#endif
    while (i < n) {
        if (text_stop[(unsigned char)p[i]] && !(p[i] == ' ' && i + 1 < n && !text_stop[(unsigned char)p[i + 1]]))
            break;
        i++;
    }
    return i;
}

// Visible text between tags: collapses whitespace, decodes references, drops NULs.
// p[0..readable) may be read (readable >= n).
static void render_text(bw_html_renderer *r, const char *p, size_t n, size_t readable)
{
    size_t i = 0;
    while (i < n) {
        unsigned char first = (unsigned char)p[i];
        if (text_stop[first] && is_space(first)) {
            // A run of whitespace is one separator (indentation between tags is common).
            want_space(r, 1);
            i++;
            while (i < n && is_space((unsigned char)p[i]))
                i++;
            continue;
        }
        if (!text_stop[first] && !r->text_full) {
            // Words joined by one plain space render as written: emit them as one run
            // instead of word, separator, word, when the whole run fits (else below, word
            // by word, so the text limit cuts exactly where word-by-word emission would).
            size_t end = plain_run_end(p, n, readable, i);
            size_t room = r->limits.max_text_bytes - r->text.n;
            if (end - i <= (room > 1 ? room - 1 : 0)) {   // a pending separator may come first
                r->in_head = false;   // browsers end <head> at the first visible text
                emit(r, p + i, end - i);
                i = end;
                continue;
            }
        }
        size_t run = i;
        while (run < n && !text_stop[(unsigned char)p[run]])
            run++;
        if (run > i) {
            if (r->in_head)
                r->in_head = false;   // browsers end <head> at the first visible text
            size_t joined = run;
            if (!r->text_full) {
                size_t room = r->limits.max_text_bytes - r->text.n;
                size_t budget = room > 1 ? room - 1 : 0;   // a pending separator may come first
                while (joined + 1 < n && p[joined] == ' ' && !text_stop[(unsigned char)p[joined + 1]]) {
                    size_t next = joined + 1;
                    while (next < n && !text_stop[(unsigned char)p[next]])
                        next++;
                    if (next - i > budget)
                        break;
                    joined = next;
                }
            }
            emit(r, p + i, joined - i);
            i = joined;
            continue;
        }
        unsigned char c = (unsigned char)p[i];
        if (c == '\0') {
            r->flags |= BW_HTML_NUL;
            i++;
        } else if (c == '&') {
            char utf8[8];
            size_t len = 0;
            size_t used = bw_html_decode_entity(bw_slice_make(p + i, n - i), 0, utf8, &len);
            if (used == 0) {
                emit(r, "&", 1);
                i++;
                continue;
            }
            i += used;
            r->in_head = false;
            if (len == 2 && (unsigned char)utf8[0] == 0xc2 && (unsigned char)utf8[1] == 0xa0)
                want_space(r, 1);   // &nbsp; separates words like a space
            else
                emit(r, utf8, len);
        } else {
            want_space(r, 1);
            i++;
        }
    }
}

// Returns whether a link was kept (false for an empty value or past the limit).
static bool add_link(bw_html_renderer *r, const char *value, size_t n, bw_html_link_kind kind, bool anchor)
{
    if (r->rec_count >= r->limits.max_links) {
        r->flags |= BW_HTML_LINK_LIMIT;
        return false;
    }
    // Decode references and drop NULs into link_bytes, then trim.
    size_t start = r->link_bytes.n;
    size_t i = 0, first_reference = SIZE_MAX;   // output offset of the first decoded reference
    bool cut = false;
    while (i < n) {
        if (r->link_bytes.n - start >= r->limits.max_attr_bytes) {
            cut = true;
            break;
        }
        // Copy the run up to the next '&' or NUL in one go.
        size_t room = r->limits.max_attr_bytes - (r->link_bytes.n - start);
        size_t run_end = n - i > room ? i + room : n;
        // Link values are long (tracking URLs): two vector searches beat a byte loop.
        const char *amp = memchr(value + i, '&', run_end - i);
        size_t run = amp ? (size_t)(amp - value) : run_end;
        const char *nul = memchr(value + i, '\0', run - i);
        if (nul)
            run = (size_t)(nul - value);
        if (run > i) {
            if (bw_buf_append(&r->link_bytes, value + i, run - i) < 0)
                goto nomem;
            i = run;
            continue;
        }
        if (value[i] == '&') {
            char utf8[8];
            size_t len = 0;
            size_t used = bw_html_decode_entity(bw_slice_make(value + i, n - i), 1, utf8, &len);
            if (used) {
                if (first_reference == SIZE_MAX)
                    first_reference = r->link_bytes.n - start;
                if (bw_buf_append(&r->link_bytes, utf8, len) < 0)
                    goto nomem;
                i += used;
                continue;
            }
            if (bw_buf_append_char(&r->link_bytes, '&') < 0)
                goto nomem;
        } else {
            r->flags |= BW_HTML_NUL;
        }
        i++;
    }
    if (cut) {
        r->flags |= BW_HTML_ATTR_LIMIT;
        r->link_bytes.n = start + utf8_safe_cut(r->link_bytes.p + start, r->limits.max_attr_bytes);
    }
    size_t s = start, e = r->link_bytes.n;
    while (s < e && is_space((unsigned char)r->link_bytes.p[s]))
        s++;
    while (e > s && is_space((unsigned char)r->link_bytes.p[e - 1]))
        e--;
    if (s == e) {
        r->link_bytes.n = start;
        return false;
    }
    if (r->rec_count == r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap * 2 : 16;
        link_rec *recs = realloc(r->recs, cap * sizeof *recs);
        if (!recs)
            goto nomem;
        r->recs = recs;
        r->rec_cap = cap;
    }
    link_rec *rec = &r->recs[r->rec_count];
    rec->target_off = s;
    rec->target_len = e - s;
    rec->kind = kind;
    rec->encoded_host = false;
    if (first_reference != SIZE_MAX) {
        // Spam writes "h&#116;tp://&#119;ww..." to hide a host from filters; "&amp;" in a
        // query string is ordinary. So only references before the path count.
        const char *v = r->link_bytes.p + start;
        size_t len = r->link_bytes.n - start, k = 0;
        const char *sep = memmem(v, len, "//", 2);
        size_t auth_end = len;
        if (sep) {
            for (k = (size_t)(sep - v) + 2; k < len && v[k] != '/' && v[k] != '?' && v[k] != '#'; k++)
                ;
            auth_end = k;
        }
        rec->encoded_host = first_reference < auth_end;
    }
    rec->text_start = rec->text_end = 0;
    rec->anchor = anchor;
    if (anchor) {
        rec->text_start = r->text.n;
        rec->text_end = SIZE_MAX;
        r->open_anchor = r->rec_count;
    }
    r->rec_count++;
    return true;
nomem:
    r->nomem = true;
    return false;
}

static void close_anchor(bw_html_renderer *r)
{
    if (r->open_anchor != SIZE_MAX) {
        r->recs[r->open_anchor].text_end = r->text.n;
        r->open_anchor = SIZE_MAX;
    }
}

static void add_hidden(bw_html_renderer *r, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (r->hidden_count >= r->limits.max_hidden) {
        r->flags |= BW_HTML_HIDDEN_LIMIT;
        return;
    }
    if (r->hidden_count == r->hidden_cap) {
        size_t cap = r->hidden_cap ? r->hidden_cap * 2 : 16;
        bw_slice *hidden = realloc(r->hidden, cap * sizeof *hidden);
        if (!hidden) {
            r->nomem = true;
            return;
        }
        r->hidden = hidden;
        r->hidden_cap = cap;
    }
    r->hidden[r->hidden_count++] = bw_slice_make(p, n);
}

// An attribute value worth a URL scan: it names a scheme or a www. host.
static bool may_hold_url(const char *p, size_t n)
{
    const char *end = p + n;
    for (const char *c = memchr(p, ':', n); c; c = memchr(c + 1, ':', (size_t)(end - c - 1)))
        if (end - c >= 3 && c[1] == '/' && c[2] == '/')
            return true;
    for (const char *d = memchr(p, '.', n); d; d = memchr(d + 1, '.', (size_t)(end - d - 1)))
        if (d - p >= 3 && (d[-1] | 0x20) == 'w' && (d[-2] | 0x20) == 'w' && (d[-3] | 0x20) == 'w')
            return true;
    return false;
}

// Skips the content of a raw-text element up to its end tag ("</script" + non-name byte).
// Returns the offset after that end tag's '>', or n if it never ends.
static size_t skip_raw(bw_html_renderer *r, const char *p, size_t n, size_t i, const char *name)
{
    size_t name_len = strlen(name);
    size_t start = i;
    while (i < n) {
        const char *lt = memchr(p + i, '<', n - i);
        if (!lt)
            break;
        i = (size_t)(lt - p) + 1;
        if (i < n && p[i] == '/' && n - i - 1 >= name_len) {
            size_t k = 0;
            while (k < name_len && (p[i + 1 + k] | 0x20) == name[k])
                k++;
            size_t after = i + 1 + name_len;
            if (k == name_len && (after == n || !is_alnum((unsigned char)p[after]))) {
                add_hidden(r, p + start, i - 1 - start);
                const char *gt = memchr(p + after, '>', n - after);
                return gt ? (size_t)(gt - p) + 1 : n;
            }
        }
    }
    add_hidden(r, p + start, n - start);
    r->flags |= BW_HTML_UNCLOSED_TAG;
    return n;
}

// Parses the tag starting at p[i] == '<' (followed by a letter or '/'+letter). Returns the
// offset after it.
static size_t render_tag(bw_html_renderer *r, const char *p, size_t n, size_t i)
{
    size_t tag_start = i;
    bool end_tag = p[i + 1] == '/';
    i += end_tag ? 2 : 1;
    tag_key name = { 0, 0, 0 };
    size_t name_start = i;
    while (i < n && !(html_class[(unsigned char)p[i]] & CL_TAG_NAME_END)) {
        if (i - name_start < TAG_NAME_MAX)
            tag_key_add(&name, i - name_start, (unsigned char)(p[i] | (is_alpha((unsigned char)p[i]) ? 0x20 : 0)));
        i++;
    }
    name.len = i - name_start;
    const tag_info *info = name.len <= TAG_NAME_MAX ? tag_find(r->tag_keys, r->tag_slots, &name) : NULL;
    unsigned flags = info ? info->flags : 0;
    size_t limit = r->limits.max_tag_bytes;
    bool truncated = false, took_link = false, took_url = false;

    // Attributes (start tags only; end tags' are ignored, as by browsers).
    while (i < n && p[i] != '>') {
        if (i - tag_start >= limit) {
            truncated = true;
            break;
        }
        if (html_class[(unsigned char)p[i]] & (CL_SPACE | CL_TAG_NAME_END)) {   // space or '/' ('>' ended the loop)
            i++;
            continue;
        }
        size_t an = i;
        i++;   // the first byte may be '=': part of the name (HTML5)
        while (i < n && !(html_class[(unsigned char)p[i]] & CL_ATTR_NAME_END))
            i++;
        size_t attr_len = i - an;
        const char *attr = p + an;
        while (i < n && (html_class[(unsigned char)p[i]] & CL_SPACE))
            i++;
        const char *value = NULL;
        size_t value_len = 0;
        if (i < n && p[i] == '=') {
            i++;
            while (i < n && is_space((unsigned char)p[i]))
                i++;
            if (i < n && (p[i] == '"' || p[i] == '\'')) {
                char quote = p[i++];
                const char *close = memchr(p + i, quote, n - i);
                size_t end = close ? (size_t)(close - p) : n;
                value = p + i;
                value_len = end - i;
                i = close ? end + 1 : n;
            } else {
                size_t vs = i;
                while (i < n && !(html_class[(unsigned char)p[i]] & CL_UNQUOTED_END))
                    i++;
                value = p + vs;
                value_len = i - vs;
            }
        }
        if (end_tag || !value)
            continue;
        bw_html_link_kind kind;
        bool wanted = false;
        if (attr_len == 4 && (flags & TAG_HREF) && !strncasecmp(attr, "href", 4)) {
            kind = BW_HTML_LINK_HREF;
            wanted = true;
        } else if (attr_len == 3 && (flags & TAG_SRC) && !strncasecmp(attr, "src", 3)) {
            kind = BW_HTML_LINK_SRC;
            wanted = true;
        } else if (attr_len == 6 && (flags & TAG_ACTION) && !strncasecmp(attr, "action", 6)) {
            kind = BW_HTML_LINK_ACTION;
            wanted = true;
        } else if (attr_len == 10 && !strncasecmp(attr, "background", 10)) {
            kind = BW_HTML_LINK_BACKGROUND;
            wanted = true;
        }
        if (wanted) {
            bool anchor = (flags & TAG_ANCHOR) && kind == BW_HTML_LINK_HREF;
            if (anchor)
                close_anchor(r);   // <a> inside <a>: browsers close the first
            took_link |= add_link(r, value, value_len, kind, anchor);
        } else if (value_len >= 4 && may_hold_url(value, value_len)) {
            add_hidden(r, value, value_len);   // title=, onclick=, pluginspage=, ...
            took_url = true;
        }
    }
    if (truncated) {
        r->flags |= BW_HTML_TAG_LIMIT;
        const char *gt = memchr(p + i, '>', n - i);
        i = gt ? (size_t)(gt - p) : n;
    }
    // A tag that gave no link but holds a URL somewhere (style="background:url(...)",
    // <option value=...>, a URL as a broken attribute name, an unknown element's src, or
    // attributes past max_tag_bytes) is kept whole for a URL scan.
    if (!end_tag && ((!took_link && !took_url) || truncated) && i - tag_start > 8 && may_hold_url(p + tag_start, i - tag_start))
        add_hidden(r, p + tag_start, i - tag_start);
    if (i >= n) {
        r->flags |= BW_HTML_UNCLOSED_TAG;   // "<a href=..." at the very end: dropped
        return n;
    }
    i++;   // '>'

    if (flags & TAG_ANCHOR && end_tag)
        close_anchor(r);
    if (flags & TAG_HEAD) {
        r->in_head = !end_tag;
        return i;
    }
    if (r->in_head && !(flags & TAG_IN_HEAD))
        r->in_head = false;
    if (flags & TAG_BLOCK)
        want_space(r, 2);
    else if (flags & TAG_CELL)
        want_space(r, 1);
    if ((flags & TAG_RAW) && !end_tag)   // even "<script/>": browsers ignore the '/'
        i = skip_raw(r, p, n, i, info->name);
    return i;
}

// Skips "<!...", "<?...", "</ ..." forms; returns the offset after them.
static size_t skip_markup_declaration(bw_html_renderer *r, const char *p, size_t n, size_t i)
{
    if (n - i >= 4 && p[i + 1] == '!' && p[i + 2] == '-' && p[i + 3] == '-') {
        size_t j = i + 4;
        // "<!-->" and "<!--->" are complete (empty) comments in HTML5.
        if (j < n && p[j] == '>')
            return j + 1;
        if (j + 1 < n && p[j] == '-' && p[j + 1] == '>')
            return j + 2;
        size_t body = j;
        while (j < n) {
            const char *dash = memchr(p + j, '-', n - j);
            if (!dash)
                break;
            j = (size_t)(dash - p);
            if (j + 2 < n && p[j + 1] == '-' && p[j + 2] == '>') {
                add_hidden(r, p + body, j - body);
                return j + 3;
            }
            if (j + 3 < n && p[j + 1] == '-' && p[j + 2] == '!' && p[j + 3] == '>') {
                add_hidden(r, p + body, j - body);
                return j + 4;
            }
            j++;
        }
        add_hidden(r, p + body, n - body);
        r->flags |= BW_HTML_UNCLOSED_COMMENT;
        return n;
    }
    const char *gt = memchr(p + i, '>', n - i);
    size_t end = gt ? (size_t)(gt - p) : n;
    if (end - i > 2 && may_hold_url(p + i + 2, end - i - 2))
        add_hidden(r, p + i + 2, end - i - 2);   // <!DOCTYPE ... "http://...dtd">
    if (!gt) {
        r->flags |= BW_HTML_UNCLOSED_TAG;
        return n;
    }
    return end + 1;
}

static bw_status finish(bw_html_renderer *r, bw_html_doc *out)
{
    if (r->rec_count > r->link_cap) {
        bw_html_link *links = realloc(r->links, r->rec_count * sizeof *links);
        if (!links)
            return BW_ERR_NOMEM;
        r->links = links;
        r->link_cap = r->rec_count;
    }
    // Trailing separators are never emitted; only text already out counts.
    for (size_t k = 0; k < r->rec_count; k++) {
        const link_rec *rec = &r->recs[k];
        bw_html_link *l = &r->links[k];
        l->target = bw_slice_make(r->link_bytes.p + rec->target_off, rec->target_len);
        l->kind = rec->kind;
        l->encoded_host = rec->encoded_host;
        l->text = BW_SLICE_LIT("");
        if (rec->anchor) {
            size_t end = rec->text_end == SIZE_MAX ? r->text.n : rec->text_end;
            size_t start = rec->text_start;
            // The separator pending at <a> lands inside the anchor's range: skip it.
            while (start < end && is_space((unsigned char)r->text.p[start]))
                start++;
            size_t len = end - start;
            if (len > r->limits.max_link_text_bytes)
                len = utf8_safe_cut(r->text.p + start, r->limits.max_link_text_bytes);
            // No text at all: the buffer was never allocated (NULL + 0 is undefined).
            l->text = r->text.p ? bw_slice_make(r->text.p + start, len) : BW_SLICE_LIT("");
        }
    }
    out->text = bw_buf_slice(&r->text);
    if (!out->text.p)
        out->text = BW_SLICE_LIT("");
    out->links = r->links;
    out->link_count = r->rec_count;
    out->hidden = r->hidden;
    out->hidden_count = r->hidden_count;
    out->flags = r->flags;
    return BW_OK;
}

bw_status bw_html_render(bw_html_renderer *r, bw_slice html, bw_html_doc *out)
{
    memset(out, 0, sizeof *out);
    bw_buf_clear(&r->text);
    bw_buf_clear(&r->link_bytes);
    r->rec_count = 0;
    r->hidden_count = 0;
    r->flags = 0;
    r->pending_space = 0;
    r->in_head = false;
    r->text_full = false;
    r->nomem = false;
    r->open_anchor = SIZE_MAX;
    size_t room = html.n < r->limits.max_text_bytes ? html.n : r->limits.max_text_bytes;
    if (bw_buf_reserve(&r->text, room + 2) < 0)
        return BW_ERR_NOMEM;
    // Links are kept as offsets while parsing (the buffers may move as they grow) and
    // turned into slices in finish().
    const char *p = html.p;
    size_t n = html.n, i = 0;
    while (i < n && !r->nomem) {
        // Tags often follow each other ("><", ">\n<"): look at two bytes before a memchr call.
        const char *lt = p[i] == '<' ? p + i
                         : (i + 1 < n && p[i + 1] == '<') ? p + i + 1
                                                          : memchr(p + i, '<', n - i);
        size_t text_end = lt ? (size_t)(lt - p) : n;
        if (text_end > i) {
            if (r->in_head) {
                // Only whitespace may stay in <head>; anything else is body text.
                size_t k = i;
                while (k < text_end && is_space((unsigned char)p[k]))
                    k++;
                if (k < text_end)
                    render_text(r, p + k, text_end - k, n - k);
            } else {
                render_text(r, p + i, text_end - i, n - i);
            }
        }
        i = text_end;
        if (i >= n)
            break;
        unsigned char next = i + 1 < n ? (unsigned char)p[i + 1] : 0;
        if (is_alpha(next) || (next == '/' && i + 2 < n && is_alpha((unsigned char)p[i + 2])))
            i = render_tag(r, p, n, i);
        else if (next == '!' || next == '?' || next == '/')
            i = skip_markup_declaration(r, p, n, i);
        else {
            if (!r->in_head)
                emit(r, "<", 1);   // "a < b": a literal '<'
            i++;
        }
    }
    if (r->nomem)
        return BW_ERR_NOMEM;
    return finish(r, out);
}
