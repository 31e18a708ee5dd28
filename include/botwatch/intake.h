// SPDX-License-Identifier: MIT
// Spam-trap intake: turns paths (files, directories, Maildirs, mboxes, compressed files and
// archives, nested, or "-" for stdin) into a stream of messages, one at a time, with memory
// bounded by one message plus fixed buffers whatever the input size. Formats are detected
// by content, never by file name. Bad input (an unreadable file, a corrupt archive member,
// a binary file, a limit hit) is reported as an error event with source, offset and reason,
// counted, and the run continues. The ingest pipeline pulls from one bw_intake on its reader
// thread; the push-style bw_mbox_splitter is the same mbox engine for stdin, tests and fuzzers.
// Formats, detection rules and limits: docs/intake.md.
//
// Threading: a bw_intake or bw_mbox_splitter is used by one thread at a time; separate
// handles are independent (no global state). bw_intake_progress() alone may be called from
// another thread.
#ifndef BOTWATCH_INTAKE_H
#define BOTWATCH_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "botwatch/error.h"
#include "botwatch/str.h"

// Every quantity an input controls is capped. Defaults and the reason for each: intake.c.
typedef struct bw_intake_limits {
    size_t max_message_bytes;      // bytes kept per message; the rest is dropped and the
                                   // message delivered flagged BW_INTAKE_MSG_TRUNCATED
    size_t max_envelope_bytes;     // mbox From_ line kept as metadata
    unsigned max_archive_depth;    // archives inside archives (a .tar.gz counts as 1)
    uint64_t max_archive_members;  // entries read from one archive; the rest are skipped
    uint64_t max_archive_bytes;    // decompressed bytes from one top-level archive, nested
                                   // archives included (zip-bomb guard); then it is abandoned
    unsigned max_path_depth;       // directory levels below a given path
    size_t max_memory_member_bytes;// a nested 7z/zip needs seeking: it is read into memory
                                   // up to this size, or skipped with an error
    bool mbox_split_any_line;      // mboxo without blank lines: "From " at any line start
                                   // separates (default false: only after a blank line)
} bw_intake_limits;

void bw_intake_limits_default(bw_intake_limits *limits);

typedef enum bw_intake_format {
    BW_INTAKE_MBOX = 1,    // a message of an mbox (From_ line removed, >From unquoted)
    BW_INTAKE_MAILDIR,     // a file in a Maildir cur/ or new/
    BW_INTAKE_EML,         // a file holding one RFC 5322 message
} bw_intake_format;

// Stable lowercase name ("mbox", "maildir", "eml").
const char *bw_intake_format_name(bw_intake_format format);

enum {
    BW_INTAKE_MSG_TRUNCATED = 1u << 0,        // max_message_bytes cut it (or input ended
                                              // early: a read error mid-message)
    BW_INTAKE_MSG_NO_ENVELOPE = 1u << 1,      // mbox data before the first From_ line
    BW_INTAKE_MSG_ENVELOPE_TRUNCATED = 1u << 2, // From_ line longer than max_envelope_bytes
    BW_INTAKE_MSG_IN_ARCHIVE = 1u << 3,       // came out of a compressed file or archive
};

typedef struct bw_intake_message {
    bw_slice source;          // "dir/file.mbox", "trap.tar.gz:Maildir/cur/123", "<stdin>";
                              // nested archives chain with ':' (a.zip:b.tar.gz:member)
    uint64_t offset;          // byte offset of the message in its (decompressed) source:
                              // for mbox the offset of its From_ line, else 0
    bw_slice bytes;           // the message (mbox: From_ line removed, >From unquoted,
                              // the blank separator line removed)
    uint64_t original_bytes;  // its size before truncation (== bytes.n unless truncated)
    bw_intake_format format;
    unsigned flags;           // BW_INTAKE_MSG_*
    bw_slice envelope_sender; // mbox From_ line: the sender token, else empty
    bw_slice envelope_date;   // mbox From_ line: the rest of the line (asctime date), else empty
    time_t envelope_time;     // envelope_date parsed as UTC, if has_envelope_time
    bool has_envelope_time;
} bw_intake_message;

typedef enum bw_intake_error_kind {
    BW_INTAKE_ERR_IO = 1,        // cannot open/read/stat (errno reason)
    BW_INTAKE_ERR_UNRECOGNIZED,  // content is neither mail, mbox nor a known archive
    BW_INTAKE_ERR_EMPTY,         // an empty file or member
    BW_INTAKE_ERR_ARCHIVE,       // libarchive failed (corrupt data, unsupported variant)
    BW_INTAKE_ERR_LIMIT,         // a bw_intake_limits cap was hit (reason names which)
    BW_INTAKE_ERR_LOOP,          // a directory reached twice (symlink loop or duplicate)
} bw_intake_error_kind;

const char *bw_intake_error_kind_name(bw_intake_error_kind kind);

typedef struct bw_intake_error {
    bw_slice source;          // as in bw_intake_message
    uint64_t offset;          // byte offset in the source where it happened (0 if n/a)
    bw_intake_error_kind kind;
    const char *reason;       // one line, NUL-terminated, untrusted names escaped
} bw_intake_error;

// Counters for one path given to bw_intake_add_path() (an "input"), or all of them.
typedef struct bw_intake_stats {
    uint64_t messages;        // messages delivered
    uint64_t message_bytes;   // their bytes (after truncation)
    uint64_t input_bytes;     // decompressed bytes read from files and members
    uint64_t file_bytes;      // bytes of files on disk read, each counted once (compressed
                              // size for archives, however often zip/7z seek back)
    uint64_t files;           // files and archive members opened as mail
    uint64_t errors;          // error events
    uint64_t truncated;       // messages flagged BW_INTAKE_MSG_TRUNCATED
    uint64_t skipped;         // entries skipped by rule (dotfiles, Maildir tmp/, non-files)
} bw_intake_stats;

typedef enum bw_intake_event_kind {
    BW_INTAKE_EV_END = 0,     // no more input; keep calling: END again
    BW_INTAKE_EV_MESSAGE,     // ev->message is valid
    BW_INTAKE_EV_ERROR,       // ev->error is valid (bad input; the run continues)
    BW_INTAKE_EV_INPUT_DONE,  // an added path is finished; ev->input_path, ev->input_stats
} bw_intake_event_kind;

typedef struct bw_intake_event {
    bw_intake_event_kind kind;
    bw_intake_message message;
    bw_intake_error error;
    const char *input_path;   // the path as given to bw_intake_add_path
    bw_intake_stats input_stats;
} bw_intake_event;

typedef struct bw_intake bw_intake;

// limits may be NULL for the defaults; they are copied. NULL on allocation failure or
// invalid limits (reason in errbuf, which may be NULL).
bw_intake *bw_intake_new(const bw_intake_limits *limits, char *errbuf);
void bw_intake_free(bw_intake *in);

// Queues a path (file, directory, or "-" for stdin) to be read, in the order added. Only
// copies the string: a missing or unreadable path becomes an error event when reached.
// BW_ERR_NOMEM or BW_ERR_INVALID (NULL/empty path).
bw_status bw_intake_add_path(bw_intake *in, const char *path);

// Queues bytes held by the caller (an archive, mbox or message) as an input named `name`,
// read exactly like a file; data must stay valid until its INPUT_DONE event or
// bw_intake_free(). For the fuzzers, tests and callers that already hold the bytes.
bw_status bw_intake_add_memory(bw_intake *in, const char *name, const void *data, size_t size);

// Reads on to the next event and fills *ev. All slices and strings in *ev stay valid until
// the next bw_intake_next() or bw_intake_free(). Returns BW_OK (including at END; bad input
// is an ERROR event, never a failed call) or BW_ERR_NOMEM, after which the handle may only
// be freed.
bw_status bw_intake_next(bw_intake *in, bw_intake_event *ev);

// Totals over every input so far.
void bw_intake_totals(const bw_intake *in, bw_intake_stats *out);

// For a progress line: bytes read from disk so far and, if known (0 = unknown), the total
// size of the regular files added (directories are not walked ahead). Safe to call from
// another thread while the reader thread runs bw_intake_next().
void bw_intake_progress(const bw_intake *in, uint64_t *file_bytes_read, uint64_t *file_bytes_total);

// ---- Push-style mbox splitter: the engine under bw_intake, for stdin, tests and fuzzers.
// Separator rule: a line beginning "From " at the start of input or after an empty line
// (LF or CRLF), or at any line start with limits->mbox_split_any_line. Lines matching
// ^>+From  lose one '>' (mboxrd; harmless for mboxo, which never writes them unquoted).
typedef struct bw_mbox_splitter bw_mbox_splitter;

// limits may be NULL (defaults); copied. NULL on allocation failure.
bw_mbox_splitter *bw_mbox_splitter_new(const bw_intake_limits *limits);
void bw_mbox_splitter_free(bw_mbox_splitter *sp);
// Forgets all state (a new, empty input starting at offset 0).
void bw_mbox_splitter_reset(bw_mbox_splitter *sp);

// Consumes data[0..n) up to the point where a message completes. *consumed is how many
// bytes were used (feed the rest again); *ready says a message is available from
// bw_mbox_splitter_message(), valid until the next feed/finish/reset/free. Its bytes may
// point into `data` (no copy when a message lies whole in one chunk), so keep data[0..n)
// unchanged until that next call. BW_OK, or
// BW_ERR_NOMEM (the splitter may then only be reset or freed).
bw_status bw_mbox_splitter_feed(bw_mbox_splitter *sp, const void *data, size_t n,
                                size_t *consumed, bool *ready);
// End of input: *ready says the last message is available. Call until *ready is false.
bw_status bw_mbox_splitter_finish(bw_mbox_splitter *sp, bool *ready);
// The ready message (source empty, format BW_INTAKE_MBOX); NULL if none is ready.
const bw_intake_message *bw_mbox_splitter_message(const bw_mbox_splitter *sp);
// Total bytes fed so far (the offset the next byte would have).
uint64_t bw_mbox_splitter_offset(const bw_mbox_splitter *sp);

#endif
