// SPDX-License-Identifier: MIT
// The Received chain: each header's hop (who sent, from which IP, who received, when) read
// from the many formats MTAs write (sendmail, Postfix, qmail, Exim, Exchange, ...), and
// the sender hop: walking from the newest hop down, the first one whose sending IP is
// outside the operator's trusted relays. That hop's IP and HELO are what botnet
// attribution rests on; hops below it were written by the sender and may be forged, so
// they are kept but checked for consistency. Used by bw_mail.
#ifndef BOTWATCH_RECEIVED_H
#define BOTWATCH_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "botwatch/error.h"
#include "botwatch/ip.h"
#include "botwatch/str.h"

typedef struct bw_received_hop {
    bw_slice from_name;     // the name the sending host gave (HELO/EHLO), as written
    bw_slice from_rdns;     // the reverse-DNS name the receiver recorded, if any
    bw_slice ip;            // the sending IP as text (IPv4 dotted or IPv6), empty if none
    bw_slice by_name;       // the receiving host
    time_t time;            // the hop's date, if has_time
    bool has_time;
    bool trusted;           // inside the operator's boundary
    bool forged;            // below the boundary but inconsistent (e.g. time goes back)
    // Additions for analysis (bw_received fills them):
    bw_ip addr;             // ip parsed, valid if has_addr
    bool has_addr;
    bool parsed;            // the value had a recognisable from/by structure
    bw_slice date_text;     // the text after the last ';' (the caller parses it into time)
    bw_slice protocol;      // first word of the "with" clause (ESMTP, SMTP, POP3, ...)
} bw_received_hop;

// Parses one Received header value (unfolded) into *hop; slices point into value. Returns
// hop->parsed: false when neither a from nor a by clause was found (the other fields are
// then empty). Never reads outside value; time/has_time/trusted/forged are left clear.
bool bw_received_parse(bw_slice value, bw_received_hop *hop);

// Trusted relays: CIDRs ("10.0.0.0/8") and host names ("mx1.example.net") or domain
// suffixes (".example.net"). Zero entries = inferred (see bw_received_find_sender).
typedef struct bw_received_trust bw_received_trust;

// Copies the entries. NULL on allocation failure or a bad entry (named in errbuf).
bw_received_trust *bw_received_trust_new(const char *const *entries, size_t count, char *errbuf);
void bw_received_trust_free(bw_received_trust *trust);

// Hops whose times disagree by more than this are inconsistent: clocks of real relays
// drift by minutes; a forged header written by a bot is often hours or days off.
#define BW_RECEIVED_TIME_TOLERANCE (6 * 3600)

// Walks hops (newest first, as in the header; times already filled by the caller) and
// sets trusted/forged on each. Returns the sender hop's index, or -1 when every hop with
// an IP is trusted (or none has one). Configured trust: a hop is trusted when its IP is in
// a CIDR or its recorded rDNS (or, without rDNS, HELO) matches a name. Inferred trust, as
// SpamAssassin does: private/reserved IPs (bw_ip_is_special) and hops from hosts inside
// the receiving domain (the registrable domain of the newest hop's by-name).
// trust (NULL = inferred) also caches the receiving domain between calls, so one trust
// object is used by one thread at a time.
int bw_received_find_sender(bw_received_trust *trust, bw_received_hop *hops, size_t count);

#endif
