"""pop_dovecot.py: mailcli pop against Dovecot's pop3d (an independent POP3 server) started here
with a temporary configuration on loopback ports: list (TOP 0 headers, --json and columns),
stat, uidl, top, read (rendered text and HTML, attachment list), save (decoded attachment
bytes), fetch into a Maildir with --keep and UIDL tracking (no second download), fetch over 2
connections with its progress bar on a terminal and over 4 (each message once), delete,
STLS and implicit TLS verified with --ca, and a refused password.
Usage: pop_dovecot.py MAILCLI
Must never: touch a system-wide Dovecot; every file lives in a temporary directory.
"""
import glob
import gzip
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import check, run_on_terminal  # noqa: E402
from dovecot_server import Dovecot  # noqa: E402

MAILCLI = sys.argv[1]

dovecot = Dovecot(protocols=("pop3",))
tmp, cert = dovecot.tmp, dovecot.cert
port, tls_port = dovecot.pop3_port, dovecot.pop3s_port
maildir = dovecot.maildir()


def mailcli(*args, stdin=b"alice-pw\n", tls="none", p=None):
    argv = [MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(p or port), "--tls", tls,
            "--user", "alice", "--password-stdin", "--timeout", "10"] + list(args)
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=60)


# Two messages: one composed by mailcli (UTF-8, an attachment), one HTML-only.
attachment = os.path.join(tmp, "données.gz")
payload = gzip.compress(bytes(range(256)) * 4, mtime=0)
with open(attachment, "wb") as f:
    f.write(payload)
composed = subprocess.run([MAILCLI, "--accounts", "/dev/null", "send", "--dry-run", "--from", "Zoë <zoe@example.test>",
                           "--to", "alice@example.test", "--subject", "Grüße aus Köln", "--attach", attachment,
                           "--date", "Thu, 26 Nov 2026 15:00:00 +0000"], input="Hallo Alice,\nbis bald.\n".encode(),
                          capture_output=True, timeout=30)
check(composed.returncode == 0, "composed a message with mailcli --dry-run")
html = (b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: =?ISO-8859-1?Q?caf=E9?=\r\n"
        b"Date: Fri, 27 Nov 2026 10:00:00 +0100\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Hello <b>Alice</b> &amp; all</p></body></html>\r\n")
delivered = int(time.time()) - 60
for i, raw in enumerate((composed.stdout, html), 1):
    path = os.path.join(maildir, "new", "%d.test:2," % i)
    with open(path, "wb") as f:
        f.write(raw)
    os.utime(path, (delivered + i, delivered + i))  # message i arrived before i+1, whatever the clock's grain
dovecot.start()
try:
    r = mailcli("--json", "pop", "list")
    check(r.returncode == 0, "pop list --json exits 0 (%r)" % r.stderr[-800:])
    listing = json.loads(r.stdout)
    check([m["number"] for m in listing] == [1, 2], "two messages listed")
    check(listing[0]["subject"] == "Grüße aus Köln" and listing[0]["from"] == "Zoë <zoe@example.test>",
          "headers from TOP 0 are decoded (%r)" % listing[0])
    check(listing[1]["subject"] == "café" and listing[0]["size"] > len(payload), "sizes and ISO-8859-1 subjects")
    r = mailcli("pop", "list")
    text = r.stdout.decode()
    check(r.returncode == 0 and "SUBJECT" in text and "café" in text and "\x1b" not in text,
          "columns without colors when not on a terminal")

    r = mailcli("--json", "pop", "stat")
    check(r.returncode == 0 and json.loads(r.stdout) == {"messages": 2, "octets": sum(m["size"] for m in listing)},
          "pop stat: messages and octets as LIST counts them (%r)" % r.stdout)
    r = mailcli("pop", "stat")
    check(r.returncode == 0 and r.stdout.decode().startswith("2 messages, "), "pop stat for people (%r)" % r.stdout)
    r = mailcli("--json", "pop", "uidl")
    uids = json.loads(r.stdout)
    check(r.returncode == 0 and [u["number"] for u in uids] == [1, 2] and all(u["uid"] for u in uids),
          "pop uidl lists a unique id per message (%r)" % r.stdout)
    r = mailcli("pop", "uidl")
    check(r.returncode == 0 and uids[1]["uid"] in r.stdout.decode(), "pop uidl as a table")
    r = mailcli("pop", "top", "2", "0")
    text = r.stdout.decode()
    check(r.returncode == 0 and "Subject: =?ISO-8859-1?Q?caf=E9?=" in text and "Hello" not in text,
          "pop top N 0: the header only (%r)" % text)
    r = mailcli("pop", "top", "2")
    check(r.returncode == 0 and "<p>Hello <b>Alice</b>" in r.stdout.decode() and "\r" not in r.stdout.decode(),
          "pop top N: the header and the first lines, terminal-safe")
    r = mailcli("--json", "pop", "top", "2", "1")
    check(r.returncode == 0 and json.loads(r.stdout)["text"].endswith("</html>\r\n"), "pop top --json")
    r = mailcli("pop", "top", "9")
    check(r.returncode == 2 and b"no message 9" in r.stderr, "top of a missing message is a usage error")

    r = mailcli("pop", "read", "1")
    text = r.stdout.decode()
    check(r.returncode == 0 and "Subject: Grüße aus Köln" in text and "Hallo Alice,\nbis bald." in text,
          "read shows decoded headers and the text (%r)" % text[:400])
    check("données.gz  application/gzip  %d bytes" % len(payload) in text, "read lists the attachment with its libmagic type")
    r = mailcli("pop", "read", "2")
    check(r.returncode == 0 and "Hello Alice & all" in r.stdout.decode(), "HTML is rendered as plain text")
    r = mailcli("pop", "read", "9")
    check(r.returncode == 2 and b"no message 9" in r.stderr, "reading a missing message is a usage error")

    out = os.path.join(tmp, "saved")
    r = mailcli("pop", "save", "1", "--attachments", out)
    check(r.returncode == 0, "save exits 0 (%r)" % r.stderr)
    with open(os.path.join(out, "données.gz"), "rb") as f:
        check(f.read() == payload, "the saved attachment has the original bytes")

    box = os.path.join(tmp, "Fetched")
    r = mailcli("--json", "pop", "fetch", "--to", box, "--keep")
    check(r.returncode == 0 and json.loads(r.stdout)["fetched"] == 2, "fetch --keep downloads both (%r)" % r.stdout)
    files = sorted(glob.glob(os.path.join(box, "new", "*")))
    check(len(files) == 2, "two files in the Maildir's new/")
    contents = sorted(open(p, "rb").read() for p in files)
    check(contents == sorted([composed.stdout, html]), "fetched files are the messages byte for byte")
    r = mailcli("--json", "pop", "fetch", "--to", box, "--keep")
    result = json.loads(r.stdout)
    check(result["fetched"] == 0 and result["skipped"] == 2, "a second fetch --keep downloads nothing")

    r = mailcli("--json", "pop", "list", tls="starttls", stdin=b"alice-pw\n")
    check(r.returncode == 4, "STLS without --ca fails verification (exit 4)")
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--user",
                        "alice", "--password-stdin", "--ca", cert, "--json", "pop", "list"],
                       input=b"alice-pw\n", capture_output=True, timeout=60)
    check(r.returncode == 0 and len(json.loads(r.stdout)) == 2, "STLS (the default) verified with --ca (%r)" % r.stderr)
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "localhost", "--port", str(tls_port), "--tls",
                        "tls", "--user", "alice", "--password-stdin", "--ca", cert, "--trace", "pop", "list"],
                       input=b"alice-pw\n", capture_output=True, timeout=60)
    check(r.returncode == 0 and b"PASS ****" in r.stderr and b"alice-pw" not in r.stderr,
          "implicit TLS works; the trace masks the password (%r)" % r.stderr[-300:])

    r = mailcli("pop", "delete", "2")
    check(r.returncode == 0, "delete exits 0")
    r = mailcli("--json", "pop", "list")
    check([m["number"] for m in json.loads(r.stdout)] == [1], "the deleted message is gone")
    r = mailcli("--json", "pop", "fetch", "--to", box)
    result = json.loads(r.stdout)
    check(result["fetched"] == 0 and result["deleted"] == 1, "fetch without --keep skips known UIDs, deletes them")
    r = mailcli("--json", "pop", "list")
    check(json.loads(r.stdout) == [], "the mailbox is empty")

    # --- fetch over 4 connections: disjoint shares into one Maildir, each message once ----------
    bulk = {}
    for i in range(150):
        raw = (b"From: bulk@example.test\r\nSubject: bulk %d\r\n\r\n" % i) + (b"line %d\r\n" % i) * (i * 7 + 1)
        bulk[raw] = i
        path = os.path.join(maildir, "new", "%d.bulk%03d.test" % (delivered + 10 + i, i))
        with open(path, "wb") as f:
            f.write(raw)
    code, out, err = run_on_terminal([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port),
                                      "--tls", "none", "--user", "alice", "--password-stdin", "pop", "fetch", "--keep",
                                      "--to", os.path.join(tmp, "OnTerminal"), "--connections", "2"], b"alice-pw\n")
    check(code == 0 and b"150/150 msgs" in err and b"MB/s" in err and b"ETA" in err,
          "a progress bar on a terminal (%r)" % err[-200:])
    parallel = os.path.join(tmp, "Parallel")
    r = mailcli("--json", "--trace", "pop", "fetch", "--to", parallel, "--connections", "4")
    result = json.loads(r.stdout)
    check(r.returncode == 0 and result["fetched"] == 150 and result["deleted"] == 150 and result["connections"] == 4
          and result["failed_connections"] == 0, "fetch over 4 connections (%r %r)" % (result, r.stderr[-300:]))
    check(r.stderr.count(b"C: USER alice") + r.stderr.count(b"C: AUTH PLAIN") == 4,
          "4 logins: the first session goes on as one of the 4")
    retrieved = [int(line.split()[2]) for line in r.stderr.splitlines() if line.startswith(b"C: RETR ")]
    check(len(retrieved) == 150, "150 RETR, none twice (%d)" % len(retrieved))
    files = glob.glob(os.path.join(parallel, "new", "*"))
    got = sorted(bulk[open(p, "rb").read()] for p in files)
    check(got == list(range(150)), "each message once in the one Maildir, byte for byte")
    check(os.listdir(os.path.join(parallel, "tmp")) == [], "nothing left in tmp/")
    r = mailcli("--json", "pop", "list")
    check(json.loads(r.stdout) == [], "every session's deletions committed")

    r = mailcli("pop", "list", stdin=b"wrong\n")
    check(r.returncode == 5 and b"wrong" not in r.stderr, "a refused password: exit 5 (%d)" % r.returncode)
finally:
    dovecot.remove()
print("all passed")
