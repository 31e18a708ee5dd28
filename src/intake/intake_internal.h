// SPDX-License-Identifier: MIT
// Internal helpers shared by the intake module's files (not a public API).
#ifndef BOTWATCH_INTAKE_INTERNAL_H
#define BOTWATCH_INTAKE_INTERNAL_H

#include "botwatch/intake.h"
#include "botwatch/str.h"

// Fills m->envelope_sender/date/time from an mbox From_ line without its "From " word.
// The slices point into `line`.
void bw_intake_parse_envelope(bw_slice line, bw_intake_message *m);

// Parses an asctime-style mbox date ("Thu Aug 22 12:36:23 2002", optionally with a zone
// token before the year) as UTC. Returns true on success.
bool bw_intake_parse_asctime(bw_slice date, time_t *out);

#endif
