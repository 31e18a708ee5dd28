// SPDX-License-Identifier: MIT
// Unit tests of the attribution rule language: parser errors with their file:line:col,
// limits, every fact kind evaluated on small hand-written messages through the real
// parser and analyzer, both engines (Hyperscan and PCRE2-only give the same answers; a
// back-reference falls back to PCRE2), labels, explain, and the shipped rule set.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/rules.h"

// ---- helpers

typedef struct env {
    bw_mime_parser *parser;
    bw_mail_analyzer *analyzer;
    bw_mail_record rec;
} env;

static env *env_new(void)
{
    env *e = calloc(1, sizeof *e);
    char errbuf[BW_ERRBUF_SIZE];
    e->parser = bw_mime_parser_new(NULL);
    e->analyzer = bw_mail_analyzer_new(NULL, errbuf);
    assert_non_null(e->parser);
    assert_non_null(e->analyzer);
    return e;
}

static void env_free(env *e)
{
    bw_mime_parser_free(e->parser);
    bw_mail_analyzer_free(e->analyzer);
    free(e);
}

static const bw_mail_record *parse(env *e, const char *text)
{
    const bw_message *msg;
    assert_int_equal(bw_mime_parse(e->parser, text, strlen(text), &msg), BW_OK);
    assert_int_equal(bw_mail_analyze(e->analyzer, msg, &e->rec), BW_OK);
    return &e->rec;
}

static bw_rules *compile(const char *text, bw_rules_engine engine)
{
    bw_rules *r = NULL;
    char errbuf[BW_ERRBUF_SIZE] = "";
    bw_rules_options opts = { engine, NULL, NULL };
    bw_status st = bw_rules_compile_ex(text, strlen(text), "t.rules", &opts, &r, errbuf);
    if (st != BW_OK)
        print_message("unexpected error: %s\n", errbuf);
    assert_int_equal(st, BW_OK);
    return r;
}

// Labels of the rules matching msg, for both engines (which must agree).
static void labels_of(const char *rules_text, const char *msg_text, char *out, size_t n)
{
    char got[2][512];
    for (int engine = 0; engine < 2; engine++) {
        bw_rules *r = compile(rules_text, engine == 0 ? BW_RULES_ENGINE_AUTO : BW_RULES_ENGINE_PCRE2);
        bw_rules_scratch *s = bw_rules_scratch_new(r);
        assert_non_null(s);
        env *e = env_new();
        bw_buf b = BW_BUF_INIT;
        assert_int_equal(bw_rules_match_labels(r, s, parse(e, msg_text), &b), BW_OK);
        snprintf(got[engine], sizeof got[engine], "%s", b.n ? b.p : "");
        bw_buf_free(&b);
        env_free(e);
        bw_rules_scratch_free(s);
        bw_rules_free(r);
    }
    assert_string_equal(got[0], got[1]);
    snprintf(out, n, "%s", got[0]);
}

static bool matches(const char *match_expr, const char *msg_text)
{
    char rules[4096], out[512];
    snprintf(rules, sizeof rules, "rule t {\n  label hit\n  family generic\n  match %s\n}\n", match_expr);
    labels_of(rules, msg_text, out, sizeof out);
    return strcmp(out, "hit") == 0;
}

static const char *MSG_OE =
    "Received: from mx.example.net (mx.example.net [192.0.2.1]) by in.example.org with ESMTP id 1; "
    "Mon, 2 Mar 2009 10:00:00 +0000\r\n"
    "Received: from pc17 ([84.12.34.7]) by mx.example.net with SMTP; Mon, 2 Mar 2009 09:59:58 +0000\r\n"
    "Message-ID: <000f01c99b2e$abe4d510$6031a8c0@pc17>\r\n"
    "From: \"Ann\" <ann@example.net>\r\n"
    "To: <bob@example.org>\r\n"
    "Subject: Cheap meds\r\n"
    "Date: Mon, 2 Mar 2009 10:59:57 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"----=_NextPart_000_0001_01C99B2E.12345678\"\r\n"
    "X-Priority: 3\r\n"
    "X-MSMail-Priority: Normal\r\n"
    "X-Mailer: Microsoft Outlook Express 6.00.2900.2180\r\n"
    "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.2180\r\n"
    "\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "Buy now at http://pills.example.com/buy?id=1 today\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678\r\n"
    "Content-Type: text/html\r\n\r\n"
    "<p>Buy now at <a href=\"http://pills.example.com/buy?id=1\">here</a> today</p>\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678--\r\n";

// A bot that claims Outlook Express but writes its own Message-ID and no X-MimeOLE, with
// an IP-literal HELO and no Date.
static const char *MSG_BOT =
    "Received: from [84.12.34.9] (helo=[84.12.34.9]) by in.example.org with esmtp id 2; "
    "Mon, 2 Mar 2009 10:00:00 +0000\r\n"
    "From: <x@example.com>\r\n"
    "To: <bob@example.org>\r\n"
    "Subject: Hello hello\r\n"
    "Message-ID: <20090302100000.4711@example.com>\r\n"
    "X-Mailer: Microsoft Outlook Express 6.00.2900.2180\r\n"
    "\r\n"
    "Visit http://203.0.113.50/x now abcabc\r\n";

// ---- parser errors

typedef struct err_case {
    const char *text;
    const char *error;      // expected errbuf prefix
} err_case;

static void test_errors(void **state)
{
    (void)state;
    static const err_case cases[] = {
        { "rule a {\n label x\n family botnet\n match has(X)\n}\n", "t.rules:1:1: rule 'a': a botnet rule must cite" },
        { "rule a { label x family generic match hass(X) }", "t.rules:1:39: unknown fact 'hass'" },
        { "rule a {\n  label x\n  family generic\n  match body ~ /(ab/\n}", "t.rules:4:20: bad regular expression" },
        { "rule a { label x family generic match body ~ /ab/q }", "t.rules:1:50: unknown regular expression flag 'q'" },
        { "rule a { label \"x family generic }", "t.rules:1:16: unterminated string" },
        { "rule a { label x family generic match anomaly(no_such) }", "t.rules:1:47: unknown anomaly 'no_such'" },
        { "rule a { label x family other match has(X) }", "t.rules:1:25: family is botnet, ratware or generic" },
        { "rule a { label X family generic match has(X) }", "t.rules:1:16: a label is lowercase" },
        { "rule a { label x family generic }", "t.rules:1:1: rule 'a' has no match" },
        { "rule a { label x family generic match has(X) }\nrule a { label y family generic match has(Y) }",
          "t.rules:2:6: duplicate rule name 'a' (first on line 1)" },
        { "rule a { label x family generic match has(X) and }", "t.rules:1:50: expected a fact" },
        { "rule a { label x family generic match (has(X) }", "t.rules:1:47: expected ')'" },
        { "rule a { label x family generic match hops > }", "t.rules:1:46: expected a number" },
        { "rule a { label x family generic match order(From) }", "t.rules:1:49: order(...) needs at least two" },
        { "rule a { label x family generic match header(X) }", "t.rules:1:49: expected ~ or !~ after header" },
        { "rule a { label x family generic match body ~ /a/ weight 2000 }", "t.rules:1:57: expected a weight 0..1000" },
        { "rule a { label x family generic match has(X) = }", "t.rules:1:46: '=' is not an operator" },
        { "rule a { label x family generic match has(X) } @", "t.rules:1:48: unexpected character '@'" },
        { "rules a {}", "t.rules:1:1: expected 'rule'" },
        { "rule a { label x family generic match body ~ /a/ bogus 1 }", "t.rules:1:50: unknown property 'bogus'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bw_rules *r = NULL;
        char errbuf[BW_ERRBUF_SIZE] = "";
        bw_status st = bw_rules_compile(cases[i].text, strlen(cases[i].text), "t.rules", &r, errbuf);
        if (st == BW_OK || strncmp(errbuf, cases[i].error, strlen(cases[i].error)) != 0)
            print_message("case %zu: got \"%s\", want \"%s...\"\n", i, errbuf, cases[i].error);
        assert_int_not_equal(st, BW_OK);
        assert_null(r);
        assert_memory_equal(errbuf, cases[i].error, strlen(cases[i].error));
    }
}

static int error_count;
static void count_error(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
    error_count++;
}

// After an error the parser resynchronises at the next rule, so every broken rule is named.
static void test_error_recovery(void **state)
{
    (void)state;
    const char *text = "rule a { label x family generic match nope }\n"
                       "rule b { label y family generic match has(From) }\n"
                       "rule c { label z family generic match body ~ /[/ }\n"
                       "rule d { label w family generic match has(To) }\n";
    bw_rules *r = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    bw_rules_options opts = { BW_RULES_ENGINE_AUTO, count_error, NULL };
    error_count = 0;
    assert_int_equal(bw_rules_compile_ex(text, strlen(text), "t.rules", &opts, &r, errbuf), BW_ERR_PARSE);
    assert_int_equal(error_count, 2);
    assert_non_null(strstr(errbuf, "t.rules:1:39: unknown fact 'nope' (and 1 more errors)"));
}

static void test_limits(void **state)
{
    (void)state;
    char errbuf[BW_ERRBUF_SIZE];
    bw_rules *r = NULL;
    // File size.
    size_t big = BW_RULES_MAX_FILE_BYTES + 1;
    char *text = malloc(big);
    memset(text, '#', big);
    assert_int_equal(bw_rules_compile(text, big, "big.rules", &r, errbuf), BW_ERR_LIMIT);
    assert_non_null(strstr(errbuf, "larger than"));
    free(text);
    // Pattern length.
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "rule a { label x family generic match body ~ /");
    memset(buf + n, 'a', BW_RULES_MAX_PATTERN_BYTES + 5);
    snprintf(buf + n + BW_RULES_MAX_PATTERN_BYTES + 5, sizeof buf - (size_t)n - BW_RULES_MAX_PATTERN_BYTES - 5, "/ }");
    assert_int_equal(bw_rules_compile(buf, strlen(buf), "t.rules", &r, errbuf), BW_ERR_LIMIT);
    assert_non_null(strstr(errbuf, "t.rules:1:46: regular expression longer than"));
    // Depth.
    n = snprintf(buf, sizeof buf, "rule a { label x family generic match ");
    for (int i = 0; i < BW_RULES_MAX_DEPTH + 2; i++)
        buf[n++] = '(';
    n += snprintf(buf + n, sizeof buf - (size_t)n, "has(X)");
    for (int i = 0; i < BW_RULES_MAX_DEPTH + 2; i++)
        buf[n++] = ')';
    snprintf(buf + n, sizeof buf - (size_t)n, " }");
    assert_int_equal(bw_rules_compile(buf, strlen(buf), "t.rules", &r, errbuf), BW_ERR_PARSE);
    assert_non_null(strstr(errbuf, "nested deeper than 32"));
    // Names.
    n = snprintf(buf, sizeof buf, "rule ");
    memset(buf + n, 'a', 100);
    snprintf(buf + n + 100, sizeof buf - (size_t)n - 100, " { }");
    assert_int_equal(bw_rules_compile(buf, strlen(buf), "t.rules", &r, errbuf), BW_ERR_LIMIT);
    assert_non_null(strstr(errbuf, "t.rules:1:6: name longer than 64 bytes"));
    // NUL bytes are an error, not the end of the file.
    static const char nul[] = "rule a { label x family generic match has(X) }\0rule";
    assert_int_equal(bw_rules_compile(nul, sizeof nul - 1, "t.rules", &r, errbuf), BW_ERR_PARSE);
    assert_non_null(strstr(errbuf, "t.rules:1:47: unexpected byte 0x00"));
    // An empty file is a valid, empty rule set.
    assert_int_equal(bw_rules_compile("# nothing\n", 10, "t.rules", &r, errbuf), BW_OK);
    assert_int_equal(bw_rules_count(r), 0);
    bw_rules_free(r);
}

// ---- facts

static void test_facts(void **state)
{
    (void)state;
    // Presence, absence, count.
    assert_true(matches("has(X-Mailer)", MSG_OE));
    assert_true(matches("has(x-mailer) and !has(Received-SPF)", MSG_OE));
    assert_false(matches("has(Date)", MSG_BOT));
    assert_true(matches("not has(Date)", MSG_BOT));
    assert_true(matches("count(Received) == 2", MSG_OE));
    assert_true(matches("hops == 1 and headers == 6", MSG_BOT));
    assert_true(matches("parts == 3 and urls == 1", MSG_OE));
    assert_true(matches("body_bytes < 100", MSG_BOT));
    // Order and the first own header.
    assert_true(matches("order(Message-ID, From, To, Subject, Date, X-Mailer)", MSG_OE));
    assert_false(matches("order(From, Message-ID)", MSG_OE));
    assert_false(matches("order(Date, From)", MSG_BOT));     // Date absent
    assert_true(matches("first_header(Message-ID)", MSG_OE));
    assert_true(matches("first_header(From)", MSG_BOT));
    // Header values and the named streams.
    assert_true(matches("header(X-Mailer) ~ /outlook express 6/i", MSG_OE));
    assert_false(matches("header(X-Mailer) ~ /outlook express 6/", MSG_OE));
    assert_true(matches("mailer ~ /^Microsoft Outlook Express 6\\.00\\.2900\\.2180$/", MSG_OE));
    assert_true(matches("message_id ~ /^[0-9a-f]{12}\\$[0-9a-f]{8}\\$[0-9a-f]{8}@/", MSG_OE));
    assert_true(matches("message_id !~ /\\$/", MSG_BOT));
    assert_true(matches("boundary ~ /^----=_NextPart_000_/", MSG_OE));
    assert_false(matches("boundary ~ /./", MSG_BOT));
    assert_true(matches("subject ~ /^Cheap/ and from ~ /Ann/", MSG_OE));
    assert_true(matches("header(Date) ~ /\\+0100$/", MSG_OE));
    assert_true(matches("fingerprint ~ /^received,received,message-id,from,/", MSG_OE));
    // Received chain and sender hop.
    assert_true(matches("helo ~ /^pc17$/ and rdns !~ /./", MSG_OE));
    assert_true(matches("sender_ip ~ /^84\\.12\\.34\\.7$/", MSG_OE));
    assert_true(matches("helo_is_ip", MSG_BOT));
    assert_false(matches("helo_is_ip", MSG_OE));
    // Anomalies, URLs, text.
    assert_true(matches("anomaly(missing_date)", MSG_BOT));
    assert_false(matches("anomaly(missing_date)", MSG_OE));
    assert_true(matches("url ~ /^http:\\/\\/203\\.0\\.113\\.50\\// and host ~ /^203\\./", MSG_BOT));
    assert_true(matches("domain ~ /^example\\.com$/", MSG_OE));
    assert_true(matches("body ~ /buy now/i", MSG_OE));
    assert_true(matches("body ~ /(abc)\\1/", MSG_BOT));       // back-reference: PCRE2 path
    assert_false(matches("body ~ /(xyz)\\1/", MSG_BOT));
    assert_true(matches("body ~ /Visit(?= http)/", MSG_BOT)); // lookahead: PCRE2 path
    // Session facts are reserved: they parse and are false.
    assert_false(matches("session(pipelining)", MSG_OE));
    assert_true(matches("not session(helo_count) > 1", MSG_OE));
    assert_false(matches("session(greeting) ~ /x/", MSG_OE));
    // Boolean structure.
    assert_true(matches("(has(Date) or has(X-Mailer)) and not (has(X-Foo) or has(X-Bar))", MSG_BOT));
    assert_true(matches("has(A) or has(B) or has(C) or has(From)", MSG_BOT));
}

// The rDNS recorded by the receiver disagrees with the HELO.
static void test_helo_mismatch(void **state)
{
    (void)state;
    const char *mismatch =
        "Received: from mail.bigbank.com (dsl-7-8.dyn.example.net [84.12.34.56]) by in.example.org "
        "with ESMTP id 3; Mon, 2 Mar 2009 10:00:00 +0000\r\nFrom: a@b.c\r\n\r\nx\r\n";
    const char *same =
        "Received: from mx1.example.co.uk (mx2.example.co.uk [84.12.34.57]) by in.example.org "
        "with ESMTP id 3; Mon, 2 Mar 2009 10:00:00 +0000\r\nFrom: a@b.c\r\n\r\nx\r\n";
    assert_true(matches("helo_mismatch", mismatch));
    assert_false(matches("helo_mismatch", same));
    assert_true(matches("rdns ~ /\\.dyn\\./", mismatch));
}

// A back-reference and a lookaround cannot run in Hyperscan: they go to PCRE2; everything
// else runs in Hyperscan (on x86-64 builds); the PCRE2-only engine takes everything.
static void test_engines(void **state)
{
    (void)state;
    const char *text = "rule a { label a family generic match body ~ /(ab)\\1/ }\n"
                       "rule b { label b family generic match body ~ /x(?!y)/ }\n"
                       "rule c { label c family generic match body ~ /hello/ or url ~ /example/ }\n"
                       "rule d { label d family generic match header(X-Mailer) ~ /Outlook/ }\n";
    bw_rules *r = compile(text, BW_RULES_ENGINE_AUTO);
    assert_int_equal(bw_rules_count(r), 4);
    assert_int_equal(bw_rules_pattern_count(r), 5);
#ifdef BW_TEST_HAVE_HYPERSCAN
    assert_int_equal(bw_rules_pcre2_pattern_count(r), 2);
#endif
    bw_rules_free(r);
    r = compile(text, BW_RULES_ENGINE_PCRE2);
    assert_int_equal(bw_rules_pcre2_pattern_count(r), 5);
    bw_rules_free(r);
    char out[256];
    labels_of(text, "X-Mailer: Microsoft Outlook 8\r\n\r\nabab xz hello\r\n", out, sizeof out);
    assert_string_equal(out, "a b c d");
    labels_of(text, "X-Mailer: Mutt\r\n\r\nab xy\r\n", out, sizeof out);
    assert_string_equal(out, "");
}

// Labels: sorted, distinct, space-separated; nothing appended when none match.
static void test_labels(void **state)
{
    (void)state;
    const char *text = "rule z1 { label zeta family generic match has(From) }\n"
                       "rule a1 { label alpha family generic match has(To) }\n"
                       "rule z2 { label zeta family generic match has(Subject) }\n"
                       "rule m1 { label mid family generic match has(Nope) }\n";
    char out[256];
    labels_of(text, MSG_OE, out, sizeof out);
    assert_string_equal(out, "alpha zeta");
    bw_rules *r = compile(text, BW_RULES_ENGINE_AUTO);
    bw_rules_scratch *s = bw_rules_scratch_new(r);
    env *e = env_new();
    bw_buf b = BW_BUF_INIT;
    assert_int_equal(bw_buf_append_cstr(&b, "pre:"), 0);
    assert_int_equal(bw_rules_match_labels(r, s, parse(e, "X: y\r\n\r\nbody\r\n"), &b), BW_OK);
    assert_string_equal(b.p, "pre:");
    bw_buf_free(&b);
    env_free(e);
    bw_rules_scratch_free(s);
    bw_rules_free(r);
}

static void test_explain(void **state)
{
    (void)state;
    const char *text = "rule fake_oe {\n"
                       "  label ratware:fake-oe\n  family ratware\n  weight 40\n  source \"test\"\n"
                       "  match mailer ~ /Outlook Express/ and (not has(X-MimeOLE) or message_id !~ /\\$/)\n"
                       "        and hops >= 1\n}\n"
                       "rule never { label never family generic match has(X-Never) }\n";
    bw_rules *r = compile(text, BW_RULES_ENGINE_AUTO);
    bw_rules_scratch *s = bw_rules_scratch_new(r);
    env *e = env_new();
    const bw_rules_hit *hits;
    size_t n;
    assert_int_equal(bw_rules_explain(r, s, parse(e, MSG_BOT), &hits, &n), BW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].info.name, "fake_oe");
    assert_string_equal(hits[0].info.label, "ratware:fake-oe");
    assert_int_equal(hits[0].info.weight, 40);
    assert_int_equal(hits[0].fact_count, 3);
    assert_string_equal(hits[0].facts[0].expr, "mailer ~ /Outlook Express/");
    assert_memory_equal(hits[0].facts[0].value.p, "Microsoft Outlook Express 6.00.2900.2180", 40);
    assert_string_equal(hits[0].facts[1].expr, "has(X-MimeOLE)");
    assert_true(hits[0].facts[1].negated);
    assert_string_equal(hits[0].facts[2].expr, "hops >= 1");
    assert_true(hits[0].facts[2].has_number);
    assert_int_equal(hits[0].facts[2].number, 1);
    bw_buf b = BW_BUF_INIT;
    assert_int_equal(bw_rules_hits_to_json(hits, n, &b), BW_OK);
    assert_non_null(strstr(b.p, "\"rule\":\"fake_oe\""));
    assert_non_null(strstr(b.p, "{\"fact\":\"has(X-MimeOLE)\",\"negated\":true}"));
    assert_non_null(strstr(b.p, "{\"fact\":\"hops >= 1\",\"negated\":false,\"number\":1}"));
    bw_buf_free(&b);
    // The genuine Outlook Express message: X-MimeOLE present and an OE Message-ID.
    assert_int_equal(bw_rules_explain(r, s, parse(e, MSG_OE), &hits, &n), BW_OK);
    assert_int_equal(n, 0);
    env_free(e);
    bw_rules_scratch_free(s);
    bw_rules_free(r);
}

// The shipped set compiles, every rule has a label and family, botnet rules cite a source.
static void test_builtin(void **state)
{
    (void)state;
    bw_rules *r = NULL;
    char errbuf[BW_ERRBUF_SIZE] = "";
    bw_status st = bw_rules_builtin(&r, errbuf);
    if (st != BW_OK)
        print_message("%s\n", errbuf);
    assert_int_equal(st, BW_OK);
    assert_true(bw_rules_count(r) >= 5);
    size_t botnet = 0;
    for (size_t i = 0; i < bw_rules_count(r); i++) {
        bw_rules_info info;
        bw_rules_get_info(r, i, &info);
        assert_true(info.source[0] != '\0');
        botnet += strcmp(info.family, "botnet") == 0;
    }
    assert_true(botnet >= 1);
    // The embedded copy is the file in the tree (CMake re-embeds it when it changes).
    size_t len;
    const char *text = bw_rules_builtin_text(&len);
    FILE *f = fopen(BW_SOURCE_DIR "/rules/botwatch.rules", "rb");
    assert_non_null(f);
    char *disk = malloc(len + 2);
    size_t n = fread(disk, 1, len + 1, f);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(disk, text, len);
    free(disk);
    print_message("shipped rules: %zu rules (%zu botnet), %zu patterns, %zu in PCRE2\n", bw_rules_count(r), botnet,
                  bw_rules_pattern_count(r), bw_rules_pcre2_pattern_count(r));
    bw_rules_free(r);
}

static void builtin_labels(const char *msg_text, char *out, size_t n)
{
    size_t len;
    const char *text = bw_rules_builtin_text(&len);
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    labels_of(copy, msg_text, out, n);
    free(copy);
}

// Each shipped botnet rule matches a message built from its cited description, and not
// the same message turned into a reply or an HTML mail; a genuine Outlook Express message
// matches no shipped rule while a bot claiming to be one does.
static void test_builtin_examples(void **state)
{
    (void)state;
    char out[512];
    builtin_labels("Received: from a.example.net ([84.12.34.7]) by mx.example.org with SMTP; Mon, 23 Jun 2008 "
                   "10:00:00 +0000\r\nFrom: x@example.net\r\nSubject: hi\r\nDate: Mon, 23 Jun 2008 10:00:00 "
                   "+0000\r\nMessage-ID: <1@example.net>\r\n\r\nHello, my friend.\r\nDo you want to buy any "
                   "stuff: any kind of pills, oem software, cool porn?\r\nJust mail me back, i'll find the best "
                   "offer for you.My Email: someone@example.com\r\n",
                   out, sizeof out);
    assert_string_equal(out, "storm");
    const char *nfl_head = "Received: from a.example.net ([84.12.34.7]) by mx.example.org with SMTP; Mon, 3 Sep 2007 "
                      "10:00:00 +0000\r\nFrom: x@example.net\r\nSubject: Free NFL Game Tracker\r\nDate: Mon, 3 "
                      "Sep 2007 10:00:00 +0000\r\nMessage-ID: <2@example.net>\r\n";
    const char *nfl_tail = "\r\nFree NFL game tracker, "
                      "all 256 games: http://84.12.34.50/\r\n";
    char msg[2048];
    snprintf(msg, sizeof msg, "%s%s%s", nfl_head, "", nfl_tail);
    builtin_labels(msg, out, sizeof out);
    assert_string_equal(out, "storm");
    snprintf(msg, sizeof msg, "%s%s%s", nfl_head, "In-Reply-To: <1@example.org>\r\n", nfl_tail);
    builtin_labels(msg, out, sizeof out);
    assert_string_equal(out, "storm");      // the subject rule alone still fires
    const char *ecard_head = "Received: from a.example.net ([84.12.34.7]) by mx.example.org with SMTP; Mon, 3 Sep 2007 "
                        "10:00:00 +0000\r\nFrom: x@example.net\r\nSubject: You've received an ecard\r\nDate: Mon, 3 "
                        "Sep 2007 10:00:00 +0000\r\nMessage-ID: <3@example.net>\r\n";
    const char *ecard_tail = "\r\nA friend sent you an "
                        "ecard. See it at http://84.12.34.51/ecard.exe\r\n";
    snprintf(msg, sizeof msg, "%s%s%s", ecard_head, "", ecard_tail);
    builtin_labels(msg, out, sizeof out);
    assert_string_equal(out, "storm");
    snprintf(msg, sizeof msg, "%s%s%s", ecard_head, "References: <1@example.org>\r\n", ecard_tail);
    builtin_labels(msg, out, sizeof out);
    assert_string_equal(out, "");
    snprintf(msg, sizeof msg, "%s%s%s", ecard_head, "Content-Type: text/html\r\n", ecard_tail);
    builtin_labels(msg, out, sizeof out);
    assert_string_equal(out, "generic:html-ip-link");   // not Storm's plain-text shape
    builtin_labels(MSG_OE, out, sizeof out);
    assert_string_equal(out, "");
    // MSG_BOT also has Storm's shape: one short plain-text line with a bare-IP link.
    builtin_labels(MSG_BOT, out, sizeof out);
    assert_string_equal(out, "generic:helo-ip ratware:forged-outlook storm");
}

// One compiled rule set shared by threads, each with its own scratch, parser and analyzer:
// every thread gets the same labels as a single-threaded run.
typedef struct thread_arg {
    const bw_rules *rules;
    int mismatches;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    bw_rules_scratch *s = bw_rules_scratch_new(a->rules);
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, errbuf);
    bw_buf b = BW_BUF_INIT;
    for (int i = 0; i < 200 && s && parser && analyzer; i++) {
        const char *text = i % 2 ? MSG_BOT : MSG_OE;
        const bw_message *msg;
        bw_mail_record rec;
        bw_buf_clear(&b);
        if (bw_mime_parse(parser, text, strlen(text), &msg) != BW_OK || bw_mail_analyze(analyzer, msg, &rec) != BW_OK ||
            bw_rules_match_labels(a->rules, s, &rec, &b) != BW_OK)
            a->mismatches++;
        else if (strcmp(b.n ? b.p : "", i % 2 ? "generic:helo-ip ratware:forged-outlook storm" : ""))
            a->mismatches++;
    }
    bw_buf_free(&b);
    bw_mail_analyzer_free(analyzer);
    bw_mime_parser_free(parser);
    bw_rules_scratch_free(s);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    bw_rules *r = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_rules_builtin(&r, errbuf), BW_OK);
    pthread_t t[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){ r, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].mismatches, 0);
    }
    bw_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_error_recovery),
        cmocka_unit_test(test_limits),      cmocka_unit_test(test_facts),
        cmocka_unit_test(test_helo_mismatch), cmocka_unit_test(test_engines),
        cmocka_unit_test(test_labels),      cmocka_unit_test(test_explain),
        cmocka_unit_test(test_builtin),     cmocka_unit_test(test_builtin_examples),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
