#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test oracle for botwatch's MIME parser: Python's email package (policy.default).

Reads mbox files (a file starting with "From "), single message files, or directories
of them (walked in sorted order) and prints one JSON object per message (JSONL):

  {"source": PATH, "index": N, "subject": STR|null,
   "parts": [{"content_type": STR, "is_multipart": BOOL, "text": STR|null}, ...],
   "text_urls": [STR, ...], "error": STR (only if Python failed)}

parts is msg.walk() (pre-order); text is get_content() for text/* leaves. text_urls is
every match of https?://[^\\s<>"']+ over those texts. The output is ASCII (\\u escapes).

mbox splitting is the same as botwatch's tests (tests/mime/mime_test_util.c): "From "
at a line start begins a message; lines matching ^>+From lose one '>' (mboxrd).

Deliberate normalisations, so the comparison measures parsing and not presentation:
- Raw 8-bit header bytes (which Python keeps as surrogate escapes) are read as UTF-8
  with U+FFFD for invalid sequences (RFC 6532), as botwatch does.
- A charset Python does not know (get_content raises LookupError) is decoded as
  windows-1252 with errors="replace": botwatch's documented fallback.
"""
import email
import json
import os
import re
import sys
from email import policy

URL_RE = re.compile(r"""https?://[^\s<>"']+""")
MBOXRD_RE = re.compile(rb"^>(>*From )")


def clean(text):
    """A str with lone surrogates from surrogateescape turned back into UTF-8 reading."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8", "replace")


def split_mbox(data):
    messages = []
    current = None
    # Only LF ends a line here (bytes.splitlines would also split at a bare CR).
    lines = data.split(b"\n")
    lines = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    for line in lines:
        if line.startswith(b"From "):
            if current is not None:
                messages.append(b"".join(current))
            current = []
            continue
        if current is None:
            current = []
        current.append(MBOXRD_RE.sub(rb"\1", line))
    if current is not None and (current or messages):
        messages.append(b"".join(current))
    return messages


def text_of(part):
    try:
        return part.get_content()
    except LookupError:
        payload = part.get_payload(decode=True) or b""
        return payload.decode("windows-1252", "replace")


def describe(data, source, index):
    record = {"source": source, "index": index}
    try:
        msg = email.message_from_bytes(data, policy=policy.default)
        subject = msg.get("subject")
        record["subject"] = None if subject is None else clean(str(subject))
        parts = []
        urls = []
        for part in msg.walk():
            text = None
            if part.get_content_maintype() == "text" and not part.is_multipart():
                text = clean(text_of(part))
                urls.extend(URL_RE.findall(text))
            parts.append({
                "content_type": part.get_content_type(),
                "is_multipart": part.is_multipart(),
                "text": text,
            })
        record["parts"] = parts
        record["text_urls"] = urls
    except Exception as exc:  # the oracle failing on a message is itself a finding
        record["error"] = "%s: %s" % (type(exc).__name__, exc)
    return record


def sources(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(root, name)
        else:
            yield path


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: email_oracle.py MBOX_OR_FILE_OR_DIR...\n")
        return 2
    out = sys.stdout
    for path in sources(argv[1:]):
        with open(path, "rb") as f:
            data = f.read()
        messages = split_mbox(data) if data.startswith(b"From ") else [data]
        for index, message in enumerate(messages):
            out.write(json.dumps(describe(message, path, index), ensure_ascii=True))
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
