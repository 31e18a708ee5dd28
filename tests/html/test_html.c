// SPDX-License-Identifier: MIT
// Unit tests for bw_html: a table of HTML inputs with the visible text a mail reader
// would show, link extraction with anchor text, entity decoding, and every limit and
// hostile form (unclosed comment/tag, huge attribute, NULs) hit on purpose.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/html.h"

typedef struct text_case {
    const char *html;
    const char *text;
} text_case;

static const text_case text_cases[] = {
    { "plain", "plain" },
    { "  a \n\t b  ", "a b" },
    { "<p>one</p><p>two</p>", "one\ntwo" },
    { "a<br>b<br/>c", "a\nb\nc" },
    { "<html><head><title>T</title><style>p{x}</style></head><body>Hi</body></html>", "Hi" },
    { "<script>var a='<p>no</p>';</script>yes", "yes" },
    { "<SCRIPT type=x>hidden</SCRIPT >shown", "shown" },
    { "a<!-- hidden -->b", "ab" },
    { "a<!-->b", "ab" },
    { "a<!--->b", "ab" },
    { "a<!-- x --!>b", "ab" },
    { "<!DOCTYPE html>x", "x" },
    { "<?xml version='1.0'?>x", "x" },
    { "a < b and c > d", "a < b and c > d" },
    { "&lt;tag&gt; &amp; &quot;q&quot;", "<tag> & \"q\"" },
    { "caf&eacute; &euro;5 &hellip;", "caf\xc3\xa9 \xe2\x82\xac" "5 \xe2\x80\xa6" },
    { "&#72;&#x69;&#X21;", "Hi!" },
    { "&#150; &#0; &#xD800; &#99999999999;", "\xe2\x80\x93 \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd" },
    { "&copy 2002 &amp", "\xc2\xa9 2002 &" },
    { "&notit; &unknown; & alone", "\xc2\xacit; &unknown; & alone" },
    { "a&nbsp;&nbsp;b", "a b" },
    { "<table><tr><td>x</td><td>y</td></tr><tr><td>z</td></tr></table>", "x y\nz" },
    { "<div>  <div> a </div> </div>", "a" },
    { "<ul><li>one<li>two</ul>", "one\ntwo" },
    { "<head><meta x=1>Text without body", "Text without body" },
    { "<title>t</title>visible", "visible" },
    { "F<b>RE</b>E <i>m</i>oney", "FREE money" },
    { "<a href=\"x\">click</a> here", "click here" },
    { "a<x y=\"1>2\">b", "ab" },
    { "a</ x>b", "ab" },
    { "<p>unclosed <b", "unclosed" },
    { "a<!-- never closed", "a" },
    { "<style>never closed", "" },
    // Tag lookup: case, every length class, near misses and over-long names.
    { "x<ADDRESS>y<FigCaption>z<blockquote>w<H6>v<P>u", "x\ny\nz\nw\nv\nu" },
    { "a<td>b<TH>c<Tr>d", "a b c\nd" },
    { "a<brx>b<b>c<blockquotes>d<h7>e<tablex>f", "abcdef" },
    { "a<abcdefghijklmnopq>b<blockquoteblockq>c", "abc" },
    { "<TEMPLATE>hidden</template>shown<TiTlE>t</title>", "shown" },
    { "", "" },
};

static void test_text_table(void **state)
{
    (void)state;
    bw_html_renderer *r = bw_html_renderer_new(NULL);
    assert_non_null(r);
    for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
        bw_html_doc doc;
        assert_int_equal(bw_html_render(r, bw_slice_cstr(text_cases[i].html), &doc), BW_OK);
        if (doc.text.n != strlen(text_cases[i].text) || memcmp(doc.text.p, text_cases[i].text, doc.text.n)) {
            fprintf(stderr, "case %zu: %s\n  got  [%.*s]\n  want [%s]\n", i, text_cases[i].html,
                    (int)doc.text.n, doc.text.p, text_cases[i].text);
            fail();
        }
    }
    bw_html_renderer_free(r);
}

// Text without tags renders as its words (NUL dropped, &amp; decoded) joined by one space.
// Random texts put whitespace, control bytes, NULs, '&' and UTF-8 at every offset of the
// 8-byte steps the text scanner takes, checked against that rule written out plainly.
static void test_text_runs_random(void **state)
{
    (void)state;
    static const char *const pieces[] = { "a", "word", "longerwords", "\xc3\xa9", " ", "  ", "\t", "\n", "\r\n",
                                          "&amp;", "\x01", "\x1f", "\x7f", "x\x02y", "\xe2\x80\x94", "!",
                                          "<b>", "</b>", "a quite long run of words" };
    bw_html_renderer *r = bw_html_renderer_new(NULL);
    assert_non_null(r);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    // doc: what is rendered (text runs end at inline tags, which render as nothing, so
    // the renderer's 16-byte scan reads on into the tag); html: the same without the tags,
    // for the rule below.
    char doc_bytes[640], html[640], want[640];   // 24 pieces of at most 25 bytes
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, doc_n = 0;
        int count = 1 + (int)(seed % 24);
        for (int k = 0; k < count; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *piece = pieces[(seed >> 33) % (sizeof pieces / sizeof pieces[0])];
            size_t len = strlen(piece);
            if ((seed >> 20) % 11 == 0) {   // a NUL now and then (strlen cannot carry it)
                html[n++] = '\0';
                doc_bytes[doc_n++] = '\0';
                continue;
            }
            memcpy(doc_bytes + doc_n, piece, len);
            doc_n += len;
            if (piece[0] == '<')
                continue;
            memcpy(html + n, piece, len);
            n += len;
        }
        // The rule: split on HTML whitespace, decode, drop NULs, join non-empty words by ' '.
        size_t w = 0, i = 0;
        while (i < n) {
            while (i < n && strchr(" \t\n\r\f\v", html[i]) && html[i])
                i++;
            size_t start = w;
            if (w > 0 && i < n)
                want[w++] = ' ';
            size_t word_start = w;
            while (i < n && !(html[i] && strchr(" \t\n\r\f\v", html[i]))) {
                if (i + 5 <= n && !strncmp(html + i, "&amp;", 5)) {
                    want[w++] = '&';
                    i += 5;
                } else if (html[i] == '\0') {
                    i++;
                } else {
                    want[w++] = html[i++];
                }
            }
            if (w == word_start)
                w = start;   // nothing visible: no separator either
        }
        bw_html_doc doc;
        assert_int_equal(bw_html_render(r, bw_slice_make(doc_bytes, doc_n), &doc), BW_OK);
        if (doc.text.n != w || memcmp(doc.text.p, want, w)) {
            fprintf(stderr, "round %d: got [%.*s] want [%.*s]\n", round, (int)doc.text.n, doc.text.p, (int)w, want);
            fail();
        }
    }
    bw_html_renderer_free(r);
}

// An attribute that holds a URL ("://" or "www.") is kept for the URL scan wherever the
// trigger falls in the scanner's 16-byte steps; decoys (":/", "ww.", "w.w.") are not kept.
static void test_attribute_url_offsets(void **state)
{
    (void)state;
    bw_html_renderer *r = bw_html_renderer_new(NULL);
    assert_non_null(r);
    static const char *const kept[] = { "www.example.com", "x://y", "WWW.EXAMPLE.COM" };
    static const char *const dropped[] = { "ww.example.com", "x:/y", "w.w.example", "example.com:80" };
    char html[256];
    for (int pad = 0; pad < 40; pad++) {
        for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
            snprintf(html, sizeof html, "<p title='a.b:%.*s %s'>t</p>", pad, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", kept[k]);
            bw_html_doc doc;
            assert_int_equal(bw_html_render(r, bw_slice_cstr(html), &doc), BW_OK);
            if (doc.hidden_count != 1) {
                fprintf(stderr, "pad %d: %s not kept\n", pad, html);
                fail();
            }
        }
        for (size_t k = 0; k < sizeof dropped / sizeof dropped[0]; k++) {
            snprintf(html, sizeof html, "<p title='a.b:%.*s %s'>t</p>", pad, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", dropped[k]);
            bw_html_doc doc;
            assert_int_equal(bw_html_render(r, bw_slice_cstr(html), &doc), BW_OK);
            assert_int_equal(doc.hidden_count, 0);
        }
    }
    bw_html_renderer_free(r);
}

static void test_links(void **state)
{
    (void)state;
    bw_html_renderer *r = bw_html_renderer_new(NULL);
    const char *html =
        "<body background='http://bg.example/b.gif'>"
        "<a href=\"http://a.example/?x=1&amp;y=2&copy=3\">Click <b>here</b></a> "
        "<A HREF=http://b.example/>second"   // never closed: text runs to the next <a>
        "<a href=' &#104;ttp://c.example/ '>third</a>"
        "<img src=\"http://img.example/p.gif\" alt=x>"
        "<form action=\"http://form.example/post\"></form>"
        "<iframe src=http://frame.example/></iframe>"
        "<script src=\"http://js.example/x.js\"></script>"
        "<area href=\"http://area.example/\">"
        "<a name=anchor>no link</a><a href=\"\">empty</a>"
        "<p title=\"href=http://not.example/\">t</p>";
    bw_html_doc doc;
    assert_int_equal(bw_html_render(r, bw_slice_cstr(html), &doc), BW_OK);
    static const struct { const char *target, *text; bw_html_link_kind kind; } want[] = {
        { "http://bg.example/b.gif", "", BW_HTML_LINK_BACKGROUND },
        { "http://a.example/?x=1&y=2&copy=3", "Click here", BW_HTML_LINK_HREF },
        { "http://b.example/", "second", BW_HTML_LINK_HREF },
        { "http://c.example/", "third", BW_HTML_LINK_HREF },
        { "http://img.example/p.gif", "", BW_HTML_LINK_SRC },
        { "http://form.example/post", "", BW_HTML_LINK_ACTION },
        { "http://frame.example/", "", BW_HTML_LINK_SRC },
        { "http://js.example/x.js", "", BW_HTML_LINK_SRC },
        { "http://area.example/", "", BW_HTML_LINK_HREF },
    };
    assert_int_equal(doc.link_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < doc.link_count; i++) {
        assert_int_equal(doc.links[i].target.n, strlen(want[i].target));
        assert_memory_equal(doc.links[i].target.p, want[i].target, doc.links[i].target.n);
        if (doc.links[i].text.n != strlen(want[i].text) || memcmp(doc.links[i].text.p, want[i].text, doc.links[i].text.n)) {
            fprintf(stderr, "link %zu text [%.*s] want [%s]\n", i, (int)doc.links[i].text.n, doc.links[i].text.p, want[i].text);
            fail();
        }
        assert_int_equal(doc.links[i].kind, want[i].kind);
    }
    assert_string_equal(doc.text.p, "Click here secondthird\nno linkempty\nt");   // as a browser shows it
    assert_false(doc.links[1].encoded_host);   // "&amp;" in the query is ordinary
    assert_true(doc.links[3].encoded_host);    // "&#104;ttp://": the scheme hidden
    bw_html_renderer_free(r);
}

static void test_entity_api(void **state)
{
    (void)state;
    char utf8[8];
    size_t len = 0;
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&amp;x"), 0, utf8, &len), 5);
    assert_int_equal(len, 1);
    assert_int_equal(utf8[0], '&');
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&#46;"), 1, utf8, &len), 5);
    assert_int_equal(utf8[0], '.');
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&copy=1"), 1, utf8, &len), 0);
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&copy=1"), 0, utf8, &len), 5);
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&zzz;"), 0, utf8, &len), 0);
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&"), 0, utf8, &len), 0);
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&#"), 0, utf8, &len), 0);
    // A two-code-point HTML5 reference.
    assert_int_equal(bw_html_decode_entity(BW_SLICE_LIT("&NotEqualTilde;"), 0, utf8, &len), 15);
    assert_int_equal(len, 5);
}

static void test_limits(void **state)
{
    (void)state;
    bw_html_limits limits;
    bw_html_limits_default(&limits);
    limits.max_text_bytes = 10;
    limits.max_links = 2;
    limits.max_attr_bytes = 8;
    limits.max_tag_bytes = 64;
    limits.max_link_text_bytes = 4;
    bw_html_renderer *r = bw_html_renderer_new(&limits);
    bw_html_doc doc;

    // Text cut on a character boundary: "é" (2 bytes) does not fit at byte 10.
    assert_int_equal(bw_html_render(r, bw_slice_cstr("123456789\xc3\xa9 more"), &doc), BW_OK);
    assert_int_equal(doc.text.n, 9);
    assert_true(doc.flags & BW_HTML_TEXT_LIMIT);

    assert_int_equal(bw_html_render(r, bw_slice_cstr(
        "<a href=http://1.example/>abcdef</a><a href=x2><a href=x3><img src=x4>"), &doc), BW_OK);
    assert_int_equal(doc.link_count, 2);
    assert_true(doc.flags & BW_HTML_LINK_LIMIT);
    assert_true(doc.flags & BW_HTML_ATTR_LIMIT);
    assert_int_equal(doc.links[0].target.n, 8);
    assert_int_equal(doc.links[0].text.n, 4);

    // Attributes past max_tag_bytes are not read.
    char big[512];
    snprintf(big, sizeof big, "<a title=\"%0100d\" href=x>t</a>ok", 0);
    assert_int_equal(bw_html_render(r, bw_slice_cstr(big), &doc), BW_OK);
    assert_int_equal(doc.link_count, 0);
    assert_true(doc.flags & BW_HTML_TAG_LIMIT);
    assert_string_equal(doc.text.p, "tok");
    bw_html_renderer_free(r);
}

static void test_hostile(void **state)
{
    (void)state;
    bw_html_renderer *r = bw_html_renderer_new(NULL);
    bw_html_doc doc;
    static const char nul_html[] = "a\0b<a hr\0ef=\"ht\0tp://x/\">c</a>";
    assert_int_equal(bw_html_render(r, bw_slice_make(nul_html, sizeof nul_html - 1), &doc), BW_OK);
    assert_true(doc.flags & BW_HTML_NUL);
    assert_string_equal(doc.text.p, "abc");

    assert_int_equal(bw_html_render(r, bw_slice_cstr("x<!-- <a href=http://hidden/>"), &doc), BW_OK);
    assert_true(doc.flags & BW_HTML_UNCLOSED_COMMENT);
    assert_int_equal(doc.link_count, 0);

    // A 1 MB attribute value and a million '<'s: linear, bounded.
    size_t n = 1 << 20;
    char *huge = malloc(n + 64);
    memcpy(huge, "<a href=\"", 9);
    memset(huge + 9, 'A', n);
    memcpy(huge + 9 + n, "\">t</a>", 8);
    assert_int_equal(bw_html_render(r, bw_slice_make(huge, 9 + n + 7), &doc), BW_OK);
    assert_true(doc.flags & (BW_HTML_TAG_LIMIT | BW_HTML_ATTR_LIMIT));
    memset(huge, '<', n);
    assert_int_equal(bw_html_render(r, bw_slice_make(huge, n), &doc), BW_OK);
    assert_int_equal(doc.text.n, 256 * 1024);
    free(huge);

    // Quoted value never closed: the rest is inside the tag, as in a browser.
    assert_int_equal(bw_html_render(r, bw_slice_cstr("ok<a href=\"http://x/>never"), &doc), BW_OK);
    assert_true(doc.flags & BW_HTML_UNCLOSED_TAG);
    assert_string_equal(doc.text.p, "ok");
    assert_string_equal(bw_html_flag_name(BW_HTML_NUL), "html_nul");
    bw_html_renderer_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_text_runs_random),
        cmocka_unit_test(test_attribute_url_offsets),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_entity_api),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
