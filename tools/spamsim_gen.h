// SPDX-License-Identifier: MIT
// spamsim's generator as a library, shared by tools/spamsim (which writes an mbox and a
// truth file), bench/campaigns and the campaign tests (which take the same messages as
// records, without a parser). A simulated spam trap fed by several botnets: each has its
// own zombie pool in real eyeball-ISP address ranges (ASN CSV) and its own mailer habits
// (header order, Message-ID and HELO shape); each runs campaigns whose templates come from
// real spam (SpamAssassin, CSDMC2010) with slots filled per message the way Storm and
// Srizbi templates were: recipient names, numbers, URL domains, synonym and line variants,
// hash-buster words. Deterministic from the seed; message i can be rendered on its own.
#ifndef BOTWATCH_SPAMSIM_GEN_H
#define BOTWATCH_SPAMSIM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/str.h"
#include "botwatch/url.h"

typedef struct spamsim_config {
    uint64_t seed;
    size_t messages;            // total messages
    unsigned campaigns;         // campaigns in all
    unsigned botnets;           // simulated botnets (families are reused past 8)
    unsigned days;              // length of the stream
    int64_t start_time;         // first second of the stream (UTC)
    const char *sa_dir;         // .../npm-spam-assassin/package/data (spam-1, spam-2)
    const char *csdmc_dir;      // .../mail/csdmc2010 (TRAINING, SPAMTrain.label); may be NULL
    const char *asn_csv;        // .../npm-asn/package/asn-ipv4.csv
} spamsim_config;

void spamsim_config_default(spamsim_config *config);

#define SPAMSIM_MAX_URLS 8

typedef struct spamsim_msg {
    size_t index;               // position in the stream (time order)
    int64_t time;
    unsigned campaign;          // truth: campaign id (0-based)
    unsigned botnet;            // truth: botnet id (0-based)
    bw_slice subject, text;     // as the message carries them (text/plain body)
    bw_url urls[SPAMSIM_MAX_URLS];   // url, host, domain, host_is_ip filled
    size_t url_count;
    char sender_ip[16];
    uint32_t asn;
    bw_slice helo;
    bw_slice rcpt_addr, rcpt_name;
    bw_slice raw;               // the whole message (headers + body), LF line ends
} spamsim_msg;

typedef struct spamsim spamsim;

// Loads templates and address ranges and schedules the stream. NULL with a reason in
// errbuf (256 bytes) when a data set is missing or too few templates were usable.
spamsim *spamsim_new(const spamsim_config *config, char *errbuf);
void spamsim_free(spamsim *sim);
size_t spamsim_count(const spamsim *sim);
size_t spamsim_template_count(const spamsim *sim);
const char *spamsim_botnet_name(const spamsim *sim, unsigned botnet);
// Renders message i (0 <= i < count) into *out; slices are valid until the next render.
// Returns 0, or -1 on allocation failure.
int spamsim_render(spamsim *sim, size_t i, spamsim_msg *out);

#endif
