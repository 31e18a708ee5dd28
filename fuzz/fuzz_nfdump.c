// SPDX-License-Identifier: MIT
// libFuzzer target: both nfdump readers, the `-o csv` text one and the binary (layout 1)
// one, each forced so every input reaches it, one-shot against chunked feeding; see
// fuzz_flows_common.h.
#include "fuzz_flows_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_flows(BW_FLOW_FORMAT_NFDUMP, data, size);
    return fuzz_flows(BW_FLOW_FORMAT_NFDUMP_BINARY, data, size);
}
