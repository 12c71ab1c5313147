"""hikyaku_roundtrip.py: mailcli against hikyaku's own daemons: send through smtpd's submission
port (AUTH, plaintext from loopback) and its inbound port (no AUTH), then read the
messages back over pop3d (plaintext from loopback and implicit TLS): the stored message is the one mailcli
composed (after smtpd's trace headers), stat, uidl and top agree, fetch --keep tracks UIDLs,
fetch over 3 connections from a maildrop pop3d locks gets each message once, delete removes.
Usage: hikyaku_roundtrip.py MAILCLI SMTPD POP3D
Must never: leave a daemon running (the harness stops them at exit).
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, check, strip_trace_headers  # noqa: E402

MAILCLI, SMTPD, POP3D = sys.argv[1:4]
store = Store('[smtpd]\nhostname = "mx.example.test"\nlisten = ["127.0.0.1:0"]\nsubmission = ["127.0.0.1:0"]\n'
              'submissions = []\n[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n',
              users=(("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw")))
smtpd = Process([SMTPD, "-c", store.config])
smtp_ports = smtpd.wait_listening(["smtp", "submission"])
pop3d = Process([POP3D, "-c", store.config])
pop_ports = pop3d.wait_listening(["pop3", "pop3s"])
tmp = tempfile.mkdtemp(prefix="mailcli-hikyaku-")


def mailcli(args, stdin, user, password=None, port=None, tls="starttls"):
    argv = [MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--tls", tls,
            "--ca", store.cert, "--timeout", "20"]
    if user:
        argv += ["--user", user, "--password-stdin"]
        stdin = (password + "\n").encode() + stdin
    return subprocess.run(argv + args, input=stdin, capture_output=True, timeout=120)


attachment = os.path.join(tmp, "notes ü.txt")
with open(attachment, "w") as f:
    f.write("attached text\n")
body = "Hello Bob,\n.leading dot\nünïcödé\n".encode()
fixed = ["--from", "Alice <alice@example.test>", "--to", "bob@example.test", "--subject", "über hikyaku",
         "--attach", attachment, "--date", "Thu, 26 Nov 2026 15:00:00 +0000", "--message-id", "<rt1@example.test>"]
dry = subprocess.run([MAILCLI, "--accounts", "/dev/null", "send", "--dry-run"] + fixed, input=body,
                     capture_output=True, timeout=60)
check(dry.returncode == 0, "dry run")
# Submission with STARTTLS (verified with --ca) and AUTH.
r = mailcli(["send"] + fixed, body, "alice@example.test", "alice-pw", smtp_ports["submission"], tls="starttls")
check(r.returncode == 0, "send through submission with STARTTLS and AUTH (%r)" % r.stderr[-1500:])
r = mailcli(["send", "--from", "carol@elsewhere.test", "--to", "bob@example.test", "--subject", "inbound"],
            b"from outside\n", None, port=smtp_ports["smtp"], tls="none")
check(r.returncode == 0, "send to the inbound port without AUTH (%r)" % r.stderr[-500:])
r = mailcli(["send", "--from", "alice@example.test", "--to", "bob@example.test", "--subject", "x"], b"x\n",
            "alice@example.test", "wrong", smtp_ports["submission"], tls="none")
check(r.returncode == 5, "a wrong password at submission: exit 5 (%d %r)" % (r.returncode, r.stderr))

# POP3 with STLS, over plaintext from loopback, and over implicit TLS (pop3s), verified with --ca.
r = mailcli(["--json", "pop", "list"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"], tls="starttls")
check(r.returncode == 0, "pop list (%r)" % r.stderr[-500:])
listing = json.loads(r.stdout)
check([m["subject"] for m in listing] == ["über hikyaku", "inbound"], "both messages listed (%r)" % listing)
r = mailcli(["pop", "read", "1", "--raw"], b"", "bob@example.test", "bob-pw", pop_ports["pop3s"], tls="tls")
check(r.returncode == 0 and strip_trace_headers(r.stdout) == dry.stdout,
      "the message read back over POP3S is the composed one, byte for byte")
r = mailcli(["pop", "read", "1"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"], tls="none")
text = r.stdout.decode()
check("Subject: über hikyaku" in text and ".leading dot\nünïcödé" in text and "notes ü.txt" in text,
      "the rendered message (%r)" % text[:300])
r = mailcli(["--json", "pop", "stat"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"], tls="none")
check(r.returncode == 0 and json.loads(r.stdout) == {"messages": 2, "octets": sum(m["size"] for m in listing)},
      "pop stat agrees with LIST (%r)" % r.stdout)
r = mailcli(["--json", "pop", "uidl"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"], tls="none")
check(r.returncode == 0 and len({u["uid"] for u in json.loads(r.stdout)}) == 2, "pop uidl: two distinct ids")
r = mailcli(["pop", "top", "1", "0"], b"", "bob@example.test", "bob-pw", pop_ports["pop3s"], tls="tls")
check(r.returncode == 0 and "Subject: =?UTF-8?" in r.stdout.decode() and "Hello Bob" not in r.stdout.decode(),
      "pop top 1 0: the header only")
box = os.path.join(tmp, "Mail")
for expected in (2, 0):
    r = mailcli(["--json", "pop", "fetch", "--to", box, "--keep"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"],
                tls="none")
    check(r.returncode == 0 and json.loads(r.stdout)["fetched"] == expected, "fetch --keep fetched %d" % expected)
# pop3d locks the maildrop (RFC 1939 8): while another session holds it, fetch is refused
# with [IN-USE] in one line. Over 3 connections, a session that asks while the first holds
# the lock is refused and the first fetches everything.
holder = LineClient(pop_ports["pop3"])
check(holder.line().startswith("+OK"), "a session of our own")
holder.send("USER bob@example.test\r\n")
holder.line()
holder.send("PASS bob-pw\r\n")
check(holder.line().startswith("+OK"), "it holds bob's maildrop")
r = mailcli(["pop", "fetch", "--to", os.path.join(tmp, "Locked"), "--connections", "3"], b"", "bob@example.test",
            "bob-pw", pop_ports["pop3"], tls="none")
check(r.returncode != 0 and b"[IN-USE]" in r.stderr and r.stderr.count(b"\n") == 1,
      "a locked maildrop: one line with [IN-USE] (%d %r)" % (r.returncode, r.stderr))
holder.send("QUIT\r\n")
check(holder.line().startswith("+OK") and holder.closed(), "the lock is released")
r = mailcli(["--json", "pop", "fetch", "--to", os.path.join(tmp, "Parallel"), "--keep", "--connections", "3"], b"",
            "bob@example.test", "bob-pw", pop_ports["pop3"], tls="none")
result = json.loads(r.stdout or b"{}")
check(r.returncode == 0 and result["fetched"] == 2 and len(os.listdir(os.path.join(tmp, "Parallel", "new"))) == 2,
      "fetch --connections 3 from a locking server: every message once (%r %r)" % (result, r.stderr))
check(result["failed_connections"] == 0 or b"IN-USE" in r.stderr or b"locked" in r.stderr,
      "a refused session is reported as such (%r)" % r.stderr)
r = mailcli(["pop", "delete", "1", "2"], b"", "bob@example.test", "bob-pw", pop_ports["pop3s"], tls="tls")
check(r.returncode == 0, "delete 1 2")
r = mailcli(["--json", "pop", "list"], b"", "bob@example.test", "bob-pw", pop_ports["pop3"], tls="none")
check(json.loads(r.stdout) == [], "the maildrop is empty after delete")
smtpd.stop()
pop3d.stop()
print("all passed")
