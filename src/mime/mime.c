// SPDX-License-Identifier: MIT
// The push parser of include/botwatch/mime.h. Chunks are appended to one buffer (up to
// max_message_bytes) and the message is parsed at finish. Why not parse as bytes arrive:
// the result must hold the whole message anyway (bw_message.raw, slices into it), the
// buffer is bounded by a limit, and one pass over contiguous memory lets every scan use
// memchr/memmem and lets headers and 7bit/8bit bodies be slices instead of copies, which
// is what makes the parser fast; results cannot depend on where chunks were split.
//
// The tree is parsed by recursive descent with a stack of the active boundaries, as
// Postfix mime_state.c and Python's feedparser do: a body ends at a boundary line of any
// enclosing multipart, so a missing close delimiter costs only that part. Boundary lines
// match exactly first (boundary, optional "--", trailing blanks), innermost boundary first;
// failing that, by prefix as RFC 2046 5.1.1 says ("--boundary" followed by anything).
// Everything the message needs beyond slices of raw lives in one arena, reset per message.
#include <stdlib.h>
#include <string.h>

#include "botwatch/arena.h"
#include "mime_internal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

// Defaults (CONVENTIONS 6). Real mail must never hit them; hostile mail must not be able
// to make one parser hold more than a few times max_message_bytes.
// - 32 MiB message: above common MTA size limits (Postfix message_size_limit 10 MB,
//   large providers 25-35 MB), so real mail is not cut, and it bounds one parser's memory.
// - 100 KiB per header field: Postfix header_size_limit (102400); longer fields are
//   attacks or broken mailers.
// - 1000 fields per header block: real messages carry < 100 (long Received chains ~40);
//   bounds the header array against header floods.
// - 32 KiB per physical header line: Exim's MIME_MAX_LINE_LENGTH; far above RFC 5322's
//   998 (which real mailers exceed with long To: lines), below the field limit. Body lines are not cut (decoding needs
//   no line buffer here) but lines over 998 are flagged long_line.
// - depth 64: rspamd's max_nested (Postfix mime_nesting_limit is 100); real mail nests
//   < 10. Also bounds the recursion (two frames per level).
// - 1024 parts: rspamd-like bound; real mail has < 50, each part costs a struct and work.
// - 2048 boundary bytes: Postfix mime_boundary_length_limit; RFC 2046 says 70 but real
//   boundaries exceed it. Longer ones are cut (and flagged), matching then by prefix.
// - 32 MiB decoded: decoding never expands (base64, QP, uuencode shrink), so the default
//   equals the message limit; lower it to bound memory per message further.
void bw_mime_limits_default(bw_mime_limits *limits)
{
    limits->max_message_bytes = 32u << 20;
    limits->max_header_bytes = 102400;
    limits->max_header_count = 1000;
    limits->max_line_bytes = 32u << 10;
    limits->max_depth = 64;
    limits->max_parts = 1024;
    limits->max_boundary_bytes = 2048;
    limits->max_decoded_bytes = 32u << 20;
}

// Recursion guard whatever the configured depth: 2 small frames per level.
#define MIME_HARD_MAX_DEPTH 256
// RFC 5322 2.1.1 line length, and the window used to find longer lines.
#define RFC_LINE_MAX 998

static const char *const anomaly_names[BW_ANOM_COUNT] = {
    "truncated", "bare_cr", "bare_lf", "8bit_header", "nul_byte", "long_line", "header_limit",
    "bad_header_line", "missing_date", "missing_message_id", "missing_from", "duplicate_singleton",
    "bad_date", "no_boundary", "bad_boundary", "missing_close_boundary", "depth_limit", "part_limit",
    "bad_base64", "truncated_base64", "bad_qp", "bad_uuencode", "unknown_encoding", "bad_charset",
    "charset_errors", "bad_encoded_word", "raw_8bit_body", "decoded_limit", "bad_content_type",
    "no_header_body_sep", "empty_message", "bad_rfc2231", "mime_without_version", "uuencode_in_text",
};

const char *bw_mime_anomaly_name(uint64_t flag)
{
    if (flag == 0 || (flag & (flag - 1)) != 0)
        return NULL;
    for (int bit = 0; bit < BW_ANOM_COUNT; bit++)
        if (flag == (1ull << bit))
            return anomaly_names[bit];
    return NULL;
}

enum transfer_kind { TE_7BIT, TE_8BIT, TE_BINARY, TE_BASE64, TE_QP, TE_UUENCODE, TE_UNKNOWN };

typedef struct boundary_entry {
    const char *p;
    size_t n;
} boundary_entry;

struct bw_mime_parser {
    bw_mime_limits limits;
    bw_buf raw;
    size_t total_bytes;
    bool nomem, finished;
    bw_arena *arena;
    mime_charsets charsets;
    bw_header *headers;
    size_t header_count, header_cap;
    bw_part *parts;
    size_t part_count, part_cap;
    size_t *part_header_first;   // parallel to parts: index of the part's first header
    bw_buf scratch;              // charset conversions before they are copied to the arena
    bw_buf field_scratch;        // Content-Type parameter values being decoded
    boundary_entry *stack;
    size_t stack_n, stack_cap;
    size_t decoded_total;
    bool stop;                   // part limit or allocation failure: unwind, add nothing
    uint64_t anomalies;          // message-level flags
    bw_message msg;
    // The message being parsed: the bytes fed (raw), or the caller's buffer when
    // bw_mime_parse was given the whole message (in_place, no copy).
    const char *buf;
    size_t len;
    bool in_place;
};

bw_mime_parser *bw_mime_parser_new(const bw_mime_limits *limits)
{
    bw_mime_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (limits)
        p->limits = *limits;
    else
        bw_mime_limits_default(&p->limits);
    if (p->limits.max_depth > MIME_HARD_MAX_DEPTH)
        p->limits.max_depth = MIME_HARD_MAX_DEPTH;
    p->arena = bw_arena_new(0);
    p->stack_cap = p->limits.max_depth + 2;
    p->stack = calloc(p->stack_cap, sizeof *p->stack);
    if (!p->arena || !p->stack) {
        bw_arena_free(p->arena);
        free(p->stack);
        free(p);
        return NULL;
    }
    mime_charsets_init(&p->charsets);
    return p;
}

void bw_mime_parser_free(bw_mime_parser *p)
{
    if (!p)
        return;
    bw_buf_free(&p->raw);
    bw_buf_free(&p->scratch);
    bw_buf_free(&p->field_scratch);
    bw_arena_free(p->arena);
    mime_charsets_close(&p->charsets);
    free(p->headers);
    free(p->parts);
    free(p->part_header_first);
    free(p->stack);
    free(p);
}

void bw_mime_parser_reset(bw_mime_parser *p)
{
    bw_buf_clear(&p->raw);
    bw_buf_clear(&p->scratch);
    bw_buf_clear(&p->field_scratch);
    bw_arena_reset(p->arena);
    p->total_bytes = 0;
    p->nomem = p->finished = p->stop = p->in_place = false;
    p->header_count = p->part_count = p->stack_n = p->decoded_total = 0;
    p->anomalies = 0;
    memset(&p->msg, 0, sizeof p->msg);
}

bw_status bw_mime_parser_feed(bw_mime_parser *p, const void *data, size_t n)
{
    if (p->nomem)
        return BW_ERR_NOMEM;
    if (p->finished)
        return BW_ERR_INVALID;
    p->total_bytes += n;
    size_t room = p->limits.max_message_bytes > p->raw.n ? p->limits.max_message_bytes - p->raw.n : 0;
    size_t keep = n < room ? n : room;
    if (keep && bw_buf_append(&p->raw, data, keep) != 0) {
        p->nomem = true;
        return BW_ERR_NOMEM;
    }
    return BW_OK;
}

// ---- small helpers -------------------------------------------------------------------------

// RFC 5322 field-name bytes: printable US-ASCII except ':' (one load per byte in the header
// loop instead of three compares).
static const bool FIELD_NAME_BYTE[256] = {   // 0x00-0x7F; the rest are 0
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

static inline unsigned char ascii_lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

static void *arena_dup(bw_mime_parser *p, const void *data, size_t n)
{
    void *copy = bw_arena_memdup(p->arena, data, n);
    if (!copy)
        p->stop = p->nomem = true;
    return copy;
}

static bw_slice dup_slice(bw_mime_parser *p, bw_slice s)
{
    if (s.n == 0)
        return bw_slice_make("", 0);
    char *copy = arena_dup(p, s.p, s.n);
    return copy ? bw_slice_make(copy, s.n) : bw_slice_make("", 0);
}

static bw_slice lower_dup(bw_mime_parser *p, bw_slice s)
{
    bool lower = true;
    for (size_t i = 0; i < s.n && lower; i++)
        if (s.p[i] >= 'A' && s.p[i] <= 'Z')
            lower = false;
    if (lower)
        return s.n ? s : bw_slice_make("", 0);
    char *copy = arena_dup(p, s.p, s.n);
    if (!copy)
        return bw_slice_make("", 0);
    for (size_t i = 0; i < s.n; i++)
        copy[i] = (char)ascii_lower((unsigned char)copy[i]);
    return bw_slice_make(copy, s.n);
}

static bool is_ascii(const char *s, size_t n) { return mime_ascii_prefix(s, n) == n; }

// True if some line in s[0..n) is longer than RFC 5322's 998 octets. Looks for a newline
// in each 1000-byte window (memrchr), so it costs one call per kilobyte, not per line.
static bool has_long_line(const char *s, size_t n)
{
    size_t at = 0;
    while (n - at > RFC_LINE_MAX + 1) {
        const char *nl = memrchr(s + at, '\n', RFC_LINE_MAX + 2);
        if (!nl)
            return true;
        at = (size_t)(nl - s) + 1;
    }
    return false;
}

static inline size_t line_end(const bw_mime_parser *p, size_t pos)
{
    const char *nl = memchr(p->buf + pos, '\n', p->len - pos);
    return nl ? (size_t)(nl - p->buf) : p->len;
}

static inline size_t after_line(const bw_mime_parser *p, size_t pos)
{
    size_t end = line_end(p, pos);
    return end < p->len ? end + 1 : p->len;
}

// ---- boundaries ----------------------------------------------------------------------------

// The stack level whose boundary the line at pos delimits (innermost first), or -1.
static int match_boundary(const bw_mime_parser *p, size_t pos, bool *closing)
{
    if (p->stack_n == 0 || p->len - pos < 2 || p->buf[pos] != '-' || p->buf[pos + 1] != '-')
        return -1;
    size_t end = line_end(p, pos);
    const char *b = p->buf + pos + 2;
    size_t bn = end - pos - 2;
    for (size_t i = p->stack_n; i-- > 0;) {
        const boundary_entry *e = &p->stack[i];
        if (bn < e->n || memcmp(b, e->p, e->n) != 0)
            continue;
        const char *rest = b + e->n;
        size_t rn = bn - e->n;
        bool cl = rn >= 2 && rest[0] == '-' && rest[1] == '-';
        size_t k = cl ? 2 : 0;
        while (k < rn && (is_blank(rest[k]) || rest[k] == '\r'))
            k++;
        if (k == rn) {
            *closing = cl;
            return (int)i;
        }
    }
    for (size_t i = p->stack_n; i-- > 0;) {
        const boundary_entry *e = &p->stack[i];
        if (bn >= e->n && memcmp(b, e->p, e->n) == 0) {
            // Closing if "--" follows the boundary or ends the line (a boundary cut by
            // max_boundary_bytes still closes).
            size_t t = bn;
            while (t > e->n && (is_blank(b[t - 1]) || b[t - 1] == '\r'))
                t--;
            *closing = (bn - e->n >= 2 && b[e->n] == '-' && b[e->n + 1] == '-') ||
                       (t - e->n >= 2 && b[t - 1] == '-' && b[t - 2] == '-');
            return (int)i;
        }
    }
    return -1;
}

// The start of the next line at or after pos (a line start) that is a boundary line of
// the stack, or len.
static size_t find_boundary(const bw_mime_parser *p, size_t pos)
{
    if (p->stack_n == 0)
        return p->len;
    size_t at = pos;
    for (;;) {
        bool closing;
        if (at < p->len && match_boundary(p, at, &closing) >= 0)
            return at;
        if (at >= p->len)
            return p->len;
        // The next "\n--": memchr for '-' skips base64 and most text in one vector loop,
        // where memmem is a byte-wise search.
        size_t next = p->len;
        for (size_t from = at + 1; from + 1 < p->len;) {
            const char *dash = memchr(p->buf + from, '-', p->len - from - 1);
            if (!dash)
                break;
            size_t d = (size_t)(dash - p->buf);
            if (p->buf[d - 1] == '\n' && p->buf[d + 1] == '-') {
                next = d;
                break;
            }
            from = d + 1;
        }
        if (next >= p->len)
            return p->len;
        at = next;
    }
}

// ---- headers -------------------------------------------------------------------------------

static bool grow(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *bigger = realloc(*array, cap2 * elem);
    if (!bigger)
        return false;
    *array = bigger;
    *cap = cap2;
    return true;
}

typedef struct field_in_progress {
    bool active;
    size_t field_start;     // offset of the name
    size_t name_len;
    size_t value_start;     // just after the colon
    size_t value_end;       // end of the last line's content (CR excluded)
    bool multiline;
    bool cut;               // a line limit cut it: later continuation lines are dropped
} field_in_progress;

static void finish_field(bw_mime_parser *p, field_in_progress *f, int part, size_t *block_count,
                         uint64_t *anom)
{
    if (!f->active)
        return;
    f->active = false;
    const char *s = p->buf;
    if (!is_ascii(s + f->field_start, f->value_end - f->field_start))
        *anom |= BW_ANOM_8BIT_HEADER;
    if (*block_count >= p->limits.max_header_count) {
        *anom |= BW_ANOM_HEADER_LIMIT;
        return;
    }
    size_t vs = f->value_start, ve = f->value_end;
    while (vs < ve && (is_blank(s[vs]) || s[vs] == '\r' || s[vs] == '\n'))
        vs++;
    bw_slice value;
    if (!f->multiline) {
        while (ve > vs && (is_blank(s[ve - 1]) || s[ve - 1] == '\r'))
            ve--;
        value = bw_slice_make(s + vs, ve - vs);
    } else {
        char *copy = bw_arena_alloc(p->arena, ve - vs + 1);
        if (!copy) {
            p->stop = p->nomem = true;
            return;
        }
        // Unfolding: copy line by line, dropping the line breaks (CR is dropped only
        // before LF, so a bare CR inside a line stays data).
        size_t n = 0;
        for (size_t i = vs; i < ve;) {
            const char *nl = memchr(s + i, '\n', ve - i);
            size_t end = nl ? (size_t)(nl - s) : ve;
            size_t keep = end - i;
            if (nl && keep && s[end - 1] == '\r')
                keep--;
            memcpy(copy + n, s + i, keep);
            n += keep;
            i = nl ? end + 1 : ve;
        }
        while (n && is_blank(copy[n - 1]))
            n--;
        copy[n] = '\0';
        value = bw_slice_make(copy, n);
    }
    if (value.n > p->limits.max_header_bytes) {
        value.n = p->limits.max_header_bytes;
        *anom |= BW_ANOM_HEADER_LIMIT;
    }
    if (!grow((void **)&p->headers, &p->header_cap, p->header_count + 1, sizeof *p->headers)) {
        p->stop = p->nomem = true;
        return;
    }
    p->headers[p->header_count++] = (bw_header){
        .name = bw_slice_make(s + f->field_start, f->name_len),
        .value = value,
        .offset = f->field_start,
    };
    p->parts[part].header_count++;
    (*block_count)++;
}

// Reads the header block at pos into part's headers; returns where the body starts.
// Python's rules decide where a header block ends: an empty line (consumed), a boundary
// line of an enclosing multipart, or a line that is neither a field nor a continuation
// (flagged no_header_body_sep: the body starts there, nothing is lost).
static size_t parse_headers(bw_mime_parser *p, size_t pos, int part, uint64_t *anom)
{
    field_in_progress f = { 0 };
    size_t block_count = 0;
    const size_t block_start = pos;
    const char *s = p->buf;
    while (pos < p->len && !p->stop) {
        size_t le = line_end(p, pos);
        size_t next = le < p->len ? le + 1 : p->len;
        size_t ce = le;
        if (le < p->len) {
            if (le > pos && s[le - 1] == '\r')
                ce--;
            else
                p->anomalies |= BW_ANOM_BARE_LF;
        }
        if (ce == pos) {
            pos = next;
            break;
        }
        size_t line_len = ce - pos;
        if (line_len > RFC_LINE_MAX)
            *anom |= BW_ANOM_LONG_LINE;
        bool closing;
        if (s[pos] == '-' && match_boundary(p, pos, &closing) >= 0)
            break;
        if (is_blank(s[pos])) {
            if (f.active && !f.cut) {
                f.multiline = true;
                f.value_end = ce;
                if (line_len > p->limits.max_line_bytes) {
                    f.value_end = pos + p->limits.max_line_bytes;
                    f.cut = true;
                    *anom |= BW_ANOM_HEADER_LIMIT;
                }
            } else if (!f.active) {
                *anom |= BW_ANOM_BAD_HEADER_LINE;   // a continuation with nothing to continue
            }
            pos = next;
            continue;
        }
        if (line_len >= 5 && memcmp(s + pos, "From ", 5) == 0) {
            // An mbox separator: tolerated silently as the first line of the message.
            finish_field(p, &f, part, &block_count, anom);
            if (!(pos == 0 && block_start == 0))
                *anom |= BW_ANOM_BAD_HEADER_LINE;
            pos = next;
            continue;
        }
        size_t i = pos;
        while (i < ce && FIELD_NAME_BYTE[(unsigned char)s[i]])
            i++;
        if (i >= ce || s[i] != ':') {
            *anom |= BW_ANOM_NO_HEADER_BODY_SEP | BW_ANOM_BAD_HEADER_LINE;
            break;
        }
        finish_field(p, &f, part, &block_count, anom);
        if (i == pos)
            *anom |= BW_ANOM_BAD_HEADER_LINE;   // ":value", kept with an empty name
        f = (field_in_progress){ .active = true, .field_start = pos, .name_len = i - pos,
                                 .value_start = i + 1, .value_end = ce };
        if (line_len > p->limits.max_line_bytes) {
            f.value_end = pos + p->limits.max_line_bytes;
            if (f.value_end < f.value_start)
                f.value_end = f.value_start;
            f.cut = true;
            *anom |= BW_ANOM_HEADER_LIMIT;
        }
        pos = next;
    }
    finish_field(p, &f, part, &block_count, anom);
    return pos;
}

static const bw_header *part_header(const bw_mime_parser *p, int part, const char *name)
{
    size_t first = p->part_header_first[part], n = p->parts[part].header_count;
    size_t len = strlen(name);
    for (size_t i = first; i < first + n; i++)
        if (p->headers[i].name.n == len && ascii_lower((unsigned char)p->headers[i].name.p[0]) == name[0] &&
            bw_slice_eq_ci_cstr(p->headers[i].name, name))
            return &p->headers[i];
    return NULL;
}

// ---- parts ---------------------------------------------------------------------------------

static int new_part(bw_mime_parser *p, int parent, int depth)
{
    if (p->part_count >= p->limits.max_parts) {
        p->anomalies |= BW_ANOM_PART_LIMIT;
        p->stop = true;
        return -1;
    }
    size_t cap = p->part_cap;
    if (!grow((void **)&p->parts, &cap, p->part_count + 1, sizeof *p->parts) ||
        !grow((void **)&p->part_header_first, &p->part_cap, p->part_count + 1, sizeof *p->part_header_first)) {
        p->stop = p->nomem = true;
        return -1;
    }
    int idx = (int)p->part_count++;
    p->parts[idx] = (bw_part){ .parent = parent, .depth = depth };
    p->part_header_first[idx] = p->header_count;
    return idx;
}

static bw_slice make_content_type(bw_mime_parser *p, bw_slice type, bw_slice subtype)
{
    static const char *const common[] = {
        "text/plain", "text/html", "multipart/alternative", "multipart/mixed", "multipart/related",
        "message/rfc822", "application/octet-stream", "image/gif", "image/jpeg", "multipart/report",
    };
    char tmp[96];
    size_t n = type.n + 1 + subtype.n;
    if (n < sizeof tmp) {
        for (size_t i = 0; i < type.n; i++)
            tmp[i] = (char)ascii_lower((unsigned char)type.p[i]);
        tmp[type.n] = '/';
        for (size_t i = 0; i < subtype.n; i++)
            tmp[type.n + 1 + i] = (char)ascii_lower((unsigned char)subtype.p[i]);
        tmp[n] = '\0';
        for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
            if (strcmp(common[i], tmp) == 0)
                return bw_slice_cstr(common[i]);
        return dup_slice(p, bw_slice_make(tmp, n));
    }
    char *copy = bw_arena_alloc(p->arena, n + 1);
    if (!copy) {
        p->stop = p->nomem = true;
        return bw_slice_make("", 0);
    }
    for (size_t i = 0; i < type.n; i++)
        copy[i] = (char)ascii_lower((unsigned char)type.p[i]);
    copy[type.n] = '/';
    for (size_t i = 0; i < subtype.n; i++)
        copy[type.n + 1 + i] = (char)ascii_lower((unsigned char)subtype.p[i]);
    copy[n] = '\0';
    return bw_slice_make(copy, n);
}

// RFC 2047 words inside a (possibly RFC 2231-decoded) parameter value, as clients decode
// them in name= and filename= although the RFC forbids it there; result in the arena.
static bw_slice decode_to_arena(bw_mime_parser *p, bw_slice value, uint64_t *anom)
{
    bw_buf_clear(&p->scratch);
    if (mime_decode_header_cached(&p->charsets, value, &p->scratch, anom) != 0) {
        p->stop = p->nomem = true;
        return bw_slice_make("", 0);
    }
    return dup_slice(p, bw_buf_slice(&p->scratch));
}

static enum transfer_kind transfer_kind_of(bw_slice te)
{
    static const struct { const char *name; enum transfer_kind kind; } kinds[] = {
        { "7bit", TE_7BIT }, { "8bit", TE_8BIT }, { "binary", TE_BINARY }, { "base64", TE_BASE64 },
        { "quoted-printable", TE_QP }, { "x-uuencode", TE_UUENCODE }, { "uuencode", TE_UUENCODE },
        { "x-uue", TE_UUENCODE }, { "uue", TE_UUENCODE },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (bw_slice_eq(te, bw_slice_cstr(kinds[i].name)))
            return kinds[i].kind;
    return TE_UNKNOWN;
}

typedef struct part_info {
    enum transfer_kind transfer;
    bool text;              // text/*: gets a UTF-8 view
    bool multipart;         // multipart/* with a usable boundary
    bool message;           // message/* parsed as an embedded message
    bool digest;            // multipart/digest: children default to message/rfc822
} part_info;

// Fills the part's MIME fields from its headers.
static void interpret_headers(bw_mime_parser *p, int idx, bool parent_is_digest, part_info *info)
{
    bw_part *part = &p->parts[idx];
    uint64_t anom = 0;
    memset(info, 0, sizeof *info);
    part->content_type = bw_slice_cstr(parent_is_digest ? "message/rfc822" : "text/plain");
    part->charset = part->boundary = part->disposition = part->filename = part->name = bw_slice_make("", 0);
    part->transfer_encoding = bw_slice_cstr("7bit");

    const bw_header *ct = part_header(p, idx, "content-type");
    mime_field field;
    if (ct) {
        bw_buf_clear(&p->field_scratch);
        if (mime_parse_field(&p->charsets, ct->value, true, &field, &p->field_scratch, &anom) != 0) {
            p->stop = p->nomem = true;
            return;
        }
        if (field.valid)
            part->content_type = make_content_type(p, field.type, field.subtype);
        bw_slice charset = bw_slice_trim(mime_field_param(&field, "charset"));
        if (charset.n)
            part->charset = lower_dup(p, dup_slice(p, charset));
        bw_slice name = mime_field_param(&field, "name");
        if (name.n)
            part->name = decode_to_arena(p, name, &anom);
        if (bw_slice_starts_with_ci(part->content_type, "multipart/")) {
            bw_slice boundary = mime_field_param(&field, "boundary");
            while (boundary.n && (is_blank(boundary.p[boundary.n - 1]) || boundary.p[boundary.n - 1] == '\r'))
                boundary.n--;
            if (!boundary.n) {
                anom |= BW_ANOM_NO_BOUNDARY;
            } else {
                if (boundary.n > p->limits.max_boundary_bytes) {
                    boundary.n = p->limits.max_boundary_bytes;
                    anom |= BW_ANOM_BAD_BOUNDARY;
                }
                part->boundary = dup_slice(p, boundary);
                info->multipart = true;
                info->digest = bw_slice_eq(part->content_type, BW_SLICE_LIT("multipart/digest"));
            }
        }
    }
    // Python parses every message/* but delivery-status as an embedded message; so do we
    // (delivery-status is a list of header blocks, kept as a text-like leaf here).
    if (bw_slice_starts_with_ci(part->content_type, "message/") &&
        !bw_slice_eq(part->content_type, BW_SLICE_LIT("message/delivery-status")))
        info->message = true;
    info->text = bw_slice_starts_with_ci(part->content_type, "text/");

    const bw_header *te = part_header(p, idx, "content-transfer-encoding");
    info->transfer = TE_7BIT;
    if (te) {
        bw_slice v = te->value;
        size_t i = 0;
        while (i < v.n && (is_blank(v.p[i]) || v.p[i] == '"'))
            i++;
        size_t start = i;
        while (i < v.n && !is_blank(v.p[i]) && v.p[i] != ';' && v.p[i] != '(' && v.p[i] != '"')
            i++;
        bw_slice token = bw_slice_make(v.p + start, i - start);
        if (token.n) {
            part->transfer_encoding = lower_dup(p, token);
            info->transfer = transfer_kind_of(part->transfer_encoding);
            if (info->transfer == TE_UNKNOWN)
                anom |= BW_ANOM_UNKNOWN_ENCODING;
        }
    }

    const bw_header *cd = part_header(p, idx, "content-disposition");
    if (cd) {
        bw_buf_clear(&p->field_scratch);
        if (mime_parse_field(&p->charsets, cd->value, false, &field, &p->field_scratch, &anom) != 0) {
            p->stop = p->nomem = true;
            return;
        }
        anom &= ~(uint64_t)BW_ANOM_BAD_CONTENT_TYPE;   // an empty disposition is no content-type issue
        if (field.type.n)
            part->disposition = lower_dup(p, dup_slice(p, field.type));
        bw_slice filename = mime_field_param(&field, "filename");
        if (filename.n)
            part->filename = decode_to_arena(p, filename, &anom);
    }
    if (!part->filename.n && part->name.n)
        part->filename = part->name;
    p->parts[idx].anomalies |= anom;
}

// Decodes a leaf's body into part->decoded and, for text/*, part->text.
// The first offset k >= at that starts a line (k == 0 or t[k - 1] == '\n') with a 'b', or
// tn. 16 bytes a step with SSE2 (x86-64's baseline): a memchr call per line cost 2% of the
// full extraction's time (perf on bench/parse), most of it call overhead on ~70-byte lines.
static size_t next_b_line(const char *t, size_t tn, size_t at)
{
    if (at == 0) {
        if (tn > 0 && t[0] == 'b')
            return 0;
        at = 1;
    }
    size_t k = at;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n'), b = _mm_set1_epi8('b');
    while (k + 16 <= tn) {
        __m128i cur = _mm_loadu_si128((const __m128i *)(const void *)(t + k));
        __m128i prev = _mm_loadu_si128((const __m128i *)(const void *)(t + k - 1));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(cur, b), _mm_cmpeq_epi8(prev, nl)));
        if (m)
            return k + (size_t)__builtin_ctz(m);
        k += 16;
    }
#endif
    for (; k < tn; k++)
        if (t[k] == 'b' && t[k - 1] == '\n')
            return k;
    return tn;
}

static void decode_leaf(bw_mime_parser *p, int idx, const part_info *info, size_t start, size_t n)
{
    bw_part *part = &p->parts[idx];
    const char *body = p->buf + start;
    uint64_t anom = 0;
    part->body_offset = start;
    part->body_length = n;
    if (has_long_line(body, n))
        anom |= BW_ANOM_LONG_LINE;
    const char *decoded = body;
    size_t dn = n;
    unsigned char *out = NULL;
    bool body_ascii = false;   // known for 7bit bodies: then the text test below need not rescan
    switch (info->transfer) {
    case TE_BASE64:
        out = bw_arena_alloc(p->arena, n / 4 * 3 + 4);
        if (out)
            dn = mime_base64_decode(body, n, out, &anom);
        break;
    case TE_QP:
        out = bw_arena_alloc(p->arena, n + 1);
        if (out)
            dn = mime_qp_decode(body, n, out, &anom);
        break;
    case TE_UUENCODE:
        out = bw_arena_alloc(p->arena, n + 1);
        if (out)
            dn = mime_uu_decode(body, n, out, &anom);
        break;
    case TE_7BIT:
        body_ascii = is_ascii(body, n);
        if (!body_ascii)
            anom |= BW_ANOM_RAW_8BIT_BODY;
        break;
    default:
        break;
    }
    if (info->transfer == TE_BASE64 || info->transfer == TE_QP || info->transfer == TE_UUENCODE) {
        if (!out) {
            p->stop = p->nomem = true;
            return;
        }
        decoded = (const char *)out;
    }
    size_t budget = p->limits.max_decoded_bytes - p->decoded_total;
    if (dn > budget) {
        dn = budget;
        anom |= BW_ANOM_DECODED_LIMIT;
    }
    p->decoded_total += dn;
    part->decoded = bw_slice_make(decoded, dn);

    if (info->text) {
        bw_slice cs = part->charset;
        bool ascii_compatible = cs.n == 0 || bw_slice_eq(cs, BW_SLICE_LIT("us-ascii")) ||
                                bw_slice_eq(cs, BW_SLICE_LIT("ascii"));
        bool utf8 = bw_slice_eq(cs, BW_SLICE_LIT("utf-8")) || bw_slice_eq(cs, BW_SLICE_LIT("utf8"));
        if ((ascii_compatible || utf8) && ((body_ascii && decoded == body) || is_ascii(decoded, dn))) {
            part->text = part->decoded;
        } else if (utf8 && mime_utf8_valid(decoded, dn)) {
            part->text = part->decoded;
        } else {
            bw_buf_clear(&p->scratch);
            if (mime_to_utf8(&p->charsets, cs, decoded, dn, &p->scratch, &anom) != 0) {
                p->stop = p->nomem = true;
                return;
            }
            part->text = dup_slice(p, bw_buf_slice(&p->scratch));
        }
        // uuencoded files pasted into text: flagged, left in the text (see docs/mime.md).
        if (bw_slice_eq(part->content_type, BW_SLICE_LIT("text/plain"))) {
            const char *t = part->decoded.p;
            size_t tn = part->decoded.n, at = 0;
            // Only a line start can begin a uuencoded block: test the line starts that hold a 'b'.
            while ((at = next_b_line(t, tn, at)) + 10 <= tn) {
                const char *h = t + at;
                if (memcmp(h, "begin ", 6) == 0 && h[6] >= '0' && h[6] <= '7' && h[7] >= '0' && h[7] <= '7' &&
                    h[8] >= '0' && h[8] <= '7' && h[9] == ' ') {
                    anom |= BW_ANOM_UUENCODE_IN_TEXT;
                    break;
                }
                at++;
            }
        }
    } else {
        part->text = bw_slice_make("", 0);
    }
    part->anomalies |= anom;
}

// Where a body that ends at `end` (a boundary line or len) really ends: the line break
// before a boundary line belongs to the boundary (RFC 2046 5.1.1).
static size_t body_end_before(const bw_mime_parser *p, size_t start, size_t end)
{
    if (end >= p->len || end <= start)
        return end;
    if (p->buf[end - 1] == '\n') {
        end--;
        if (end > start && p->buf[end - 1] == '\r')
            end--;
    }
    return end;
}

static size_t parse_entity(bw_mime_parser *p, size_t pos, int parent, int depth, bool parent_is_digest);

static size_t parse_multipart(bw_mime_parser *p, int idx, const part_info *info, size_t body)
{
    size_t own = p->stack_n;
    p->stack[p->stack_n++] = (boundary_entry){ p->parts[idx].boundary.p, p->parts[idx].boundary.n };
    int depth = p->parts[idx].depth;
    bool closing = false;
    size_t at = find_boundary(p, body);
    int level = at < p->len ? match_boundary(p, at, &closing) : -1;
    if (level != (int)own || closing) {
        // No opening boundary: like Python, the multipart holds its text as a leaf.
        p->parts[idx].anomalies |= BW_ANOM_BAD_BOUNDARY;
        part_info leaf = *info;
        leaf.multipart = false;
        decode_leaf(p, idx, &leaf, body, body_end_before(p, body, at) - body);
        if (level == (int)own) {
            p->stack_n--;
            return find_boundary(p, after_line(p, at));   // skip the epilogue
        }
        p->stack_n--;
        return at;
    }
    p->parts[idx].is_multipart = true;
    p->parts[idx].body_offset = body;
    size_t result;
    for (;;) {
        size_t next = after_line(p, at);
        // Repeated boundary lines delimit no empty parts (Python's reading of RFC 2046).
        while (next < p->len && match_boundary(p, next, &closing) == (int)own)
            next = after_line(p, next);
        size_t end = parse_entity(p, next, idx, depth + 1, info->digest);
        if (p->stop) {
            result = p->len;
            break;
        }
        level = end < p->len ? match_boundary(p, end, &closing) : -1;
        if (level != (int)own) {
            p->parts[idx].anomalies |= BW_ANOM_MISSING_CLOSE_BOUNDARY;
            result = end;
            break;
        }
        if (closing) {
            p->stack_n--;
            p->parts[idx].body_length = body_end_before(p, body, after_line(p, end)) - body;
            return find_boundary(p, after_line(p, end));   // the epilogue is skipped
        }
        at = end;
    }
    p->stack_n = own;
    p->parts[idx].body_length = body_end_before(p, body, result) - body;
    return result;
}

static size_t parse_entity(bw_mime_parser *p, size_t pos, int parent, int depth, bool parent_is_digest)
{
    int idx = new_part(p, parent, depth);
    if (idx < 0)
        return p->len;
    p->parts[idx].header_offset = pos;
    uint64_t anom = 0;
    size_t body = parse_headers(p, pos, idx, &anom);
    p->parts[idx].anomalies |= anom;
    if (p->stop)
        return p->len;
    part_info info;
    interpret_headers(p, idx, parent_is_digest, &info);
    if (p->stop)
        return p->len;
    if ((info.multipart || info.message) && (size_t)depth >= p->limits.max_depth) {
        p->parts[idx].anomalies |= BW_ANOM_DEPTH_LIMIT;
        info.multipart = info.message = false;
    }
    if (info.multipart)
        return parse_multipart(p, idx, &info, body);
    if (info.message) {
        p->parts[idx].is_message = true;
        p->parts[idx].body_offset = body;
        size_t end = parse_entity(p, body, idx, depth + 1, false);
        if (p->stop)
            return p->len;
        p->parts[idx].body_length = body_end_before(p, body, end) - body;
        return end;
    }
    size_t end = find_boundary(p, body);
    decode_leaf(p, idx, &info, body, body_end_before(p, body, end) - body);
    return end;
}

// ---- the message ---------------------------------------------------------------------------

static bw_slice decode_header_to_arena(bw_mime_parser *p, const bw_header *h, uint64_t *anom)
{
    if (!h)
        return bw_slice_make("", 0);
    return decode_to_arena(p, h->value, anom);
}

static void message_fields(bw_mime_parser *p)
{
    bw_message *m = &p->msg;
    uint64_t anom = 0;
    m->subject = decode_header_to_arena(p, bw_message_header(m, "subject", 0), &anom);
    const bw_header *from = bw_message_header(m, "from", 0);
    m->from = decode_header_to_arena(p, from, &anom);
    if (!from)
        anom |= BW_ANOM_MISSING_FROM;
    const bw_header *mid = bw_message_header(m, "message-id", 0);
    m->message_id = bw_slice_make("", 0);
    if (mid) {
        bw_slice v = bw_slice_trim(mid->value);
        const char *lt = memchr(v.p, '<', v.n);
        const char *gt = lt ? memchr(lt, '>', v.n - (size_t)(lt - v.p)) : NULL;
        if (lt && gt)
            v = bw_slice_make(lt + 1, (size_t)(gt - lt - 1));
        m->message_id = bw_slice_trim(v);
    } else {
        anom |= BW_ANOM_MISSING_MESSAGE_ID;
    }
    const bw_header *date = bw_message_header(m, "date", 0);
    if (!date)
        anom |= BW_ANOM_MISSING_DATE;
    else if (!(m->has_date = bw_mime_parse_date(date->value, &m->date)))
        anom |= BW_ANOM_BAD_DATE;
    // RFC 5322 3.6: fields that may occur at most once. One pass, a bit per name.
    // Lengths beside the names: this runs for every header field of every message, and a
    // strlen per name and field was a tenth of the parse's libc calls.
    static const struct {
        const char *name;
        unsigned char len;
    } singletons[] = {
#define SINGLETON(s) { s, sizeof s - 1 }
        SINGLETON("from"), SINGLETON("sender"), SINGLETON("reply-to"), SINGLETON("to"),
        SINGLETON("cc"), SINGLETON("bcc"), SINGLETON("subject"), SINGLETON("date"),
        SINGLETON("message-id"), SINGLETON("in-reply-to"), SINGLETON("references"),
#undef SINGLETON
    };
    unsigned seen = 0;
    for (size_t h = 0; h < m->header_count && !(anom & BW_ANOM_DUPLICATE_SINGLETON); h++) {
        bw_slice name = m->headers[h].name;
        if (name.n < 2 || name.n > 11)
            continue;
        for (unsigned k = 0; k < sizeof singletons / sizeof singletons[0]; k++) {
            if (singletons[k].len != name.n || ascii_lower((unsigned char)name.p[0]) != singletons[k].name[0] ||
                !bw_slice_eq_ci_cstr(name, singletons[k].name))
                continue;
            if (seen & (1u << k))
                anom |= BW_ANOM_DUPLICATE_SINGLETON;
            seen |= 1u << k;
            break;
        }
    }
    if (m->part_count && bw_slice_starts_with_ci(m->parts[0].content_type, "multipart/") &&
        !bw_message_header(m, "mime-version", 0))
        anom |= BW_ANOM_MIME_WITHOUT_VERSION;
    p->anomalies |= anom;
}

static void scan_raw(bw_mime_parser *p)
{
    const char *s = p->buf;
    size_t n = p->len;
    if (memchr(s, '\0', n))
        p->anomalies |= BW_ANOM_NUL_BYTE;
    const char *cr = memchr(s, '\r', n);
    while (cr) {
        size_t at = (size_t)(cr - s);
        if (at + 1 >= n || s[at + 1] != '\n') {
            // A CR cut off by the size limit is no bare CR.
            if (at + 1 < n || p->total_bytes == p->len)
                p->anomalies |= BW_ANOM_BARE_CR;
            break;
        }
        cr = memchr(s + at + 1, '\r', n - at - 1);
    }
}

bw_status bw_mime_parser_finish(bw_mime_parser *p, const bw_message **out)
{
    if (p->nomem)
        return BW_ERR_NOMEM;
    if (p->finished) {
        *out = &p->msg;
        return BW_OK;
    }
    p->finished = true;
    if (!p->in_place) {
        p->buf = p->raw.p ? p->raw.p : "";
        p->len = p->raw.n;
    }
    p->anomalies = 0;
    if (p->total_bytes > p->len)
        p->anomalies |= BW_ANOM_TRUNCATED;
    if (p->total_bytes == 0)
        p->anomalies |= BW_ANOM_EMPTY_MESSAGE;
    scan_raw(p);
    parse_entity(p, 0, -1, 0, false);
    if (p->nomem)
        return BW_ERR_NOMEM;
    bw_message *m = &p->msg;
    m->raw = bw_slice_make(p->buf, p->len);
    m->total_bytes = p->total_bytes;
    m->parts = p->parts;
    m->part_count = p->part_count;
    for (size_t i = 0; i < p->part_count; i++)
        p->parts[i].headers = p->headers ? p->headers + p->part_header_first[i] : NULL;
    if (p->part_count) {
        m->headers = p->parts[0].headers;
        m->header_count = p->parts[0].header_count;
    }
    p->stop = false;   // the part limit stops the tree, not the header fields
    message_fields(p);
    if (p->nomem)
        return BW_ERR_NOMEM;
    uint64_t all = p->anomalies;
    for (size_t i = 0; i < p->part_count; i++)
        all |= p->parts[i].anomalies;
    m->anomalies = all;
    *out = m;
    return BW_OK;
}

bw_status bw_mime_parse(bw_mime_parser *p, const void *data, size_t n, const bw_message **out)
{
    bw_mime_parser_reset(p);
    // The whole message is at hand: parse it where it lies instead of copying it into
    // p->raw as feed must (a copy of every byte, ~2% of the full extraction's time).
    // The limit still applies: bytes past max_message_bytes are not looked at.
    p->in_place = true;
    p->buf = n ? (const char *)data : "";
    p->len = n < p->limits.max_message_bytes ? n : p->limits.max_message_bytes;
    p->total_bytes = n;
    return bw_mime_parser_finish(p, out);
}

const bw_header *bw_message_header(const bw_message *msg, const char *name, size_t index)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < msg->header_count; i++) {
        const bw_header *h = &msg->headers[i];
        if (h->name.n == len && bw_slice_eq_ci_cstr(h->name, name) && index-- == 0)
            return h;
    }
    return NULL;
}
