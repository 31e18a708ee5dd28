// SPDX-License-Identifier: MIT
// Tests for intake: the mbox splitter (table-driven, every case fed in chunks of every
// small size so chunk boundaries fall everywhere), the envelope date parser, and the
// reader over fixtures built at test time in a temp dir (mbox, Maildir, .eml, gzip/bzip2/
// xz/zstd through the command-line tools, tar/zip/7z through libarchive's writer, nesting,
// corrupt and hostile inputs, every limit). Then real data with known counts, and a memory
// test that streams a ~200 MB mbox and bounds the peak RSS growth.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "botwatch/intake.h"
#include "../../src/intake/intake_internal.h"

// ---- helpers ------------------------------------------------------------------------

typedef struct got_message {
    char *source;
    uint64_t offset;
    char *bytes;
    size_t n;
    uint64_t original;
    bw_intake_format format;
    unsigned flags;
    char *sender;
    bool has_time;
    time_t time;
} got_message;

typedef struct got_error {
    char *source;
    uint64_t offset;
    bw_intake_error_kind kind;
    char *reason;
} got_error;

typedef struct run_result {
    got_message *msgs;
    size_t msg_count, msg_cap;
    got_error *errors;
    size_t error_count;
    size_t inputs_done;
    bw_intake_stats totals;
    bw_intake_stats last_input;
} run_result;

static char *dup_slice(bw_slice s)
{
    char *p = malloc(s.n + 1);
    assert_non_null(p);
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}

static void result_free(run_result *r)
{
    for (size_t i = 0; i < r->msg_count; i++) {
        free(r->msgs[i].source);
        free(r->msgs[i].bytes);
        free(r->msgs[i].sender);
    }
    for (size_t i = 0; i < r->error_count; i++) {
        free(r->errors[i].source);
        free(r->errors[i].reason);
    }
    free(r->msgs);
    free(r->errors);
    memset(r, 0, sizeof *r);
}

static void keep_message(run_result *r, const bw_intake_message *m)
{
    if (r->msg_count == r->msg_cap) {
        r->msg_cap = r->msg_cap ? r->msg_cap * 2 : 64;
        r->msgs = realloc(r->msgs, r->msg_cap * sizeof *r->msgs);
        assert_non_null(r->msgs);
    }
    got_message *g = &r->msgs[r->msg_count++];
    g->source = dup_slice(m->source);
    g->offset = m->offset;
    g->bytes = dup_slice(m->bytes);
    g->n = m->bytes.n;
    g->original = m->original_bytes;
    g->format = m->format;
    g->flags = m->flags;
    g->sender = dup_slice(m->envelope_sender);
    g->has_time = m->has_envelope_time;
    g->time = m->envelope_time;
}

// Runs a reader over paths (NULL-terminated), keeping every event.
static void run_paths(const bw_intake_limits *limits, run_result *r, const char *first, ...)
{
    memset(r, 0, sizeof *r);
    char errbuf[BW_ERRBUF_SIZE];
    bw_intake *in = bw_intake_new(limits, errbuf);
    assert_non_null(in);
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        assert_int_equal(bw_intake_add_path(in, p), BW_OK);
    va_end(ap);
    bw_intake_event ev;
    for (;;) {
        assert_int_equal(bw_intake_next(in, &ev), BW_OK);
        if (ev.kind == BW_INTAKE_EV_END)
            break;
        if (ev.kind == BW_INTAKE_EV_MESSAGE) {
            keep_message(r, &ev.message);
        } else if (ev.kind == BW_INTAKE_EV_ERROR) {
            r->errors = realloc(r->errors, (r->error_count + 1) * sizeof *r->errors);
            assert_non_null(r->errors);
            got_error *e = &r->errors[r->error_count++];
            e->source = dup_slice(ev.error.source);
            e->offset = ev.error.offset;
            e->kind = ev.error.kind;
            e->reason = strdup(ev.error.reason);
        } else if (ev.kind == BW_INTAKE_EV_INPUT_DONE) {
            r->inputs_done++;
            r->last_input = ev.input_stats;
        }
    }
    assert_int_equal(bw_intake_next(in, &ev), BW_OK);  // END stays END
    assert_int_equal(ev.kind, BW_INTAKE_EV_END);
    bw_intake_totals(in, &r->totals);
    bw_intake_free(in);
}

static char tmpdir[] = "/tmp/bw-intake-test-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)size + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return p;
}

static void make_dir(const char *path)
{
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static bool shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool shell(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd) == 0;
}

typedef struct member {
    const char *path;   // ends with '/' for a directory entry
    const char *data;
    size_t n;           // 0: strlen(data)
} member;

// Writes an archive with libarchive: format e.g. "ustar", "zip", "7zip"; filter "gzip" or NULL.
static void write_archive(const char *path, const char *format, const char *filter, const member *m, size_t count)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
    if (filter)
        assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < count; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t len = strlen(m[i].path);
        bool is_dir = m[i].path[len - 1] == '/';
        size_t n = is_dir ? 0 : (m[i].n ? m[i].n : strlen(m[i].data));
        archive_entry_set_pathname(e, m[i].path);
        archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, is_dir ? 0755 : 0644);
        archive_entry_set_size(e, (la_int64_t)n);
        archive_entry_set_mtime(e, 1000000000, 0);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (n)
            assert_int_equal(archive_write_data(a, m[i].data, n), (la_ssize_t)n);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static const char *data_path(const char *env, const char *rel, char *buf, size_t cap)
{
    const char *root = getenv(env);
    if (!root || !*root)
        return NULL;
    snprintf(buf, cap, "%s/%s", root, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static size_t count_kind(const run_result *r, bw_intake_error_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->error_count; i++)
        n += r->errors[i].kind == kind;
    return n;
}

// ---- the splitter -------------------------------------------------------------------

typedef struct expect_msg {
    const char *bytes;
    uint64_t offset;
    const char *sender;
    unsigned flags;
} expect_msg;

typedef struct splitter_case {
    const char *name;
    const char *input;
    bool any_line;
    size_t max_message;  // 0 = default
    expect_msg out[4];
    size_t count;
} splitter_case;

#define MBOX_A "From alice@example.com  Thu Aug 22 12:36:23 2002\nSubject: one\n\nbody\n\n"
#define MBOX_B "From bob@example.org Fri Aug 23 01:02:03 2002\nSubject: two\n\n>From quoted\n>>From twice\n>Fromage\nFrom not after blank\n\n"

static const splitter_case splitter_cases[] = {
    { "mboxrd two messages", MBOX_A MBOX_B, false, 0,
      { { "Subject: one\n\nbody\n", 0, "alice@example.com", 0 },
        { "Subject: two\n\nFrom quoted\n>From twice\n>Fromage\nFrom not after blank\n",
          sizeof(MBOX_A) - 1, "bob@example.org", 0 } }, 2 },
    { "CRLF", "From a Mon Jan  1 00:00:00 2001\r\nA: b\r\n\r\nx\r\n\r\nFrom b Mon Jan  1 00:00:00 2001\r\nA: c\r\n",
      false, 0, { { "A: b\r\n\r\nx\r\n", 0, "a", 0 }, { "A: c\r\n", 46, "b", 0 } }, 2 },
    { "leading blank lines", "\n\nFrom a x\nS: 1\n", false, 0, { { "S: 1\n", 2, "a", 0 } }, 1 },
    { "no trailing newline", "From a\nS: 1", false, 0, { { "S: 1", 0, "a", 0 } }, 1 },
    { "empty input", "", false, 0, { { 0 } }, 0 },
    { "only blank lines", "\n\r\n\n", false, 0, { { 0 } }, 0 },
    { "From_ line only", "From ", false, 0, { { "", 0, "", 0 } }, 1 },
    { "data before first From_", "junk\n\nFrom a x\nS: 1\n", false, 0,
      { { "junk\n", 0, "", BW_INTAKE_MSG_NO_ENVELOPE }, { "S: 1\n", 6, "a", 0 } }, 2 },
    { "quoted From_ at start", ">From x\n", false, 0, { { "From x\n", 0, "", BW_INTAKE_MSG_NO_ENVELOPE } }, 1 },
    { "mboxo strict: From needs a blank line", "From a\nS: 1\nFrom b\nS: 2\n", false, 0,
      { { "S: 1\nFrom b\nS: 2\n", 0, "a", 0 } }, 1 },
    { "mbox_split_any_line", "From a\nS: 1\nFrom b\nS: 2\n", true, 0,
      { { "S: 1\n", 0, "a", 0 }, { "S: 2\n", 12, "b", 0 } }, 2 },
    { "long > run", "From a\n\n>>>>>>>>>>>>>>>>>>>>From x\n>>>>>>>>>>>>>>>>>>>>Frox\n", false, 0,
      { { "\n>>>>>>>>>>>>>>>>>>>From x\n>>>>>>>>>>>>>>>>>>>>Frox\n", 0, "a", 0 } }, 1 },
    { "lone CR lines", "From a\n\r\rFrom x\n\rFrom y\n", false, 0, { { "\r\rFrom x\n\rFrom y\n", 0, "a", 0 } }, 1 },
    { "prefix cut at end", "From a\nS\n\nFrom", false, 0, { { "S\n\nFrom", 0, "a", 0 } }, 1 },
    { "max_message_bytes truncates", "From a\n0123456789abcdef\n\nFrom b\nxy\n", false, 10,
      { { "0123456789", 0, "a", BW_INTAKE_MSG_TRUNCATED }, { "xy\n", 25, "b", 0 } }, 2 },
    { "truncation reaching into the separator line", "From a\n01234567\r\n\r\nFrom b\nxy\n", false, 11,
      { { "01234567\r\n", 0, "a", 0 }, { "xy\n", 19, "b", 0 } }, 2 },
    { "truncation inside the separator line", "From a\n0123456789\r\n\r\nFrom b\nxy\n", false, 13,
      { { "0123456789\r\n", 0, "a", 0 }, { "xy\n", 21, "b", 0 } }, 2 },
};

static void check_splitter_case(const splitter_case *c, size_t chunk)
{
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.mbox_split_any_line = c->any_line;
    if (c->max_message)
        limits.max_message_bytes = c->max_message;
    bw_mbox_splitter *sp = bw_mbox_splitter_new(&limits);
    assert_non_null(sp);
    size_t n = strlen(c->input), pos = 0, got = 0;
    bool ready;
    for (;;) {
        const bw_intake_message *m = NULL;
        if (pos < n) {
            size_t len = n - pos < chunk ? n - pos : chunk, used;
            assert_int_equal(bw_mbox_splitter_feed(sp, c->input + pos, len, &used, &ready), BW_OK);
            assert_true(used <= len);
            pos += used;
            if (!ready)
                assert_int_equal(used, len);
        } else {
            assert_int_equal(bw_mbox_splitter_finish(sp, &ready), BW_OK);
            if (!ready)
                break;
        }
        if (!ready)
            continue;
        m = bw_mbox_splitter_message(sp);
        assert_non_null(m);
        if (got >= c->count)
            fail_msg("%s (chunk %zu): extra message %zu", c->name, chunk, got);
        const expect_msg *e = &c->out[got++];
        if (m->bytes.n != strlen(e->bytes) || memcmp(m->bytes.p, e->bytes, m->bytes.n) != 0)
            fail_msg("%s (chunk %zu): message %zu is [%.*s]", c->name, chunk, got, (int)m->bytes.n, m->bytes.p);
        assert_int_equal(m->offset, e->offset);
        assert_int_equal(m->flags, e->flags);
        assert_int_equal(m->format, BW_INTAKE_MBOX);
        assert_int_equal(m->envelope_sender.n, strlen(e->sender));
        assert_memory_equal(m->envelope_sender.p, e->sender, m->envelope_sender.n);
    }
    if (got != c->count)
        fail_msg("%s (chunk %zu): %zu messages, want %zu", c->name, chunk, got, c->count);
    assert_int_equal(bw_mbox_splitter_offset(sp), n);
    bw_mbox_splitter_free(sp);
}

static void test_splitter_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof splitter_cases / sizeof splitter_cases[0]; i++)
        for (size_t chunk = 1; chunk <= 9; chunk++)
            check_splitter_case(&splitter_cases[i], chunk);
    for (size_t i = 0; i < sizeof splitter_cases / sizeof splitter_cases[0]; i++)
        check_splitter_case(&splitter_cases[i], 1 << 20);
}

static void test_splitter_truncation_counts(void **state)
{
    (void)state;
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_message_bytes = 10;
    bw_mbox_splitter *sp = bw_mbox_splitter_new(&limits);
    const char in[] = "From a\n0123456789abcdef\n\nFrom b\nxy\n";
    size_t used;
    bool ready;
    assert_int_equal(bw_mbox_splitter_feed(sp, in, sizeof in - 1, &used, &ready), BW_OK);
    assert_true(ready);
    const bw_intake_message *m = bw_mbox_splitter_message(sp);
    assert_int_equal(m->bytes.n, 10);
    assert_int_equal(m->original_bytes, 17);   // "0123456789abcdef\n"
    bw_mbox_splitter_free(sp);
}

static void test_envelope_dates(void **state)
{
    (void)state;
    static const struct {
        const char *date;
        bool ok;
        time_t t;
    } cases[] = {
        { "Thu Aug 22 12:36:23 2002", true, 1030019783 },
        { "Sun Aug  5 09:51:15 2001", true, 997005075 },
        { "[ufa]  Sun Aug  5 09:51:15 2001", true, 997005075 },
        { "Thu Aug 22 12:36:23 +0100 2002", true, 1030019783 },
        { "Thu Aug 22 12:36 2002", true, 1030019760 },
        { "yesterday", false, 0 },
        { "", false, 0 },
        { "Aug 99 12:00:00 2002", false, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        time_t t = 0;
        bool ok = bw_intake_parse_asctime(bw_slice_cstr(cases[i].date), &t);
        assert_int_equal(ok, cases[i].ok);
        if (ok)
            assert_int_equal(t, cases[i].t);
    }
    bw_intake_message m = { 0 };
    bw_intake_parse_envelope(BW_SLICE_LIT("MAILER-DAEMON  Thu Aug 22 12:36:23 2002\r"), &m);
    assert_int_equal(m.envelope_sender.n, 13);
    assert_true(m.has_envelope_time);
    assert_int_equal(m.envelope_date.n, 24);
}

// ---- the reader over fixtures --------------------------------------------------------

static const char mbox_text[] = MBOX_A MBOX_B;
static const char eml_text[] = "Return-Path: <x@example.com>\nSubject: hi\n\nhello\n";
static const char eml2_text[] = "Received: from a by b\nSubject: second\n\nworld\n";

static int setup_fixtures(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    write_file(tmp_path("spam.mbox"), mbox_text, sizeof mbox_text - 1);
    write_file(tmp_path("one.eml"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("empty"), "", 0);
    static const unsigned char binary[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0xff, 0xfe };
    write_file(tmp_path("binary"), binary, sizeof binary);
    // A Maildir: cur/ and new/ read, tmp/ and dotfiles skipped.
    make_dir(tmp_path("Maildir"));
    make_dir(tmp_path("Maildir/cur"));
    make_dir(tmp_path("Maildir/new"));
    make_dir(tmp_path("Maildir/tmp"));
    write_file(tmp_path("Maildir/cur/1000.a:2,S"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("Maildir/new/2000.b"), eml2_text, sizeof eml2_text - 1);
    write_file(tmp_path("Maildir/new/1500.c"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("Maildir/tmp/3000.d"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("Maildir/.hidden"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("Maildir/dovecot-uidlist"), "3 V1 N4\n", 8);
    // A Maildir++ folder: a dot-directory that is itself a Maildir is read.
    make_dir(tmp_path("Maildir/.Junk"));
    make_dir(tmp_path("Maildir/.Junk/cur"));
    make_dir(tmp_path("Maildir/.Junk/new"));
    make_dir(tmp_path("Maildir/.Junk/tmp"));
    write_file(tmp_path("Maildir/.Junk/cur/4000.e"), eml2_text, sizeof eml2_text - 1);
    write_file(tmp_path("Maildir/.Junk/tmp/5000.f"), eml_text, sizeof eml_text - 1);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown_fixtures(void **state)
{
    (void)state;
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void assert_mbox_messages(const run_result *r, size_t first, const char *source, unsigned extra_flags)
{
    assert_true(r->msg_count >= first + 2);
    const got_message *a = &r->msgs[first], *b = &r->msgs[first + 1];
    assert_string_equal(a->source, source);
    assert_string_equal(b->source, source);
    assert_int_equal(a->offset, 0);
    assert_int_equal(b->offset, sizeof(MBOX_A) - 1);
    assert_string_equal(a->bytes, "Subject: one\n\nbody\n");
    assert_string_equal(b->bytes, "Subject: two\n\nFrom quoted\n>From twice\n>Fromage\nFrom not after blank\n");
    assert_string_equal(a->sender, "alice@example.com");
    assert_true(a->has_time);
    assert_int_equal(a->time, 1030019783);
    assert_int_equal(a->format, BW_INTAKE_MBOX);
    assert_int_equal(a->flags, extra_flags);
    assert_int_equal(b->flags, extra_flags);
}

static void test_plain_files(void **state)
{
    (void)state;
    run_result r;
    run_paths(NULL, &r, tmp_path("spam.mbox"), tmp_path("one.eml"), tmp_path("empty"), tmp_path("binary"),
              tmp_path("does-not-exist"), NULL);
    assert_int_equal(r.msg_count, 3);
    assert_mbox_messages(&r, 0, tmp_path("spam.mbox"), 0);
    assert_string_equal(r.msgs[2].bytes, eml_text);
    assert_int_equal(r.msgs[2].format, BW_INTAKE_EML);
    assert_int_equal(r.msgs[2].offset, 0);
    assert_int_equal(r.error_count, 3);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_EMPTY);
    assert_string_equal(r.errors[0].source, tmp_path("empty"));
    assert_int_equal(r.errors[1].kind, BW_INTAKE_ERR_UNRECOGNIZED);
    assert_string_equal(r.errors[1].source, tmp_path("binary"));
    assert_int_equal(r.errors[2].kind, BW_INTAKE_ERR_IO);
    assert_non_null(strstr(r.errors[2].reason, "No such file"));
    assert_int_equal(r.inputs_done, 5);
    assert_int_equal(r.totals.messages, 3);
    assert_int_equal(r.totals.errors, 3);
    // Bytes fed to the mail readers (the binary file's sniffed bytes are not).
    assert_int_equal(r.totals.input_bytes, sizeof mbox_text - 1 + sizeof eml_text - 1);
    result_free(&r);
}

static void test_maildir_and_walk(void **state)
{
    (void)state;
    run_result r;
    run_paths(NULL, &r, tmp_path("Maildir"), NULL);
    assert_int_equal(r.error_count, 0);
    assert_int_equal(r.msg_count, 4);
    // Sorted bytewise: .Junk/ before cur/ before new/.
    assert_string_equal(r.msgs[0].source, tmp_path("Maildir/.Junk/cur/4000.e"));
    assert_string_equal(r.msgs[1].source, tmp_path("Maildir/cur/1000.a:2,S"));
    assert_string_equal(r.msgs[2].source, tmp_path("Maildir/new/1500.c"));
    assert_string_equal(r.msgs[3].source, tmp_path("Maildir/new/2000.b"));
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r.msgs[i].format, BW_INTAKE_MAILDIR);
    assert_string_equal(r.msgs[3].bytes, eml2_text);
    assert_int_equal(r.last_input.messages, 4);
    assert_int_equal(r.last_input.skipped, 1);  // .hidden
    result_free(&r);

    // The temp dir walked as a whole: files, the Maildir and its bad neighbours.
    run_paths(NULL, &r, tmpdir, NULL);
    size_t maildir = 0, mbox = 0, eml = 0;
    for (size_t i = 0; i < r.msg_count; i++) {
        maildir += r.msgs[i].format == BW_INTAKE_MAILDIR;
        mbox += r.msgs[i].format == BW_INTAKE_MBOX;
        eml += r.msgs[i].format == BW_INTAKE_EML;
    }
    assert_int_equal(maildir, 4);
    assert_true(mbox >= 2);
    assert_true(eml >= 1);
    assert_true(count_kind(&r, BW_INTAKE_ERR_EMPTY) >= 1);
    assert_true(count_kind(&r, BW_INTAKE_ERR_UNRECOGNIZED) >= 1);
    result_free(&r);
}

static void test_compressed_mbox(void **state)
{
    (void)state;
    static const struct {
        const char *tool, *ext;
    } tools[] = { { "gzip", "gz" }, { "bzip2", "bz2" }, { "xz", "xz" }, { "zstd -q", "zst" } };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        char name[64];
        // A misleading name on purpose: detection goes by content.
        snprintf(name, sizeof name, "compressed-%s.txt", tools[i].ext);
        const char *out = tmp_path(name);
        if (!shell("%s -c < '%s' > '%s'", tools[i].tool, tmp_path("spam.mbox"), out)) {
            printf("skipping %s: tool not available\n", tools[i].tool);
            continue;
        }
        run_result r;
        run_paths(NULL, &r, out, NULL);
        assert_int_equal(r.error_count, 0);
        assert_int_equal(r.msg_count, 2);
        assert_mbox_messages(&r, 0, out, BW_INTAKE_MSG_IN_ARCHIVE);
        result_free(&r);
        unlink(out);
    }
}

static void test_archives_of_maildir(void **state)
{
    (void)state;
    const member maildir[] = {
        { "Maildir/", NULL, 0 },
        { "Maildir/cur/", NULL, 0 },
        { "Maildir/cur/1000.a:2,S", eml_text, 0 },
        { "Maildir/new/2000.b", eml2_text, 0 },
        { "Maildir/tmp/3000.d", eml_text, 0 },
        { "Maildir/.hidden", eml_text, 0 },
        { "__MACOSX/Maildir/._2000.b", "\0\5\26\7", 4 },
        { "spam.mbox", mbox_text, 0 },
    };
    static const struct {
        const char *file, *format, *filter;
    } kinds[] = {
        { "m.tar", "ustar", NULL }, { "m.tgz", "pax", "gzip" }, { "m.tar.xz", "ustar", "xz" },
        { "m.zip", "zip", NULL }, { "m.7z", "7zip", NULL }, { "m.tar.zst", "ustar", "zstd" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *path = tmp_path(kinds[k].file);
        write_archive(path, kinds[k].format, kinds[k].filter, maildir, sizeof maildir / sizeof maildir[0]);
        run_result r;
        run_paths(NULL, &r, path, NULL);
        if (r.error_count)
            fail_msg("%s: %s", kinds[k].file, r.errors[0].reason);
        assert_int_equal(r.msg_count, 4);
        char want[512];
        snprintf(want, sizeof want, "%s:Maildir/cur/1000.a:2,S", path);
        assert_string_equal(r.msgs[0].source, want);
        assert_int_equal(r.msgs[0].format, BW_INTAKE_MAILDIR);
        assert_int_equal(r.msgs[0].flags, BW_INTAKE_MSG_IN_ARCHIVE);
        assert_string_equal(r.msgs[0].bytes, eml_text);
        assert_int_equal(r.msgs[1].format, BW_INTAKE_MAILDIR);
        snprintf(want, sizeof want, "%s:spam.mbox", path);
        assert_mbox_messages(&r, 2, want, BW_INTAKE_MSG_IN_ARCHIVE);
        assert_int_equal(r.last_input.skipped, 3);  // tmp/, .hidden, __MACOSX/._*
        result_free(&r);
    }
}

static void test_nested_archives(void **state)
{
    (void)state;
    // inner.tar.gz (an mbox) and a zip of .eml files, inside an outer zip, inside a tar.
    const member inner[] = { { "trap/spam.mbox", mbox_text, 0 } };
    write_archive(tmp_path("inner.tar.gz"), "ustar", "gzip", inner, 1);
    const member emls[] = { { "a.eml", eml_text, 0 }, { "b.eml", eml2_text, 0 } };
    write_archive(tmp_path("emls.zip"), "zip", NULL, emls, 2);
    assert_true(shell("gzip -c < '%s' > '%s'", tmp_path("spam.mbox"), tmp_path("spam.mbox.gz")));
    size_t n1, n2, n3;
    char *tgz = read_whole(tmp_path("inner.tar.gz"), &n1);
    char *zip = read_whole(tmp_path("emls.zip"), &n2);
    char *gz = read_whole(tmp_path("spam.mbox.gz"), &n3);
    const member outer[] = { { "inner.tar.gz", tgz, n1 }, { "emls.zip", zip, n2 }, { "spam.mbox.gz", gz, n3 } };
    write_archive(tmp_path("outer.zip"), "zip", NULL, outer, 3);
    size_t n4;
    char *outer_zip = read_whole(tmp_path("outer.zip"), &n4);
    const member top[] = { { "outer.zip", outer_zip, n4 } };
    write_archive(tmp_path("top.tar"), "ustar", NULL, top, 1);

    run_result r;
    run_paths(NULL, &r, tmp_path("top.tar"), NULL);
    if (r.error_count)
        fail_msg("%s: %s", r.errors[0].source, r.errors[0].reason);
    assert_int_equal(r.msg_count, 6);
    char want[512];
    snprintf(want, sizeof want, "%s:outer.zip:inner.tar.gz:trap/spam.mbox", tmp_path("top.tar"));
    assert_mbox_messages(&r, 0, want, BW_INTAKE_MSG_IN_ARCHIVE);
    snprintf(want, sizeof want, "%s:outer.zip:emls.zip:b.eml", tmp_path("top.tar"));
    assert_string_equal(r.msgs[3].source, want);
    assert_int_equal(r.msgs[3].format, BW_INTAKE_EML);
    snprintf(want, sizeof want, "%s:outer.zip:spam.mbox.gz", tmp_path("top.tar"));
    assert_mbox_messages(&r, 4, want, BW_INTAKE_MSG_IN_ARCHIVE);
    result_free(&r);

    // max_archive_depth: tar (1) > zip (2) > tar.gz / zip / gz (3) is one too deep at 2.
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_archive_depth = 2;
    run_paths(&limits, &r, tmp_path("top.tar"), NULL);
    assert_int_equal(r.msg_count, 0);
    assert_int_equal(count_kind(&r, BW_INTAKE_ERR_LIMIT), 3);
    assert_non_null(strstr(r.errors[0].reason, "max_archive_depth"));
    result_free(&r);

    // max_memory_member_bytes: the nested zip must be read whole to seek; too big is skipped.
    bw_intake_limits_default(&limits);
    limits.max_memory_member_bytes = 256;
    run_paths(&limits, &r, tmp_path("top.tar"), NULL);
    assert_int_equal(r.msg_count, 0);
    assert_int_equal(count_kind(&r, BW_INTAKE_ERR_LIMIT), 1);
    assert_non_null(strstr(r.errors[0].reason, "max_memory_member_bytes"));
    result_free(&r);
    free(tgz);
    free(zip);
    free(gz);
    free(outer_zip);
}

// Caller-held bytes (bw_intake_add_memory) read like files: a 7z (seekable, opened in
// place with archive_read_open_memory), a 7z nested in a tar (read whole into memory to
// seek), and a plain mbox; plus progress counters for files on disk.
static void test_memory_inputs(void **state)
{
    (void)state;
    const member emls[] = { { "cur/1.eml", eml_text, 0 }, { "new/2.eml", eml2_text, 0 } };
    write_archive(tmp_path("m.7z"), "7zip", NULL, emls, 2);
    size_t n7, ntar;
    char *sevenz = read_whole(tmp_path("m.7z"), &n7);
    const member wrapped[] = { { "inner.7z", sevenz, n7 } };
    write_archive(tmp_path("wrapped.tar"), "ustar", NULL, wrapped, 1);
    char *tar = read_whole(tmp_path("wrapped.tar"), &ntar);

    bw_intake *in = bw_intake_new(NULL, NULL);
    assert_non_null(in);
    assert_int_equal(bw_intake_add_memory(in, "mem.7z", sevenz, n7), BW_OK);
    assert_int_equal(bw_intake_add_memory(in, "mem.tar", tar, ntar), BW_OK);
    assert_int_equal(bw_intake_add_memory(in, "mem.mbox", mbox_text, sizeof mbox_text - 1), BW_OK);
    assert_int_equal(bw_intake_add_memory(in, "empty", NULL, 0), BW_OK);
    assert_int_equal(bw_intake_add_memory(in, "", mbox_text, 1), BW_ERR_INVALID);
    static const char *const want[] = { "mem.7z:cur/1.eml", "mem.7z:new/2.eml", "mem.tar:inner.7z:cur/1.eml",
                                        "mem.tar:inner.7z:new/2.eml", "mem.mbox", "mem.mbox" };
    size_t got = 0, errors = 0;
    bw_intake_event ev;
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END) {
        if (ev.kind == BW_INTAKE_EV_MESSAGE) {
            assert_true(got < 6);
            assert_int_equal(ev.message.source.n, strlen(want[got]));
            assert_memory_equal(ev.message.source.p, want[got], ev.message.source.n);
            got++;
        } else if (ev.kind == BW_INTAKE_EV_ERROR) {
            assert_int_equal(ev.error.kind, BW_INTAKE_ERR_EMPTY);
            errors++;
        }
    }
    assert_int_equal(got, 6);
    assert_int_equal(errors, 1);
    bw_intake_free(in);
    free(sevenz);
    free(tar);

    // Progress: bytes read from disk against the size of the files added.
    in = bw_intake_new(NULL, NULL);
    assert_int_equal(bw_intake_add_path(in, tmp_path("spam.mbox")), BW_OK);
    assert_int_equal(bw_intake_add_path(in, tmp_path("one.eml")), BW_OK);
    assert_int_equal(bw_intake_add_path(in, tmp_path("m.7z")), BW_OK);  // rewound after sniffing
    uint64_t read_bytes, total;
    bw_intake_progress(in, &read_bytes, &total);
    assert_int_equal(read_bytes, 0);
    assert_int_equal(total, sizeof mbox_text - 1 + sizeof eml_text - 1 + n7);
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END)
        ;
    bw_intake_progress(in, &read_bytes, &total);
    assert_int_equal(read_bytes, total);
    bw_intake_free(in);
}

// "-" reads stdin, here a pipe (not seekable): a gzip'd mbox streams through libarchive's
// callbacks, and a zip (which needs seeking) is read whole into memory first.
static void read_stdin_from(const char *data, size_t n, run_result *r)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_true(n < 60000);  // fits the pipe buffer: no writer process needed
    assert_int_equal(write(fds[1], data, n), (ssize_t)n);
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    run_paths(NULL, r, "-", NULL);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
}

static void test_stdin_pipe(void **state)
{
    (void)state;
    assert_true(shell("gzip -c < '%s' > '%s'", tmp_path("spam.mbox"), tmp_path("stdin.gz")));
    size_t n;
    char *gz = read_whole(tmp_path("stdin.gz"), &n);
    run_result r;
    read_stdin_from(gz, n, &r);
    assert_int_equal(r.error_count, 0);
    assert_mbox_messages(&r, 0, "<stdin>", BW_INTAKE_MSG_IN_ARCHIVE);
    assert_int_equal(r.msg_count, 2);
    result_free(&r);
    free(gz);

    const member emls[] = { { "a.eml", eml_text, 0 }, { "b.eml", eml2_text, 0 } };
    write_archive(tmp_path("stdin.zip"), "zip", NULL, emls, 2);
    char *zip = read_whole(tmp_path("stdin.zip"), &n);
    read_stdin_from(zip, n, &r);
    assert_int_equal(r.error_count, 0);
    assert_int_equal(r.msg_count, 2);
    assert_string_equal(r.msgs[1].source, "<stdin>:b.eml");
    assert_string_equal(r.msgs[1].bytes, eml2_text);
    result_free(&r);
    free(zip);

    // A named pipe given as a path is read; the same pipe met in a directory walk is
    // skipped (it could block forever).
    make_dir(tmp_path("fifodir"));
    const char *fifo = tmp_path("fifodir/pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = open(fifo, O_WRONLY);
        ssize_t w = fd >= 0 ? write(fd, mbox_text, sizeof mbox_text - 1) : -1;
        _exit(w == (ssize_t)(sizeof mbox_text - 1) ? 0 : 1);
    }
    run_paths(NULL, &r, fifo, NULL);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(r.msg_count, 2);
    assert_mbox_messages(&r, 0, fifo, 0);
    result_free(&r);
    run_paths(NULL, &r, tmp_path("fifodir"), NULL);
    assert_int_equal(r.msg_count, 0);
    assert_int_equal(r.error_count, 0);
    assert_int_equal(r.totals.skipped, 1);
    result_free(&r);
}

static void test_corrupt_gzip(void **state)
{
    (void)state;
    // Many messages: libarchive's format bidding reads ahead ~100 KB of decompressed data,
    // so damage must lie beyond that to be met while messages stream.
    const char *big = tmp_path("many.mbox");
    FILE *f = fopen(big, "wb");
    assert_non_null(f);
    for (int i = 0; i < 20000; i++)
        fprintf(f, "From m%d@example.com Thu Aug 22 12:36:23 2002\nSubject: %d\nX-Noise: %x%x\n\nbody %d\n\n", i, i,
                i * 2654435761u, i * 40503u, i);
    fclose(f);
    assert_true(shell("gzip -c < '%s' > '%s'", big, tmp_path("bad.gz")));
    // libarchive does not check the gzip CRC, so flipped bytes may decode to garbage
    // silently; a stream cut short is an error it always reports.
    size_t n;
    char *gz = read_whole(tmp_path("bad.gz"), &n);
    write_file(tmp_path("bad.gz"), gz, n / 2);
    write_file(tmp_path("truncated.gz"), gz, 10);
    gz[3] = (char)0xe0;  // reserved FLG bits set: not a valid gzip header
    write_file(tmp_path("badheader.gz"), gz, n);
    free(gz);

    run_result r;
    run_paths(NULL, &r, tmp_path("bad.gz"), tmp_path("truncated.gz"), tmp_path("badheader.gz"), tmp_path("one.eml"),
              NULL);
    // Messages before the damage survive; the last partial one is flagged; the run goes on.
    assert_true(r.msg_count > 100);
    assert_true(r.msg_count < 20000);
    for (size_t i = 0; i + 2 < r.msg_count; i++)
        assert_int_equal(r.msgs[i].flags, BW_INTAKE_MSG_IN_ARCHIVE);
    assert_true(r.msgs[r.msg_count - 2].flags & BW_INTAKE_MSG_TRUNCATED);
    assert_string_equal(r.msgs[r.msg_count - 1].source, tmp_path("one.eml"));
    for (size_t i = 0; i < r.error_count; i++)
        printf("  %s @%llu %s: %s\n", r.errors[i].source, (unsigned long long)r.errors[i].offset,
               bw_intake_error_kind_name(r.errors[i].kind), r.errors[i].reason);
    assert_int_equal(r.error_count, 3);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_ARCHIVE);
    assert_string_equal(r.errors[0].source, tmp_path("bad.gz"));
    assert_true(r.errors[0].offset > 0);
    assert_string_equal(r.errors[1].source, tmp_path("truncated.gz"));
    assert_string_equal(r.errors[2].source, tmp_path("badheader.gz"));
    assert_int_equal(r.errors[2].kind, BW_INTAKE_ERR_ARCHIVE);
    assert_int_equal(r.inputs_done, 4);
    result_free(&r);
    unlink(big);
}

// An mtree "archive" names files on the local disk for libarchive to read: a hostile one
// must not make intake ingest local files. It is just unrecognised text.
static void test_no_local_file_reads(void **state)
{
    (void)state;
    char mtree[1024];
    int n = snprintf(mtree, sizeof mtree, "#mtree\n./stolen type=file contents=%s\n", tmp_path("one.eml"));
    write_file(tmp_path("mtree.txt"), mtree, (size_t)n);
    assert_true(shell("gzip -c < '%s' > '%s'", tmp_path("mtree.txt"), tmp_path("mtree.gz")));
    run_result r;
    run_paths(NULL, &r, tmp_path("mtree.gz"), NULL);
    assert_int_equal(r.msg_count, 0);
    assert_int_equal(r.error_count, 1);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_UNRECOGNIZED);
    result_free(&r);
}

static void test_archive_limits(void **state)
{
    (void)state;
    member many[6];
    char names[6][16];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "m%d.eml", i);
        many[i] = (member){ names[i], eml_text, 0 };
    }
    write_archive(tmp_path("six.tar"), "ustar", NULL, many, 6);
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_archive_members = 4;
    run_result r;
    run_paths(&limits, &r, tmp_path("six.tar"), tmp_path("one.eml"), NULL);
    assert_int_equal(r.msg_count, 5);
    assert_int_equal(r.error_count, 1);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_LIMIT);
    assert_non_null(strstr(r.errors[0].reason, "max_archive_members"));
    result_free(&r);

    // Zip-bomb guard: decompressed bytes of the whole archive tree are capped.
    char *zeros = calloc(1, 1 << 20);
    memcpy(zeros, eml_text, sizeof eml_text - 1);
    const member bomb[] = { { "a.eml", zeros, 1 << 20 }, { "b.eml", zeros, 1 << 20 }, { "c.eml", eml_text, 0 } };
    write_archive(tmp_path("bomb.zip"), "zip", NULL, bomb, 3);
    free(zeros);
    bw_intake_limits_default(&limits);
    limits.max_archive_bytes = 1500000;
    run_paths(&limits, &r, tmp_path("bomb.zip"), tmp_path("one.eml"), NULL);
    assert_int_equal(count_kind(&r, BW_INTAKE_ERR_LIMIT), 1);
    assert_non_null(strstr(r.errors[0].reason, "max_archive_bytes"));
    // a.eml whole, b.eml cut by the abandon (delivered, flagged), c.eml never read.
    assert_int_equal(r.msg_count, 3);
    assert_int_equal(r.msgs[0].n, 1 << 20);
    assert_true(r.msgs[1].flags & BW_INTAKE_MSG_TRUNCATED);
    assert_string_equal(r.msgs[2].source, tmp_path("one.eml"));
    result_free(&r);

    // max_message_bytes on a single file: truncated and flagged, original size kept.
    bw_intake_limits_default(&limits);
    limits.max_message_bytes = 16;
    run_paths(&limits, &r, tmp_path("one.eml"), NULL);
    assert_int_equal(r.msg_count, 1);
    assert_int_equal(r.msgs[0].n, 16);
    assert_int_equal(r.msgs[0].original, sizeof eml_text - 1);
    assert_int_equal(r.msgs[0].flags, BW_INTAKE_MSG_TRUNCATED);
    assert_int_equal(r.totals.truncated, 1);
    result_free(&r);

    bw_intake_limits_default(&limits);
    limits.max_message_bytes = 0;
    char errbuf[BW_ERRBUF_SIZE];
    assert_null(bw_intake_new(&limits, errbuf));
    assert_non_null(strstr(errbuf, "max_message_bytes"));
}

static void test_path_depth_and_loops(void **state)
{
    (void)state;
    make_dir(tmp_path("deep"));
    make_dir(tmp_path("deep/a"));
    make_dir(tmp_path("deep/a/b"));
    write_file(tmp_path("deep/top.eml"), eml_text, sizeof eml_text - 1);
    write_file(tmp_path("deep/a/b/low.eml"), eml_text, sizeof eml_text - 1);
    assert_int_equal(symlink("../..", tmp_path("deep/a/b/loop")), 0);
    run_result r;
    run_paths(NULL, &r, tmp_path("deep"), NULL);
    assert_int_equal(r.msg_count, 2);
    assert_int_equal(r.error_count, 1);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_LOOP);
    result_free(&r);

    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_path_depth = 1;
    run_paths(&limits, &r, tmp_path("deep"), NULL);
    assert_int_equal(r.msg_count, 1);
    assert_int_equal(r.error_count, 1);
    assert_int_equal(r.errors[0].kind, BW_INTAKE_ERR_LIMIT);
    assert_non_null(strstr(r.errors[0].reason, "max_path_depth"));
    result_free(&r);
}

// ---- real data ------------------------------------------------------------------------

static void expect_count(const char *env, const char *rel, size_t want)
{
    char buf[1024];
    const char *path = data_path(env, rel, buf, sizeof buf);
    if (!path) {
        printf("skipping: $%s/%s not present\n", env, rel);
        skip();
    }
    // Counted without keeping the messages: these runs are large.
    bw_intake *in = bw_intake_new(NULL, NULL);
    assert_non_null(in);
    assert_int_equal(bw_intake_add_path(in, path), BW_OK);
    bw_intake_event ev;
    size_t messages = 0;
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END) {
        if (ev.kind == BW_INTAKE_EV_ERROR)
            fail_msg("%.*s: %s", (int)ev.error.source.n, ev.error.source.p, ev.error.reason);
        if (ev.kind == BW_INTAKE_EV_MESSAGE) {
            assert_int_equal(ev.message.flags & ~(unsigned)BW_INTAKE_MSG_IN_ARCHIVE, 0);
            assert_true(ev.message.bytes.n > 0);
            messages++;
        }
    }
    bw_intake_free(in);
    assert_int_equal(messages, want);
}

static void test_real_phishing(void **state)
{
    (void)state;
    expect_count("BW_SHARED_DATA", "mail/phishing0.mbox", 415);
}

static void test_real_spamassassin(void **state)
{
    (void)state;
    expect_count("BW_DATA", "spamassassin.mbox", 6046);
}

static void test_real_csdmc(void **state)
{
    (void)state;
    expect_count("BW_SHARED_DATA", "mail/csdmc2010/TRAINING", 4327);
}

// Streams a ~200 MB mbox (the SpamAssassin mbox repeated) and bounds the RSS growth: the
// reader must hold one message, not the input.
static void test_memory_bound(void **state)
{
    (void)state;
    char buf[1024];
    const char *sa = data_path("BW_DATA", "spamassassin.mbox", buf, sizeof buf);
    if (!sa) {
        printf("skipping: $BW_DATA/spamassassin.mbox not present\n");
        skip();
    }
    const char *big = tmp_path("big.mbox");
    size_t n;
    char *one = read_whole(sa, &n);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    size_t copies = (200u << 20) / n + 1;
    for (size_t i = 0; i < copies; i++) {
        assert_int_equal(write(fd, "\n", 1), 1);
        assert_int_equal(write(fd, one, n), (ssize_t)n);
    }
    close(fd);
    free(one);

    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    bw_intake *in = bw_intake_new(NULL, NULL);
    assert_int_equal(bw_intake_add_path(in, big), BW_OK);
    bw_intake_event ev;
    size_t messages = 0;
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END) {
        assert_int_not_equal(ev.kind, BW_INTAKE_EV_ERROR);
        messages += ev.kind == BW_INTAKE_EV_MESSAGE;
    }
    bw_intake_free(in);
    getrusage(RUSAGE_SELF, &after);
    unlink(big);
    long growth_kb = after.ru_maxrss - before.ru_maxrss;
    printf("streamed %zu MB, %zu messages: peak RSS growth %ld KB\n", copies * n >> 20, messages, growth_kb);
    assert_int_equal(messages, copies * 6046);
    assert_true(growth_kb < 48 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_bound),
        cmocka_unit_test(test_splitter_table),
        cmocka_unit_test(test_splitter_truncation_counts),
        cmocka_unit_test(test_envelope_dates),
        cmocka_unit_test(test_plain_files),
        cmocka_unit_test(test_maildir_and_walk),
        cmocka_unit_test(test_compressed_mbox),
        cmocka_unit_test(test_archives_of_maildir),
        cmocka_unit_test(test_nested_archives),
        cmocka_unit_test(test_memory_inputs),
        cmocka_unit_test(test_stdin_pipe),
        cmocka_unit_test(test_corrupt_gzip),
        cmocka_unit_test(test_no_local_file_reads),
        cmocka_unit_test(test_archive_limits),
        cmocka_unit_test(test_path_depth_and_loops),
        cmocka_unit_test(test_real_phishing),
        cmocka_unit_test(test_real_spamassassin),
        cmocka_unit_test(test_real_csdmc),
    };
    return cmocka_run_group_tests(tests, setup_fixtures, teardown_fixtures);
}
