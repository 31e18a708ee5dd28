// SPDX-License-Identifier: MIT
// Unit tests of the MIME parser (src/mime): table-driven crafted messages for headers,
// RFC 2047/2231, the MIME tree, transfer and charset decoding, dates, every limit and the
// anomaly names; chunking invariance; then real data: every file of the malformed set
// and all 6,046 SpamAssassin messages parse (skipped, saying why, when data is absent).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/mime.h"
#include "mime_test_util.h"

static const bw_message *parse_str(bw_mime_parser *p, const char *text)
{
    const bw_message *m = NULL;
    assert_int_equal(bw_mime_parse(p, text, strlen(text), &m), BW_OK);
    assert_non_null(m);
    return m;
}

static void assert_slice(bw_slice s, const char *want)
{
    size_t n = strlen(want);
    if (s.n != n || (n && memcmp(s.p, want, n) != 0))
        fail_msg("got [%.*s] (%zu), want [%s] (%zu)", (int)s.n, s.p ? s.p : "", s.n, want, n);
}

// A comma-separated list of the anomaly names set in flags.
static void names_of(uint64_t flags, char *out, size_t cap)
{
    out[0] = '\0';
    for (int bit = 0; bit < BW_ANOM_COUNT; bit++)
        if (flags & (1ull << bit)) {
            if (out[0])
                strncat(out, ",", cap - strlen(out) - 1);
            strncat(out, bw_mime_anomaly_name(1ull << bit), cap - strlen(out) - 1);
        }
}

static void assert_flags(uint64_t got, uint64_t must, uint64_t must_not)
{
    if ((got & must) != must || (got & must_not)) {
        char g[512], w[512], x[512];
        names_of(got, g, sizeof g);
        names_of(must, w, sizeof w);
        names_of(must_not, x, sizeof x);
        fail_msg("flags [%s], need [%s], forbid [%s]", g, w, x);
    }
}

// ---- anomaly names -------------------------------------------------------------------------

static void test_anomaly_names(void **state)
{
    (void)state;
    for (int i = 0; i < BW_ANOM_COUNT; i++) {
        const char *name = bw_mime_anomaly_name(1ull << i);
        assert_non_null(name);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(name, bw_mime_anomaly_name(1ull << j));
    }
    assert_null(bw_mime_anomaly_name(1ull << BW_ANOM_COUNT));
    assert_null(bw_mime_anomaly_name(3));
    assert_null(bw_mime_anomaly_name(0));
    assert_string_equal(bw_mime_anomaly_name(BW_ANOM_BAD_BOUNDARY), "bad_boundary");
    assert_string_equal(bw_mime_anomaly_name(BW_ANOM_8BIT_HEADER), "8bit_header");
}

// ---- headers -------------------------------------------------------------------------------

static void test_headers(void **state)
{
    bw_mime_parser *p = *state;
    const bw_message *m = parse_str(p,
        "From sender@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from a\n\tby b;\n  Mon, 1 Jan 2001 00:00:00 +0000\n"
        "Received: from c by d\n"
        "Subject:    Hello\n"
        "X-Empty:\n"
        "From: Someone <s@example.com>\n"
        "Message-ID:  <abc@example.com> \n"
        "Date: Mon, 1 Jan 2001 10:00:00 +0100\n"
        "\n"
        "body\n");
    assert_int_equal(m->header_count, 7);
    assert_slice(m->headers[0].name, "Received");
    assert_slice(m->headers[0].value, "from a\tby b;  Mon, 1 Jan 2001 00:00:00 +0000");
    assert_slice(m->headers[1].value, "from c by d");
    assert_slice(m->headers[2].name, "Subject");
    assert_slice(m->headers[2].value, "Hello");
    assert_slice(m->headers[3].value, "");
    assert_slice(m->subject, "Hello");
    assert_slice(m->from, "Someone <s@example.com>");
    assert_slice(m->message_id, "abc@example.com");
    assert_true(m->has_date);
    assert_int_equal(m->date, 978339600);
    assert_non_null(bw_message_header(m, "RECEIVED", 1));
    assert_null(bw_message_header(m, "received", 2));
    assert_slice(bw_message_header(m, "received", 1)->value, "from c by d");
    assert_int_equal(m->headers[0].offset, strlen("From sender@example.com Mon Jan  1 00:00:00 2001\n"));
    assert_int_equal(m->part_count, 1);
    assert_slice(m->parts[0].text, "body\n");
    assert_ptr_equal(m->parts[0].headers, m->headers);
    assert_flags(m->anomalies, BW_ANOM_BARE_LF,
                 BW_ANOM_BAD_HEADER_LINE | BW_ANOM_MISSING_DATE | BW_ANOM_MISSING_FROM |
                     BW_ANOM_MISSING_MESSAGE_ID | BW_ANOM_DUPLICATE_SINGLETON | BW_ANOM_NO_HEADER_BODY_SEP);
}

typedef struct flag_case {
    const char *name;
    const char *message;
    uint64_t must, must_not;
} flag_case;

static const flag_case header_flag_cases[] = {
    { "crlf clean", "From: a@b\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n", 0,
      BW_ANOM_BARE_LF | BW_ANOM_BARE_CR | BW_ANOM_MISSING_DATE | BW_ANOM_MISSING_FROM | BW_ANOM_MISSING_MESSAGE_ID },
    { "missing all", "Subject: x\n\nbody", BW_ANOM_MISSING_DATE | BW_ANOM_MISSING_FROM | BW_ANOM_MISSING_MESSAGE_ID, 0 },
    { "duplicate subject", "Subject: a\nSubject: b\n\n", BW_ANOM_DUPLICATE_SINGLETON, 0 },
    { "duplicate received ok", "Received: a\nReceived: b\n\n", 0, BW_ANOM_DUPLICATE_SINGLETON },
    { "bad date", "Date: yesterday-ish\n\n", BW_ANOM_BAD_DATE, BW_ANOM_MISSING_DATE },
    { "8bit header", "Subject: caf\xc3\xa9\n\n", BW_ANOM_8BIT_HEADER, 0 },
    { "no colon", "Subject: a\nthis is not a header\nX: y\n", BW_ANOM_NO_HEADER_BODY_SEP | BW_ANOM_BAD_HEADER_LINE, 0 },
    { "empty name", "Subject: a\n: orphan\n\n", BW_ANOM_BAD_HEADER_LINE, BW_ANOM_NO_HEADER_BODY_SEP },
    { "first line continuation", " folded\nSubject: a\n\n", BW_ANOM_BAD_HEADER_LINE, 0 },
    { "bare cr", "Subject: a\rb\n\n", BW_ANOM_BARE_CR, 0 },
    { "nul", "Subject: a\n\nx\0y", BW_ANOM_NUL_BYTE, 0 },
    { "empty", "", BW_ANOM_EMPTY_MESSAGE, 0 },
    { "multipart without version", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
      BW_ANOM_MIME_WITHOUT_VERSION, 0 },
    { "multipart with version", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n", 0,
      BW_ANOM_MIME_WITHOUT_VERSION },
};

static void test_header_flags(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof header_flag_cases / sizeof header_flag_cases[0]; i++) {
        const flag_case *c = &header_flag_cases[i];
        const bw_message *m = NULL;
        size_t n = strlen(c->message);
        if (strcmp(c->name, "nul") == 0)
            n = sizeof "Subject: a\n\nx\0y" - 1;
        assert_int_equal(bw_mime_parse(p, c->message, n, &m), BW_OK);
        print_message("case %s\n", c->name);
        assert_flags(m->anomalies, c->must, c->must_not);
    }
}

static void test_bad_lines_not_lost(void **state)
{
    bw_mime_parser *p = *state;
    const bw_message *m = parse_str(p, "Subject: a\nnot a header line\nX-After: 1\n\nreal body\n");
    assert_int_equal(m->header_count, 1);
    // The headers end at the bad line; it and what follows are the body, not dropped.
    assert_slice(m->parts[0].text, "not a header line\nX-After: 1\n\nreal body\n");
}

// ---- RFC 2047 ------------------------------------------------------------------------------

typedef struct text_case {
    const char *in;
    const char *want;
    uint64_t flags;   // must be set
} text_case;

static const text_case rfc2047_cases[] = {
    { "plain text", "plain text", 0 },
    { "=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9", 0 },
    { "=?UTF-8?Q?a_b?=", "a b", 0 },
    { "=?utf-8?b?w6k=?=", "\xc3\xa9", 0 },
    { "=?iso-8859-1?q?caf=E9?= au lait", "caf\xc3\xa9 au lait", 0 },
    { "=?utf-8?q?a?= =?utf-8?q?b?=", "ab", 0 },                    // adjacent words: no space
    { "=?utf-8?q?a?=\t  =?utf-8?q?b?=", "ab", 0 },
    { "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b", 0 },
    { "x=?utf-8?q?a?=y", "xay", 0 },                              // glued to text: decoded
    { "=?utf-8?b?4pyI?= =?utf-8?b?77iP?=", "\xe2\x9c\x88\xef\xb8\x8f", 0 },
    { "=?utf-8?b?4g==?= =?utf-8?b?nIg=?=", "\xe2\x9c\x88", 0 },       // split character rejoined
    { "=?koi8-r?b?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0 },
    { "=?ks_c_5601-1987?B?waa48Q==?=", "\xec\xa0\x9c\xeb\xaa\xa9", 0 },
    { "=?x-sjis?B?g2WDWINn?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0 },
    { "=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0 },
    { "=?utf-8*en?q?hi?=", "hi", 0 },                             // RFC 2231 language
    { "=?no-such-charset?q?caf=E9?=", "caf\xc3\xa9", BW_ANOM_BAD_CHARSET },
    { "=?utf-8?x?abc?=", "=?utf-8?x?abc?=", BW_ANOM_BAD_ENCODED_WORD },
    { "=?utf-8?q?unterminated", "=?utf-8?q?unterminated", BW_ANOM_BAD_ENCODED_WORD },
    { "=?utf-8?q?bad=ZZ?=", "bad=ZZ", 0 },
    { "=?utf-8?b?w6k?=", "\xc3\xa9", BW_ANOM_BAD_ENCODED_WORD },    // missing padding
    { "=?utf-8?q?\xff?=", "\xef\xbf\xbd", BW_ANOM_CHARSET_ERRORS },
    { "raw caf\xc3\xa9", "raw caf\xc3\xa9", 0 },                  // RFC 6532 UTF-8
    { "raw \xe9t\xe9", "raw \xef\xbf\xbdt\xef\xbf\xbd", BW_ANOM_CHARSET_ERRORS },
};

static void test_rfc2047(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc2047_cases / sizeof rfc2047_cases[0]; i++) {
        const text_case *c = &rfc2047_cases[i];
        bw_buf out = BW_BUF_INIT;
        uint64_t flags = 0;
        assert_int_equal(bw_mime_decode_header(bw_slice_cstr(c->in), &out, &flags), BW_OK);
        print_message("case %s\n", c->in);
        assert_slice(bw_buf_slice(&out), c->want);
        assert_flags(flags, c->flags, 0);
        bw_buf_free(&out);
    }
}

// ---- Content-Type, RFC 2231 ----------------------------------------------------------------

typedef struct ctype_case {
    const char *header;      // Content-Type value
    const char *type, *charset, *name, *boundary;
    uint64_t flags;
} ctype_case;

static const ctype_case ctype_cases[] = {
    { "text/plain", "text/plain", "", "", "", 0 },
    { "TEXT/HTML; CHARSET=\"ISO-8859-1\"", "text/html", "iso-8859-1", "", "", 0 },
    { "text/plain (comment) ; charset = utf-8 (yes)", "text/plain", "utf-8", "", "", 0 },
    { "text (c) / (c) plain", "text/plain", "", "", "", 0 },
    { "application/octet-stream; name=\"a \\\"q\\\" b.txt\"", "application/octet-stream", "", "a \"q\" b.txt", "", 0 },
    { "application/pdf; name*=utf-8''caf%C3%A9.pdf", "application/pdf", "", "caf\xc3\xa9.pdf", "", 0 },
    { "application/pdf; name*=iso-8859-1'fr'caf%E9.pdf", "application/pdf", "", "caf\xc3\xa9.pdf", "", 0 },
    { "application/pdf; name*0=\"long\"; name*1=\"name\"; name*2=\".pdf\"", "application/pdf", "", "longname.pdf", "", 0 },
    { "application/pdf; name*1*=%E9.pdf; name*0*=iso-8859-1''caf", "application/pdf", "", "caf\xc3\xa9.pdf", "", 0 },
    { "application/pdf; name*0=a; name*2=c", "application/pdf", "", "a", "", BW_ANOM_BAD_RFC2231 },
    { "application/pdf; name=\"=?utf-8?b?w6kucGRm?=\"", "application/pdf", "", "\xc3\xa9.pdf", "", 0 },
    { "multipart/mixed; boundary=\"----=_Part_1\"", "multipart/mixed", "", "", "----=_Part_1", BW_ANOM_MIME_WITHOUT_VERSION },
    { "multipart/mixed; boundary=simple ", "multipart/mixed", "", "", "simple", 0 },
    { "multipart/mixed", "multipart/mixed", "", "", "", BW_ANOM_NO_BOUNDARY },
    { "garbage", "text/plain", "", "", "", BW_ANOM_BAD_CONTENT_TYPE },
    { "", "text/plain", "", "", "", BW_ANOM_BAD_CONTENT_TYPE },
};

static void test_content_type(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof ctype_cases / sizeof ctype_cases[0]; i++) {
        const ctype_case *c = &ctype_cases[i];
        char msg[1024];
        snprintf(msg, sizeof msg, "Content-Type: %s\n\nbody\n", c->header);
        print_message("case %s\n", c->header);
        const bw_message *m = parse_str(p, msg);
        assert_slice(m->parts[0].content_type, c->type);
        assert_slice(m->parts[0].charset, c->charset);
        assert_slice(m->parts[0].name, c->name);
        assert_slice(m->parts[0].boundary, c->boundary);
        assert_flags(m->anomalies, c->flags, 0);
    }
}

static void test_disposition(void **state)
{
    bw_mime_parser *p = *state;
    const bw_message *m = parse_str(p,
        "Content-Type: application/octet-stream; name=fallback.bin\n"
        "Content-Disposition: ATTACHMENT; filename*=UTF-8''%E2%82%AC.txt\n"
        "Content-Transfer-Encoding: Base64\n\naGVsbG8=\n");
    assert_slice(m->parts[0].disposition, "attachment");
    assert_slice(m->parts[0].filename, "\xe2\x82\xac.txt");
    assert_slice(m->parts[0].name, "fallback.bin");
    assert_slice(m->parts[0].transfer_encoding, "base64");
    assert_slice(m->parts[0].decoded, "hello");
    m = parse_str(p, "Content-Type: image/gif; name=only-name.gif\n\nx");
    assert_slice(m->parts[0].filename, "only-name.gif");
}

// ---- MIME tree -----------------------------------------------------------------------------

typedef struct tree_case {
    const char *name;
    const char *message;
    const char *shape;   // "type@depth" per part, pre-order, separated by spaces
    uint64_t must, must_not;
} tree_case;

#define MV "MIME-Version: 1.0\n"

static const tree_case tree_cases[] = {
    { "nested", MV "Content-Type: multipart/mixed; boundary=outer\n\npreamble\n--outer\n"
                "Content-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nplain\n"
                "--inner\nContent-Type: text/html\n\n<b>html</b>\n--inner--\nepilogue of inner\n--outer\n"
                "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lG\n--outer--\nepilogue\n",
      "multipart/mixed@0 multipart/alternative@1 text/plain@2 text/html@2 image/gif@1", 0,
      BW_ANOM_MISSING_CLOSE_BOUNDARY | BW_ANOM_BAD_BOUNDARY },
    { "rfc822", MV "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nintro\n--b\nContent-Type: message/rfc822\n\n"
                "Subject: inner\nContent-Type: text/html\n\n<p>inner</p>\n--b--\n",
      "multipart/mixed@0 text/plain@1 message/rfc822@1 text/html@2", 0, 0 },
    { "missing close", MV "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
      "multipart/mixed@0 text/plain@1 text/plain@1", BW_ANOM_MISSING_CLOSE_BOUNDARY, 0 },
    { "boundary never seen", MV "Content-Type: multipart/mixed; boundary=b\n\nno parts here\n",
      "multipart/mixed@0", BW_ANOM_BAD_BOUNDARY, 0 },
    { "no boundary param", MV "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n", "multipart/mixed@0",
      BW_ANOM_NO_BOUNDARY, 0 },
    { "trailing whitespace", MV "Content-Type: multipart/mixed; boundary=b\n\n--b  \t\n\none\n--b-- \n",
      "multipart/mixed@0 text/plain@1", 0, BW_ANOM_MISSING_CLOSE_BOUNDARY },
    { "prefix match", MV "Content-Type: multipart/mixed; boundary=b\n\n--bjunk\n\none\n--b--junk\n",
      "multipart/mixed@0 text/plain@1", 0, BW_ANOM_MISSING_CLOSE_BOUNDARY },
    { "inner boundary extends outer", MV "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n"
                "Content-Type: multipart/alternative; boundary=ab_1\n\n--ab_1\n\nx\n--ab_1\n\ny\n--ab_1--\n--ab\n\nz\n--ab--\n",
      "multipart/mixed@0 multipart/alternative@1 text/plain@2 text/plain@2 text/plain@1", 0,
      BW_ANOM_MISSING_CLOSE_BOUNDARY },
    { "outer closes inner", MV "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
                "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nx\n--o\n\ny\n--o--\n",
      "multipart/mixed@0 multipart/alternative@1 text/plain@2 text/plain@1", BW_ANOM_MISSING_CLOSE_BOUNDARY, 0 },
    { "double boundary lines", MV "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
      "multipart/mixed@0 text/plain@1", 0, 0 },
    { "digest", MV "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d\n\nSubject: two\n\nsecond\n--d--\n",
      "multipart/digest@0 message/rfc822@1 text/plain@2 message/rfc822@1 text/plain@2", 0, 0 },
    { "crlf", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
      "multipart/mixed@0 text/plain@1", 0, BW_ANOM_BARE_LF },
    { "boundary in part headers", MV "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b--\n",
      "multipart/mixed@0 text/html@1", 0, BW_ANOM_MISSING_CLOSE_BOUNDARY },
};

static void shape_of(const bw_message *m, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < m->part_count; i++) {
        char item[128];
        snprintf(item, sizeof item, "%s%.*s@%d", i ? " " : "", (int)m->parts[i].content_type.n,
                 m->parts[i].content_type.p, m->parts[i].depth);
        strncat(out, item, cap - strlen(out) - 1);
    }
}

static void test_tree(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof tree_cases / sizeof tree_cases[0]; i++) {
        const tree_case *c = &tree_cases[i];
        print_message("case %s\n", c->name);
        const bw_message *m = parse_str(p, c->message);
        char shape[1024];
        shape_of(m, shape, sizeof shape);
        assert_string_equal(shape, c->shape);
        assert_flags(m->anomalies, c->must, c->must_not);
        for (size_t k = 1; k < m->part_count; k++) {
            assert_true(m->parts[k].parent >= 0 && (size_t)m->parts[k].parent < k);
            assert_int_equal(m->parts[k].depth, m->parts[m->parts[k].parent].depth + 1);
        }
    }
}

static void test_tree_contents(void **state)
{
    bw_mime_parser *p = *state;
    const bw_message *m = parse_str(p, tree_cases[0].message);
    assert_slice(m->parts[2].text, "plain");   // the newline before a boundary is the boundary's
    assert_slice(m->parts[3].text, "<b>html</b>");
    assert_slice(m->parts[4].decoded, "GIF");
    assert_true(m->parts[0].is_multipart);
    assert_slice(m->parts[0].boundary, "outer");
    assert_slice(m->parts[2].headers[0].value, "text/plain");
    m = parse_str(p, tree_cases[1].message);
    assert_true(m->parts[2].is_message);
    assert_slice(m->parts[3].headers[0].name, "Subject");
    assert_slice(m->parts[3].headers[0].value, "inner");
    assert_slice(m->parts[3].text, "<p>inner</p>");
    assert_slice(m->subject, "");
    // A multipart whose boundary never appears holds its text, as Python's parser does.
    m = parse_str(p, tree_cases[3].message);
    assert_slice(m->parts[0].decoded, "no parts here\n");
}

// ---- transfer encodings --------------------------------------------------------------------

typedef struct decode_case {
    const char *te;
    const char *body;
    const char *want;
    uint64_t must, must_not;
} decode_case;

static const decode_case decode_cases[] = {
    { "base64", "aGVsbG8g\nd29ybGQ=\n", "hello world", 0, BW_ANOM_BAD_BASE64 | BW_ANOM_TRUNCATED_BASE64 },
    { "base64", "aGVs bG8g\td29y\r\nbGQ=", "hello world", 0, BW_ANOM_BAD_BASE64 },
    { "base64", "aGVs*bG8=", "hello", BW_ANOM_BAD_BASE64, 0 },
    { "base64", "aGVsbG8", "hello", BW_ANOM_TRUNCATED_BASE64, 0 },
    { "base64", "aGk=\naGk=\n", "hihi", 0, BW_ANOM_BAD_BASE64 },   // concatenated padded blocks
    { "base64", "", "", 0, BW_ANOM_BAD_BASE64 | BW_ANOM_TRUNCATED_BASE64 },
    { "base64", "aGk=\n--footer of a mailing list--\nbye\n", "hi", BW_ANOM_BAD_BASE64, 0 },
    { "quoted-printable", "caf=C3=A9 =\nsoft=3D\n", "caf\xc3\xa9 soft=\n", 0, BW_ANOM_BAD_QP },
    { "quoted-printable", "low=c3=a9case", "low\xc3\xa9" "case", 0, BW_ANOM_BAD_QP },
    { "quoted-printable", "bad=ZZ and =4", "bad=ZZ and =4", BW_ANOM_BAD_QP, 0 },
    { "quoted-printable", "crlf soft=\r\nbreak=  \r\nend", "crlf softbreakend", 0, BW_ANOM_BAD_QP },
    { "7bit", "caf\xc3\xa9", "caf\xc3\xa9", BW_ANOM_RAW_8BIT_BODY, 0 },
    { "8bit", "caf\xc3\xa9", "caf\xc3\xa9", 0, BW_ANOM_RAW_8BIT_BODY },
    { "binary", "a\0b", "a", 0, 0 },
    { "x-unknown", "as is", "as is", BW_ANOM_UNKNOWN_ENCODING, 0 },
    { "x-uuencode", "begin 644 cat.txt\n#0V%T\n`\nend\n", "Cat", 0, BW_ANOM_BAD_UUENCODE },
    { "uuencode", "begin 644 f\n&:&5L;&\\@\n`\nend\n", "hello ", 0, BW_ANOM_BAD_UUENCODE },
    { "x-uuencode", "begin 644 f\nM:&5L\nend\n", "hel", BW_ANOM_BAD_UUENCODE, 0 },
};

static void test_transfer_decoding(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
        const decode_case *c = &decode_cases[i];
        char msg[1024];
        int n = snprintf(msg, sizeof msg,
                         "Content-Type: application/octet-stream\nContent-Transfer-Encoding: %s\n\n%s", c->te, c->body);
        print_message("case %zu %s\n", i, c->te);
        const bw_message *m = NULL;
        assert_int_equal(bw_mime_parse(p, msg, (size_t)n, &m), BW_OK);
        assert_slice(m->parts[0].decoded, c->want);
        assert_flags(m->anomalies, c->must, c->must_not);
    }
}

static void test_uuencode_in_text(void **state)
{
    bw_mime_parser *p = *state;
    const bw_message *m = parse_str(p, "Content-Type: text/plain\n\nSee attached.\n\nbegin 644 cat.txt\n#0V%T\n`\nend\n");
    assert_flags(m->anomalies, BW_ANOM_UUENCODE_IN_TEXT, 0);
    assert_int_equal(m->part_count, 1);
    m = parse_str(p, "Content-Type: text/plain\n\nWe begin 644 things\n");
    assert_flags(m->anomalies, 0, BW_ANOM_UUENCODE_IN_TEXT);
    // At the very start of the body; after a "begin " inside a line; not three octal digits.
    m = parse_str(p, "Content-Type: text/plain\n\nbegin 600 a.bin\n`\nend\n");
    assert_flags(m->anomalies, BW_ANOM_UUENCODE_IN_TEXT, 0);
    m = parse_str(p, "Content-Type: text/plain\n\nto begin 644 here\nbegin 755 run.sh\n`\nend\n");
    assert_flags(m->anomalies, BW_ANOM_UUENCODE_IN_TEXT, 0);
    m = parse_str(p, "Content-Type: text/plain\n\nbegin 64 x\nbegin 648 y\nbegin 644\n");
    assert_flags(m->anomalies, 0, BW_ANOM_UUENCODE_IN_TEXT);
    // The marker line at every offset of the 16-byte steps the line scanner takes, after
    // lines starting with 'b' that are no marker (where the scan restarts).
    for (int pad = 0; pad < 40; pad++) {
        char msg[256];
        int n = snprintf(msg, sizeof msg, "Content-Type: text/plain\n\nbb\nb\n%.*s\n%sbegin 644 f\n`\nend\n", pad,
                         "abababababababababababababababababababab", pad % 3 ? "" : "\n");
        const bw_message *u = NULL;
        assert_int_equal(bw_mime_parse(p, msg, (size_t)n, &u), BW_OK);
        assert_flags(u->anomalies, BW_ANOM_UUENCODE_IN_TEXT, 0);
        n = snprintf(msg, sizeof msg, "Content-Type: text/plain\n\n%.*s\nbegin 64 f\nxbegin 644 f\n", pad,
                     "babababababababababababababababababababa");
        assert_int_equal(bw_mime_parse(p, msg, (size_t)n, &u), BW_OK);
        assert_flags(u->anomalies, 0, BW_ANOM_UUENCODE_IN_TEXT);
    }
}

// ---- charsets ------------------------------------------------------------------------------

typedef struct charset_case {
    const char *charset;
    const char *te;
    const char *body;
    const char *want;
    uint64_t must, must_not;
} charset_case;

static const charset_case charset_cases[] = {
    { "us-ascii", "7bit", "plain", "plain", 0, BW_ANOM_CHARSET_ERRORS },
    { "utf-8", "8bit", "caf\xc3\xa9", "caf\xc3\xa9", 0, BW_ANOM_CHARSET_ERRORS },
    { "UTF-8", "8bit", "bad \xc3 here \xed\xa0\x80", "bad \xef\xbf\xbd here \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
      BW_ANOM_CHARSET_ERRORS, 0 },
    { "us-ascii", "8bit", "caf\xe9", "caf\xef\xbf\xbd", BW_ANOM_CHARSET_ERRORS, 0 },
    { "iso-8859-1", "quoted-printable", "caf=E9", "caf\xc3\xa9", 0, BW_ANOM_CHARSET_ERRORS },
    { "\"Windows-1252\"", "quoted-printable", "=80 =93q=94", "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d", 0, 0 },
    { "windows-1252", "8bit", "x\x81y", "x\xef\xbf\xbdy", BW_ANOM_CHARSET_ERRORS, 0 },
    { "ks_c_5601-1987", "base64", "waa48Q==", "\xec\xa0\x9c\xeb\xaa\xa9", 0, BW_ANOM_BAD_CHARSET },
    { "x-sjis", "base64", "g2WDWINn", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0, BW_ANOM_BAD_CHARSET },
    { "koi8-r", "base64", "8NLJ18XU", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0, 0 },
    { "gb2312", "base64", "1tDOxA==", "\xe4\xb8\xad\xe6\x96\x87", 0, 0 },
    { "iso-2022-jp", "7bit", "\x1b$B%F%9%H\x1b(B", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0, 0 },
    { "x-no-such-charset", "quoted-printable", "=80uro", "\xe2\x82\xacuro", BW_ANOM_BAD_CHARSET, 0 },
    { "utf-8//TRANSLIT", "8bit", "a", "a", BW_ANOM_BAD_CHARSET, 0 },
    { "unknown-8bit", "8bit", "caf\xe9", "caf\xc3\xa9", BW_ANOM_BAD_CHARSET, 0 },
};

static void test_charsets(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof charset_cases / sizeof charset_cases[0]; i++) {
        const charset_case *c = &charset_cases[i];
        char msg[1024];
        snprintf(msg, sizeof msg, "Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n\n%s",
                 c->charset, c->te, c->body);
        print_message("case %s\n", c->charset);
        const bw_message *m = parse_str(p, msg);
        assert_slice(m->parts[0].text, c->want);
        assert_flags(m->anomalies, c->must, c->must_not);
    }
    // Non-text leaves get no text view.
    const bw_message *m = parse_str(p, "Content-Type: image/gif\n\nGIF89a");
    assert_slice(m->parts[0].text, "");
    assert_slice(m->parts[0].decoded, "GIF89a");
}

// The built-in windows-1252 (the common case and the fallback) must agree with iconv's.
static void test_cp1252_matches_iconv(void **state)
{
    bw_mime_parser *p = *state;
    iconv_t cd = iconv_open("UTF-8", "CP1252");
    if (cd == (iconv_t)-1) {
        print_message("skipping: iconv has no CP1252\n");
        skip();
    }
    char msg[512];
    for (int byte = 0; byte < 256; byte++) {
        if (byte == '\r' || byte == '\n' || byte == 0)
            continue;
        int n = snprintf(msg, sizeof msg, "Content-Type: text/plain; charset=windows-1252\n"
                                          "Content-Transfer-Encoding: 8bit\n\n%c", byte);
        const bw_message *m;
        assert_int_equal(bw_mime_parse(p, msg, (size_t)n, &m), BW_OK);
        char in = (char)byte, out[8], *inp = &in, *outp = out;
        size_t inleft = 1, outleft = sizeof out;
        iconv(cd, NULL, NULL, NULL, NULL);
        const char *want = iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1 ? "\xef\xbf\xbd" : NULL;
        if (!want) {
            *outp = '\0';
            want = out;
        }
        print_message("byte %02x\n", byte);
        assert_slice(m->parts[0].text, want);
    }
    iconv_close(cd);
}

// ---- dates ---------------------------------------------------------------------------------

typedef struct date_case {
    const char *in;
    long long want;   // -1: invalid
} date_case;

static const date_case date_cases[] = {
    { "Mon, 1 Jan 2001 00:00:00 +0000", 978307200 },
    { "1 Jan 2001 00:00:00 +0000", 978307200 },                 // no weekday
    { "Mon, 01 Jan 2001 01:00 +0100", 978307200 },              // no seconds
    { "Mon, 1 Jan 01 00:00:00 GMT", 978307200 },                // 2-digit year
    { "Fri, 1 Jan 99 00:00:00 GMT", 915148800 },
    { "Mon, 1 Jan 101 00:00:00 GMT", 978307200 },               // 3-digit year
    { "Sun, 31 Dec 2000 19:00:00 EST", 978307200 },
    { "Sun, 31 Dec 2000 17:00:00 PDT", 978307200 },
    { "Sun, 31 Dec 2000 16:00:00 PST", 978307200 },
    { "Sun, 31 Dec 2000 18:00:00 CST", 978307200 },
    { "Mon, 1 Jan 2001 00:00:00 UT", 978307200 },
    { "Mon, 1 Jan 2001 00:00:00 Z", 978307200 },
    { "Mon,  1 Jan 2001 02:00:00 +0200 (CEST)", 978307200 },
    { "Mon Jan  1 00:00:00 2001", 978307200 },                  // asctime
    { "Mon, 1 January 2001 00:00:00 -0000", 978307200 },
    { "Thu, 29 Feb 2024 12:00:00 +0000", 1709208000 },
    { "Tue, 24 May 2016 13:09:41 +0100", 1464091781 },
    { "Thu, 22 Aug 0102 12:07:35 +0800", 1029989255 },          // Y2K bug: year - 1900
    { "2002/09/14 Sat 02:29:32 GMT", 1031970572 },
    { "Sat, 8 Jun 2002 1:5:13 +-0500", 1023516313 },
    { "Fri, 02 Aug 2002 23:37:59 0530", 1028311679 },
    // The one-pass path for the common shape, and what it leaves to the general parser:
    { "\tMon,\r\n 01 Jan 2001 00:00:60 +0000", 978307260 },    // leap second, folded
    { "Mon, 1 Jan 2001 01:00:00 +0100(CET)", 978307200 },       // comment glued to the zone
    { "Mon, 1 Jan 2001 02:00:00 +0200 -0100", 978318000 },      // a later zone wins
    { "Mon, 1 Jan 2001 00:00:00 -0000 (GMT-00:00)", 978307200 },
    { "Mon, 1 Jan 2001 24:00:00 +0000", -1 },
    { "Mon, 0 Jan 2001 00:00:00 +0000", -1 },
    { "", -1 },
    { "yesterday", -1 },
    { "Mon, 32 Jan 2001 00:00:00 +0000", -1 },
    { "Mon, 1 Foo 2001 00:00:00 +0000", -1 },
    { "Mon, 1 Jan 2001 25:00:00 +0000", -1 },
    { "Mon, 1 Jan 2001", -1 },
};

static void test_dates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof date_cases / sizeof date_cases[0]; i++) {
        time_t t = 0;
        bool ok = bw_mime_parse_date(bw_slice_cstr(date_cases[i].in), &t);
        print_message("case %s\n", date_cases[i].in);
        if (date_cases[i].want < 0) {
            assert_false(ok);
        } else {
            assert_true(ok);
            assert_int_equal((long long)t, date_cases[i].want);
        }
    }
}

// ---- limits --------------------------------------------------------------------------------

static void test_limits(void **state)
{
    (void)state;
    bw_mime_limits defaults;
    bw_mime_limits_default(&defaults);
    assert_true(defaults.max_message_bytes >= 10u << 20);
    assert_true(defaults.max_boundary_bytes >= 70);

    const bw_message *m;
    bw_mime_limits l = defaults;
    l.max_message_bytes = 20;
    bw_mime_parser *p = bw_mime_parser_new(&l);
    assert_non_null(p);
    const char *long_msg = "Subject: this is longer than twenty bytes\n\nbody\n";
    assert_int_equal(bw_mime_parse(p, long_msg, strlen(long_msg), &m), BW_OK);
    assert_int_equal(m->raw.n, 20);
    assert_int_equal(m->total_bytes, strlen(long_msg));
    assert_flags(m->anomalies, BW_ANOM_TRUNCATED, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_header_bytes = 10;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, "Subject: 0123456789abcdef\nX: short\n\n");
    assert_slice(m->headers[0].value, "0123456789");
    assert_slice(m->headers[1].value, "short");
    assert_flags(m->anomalies, BW_ANOM_HEADER_LIMIT, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_header_count = 3;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, "A: 1\nB: 2\nC: 3\nD: 4\nE: 5\n\nbody");
    assert_int_equal(m->header_count, 3);
    assert_slice(m->parts[0].text, "body");
    assert_flags(m->anomalies, BW_ANOM_HEADER_LIMIT, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_line_bytes = 12;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, "Subject: abcdefghijkl\n more\nX: y\n\n");
    assert_slice(m->headers[0].value, "abc");
    assert_slice(m->headers[1].value, "y");
    assert_flags(m->anomalies, BW_ANOM_HEADER_LIMIT, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_depth = 2;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, MV "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n"
                        "--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ndeep\n--c--\n--b--\n--a--\n");
    char shape[512];
    shape_of(m, shape, sizeof shape);
    assert_string_equal(shape, "multipart/mixed@0 multipart/mixed@1 multipart/mixed@2");
    assert_flags(m->anomalies, BW_ANOM_DEPTH_LIMIT, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_parts = 3;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, MV "Subject: kept\nContent-Type: multipart/mixed; boundary=a\n\n--a\n\n1\n--a\n\n2\n--a\n\n3\n--a--\n");
    assert_int_equal(m->part_count, 3);
    assert_slice(m->subject, "kept");
    assert_flags(m->anomalies, BW_ANOM_PART_LIMIT, BW_ANOM_MISSING_CLOSE_BOUNDARY);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_boundary_bytes = 4;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, MV "Content-Type: multipart/mixed; boundary=abcdefgh\n\n--abcdefgh\n\none\n--abcdefgh--\n");
    assert_int_equal(m->part_count, 2);
    assert_slice(m->parts[0].boundary, "abcd");
    assert_slice(m->parts[1].text, "one");
    assert_flags(m->anomalies, BW_ANOM_BAD_BOUNDARY, 0);
    bw_mime_parser_free(p);

    l = defaults;
    l.max_decoded_bytes = 8;
    p = bw_mime_parser_new(&l);
    m = parse_str(p, MV "Content-Type: multipart/mixed; boundary=a\n\n--a\n\n12345\n--a\n\n67890\n--a\n\nabc\n--a--\n");
    assert_slice(m->parts[1].decoded, "12345");
    assert_slice(m->parts[2].decoded, "678");
    assert_slice(m->parts[3].decoded, "");
    assert_flags(m->anomalies, BW_ANOM_DECODED_LIMIT, 0);
    bw_mime_parser_free(p);

    // Lines over RFC 5322's 998 are flagged; a sane one is not.
    p = bw_mime_parser_new(NULL);
    char *big = malloc(64 * 1024);
    size_t n = (size_t)sprintf(big, "Subject: x\n\n");
    memset(big + n, 'a', 1500);
    n += 1500;
    big[n++] = '\n';
    assert_int_equal(bw_mime_parse(p, big, n, &m), BW_OK);
    assert_flags(m->anomalies, BW_ANOM_LONG_LINE, 0);
    n = (size_t)sprintf(big, "Subject: x\n\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(big + n, "%0998d\n", i);
    assert_int_equal(bw_mime_parse(p, big, n, &m), BW_OK);
    assert_flags(m->anomalies, 0, BW_ANOM_LONG_LINE);
    free(big);
    bw_mime_parser_free(p);
}

// ---- chunking ------------------------------------------------------------------------------

static void dump_of_chunks(bw_mime_parser *p, const char *msg, size_t n, unsigned seed, bw_buf *out)
{
    bw_mime_parser_reset(p);
    size_t at = 0;
    while (at < n) {
        size_t step;
        if (seed == 0)
            step = n;
        else if (seed == 1)
            step = 1;
        else {
            seed = seed * 1103515245u + 12345u;
            step = 1 + (seed >> 16) % 97;
        }
        if (step > n - at)
            step = n - at;
        assert_int_equal(bw_mime_parser_feed(p, msg + at, step), BW_OK);
        at += step;
    }
    const bw_message *m;
    assert_int_equal(bw_mime_parser_finish(p, &m), BW_OK);
    mt_dump_message(m, out);
}

static void check_chunking(bw_mime_parser *p, const char *msg, size_t n, bool byte_by_byte)
{
    bw_buf whole = BW_BUF_INIT, pieces = BW_BUF_INIT;
    dump_of_chunks(p, msg, n, 0, &whole);
    for (unsigned seed = byte_by_byte ? 1 : 2; seed < 5; seed++) {
        bw_buf_clear(&pieces);
        dump_of_chunks(p, msg, n, seed, &pieces);
        assert_int_equal(whole.n, pieces.n);
        assert_memory_equal(whole.p, pieces.p, whole.n);
    }
    bw_buf_free(&whole);
    bw_buf_free(&pieces);
}

static void test_chunking(void **state)
{
    bw_mime_parser *p = *state;
    for (size_t i = 0; i < sizeof tree_cases / sizeof tree_cases[0]; i++)
        check_chunking(p, tree_cases[i].message, strlen(tree_cases[i].message), true);
    const char *crlf = "Subject: =?utf-8?q?split_=C3=A9?=\r\n =?utf-8?q?word?=\r\n\r\nbody\r\n";
    check_chunking(p, crlf, strlen(crlf), true);
    // The API: feeding after finish is refused until reset; finish twice is the same view.
    const bw_message *m1, *m2;
    bw_mime_parser_reset(p);
    assert_int_equal(bw_mime_parser_feed(p, "Subject: a\n\n", 12), BW_OK);
    assert_int_equal(bw_mime_parser_finish(p, &m1), BW_OK);
    assert_int_equal(bw_mime_parser_feed(p, "x", 1), BW_ERR_INVALID);
    assert_int_equal(bw_mime_parser_finish(p, &m2), BW_OK);
    assert_ptr_equal(m1, m2);
    bw_mime_parser_reset(p);
    assert_int_equal(bw_mime_parser_finish(p, &m1), BW_OK);
    assert_flags(m1->anomalies, BW_ANOM_EMPTY_MESSAGE, 0);
    assert_int_equal(m1->part_count, 1);
}

// ---- real data -----------------------------------------------------------------------------

typedef struct malformed_expect {
    const char *file;
    uint64_t must;
    size_t parts;   // 0: not checked
} malformed_expect;

static const malformed_expect malformed_expectations[] = {
    { "mail_malformed_3", BW_ANOM_NUL_BYTE | BW_ANOM_BAD_BOUNDARY, 1 },
    { "mail_outlook_1", BW_ANOM_NO_HEADER_BODY_SEP | BW_ANOM_MISSING_FROM | BW_ANOM_NUL_BYTE, 1 },
    { "mail_test_1", BW_ANOM_8BIT_HEADER | BW_ANOM_MISSING_CLOSE_BOUNDARY | BW_ANOM_MIME_WITHOUT_VERSION, 4 },
    { "mail_test_12", BW_ANOM_8BIT_HEADER | BW_ANOM_MISSING_MESSAGE_ID, 1 },
    { "mail_test_15", BW_ANOM_BAD_UUENCODE, 5 },
};

static void test_malformed_corpus(void **state)
{
    bw_mime_parser *p = *state;
    const char *shared = mt_shared_data();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/mail/malformed", shared ? shared : "");
    FILE *probe = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/mail_test_1", dir);
    if (!shared || !(probe = fopen(path, "rb"))) {
        print_message("skipping: %s not found (set BW_SHARED_DATA)\n", dir);
        skip();
    }
    fclose(probe);
    static const char *const files[] = {
        "mail_malformed_1", "mail_malformed_2", "mail_malformed_3", "mail_outlook_1", "mail_test_1",
        "mail_test_10", "mail_test_11", "mail_test_12", "mail_test_13", "mail_test_14", "mail_test_15",
        "mail_test_16", "mail_test_17", "mail_test_18", "mail_test_19", "mail_test_2", "mail_test_3",
        "mail_test_4", "mail_test_5", "mail_test_6", "mail_test_7", "mail_test_8", "mail_test_9",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        size_t n;
        char *data = mt_read_file(path, &n);
        assert_non_null(data);
        const bw_message *m;
        assert_int_equal(bw_mime_parse(p, data, n, &m), BW_OK);
        assert_true(m->part_count >= 1);
        for (size_t k = 0; k < sizeof malformed_expectations / sizeof malformed_expectations[0]; k++) {
            const malformed_expect *e = &malformed_expectations[k];
            if (strcmp(e->file, files[i]) != 0)
                continue;
            print_message("file %s\n", files[i]);
            assert_flags(m->anomalies, e->must, 0);
            if (e->parts)
                assert_int_equal(m->part_count, e->parts);
        }
        if (n < 400000)
            check_chunking(p, data, n, false);
        free(data);
    }
}

static void test_spamassassin_corpus(void **state)
{
    bw_mime_parser *p = *state;
    const char *data = mt_data();
    char path[4096];
    snprintf(path, sizeof path, "%s/spamassassin.mbox", data ? data : "");
    mt_mbox mbox;
    if (!data || mt_mbox_load(path, &mbox) != 0) {
        print_message("skipping: %s not found (run scripts/fetch-data.sh)\n", path);
        skip();
    }
    assert_int_equal(mbox.count, 6046);
    size_t with_subject = 0, multipart = 0, with_date = 0;
    for (size_t i = 0; i < mbox.count; i++) {
        const bw_message *m;
        assert_int_equal(bw_mime_parse(p, mbox.messages[i], mbox.lengths[i], &m), BW_OK);
        assert_true(m->part_count >= 1);
        with_subject += m->subject.n > 0;
        multipart += m->parts[0].is_multipart;
        with_date += m->has_date;
        if (i % 97 == 0)
            check_chunking(p, mbox.messages[i], mbox.lengths[i], false);
    }
    print_message("%zu messages, %zu with subject, %zu multipart, %zu dated\n", mbox.count, with_subject,
                  multipart, with_date);
    assert_true(with_date > mbox.count * 95 / 100);
    assert_true(with_subject > mbox.count * 95 / 100);
    mt_mbox_free(&mbox);
}

static int setup(void **state)
{
    *state = bw_mime_parser_new(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    bw_mime_parser_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anomaly_names),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_not_lost, setup, teardown),
        cmocka_unit_test(test_rfc2047),
        cmocka_unit_test_setup_teardown(test_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuencode_in_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_charsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cp1252_matches_iconv, setup, teardown),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_limits),
        cmocka_unit_test_setup_teardown(test_chunking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spamassassin_corpus, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
