// SPDX-License-Identifier: MIT
// Builds the small, fixed database the report and export tests read (tests/report/
// fixture_db.c): written through the store's write API, so the tests read exactly what an
// ingest would have stored.
#ifndef BW_TEST_REPORT_FIXTURE_DB_H
#define BW_TEST_REPORT_FIXTURE_DB_H

#include <stdbool.h>

#include "botwatch/store.h"

// Creates path (removed first) with the fixture; returns 0 or -1 (message printed).
// with_asn false stores no sender networks (as an ingest without ASN data would).
int fixture_db_create(const char *path, bool with_asn);
// The anomaly namer the fixture expects (a stand-in for bw_mime_anomaly_name).
const char *fixture_anomaly_name(uint64_t flag);

// What the fixture holds, for exact assertions.
enum {
    FIXTURE_MESSAGES = 9,          // distinct stored messages (one duplicate not stored)
    FIXTURE_UNPARSED = 1,
    FIXTURE_WITH_IP = 6,
    FIXTURE_WITH_ASN = 5,
    FIXTURE_ERRORS = 2,
    FIXTURE_DUPLICATES = 1,
    FIXTURE_SOURCES = 2,
    FIXTURE_IN_CAMPAIGNS = 8,      // all but the unparsed message
    FIXTURE_CAMPAIGNS = 4,
    FIXTURE_BOTNETS = 2,
    FIXTURE_IN_BOTNETS = 7,        // botnet 1: 5 messages, botnet 2: 2
};

#endif
