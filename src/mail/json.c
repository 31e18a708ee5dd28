// SPDX-License-Identifier: MIT
// The JSON form of a bw_mail_record: what `botwatch parse --json` prints and what tests
// and downstream tools read. The format is documented field by field in docs/parse-json.md;
// a change here is a change there. Strings go through bw_buf_append_json_string, so
// invalid UTF-8 in spam becomes U+FFFD and the output is always valid JSON.
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "botwatch/mail.h"

typedef struct json_writer {
    bw_buf *out;
    int failed;   // any append failed: the result is NOMEM
} json_writer;

static void raw(json_writer *w, const char *s)
{
    w->failed |= bw_buf_append_cstr(w->out, s) < 0;
}

static void key(json_writer *w, const char *name, bool first)
{
    if (!first)
        raw(w, ",");
    w->failed |= bw_buf_append_json_string(w->out, bw_slice_cstr(name)) < 0;
    raw(w, ":");
}

static void string(json_writer *w, bw_slice s)
{
    w->failed |= bw_buf_append_json_string(w->out, s.p ? s : BW_SLICE_LIT("")) < 0;
}

// Optional strings: null when empty, so "no value" and "empty value" read the same.
static void string_or_null(json_writer *w, bw_slice s)
{
    if (s.n == 0)
        raw(w, "null");
    else
        string(w, s);
}

static void boolean(json_writer *w, bool b)
{
    raw(w, b ? "true" : "false");
}

static void integer(json_writer *w, long long v)
{
    w->failed |= bw_buf_printf(w->out, "%lld", v) < 0;
}

static void iso_time(json_writer *w, time_t t, bool valid)
{
    struct tm tm;
    char buf[32];
    if (!valid || !gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        raw(w, "null");
        return;
    }
    w->failed |= bw_buf_printf(w->out, "\"%s\"", buf) < 0;
}

bw_status bw_mail_record_to_json(const bw_mail_record *r, bw_buf *out)
{
    json_writer w = { out, 0 };
    const bw_message *msg = r->message;
    raw(&w, "{");
    key(&w, "sha256", true);
    string(&w, bw_slice_cstr(r->sha256));
    key(&w, "size", false);
    integer(&w, msg ? (long long)msg->total_bytes : 0);
    key(&w, "subject", false);
    string(&w, msg ? msg->subject : BW_SLICE_NULL);
    key(&w, "from", false);
    string(&w, msg ? msg->from : BW_SLICE_NULL);
    key(&w, "message_id", false);
    string_or_null(&w, msg ? msg->message_id : BW_SLICE_NULL);
    key(&w, "date", false);
    iso_time(&w, msg ? msg->date : 0, msg && msg->has_date);

    key(&w, "header_names", false);
    raw(&w, "[");
    for (size_t i = 0; msg && i < msg->header_count; i++) {
        if (i)
            raw(&w, ",");
        string(&w, msg->headers[i].name);
    }
    raw(&w, "]");
    key(&w, "header_fingerprint", false);
    string(&w, r->header_fingerprint);

    key(&w, "received", false);
    raw(&w, "[");
    for (size_t i = 0; i < r->received_count; i++) {
        const bw_received_hop *h = &r->received[i];
        raw(&w, i ? ",{" : "{");
        key(&w, "from_name", true);
        string_or_null(&w, h->from_name);
        key(&w, "from_rdns", false);
        string_or_null(&w, h->from_rdns);
        key(&w, "ip", false);
        string_or_null(&w, h->ip);
        key(&w, "by_name", false);
        string_or_null(&w, h->by_name);
        key(&w, "protocol", false);
        string_or_null(&w, h->protocol);
        key(&w, "time", false);
        iso_time(&w, h->time, h->has_time);
        key(&w, "parsed", false);
        boolean(&w, h->parsed);
        key(&w, "trusted", false);
        boolean(&w, h->trusted);
        key(&w, "forged", false);
        boolean(&w, h->forged);
        raw(&w, "}");
    }
    raw(&w, "]");
    key(&w, "sender_hop", false);
    if (r->sender_hop >= 0)
        integer(&w, r->sender_hop);
    else
        raw(&w, "null");
    key(&w, "sender_ip", false);
    string_or_null(&w, r->sender_ip);
    key(&w, "helo", false);
    string_or_null(&w, r->helo);

    key(&w, "parts", false);
    raw(&w, "[");
    for (size_t i = 0; msg && i < msg->part_count; i++) {
        const bw_part *p = &msg->parts[i];
        raw(&w, i ? ",{" : "{");
        key(&w, "content_type", true);
        string(&w, p->content_type);
        key(&w, "charset", false);
        string_or_null(&w, p->charset);
        key(&w, "transfer_encoding", false);
        string_or_null(&w, p->transfer_encoding);
        key(&w, "disposition", false);
        string_or_null(&w, p->disposition);
        key(&w, "filename", false);
        string_or_null(&w, p->filename);
        key(&w, "depth", false);
        integer(&w, p->depth);
        key(&w, "decoded_size", false);
        integer(&w, (long long)p->decoded.n);
        raw(&w, "}");
    }
    raw(&w, "]");

    key(&w, "text", false);
    string(&w, r->text);

    key(&w, "urls", false);
    raw(&w, "[");
    for (size_t i = 0; i < r->url_count; i++) {
        const bw_url *u = &r->urls[i];
        raw(&w, i ? ",{" : "{");
        key(&w, "url", true);
        string(&w, u->url);
        key(&w, "host", false);
        string(&w, u->host);
        key(&w, "domain", false);
        string(&w, u->domain);
        key(&w, "host_is_ip", false);
        boolean(&w, u->host_is_ip);
        key(&w, "from_html", false);
        boolean(&w, u->from_html);
        key(&w, "obfuscated", false);
        boolean(&w, u->obfuscated);
        key(&w, "hidden", false);
        boolean(&w, u->hidden);
        raw(&w, "}");
    }
    raw(&w, "]");

    key(&w, "anomalies", false);
    raw(&w, "[");
    bool first = true;
    for (int bit = 0; bit < 64; bit++) {
        uint64_t flag = 1ull << bit;
        if (!(r->anomalies & flag))
            continue;
        const char *name = bw_mail_anomaly_name(flag);
        char unknown[24];
        if (!name) {
            snprintf(unknown, sizeof unknown, "bit_%d", bit);
            name = unknown;
        }
        if (!first)
            raw(&w, ",");
        first = false;
        string(&w, bw_slice_cstr(name));
    }
    raw(&w, "]}");
    return w.failed ? BW_ERR_NOMEM : BW_OK;
}
