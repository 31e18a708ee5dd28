// SPDX-License-Identifier: MIT
// URLs in mail: found in plain text and taken from HTML attributes, de-obfuscated the way
// spam hides them (hxxp/h**p schemes, missing scheme "www.", entity- or percent-encoded
// hosts, decimal/octal/hex IP hosts, "bank.com@evil.com" userinfo, trailing punctuation),
// normalised (lowercase host, IDN to A-label with libidn2, IPs via bw_ip) and reduced to
// their registrable domain (libpsl). A bw_url_set collects one message's URLs,
// deduplicated and capped; bw_mail fills one per message and resets it for the next.
#ifndef BOTWATCH_URL_H
#define BOTWATCH_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "botwatch/error.h"
#include "botwatch/str.h"

typedef struct bw_url {
    bw_slice url;           // normalised URL (scheme added, entities/percent undone in host)
    bw_slice host;          // lowercase, IDN as A-label (punycode); IP literals normalised
    bw_slice domain;        // registrable domain (libpsl); the IP for IP hosts
    bool host_is_ip;
    bool from_html;         // found in an HTML attribute (href/src/action) vs plain text
    bool obfuscated;        // hxxp, missing scheme, decimal IP, entity/percent-encoded host
    bool hidden;            // only in markup a reader never sees (HTML comment, script, style)
} bw_url;

typedef struct bw_url_limits {
    size_t max_urls;        // distinct URLs kept per set (message)
    size_t max_url_bytes;   // one URL as written (after "scheme://"); longer ones are cut
} bw_url_limits;

void bw_url_limits_default(bw_url_limits *limits);

typedef enum bw_url_flag {
    BW_URL_COUNT_LIMIT  = 1u << 0,   // more distinct URLs than max_urls: the rest dropped
    BW_URL_LENGTH_LIMIT = 1u << 1,   // a URL longer than max_url_bytes: cut
} bw_url_flag;

typedef struct bw_url_set bw_url_set;

// Loads the public suffix list once (libpsl: the system list if newer, else built in).
// limits may be NULL for the defaults. NULL on failure, with the reason in errbuf.
bw_url_set *bw_url_set_new(const bw_url_limits *limits, char *errbuf);
void bw_url_set_free(bw_url_set *set);

// Forgets the collected URLs (keeps memory): call before each message.
void bw_url_set_reset(bw_url_set *set);

// Finds URLs in text (plain text, or HTML rendered to text: from_html false) and adds the
// new ones. Only BW_ERR_NOMEM is possible.
bw_status bw_url_scan_text(bw_url_set *set, bw_slice text);

// Like bw_url_scan_text for HTML a reader never sees (bw_html_doc.hidden): the URLs found
// are marked hidden unless also found elsewhere.
bw_status bw_url_scan_hidden(bw_url_set *set, bw_slice text);

// Adds the URL(s) of one HTML attribute value (already entity-decoded, as bw_html gives
// them): absolute, protocol-relative ("//host/") or scheme-less "www." targets, and URLs
// inside javascript: values. Relative links, mailto:, cid: and the like are ignored.
// encoded_host (bw_html_link.encoded_host) marks the URLs found obfuscated.
bw_status bw_url_add_html_link(bw_url_set *set, bw_slice value, bool encoded_host);

// The URLs collected since the last reset, in order of first appearance; valid until the
// next reset or free.
const bw_url *bw_url_set_items(const bw_url_set *set, size_t *count);
unsigned bw_url_set_flags(const bw_url_set *set);   // bw_url_flag bits since the reset

#endif
