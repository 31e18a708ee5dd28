// SPDX-License-Identifier: MIT
// Helpers shared by the MIME tests: reading files, splitting an mbox into messages the
// way intake does (mboxrd quoting undone), and a canonical text dump of a parsed message
// so two parses can be compared byte for byte.
#ifndef BOTWATCH_TEST_MIME_UTIL_H
#define BOTWATCH_TEST_MIME_UTIL_H

#include <stddef.h>

#include "botwatch/mime.h"
#include "botwatch/str.h"

// Whole file into a malloc'd buffer (NUL-terminated); NULL if unreadable.
char *mt_read_file(const char *path, size_t *len);

typedef struct mt_mbox {
    char **messages;     // each malloc'd, "From " line removed, ">From" unquoted
    size_t *lengths;
    size_t count;
} mt_mbox;

// Splits an mbox: "From " at a line start begins a message; lines matching ^>+From lose
// one '>'. Returns 0, or -1 if the file cannot be read.
int mt_mbox_load(const char *path, mt_mbox *out);
void mt_mbox_free(mt_mbox *mbox);
// The benchmarks' corpus: path, or else $BW_DATA/spamassassin.mbox (data_default when BW_DATA
// is unset or empty). The path used is written to used (used_cap bytes). Returns 0, or -1
// after printing "<tool>: cannot read messages from <path>" when it is unreadable or empty.
int mt_mbox_load_corpus(const char *path, const char *data_default, const char *tool, char *used, size_t used_cap,
                        mt_mbox *out);

// Appends a canonical dump of everything in msg (headers, parts, decoded bytes, text,
// flags) to out.
void mt_dump_message(const bw_message *msg, bw_buf *out);

// Data directories from the environment (or the build's defaults); NULL if unset.
const char *mt_shared_data(void);
const char *mt_data(void);

#endif
