// SPDX-License-Identifier: MIT
// The intake reader: walks the paths it is given (directories in sorted order, Maildirs,
// files, stdin) and streams every message out of them, descending into compressed files
// and archives through libarchive without extracting anything to disk. The format of each
// file or archive member is decided from its first bytes (detect.c), never its name.
//
// Shape: a stack of frames, one per open level (directory, archive, content being split);
// bw_intake_next() steps the top frame until it yields an event. Only the top frame reads
// content, so memory is one message, one read chunk, one block per open archive and the
// directory listings on the stack. Bad input never stops the run: it becomes an error
// event (queued, then delivered by the next calls) and the walk goes on.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "botwatch/intake.h"
#include "detect.h"
#include "intake_internal.h"

// Bytes read per call from a file or member. Big enough that syscall and libarchive call
// overhead vanish against the splitter's memchr; small next to the RSS budget.
#define CHUNK_BYTES (256u * 1024)
// Block handed to libarchive per read callback of an archive's compressed input.
#define ARCHIVE_BLOCK_BYTES (64u * 1024)
// Errors queued between two bw_intake_next() calls; one step queues at most three.
#define ERROR_QUEUE 8

void bw_intake_limits_default(bw_intake_limits *limits)
{
    memset(limits, 0, sizeof *limits);
    // Above what real MTAs accept (Postfix 10 MB by default, large providers ~50 MB), so
    // only hostile or broken input is cut; one such message fits the 200 MB RSS budget.
    limits->max_message_bytes = 64u << 20;
    // RFC 5322 caps a line at 998 bytes; real From_ lines are under 200.
    limits->max_envelope_bytes = 1000;
    // Real trap archives nest two or three deep (a .tar.gz of a zip of mail); deeper is
    // the pattern of archive quines and bombs.
    limits->max_archive_depth = 4;
    // A year of a busy trap as a Maildir tarball is well under this; it bounds the time
    // a zip of millions of empty entries can cost to seconds.
    limits->max_archive_members = 2000000;
    // 16x the 1 GB mbox botwatch is sized for; at ingest speed (~300 MB/s) a zip bomb
    // costs under a minute before it is abandoned. Raise it for bigger archives.
    limits->max_archive_bytes = 16ull << 30;
    // Maildir++ folder trees are a handful of levels deep; this bounds the stack of open
    // directory listings.
    limits->max_path_depth = 32;
    // A zip or 7z nested in another archive (or on stdin) needs seeking, so it is held in
    // memory; with one maximal message this stays inside the 200 MB budget.
    limits->max_memory_member_bytes = 64u << 20;
    limits->mbox_split_any_line = false;
}

const char *bw_intake_format_name(bw_intake_format format)
{
    switch (format) {
    case BW_INTAKE_MBOX: return "mbox";
    case BW_INTAKE_MAILDIR: return "maildir";
    case BW_INTAKE_EML: return "eml";
    }
    return "unknown";
}

const char *bw_intake_error_kind_name(bw_intake_error_kind kind)
{
    switch (kind) {
    case BW_INTAKE_ERR_IO: return "io";
    case BW_INTAKE_ERR_UNRECOGNIZED: return "unrecognized";
    case BW_INTAKE_ERR_EMPTY: return "empty";
    case BW_INTAKE_ERR_ARCHIVE: return "archive";
    case BW_INTAKE_ERR_LIMIT: return "limit";
    case BW_INTAKE_ERR_LOOP: return "loop";
    }
    return "unknown";
}

typedef enum read_failure {
    READ_FAILED_IO = 1,
    READ_FAILED_ARCHIVE,
    READ_FAILED_BUDGET,      // max_archive_bytes: the whole archive tree is abandoned
} read_failure;

// A byte source: a file descriptor or the current entry of an archive, with the bytes
// read for format detection replayed first.
typedef struct stream {
    int fd;                   // >= 0: read this descriptor
    bool own_fd;
    bool on_disk;             // counts toward file_bytes / progress
    bool seekable;
    struct archive *archive;  // else: data of this archive's current entry
    const unsigned char *memory; // else: these bytes (bw_intake_add_memory)
    size_t memory_size, memory_pos;
    uint64_t fd_offset;       // where the descriptor is (seeking formats jump around)
    uint64_t high_water;      // furthest offset read: file_bytes counts each byte once
    unsigned char peek[BW_DETECT_BYTES];
    size_t peek_len, peek_pos;
    uint64_t pos;             // bytes delivered so far
    read_failure failure;
    bool fatal;               // the archive itself is unusable after this failure
    char failure_reason[BW_ERRBUF_SIZE];
} stream;

typedef enum frame_kind { FRAME_DIR, FRAME_ARCHIVE, FRAME_CONTENT } frame_kind;

typedef struct frame {
    frame_kind kind;
    struct bw_intake *owner;
    bw_buf name;              // source name at this level (path, archive:member)
    unsigned path_depth;      // directory levels below the input path
    bool maildir_root;        // DIR: a Maildir: only its cur/ and new/ are read
    bool in_maildir;          // DIR: cur/ or new/ of a Maildir; CONTENT: a file in one
    // DIR
    char **entries;
    size_t entry_count, next_entry;
    dev_t dev;
    ino_t ino;
    // ARCHIVE and CONTENT
    stream input;
    // ARCHIVE
    struct archive *archive;
    unsigned char *block;
    void *memory;             // a nested zip/7z read whole (it needs seeking)
    uint64_t members;
    bool dead;                // ARCHIVE: a fatal error was already reported for it
    bool top_archive;         // outermost archive: owns the max_archive_bytes budget
    // CONTENT
    bw_detect_kind content;
    bool eof;
    bool delivered;           // EML: the message went out; pop on the next step
} frame;

// A path, or bytes the caller keeps alive (bw_intake_add_memory).
typedef struct queued_input {
    char *name;
    const unsigned char *data;
    size_t size;
    bool memory;
} queued_input;

typedef struct queued_error {
    bw_buf source;
    bw_buf reason;
    uint64_t offset;
    bw_intake_error_kind kind;
} queued_error;

struct bw_intake {
    bw_intake_limits limits;
    queued_input *inputs;
    size_t input_count, input_cap, next_input;
    bool input_active;
    const char *input_path;
    bw_intake_stats input_stats, totals;
    _Atomic uint64_t progress_read, progress_total;

    frame **stack;
    size_t depth, stack_cap;
    bool abandoning;          // max_archive_bytes hit: pop down to abandon_depth
    size_t abandon_depth;
    uint64_t archive_bytes;   // decompressed bytes of the current top-level archive tree

    bw_mbox_splitter *splitter;
    unsigned char *chunk;
    size_t chunk_len, chunk_pos;
    bw_buf single;            // an EML/Maildir message
    bw_buf scratch;           // child paths, member names, escaped text

    queued_error queue[ERROR_QUEUE];
    size_t queue_head, queue_count;
    queued_error delivered;   // the error handed out by the last call
    bool nomem;
};

// ---- errors -------------------------------------------------------------------------

static void count_error(bw_intake *in)
{
    in->input_stats.errors++;
    in->totals.errors++;
}

static void queue_error(bw_intake *in, bw_slice source, uint64_t offset, bw_intake_error_kind kind,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void queue_error(bw_intake *in, bw_slice source, uint64_t offset, bw_intake_error_kind kind,
                        const char *fmt, ...)
{
    count_error(in);
    if (in->queue_count == ERROR_QUEUE)
        return;  // counted; the queue is sized so this does not happen
    queued_error *q = &in->queue[(in->queue_head + in->queue_count) % ERROR_QUEUE];
    bw_buf_clear(&q->source);
    bw_buf_clear(&q->reason);
    char reason[BW_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (bw_buf_append_slice(&q->source, source) != 0 || bw_buf_append_cstr(&q->reason, reason) != 0) {
        in->nomem = true;
        return;
    }
    q->offset = offset;
    q->kind = kind;
    in->queue_count++;
}

static void deliver_error(bw_intake *in, bw_intake_event *ev)
{
    queued_error *q = &in->queue[in->queue_head];
    in->queue_head = (in->queue_head + 1) % ERROR_QUEUE;
    in->queue_count--;
    // Swap buffers so the delivered strings live until the next call.
    queued_error tmp = in->delivered;
    in->delivered = *q;
    *q = tmp;
    ev->kind = BW_INTAKE_EV_ERROR;
    ev->error.source = bw_buf_slice(&in->delivered.source);
    if (!ev->error.source.p)
        ev->error.source = bw_slice_make("", 0);
    ev->error.offset = in->delivered.offset;
    ev->error.kind = in->delivered.kind;
    ev->error.reason = in->delivered.reason.p ? in->delivered.reason.p : "";
}

// ---- streams ------------------------------------------------------------------------

static void stream_init_fd(stream *s, int fd, bool own_fd, bool on_disk, bool seekable)
{
    memset(s, 0, offsetof(stream, peek));
    s->fd = fd;
    s->own_fd = own_fd;
    s->on_disk = on_disk;
    s->seekable = seekable;
    s->peek_len = s->peek_pos = 0;
    s->pos = 0;
    s->failure = 0;
}

static void stream_init_member(stream *s, struct archive *archive)
{
    stream_init_fd(s, -1, false, false, false);
    s->archive = archive;
}

static void stream_close(stream *s)
{
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->own_fd = false;
}

static size_t top_archive_index(const bw_intake *in)
{
    for (size_t i = 0; i < in->depth; i++)
        if (in->stack[i]->kind == FRAME_ARCHIVE)
            return i;
    return in->depth;
}

// The outermost archive on the stack and everything above it are dropped at the next step.
static void abandon_archive_tree(bw_intake *in)
{
    in->abandoning = true;
    in->abandon_depth = top_archive_index(in);
}

// Reads up to cap bytes: > 0 bytes, 0 at end, -1 on failure (s->failure says why).
static ssize_t stream_read(bw_intake *in, stream *s, void *buf, size_t cap)
{
    if (s->failure)
        return -1;
    if (s->peek_pos < s->peek_len) {
        size_t n = s->peek_len - s->peek_pos;
        if (n > cap)
            n = cap;
        memcpy(buf, s->peek + s->peek_pos, n);
        s->peek_pos += n;
        s->pos += n;
        return (ssize_t)n;
    }
    ssize_t got;
    if (s->memory || (s->fd < 0 && !s->archive)) {
        size_t left = s->memory_size - s->memory_pos;
        got = (ssize_t)(left < cap ? left : cap);
        if (got)
            memcpy(buf, s->memory + s->memory_pos, (size_t)got);
        s->memory_pos += (size_t)got;
    } else if (s->archive) {
        got = archive_read_data(s->archive, buf, cap);
        if (got < 0) {
            s->failure = READ_FAILED_ARCHIVE;
            s->fatal = got == ARCHIVE_FATAL;
            snprintf(s->failure_reason, sizeof s->failure_reason, "%s",
                     archive_error_string(s->archive) ? archive_error_string(s->archive) : "read failed");
            return -1;
        }
        if (got > 0) {
            in->archive_bytes += (uint64_t)got;
            if (in->archive_bytes > in->limits.max_archive_bytes) {
                s->failure = READ_FAILED_BUDGET;
                snprintf(s->failure_reason, sizeof s->failure_reason,
                         "max_archive_bytes (%llu) exceeded: archive abandoned (zip bomb?)",
                         (unsigned long long)in->limits.max_archive_bytes);
                return -1;
            }
        }
    } else {
        do
            got = read(s->fd, buf, cap);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            s->failure = READ_FAILED_IO;
            snprintf(s->failure_reason, sizeof s->failure_reason, "read: %s", strerror(errno));
            return -1;
        }
        s->fd_offset += (uint64_t)got;
        if (s->on_disk && s->fd_offset > s->high_water) {
            uint64_t fresh = s->fd_offset - s->high_water;
            s->high_water = s->fd_offset;
            in->input_stats.file_bytes += fresh;
            in->totals.file_bytes += fresh;
            atomic_fetch_add_explicit(&in->progress_read, fresh, memory_order_relaxed);
        }
    }
    s->pos += (uint64_t)got;
    return got;
}

// Fills the peek buffer (stops early only at end of input or on failure).
static ssize_t stream_peek(bw_intake *in, stream *s)
{
    size_t n = 0;
    while (n < sizeof s->peek) {
        ssize_t got = stream_read(in, s, s->peek + n, sizeof s->peek - n);
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        n += (size_t)got;
    }
    s->peek_len = n;
    s->peek_pos = 0;
    s->pos = 0;
    return (ssize_t)n;
}

// ---- frames -------------------------------------------------------------------------

static frame *frame_new(bw_intake *in, bw_slice name)
{
    frame *f = calloc(1, sizeof *f);
    if (!f) {
        in->nomem = true;
        return NULL;
    }
    f->owner = in;
    f->input.fd = -1;
    if (bw_buf_append_slice(&f->name, name) != 0) {
        free(f);
        in->nomem = true;
        return NULL;
    }
    return f;
}

static void frame_free(frame *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->entry_count; i++)
        free(f->entries[i]);
    free(f->entries);
    if (f->archive)
        archive_read_free(f->archive);
    stream_close(&f->input);
    free(f->block);
    free(f->memory);
    bw_buf_free(&f->name);
    free(f);
}

static bool push(bw_intake *in, frame *f)
{
    if (in->depth == in->stack_cap) {
        size_t cap = in->stack_cap ? in->stack_cap * 2 : 16;
        frame **bigger = realloc(in->stack, cap * sizeof *bigger);
        if (!bigger) {
            frame_free(f);
            in->nomem = true;
            return false;
        }
        in->stack = bigger;
        in->stack_cap = cap;
    }
    in->stack[in->depth++] = f;
    return true;
}

static void pop(bw_intake *in)
{
    frame *f = in->stack[--in->depth];
    frame_free(f);
}

static unsigned archive_depth(const bw_intake *in)
{
    unsigned n = 0;
    for (size_t i = 0; i < in->depth; i++)
        n += in->stack[i]->kind == FRAME_ARCHIVE;
    return n;
}

// ---- opening content ------------------------------------------------------------------

static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **buffer)
{
    frame *f = ctx;
    ssize_t got = stream_read(f->owner, &f->input, f->block, ARCHIVE_BLOCK_BYTES);
    if (got < 0) {
        archive_set_error(a, EIO, "%s", f->input.failure_reason);
        return -1;
    }
    *buffer = f->block;
    return got;
}

static la_int64_t archive_seek_cb(struct archive *a, void *ctx, la_int64_t offset, int whence)
{
    (void)a;
    frame *f = ctx;
    off_t at = lseek(f->input.fd, (off_t)offset, whence);
    if (at < 0)
        return ARCHIVE_FATAL;
    f->input.fd_offset = (uint64_t)at;
    return (la_int64_t)at;
}

// Reads a whole stream into memory for a nested zip/7z (formats that must seek).
static bool slurp(bw_intake *in, frame *f)
{
    size_t cap = in->limits.max_memory_member_bytes < (1u << 16) ? in->limits.max_memory_member_bytes : 1u << 16;
    size_t n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        in->nomem = true;
        return false;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= in->limits.max_memory_member_bytes) {
                free(buf);
                queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_LIMIT,
                            "nested seekable archive larger than max_memory_member_bytes (%zu): skipped",
                            in->limits.max_memory_member_bytes);
                return false;
            }
            size_t bigger_cap = cap * 2 > in->limits.max_memory_member_bytes
                                    ? in->limits.max_memory_member_bytes : cap * 2;
            unsigned char *bigger = realloc(buf, bigger_cap);
            if (!bigger) {
                free(buf);
                in->nomem = true;
                return false;
            }
            buf = bigger;
            cap = bigger_cap;
        }
        ssize_t got = stream_read(in, &f->input, buf + n, cap - n);
        if (got < 0) {
            free(buf);
            if (f->input.failure != READ_FAILED_BUDGET)
                queue_error(in, bw_buf_slice(&f->name), f->input.pos, BW_INTAKE_ERR_ARCHIVE, "%s",
                            f->input.failure_reason);
            return false;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    f->memory = buf;
    return archive_read_open_memory(f->archive, buf, n) == ARCHIVE_OK;
}

// Not archive_read_support_*_all(): that brings formats no mail archive uses, each more
// attack surface (mtree, whose reader can consult the files an mtree text names on the
// local disk; iso9660, warc, lha, cab, xar, ...), and filters that fall back to running
// external programs when a library is missing. Only in-process decoders and formats that
// carry their own data are enabled.
static bool enable_safe_readers(struct archive *a)
{
    int (*const filters[])(struct archive *) = {
        archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
        archive_read_support_filter_xz, archive_read_support_filter_lzma,
        archive_read_support_filter_lzip, archive_read_support_filter_zstd,
        archive_read_support_filter_lz4, archive_read_support_filter_compress,
    };
    int (*const formats[])(struct archive *) = {
        archive_read_support_format_tar, archive_read_support_format_zip,
        archive_read_support_format_7zip, archive_read_support_format_rar,
        archive_read_support_format_rar5, archive_read_support_format_cpio,
        archive_read_support_format_empty, archive_read_support_format_raw,
    };
    // ARCHIVE_WARN from a filter means "will run an external program": refuse.
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (filters[i](a) != ARCHIVE_OK)
            return false;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i](a) != ARCHIVE_OK)
            return false;
    return true;
}

static bool open_archive(bw_intake *in, frame *f, bw_detect_kind kind)
{
    if (archive_depth(in) + 1 > in->limits.max_archive_depth) {
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_LIMIT,
                    "max_archive_depth (%u) reached: archive not opened", in->limits.max_archive_depth);
        return false;
    }
    f->kind = FRAME_ARCHIVE;
    f->top_archive = archive_depth(in) == 0;
    if (f->top_archive)
        in->archive_bytes = 0;
    f->archive = archive_read_new();
    if (!f->archive) {
        in->nomem = true;
        return false;
    }
    if (!enable_safe_readers(f->archive)) {
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_ARCHIVE,
                    "this libarchive lacks a built-in decoder botwatch needs");
        return false;
    }
    if (f->input.memory) {
        // Caller-held bytes: libarchive reads (and seeks) them in place.
        if (archive_read_open_memory(f->archive, f->input.memory, f->input.memory_size) != ARCHIVE_OK) {
            queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_ARCHIVE, "%s",
                        archive_error_string(f->archive) ? archive_error_string(f->archive) : "cannot open");
            return false;
        }
        return true;
    }
    bool needs_seek = kind == BW_DETECT_ZIP || kind == BW_DETECT_7Z;
    if (needs_seek && !f->input.seekable) {
        if (!slurp(in, f)) {
            if (!in->nomem && f->memory)
                queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_ARCHIVE, "%s",
                            archive_error_string(f->archive) ? archive_error_string(f->archive) : "cannot open");
            return false;
        }
        return true;
    }
    if (f->input.seekable && lseek(f->input.fd, 0, SEEK_SET) == 0) {
        // Let libarchive read from the start (and seek, for zip's central directory).
        f->input.fd_offset = 0;
        f->input.peek_len = f->input.peek_pos = 0;
        f->input.pos = 0;
        archive_read_set_seek_callback(f->archive, archive_seek_cb);
    }
    f->block = malloc(ARCHIVE_BLOCK_BYTES);
    if (!f->block) {
        in->nomem = true;
        return false;
    }
    if (archive_read_open2(f->archive, f, NULL, archive_read_cb, NULL, NULL) != ARCHIVE_OK) {
        if (f->input.failure != READ_FAILED_BUDGET)
            queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_ARCHIVE, "%s",
                        archive_error_string(f->archive) ? archive_error_string(f->archive) : "cannot open");
        return false;
    }
    return true;
}

// Decides what the stream in f holds and pushes f as the matching frame; on any failure
// the reason is queued and f freed. `maildir`: the file sits in a Maildir cur/ or new/.
static void open_stream(bw_intake *in, frame *f, bool maildir)
{
    ssize_t n = stream_peek(in, &f->input);
    if (n < 0) {
        if (f->input.failure == READ_FAILED_BUDGET) {
            abandon_archive_tree(in);
            queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_LIMIT, "%s", f->input.failure_reason);
        } else {
            queue_error(in, bw_buf_slice(&f->name), 0,
                        f->input.failure == READ_FAILED_IO ? BW_INTAKE_ERR_IO : BW_INTAKE_ERR_ARCHIVE,
                        "%s", f->input.failure_reason);
        }
        frame_free(f);
        return;
    }
    if (n == 0) {
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_EMPTY, "empty file");
        frame_free(f);
        return;
    }
    bw_detect_kind kind = bw_detect(f->input.peek, (size_t)n);
    switch (kind) {
    case BW_DETECT_MBOX:
    case BW_DETECT_EML:
        f->kind = FRAME_CONTENT;
        f->content = kind;
        f->in_maildir = maildir;
        in->chunk_len = in->chunk_pos = 0;
        if (kind == BW_DETECT_MBOX)
            bw_mbox_splitter_reset(in->splitter);
        in->input_stats.files++;
        in->totals.files++;
        push(in, f);
        return;
    case BW_DETECT_UNKNOWN:
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_UNRECOGNIZED,
                    "not mail, mbox or a known archive (first bytes %02x %02x %02x %02x)",
                    f->input.peek[0], n > 1 ? f->input.peek[1] : 0, n > 2 ? f->input.peek[2] : 0,
                    n > 3 ? f->input.peek[3] : 0);
        frame_free(f);
        return;
    default:
        if (open_archive(in, f, kind)) {
            push(in, f);
        } else {
            if (f->input.failure == READ_FAILED_BUDGET) {
                abandon_archive_tree(in);
                queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_LIMIT, "%s", f->input.failure_reason);
            }
            frame_free(f);
        }
        return;
    }
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_maildir(bw_buf *scratch, const char *path)
{
    bw_buf_clear(scratch);
    if (bw_buf_printf(scratch, "%s/cur", path) != 0 || !is_dir(scratch->p))
        return false;
    bw_buf_clear(scratch);
    return bw_buf_printf(scratch, "%s/new", path) == 0 && is_dir(scratch->p);
}

// Maildir++ keeps its folders (".Junk", ".Spam.2024") as dot-directories of the Maildir,
// each a Maildir itself: the one exception to skipping dotfiles.
static bool is_maildir_folder(bw_intake *in, const char *maildir, const char *name)
{
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    bw_buf path = BW_BUF_INIT;
    bool yes = bw_buf_printf(&path, "%s/%s", maildir, name) == 0 && is_maildir(&in->scratch, path.p);
    bw_buf_free(&path);
    return yes;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool list_directory(bw_intake *in, frame *f, const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_IO, "opendir: %s", strerror(errno));
        return false;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' && !(f->maildir_root && is_maildir_folder(in, path, de->d_name))) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                in->input_stats.skipped++;
                in->totals.skipped++;
            }
            continue;
        }
        if (f->maildir_root && de->d_name[0] != '.' && strcmp(de->d_name, "cur") != 0 &&
            strcmp(de->d_name, "new") != 0)
            continue;  // tmp/ holds deliveries in progress; other entries are not mail
        if (f->entry_count == cap) {
            size_t bigger_cap = cap ? cap * 2 : 32;
            char **bigger = realloc(f->entries, bigger_cap * sizeof *bigger);
            if (!bigger) {
                closedir(dir);
                in->nomem = true;
                return false;
            }
            f->entries = bigger;
            cap = bigger_cap;
        }
        if (!(f->entries[f->entry_count] = strdup(de->d_name))) {
            closedir(dir);
            in->nomem = true;
            return false;
        }
        f->entry_count++;
    }
    closedir(dir);
    // Sorted bytewise, not by locale: the same tree reads the same on every machine.
    if (f->entry_count > 1)
        qsort(f->entries, f->entry_count, sizeof *f->entries, compare_names);
    return true;
}

// Opens a filesystem path (the input itself, or an entry of a directory frame).
static void open_path(bw_intake *in, const char *path, unsigned path_depth, bool in_maildir)
{
    bw_slice name = bw_slice_cstr(path);
    if (strcmp(path, "-") == 0) {
        frame *f = frame_new(in, BW_SLICE_LIT("<stdin>"));
        if (!f)
            return;
        struct stat st;
        bool regular = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
        stream_init_fd(&f->input, STDIN_FILENO, false, true, regular);
        open_stream(in, f, false);
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        queue_error(in, name, 0, BW_INTAKE_ERR_IO, "stat: %s", strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (path_depth > in->limits.max_path_depth) {
            queue_error(in, name, 0, BW_INTAKE_ERR_LIMIT, "max_path_depth (%u) reached: directory not read",
                        in->limits.max_path_depth);
            return;
        }
        for (size_t i = 0; i < in->depth; i++) {
            const frame *g = in->stack[i];
            if (g->kind == FRAME_DIR && g->dev == st.st_dev && g->ino == st.st_ino) {
                queue_error(in, name, 0, BW_INTAKE_ERR_LOOP, "directory loop (symlink to %s)", g->name.p);
                return;
            }
        }
        frame *f = frame_new(in, name);
        if (!f)
            return;
        f->kind = FRAME_DIR;
        f->path_depth = path_depth;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->in_maildir = in_maildir;
        bw_buf scratch = BW_BUF_INIT;
        f->maildir_root = is_maildir(&scratch, path);
        bw_buf_free(&scratch);
        if (!list_directory(in, f, path)) {
            frame_free(f);
            return;
        }
        push(in, f);
        return;
    }
    // A pipe named on the command line (`botwatch ingest <(zcat x)`) is read; one met in a
    // directory walk is skipped, as are devices and sockets: reading them could block
    // forever or never end.
    bool named_pipe = S_ISFIFO(st.st_mode) && path_depth == 0;
    if (!S_ISREG(st.st_mode) && !named_pipe) {
        in->input_stats.skipped++;
        in->totals.skipped++;
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        queue_error(in, name, 0, BW_INTAKE_ERR_IO, "open: %s", strerror(errno));
        return;
    }
    frame *f = frame_new(in, name);
    if (!f) {
        close(fd);
        return;
    }
    f->path_depth = path_depth;
    stream_init_fd(&f->input, fd, true, true, !named_pipe);
    open_stream(in, f, in_maildir);
}

// ---- stepping the top frame ----------------------------------------------------------

static void report_read_failure(bw_intake *in, frame *f)
{
    stream *s = &f->input;
    bw_slice name = bw_buf_slice(&f->name);
    switch (s->failure) {
    case READ_FAILED_BUDGET:
        queue_error(in, name, s->pos, BW_INTAKE_ERR_LIMIT, "%s", s->failure_reason);
        abandon_archive_tree(in);
        break;
    case READ_FAILED_IO:
        queue_error(in, name, s->pos, BW_INTAKE_ERR_IO, "%s", s->failure_reason);
        break;
    case READ_FAILED_ARCHIVE:
        queue_error(in, name, s->pos, BW_INTAKE_ERR_ARCHIVE, "%s", s->failure_reason);
        if (s->fatal && in->depth >= 2 && in->stack[in->depth - 2]->kind == FRAME_ARCHIVE)
            in->stack[in->depth - 2]->dead = true;
        break;
    }
}

static void deliver_message(bw_intake *in, frame *f, const bw_intake_message *m, bw_intake_event *ev)
{
    ev->kind = BW_INTAKE_EV_MESSAGE;
    ev->message = *m;
    ev->message.source = bw_buf_slice(&f->name);
    if (f->content == BW_DETECT_MBOX)
        ev->message.format = BW_INTAKE_MBOX;
    else
        ev->message.format = f->in_maildir ? BW_INTAKE_MAILDIR : BW_INTAKE_EML;
    if (f->input.archive)
        ev->message.flags |= BW_INTAKE_MSG_IN_ARCHIVE;
    if (f->input.failure)
        ev->message.flags |= BW_INTAKE_MSG_TRUNCATED;
    in->input_stats.messages++;
    in->totals.messages++;
    in->input_stats.message_bytes += ev->message.bytes.n;
    in->totals.message_bytes += ev->message.bytes.n;
    if (ev->message.flags & BW_INTAKE_MSG_TRUNCATED) {
        in->input_stats.truncated++;
        in->totals.truncated++;
    }
}

static void count_input(bw_intake *in, size_t n)
{
    in->input_stats.input_bytes += n;
    in->totals.input_bytes += n;
}

static int step_mbox(bw_intake *in, frame *f, bw_intake_event *ev)
{
    for (;;) {
        bool ready;
        if (in->chunk_pos < in->chunk_len) {
            size_t used;
            if (bw_mbox_splitter_feed(in->splitter, in->chunk + in->chunk_pos, in->chunk_len - in->chunk_pos,
                                      &used, &ready) != BW_OK) {
                in->nomem = true;
                return 1;
            }
            in->chunk_pos += used;
            if (ready) {
                deliver_message(in, f, bw_mbox_splitter_message(in->splitter), ev);
                return 1;
            }
            continue;
        }
        if (f->eof) {
            if (bw_mbox_splitter_finish(in->splitter, &ready) != BW_OK) {
                in->nomem = true;
                return 1;
            }
            if (ready) {
                deliver_message(in, f, bw_mbox_splitter_message(in->splitter), ev);
                return 1;
            }
            pop(in);
            return 0;
        }
        ssize_t got = stream_read(in, &f->input, in->chunk, CHUNK_BYTES);
        if (got > 0) {
            count_input(in, (size_t)got);
            in->chunk_len = (size_t)got;
            in->chunk_pos = 0;
            continue;
        }
        if (got < 0)
            report_read_failure(in, f);  // the message in progress still goes out, flagged
        f->eof = true;
    }
}

static int step_single(bw_intake *in, frame *f, bw_intake_event *ev)
{
    if (f->delivered) {
        pop(in);
        return 0;
    }
    bw_buf *msg = &in->single;
    bw_buf_clear(msg);
    uint64_t total = 0;
    for (;;) {
        size_t room = in->limits.max_message_bytes - msg->n;
        ssize_t got;
        if (room == 0) {
            got = stream_read(in, &f->input, in->chunk, CHUNK_BYTES);  // counted, dropped
        } else {
            size_t want = room < CHUNK_BYTES ? room : CHUNK_BYTES;
            if (bw_buf_reserve(msg, want) != 0) {
                in->nomem = true;
                return 1;
            }
            got = stream_read(in, &f->input, msg->p + msg->n, want);
            if (got > 0) {
                msg->n += (size_t)got;
                msg->p[msg->n] = '\0';
            }
        }
        if (got <= 0) {
            if (got < 0)
                report_read_failure(in, f);
            break;
        }
        count_input(in, (size_t)got);
        total += (uint64_t)got;
    }
    bw_intake_message m = { 0 };
    m.bytes = msg->p ? bw_buf_slice(msg) : bw_slice_make("", 0);
    m.original_bytes = total;
    if (total > msg->n)
        m.flags |= BW_INTAKE_MSG_TRUNCATED;
    m.envelope_sender = m.envelope_date = bw_slice_make("", 0);
    f->delivered = true;
    deliver_message(in, f, &m, ev);
    return 1;
}

static bool append_child_path(bw_buf *out, bw_slice dir, const char *entry)
{
    bw_buf_clear(out);
    if (bw_buf_append_slice(out, dir) != 0)
        return false;
    if (out->n && out->p[out->n - 1] != '/' && bw_buf_append_char(out, '/') != 0)
        return false;
    return bw_buf_append_cstr(out, entry) == 0;
}

static int step_dir(bw_intake *in, frame *f)
{
    if (f->next_entry >= f->entry_count) {
        pop(in);
        return 0;
    }
    const char *entry = f->entries[f->next_entry++];
    if (!append_child_path(&in->scratch, bw_buf_slice(&f->name), entry)) {
        in->nomem = true;
        return 1;
    }
    // open_path copies the name, so the scratch buffer may be reused inside it: copy first.
    char *child = strdup(in->scratch.p);
    if (!child) {
        in->nomem = true;
        return 1;
    }
    open_path(in, child, f->path_depth + 1, f->maildir_root || f->in_maildir);
    free(child);
    return 0;
}

// Archive members skipped by rule, as on disk: dotfiles (also macOS __MACOSX/._* and
// .DS_Store) and Maildir tmp/ (deliveries in progress).
static bool skip_member(const char *path)
{
    const char *component = path;
    const char *parent = NULL;
    size_t parent_len = 0;
    for (;;) {
        const char *slash = strchr(component, '/');
        size_t len = slash ? (size_t)(slash - component) : strlen(component);
        if (len > 0 && component[0] == '.' && !(len == 1 || (len == 2 && component[1] == '.')))
            return true;
        if (!slash)
            break;
        if (len > 0 && !(len == 1 && component[0] == '.')) {
            parent = component;
            parent_len = len;
        }
        component = slash + 1;
    }
    return parent && parent_len == 3 && memcmp(parent, "tmp", 3) == 0;
}

static bool member_in_maildir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return false;
    const char *start = slash;
    while (start > path && start[-1] != '/')
        start--;
    size_t len = (size_t)(slash - start);
    return len == 3 && (memcmp(start, "cur", 3) == 0 || memcmp(start, "new", 3) == 0);
}

static int step_archive(bw_intake *in, frame *f)
{
    if (f->dead) {
        pop(in);
        return 0;
    }
    struct archive_entry *entry;
    int r = archive_read_next_header(f->archive, &entry);
    if (r == ARCHIVE_EOF) {
        pop(in);
        return 0;
    }
    // Failed headers count too, so an archive that fails every header cannot loop forever.
    if (++f->members > in->limits.max_archive_members) {
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_LIMIT,
                    "max_archive_members (%llu) reached: rest of archive skipped",
                    (unsigned long long)in->limits.max_archive_members);
        pop(in);
        return 0;
    }
    if (r < ARCHIVE_WARN) {
        if (f->input.failure == READ_FAILED_BUDGET) {
            queue_error(in, bw_buf_slice(&f->name), f->input.pos, BW_INTAKE_ERR_LIMIT, "%s",
                        f->input.failure_reason);
            abandon_archive_tree(in);
            return 0;
        }
        const char *why = archive_error_string(f->archive);
        queue_error(in, bw_buf_slice(&f->name), (uint64_t)archive_read_header_position(f->archive) > 0
                        ? (uint64_t)archive_read_header_position(f->archive) : 0,
                    BW_INTAKE_ERR_ARCHIVE, "%s (after %llu members)", why ? why : "corrupt archive",
                    (unsigned long long)f->members - 1);
        if (r == ARCHIVE_FATAL || r == ARCHIVE_RETRY)
            pop(in);
        return 0;
    }
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR)
        return 0;
    if (type != AE_IFREG) {
        in->input_stats.skipped++;
        in->totals.skipped++;
        return 0;
    }
    bool raw = archive_format(f->archive) == ARCHIVE_FORMAT_RAW;
    if (raw && archive_filter_code(f->archive, 0) == ARCHIVE_FILTER_NONE) {
        // Compression magic that no decompressor accepted: "raw" would hand back the same
        // bytes, which would be detected as compressed again, and again.
        queue_error(in, bw_buf_slice(&f->name), 0, BW_INTAKE_ERR_ARCHIVE,
                    "corrupt or unsupported compressed data (magic matched, no decoder accepted it)");
        pop(in);
        return 0;
    }
    const char *path = archive_entry_pathname(entry);
    if (!path)
        path = "?";
    bw_buf *name = &in->scratch;
    bw_buf_clear(name);
    if (raw) {
        // A compressed single file: the member is the file itself, named as such.
        if (bw_buf_append_slice(name, bw_buf_slice(&f->name)) != 0) {
            in->nomem = true;
            return 1;
        }
    } else {
        if (skip_member(path)) {
            in->input_stats.skipped++;
            in->totals.skipped++;
            return 0;
        }
        if (bw_buf_append_slice(name, bw_buf_slice(&f->name)) != 0 || bw_buf_append_char(name, ':') != 0 ||
            bw_buf_append_cstr(name, path) != 0) {
            in->nomem = true;
            return 1;
        }
    }
    frame *member = frame_new(in, bw_buf_slice(name));
    if (!member)
        return 1;
    stream_init_member(&member->input, f->archive);
    open_stream(in, member, !raw && member_in_maildir(path));
    return 0;
}

// ---- public API -------------------------------------------------------------------

bw_intake *bw_intake_new(const bw_intake_limits *limits, char *errbuf)
{
    bw_intake_limits l;
    if (limits)
        l = *limits;
    else
        bw_intake_limits_default(&l);
    if (l.max_message_bytes == 0 || l.max_archive_bytes == 0 || l.max_memory_member_bytes == 0) {
        bw_error(errbuf, BW_ERR_INVALID, "intake limits: max_message_bytes, max_archive_bytes and "
                                         "max_memory_member_bytes must be > 0");
        return NULL;
    }
    bw_intake *in = calloc(1, sizeof *in);
    if (!in) {
        bw_error(errbuf, BW_ERR_NOMEM, "intake: out of memory");
        return NULL;
    }
    in->limits = l;
    in->splitter = bw_mbox_splitter_new(&l);
    in->chunk = malloc(CHUNK_BYTES);
    if (!in->splitter || !in->chunk) {
        bw_intake_free(in);
        bw_error(errbuf, BW_ERR_NOMEM, "intake: out of memory");
        return NULL;
    }
    return in;
}

void bw_intake_free(bw_intake *in)
{
    if (!in)
        return;
    while (in->depth)
        pop(in);
    free(in->stack);
    for (size_t i = 0; i < in->input_count; i++)
        free(in->inputs[i].name);
    free(in->inputs);
    bw_mbox_splitter_free(in->splitter);
    free(in->chunk);
    bw_buf_free(&in->single);
    bw_buf_free(&in->scratch);
    for (size_t i = 0; i < ERROR_QUEUE; i++) {
        bw_buf_free(&in->queue[i].source);
        bw_buf_free(&in->queue[i].reason);
    }
    bw_buf_free(&in->delivered.source);
    bw_buf_free(&in->delivered.reason);
    free(in);
}

static bw_status queue_input(bw_intake *in, const char *name, const void *data, size_t size, bool memory)
{
    if (in->input_count == in->input_cap) {
        size_t cap = in->input_cap ? in->input_cap * 2 : 8;
        queued_input *bigger = realloc(in->inputs, cap * sizeof *bigger);
        if (!bigger)
            return BW_ERR_NOMEM;
        in->inputs = bigger;
        in->input_cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return BW_ERR_NOMEM;
    in->inputs[in->input_count++] = (queued_input){ copy, data, size, memory };
    return BW_OK;
}

bw_status bw_intake_add_path(bw_intake *in, const char *path)
{
    if (!in || !path || !*path)
        return BW_ERR_INVALID;
    bw_status st = queue_input(in, path, NULL, 0, false);
    struct stat st_buf;
    if (st == BW_OK && strcmp(path, "-") != 0 && stat(path, &st_buf) == 0 && S_ISREG(st_buf.st_mode))
        atomic_fetch_add_explicit(&in->progress_total, (uint64_t)st_buf.st_size, memory_order_relaxed);
    return st;
}

bw_status bw_intake_add_memory(bw_intake *in, const char *name, const void *data, size_t size)
{
    if (!in || !name || !*name || (!data && size))
        return BW_ERR_INVALID;
    return queue_input(in, name, data, size, true);
}

static void open_memory(bw_intake *in, const queued_input *input)
{
    frame *f = frame_new(in, bw_slice_cstr(input->name));
    if (!f)
        return;
    stream_init_fd(&f->input, -1, false, false, false);
    f->input.memory = input->data;
    f->input.memory_size = input->size;
    open_stream(in, f, false);
}

bw_status bw_intake_next(bw_intake *in, bw_intake_event *ev)
{
    memset(ev, 0, sizeof *ev);
    for (;;) {
        if (in->nomem)
            return BW_ERR_NOMEM;
        if (in->queue_count) {
            deliver_error(in, ev);
            return BW_OK;
        }
        if (in->abandoning) {
            while (in->depth > in->abandon_depth)
                pop(in);
            in->abandoning = false;
            continue;
        }
        if (in->depth == 0) {
            if (in->input_active) {
                in->input_active = false;
                ev->kind = BW_INTAKE_EV_INPUT_DONE;
                ev->input_path = in->input_path;
                ev->input_stats = in->input_stats;
                return BW_OK;
            }
            if (in->next_input < in->input_count) {
                const queued_input *input = &in->inputs[in->next_input++];
                in->input_path = input->name;
                memset(&in->input_stats, 0, sizeof in->input_stats);
                in->input_active = true;
                if (input->memory)
                    open_memory(in, input);
                else
                    open_path(in, input->name, 0, false);
                continue;
            }
            ev->kind = BW_INTAKE_EV_END;
            return BW_OK;
        }
        frame *f = in->stack[in->depth - 1];
        int produced = 0;
        switch (f->kind) {
        case FRAME_CONTENT:
            produced = f->content == BW_DETECT_MBOX ? step_mbox(in, f, ev) : step_single(in, f, ev);
            break;
        case FRAME_DIR:
            produced = step_dir(in, f);
            break;
        case FRAME_ARCHIVE:
            produced = step_archive(in, f);
            break;
        }
        if (produced)
            return in->nomem ? BW_ERR_NOMEM : BW_OK;
    }
}

void bw_intake_totals(const bw_intake *in, bw_intake_stats *out)
{
    *out = in->totals;
}

void bw_intake_progress(const bw_intake *in, uint64_t *file_bytes_read, uint64_t *file_bytes_total)
{
    *file_bytes_read = atomic_load_explicit(&in->progress_read, memory_order_relaxed);
    *file_bytes_total = atomic_load_explicit(&in->progress_total, memory_order_relaxed);
}
