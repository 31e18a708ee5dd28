// SPDX-License-Identifier: MIT
// See mime_test_util.h.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime_test_util.h"

char *mt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static void push_message(mt_mbox *mbox, const char *start, size_t n)
{
    char *copy = malloc(n + 1);
    size_t w = 0;
    const char *p = start, *end = start + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl + 1 : end;
        const char *q = p;
        while (q < line_end && *q == '>')
            q++;
        if (q > p && line_end - q >= 5 && memcmp(q, "From ", 5) == 0)
            p++;   // mboxrd: remove one '>'
        memcpy(copy + w, p, (size_t)(line_end - p));
        w += (size_t)(line_end - p);
        p = line_end;
    }
    copy[w] = '\0';
    mbox->messages = realloc(mbox->messages, (mbox->count + 1) * sizeof *mbox->messages);
    mbox->lengths = realloc(mbox->lengths, (mbox->count + 1) * sizeof *mbox->lengths);
    mbox->messages[mbox->count] = copy;
    mbox->lengths[mbox->count] = w;
    mbox->count++;
}

int mt_mbox_load(const char *path, mt_mbox *out)
{
    memset(out, 0, sizeof *out);
    size_t len;
    char *data = mt_read_file(path, &len);
    if (!data)
        return -1;
    const char *p = data, *end = data + len, *msg_start = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        if (end - p >= 5 && memcmp(p, "From ", 5) == 0) {
            if (msg_start)
                push_message(out, msg_start, (size_t)(p - msg_start));
            msg_start = next;
        } else if (!msg_start) {
            msg_start = p;
        }
        p = next;
    }
    if (msg_start && msg_start < end)
        push_message(out, msg_start, (size_t)(end - msg_start));
    free(data);
    return 0;
}

int mt_mbox_load_corpus(const char *path, const char *data_default, const char *tool, char *used, size_t used_cap,
                        mt_mbox *out)
{
    if (path) {
        snprintf(used, used_cap, "%s", path);
    } else {
        const char *data = getenv("BW_DATA");
        snprintf(used, used_cap, "%s/spamassassin.mbox", data && *data ? data : data_default);
    }
    if (mt_mbox_load(used, out) != 0 || out->count == 0) {
        fprintf(stderr, "%s: cannot read messages from %s (run scripts/fetch-data.sh)\n", tool, used);
        return -1;
    }
    return 0;
}

void mt_mbox_free(mt_mbox *mbox)
{
    for (size_t i = 0; i < mbox->count; i++)
        free(mbox->messages[i]);
    free(mbox->messages);
    free(mbox->lengths);
    memset(mbox, 0, sizeof *mbox);
}

static void dump_slice(bw_buf *out, const char *key, bw_slice s)
{
    bw_buf_printf(out, "%s=%zu:", key, s.n);
    if (s.n)
        bw_buf_append(out, s.p, s.n);
    bw_buf_append_char(out, '\n');
}

void mt_dump_message(const bw_message *m, bw_buf *out)
{
    bw_buf_printf(out, "total=%zu raw=%zu headers=%zu parts=%zu anomalies=%llx date=%lld/%d\n",
                  m->total_bytes, m->raw.n, m->header_count, m->part_count,
                  (unsigned long long)m->anomalies, (long long)m->date, m->has_date);
    dump_slice(out, "subject", m->subject);
    dump_slice(out, "from", m->from);
    dump_slice(out, "message_id", m->message_id);
    for (size_t i = 0; i < m->header_count; i++) {
        dump_slice(out, "name", m->headers[i].name);
        dump_slice(out, "value", m->headers[i].value);
        bw_buf_printf(out, "offset=%zu\n", m->headers[i].offset);
    }
    for (size_t i = 0; i < m->part_count; i++) {
        const bw_part *p = &m->parts[i];
        bw_buf_printf(out, "part %zu parent=%d depth=%d mp=%d msg=%d hoff=%zu boff=%zu blen=%zu hc=%zu an=%llx\n",
                      i, p->parent, p->depth, p->is_multipart, p->is_message, p->header_offset,
                      p->body_offset, p->body_length, p->header_count, (unsigned long long)p->anomalies);
        dump_slice(out, "ct", p->content_type);
        dump_slice(out, "cs", p->charset);
        dump_slice(out, "b", p->boundary);
        dump_slice(out, "te", p->transfer_encoding);
        dump_slice(out, "disp", p->disposition);
        dump_slice(out, "fn", p->filename);
        dump_slice(out, "name", p->name);
        dump_slice(out, "decoded", p->decoded);
        dump_slice(out, "text", p->text);
        for (size_t h = 0; h < p->header_count; h++) {
            dump_slice(out, "h", p->headers[h].name);
            dump_slice(out, "v", p->headers[h].value);
        }
    }
}

const char *mt_shared_data(void)
{
    const char *d = getenv("BW_SHARED_DATA");
    return d && *d ? d : NULL;
}

const char *mt_data(void)
{
    const char *d = getenv("BW_DATA");
    return d && *d ? d : NULL;
}
