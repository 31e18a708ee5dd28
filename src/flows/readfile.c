// SPDX-License-Identifier: MIT
// bw_flow_read_file: paths and stdin into a flow reader. zlib's gzread passes plain files
// through unchanged and inflates gzip (also concatenated members, as `cat a.gz b.gz`
// makes) in bounded chunks, so one code path serves both.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "botwatch/flowread.h"

#define DEFAULT_CHUNK (256u * 1024u)

bw_status bw_flow_read_file(const char *path, const bw_flow_read_options *options,
                            bw_flow_cb cb, void *ctx, bw_flow_reader_stats *stats, char *errbuf)
{
    bw_flow_read_options opts = { NULL, NULL, NULL, 0 };
    if (options)
        opts = *options;
    size_t chunk = opts.chunk_size ? opts.chunk_size : DEFAULT_CHUNK;
    if (chunk > (1u << 30))
        return bw_error(errbuf, BW_ERR_INVALID, "chunk_size too large");
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: cannot set up decompression", path);
    }
    bw_flow_reader *reader = bw_flow_reader_new(opts.limits, cb, ctx);
    char *buf = malloc(chunk);
    if (!reader || !buf) {
        bw_flow_reader_free(reader);
        free(buf);
        gzclose(gz);
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory", path);
    }
    bw_flow_reader_set_source(reader, is_stdin ? "<stdin>" : path);
    if (opts.on_error)
        bw_flow_reader_set_error_cb(reader, opts.on_error, opts.error_ctx);
    bw_status status = BW_OK;
    for (;;) {
        int got = gzread(gz, buf, (unsigned)chunk);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            status = bw_error(errbuf, BW_ERR_IO, "%s: %s", path, zerr == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (got == 0)
            break;
        status = bw_flow_reader_feed(reader, buf, (size_t)got, errbuf);
        if (status != BW_OK || bw_flow_reader_stopped(reader))
            break;
    }
    if (status == BW_OK)
        status = bw_flow_reader_finish(reader, errbuf);
    if (stats)
        *stats = *bw_flow_reader_stats_get(reader);
    bw_flow_reader_free(reader);
    free(buf);
    gzclose(gz);
    return status;
}
