// SPDX-License-Identifier: MIT
// The `botwatch report` and `botwatch export` front ends, run as a user would: piped text
// equals the library's golden file (but for the Generated line), -o writes the file and
// leaves no temporary behind, exports count their rows, and usage errors exit 2 while a
// missing database exits 1. Skipped when the botwatch binary was not built.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "chromium_shot.h"
#include "fixture_db.h"

static const char *const botwatch = BW_BINARY_DIR "/botwatch";
static char dir[64], db[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/bw-cli-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/fixture.db", dir);
    return fixture_db_create(db, true);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s", botwatch, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void need_binary(void)
{
    if (access(botwatch, X_OK) != 0) {
        print_message("skipping: %s not built\n", botwatch);
        skip();
    }
}

static void test_text_matches_golden(void **state)
{
    (void)state;
    need_binary();
    char args[512], out[160];
    snprintf(out, sizeof out, "%s/report.txt", dir);
    // Piped: the ASCII form the golden file holds; the Generated line is the only difference.
    snprintf(args, sizeof args, "report --db '%s' | grep -v '^Generated ' > '%s'", db, out);
    assert_int_equal(run(args), 0);
    size_t n = 0, m = 0;
    char *got = read_all(out, &n);
    char *want = read_all(BW_SOURCE_DIR "/tests/report/golden/report.txt.ref", &m);
    assert_non_null(got);
    assert_non_null(want);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_output_files(void **state)
{
    (void)state;
    need_binary();
    char args[512], path[160];
    static const char *const formats[] = { "text", "json", "csv", "html" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/r.%s", dir, formats[i]);
        snprintf(args, sizeof args, "report --db '%s' --format %s -o '%s'", db, formats[i], path);
        assert_int_equal(run(args), 0);
        size_t n = 0;
        char *data = read_all(path, &n);
        assert_non_null(data);
        assert_true(n > 500);
        free(data);
    }
    snprintf(path, sizeof path, "%s/e.csv", dir);
    snprintf(args, sizeof args, "export --db '%s' --since 2002-02-01 -o '%s'", db, path);
    assert_int_equal(run(args), 0);
    size_t n = 0;
    char *csv = read_all(path, &n);
    assert_non_null(csv);
    size_t lines = 0;
    for (char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 1 + 3 + 1);   // header, m5, m6 (its subject holds a CRLF), m8
    free(csv);
    snprintf(args, sizeof args, "ls '%s' | grep -c '\\.tmp\\.' > '%s/tmpcount'", dir, dir);
    if (system(args) == -1)
        fail_msg("cannot run: %s", args);
    snprintf(path, sizeof path, "%s/tmpcount", dir);
    char *count = read_all(path, &n);
    assert_non_null(count);
    assert_string_equal(count, "0\n");   // no temporary file left behind
    free(count);
}

static void test_exit_codes(void **state)
{
    (void)state;
    need_binary();
    char args[512];
    static const char *const usage_errors[] = {
        "report --top 0", "report --top many", "report --format xml", "report --since yesterday",
        "report --since 2002-02-01 --until 2002-01-01", "report extra-arg", "export --format json",
        "export --until 2002-13-45", "report --no-such-option",
    };
    for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
        snprintf(args, sizeof args, "%s --db '%s' 2>/dev/null", usage_errors[i], db);
        if (run(args) != 2)
            fail_msg("'%s' should exit 2", usage_errors[i]);
    }
    snprintf(args, sizeof args, "report --db '%s/none.db' 2>/dev/null", dir);
    assert_int_equal(run(args), 1);
    snprintf(args, sizeof args, "export --db '%s/none.db' 2>/dev/null", dir);
    assert_int_equal(run(args), 1);
    snprintf(args, sizeof args, "report --db '%s' -o /nonexistent-dir/r.txt 2>/dev/null", db);
    assert_int_equal(run(args), 1);
    assert_int_equal(run("report --help >/dev/null"), 0);
    assert_int_equal(run("export --help >/dev/null"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_matches_golden),
        cmocka_unit_test(test_output_files),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
