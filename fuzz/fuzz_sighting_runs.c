// SPDX-License-Identifier: MIT
// Fuzz target for the sighting_runs blob decoder (schema v7, src/ingest/botnets.c): any
// bytes must be decoded (and merged and encoded again) or refused with a reason, never read
// past their end, and a refusal must say why.
#include <stdint.h>
#include <string.h>

#include "botwatch/error.h"
#include "ingest_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    why[0] = '\0';
    bw_status s = ingest_sighting_run_check(data, size, why, sizeof why);
    if (s == BW_ERR_PARSE && why[0] == '\0')
        __builtin_trap();   // a refusal without its reason
    return 0;
}
