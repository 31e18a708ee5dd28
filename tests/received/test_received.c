// SPDX-License-Identifier: MIT
// Unit tests for bw_received: a table of real Received header values (from the
// SpamAssassin public corpus and ../shared/data/mail/phishing0.mbox, one row per format
// family) with the IP, HELO, rDNS and by-name each must yield; then the sender-hop walk
// with inferred and configured trust, and forged-hop detection below the boundary.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "botwatch/error.h"
#include "botwatch/received.h"

typedef struct received_case {
    const char *value;
    const char *ip, *helo, *rdns, *by;
} received_case;

static const received_case cases[] = {
    // words of 16+ bytes ended by '(', a tab and a folded line (the tokenizer's 16-byte scan)
    { "from very-long-hostname.example.org(rdns-of-the-sender.example.net [192.0.2.7])\r\n\tby mx.some-long-receiver.example.com\twith ESMTP id ABC; Thu, 22 Aug 2002 16:13:20 +0100",
      "192.0.2.7", "very-long-hostname.example.org", "rdns-of-the-sender.example.net", "mx.some-long-receiver.example.com" },
    // sendmail / Postfix: "from HELO (rdns [ip])"
    { "from smtp.easydns.com (smtp.easydns.com [205.210.42.30]) by webnote.net (8.9.3/8.9.3) with ESMTP id QAA05397 for <zzzz@spamassassin.taint.org>; Thu, 22 Aug 2002 16:13:20 +0100",
      "205.210.42.30", "smtp.easydns.com", "smtp.easydns.com", "webnote.net" },
    { "from mymail.dk (unknown [61.97.34.233]) by smtp.easydns.com (Postfix) with SMTP id 7484A2F85C; Fri, 23 Aug 2002 03:13:31 -0400 (EDT)",
      "61.97.34.233", "mymail.dk", "", "smtp.easydns.com" },
    { "from email.qves.com ([67.104.83.251]) by lugh.tuatha.org (8.9.3/8.9.3) with ESMTP id NAA29282 for <ilug@linux.ie>; Thu, 22 Aug 2002 13:18:37 +0100",
      "67.104.83.251", "email.qves.com", "", "lugh.tuatha.org" },
    { "from email.qves.com (email1.qves.net [209.63.151.251] (may be forged)) by webnote.net (8.9.3/8.9.3) with ESMTP id OAA04953; Thu, 22 Aug 2002 14:37:23 +0100",
      "209.63.151.251", "email.qves.com", "email1.qves.net", "webnote.net" },
    { "from einstein.ssz.com (cpunks@[207.200.56.4]) by hq.pro-ns.net (8.12.5/8.12.5) with ESMTP id g6N8mrhX089672; Tue, 23 Jul 2002 03:48:58 -0500 (CDT)",
      "207.200.56.4", "einstein.ssz.com", "", "hq.pro-ns.net" },
    { "from mail.kti.nsc.ru (IDENT:root@ns.kti.nsc.ru [194.226.170.3]) by webnote.net (8.9.3/8.9.3) with ESMTP id FAA00636; Thu, 19 Sep 2002 05:25:23 +0100",
      "194.226.170.3", "mail.kti.nsc.ru", "ns.kti.nsc.ru", "webnote.net" },
    { "from 200.161.16.132 (unknown [210.19.113.130]) by smtp.easydns.com (Postfix) with SMTP id 694632EE5A; Thu, 22 Aug 2002 11:12:57 -0400 (EDT)",
      "210.19.113.130", "200.161.16.132", "", "smtp.easydns.com" },
    { "from localhost (localhost [127.0.0.1]) by phobos.labs.spamassassin.taint.org (Postfix) with ESMTP id 136B943C32 for <zzzz@localhost>; Thu, 22 Aug 2002 08:17:21 -0400 (EDT)",
      "127.0.0.1", "localhost", "localhost", "phobos.labs.spamassassin.taint.org" },
    // fetchmail: "from host [ip] by localhost with POP3"
    { "from mail.webnote.net [193.120.211.219] by localhost with POP3 (fetchmail-5.9.0) for zzzz@localhost (single-drop); Thu, 22 Aug 2002 13:17:21 +0100 (IST)",
      "193.120.211.219", "mail.webnote.net", "", "localhost" },
    // qmail: "from rdns (HELO helo) (ip)", "from unknown (ip)", QMQP, "invoked from network[ip/rdns]"
    { "from unknown (HELO mx.loxsystems.net) (114.106.224.38) by rly-xl05.dohuya.com with NNFMP; Sun, 25 Aug 0102 02:03:20 +0500",
      "114.106.224.38", "mx.loxsystems.net", "", "rly-xl05.dohuya.com" },
    { "from host-64-65-193-193.spr.choiceone.net (HELO server01.fnlonline.com) (64.65.193.193) by smtp.choiceone.net with SMTP; 3 Sep 2002 12:41:09 -0000",
      "64.65.193.193", "server01.fnlonline.com", "host-64-65-193-193.spr.choiceone.net", "smtp.choiceone.net" },
    { "from unknown (52.127.142.42) by rly-xl04.mx.aol.com with smtp; Aug, 22 2002 8:02:13 AM +0400",
      "52.127.142.42", "unknown", "", "rly-xl04.mx.aol.com" },
    { "from 177.139.227.166 ([177.139.227.166]) by sparc.isl.net with QMQP; Aug, 22 2002 4:47:16 AM -0000",
      "177.139.227.166", "177.139.227.166", "", "sparc.isl.net" },
    { "(qmail 26210 messnum 563502 invoked from network[159.134.184.93/p93.as2.virginia1.eircom.net]); 21 May 2002 15:09:42 -0000",
      "159.134.184.93", "", "p93.as2.virginia1.eircom.net", "" },
    { "(qmail 29481 invoked from network); 19 Jul 2002 07:27:23 -0000", "", "", "", "" },
    { "from unknown (HELO newcastle23) (newcastle23@195.234.182.160 with login) by smtp803.mail.sc5.yahoo.com with SMTP; 14 Apr 2005 02:37:26 -0000",
      "195.234.182.160", "newcastle23", "", "smtp803.mail.sc5.yahoo.com" },
    // Exim: "from rdns ([ip] helo=x)", "from [ip] (helo=x)", port forms
    { "from usw-sf-list1-b.sourceforge.net ([10.3.1.13] helo=usw-sf-list1.sourceforge.net) by usw-sf-list2.sourceforge.net with esmtp (Exim 3.31-VA-mm2 #1 (Debian)) id 17j2vi-0007l8-00; Sun, 25 Aug 2002 12:20:00 -0700",
      "10.3.1.13", "usw-sf-list1.sourceforge.net", "usw-sf-list1-b.sourceforge.net", "usw-sf-list2.sourceforge.net" },
    { "from [200.164.227.2] (helo=qfgf94776.com) by byron.heanet.ie with smtp (Exim 4.05) id 17kMJ2-0007g5-00 for social@linux.ie; Thu, 29 Aug 2002 11:13:43 +0100",
      "200.164.227.2", "qfgf94776.com", "", "byron.heanet.ie" },
    { "from [212.35.74.147] (port=2480 helo=aseel-skqpk3w8p) by digdug.vosn.net with esmtpa (Exim 4.44) id 1DHE2I-0006Bs-F3; Thu, 31 Mar 2005 21:45:36 -0700",
      "212.35.74.147", "aseel-skqpk3w8p", "", "digdug.vosn.net" },
    { "from mail.example.org ([198.51.100.7]:53422 helo=mx.example.org) by mx.example.net with esmtps (TLS1.2) (Exim 4.92) id 1abc; Mon, 01 Jan 2024 00:00:00 +0000",
      "198.51.100.7", "mx.example.org", "mail.example.org", "mx.example.net" },
    { "from infong233.us.perfora.net[217.160.226.16] (helo=infong233) by mx.example.com with esmtp; Mon, 1 Nov 2004 10:00:00 +0000",
      "217.160.226.16", "infong233", "infong233.us.perfora.net", "mx.example.com" },
    // Exchange / Microsoft SMTPSVC / Exchange Online IPv6
    { "from qvp0091 ([169.254.6.22]) by email.qves.com with Microsoft SMTPSVC(5.0.2195.2966); Thu, 22 Aug 2002 06:18:18 -0600",
      "169.254.6.22", "qvp0091", "", "email.qves.com" },
    { "from mail.Flashmail.com (202.9.154.217 [202.9.154.217]) by marvin.kidsheart.com with SMTP (Microsoft Exchange Internet Mail Service Version 5.5.2656.59) id RL0XLBTW; Mon, 26 Aug 2002 00:21:57 -0400",
      "202.9.154.217", "mail.Flashmail.com", "", "marvin.kidsheart.com" },
    { "from mx.terra.es ([213.98.99.221] RDNS failed) by host1.andst.com with Microsoft SMTPSVC(6.0.3663.0); Tue, 24 Sep 2002 22:06:18 +0900",
      "213.98.99.221", "mx.terra.es", "", "host1.andst.com" },
    { "from BN8NAM12FT012.eop-nam12.prod.protection.outlook.com (2603:10b6:408:e3:cafe::c1) by BN9PR03CA0123.outlook.office365.com (2603:10b6:408:fe::8) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6; Mon, 1 Jan 2024 00:00:00 +0000",
      "2603:10b6:408:e3:cafe::c1", "BN8NAM12FT012.eop-nam12.prod.protection.outlook.com", "", "BN9PR03CA0123.outlook.office365.com" },
    { "from tiputil1 (10.2.0.30) by TIPSMTP1.ADMANMAIL.COM (LSMTP for Windows NT v1.1b) with SMTP id <123.000035F8@TIPSMTP1.ADMANMAIL.COM>; Thu, 22 Aug 2002 11:11:42 -0500",
      "10.2.0.30", "tiputil1", "", "TIPSMTP1.ADMANMAIL.COM" },
    // IPv6 literals in sendmail and Postfix forms
    { "from mail.example.org (mail.example.org [IPv6:2001:db8::25]) by mx.example.net (8.15.2/8.15.2) with ESMTPS id x; Tue, 2 Jan 2024 10:00:00 +0100",
      "2001:db8::25", "mail.example.org", "mail.example.org", "mx.example.net" },
    { "from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8::2]) by mx.example.net (Postfix) with ESMTPSA id 1; Tue, 2 Jan 2024 10:00:00 +0100",
      "2001:db8::2", "[IPv6:2001:db8::1]", "", "mx.example.net" },
    // CommuniGate, bare IP first word, odd spacing, smtp0592.mail.yahoo.com([ip])
    { "from [172.191.136.24] (HELO mx1.mail.yahoo.com) by pccityny.net (CommuniGate Pro SMTP 3.4.3) with ESMTP id 2075992; Wed, 28 Aug 2002 10:24:55 -0400",
      "172.191.136.24", "mx1.mail.yahoo.com", "", "pccityny.net" },
    { "from 10.0.0.6 by server ([10.0.0.1] running VPOP3) with SMTP for <ler@lerctr.org>; Wed, 4 Sep 2002 16:50:10 +0530",
      "10.0.0.6", "10.0.0.6", "", "server" },
    { "from  (HELO qp6sldz) [164.137.88.97] by 10.23.1.4 with SMTP; Fri, 28 Jan 2005 16:14:14 +0400",
      "164.137.88.97", "qp6sldz", "", "10.23.1.4" },
    { "from smtp0592.mail.yahoo.com([10.1.0.7]) by (AIMC 2.9.5.1) with SMTP id zzzz433d871ef3; Tue, 17 Sep 2002 19:22:32 +0800",
      "10.1.0.7", "smtp0592.mail.yahoo.com", "", "" },
    { "from 20.84.152.113 by 65.23.81.142; Sat, 27 Nov 2004 15:24:27 -0500",
      "20.84.152.113", "20.84.152.113", "", "65.23.81.142" },
    // no IP: local submission, list exploders, webmail
    { "(from come@localhost) by carrey.adgrafix.com (8.9.3/8.9.3) id VAA15757; Fri, 23 Aug 2002 21:24:39 -0400 (EDT)",
      "", "", "", "carrey.adgrafix.com" },
    { "by hub.freebsd.org (Postfix, from userid 538) id 128BB37B405; Tue,  3 Sep 2002 13:33:08 -0700 (PDT)",
      "", "", "", "hub.freebsd.org" },
    { "from kolaowo@netscape.net by imo-d09.mx.aol.com (mail_out_v33.5.) id z.1f.4d8775c (16239) for <kolaowo@netscape.net>; Fri, 23 Aug 2002 14:51:02 -0400 (EDT)",
      "", "kolaowo@netscape.net", "", "imo-d09.mx.aol.com" },
    { "from TIPUTIL2 (tiputil2.corp.tiprelease.com) by TIPSMTP1.ADMANMAIL.COM (LSMTP for Windows NT v1.1b) with SMTP id <22.0000A4E8@TIPSMTP1.ADMANMAIL.COM>; Tue, 17 Sep 2002 10:32:47 -0500",
      "", "TIPUTIL2", "", "TIPSMTP1.ADMANMAIL.COM" },
};

static bool slice_is(bw_slice s, const char *want)
{
    return s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0);
}

static void test_format_table(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof cases[0];
    assert_true(n >= 25);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        bw_received_hop hop;
        bool parsed = bw_received_parse(bw_slice_cstr(cases[i].value), &hop);
        if (!parsed || !slice_is(hop.ip, cases[i].ip) || !slice_is(hop.from_name, cases[i].helo)
            || !slice_is(hop.from_rdns, cases[i].rdns) || !slice_is(hop.by_name, cases[i].by)
            || hop.has_addr != (cases[i].ip[0] != '\0') || hop.date_text.n == 0) {
            fprintf(stderr, "case %zu: %s\n  got ip=[%.*s] helo=[%.*s] rdns=[%.*s] by=[%.*s] parsed=%d\n", i,
                    cases[i].value, (int)hop.ip.n, hop.ip.p, (int)hop.from_name.n, hop.from_name.p,
                    (int)hop.from_rdns.n, hop.from_rdns.p, (int)hop.by_name.n, hop.by_name.p, parsed);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_unparseable(void **state)
{
    (void)state;
    bw_received_hop hop;
    static const char *bad[] = { "", ";", "garbage without keywords", "(((((", "[1.2.3.4]" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(bw_received_parse(bw_slice_cstr(bad[i]), &hop));
        assert_int_equal(hop.ip.n, 0);
    }
    // Hostile: unbalanced parentheses, 10k tokens, deep nesting: bounded, no overrun.
    static char big[20000];
    memset(big, '(', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    (void)bw_received_parse(bw_slice_make(big, sizeof big - 1), &hop);
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "x ", 2);
    memcpy(big, "from a [1.2.3.4] by b", 21);
    assert_true(bw_received_parse(bw_slice_make(big, sizeof big - 1), &hop));
    assert_true(slice_is(hop.ip, "1.2.3.4"));
    // Nested and unbalanced comments end where the parentheses balance (or at the end):
    // the first comment, nesting and all, gives the IP; "by c" is outside every comment.
    assert_true(bw_received_parse(BW_SLICE_LIT("from a (x (y) [9.9.9.9]) (b [1.2.3.4]) by c"), &hop));
    assert_true(slice_is(hop.ip, "9.9.9.9") && slice_is(hop.by_name, "c"));
    assert_true(bw_received_parse(BW_SLICE_LIT("from a (x [5.6.7.8] by c"), &hop));
    assert_true(slice_is(hop.ip, "5.6.7.8") && hop.by_name.n == 0);
}

// A chain as the SpamAssassin corpus has it: local delivery, fetchmail, the MX, the bot.
static const char *const chain[] = {
    "from localhost (localhost [127.0.0.1]) by phobos.labs.example.org (Postfix) with ESMTP id 1; Thu, 22 Aug 2002 08:17:21 -0400",
    "from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost (single-drop); Thu, 22 Aug 2002 13:17:21 +0100",
    "from relay2.example.org (relay2.example.org [192.0.2.80]) by mx.example.org (8.9.3) with ESMTP id A; Thu, 22 Aug 2002 13:16:00 +0100",
    "from bot.example (dsl-1.isp.example [45.33.32.156]) by relay2.example.org (Postfix) with SMTP id B; Thu, 22 Aug 2002 08:15:00 -0400",
    "from spoofed.example ([5.6.7.8]) by not-the-bot.example with SMTP; Thu, 29 Aug 2002 08:15:00 -0400",
};

static size_t load_chain(bw_received_hop *hops)
{
    // Times the caller (bw_mail) would fill from date_text; here by hand, as UTC seconds.
    static const time_t times[] = { 1030018641, 1030018641, 1030018560, 1030018500, 1030623300 };
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(bw_received_parse(bw_slice_cstr(chain[i]), &hops[i]));
        hops[i].time = times[i];
        hops[i].has_time = true;
    }
    return n;
}

static void test_sender_inferred(void **state)
{
    (void)state;
    bw_received_hop hops[8];
    size_t n = load_chain(hops);
    // 127.0.0.1 and 192.0.2.80 (documentation range) are special, the fetchmail line is a
    // mailbox fetch: the first public address is the bot's.
    int sender = bw_received_find_sender(NULL, hops, n);
    assert_int_equal(sender, 3);
    assert_true(slice_is(hops[3].ip, "45.33.32.156"));
    assert_true(slice_is(hops[3].from_name, "bot.example"));
    assert_true(slice_is(hops[3].from_rdns, "dsl-1.isp.example"));
    assert_true(hops[0].trusted && hops[1].trusted && hops[2].trusted && !hops[3].trusted);
    assert_true(hops[4].forged);   // a week newer than the hop that received it
}

static void test_sender_public_ips(void **state)
{
    (void)state;
    // Public addresses: the rDNS inside the receiving domain (example.org from the top
    // hop's by-name) makes relay2 internal; the next hop is the sender.
    static const char *const values[] = {
        "from localhost (localhost [127.0.0.1]) by mx.victim.org (Postfix) with ESMTP id 1; Thu, 22 Aug 2002 12:17:21 +0000",
        "from relay2.victim.org (relay2.victim.org [8.8.4.4]) by mx.victim.org (8.9.3) with ESMTP id A; Thu, 22 Aug 2002 12:16:00 +0000",
        "from bot (dsl-1.isp.net [9.9.9.9]) by relay2.victim.org (Postfix) with SMTP id B; Thu, 22 Aug 2002 12:15:00 +0000",
        "from x ([1.1.1.1]) by somewhere-else.net with SMTP; Thu, 29 Aug 2002 12:15:00 +0000",
        "from y ([1.0.0.1]) by also-wrong.net with SMTP; Thu, 22 Aug 2002 12:00:00 +0000",
        "garbage",
    };
    static const time_t times[] = { 1030018641, 1030018560, 1030018500, 1030623300, 1030017600, 0 };
    bw_received_hop hops[6];
    for (size_t i = 0; i < 6; i++) {
        bw_received_parse(bw_slice_cstr(values[i]), &hops[i]);
        hops[i].time = times[i];
        hops[i].has_time = i < 5;
    }
    int sender = bw_received_find_sender(NULL, hops, 6);
    assert_int_equal(sender, 2);
    assert_true(slice_is(hops[2].ip, "9.9.9.9"));
    assert_true(slice_is(hops[2].from_name, "bot"));
    assert_true(hops[0].trusted && hops[1].trusted && !hops[2].trusted);
    assert_true(hops[3].forged);    // a week later than the hop above it
    assert_true(hops[4].forged);    // by-name names no host of the hop above
    assert_true(hops[5].forged);    // unparseable
    assert_false(hops[2].forged);

    // Configured: only 127/8 (implicit) and the listed CIDR; relay2 is listed by name.
    const char *entries[] = { "8.8.4.0/24" };
    char errbuf[BW_ERRBUF_SIZE];
    bw_received_trust *trust = bw_received_trust_new(entries, 1, errbuf);
    assert_non_null(trust);
    assert_int_equal(bw_received_find_sender(trust, hops, 6), 2);
    bw_received_trust_free(trust);
    const char *by_name[] = { ".victim.org", "10.0.0.0/8" };
    trust = bw_received_trust_new(by_name, 2, errbuf);
    assert_int_equal(bw_received_find_sender(trust, hops, 6), 2);
    bw_received_trust_free(trust);
    const char *none_match[] = { "192.0.2.0/24" };
    trust = bw_received_trust_new(none_match, 1, errbuf);
    assert_int_equal(bw_received_find_sender(trust, hops, 6), 1);   // relay2 is now outside
    bw_received_trust_free(trust);
    const char *bad[] = { "not a host!" };
    assert_null(bw_received_trust_new(bad, 1, errbuf));
    assert_non_null(strstr(errbuf, "not a host!"));
}

static void test_all_trusted(void **state)
{
    (void)state;
    bw_received_hop hops[2];
    bw_received_parse(bw_slice_cstr("from a (a [10.0.0.1]) by b.example.com; Thu, 22 Aug 2002 12:17:21 +0000"), &hops[0]);
    bw_received_parse(bw_slice_cstr("(qmail 1 invoked by uid 0); 22 Aug 2002 12:17:21 -0000"), &hops[1]);
    assert_int_equal(bw_received_find_sender(NULL, hops, 2), -1);
    assert_int_equal(bw_received_find_sender(NULL, hops, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_unparseable),
        cmocka_unit_test(test_sender_inferred),
        cmocka_unit_test(test_sender_public_ips),
        cmocka_unit_test(test_all_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
