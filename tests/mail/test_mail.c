// SPDX-License-Identifier: MIT
// Unit tests for bw_mail: crafted messages through bw_mime and bw_mail_analyze, checking
// the sender hop, the choice of visible text (plain preferred in an alternative, HTML
// rendered when alone), URLs from both, the header fingerprint, anomalies, limits, and
// the JSON record's fields.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"

static const char alternative_msg[] =
    "Received: from localhost (localhost [127.0.0.1]) by mx.victim.example (Postfix) with ESMTP id 1;\r\n"
    " Thu, 22 Aug 2002 12:17:21 +0000\r\n"
    "Received: from bot.example (dsl-9.isp.example [45.33.32.156]) by mx.victim.example (Postfix)\r\n"
    " with SMTP id 2; Thu, 22 Aug 2002 12:17:20 +0000\r\n"
    "From: \"Deals\" <deals@spam.example>\r\n"
    "To: you@victim.example\r\n"
    "Subject: =?utf-8?q?Caf=C3=A9_deals?=\r\n"
    "Date: Thu, 22 Aug 2002 12:17:00 +0000\r\n"
    "Message-ID: <abc@spam.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Plain body: visit www.plain.example now.\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<html><body><p>HTML body</p><a href=3D\"http://&#104;tml.example/x?a=3D1&amp;b=3D2\">click</a>=\r\n"
    "<img src=3D\"http://3232235777/p.gif\"></body></html>\r\n"
    "--b1--\r\n";

static const char html_only_msg[] =
    "From: x@y.example\r\n"
    "Subject: html\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<html><head><title>hidden</title><style>.a{}</style></head>\r\n"
    "<body>Buy <b>now</b>&nbsp;&amp; save<!-- http://comment.example/ --><br>hxxp://obf.example/</body></html>\r\n";

static bool slice_is(bw_slice s, const char *want)
{
    return s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0);
}

static void test_alternative(void **state)
{
    (void)state;
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *a = bw_mail_analyzer_new(NULL, errbuf);
    assert_non_null(parser);
    assert_non_null(a);
    const bw_message *msg;
    assert_int_equal(bw_mime_parse(parser, alternative_msg, sizeof alternative_msg - 1, &msg), BW_OK);
    bw_mail_record r;
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);

    assert_int_equal(r.received_count, 2);
    assert_int_equal(r.sender_hop, 1);
    assert_true(slice_is(r.sender_ip, "45.33.32.156"));
    assert_true(slice_is(r.helo, "bot.example"));
    assert_true(r.received[0].trusted);
    assert_true(r.received[1].has_time);
    assert_true(slice_is(r.text, "Plain body: visit www.plain.example now."));
    assert_true(slice_is(r.header_fingerprint, "received,received,from,to,subject,date,message-id,mime-version,content-type"));
    assert_int_equal(strlen(r.sha256), 64);

    assert_int_equal(r.url_count, 3);
    assert_true(slice_is(r.urls[0].url, "http://www.plain.example/"));
    assert_true(r.urls[0].obfuscated);
    assert_false(r.urls[0].from_html);
    assert_true(slice_is(r.urls[1].url, "http://html.example/x?a=1&b=2"));
    assert_true(r.urls[1].from_html);
    assert_true(r.urls[1].obfuscated);   // "&#104;tml.example": a reference in the host
    assert_true(slice_is(r.urls[2].host, "192.168.1.1"));
    assert_true(r.urls[2].host_is_ip);
    assert_true(r.anomalies & BW_MAIL_ANOM_OBFUSCATED_URL);
    assert_false(r.anomalies & BW_MAIL_ANOM_HTML_ONLY);

    bw_buf json = BW_BUF_INIT;
    assert_int_equal(bw_mail_record_to_json(&r, &json), BW_OK);
    static const char *const expected[] = {
        "\"subject\":\"Caf\xc3\xa9 deals\"", "\"message_id\":\"abc@spam.example\"",
        "\"date\":\"2002-08-22T12:17:00Z\"", "\"sender_ip\":\"45.33.32.156\"", "\"helo\":\"bot.example\"",
        "\"header_names\":[\"Received\",\"Received\",\"From\"", "\"content_type\":\"multipart/alternative\"",
        "\"transfer_encoding\":\"quoted-printable\"", "\"domain\":\"html.example\"",
        "\"anomalies\":[", "\"obfuscated_url\"", "\"time\":\"2002-08-22T12:17:20Z\"",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(json.p, expected[i])) {
            fprintf(stderr, "missing %s in\n%s\n", expected[i], json.p);
            fail();
        }
    bw_buf_free(&json);
    bw_mail_analyzer_free(a);
    bw_mime_parser_free(parser);
}

static void test_html_only_and_limits(void **state)
{
    (void)state;
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    bw_mail_config config;
    bw_mail_config_default(&config);
    config.max_text_bytes = 12;
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *a = bw_mail_analyzer_new(&config, errbuf);
    const bw_message *msg;
    assert_int_equal(bw_mime_parse(parser, html_only_msg, sizeof html_only_msg - 1, &msg), BW_OK);
    bw_mail_record r;
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_true(slice_is(r.text, "Buy now & sa"));
    assert_true(r.anomalies & BW_MAIL_ANOM_HTML_ONLY);
    assert_true(r.anomalies & BW_MAIL_ANOM_NO_RECEIVED);
    assert_true(r.anomalies & (BW_MAIL_ANOM_TEXT_LIMIT | BW_MAIL_ANOM_HTML_LIMIT));
    assert_int_equal(r.sender_hop, -1);
    bw_mail_analyzer_free(a);

    // Without the text cap: the URL after the <br> is visible, the one in the comment hidden.
    a = bw_mail_analyzer_new(NULL, errbuf);
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_true(slice_is(r.text, "Buy now & save\nhxxp://obf.example/"));
    assert_int_equal(r.url_count, 2);
    assert_true(slice_is(r.urls[0].url, "http://obf.example/"));
    assert_false(r.urls[0].hidden);
    assert_true(slice_is(r.urls[1].url, "http://comment.example/"));
    assert_true(r.urls[1].hidden);
    bw_mail_analyzer_free(a);

    // Received limit and a bad trusted entry.
    config = (bw_mail_config){ 0 };
    bw_mail_config_default(&config);
    config.max_received = 1;
    a = bw_mail_analyzer_new(&config, errbuf);
    assert_int_equal(bw_mime_parse(parser, alternative_msg, sizeof alternative_msg - 1, &msg), BW_OK);
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_int_equal(r.received_count, 1);
    assert_true(r.anomalies & BW_MAIL_ANOM_RECEIVED_LIMIT);
    bw_mail_analyzer_free(a);
    const char *bad[] = { "no such thing!" };
    config.trusted = bad;
    config.trusted_count = 1;
    assert_null(bw_mail_analyzer_new(&config, errbuf));
    assert_string_equal(bw_mail_anomaly_name(BW_MAIL_ANOM_FORGED_RECEIVED), "forged_received");
    assert_non_null(bw_mail_anomaly_name(BW_ANOM_BAD_BOUNDARY));
    bw_mime_parser_free(parser);
}

static void test_html_as_plain(void **state)
{
    (void)state;
    static const char msg_text[] = "Subject: x\r\n\r\n  <HTML><body><p>Sniffed</p><a href=http://sniff.example/>x</a></body></html>\r\n";
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *a = bw_mail_analyzer_new(NULL, errbuf);
    const bw_message *msg;
    assert_int_equal(bw_mime_parse(parser, msg_text, sizeof msg_text - 1, &msg), BW_OK);
    bw_mail_record r;
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_true(slice_is(r.text, "Sniffed\nx"));
    assert_int_equal(r.url_count, 1);
    assert_true(r.urls[0].from_html);
    bw_mail_analyzer_free(a);
    bw_mime_parser_free(parser);
}

static void test_empty_message(void **state)
{
    (void)state;
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *a = bw_mail_analyzer_new(NULL, errbuf);
    const bw_message *msg;
    assert_int_equal(bw_mime_parse(parser, "", 0, &msg), BW_OK);
    bw_mail_record r;
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_string_equal(r.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    bw_buf json = BW_BUF_INIT;
    assert_int_equal(bw_mail_record_to_json(&r, &json), BW_OK);
    assert_non_null(strstr(json.p, "\"date\":null"));
    assert_non_null(strstr(json.p, "\"sender_ip\":null"));
    bw_buf_free(&json);
    // The header-order fingerprint with no header at all, then with some, then none again.
    assert_int_equal(r.header_fingerprint.n, 0);
    static const char two[] = "From: a@example.org\nTO: b@example.org\n\nbody\n";
    assert_int_equal(bw_mime_parse(parser, two, sizeof two - 1, &msg), BW_OK);
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_int_equal(r.header_fingerprint.n, 7);
    assert_memory_equal(r.header_fingerprint.p, "from,to", 7);
    assert_int_equal(bw_mime_parse(parser, "", 0, &msg), BW_OK);
    assert_int_equal(bw_mail_analyze(a, msg, &r), BW_OK);
    assert_int_equal(r.header_fingerprint.n, 0);
    bw_mail_analyzer_free(a);
    bw_mime_parser_free(parser);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alternative),
        cmocka_unit_test(test_html_only_and_limits),
        cmocka_unit_test(test_html_as_plain),
        cmocka_unit_test(test_empty_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
