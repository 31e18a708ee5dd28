// SPDX-License-Identifier: MIT
// The ip-location-db ASN CSV scanner: rows "start,end,asn,org" (inclusive ranges, IPv4 or
// IPv6 text, RFC 4180 quoting for org names with commas or quotes). It runs at every
// ingest, so it is hand-written: one pass over the mapped file, memchr for line and field
// ends, a dotted-quad parser that skips inet_pton, and org names interned into the
// database's single pool, so no row allocates. Bad rows are skipped and counted; the
// first is named (file:line: reason) in errbuf. Sorting happens in asn_db.c.
#include <stdio.h>
#include <string.h>

#include "asn_internal.h"

typedef struct csv_field {
    bw_slice raw;           // between the quotes for a quoted field
    bool escaped_quotes;    // contains "" that must be unescaped
} csv_field;

// Reads one field starting at *pos. False on broken quoting (unterminated quote, text
// after a closing quote, a quote inside an unquoted field). *more says a comma followed.
static bool next_field(const char *line, size_t n, size_t *pos, csv_field *field, bool *more)
{
    size_t i = *pos;
    field->escaped_quotes = false;
    if (i < n && line[i] == '"') {
        size_t start = ++i;
        for (;;) {
            const char *quote = memchr(line + i, '"', n - i);
            if (!quote)
                return false;
            i = (size_t)(quote - line);
            if (i + 1 < n && line[i + 1] == '"') {
                field->escaped_quotes = true;
                i += 2;
                continue;
            }
            break;
        }
        field->raw = bw_slice_make(line + start, i - start);
        i++;
        if (i < n && line[i] != ',')
            return false;
    } else {
        const char *comma = memchr(line + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - line) : n;
        if (memchr(line + i, '"', end - i))
            return false;
        field->raw = bw_slice_make(line + i, end - i);
        i = end;
    }
    *more = i < n;
    *pos = *more ? i + 1 : n;
    return true;
}

// Strict dotted quad (no leading zeros, like inet_pton) without the copy and the call.
static bool parse_v4(bw_slice s, bw_ip *out)
{
    uint32_t value = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= s.n || s.p[i] != '.')
                return false;
            i++;
        }
        size_t first = i;
        unsigned octet = 0;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9' && i - first < 3)
            octet = octet * 10 + (unsigned)(s.p[i++] - '0');
        if (i == first || octet > 255 || (s.p[first] == '0' && i - first > 1))
            return false;
        value = value << 8 | octet;
    }
    if (i != s.n)
        return false;
    bw_ip_from_v4(value, out);
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// RFC 4291 text (hex groups, one "::"), the forms the CSV holds. The rare embedded-IPv4
// form (::ffff:1.2.3.4) goes to inet_pton through bw_ip_parse().
static bool parse_v6(bw_slice s, bw_ip *out)
{
    uint16_t groups[8];
    int count = 0, gap = -1;
    size_t i = 0;
    if (s.n >= 2 && s.p[0] == ':' && s.p[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < s.n) {
        size_t first = i;
        unsigned value = 0;
        int digit;
        while (i < s.n && i - first < 4 && (digit = hex_value(s.p[i])) >= 0) {
            value = value << 4 | (unsigned)digit;
            i++;
        }
        if (i == first)
            return false;
        if (i < s.n && s.p[i] == '.')
            return bw_ip_parse(s, out);
        if (count == 8)
            return false;
        groups[count++] = (uint16_t)value;
        if (i == s.n)
            break;
        if (s.p[i++] != ':' || i == s.n)
            return false;
        if (s.p[i] == ':') {
            if (gap >= 0)
                return false;
            gap = count;
            i++;
        }
    }
    if (gap < 0 ? count != 8 : count > 7)
        return false;
    memset(out->b, 0, sizeof out->b);
    int tail = gap < 0 ? 0 : count - gap;
    for (int g = 0; g < count; g++) {
        int slot = (gap >= 0 && g >= gap) ? 8 - tail + (g - gap) : g;
        out->b[2 * slot] = (uint8_t)(groups[g] >> 8);
        out->b[2 * slot + 1] = (uint8_t)groups[g];
    }
    return true;
}

static bool parse_ip(bw_slice s, bw_ip *out)
{
    // Dotted quads are four in five rows; they fail fast on the first ':' otherwise.
    return parse_v4(s, out) || parse_v6(s, out);
}

static bool parse_asn(bw_slice s, uint32_t *out)
{
    if (s.n == 0 || s.n > 10)
        return false;
    uint64_t value = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        value = value * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (value > UINT32_MAX)
        return false;
    *out = (uint32_t)value;
    return true;
}

typedef struct scan_state {
    bw_asn_db *db;
    const char *name;
    char *errbuf;
    bool error_named;
    bw_buf unescaped;       // scratch for org names with "" inside, reused
    bool has_previous;
    bw_slice previous_org;  // points into the pool; re-read after every intern
    uint32_t previous_index;
} scan_state;

static void bad_row(scan_state *st, size_t line_no, const char *reason)
{
    st->db->skipped_rows++;
    if (!st->error_named) {
        st->error_named = true;
        bw_error(st->errbuf, BW_ERR_PARSE, "%s:%zu: %s (row skipped)", st->name, line_no, reason);
    }
}

// Returns BW_OK for a good or a skipped row; only NOMEM and LIMIT stop the scan.
static bw_status scan_row(scan_state *st, const char *line, size_t n, size_t line_no)
{
    const bw_asn_limits *limits = &st->db->limits;
    if (n > limits->max_line_bytes) {
        bad_row(st, line_no, "row longer than max_line_bytes");
        return BW_OK;
    }
    csv_field start_f, end_f, asn_f, org_f;
    size_t pos = 0;
    bool more = false;
    if (!next_field(line, n, &pos, &start_f, &more) || !more
        || !next_field(line, n, &pos, &end_f, &more) || !more
        || !next_field(line, n, &pos, &asn_f, &more) || !more
        || !next_field(line, n, &pos, &org_f, &more)) {
        bad_row(st, line_no, "expected 4 fields start,end,asn,org");
        return BW_OK;
    }
    bw_ip start, end;
    uint32_t asn;
    if (!parse_ip(start_f.raw, &start) || !parse_ip(end_f.raw, &end)) {
        bad_row(st, line_no, "bad IP address");
        return BW_OK;
    }
    if (bw_ip_is_v4(&start) != bw_ip_is_v4(&end)) {
        bad_row(st, line_no, "range mixes IPv4 and IPv6");
        return BW_OK;
    }
    if (bw_ip_cmp(&start, &end) > 0) {
        bad_row(st, line_no, "range start after end");
        return BW_OK;
    }
    if (!parse_asn(asn_f.raw, &asn)) {
        bad_row(st, line_no, "bad AS number");
        return BW_OK;
    }
    bw_slice org = org_f.raw;
    if (org_f.escaped_quotes) {
        bw_buf_clear(&st->unescaped);
        for (size_t i = 0; i < org.n; i++) {
            if (bw_buf_append_char(&st->unescaped, org.p[i]) != 0)
                return BW_ERR_NOMEM;
            if (org.p[i] == '"')
                i++;    // the second quote of a "" pair
        }
        org = bw_buf_slice(&st->unescaped);
    }
    if (org.n > limits->max_org_bytes) {
        bad_row(st, line_no, "organisation name longer than max_org_bytes");
        return BW_OK;
    }
    // Neighbouring rows usually belong to the same network (Cloudflare has hundreds in a
    // row), so the previous row's name is checked before hashing.
    if (!st->has_previous || !bw_slice_eq(org, st->previous_org)) {
        bw_status status = asn_db_intern(st->db, org, &st->previous_index);
        if (status != BW_OK)
            return status;
        st->previous_org = bw_slice_make(st->db->pool.p + st->db->orgs[st->previous_index].offset,
                                         st->db->orgs[st->previous_index].len);
        st->has_previous = true;
    }
    bw_status status = asn_db_add_range(st->db, &start, &end, asn, st->previous_index);
    return status;
}

bw_status asn_csv_scan(bw_asn_db *db, const char *name, const char *data, size_t n, char *errbuf)
{
    scan_state st = { .db = db, .name = name, .errbuf = errbuf, .unescaped = BW_BUF_INIT };
    size_t pos = 0, line_no = 0;
    if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;    // a UTF-8 byte-order mark some spreadsheet exports add
    // Rows are 40-90 bytes; reserving for 32-byte rows avoids regrowing 20 MB arrays (the
    // pages beyond what is used are never touched).
    size_t expected = db->range_count + n / 32 + 16;
    bw_status status = asn_db_reserve(db, expected < db->limits.max_ranges ? expected : db->limits.max_ranges);
    if (status != BW_OK) {
        bw_buf_free(&st.unescaped);
        return bw_error(errbuf, status, "%s: out of memory", name);
    }
    while (pos < n) {
        line_no++;
        const char *nl = memchr(data + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - data) : n;
        size_t len = end - pos;
        if (len > 0 && data[pos + len - 1] == '\r')
            len--;
        if (len > 0) {
            status = scan_row(&st, data + pos, len, line_no);
            if (status == BW_ERR_LIMIT) {
                bw_error(errbuf, BW_ERR_LIMIT, "%s:%zu: more than %zu ranges (max_ranges); rest of file not loaded",
                         name, line_no, db->limits.max_ranges);
                break;
            }
            if (status != BW_OK) {
                bw_error(errbuf, status, "%s:%zu: out of memory", name, line_no);
                break;
            }
        }
        pos = end + 1;
    }
    bw_buf_free(&st.unescaped);
    return status;
}
