// SPDX-License-Identifier: MIT
// The rule-file parser: an on-demand lexer (a regular expression is only lexed where the
// grammar expects one, after ~ or !~) and a recursive-descent parser that fills the node,
// pattern and stream arrays of a bw_rules. Every pattern is compiled by PCRE2 here, so a
// syntax error is reported at its exact column whichever engine later runs it. After an
// error the parser skips to the next `rule` keyword and goes on, so `botwatch rules check`
// reports every broken rule in one run. Grammar and facts: docs/rules.md.
//
// Limits (rules.h): a hand-written rule file is kilobytes, so 1 MiB and 4,096 rules leave
// room for generated sets while keeping a hostile file's compile time and memory bounded;
// 1,024-byte patterns and depth 32 keep Hyperscan compile time and the evaluator's
// recursion small.
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"

typedef enum tok_kind {
    T_EOF, T_IDENT, T_NUMBER, T_STRING, T_REGEX, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE,
    T_COMMA, T_NOT, T_MATCH, T_NOMATCH, T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE, T_ERROR,
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t start, end;      // byte span in the text
    unsigned line, col;
    char *str;              // IDENT/STRING/REGEX contents (owned by the parser, freed per token)
    size_t str_len;
    unsigned flags;         // REGEX flags
    long long number;
} token;

typedef struct parser {
    bw_rules *rules;
    const char *text;
    size_t len, pos;
    unsigned line;
    size_t line_start;
    const char *filename;
    const bw_rules_options *opts;
    char *errbuf;
    size_t errors;
    bool failed;            // an error in the current rule: skip to the next one
    bool skipping;          // resynchronising after an error: report nothing
    bool nomem;
    bw_status first_status;
    token tok;              // current token
    unsigned depth;
    size_t rule_nodes;
} parser;

static void perror_at(parser *p, bw_status status, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void perror_at(parser *p, bw_status status, unsigned line, unsigned col, const char *fmt, ...)
{
    if (p->failed || p->skipping)
        return;     // one error per rule: the rest would be consequences
    p->failed = true;
    char msg[BW_ERRBUF_SIZE];
    int n = snprintf(msg, sizeof msg, "%s:%u:%u: ", p->filename, line, col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (p->errors == 0) {
        p->first_status = status;
        if (p->errbuf)
            snprintf(p->errbuf, BW_ERRBUF_SIZE, "%s", msg);
    }
    p->errors++;
    if (p->opts && p->opts->on_error)
        p->opts->on_error(p->opts->ctx, msg);
}

#define ERR_TOK(p, ...) perror_at((p), BW_ERR_PARSE, (p)->tok.line, (p)->tok.col, __VA_ARGS__)

static unsigned col_of(const parser *p, size_t pos) { return (unsigned)(pos - p->line_start + 1); }

// ---- lexer

static void advance_newline(parser *p, size_t pos)
{
    p->line++;
    p->line_start = pos + 1;
}

static void skip_space(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == '\n') {
            advance_newline(p, p->pos);
            p->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->text[p->pos] != '\n')
                p->pos++;
        } else {
            break;
        }
    }
}

static bool ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':'; }

static void tok_clear(token *t)
{
    free(t->str);
    t->str = NULL;
    t->str_len = 0;
}

static bool set_str(parser *p, const char *s, size_t n)
{
    p->tok.str = malloc(n + 1);
    if (!p->tok.str) {
        p->nomem = true;
        return false;
    }
    memcpy(p->tok.str, s, n);
    p->tok.str[n] = '\0';
    p->tok.str_len = n;
    return true;
}

// Lexes the next token; with want_regex, a '/' starts a regular expression.
static void next(parser *p, bool want_regex)
{
    tok_clear(&p->tok);
    skip_space(p);
    token *t = &p->tok;
    t->start = p->pos;
    t->line = p->line;
    t->col = col_of(p, p->pos);
    t->flags = 0;
    if (p->pos >= p->len) {
        t->kind = T_EOF;
        t->end = p->pos;
        return;
    }
    const char *s = p->text;
    char c = s[p->pos];
    size_t i = p->pos;
    if (ident_start(c)) {
        while (i < p->len && ident_char(s[i]))
            i++;
        t->kind = T_IDENT;
        if (i - p->pos > BW_RULES_MAX_NAME_BYTES) {
            t->kind = T_ERROR;
            perror_at(p, BW_ERR_LIMIT, t->line, t->col, "name longer than %d bytes", BW_RULES_MAX_NAME_BYTES);
        } else {
            set_str(p, s + p->pos, i - p->pos);
        }
    } else if (isdigit((unsigned char)c)) {
        long long v = 0;
        while (i < p->len && isdigit((unsigned char)s[i])) {
            if (v > 1000000000LL) {
                t->kind = T_ERROR;
                perror_at(p, BW_ERR_LIMIT, t->line, t->col, "number too large");
                p->pos = i;
                t->end = i;
                return;
            }
            v = v * 10 + (s[i] - '0');
            i++;
        }
        t->kind = T_NUMBER;
        t->number = v;
    } else if (c == '"') {
        i++;
        char *buf = malloc(BW_RULES_MAX_STRING_BYTES + 1);
        size_t n = 0;
        if (!buf) {
            p->nomem = true;
            t->kind = T_ERROR;
            return;
        }
        t->kind = T_ERROR;
        while (i < p->len && s[i] != '"' && s[i] != '\n') {
            char ch = s[i];
            if (ch == '\\' && i + 1 < p->len && (s[i + 1] == '"' || s[i + 1] == '\\'))
                ch = s[++i];
            if ((unsigned char)ch < 0x20 && ch != '\t') {
                perror_at(p, BW_ERR_PARSE, p->line, col_of(p, i), "control character in string");
                break;
            }
            if (n == BW_RULES_MAX_STRING_BYTES) {
                perror_at(p, BW_ERR_LIMIT, t->line, t->col, "string longer than %d bytes", BW_RULES_MAX_STRING_BYTES);
                break;
            }
            buf[n++] = ch;
            i++;
        }
        if (!p->failed) {
            if (i >= p->len || s[i] != '"') {
                perror_at(p, BW_ERR_PARSE, t->line, t->col, "unterminated string");
            } else {
                i++;
                t->kind = T_STRING;
                buf[n] = '\0';
                t->str = buf;
                t->str_len = n;
                buf = NULL;
            }
        }
        free(buf);
    } else if (c == '/' && want_regex) {
        i++;
        char *buf = malloc(BW_RULES_MAX_PATTERN_BYTES + 1);
        size_t n = 0;
        if (!buf) {
            p->nomem = true;
            t->kind = T_ERROR;
            return;
        }
        t->kind = T_ERROR;
        while (i < p->len && s[i] != '/' && s[i] != '\n') {
            if (s[i] == '\0') {
                perror_at(p, BW_ERR_PARSE, p->line, col_of(p, i), "NUL byte in regular expression");
                break;
            }
            if (n + 2 > BW_RULES_MAX_PATTERN_BYTES) {
                perror_at(p, BW_ERR_LIMIT, t->line, t->col, "regular expression longer than %d bytes",
                          BW_RULES_MAX_PATTERN_BYTES);
                break;
            }
            if (s[i] == '\\' && i + 1 < p->len && s[i + 1] == '/') {
                buf[n++] = '/';     // \/ is a literal slash; other escapes pass to the engine
                i += 2;
                continue;
            }
            if (s[i] == '\\' && i + 1 < p->len && s[i + 1] != '\n') {
                buf[n++] = s[i++];
            }
            buf[n++] = s[i++];
        }
        if (!p->failed) {
            if (i >= p->len || s[i] != '/') {
                perror_at(p, BW_ERR_PARSE, t->line, t->col, "unterminated regular expression");
            } else {
                i++;
                unsigned flags = 0;
                while (i < p->len && isalpha((unsigned char)s[i])) {
                    if (s[i] == 'i')
                        flags |= PAT_CASELESS;
                    else if (s[i] == 's')
                        flags |= PAT_DOTALL;
                    else if (s[i] == 'm')
                        flags |= PAT_MULTILINE;
                    else {
                        perror_at(p, BW_ERR_PARSE, p->line, col_of(p, i),
                                  "unknown regular expression flag '%c' (i, s, m)", s[i]);
                        break;
                    }
                    i++;
                }
                if (!p->failed) {
                    t->kind = T_REGEX;
                    buf[n] = '\0';
                    t->str = buf;
                    t->str_len = n;
                    t->flags = flags;
                    buf = NULL;
                }
            }
        }
        free(buf);
    } else {
        char d = i + 1 < p->len ? s[i + 1] : '\0';
        i++;
        switch (c) {
        case '(': t->kind = T_LPAREN; break;
        case ')': t->kind = T_RPAREN; break;
        case '{': t->kind = T_LBRACE; break;
        case '}': t->kind = T_RBRACE; break;
        case ',': t->kind = T_COMMA; break;
        case '~': t->kind = T_MATCH; break;
        case '!':
            if (d == '~') { t->kind = T_NOMATCH; i++; }
            else if (d == '=') { t->kind = T_NE; i++; }
            else t->kind = T_NOT;
            break;
        case '<':
            if (d == '=') { t->kind = T_LE; i++; } else t->kind = T_LT;
            break;
        case '>':
            if (d == '=') { t->kind = T_GE; i++; } else t->kind = T_GT;
            break;
        case '=':
            if (d == '=') { t->kind = T_EQ; i++; }
            else { t->kind = T_ERROR; perror_at(p, BW_ERR_PARSE, t->line, t->col, "'=' is not an operator (use ==)"); }
            break;
        default:
            t->kind = T_ERROR;
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                perror_at(p, BW_ERR_PARSE, t->line, t->col, "unexpected character '%c'", c);
            else
                perror_at(p, BW_ERR_PARSE, t->line, t->col, "unexpected byte 0x%02x", (unsigned char)c);
        }
    }
    p->pos = i;
    t->end = i;
}

static bool is_kw(const parser *p, const char *kw)
{
    return p->tok.kind == T_IDENT && strcmp(p->tok.str, kw) == 0;
}

static bool expect(parser *p, tok_kind kind, const char *what, bool want_regex)
{
    if (p->failed)
        return false;
    if (p->tok.kind != kind) {
        ERR_TOK(p, "expected %s", what);
        return false;
    }
    next(p, want_regex);
    return !p->failed;
}

// ---- building the rule set

#define GROW(p, arr, count, cap)                                                        \
    ((count) < (cap) ? true : grow_array((p), (void **)&(arr), &(cap), sizeof *(arr)))

static bool grow_array(parser *p, void **arr, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    void *n = realloc(*arr, ncap * elem);
    if (!n) {
        p->nomem = true;
        return false;
    }
    *arr = n;
    *cap = ncap;
    return true;
}

static char *dup_str(parser *p, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        p->nomem = true;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static uint32_t new_node(parser *p, node_kind kind, size_t start)
{
    bw_rules *r = p->rules;
    if (p->rule_nodes >= BW_RULES_MAX_NODES) {
        ERR_TOK(p, "more than %d facts and operators in one match", BW_RULES_MAX_NODES);
        return UINT32_MAX;
    }
    if (!GROW(p, r->nodes, r->node_count, r->node_cap))
        return UINT32_MAX;
    rule_node *n = &r->nodes[r->node_count];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    (void)start;
    p->rule_nodes++;
    return (uint32_t)r->node_count++;
}

static void set_expr(parser *p, uint32_t node, size_t start, size_t end)
{
    if (node == UINT32_MAX)
        return;
    // The fact as written, whitespace runs collapsed to one space (for explain output).
    char *e = malloc(end - start + 1);
    if (!e) {
        p->nomem = true;
        return;
    }
    size_t n = 0;
    bool space = false;
    for (size_t i = start; i < end; i++) {
        char c = p->text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            continue;
        }
        if (space && n)
            e[n++] = ' ';
        space = false;
        e[n++] = c;
    }
    e[n] = '\0';
    p->rules->nodes[node].expr = e;
}

static bool add_name(parser *p, uint32_t node)
{
    rule_node *n = &p->rules->nodes[node];
    char **names = realloc(n->names, (n->name_count + 1) * sizeof *names);
    if (!names) {
        p->nomem = true;
        return false;
    }
    n->names = names;
    names[n->name_count] = dup_str(p, p->tok.str, p->tok.str_len);
    if (!names[n->name_count])
        return false;
    n->name_count++;
    return true;
}

static uint32_t find_stream(parser *p, stream_kind kind, const char *header)
{
    bw_rules *r = p->rules;
    size_t headers = 0;
    for (size_t i = 0; i < r->stream_count; i++) {
        if (r->streams[i].kind != kind)
            continue;
        if (kind != STREAM_HEADER || strcasecmp(r->streams[i].header, header) == 0)
            return (uint32_t)i;
        headers++;
    }
    if (kind == STREAM_HEADER && headers >= BW_RULES_MAX_HEADER_STREAMS) {
        ERR_TOK(p, "more than %d distinct header names used with header(...) ~", BW_RULES_MAX_HEADER_STREAMS);
        return UINT32_MAX;
    }
    if (!GROW(p, r->streams, r->stream_count, r->stream_cap))
        return UINT32_MAX;
    rule_stream *s = &r->streams[r->stream_count];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    if (header && !(s->header = dup_str(p, header, strlen(header))))
        return UINT32_MAX;
    return (uint32_t)r->stream_count++;
}

// Expects the regex token now current (after ~ / !~); compiles it with PCRE2 to check it.
static uint32_t add_pattern(parser *p, uint32_t stream)
{
    bw_rules *r = p->rules;
    if (p->tok.kind != T_REGEX) {
        ERR_TOK(p, "expected a regular expression /.../");
        return UINT32_MAX;
    }
    if (r->pattern_count >= BW_RULES_MAX_PATTERNS) {
        ERR_TOK(p, "more than %d regular expressions", BW_RULES_MAX_PATTERNS);
        return UINT32_MAX;
    }
    if (p->tok.str_len == 0) {
        ERR_TOK(p, "empty regular expression");
        return UINT32_MAX;
    }
    uint32_t options = 0;
    if (p->tok.flags & PAT_CASELESS)
        options |= PCRE2_CASELESS;
    if (p->tok.flags & PAT_DOTALL)
        options |= PCRE2_DOTALL;
    if (p->tok.flags & PAT_MULTILINE)
        options |= PCRE2_MULTILINE;
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)p->tok.str, p->tok.str_len, options, &errcode, &erroff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[120];
        if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", errcode);
        // The column inside the pattern: +1 for the opening slash. Escaped slashes shift it
        // by one each; close enough to point at the problem.
        perror_at(p, BW_ERR_PARSE, p->tok.line, p->tok.col + 1 + (unsigned)erroff,
                  "bad regular expression: %s", (const char *)msg);
        return UINT32_MAX;
    }
    if (!GROW(p, r->patterns, r->pattern_count, r->pattern_cap)) {
        pcre2_code_free(code);
        return UINT32_MAX;
    }
    rule_pattern *pat = &r->patterns[r->pattern_count];
    memset(pat, 0, sizeof *pat);
    pat->stream = stream;
    pat->text = p->tok.str;     // take ownership
    p->tok.str = NULL;
    pat->flags = p->tok.flags;
    pat->line = p->tok.line;
    pat->col = p->tok.col;
    pat->code = code;
    return (uint32_t)r->pattern_count++;
}

// The regex after `~` or `!~` (the operator is current, checked by the caller) as a
// NODE_REGEX over stream; header(...) and the named streams share it.
static uint32_t regex_node(parser *p, uint32_t stream, bool negate, size_t start)
{
    next(p, true);
    uint32_t id = new_node(p, NODE_REGEX, start);
    if (id == UINT32_MAX)
        return UINT32_MAX;
    uint32_t pat = add_pattern(p, stream);
    if (pat == UINT32_MAX)
        return UINT32_MAX;
    p->rules->nodes[id].pattern = pat;
    p->rules->nodes[id].negate = negate;
    next(p, false);
    return id;
}

static const struct { const char *name; stream_kind kind; } STREAMS[] = {
    { "message_id", STREAM_MESSAGE_ID }, { "mailer", STREAM_MAILER }, { "subject", STREAM_SUBJECT },
    { "from", STREAM_FROM }, { "boundary", STREAM_BOUNDARY }, { "helo", STREAM_HELO },
    { "rdns", STREAM_RDNS }, { "sender_ip", STREAM_SENDER_IP }, { "url", STREAM_URL },
    { "host", STREAM_HOST }, { "domain", STREAM_DOMAIN }, { "body", STREAM_BODY },
    { "fingerprint", STREAM_FINGERPRINT },
};

const char *bw_rules_stream_name(stream_kind kind)
{
    if (kind == STREAM_HEADER)
        return "header";
    for (size_t i = 0; i < sizeof STREAMS / sizeof STREAMS[0]; i++)
        if (STREAMS[i].kind == kind)
            return STREAMS[i].name;
    return "?";
}

static const struct { const char *name; num_kind kind; } NUMS[] = {
    { "hops", NUM_HOPS }, { "urls", NUM_URLS }, { "parts", NUM_PARTS },
    { "headers", NUM_HEADERS }, { "body_bytes", NUM_BODY_BYTES },
};

static bool parse_cmp(parser *p, rule_node *n)
{
    switch (p->tok.kind) {
    case T_LT: n->op = CMP_LT; break;
    case T_LE: n->op = CMP_LE; break;
    case T_GT: n->op = CMP_GT; break;
    case T_GE: n->op = CMP_GE; break;
    case T_EQ: n->op = CMP_EQ; break;
    case T_NE: n->op = CMP_NE; break;
    default:
        ERR_TOK(p, "expected a comparison (< <= > >= == !=)");
        return false;
    }
    next(p, false);
    if (p->tok.kind != T_NUMBER) {
        ERR_TOK(p, "expected a number");
        return false;
    }
    n->number = p->tok.number;
    next(p, false);
    return !p->failed;
}

// NAME inside parentheses: a header name, anomaly name...
static bool expect_name(parser *p, const char *what)
{
    if (p->tok.kind != T_IDENT) {
        ERR_TOK(p, "expected %s", what);
        return false;
    }
    return true;
}

static uint32_t parse_expr(parser *p);

static uint32_t parse_fact(parser *p)
{
    size_t start = p->tok.start;
    if (p->tok.kind != T_IDENT) {
        ERR_TOK(p, "expected a fact (has, header, order, anomaly, url, body, hops, ...)");
        return UINT32_MAX;
    }
    char word[BW_RULES_MAX_NAME_BYTES + 1];
    snprintf(word, sizeof word, "%s", p->tok.str);
    uint32_t id = UINT32_MAX;
    unsigned wline = p->tok.line, wcol = p->tok.col;
    next(p, false);
    if (!strcmp(word, "has") || !strcmp(word, "first_header") || !strcmp(word, "count")) {
        bool count = !strcmp(word, "count");
        id = new_node(p, count ? NODE_NUM : word[0] == 'h' ? NODE_HAS : NODE_FIRST_HEADER, start);
        if (id == UINT32_MAX || !expect(p, T_LPAREN, "'('", false) || !expect_name(p, "a header name") ||
            !add_name(p, id))
            return UINT32_MAX;
        next(p, false);
        if (!expect(p, T_RPAREN, "')'", false))
            return UINT32_MAX;
        if (count) {
            p->rules->nodes[id].num = NUM_COUNT_HEADER;
            if (!parse_cmp(p, &p->rules->nodes[id]))
                return UINT32_MAX;
        }
    } else if (!strcmp(word, "order")) {
        id = new_node(p, NODE_ORDER, start);
        if (id == UINT32_MAX || !expect(p, T_LPAREN, "'('", false))
            return UINT32_MAX;
        for (;;) {
            if (!expect_name(p, "a header name"))
                return UINT32_MAX;
            if (p->rules->nodes[id].name_count == BW_RULES_MAX_ORDER_NAMES) {
                ERR_TOK(p, "more than %d names in order(...)", BW_RULES_MAX_ORDER_NAMES);
                return UINT32_MAX;
            }
            if (!add_name(p, id))
                return UINT32_MAX;
            next(p, false);
            if (p->tok.kind == T_COMMA) {
                next(p, false);
                continue;
            }
            break;
        }
        if (p->rules->nodes[id].name_count < 2) {
            ERR_TOK(p, "order(...) needs at least two header names");
            return UINT32_MAX;
        }
        if (!expect(p, T_RPAREN, "',' or ')'", false))
            return UINT32_MAX;
    } else if (!strcmp(word, "anomaly")) {
        id = new_node(p, NODE_ANOMALY, start);
        if (id == UINT32_MAX || !expect(p, T_LPAREN, "'('", false) || !expect_name(p, "an anomaly name"))
            return UINT32_MAX;
        uint64_t bit = 0;
        for (int b = 0; b < 64 && !bit; b++) {
            const char *name = bw_mail_anomaly_name(1ull << b);
            if (name && !strcmp(name, p->tok.str))
                bit = 1ull << b;
        }
        if (!bit) {
            ERR_TOK(p, "unknown anomaly '%s' (names as in `botwatch parse`, e.g. missing_date)", p->tok.str);
            return UINT32_MAX;
        }
        p->rules->nodes[id].bit = bit;
        next(p, false);
        if (!expect(p, T_RPAREN, "')'", false))
            return UINT32_MAX;
    } else if (!strcmp(word, "session")) {
        // Reserved for facts of the SMTP trap's session (HELO sequence, pipelining, ...):
        // parsed so rule files can already carry them, false until the trap provides them.
        id = new_node(p, NODE_SESSION, start);
        if (id == UINT32_MAX || !expect(p, T_LPAREN, "'('", false) || !expect_name(p, "a session fact name"))
            return UINT32_MAX;
        next(p, false);
        if (!expect(p, T_RPAREN, "')'", true))
            return UINT32_MAX;
        if (p->tok.kind == T_MATCH || p->tok.kind == T_NOMATCH) {
            next(p, true);
            if (p->tok.kind != T_REGEX) {
                ERR_TOK(p, "expected a regular expression /.../");
                return UINT32_MAX;
            }
            next(p, false);
        } else if (p->tok.kind >= T_LT && p->tok.kind <= T_NE) {
            rule_node tmp;
            if (!parse_cmp(p, &tmp))
                return UINT32_MAX;
        }
    } else if (!strcmp(word, "helo_is_ip") || !strcmp(word, "helo_mismatch")) {
        id = new_node(p, word[5] == 'i' ? NODE_HELO_IS_IP : NODE_HELO_MISMATCH, start);
    } else if (!strcmp(word, "header")) {
        if (!expect(p, T_LPAREN, "'('", false) || !expect_name(p, "a header name"))
            return UINT32_MAX;
        uint32_t stream = find_stream(p, STREAM_HEADER, p->tok.str);
        if (stream == UINT32_MAX)
            return UINT32_MAX;
        next(p, false);
        if (!expect(p, T_RPAREN, "')'", false))
            return UINT32_MAX;
        bool negate = p->tok.kind == T_NOMATCH;
        if (p->tok.kind != T_MATCH && !negate) {
            ERR_TOK(p, "expected ~ or !~ after header(...)");
            return UINT32_MAX;
        }
        id = regex_node(p, stream, negate, start);
        if (id == UINT32_MAX)
            return UINT32_MAX;
    } else {
        bool found = false;
        for (size_t i = 0; i < sizeof STREAMS / sizeof STREAMS[0] && !found; i++) {
            if (strcmp(word, STREAMS[i].name))
                continue;
            found = true;
            bool negate = p->tok.kind == T_NOMATCH;
            if (p->tok.kind != T_MATCH && !negate) {
                ERR_TOK(p, "expected ~ or !~ after %s", word);
                return UINT32_MAX;
            }
            uint32_t stream = find_stream(p, STREAMS[i].kind, NULL);
            if (stream == UINT32_MAX)
                return UINT32_MAX;
            id = regex_node(p, stream, negate, start);
            if (id == UINT32_MAX)
                return UINT32_MAX;
        }
        for (size_t i = 0; i < sizeof NUMS / sizeof NUMS[0] && !found; i++) {
            if (strcmp(word, NUMS[i].name))
                continue;
            found = true;
            id = new_node(p, NODE_NUM, start);
            if (id == UINT32_MAX)
                return UINT32_MAX;
            p->rules->nodes[id].num = NUMS[i].kind;
            if (!parse_cmp(p, &p->rules->nodes[id]))
                return UINT32_MAX;
        }
        if (!found) {
            perror_at(p, BW_ERR_PARSE, wline, wcol, "unknown fact '%s'", word);
            return UINT32_MAX;
        }
    }
    if (p->failed)
        return UINT32_MAX;
    // The fact's text ends where the current (next) token starts, minus trailing space.
    size_t end = p->tok.start;
    while (end > start && strchr(" \t\r\n", p->text[end - 1]))
        end--;
    set_expr(p, id, start, end);
    return id;
}

static uint32_t parse_unary(parser *p)
{
    if (++p->depth > BW_RULES_MAX_DEPTH) {
        ERR_TOK(p, "expression nested deeper than %d", BW_RULES_MAX_DEPTH);
        return UINT32_MAX;
    }
    uint32_t id;
    if (p->tok.kind == T_NOT || is_kw(p, "not")) {
        size_t start = p->tok.start;
        next(p, false);
        uint32_t child = parse_unary(p);
        if (child == UINT32_MAX)
            return UINT32_MAX;
        id = new_node(p, NODE_NOT, start);
        if (id != UINT32_MAX)
            p->rules->nodes[id].a = child;
    } else if (p->tok.kind == T_LPAREN) {
        next(p, false);
        id = parse_expr(p);
        if (id == UINT32_MAX || !expect(p, T_RPAREN, "')'", false))
            return UINT32_MAX;
    } else {
        id = parse_fact(p);
    }
    p->depth--;
    return id;
}

static uint32_t parse_binary(parser *p, bool is_or)
{
    uint32_t left = is_or ? parse_binary(p, false) : parse_unary(p);
    // A flat chain (a and b and c) is not nesting: only parentheses and not count toward
    // BW_RULES_MAX_DEPTH; the chain's length is bounded by BW_RULES_MAX_NODES.
    while (left != UINT32_MAX && is_kw(p, is_or ? "or" : "and")) {
        next(p, false);
        uint32_t right = is_or ? parse_binary(p, false) : parse_unary(p);
        if (right == UINT32_MAX)
            return UINT32_MAX;
        uint32_t id = new_node(p, is_or ? NODE_OR : NODE_AND, 0);
        if (id == UINT32_MAX)
            return UINT32_MAX;
        p->rules->nodes[id].a = left;
        p->rules->nodes[id].b = right;
        left = id;
    }
    return left;
}

static uint32_t parse_expr(parser *p) { return parse_binary(p, true); }

static bool valid_label(const char *s)
{
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr("_.:-", *s)))
            return false;
    return true;
}

static void free_rule_def(rule_def *d)
{
    free(d->name);
    free(d->label);
    free(d->family);
    free(d->source);
    free(d->description);
}

static void parse_rule(parser *p)
{
    bw_rules *r = p->rules;
    unsigned rline = p->tok.line, rcol = p->tok.col;
    next(p, false);     // past "rule"
    if (r->rule_count >= BW_RULES_MAX_RULES) {
        perror_at(p, BW_ERR_LIMIT, rline, rcol, "more than %d rules", BW_RULES_MAX_RULES);
        return;
    }
    rule_def d;
    memset(&d, 0, sizeof d);
    d.line = rline;
    d.weight = 1;
    d.root = UINT32_MAX;
    p->rule_nodes = 0;
    if (p->tok.kind != T_IDENT) {
        ERR_TOK(p, "expected a rule name");
        return;
    }
    for (size_t i = 0; i < r->rule_count; i++)
        if (!strcmp(r->rules[i].name, p->tok.str)) {
            ERR_TOK(p, "duplicate rule name '%s' (first on line %u)", p->tok.str, r->rules[i].line);
            return;
        }
    d.name = dup_str(p, p->tok.str, p->tok.str_len);
    next(p, false);
    if (!expect(p, T_LBRACE, "'{'", false)) {
        free_rule_def(&d);
        return;
    }
    bool have_weight = false;
    while (!p->failed && !p->nomem && p->tok.kind != T_RBRACE) {
        if (p->tok.kind != T_IDENT) {
            ERR_TOK(p, "expected label, family, weight, source, description, match or '}'");
            break;
        }
        char **slot = NULL;
        const char *prop = p->tok.str;
        unsigned pline = p->tok.line, pcol = p->tok.col;
        if (!strcmp(prop, "label"))
            slot = &d.label;
        else if (!strcmp(prop, "family"))
            slot = &d.family;
        else if (!strcmp(prop, "source"))
            slot = &d.source;
        else if (!strcmp(prop, "description"))
            slot = &d.description;
        if (slot) {
            bool is_text = slot == &d.source || slot == &d.description;
            char pname[16];
            snprintf(pname, sizeof pname, "%s", prop);
            if (*slot) {
                ERR_TOK(p, "%s given twice", pname);
                break;
            }
            next(p, false);
            if (is_text ? p->tok.kind != T_STRING : p->tok.kind != T_IDENT && p->tok.kind != T_STRING) {
                ERR_TOK(p, is_text ? "expected a quoted string after %s" : "expected a name after %s", pname);
                break;
            }
            if (!is_text && p->tok.str_len > BW_RULES_MAX_NAME_BYTES) {
                ERR_TOK(p, "%s longer than %d bytes", pname, BW_RULES_MAX_NAME_BYTES);
                break;
            }
            if (slot == &d.label && (p->tok.str_len == 0 || !valid_label(p->tok.str))) {
                ERR_TOK(p, "a label is lowercase letters, digits and _ . : - (got '%s')", p->tok.str);
                break;
            }
            if (slot == &d.family && strcmp(p->tok.str, "botnet") && strcmp(p->tok.str, "ratware") &&
                strcmp(p->tok.str, "generic")) {
                ERR_TOK(p, "family is botnet, ratware or generic (got '%s')", p->tok.str);
                break;
            }
            *slot = dup_str(p, p->tok.str, p->tok.str_len);
            next(p, false);
        } else if (!strcmp(prop, "weight")) {
            if (have_weight) {
                ERR_TOK(p, "weight given twice");
                break;
            }
            next(p, false);
            if (p->tok.kind != T_NUMBER || p->tok.number > 1000) {
                ERR_TOK(p, "expected a weight 0..1000");
                break;
            }
            d.weight = (int)p->tok.number;
            have_weight = true;
            next(p, false);
        } else if (!strcmp(prop, "match")) {
            if (d.root != UINT32_MAX) {
                ERR_TOK(p, "match given twice");
                break;
            }
            next(p, false);
            p->depth = 0;
            d.root = parse_expr(p);
        } else {
            perror_at(p, BW_ERR_PARSE, pline, pcol, "unknown property '%s'", prop);
            break;
        }
    }
    if (!p->failed && !p->nomem) {
        if (!d.label)
            perror_at(p, BW_ERR_PARSE, rline, rcol, "rule '%s' has no label", d.name);
        else if (!d.family)
            perror_at(p, BW_ERR_PARSE, rline, rcol, "rule '%s' has no family", d.name);
        else if (d.root == UINT32_MAX)
            perror_at(p, BW_ERR_PARSE, rline, rcol, "rule '%s' has no match", d.name);
        else if (!strcmp(d.family, "botnet") && !d.source)
            perror_at(p, BW_ERR_PARSE, rline, rcol, "rule '%s': a botnet rule must cite its source", d.name);
    }
    if (p->failed || p->nomem || !GROW(p, r->rules, r->rule_count, r->rule_cap)) {
        free_rule_def(&d);
        return;
    }
    next(p, false);     // past '}'
    r->rules[r->rule_count++] = d;
}

bw_status bw_rules_parse_text(bw_rules *rules, const char *text, size_t len, const char *filename,
                              const bw_rules_options *opts, char *errbuf)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.rules = rules;
    p.text = text;
    p.len = len;
    p.line = 1;
    p.filename = filename ? filename : "<rules>";
    p.opts = opts;
    p.errbuf = errbuf;
    if (len > BW_RULES_MAX_FILE_BYTES)
        return bw_error(errbuf, BW_ERR_LIMIT, "%s: rule file larger than %u bytes", p.filename,
                        BW_RULES_MAX_FILE_BYTES);
    next(&p, false);
    while (p.tok.kind != T_EOF && !p.nomem) {
        p.failed = false;
        if (is_kw(&p, "rule")) {
            parse_rule(&p);
        } else {
            ERR_TOK(&p, "expected 'rule'");
        }
        if (p.failed) {
            // Resynchronise: the next "rule" at the start of a line.
            p.skipping = true;
            while (!p.nomem) {
                next(&p, false);
                if (p.tok.kind == T_EOF || (is_kw(&p, "rule") && p.tok.col == 1))
                    break;
            }
            p.skipping = false;
            p.failed = false;
        }
    }
    tok_clear(&p.tok);
    if (p.nomem)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", p.filename);
    if (p.errors) {
        if (p.errors > 1 && errbuf) {
            size_t n = strlen(errbuf);
            snprintf(errbuf + n, BW_ERRBUF_SIZE - n, " (and %zu more errors)", p.errors - 1);
        }
        return p.first_status;
    }
    return BW_OK;
}
