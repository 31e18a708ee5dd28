// SPDX-License-Identifier: MIT
// bw_mail: from a parsed bw_message to the record botwatch stores (mail.h). It wires the
// other analysis modules together: bw_received for the chain and its sender hop,
// bw_html for HTML parts, bw_url for URLs, plus the identity hash and header-order
// fingerprint. All per-message memory is reused from one message to the next, so a
// steady ingest allocates nothing per message once the buffers have grown.
#include "botwatch/mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "botwatch/html.h"

// Defaults. URLs: 500 distinct per message and 4 KiB each (see url.c). Text: 256 KiB of
// visible text is more than anyone reads and enough for every text feature; it bounds
// what a mail bomb makes us store. Received: Postfix refuses mail after 50 hops
// (hopcount_limit), so a longer chain is a loop or an attack; 50 keeps every real one.
void bw_mail_config_default(bw_mail_config *config)
{
    memset(config, 0, sizeof *config);
    config->max_urls = 500;
    config->max_url_bytes = 4096;
    config->max_text_bytes = 256 * 1024;
    config->max_received = 50;
}

const char *bw_mail_anomaly_name(uint64_t flag)
{
    switch (flag) {
    case BW_MAIL_ANOM_RECEIVED_LIMIT: return "received_limit";
    case BW_MAIL_ANOM_BAD_RECEIVED: return "bad_received";
    case BW_MAIL_ANOM_FORGED_RECEIVED: return "forged_received";
    case BW_MAIL_ANOM_NO_RECEIVED: return "no_received";
    case BW_MAIL_ANOM_TEXT_LIMIT: return "text_limit";
    case BW_MAIL_ANOM_URL_LIMIT: return "url_limit";
    case BW_MAIL_ANOM_OBFUSCATED_URL: return "obfuscated_url";
    case BW_MAIL_ANOM_HTML_ONLY: return "html_only";
    case BW_MAIL_ANOM_HTML_LIMIT: return "html_limit";
    case BW_MAIL_ANOM_HTML_BROKEN: return "html_broken";
    default: return bw_mime_anomaly_name(flag);
    }
}

struct bw_mail_analyzer {
    bw_mail_config config;
    bw_received_trust *trust;
    bw_url_set *urls;
    bw_html_renderer *html;
    bw_buf text;
    bw_buf fingerprint;
    bw_received_hop *hops;
    size_t hop_cap;
    uint8_t *part_role;      // per part, see classify_parts()
    size_t part_cap;
};

bw_mail_analyzer *bw_mail_analyzer_new(const bw_mail_config *config, char *errbuf)
{
    bw_mail_analyzer *a = calloc(1, sizeof *a);
    if (!a) {
        bw_error(errbuf, BW_ERR_NOMEM, "mail analyzer: out of memory");
        return NULL;
    }
    if (config)
        a->config = *config;
    else
        bw_mail_config_default(&a->config);
    // The caller's trusted list is copied by bw_received_trust_new; do not keep pointers.
    a->config.trusted = NULL;
    a->config.trusted_count = 0;
    a->trust = bw_received_trust_new(config ? config->trusted : NULL, config ? config->trusted_count : 0, errbuf);
    if (!a->trust) {
        bw_mail_analyzer_free(a);
        return NULL;
    }
    bw_url_limits url_limits = { .max_urls = a->config.max_urls, .max_url_bytes = a->config.max_url_bytes };
    a->urls = bw_url_set_new(&url_limits, errbuf);
    if (!a->urls) {
        bw_mail_analyzer_free(a);
        return NULL;
    }
    bw_html_limits html_limits;
    bw_html_limits_default(&html_limits);
    html_limits.max_text_bytes = a->config.max_text_bytes;
    html_limits.max_attr_bytes = a->config.max_url_bytes;
    a->html = bw_html_renderer_new(&html_limits);
    a->hop_cap = a->config.max_received;
    a->hops = calloc(a->hop_cap ? a->hop_cap : 1, sizeof *a->hops);
    if (!a->html || !a->hops) {
        bw_error(errbuf, BW_ERR_NOMEM, "mail analyzer: out of memory");
        bw_mail_analyzer_free(a);
        return NULL;
    }
    return a;
}

void bw_mail_analyzer_free(bw_mail_analyzer *a)
{
    if (!a)
        return;
    bw_received_trust_free(a->trust);
    bw_url_set_free(a->urls);
    bw_html_renderer_free(a->html);
    bw_buf_free(&a->text);
    bw_buf_free(&a->fingerprint);
    free(a->hops);
    free(a->part_role);
    free(a);
}

// A slice equal to a string literal, ASCII case-insensitively; the length test first
// keeps the library call off the common mismatch (every header name is tested).
#define SLICE_IS(s, lit) ((s).n == sizeof(lit) - 1 && bw_slice_eq_ci_cstr((s), (lit)))

// ---- Received chain ----

static void analyze_received(bw_mail_analyzer *a, const bw_message *msg, bw_mail_record *out)
{
    size_t count = 0;
    bool any = false;
    for (size_t i = 0; i < msg->header_count; i++) {
        const bw_header *h = &msg->headers[i];
        if (!SLICE_IS(h->name, "received"))
            continue;
        any = true;
        if (count == a->hop_cap) {
            out->anomalies |= BW_MAIL_ANOM_RECEIVED_LIMIT;
            break;
        }
        bw_received_hop *hop = &a->hops[count++];
        if (!bw_received_parse(h->value, hop))
            out->anomalies |= BW_MAIL_ANOM_BAD_RECEIVED;
        if (hop->date_text.n > 0)
            hop->has_time = bw_mime_parse_date(hop->date_text, &hop->time);
    }
    if (!any)
        out->anomalies |= BW_MAIL_ANOM_NO_RECEIVED;
    out->received = a->hops;
    out->received_count = count;
    out->sender_hop = bw_received_find_sender(a->trust, a->hops, count);
    for (size_t i = 0; i < count; i++)
        if (a->hops[i].forged)
            out->anomalies |= BW_MAIL_ANOM_FORGED_RECEIVED;
    if (out->sender_hop >= 0) {
        out->sender_ip = a->hops[out->sender_hop].ip;
        out->helo = a->hops[out->sender_hop].from_name;
    }
}

// ---- visible text and URLs ----

enum part_role {
    ROLE_NONE,
    ROLE_PLAIN,          // text/plain shown as the body
    ROLE_HTML,           // text/html rendered as the body
    ROLE_HTML_URLS_ONLY, // text/html with a plain alternative: URLs only
    ROLE_ATTACHED_TEXT,  // text/plain or text/html attachment: URLs only
    ROLE_OTHER_TEXT,     // other text/* (enriched, csv, ...): URLs only, as written
};

static bool is_attachment(const bw_part *p)
{
    return SLICE_IS(p->disposition, "attachment");
}

static bool has_visible_text(bw_slice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '\r' && s.p[i] != '\n')
            return true;
    return false;
}

// A text/plain body that is really an HTML document ("<html", "<!DOCTYPE html", "<head",
// "<body" first): old spam templates declare no type, and readers sniff and render them.
static bool looks_like_html(bw_slice s)
{
    size_t i = 0;
    while (i < s.n && i < 256 && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\r' || s.p[i] == '\n'))
        i++;
    bw_slice rest = bw_slice_make(s.p + i, s.n - i);
    return bw_slice_starts_with_ci(rest, "<html") || bw_slice_starts_with_ci(rest, "<!doctype html")
        || bw_slice_starts_with_ci(rest, "<head") || bw_slice_starts_with_ci(rest, "<body");
}

// The nearest multipart/alternative ancestor of part i, or -1.
static int alternative_of(const bw_message *msg, size_t i)
{
    int p = msg->parts[i].parent;
    while (p >= 0 && (size_t)p < msg->part_count) {
        if (SLICE_IS(msg->parts[p].content_type, "multipart/alternative"))
            return p;
        if (msg->parts[p].is_message)
            return -1;   // an embedded message has its own alternatives
        p = msg->parts[p].parent;
    }
    return -1;
}

static bool classify_parts(bw_mail_analyzer *a, const bw_message *msg)
{
    if (msg->part_count > a->part_cap) {
        uint8_t *roles = realloc(a->part_role, msg->part_count);
        if (!roles)
            return false;
        a->part_role = roles;
        a->part_cap = msg->part_count;
    }
    // Pass 1: which alternatives carry a non-empty plain text part.
    memset(a->part_role, ROLE_NONE, msg->part_count);
    static const uint8_t HAS_PLAIN = 0x80;
    for (size_t i = 0; i < msg->part_count; i++) {
        const bw_part *p = &msg->parts[i];
        if (p->is_multipart || p->is_message || is_attachment(p))
            continue;
        if (SLICE_IS(p->content_type, "text/plain") && has_visible_text(p->text) && !looks_like_html(p->text)) {
            int alt = alternative_of(msg, i);
            if (alt >= 0)
                a->part_role[alt] |= HAS_PLAIN;
        }
    }
    // Pass 2: roles of leaves (multipart entries keep only the HAS_PLAIN mark).
    for (size_t i = 0; i < msg->part_count; i++) {
        const bw_part *p = &msg->parts[i];
        if (p->is_multipart || p->is_message)
            continue;
        bool plain = SLICE_IS(p->content_type, "text/plain");
        bool html = SLICE_IS(p->content_type, "text/html");
        uint8_t role = ROLE_NONE;
        if (plain && !is_attachment(p) && looks_like_html(p->text))
            plain = false, html = true;   // bulk mailers send HTML as text/plain; readers render it
        if ((plain || html) && is_attachment(p))
            role = ROLE_ATTACHED_TEXT;
        else if (plain)
            role = ROLE_PLAIN;
        else if (html) {
            int alt = alternative_of(msg, i);
            role = alt >= 0 && (a->part_role[alt] & HAS_PLAIN) ? ROLE_HTML_URLS_ONLY : ROLE_HTML;
        } else if (bw_slice_starts_with_ci(p->content_type, "text/")) {
            role = ROLE_OTHER_TEXT;
        }
        a->part_role[i] = (uint8_t)((a->part_role[i] & HAS_PLAIN) | role);
    }
    return true;
}

// Appends one part's text to the visible text, separated by a newline, within the cap.
static bw_status append_text(bw_mail_analyzer *a, bw_slice s, bw_mail_record *out)
{
    s = bw_slice_trim(s);
    if (s.n == 0)
        return BW_OK;
    size_t max = a->config.max_text_bytes;
    size_t sep = a->text.n > 0 ? 1 : 0;
    if (a->text.n + sep >= max) {
        out->anomalies |= BW_MAIL_ANOM_TEXT_LIMIT;
        return BW_OK;
    }
    size_t room = max - a->text.n - sep;
    size_t n = s.n;
    if (n > room) {
        n = room;
        // Do not end inside a UTF-8 sequence.
        while (n > 0 && ((unsigned char)s.p[n] & 0xc0) == 0x80)
            n--;
        out->anomalies |= BW_MAIL_ANOM_TEXT_LIMIT;
    }
    if ((sep && bw_buf_append_char(&a->text, '\n') < 0) || bw_buf_append(&a->text, s.p, n) < 0)
        return BW_ERR_NOMEM;
    return BW_OK;
}

static bw_status analyze_body(bw_mail_analyzer *a, const bw_message *msg, bw_mail_record *out)
{
    if (!classify_parts(a, msg))
        return BW_ERR_NOMEM;
    bool used_plain = false, used_html = false;
    bw_status st = BW_OK;
    for (size_t i = 0; i < msg->part_count && st == BW_OK; i++) {
        const bw_part *p = &msg->parts[i];
        uint8_t role = a->part_role[i] & 0x7f;
        if (p->is_multipart || p->is_message || role == ROLE_NONE)
            continue;
        if (role == ROLE_PLAIN || role == ROLE_OTHER_TEXT
            || (role == ROLE_ATTACHED_TEXT && SLICE_IS(p->content_type, "text/plain"))) {
            if (role == ROLE_PLAIN) {
                st = append_text(a, p->text, out);
                used_plain = true;
            }
            if (st == BW_OK)
                st = bw_url_scan_text(a->urls, p->text);
            continue;
        }
        // HTML: render, take its links and the URLs written in its visible text.
        bw_html_doc doc;
        st = bw_html_render(a->html, p->text, &doc);
        if (st != BW_OK)
            break;
        if (doc.flags & (BW_HTML_TEXT_LIMIT | BW_HTML_LINK_LIMIT | BW_HTML_TAG_LIMIT | BW_HTML_ATTR_LIMIT | BW_HTML_HIDDEN_LIMIT))
            out->anomalies |= BW_MAIL_ANOM_HTML_LIMIT;
        if (doc.flags & (BW_HTML_UNCLOSED_COMMENT | BW_HTML_UNCLOSED_TAG | BW_HTML_NUL))
            out->anomalies |= BW_MAIL_ANOM_HTML_BROKEN;
        if (role == ROLE_HTML) {
            st = append_text(a, doc.text, out);
            used_html = true;
        }
        for (size_t k = 0; k < doc.link_count && st == BW_OK; k++)
            st = bw_url_add_html_link(a->urls, doc.links[k].target, doc.links[k].encoded_host);
        if (st == BW_OK)
            st = bw_url_scan_text(a->urls, doc.text);
        for (size_t k = 0; k < doc.hidden_count && st == BW_OK; k++)
            st = bw_url_scan_hidden(a->urls, doc.hidden[k]);
    }
    if (st != BW_OK)
        return st;
    if (used_html && !used_plain)
        out->anomalies |= BW_MAIL_ANOM_HTML_ONLY;
    out->text = bw_buf_slice(&a->text);
    if (!out->text.p)
        out->text = BW_SLICE_LIT("");
    out->urls = (bw_url *)bw_url_set_items(a->urls, &out->url_count);
    unsigned url_flags = bw_url_set_flags(a->urls);
    if (url_flags)
        out->anomalies |= BW_MAIL_ANOM_URL_LIMIT;
    for (size_t k = 0; k < out->url_count; k++)
        if (out->urls[k].obfuscated)
            out->anomalies |= BW_MAIL_ANOM_OBFUSCATED_URL;
    return BW_OK;
}

// ---- the record ----

// dst[0..8) = src[0..8) with ASCII 'A'-'Z' lowercased, in one 64-bit word: per byte,
// bit 7 of (b & 0x7f) + 0x3f says b >= 'A', of (b & 0x7f) + 0x25 says b > 'Z' (no carry
// crosses a byte), and bytes >= 0x80 are left alone.
static inline void lower8(char *dst, const char *src)
{
    uint64_t x;
    memcpy(&x, src, 8);
    uint64_t low7 = x & 0x7f7f7f7f7f7f7f7full;
    uint64_t upper = (low7 + 0x3f3f3f3f3f3f3f3full) & ~(low7 + 0x2525252525252525ull) & ~x & 0x8080808080808080ull;
    x |= upper >> 2;
    memcpy(dst, &x, 8);
}

static bw_status build_fingerprint(bw_mail_analyzer *a, const bw_message *msg, bw_mail_record *out)
{
    // One reservation for the whole list, then the names written in place: two library
    // calls per header field were most of this function's cost.
    size_t total = 0;
    for (size_t i = 0; i < msg->header_count; i++)
        total += msg->headers[i].name.n + 1;   // name and ',' (the last one is the NUL)
    if (total > 0) {   // (no header: the buffer may never have been allocated)
        if (bw_buf_reserve(&a->fingerprint, total) < 0)
            return BW_ERR_NOMEM;
        char *dst = a->fingerprint.p + a->fingerprint.n;
        for (size_t i = 0; i < msg->header_count; i++) {
            bw_slice name = msg->headers[i].name;
            if (i > 0)
                *dst++ = ',';
            if (name.n >= 8) {   // 8 bytes a step; the last step overlaps the one before
                for (size_t k = 0; k + 8 <= name.n; k += 8)
                    lower8(dst + k, name.p + k);
                if (name.n & 7)
                    lower8(dst + name.n - 8, name.p + name.n - 8);
            } else {
                for (size_t k = 0; k < name.n; k++) {
                    char c = name.p[k];
                    dst[k] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
                }
            }
            dst += name.n;
        }
        a->fingerprint.n = (size_t)(dst - a->fingerprint.p);
        a->fingerprint.p[a->fingerprint.n] = '\0';
    }
    out->header_fingerprint = bw_buf_slice(&a->fingerprint);
    if (!out->header_fingerprint.p)
        out->header_fingerprint = BW_SLICE_LIT("");
    return BW_OK;
}

bw_status bw_mail_analyze(bw_mail_analyzer *a, const bw_message *msg, bw_mail_record *out)
{
    memset(out, 0, sizeof *out);
    out->message = msg;
    out->sender_hop = -1;
    out->text = out->header_fingerprint = BW_SLICE_LIT("");
    bw_buf_clear(&a->text);
    bw_buf_clear(&a->fingerprint);
    bw_url_set_reset(a->urls);

    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(msg->raw.p ? msg->raw.p : "", msg->raw.n, digest);
    bw_hex(digest, sizeof digest, out->sha256);

    analyze_received(a, msg, out);
    bw_status st = build_fingerprint(a, msg, out);
    if (st == BW_OK)
        st = analyze_body(a, msg, out);
    out->anomalies |= msg->anomalies;
    return st;
}
