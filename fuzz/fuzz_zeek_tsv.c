// SPDX-License-Identifier: MIT
// libFuzzer target: the zeek_tsv flow reader (format forced, so every input reaches it),
// one-shot against chunked feeding; see fuzz_flows_common.h.
#include "fuzz_flows_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_flows(BW_FLOW_FORMAT_ZEEK_TSV, data, size);
}
