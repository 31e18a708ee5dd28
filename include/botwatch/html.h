// SPDX-License-Identifier: MIT
// HTML to visible text, with link targets kept. A hand-written, single-pass tokenizer (no
// DOM, no libxml): what a mail reader would show, minus script/style/head/comments, with
// entities decoded, block elements as newlines and whitespace collapsed; plus every URL
// an element points at (a/area href, img/frame/iframe/script src, form action,
// background) with the anchor text. Used by bw_mail for text/html parts; the URLs go on
// to bw_url. Hostile HTML (unclosed tags and comments, huge attributes, NULs) costs
// linear time and bounded memory: every output quantity has a limit and a flag.
#ifndef BOTWATCH_HTML_H
#define BOTWATCH_HTML_H

#include <stddef.h>

#include "botwatch/error.h"
#include "botwatch/str.h"

typedef struct bw_html_limits {
    size_t max_text_bytes;      // visible text kept; the rest is dropped (links still found)
    size_t max_tag_bytes;       // bytes of one tag searched for attributes; the rest skipped
    size_t max_attr_bytes;      // one kept attribute value (a URL); longer ones are cut
    size_t max_links;           // link targets kept per document
    size_t max_link_text_bytes; // anchor text kept per link
    size_t max_hidden;          // hidden segments kept per document (see bw_html_doc)
} bw_html_limits;

// Fills limits with the defaults (documented in html.c with the reasons).
void bw_html_limits_default(bw_html_limits *limits);

// What the renderer met; several may be set. Names via bw_html_flag_name().
typedef enum bw_html_flag {
    BW_HTML_TEXT_LIMIT       = 1u << 0,  // visible text cut at max_text_bytes
    BW_HTML_LINK_LIMIT       = 1u << 1,  // more than max_links targets
    BW_HTML_TAG_LIMIT        = 1u << 2,  // a tag longer than max_tag_bytes
    BW_HTML_ATTR_LIMIT       = 1u << 3,  // a link attribute longer than max_attr_bytes
    BW_HTML_UNCLOSED_COMMENT = 1u << 4,  // "<!--" without "-->": the rest is hidden
    BW_HTML_UNCLOSED_TAG     = 1u << 5,  // input ended inside a tag or raw-text element
    BW_HTML_NUL              = 1u << 6,  // NUL bytes (dropped)
    BW_HTML_HIDDEN_LIMIT     = 1u << 7,  // more than max_hidden hidden segments
} bw_html_flag;

const char *bw_html_flag_name(unsigned flag);

typedef enum bw_html_link_kind {
    BW_HTML_LINK_HREF,        // <a href>, <area href>
    BW_HTML_LINK_SRC,         // <img|frame|iframe|script|embed src>
    BW_HTML_LINK_ACTION,      // <form action>
    BW_HTML_LINK_BACKGROUND,  // background= on any element
} bw_html_link_kind;

typedef struct bw_html_link {
    bw_slice target;          // attribute value, entity-decoded, trimmed, NULs dropped
    bw_slice text;            // <a>: its visible text (capped); empty for other kinds
    bw_html_link_kind kind;
    bool encoded_host;        // the scheme or host was written with character references
} bw_html_link;

typedef struct bw_html_doc {
    bw_slice text;            // visible text, whitespace collapsed, no trailing space
    bw_html_link *links;      // in document order
    size_t link_count;
    // Markup a reader never sees but that may carry URLs: comment and declaration bodies,
    // script/style/title contents, and other attribute values that hold "://" or "www."
    // (style="background:url(...)", <option value=...>). Raw slices of the input (no
    // entity decoding), in document order, for a URL scan.
    bw_slice *hidden;
    size_t hidden_count;
    unsigned flags;           // bw_html_flag bits
} bw_html_doc;

typedef struct bw_html_renderer bw_html_renderer;

// limits may be NULL for the defaults. NULL on allocation failure. One per thread.
bw_html_renderer *bw_html_renderer_new(const bw_html_limits *limits);
void bw_html_renderer_free(bw_html_renderer *renderer);

// Renders html into *out, whose slices are owned by the renderer (hidden: point into html)
// and valid until the next render or free. Bytes are taken as they are (UTF-8 or not; entities become UTF-8).
// Never fails on bad HTML; only BW_ERR_NOMEM (then *out is empty).
bw_status bw_html_render(bw_html_renderer *renderer, bw_slice html, bw_html_doc *out);

// Decodes one character reference at s (which starts with '&'): on success writes its
// UTF-8 (at most 8 bytes) to utf8, its length to *utf8_len, and returns the bytes of s
// consumed; returns 0 if s holds no reference. in_attribute applies the HTML rule that
// "&copy=1" inside an attribute stays as written. Shared with bw_url (entity-coded hosts).
size_t bw_html_decode_entity(bw_slice s, int in_attribute, char utf8[8], size_t *utf8_len);

#endif
