#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_session.c.

    python3 tests/data/proofs/fuzz_session_seeds.py tests/fuzz/corpus/fuzz_session

Each seed is a server script (see the top of fuzz_session.c for the layout):
a mode byte, then sections separated by "--" lines, modelled on what Dovecot
2.3 and Exchange Online answer (greetings, capabilities, LIST-EXTENDED with
SPECIAL-USE, STATUS, EXAMINE, UID FETCH with literals, APPENDUID, throttling),
plus the hostile cases of the test plan (huge, negative and truncated
literals, STARTTLS refused or with a response injected behind its OK,
PREAUTH, LOGINDISABLED, BYE in the middle of a FETCH).  Seeds are written
only where they differ from the file already there, so crash reproducers kept
in the same directory are left alone.
"""
import os
import sys

CRLF = "\r\n"

# mode bits (see fuzz_session.c)
STARTTLS, AUTHZID, XOAUTH2, MULTI, REFUSE_SINK = 1, 4, 8, 16, 32
DEPTH = {1: 0, 2: 64, 8: 128, 64: 192}

DOVECOT_PRE = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
               "AUTH=PLAIN AUTH=XOAUTH2")
DOVECOT_POST = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
                "THREAD=REFERENCES MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
                "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
                "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
                "PREVIEW=FUZZY STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE")
EXCHANGE = ("IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT "
            "CHILDREN IDLE NAMESPACE LITERAL+")
# an older server: synchronising literals only, no UIDPLUS
COURIER = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE AUTH=PLAIN"


def s(*lines):
    return "".join(l + CRLF for l in lines)


def msg(n, body="Hello.\r\n"):
    return ("Message-ID: <%d@example.org>\r\nDate: Wed, 1 Jan 2020 10:10:00 +0000\r\n"
            "Subject: message %d\r\n\r\n%s" % (n, n, body))


def hdr(n):
    return "Message-ID: <%d@example.org>\r\nDate: Wed, 1 Jan 2020 10:10:00 +0000\r\n\r\n" % n


def fetch_meta(uids):
    out = []
    for i, uid in enumerate(uids, 1):
        h = hdr(uid)
        out.append('* %d FETCH (UID %d FLAGS (\\Seen $Label1) INTERNALDATE "01-Jan-2020 10:10:00 +0000" '
                   'RFC822.SIZE %d BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {%d}' %
                   (i, uid, len(msg(uid)), len(h)) + CRLF + h + ")")
    return out


def fetch_bodies(uids):
    out = []
    for i, uid in enumerate(uids, 1):
        h, m = hdr(uid), msg(uid)
        out.append('* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE "01-Jan-2020 10:10:00 +0000" '
                   'RFC822.SIZE %d BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {%d}' %
                   (i, uid, len(m), len(h)) + CRLF + h + " BODY[] {%d}" % len(m) + CRLF + m + ")")
    return out


def dovecot_session(login, caps_pre=DOVECOT_PRE, caps_post=DOVECOT_POST, greeting=None,
                    tls=None, append=None, fetch=None):
    """The sections of a whole session with Dovecot's answers."""
    secs = [s(greeting or "* OK [CAPABILITY %s] Dovecot ready." % caps_pre)]
    if tls:
        secs += tls
    secs += [
        # libcurl's CAPABILITY during its connect phase, then ours
        s("* CAPABILITY " + caps_pre, "$T OK Pre-login capabilities listed, post-login capabilities have more."),
        s("* CAPABILITY " + caps_pre, "$T OK Capability completed."),
    ]
    secs += login
    secs += [
        s("* CAPABILITY " + caps_post, "$T OK Capability completed."),
    ]
    if " ID " in " %s " % caps_post:
        secs += [s('* ID ("name" "Dovecot")', "$T OK ID completed.")]
    secs += [
        s('* NAMESPACE (("" ".")) NIL NIL', "$T OK Namespace completed."),
        s('* LIST (\\HasNoChildren \\Subscribed) "." INBOX',
          '* LIST (\\HasNoChildren \\Subscribed \\Sent) "." Sent',
          '* LIST (\\HasNoChildren \\Trash) "." Trash',
          '* LIST (\\HasChildren \\Subscribed) "." Projects',
          '* LIST (\\HasNoChildren) "." "Projects.2024 Q1"',
          '* LIST (\\HasNoChildren) "." "Entw&APw-rfe"',
          "$T OK List completed (0.001 + 0.000 secs)."),
    ]
    if "LIST-EXTENDED" not in caps_post:
        secs += [s('* LSUB () "." INBOX', '* LSUB () "." Sent', "$T OK LSUB completed.")]
    secs += [
        s("* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 1577873400)", "$T OK Status completed."),
        s("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)",
          "* OK [PERMANENTFLAGS ()] Read-only mailbox.",
          "* 2 EXISTS", "* 0 RECENT",
          "* OK [UIDVALIDITY 1577873400] UIDs valid",
          "* OK [UIDNEXT 3] Predicted next UID",
          "$T OK [READ-ONLY] Examine completed (0.001 + 0.000 secs)."),
        s(*(fetch_meta([1, 2]) + ["$T OK Fetch completed."])),
        s(*((fetch or fetch_bodies([1, 2])) + ["$T OK Fetch completed."])),
        s("$T OK Create completed."),
        s("$T OK Subscribe completed."),
    ]
    secs += append or [
        s("$T OK [APPENDUID 1700000000 1] Append completed."),
        s("$T OK [APPENDUID 1700000000 2] Append completed."),
    ]
    secs += [
        s("$T OK Store completed."),
        s("* BYE Logging out", "$T OK Logout completed."),
    ]
    return secs


LOGIN_OK = [s("$T OK [CAPABILITY %s] Logged in" % DOVECOT_POST)]
SEEDS = {}


def seed(name, mode, secs, sep=None):
    seps = sep or ["--"] * (len(secs) - 1)
    text = secs[0]
    for sp, sec in zip(seps, secs[1:]):
        text += sp + "\n" + sec
    SEEDS[name] = bytes([mode]) + text.encode("utf-8", "surrogateescape")


# --- realistic sessions
seed("dovecot-login", DEPTH[64], dovecot_session(LOGIN_OK))
seed("dovecot-login-depth1", DEPTH[1], dovecot_session(LOGIN_OK))
seed("dovecot-plain-authzid", DEPTH[8] | AUTHZID, dovecot_session(LOGIN_OK))
seed("dovecot-plain-no-sasl-ir", DEPTH[2] | AUTHZID,
     dovecot_session([s("+ "), s("$T OK Logged in")],
                     caps_pre="IMAP4rev1 ID LITERAL+ AUTH=PLAIN"))
seed("dovecot-multiappend", DEPTH[64] | MULTI,
     dovecot_session(LOGIN_OK, append=[s("$T OK [APPENDUID 1700000000 1:2] Append completed.")]))
seed("dovecot-starttls", DEPTH[64] | STARTTLS,
     dovecot_session(LOGIN_OK,
                     caps_pre="IMAP4rev1 SASL-IR ID LITERAL+ STARTTLS LOGINDISABLED",
                     tls=[s("* CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ STARTTLS LOGINDISABLED",
                            "$T OK Pre-login capabilities listed."),
                          s("$T OK Begin TLS negotiation now.")]))
seed("exchange-xoauth2", DEPTH[8] | XOAUTH2,
     dovecot_session([s("$T OK AUTHENTICATE completed.")], caps_pre=EXCHANGE, caps_post=EXCHANGE,
                     greeting="* OK The Microsoft Exchange IMAP4 service is ready. [TABAE4AFAAAA]",
                     append=[s("$T OK [APPENDUID 14 101] APPEND completed."),
                             s("$T OK [APPENDUID 14 102] APPEND completed.")]))
seed("courier-sync-literals", DEPTH[64] | MULTI,
     dovecot_session([s("$T OK LOGIN Ok.")], caps_pre=COURIER, caps_post=COURIER,
                     greeting="* OK [CAPABILITY %s] Courier-IMAP ready." % COURIER,
                     append=[s("+ OK"), s("$T OK [APPENDUID 1 5] APPEND Ok."),
                             s("+ OK"), s("$T NO [ALERT] Mailbox is full.")]))
seed("exchange-xoauth2-refused", DEPTH[8] | XOAUTH2,
     [s("* OK The Microsoft Exchange IMAP4 service is ready."),
      s("* CAPABILITY " + EXCHANGE, "$T OK CAPABILITY completed."),
      s("* CAPABILITY " + EXCHANGE, "$T OK CAPABILITY completed."),
      s("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbS8uZGVmYXVsdCJ9"),
      s("$T NO AUTHENTICATE failed."),
      s("* BYE Connection is closed. 13")])
seed("exchange-throttled", DEPTH[8],
     dovecot_session(LOGIN_OK, caps_pre=EXCHANGE, caps_post=EXCHANGE,
                     append=[s("$T NO [SERVERBUG] Request is throttled. Suggested Backoff Time: 2000 milliseconds"),
                             s("$T BAD Request is throttled. Suggested Backoff Time: 600001 milliseconds")]))
seed("login-refused", DEPTH[64],
     [s("* OK [CAPABILITY %s] Dovecot ready." % DOVECOT_PRE),
      s("* CAPABILITY " + DOVECOT_PRE, "$T OK Pre-login capabilities listed."),
      s("* CAPABILITY " + DOVECOT_PRE, "$T OK Capability completed."),
      s("$T NO [AUTHENTICATIONFAILED] Authentication failed.")])
seed("login-unavailable", DEPTH[64],
     [s("* OK [CAPABILITY %s] Dovecot ready." % DOVECOT_PRE),
      s("* CAPABILITY " + DOVECOT_PRE, "$T OK Pre-login capabilities listed."),
      s("* CAPABILITY " + DOVECOT_PRE, "$T OK Capability completed."),
      s("$T NO [UNAVAILABLE] Temporary authentication failure."),
      s("* BYE Disconnected for inactivity.")])
seed("preauth", DEPTH[64],
     dovecot_session([], greeting="* PREAUTH [CAPABILITY %s] Logged in as alice" % DOVECOT_POST,
                     caps_pre=DOVECOT_POST))
seed("logindisabled-plaintext", DEPTH[64],
     [s("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready."),
      s("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED", "$T OK Pre-login capabilities listed."),
      s("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED", "$T OK Capability completed."),
      s("$T OK Logged in (must never be asked)")])
seed("list-lsub-no-extended", DEPTH[64],
     dovecot_session(LOGIN_OK, caps_post="IMAP4rev1 ID NAMESPACE UIDPLUS LITERAL+")[:7] + [
         s('* LIST (\\Noselect) "/" ""', "$T OK LIST completed."),
         s('* LIST () "/" INBOX', '* LIST (\\HasChildren) "/" "Old/Mail"', '* LIST () NIL Flat',
           '* LIST () "/" {11}', "Caf&AOk-/Bar", "$T OK LIST completed."),
         s('* LSUB () "/" INBOX', '* LSUB () "/" "Old/Mail"', "$T OK LSUB completed."),
     ])

# --- STARTTLS attacks (libcurl must refuse before any credential is sent)
seed("starttls-missing", DEPTH[64] | STARTTLS,
     [s("* OK IMAP ready."), s("* CAPABILITY IMAP4rev1 LOGINDISABLED", "$T OK done."),
      s("$T BAD unknown command"), s("$T OK Logged in")])
seed("starttls-refused", DEPTH[64] | STARTTLS,
     [s("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready."),
      s("* CAPABILITY IMAP4rev1 STARTTLS", "$T OK done."), s("$T NO TLS not available"),
      s("$T OK Logged in")])
seed("starttls-injected", DEPTH[64] | STARTTLS,
     [s("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready."),
      s("* CAPABILITY IMAP4rev1 STARTTLS", "$T OK done."),
      s("$T OK Begin TLS negotiation now.", "* CAPABILITY IMAP4rev1 AUTH=PLAIN",
        "A1 OK injected")])
seed("starttls-preauth", DEPTH[64] | STARTTLS,
     [s("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as alice"),
      s("* CAPABILITY IMAP4rev1", "$T OK done."), s("$T OK Begin TLS")])

# --- hostile answers
hello = [s("* OK [CAPABILITY %s] Dovecot ready." % DOVECOT_PRE),
         s("* CAPABILITY " + DOVECOT_PRE, "$T OK Pre-login capabilities listed."),
         s("* CAPABILITY " + DOVECOT_PRE, "$T OK Capability completed.")]
logged_in = hello + LOGIN_OK + [
    s("* CAPABILITY " + DOVECOT_POST, "$T OK Capability completed."),
    s('* ID NIL', "$T OK ID completed."),
    s('* NAMESPACE (("" ".")) NIL NIL', "$T OK Namespace completed.")]
for name, lit in [("literal-2^64-1", "{18446744073709551615}"), ("literal-2^32", "{4294967296}"),
                  ("literal-negative", "{-1}"), ("literal-huge-digits", "{184467440737095516150}"),
                  ("literal8", "~{5}")]:
    seed("hostile-list-" + name, DEPTH[64],
         logged_in + [s('* LIST () "." ' + lit, "Hello", "$T OK List completed.")])
seed("hostile-list-names", DEPTH[64],
     logged_in + [s('* LIST () "." "../../etc"', '* LIST () "." "a/b"', '* LIST () "." {3}',
                    "a\0b", '* LIST () "." ""', '* LIST () "." "&Jjo-&-&AGE"', '* LIST () "." "&ZZZ"',
                    '* LIST () "." "' + "x" * 5000 + '"', "$T OK List completed.")])
seed("hostile-long-line", DEPTH[64], logged_in + [s("* " + "A" * 70000, "$T OK List completed.")])
seed("hostile-fetch-truncated", DEPTH[64],
     dovecot_session(LOGIN_OK, fetch=['* 1 FETCH (UID 1 RFC822.SIZE 50 BODY[] {50}', "only a few bytes"]))
seed("hostile-fetch-bye", DEPTH[64],
     dovecot_session(LOGIN_OK, fetch=fetch_bodies([1]) + ["* BYE Server shutting down."]))
seed("hostile-fetch-size-lie", DEPTH[64],
     dovecot_session(LOGIN_OK, fetch=['* 1 FETCH (UID 2 RFC822.SIZE 999999999999 BODY[] {4}', "abcd)",
                                      '* 2 FETCH (UID 1 FLAGS (\\Seen \\Recent) BODY[] "quoted body")',
                                      '* 3 FETCH (FLAGS (\\Seen))', '* 4 FETCH (UID 4294967296 BODY[] NIL)']))
seed("hostile-fetch-sink-refuses", DEPTH[64] | REFUSE_SINK, dovecot_session(LOGIN_OK))
seed("hostile-meta-unsorted", DEPTH[64],
     dovecot_session(LOGIN_OK)[:11] + [
         s('* 3 FETCH (UID 9 FLAGS () INTERNALDATE "31-Dec-1969 23:59:59 +0000" RFC822.SIZE 1)',
           '* 1 FETCH (UID 3 FLAGS (\\Recent) INTERNALDATE "bogus" RFC822.SIZE -5)',
           '* 2 FETCH (UID 3 FLAGS (\\Seen) INTERNALDATE "01-Jan-2020 10:10:00 +0000" RFC822.SIZE 7)',
           "$T OK Fetch completed.")])
seed("hostile-append-no-uidplus", DEPTH[64] | MULTI,
     dovecot_session(LOGIN_OK, caps_post="IMAP4rev1 MULTIAPPEND",
                     append=[s("$T NO [TRYCREATE] Mailbox doesn't exist"),
                             s("$T OK [APPENDUID 0 0] done"), s("$T OK [APPENDUID x y] done")]))
seed("hostile-continuation-spam", DEPTH[2] | AUTHZID,
     hello[:1] + [s("* CAPABILITY IMAP4rev1 AUTH=PLAIN", "$T OK done."),
                  s("* CAPABILITY IMAP4rev1 AUTH=PLAIN", "$T OK done."),
                  s("+ "), s("+ Zm9v"), s("+ "), s("$T OK")])
seed("hostile-greeting-bye", DEPTH[64], [s("* BYE Too many connections")])
seed("hostile-greeting-garbage", DEPTH[64], ["\x00\xff\r\n", s("$T OK")])
seed("hostile-untagged-flood", DEPTH[64],
     logged_in + [s(*["* %d EXISTS" % i for i in range(200)] + ["* 1 EXPUNGE", "* OK [ALERT] hi",
                                                              "$T OK List completed."])])
seed("hostile-server-echoes-password", DEPTH[64],
     hello + [s("$T NO [AUTHENTICATIONFAILED] wrong password fuzz-Pw-9c1e7a for alice")])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_session"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        path = os.path.join(out, "seed-" + name)
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
