// SPDX-License-Identifier: MIT
// libFuzzer target: pcap/pcapng flow assembly from memory (fmemopen + libpcap), with a
// tiny max_flows and short timeouts so eviction and expiry paths run on small inputs.
#include <stdio.h>
#include <stdlib.h>

#include "botwatch/pcapflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool on_flow(const bw_flow *f, void *ctx)
{
    uint64_t *count = ctx;
    *count += 1 + (f->orig_pkts > 0);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    bw_pcap_flow_limits lim;
    bw_pcap_flow_limits_default(&lim);
    lim.max_flows = 8;
    lim.idle_timeout = 5;
    lim.tcp_idle_timeout = 10;
    lim.active_timeout = 30;
    uint64_t count = 0;
    bw_pcap_flow_stats st;
    bw_pcap_flows_read(f, "fuzz", &lim, on_flow, &count, &st, NULL);
    return 0;
}
