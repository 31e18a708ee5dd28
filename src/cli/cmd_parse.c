// SPDX-License-Identifier: MIT
// `botwatch parse FILE [--json]`: the parsed view of one message, for a human (summary)
// or a program (the JSON of docs/parse-json.md). Front end only: it streams the file into
// the MIME parser (so a huge file costs bounded memory), runs bw_mail_analyze and prints.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "cli_util.h"
#include "commands.h"

// Trusted relays given with --trusted; more is a configuration file's job.
#define MAX_TRUSTED 64
// Characters of visible text shown in the summary; --json has all of it.
#define SUMMARY_TEXT_BYTES 2000

static void usage(FILE *out)
{
    fputs("usage: botwatch parse [--json] [--trusted CIDR|HOST]... FILE\n"
          "\n"
          "Parses one message (a .eml file, a single-message mbox, or '-' for standard input)\n"
          "and prints what botwatch sees in it: headers, the Received chain with the sender\n"
          "hop (sender IP and HELO), the MIME parts, the visible text, the URLs and the\n"
          "anomalies. A leading mbox \"From \" line is skipped.\n"
          "\n"
          "options:\n"
          "  -j, --json             print the record as one JSON object (docs/parse-json.md)\n"
          "  -t, --trusted ENTRY    a relay of yours: CIDR (10.0.0.0/8), host name, or domain\n"
          "                         suffix (.example.net); repeatable. Without any, trust is\n"
          "                         inferred: private addresses and hosts of the receiving domain\n"
          "  -h, --help             this help\n"
          "\n"
          "examples:\n"
          "  botwatch parse spam.eml\n"
          "  botwatch parse --json spam.eml | jq '.sender_ip, .urls[].domain'\n"
          "  botwatch parse --trusted 192.0.2.0/24 --trusted .example.net - < msg.eml\n",
          out);
}

// Prints untrusted text with control bytes shown as '?', so a message cannot drive the
// terminal (escape sequences); UTF-8 passes through.
static void print_safe(bw_slice s, size_t max)
{
    size_t n = s.n < max ? s.n : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        putchar((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : c);
    }
    if (s.n > max)
        fputs("...", stdout);
}

static void print_field(const char *label, bw_slice value)
{
    printf("%-12s ", label);
    print_safe(value, 400);
    putchar('\n');
}

static void print_time(time_t t, bool valid)
{
    struct tm tm;
    char buf[32];
    if (valid && gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
        fputs(buf, stdout);
    else
        fputs("-", stdout);
}

static void print_summary(const bw_mail_record *r)
{
    const bw_message *msg = r->message;
    printf("%-12s %s (%zu bytes)\n", "sha256", r->sha256, msg->total_bytes);
    print_field("subject", msg->subject);
    print_field("from", msg->from);
    print_field("message-id", msg->message_id);
    printf("%-12s ", "date");
    print_time(msg->date, msg->has_date);
    putchar('\n');
    if (r->sender_hop >= 0) {
        printf("%-12s ", "sender");
        print_safe(r->sender_ip, 64);
        fputs("  helo ", stdout);
        print_safe(r->helo, 200);
        printf("  (hop %d of %zu)\n", r->sender_hop + 1, r->received_count);
    } else {
        printf("%-12s none found (%zu Received hops)\n", "sender", r->received_count);
    }
    printf("\nreceived (newest first; T trusted, S sender, F forged, ? unparsed):\n");
    for (size_t i = 0; i < r->received_count; i++) {
        const bw_received_hop *h = &r->received[i];
        char mark = (int)i == r->sender_hop ? 'S' : h->trusted ? 'T' : h->forged ? 'F' : !h->parsed ? '?' : ' ';
        printf("  %2zu %c from ", i + 1, mark);
        print_safe(h->from_name.n ? h->from_name : BW_SLICE_LIT("-"), 100);
        if (h->from_rdns.n || h->ip.n) {
            fputs(" (", stdout);
            print_safe(h->from_rdns, 100);
            if (h->ip.n) {
                fputs(h->from_rdns.n ? " [" : "[", stdout);
                print_safe(h->ip, 64);
                fputs("]", stdout);
            }
            fputs(")", stdout);
        }
        fputs(" by ", stdout);
        print_safe(h->by_name.n ? h->by_name : BW_SLICE_LIT("-"), 100);
        fputs("  ", stdout);
        print_time(h->time, h->has_time);
        putchar('\n');
    }
    printf("\nparts:\n");
    for (size_t i = 0; i < msg->part_count; i++) {
        const bw_part *p = &msg->parts[i];
        printf("  %*s", p->depth * 2, "");
        print_safe(p->content_type, 100);
        if (p->charset.n) {
            fputs(" charset=", stdout);
            print_safe(p->charset, 40);
        }
        if (!p->is_multipart) {
            fputs(" ", stdout);
            print_safe(p->transfer_encoding, 40);
            printf(" %zu bytes", p->decoded.n);
        }
        if (p->filename.n) {
            fputs(" file=", stdout);
            print_safe(p->filename, 200);
        }
        putchar('\n');
    }
    printf("\nurls (%zu):\n", r->url_count);
    for (size_t i = 0; i < r->url_count; i++) {
        const bw_url *u = &r->urls[i];
        fputs("  ", stdout);
        print_safe(u->url, 200);
        fputs("  [", stdout);
        print_safe(u->domain, 100);
        printf("]%s%s%s\n", u->from_html ? " html" : "", u->obfuscated ? " obfuscated" : "", u->hidden ? " hidden" : "");
    }
    printf("\nanomalies:");
    for (int bit = 0; bit < 64; bit++)
        if (r->anomalies & (1ull << bit)) {
            const char *name = bw_mail_anomaly_name(1ull << bit);
            printf(" %s", name ? name : "?");
        }
    printf("\n\ntext (%zu bytes):\n", r->text.n);
    print_safe(r->text, SUMMARY_TEXT_BYTES);
    putchar('\n');
}

// Streams the file into the parser, skipping a leading mbox "From " line.
static int feed_file(const char *path, bw_mime_parser *parser)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error("parse", "%s: %s", path, strerror(errno));
        return 1;
    }
    static char buf[1 << 16];
    size_t got;
    bool first = true, skipping_from_line = false;
    int rc = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        const char *p = buf;
        size_t n = got;
        if (first) {
            first = false;
            skipping_from_line = n >= 5 && memcmp(p, "From ", 5) == 0;
        }
        if (skipping_from_line) {
            const char *nl = memchr(p, '\n', n);
            if (!nl)
                continue;
            n -= (size_t)(nl + 1 - p);
            p = nl + 1;
            skipping_from_line = false;
        }
        if (bw_mime_parser_feed(parser, p, n) != BW_OK)
            cli_out_of_memory();
    }
    if (ferror(f)) {
        cli_error("parse", "%s: read error: %s", path, strerror(errno));
        rc = 1;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

int cmd_parse(int argc, char **argv)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "trusted", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    const char *trusted[MAX_TRUSTED];
    size_t trusted_count = 0;
    int c;
    while ((c = getopt_long(argc, argv, "jt:h", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 't':
            if (trusted_count == MAX_TRUSTED) {
                cli_error("parse", "at most %d --trusted entries", MAX_TRUSTED);
                return 2;
            }
            trusted[trusted_count++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        cli_error("parse", "expected exactly one FILE (or '-' for standard input)");
        usage(stderr);
        return 2;
    }
    bw_mail_config config;
    bw_mail_config_default(&config);
    config.trusted = trusted;
    config.trusted_count = trusted_count;
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(&config, errbuf);
    if (!analyzer) {
        cli_error("parse", "%s", errbuf);
        return 2;
    }
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    if (!parser)
        cli_out_of_memory();
    int rc = feed_file(argv[optind], parser);
    const bw_message *msg = NULL;
    bw_mail_record record;
    if (rc == 0) {
        if (bw_mime_parser_finish(parser, &msg) != BW_OK || bw_mail_analyze(analyzer, msg, &record) != BW_OK)
            cli_out_of_memory();
        if (json) {
            bw_buf out = BW_BUF_INIT;
            if (bw_mail_record_to_json(&record, &out) != BW_OK)
                cli_out_of_memory();
            fwrite(out.p, 1, out.n, stdout);
            putchar('\n');
            bw_buf_free(&out);
        } else {
            print_summary(&record);
        }
        if (fflush(stdout) != 0) {
            cli_error("parse", "writing output: %s", strerror(errno));
            rc = 1;
        }
    }
    bw_mime_parser_free(parser);
    bw_mail_analyzer_free(analyzer);
    return rc;
}
