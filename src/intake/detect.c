// SPDX-License-Identifier: MIT
// Content sniffing for intake. Order matters: archive and compression magic first (binary
// signatures cannot be mail), then an mbox From_ line, then an RFC 5322 header block. The
// header test is strict enough that a README or CSV is not taken for mail: every line up to
// the blank line (or the end of the sample) must be a field or a continuation, and at least
// one field name must be one real mail carries.
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "detect.h"

static bool has_magic(const unsigned char *p, size_t n, size_t at, const char *magic, size_t len)
{
    return n >= at + len && memcmp(p + at, magic, len) == 0;
}

static const char *const mail_fields[] = {
    "received", "return-path", "from", "to", "cc", "subject", "date", "message-id",
    "mime-version", "delivered-to", "content-type", "reply-to", "sender", "x-mailer",
    "x-original-to", "envelope-to", "content-transfer-encoding", "x-envelope-from",
    "x-sender", "user-agent", "list-id", "x-priority", "thread-topic", "in-reply-to",
    "references", "dkim-signature", "authentication-results", "arc-seal", "x-spam-status",
};

static bool is_mail_field(const unsigned char *name, size_t len)
{
    for (size_t i = 0; i < sizeof mail_fields / sizeof mail_fields[0]; i++)
        if (strlen(mail_fields[i]) == len && strncasecmp((const char *)name, mail_fields[i], len) == 0)
            return true;
    return false;
}

static bool looks_like_headers(const unsigned char *p, size_t n)
{
    size_t i = 0, fields = 0;
    bool known = false;
    while (i < n) {
        const unsigned char *line = p + i;
        const unsigned char *lf = memchr(line, '\n', n - i);
        size_t len = lf ? (size_t)(lf - line) : n - i;
        size_t content = len && line[len - 1] == '\r' ? len - 1 : len;
        if (content == 0)
            break;  // the blank line ending the header block
        if (memchr(line, '\0', len))
            return false;
        if (line[0] == ' ' || line[0] == '\t') {
            if (fields == 0)
                return false;
        } else if (content >= 5 && memcmp(line, "From ", 5) == 0) {
            // An mbox From_ line kept inside the header block (MH, exmh, some exports).
        } else {
            size_t k = 0;
            while (k < content && line[k] > 32 && line[k] < 127 && line[k] != ':')
                k++;
            if (k == 0 || k >= content || line[k] != ':')
                return lf == NULL && fields > 0;  // a field cut off by the sample end is fine
            fields++;
            known = known || is_mail_field(line, k);
        }
        if (!lf)
            break;
        i += len + 1;
    }
    return fields > 0 && known;
}

bw_detect_kind bw_detect(const unsigned char *p, size_t n)
{
    if (has_magic(p, n, 0, "\x1f\x8b", 2) || has_magic(p, n, 0, "BZh", 3) ||
        has_magic(p, n, 0, "\xfd" "7zXZ\0", 6) || has_magic(p, n, 0, "\x28\xb5\x2f\xfd", 4) ||
        has_magic(p, n, 0, "\x04\x22\x4d\x18", 4) || has_magic(p, n, 0, "LZIP", 4) ||
        has_magic(p, n, 0, "\x1f\x9d", 2))
        return BW_DETECT_COMPRESSED;
    if (has_magic(p, n, 0, "PK\x03\x04", 4) || has_magic(p, n, 0, "PK\x05\x06", 4) ||
        has_magic(p, n, 0, "PK\x07\x08", 4))
        return BW_DETECT_ZIP;
    if (has_magic(p, n, 0, "7z\xbc\xaf\x27\x1c", 6))
        return BW_DETECT_7Z;
    if (has_magic(p, n, 0, "Rar!\x1a\x07", 6))
        return BW_DETECT_RAR;
    if (has_magic(p, n, 257, "ustar", 5))
        return BW_DETECT_TAR;
    size_t i = 0;
    while (i < n && (p[i] == '\n' || p[i] == '\r'))
        i++;
    if (has_magic(p, n, i, "From ", 5))
        return BW_DETECT_MBOX;
    if (looks_like_headers(p + i, n - i))
        return BW_DETECT_EML;
    return BW_DETECT_UNKNOWN;
}
