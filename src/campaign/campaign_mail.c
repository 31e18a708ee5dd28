// SPDX-License-Identifier: MIT
// The one place the campaign module meets the parser's record: what ingest calls per
// message. Kept apart so the clustering itself builds and tests without the parser.
#include "botwatch/campaign.h"
#include "botwatch/mail.h"

void bw_campaign_msg_from_mail(const bw_mail_record *record, bw_campaign_msg *msg)
{
    msg->subject = record->message ? record->message->subject : BW_SLICE_NULL;
    msg->text = record->text;
    msg->urls = record->urls;
    msg->url_count = record->url_count;
    msg->sender_ip = record->sender_ip;
}
