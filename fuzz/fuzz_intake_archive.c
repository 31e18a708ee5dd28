// SPDX-License-Identifier: MIT
// libFuzzer target for the intake reader on arbitrary bytes given as one in-memory input
// (bw_intake_add_memory: libarchive reads it with archive_read_open_memory): content
// detection, every compression and archive format libarchive knows, nesting, the mbox and
// single-message paths and the limits. Small limits keep each run fast and make the
// caps reachable; every event is checked for consistency, and everything must be freed.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_message_bytes = 1 << 16;
    limits.max_archive_depth = 3;
    limits.max_archive_members = 64;
    limits.max_archive_bytes = 4u << 20;   // zip bombs end quickly
    limits.max_memory_member_bytes = 1 << 20;
    bw_intake *in = bw_intake_new(&limits, NULL);
    if (!in)
        return 0;
    if (bw_intake_add_memory(in, "fuzz", data, size) != BW_OK)
        abort();
    bw_intake_event ev;
    uint64_t messages = 0, errors = 0, bytes = 0;
    for (;;) {
        if (bw_intake_next(in, &ev) != BW_OK)
            abort();
        if (ev.kind == BW_INTAKE_EV_END)
            break;
        if (ev.kind == BW_INTAKE_EV_MESSAGE) {
            const bw_intake_message *m = &ev.message;
            if (m->bytes.n > limits.max_message_bytes || m->original_bytes < m->bytes.n ||
                m->source.n < 4 || memcmp(m->source.p, "fuzz", 4) != 0)
                abort();
            // Touch every byte so ASan sees any slice that outlived its buffer.
            volatile unsigned char sink = 0;
            for (size_t i = 0; i < m->bytes.n; i++)
                sink ^= (unsigned char)m->bytes.p[i];
            (void)sink;
            messages++;
            bytes += m->bytes.n;
        } else if (ev.kind == BW_INTAKE_EV_ERROR) {
            if (!ev.error.reason || !ev.error.reason[0])
                abort();
            errors++;
        } else if (ev.kind == BW_INTAKE_EV_INPUT_DONE) {
            if (ev.input_stats.messages != messages || ev.input_stats.errors != errors ||
                ev.input_stats.message_bytes != bytes)
                abort();
        }
    }
    bw_intake_free(in);
    return 0;
}
