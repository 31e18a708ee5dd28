// SPDX-License-Identifier: MIT
// Attribution rules: a small, documented language (docs/rules.md) for botnet and ratware
// signatures over the facts bw_mail extracts from one message (header presence, order and
// values, the Received chain and sender hop, anomaly flags, URLs, visible text). A rule file
// is compiled once into an immutable bw_rules: every regular expression of a fact stream
// goes into one Hyperscan multi-pattern database (PCRE2 takes the patterns Hyperscan
// rejects: back-references, lookarounds), so a message is scanned once per stream whatever
// the number of rules. Used by ingest (labels per message), `botwatch rules` and `explain`.
//
// Threading: a compiled bw_rules is read-only and shared by any number of threads; each
// thread matches with its own bw_rules_scratch. Rule files are untrusted input: every size,
// count and depth is capped (BW_RULES_MAX_*), errors name "file:line:col: message".
#ifndef BOTWATCH_RULES_H
#define BOTWATCH_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "botwatch/error.h"
#include "botwatch/mail.h"
#include "botwatch/str.h"

// Limits on a rule file (why each default is what it is: rules_parse.c).
#define BW_RULES_MAX_FILE_BYTES   (1u << 20)  // one rule file
#define BW_RULES_MAX_RULES        4096        // rules per file
#define BW_RULES_MAX_PATTERNS     16384       // regular expressions per file
#define BW_RULES_MAX_PATTERN_BYTES 1024       // one regular expression
#define BW_RULES_MAX_DEPTH        32          // nesting of ( ), not, and, or in one match
#define BW_RULES_MAX_NODES        512         // facts and operators in one match
#define BW_RULES_MAX_NAME_BYTES   64          // rule name, label, header or fact name
#define BW_RULES_MAX_STRING_BYTES 1024        // a quoted string (source, description)
#define BW_RULES_MAX_ORDER_NAMES  16          // names in one order(...)
#define BW_RULES_MAX_HEADER_STREAMS 256       // distinct header names used with header(X) ~

typedef struct bw_rules bw_rules;                 // compiled, immutable, shared by threads
typedef struct bw_rules_scratch bw_rules_scratch; // one per thread

typedef enum bw_rules_engine {
    BW_RULES_ENGINE_AUTO = 0,     // Hyperscan where it can (x86-64 builds), else PCRE2
    BW_RULES_ENGINE_PCRE2,        // every pattern through PCRE2 (tests, fuzzing, non-x86)
} bw_rules_engine;

typedef struct bw_rules_options {
    bw_rules_engine engine;
    // Called once per error, with "file:line:col: message" (the first also goes to errbuf),
    // so `botwatch rules check` lists them all. NULL: only the first is reported.
    void (*on_error)(void *ctx, const char *message);
    void *ctx;
} bw_rules_options;

// Compiles rule text (need not be NUL-terminated; filename is used in messages only).
// BW_OK and *out, or BW_ERR_PARSE / BW_ERR_LIMIT with "file:line:col: message" in errbuf
// (BW_ERRBUF_SIZE bytes), or BW_ERR_NOMEM. opts may be NULL (AUTO engine).
bw_status bw_rules_compile_ex(const char *text, size_t len, const char *filename,
                              const bw_rules_options *opts, bw_rules **out, char *errbuf);
bw_status bw_rules_compile(const char *text, size_t len, const char *filename,
                           bw_rules **out, char *errbuf);
// The shipped rule set (rules/botwatch.rules, embedded into the library at build time).
bw_status bw_rules_builtin(bw_rules **out, char *errbuf);
// The embedded text itself, for `botwatch rules show` and tests.
const char *bw_rules_builtin_text(size_t *len);
void bw_rules_free(bw_rules *rules);

// Counts: rules, regular expressions, and how many of those run in PCRE2 (not Hyperscan).
size_t bw_rules_count(const bw_rules *rules);
size_t bw_rules_pattern_count(const bw_rules *rules);
size_t bw_rules_pcre2_pattern_count(const bw_rules *rules);

typedef struct bw_rules_info {
    const char *name, *label, *family, *source, *description;  // "" when absent
    int weight;
    unsigned line;              // where "rule" was written
} bw_rules_info;
// Metadata of rule i (0 <= i < bw_rules_count), in file order.
void bw_rules_get_info(const bw_rules *rules, size_t i, bw_rules_info *out);

// NULL on allocation failure.
bw_rules_scratch *bw_rules_scratch_new(const bw_rules *rules);
void bw_rules_scratch_free(bw_rules_scratch *scratch);

// Appends the sorted distinct labels of matching rules, space-separated, to labels
// (nothing if none). BW_OK or BW_ERR_NOMEM (Hyperscan scratch or output growth).
bw_status bw_rules_match_labels(const bw_rules *rules, bw_rules_scratch *scratch,
                                const bw_mail_record *rec, bw_buf *labels);

// ---- explain: which rules fired, on which facts.
typedef struct bw_rules_fact {
    const char *expr;           // the fact as written in the rule ("has(X-Mailer)")
    bool negated;               // true when the rule needed it false (not / !)
    bw_slice value;             // the value that decided it (a header value, a URL, the
                                // HELO...), empty when none; points into the record
    long long number;           // for numeric facts (hops, urls, count(...)): the value
    bool has_number;
} bw_rules_fact;

typedef struct bw_rules_hit {
    size_t rule;                // index for bw_rules_get_info
    bw_rules_info info;
    const bw_rules_fact *facts; // the facts that made the match true
    size_t fact_count;
} bw_rules_hit;

// Matches rec and returns the rules that fired, in file order, with their facts. *hits
// stays valid until the next call with this scratch and while rec's slices are valid.
bw_status bw_rules_explain(const bw_rules *rules, bw_rules_scratch *scratch,
                           const bw_mail_record *rec, const bw_rules_hit **hits, size_t *count);

// Appends hits as a JSON array: [{"rule":..,"label":..,"family":..,"weight":N,
// "source":..,"facts":[{"fact":..,"negated":bool,"value":..}]}].
bw_status bw_rules_hits_to_json(const bw_rules_hit *hits, size_t count, bw_buf *out);

#endif
