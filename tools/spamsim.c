// SPDX-License-Identifier: MIT
// tools/spamsim: writes a simulated spam-trap mbox (mboxrd) and its truth file (TSV:
// message index, campaign id, botnet id) for evaluating campaign clustering and botnet
// inference (issue 3). The generator is tools/spamsim_gen.c; this front end only parses
// options and writes files.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spamsim_gen.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spamsim [options] --mbox FILE --truth FILE\n"
            "Simulates a spam trap hit by several spam botnets; writes files only.\n"
            "  --mbox FILE        the messages, mboxrd, in time order\n"
            "  --truth FILE       TSV: index, campaign, botnet (one row per message)\n"
            "  --seed N           generator seed (default 1); same seed, same files\n"
            "  --messages N       messages (default 200000)\n"
            "  --campaigns N      campaigns (default 240); each uses a distinct real spam template\n"
            "  --botnets N        botnets (default 8)\n"
            "  --days N           length of the stream in days (default 14)\n"
            "  --sa-dir DIR       SpamAssassin data dir (default $BW_DATA/npm-spam-assassin/package/data)\n"
            "  --csdmc-dir DIR    CSDMC2010 dir (default $BW_SHARED_DATA/mail/csdmc2010)\n"
            "  --asn-csv FILE     ASN ranges (default $BW_DATA/npm-asn/package/asn-ipv4.csv)\n");
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

// mboxrd: a body line starting with ">*From " gets one more '>'.
static int write_mboxrd(FILE *f, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) + 1 : n;
        size_t k = i;
        while (k < e && p[k] == '>')
            k++;
        if (e - k >= 5 && memcmp(p + k, "From ", 5) == 0 && fputc('>', f) == EOF)
            return -1;
        if (fwrite(p + i, 1, e - i, f) != e - i)
            return -1;
        i = e;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mbox", required_argument, NULL, 'm' },      { "truth", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 's' },      { "messages", required_argument, NULL, 'n' },
        { "campaigns", required_argument, NULL, 'c' }, { "botnets", required_argument, NULL, 'b' },
        { "days", required_argument, NULL, 'd' },      { "sa-dir", required_argument, NULL, 'A' },
        { "csdmc-dir", required_argument, NULL, 'C' }, { "asn-csv", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
    };
    spamsim_config cfg;
    spamsim_config_default(&cfg);
    const char *data = env_or("BW_DATA", NULL);
    const char *shared = env_or("BW_SHARED_DATA", NULL);
    char sa[4096], csdmc[4096], asn[4096];
    snprintf(sa, sizeof sa, "%s/npm-spam-assassin/package/data", data ? data : ".");
    snprintf(csdmc, sizeof csdmc, "%s/mail/csdmc2010", shared ? shared : ".");
    snprintf(asn, sizeof asn, "%s/npm-asn/package/asn-ipv4.csv", data ? data : ".");
    cfg.sa_dir = sa;
    cfg.csdmc_dir = csdmc;
    cfg.asn_csv = asn;
    const char *mbox = NULL, *truth = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        unsigned long long v = 0;
        if (strchr("sncbd", c)) {
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || !end || *end || end == optarg) {
                fprintf(stderr, "spamsim: --%s needs a number, got \"%s\"\n",
                        c == 's' ? "seed" : c == 'n' ? "messages" : c == 'c' ? "campaigns" : c == 'b' ? "botnets" : "days",
                        optarg);
                return 2;
            }
        }
        switch (c) {
        case 'm': mbox = optarg; break;
        case 't': truth = optarg; break;
        case 's': cfg.seed = v; break;
        case 'n': cfg.messages = (size_t)v; break;
        case 'c': cfg.campaigns = (unsigned)v; break;
        case 'b': cfg.botnets = (unsigned)v; break;
        case 'd': cfg.days = (unsigned)v; break;
        case 'A': cfg.sa_dir = optarg; break;
        case 'C': cfg.csdmc_dir = optarg; break;
        case 'N': cfg.asn_csv = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!mbox || !truth || optind != argc) {
        usage(stderr);
        return 2;
    }
    char errbuf[256];
    spamsim *sim = spamsim_new(&cfg, errbuf);
    if (!sim) {
        fprintf(stderr, "spamsim: %s\n", errbuf);
        return 1;
    }
    FILE *fm = fopen(mbox, "w"), *ft = fopen(truth, "w");
    if (!fm || !ft) {
        fprintf(stderr, "spamsim: %s: %s\n", !fm ? mbox : truth, strerror(errno));
        return 1;
    }
    static char mbuf[1 << 20];
    setvbuf(fm, mbuf, _IOFBF, sizeof mbuf);
    fprintf(ft, "index\tcampaign\tbotnet\tbotnet_name\n");
    spamsim_msg m;
    int rc = 0;
    for (size_t i = 0; i < spamsim_count(sim) && rc == 0; i++) {
        if (spamsim_render(sim, i, &m) != 0) {
            fprintf(stderr, "spamsim: out of memory\n");
            rc = 1;
            break;
        }
        time_t t = (time_t)m.time;
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[64];
        strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
        if (fprintf(fm, "From MAILER-DAEMON %s\n", when) < 0 || write_mboxrd(fm, m.raw.p, m.raw.n) != 0 ||
            fputc('\n', fm) == EOF ||
            fprintf(ft, "%zu\t%u\t%u\t%s\n", i, m.campaign, m.botnet, spamsim_botnet_name(sim, m.botnet)) < 0)
            rc = 1;
    }
    if (fclose(fm) != 0 || fclose(ft) != 0)
        rc = 1;
    if (rc)
        fprintf(stderr, "spamsim: write failed: %s\n", strerror(errno));
    else
        fprintf(stderr, "spamsim: %zu messages, %u campaigns, %u botnets, %zu templates available\n",
                spamsim_count(sim), cfg.campaigns, cfg.botnets, spamsim_template_count(sim));
    spamsim_free(sim);
    return rc;
}
