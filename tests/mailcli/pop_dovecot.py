"""pop_dovecot.py: mailcli pop against Dovecot's pop3d (an independent POP3 server) started here
with a temporary configuration on loopback ports: list (TOP 0 headers, --json and columns),
read (rendered text and HTML, attachment list), save (decoded attachment bytes), fetch into
a Maildir with --keep and UIDL tracking (no second download), delete, STLS and implicit TLS
verified with --ca, and a refused password.
Usage: pop_dovecot.py MAILCLI
Must never: touch a system-wide Dovecot; every file lives in a temporary directory.
"""
import glob
import gzip
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Process, check, free_port  # noqa: E402

MAILCLI = sys.argv[1]
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
if not os.path.exists(DOVECOT):
    # A missing peer is a broken install, not a reason to pass quietly.
    print("FAIL: dovecot is not installed; run scripts/install-deps.sh test")
    sys.exit(1)

tmp = tempfile.mkdtemp(prefix="mailcli-dovecot-")
os.chmod(tmp, 0o755)
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", key, "-out", cert], check=True, capture_output=True)
if os.getuid() == 0:
    mail_user = internal_user = "dovecot"
    login_user = "dovenull"
else:
    mail_user = internal_user = login_user = pwd.getpwuid(os.getuid()).pw_name
uid, gid = pwd.getpwnam(mail_user).pw_uid, pwd.getpwnam(mail_user).pw_gid
port, tls_port = free_port(), free_port()
with open(os.path.join(tmp, "passwd"), "w") as f:
    f.write("alice:{PLAIN}alice-pw\n")
maildir = os.path.join(tmp, "mail", "alice")
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(maildir, sub))
config = os.path.join(tmp, "dovecot.conf")
with open(config, "w") as f:
    f.write("""
base_dir = {t}/run
state_dir = {t}/state
log_path = /dev/stderr
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{t}/cert.pem
ssl_key = <{t}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {iu}
default_login_user = {lu}
mail_location = maildir:{t}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {t}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={t}/mail/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {p}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {ps}
    ssl = yes
  }}
}}
""".format(t=tmp, iu=internal_user, lu=login_user, uid=uid, gid=gid, p=port, ps=tls_port))


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
for i, raw in enumerate((composed.stdout, html), 1):
    with open(os.path.join(maildir, "new", "%d.test:2," % i), "wb") as f:
        f.write(raw)
    time.sleep(0.01)
if os.getuid() == 0:
    for root, dirs, files in os.walk(os.path.join(tmp, "mail")):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid)
    os.chown(os.path.join(tmp, "mail"), uid, gid)

server = Process([DOVECOT, "-F", "-c", config])
try:
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or server.proc.poll() is not None:
                server.stop()
                raise RuntimeError("dovecot did not start:\n" + server.output[-3000:])
            time.sleep(0.1)

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

    r = mailcli("pop", "list", stdin=b"wrong\n")
    check(r.returncode == 5 and b"wrong" not in r.stderr, "a refused password: exit 5 (%d)" % r.returncode)
finally:
    server.stop()
print("all passed")
