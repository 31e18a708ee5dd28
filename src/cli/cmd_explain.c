// SPDX-License-Identifier: MIT
// `botwatch explain MSG`: why a message is where it is. MSG is a stored message's id, a
// prefix of its SHA-256 (8+ hex digits) or a FILE holding a message. For a stored message
// the store says its campaign (similarity, whether it started it, the template), its rule
// labels and its botnet; the message itself is read again from its source at the stored
// offset (through the intake, so archives and compressed files work) and checked against
// the stored SHA-256, so that the attribution rules can say which rules fired on which
// facts, and the message's own template text can be set beside the campaign's. A source
// that is gone or changed is said plainly. Front end only: gathering here, writing in
// report_campaigns.h. Formats: docs/cli.md.
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "botwatch/arena.h"
#include "botwatch/campaign.h"
#include "botwatch/ingest.h"
#include "botwatch/intake.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/report_campaigns.h"
#include "botwatch/rules.h"
#include "botwatch/store_campaigns.h"
#include "campaign_cli.h"
#include "cli_util.h"
#include "commands.h"

// Paths may contain ':' (archive members are "archive.tar.gz:member"): at most this many
// candidate splits are tried when looking for the file that holds a stored source.
#define MAX_SOURCE_SPLITS 16

static void usage(FILE *out)
{
    fputs("usage: botwatch explain MSG [--db FILE] [--rules FILE] [--format text|json|csv] [-o FILE]\n"
          "\n"
          "Explains one message: its campaign (id, the similarity that put it there or that it\n"
          "started the campaign, the campaign's template beside the message's own), the\n"
          "attribution rules that fired and on which facts (header values, HELO, URLs...), its\n"
          "stored rule labels and its botnet. A stored message is read again from its source\n"
          "file at the stored offset and checked against its SHA-256; if the source is gone\n"
          "or changed, that is said and the stored attribution is still shown.\n"
          "\n"
          "MSG is one of:\n"
          "  123              a message id (from `botwatch campaign ID` samples or export)\n"
          "  3fa9c2e1...      a SHA-256 prefix of at least 8 hex digits (`sha256:` forces it)\n"
          "  path/to/msg.eml  a file holding a message (an mbox: its first message), whether\n"
          "                   stored or not (`file:` forces it)\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "      --rules FILE     attribution rules to run (default: the shipped set)\n"
          "  -f, --format FMT     text (default), json or csv\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch explain 4711 --db trap.db\n"
          "  botwatch explain 3fa9c2e1 --db trap.db --format json | jq .rules\n"
          "  botwatch explain suspicious.eml --db trap.db\n",
          out);
}

typedef enum msg_kind { MSG_ID, MSG_SHA256, MSG_FILE } msg_kind;

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static bool all_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return false;
    return true;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

// Decides what MSG names; false (message printed) if it is none of them.
static bool classify(const char *arg, msg_kind *kind, const char **value)
{
    if (!strncmp(arg, "id:", 3) && all_digits(arg + 3)) {
        *kind = MSG_ID, *value = arg + 3;
        return true;
    }
    if (!strncmp(arg, "sha256:", 7)) {
        *kind = MSG_SHA256, *value = arg + 7;
        return true;
    }
    if (!strncmp(arg, "file:", 5)) {
        *kind = MSG_FILE, *value = arg + 5;
        return true;
    }
    *value = arg;
    if (all_digits(arg) && strlen(arg) < 8) {
        *kind = MSG_ID;
        return true;
    }
    if (is_file(arg) || !strcmp(arg, "-")) {
        *kind = MSG_FILE;
        return true;
    }
    if (all_digits(arg)) {
        *kind = MSG_ID;   // 8+ digits: an id first, else tried as a SHA-256 prefix
        return true;
    }
    if (all_hex(arg) && strlen(arg) >= 8 && strlen(arg) <= 64) {
        *kind = MSG_SHA256;
        return true;
    }
    cli_error("explain", "'%s' is not a message id, a SHA-256 prefix (8+ hex digits) or a readable file", arg);
    return false;
}

// ---- the stored attribution, copied out of the store's callback ----

typedef struct explain_state {
    bw_arena *arena;
    bw_store_message_attribution stored;
    bool have_stored;
    bool copy_failed;
    // message bytes
    bw_buf bytes;
    bw_buf note;
    bw_explain_bytes bytes_kind;
    char sha256[BW_SHA256_HEX_LEN + 1];
    bool bytes_more;             // FILE held more than one message
} explain_state;

static bool keep(explain_state *e, bw_slice s, bw_slice *out)
{
    if (s.n == 0) {
        *out = BW_SLICE_LIT("");
        return true;
    }
    *out = bw_arena_slice_dup(e->arena, s);
    return out->p != NULL;
}

static int copy_attribution(void *ctx, const bw_store_message_attribution *m)
{
    explain_state *e = ctx;
    e->stored = *m;
    bw_store_message_attribution *c = &e->stored;
    if (!keep(e, m->sha256, &c->sha256) || !keep(e, m->source_path, &c->source_path)
        || !keep(e, m->subject, &c->subject) || !keep(e, m->sender_ip, &c->sender_ip)
        || !keep(e, m->sender_as_name, &c->sender_as_name) || !keep(e, m->campaign_template, &c->campaign_template)
        || !keep(e, m->rule_labels, &c->rule_labels) || !keep(e, m->botnet_label, &c->botnet_label))
        e->copy_failed = true;
    e->have_stored = true;
    return 0;
}

// ---- reading message bytes through the intake ----

// Reads messages of `path` until one matches (source, offset) when want_source is given,
// else takes the first; copies its bytes into e->bytes. Returns true when found.
static bool read_through_intake(explain_state *e, const char *path, bw_slice want_source, uint64_t want_offset,
                                bool first_only)
{
    char errbuf[BW_ERRBUF_SIZE];
    bw_intake *in = bw_intake_new(NULL, errbuf);
    if (!in)
        cli_out_of_memory();
    if (bw_intake_add_path(in, path) != BW_OK)
        cli_out_of_memory();
    bw_intake_event ev;
    bool found = false;
    bw_buf_clear(&e->note);
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END) {
        if (ev.kind == BW_INTAKE_EV_ERROR) {
            if (!e->note.n && bw_buf_printf(&e->note, "%.*s: %s", (int)ev.error.source.n, ev.error.source.p,
                                            ev.error.reason))
                cli_out_of_memory();
            continue;
        }
        if (ev.kind != BW_INTAKE_EV_MESSAGE)
            continue;
        if (found) {            // first_only: one more message tells us the FILE holds several
            e->bytes_more = true;
            break;
        }
        if (!first_only && (!bw_slice_eq(ev.message.source, want_source) || ev.message.offset != want_offset))
            continue;
        bw_buf_clear(&e->bytes);
        if (bw_buf_append(&e->bytes, ev.message.bytes.p, ev.message.bytes.n))
            cli_out_of_memory();
        found = true;
        bw_buf_clear(&e->note);
        if (!first_only)
            break;
    }
    bw_intake_free(in);
    return found;
}

// The stored message's source: the intake names archive members "archive:member", so the
// file to open is the shortest prefix ending before a ":" that is a file on disk.
static void reread_source(explain_state *e)
{
    const bw_store_message_attribution *m = &e->stored;
    e->bytes_kind = BW_EXPLAIN_BYTES_GONE;
    if (m->source_path.n == 0 || !strcmp(m->source_path.p, "<stdin>")) {
        if (bw_buf_printf(&e->note, "it was read from %s, which cannot be read again; give the message as a FILE",
                          m->source_path.n ? "standard input" : "an unknown source"))
            cli_out_of_memory();
        return;
    }
    char *path = strndup(m->source_path.p, m->source_path.n);
    if (!path)
        cli_out_of_memory();
    const char *file = NULL;
    if (is_file(path)) {
        file = path;
    } else {
        char *p = path;
        for (int i = 0; i < MAX_SOURCE_SPLITS && (p = strchr(p, ':')); i++, p++) {
            *p = '\0';
            bool ok = is_file(path);
            if (ok) {
                file = path;
                break;
            }
            *p = ':';
        }
    }
    if (!file) {
        if (bw_buf_printf(&e->note, "source %.*s is gone (%s); paths are as given to `botwatch ingest`, relative to "
                                    "where it ran; give the message as a FILE",
                          (int)m->source_path.n, m->source_path.p, strerror(errno ? errno : ENOENT)))
            cli_out_of_memory();
        free(path);
        return;
    }
    bool found = read_through_intake(e, file, m->source_path, m->source_offset, false);
    if (!found) {
        bw_buf why = BW_BUF_INIT;
        if (bw_buf_printf(&why, "%.*s no longer holds a message at byte %" PRIu64 "%s%.*s", (int)m->source_path.n,
                          m->source_path.p, m->source_offset, e->note.n ? ": " : "", (int)e->note.n,
                          e->note.p ? e->note.p : ""))
            cli_out_of_memory();
        bw_buf_clear(&e->note);
        if (bw_buf_append_slice(&e->note, bw_buf_slice(&why)))
            cli_out_of_memory();
        bw_buf_free(&why);
    } else {
        e->bytes_kind = BW_EXPLAIN_BYTES_SOURCE;
        if (bw_buf_printf(&e->note, "read again from %.*s at byte %" PRIu64, (int)m->source_path.n, m->source_path.p,
                          m->source_offset))
            cli_out_of_memory();
    }
    free(path);
}

// ---- rules and template over the bytes ----

typedef struct analysis {
    bw_mime_parser *parser;
    bw_mail_analyzer *analyzer;
    bw_mail_record rec;
    bool ok;
    bw_buf template_text;
    bw_rules *rules;
    bw_rules_scratch *scratch;
    bw_buf labels;
    bw_explain_rule *rule_rows;
    bw_explain_fact *fact_rows;
    size_t rule_count;
    char rules_note[BW_ERRBUF_SIZE + 64];
    bool rules_run;
} analysis;

static void analysis_free(analysis *a)
{
    free(a->rule_rows);
    free(a->fact_rows);
    bw_buf_free(&a->labels);
    bw_buf_free(&a->template_text);
    bw_rules_scratch_free(a->scratch);
    bw_rules_free(a->rules);
    bw_mail_analyzer_free(a->analyzer);
    bw_mime_parser_free(a->parser);
}

static bool load_rules(analysis *a, const char *rules_path)
{
    char errbuf[BW_ERRBUF_SIZE];
    bw_status s;
    if (!rules_path) {
        s = bw_rules_builtin(&a->rules, errbuf);
    } else {
        FILE *f = fopen(rules_path, "rb");
        if (!f) {
            snprintf(a->rules_note, sizeof a->rules_note, "%s: %s", rules_path, strerror(errno));
            return false;
        }
        bw_buf text = BW_BUF_INIT;
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && text.n <= BW_RULES_MAX_FILE_BYTES)
            if (bw_buf_append(&text, chunk, n))
                cli_out_of_memory();
        fclose(f);
        if (text.n > BW_RULES_MAX_FILE_BYTES) {
            snprintf(a->rules_note, sizeof a->rules_note, "%s: larger than %u bytes", rules_path,
                     BW_RULES_MAX_FILE_BYTES);
            bw_buf_free(&text);
            return false;
        }
        s = bw_rules_compile(text.p ? text.p : "", text.n, rules_path, &a->rules, errbuf);
        bw_buf_free(&text);
    }
    if (s != BW_OK) {
        snprintf(a->rules_note, sizeof a->rules_note, "%s", errbuf);
        return false;
    }
    a->scratch = bw_rules_scratch_new(a->rules);
    if (!a->scratch)
        cli_out_of_memory();
    return true;
}

static void analyse(analysis *a, bw_slice bytes, const char *rules_path)
{
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_config config;
    bw_mail_config_default(&config);
    a->parser = bw_mime_parser_new(NULL);
    a->analyzer = bw_mail_analyzer_new(&config, errbuf);
    if (!a->parser || !a->analyzer)
        cli_out_of_memory();
    const bw_message *msg = NULL;
    if (bw_mime_parse(a->parser, bytes.p ? bytes.p : "", bytes.n, &msg) != BW_OK
        || bw_mail_analyze(a->analyzer, msg, &a->rec) != BW_OK)
        cli_out_of_memory();   // only allocation failures are possible: malformed mail is data
    a->ok = true;
    // The template text ingest computed for this message.
    bw_campaign_msg cm;
    bw_campaign_msg_from_mail(&a->rec, &cm);
    bw_ingest_recipient(a->rec.message, &cm.rcpt_addr, &cm.rcpt_name);
    bw_campaign_norm_limits limits;
    bw_campaign_norm_limits_default(&limits);
    if (bw_campaign_normalize(&limits, cm.subject, cm.text, cm.rcpt_addr, cm.rcpt_name, &a->template_text, NULL,
                              NULL) != BW_OK)
        cli_out_of_memory();
    if (!load_rules(a, rules_path))
        return;
    const bw_rules_hit *hits = NULL;
    size_t count = 0;
    if (bw_rules_match_labels(a->rules, a->scratch, &a->rec, &a->labels) != BW_OK)
        cli_out_of_memory();
    if (bw_rules_explain(a->rules, a->scratch, &a->rec, &hits, &count) != BW_OK)
        cli_out_of_memory();
    a->rules_run = true;
    size_t facts = 0;
    for (size_t i = 0; i < count; i++)
        facts += hits[i].fact_count;
    a->rule_rows = calloc(count ? count : 1, sizeof *a->rule_rows);
    a->fact_rows = calloc(facts ? facts : 1, sizeof *a->fact_rows);
    if (!a->rule_rows || !a->fact_rows)
        cli_out_of_memory();
    size_t f = 0;
    for (size_t i = 0; i < count; i++) {
        const bw_rules_hit *h = &hits[i];
        bw_explain_rule *r = &a->rule_rows[i];
        r->name = bw_slice_cstr(h->info.name);
        r->label = bw_slice_cstr(h->info.label);
        r->family = bw_slice_cstr(h->info.family);
        r->source = bw_slice_cstr(h->info.source);
        r->weight = h->info.weight;
        r->facts = &a->fact_rows[f];
        r->fact_count = h->fact_count;
        for (size_t k = 0; k < h->fact_count; k++, f++) {
            const bw_rules_fact *src = &h->facts[k];
            a->fact_rows[f] = (bw_explain_fact){ .expr = bw_slice_cstr(src->expr), .negated = src->negated,
                                                 .value = src->value, .has_number = src->has_number,
                                                 .number = src->number };
        }
    }
    a->rule_count = count;
}

typedef struct explain_ctx {
    msg_kind kind;
    const char *value;
    const char *query;
} explain_ctx;

int cmd_explain(int argc, char **argv)
{
    cli_view_options o;
    int first;
    int rc = cli_view_parse("explain", argc, argv, false, true, usage, &o, &first);
    if (rc >= 0)
        return rc;
    if (first >= argc) {
        cli_error("explain", "which message? give its id, a SHA-256 prefix or a FILE");
        return 2;
    }
    if (first + 1 < argc) {
        cli_error("explain", "unexpected argument '%s' (one message at a time)", argv[first + 1]);
        return 2;
    }
    explain_ctx q = { .query = argv[first] };
    if (!classify(argv[first], &q.kind, &q.value))
        return 2;
    if (q.kind == MSG_SHA256 && (!all_hex(q.value) || strlen(q.value) < 8 || strlen(q.value) > 64)) {
        cli_error("explain", "'%s' is not a SHA-256 prefix: 8 to 64 hex digits", q.value);
        return 2;
    }
    char errbuf[BW_ERRBUF_SIZE];
    // A FILE can be explained without a store (rules and template only).
    bool need_store = q.kind != MSG_FILE || access(o.db_path, F_OK) == 0;
    bw_store *store = need_store ? cli_open_campaign_store("explain", o.db_path) : NULL;
    if (need_store && !store)
        return 1;
    explain_state e = { .arena = bw_arena_new(0) };
    if (!e.arena)
        cli_out_of_memory();
    int status = 1;
    analysis a = { 0 };
    cli_output out = { .fp = stdout };
    bw_status s = BW_OK;

    if (q.kind == MSG_ID) {
        char *end;
        errno = 0;
        long long id = strtoll(q.value, &end, 10);
        s = errno || *end ? bw_error(errbuf, BW_ERR_INVALID, "'%s' is not a message id", q.value)
                          : bw_store_find_message_id(store, id, copy_attribution, &e, errbuf);
        // 8+ digits that are no id may be a SHA-256 prefix.
        if (s == BW_ERR_NOTFOUND && strlen(q.value) >= 8) {
            char why[BW_ERRBUF_SIZE];
            if (bw_store_find_message_sha256(store, q.value, copy_attribution, &e, why) == BW_OK)
                s = BW_OK;
        }
    } else if (q.kind == MSG_SHA256) {
        s = bw_store_find_message_sha256(store, q.value, copy_attribution, &e, errbuf);
    } else {
        e.bytes_kind = BW_EXPLAIN_BYTES_FILE;
        if (!read_through_intake(&e, q.value, BW_SLICE_NULL, 0, true)) {
            cli_error("explain", "%s: no message in it%s%.*s", q.value, e.note.n ? ": " : "", (int)e.note.n,
                      e.note.p ? e.note.p : "");
            goto done;
        }
        bw_buf_clear(&e.note);
        if (bw_buf_printf(&e.note, "read from %s%s", q.value,
                          e.bytes_more ? " (it holds more than one message: the first is explained)" : ""))
            cli_out_of_memory();
    }
    if (s != BW_OK) {
        cli_error("explain", "%s: %s", o.db_path, errbuf);
        goto done;
    }
    if (e.copy_failed)
        cli_out_of_memory();
    if (e.have_stored)
        reread_source(&e);
    if (e.bytes_kind == BW_EXPLAIN_BYTES_SOURCE || e.bytes_kind == BW_EXPLAIN_BYTES_FILE) {
        analyse(&a, bw_buf_slice(&e.bytes), o.rules_path);
        memcpy(e.sha256, a.rec.sha256, sizeof e.sha256);
        if (e.bytes_kind == BW_EXPLAIN_BYTES_SOURCE && !bw_slice_eq(bw_slice_cstr(e.sha256), e.stored.sha256)) {
            // The source changed under the same name: what is there now is another message.
            e.bytes_kind = BW_EXPLAIN_BYTES_GONE;
            bw_buf_clear(&e.note);
            if (bw_buf_printf(&e.note, "%.*s changed: the message now at byte %" PRIu64 " has SHA-256 %.12s..., not the "
                                       "stored %.12s...", (int)e.stored.source_path.n, e.stored.source_path.p,
                              e.stored.source_offset, e.sha256, e.stored.sha256.p))
                cli_out_of_memory();
            analysis_free(&a);
            a = (analysis){ 0 };
        } else if (e.bytes_kind == BW_EXPLAIN_BYTES_FILE && store) {
            s = bw_store_find_message_sha256(store, e.sha256, copy_attribution, &e, errbuf);
            if (s != BW_OK && s != BW_ERR_NOTFOUND) {
                cli_error("explain", "%s: %s", o.db_path, errbuf);
                goto done;
            }
            if (e.copy_failed)
                cli_out_of_memory();
        }
    }
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    bw_explain ex = {
        .query = bw_slice_cstr(q.query),
        .stored = e.have_stored ? &e.stored : NULL,
        .file_sha256 = e.bytes_kind == BW_EXPLAIN_BYTES_FILE ? bw_slice_cstr(e.sha256) : BW_SLICE_NULL,
        .bytes = e.bytes_kind,
        .bytes_note = bw_buf_slice(&e.note),
        .message_template = a.ok ? bw_buf_slice(&a.template_text) : BW_SLICE_NULL,
        .threshold = cfg.threshold,
        .rules_run = a.rules_run,
        .rules_note = a.rules_run ? BW_SLICE_NULL
                    : a.ok        ? bw_slice_cstr(a.rules_note)
                                  : BW_SLICE_LIT("the message bytes could not be read"),
        .rule_labels_now = bw_buf_slice(&a.labels),
        .rules = a.rule_rows,
        .rule_count = a.rule_count,
    };
    if (!cli_output_open(&out, "explain", o.output))
        goto done;
    if ((s = bw_report_explain(&ex, o.format, out.fp, errbuf)) != BW_OK) {
        cli_error("explain", "%s", errbuf);
        goto done;
    }
    if (cli_output_commit(&out, "explain"))
        status = 0;
done:
    cli_output_abort(&out);
    analysis_free(&a);
    bw_buf_free(&e.bytes);
    bw_buf_free(&e.note);
    bw_arena_free(e.arena);
    if (store)
        bw_store_close(store, errbuf);
    return status;
}
