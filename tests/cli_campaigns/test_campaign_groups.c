// SPDX-License-Identifier: MIT
// Issue 3, acceptance 3: `botwatch ingest` of the SpamAssassin corpus ($BW_DATA/
// spamassassin.mbox) must put each hand-picked near-duplicate group of
// tests/cli_campaigns/campaign_groups.txt into one campaign, and the messages of each
// "apart" set into different campaigns. The store is read back with SQLite directly (by
// SHA-256), and `botwatch campaign` must list the group's campaign with every member
// counted. Skipped, saying why, without the corpus or the binary.
#include <ctype.h>
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

enum { MAX_MEMBERS = 64 };

typedef struct group {
    char name[64];
    bool apart;
    char sha[MAX_MEMBERS][17];
    char file[MAX_MEMBERS][40];
    size_t n;
} group;

// The campaign of the message whose SHA-256 starts with the 16 hex digits (0 if none, and
// the test fails if the message is not stored at all).
static int64_t campaign_of(sqlite3 *db, const char *sha16, const char *file)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(campaign_id, 0) FROM messages WHERE substr(lower(hex(sha256)), 1, 16) = ?1");
    int64_t c = cli_sql_int(db, sha16, sql);
    if (c < 0)
        fail_msg("%s (%s) is not in the store", sha16, file);
    return c;
}

static size_t parse_groups(const char *text, group *groups, size_t max)
{
    size_t count = 0;
    group *g = NULL;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && line[0] != '#') {
            if (!strncmp(line, "group ", 6) || !strncmp(line, "apart ", 6)) {
                assert_true(count < max);
                g = &groups[count++];
                memset(g, 0, sizeof *g);
                g->apart = line[0] == 'a';
                const char *name = line + 6;
                size_t k = 0;
                while (name[k] && name[k] != ':' && k + 1 < sizeof g->name)
                    k++;
                memcpy(g->name, name, k);
            } else if (line[0] == ' ' && g) {
                const char *p = line;
                while (*p == ' ')
                    p++;
                assert_true(g->n < MAX_MEMBERS);
                if (sscanf(p, "%16[0-9a-f] %39s", g->sha[g->n], g->file[g->n]) != 2 || strlen(g->sha[g->n]) != 16)
                    fail_msg("campaign_groups.txt: bad member line: %.*s", (int)len, line);
                g->n++;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return count;
}

static void test_spamassassin_groups(void **state)
{
    (void)state;
    const char *data = getenv("BW_DATA");
    char mbox[1024];
    snprintf(mbox, sizeof mbox, "%s/spamassassin.mbox", data ? data : "");
    if (!data || access(mbox, R_OK) != 0) {
        print_message("skipping: %s absent (run scripts/fetch-data.sh)\n", mbox);
        skip();
    }
    if (access(BOTWATCH, X_OK) != 0) {
        print_message("skipping: %s not built\n", BOTWATCH);
        skip();
    }
    char *text = cli_read_file(BW_SOURCE_DIR "/tests/cli_campaigns/campaign_groups.txt", NULL);
    assert_non_null(text);
    static group groups[32];
    size_t count = parse_groups(text, groups, 32);
    free(text);
    assert_true(count >= 12);

    char dir[64], db_path[128];
    cli_tmpdir("groups", dir);
    snprintf(db_path, sizeof db_path, "%s/sa.db", dir);
    // No ASN data needed: campaigns come from the text. One ingest, as a user would run it.
    assert_int_equal(cli_run("'%s' ingest --db '%s' --no-asn --quiet '%s'", BOTWATCH, db_path, mbox), 0);
    sqlite3 *db = cli_db_open(db_path);

    size_t groups_checked = 0, members_checked = 0;
    for (size_t i = 0; i < count; i++) {
        group *g = &groups[i];
        assert_true(g->n >= 2);
        int64_t ids[MAX_MEMBERS] = { 0 };
        for (size_t k = 0; k < g->n; k++) {
            ids[k] = campaign_of(db, g->sha[k], g->file[k]);
            if (ids[k] == 0)
                fail_msg("%s: %s (%s) has no campaign", g->name, g->sha[k], g->file[k]);
        }
        if (!g->apart) {
            for (size_t k = 1; k < g->n; k++)
                if (ids[k] != ids[0])
                    fail_msg("group %s: %s (%s) is in campaign %lld, %s (%s) in %lld", g->name, g->sha[k], g->file[k],
                             (long long)ids[k], g->sha[0], g->file[0], (long long)ids[0]);
            // `botwatch campaign ID` counts at least the group's members.
            char out[192];
            snprintf(out, sizeof out, "%s/campaign.json", dir);
            assert_int_equal(cli_run("'%s' campaign %lld --db '%s' --format json -o '%s'", BOTWATCH, (long long)ids[0],
                                     db_path, out), 0);
            char *json = cli_read_file(out, NULL);
            assert_non_null(json);
            assert_true(cli_sql_int(db, json, "SELECT json_extract(?1, '$.messages')") >= (int64_t)g->n);
            assert_int_equal(cli_sql_int(db, json, "SELECT json_extract(?1, '$.id')"), ids[0]);
            free(json);
            print_message("group %-20s %2zu messages in campaign %lld\n", g->name, g->n, (long long)ids[0]);
        } else {
            for (size_t a = 0; a < g->n; a++)
                for (size_t b = a + 1; b < g->n; b++)
                    if (ids[a] == ids[b])
                        fail_msg("apart %s: %s (%s) and %s (%s) share campaign %lld", g->name, g->sha[a], g->file[a],
                                 g->sha[b], g->file[b], (long long)ids[a]);
            print_message("apart %-20s %2zu messages in %zu campaigns\n", g->name, g->n, g->n);
        }
        groups_checked++;
        members_checked += g->n;
    }
    print_message("%zu groups and sets, %zu messages checked\n", groups_checked, members_checked);
    sqlite3_close(db);
    cli_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spamassassin_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
