"""cli_usage.py: what a user of mailcli meets at the command line and at the wrong port
(issue 16): an unknown subcommand is named with the nearest real one (exit 2), also before
--help; the help of a real subcommand is its own; --help shows every default; send without
--subject sends an empty subject; a forgotten --tls tls on a TLS port (a silent TLS server,
or one that speaks TLS first) and --tls tls on a plaintext port say which flag to use; a
server of another protocol is named ("this is an SMTP server, not POP3"); an unknown key in
the accounts file names the file, the line and the key; an IPv6 server is reached.
Usage: cli_usage.py MAILCLI
Must never: wait longer than the client's --timeout plus the TLS check's bound and a margin.
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import check  # noqa: E402
from fake_servers import fake_server, lines, smtp_sink, until_client_closes  # noqa: E402

MAILCLI = sys.argv[1]
EXIT_USAGE, EXIT_CONNECTION, EXIT_TLS, EXIT_PROTOCOL = 2, 3, 4, 6


def mailcli(args, stdin=b"", timeout=60):
    start = time.time()
    r = subprocess.run([MAILCLI] + args, input=stdin, capture_output=True, timeout=timeout)
    return r, time.time() - start


def one_line_error(r, code, words, name):
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == code, "%s: exit %d (got %d: %r)" % (name, code, r.returncode, err))
    check(err.count("\n") == 1 and err.startswith("mailcli: ") and all(w in err for w in words),
          "%s: one line saying %r (%r)" % (name, words, err))


tmp = tempfile.mkdtemp(prefix="mailcli-usage-")
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", key, "-out", cert], check=True, capture_output=True)
tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls_context.load_cert_chain(cert, key)
BASE = ["--accounts", "/dev/null", "--host", "127.0.0.1"]
SEND = ["send", "--from", "a@example.test", "--to", "b@example.test", "--subject", "s"]
POP = ["--user", "u", "--password-stdin", "pop", "list"]

# --- unknown subcommands, help -----------------------------------------------------------------
r, _ = mailcli(["pop", "retr", "1"])
one_line_error(r, EXIT_USAGE, ["unknown command 'retr'", "did you mean 'read'?"], "pop retr 1")
r, _ = mailcli(["--host", "h", "pop", "retr", "--help"])
one_line_error(r, EXIT_USAGE, ["unknown command 'retr'", "did you mean 'read'?"], "pop retr --help")
check(r.stdout == b"", "pop retr --help prints no help")
r, _ = mailcli(["sned", "--to", "x@y"])
one_line_error(r, EXIT_USAGE, ["unknown command 'sned'", "did you mean 'send'?"], "sned")
r, _ = mailcli(["pop", "frobnicate"])
one_line_error(r, EXIT_USAGE, ["unknown command 'frobnicate'", "stat, list, uidl, top"], "pop frobnicate")
check(b"did you mean" not in r.stderr, "no suggestion when nothing is near")
r, _ = mailcli(["--timeout", "5", "pop", "read", "--help"])
help_text = r.stdout.decode()
check(r.returncode == 0 and "show one message" in help_text and "--raw" in help_text
      and "download every message" not in help_text, "pop read --help is the help of pop read (%r)" % help_text)
r, _ = mailcli(["pop", "top", "--help"])
check(r.returncode == 0 and "LINES" in r.stdout.decode() and "10" in r.stdout.decode(),
      "pop top --help shows LINES and its default")
r, _ = mailcli(["pop", "fetch", "--to", tmp, "--connections", "33"])
one_line_error(r, EXIT_USAGE, ["--connections"], "pop fetch over 33 connections")
r, _ = mailcli(["pop", "fetch", "--to", tmp, "--connections", "0"])
one_line_error(r, EXIT_USAGE, ["--connections"], "pop fetch over 0 connections")
r, _ = mailcli(["pop", "fetch", "--help"])
text = " ".join(r.stdout.decode().split())
check(r.returncode == 0 and "locks the maildrop" in text and "=1" in text.split("--connections")[1][:40],
      "pop fetch --help: --connections, default 1, and why a locking server admits one (%r)" % text)
r, _ = mailcli(["imap", "sync", "--help"])
check(r.returncode == 0 and b"--connections" in r.stdout and b"4" in r.stdout, "imap sync --help: --connections, default 4")
r, _ = mailcli(["imap", "watch", "--help"])
text = " ".join(r.stdout.decode().split())
check(r.returncode == 0 and "in [1 - 1740]=1680" in text.split("--renew")[1][:40],
      "imap watch --help: IDLE renewed after 28 minutes by default, never later than 29 (RFC 2177 3)")
r, _ = mailcli(["imap", "watch", "--renew", "1741"])
one_line_error(r, EXIT_USAGE, ["--renew"], "imap watch --renew past 29 minutes")
r, _ = mailcli(["imap", "serach", "x"])
one_line_error(r, EXIT_USAGE, ["unknown command 'serach'", "did you mean 'search'?"], "imap serach")
r, _ = mailcli(["imap", "export", "INBOX", "--maildir", tmp, "--connections", "33"])
one_line_error(r, EXIT_USAGE, ["--connections"], "imap export over 33 connections")
r, _ = mailcli(["--help"])
help_text = r.stdout.decode()
check(r.returncode == 0, "--help exits 0")
# Each option's entry: from its line to the next option's (CLI11 may wrap the description).
entries = {}
for block in re.split(r"\n(?=  -)", help_text.split("Subcommands:")[0]):
    m = re.match(r"\s+(?:-h,)?(--[\w-]+)", block)
    if m:
        entries[m.group(1)] = " ".join(block.split())
for option, default in (("--timeout", "=30"), ("--tls", "else starttls"), ("--port", "SMTP 587"),
                        ("--accounts", "mailcli.toml"), ("--host", "default:"), ("--user", "default:"),
                        ("--ca", "default:"), ("--account", "default:"), ("--password-stdin", "default:")):
    check(default in entries.get(option, ""), "--help shows the default of %s (%r)" % (option, entries.get(option)))

# --- send without --subject ------------------------------------------------------------------
r, _ = mailcli(BASE + ["send", "--from", "a@example.test", "--to", "b@example.test", "--dry-run",
                       "--date", "Thu, 26 Nov 2026 15:00:00 +0000", "--message-id", "<x@y>"], b"hi\n")
check(r.returncode == 0 and b"\r\nSubject: \r\n" in r.stdout, "send without --subject: an empty Subject (%r)" % r.stdout)
got = []
port = fake_server(lambda c: smtp_sink(c, got=got))
r, _ = mailcli(BASE + ["--port", str(port), "--tls", "none", "send", "--from", "a@example.test", "--to",
                       "b@example.test"], b"no subject here\n")
check(r.returncode == 0 and len(got) == 1 and b"\r\nSubject: \r\n" in got[0],
      "a message without subject is sent (%r %r)" % (r.stderr, got))

# --- --tls tls forgotten, or given on a plaintext port ------------------------------------------


def silent_tls(conn):
    tls = tls_context.wrap_socket(conn, server_side=True)  # waits for a ClientHello
    tls.sendall(b"220 mx.test ESMTP over TLS\r\n")
    for line in lines(tls):
        if line == b"QUIT":
            return


port = fake_server(silent_tls)
for args, name in ((SEND, "send"), (POP, "pop list")):
    r, took = mailcli(BASE + ["--port", str(port), "--timeout", "2", "--tls", "starttls"] + args, b"pw\nbody\n")
    one_line_error(r, EXIT_TLS, ["this port expects TLS: use --tls tls"], "%s to a silent TLS port" % name)
    check(took < 2 + 5 + 5, "%s: the TLS check is bounded (%.1f s)" % (name, took))


def tls_speaks_first(conn):
    conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")  # a TLS alert before anything else
    until_client_closes(conn)


port = fake_server(tls_speaks_first)
r, took = mailcli(BASE + ["--port", str(port), "--timeout", "10", "--tls", "none"] + SEND, b"body\n")
one_line_error(r, EXIT_TLS, ["speaks TLS on this port: use --tls tls"], "a server speaking TLS first")
check(took < 5, "no wait for a server that speaks TLS first (%.1f s)" % took)

port = fake_server(lambda c: smtp_sink(c))
r, _ = mailcli(BASE + ["--port", str(port), "--tls", "tls", "--insecure"] + SEND, b"body\n")
one_line_error(r, EXIT_TLS, ["does not speak TLS on this port", "try --tls starttls"], "--tls tls on a plaintext port")

# --- the wrong protocol -------------------------------------------------------------------------
smtp_port = fake_server(lambda c: smtp_sink(c))
r, _ = mailcli(BASE + ["--port", str(smtp_port), "--tls", "none"] + POP, b"pw\n")
one_line_error(r, EXIT_PROTOCOL, ["this is an SMTP server, not POP3", "220 mx.test ESMTP"], "pop list on SMTP")


def pop_server(conn):
    conn.sendall(b"+OK POP3 ready\r\n")
    for line in lines(conn):
        conn.sendall(b"-ERR what\r\n")


port = fake_server(pop_server)
r, _ = mailcli(BASE + ["--port", str(port), "--tls", "none"] + SEND, b"body\n")
one_line_error(r, EXIT_PROTOCOL, ["this is a POP3 server, not SMTP"], "send on POP3")


def imap_server(conn):
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    for line in lines(conn):
        pass


port = fake_server(imap_server)
r, _ = mailcli(BASE + ["--port", str(port), "--tls", "none"] + POP, b"pw\n")
one_line_error(r, EXIT_PROTOCOL, ["this is an IMAP server, not POP3"], "pop list on IMAP")

# --- the accounts file ----------------------------------------------------------------------------
accounts = os.path.join(tmp, "mailcli.toml")
with open(accounts, "w") as f:
    f.write('[accounts.work]\nhost = "127.0.0.1"\nsmtp-port = 2525\n')
r, _ = mailcli(["--accounts", accounts] + SEND, b"body\n")
one_line_error(r, EXIT_USAGE, [accounts + ":3: unknown key 'smtp-port' in [accounts.work]"], "unknown key")
with open(accounts, "w") as f:
    f.write('[accounts.work]\nhost = "127.0.0.1"\nsmtp_port = %d\ntls = "none"\n' % smtp_port)
r, _ = mailcli(["--accounts", accounts] + SEND, b"body\n")
check(r.returncode == 0, "the account's smtp_port is used (%r)" % r.stderr)

# --- IPv6 ------------------------------------------------------------------------------------------
got6 = []
port6 = fake_server(lambda c: smtp_sink(c, got=got6), socket.AF_INET6, "::1")
r, _ = mailcli(["--accounts", "/dev/null", "--host", "::1", "--port", str(port6), "--tls", "none"] + SEND, b"v6\n")
check(r.returncode == 0 and len(got6) == 1, "send over IPv6 (%r)" % r.stderr)
print("all passed")
