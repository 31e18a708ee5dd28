// SPDX-License-Identifier: MIT
// libFuzzer target for the rule-file parser (bw_rules, rules_parse.c): each input is a rule
// file. It is compiled with the PCRE2-only engine (Hyperscan's compiler is a trusted
// third-party component, and its compile time on hostile patterns would drown the fuzzer
// in timeouts) unless it starts with "#hs\n" and is short, which exercises botwatch's
// Hyperscan database building and fallback too. When it compiles, it is matched and
// explained against two fixed messages so the evaluator and the explain walk run over
// whatever expression the input built.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const MESSAGES[] = {
    "Received: from pc17 (dsl-1-2.example.net [84.12.34.7]) by mx.example.org with SMTP; "
    "Mon, 2 Mar 2009 09:59:58 +0000\r\n"
    "Message-ID: <000f01c99b2e$abe4d510$6031a8c0@pc17>\r\nFrom: \"Ann\" <ann@example.net>\r\n"
    "To: <bob@example.org>\r\nSubject: Cheap meds\r\nDate: Mon, 2 Mar 2009 10:59:57 +0160\r\n"
    "MIME-Version: 1.0\r\nX-Mailer: Microsoft Outlook Express 6.00.2900.2180\r\n"
    "Content-Type: multipart/alternative; boundary=\"----=_NextPart_000_0001_01C99B2E.12345678\"\r\n\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678\r\nContent-Type: text/plain\r\n\r\n"
    "Buy now at http://pills.example.com/buy?id=1 today\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678\r\nContent-Type: text/html\r\n\r\n"
    "<p>Buy <a href=\"http://84.12.34.50/x\">here</a></p>\r\n"
    "------=_NextPart_000_0001_01C99B2E.12345678--\r\n",
    "Received: from [84.12.34.9] (helo=[84.12.34.9]) by in.example.org with esmtp id 2; "
    "Mon, 2 Mar 2009 10:00:00 +0000\r\nSubject: NFL Game List\r\n\r\nhttp://84.12.34.50/ abcabc\r\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bw_mime_parser *parser;
    static bw_mail_analyzer *analyzer;
    char errbuf[BW_ERRBUF_SIZE];
    if (!parser) {
        parser = bw_mime_parser_new(NULL);
        analyzer = bw_mail_analyzer_new(NULL, errbuf);
        if (!parser || !analyzer)
            abort();
    }
    // Short inputs only for Hyperscan: its compile time grows with the patterns' size.
    bool hs = size <= 512 && size >= 4 && memcmp(data, "#hs\n", 4) == 0;
    bw_rules_options opts = { hs ? BW_RULES_ENGINE_AUTO : BW_RULES_ENGINE_PCRE2, NULL, NULL };
    bw_rules *rules = NULL;
    if (bw_rules_compile_ex((const char *)data, size, "fuzz.rules", &opts, &rules, errbuf) != BW_OK) {
        if (strlen(errbuf) >= BW_ERRBUF_SIZE)
            abort();
        return 0;
    }
    bw_rules_scratch *scratch = bw_rules_scratch_new(rules);
    for (size_t m = 0; scratch && m < sizeof MESSAGES / sizeof MESSAGES[0]; m++) {
        const bw_message *msg;
        bw_mail_record rec;
        if (bw_mime_parse(parser, MESSAGES[m], strlen(MESSAGES[m]), &msg) != BW_OK ||
            bw_mail_analyze(analyzer, msg, &rec) != BW_OK)
            abort();
        bw_buf labels = BW_BUF_INIT, json = BW_BUF_INIT;
        const bw_rules_hit *hits;
        size_t n;
        if (bw_rules_match_labels(rules, scratch, &rec, &labels) == BW_OK &&
            bw_rules_explain(rules, scratch, &rec, &hits, &n) == BW_OK)
            (void)bw_rules_hits_to_json(hits, n, &json);
        bw_buf_free(&labels);
        bw_buf_free(&json);
    }
    bw_rules_scratch_free(scratch);
    bw_rules_free(rules);
    return 0;
}
