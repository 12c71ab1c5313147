"""imap_cross_daemon.py: imapd sessions hear what other processes do to the same store
(issue 12, "Shared store, several processes"; RFC 9051 6.3.13 IDLE, 7.5.1): a message smtpd
accepts reaches a client in IDLE as "* N EXISTS"; what pop3d deletes at QUIT reaches it as
"* n EXPUNGE"; a flag set in a second imapd process reaches it as "* n FETCH (FLAGS ...)".
Every wait is for the line itself, bounded in time (no sleep-and-assert); every process is
stopped; everything listens on 127.0.0.1 only.

Usage: imap_cross_daemon.py IMAPD SMTPD POP3D
"""
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, check  # noqa: E402

imapd, smtpd, pop3d = sys.argv[1:4]
TIMEOUT = 20  # seconds for any one awaited line

store = Store('[smtpd]\nhostname = "mx.example.test"\nlisten = ["127.0.0.1:0"]\n'
              'submission = ["127.0.0.1:0"]\nsubmissions = ["127.0.0.1:0"]\n'
              '[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n'
              '[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n',
              users=(("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw")))
daemons = []


def start(path, roles):
    p = Process([path, "-c", store.config])
    daemons.append(p)
    return p, p.wait_listening(roles)


def expect(client, want, what):
    """Reads lines until one equals `want` (untagged updates may come first), bounded."""
    deadline = time.time() + TIMEOUT
    seen = []
    while time.time() < deadline and len(seen) < 100:
        line = client.line()
        if line == want:
            return seen
        seen.append(line)
    raise AssertionError("%s: no %r; got %r" % (what, want, seen))


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
    _, pop_ports = start(pop3d, ["pop3"])
    _, imap_ports = start(imapd, ["imap"])
    _, imap2_ports = start(imapd, ["imap"])  # a second imapd process on the same store

    # --- smtpd delivers while a session idles: "* 1 EXISTS" at once --------------------------
    a = imap_login(imap_ports["imap"])
    a.send("b SELECT INBOX\r\n")
    expect(a, "b OK [READ-WRITE] Select completed", "SELECT")
    a.send("c IDLE\r\n")
    check(a.line() == "+ idling", "IDLE continuation")
    sent = time.time()
    send_mail(smtp_ports["smtp"], "first")
    expect(a, "* 1 EXISTS", "IDLE after smtpd's delivery")
    print("EXISTS %.0f ms after smtpd acknowledged" % ((time.time() - sent) * 1000))
    send_mail(smtp_ports["smtp"], "second")
    expect(a, "* 2 EXISTS", "IDLE after a second delivery")

    # --- a flag set in another imapd process --------------------------------------------------
    b = imap_login(imap2_ports["imap"])
    b.send("d SELECT INBOX\r\n")
    expect(b, "d OK [READ-WRITE] Select completed", "SELECT in the second process")
    b.send("e STORE 2 +FLAGS.SILENT (\\Flagged)\r\n")
    expect(b, "e OK Store completed", "STORE in the second process")
    # Message 2 arrived while A had INBOX selected: \Recent is A's (RFC 3501 2.3.2).
    expect(a, "* 2 FETCH (FLAGS (\\Flagged \\Recent))", "IDLE after another process's STORE")
    b.send("f LOGOUT\r\n")
    expect(b, "f OK Logout completed", "LOGOUT in the second process")

    # --- pop3d deletes message 1 at QUIT: "* 1 EXPUNGE" -------------------------------------
    p = LineClient(pop_ports["pop3"], timeout=TIMEOUT)
    check(p.line().startswith("+OK"), "pop3d greets")
    for command in ("USER alice@example.test", "PASS alice-pw", "DELE 1"):
        p.send(command + "\r\n")
        reply = p.line()
        check(reply.startswith("+OK"), "POP3 %s: %s" % (command.split()[0], reply))
    p.send("QUIT\r\n")
    check(p.line().startswith("+OK"), "POP3 QUIT")
    expect(a, "* 1 EXPUNGE", "IDLE after POP3 DELE and QUIT")
    a.send("DONE\r\n")
    expect(a, "c OK Idle completed", "DONE")
    a.send("g FETCH 1:* (UID FLAGS)\r\n")
    check(a.line() == "* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent))", "what is left after POP3's delete")
    check(a.line() == "g OK Fetch completed", "FETCH completed")
    a.send("h LOGOUT\r\n")
    expect(a, "h OK Logout completed", "LOGOUT")
finally:
    codes = [d.stop() for d in daemons]
for d, code in zip(daemons, codes):
    check(code == 0, "%s exited %s" % (d.argv[0], code))
    check("ERROR" not in d.output and "runtime error" not in d.output, "%s: no error or sanitizer report" % d.argv[0])
print("ok")
