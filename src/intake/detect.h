// SPDX-License-Identifier: MIT
// Format detection by content: what the first bytes of a file or archive member are.
#ifndef BOTWATCH_INTAKE_DETECT_H
#define BOTWATCH_INTAKE_DETECT_H

#include <stddef.h>

// Bytes read before deciding: covers the tar magic at offset 257 and a header block.
#define BW_DETECT_BYTES 4096

typedef enum bw_detect_kind {
    BW_DETECT_UNKNOWN = 0,
    BW_DETECT_MBOX,       // starts (after blank lines) with a From_ line
    BW_DETECT_EML,        // starts with an RFC 5322 header block
    BW_DETECT_COMPRESSED, // gzip, bzip2, xz, zstd, lz4, lzip, compress
    BW_DETECT_TAR,
    BW_DETECT_ZIP,        // needs seeking for the central directory
    BW_DETECT_7Z,         // needs seeking
    BW_DETECT_RAR,
} bw_detect_kind;

bw_detect_kind bw_detect(const unsigned char *p, size_t n);

#endif
