// SPDX-License-Identifier: MIT
// `botwatch campaigns`, `campaign`, `botnets`, `explain`, `export` and `report` on a store
// built the way a user builds one: tools/spamsim writes a spam-trap mbox (several botnets,
// templated campaigns) and `botwatch ingest` stores it. Every figure the commands print as
// JSON is checked against the database with SQL written here, and the JSON is read with
// SQLite's JSON functions, not botwatch's: campaign counts add up to the messages table,
// each campaign's count is its rows, botnet volumes and the "N botnets send 90%" figure are
// recomputed independently, explain agrees with the row and re-reads the source (and says
// so when the source is gone), export carries campaign_id/rule_labels/botnet_id for every
// row, and bad ids, old databases and bad options give clear errors. Skipped, saying why,
// without the spamsim inputs (SpamAssassin + CSDMC2010 templates, ASN data).
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_test_util.h"

#define SPAMSIM BW_BINARY_DIR "/tools/spamsim"
// Day 2 of spamsim's stream (it starts 2008-01-01 00:00 UTC).
#define DAY2 "2008-01-02"
#define DAY2_UNIX 1199232000

static char dir[64], db_path[160], mbox[160];
static bool have_store;

static int setup(void **state)
{
    (void)state;
    const char *data = getenv("BW_DATA"), *shared = getenv("BW_SHARED_DATA");
    char sa[1024], csdmc[1024], asn[1024];
    snprintf(sa, sizeof sa, "%s/npm-spam-assassin/package/data", data ? data : "");
    snprintf(csdmc, sizeof csdmc, "%s/mail/csdmc2010", shared ? shared : "");
    snprintf(asn, sizeof asn, "%s/npm-asn/package/asn-ipv4.csv", data ? data : "");
    if (access(SPAMSIM, X_OK) != 0 || access(BOTWATCH, X_OK) != 0 || access(sa, R_OK) != 0
        || access(csdmc, R_OK) != 0 || access(asn, R_OK) != 0) {
        fprintf(stderr, "skipping: needs %s, %s, %s, %s and %s\n", SPAMSIM, BOTWATCH, sa, csdmc, asn);
        return 0;
    }
    cli_tmpdir("clicamp", dir);
    snprintf(db_path, sizeof db_path, "%s/trap.db", dir);
    snprintf(mbox, sizeof mbox, "%s/trap.mbox", dir);
    if (cli_run("'%s' --mbox '%s' --truth '%s/truth.tsv' --seed 7 --messages 4000 --campaigns 16 --botnets 4 --days 4"
                " > /dev/null", SPAMSIM, mbox, dir) != 0)
        return -1;
    if (cli_run("'%s' ingest --db '%s' --quiet '%s'", BOTWATCH, db_path, mbox) != 0)
        return -1;
    have_store = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cli_rmdir(dir);
    return 0;
}

static void need_store(void)
{
    if (!have_store) {
        print_message("skipping: no spamsim store (see the message above)\n");
        skip();
    }
}

// Runs a botwatch command line (after "botwatch") with its JSON output in a file; returns it.
static char *json_of(const char *args)
{
    char out[192];
    snprintf(out, sizeof out, "%s/out.json", dir);
    int rc = cli_run("'%s' %s --db '%s' --format json -o '%s'", BOTWATCH, args, db_path, out);
    if (rc != 0)
        fail_msg("botwatch %s exited %d", args, rc);
    char *json = cli_read_file(out, NULL);
    assert_non_null(json);
    return json;
}

// The smallest number of botnets, largest first, whose messages reach 90% of all
// messages; -1 if they never do. Straight from the tables.
static int64_t ninety_by_sql(sqlite3 *db, const char *range_clause)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM messages m WHERE 1 %s", range_clause);
    int64_t total = cli_sql_int(db, NULL, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) AS n FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
             " WHERE c.botnet_id > 0 %s GROUP BY c.botnet_id ORDER BY n DESC", range_clause);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t cumulative = 0, rank = 0, answer = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        cumulative += sqlite3_column_int64(st, 0);
        rank++;
        if (cumulative * 10 >= total * 9) {
            answer = rank;
            break;
        }
    }
    sqlite3_finalize(st);
    return answer;
}

static void test_campaigns_add_up(void **state)
{
    (void)state;
    need_store();
    sqlite3 *db = cli_db_open(db_path);
    char *json = json_of("campaigns --top 1000");
    int64_t messages = cli_sql_int(db, NULL, "SELECT count(*) FROM messages");
    int64_t in_campaigns = cli_sql_int(db, NULL, "SELECT count(campaign_id) FROM messages");
    int64_t campaigns = cli_sql_int(db, NULL, "SELECT count(DISTINCT campaign_id) FROM messages");
    assert_int_equal(messages, 4000);
    assert_true(in_campaigns > 3900);     // every parsed message joins or starts a campaign
    assert_true(campaigns >= 16);         // spamsim wrote 16; fragments may add a few
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign_totals.messages')"), messages);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign_totals.in_campaigns')"), in_campaigns);
    assert_int_equal(cli_sql_int(db, json, "SELECT count(*) FROM json_each(?1, '$.campaigns')"), campaigns);
    assert_int_equal(cli_sql_int(db, json, "SELECT sum(json_extract(value, '$.messages')) FROM json_each(?1, '$.campaigns')"),
                     in_campaigns);
    // Each campaign's count is its rows; ranks are by messages, descending.
    assert_int_equal(cli_sql_int(db, json,
        "SELECT count(*) FROM json_each(?1, '$.campaigns') j WHERE json_extract(j.value, '$.messages') <>"
        " (SELECT count(*) FROM messages m WHERE m.campaign_id = json_extract(j.value, '$.id'))"), 0);
    assert_int_equal(cli_sql_int(db, json,
        "SELECT count(*) FROM json_each(?1, '$.campaigns') a JOIN json_each(?1, '$.campaigns') b"
        " ON json_extract(b.value, '$.rank') = json_extract(a.value, '$.rank') + 1"
        " WHERE json_extract(b.value, '$.messages') > json_extract(a.value, '$.messages')"), 0);
    // Distinct sender IPs of the top campaign, straight from its rows.
    assert_int_equal(cli_sql_int(db, json,
        "SELECT json_extract(?1, '$.campaigns[0].sender_ips') - (SELECT count(DISTINCT sender_ip) FROM messages"
        " WHERE campaign_id = json_extract(?1, '$.campaigns[0].id'))"), 0);
    free(json);

    // A range: only messages from day 2 on.
    json = json_of("campaigns --top 1000 --since " DAY2);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(campaign_id) FROM messages WHERE seen_at >= %d", DAY2_UNIX);
    int64_t in_range = cli_sql_int(db, NULL, sql);
    assert_true(in_range > 0 && in_range < in_campaigns);
    assert_int_equal(cli_sql_int(db, json, "SELECT sum(json_extract(value, '$.messages')) FROM json_each(?1, '$.campaigns')"),
                     in_range);
    free(json);
    sqlite3_close(db);
}

static void test_botnets_and_ninety_percent(void **state)
{
    (void)state;
    need_store();
    sqlite3 *db = cli_db_open(db_path);
    int64_t botnets = cli_sql_int(db, NULL, "SELECT count(*) FROM botnets");
    assert_true(botnets >= 1);   // spamsim's four botnets, as inferred by ingest
    char *json = json_of("botnets --top 1000");
    int64_t in_botnets = cli_sql_int(db, NULL,
        "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.botnet_id > 0");
    assert_int_equal(cli_sql_int(db, json, "SELECT sum(json_extract(value, '$.messages')) FROM json_each(?1, '$.botnets')"),
                     in_botnets);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign_totals.in_botnets')"), in_botnets);
    // Each botnet's count is its campaigns' rows.
    assert_int_equal(cli_sql_int(db, json,
        "SELECT count(*) FROM json_each(?1, '$.botnets') j WHERE json_extract(j.value, '$.messages') <>"
        " (SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
        "  WHERE c.botnet_id = json_extract(j.value, '$.id'))"), 0);
    int64_t ninety = ninety_by_sql(db, "");
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign_totals.botnets_for_90_percent')"), ninety);
    print_message("%lld botnets; %lld send 90%% of the %s messages\n", (long long)botnets, (long long)ninety, "4000");
    free(json);

    // The report's section carries the same figure, also over a range.
    json = json_of("report");
    assert_int_equal(cli_sql_int(db, json,
        "SELECT json_extract(?1, '$.campaigns_and_botnets.campaign_totals.botnets_for_90_percent')"), ninety);
    free(json);
    json = json_of("botnets --since " DAY2);
    char clause[64];
    snprintf(clause, sizeof clause, "AND m.seen_at >= %d", DAY2_UNIX);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign_totals.botnets_for_90_percent')"),
                     ninety_by_sql(db, clause));
    free(json);
    sqlite3_close(db);
}

static void test_campaign_and_explain(void **state)
{
    (void)state;
    need_store();
    sqlite3 *db = cli_db_open(db_path);
    int64_t top = cli_sql_int(db, NULL,
        "SELECT campaign_id FROM messages WHERE campaign_id IS NOT NULL GROUP BY campaign_id"
        " ORDER BY count(*) DESC, campaign_id LIMIT 1");
    char args[256];
    snprintf(args, sizeof args, "campaign %lld", (long long)top);
    char *json = json_of(args);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM messages WHERE campaign_id = %lld", (long long)top);
    int64_t rows = cli_sql_int(db, NULL, sql);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.messages')"), rows);
    assert_int_equal(cli_sql_int(db, json, "SELECT sum(json_extract(value, '$.messages')) FROM json_each(?1, '$.per_day')")
                         + cli_sql_int(db, json, "SELECT json_extract(?1, '$.undated_messages')"), rows);
    snprintf(sql, sizeof sql, "SELECT min(id) FROM messages WHERE campaign_id = %lld", (long long)top);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.first_message')"), cli_sql_int(db, NULL, sql));
    assert_int_equal(cli_sql_int(db, json, "SELECT json_type(?1, '$.template') = 'text'"), 1);
    assert_true(cli_sql_int(db, json, "SELECT length(json_extract(?1, '$.template'))") > 10);
    // Every sample is a member.
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM json_each(?1, '$.samples') j JOIN messages m ON m.id = json_extract(j.value, '$.id')"
             " WHERE m.campaign_id <> %lld", (long long)top);
    assert_int_equal(cli_sql_int(db, json, sql), 0);
    assert_true(cli_sql_int(db, json, "SELECT json_array_length(?1, '$.samples')") >= 1);
    int64_t sample = cli_sql_int(db, json, "SELECT json_extract(?1, '$.samples[0].id')");
    free(json);

    // explain by id: the campaign and SHA-256 of the row; the bytes re-read from the mbox.
    snprintf(args, sizeof args, "explain %lld", (long long)sample);
    json = json_of(args);
    snprintf(sql, sizeof sql, "SELECT campaign_id FROM messages WHERE id = %lld", (long long)sample);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign.id')"), cli_sql_int(db, NULL, sql));
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.bytes') = 'source'"), 1);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.rules_run')"), 1);
    snprintf(sql, sizeof sql,
             "SELECT json_extract(?1, '$.message.sha256') = (SELECT lower(hex(sha256)) FROM messages WHERE id = %lld)",
             (long long)sample);
    assert_int_equal(cli_sql_int(db, json, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(json_extract(?1, '$.rule_labels_stored'), '') ="
             " coalesce((SELECT rule_labels FROM messages WHERE id = %lld), '')", (long long)sample);
    assert_int_equal(cli_sql_int(db, json, sql), 1);
    // What the rules say now is what ingest stored.
    assert_int_equal(cli_sql_int(db, json,
        "SELECT json_extract(?1, '$.rule_labels_now') = json_extract(?1, '$.rule_labels_stored')"), 1);
    free(json);

    // The same message by a SHA-256 prefix, and the mbox as a FILE (its first message).
    snprintf(sql, sizeof sql, "SELECT substr(lower(hex(sha256)), 1, 12) FROM messages WHERE id = %lld", (long long)sample);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(args, sizeof args, "explain %s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    json = json_of(args);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.message.id')"), sample);
    free(json);
    snprintf(args, sizeof args, "explain '%s'", mbox);
    json = json_of(args);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.bytes') = 'file'"), 1);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.message.id')"),
                     cli_sql_int(db, NULL, "SELECT min(id) FROM messages"));
    free(json);

    // The source moved away: explain still answers from the store and says why it could
    // not read the message again.
    assert_int_equal(cli_run("mv '%s' '%s.moved'", mbox, mbox), 0);
    snprintf(args, sizeof args, "explain %lld", (long long)sample);
    json = json_of(args);
    assert_int_equal(cli_run("mv '%s.moved' '%s'", mbox, mbox), 0);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.bytes') = 'gone'"), 1);
    assert_int_equal(cli_sql_int(db, json, "SELECT instr(json_extract(?1, '$.bytes_note'), 'is gone') > 0"), 1);
    assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.rules_run')"), 0);
    assert_true(cli_sql_int(db, json, "SELECT json_extract(?1, '$.campaign.id')") > 0);
    free(json);
    sqlite3_close(db);
}

static void test_export_columns(void **state)
{
    (void)state;
    need_store();
    sqlite3 *db = cli_db_open(db_path);
    char out[192];
    snprintf(out, sizeof out, "%s/export.jsonl", dir);
    assert_int_equal(cli_run("'%s' export --db '%s' --format jsonl -o '%s'", BOTWATCH, db_path, out), 0);
    char *text = cli_read_file(out, NULL);
    assert_non_null(text);
    size_t rows = 0, with_campaign = 0, mismatches = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        rows++;
        if (cli_sql_int(db, line, "SELECT json_extract(?1, '$.campaign_id') IS NOT NULL") == 1)
            with_campaign++;
        // campaign_id, botnet_id and rule_labels of the row with this SHA-256.
        mismatches += cli_sql_int(db, line,
            "SELECT coalesce(json_extract(?1, '$.campaign_id'), 0) <> coalesce(m.campaign_id, 0)"
            " OR coalesce(json_extract(?1, '$.botnet_id'), 0) <> coalesce(c.botnet_id, 0)"
            " OR (SELECT group_concat(value, ' ') FROM json_each(?1, '$.rule_labels')) IS NOT m.rule_labels"
            " FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id"
            " WHERE lower(hex(m.sha256)) = json_extract(?1, '$.sha256')") != 0;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    assert_int_equal(rows, 4000);
    assert_int_equal(mismatches, 0);
    assert_int_equal((int64_t)with_campaign, cli_sql_int(db, NULL, "SELECT count(campaign_id) FROM messages"));
    // CSV: the three columns close the header.
    snprintf(out, sizeof out, "%s/export.csv", dir);
    assert_int_equal(cli_run("'%s' export --db '%s' -o '%s'", BOTWATCH, db_path, out), 0);
    text = cli_read_file(out, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, ",parsed,campaign_id,rule_labels,botnet_id\r\n"));
    free(text);
    sqlite3_close(db);
}

static void test_errors(void **state)
{
    (void)state;
    need_store();
    char err[192];
    snprintf(err, sizeof err, "%s/stderr.txt", dir);
    // An unknown campaign id: exit 1 and a message naming it.
    assert_int_equal(cli_run("'%s' campaign 999999 --db '%s' 2> '%s'", BOTWATCH, db_path, err), 1);
    char *text = cli_read_file(err, NULL);
    assert_non_null(strstr(text, "no campaign 999999"));
    free(text);
    assert_int_equal(cli_run("'%s' explain 999999 --db '%s' 2> '%s'", BOTWATCH, db_path, err), 1);
    text = cli_read_file(err, NULL);
    assert_non_null(strstr(text, "no message with id 999999"));
    free(text);
    // A database from before campaigns (schema 2): says what to do.
    char old[192];
    snprintf(old, sizeof old, "%s/v2.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE messages(id INTEGER PRIMARY KEY); PRAGMA user_version = 2", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    static const char *const on_old[] = { "campaigns", "botnets", "campaign 1", "explain 1" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cli_run("'%s' %s --db '%s' 2> '%s'", BOTWATCH, on_old[i], old, err), 1);
        text = cli_read_file(err, NULL);
        if (!strstr(text, "before campaigns existed") || !strstr(text, "botwatch ingest --db"))
            fail_msg("%s on a schema-2 file said: %s", on_old[i], text);
        free(text);
    }
    // Usage errors exit 2.
    static const char *const usage[] = { "campaigns --format html", "campaigns --top 0", "campaign", "campaign abc",
                                         "campaign 1 2", "botnets --since nonsense", "explain", "explain zz-not-a-msg",
                                         "campaign 1 --since 2008-01-01", "campaigns --rules x" };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        if (cli_run("'%s' %s --db '%s' 2>/dev/null", BOTWATCH, usage[i], db_path) != 2)
            fail_msg("'%s' should exit 2", usage[i]);
    // A missing database exits 1.
    assert_int_equal(cli_run("'%s' campaigns --db '%s/none.db' 2>/dev/null", BOTWATCH, dir), 1);
    static const char *const help[] = { "campaigns", "campaign", "botnets", "explain" };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(cli_run("'%s' %s --help > /dev/null", BOTWATCH, help[i]), 0);
}

// --max-campaigns: the same stream with at most 5 campaigns in memory. Every message still
// has a campaign, the counts add up, no more than 5 campaigns are saved as live, and more
// campaigns are made than with the default (templates whose campaign was evicted for the
// cap start again).
static void test_max_campaigns(void **state)
{
    (void)state;
    need_store();
    char small[192];
    snprintf(small, sizeof small, "%s/small.db", dir);
    assert_int_equal(cli_run("'%s' ingest --db '%s' --quiet --no-rules --max-campaigns 5 '%s'", BOTWATCH, small, mbox),
                     0);
    sqlite3 *db = cli_db_open(small), *full = cli_db_open(db_path);
    assert_int_equal(cli_sql_int(db, NULL, "SELECT count(*) FROM messages WHERE campaign_id IS NULL"), 0);
    assert_int_equal(cli_sql_int(db, NULL, "SELECT sum(messages) FROM campaigns"),
                     cli_sql_int(db, NULL, "SELECT count(*) FROM messages"));
    int64_t live = cli_sql_int(db, NULL, "SELECT count(*) FROM campaigns WHERE in_memory = 1");
    assert_true(live >= 1 && live <= 5);
    assert_true(cli_sql_int(db, NULL, "SELECT count(*) FROM campaigns") >
                cli_sql_int(full, NULL, "SELECT count(*) FROM campaigns"));
    sqlite3_close(db);
    sqlite3_close(full);
    static const char *const bad[] = { "0", "-3", "12x", "", "10000001" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cli_run("'%s' ingest --db '%s' --max-campaigns '%s' '%s' 2>/dev/null", BOTWATCH, small, bad[i], mbox) != 2)
            fail_msg("--max-campaigns '%s' should exit 2", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_campaigns_add_up),
        cmocka_unit_test(test_botnets_and_ninety_percent),
        cmocka_unit_test(test_campaign_and_explain),
        cmocka_unit_test(test_export_columns),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_max_campaigns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
