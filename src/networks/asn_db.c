// SPDX-License-Identifier: MIT
// The IP -> ASN database: one array of inclusive ranges over bw_ip (IPv4 mapped, so IPv4
// and IPv6 share one sort order and one binary search), organisation names interned in one
// pool, and any MaxMind databases opened beside it. Loading appends rows (asn_csv.c) and
// then restores the invariant the lookup relies on: ranges sorted by start and disjoint.
// The ip-location-db files arrive sorted and disjoint, so the common path is one linear
// check; anything else is sorted (stable merge sort) and overlaps are resolved so that the
// more specific range wins (docs/networks.md).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asn_internal.h"

void bw_asn_limits_default(bw_asn_limits *limits)
{
    // ip-location-db holds ~515k ranges; 8x headroom for growth and extra sources while
    // bounding memory (40 bytes a range: ~165 MB at the cap).
    limits->max_ranges = 4u << 20;
    // The longest real row is ~230 bytes; a 4 KiB row is garbage or an attack.
    limits->max_line_bytes = 4096;
    // Registry org names stay well under 256 bytes; longer ones would bloat every report.
    limits->max_org_bytes = 512;
    // The IPv4 CSV is ~24 MB; 1 GiB keeps a wrong path (a disk image) from being mapped.
    limits->max_file_bytes = (size_t)1 << 30;
}

bw_asn_db *bw_asn_db_new_with_limits(const bw_asn_limits *limits)
{
    bw_asn_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (limits)
        db->limits = *limits;
    else
        bw_asn_limits_default(&db->limits);
    if (bw_hash_key_random(&db->org_key) != 0) {
        // Without OS randomness the table still works; only flooding resistance is lost,
        // and the org names come from a file the operator chose.
        db->org_key = (bw_hash_key){ 0x736f6d6570736575ull, 0x646f72616e646f6dull };
    }
    return db;
}

bw_asn_db *bw_asn_db_new(void) { return bw_asn_db_new_with_limits(NULL); }

void bw_asn_db_free(bw_asn_db *db)
{
    if (!db)
        return;
    asn_mmdb_close_all(db);
    free(db->ranges);
    free(db->v4_index);
    free(db->orgs);
    free(db->org_table);
    bw_buf_free(&db->pool);
    free(db);
}

size_t bw_asn_db_range_count(const bw_asn_db *db) { return db->range_count; }
size_t bw_asn_db_skipped_rows(const bw_asn_db *db) { return db->skipped_rows; }
size_t bw_asn_db_overlaps(const bw_asn_db *db) { return db->overlaps; }
size_t bw_asn_db_org_count(const bw_asn_db *db) { return db->org_count; }
size_t bw_asn_db_mmdb_count(const bw_asn_db *db) { return db->mmdb_count; }

static bool grow(void **array, size_t *cap, size_t elem, size_t need)
{
    if (need <= *cap)
        return true;
    size_t new_cap = *cap ? *cap : 1024;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2 / elem)
            return false;
        new_cap *= 2;
    }
    void *p = realloc(*array, new_cap * elem);
    if (!p)
        return false;
    *array = p;
    *cap = new_cap;
    return true;
}

bw_status asn_db_add_range(bw_asn_db *db, const bw_ip *start, const bw_ip *end, uint32_t asn,
                           uint32_t org)
{
    if (db->range_count >= db->limits.max_ranges)
        return BW_ERR_LIMIT;
    if (!grow((void **)&db->ranges, &db->range_cap, sizeof *db->ranges, db->range_count + 1))
        return BW_ERR_NOMEM;
    db->ranges[db->range_count++] = (asn_range){ *start, *end, asn, org };
    return BW_OK;
}

bw_status asn_db_reserve(bw_asn_db *db, size_t count)
{
    return grow((void **)&db->ranges, &db->range_cap, sizeof *db->ranges, count) ? BW_OK : BW_ERR_NOMEM;
}

static bw_slice org_slice(const bw_asn_db *db, uint32_t org)
{
    return bw_slice_make(db->pool.p + db->orgs[org].offset, db->orgs[org].len);
}

static bool org_table_rehash(bw_asn_db *db, size_t new_cap)
{
    uint32_t *table = calloc(new_cap, sizeof *table);
    if (!table)
        return false;
    for (size_t i = 0; i < db->org_count; i++) {
        bw_slice s = org_slice(db, (uint32_t)i);
        size_t slot = (size_t)bw_siphash(&db->org_key, s.p, s.n) & (new_cap - 1);
        while (table[slot])
            slot = (slot + 1) & (new_cap - 1);
        table[slot] = (uint32_t)i + 1;
    }
    free(db->org_table);
    db->org_table = table;
    db->org_table_cap = new_cap;
    return true;
}

bw_status asn_db_intern(bw_asn_db *db, bw_slice name, uint32_t *org)
{
    if (db->org_table_cap == 0 && !org_table_rehash(db, 1u << 14))
        return BW_ERR_NOMEM;
    size_t mask = db->org_table_cap - 1;
    size_t slot = (size_t)bw_siphash(&db->org_key, name.p, name.n) & mask;
    for (; db->org_table[slot]; slot = (slot + 1) & mask) {
        uint32_t candidate = db->org_table[slot] - 1;
        if (bw_slice_eq(org_slice(db, candidate), name)) {
            *org = candidate;
            return BW_OK;
        }
    }
    // Offsets and indexes are 32-bit to keep a range at 40 bytes.
    if (db->pool.n + name.n + 1 > UINT32_MAX || db->org_count + 1 >= UINT32_MAX)
        return BW_ERR_LIMIT;
    if (!grow((void **)&db->orgs, &db->org_cap, sizeof *db->orgs, db->org_count + 1))
        return BW_ERR_NOMEM;
    uint32_t offset = (uint32_t)db->pool.n;
    // The NUL after each name lets callers print org.p with %s; the slice excludes it.
    if (bw_buf_append_slice(&db->pool, name) != 0 || bw_buf_append_char(&db->pool, '\0') != 0)
        return BW_ERR_NOMEM;
    db->orgs[db->org_count] = (asn_org){ offset, (uint32_t)name.n };
    db->org_table[slot] = (uint32_t)db->org_count + 1;
    *org = (uint32_t)db->org_count++;
    if (db->org_count * 2 > db->org_table_cap && !org_table_rehash(db, db->org_table_cap * 2))
        return BW_ERR_NOMEM;
    return BW_OK;
}

// Start ascending; on equal starts the wider range first, so nested ranges follow the
// range that contains them.
static int range_order(const asn_range *a, const asn_range *b)
{
    int c = bw_ip_cmp(&a->start, &b->start);
    return c ? c : bw_ip_cmp(&b->end, &a->end);
}

// Stable, so identical ranges keep their load order (the first loaded wins).
static void merge_sort(asn_range *a, asn_range *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t half = n / 2;
    merge_sort(a, tmp, half);
    merge_sort(a + half, tmp, n - half);
    if (range_order(&a[half - 1], &a[half]) <= 0)
        return;
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n)
        tmp[k++] = range_order(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < half)
        tmp[k++] = a[i++];
    memcpy(a, tmp, k * sizeof *a);
}

static bool ip_increment(bw_ip *ip)   // false when it wrapped past all-ones
{
    for (int i = 15; i >= 0; i--)
        if (++ip->b[i] != 0)
            return true;
    return false;
}

static void ip_decrement(bw_ip *ip)   // callers never pass ::
{
    for (int i = 15; i >= 0; i--)
        if (ip->b[i]-- != 0)
            return;
}

typedef struct sweep {
    asn_range *out;
    size_t out_count;
    bw_ip pos;          // first address not yet assigned
    bool pos_valid;     // false once pos passed the top of the address space
} sweep;

static void emit_until(sweep *s, const asn_range *owner, const bw_ip *last)
{
    if (!s->pos_valid || bw_ip_cmp(&s->pos, last) > 0)
        return;
    asn_range seg = *owner;
    seg.start = s->pos;
    seg.end = *last;
    s->out[s->out_count++] = seg;
    s->pos = *last;
    s->pos_valid = ip_increment(&s->pos);
}

// Rewrites sorted, possibly overlapping ranges into disjoint ones: inside a range, an
// address belongs to the innermost range that starts last (the more specific one for
// nested ranges; the later-starting one for partial overlaps); identical duplicates keep
// the first loaded. Each range that starts inside another can split it once, so at most
// n + overlapping segments come out.
static bw_status resolve_overlaps(bw_asn_db *db, size_t overlapping)
{
    size_t n = db->range_count;
    size_t out_cap = n + overlapping;
    if (out_cap < n || out_cap > SIZE_MAX / sizeof(asn_range))
        return BW_ERR_NOMEM;
    sweep s = { .out = malloc(out_cap * sizeof *s.out) };
    size_t *stack = malloc(n * sizeof *stack);
    if (!s.out || !stack) {
        free(s.out);
        free(stack);
        return BW_ERR_NOMEM;
    }
    size_t depth = 0;
    const asn_range *r = db->ranges;
    for (size_t i = 0; i < n; i++) {
        if (depth > 0) {
            const asn_range *top = &r[stack[depth - 1]];
            if (bw_ip_cmp(&top->start, &r[i].start) == 0 && bw_ip_cmp(&top->end, &r[i].end) == 0) {
                db->overlaps++;
                continue;
            }
        }
        while (depth > 0 && bw_ip_cmp(&r[stack[depth - 1]].end, &r[i].start) < 0) {
            emit_until(&s, &r[stack[depth - 1]], &r[stack[depth - 1]].end);
            depth--;
        }
        if (depth > 0) {
            db->overlaps++;
            if (s.pos_valid && bw_ip_cmp(&s.pos, &r[i].start) < 0) {
                bw_ip before = r[i].start;
                ip_decrement(&before);
                emit_until(&s, &r[stack[depth - 1]], &before);
            }
        }
        s.pos = r[i].start;
        s.pos_valid = true;
        stack[depth++] = i;
    }
    while (depth > 0) {
        emit_until(&s, &r[stack[depth - 1]], &r[stack[depth - 1]].end);
        depth--;
    }
    free(stack);
    free(db->ranges);
    db->ranges = s.out;
    db->range_count = s.out_count;
    db->range_cap = out_cap;
    return BW_OK;
}

// Ranges that start at or before the end of an earlier one (sorted input).
static size_t count_overlapping(const asn_range *r, size_t n)
{
    size_t overlapping = 0;
    for (size_t i = 1, widest = 0; i < n; i++) {
        if (bw_ip_cmp(&r[i].start, &r[widest].end) <= 0)
            overlapping++;
        if (bw_ip_cmp(&r[i].end, &r[widest].end) > 0)
            widest = i;
    }
    return overlapping;
}

// Below a few thousand ranges the plain binary search is short (12 steps) and the
// 256 KiB index would cost more to build than it saves (it dominated fuzzing runs).
enum { V4_INDEX_SLOTS = 65536 + 1, V4_INDEX_MIN_RANGES = 4096 };

static bw_status build_v4_index(bw_asn_db *db)
{
    if (db->range_count >= UINT32_MAX)
        return BW_ERR_LIMIT;
    if (!db->v4_index && !(db->v4_index = malloc(V4_INDEX_SLOTS * sizeof *db->v4_index)))
        return BW_ERR_NOMEM;
    // One pass: each range fills the slots of the /16s up to its own that no earlier range
    // started in, so the cost is ranges + 65,537 stores, no comparisons per slot.
    bw_ip v4_zero;
    bw_ip_from_v4(0, &v4_zero);
    size_t i = 0, n = db->range_count;
    while (i < n && bw_ip_cmp(&db->ranges[i].start, &v4_zero) < 0)
        i++;
    uint32_t slot = 0;
    for (; i < n && bw_ip_is_v4(&db->ranges[i].start); i++) {
        uint32_t own = (uint32_t)db->ranges[i].start.b[12] << 8 | db->ranges[i].start.b[13];
        while (slot <= own)
            db->v4_index[slot++] = (uint32_t)i;
    }
    while (slot < V4_INDEX_SLOTS)
        db->v4_index[slot++] = (uint32_t)i;
    return BW_OK;
}

static bw_status sort_and_resolve(bw_asn_db *db);

static bw_status finish_load(bw_asn_db *db)
{
    bw_status status = sort_and_resolve(db);
    if (status != BW_OK)
        return status;
    if (db->range_count >= V4_INDEX_MIN_RANGES)
        return build_v4_index(db);
    free(db->v4_index);   // a stale index must not outlive a rewrite of the array
    db->v4_index = NULL;
    return BW_OK;
}

static bw_status sort_and_resolve(bw_asn_db *db)
{
    size_t n = db->range_count;
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = range_order(&db->ranges[i - 1], &db->ranges[i]) <= 0;
    if (!sorted) {
        asn_range *tmp = malloc(n * sizeof *tmp);
        if (!tmp)
            return BW_ERR_NOMEM;
        merge_sort(db->ranges, tmp, n);
        free(tmp);
    }
    size_t overlapping = count_overlapping(db->ranges, n);
    return overlapping == 0 ? BW_OK : resolve_overlaps(db, overlapping);
}

bw_status bw_asn_db_load_csv_buffer(bw_asn_db *db, const char *name, const char *data, size_t n,
                                    char *errbuf)
{
    if (errbuf)
        errbuf[0] = '\0';
    bw_status status = asn_csv_scan(db, name, data, n, errbuf);
    bw_status finish = finish_load(db);
    if (finish != BW_OK)
        return bw_error(errbuf, finish, "%s: out of memory while sorting ranges", name);
    return status;
}

bool bw_asn_is_mmdb(const void *data, size_t n)
{
    static const char marker[] = "\xAB\xCD\xEFMaxMind.com";
    // The metadata section sits at the end and is at most 128 KiB (MaxMind DB spec 2.0).
    size_t window = 128 * 1024;
    const char *p = data;
    if (n > window) {
        p += n - window;
        n = window;
    }
    return memmem(p, n, marker, sizeof marker - 1) != NULL;
}

static bw_status load_file(bw_asn_db *db, const char *path, char *errbuf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return bw_error(errbuf, BW_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return bw_asn_db_load_csv_buffer(db, path, "", 0, errbuf);
    }
    // MAP_POPULATE reads the whole file in one go: it is scanned end to end anyway, and
    // one fault per page cost a sixth of the load time in a VM.
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(map_errno));
    if (bw_asn_is_mmdb(map, size)) {
        munmap(map, size);
        return asn_mmdb_open(db, path, errbuf);
    }
    bw_status status;
    if (size > db->limits.max_file_bytes) {
        status = bw_error(errbuf, BW_ERR_LIMIT, "%s: %zu bytes, more than max_file_bytes (%zu)", path, size,
                          db->limits.max_file_bytes);
    } else {
        madvise(map, size, MADV_SEQUENTIAL);
        status = bw_asn_db_load_csv_buffer(db, path, map, size, errbuf);
    }
    munmap(map, size);
    return status;
}

bw_status bw_asn_db_load(bw_asn_db *db, const char *path, char *errbuf)
{
    if (errbuf)
        errbuf[0] = '\0';
    struct stat st;
    if (stat(path, &st) != 0)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return load_file(db, path, errbuf);
    static const char *const names[] = { "asn-ipv4.csv", "asn-ipv6.csv" };
    size_t loaded = 0;
    bw_status result = BW_OK;
    char first_error[BW_ERRBUF_SIZE] = "";
    for (size_t i = 0; i < 2; i++) {
        char file[4096];
        if ((size_t)snprintf(file, sizeof file, "%s/%s", path, names[i]) >= sizeof file)
            return bw_error(errbuf, BW_ERR_INVALID, "%s: path too long", path);
        if (access(file, F_OK) != 0)
            continue;
        char one[BW_ERRBUF_SIZE] = "";
        bw_status status = load_file(db, file, one);
        if (status != BW_OK && result == BW_OK)
            result = status;
        if (one[0] && !first_error[0])
            memcpy(first_error, one, sizeof one);
        loaded++;
    }
    if (loaded == 0)
        return bw_error(errbuf, BW_ERR_NOTFOUND, "%s: neither asn-ipv4.csv nor asn-ipv6.csv found", path);
    if (errbuf)
        memcpy(errbuf, first_error, sizeof first_error);
    return result;
}

bool bw_asn_lookup(const bw_asn_db *db, const bw_ip *ip, bw_asn_info *out)
{
    *out = (bw_asn_info){ 0, BW_SLICE_NULL, BW_SLICE_NULL };
    if (db->mmdb_count > 0)
        asn_mmdb_lookup(db, ip, out);
    if (out->asn == 0 && db->range_count > 0) {
        // Last range whose start <= ip; ranges are disjoint, so it alone can cover ip. For
        // IPv4 it lies between the index entries of ip's /16 (or is the one just before).
        size_t lo = 0, hi = db->range_count;
        if (bw_ip_is_v4(ip) && db->v4_index) {
            uint32_t p = (uint32_t)ip->b[12] << 8 | ip->b[13];
            lo = db->v4_index[p] ? db->v4_index[p] - 1 : 0;
            hi = db->v4_index[p + 1];
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (bw_ip_cmp(&db->ranges[mid].start, ip) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && bw_ip_cmp(ip, &db->ranges[lo - 1].end) <= 0) {
            const asn_range *r = &db->ranges[lo - 1];
            out->asn = r->asn;
            out->org = org_slice(db, r->org);
        }
    }
    return out->asn != 0 || out->country.n != 0;
}
