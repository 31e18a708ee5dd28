// SPDX-License-Identifier: MIT
// The rule matcher: builds one Hyperscan block-mode database per fact stream from the
// parsed patterns (HS_FLAG_SINGLEMATCH: a pattern only needs to be known to match), moves
// the patterns Hyperscan cannot take to PCRE2 (with JIT and match limits), and per message
// scans each stream's values once, then evaluates every rule's boolean expression over the
// match bits and the cheap structural facts. bw_rules is immutable after compile; all
// per-message state is in the scratch, one per thread.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/ip.h"
#include "rules_internal.h"

// PCRE2 match limits: a pattern with catastrophic backtracking on a hostile message must
// cost bounded time. 1e6 backtracking steps is ~ms; depth 10,000 bounds the heap it uses.
#define PCRE2_MATCH_LIMIT 1000000
#define PCRE2_DEPTH_LIMIT 10000

struct bw_rules_scratch {
    const bw_rules *rules;
#ifdef BW_HAVE_HYPERSCAN
    hs_scratch_t *hs;
#endif
    pcre2_match_data *md;
    uint8_t *matched;           // per pattern
    uint8_t *scanned;           // per stream: scanned for this message (streams are scanned
                                //   when a rule first reads them)
    const bw_mail_record *rec;  // the message being matched
    bw_slice *match_value;      // per pattern: the value it matched first
    uint8_t *label_hit;         // per label
    bw_slice *values;           // one stream's values
    size_t value_count, value_cap;
    bw_rules_hit *hits;
    size_t hit_count, hit_cap;
    bw_rules_fact *facts;
    size_t fact_count, fact_cap;
    bool nomem;
    bool scan_failed;           // a lazy stream scan failed (no memory)
};

// ---- compile

static void free_pattern(rule_pattern *p)
{
    free(p->text);
    pcre2_code_free(p->code);
}

void bw_rules_free(bw_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->rule_count; i++) {
        free(r->rules[i].name);
        free(r->rules[i].label);
        free(r->rules[i].family);
        free(r->rules[i].source);
        free(r->rules[i].description);
    }
    free(r->rules);
    for (size_t i = 0; i < r->node_count; i++) {
        for (uint32_t k = 0; k < r->nodes[i].name_count; k++)
            free(r->nodes[i].names[k]);
        free(r->nodes[i].names);
        free(r->nodes[i].expr);
    }
    free(r->nodes);
    for (size_t i = 0; i < r->pattern_count; i++)
        free_pattern(&r->patterns[i]);
    free(r->patterns);
    for (size_t i = 0; i < r->stream_count; i++) {
        free(r->streams[i].header);
        free(r->streams[i].hs_patterns);
        free(r->streams[i].pcre_patterns);
        free(r->streams[i].prefixes);
#ifdef BW_HAVE_HYPERSCAN
        hs_free_database(r->streams[i].db);
#endif
    }
    free(r->streams);
    free(r->chain_ops);
    free(r->labels);    // the strings belong to the rules
    pcre2_match_context_free(r->mctx);
    free(r);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

#ifdef BW_HAVE_HYPERSCAN
static unsigned hs_flags_of(unsigned flags)
{
    unsigned f = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (flags & PAT_CASELESS)
        f |= HS_FLAG_CASELESS;
    if (flags & PAT_DOTALL)
        f |= HS_FLAG_DOTALL;
    if (flags & PAT_MULTILINE)
        f |= HS_FLAG_MULTILINE;
    return f;
}

// Builds the stream's database from the patterns marked in_hs; a pattern the multi-pattern
// compile rejects (too large together, an unsupported construct hs_expression_info missed)
// moves to PCRE2 and the compile is retried.
static bw_status build_hs(bw_rules *r, rule_stream *s, const char *filename, char *errbuf)
{
    for (;;) {
        size_t n = 0;
        for (size_t i = 0; i < r->pattern_count; i++)
            if (r->patterns[i].stream == (uint32_t)(s - r->streams) && r->patterns[i].in_hs)
                n++;
        free(s->hs_patterns);
        s->hs_patterns = NULL;
        s->hs_count = 0;
        if (n == 0)
            return BW_OK;
        const char **exprs = malloc(n * sizeof *exprs);
        unsigned *flags = malloc(n * sizeof *flags), *ids = malloc(n * sizeof *ids);
        s->hs_patterns = malloc(n * sizeof *s->hs_patterns);
        if (!exprs || !flags || !ids || !s->hs_patterns) {
            free(exprs);
            free(flags);
            free(ids);
            return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
        }
        for (size_t i = 0; i < r->pattern_count; i++) {
            rule_pattern *p = &r->patterns[i];
            if (p->stream != (uint32_t)(s - r->streams) || !p->in_hs)
                continue;
            exprs[s->hs_count] = p->text;
            flags[s->hs_count] = hs_flags_of(p->flags);
            ids[s->hs_count] = (unsigned)s->hs_count;
            s->hs_patterns[s->hs_count++] = (uint32_t)i;
        }
        hs_compile_error_t *err = NULL;
        hs_error_t rc = hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &s->db, &err);
        free(exprs);
        free(flags);
        free(ids);
        if (rc == HS_SUCCESS)
            return BW_OK;
        int bad = err ? err->expression : -1;
        hs_free_compile_error(err);
        if (bad >= 0 && (size_t)bad < s->hs_count) {
            r->patterns[s->hs_patterns[bad]].in_hs = false;
        } else {
            for (size_t k = 0; k < s->hs_count; k++)
                r->patterns[s->hs_patterns[k]].in_hs = false;
        }
    }
}
#endif

// ---- anchored prefixes
//
// Most values of a stream like header(Received) cannot match its patterns from their
// first bytes on (/^from \d{1,3}\./ against "from mail.example.com"), yet a Hyperscan
// call costs several hundred instructions whatever it finds. For a pattern anchored at the
// start, the byte sets of its first atoms are read here, conservatively: anything not
// understood ends the prefix, and a pattern that might not be anchored (an alternative at
// the top level, inline options, comments, \Q quoting, the multi-line flag) has none.
// A byte set is always a superset of what the engines accept at that position, so a value
// outside it cannot match: skipping it changes no result.

static void set_add(uint64_t *set, unsigned char c, bool caseless)
{
    set[c >> 6] |= UINT64_C(1) << (c & 63);
    if (caseless && isalpha(c) && c < 0x80) {
        unsigned char o = (unsigned char)(islower(c) ? toupper(c) : tolower(c));
        set[o >> 6] |= UINT64_C(1) << (o & 63);
    }
}

static void set_add_range(uint64_t *set, unsigned char lo, unsigned char hi, bool caseless)
{
    for (unsigned c = lo; c <= hi; c++)
        set_add(set, (unsigned char)c, caseless);
}

// False when the pattern may have an alternative at depth 0, or a construct whose effect
// on anchoring this scan does not follow.
static bool surely_anchored(const char *p)
{
    int depth = 0;
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        if (c == '\\') {
            if (p[i + 1] == 'Q' || p[i + 1] == '\0')
                return false;
            i++;
        } else if (c == '[') {
            i++;
            if (p[i] == '^')
                i++;
            if (p[i] == ']')
                i++;
            while (p[i] && p[i] != ']') {
                if (p[i] == '\\' && p[i + 1])
                    i++;
                else if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '='))
                    return false;
                i++;
            }
            if (!p[i])
                return false;
        } else if (c == '(') {
            if (p[i + 1] == '*' || (p[i + 1] == '?' && p[i + 2] != ':'))
                return false;   // verbs, options, comments, lookarounds, named groups
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '|' && depth == 0) {
            return false;
        }
    }
    return true;
}

// One atom at p[*i] into set; false if it is not one this reader knows.
static bool read_atom(const char *p, size_t *i, uint64_t *set, bool caseless)
{
    unsigned char c = (unsigned char)p[*i];
    memset(set, 0, 4 * sizeof *set);
    if (c == '.') {
        memset(set, 0xff, 4 * sizeof *set);
        (*i)++;
        return true;
    }
    if (c == '\\') {
        unsigned char e = (unsigned char)p[*i + 1];
        if (e == 'd') {
            set_add_range(set, '0', '9', false);
        } else if (e == 's') {
            static const char ws[] = " \t\n\v\f\r";
            for (size_t k = 0; ws[k]; k++)
                set_add(set, (unsigned char)ws[k], false);
        } else if (e && e < 0x80 && !isalnum(e)) {
            set_add(set, e, caseless);      // an escaped punctuation character is itself
        } else {
            return false;
        }
        *i += 2;
        return true;
    }
    if (c == '[') {
        size_t k = *i + 1;
        if (p[k] == '^' || p[k] == ']')
            return false;
        while (p[k] && p[k] != ']') {
            unsigned char lo = (unsigned char)p[k];
            if (lo == '\\') {
                unsigned char e = (unsigned char)p[k + 1];
                if (e == 'd')
                    set_add_range(set, '0', '9', false);
                else if (e && e < 0x80 && !isalnum(e))
                    set_add(set, e, caseless);
                else
                    return false;
                k += 2;
                continue;
            }
            if (lo == '[' || lo >= 0x80)
                return false;
            if (p[k + 1] == '-' && p[k + 2] && p[k + 2] != ']') {
                unsigned char hi = (unsigned char)p[k + 2];
                if (hi == '\\' || hi == '[' || hi >= 0x80 || hi < lo)
                    return false;
                set_add_range(set, lo, hi, caseless);
                k += 3;
                continue;
            }
            set_add(set, lo, caseless);
            k++;
        }
        if (p[k] != ']')
            return false;
        *i = k + 1;
        return true;
    }
    if (c == '\0' || c >= 0x80 || strchr("^$|?*+(){}]", c))
        return false;
    set_add(set, c, caseless);
    (*i)++;
    return true;
}

// The prefix of pattern pat: 0 when it has none.
static size_t anchored_prefix(const rule_pattern *pat, rule_prefix *out)
{
    const char *p = pat->text;
    memset(out, 0, sizeof *out);
    if (p[0] != '^' || (pat->flags & PAT_MULTILINE) || !surely_anchored(p))
        return 0;
    bool caseless = (pat->flags & PAT_CASELESS) != 0;
    size_t i = 1, n = 0;
    while (n < RULE_PREFIX_MAX) {
        uint64_t set[4];
        if (!read_atom(p, &i, set, caseless))
            break;
        char q = p[i];
        bool stop = q == '?' || q == '*' || q == '+' || q == '{';
        // A quantified atom counts only if it must occur (+, {n,...} with n >= 1); the
        // prefix ends with it either way.
        bool required = !stop || q == '+' || (q == '{' && p[i + 1] >= '1' && p[i + 1] <= '9');
        if (required)
            memcpy(out->sets[n++], set, sizeof set);
        if (stop)
            break;
    }
    out->len = (uint8_t)n;
    return n;
}

static bool prefix_admits(const rule_stream *st, bw_slice v)
{
    for (size_t k = 0; k < st->prefix_count; k++) {
        const rule_prefix *pf = &st->prefixes[k];
        if (v.n < pf->len)
            continue;
        size_t j = 0;
        while (j < pf->len) {
            unsigned char c = (unsigned char)v.p[j];
            if (!(pf->sets[j][c >> 6] >> (c & 63) & 1))
                break;
            j++;
        }
        if (j == pf->len)
            return true;
    }
    return false;
}

// Prefixes of a stream's Hyperscan patterns, kept only when every one of them has one.
static bw_status build_prefixes(bw_rules *r, rule_stream *st, const char *filename, char *errbuf)
{
    st->prefix_count = 0;
    if (!st->hs_count)
        return BW_OK;
    rule_prefix *pf = malloc(st->hs_count * sizeof *pf);
    if (!pf)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
    for (size_t k = 0; k < st->hs_count; k++)
        if (!anchored_prefix(&r->patterns[st->hs_patterns[k]], &pf[k])) {
            free(pf);
            return BW_OK;
        }
    free(st->prefixes);
    st->prefixes = pf;
    st->prefix_count = st->hs_count;
    return BW_OK;
}

// What evaluating a node may cost, to evaluate the cheaper side of and/or first: a regular
// expression scans its stream (the body, or every URL or Received field), the other facts
// look at a few fields. The result of and/or does not depend on the order, only the work:
// a stream no rule reaches for a message is never scanned (storm_plain_ip_link reads its
// URLs only for one-part messages with one URL). Depth is bounded by the parser.
static uint32_t node_cost(bw_rules *r, uint32_t id)
{
    rule_node *n = &r->nodes[id];
    uint32_t c;
    switch (n->kind) {
    case NODE_AND:
    case NODE_OR: {
        c = node_cost(r, n->a) + node_cost(r, n->b);
        break;
    }
    case NODE_NOT: c = node_cost(r, n->a); break;
    case NODE_REGEX: {
        stream_kind k = r->streams[r->patterns[n->pattern].stream].kind;
        c = k == STREAM_BODY || k == STREAM_URL || k == STREAM_HOST || k == STREAM_DOMAIN ? 64 : 16;
        break;
    }
    case NODE_HAS:
    case NODE_NUM: c = n->num == NUM_COUNT_HEADER || n->kind == NODE_HAS ? 4 : 0; break;
    case NODE_ORDER: c = 4 * n->name_count; break;
    case NODE_FIRST_HEADER: c = 8; break;
    case NODE_ANOMALY: c = 0; break;
    default: c = 2; break;
    }
    n->cost = c > UINT32_MAX / 4 ? UINT32_MAX / 4 : c;
    return n->cost;
}

static int push_op(bw_rules *r, uint32_t id)
{
    if (r->chain_op_count == r->chain_op_cap) {
        size_t ncap = r->chain_op_cap ? r->chain_op_cap * 2 : 64;
        uint32_t *n = realloc(r->chain_ops, ncap * sizeof *n);
        if (!n)
            return -1;
        r->chain_ops = n;
        r->chain_op_cap = ncap;
    }
    r->chain_ops[r->chain_op_count++] = id;
    return 0;
}

static int gather_ops(bw_rules *r, uint32_t id, node_kind kind)
{
    const rule_node *n = &r->nodes[id];
    if (n->kind != kind)
        return push_op(r, id);
    return gather_ops(r, n->a, kind) || gather_ops(r, n->b, kind) ? -1 : 0;
}

// "a and b and c" parses as ((a and b) and c): its head gets the flat list a, b, c sorted
// by cost (stable), so a cheap fact anywhere in the chain is tried before any scan.
static int build_chains(bw_rules *r, uint32_t id, node_kind parent)
{
    rule_node *n = &r->nodes[id];
    if (n->kind == NODE_NOT)
        return build_chains(r, n->a, NODE_NOT);
    if (n->kind != NODE_AND && n->kind != NODE_OR)
        return 0;
    if (n->kind != parent) {
        size_t start = r->chain_op_count;
        if (gather_ops(r, id, n->kind) != 0)
            return -1;
        uint32_t *ops = r->chain_ops + start;
        size_t count = r->chain_op_count - start;
        for (size_t i = 1; i < count; i++)
            for (size_t j = i; j > 0 && r->nodes[ops[j - 1]].cost > r->nodes[ops[j]].cost; j--) {
                uint32_t t = ops[j - 1];
                ops[j - 1] = ops[j];
                ops[j] = t;
            }
        n = &r->nodes[id];
        n->ops = (uint32_t)start;
        n->op_count = (uint32_t)count;
    }
    return build_chains(r, n->a, n->kind) || build_chains(r, n->b, n->kind) ? -1 : 0;
}

bw_status bw_rules_build(bw_rules *r, const char *filename, const bw_rules_options *opts, char *errbuf)
{
#ifdef BW_HAVE_HYPERSCAN
    bool use_hs = !opts || opts->engine == BW_RULES_ENGINE_AUTO;
    if (use_hs && hs_valid_platform() != HS_SUCCESS)
        use_hs = false;     // Hyperscan needs SSSE3; PCRE2 runs everywhere
#else
    (void)opts;
#endif
    for (size_t i = 0; i < r->pattern_count; i++) {
        rule_pattern *p = &r->patterns[i];
        p->in_hs = false;
#ifdef BW_HAVE_HYPERSCAN
        if (use_hs) {
            hs_expr_info_t *info = NULL;
            hs_compile_error_t *err = NULL;
            if (hs_expression_info(p->text, hs_flags_of(p->flags), &info, &err) == HS_SUCCESS)
                p->in_hs = true;
            free(info);
            hs_free_compile_error(err);
        }
#endif
    }
#ifdef BW_HAVE_HYPERSCAN
    if (use_hs)
        for (size_t i = 0; i < r->stream_count; i++) {
            bw_status st = build_hs(r, &r->streams[i], filename, errbuf);
            if (st != BW_OK)
                return st;
        }
#endif
    for (size_t i = 0; i < r->stream_count; i++) {
        rule_stream *s = &r->streams[i];
        size_t n = 0;
        for (size_t k = 0; k < r->pattern_count; k++)
            if (r->patterns[k].stream == i && !r->patterns[k].in_hs)
                n++;
        if (!n)
            continue;
        s->pcre_patterns = malloc(n * sizeof *s->pcre_patterns);
        if (!s->pcre_patterns)
            return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
        for (size_t k = 0; k < r->pattern_count; k++)
            if (r->patterns[k].stream == i && !r->patterns[k].in_hs)
                s->pcre_patterns[s->pcre_count++] = (uint32_t)k;
    }
    r->pcre_count = 0;
    for (size_t k = 0; k < r->pattern_count; k++) {
        rule_pattern *p = &r->patterns[k];
        if (p->in_hs) {
            pcre2_code_free(p->code);   // only needed to check the syntax
            p->code = NULL;
        } else {
            r->pcre_count++;
            (void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);   // interpreter if JIT is unavailable
        }
    }
    for (size_t i = 0; i < r->stream_count; i++) {
        r->streams[i].header_len = r->streams[i].header ? strlen(r->streams[i].header) : 0;
        bw_status st = build_prefixes(r, &r->streams[i], filename, errbuf);
        if (st != BW_OK)
            return st;
    }
    r->chain_op_count = 0;
    for (size_t i = 0; i < r->rule_count; i++) {
        node_cost(r, r->rules[i].root);
        if (build_chains(r, r->rules[i].root, NODE_NOT) != 0)
            return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
    }
    r->mctx = pcre2_match_context_create(NULL);
    if (!r->mctx)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
    pcre2_set_match_limit(r->mctx, PCRE2_MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, PCRE2_DEPTH_LIMIT);
    // Sorted distinct labels, so the label list of a message comes out sorted for free.
    r->labels = malloc((r->rule_count ? r->rule_count : 1) * sizeof *r->labels);
    if (!r->labels)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
    for (size_t i = 0; i < r->rule_count; i++)
        r->labels[i] = r->rules[i].label;
    qsort(r->labels, r->rule_count, sizeof *r->labels, cmp_str);
    r->label_count = 0;
    for (size_t i = 0; i < r->rule_count; i++)
        if (r->label_count == 0 || strcmp(r->labels[r->label_count - 1], r->labels[i]))
            r->labels[r->label_count++] = r->labels[i];
    for (size_t i = 0; i < r->rule_count; i++) {
        char **hit = bsearch(&r->rules[i].label, r->labels, r->label_count, sizeof *r->labels, cmp_str);
        r->rules[i].label_index = (uint32_t)(hit - r->labels);
    }
    return BW_OK;
}

bw_status bw_rules_compile_ex(const char *text, size_t len, const char *filename, const bw_rules_options *opts,
                              bw_rules **out, char *errbuf)
{
    *out = NULL;
    if (!filename)
        filename = "<rules>";
    if (!text && len)
        return bw_error(errbuf, BW_ERR_INVALID, "%s: no rule text", filename);
    bw_rules *r = calloc(1, sizeof *r);
    if (!r)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory compiling rules", filename);
    bw_status st = bw_rules_parse_text(r, text ? text : "", len, filename, opts, errbuf);
    if (st == BW_OK)
        st = bw_rules_build(r, filename, opts, errbuf);
    if (st != BW_OK) {
        bw_rules_free(r);
        return st;
    }
    *out = r;
    return BW_OK;
}

bw_status bw_rules_compile(const char *text, size_t len, const char *filename, bw_rules **out, char *errbuf)
{
    return bw_rules_compile_ex(text, len, filename, NULL, out, errbuf);
}

extern const unsigned char bw_rules_builtin_data[];
extern const size_t bw_rules_builtin_size;

const char *bw_rules_builtin_text(size_t *len)
{
    *len = bw_rules_builtin_size;
    return (const char *)bw_rules_builtin_data;
}

bw_status bw_rules_builtin(bw_rules **out, char *errbuf)
{
    return bw_rules_compile((const char *)bw_rules_builtin_data, bw_rules_builtin_size, "rules/botwatch.rules", out,
                            errbuf);
}

size_t bw_rules_count(const bw_rules *r) { return r->rule_count; }
size_t bw_rules_pattern_count(const bw_rules *r) { return r->pattern_count; }
size_t bw_rules_pcre2_pattern_count(const bw_rules *r) { return r->pcre_count; }

void bw_rules_get_info(const bw_rules *r, size_t i, bw_rules_info *out)
{
    const rule_def *d = &r->rules[i];
    out->name = d->name;
    out->label = d->label;
    out->family = d->family;
    out->source = d->source ? d->source : "";
    out->description = d->description ? d->description : "";
    out->weight = d->weight;
    out->line = d->line;
}

// ---- scratch

bw_rules_scratch *bw_rules_scratch_new(const bw_rules *r)
{
    bw_rules_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rules = r;
    size_t np = r->pattern_count ? r->pattern_count : 1;
    s->matched = calloc(np, 1);
    s->match_value = calloc(np, sizeof *s->match_value);
    s->label_hit = calloc(r->label_count ? r->label_count : 1, 1);
    s->scanned = calloc(r->stream_count ? r->stream_count : 1, 1);
    s->md = pcre2_match_data_create(1, NULL);
    if (!s->matched || !s->match_value || !s->label_hit || !s->scanned || !s->md) {
        bw_rules_scratch_free(s);
        return NULL;
    }
#ifdef BW_HAVE_HYPERSCAN
    for (size_t i = 0; i < r->stream_count; i++)
        if (r->streams[i].db && hs_alloc_scratch(r->streams[i].db, &s->hs) != HS_SUCCESS) {
            bw_rules_scratch_free(s);
            return NULL;
        }
#endif
    return s;
}

void bw_rules_scratch_free(bw_rules_scratch *s)
{
    if (!s)
        return;
#ifdef BW_HAVE_HYPERSCAN
    hs_free_scratch(s->hs);
#endif
    pcre2_match_data_free(s->md);
    free(s->matched);
    free(s->match_value);
    free(s->label_hit);
    free(s->scanned);
    free(s->values);
    free(s->hits);
    free(s->facts);
    free(s);
}

// ---- facts of one message

static void push_value(bw_rules_scratch *s, bw_slice v)
{
    if (s->value_count == s->value_cap) {
        size_t ncap = s->value_cap ? s->value_cap * 2 : 32;
        bw_slice *n = realloc(s->values, ncap * sizeof *n);
        if (!n) {
            s->nomem = true;
            return;
        }
        s->values = n;
        s->value_cap = ncap;
    }
    s->values[s->value_count++] = v.p ? v : BW_SLICE_LIT("");
}

static const bw_received_hop *sender_hop(const bw_mail_record *rec)
{
    if (rec->sender_hop < 0 || (size_t)rec->sender_hop >= rec->received_count)
        return NULL;
    return &rec->received[rec->sender_hop];
}

static void collect_values(bw_rules_scratch *s, const rule_stream *st, const bw_mail_record *rec)
{
    const bw_message *msg = rec->message;
    s->value_count = 0;
    switch (st->kind) {
    case STREAM_HEADER:
        for (size_t i = 0; i < msg->header_count; i++)
            if (msg->headers[i].name.n == st->header_len && bw_slice_eq_ci_cstr(msg->headers[i].name, st->header))
                push_value(s, msg->headers[i].value);
        break;
    case STREAM_MESSAGE_ID:
        if (bw_message_header(msg, "Message-ID", 0))
            push_value(s, msg->message_id);
        break;
    case STREAM_MAILER:
        for (size_t i = 0; i < msg->header_count; i++) {
            bw_slice name = msg->headers[i].name;
            if ((name.n == 8 && bw_slice_eq_ci_cstr(name, "X-Mailer")) ||
                (name.n == 10 && bw_slice_eq_ci_cstr(name, "User-Agent")))
                push_value(s, msg->headers[i].value);
        }
        break;
    case STREAM_SUBJECT:
        if (bw_message_header(msg, "Subject", 0))
            push_value(s, msg->subject);
        break;
    case STREAM_FROM:
        if (bw_message_header(msg, "From", 0))
            push_value(s, msg->from);
        break;
    case STREAM_BOUNDARY:
        for (size_t i = 0; i < msg->part_count; i++)
            if (msg->parts[i].is_multipart && msg->parts[i].boundary.n)
                push_value(s, msg->parts[i].boundary);
        break;
    case STREAM_HELO:
        if (sender_hop(rec) && rec->helo.n)
            push_value(s, rec->helo);
        break;
    case STREAM_RDNS:
        if (sender_hop(rec) && sender_hop(rec)->from_rdns.n)
            push_value(s, sender_hop(rec)->from_rdns);
        break;
    case STREAM_SENDER_IP:
        if (rec->sender_ip.n)
            push_value(s, rec->sender_ip);
        break;
    case STREAM_URL:
    case STREAM_HOST:
    case STREAM_DOMAIN:
        for (size_t i = 0; i < rec->url_count; i++)
            push_value(s, st->kind == STREAM_URL ? rec->urls[i].url
                          : st->kind == STREAM_HOST ? rec->urls[i].host : rec->urls[i].domain);
        break;
    case STREAM_BODY:
        push_value(s, rec->text);
        break;
    case STREAM_FINGERPRINT:
        push_value(s, rec->header_fingerprint);
        break;
    case STREAM_KIND_COUNT:
        break;
    }
}

#ifdef BW_HAVE_HYPERSCAN
typedef struct hs_ctx {
    bw_rules_scratch *s;
    const rule_stream *st;
    bw_slice value;
} hs_ctx;

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    hs_ctx *c = ctx;
    uint32_t pat = c->st->hs_patterns[id];
    if (!c->s->matched[pat]) {
        c->s->matched[pat] = 1;
        c->s->match_value[pat] = c->value;
    }
    return 0;
}
#endif

// Scans one stream: all its Hyperscan patterns in one pass per value, then its PCRE2
// patterns (each stops at its first matching value).
static bw_status scan_stream(const bw_rules *r, bw_rules_scratch *s, const bw_mail_record *rec, size_t i)
{
    const rule_stream *st = &r->streams[i];
    if (!st->hs_count && !st->pcre_count)
        return BW_OK;
    collect_values(s, st, rec);
    if (s->nomem)
        return BW_ERR_NOMEM;
#ifdef BW_HAVE_HYPERSCAN
    if (st->db)
        for (size_t v = 0; v < s->value_count; v++) {
            if (st->prefix_count && !prefix_admits(st, s->values[v]))
                continue;
            hs_ctx ctx = { s, st, s->values[v] };
            // A value over 4 GiB cannot happen (bw_mail caps text); scan what fits.
            unsigned n = s->values[v].n > 0xffffffffu ? 0xffffffffu : (unsigned)s->values[v].n;
            if (hs_scan(st->db, s->values[v].p, n, 0, s->hs, on_hs_match, &ctx) != HS_SUCCESS)
                return BW_ERR_NOMEM;    // only a bad scratch can fail; treat as resource
        }
#endif
    for (size_t k = 0; k < st->pcre_count; k++) {
        uint32_t pat = st->pcre_patterns[k];
        for (size_t v = 0; v < s->value_count && !s->matched[pat]; v++) {
            int rc = pcre2_match(r->patterns[pat].code, (PCRE2_SPTR)s->values[v].p, s->values[v].n, 0, 0, s->md,
                                 r->mctx);
            if (rc >= 0) {
                s->matched[pat] = 1;
                s->match_value[pat] = s->values[v];
            }
            // PCRE2_ERROR_MATCHLIMIT / DEPTHLIMIT: a hostile value; it counts as no match.
        }
    }
    return BW_OK;
}

// A new message: no stream scanned yet; each is scanned when a rule first reads it.
static void scan_start(const bw_rules *r, bw_rules_scratch *s, const bw_mail_record *rec)
{
    memset(s->matched, 0, r->pattern_count ? r->pattern_count : 1);
    memset(s->scanned, 0, r->stream_count ? r->stream_count : 1);
    s->rec = rec;
    s->nomem = false;
    s->scan_failed = false;
}

static bool pattern_matched(const bw_rules *r, bw_rules_scratch *s, uint32_t pat)
{
    uint32_t stream = r->patterns[pat].stream;
    if (!s->scanned[stream]) {
        s->scanned[stream] = 1;
        if (scan_stream(r, s, s->rec, stream) != BW_OK)
            s->scan_failed = true;
    }
    return s->matched[pat];
}

static bool is_ip_literal(bw_slice h)
{
    h = bw_slice_trim(h);
    if (h.n >= 2 && h.p[0] == '[' && h.p[h.n - 1] == ']') {
        h.p++;
        h.n -= 2;
    }
    if (bw_slice_starts_with_ci(h, "ipv6:")) {
        h.p += 5;
        h.n -= 5;
    }
    bw_ip ip;
    return h.n && bw_ip_parse(h, &ip);
}

// An approximation of the registrable domain without the public suffix list: the last two
// labels, or three under a two-letter country code whose second level is short (co.uk,
// com.br, ne.jp). Good enough to tell "mail.example.com" from "dsl-1-2.isp.net".
static bw_slice reg_domain(bw_slice h)
{
    h = bw_slice_trim(h);
    while (h.n && h.p[h.n - 1] == '.')
        h.n--;
    size_t dots[3] = { 0, 0, 0 }, nd = 0;
    for (size_t i = h.n; i-- > 0 && nd < 3;)
        if (h.p[i] == '.')
            dots[nd++] = i;
    if (nd < 2)
        return h;
    size_t tld = h.n - dots[0] - 1, second = dots[0] - dots[1] - 1;
    size_t cut = (tld == 2 && second <= 3) ? (nd >= 3 ? dots[2] + 1 : 0) : dots[1] + 1;
    return bw_slice_make(h.p + cut, h.n - cut);
}

static bool helo_mismatch(const bw_mail_record *rec)
{
    const bw_received_hop *hop = sender_hop(rec);
    if (!hop || !rec->helo.n || is_ip_literal(rec->helo))
        return false;
    bw_slice rdns = bw_slice_trim(hop->from_rdns);
    if (!rdns.n || bw_slice_eq_ci_cstr(rdns, "unknown") || is_ip_literal(rdns))
        return false;
    return !bw_slice_eq_ci(reg_domain(rec->helo), reg_domain(rdns));
}

static bool cmp(long long a, cmp_op op, long long b)
{
    switch (op) {
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    }
    return false;
}

static long long num_value(const rule_node *n, const bw_mail_record *rec)
{
    const bw_message *msg = rec->message;
    switch (n->num) {
    case NUM_HOPS: return (long long)rec->received_count;
    case NUM_URLS: return (long long)rec->url_count;
    case NUM_PARTS: return (long long)msg->part_count;
    case NUM_HEADERS: return (long long)msg->header_count;
    case NUM_BODY_BYTES: return (long long)rec->text.n;
    case NUM_COUNT_HEADER: {
        long long c = 0;
        for (size_t i = 0; i < msg->header_count; i++)
            c += bw_slice_eq_ci_cstr(msg->headers[i].name, n->names[0]);
        return c;
    }
    case NUM_KIND_COUNT: break;
    }
    return 0;
}

// Fields that receiving systems add above the sender's own header block.
static bool trace_field(bw_slice name)
{
    static const char *const exact[] = { "received", "return-path", "delivered-to", "x-original-to",
                                         "envelope-to", "x-envelope-from", "x-envelope-to", "x-original-sender" };
    static const char *const prefix[] = { "x-spam-", "x-virus-", "x-antivirus", "x-mailscanner", "x-original-" };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (bw_slice_eq_ci_cstr(name, exact[i]))
            return true;
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
        if (bw_slice_starts_with_ci(name, prefix[i]))
            return true;
    return false;
}

static const bw_header *first_own_header(const bw_message *msg)
{
    for (size_t i = 0; i < msg->header_count; i++)
        if (!trace_field(msg->headers[i].name))
            return &msg->headers[i];
    return NULL;
}

static bool eval_leaf(const bw_rules *r, bw_rules_scratch *s, const rule_node *n, const bw_mail_record *rec,
                      bw_slice *value)
{
    const bw_message *msg = rec->message;
    *value = BW_SLICE_NULL;
    switch (n->kind) {
    case NODE_HAS: {
        const bw_header *h = bw_message_header(msg, n->names[0], 0);
        if (h)
            *value = h->value;
        return h != NULL;
    }
    case NODE_FIRST_HEADER: {
        const bw_header *h = first_own_header(msg);
        if (h)
            *value = h->value;
        return h && bw_slice_eq_ci_cstr(h->name, n->names[0]);
    }
    case NODE_ORDER: {
        // Each name's first occurrence, in increasing position; all must be present.
        size_t last = 0;
        for (uint32_t k = 0; k < n->name_count; k++) {
            size_t i = 0;
            while (i < msg->header_count && !bw_slice_eq_ci_cstr(msg->headers[i].name, n->names[k]))
                i++;
            if (i == msg->header_count || (k > 0 && i <= last))
                return false;
            last = i;
        }
        return true;
    }
    case NODE_ANOMALY:
        return (rec->anomalies & n->bit) != 0;
    case NODE_REGEX:
        if (pattern_matched(r, s, n->pattern)) {
            *value = s->match_value[n->pattern];
            return !n->negate;
        }
        return n->negate;
    case NODE_NUM:
        return cmp(num_value(n, rec), n->op, n->number);
    case NODE_HELO_IS_IP:
        *value = rec->helo;
        return sender_hop(rec) && is_ip_literal(rec->helo);
    case NODE_HELO_MISMATCH:
        *value = rec->helo;
        return helo_mismatch(rec);
    case NODE_SESSION:
        return false;
    case NODE_AND:
    case NODE_OR:
    case NODE_NOT:
        break;
    }
    return false;
}

// The cost of evaluating a node now: a pattern whose stream is already scanned is a lookup.
static uint32_t cost_now(const bw_rules *r, const bw_rules_scratch *s, uint32_t id)
{
    const rule_node *n = &r->nodes[id];
    while (n->kind == NODE_NOT)
        n = &r->nodes[n->a];
    if (n->kind == NODE_REGEX && s->scanned[r->patterns[n->pattern].stream])
        return 0;
    return n->cost;
}

static bool eval(const bw_rules *r, bw_rules_scratch *s, uint32_t id, const bw_mail_record *rec);

// An and/or chain: the operands that cost nothing now (facts of streams already scanned,
// flags, counts) first, then the rest cheapest first; stops at the first that decides.
static bool eval_chain(const bw_rules *r, bw_rules_scratch *s, const rule_node *n, const bw_mail_record *rec)
{
    bool decisive = n->kind == NODE_OR;   // or: the first true decides; and: the first false
    const uint32_t *ops = r->chain_ops + n->ops;
    uint64_t done = 0;
    if (n->op_count <= 64)
        for (uint32_t k = 0; k < n->op_count; k++)
            if (cost_now(r, s, ops[k]) == 0) {
                if (eval(r, s, ops[k], rec) == decisive)
                    return decisive;
                done |= UINT64_C(1) << k;
            }
    for (uint32_t k = 0; k < n->op_count; k++)
        if (!(k < 64 && (done >> k & 1)) && eval(r, s, ops[k], rec) == decisive)
            return decisive;
    return !decisive;
}

static bool eval(const bw_rules *r, bw_rules_scratch *s, uint32_t id, const bw_mail_record *rec)
{
    const rule_node *n = &r->nodes[id];
    bw_slice v;
    if ((n->kind == NODE_AND || n->kind == NODE_OR) && n->op_count)
        return eval_chain(r, s, n, rec);
    uint32_t first = n->a, second = n->b;
    if (n->kind == NODE_AND || n->kind == NODE_OR) {
        uint32_t ca = cost_now(r, s, n->a), cb = cost_now(r, s, n->b);
        if (cb < ca) {
            first = n->b;
            second = n->a;
        }
    }
    switch (n->kind) {
    case NODE_AND: return eval(r, s, first, rec) && eval(r, s, second, rec);
    case NODE_OR: return eval(r, s, first, rec) || eval(r, s, second, rec);
    case NODE_NOT: return !eval(r, s, n->a, rec);
    default: return eval_leaf(r, s, n, rec, &v);
    }
}

bw_status bw_rules_match_labels(const bw_rules *r, bw_rules_scratch *s, const bw_mail_record *rec, bw_buf *labels)
{
    scan_start(r, s, rec);
    memset(s->label_hit, 0, r->label_count ? r->label_count : 1);
    for (size_t i = 0; i < r->rule_count; i++)
        if (!s->label_hit[r->rules[i].label_index] && eval(r, s, r->rules[i].root, rec))
            s->label_hit[r->rules[i].label_index] = 1;
    if (s->scan_failed)
        return BW_ERR_NOMEM;
    bool first = true;
    for (size_t i = 0; i < r->label_count; i++) {
        if (!s->label_hit[i])
            continue;
        if ((!first && bw_buf_append_char(labels, ' ')) || bw_buf_append_cstr(labels, r->labels[i]))
            return BW_ERR_NOMEM;
        first = false;
    }
    return BW_OK;
}

// ---- explain

static void push_fact(bw_rules_scratch *s, const rule_node *n, bool negated, bw_slice value, const bw_mail_record *rec)
{
    if (s->fact_count == s->fact_cap) {
        size_t ncap = s->fact_cap ? s->fact_cap * 2 : 32;
        bw_rules_fact *f = realloc(s->facts, ncap * sizeof *f);
        if (!f) {
            s->nomem = true;
            return;
        }
        s->facts = f;
        s->fact_cap = ncap;
    }
    bw_rules_fact *f = &s->facts[s->fact_count++];
    f->expr = n->expr ? n->expr : "";
    f->negated = negated;
    f->value = value.p ? value : BW_SLICE_LIT("");
    f->has_number = n->kind == NODE_NUM;
    f->number = f->has_number ? num_value(n, rec) : 0;
}

// Records the leaves that make node id evaluate to `want` (true: why it held; false: why
// it failed, under a not).
static void collect(const bw_rules *r, bw_rules_scratch *s, uint32_t id, bool want, const bw_mail_record *rec)
{
    const rule_node *n = &r->nodes[id];
    switch (n->kind) {
    case NODE_AND:
        if (want) {
            collect(r, s, n->a, true, rec);
            collect(r, s, n->b, true, rec);
        } else {
            collect(r, s, eval(r, s, n->a, rec) ? n->b : n->a, false, rec);
        }
        return;
    case NODE_OR:
        if (want) {
            collect(r, s, eval(r, s, n->a, rec) ? n->a : n->b, true, rec);
        } else {
            collect(r, s, n->a, false, rec);
            collect(r, s, n->b, false, rec);
        }
        return;
    case NODE_NOT:
        collect(r, s, n->a, !want, rec);
        return;
    default: {
        bw_slice v;
        eval_leaf(r, s, n, rec, &v);
        push_fact(s, n, !want, v, rec);
        return;
    }
    }
}

bw_status bw_rules_explain(const bw_rules *r, bw_rules_scratch *s, const bw_mail_record *rec,
                           const bw_rules_hit **hits, size_t *count)
{
    *hits = NULL;
    *count = 0;
    scan_start(r, s, rec);
    s->hit_count = 0;
    s->fact_count = 0;
    // Facts first (the array may move while growing), then hits pointing into it.
    size_t *starts = NULL;
    size_t nstarts = 0;
    for (size_t i = 0; i < r->rule_count; i++) {
        if (!eval(r, s, r->rules[i].root, rec))
            continue;
        if (s->hit_count == s->hit_cap) {
            size_t ncap = s->hit_cap ? s->hit_cap * 2 : 16;
            bw_rules_hit *h = realloc(s->hits, ncap * sizeof *h);
            if (!h) {
                free(starts);
                return BW_ERR_NOMEM;
            }
            s->hits = h;
            s->hit_cap = ncap;
        }
        size_t *ns = realloc(starts, (nstarts + 1) * sizeof *ns);
        if (!ns) {
            free(starts);
            return BW_ERR_NOMEM;
        }
        starts = ns;
        starts[nstarts++] = s->fact_count;
        bw_rules_hit *h = &s->hits[s->hit_count++];
        h->rule = i;
        bw_rules_get_info(r, i, &h->info);
        collect(r, s, r->rules[i].root, true, rec);
        if (s->nomem || s->scan_failed) {
            free(starts);
            return BW_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < s->hit_count; i++) {
        size_t end = i + 1 < s->hit_count ? starts[i + 1] : s->fact_count;
        s->hits[i].facts = s->facts + starts[i];
        s->hits[i].fact_count = end - starts[i];
    }
    free(starts);
    if (s->scan_failed)
        return BW_ERR_NOMEM;
    *hits = s->hits;
    *count = s->hit_count;
    return BW_OK;
}

bw_status bw_rules_hits_to_json(const bw_rules_hit *hits, size_t count, bw_buf *out)
{
    int e = bw_buf_append_char(out, '[');
    for (size_t i = 0; i < count && !e; i++) {
        const bw_rules_hit *h = &hits[i];
        e |= bw_buf_append_cstr(out, i ? ",{\"rule\":" : "{\"rule\":");
        e |= bw_buf_append_json_string(out, bw_slice_cstr(h->info.name));
        e |= bw_buf_append_cstr(out, ",\"label\":");
        e |= bw_buf_append_json_string(out, bw_slice_cstr(h->info.label));
        e |= bw_buf_append_cstr(out, ",\"family\":");
        e |= bw_buf_append_json_string(out, bw_slice_cstr(h->info.family));
        e |= bw_buf_printf(out, ",\"weight\":%d,\"source\":", h->info.weight);
        e |= bw_buf_append_json_string(out, bw_slice_cstr(h->info.source));
        e |= bw_buf_append_cstr(out, ",\"facts\":[");
        for (size_t k = 0; k < h->fact_count && !e; k++) {
            const bw_rules_fact *f = &h->facts[k];
            e |= bw_buf_append_cstr(out, k ? ",{\"fact\":" : "{\"fact\":");
            e |= bw_buf_append_json_string(out, bw_slice_cstr(f->expr));
            e |= bw_buf_printf(out, ",\"negated\":%s", f->negated ? "true" : "false");
            if (f->has_number)
                e |= bw_buf_printf(out, ",\"number\":%lld", f->number);
            else if (f->value.n) {
                e |= bw_buf_append_cstr(out, ",\"value\":");
                // Capped: a body match would otherwise copy the whole text.
                e |= bw_buf_append_json_string(out, bw_slice_make(f->value.p, f->value.n < 200 ? f->value.n : 200));
            }
            e |= bw_buf_append_char(out, '}');
        }
        e |= bw_buf_append_cstr(out, "]}");
    }
    e |= bw_buf_append_char(out, ']');
    return e ? BW_ERR_NOMEM : BW_OK;
}
