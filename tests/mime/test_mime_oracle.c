// SPDX-License-Identifier: MIT
// Differential test of the MIME parser against Python's email package (issue 2,
// acceptance 3). tests/oracle/email_oracle.py describes every message of the SpamAssassin
// mbox and of ../shared/data/mail (phishing0.mbox, malformed/*, every 10th csdmc2010
// file) as JSONL; this test parses the same messages and compares part count, content
// types, the decoded subject and every text/plain text, modulo whitespace (runs of
// whitespace collapsed). Agreement must be >= 99.5%, and every message that differs
// must be listed with its reason in tests/mime/oracle_differences.txt.
// Skips, saying why, when python3 or the data is absent.
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/mime.h"
#include "mime_test_util.h"

// ---- a small JSON reader for the oracle's output (ASCII, \u escapes) -----------------------

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jvalue {
    jtype type;
    bool b;
    double num;
    char *s;                 // J_STR: UTF-8, NUL-terminated; J_OBJ: key of each member
    size_t n;                // J_STR length; J_ARR/J_OBJ item count
    struct jvalue *items;    // J_ARR items; J_OBJ values
    char **keys;             // J_OBJ keys
} jvalue;

typedef struct jparser {
    const char *p, *end;
    bool bad;
} jparser;

static void jskip(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static void put_utf8(bw_buf *b, unsigned cp)
{
    if (cp < 0x80) {
        bw_buf_append_char(b, (char)cp);
    } else if (cp < 0x800) {
        bw_buf_append_char(b, (char)(0xC0 | cp >> 6));
        bw_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        bw_buf_append_char(b, (char)(0xE0 | cp >> 12));
        bw_buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        bw_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        bw_buf_append_char(b, (char)(0xF0 | cp >> 18));
        bw_buf_append_char(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        bw_buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        bw_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    }
}

static unsigned hex4(jparser *j)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (j->p >= j->end) {
            j->bad = true;
            return 0;
        }
        char c = *j->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (unsigned)((c | 0x20) - 'a' + 10);
        else
            j->bad = true;
    }
    return v;
}

static char *jstring(jparser *j, size_t *len)
{
    bw_buf b = BW_BUF_INIT;
    bw_buf_reserve(&b, 16);
    j->p++;   // opening quote
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c != '\\') {
            bw_buf_append_char(&b, c);
            continue;
        }
        if (j->p >= j->end)
            break;
        c = *j->p++;
        switch (c) {
        case 'n': bw_buf_append_char(&b, '\n'); break;
        case 't': bw_buf_append_char(&b, '\t'); break;
        case 'r': bw_buf_append_char(&b, '\r'); break;
        case 'b': bw_buf_append_char(&b, '\b'); break;
        case 'f': bw_buf_append_char(&b, '\f'); break;
        case 'u': {
            unsigned cp = hex4(j);
            if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                j->p += 2;
                unsigned lo = hex4(j);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            put_utf8(&b, cp);
            break;
        }
        default: bw_buf_append_char(&b, c); break;
        }
    }
    if (j->p < j->end)
        j->p++;
    else
        j->bad = true;
    *len = b.n;
    return b.p;
}

static void jparse(jparser *j, jvalue *v);

static void jfree(jvalue *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n && (v->type == J_ARR || v->type == J_OBJ); i++) {
        jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void jparse(jparser *j, jvalue *v)
{
    memset(v, 0, sizeof *v);
    jskip(j);
    if (j->p >= j->end) {
        j->bad = true;
        return;
    }
    char c = *j->p;
    if (c == '"') {
        v->type = J_STR;
        v->s = jstring(j, &v->n);
    } else if (c == '[' || c == '{') {
        bool obj = c == '{';
        v->type = obj ? J_OBJ : J_ARR;
        j->p++;
        size_t cap = 0;
        for (;;) {
            jskip(j);
            if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
                j->p++;
                break;
            }
            if (v->n == cap) {
                cap = cap ? cap * 2 : 8;
                v->items = realloc(v->items, cap * sizeof *v->items);
                if (obj)
                    v->keys = realloc(v->keys, cap * sizeof *v->keys);
            }
            if (obj) {
                jskip(j);
                size_t kn;
                if (j->p >= j->end || *j->p != '"') {
                    j->bad = true;
                    return;
                }
                v->keys[v->n] = jstring(j, &kn);
                jskip(j);
                if (j->p < j->end && *j->p == ':')
                    j->p++;
            }
            jparse(j, &v->items[v->n++]);
            if (j->bad)
                return;
            jskip(j);
            if (j->p < j->end && *j->p == ',')
                j->p++;
        }
    } else if (c == 'n') {
        v->type = J_NULL;
        j->p += 4;
    } else if (c == 't' || c == 'f') {
        v->type = J_BOOL;
        v->b = c == 't';
        j->p += c == 't' ? 4 : 5;
    } else {
        v->type = J_NUM;
        char *after;
        v->num = strtod(j->p, &after);
        if (after == j->p)
            j->bad = true;
        j->p = after;
    }
}

static const jvalue *jget(const jvalue *obj, const char *key)
{
    if (!obj || obj->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

// ---- comparison ------------------------------------------------------------------------------

// Runs of ASCII whitespace collapsed to one space, ends trimmed.
static void normalise(const char *s, size_t n, bw_buf *out)
{
    bw_buf_clear(out);
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = out->n > 0;
            continue;
        }
        if (space)
            bw_buf_append_char(out, ' ');
        space = false;
        bw_buf_append_char(out, c);
    }
    if (out->n == 0)
        bw_buf_append(out, "", 0);
}

static void describe_text_diff(bw_buf *why, const char *what, const bw_buf *ours, const bw_buf *theirs)
{
    size_t k = 0;
    while (k < ours->n && k < theirs->n && ours->p[k] == theirs->p[k])
        k++;
    size_t from = k > 20 ? k - 20 : 0;
    bw_buf_printf(why, "%s differs at %zu (ours %zu, oracle %zu): ours [", what, k, ours->n, theirs->n);
    bw_buf_append_escaped(why, bw_slice_make(ours->p + from, ours->n - from), 60);
    bw_buf_append_cstr(why, "] oracle [");
    bw_buf_append_escaped(why, bw_slice_make(theirs->p + from, theirs->n - from), 60);
    bw_buf_append_cstr(why, "]");
}

// Appends why the message differs to `why` (empty if it agrees).
static void compare(const bw_message *m, const jvalue *rec, bw_buf *why)
{
    bw_buf a = BW_BUF_INIT, b = BW_BUF_INIT;
    const jvalue *err = jget(rec, "error");
    if (err && err->type == J_STR) {
        bw_buf_printf(why, "oracle error: %s", err->s);
        return;
    }
    const jvalue *subject = jget(rec, "subject");
    normalise(m->subject.p, m->subject.n, &a);
    if (subject && subject->type == J_STR)
        normalise(subject->s, subject->n, &b);
    else
        normalise("", 0, &b);
    if (!bw_slice_eq(bw_buf_slice(&a), bw_buf_slice(&b)))
        describe_text_diff(why, "subject", &a, &b);
    const jvalue *parts = jget(rec, "parts");
    size_t theirs = parts && parts->type == J_ARR ? parts->n : 0;
    bool same_types = theirs == m->part_count;
    for (size_t i = 0; same_types && i < theirs; i++) {
        const jvalue *ct = jget(&parts->items[i], "content_type");
        same_types = ct && ct->type == J_STR &&
                     bw_slice_eq(m->parts[i].content_type, bw_slice_make(ct->s, ct->n));
    }
    if (!same_types) {
        bw_buf_printf(why, "%sparts: ours %zu [", why->n ? "; " : "", m->part_count);
        for (size_t i = 0; i < m->part_count && i < 12; i++)
            bw_buf_printf(why, "%s%.*s", i ? " " : "", (int)m->parts[i].content_type.n, m->parts[i].content_type.p);
        bw_buf_printf(why, "] oracle %zu [", theirs);
        for (size_t i = 0; i < theirs && i < 12; i++) {
            const jvalue *ct = jget(&parts->items[i], "content_type");
            bw_buf_printf(why, "%s%s", i ? " " : "", ct && ct->type == J_STR ? ct->s : "?");
        }
        bw_buf_append_cstr(why, "]");
    } else {
        for (size_t i = 0; i < theirs; i++) {
            const jvalue *text = jget(&parts->items[i], "text");
            if (!bw_slice_eq(m->parts[i].content_type, BW_SLICE_LIT("text/plain")) || !text || text->type != J_STR)
                continue;
            normalise(m->parts[i].text.p, m->parts[i].text.n, &a);
            normalise(text->s, text->n, &b);
            if (!bw_slice_eq(bw_buf_slice(&a), bw_buf_slice(&b))) {
                if (why->n)
                    bw_buf_append_cstr(why, "; ");
                char what[64];
                snprintf(what, sizeof what, "text of part %zu", i);
                describe_text_diff(why, what, &a, &b);
            }
        }
    }
    bw_buf_free(&a);
    bw_buf_free(&b);
}

// ---- the fixture -----------------------------------------------------------------------------

typedef struct known_differences {
    char **keys;      // "source-basename:index"
    size_t count;
    bool *seen;
} known_differences;

static void load_known(const char *path, known_differences *known)
{
    memset(known, 0, sizeof *known);
    size_t n;
    char *text = mt_read_file(path, &n);
    if (!text)
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        size_t len = strcspn(line, " \t");
        known->keys = realloc(known->keys, (known->count + 1) * sizeof *known->keys);
        known->keys[known->count++] = strndup(line, len);
    }
    known->seen = calloc(known->count + 1, sizeof *known->seen);
    free(text);
}

static bool is_known(known_differences *known, const char *key)
{
    for (size_t i = 0; i < known->count; i++)
        if (strcmp(known->keys[i], key) == 0) {
            known->seen[i] = true;
            return true;
        }
    return false;
}

// ---- sources ---------------------------------------------------------------------------------

typedef struct source_list {
    char **paths;
    size_t count;
} source_list;

static void add_source(source_list *list, const char *path)
{
    list->paths = realloc(list->paths, (list->count + 1) * sizeof *list->paths);
    list->paths[list->count++] = strdup(path);
}

static void add_dir(source_list *list, const char *dir, size_t every)
{
    struct dirent **names;
    int count = scandir(dir, &names, NULL, alphasort);
    if (count < 0)
        return;
    size_t taken = 0;
    for (int i = 0; i < count; i++) {
        if (names[i]->d_name[0] != '.' && names[i]->d_type == DT_REG && taken++ % every == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            add_source(list, path);
        }
        free(names[i]);
    }
    free(names);
}

static bool readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static void test_oracle(void **state)
{
    (void)state;
    const char *script = BW_SOURCE_DIR "/tests/oracle/email_oracle.py";
    if (system("python3 -c 'import email.policy' >/dev/null 2>&1") != 0) {
        print_message("skipping: python3 with the email package is not available\n");
        skip();
    }
    source_list sources = { 0 };
    char path[4096];
    const char *data = mt_data(), *shared = mt_shared_data();
    if (data) {
        snprintf(path, sizeof path, "%s/spamassassin.mbox", data);
        if (readable(path))
            add_source(&sources, path);
    }
    if (shared) {
        snprintf(path, sizeof path, "%s/mail/phishing0.mbox", shared);
        if (readable(path))
            add_source(&sources, path);
        snprintf(path, sizeof path, "%s/mail/malformed", shared);
        add_dir(&sources, path, 1);
        snprintf(path, sizeof path, "%s/mail/csdmc2010/TRAINING", shared);
        add_dir(&sources, path, 10);
    }
    if (sources.count == 0) {
        print_message("skipping: no mail data (set BW_DATA and BW_SHARED_DATA)\n");
        skip();
    }
    bw_buf cmd = BW_BUF_INIT;
    bw_buf_printf(&cmd, "python3 '%s'", script);
    for (size_t i = 0; i < sources.count; i++)
        bw_buf_printf(&cmd, " '%s'", sources.paths[i]);
    FILE *oracle = popen(cmd.p, "r");
    assert_non_null(oracle);

    known_differences known;
    load_known(BW_SOURCE_DIR "/tests/mime/oracle_differences.txt", &known);
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    assert_non_null(parser);
    size_t total = 0, agree = 0, unlisted = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    size_t source_index = 0;
    mt_mbox current = { 0 };
    bool loaded = false;
    bw_buf why = BW_BUF_INIT;
    while ((got = getline(&line, &line_cap, oracle)) > 0) {
        jparser j = { line, line + got, false };
        jvalue rec;
        jparse(&j, &rec);
        assert_false(j.bad);
        const jvalue *src = jget(&rec, "source");
        const jvalue *idx = jget(&rec, "index");
        assert_non_null(src);
        assert_non_null(idx);
        assert_int_equal(idx->type, J_NUM);
        size_t index = (size_t)idx->num;
        // Advance to the record's source (the oracle keeps our argument order).
        while (source_index < sources.count && strcmp(sources.paths[source_index], src->s) != 0) {
            source_index++;
            loaded = false;
        }
        assert_true(source_index < sources.count);
        if (!loaded) {
            mt_mbox_free(&current);
            size_t n;
            char *bytes = mt_read_file(src->s, &n);
            assert_non_null(bytes);
            if (n >= 5 && memcmp(bytes, "From ", 5) == 0) {
                free(bytes);
                assert_int_equal(mt_mbox_load(src->s, &current), 0);
            } else {
                current.messages = malloc(sizeof *current.messages);
                current.lengths = malloc(sizeof *current.lengths);
                current.messages[0] = bytes;
                current.lengths[0] = n;
                current.count = 1;
            }
            loaded = true;
        }
        assert_true(index < current.count);
        const bw_message *m;
        assert_int_equal(bw_mime_parse(parser, current.messages[index], current.lengths[index], &m), BW_OK);
        bw_buf_clear(&why);
        compare(m, &rec, &why);
        total++;
        if (why.n == 0) {
            agree++;
        } else {
            const char *base = strrchr(src->s, '/');
            char key[512];
            snprintf(key, sizeof key, "%s:%zu", base ? base + 1 : src->s, index);
            if (!is_known(&known, key)) {
                unlisted++;
                print_message("UNLISTED %s %s\n", key, why.p);
            } else if (getenv("BW_ORACLE_VERBOSE")) {
                print_message("listed %s %s\n", key, why.p);
            }
        }
        jfree(&rec);
    }
    free(line);
    int status = pclose(oracle);
    for (size_t i = 0; i < known.count; i++)
        if (!known.seen[i])
            print_message("note: listed difference %s no longer differs\n", known.keys[i]);
    print_message("oracle: %zu messages, %zu agree (%.3f%%), %zu listed differences, %zu unlisted\n", total,
                  agree, total ? 100.0 * (double)agree / (double)total : 0.0, total - agree - unlisted, unlisted);
    assert_int_equal(status, 0);
    assert_true(total > 0);
    assert_int_equal(unlisted, 0);
    assert_true((double)agree >= 0.995 * (double)total);

    mt_mbox_free(&current);
    bw_mime_parser_free(parser);
    bw_buf_free(&why);
    bw_buf_free(&cmd);
    for (size_t i = 0; i < sources.count; i++)
        free(sources.paths[i]);
    free(sources.paths);
    for (size_t i = 0; i < known.count; i++)
        free(known.keys[i]);
    free(known.keys);
    free(known.seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
