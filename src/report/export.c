// SPDX-License-Identifier: MIT
// `botwatch export`: one row per stored message for pandas, Elasticsearch or any other
// tool, streamed from the store's message iterator (one SQLite step per row, one reused
// buffer flushed every 64 KiB), so memory stays constant whatever the database size.
// Each row also carries the message's campaign, rule labels and botnet (schema 3), looked
// up by row id with one reused statement. Columns and encodings: docs/report.md.
#include <inttypes.h>
#include <string.h>

#include "report_internal.h"

bool bw_export_format_parse(const char *name, bw_export_format *out)
{
    if (strcmp(name, "csv") == 0) {
        *out = BW_EXPORT_CSV;
        return true;
    }
    if (strcmp(name, "jsonl") == 0 || strcmp(name, "ndjson") == 0) {
        *out = BW_EXPORT_JSONL;
        return true;
    }
    return false;
}

static const char csv_header[] =
    "sha256,message_id,date,received_at,seen_at,sender_ip,helo,asn,as_name,subject,from,"
    "envelope_from,url_domains,anomalies,source,source_offset,size,parsed,campaign_id,rule_labels,botnet_id\r\n";

// Flush threshold: large enough that fwrite is called rarely, small enough to be constant.
enum { FLUSH_BYTES = 64 * 1024 };

static int json_text(bw_buf *b, bw_slice s)
{
    return s.n ? rep_append_json(b, s) : bw_buf_append_cstr(b, "null");
}

// The store keeps a message's domains space-separated; CSV joins them with ';' inside one
// field, JSONL makes an array.
static int domains_csv(bw_buf *b, bw_slice domains, bw_buf *scratch)
{
    bw_buf_clear(scratch);
    int rc = 0;
    bool first = true;
    for (size_t i = 0; i < domains.n;) {
        size_t j = i;
        while (j < domains.n && domains.p[j] != ' ')
            j++;
        if (j > i) {
            rc |= first ? 0 : bw_buf_append_char(scratch, ';');
            rc |= bw_buf_append(scratch, domains.p + i, j - i);
            first = false;
        }
        i = j + 1;
    }
    return rc | rep_append_csv(b, bw_buf_slice(scratch));
}

static int domains_json(bw_buf *b, bw_slice domains)
{
    int rc = bw_buf_append_char(b, '[');
    bool first = true;
    for (size_t i = 0; i < domains.n;) {
        size_t j = i;
        while (j < domains.n && domains.p[j] != ' ')
            j++;
        if (j > i) {
            rc |= first ? 0 : bw_buf_append_cstr(b, ", ");
            rc |= rep_append_json(b, bw_slice_make(domains.p + i, j - i));
            first = false;
        }
        i = j + 1;
    }
    return rc | bw_buf_append_char(b, ']');
}

static int anomalies_out(bw_buf *b, uint64_t flags, bw_anomaly_namer namer, bool json)
{
    int rc = json ? bw_buf_append_char(b, '[') : 0;
    bool first = true;
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(flags >> bit & 1))
            continue;
        char tmp[32];
        const char *name = rep_anomaly_name(namer, bit, tmp);
        if (!first)
            rc |= bw_buf_append_cstr(b, json ? ", " : ";");
        rc |= json ? rep_append_json(b, bw_slice_cstr(name)) : bw_buf_append_cstr(b, name);
        first = false;
    }
    return rc | (json ? bw_buf_append_char(b, ']') : 0);
}

// What export adds from schema 3: a message's campaign, rule labels and botnet.
typedef struct attribution {
    int64_t campaign_id, botnet_id;   // 0 = none
    bw_slice rule_labels;             // space-separated
} attribution;

static int csv_row(bw_buf *b, const bw_store_row *row, const attribution *at, bw_anomaly_namer namer,
                   bw_buf *scratch)
{
    int rc = rep_append_csv(b, row->sha256);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->message_id);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_csv_time(b, row->date);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_csv_time(b, row->received_at);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_csv_time(b, row->seen_at);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->sender_ip);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->helo);
    rc |= bw_buf_append_char(b, ',');
    if (row->sender_asn)
        rc |= bw_buf_printf(b, "%" PRIu32, row->sender_asn);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->sender_as_name);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->subject);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->from_addr);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->envelope_from);
    rc |= bw_buf_append_char(b, ',');
    rc |= domains_csv(b, row->url_domains, scratch);
    rc |= bw_buf_append_char(b, ',');
    rc |= anomalies_out(b, row->anomalies, namer, false);
    rc |= bw_buf_append_char(b, ',');
    rc |= rep_append_csv(b, row->source_path);
    rc |= bw_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%d,", row->source_offset, row->size, row->parsed ? 1 : 0);
    if (at->campaign_id)
        rc |= bw_buf_printf(b, "%" PRId64, at->campaign_id);
    rc |= bw_buf_append_char(b, ',');
    rc |= domains_csv(b, at->rule_labels, scratch);   // space-separated -> ';'-joined, like the domains
    rc |= bw_buf_append_char(b, ',');
    if (at->botnet_id)
        rc |= bw_buf_printf(b, "%" PRId64, at->botnet_id);
    return rc | bw_buf_append_cstr(b, "\r\n");
}

static int jsonl_row(bw_buf *b, const bw_store_row *row, const attribution *at, bw_anomaly_namer namer)
{
    int rc = bw_buf_append_cstr(b, "{\"sha256\": ");
    rc |= json_text(b, row->sha256);
    rc |= bw_buf_append_cstr(b, ", \"message_id\": ");
    rc |= json_text(b, row->message_id);
    rc |= bw_buf_append_cstr(b, ", \"date\": ");
    rc |= rep_json_time(b, row->date);
    rc |= bw_buf_append_cstr(b, ", \"received_at\": ");
    rc |= rep_json_time(b, row->received_at);
    rc |= bw_buf_append_cstr(b, ", \"seen_at\": ");
    rc |= rep_json_time(b, row->seen_at);
    rc |= bw_buf_append_cstr(b, ", \"sender_ip\": ");
    rc |= json_text(b, row->sender_ip);
    rc |= bw_buf_append_cstr(b, ", \"helo\": ");
    rc |= json_text(b, row->helo);
    rc |= bw_buf_append_cstr(b, ", \"asn\": ");
    rc |= row->sender_asn ? bw_buf_printf(b, "%" PRIu32, row->sender_asn) : bw_buf_append_cstr(b, "null");
    rc |= bw_buf_append_cstr(b, ", \"as_name\": ");
    rc |= json_text(b, row->sender_as_name);
    rc |= bw_buf_append_cstr(b, ", \"subject\": ");
    rc |= json_text(b, row->subject);
    rc |= bw_buf_append_cstr(b, ", \"from\": ");
    rc |= json_text(b, row->from_addr);
    rc |= bw_buf_append_cstr(b, ", \"envelope_from\": ");
    rc |= json_text(b, row->envelope_from);
    rc |= bw_buf_append_cstr(b, ", \"url_domains\": ");
    rc |= domains_json(b, row->url_domains);
    rc |= bw_buf_append_cstr(b, ", \"anomalies\": ");
    rc |= anomalies_out(b, row->anomalies, namer, true);
    rc |= bw_buf_append_cstr(b, ", \"source\": ");
    rc |= json_text(b, row->source_path);
    rc |= bw_buf_printf(b, ", \"source_offset\": %" PRIu64 ", \"size\": %" PRIu64 ", \"parsed\": %s",
                        row->source_offset, row->size, row->parsed ? "true" : "false");
    rc |= bw_buf_append_cstr(b, ", \"campaign_id\": ");
    rc |= at->campaign_id ? bw_buf_printf(b, "%" PRId64, at->campaign_id) : bw_buf_append_cstr(b, "null");
    rc |= bw_buf_append_cstr(b, ", \"rule_labels\": ");
    rc |= domains_json(b, at->rule_labels);
    rc |= bw_buf_append_cstr(b, ", \"botnet_id\": ");
    rc |= at->botnet_id ? bw_buf_printf(b, "%" PRId64, at->botnet_id) : bw_buf_append_cstr(b, "null");
    return rc | bw_buf_append_cstr(b, "}\n");
}

bw_status bw_export_messages(bw_store *store, const bw_store_range *range, bw_export_format format,
                             bw_anomaly_namer anomaly_name, FILE *out, uint64_t *rows, char *errbuf)
{
    if (rows)
        *rows = 0;
    bw_store_iter *it = bw_store_iter_messages(store, range, errbuf);
    if (!it)
        return BW_ERR_DB;
    bw_store_attrib_reader *attrib = bw_store_attrib_reader_new(store, errbuf);
    if (!attrib) {
        bw_store_iter_free(it);
        return BW_ERR_DB;
    }
    bw_buf b = BW_BUF_INIT, scratch = BW_BUF_INIT;
    bw_status status = BW_OK;
    if (format == BW_EXPORT_CSV && bw_buf_append_cstr(&b, csv_header) != 0)
        status = bw_error(errbuf, BW_ERR_NOMEM, "export: out of memory");
    uint64_t count = 0;
    bw_store_row row;
    int step = 0;
    while (status == BW_OK && (step = bw_store_iter_next(it, &row, errbuf)) == 1) {
        attribution at;
        if (bw_store_attrib_get(attrib, row.id, &at.campaign_id, &at.rule_labels, &at.botnet_id, errbuf) < 0) {
            status = BW_ERR_DB;
            break;
        }
        int rc = format == BW_EXPORT_CSV ? csv_row(&b, &row, &at, anomaly_name, &scratch)
                                         : jsonl_row(&b, &row, &at, anomaly_name);
        if (rc != 0) {
            status = bw_error(errbuf, BW_ERR_NOMEM, "export: out of memory");
            break;
        }
        count++;
        if (b.n >= FLUSH_BYTES)
            status = rep_flush(&b, out, errbuf);
    }
    if (status == BW_OK && step < 0)
        status = BW_ERR_DB;   // errbuf already says why
    if (status == BW_OK)
        status = rep_flush(&b, out, errbuf);
    if (status == BW_OK && fflush(out) != 0)
        status = bw_error(errbuf, BW_ERR_IO, "write failed");
    bw_store_attrib_reader_free(attrib);
    bw_store_iter_free(it);
    bw_buf_free(&b);
    bw_buf_free(&scratch);
    if (rows)
        *rows = count;
    return status;
}
