// SPDX-License-Identifier: MIT
// Shared between the rule parser (rules_parse.c) and the matcher (rules_match.c): the
// compiled form of a rule file. Facts and operators are nodes in one array; regular
// expressions are grouped by the fact stream they scan.
#ifndef BOTWATCH_RULES_INTERNAL_H
#define BOTWATCH_RULES_INTERNAL_H

#include <stdint.h>

#include "botwatch/rules.h"

#ifdef BW_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// Streams of values a regular expression can scan. STREAM_HEADER has one stream per
// distinct header name; the others are one each.
typedef enum stream_kind {
    STREAM_HEADER = 0,  // values of the top-level fields named X
    STREAM_MESSAGE_ID,  // Message-ID without angle brackets
    STREAM_MAILER,      // X-Mailer and User-Agent values
    STREAM_SUBJECT,     // decoded subject
    STREAM_FROM,        // decoded From
    STREAM_BOUNDARY,    // every multipart boundary
    STREAM_HELO,        // sender hop HELO
    STREAM_RDNS,        // sender hop reverse DNS as recorded
    STREAM_SENDER_IP,   // sender hop IP, as text
    STREAM_URL,         // every normalised URL
    STREAM_HOST,        // every URL host
    STREAM_DOMAIN,      // every URL registrable domain
    STREAM_BODY,        // visible text
    STREAM_FINGERPRINT, // header names in order, lowercased, comma-separated
    STREAM_KIND_COUNT,
} stream_kind;

typedef enum num_kind {
    NUM_HOPS = 0,       // Received fields
    NUM_URLS,
    NUM_PARTS,
    NUM_HEADERS,        // top-level header fields
    NUM_BODY_BYTES,     // visible text bytes
    NUM_COUNT_HEADER,   // count(X): fields named X
    NUM_KIND_COUNT,
} num_kind;

typedef enum cmp_op { CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_EQ, CMP_NE } cmp_op;

typedef enum node_kind {
    NODE_AND,
    NODE_OR,
    NODE_NOT,
    NODE_HAS,           // name
    NODE_ORDER,         // names[0..name_count)
    NODE_FIRST_HEADER,  // name
    NODE_ANOMALY,       // bit
    NODE_REGEX,         // pattern; negate for !~
    NODE_NUM,           // num, op, number; name for count(X)
    NODE_HELO_IS_IP,
    NODE_HELO_MISMATCH,
    NODE_SESSION,       // reserved for SMTP-trap facts: always false today
} node_kind;

typedef struct rule_node {
    node_kind kind;
    uint32_t a, b;          // children (AND/OR: a and b; NOT: a)
    uint32_t cost;          // rough work to evaluate it (rules_match.c, node_cost)
    uint32_t ops, op_count; // AND/OR heading a chain of its kind: its operands in
                            //   bw_rules.chain_ops[ops..], cheapest first; 0 = evaluate a, b
    uint32_t pattern;       // NODE_REGEX
    bool negate;            // NODE_REGEX written with !~
    num_kind num;
    cmp_op op;
    long long number;
    uint64_t bit;           // NODE_ANOMALY
    char **names;           // NODE_HAS/FIRST_HEADER/NUM count: names[0]; ORDER: all
    uint32_t name_count;
    char *expr;             // the fact as written, for explain
} rule_node;

typedef struct rule_pattern {
    uint32_t stream;        // index into bw_rules.streams
    char *text;             // NUL-terminated pattern
    unsigned flags;         // PAT_* below
    unsigned line, col;
    bool in_hs;             // scanned by Hyperscan (else PCRE2)
    pcre2_code *code;       // PCRE2 patterns only
} rule_pattern;

#define PAT_CASELESS  1u
#define PAT_DOTALL    2u
#define PAT_MULTILINE 4u

// The bytes an anchored pattern (^..., no multi-line flag) must start with, as one byte
// set per position: a value that fits none of its stream's prefixes cannot match any of
// the stream's Hyperscan patterns and is not scanned (rules_match.c, anchored_prefix).
#define RULE_PREFIX_MAX 16
typedef struct rule_prefix {
    uint8_t len;
    uint64_t sets[RULE_PREFIX_MAX][4];
} rule_prefix;

typedef struct rule_stream {
    stream_kind kind;
    char *header;           // STREAM_HEADER: the header name
    size_t header_len;
    rule_prefix *prefixes;  // one per Hyperscan pattern, when every one of them has a prefix
    size_t prefix_count;    // 0: every value is scanned
    uint32_t *hs_patterns;  // pattern indices scanned by Hyperscan (hs id = position)
    size_t hs_count;
    uint32_t *pcre_patterns;
    size_t pcre_count;
#ifdef BW_HAVE_HYPERSCAN
    hs_database_t *db;
#endif
} rule_stream;

typedef struct rule_def {
    char *name, *label, *family, *source, *description;
    int weight;
    unsigned line;
    uint32_t root;
    uint32_t label_index;   // into bw_rules.labels (sorted, distinct)
} rule_def;

struct bw_rules {
    rule_def *rules;
    size_t rule_count, rule_cap;
    rule_node *nodes;
    size_t node_count, node_cap;
    rule_pattern *patterns;
    size_t pattern_count, pattern_cap;
    rule_stream *streams;
    size_t stream_count, stream_cap;
    char **labels;          // sorted distinct labels
    size_t label_count;
    size_t pcre_count;
    uint32_t *chain_ops;    // operands of and/or chains (rule_node.ops)
    size_t chain_op_count, chain_op_cap;
    pcre2_match_context *mctx;
};

// The parser (rules_parse.c) fills rules; the compiler (rules_match.c) builds databases.
bw_status bw_rules_parse_text(bw_rules *rules, const char *text, size_t len, const char *filename,
                              const bw_rules_options *opts, char *errbuf);
bw_status bw_rules_build(bw_rules *rules, const char *filename, const bw_rules_options *opts, char *errbuf);

const char *bw_rules_stream_name(stream_kind kind);

#endif
