// SPDX-License-Identifier: MIT
// Received header parsing and the sender-hop walk behind bw_received.h. Rather than one
// pattern per MTA (SpamAssassin's Received.pm has hundreds), the value is split into
// clauses by its keywords (from, by, with, ...) outside comments, and the from clause's
// words and comments are searched for the three things every format records in some
// order: an IP (bracketed or bare, "IPv6:" or not, with a port or user@ prefix), the HELO
// ("HELO x", "EHLO x", "helo=x", or the first word), and the rDNS name (the word before
// the bracketed IP). The table in tests/received/ holds the formats this must read.
#include "botwatch/received.h"

#include <libpsl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../url/psl_internal.h"

// ---- tokens ----

typedef enum token_kind { TOK_WORD, TOK_COMMENT } token_kind;

typedef struct token {
    token_kind kind;
    const char *p;     // comment: the contents, without the parentheses
    size_t n;
} token;

// Tokens considered per header: real values have under 40; the rest of a hostile one is
// ignored (the hop is still parsed from what came first).
#define MAX_TOKENS 64
// Comment nesting followed; deeper parentheses are taken as text.
#define MAX_NESTING 8

static inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Byte classes of the tokenizer: one table lookup per byte instead of five compares
// (every Received field of every message goes through here).
enum { RC_SPACE = 1, RC_WORD_END = 2 };
static const unsigned char rc_class[256] = {
    [' '] = RC_SPACE | RC_WORD_END, ['\t'] = RC_SPACE | RC_WORD_END, ['\r'] = RC_SPACE | RC_WORD_END,
    ['\n'] = RC_SPACE | RC_WORD_END, ['('] = RC_WORD_END,
};

// The end of the word at p[i]: the next space or '(' (n if none). 16 bytes a step (SSE2,
// x86-64's baseline) while 16 remain: host names, IPs and ids run 8-30 bytes, where the
// byte loop cost 2.8k instructions a message (callgrind, bench/parse).
static size_t word_end(const char *p, size_t n, size_t i)
{
#ifdef __SSE2__
    const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), cr = _mm_set1_epi8('\r'),
                  lf = _mm_set1_epi8('\n'), open = _mm_set1_epi8('(');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, _mm_cmpeq_epi8(v, open)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && !(rc_class[(unsigned char)p[i]] & RC_WORD_END))
        i++;
    return i;
}

static size_t tokenize(const char *p, size_t n, token *toks)
{
    size_t count = 0, i = 0;
    while (i < n && count < MAX_TOKENS) {
        if (rc_class[(unsigned char)p[i]] & RC_SPACE) {
            i++;
            continue;
        }
        if (p[i] == '(') {
            // The next ')' and any '(' before it by memchr: comment text is skipped in
            // vector steps. A '(' nested deeper than MAX_NESTING is taken as text.
            size_t depth = 1, j = i + 1;
            while (j < n && depth > 0) {
                const char *close = memchr(p + j, ')', n - j);
                size_t stop = close ? (size_t)(close - p) : n;
                const char *open = memchr(p + j, '(', stop - j);
                if (open) {
                    if (depth < MAX_NESTING)
                        depth++;
                    j = (size_t)(open - p) + 1;
                    continue;
                }
                if (!close) {
                    j = n;
                    break;
                }
                depth--;
                j = stop + 1;
            }
            size_t end = depth == 0 ? j - 1 : n;
            toks[count++] = (token){ TOK_COMMENT, p + i + 1, end - i - 1 };
            i = j;
            continue;
        }
        size_t j = word_end(p, n, i);
        toks[count++] = (token){ TOK_WORD, p + i, j - i };
        i = j;
    }
    return count;
}

static bool word_is(const token *t, const char *kw)
{
    size_t n = strlen(kw);
    if (t->kind != TOK_WORD || t->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((t->p[i] | 0x20) != kw[i])
            return false;
    return true;
}

// ---- IPs in text ----

// Parses an IP literal written as "1.2.3.4", "[1.2.3.4]", "[IPv6:2001:db8::1]",
// "[1.2.3.4]:25" or "user@1.2.3.4"; on success *ip_text is the bare address within s.
static bool take_ip(bw_slice s, bw_slice *ip_text, bw_ip *addr)
{
    const char *p = s.p;
    size_t n = s.n;
    const char *at = memrchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close)
            return false;
        n = (size_t)(close - p) - 1;
        p++;
    }
    if (n > 5 && (p[0] | 0x20) == 'i' && !strncasecmp(p, "IPv6:", 5)) {
        p += 5;
        n -= 5;
    }
    while (n > 0 && (p[n - 1] == ',' || p[n - 1] == ';' || p[n - 1] == '.'))
        n--;
    if (n < 2 || n >= 64)
        return false;
    // Most pieces are words, not addresses: refuse them before inet_pton.
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == ':' || c == '%' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))
            return false;
    }
    const char *pct = memchr(p, '%', n);   // fe80::1%eth0: the zone is local detail
    if (pct)
        n = (size_t)(pct - p);
    if (!bw_ip_parse(bw_slice_make(p, n), addr))
        return false;
    *ip_text = bw_slice_make(p, n);
    return true;
}

// Calls back on each whitespace/comma-separated piece of a comment's text.
typedef struct piece_iter {
    const char *p;
    size_t n, i;
} piece_iter;

static bool next_piece(piece_iter *it, bw_slice *out)
{
    while (it->i < it->n && (is_space(it->p[it->i]) || it->p[it->i] == ','))
        it->i++;
    if (it->i >= it->n)
        return false;
    size_t start = it->i;
    if (it->p[it->i] == '[') {
        const char *close = memchr(it->p + it->i, ']', it->n - it->i);
        it->i = close ? (size_t)(close - it->p) + 1 : it->n;
        while (it->i < it->n && !is_space(it->p[it->i]) && it->p[it->i] != ',')
            it->i++;   // "[1.2.3.4]:25"
    } else {
        while (it->i < it->n && !is_space(it->p[it->i]) && it->p[it->i] != ',')
            it->i++;
    }
    *out = bw_slice_make(it->p + start, it->i - start);
    return true;
}

static bool piece_has_bracket(bw_slice s)
{
    return memchr(s.p, '[', s.n) != NULL;
}

// A name as an rDNS candidate: strip "IDENT:user@" / "user@", refuse placeholders.
static bw_slice clean_name(bw_slice s)
{
    const char *at = memchr(s.p, '@', s.n);
    if (at) {
        s.n -= (size_t)(at + 1 - s.p);
        s.p = at + 1;
    }
    if (s.n > 6 && !strncasecmp(s.p, "IDENT:", 6)) {
        s.p += 6;
        s.n -= 6;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ',' || s.p[s.n - 1] == ';'))
        s.n--;
    return s;
}

static bool is_placeholder(bw_slice s)
{
    return s.n == 0 || bw_slice_eq_ci_cstr(s, "unknown");
}

static bool looks_like_ip(bw_slice s)
{
    bw_slice t;
    bw_ip a;
    return take_ip(s, &t, &a);
}

// ---- the from clause ----

typedef struct from_info {
    bw_slice first_word;
    bw_slice helo;          // explicit HELO/EHLO/helo=
    bw_slice rdns;          // word before a bracketed IP inside a comment
    bw_slice ip_text;
    bw_ip addr;
    int ip_rank;            // 0 none; higher wins: 3 bracketed in comment, 2 bracketed word, 1 bare
} from_info;

static void offer_ip(from_info *f, bw_slice piece, int rank)
{
    if (rank <= f->ip_rank)
        return;
    bw_slice text;
    bw_ip addr;
    if (take_ip(piece, &text, &addr)) {
        f->ip_text = text;
        f->addr = addr;
        f->ip_rank = rank;
    }
}

static void scan_from_comment(from_info *f, const token *t)
{
    piece_iter it = { t->p, t->n, 0 };
    bw_slice piece, prev = BW_SLICE_NULL;
    bool expect_helo = false;
    while (next_piece(&it, &piece)) {
        if (expect_helo) {
            if (f->helo.n == 0)
                f->helo = clean_name(piece);
            expect_helo = false;
        } else if (bw_slice_eq_ci_cstr(piece, "HELO") || bw_slice_eq_ci_cstr(piece, "EHLO")) {
            expect_helo = true;
        } else if (bw_slice_starts_with_ci(piece, "helo=")) {
            if (f->helo.n == 0)
                f->helo = clean_name(bw_slice_make(piece.p + 5, piece.n - 5));
        } else if (piece_has_bracket(piece)) {
            int before = f->ip_rank;
            offer_ip(f, piece, 3);
            if (f->ip_rank > before && prev.n > 0 && f->rdns.n == 0) {
                bw_slice name = clean_name(prev);
                if (!is_placeholder(name) && !looks_like_ip(name))
                    f->rdns = name;
            }
        } else {
            offer_ip(f, piece, 1);
        }
        prev = piece;
    }
}

// qmail's "(qmail 123 invoked from network[1.2.3.4/rdns])" hop has no from clause.
static void scan_qmail_comment(from_info *f, const token *t)
{
    bw_slice s = bw_slice_make(t->p, t->n);
    long at = bw_slice_find(s, BW_SLICE_LIT("from network["));
    if (at < 0)
        return;
    const char *p = t->p + at + 13;
    size_t n = t->n - (size_t)at - 13;
    size_t len = 0;
    while (len < n && p[len] != '/' && p[len] != ']')
        len++;
    offer_ip(f, bw_slice_make(p, len), 1);
    if (len < n && p[len] == '/') {
        size_t start = len + 1, end = start;
        while (end < n && p[end] != ']')
            end++;
        if (f->ip_rank)
            f->rdns = bw_slice_make(p + start, end - start);
    }
}

bool bw_received_parse(bw_slice value, bw_received_hop *hop)
{
    memset(hop, 0, sizeof *hop);
    const char *p = value.p;
    size_t n = value.n;
    const char *semi = n ? memrchr(p, ';', n) : NULL;
    if (semi) {
        hop->date_text = bw_slice_trim(bw_slice_make(semi + 1, n - (size_t)(semi + 1 - p)));
        n = (size_t)(semi - p);
    }
    token toks[MAX_TOKENS];
    size_t count = tokenize(p, n, toks);

    enum { CL_NONE, CL_FROM, CL_BY, CL_WITH, CL_OTHER } clause = CL_NONE;
    from_info f = { 0 };
    bool have_from = false, have_by = false, first_in_clause = false;
    for (size_t i = 0; i < count; i++) {
        const token *t = &toks[i];
        if (t->kind == TOK_WORD) {
            if (word_is(t, "from")) {
                clause = CL_FROM;
                have_from = true;
                first_in_clause = true;
                continue;
            }
            if (word_is(t, "by")) {
                clause = CL_BY;
                have_by = true;
                first_in_clause = true;
                continue;
            }
            if (word_is(t, "with")) {
                clause = CL_WITH;
                first_in_clause = true;
                continue;
            }
            if (word_is(t, "via") || word_is(t, "id") || word_is(t, "for")) {
                clause = CL_OTHER;
                continue;
            }
        }
        switch (clause) {
        case CL_NONE:
            if (t->kind == TOK_COMMENT && t->n > 6 && !strncasecmp(t->p, "qmail ", 6)) {
                scan_qmail_comment(&f, t);
                have_from = have_from || f.ip_rank > 0;
                have_by = true;   // a qmail injection line is a complete, local hop
            }
            break;
        case CL_FROM:
            if (t->kind == TOK_COMMENT) {
                scan_from_comment(&f, t);
            } else if (first_in_clause) {
                f.first_word = bw_slice_make(t->p, t->n);
                const char *bracket = memchr(t->p, '[', t->n);
                if (bracket && bracket > t->p) {
                    // "host.example[1.2.3.4]": name and address run together.
                    f.first_word.n = (size_t)(bracket - t->p);
                    while (f.first_word.n > 0 && f.first_word.p[f.first_word.n - 1] == '_')
                        f.first_word.n--;
                    offer_ip(&f, bw_slice_make(bracket, t->n - (size_t)(bracket - t->p)), 2);
                } else {
                    offer_ip(&f, f.first_word, bracket ? 2 : 1);
                }
            } else {
                // "from host [1.2.3.4] by" (fetchmail): a bracketed word after the name.
                offer_ip(&f, bw_slice_make(t->p, t->n), piece_has_bracket(bw_slice_make(t->p, t->n)) ? 2 : 1);
            }
            break;
        case CL_BY:
            if (first_in_clause && t->kind == TOK_WORD)
                hop->by_name = bw_slice_make(t->p, t->n);
            break;
        case CL_WITH:
            if (first_in_clause && t->kind == TOK_WORD)
                hop->protocol = bw_slice_make(t->p, t->n);
            break;
        case CL_OTHER:
            break;
        }
        first_in_clause = false;
    }
    if (!have_from && !have_by) {
        hop->date_text = BW_SLICE_NULL;
        hop->by_name = hop->protocol = BW_SLICE_NULL;
        return false;
    }
    while (hop->by_name.n > 0 && hop->by_name.p[hop->by_name.n - 1] == ',')
        hop->by_name.n--;
    if (f.helo.n > 0) {
        hop->from_name = f.helo;
        // qmail/Exim write the rDNS name first when they also record the HELO.
        if (f.rdns.n == 0 && f.first_word.n > 0 && !is_placeholder(f.first_word) && !looks_like_ip(f.first_word))
            f.rdns = f.first_word;
    } else {
        hop->from_name = f.first_word;
    }
    hop->from_rdns = f.rdns;
    if (f.ip_rank > 0) {
        hop->ip = f.ip_text;
        hop->addr = f.addr;
        hop->has_addr = true;
    }
    hop->parsed = true;
    return true;
}

// ---- trust ----

typedef struct trusted_name {
    char *name;      // lowercase; a leading '.' means "this domain and below"
    size_t n;
} trusted_name;

// The receiving domain of the last chain: a trap's mail all arrives through the same
// relays, so the public-suffix lookup is done once per relay name, not per message.
#define RECEIVING_CACHE_NAME 256

struct bw_received_trust {
    bw_cidr *cidrs;
    size_t cidr_count;
    trusted_name *names;
    size_t name_count;
    char cached_by[RECEIVING_CACHE_NAME];
    size_t cached_by_len;
    size_t cached_domain_len;   // the domain is the last cached_domain_len bytes of by
    bool cache_valid;
};

bw_received_trust *bw_received_trust_new(const char *const *entries, size_t count, char *errbuf)
{
    bw_received_trust *t = calloc(1, sizeof *t);
    if (!t || (count && (!(t->cidrs = calloc(count, sizeof *t->cidrs)) || !(t->names = calloc(count, sizeof *t->names))))) {
        bw_error(errbuf, BW_ERR_NOMEM, "trusted relays: out of memory");
        bw_received_trust_free(t);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        bw_slice e = bw_slice_trim(bw_slice_cstr(entries[i]));
        if (bw_cidr_parse(e, &t->cidrs[t->cidr_count])) {
            t->cidr_count++;
            continue;
        }
        bool ok = e.n > 0 && e.n < 254;
        for (size_t k = 0; k < e.n && ok; k++) {
            char c = e.p[k];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        }
        if (!ok || (e.n == 1 && e.p[0] == '.')) {
            bw_error(errbuf, BW_ERR_INVALID, "trusted relay '%s' is neither a CIDR nor a host name", entries[i]);
            bw_received_trust_free(t);
            return NULL;
        }
        char *name = malloc(e.n + 1);
        if (!name) {
            bw_error(errbuf, BW_ERR_NOMEM, "trusted relays: out of memory");
            bw_received_trust_free(t);
            return NULL;
        }
        for (size_t k = 0; k < e.n; k++)
            name[k] = (char)((e.p[k] >= 'A' && e.p[k] <= 'Z') ? e.p[k] | 0x20 : e.p[k]);
        name[e.n] = '\0';
        t->names[t->name_count++] = (trusted_name){ name, e.n };
    }
    return t;
}

void bw_received_trust_free(bw_received_trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->name_count; i++)
        free(t->names[i].name);
    free(t->names);
    free(t->cidrs);
    free(t);
}

// name equals domain, or ends with "." + domain (ASCII case-insensitive).
static bool in_domain(bw_slice name, bw_slice domain)
{
    while (name.n > 0 && name.p[name.n - 1] == '.')
        name.n--;
    if (domain.n == 0 || name.n < domain.n)
        return false;
    if (strncasecmp(name.p + name.n - domain.n, domain.p, domain.n) != 0)
        return false;
    return name.n == domain.n || name.p[name.n - domain.n - 1] == '.';
}

static bool name_trusted(const bw_received_trust *t, bw_slice name)
{
    if (name.n == 0)
        return false;
    for (size_t i = 0; i < t->name_count; i++) {
        const trusted_name *tn = &t->names[i];
        if (tn->name[0] == '.') {
            if (in_domain(name, bw_slice_make(tn->name + 1, tn->n - 1)))
                return true;
        } else if (bw_slice_eq_ci(name, bw_slice_make(tn->name, tn->n))) {
            return true;
        }
    }
    return false;
}

static bool is_loopback(const bw_ip *ip)
{
    static const uint8_t v6_loopback[16] = { [15] = 1 };
    return (bw_ip_is_v4(ip) && ip->b[12] == 127) || memcmp(ip->b, v6_loopback, 16) == 0;
}

// Registrable domain of a host name, within name; empty for IPs and dotless names.
static bw_slice registrable(bw_slice name)
{
    char buf[256];
    while (name.n > 0 && name.p[name.n - 1] == '.')
        name.n--;
    if (name.n == 0 || name.n >= sizeof buf || !memchr(name.p, '.', name.n) || looks_like_ip(name))
        return BW_SLICE_NULL;
    bool ldh = true;   // letters, digits, '-', '_' and '.': what the table is checked on
    for (size_t i = 0; i < name.n; i++) {
        unsigned char c = (unsigned char)name.p[i];
        if (c >= 'A' && c <= 'Z')
            c |= 0x20;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            ldh = false;
        buf[i] = (char)c;
    }
    buf[name.n] = '\0';
    // The URL module's hash table of the list first (a few hundred instructions where
    // libpsl's DAFSA walks cost ~10k a name; tests/url/test_psl.c holds it to libpsl's
    // answers); other names, and what the table leaves (empty labels), go to libpsl.
    long at = ldh ? bw_psl_registrable(bw_psl_shared(), buf, name.n) : BW_PSL_ASK_LIBPSL;
    if (at >= 0)
        return bw_slice_make(name.p + at, name.n - (size_t)at);
    if (at == BW_PSL_NONE)
        return BW_SLICE_NULL;
    const char *reg = psl_registrable_domain(psl_builtin(), buf);
    if (!reg)
        return BW_SLICE_NULL;
    return bw_slice_make(name.p + (reg - buf), name.n - (size_t)(reg - buf));
}

// The organisation part of a host name for the consistency check: the last two labels, or
// three under a two-letter country code with a short second level ("co.uk", "com.au").
// An approximation of the registrable domain without a public-suffix lookup per hop: a
// wrong guess only makes a forged-hop check more lenient or stricter at the margin.
static bw_slice organisation(bw_slice name)
{
    while (name.n > 0 && name.p[name.n - 1] == '.')
        name.n--;
    size_t dots[3] = { 0 }, found = 0;
    for (size_t i = name.n; i > 0 && found < 3; i--)
        if (name.p[i - 1] == '.')
            dots[found++] = i - 1;
    if (found == 0 || looks_like_ip(name))
        return BW_SLICE_NULL;
    size_t tld_len = name.n - dots[0] - 1;
    size_t second_len = found >= 2 ? dots[0] - dots[1] - 1 : dots[0];
    size_t keep_from;
    if (tld_len == 2 && second_len <= 3 && found >= 2)
        keep_from = found >= 3 ? dots[2] + 1 : 0;
    else
        keep_from = found >= 2 ? dots[1] + 1 : 0;
    return bw_slice_make(name.p + keep_from, name.n - keep_from);
}

// Fetching from one's own mailbox (fetchmail's "with POP3/IMAP" lines) is not a relay
// hop: SpamAssassin skips these too.
static bool is_retrieval(const bw_received_hop *h)
{
    return bw_slice_starts_with_ci(h->protocol, "POP") || bw_slice_starts_with_ci(h->protocol, "IMAP")
        || bw_slice_eq_ci_cstr(h->protocol, "ODMR") || bw_slice_eq_ci_cstr(h->protocol, "ETRN");
}

// Does by_name (of an older hop) name the host that sent the newer hop?
static bool names_sender(bw_slice by_name, const bw_received_hop *newer)
{
    if (by_name.n == 0)
        return true;   // nothing to contradict
    bw_slice candidates[3] = { newer->from_name, newer->from_rdns, newer->ip };
    bool any = false;
    bw_slice rb = organisation(by_name);
    for (size_t k = 0; k < 3; k++) {
        bw_slice c = candidates[k];
        if (c.n == 0 || bw_slice_eq_ci_cstr(c, "unknown"))
            continue;
        any = true;
        if (bw_slice_eq_ci(by_name, c))
            return true;
        if (c.n > 2 && c.p[0] == '[' && by_name.n + 2 == c.n && !strncasecmp(by_name.p, c.p + 1, by_name.n))
            return true;
        if (rb.n > 0 && in_domain(c, rb))
            return true;
        // A short host name on one side, the FQDN on the other ("mail" / "mail.x.org").
        const char *dot_b = memchr(by_name.p, '.', by_name.n), *dot_c = memchr(c.p, '.', c.n);
        size_t lb = dot_b ? (size_t)(dot_b - by_name.p) : by_name.n, lc = dot_c ? (size_t)(dot_c - c.p) : c.n;
        if ((!dot_b || !dot_c) && lb == lc && !strncasecmp(by_name.p, c.p, lb))
            return true;
    }
    return !any;
}

int bw_received_find_sender(bw_received_trust *trust, bw_received_hop *hops, size_t count)
{
    bool configured = trust && (trust->cidr_count || trust->name_count);
    bw_slice receiving = BW_SLICE_NULL;
    for (size_t i = 0; i < count && receiving.n == 0; i++) {
        bw_slice by = hops[i].by_name;
        if (trust && trust->cache_valid && by.n == trust->cached_by_len && by.n > 0
            && memcmp(by.p, trust->cached_by, by.n) == 0) {
            receiving = bw_slice_make(by.p + by.n - trust->cached_domain_len, trust->cached_domain_len);
            break;
        }
        receiving = registrable(by);
        if (receiving.n > 0 && trust && by.n < RECEIVING_CACHE_NAME) {
            memcpy(trust->cached_by, by.p, by.n);
            trust->cached_by_len = by.n;
            trust->cached_domain_len = (size_t)(by.p + by.n - (receiving.p + receiving.n)) == 0 ? receiving.n : 0;
            trust->cache_valid = trust->cached_domain_len > 0;
        }
    }

    int sender = -1;
    for (size_t i = 0; i < count; i++) {
        bw_received_hop *h = &hops[i];
        h->trusted = h->forged = false;
        if (sender >= 0) {
            const bw_received_hop *newer = &hops[i - 1];
            if (!h->parsed)
                h->forged = true;
            else if (h->has_time && newer->has_time && h->time > newer->time + BW_RECEIVED_TIME_TOLERANCE)
                h->forged = true;
            else if (!names_sender(h->by_name, newer))
                h->forged = true;
            continue;
        }
        if (!h->has_addr || is_retrieval(h)) {
            h->trusted = true;   // a local hand-off or mailbox fetch: no network sender here
            continue;
        }
        bool trusted;
        bw_slice name = h->from_rdns.n ? h->from_rdns : h->from_name;
        if (configured) {
            trusted = is_loopback(&h->addr) || name_trusted(trust, name);
            for (size_t k = 0; k < trust->cidr_count && !trusted; k++)
                trusted = bw_cidr_contains(&trust->cidrs[k], &h->addr);
        } else {
            trusted = bw_ip_is_special(&h->addr);
            if (!trusted && receiving.n) {
                // The rDNS was recorded by our own relay, so it can be believed; a bare HELO
                // only when the next (older) hop was received by a host of ours as well.
                if (h->from_rdns.n)
                    trusted = in_domain(h->from_rdns, receiving);
                else
                    trusted = in_domain(h->from_name, receiving) && i + 1 < count
                              && in_domain(hops[i + 1].by_name, receiving);
            }
        }
        if (trusted) {
            h->trusted = true;
            continue;
        }
        sender = (int)i;
    }
    return sender;
}
