// SPDX-License-Identifier: MIT
// The spamsim generator (see spamsim_gen.h). Three stages: load real spam and turn each
// usable message into a slotted template; build botnets (zombie pools from eyeball-ISP
// ranges of the ASN CSV, a mailer family each) and campaigns (template, domains, variant
// choices, volume, active window with bursts and a day/night cycle); schedule every message
// in time order. Rendering a message uses an RNG seeded from (seed, index) alone, so any
// message can be produced on its own and the stream is identical on every run.
#include "spamsim_gen.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

// ---- randomness -----------------------------------------------------------------------

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix64(r->s);
}

static uint32_t rbelow(rng *r, uint32_t n) { return n ? (uint32_t)(rnext(r) % n) : 0; }
static double runit(rng *r) { return (double)(rnext(r) >> 11) / 9007199254740992.0; }
static rng rseed(uint64_t a, uint64_t b) { return (rng){ mix64(a * 0x9e3779b97f4a7c15ULL ^ mix64(b + 1)) }; }

// ---- word lists -----------------------------------------------------------------------

static const char *const FIRST[] = {
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Donald", "Sandra",
    "Steven", "Ashley", "Paul", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle",
    "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah", "Ronald", "Stephanie",
    "Timothy", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
};
static const char *const LAST[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
};
#define NFIRST (sizeof FIRST / sizeof FIRST[0])
#define NLAST (sizeof LAST / sizeof LAST[0])

// Synonym sets: a template word in a set may be swapped per message for another member,
// the "word variants" of Storm's and Srizbi's template languages.
static const char *const SYN[][5] = {
    { "cheap", "affordable", "discount", "low-cost", NULL },
    { "buy", "order", "purchase", "get", NULL },
    { "now", "today", "immediately", "right away", NULL },
    { "free", "complimentary", "no-cost", NULL, NULL },
    { "best", "finest", "top", "greatest", NULL },
    { "money", "cash", "funds", NULL, NULL },
    { "click", "go", "visit", NULL, NULL },
    { "offer", "deal", "promotion", NULL, NULL },
    { "save", "keep", "spare", NULL, NULL },
    { "amazing", "incredible", "unbelievable", "fantastic", NULL },
    { "guaranteed", "assured", "certain", NULL, NULL },
    { "great", "excellent", "superb", NULL, NULL },
    { "special", "exclusive", "unique", NULL, NULL },
    { "fast", "quick", "rapid", NULL, NULL },
    { "online", "on-line", "on the web", NULL, NULL },
};
#define NSYN (sizeof SYN / sizeof SYN[0])

static unsigned syn_size(unsigned set)
{
    unsigned n = 0;
    while (n < 5 && SYN[set][n])
        n++;
    return n;
}

static const char *const TLDS[] = { "com", "net", "info", "biz", "ru", "cn", "org", "com.ua", "co.uk", "hk" };
#define NTLDS (sizeof TLDS / sizeof TLDS[0])
static const char *const SYLL[] = { "ka", "lo", "mi", "ne", "ta", "ro", "vi", "pe", "su", "da", "ri", "mo",
                                    "fa", "ge", "zu", "bo", "xi", "ly", "qu", "en", "ar", "ix", "on", "el" };
#define NSYLL (sizeof SYLL / sizeof SYLL[0])

// ---- templates ------------------------------------------------------------------------

typedef enum tok_kind { TK_LIT, TK_URL, TK_NUM, TK_EMAIL, TK_SYN } tok_kind;

typedef struct ttok {
    uint32_t off, len;          // into template text
    uint8_t kind;
    uint8_t syn;                // set, for TK_SYN
    uint16_t line;
} ttok;

typedef struct template {
    char *text;                 // cleaned body lines, '\n' separated
    char *subject;
    ttok *toks;
    size_t tok_count;
    unsigned lines;
    uint64_t *words;            // sorted distinct word hashes, for the duplicate check
    size_t word_count;
} template;

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int buf_put(buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX / 4 || b->n > SIZE_MAX / 4)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static int buf_puts(buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

static int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    return buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = { 0 };
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.n < (4u << 20))
        if (buf_put(&b, chunk, got) != 0)
            break;
    fclose(f);
    *n = b.n;
    return b.p;
}

// Header value of `name` in an unfolded copy of the header block (NULL if absent).
static char *header_value(const char *hdr, size_t hn, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < hn;) {
        size_t e = i;
        while (e < hn && hdr[e] != '\n')
            e++;
        if (e - i > nl && strncasecmp(hdr + i, name, nl) == 0 && hdr[i + nl] == ':') {
            buf v = { 0 };
            buf_put(&v, hdr + i + nl + 1, e - i - nl - 1);
            size_t j = e + 1;
            while (j < hn && (hdr[j] == ' ' || hdr[j] == '\t')) {   // folded continuation
                size_t k = j;
                while (k < hn && hdr[k] != '\n')
                    k++;
                buf_put(&v, " ", 1);
                buf_put(&v, hdr + j, k - j);
                j = k + 1;
            }
            return v.p;
        }
        i = e + 1;
    }
    return NULL;
}

static void split_head(const char *p, size_t n, size_t *head_n, const char **body, size_t *body_n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == '\n' && (p[i + 1] == '\n' || (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n'))) {
            *head_n = i + 1;
            size_t b = p[i + 1] == '\n' ? i + 2 : i + 3;
            *body = p + b;
            *body_n = n - b;
            return;
        }
    }
    *head_n = n;
    *body = p + n;
    *body_n = 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void decode_qp(buf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
            i++;
        } else if (p[i] == '=' && i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
            i += 2;
        } else if (p[i] == '=' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            char c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            buf_put(out, &c, 1);
            i += 2;
        } else {
            buf_put(out, p + i, 1);
        }
    }
}

static void decode_b64(buf *out, const char *p, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char o = (char)(acc >> bits);
            buf_put(out, &o, 1);
        }
    }
}

// HTML to lines of text, crudely: tags dropped (block tags end a line), script/style
// skipped, the few entities spam uses decoded. Enough to harvest template text.
static void html_to_text(buf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (p[i] == '<') {
            size_t e = i + 1;
            while (e < n && p[e] != '>')
                e++;
            size_t tl = e - i - 1;
            const char *t = p + i + 1;
            if ((tl >= 6 && strncasecmp(t, "script", 6) == 0) || (tl >= 5 && strncasecmp(t, "style", 5) == 0)) {
                const char *close = strncasecmp(t, "script", 6) == 0 ? "</script" : "</style";
                const char *end = memmem(p + e, n - (e < n ? e : n), close, strlen(close));
                e = end ? (size_t)(end - p) : n;
                while (e < n && p[e] != '>')
                    e++;
            } else if ((tl >= 2 && (strncasecmp(t, "br", 2) == 0 || strncasecmp(t, "/p", 2) == 0 ||
                                    strncasecmp(t, "p ", 2) == 0 || strncasecmp(t, "/tr", 3) == 0 ||
                                    strncasecmp(t, "/div", 4) == 0 || strncasecmp(t, "/h", 2) == 0 ||
                                    strncasecmp(t, "li", 2) == 0)) ||
                       (tl == 1 && (t[0] == 'p' || t[0] == 'P'))) {
                buf_put(out, "\n", 1);
            } else {
                buf_put(out, " ", 1);
            }
            i = e < n ? e + 1 : n;
        } else if (p[i] == '&') {
            static const struct {
                const char *name, *text;
            } ents[] = { { "&nbsp;", " " }, { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
                         { "&#39;", "'" } };
            size_t k;
            for (k = 0; k < sizeof ents / sizeof ents[0]; k++)
                if (strncasecmp(p + i, ents[k].name, strlen(ents[k].name)) == 0)
                    break;
            if (k < sizeof ents / sizeof ents[0]) {
                buf_puts(out, ents[k].text);
                i += strlen(ents[k].name);
            } else {
                buf_put(out, "&", 1);
                i++;
            }
        } else {
            buf_put(out, p[i] == '\n' || p[i] == '\r' ? " " : p + i, 1);
            i++;
        }
    }
}

static bool ct_is(const char *ct, const char *what)
{
    return ct && strcasestr(ct, what) != NULL;
}

// The visible text of a raw message: the first text/plain (else text/html) leaf, one
// level of multipart deep, decoded. False if there is none.
static bool message_text(const char *raw, size_t n, buf *out, char **subject)
{
    size_t hn;
    const char *body;
    size_t bn;
    split_head(raw, n, &hn, &body, &bn);
    *subject = header_value(raw, hn, "Subject");
    char *ct = header_value(raw, hn, "Content-Type");
    char *cte = header_value(raw, hn, "Content-Transfer-Encoding");
    bool ok = false;
    if (ct_is(ct, "multipart")) {
        const char *b = ct ? strcasestr(ct, "boundary=") : NULL;
        char boundary[200];
        if (b) {
            b += 9;
            if (*b == '"')
                b++;
            size_t l = 0;
            while (b[l] && b[l] != '"' && b[l] != ';' && b[l] != ' ' && l + 3 < sizeof boundary)
                l++;
            snprintf(boundary, sizeof boundary, "--%.*s", (int)l, b);
            const char *best = NULL, *best_ct_html = NULL;
            size_t best_n = 0, html_n = 0;
            char *best_cte = NULL, *html_cte = NULL;
            const char *p = body, *end = body + bn;
            const char *part = memmem(p, bn, boundary, strlen(boundary));
            while (part && !best) {
                const char *ps = part + strlen(boundary);
                while (ps < end && *ps != '\n')
                    ps++;
                ps++;
                if (ps >= end)
                    break;
                const char *next = memmem(ps, (size_t)(end - ps), boundary, strlen(boundary));
                size_t pn = (size_t)((next ? next : end) - ps);
                size_t phn;
                const char *pb;
                size_t pbn;
                split_head(ps, pn, &phn, &pb, &pbn);
                char *pct = header_value(ps, phn, "Content-Type");
                char *pcte = header_value(ps, phn, "Content-Transfer-Encoding");
                if (!pct || ct_is(pct, "text/plain")) {
                    best = pb, best_n = pbn, best_cte = pcte, pcte = NULL;
                } else if (ct_is(pct, "text/html") && !best_ct_html) {
                    best_ct_html = pb, html_n = pbn, html_cte = pcte, pcte = NULL;
                }
                free(pct);
                free(pcte);
                part = next;
            }
            if (best || best_ct_html) {
                buf dec = { 0 };
                const char *src = best ? best : best_ct_html;
                size_t sn = best ? best_n : html_n;
                char *enc = best ? best_cte : html_cte;
                if (ct_is(enc, "quoted-printable"))
                    decode_qp(&dec, src, sn);
                else if (ct_is(enc, "base64"))
                    decode_b64(&dec, src, sn);
                else
                    buf_put(&dec, src, sn);
                if (best)
                    buf_put(out, dec.p ? dec.p : "", dec.n);
                else
                    html_to_text(out, dec.p ? dec.p : "", dec.n);
                free(dec.p);
                ok = true;
            }
            free(best_cte);
            free(html_cte);
        }
    } else if (!ct || ct_is(ct, "text/plain") || ct_is(ct, "text/html")) {
        buf dec = { 0 };
        if (ct_is(cte, "quoted-printable"))
            decode_qp(&dec, body, bn);
        else if (ct_is(cte, "base64"))
            decode_b64(&dec, body, bn);
        else
            buf_put(&dec, body, bn);
        if (ct_is(ct, "text/html") || (dec.p && strcasestr(dec.p, "<html")))
            html_to_text(out, dec.p ? dec.p : "", dec.n);
        else
            buf_put(out, dec.p ? dec.p : "", dec.n);
        free(dec.p);
        ok = true;
    }
    free(ct);
    free(cte);
    return ok;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Builds a slotted template from a message's subject and text. False if unusable: too
// short, too long, or not mostly ASCII text (the simulator writes ASCII mail).
static void template_free(template *t);

static bool make_template(template *t, const char *subject, const buf *text)
{
    memset(t, 0, sizeof *t);
    buf clean = { 0 };
    size_t nonascii = 0, lines = 0;
    const char *p = text->p ? text->p : "";
    for (size_t i = 0; i < text->n && lines < 40;) {
        size_t e = i;
        while (e < text->n && p[e] != '\n')
            e++;
        // Trim, collapse blanks, keep lines with a letter.
        size_t a = i, b = e;
        while (a < b && (unsigned char)p[a] <= ' ')
            a++;
        while (b > a && (unsigned char)p[b - 1] <= ' ')
            b--;
        bool letter = false;
        for (size_t k = a; k < b; k++)
            letter |= is_alpha(p[k]);
        if (letter && b - a >= 3) {
            size_t start = clean.n;
            bool space = false;
            for (size_t k = a; k < b && clean.n - start < 300; k++) {
                unsigned char c = (unsigned char)p[k];
                if (c >= 0x80)
                    nonascii++;
                if (c <= ' ') {
                    space = true;
                    continue;
                }
                if (space && clean.n > start)
                    buf_put(&clean, " ", 1);
                space = false;
                if (c >= 0x80 || c == 0x7f)
                    c = '?';
                buf_put(&clean, &c, 1);
            }
            buf_put(&clean, "\n", 1);
            lines++;
        }
        i = e + 1;
    }
    if (!clean.p || nonascii * 20 > clean.n) {
        free(clean.p);
        return false;
    }
    // Tokens and slot kinds.
    size_t cap = 64;
    t->toks = malloc(cap * sizeof *t->toks);
    uint64_t *words = malloc(sizeof *words * (clean.n / 2 + 1));
    size_t wc = 0, alpha_words = 0;
    unsigned line = 0;
    for (size_t i = 0; i < clean.n;) {
        if (clean.p[i] == '\n') {
            line++;
            i++;
            continue;
        }
        if (clean.p[i] == ' ') {
            i++;
            continue;
        }
        size_t s = i;
        while (i < clean.n && clean.p[i] != ' ' && clean.p[i] != '\n')
            i++;
        const char *w = clean.p + s;
        size_t wl = i - s;
        uint8_t kind = TK_LIT, syn = 0;
        bool digit = false, at = false, alpha = true;
        for (size_t k = 0; k < wl; k++) {
            digit |= w[k] >= '0' && w[k] <= '9';
            at |= w[k] == '@';
            alpha &= is_alpha(w[k]);
        }
        if (memmem(w, wl, "://", 3) || (wl > 4 && strncasecmp(w, "www.", 4) == 0))
            kind = TK_URL;
        else if (at && memchr(w, '.', wl))
            kind = TK_EMAIL;
        else if (digit)
            kind = TK_NUM;
        else if (alpha) {
            for (unsigned k = 0; k < NSYN && kind == TK_LIT; k++)
                if (strlen(SYN[k][0]) == wl && strncasecmp(SYN[k][0], w, wl) == 0)
                    kind = TK_SYN, syn = (uint8_t)k;
            alpha_words++;
            uint64_t h = 1469598103934665603ULL;
            for (size_t k = 0; k < wl; k++)
                h = (h ^ (uint64_t)(w[k] | 0x20)) * 1099511628211ULL;
            words[wc++] = h;
        }
        if (t->tok_count == cap) {
            cap *= 2;
            t->toks = realloc(t->toks, cap * sizeof *t->toks);
        }
        t->toks[t->tok_count++] = (ttok){ (uint32_t)s, (uint32_t)wl, kind, syn, (uint16_t)line };
    }
    t->lines = line;
    t->text = clean.p;
    if (alpha_words < 50 || alpha_words > 1500) {
        free(words);
        template_free(t);
        return false;
    }
    qsort(words, wc, sizeof *words, cmp_u64);
    size_t u = 0;
    for (size_t k = 0; k < wc; k++)
        if (u == 0 || words[u - 1] != words[k])
            words[u++] = words[k];
    t->words = words;
    t->word_count = u;
    // Subjects: the real one, cleaned to ASCII; a missing one becomes the first words.
    buf s = { 0 };
    if (subject)
        for (const char *q = subject; *q && s.n < 120; q++) {
            unsigned char c = (unsigned char)*q;
            if (c >= ' ' && c < 0x7f && !(c == ' ' && (s.n == 0 || s.p[s.n - 1] == ' ')))
                buf_put(&s, &c, 1);
        }
    if (s.n < 3 || strstr(s.p ? s.p : "", "=?")) {
        free(s.p);
        s = (buf){ 0 };
        size_t k = 0;
        for (size_t i = 0; i < t->tok_count && k < 6; i++)
            if (t->toks[i].kind == TK_LIT) {
                if (k++)
                    buf_put(&s, " ", 1);
                buf_put(&s, t->text + t->toks[i].off, t->toks[i].len);
            }
    }
    t->subject = s.p;
    if (!t->subject) {
        template_free(t);
        return false;
    }
    return true;
}

static void template_free(template *t)
{
    free(t->text);
    free(t->subject);
    free(t->toks);
    free(t->words);
}

static double word_jaccard(const template *a, const template *b)
{
    size_t i = 0, j = 0, both = 0;
    while (i < a->word_count && j < b->word_count) {
        if (a->words[i] == b->words[j])
            both++, i++, j++;
        else if (a->words[i] < b->words[j])
            i++;
        else
            j++;
    }
    size_t uni = a->word_count + b->word_count - both;
    return uni ? (double)both / (double)uni : 1.0;
}

typedef struct pathlist {
    char **v;
    size_t n, cap;
} pathlist;

static void paths_add(pathlist *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = strdup(path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(pathlist *l, const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t first = l->n;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' || nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        paths_add(l, path);
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof *l->v, cmp_str);
}

// ---- networks -------------------------------------------------------------------------

// Large eyeball ISPs, as the CSV names them: where zombies sat (dynamic DSL/cable pools).
static const char *const ISPS[] = {
    "Comcast Cable Communications", "Charter Communications", "Deutsche Telekom AG", "TELEFONICA BRASIL",
    "TELEFONICA DE ESPANA", "Chinanet", "CHINA UNICOM China169", "Korea Telecom", "Turk Telekomunikasyon",
    "VNPT Corp", "Telecom Italia S.p.A.", "Orange S.A.", "PJSC Rostelecom", "Chunghwa Telecom", "Telmex Colombia",
    "Vodafone Net Iletisim",
};
#define NISPS (sizeof ISPS / sizeof ISPS[0])

typedef struct range {
    uint32_t lo, hi, asn;
} range;

typedef struct isp {
    range *r;
    size_t n, cap;
    uint64_t total;
} isp;

static bool load_isps(const char *csv, isp *isps, char *errbuf)
{
    FILE *f = fopen(csv, "r");
    if (!f) {
        snprintf(errbuf, 256, "%s: %s", csv, strerror(errno));
        return false;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        unsigned a[4], b[4], asn;
        int used = 0;
        if (sscanf(line, "%u.%u.%u.%u,%u.%u.%u.%u,%u,%n", &a[0], &a[1], &a[2], &a[3], &b[0], &b[1], &b[2], &b[3],
                   &asn, &used) < 9 || used == 0)
            continue;
        const char *org = line + used;
        if (*org == '"')
            org++;
        for (size_t k = 0; k < NISPS; k++)
            if (strncasecmp(org, ISPS[k], strlen(ISPS[k])) == 0) {
                isp *s = &isps[k];
                if (s->n == s->cap) {
                    s->cap = s->cap ? s->cap * 2 : 64;
                    s->r = realloc(s->r, s->cap * sizeof *s->r);
                }
                uint32_t lo = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
                uint32_t hi = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
                if (hi < lo)
                    break;
                s->r[s->n++] = (range){ lo, hi, asn };
                s->total += (uint64_t)(hi - lo) + 1;
                break;
            }
    }
    fclose(f);
    for (size_t k = 0; k < NISPS; k++)
        if (isps[k].n == 0) {
            snprintf(errbuf, 256, "%s: no ranges for ISP \"%s\"", csv, ISPS[k]);
            return false;
        }
    return true;
}

static void pick_ip(const isp *s, rng *r, uint32_t *ip, uint32_t *asn)
{
    uint64_t at = rnext(r) % s->total;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t size = (uint64_t)(s->r[i].hi - s->r[i].lo) + 1;
        if (at < size) {
            *ip = s->r[i].lo + (uint32_t)at;
            *asn = s->r[i].asn;
            // Avoid network and broadcast-looking host parts.
            if ((*ip & 0xff) == 0 || (*ip & 0xff) == 255)
                *ip ^= 1;
            return;
        }
        at -= size;
    }
    *ip = s->r[0].lo + 1;
    *asn = s->r[0].asn;
}

// ---- botnets and campaigns ------------------------------------------------------------

typedef enum helo_style { HELO_IP_RDNS, HELO_RANDOM_WORD, HELO_FORGED_FREEMAIL, HELO_BARE_IP } helo_style;
typedef enum msgid_style { MID_OUTLOOK, MID_HEX_AT_DOMAIN, MID_DIGITS_DOT, MID_NONE } msgid_style;

typedef enum hdr { H_FROM, H_TO, H_SUBJECT, H_DATE, H_MSGID, H_MIME, H_CTYPE, H_CTE, H_XMAILER, H_XPRIO,
                   H_REPLYTO, H_RETURNPATH, H_END } hdr;

typedef struct family {
    const char *name;
    helo_style helo;
    msgid_style msgid;
    const char *xmailer;        // NULL: none
    hdr order[H_END + 1];       // H_END-terminated
    unsigned shuffle_from;      // headers from this position on are shuffled per message
    double hash_buster;         // share of campaigns with hash-buster lines
    double line_drop;           // chance per line of being left out
    unsigned synonyms;          // word slots varied per campaign
} family;

// Mailer habits after public descriptions of 2007-2009 spam botnets (Stern 2009 "Analysis
// of the Storm Worm", Kreibich et al. 2008 "Spamcraft", Marshal8e6 TRACE botnet notes):
// Srizbi imitated Outlook Express, Rustock sent without a Message-ID-bearing mailer tag and
// with random HELOs, Storm used random word HELOs and template word variants.
static const family FAMILIES[] = {
    { "srizbi", HELO_IP_RDNS, MID_OUTLOOK, "Microsoft Outlook Express 6.00.2900.2180",
      { H_FROM, H_TO, H_SUBJECT, H_DATE, H_MIME, H_CTYPE, H_CTE, H_XPRIO, H_XMAILER, H_MSGID, H_END }, 99, 0.2, 0.03, 2 },
    { "cutwail", HELO_BARE_IP, MID_HEX_AT_DOMAIN, NULL,
      { H_MSGID, H_DATE, H_FROM, H_TO, H_SUBJECT, H_MIME, H_CTYPE, H_CTE, H_END }, 99, 0.5, 0.05, 3 },
    { "rustock", HELO_RANDOM_WORD, MID_DIGITS_DOT, NULL,
      { H_RETURNPATH, H_FROM, H_TO, H_SUBJECT, H_DATE, H_MSGID, H_MIME, H_CTYPE, H_END }, 2, 0.7, 0.05, 3 },
    { "storm", HELO_RANDOM_WORD, MID_HEX_AT_DOMAIN, NULL,
      { H_MSGID, H_FROM, H_TO, H_SUBJECT, H_DATE, H_MIME, H_CTYPE, H_CTE, H_END }, 99, 0.3, 0.08, 3 },
    { "mega-d", HELO_FORGED_FREEMAIL, MID_HEX_AT_DOMAIN, "The Bat! (v3.51.10) Professional",
      { H_DATE, H_FROM, H_REPLYTO, H_XMAILER, H_MSGID, H_TO, H_SUBJECT, H_MIME, H_CTYPE, H_CTE, H_END }, 99, 0.4, 0.04, 2 },
    { "bobax", HELO_IP_RDNS, MID_NONE, NULL,
      { H_FROM, H_TO, H_SUBJECT, H_DATE, H_MIME, H_CTYPE, H_END }, 0, 0.6, 0.06, 2 },
    { "grum", HELO_FORGED_FREEMAIL, MID_DIGITS_DOT, "Microsoft Office Outlook 12.0",
      { H_FROM, H_TO, H_SUBJECT, H_DATE, H_MSGID, H_XMAILER, H_MIME, H_CTYPE, H_CTE, H_END }, 3, 0.3, 0.05, 3 },
    { "lethic", HELO_BARE_IP, MID_OUTLOOK, NULL,
      { H_RETURNPATH, H_MSGID, H_FROM, H_TO, H_SUBJECT, H_DATE, H_MIME, H_CTYPE, H_END }, 99, 0.5, 0.04, 2 },
};
#define NFAMILIES (sizeof FAMILIES / sizeof FAMILIES[0])

typedef struct zombie {
    uint32_t ip, asn;
} zombie;

typedef struct botnet {
    const family *fam;
    char name[32];
    zombie *pool;
    size_t pool_n;
    int tz_minutes;
} botnet;

#define MAX_DOMAINS 6
#define MAX_SUBJECTS 3

typedef struct campaign_def {
    unsigned botnet;
    unsigned tmpl;
    char domains[MAX_DOMAINS][48];
    unsigned domain_count;
    bool ip_urls;
    uint32_t url_ip;
    unsigned greeting;          // 0 none, 1 "Dear First Last,", 2 "Hi First,", 3 "Hello,"
    bool hash_buster;
    bool signoff;
    double line_drop;
    uint8_t vary[NSYN];         // synonym sets varied in this campaign
    unsigned subject_forms;
    int64_t start, duration;
    size_t messages;
} campaign_def;

typedef struct sched {
    int64_t time;
    uint32_t campaign;
    uint32_t seq;
} sched;

struct spamsim {
    spamsim_config cfg;
    template *tmpl;
    size_t tmpl_count;
    char **dict;                // hash-buster words (from the templates)
    size_t dict_n;
    botnet *bots;
    campaign_def *camps;
    sched *stream;
    size_t count;
    // render scratch
    buf subject, text, raw, hosts, urls;
    char helo[80];
    char rcpt_addr[96], rcpt_name[64];
};

size_t spamsim_count(const spamsim *sim) { return sim->count; }
size_t spamsim_template_count(const spamsim *sim) { return sim->tmpl_count; }
const char *spamsim_botnet_name(const spamsim *sim, unsigned b) { return sim->bots[b].name; }

void spamsim_config_default(spamsim_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->messages = 200000;
    c->campaigns = 240;
    c->botnets = 8;
    c->days = 14;
    c->start_time = 1199145600;   // 2008-01-01: the Storm/Srizbi era
}

static void make_domain(rng *r, char *out, size_t n)
{
    char name[40];
    size_t len = 0;
    unsigned syl = 2 + rbelow(r, 3);
    for (unsigned i = 0; i < syl; i++)
        len += (size_t)snprintf(name + len, sizeof name - len, "%s", SYLL[rbelow(r, NSYLL)]);
    if (rbelow(r, 3) == 0)
        len += (size_t)snprintf(name + len, sizeof name - len, "%u", rbelow(r, 100));
    snprintf(out, n, "%s.%s", name, TLDS[rbelow(r, NTLDS)]);
}

static int cmp_sched(const void *a, const void *b)
{
    const sched *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->campaign != y->campaign)
        return x->campaign < y->campaign ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static bool load_templates(spamsim *sim, char *errbuf)
{
    pathlist files = { 0 };
    char dir[4096];
    if (sim->cfg.sa_dir) {
        snprintf(dir, sizeof dir, "%s/spam-1", sim->cfg.sa_dir);
        list_dir(&files, dir, ".txt");
        snprintf(dir, sizeof dir, "%s/spam-2", sim->cfg.sa_dir);
        list_dir(&files, dir, ".txt");
    }
    if (sim->cfg.csdmc_dir) {
        snprintf(dir, sizeof dir, "%s/SPAMTrain.label", sim->cfg.csdmc_dir);
        FILE *f = fopen(dir, "r");
        if (f) {
            char line[512], name[400];
            int label;
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "%d %399s", &label, name) == 2 && label == 0) {
                    snprintf(dir, sizeof dir, "%s/TRAINING/%s", sim->cfg.csdmc_dir, name);
                    paths_add(&files, dir);
                }
            fclose(f);
        }
    }
    // Shuffle with the seed, so different seeds draw different template sets.
    rng r = rseed(sim->cfg.seed, 0x7e57);
    for (size_t i = files.n; i > 1; i--) {
        size_t j = rbelow(&r, (uint32_t)i);
        char *t = files.v[i - 1];
        files.v[i - 1] = files.v[j];
        files.v[j] = t;
    }
    sim->tmpl = calloc(files.n ? files.n : 1, sizeof *sim->tmpl);
    for (size_t i = 0; i < files.n; i++) {
        size_t n;
        char *raw = read_file(files.v[i], &n);
        if (!raw)
            continue;
        buf text = { 0 };
        char *subject = NULL;
        template t;
        if (message_text(raw, n, &text, &subject) && make_template(&t, subject, &text)) {
            // Different campaigns must not share a template: spam corpora hold many copies
            // of one mailing, which no clusterer could (or should) tell apart.
            bool dup = false;
            for (size_t k = 0; k < sim->tmpl_count && !dup; k++)
                dup = word_jaccard(&t, &sim->tmpl[k]) > 0.25;
            if (dup)
                template_free(&t);
            else
                sim->tmpl[sim->tmpl_count++] = t;
        }
        free(text.p);
        free(subject);
        free(raw);
        free(files.v[i]);
        files.v[i] = NULL;
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    if (sim->tmpl_count < 20) {
        snprintf(errbuf, 256, "only %zu usable spam templates under %s and %s", sim->tmpl_count,
                 sim->cfg.sa_dir ? sim->cfg.sa_dir : "(none)", sim->cfg.csdmc_dir ? sim->cfg.csdmc_dir : "(none)");
        return false;
    }
    // Hash-buster dictionary: the distinct lowercase words of the templates.
    size_t cap = 4096;
    sim->dict = malloc(cap * sizeof *sim->dict);
    for (size_t k = 0; k < sim->tmpl_count && sim->dict_n < cap; k++) {
        const template *t = &sim->tmpl[k];
        for (size_t i = 0; i < t->tok_count && sim->dict_n < cap; i += 7) {
            const ttok *tk = &t->toks[i];
            if (tk->kind != TK_LIT || tk->len < 4 || tk->len > 10)
                continue;
            bool alpha = true;
            for (size_t c = 0; c < tk->len; c++)
                alpha &= is_alpha(t->text[tk->off + c]);
            if (!alpha)
                continue;
            char *w = strndup(t->text + tk->off, tk->len);
            for (char *q = w; *q; q++)
                *q = (char)(*q | 0x20);
            sim->dict[sim->dict_n++] = w;
        }
    }
    return true;
}

static void make_botnets(spamsim *sim, const isp *isps)
{
    sim->bots = calloc(sim->cfg.botnets, sizeof *sim->bots);
    for (unsigned b = 0; b < sim->cfg.botnets; b++) {
        botnet *bn = &sim->bots[b];
        rng r = rseed(sim->cfg.seed, 0xb0700000 + b);
        bn->fam = &FAMILIES[b % NFAMILIES];
        if (b < NFAMILIES)
            snprintf(bn->name, sizeof bn->name, "%s", bn->fam->name);
        else
            snprintf(bn->name, sizeof bn->name, "%s-%u", bn->fam->name, b / (unsigned)NFAMILIES + 1);
        // Pools of 1,000-8,000 zombies over 3-4 ISPs; ISPs are shared between botnets (the
        // same infected eyeball networks host several families), addresses mostly not.
        bn->pool_n = 1000 + rbelow(&r, 7000);
        bn->pool = malloc(bn->pool_n * sizeof *bn->pool);
        unsigned nisp = 3 + rbelow(&r, 2), chosen[4];
        for (unsigned k = 0; k < nisp; k++)
            chosen[k] = rbelow(&r, NISPS);
        for (size_t z = 0; z < bn->pool_n; z++) {
            const isp *s = &isps[chosen[rbelow(&r, nisp)]];
            pick_ip(s, &r, &bn->pool[z].ip, &bn->pool[z].asn);
        }
        bn->tz_minutes = (int)rbelow(&r, 25) * 60 - 12 * 60;
    }
}

static void make_campaigns(spamsim *sim)
{
    unsigned nc = sim->cfg.campaigns;
    sim->camps = calloc(nc, sizeof *sim->camps);
    rng r = rseed(sim->cfg.seed, 0xca4a);
    // Botnet shares of the volume, skewed like 2008's (Srizbi ~35%, Cutwail ~18%, ...).
    double share[64], total_share = 0;
    for (unsigned b = 0; b < sim->cfg.botnets && b < 64; b++) {
        share[b] = 1.0 / (1.0 + 0.6 * b);
        total_share += share[b];
    }
    // Volumes: log-normal weights, so a few campaigns are large and many small.
    double *weight = malloc(nc * sizeof *weight), wsum = 0;
    for (unsigned c = 0; c < nc; c++) {
        double u1 = runit(&r) + 1e-12, u2 = runit(&r);
        double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
        weight[c] = exp(0.8 * z);
        wsum += weight[c];
    }
    int64_t span = (int64_t)sim->cfg.days * 86400;
    size_t assigned = 0;
    for (unsigned c = 0; c < nc; c++) {
        campaign_def *cd = &sim->camps[c];
        double pick = runit(&r) * total_share;
        unsigned b = 0;
        while (b + 1 < sim->cfg.botnets && pick > share[b])
            pick -= share[b++];
        if (c < sim->cfg.botnets)
            b = c;                  // every botnet runs at least one campaign
        cd->botnet = b;
        cd->tmpl = c % (unsigned)sim->tmpl_count;
        const family *fam = sim->bots[b].fam;
        // AutoRE's observation: one botnet advertises the same domains in several
        // campaigns. A fifth of campaigns reuse a domain of an earlier one of their botnet.
        cd->domain_count = 1 + rbelow(&r, MAX_DOMAINS);
        for (unsigned d = 0; d < cd->domain_count; d++)
            make_domain(&r, cd->domains[d], sizeof cd->domains[d]);
        if (c > 0 && rbelow(&r, 5) == 0)
            for (unsigned prev = c; prev-- > 0;)
                if (sim->camps[prev].botnet == b) {
                    snprintf(cd->domains[0], sizeof cd->domains[0], "%s", sim->camps[prev].domains[0]);
                    break;
                }
        cd->ip_urls = rbelow(&r, 20) == 0;
        cd->url_ip = 0x50000000u + rbelow(&r, 0x20000000u);
        cd->greeting = rbelow(&r, 4);
        cd->hash_buster = runit(&r) < fam->hash_buster;
        cd->signoff = rbelow(&r, 2) == 0;
        cd->line_drop = fam->line_drop;
        for (unsigned k = 0; k < fam->synonyms; k++)
            cd->vary[rbelow(&r, NSYN)] = 1;
        cd->subject_forms = 1 + rbelow(&r, MAX_SUBJECTS);
        cd->messages = (size_t)((double)sim->cfg.messages * weight[c] / wsum);
        if (cd->messages < 20)
            cd->messages = 20;
        assigned += cd->messages;
        // Active from half a day to four days, starting anywhere in the span.
        cd->duration = 43200 + (int64_t)rbelow(&r, 3 * 86400 + 43200);
        if (cd->duration > span)
            cd->duration = span;
        cd->start = sim->cfg.start_time + (int64_t)(runit(&r) * (double)(span - cd->duration));
    }
    // Trim or pad the largest campaigns so the total is exact.
    while (assigned != sim->cfg.messages) {
        unsigned big = 0;
        for (unsigned c = 1; c < nc; c++)
            if (sim->camps[c].messages > sim->camps[big].messages)
                big = c;
        if (assigned > sim->cfg.messages) {
            size_t cut = assigned - sim->cfg.messages;
            size_t room = sim->camps[big].messages - 20;
            if (cut > room)
                cut = room;
            if (cut == 0)
                break;
            sim->camps[big].messages -= cut;
            assigned -= cut;
        } else {
            sim->camps[big].messages += sim->cfg.messages - assigned;
            assigned = sim->cfg.messages;
        }
    }
    free(weight);
    sim->count = assigned;
}

// Message times of one campaign: 40% in 1-4 bursts of about half an hour, the rest spread
// over the active window with a day/night cycle in the botnet's time zone (zombies are
// home PCs, switched on in the evening).
static void schedule(spamsim *sim)
{
    sim->stream = malloc(sim->count * sizeof *sim->stream);
    size_t at = 0;
    for (unsigned c = 0; c < sim->cfg.campaigns; c++) {
        campaign_def *cd = &sim->camps[c];
        rng r = rseed(sim->cfg.seed, 0x5c4ed000ULL + c);
        unsigned bursts = 1 + rbelow(&r, 4);
        int64_t centers[4];
        for (unsigned k = 0; k < bursts; k++)
            centers[k] = cd->start + (int64_t)(runit(&r) * (double)cd->duration);
        int tz = sim->bots[cd->botnet].tz_minutes;
        for (size_t m = 0; m < cd->messages; m++) {
            int64_t t;
            if (runit(&r) < 0.4) {
                t = centers[rbelow(&r, bursts)] + (int64_t)rbelow(&r, 1800) - 900;
            } else {
                for (;;) {
                    t = cd->start + (int64_t)(runit(&r) * (double)cd->duration);
                    double hour = fmod((double)(t + tz * 60) / 3600.0, 24.0);
                    double rate = 0.55 + 0.45 * sin((hour - 13.0) / 24.0 * 6.283185307179586);
                    if (runit(&r) < rate)
                        break;
                }
            }
            if (t < cd->start)
                t = cd->start;
            sim->stream[at++] = (sched){ t, c, (uint32_t)m };
        }
    }
    qsort(sim->stream, sim->count, sizeof *sim->stream, cmp_sched);
}

spamsim *spamsim_new(const spamsim_config *config, char *errbuf)
{
    if (config->botnets == 0 || config->campaigns < config->botnets || config->days == 0 ||
        config->messages < (size_t)config->campaigns * 20) {
        snprintf(errbuf, 256, "need botnets >= 1, campaigns >= botnets, days >= 1, messages >= 20 x campaigns");
        return NULL;
    }
    spamsim *sim = calloc(1, sizeof *sim);
    sim->cfg = *config;
    isp isps[NISPS];
    memset(isps, 0, sizeof isps);
    bool ok = load_isps(config->asn_csv, isps, errbuf) && load_templates(sim, errbuf);
    if (ok && sim->tmpl_count < config->campaigns) {
        snprintf(errbuf, 256, "%u campaigns need as many distinct templates; only %zu usable", config->campaigns,
                 sim->tmpl_count);
        ok = false;
    }
    if (ok) {
        make_botnets(sim, isps);
        make_campaigns(sim);
        schedule(sim);
    }
    for (size_t k = 0; k < NISPS; k++)
        free(isps[k].r);
    if (!ok) {
        spamsim_free(sim);
        return NULL;
    }
    return sim;
}

void spamsim_free(spamsim *sim)
{
    if (!sim)
        return;
    for (size_t k = 0; k < sim->tmpl_count; k++)
        template_free(&sim->tmpl[k]);
    free(sim->tmpl);
    for (size_t k = 0; k < sim->dict_n; k++)
        free(sim->dict[k]);
    free(sim->dict);
    if (sim->bots)
        for (unsigned b = 0; b < sim->cfg.botnets; b++)
            free(sim->bots[b].pool);
    free(sim->bots);
    free(sim->camps);
    free(sim->stream);
    free(sim->subject.p);
    free(sim->text.p);
    free(sim->raw.p);
    free(sim->hosts.p);
    free(sim->urls.p);
    free(sim);
}

// ---- rendering ------------------------------------------------------------------------

static void put_number_like(buf *b, rng *r, const char *w, size_t n)
{
    // Same shape, new digits: "$19.95" -> "$47.12".
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c >= '0' && c <= '9')
            c = (char)('0' + rbelow(r, 10));
        buf_put(b, &c, 1);
    }
}

static void rand_word(buf *b, rng *r, unsigned min, unsigned max, const char *alphabet)
{
    unsigned n = min + rbelow(r, max - min + 1);
    size_t al = strlen(alphabet);
    for (unsigned i = 0; i < n; i++)
        buf_put(b, &alphabet[rbelow(r, (uint32_t)al)], 1);
}

static void format_date(char *out, size_t n, int64_t t, int tz_minutes)
{
    time_t local = (time_t)(t + tz_minutes * 60);
    struct tm tm;
    gmtime_r(&local, &tm);
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;
    snprintf(out, n, "%s, %d %s %d %02d:%02d:%02d %c%02d%02d", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, tz_minutes < 0 ? '-' : '+', a / 60, a % 60);
}

int spamsim_render(spamsim *sim, size_t index, spamsim_msg *out)
{
    const sched *s = &sim->stream[index];
    const campaign_def *cd = &sim->camps[s->campaign];
    const botnet *bn = &sim->bots[cd->botnet];
    const family *fam = bn->fam;
    const template *t = &sim->tmpl[cd->tmpl];
    rng r = rseed(sim->cfg.seed ^ 0x6d657373616765ULL, index);
    memset(out, 0, sizeof *out);
    out->index = index;
    out->time = s->time;
    out->campaign = s->campaign;
    out->botnet = cd->botnet;

    // Recipient: one of the trap's 5,000 addresses, with a name.
    uint32_t rcpt = rbelow(&r, 5000);
    const char *rf = FIRST[rcpt % NFIRST], *rl = LAST[(rcpt / NFIRST) % NLAST];
    snprintf(sim->rcpt_name, sizeof sim->rcpt_name, "%s %s", rf, rl);
    snprintf(sim->rcpt_addr, sizeof sim->rcpt_addr, "%s.%s%u@trap%u.example", rf, rl, rcpt % 97, rcpt % 3);
    for (char *q = sim->rcpt_addr; *q; q++)
        *q = (char)(*q >= 'A' && *q <= 'Z' ? *q | 0x20 : *q);

    // Body.
    buf *text = &sim->text;
    text->n = 0;
    sim->hosts.n = 0;
    size_t url_offs[SPAMSIM_MAX_URLS][3][2];   // url, host, domain: (offset, length) in hosts
    bool url_ip[SPAMSIM_MAX_URLS];
    size_t nurls = 0;
    switch (cd->greeting) {
    case 1:
        buf_printf(text, "Dear %s,\n", sim->rcpt_name);
        break;
    case 2:
        buf_printf(text, "Hi %s,\n", rf);
        break;
    case 3:
        buf_puts(text, "Hello,\n");
        break;
    default:
        break;
    }
    bool buster_top = rbelow(&r, 2) == 0;
    if (cd->hash_buster && buster_top) {
        unsigned n = 4 + rbelow(&r, 5);
        for (unsigned i = 0; i < n; i++)
            buf_printf(text, "%s%s", i ? " " : "", sim->dict[rbelow(&r, (uint32_t)sim->dict_n)]);
        buf_puts(text, "\n");
    }
    unsigned line = UINT32_MAX;
    bool skip = false, line_start = true;
    bool any_url = false;
    for (size_t i = 0; i < t->tok_count; i++) {
        const ttok *tk = &t->toks[i];
        if (tk->line != line) {
            if (line != UINT32_MAX && !skip)
                buf_puts(text, "\n");
            line = tk->line;
            skip = line > 0 && t->lines > 4 && runit(&r) < cd->line_drop;
            line_start = true;
        }
        if (skip)
            continue;
        if (!line_start)
            buf_puts(text, " ");
        line_start = false;
        const char *w = t->text + tk->off;
        switch (tk->kind) {
        case TK_URL:
            if (nurls < SPAMSIM_MAX_URLS) {
                size_t u0 = sim->hosts.n;
                const char *dom = cd->domains[rbelow(&r, cd->domain_count)];
                buf_puts(&sim->hosts, "http://");
                size_t h0 = sim->hosts.n;
                if (cd->ip_urls)
                    buf_printf(&sim->hosts, "%u.%u.%u.%u", cd->url_ip >> 24, (cd->url_ip >> 16) & 255,
                               (cd->url_ip >> 8) & 255, cd->url_ip & 255);
                else if (rbelow(&r, 2))
                    buf_printf(&sim->hosts, "www.%s", dom);
                else
                    buf_puts(&sim->hosts, dom);
                size_t h1 = sim->hosts.n;
                buf_puts(&sim->hosts, "/");
                rand_word(&sim->hosts, &r, 3, 10, "abcdefghijklmnopqrstuvwxyz0123456789");
                size_t u1 = sim->hosts.n;
                buf_put(text, sim->hosts.p + u0, u1 - u0);
                url_offs[nurls][0][0] = u0, url_offs[nurls][0][1] = u1 - u0;
                url_offs[nurls][1][0] = h0, url_offs[nurls][1][1] = h1 - h0;
                if (cd->ip_urls) {
                    url_offs[nurls][2][0] = h0, url_offs[nurls][2][1] = h1 - h0;
                } else {
                    size_t d0 = h1 - strlen(dom);
                    url_offs[nurls][2][0] = d0, url_offs[nurls][2][1] = strlen(dom);
                }
                url_ip[nurls] = cd->ip_urls;
                nurls++;
                any_url = true;
            }
            break;
        case TK_EMAIL: {
            buf_puts(text, FIRST[rbelow(&r, NFIRST)]);
            buf_printf(text, "%u@%s", rbelow(&r, 1000), cd->domains[0]);
            break;
        }
        case TK_NUM:
            put_number_like(text, &r, w, tk->len);
            break;
        case TK_SYN:
            if (cd->vary[tk->syn]) {
                buf_puts(text, SYN[tk->syn][rbelow(&r, syn_size(tk->syn))]);
                break;
            }
            buf_put(text, w, tk->len);
            break;
        default:
            buf_put(text, w, tk->len);
            break;
        }
    }
    buf_puts(text, "\n");
    if (!any_url && nurls < SPAMSIM_MAX_URLS) {
        // Every campaign advertises: a template without a link gets one at the end.
        const char *dom = cd->domains[rbelow(&r, cd->domain_count)];
        size_t u0 = sim->hosts.n;
        buf_printf(&sim->hosts, "http://%s/", dom);
        size_t h0 = u0 + 7, h1 = h0 + strlen(dom);
        rand_word(&sim->hosts, &r, 4, 8, "abcdefghijklmnopqrstuvwxyz");
        size_t u1 = sim->hosts.n;
        buf_put(text, sim->hosts.p + u0, u1 - u0);
        buf_puts(text, "\n");
        url_offs[nurls][0][0] = u0, url_offs[nurls][0][1] = u1 - u0;
        url_offs[nurls][1][0] = h0, url_offs[nurls][1][1] = h1 - h0;
        url_offs[nurls][2][0] = h0, url_offs[nurls][2][1] = h1 - h0;
        url_ip[nurls] = false;
        nurls++;
    }
    if (cd->hash_buster && !buster_top) {
        unsigned n = 4 + rbelow(&r, 5);
        for (unsigned i = 0; i < n; i++)
            buf_printf(text, "%s%s", i ? " " : "", sim->dict[rbelow(&r, (uint32_t)sim->dict_n)]);
        buf_puts(text, "\n");
    }
    if (cd->signoff)
        buf_printf(text, "\n%s\n", FIRST[rbelow(&r, NFIRST)]);

    // Subject: the template's, in one of the campaign's forms.
    buf *subj = &sim->subject;
    subj->n = 0;
    unsigned form = rbelow(&r, cd->subject_forms);
    if (form == 1)
        buf_printf(subj, "%s, ", rf);
    else if (form == 2)
        buf_puts(subj, "Re: ");
    for (const char *q = t->subject; *q; q++) {
        if (*q >= '0' && *q <= '9') {
            char c = (char)('0' + rbelow(&r, 10));
            buf_put(subj, &c, 1);
        } else {
            buf_put(subj, q, 1);
        }
    }

    // Sender: a zombie of the botnet and its HELO, in the family's style.
    const zombie *z = &bn->pool[rbelow(&r, (uint32_t)bn->pool_n)];
    snprintf(out->sender_ip, sizeof out->sender_ip, "%u.%u.%u.%u", z->ip >> 24, (z->ip >> 16) & 255,
             (z->ip >> 8) & 255, z->ip & 255);
    out->asn = z->asn;
    switch (fam->helo) {
    case HELO_IP_RDNS:
        snprintf(sim->helo, sizeof sim->helo, "%u-%u-%u-%u.dynamic.isp%u.example", z->ip >> 24, (z->ip >> 16) & 255,
                 (z->ip >> 8) & 255, z->ip & 255, z->asn % 100);
        break;
    case HELO_RANDOM_WORD: {
        buf w = { 0 };
        rand_word(&w, &r, 5, 10, "abcdefghijklmnopqrstuvwxyz");
        snprintf(sim->helo, sizeof sim->helo, "%s", w.p);
        free(w.p);
        break;
    }
    case HELO_FORGED_FREEMAIL:
        snprintf(sim->helo, sizeof sim->helo, "%s", rbelow(&r, 2) ? "mail.yahoo.com" : "hotmail.com");
        break;
    default:
        snprintf(sim->helo, sizeof sim->helo, "[%s]", out->sender_ip);
        break;
    }

    // Raw message: the trap's Received line, then the family's headers in its order.
    buf *raw = &sim->raw;
    raw->n = 0;
    char date[64], date_utc[64];
    format_date(date, sizeof date, s->time, bn->tz_minutes);
    format_date(date_utc, sizeof date_utc, s->time + 2, 0);
    buf_printf(raw, "Received: from %s (%s [%s])\n\tby mx%u.trap.example with SMTP id %08llx;\n\t%s\n", sim->helo,
               sim->helo, out->sender_ip, (unsigned)(index % 3), (unsigned long long)(mix64(index) & 0xffffffffULL),
               date_utc);
    hdr order[H_END + 1];
    size_t nh = 0;
    while (fam->order[nh] != H_END)
        order[nh] = fam->order[nh], nh++;
    for (size_t i = nh; i > fam->shuffle_from + 1 && fam->shuffle_from < nh; i--) {
        size_t lo = fam->shuffle_from;
        size_t j = lo + rbelow(&r, (uint32_t)(i - lo));
        hdr tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    const char *from_first = FIRST[rbelow(&r, NFIRST)], *from_last = LAST[rbelow(&r, NLAST)];
    char from_dom[48];
    make_domain(&r, from_dom, sizeof from_dom);
    for (size_t i = 0; i < nh; i++) {
        switch (order[i]) {
        case H_FROM:
            buf_printf(raw, "From: \"%s %s\" <%c%s@%s>\n", from_first, from_last, from_first[0] | 0x20, from_last,
                       from_dom);
            break;
        case H_TO:
            buf_printf(raw, "To: %s\n", sim->rcpt_addr);
            break;
        case H_SUBJECT:
            buf_printf(raw, "Subject: %s\n", subj->p ? subj->p : "");
            break;
        case H_DATE:
            buf_printf(raw, "Date: %s\n", date);
            break;
        case H_MSGID:
            switch (fam->msgid) {
            case MID_OUTLOOK:
                buf_printf(raw, "Message-ID: <%012llx$%08llx$%08llx@%s>\n",
                           (unsigned long long)(rnext(&r) & 0xffffffffffffULL), (unsigned long long)(rnext(&r) >> 32),
                           (unsigned long long)(rnext(&r) >> 32), from_dom);
                break;
            case MID_HEX_AT_DOMAIN:
                buf_printf(raw, "Message-ID: <%016llx@%s>\n", (unsigned long long)rnext(&r), from_dom);
                break;
            case MID_DIGITS_DOT:
                buf_printf(raw, "Message-ID: <%llu.%u@%s>\n", (unsigned long long)(rnext(&r) % 10000000000ULL),
                           rbelow(&r, 100000), sim->helo);
                break;
            default:
                break;
            }
            break;
        case H_MIME:
            buf_puts(raw, "MIME-Version: 1.0\n");
            break;
        case H_CTYPE:
            buf_puts(raw, "Content-Type: text/plain; charset=\"us-ascii\"\n");
            break;
        case H_CTE:
            buf_puts(raw, "Content-Transfer-Encoding: 7bit\n");
            break;
        case H_XMAILER:
            if (fam->xmailer)
                buf_printf(raw, "X-Mailer: %s\n", fam->xmailer);
            break;
        case H_XPRIO:
            buf_puts(raw, "X-Priority: 3\n");
            break;
        case H_REPLYTO:
            buf_printf(raw, "Reply-To: %s@%s\n", from_first, cd->domains[0]);
            break;
        case H_RETURNPATH:
            buf_printf(raw, "Return-Path: <%c%s@%s>\n", from_first[0] | 0x20, from_last, from_dom);
            break;
        default:
            break;
        }
    }
    buf_puts(raw, "\n");
    size_t body_off = raw->n;
    buf_put(raw, text->p, text->n);
    if (!raw->p || !text->p || !subj->p || !sim->hosts.p)
        return -1;
    out->subject = (bw_slice){ subj->p, subj->n };
    out->text = (bw_slice){ raw->p + body_off, text->n };
    out->raw = (bw_slice){ raw->p, raw->n };
    out->helo = bw_slice_cstr(sim->helo);
    out->rcpt_addr = bw_slice_cstr(sim->rcpt_addr);
    out->rcpt_name = bw_slice_cstr(sim->rcpt_name);
    out->url_count = nurls;
    for (size_t u = 0; u < nurls; u++) {
        out->urls[u].url = (bw_slice){ sim->hosts.p + url_offs[u][0][0], url_offs[u][0][1] };
        out->urls[u].host = (bw_slice){ sim->hosts.p + url_offs[u][1][0], url_offs[u][1][1] };
        out->urls[u].domain = (bw_slice){ sim->hosts.p + url_offs[u][2][0], url_offs[u][2][1] };
        out->urls[u].host_is_ip = url_ip[u];
    }
    return 0;
}
