// SPDX-License-Identifier: MIT
// Helpers shared by CLI subcommands (cli_util.h).
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

bool cli_parse_time(const char *text, time_t *out)
{
    size_t len = strlen(text);
    bool digits = len > 0;
    for (size_t i = 0; i < len; i++)
        digits = digits && isdigit((unsigned char)text[i]);
    if (digits && len > 8) {
        char *end;
        long long v = strtoll(text, &end, 10);
        *out = (time_t)v;
        return *end == '\0';
    }
    struct tm tm = { 0 };
    const char *rest = strptime(text, "%Y-%m-%d", &tm);
    if (!rest)
        return false;
    if (*rest == 'T' || *rest == ' ') {
        const char *r2 = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!r2)
            r2 = strptime(rest + 1, "%H:%M", &tm);
        if (!r2)
            return false;
        rest = r2;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest != '\0')
        return false;
    *out = timegm(&tm);
    return true;
}

void cli_error(const char *subcommand, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "botwatch %s: ", subcommand);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_is_tty(FILE *stream) { return isatty(fileno(stream)) == 1; }

_Noreturn void cli_out_of_memory(void)
{
    fputs("botwatch: out of memory\n", stderr);
    exit(70);
}

bw_store *cli_open_store_readonly(const char *subcommand, const char *db_path)
{
    if (access(db_path, F_OK) != 0) {
        cli_error(subcommand, "%s: no such database (create one with `botwatch ingest --db %s MBOX...`)", db_path,
                  db_path);
        return NULL;
    }
    char errbuf[BW_ERRBUF_SIZE];
    bw_store_options store_opts = { .read_only = true };
    bw_store *store = NULL;
    if (bw_store_open(db_path, &store_opts, &store, errbuf) != BW_OK) {
        cli_error(subcommand, "%s: %s", db_path, errbuf);
        return NULL;
    }
    return store;
}

bool cli_output_open(cli_output *out, const char *subcommand, const char *path)
{
    out->fp = stdout;
    out->path = path;
    out->tmp_path[0] = '\0';
    if (!path)
        return true;
    if ((size_t)snprintf(out->tmp_path, sizeof out->tmp_path, "%s.tmp.%ld", path, (long)getpid()) >=
        sizeof out->tmp_path) {
        cli_error(subcommand, "%s: path too long", path);
        out->tmp_path[0] = '\0';
        return false;
    }
    FILE *fp = fopen(out->tmp_path, "w");
    if (!fp) {
        cli_error(subcommand, "%s: %s", out->tmp_path, strerror(errno));
        out->tmp_path[0] = '\0';
        return false;
    }
    out->fp = fp;
    return true;
}

bool cli_output_commit(cli_output *out, const char *subcommand)
{
    if (!out->path)
        return true;
    int rc = fclose(out->fp);
    out->fp = stdout;
    if (rc != 0 || rename(out->tmp_path, out->path) != 0) {
        cli_error(subcommand, "%s: %s", out->path, strerror(errno));
        unlink(out->tmp_path);
        out->tmp_path[0] = '\0';
        return false;
    }
    out->tmp_path[0] = '\0';
    return true;
}

void cli_output_abort(cli_output *out)
{
    if (out->fp && out->fp != stdout)
        fclose(out->fp);
    out->fp = stdout;
    if (out->tmp_path[0])
        unlink(out->tmp_path);
    out->tmp_path[0] = '\0';
}
