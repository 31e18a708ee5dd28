// SPDX-License-Identifier: MIT
// End of an ingest run: botnets inferred over every campaign of the store.
// HOOK (issue 3): filled in when the botnet module (src/botnet) is in the tree.
#include "ingest_internal.h"

bw_status ingest_botnets(bw_store *store, uint64_t *botnets, char *errbuf)
{
    (void)store;
    (void)errbuf;
    *botnets = 0;
    return BW_OK;
}
