// SPDX-License-Identifier: MIT
// The report/export fixture: nine messages over two months of 2002 (one undated, one
// unparsed), two spam-trap sources, a duplicate, two ingest errors, three sender networks
// and subjects chosen to be hostile to every output format (HTML tags, CSV quotes and
// commas, terminal escapes, bidi overrides, invalid UTF-8).
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture_db.h"

typedef struct fixture_msg {
    const char *subject, *from, *message_id;
    int64_t date;               // 0 = no Date:
    int64_t received;           // 0 = no dated Received hop
    const char *ip, *helo;
    uint32_t asn;
    const char *as_name, *country;
    const char *domains[3];
    uint64_t anomalies;
    int source;                 // 0 or 1
    bool unparsed;
} fixture_msg;

// 2002-01-05 10:00 UTC and friends.
#define JAN05 1010224800
#define JAN06 (JAN05 + 86400)
#define FEB10 (JAN05 + 36 * 86400)

static const fixture_msg messages[] = {
    { "Cheap meds", "\"Pharma\" <a@example.com>", "m1@example.com", JAN05 - 3600, JAN05, "192.0.2.10",
      "mail.example.com", 64500, "Example Transit, Inc.", "US", { "pills.example", "example.org" }, 1u << 8, 0, false },
    { "Cheap meds", "\"Pharma\" <b@example.com>", "m2@example.com", JAN05, JAN05 + 60, "192.0.2.10",
      "mail.example.com", 64500, "Example Transit, Inc.", "US", { "pills.example" }, (1u << 8) | (1u << 14), 0, false },
    { "<script>alert(1)</script> & \"win\"", "x@evil.test", "m3@evil.test", 0, JAN06, "198.51.100.7",
      "evil", 64501, "Evil <b>Net</b>, \"Ltd\"", "NL", { "evil.test" }, 1u << 14, 0, false },
    { "Comma, \"quoted\" subject", "y@example.net", "m4@example.net", JAN06, JAN06 + 7200, "198.51.100.8",
      "helo,with,commas", 64501, "Evil <b>Net</b>, \"Ltd\"", "NL", { "pills.example" }, 0, 1, false },
    { "Terminal \x1b" "[31mred\x1b" "[0m \xe2\x80\xae" "evil\xe2\x80\xac" " bad \xff\xfe utf8", "z@example.net",
      "m5@example.net", FEB10, FEB10, "2001:db8::25", "v6.example", 64502, "IPv6 Only GmbH", "DE", { 0 }, 0, 1,
      false },
    { "Line\r\nbreak", "w@example.net", "m6@example.net", FEB10 + 86400, FEB10 + 86400 + 5, "203.0.113.9",
      "no-asn", 0, NULL, NULL, { "example.org" }, 1u << 9, 1, false },
    { "No arrival time", "v@example.net", "m7@example.net", 0, 0, NULL, NULL, 0, NULL, NULL, { 0 }, 1u << 8, 1,
      false },
    { "Cheap meds", "u@example.com", "m8@example.com", FEB10, FEB10 + 120, NULL, NULL, 0, NULL, NULL,
      { "pills.example" }, 0, 0, false },
    { NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL, NULL, { 0 }, 0, 0, true },
};

const char *fixture_anomaly_name(uint64_t flag)
{
    switch (flag) {
    case 1u << 8: return "missing_date";
    case 1u << 9: return "missing_message_id";
    case 1u << 14: return "bad_boundary";
    default: return NULL;
    }
}

static bw_slice s(const char *text) { return text ? bw_slice_cstr(text) : BW_SLICE_NULL; }

// Campaigns and botnets as an ingest would have written them (schema 3): messages 1, 2, 8
// ("Cheap meds") form campaign 1, 3-4 campaign 2, 5-6 campaign 3, 7 campaign 4 (no
// botnet), the unparsed 9 none. Botnet 1 ("ratware_demo") holds campaigns 1 and 3 (5
// messages), botnet 2 campaign 2 (2 messages); campaigns 1 and 2 are linked by
// pills.example. Hostile text in a template and a label exercises the escaping.
static const char *const campaign_sql[] = {
    "UPDATE messages SET campaign_id = 1, similarity = 1.0 WHERE id = 1",
    "UPDATE messages SET campaign_id = 1, similarity = 0.875 WHERE id IN (2, 8)",
    "UPDATE messages SET campaign_id = 2, similarity = 1.0, rule_labels = 'ratware_demo' WHERE id = 3",
    "UPDATE messages SET campaign_id = 2, similarity = 0.6 WHERE id = 4",
    "UPDATE messages SET campaign_id = 3, similarity = 1.0, rule_labels = 'bulk ratware_demo' WHERE id = 5",
    "UPDATE messages SET campaign_id = 3, similarity = 0.5 WHERE id = 6",
    "UPDATE messages SET campaign_id = 4, similarity = 1.0 WHERE id = 7",
    "INSERT INTO campaigns(id, first_seen, last_seen, messages, sender_ips, subnets24, asns, template, subjects_json,"
    " domains_json, samples_json, links_json, botnet_id, in_memory) VALUES"
    " (1, 1010221200, 1013342520, 3, 1, 1, 1, 'cheap meds <url:dom>', '[{\"value\":\"Cheap meds\",\"count\":3}]',"
    "  '[{\"value\":\"pills.example\",\"count\":3}]', '[8, 1, 2]', '[{\"campaign\":2,\"domain\":\"pills.example\",\"time\":1010318400}]', 1, 0),"
    " (2, 1010311200, 1010318400, 2, 2, 1, 1, '<script>x</script> <*> \"win\", <num>', '[]', '[]', 'not json', '[]', 2, 1),"
    " (3, 1013335200, 1013421605, 2, 2, 2, 1, 'terminal <*>', '[]', '[]', '[5, 6]', '[]', 1, 0),"
    " (4, NULL, NULL, 1, 0, 0, 0, 'no arrival time', '[]', '[]', '[7]', '[]', NULL, 0)",
    "INSERT INTO campaign_links(a, b, domain, time) VALUES (1, 2, 'pills.example', 1010318400)",
    "INSERT INTO botnets(id, label, campaigns, sender_ips, subnets24, messages, first_seen, last_seen, asns_json,"
    " countries_json) VALUES"
    " (1, 'ratware_demo', 2, 3, 3, 5, 1010221200, 1013421605,"
    "  '[{\"asn\":64500,\"name\":\"Example Transit, Inc.\",\"ips\":1},{\"asn\":64502,\"name\":\"IPv6 Only GmbH\",\"ips\":1}]',"
    "  '[{\"country\":\"US\",\"ips\":1},{\"country\":\"DE\",\"ips\":1}]'),"
    " (2, '<b>evil</b>', 1, 2, 1, 2, 1010311200, 1010318400, '[{\"asn\":64501,\"name\":\"Evil <b>Net</b>\",\"ips\":2}]',"
    "  'broken')",
    NULL,
};

static bw_status add_campaigns(bw_store *store, char *errbuf)
{
    sqlite3 *db = bw_store_sqlite(store);
    for (size_t i = 0; campaign_sql[i]; i++) {
        char *err = NULL;
        if (sqlite3_exec(db, campaign_sql[i], NULL, NULL, &err) != SQLITE_OK) {
            bw_status st = bw_error(errbuf, BW_ERR_DB, "fixture campaigns: %s", err ? err : "?");
            sqlite3_free(err);
            return st;
        }
    }
    return BW_OK;
}

int fixture_db_create(const char *path, bool with_asn)
{
    char errbuf[BW_ERRBUF_SIZE];
    char wal[1100];
    unlink(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    bw_store *store = NULL;
    if (bw_store_open(path, NULL, &store, errbuf) != BW_OK) {
        fprintf(stderr, "fixture: %s\n", errbuf);
        return -1;
    }
    int64_t source_ids[2];
    bw_status st = bw_store_source_open(store, "trap/one.mbox", "mbox", &source_ids[0], errbuf);
    if (st == BW_OK)
        st = bw_store_source_open(store, "trap/two.eml", "eml", &source_ids[1], errbuf);
    if (st == BW_OK)
        st = bw_store_begin(store, errbuf);
    bw_store_source_counts counts[2] = { { 0 }, { 0 } };
    size_t n = sizeof messages / sizeof messages[0];
    for (size_t i = 0; i <= n && st == BW_OK; i++) {
        // The last round re-adds message 0: a duplicate, not stored again.
        const fixture_msg *m = &messages[i < n ? i : 0];
        bw_message msg = { 0 };
        msg.subject = s(m->subject);
        msg.from = s(m->from);
        msg.message_id = s(m->message_id);
        msg.date = (time_t)m->date;
        msg.has_date = m->date != 0;
        msg.part_count = 1;
        msg.anomalies = m->anomalies;
        bw_received_hop hop = { 0 };
        hop.time = (time_t)m->received;
        hop.has_time = m->received != 0;
        hop.ip = s(m->ip);
        hop.from_name = s(m->helo);
        bw_url urls[3];
        size_t url_count = 0;
        for (size_t k = 0; k < 3 && m->domains[k]; k++) {
            urls[url_count] = (bw_url){ .url = s(m->domains[k]), .host = s(m->domains[k]), .domain = s(m->domains[k]) };
            url_count++;
        }
        bw_mail_record rec = { 0 };
        char digest_input[16];
        snprintf(digest_input, sizeof digest_input, "msg-%zu", i < n ? i : 0);
        uint8_t digest[BW_SHA256_LEN];
        bw_sha256(digest_input, strlen(digest_input), digest);
        bw_hex(digest, sizeof digest, rec.sha256);
        rec.message = m->unparsed ? NULL : &msg;
        rec.received = &hop;
        rec.received_count = m->received ? 1 : 0;
        rec.sender_hop = m->ip ? 0 : -1;
        rec.sender_ip = s(m->ip);
        rec.helo = s(m->helo);
        rec.urls = urls;
        rec.url_count = url_count;
        rec.header_fingerprint = BW_SLICE_LIT("received,from,to,subject,date");
        rec.anomalies = m->anomalies;
        bw_store_message_meta meta = {
            .source_id = source_ids[m->source],
            .source_offset = 1000 * (uint64_t)i,
            .size = 500 + (uint64_t)i,
            .ingested_at = FEB10 + 30 * 86400,
            .sender_asn = with_asn ? m->asn : 0,
            .sender_as_name = with_asn ? s(m->as_name) : BW_SLICE_NULL,
            .sender_country = with_asn ? s(m->country) : BW_SLICE_NULL,
        };
        bool inserted = false;
        st = bw_store_add_message(store, &rec, &meta, &inserted, errbuf);
        counts[m->source].messages++;
        counts[m->source].bytes += meta.size;
        if (st == BW_OK && !inserted)
            counts[m->source].duplicates++;
    }
    if (st == BW_OK)
        st = bw_store_add_error(store, source_ids[0], 4242, "parse: truncated <message> at EOF", FEB10 + 30 * 86400,
                                errbuf);
    if (st == BW_OK)
        st = bw_store_add_error(store, source_ids[1], 17, "intake: bad \"gzip\" member, skipped", FEB10 + 30 * 86400,
                                errbuf);
    counts[0].errors = 1;
    counts[1].errors = 1;
    for (int k = 0; k < 2 && st == BW_OK; k++)
        st = bw_store_source_add_counts(store, source_ids[k], &counts[k], errbuf);
    if (st == BW_OK)
        st = add_campaigns(store, errbuf);
    if (st == BW_OK)
        st = bw_store_commit(store, errbuf);
    if (st != BW_OK)
        fprintf(stderr, "fixture: %s\n", errbuf);
    bw_store_close(store, errbuf);
    return st == BW_OK ? 0 : -1;
}
