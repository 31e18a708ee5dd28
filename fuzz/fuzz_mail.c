// SPDX-License-Identifier: MIT
// libFuzzer target for the whole message path: bw_mime parse, bw_mail_analyze (Received,
// HTML, URLs) and the JSON record, as `botwatch parse --json` and ingest run it.
#include <stddef.h>
#include <stdint.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // Reused across inputs, as ingest reuses them across messages; reachable, not leaked.
    static bw_mime_parser *parser;
    static bw_mail_analyzer *analyzer;
    if (!parser) {
        char errbuf[BW_ERRBUF_SIZE];
        bw_mail_config config;
        bw_mail_config_default(&config);
        config.max_urls = 16;
        config.max_received = 8;
        config.max_text_bytes = 4096;
        parser = bw_mime_parser_new(NULL);
        analyzer = bw_mail_analyzer_new(&config, errbuf);
        if (!parser || !analyzer)
            return 0;
    }
    const bw_message *msg;
    if (bw_mime_parse(parser, data, size, &msg) != BW_OK)
        return 0;
    bw_mail_record record;
    if (bw_mail_analyze(analyzer, msg, &record) == BW_OK) {
        bw_buf json = BW_BUF_INIT;
        (void)bw_mail_record_to_json(&record, &json);
        bw_buf_free(&json);
    }
    return 0;
}
