// SPDX-License-Identifier: MIT
// Fuzz target for the campaign module's untrusted-input paths: the template-text
// normaliser (any bytes as subject and text, small limits so the caps are hit), the MinHash
// and index on what it produced, template inference over the members, and the persistence
// loader (the same bytes as a saved index, which must be refused or loaded, never crash).
// The normaliser's fast path is checked against its general path on the same bytes (same
// text, token count and flags), with the default limits and with small ones.
// Input layout: byte 0 picks the split point of subject/text; the rest is both.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/campaign.h"
#include "campaign_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] < size ? data[0] : size - 1;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (split > n)
        split = n;
    bw_slice subject = { rest, split }, text = { rest + split, n - split };

    bw_campaign_norm_limits small = { .max_input_bytes = 4096, .max_tokens = 50, .max_token_bytes = 6 };
    const bw_campaign_norm_limits *limit_sets[2] = { NULL, &small };
    for (int l = 0; l < 2; l++) {
        bw_buf fast = BW_BUF_INIT, general = BW_BUF_INIT;
        size_t tokens_fast = 0, tokens_general = 0;
        unsigned flags_fast = 0, flags_general = 0;
        bw_status a = bw_campaign_normalize(limit_sets[l], subject, text, subject, text, &fast, &tokens_fast,
                                            &flags_fast);
        bw_status b = bw_campaign_normalize_general(limit_sets[l], subject, text, subject, text, &general,
                                                    &tokens_general, &flags_general);
        if (a == BW_OK && b == BW_OK &&
            (fast.n != general.n || memcmp(fast.p, general.p, fast.n) != 0 || tokens_fast != tokens_general ||
             flags_fast != flags_general))
            abort();   // the fast path must give what the general path gives
        bw_buf_free(&fast);
        bw_buf_free(&general);
    }

    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = (bw_hash_key){ 1, 2 };
    cfg.norm.max_tokens = 200;
    cfg.norm.max_token_bytes = 16;
    cfg.norm.max_input_bytes = 4096;
    cfg.max_active = 4;
    cfg.max_ips = 4;
    cfg.max_top = 2;
    cfg.max_samples = 2;
    cfg.max_links = 2;
    cfg.template_members = 3;
    cfg.template_max_tokens = 32;
    cfg.max_domains_tracked = 8;
    bw_campaign_index *index = bw_campaign_index_new(&cfg, NULL);
    if (!index)
        return 0;
    // Three messages from the input: whole, halves, and with the recipient taken from it.
    bw_url url = { .domain = subject, .host_is_ip = split % 2 };
    bw_campaign_msg msgs[3] = {
        { .id = 1, .time = (int64_t)data[0] * 1000, .subject = subject, .text = text, .urls = &url, .url_count = 1,
          .sender_ip = subject },
        { .id = 2, .time = 5, .text = bw_slice_make(rest, n / 2) },
        { .id = 3, .time = INT64_MAX, .subject = text, .text = subject, .rcpt_addr = subject, .rcpt_name = text },
    };
    for (int i = 0; i < 3; i++) {
        bw_campaign_assignment a;
        if (bw_campaign_index_add(index, &msgs[i], &a) == BW_OK) {
            bw_campaign_summary s;
            (void)bw_campaign_index_get(index, a.campaign_id, &s);
        }
    }
    bw_buf blob = BW_BUF_INIT;
    if (bw_campaign_index_save(index, &blob) == BW_OK) {
        bw_campaign_index *copy = bw_campaign_index_new(&cfg, NULL);
        if (copy) {
            (void)bw_campaign_index_load(copy, blob.p, blob.n, NULL);
            bw_campaign_index_free(copy);
        }
    }
    bw_buf_free(&blob);
    bw_campaign_index_free(index);

    // The raw bytes as a saved index.
    bw_campaign_index *loaded = bw_campaign_index_new(&cfg, NULL);
    if (loaded) {
        char errbuf[BW_ERRBUF_SIZE];
        if (bw_campaign_index_load(loaded, data, size, errbuf) == BW_OK) {
            size_t count;
            const uint64_t *ids = bw_campaign_index_ids(loaded, &count);
            bw_campaign_summary s;
            if (count)
                (void)bw_campaign_index_get(loaded, ids[0], &s);
            bw_campaign_msg m = { .id = 9, .time = 0, .text = text };
            bw_campaign_assignment a;
            (void)bw_campaign_index_add(loaded, &m, &a);
        }
        bw_campaign_index_free(loaded);
    }
    return 0;
}
