// SPDX-License-Identifier: MIT
// The RFC 5322 / MIME push parser. It is fed a message's bytes in chunks of any size
// (from an archive reader, the SMTP trap's DATA phase, a test or a fuzzer), never reads
// files or sockets, and yields a bw_message: headers in order (unfolded, duplicates kept),
// the MIME part tree with decoded leaf bodies, and anomaly flags. Malformed input is data:
// parsing always produces a message, with flags saying what was wrong (CONVENTIONS 7).
// Hand-written for speed and adversarial robustness (rspamd and Postfix do the same);
// GMime and Python's email package are its test oracles.
//
// Lifetime: everything reachable from a bw_message (slices, parts, headers) is owned by
// the parser and stays valid until the next bw_mime_parser_reset() or _free().
// A parser is not thread-safe; use one per thread.
#ifndef BOTWATCH_MIME_H
#define BOTWATCH_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "botwatch/error.h"
#include "botwatch/str.h"

// Every attacker-controlled quantity has a limit here; a limit hit sets an anomaly flag
// (and truncates what exceeded it), it never fails the parse. Defaults and why: mime.c.
typedef struct bw_mime_limits {
    size_t max_message_bytes;   // bytes kept; the rest are counted, flagged TRUNCATED
    size_t max_header_bytes;    // one header field, unfolded
    size_t max_header_count;    // fields per header block (message or part)
    size_t max_line_bytes;      // a physical line, before it is cut
    size_t max_depth;           // multipart / message/rfc822 nesting
    size_t max_parts;           // parts in the whole tree
    size_t max_boundary_bytes;  // RFC 2046 allows 70
    size_t max_decoded_bytes;   // all decoded part bodies together
} bw_mime_limits;

// Fills limits with the defaults.
void bw_mime_limits_default(bw_mime_limits *limits);

// Anomaly flags: malformed spam is data. Names via bw_mime_anomaly_name().
typedef enum bw_anomaly {
    BW_ANOM_TRUNCATED            = 1ull << 0,  // a size limit cut the message
    BW_ANOM_BARE_CR              = 1ull << 1,  // CR not followed by LF
    BW_ANOM_BARE_LF              = 1ull << 2,  // LF line endings (normal in mbox; noted)
    BW_ANOM_8BIT_HEADER          = 1ull << 3,  // raw non-ASCII bytes in a header
    BW_ANOM_NUL_BYTE             = 1ull << 4,
    BW_ANOM_LONG_LINE            = 1ull << 5,  // a line over 998 bytes (RFC 5322 2.1.1)
    BW_ANOM_HEADER_LIMIT         = 1ull << 6,  // header size/count limit hit
    BW_ANOM_BAD_HEADER_LINE      = 1ull << 7,  // a header line with no colon / bad name
    BW_ANOM_MISSING_DATE         = 1ull << 8,
    BW_ANOM_MISSING_MESSAGE_ID   = 1ull << 9,
    BW_ANOM_MISSING_FROM         = 1ull << 10,
    BW_ANOM_DUPLICATE_SINGLETON  = 1ull << 11, // two Subject/From/Date/Message-ID/To/... fields
    BW_ANOM_BAD_DATE             = 1ull << 12, // Date present but unparseable
    BW_ANOM_NO_BOUNDARY          = 1ull << 13, // multipart without boundary parameter
    BW_ANOM_BAD_BOUNDARY         = 1ull << 14, // boundary never seen, or too long
    BW_ANOM_MISSING_CLOSE_BOUNDARY = 1ull << 15, // multipart not closed before end
    BW_ANOM_DEPTH_LIMIT          = 1ull << 16,
    BW_ANOM_PART_LIMIT           = 1ull << 17,
    BW_ANOM_BAD_BASE64           = 1ull << 18, // invalid characters in base64
    BW_ANOM_TRUNCATED_BASE64     = 1ull << 19, // base64 length not a multiple of 4
    BW_ANOM_BAD_QP               = 1ull << 20, // invalid quoted-printable escape
    BW_ANOM_BAD_UUENCODE         = 1ull << 21,
    BW_ANOM_UNKNOWN_ENCODING     = 1ull << 22, // Content-Transfer-Encoding not known
    BW_ANOM_BAD_CHARSET          = 1ull << 23, // unknown charset: fallback used
    BW_ANOM_CHARSET_ERRORS       = 1ull << 24, // bytes invalid in the declared charset
    BW_ANOM_BAD_ENCODED_WORD     = 1ull << 25, // malformed RFC 2047 word
    BW_ANOM_RAW_8BIT_BODY        = 1ull << 26, // 8-bit body declared 7bit
    BW_ANOM_DECODED_LIMIT        = 1ull << 27,
    BW_ANOM_BAD_CONTENT_TYPE     = 1ull << 28, // unparseable Content-Type
    BW_ANOM_NO_HEADER_BODY_SEP   = 1ull << 29, // no blank line after the headers
    BW_ANOM_EMPTY_MESSAGE        = 1ull << 30,
    BW_ANOM_BAD_RFC2231          = 1ull << 31,
    BW_ANOM_MIME_WITHOUT_VERSION = 1ull << 32, // Content-Type multipart but no MIME-Version
    BW_ANOM_UUENCODE_IN_TEXT     = 1ull << 33, // "begin NNN name" block inside a text/plain body
} bw_anomaly;

#define BW_ANOM_COUNT 34
// Stable snake_case name of one flag ("bad_boundary"), or NULL for an unknown bit.
const char *bw_mime_anomaly_name(uint64_t flag);

typedef struct bw_header {
    bw_slice name;       // as written (case kept)
    bw_slice value;      // unfolded (CRLF+WSP -> WSP), raw bytes, leading space trimmed
    size_t offset;       // byte offset of the field in the message
} bw_header;

typedef struct bw_part {
    int parent;                 // index in bw_message.parts, -1 for the root
    int depth;                  // 0 for the root
    bw_slice content_type;      // "type/subtype", lowercased; "text/plain" by default
    bw_slice charset;           // lowercased; empty if none
    bw_slice boundary;          // multipart only
    bw_slice transfer_encoding; // lowercased; "7bit" by default
    bw_slice disposition;       // "inline"/"attachment"/empty
    bw_slice filename;          // decoded (RFC 2231 / 2047), UTF-8; empty if none
    bw_slice name;              // Content-Type name= parameter, decoded, UTF-8
    size_t header_offset;       // where the part's headers start in the message
    size_t body_offset, body_length;  // raw body (undecoded) within the message
    bw_header *headers;         // the part's own header fields; for the root, the same
    size_t header_count;        //   array as bw_message.headers (do not count both)
    bool is_multipart;
    bool is_message;            // message/rfc822: its child is the embedded message
    bw_slice decoded;           // leaves: transfer-decoded bytes (not charset-converted)
    bw_slice text;              // text/* leaves: decoded and converted to UTF-8
    uint64_t anomalies;         // flags found in this part
} bw_part;

typedef struct bw_message {
    bw_slice raw;               // the bytes the parser kept (up to max_message_bytes)
    size_t total_bytes;         // bytes fed, including any cut by the limit
    bw_header *headers;         // top-level header fields, in order
    size_t header_count;
    bw_part *parts;             // parts[0] is the root; a pre-order walk of the tree
    size_t part_count;
    bw_slice subject;           // RFC 2047-decoded, UTF-8, unfolded; empty if none
    bw_slice from;              // decoded From: field value, UTF-8
    bw_slice message_id;        // Message-ID value without the angle brackets
    time_t date;                // Date: as UTC seconds, valid if has_date
    bool has_date;
    uint64_t anomalies;         // union of every flag found
} bw_message;

typedef struct bw_mime_parser bw_mime_parser;

// limits may be NULL for the defaults. Returns NULL on allocation failure.
bw_mime_parser *bw_mime_parser_new(const bw_mime_limits *limits);
void bw_mime_parser_free(bw_mime_parser *parser);

// Feeds the next chunk of the message. Chunks may split lines, CRLFs, or encoded words
// anywhere. Returns BW_OK, or BW_ERR_NOMEM (the parser is then unusable until reset), or
// BW_ERR_INVALID when fed after finish without a reset.
bw_status bw_mime_parser_feed(bw_mime_parser *parser, const void *data, size_t n);

// Ends the message and returns its parsed view in *out (owned by the parser). Calling it
// again before a reset returns the same view.
bw_status bw_mime_parser_finish(bw_mime_parser *parser, const bw_message **out);

// Forgets the current message so the parser can take the next; keeps its memory.
void bw_mime_parser_reset(bw_mime_parser *parser);

// Reset + feed + finish of one whole buffer, without copying it: the returned message
// points into `data`, which must stay unchanged until the parser is reset, reused or freed.
bw_status bw_mime_parse(bw_mime_parser *parser, const void *data, size_t n, const bw_message **out);

// The i-th (0-based) top-level field named `name` (case-insensitive), or NULL.
const bw_header *bw_message_header(const bw_message *msg, const char *name, size_t index);

// Decodes RFC 2047 encoded words in a header value and converts to UTF-8; *anomalies gets
// BW_ANOM_BAD_ENCODED_WORD / BAD_CHARSET as found. Result appended to out.
bw_status bw_mime_decode_header(bw_slice value, bw_buf *out, uint64_t *anomalies);

// RFC 5322 date-time (with the obsolete forms spam uses) to UTC seconds; false if invalid.
bool bw_mime_parse_date(bw_slice value, time_t *out);

#endif
