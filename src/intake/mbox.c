// SPDX-License-Identifier: MIT
// The push-style mbox splitter: fed an mbox in chunks of any size (a file, a decompressed
// archive member, stdin, a fuzzer), it yields one message at a time with the From_ line
// removed (kept as envelope metadata), one '>' removed from ^>+From  lines (mboxrd), and the
// blank line that precedes each separator dropped. It holds only the current message.
//
// Speed matters (the splitter must never be ingest's bottleneck): it jumps from line start
// to line start with a vector scan for an LF followed by 'F', '>' or CR (the only line
// starts that can matter), not one memchr per line, and a message that lies whole in one fed chunk is
// handed out in place; others are copied once, as whole spans, into the message buffer.
// Only lines starting with 'F', '>' or CR take the byte-wise slow path, which also
// carries an undecided line start across chunk boundaries as a tiny state ('>' count,
// "From " prefix length, a CR) rather than as buffered bytes.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/intake.h"
#include "intake_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef enum splitter_state {
    AT_LINE_START,   // the next byte begins a line
    IN_LINE,         // inside a line already classified as ordinary message text
    IN_ENVELOPE,     // inside a From_ separator line (goes to the envelope buffer)
} splitter_state;

// How an undecided line start resolved.
typedef enum line_start_kind {
    LINE_UNDECIDED,  // ran out of input: the carry state holds the prefix
    LINE_ORDINARY,   // text; the prefix bytes are message content as they are
    LINE_BLANK_CRLF, // "\r\n"
    LINE_QUOTED,     // ^>+From : drop one '>'
    LINE_FROM,       // ^From : a separator if the previous line was blank
} line_start_kind;

static const char from_word[] = "From ";

struct bw_mbox_splitter {
    bw_intake_limits limits;
    bw_buf message;          // current message bytes (unquoted)
    bw_buf envelope;         // current From_ line without "From " and without LF
    uint64_t fed;            // bytes consumed so far
    splitter_state state;
    bool at_input_start;     // no line completed yet: a From line here separates
    size_t prev_blank_len;   // length of the previous line if it was blank (1 or 2)
    // Carry of an undecided line start (only when line_start_pending).
    bool line_start_pending;
    uint64_t carry_gt;       // '>' bytes seen (counted, not stored: runs can be long)
    unsigned carry_from;     // bytes of "From " matched after them
    bool carry_cr;           // a lone CR at line start (maybe a CRLF blank line)
    uint64_t carry_offset;   // where that line started
    // Current message.
    uint64_t msg_offset;
    uint64_t msg_total;      // bytes before truncation
    unsigned msg_flags;
    bool msg_has_envelope;
    // The message handed out, and what to do when the caller comes back.
    bool ready;
    bool finished;
    uint64_t next_offset;    // offset of the From_ line that completed the ready message
    bw_intake_message out;
};

bw_mbox_splitter *bw_mbox_splitter_new(const bw_intake_limits *limits)
{
    bw_mbox_splitter *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    if (limits)
        sp->limits = *limits;
    else
        bw_intake_limits_default(&sp->limits);
    bw_mbox_splitter_reset(sp);
    return sp;
}

void bw_mbox_splitter_free(bw_mbox_splitter *sp)
{
    if (!sp)
        return;
    bw_buf_free(&sp->message);
    bw_buf_free(&sp->envelope);
    free(sp);
}

static void start_message(bw_mbox_splitter *sp, uint64_t offset, bool has_envelope)
{
    bw_buf_clear(&sp->message);
    bw_buf_clear(&sp->envelope);
    sp->msg_offset = offset;
    sp->msg_total = 0;
    sp->msg_flags = 0;
    sp->msg_has_envelope = has_envelope;
}

void bw_mbox_splitter_reset(bw_mbox_splitter *sp)
{
    sp->fed = 0;
    sp->state = AT_LINE_START;
    sp->at_input_start = true;
    sp->prev_blank_len = 0;
    sp->line_start_pending = false;
    sp->ready = false;
    sp->finished = false;
    memset(&sp->out, 0, sizeof sp->out);
    start_message(sp, 0, false);
}

const bw_intake_message *bw_mbox_splitter_message(const bw_mbox_splitter *sp)
{
    return sp->ready ? &sp->out : NULL;
}

uint64_t bw_mbox_splitter_offset(const bw_mbox_splitter *sp)
{
    return sp->fed;
}

// Appends message bytes, keeping at most max_message_bytes; the rest is only counted.
static bw_status message_append(bw_mbox_splitter *sp, const char *p, size_t n)
{
    sp->msg_total += n;
    size_t room = sp->limits.max_message_bytes > sp->message.n
                      ? sp->limits.max_message_bytes - sp->message.n : 0;
    if (n > room) {
        n = room;
        sp->msg_flags |= BW_INTAKE_MSG_TRUNCATED;
    }
    if (n && bw_buf_append(&sp->message, p, n) != 0)
        return BW_ERR_NOMEM;
    return BW_OK;
}

static bw_status message_append_repeat(bw_mbox_splitter *sp, char c, uint64_t count)
{
    char run[64];
    memset(run, c, sizeof run);
    while (count > 0) {
        size_t n = count < sizeof run ? (size_t)count : sizeof run;
        if (message_append(sp, run, n) != BW_OK)
            return BW_ERR_NOMEM;
        count -= n;
    }
    return BW_OK;
}

static bw_status envelope_append(bw_mbox_splitter *sp, const char *p, size_t n)
{
    size_t room = sp->limits.max_envelope_bytes > sp->envelope.n
                      ? sp->limits.max_envelope_bytes - sp->envelope.n : 0;
    if (n > room) {
        n = room;
        sp->msg_flags |= BW_INTAKE_MSG_ENVELOPE_TRUNCATED;
    }
    if (n && bw_buf_append(&sp->envelope, p, n) != 0)
        return BW_ERR_NOMEM;
    return BW_OK;
}

static bool all_space(bw_slice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!isspace((unsigned char)s.p[i]))
            return false;
    return true;
}

// Ends the current message. Returns true if there is one to hand out: data before the
// first From_ line that is only blank lines is not a message. `direct`, when set, is the
// whole message as it lies in the caller's chunk (nothing was copied for it yet): it is
// handed out in place, which saves the copy for every message that fits in one chunk.
static bool complete_message(bw_mbox_splitter *sp, bool at_line_start, bw_slice direct)
{
    bw_slice bytes;
    if (direct.p) {
        sp->msg_total = direct.n;
        bytes = direct;
        if (bytes.n > sp->limits.max_message_bytes) {
            bytes.n = sp->limits.max_message_bytes;
            sp->msg_flags |= BW_INTAKE_MSG_TRUNCATED;
        }
    } else {
        bytes = bw_buf_slice(&sp->message);
    }
    // The blank line before a separator (or at the end of the file) belongs to the mbox
    // framing, not to the message: every writer adds one. A truncated message keeps its
    // first bytes, which may reach into that line too.
    if (at_line_start && sp->prev_blank_len > 0 && sp->msg_total >= sp->prev_blank_len) {
        sp->msg_total -= sp->prev_blank_len;
        if (bytes.n > sp->msg_total)
            bytes.n = (size_t)sp->msg_total;
        if (bytes.n == sp->msg_total)
            sp->msg_flags &= ~(unsigned)BW_INTAKE_MSG_TRUNCATED;  // only framing was cut
    }
    if (!bytes.p)
        bytes.p = "";
    if (!sp->msg_has_envelope) {
        if (all_space(bytes) && !(sp->msg_flags & BW_INTAKE_MSG_TRUNCATED))
            return false;
        sp->msg_flags |= BW_INTAKE_MSG_NO_ENVELOPE;
    }
    bw_intake_message *m = &sp->out;
    memset(m, 0, sizeof *m);
    m->offset = sp->msg_offset;
    m->bytes = bytes;
    m->original_bytes = sp->msg_total;
    m->format = BW_INTAKE_MBOX;
    m->flags = sp->msg_flags;
    if (sp->msg_has_envelope)
        bw_intake_parse_envelope(bw_buf_slice(&sp->envelope), m);
    return true;
}

// Classifies the bytes at a line start, continuing the carried state. *used is how many
// bytes of p[0..n) belong to the prefix now described by the carry fields.
static line_start_kind classify_line_start(bw_mbox_splitter *sp, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    line_start_kind kind = LINE_UNDECIDED;
    while (i < n) {
        char c = p[i];
        if (sp->carry_cr) {
            if (c == '\n') {
                i++;
                kind = LINE_BLANK_CRLF;
            } else {
                kind = LINE_ORDINARY;
            }
            break;
        }
        if (sp->carry_from == 0 && c == '>') {
            sp->carry_gt++;
            i++;
            continue;
        }
        if (sp->carry_from == 0 && sp->carry_gt == 0 && c == '\r') {
            sp->carry_cr = true;
            i++;
            continue;
        }
        if (c == from_word[sp->carry_from]) {
            sp->carry_from++;
            i++;
            if (sp->carry_from == sizeof from_word - 1) {
                kind = sp->carry_gt ? LINE_QUOTED : LINE_FROM;
                break;
            }
            continue;
        }
        kind = LINE_ORDINARY;
        break;
    }
    *used = i;
    return kind;
}

static void clear_carry(bw_mbox_splitter *sp)
{
    sp->line_start_pending = false;
    sp->carry_gt = 0;
    sp->carry_from = 0;
    sp->carry_cr = false;
}

// The carried prefix as ordinary text (or, quoted, less one '>').
static bw_status append_carried_prefix(bw_mbox_splitter *sp, bool drop_one_gt)
{
    uint64_t gt = sp->carry_gt - (drop_one_gt ? 1 : 0);
    if (message_append_repeat(sp, '>', gt) != BW_OK ||
        message_append(sp, from_word, sp->carry_from) != BW_OK ||
        (sp->carry_cr && message_append(sp, "\r", 1) != BW_OK))
        return BW_ERR_NOMEM;
    return BW_OK;
}

static bool separates(const bw_mbox_splitter *sp)
{
    return sp->at_input_start || sp->prev_blank_len > 0 || sp->limits.mbox_split_any_line;
}

// A From_ separator at `offset`: ends the current message and starts the next.
// Returns true if a message is now ready for the caller.
static bool on_separator(bw_mbox_splitter *sp, uint64_t offset, bw_slice direct)
{
    bool have = complete_message(sp, true, direct);
    sp->state = IN_ENVELOPE;
    sp->at_input_start = false;
    sp->prev_blank_len = 0;
    if (have) {
        sp->ready = true;
        sp->next_offset = offset;
    } else {
        start_message(sp, offset, true);
    }
    return have;
}

// The caller is done with the ready message: begin the one whose From_ line ended it.
static void take_ready(bw_mbox_splitter *sp)
{
    if (!sp->ready)
        return;
    sp->ready = false;
    if (!sp->finished)
        start_message(sp, sp->next_offset, true);
}

// The first LF in [p, end - 1) whose next byte is 'F', '>' or CR: the end of the last line
// the hot loop may skip without looking at it. NULL if there is none. Lines are ~50 bytes,
// so a memchr per line spent more on calls than on scanning (1.2 instructions a byte on
// bench/ingest's mbox); 16 bytes at a time, most blocks hold no LF and cost five
// instructions.
static const char *next_marked_line(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n'), from = _mm_set1_epi8('F'), gt = _mm_set1_epi8('>'),
                  cr = _mm_set1_epi8('\r');
    while (end - p >= 17) {
        unsigned lfs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), lf));
        if (lfs) {
            __m128i next = _mm_loadu_si128((const __m128i *)(p + 1));
            __m128i marked = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(next, from), _mm_cmpeq_epi8(next, gt)),
                                          _mm_cmpeq_epi8(next, cr));
            lfs &= (unsigned)_mm_movemask_epi8(marked);
            if (lfs)
                return p + __builtin_ctz(lfs);
        }
        p += 16;
    }
#endif
    for (; end - p >= 2; p++)
        if (*p == '\n' && (p[1] == 'F' || p[1] == '>' || p[1] == '\r'))
            return p;
    return NULL;
}

bw_status bw_mbox_splitter_feed(bw_mbox_splitter *sp, const void *data, size_t n,
                                size_t *consumed, bool *ready)
{
    take_ready(sp);
    *ready = false;
    *consumed = 0;
    if (sp->finished)
        return BW_ERR_INVALID;
    const char *const begin = data;
    const char *const end = begin + n;
    const char *p = begin;
    const char *span = begin;    // start of bytes still to copy verbatim into the message
    bw_status st = BW_OK;

    // A line start left undecided by the previous chunk.
    if (sp->line_start_pending && p < end) {
        size_t used;
        line_start_kind kind = classify_line_start(sp, p, (size_t)(end - p), &used);
        p += used;
        span = p;
        switch (kind) {
        case LINE_UNDECIDED:
            break;
        case LINE_ORDINARY:
            st = append_carried_prefix(sp, false);
            clear_carry(sp);
            sp->prev_blank_len = 0;
            sp->at_input_start = false;
            sp->state = IN_LINE;
            break;
        case LINE_BLANK_CRLF:
            st = message_append(sp, "\r\n", 2);
            clear_carry(sp);
            sp->prev_blank_len = 2;
            break;
        case LINE_QUOTED:
            st = append_carried_prefix(sp, true);
            clear_carry(sp);
            sp->prev_blank_len = 0;
            sp->at_input_start = false;
            sp->state = IN_LINE;
            break;
        case LINE_FROM:
            if (separates(sp)) {
                uint64_t offset = sp->carry_offset;
                clear_carry(sp);
                if (on_separator(sp, offset, BW_SLICE_NULL)) {
                    sp->fed += (uint64_t)(p - begin);
                    *consumed = (size_t)(p - begin);
                    *ready = true;
                    return BW_OK;
                }
                span = p;
            } else {
                st = append_carried_prefix(sp, false);
                clear_carry(sp);
                sp->prev_blank_len = 0;
                sp->state = IN_LINE;
            }
            break;
        }
        if (st != BW_OK)
            return st;
    }

    while (p < end && !sp->line_start_pending) {
        if (sp->state == IN_LINE) {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            if (!lf) {
                p = end;
                break;
            }
            p = lf + 1;
            sp->state = AT_LINE_START;
            continue;
        }
        if (sp->state == IN_ENVELOPE) {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            const char *stop = lf ? lf : end;
            if (envelope_append(sp, p, (size_t)(stop - p)) != BW_OK)
                return BW_ERR_NOMEM;
            p = lf ? lf + 1 : end;
            span = p;
            if (lf)
                sp->state = AT_LINE_START;
            continue;
        }
        // AT_LINE_START. The hot loop: a line whose first byte is not 'F', '>' or CR is
        // ordinary text (or an LF blank line) and is skipped, with the line state in locals
        // so nothing is stored per line: all such lines up to the next marked one at once,
        // except at the start of the input, which is tracked line by line.
        size_t blank = sp->prev_blank_len;
        bool input_start = sp->at_input_start;
        while (p < end) {
            char c = *p;
            if (c == 'F' || c == '>' || c == '\r')
                break;
            if (!input_start) {
                // Skip every line up to the next marked line start at once; only whether
                // the last skipped line was blank (LF alone) is needed from them.
                const char *lf = next_marked_line(p, end);
                if (!lf) {
                    // No marked line start in this chunk: the last LF says where we stop.
                    lf = memrchr(p, '\n', (size_t)(end - p));
                    if (!lf || lf + 1 < end) {
                        blank = 0;
                        sp->state = IN_LINE;   // inside an ordinary line
                        p = end;
                        break;
                    }
                }
                blank = lf == p || lf[-1] == '\n';
                p = lf + 1;
                continue;
            }
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            if (!lf) {
                blank = 0;
                input_start = false;
                sp->state = IN_LINE;
                p = end;
                break;
            }
            if (lf == p) {
                blank = 1;
            } else {
                blank = 0;
                input_start = false;
            }
            p = lf + 1;
        }
        sp->prev_blank_len = blank;
        sp->at_input_start = input_start;
        if (p == end)
            break;
        size_t used;
        const char *line = p;
        line_start_kind kind = classify_line_start(sp, p, (size_t)(end - p), &used);
        p += used;
        switch (kind) {
        case LINE_UNDECIDED:
            // Keep the prefix as state; its bytes are re-created when it resolves.
            if (message_append(sp, span, (size_t)(line - span)) != BW_OK)
                return BW_ERR_NOMEM;
            span = end;
            sp->line_start_pending = true;
            sp->carry_offset = sp->fed + (uint64_t)(line - begin);
            break;
        case LINE_ORDINARY:
            clear_carry(sp);
            sp->prev_blank_len = 0;
            sp->at_input_start = false;
            sp->state = IN_LINE;
            break;
        case LINE_BLANK_CRLF:
            clear_carry(sp);
            sp->prev_blank_len = 2;
            break;
        case LINE_QUOTED:
            clear_carry(sp);
            if (message_append(sp, span, (size_t)(line - span)) != BW_OK)
                return BW_ERR_NOMEM;
            span = line + 1;
            sp->prev_blank_len = 0;
            sp->at_input_start = false;
            sp->state = IN_LINE;
            break;
        case LINE_FROM:
            clear_carry(sp);
            if (!separates(sp)) {
                sp->prev_blank_len = 0;
                sp->state = IN_LINE;
                break;
            }
            // Nothing copied yet: the message is exactly [span, line) of this chunk.
            bw_slice direct = BW_SLICE_NULL;
            if (sp->msg_total == 0)
                direct = bw_slice_make(span, (size_t)(line - span));
            else if (message_append(sp, span, (size_t)(line - span)) != BW_OK)
                return BW_ERR_NOMEM;
            span = p;
            if (on_separator(sp, sp->fed + (uint64_t)(line - begin), direct)) {
                sp->fed += (uint64_t)(p - begin);
                *consumed = (size_t)(p - begin);
                *ready = true;
                return BW_OK;
            }
            break;
        }
    }
    if (sp->state != IN_ENVELOPE && span < end && !sp->line_start_pending)
        st = message_append(sp, span, (size_t)(end - span));
    sp->fed += n;
    *consumed = n;
    return st;
}

bw_status bw_mbox_splitter_finish(bw_mbox_splitter *sp, bool *ready)
{
    take_ready(sp);
    *ready = false;
    if (sp->finished)
        return BW_OK;
    bool at_line_start = sp->state == AT_LINE_START;
    if (sp->line_start_pending) {
        // Input ended inside a line start: whatever it held is plain text.
        if (append_carried_prefix(sp, false) != BW_OK)
            return BW_ERR_NOMEM;
        at_line_start = false;
        clear_carry(sp);
    }
    sp->finished = true;
    if (complete_message(sp, at_line_start, BW_SLICE_NULL))
        *ready = sp->ready = true;
    return BW_OK;
}
