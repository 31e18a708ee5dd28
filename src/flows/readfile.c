// SPDX-License-Identifier: MIT
// bw_flow_read_file: paths and stdin into a flow reader. zlib's gzread passes plain files
// through unchanged and inflates gzip (also concatenated members, as `cat a.gz b.gz`
// makes) in bounded chunks, so one code path serves both. The first chunk decides the
// format: pcap/pcapng (possibly gzipped, possibly on stdin) is handed to libpcap through
// a stdio cookie stream that replays the peeked bytes, then reads on through zlib.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "botwatch/flowread.h"
#include "botwatch/pcapflow.h"

#define DEFAULT_CHUNK (256u * 1024u)

typedef struct replay_stream {
    gzFile gz;
    const char *peeked;
    size_t peeked_n, peeked_off;
} replay_stream;

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
    replay_stream *rs = cookie;
    if (rs->peeked_off < rs->peeked_n) {
        size_t n = rs->peeked_n - rs->peeked_off;
        if (n > size)
            n = size;
        memcpy(buf, rs->peeked + rs->peeked_off, n);
        rs->peeked_off += n;
        return (ssize_t)n;
    }
    if (size > (1u << 30))
        size = 1u << 30;
    int got = gzread(rs->gz, buf, (unsigned)size);
    return got < 0 ? -1 : got;
}

static bw_status read_pcap(gzFile gz, const char *path, const char *peeked, size_t peeked_n,
                           const bw_flow_read_options *opts, bw_flow_cb cb, void *ctx,
                           bw_flow_reader_stats *stats, char *errbuf)
{
    replay_stream rs = { gz, peeked, peeked_n, 0 };
    cookie_io_functions_t io = { replay_read, NULL, NULL, NULL };
    FILE *f = fopencookie(&rs, "rb", io);
    if (!f)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: cannot set up the capture stream", path);
    bw_pcap_flow_stats ps;
    bw_status status = bw_pcap_flows_read(f, path, opts->pcap_limits, cb, ctx, &ps, errbuf);
    if (ps.malformed > 0 && opts->on_error)
        opts->on_error(path, ps.first_bad_packet, ps.first_bad_reason, opts->error_ctx);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->format = BW_FLOW_FORMAT_PCAP;
        stats->lines = ps.packets;
        stats->flows = ps.flows;
        stats->malformed = ps.malformed;
        stats->skipped = ps.non_ip + ps.fragments;
        stats->first_bad_line = ps.first_bad_packet;
        memcpy(stats->first_bad_reason, ps.first_bad_reason, sizeof stats->first_bad_reason);
    }
    return status;
}

bw_status bw_flow_read_file(const char *path, const bw_flow_read_options *options,
                            bw_flow_cb cb, void *ctx, bw_flow_reader_stats *stats, char *errbuf)
{
    bw_flow_read_options opts = { NULL, NULL, NULL, 0, NULL };
    if (options)
        opts = *options;
    if (stats)
        memset(stats, 0, sizeof *stats);
    size_t chunk = opts.chunk_size ? opts.chunk_size : DEFAULT_CHUNK;
    if (chunk > (1u << 30))
        return bw_error(errbuf, BW_ERR_INVALID, "chunk_size too large");
    bool is_stdin = strcmp(path, "-") == 0;
    const char *source = is_stdin ? "<stdin>" : path;
    int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", source, strerror(errno));
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: cannot set up decompression", source);
    }
    char *buf = malloc(chunk);
    if (!buf) {
        gzclose(gz);
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory", source);
    }
    bw_status status = BW_OK;
    bw_flow_reader *reader = NULL;
    bool first = true, truncated = false;
    for (;;) {
        int got = gzread(gz, buf, (unsigned)chunk);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            status = bw_error(errbuf, BW_ERR_IO, "%s: %s", source, zerr == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (first && got > 0 && bw_flow_detect(buf, (size_t)got) == BW_FLOW_FORMAT_PCAP) {
            status = read_pcap(gz, source, buf, (size_t)got, &opts, cb, ctx, stats, errbuf);
            free(buf);
            gzclose(gz);
            return status;
        }
        if (first) {
            first = false;
            reader = bw_flow_reader_new(opts.limits, cb, ctx);
            if (!reader) {
                status = bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory or invalid limits", source);
                break;
            }
            bw_flow_reader_set_source(reader, source);
            if (opts.on_error)
                bw_flow_reader_set_error_cb(reader, opts.on_error, opts.error_ctx);
        }
        if (got == 0) {
            int zerr = Z_OK;
            gzerror(gz, &zerr);
            truncated = zerr == Z_BUF_ERROR;   // gzip stream cut short
            break;
        }
        status = bw_flow_reader_feed(reader, buf, (size_t)got, errbuf);
        if (status != BW_OK || bw_flow_reader_stopped(reader))
            break;
    }
    if (reader) {
        if (status == BW_OK)
            status = bw_flow_reader_finish(reader, errbuf);
        if (status == BW_OK && truncated)
            status = bw_error(errbuf, BW_ERR_IO, "%s: compressed data ends early (the flows before the cut were read)",
                              source);
        if (stats)
            *stats = *bw_flow_reader_stats_get(reader);
        bw_flow_reader_free(reader);
    }
    free(buf);
    gzclose(gz);
    return status;
}
