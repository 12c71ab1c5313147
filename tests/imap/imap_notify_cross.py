"""imap_notify_cross.py: NOTIFY (RFC 5465) events caused by other sessions and other processes
reach a session between commands and in IDLE, from the store's change feed: smtpd's delivery
(EXISTS and the MessageNew FETCH), a second imapd process's APPEND, STORE and EXPUNGE in
another mailbox (STATUS, 5.1-5.3) and in the selected one (FETCH FLAGS, EXPUNGE), its CREATE,
SUBSCRIBE, RENAME and DELETE (LIST, 5.4-5.5); NOTIFY SET STATUS (3.1), BADEVENT, NOTIFY NONE.
Every wait is for the line itself, bounded in time (no sleep-and-assert); every process is
stopped; everything listens on 127.0.0.1 only.

Usage: imap_notify_cross.py IMAPD SMTPD
"""
import os
import re
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, check  # noqa: E402

imapd, smtpd = sys.argv[1:3]
TIMEOUT = 20  # seconds for any one awaited line

store = Store('[smtpd]\nhostname = "mx.example.test"\nlisten = ["127.0.0.1:0"]\n'
              'submission = ["127.0.0.1:0"]\nsubmissions = ["127.0.0.1:0"]\n'
              '[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n',
              users=(("alice@example.test", "alice-pw"),))
daemons = []


def start(path, roles):
    p = Process([path, "-c", store.config])
    daemons.append(p)
    return p, p.wait_listening(roles)


def expect(client, pattern, what):
    """Reads lines until one matches `pattern` (a regular expression, whole line), bounded;
    returns the match and the lines before it."""
    deadline = time.time() + TIMEOUT
    seen = []
    while time.time() < deadline and len(seen) < 100:
        line = client.line()
        m = re.fullmatch(pattern, line)
        if m:
            return m, seen
        seen.append(line)
    raise AssertionError("%s: no %r; got %r" % (what, pattern, seen))


def command(client, tag, text, what):
    client.send("%s %s\r\n" % (tag, text))
    m, seen = expect(client, re.escape(tag) + r" (OK|NO|BAD) .*", what)
    check(m.group(1) == "OK", "%s: %s" % (what, m.group(0)))
    return seen


def imap_login(port, tag="a"):
    c = LineClient(port, timeout=TIMEOUT)
    check(c.line().startswith("* OK"), "imapd greets")
    c.send(tag + " LOGIN alice@example.test alice-pw\r\n")
    check(c.line().startswith(tag + " OK"), "imapd login")
    return c


def send_mail(port, subject):
    body = ("From: sender@remote.example\r\nTo: alice@example.test\r\nSubject: %s\r\n\r\nhello\r\n" % subject)
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.sendmail("sender@remote.example", ["alice@example.test"], body)


try:
    _, smtp_ports = start(smtpd, ["smtp"])
    _, imap_ports = start(imapd, ["imap"])
    _, imap2_ports = start(imapd, ["imap"])  # another imapd process on the same store

    a = imap_login(imap_ports["imap"])
    check("NOTIFY" in " ".join(command(a, "a1", "CAPABILITY", "CAPABILITY")).split(), "NOTIFY announced")
    command(a, "a2", "CREATE Lists", "CREATE")
    command(a, "a3", "SELECT INBOX", "SELECT")

    # --- unsupported events: NO [BADEVENT (the supported ones)], RFC 5465 3.1 ------------------
    a.send("a4 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))\r\n")
    m, _ = expect(a, r"a4 .*", "NOTIFY with AnnotationChange")
    check(m.group(0) == "a4 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] "
          "Unsupported NOTIFY event", m.group(0))
    a.send("a5 NOTIFY SET (selected (MessageNew))\r\n")
    m, _ = expect(a, r"a5 .*", "NOTIFY with a lone MessageNew for SELECTED")
    check(m.group(0).startswith("a5 BAD "), m.group(0))

    # --- NOTIFY SET STATUS: a STATUS for every other mailbox before the tagged OK -------------
    seen = command(a, "a6", "NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) "
                   "(personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))", "NOTIFY SET")
    lists = [line for line in seen if line.startswith("* STATUS Lists ")]
    check(len(lists) == 1 and re.fullmatch(r"\* STATUS Lists \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)",
                                           lists[0]) is not None, "initial STATUS of Lists: %r" % seen)
    check(not any(line.startswith("* STATUS INBOX") for line in seen), "no STATUS for the selected mailbox")

    # --- smtpd's delivery, between commands: EXISTS, then the MessageNew FETCH -------------------
    send_mail(smtp_ports["smtp"], "first")
    expect(a, r"\* 1 EXISTS", "EXISTS between commands after smtpd's delivery")
    expect(a, r"\* 1 FETCH \(UID 1 FLAGS \(\\Recent\)\)", "MessageNew's FETCH (UID FLAGS)")

    # --- another process changes another mailbox: STATUS ----------------------------------------
    b = imap_login(imap2_ports["imap"], "b0")
    command(b, "b1", "APPEND Lists {5+}\r\nhello", "APPEND in the other process")
    expect(a, r"\* STATUS Lists \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)", "STATUS after another process's APPEND")
    command(b, "b2", "SELECT Lists", "SELECT Lists in the other process")
    command(b, "b3", "STORE 1 +FLAGS.SILENT (\\Deleted)", "STORE in Lists")
    expect(a, r"\* STATUS Lists \(UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)", "STATUS after a flag change in Lists")
    command(b, "b4", "EXPUNGE", "EXPUNGE in Lists")
    expect(a, r"\* STATUS Lists \(MESSAGES 0 UIDNEXT 2\)", "STATUS after an expunge in Lists")

    # --- ... and the selected mailbox: FETCH FLAGS, then EXPUNGE, unsolicited -------------------
    command(b, "b5", "SELECT INBOX", "SELECT INBOX in the other process")
    command(b, "b6", "STORE 1 +FLAGS.SILENT (\\Flagged)", "STORE in INBOX")
    expect(a, r"\* 1 FETCH \(FLAGS \(\\Flagged \\Recent\)\)", "FlagChange in the selected mailbox")

    # --- mailbox names and subscriptions: LIST (RFC 5465 5.4, 5.5) ------------------------------
    command(b, "b7", "CREATE Projects", "CREATE in the other process")
    expect(a, r'\* LIST \(\\HasNoChildren\) "/" Projects', "MailboxName after CREATE")
    command(b, "b8", "SUBSCRIBE Projects", "SUBSCRIBE in the other process")
    expect(a, r'\* LIST \(\\HasNoChildren \\Subscribed\) "/" Projects', "SubscriptionChange after SUBSCRIBE")
    command(b, "b9", "RENAME Projects Done", "RENAME in the other process")
    expect(a, r'\* LIST \(\\HasNoChildren \\Subscribed\) "/" Done \("OLDNAME" \(Projects\)\)', "MailboxName after RENAME")
    command(b, "b10", "UNSUBSCRIBE Done", "UNSUBSCRIBE in the other process")
    expect(a, r'\* LIST \(\\HasNoChildren\) "/" Done', "SubscriptionChange after UNSUBSCRIBE")
    command(b, "b11", "DELETE Done", "DELETE in the other process")
    expect(a, r'\* LIST \(\\NonExistent\) "/" Done', "MailboxName after DELETE")

    # --- in IDLE: the same events (RFC 5465 4) --------------------------------------------------
    a.send("a7 IDLE\r\n")
    expect(a, r"\+ idling", "IDLE continuation")
    send_mail(smtp_ports["smtp"], "second")
    expect(a, r"\* 2 EXISTS", "EXISTS in IDLE after smtpd's delivery")
    expect(a, r"\* 2 FETCH \(UID 2 FLAGS \(\\Recent\)\)", "MessageNew's FETCH in IDLE")
    command(b, "b12", "STORE 1 +FLAGS.SILENT (\\Deleted)", "STORE \\Deleted in INBOX")
    command(b, "b13", "EXPUNGE", "EXPUNGE in INBOX")
    expect(a, r"\* 1 EXPUNGE", "EXPUNGE in IDLE")
    a.send("DONE\r\n")
    expect(a, r"a7 OK Idle completed", "DONE")

    # --- own changes are not echoed (RFC 5465 5: SHOULD) -----------------------------------------
    seen = command(a, "a8", "CREATE Mine", "own CREATE")
    check(not any(line.startswith("* LIST") for line in seen), "own CREATE not echoed: %r" % seen)

    # --- NOTIFY NONE: another process's change committed before NOOP gives no STATUS --------------
    command(a, "a9", "NOTIFY NONE", "NOTIFY NONE")
    command(b, "b14", "APPEND Lists {5+}\r\nagain", "APPEND after NOTIFY NONE")
    seen = command(a, "a10", "NOOP", "NOOP after NOTIFY NONE")
    check(not any(line.startswith("* STATUS") for line in seen), "no STATUS after NOTIFY NONE: %r" % seen)

    command(b, "b15", "LOGOUT", "LOGOUT of the other session")
    command(a, "a11", "LOGOUT", "LOGOUT")
finally:
    codes = [d.stop() for d in daemons]
for d, code in zip(daemons, codes):
    check(code == 0, "%s exited %s" % (d.argv[0], code))
    check("ERROR" not in d.output and "runtime error" not in d.output, "%s: no error or sanitizer report" % d.argv[0])
print("ok")
