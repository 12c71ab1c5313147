"""test_smtp_transcripts.py: smtpd against the transcripts in transcripts/*.txt, plus the
cases a transcript cannot express: 101 recipients, a client vanishing mid-DATA, STARTTLS
with pipelined plaintext, implicit TLS (465 role) and --inetd. Every check of what was
stored reads the store itself (store-tool)."""
import glob
import os
import re
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import (LineClient, Process, Store, StoreTool, check, run_transcript,  # noqa: E402
                     strip_trace_headers, binary_dir)

SMTPD_CONFIG = """
[smtpd]
hostname = "mx.example.test"
listen = ["127.0.0.1:0"]
submission = ["127.0.0.1:0"]
submissions = ["127.0.0.1:0"]
max_errors = 15
"""

store = Store(SMTPD_CONFIG, users=(("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw")),
              storage_extra="max_message_size = 20000\n")
store.mailctl("alias", "add", "postmaster@example.test", "alice@example.test")
tool = StoreTool(store)
smtpd_bin = os.path.join(binary_dir(), "smtpd", "smtpd")
daemon = Process([smtpd_bin, "-c", store.config])
ports = daemon.wait_listening(["smtp", "submission", "submissions"])


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


baseline = {}


def directive(client, text, where):
    """count ADDR N: N messages arrived for ADDR since the transcript began."""
    words = text.split(" ", 2)
    if words[0] == "count":
        got = tool.count(words[1]) - baseline[words[1]]
        assert got == int(words[2]), "%s: %s received %d messages" % (where, words[1], got)
    elif words[0] == "last":
        raw = tool.messages(words[1])[-1]["raw"]
        assert strip_trace_headers(raw) == unescape(words[2]), "%s: stored %r" % (where, raw)
    elif words[0] == "header":
        raw = tool.messages(words[1])[-1]["raw"].decode("utf-8", "replace")
        assert re.search(words[2], raw), "%s: stored %r" % (where, raw)
    elif words[0] == "big-data":
        size = int(words[1])
        line = b"x" * 98 + b"\r\n"
        client.send(b"Subject: big\r\n\r\n" + line * (size // 100 + 1) + b".\r\n")
    elif words[0] == "long-line":
        client.send("NOOP " + "x" * int(words[1]) + "\r\n")
    else:
        raise ValueError("%s: unknown directive" % where)


failures = 0
for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "transcripts", "*.txt"))):
    script = open(path, encoding="utf-8").read()
    role = re.search(r"^# role: (\w+)", script, re.M).group(1)
    for address in ("alice@example.test", "bob@example.test"):
        baseline[address] = tool.count(address)
    client = LineClient(ports[role])
    try:
        run_transcript(client, script, os.path.basename(path), directive)
        print("ok: transcript", os.path.basename(path))
    except (AssertionError, EOFError, socket.timeout) as e:
        failures += 1
        print("FAIL: transcript", os.path.basename(path), "\n ", e)
    client.close()


def greet(client):
    assert client.line().startswith("220 ")
    client.send("EHLO client.example\r\n")
    lines = []
    while True:
        line = client.line()
        lines.append(line)
        if line.startswith("250 "):
            return lines


# --- 101 recipients: the 101st gets 452 4.5.3 (RFC 5321 4.5.3.1.10) ------------------------
store.mailctl("alias", "add", "many@example.test", "bob@example.test")
c = LineClient(ports["smtp"])
greet(c)
c.send("MAIL FROM:<a@remote.example>\r\n" + "RCPT TO:<many@example.test>\r\n" * 101)
replies = [c.line() for _ in range(102)]
check(replies[0] == "250 2.1.0 Ok" and all(r == "250 2.1.5 Ok" for r in replies[1:101]), "100 recipients accepted")
check(replies[101] == "452 4.5.3 Error: too many recipients", "101st recipient: %s" % replies[101])
c.send("DATA\r\n")
check(c.line().startswith("354"), "DATA after 100 recipients")
before = tool.count("bob@example.test")
c.send("Subject: many\r\n\r\nx\r\n.\r\n")
check(c.line().startswith("250 2.0.0"), "delivered once")
check(tool.count("bob@example.test") == before + 1, "100 RCPTs reaching one user store one copy")
c.close()

# --- a client that vanishes mid-DATA: nothing stored ---------------------------------------
before = tool.count("alice@example.test")
c = LineClient(ports["smtp"])
greet(c)
c.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
for _ in range(3):
    c.line()
c.send("Subject: cut\r\n\r\nhalf a mess")
local_port = c.sock.getsockname()[1]
c.close()
daemon.wait_for(r"peer=127\.0\.0\.1:%d closed " % local_port)  # the session has ended
check(tool.count("alice@example.test") == before, "client vanished mid-DATA: nothing stored")

# --- STARTTLS: plaintext pipelined after it is discarded (RFC 3207 4) ----------------------
c = LineClient(ports["smtp"])
greet(c)
c.send("STARTTLS\r\nRSET\r\n")
check(c.line() == "220 2.0.0 Ready to start TLS", "STARTTLS accepted")
context = ssl.create_default_context(cafile=store.cert)
tls = context.wrap_socket(c.sock, server_hostname="localhost")
t = LineClient(0, sock=tls)
t.send("EHLO client.example\r\n")
first = t.line()
check(first == "250-mx.example.test greets client.example", "first TLS reply answers EHLO, not the injected RSET: %r" % first)
lines = [first]
while not lines[-1].startswith("250 "):
    lines.append(t.line())
check("250-STARTTLS" not in lines, "STARTTLS no longer offered inside TLS")
check(daemon.wait_for(r"discarded \d+ octets pipelined after STARTTLS"), "discard logged")
t.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
for _ in range(3):
    t.line()
t.send("Subject: tls\r\n\r\nsecret\r\n.\r\n")
check(t.line().startswith("250 2.0.0"), "delivery over STARTTLS")
raw = tool.messages("alice@example.test")[-1]["raw"].decode()
check(re.search(r"with ESMTPS\r\n\t\(version=TLSv1\.[23] cipher=\S+\)", raw) is not None,
      "Received names TLS version and cipher")
t.send("QUIT\r\n")
t.line()
t.close()

# --- implicit TLS (465 role): AUTH offered inside TLS --------------------------------------
raw_sock = socket.create_connection(("127.0.0.1", ports["submissions"]), timeout=10)
tls = context.wrap_socket(raw_sock, server_hostname="localhost")
t = LineClient(0, sock=tls)
caps = greet(t)
check("250-AUTH PLAIN LOGIN" in caps and "250-STARTTLS" not in caps, "submissions offers AUTH, not STARTTLS")
t.send("AUTH PLAIN AGJvYkBleGFtcGxlLnRlc3QAYm9iLXB3\r\n")
check(t.line() == "235 2.7.0 Authentication successful", "AUTH PLAIN over implicit TLS")
t.close()

# --- --inetd: one session on stdin/stdout ---------------------------------------------------
before = tool.count("bob@example.test")
session = (b"EHLO inetd.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           b"Subject: inetd\r\n\r\nvia inetd\r\n.\r\nQUIT\r\n")
r = subprocess.run([smtpd_bin, "-c", store.config, "--inetd"], input=session, capture_output=True, timeout=30)
out = r.stdout.decode()
check(r.returncode == 0 and out.startswith("220 mx.example.test ESMTP") and "221 2.0.0 Bye" in out, "--inetd session")
check(tool.count("bob@example.test") == before + 1, "--inetd delivered")

# --- the store cannot commit: 451 4.3.0 and nothing half-stored ------------------------------
# Another process holds the database's write lock for longer than the store waits for it
# (busy_timeout, 30 s); the delivery must fail as a temporary error, and leave nothing.
import sqlite3  # noqa: E402
locker = sqlite3.connect(store.db, timeout=1, isolation_level=None)
before_alice, before_bob = tool.count("alice@example.test"), tool.count("bob@example.test")
c = LineClient(ports["smtp"], timeout=90)
greet(c)
c.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n")
for _ in range(3):
    c.line()
locker.execute("BEGIN EXCLUSIVE")
c.send("DATA\r\n")
c.line()
c.send("Subject: locked out\r\n\r\nx\r\n.\r\n")
reply = c.line()
locker.execute("ROLLBACK")
locker.close()
check(reply == "451 4.3.0 Error: temporary local problem, try again later", "store failure: %s" % reply)
check(tool.count("alice@example.test") == before_alice and tool.count("bob@example.test") == before_bob,
      "store failure: nothing stored for any recipient")
c.send("NOOP\r\n")
check(c.line() == "250 2.0.0 Ok", "the session goes on after a store failure")
c.close()

# --- a recipient at their message quota (RFC 9208 5.2 MESSAGE): 552 5.2.2, all or none --------
before_alice, before_bob = tool.count("alice@example.test"), tool.count("bob@example.test")
store.mailctl("user", "quota", "bob@example.test", "0", "--messages", str(before_bob))
c = LineClient(ports["smtp"])
greet(c)
c.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
for _ in range(4):
    c.line()
c.send("Subject: one too many\r\n\r\nx\r\n.\r\n")
reply = c.line()
check(reply.startswith("552 5.2.2 Error: mailbox of bob@example.test is over its message quota (%d of %d messages)"
                       % (before_bob, before_bob)), "message quota reached: %s" % reply)
check(tool.count("alice@example.test") == before_alice and tool.count("bob@example.test") == before_bob,
      "message quota: nothing stored for any recipient")
store.mailctl("user", "quota", "bob@example.test", "0", "--messages", str(before_bob + 1))
c.send("MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
for _ in range(4):
    c.line()
c.send("Subject: fits exactly\r\n\r\nx\r\n.\r\n")
reply = c.line()
check(reply.startswith("250 2.0.0"), "one under the message quota: delivered: %s" % reply)
check(tool.count("bob@example.test") == before_bob + 1, "bob now at his message quota")
c.close()
store.mailctl("user", "quota", "bob@example.test", "0", "--messages", "0")

check(tool.integrity() == "ok", "store integrity after all of it")
check(daemon.stop() == 0, "smtpd stops cleanly on SIGTERM")
if failures:
    print("%d transcript(s) failed" % failures)
    sys.exit(1)
print("0 failed")
