"""test_smtp_interop.py: real SMTP clients from Debian against smtpd, each message then
checked byte for byte in the store (the client's bytes after the trace headers hikyaku
prepends): swaks (plain, PIPELINING, STARTTLS + AUTH), curl smtp:// and smtps://, msmtp
(STARTTLS + AUTH), Python's smtplib (8-bit with BODY=8BITMIME, SMTPUTF8 addresses,
submission with login)."""
import email
import email.policy
import os
import smtplib
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Process, Store, StoreTool, binary_dir, check, strip_trace_headers  # noqa: E402

store = Store('[smtpd]\nhostname = "mx.example.test"\nlisten = ["127.0.0.1:0"]\n'
              'submission = ["127.0.0.1:0"]\nsubmissions = ["127.0.0.1:0"]\n',
              users=(("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw")))
tool = StoreTool(store)
daemon = Process([os.path.join(binary_dir(), "smtpd", "smtpd"), "-c", store.config])
ports = daemon.wait_listening(["smtp", "submission", "submissions"])
work = tempfile.mkdtemp(prefix="hikyaku-interop-")


def message(tag, extra=b""):
    return (b"From: Sender <sender@remote.example>\r\nTo: alice@example.test\r\nSubject: " + tag.encode() +
            b"\r\nDate: Thu, 26 Nov 2026 12:00:00 +0000\r\nMessage-ID: <" + tag.encode() + b"@remote.example>\r\n\r\n"
            b"Hello from " + tag.encode() + b".\r\n..leading dot line\r\n" + extra + b"last line\r\n")


def newest(address):
    return strip_trace_headers(tool.messages(address)[-1]["raw"])


def run(argv, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    if r.returncode != 0:
        print("command failed:", " ".join(argv), r.stdout.decode(errors="replace")[-2000:],
              r.stderr.decode(errors="replace")[-2000:])
    return r.returncode


def write(name, data):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# swaks, plain with PIPELINING
body = message("swaks-plain")
path = write("swaks.eml", body)
check(run(["swaks", "--server", "127.0.0.1:%d" % ports["smtp"], "--from", "sender@remote.example",
           "--to", "alice@example.test", "--pipeline", "--data", "@" + path, "--silent", "2"]) == 0,
      "swaks --pipeline accepted")
# swaks always ends DATA with "\r\n.\r\n", so a file ending in CRLF gains an empty line.
check(newest("alice@example.test") == body + b"\r\n", "swaks: stored byte for byte")

# swaks, STARTTLS + AUTH PLAIN on submission
body = message("swaks-tls").replace(b"To: alice@example.test", b"To: bob@example.test")
path = write("swaks-tls.eml", body)
check(run(["swaks", "--server", "127.0.0.1:%d" % ports["submission"], "--tls", "--auth", "PLAIN",
           "--auth-user", "alice@example.test", "--auth-password", "alice-pw", "--from", "alice@example.test",
           "--to", "bob@example.test", "--data", "@" + path, "--silent", "2"]) == 0, "swaks STARTTLS + AUTH")
stored = tool.messages("bob@example.test")[-1]["raw"]
check(strip_trace_headers(stored) == body + b"\r\n", "swaks over TLS: stored byte for byte")
check(b"with ESMTPSA" in stored and b"(authenticated as alice@example.test)" in stored,
      "Received records TLS and the authenticated user")

# swaks AUTH with a wrong password is refused and stores nothing
before = tool.count("bob@example.test")
check(run(["swaks", "--server", "127.0.0.1:%d" % ports["submission"], "--tls", "--auth", "PLAIN",
           "--auth-user", "alice@example.test", "--auth-password", "wrong", "--from", "alice@example.test",
           "--to", "bob@example.test", "--silent", "2"]) != 0, "swaks with a wrong password fails")
check(tool.count("bob@example.test") == before, "nothing stored after a failed AUTH")

# curl smtp:// and smtps://
body = message("curl-plain")
path = write("curl.eml", body)
check(run(["curl", "-sS", "smtp://127.0.0.1:%d" % ports["smtp"], "--mail-from", "sender@remote.example",
           "--mail-rcpt", "alice@example.test", "--upload-file", path]) == 0, "curl smtp://")
check(newest("alice@example.test") == body, "curl smtp://: stored byte for byte")
body = message("curl-smtps").replace(b"From: Sender <sender@remote.example>", b"From: alice@example.test")
path = write("curls.eml", body)
check(run(["curl", "-sS", "smtps://127.0.0.1:%d" % ports["submissions"], "--cacert", store.cert,
           "--user", "alice@example.test:alice-pw", "--mail-from", "alice@example.test",
           "--mail-rcpt", "bob@example.test", "--upload-file", path]) == 0, "curl smtps:// with AUTH")
check(newest("bob@example.test") == body, "curl smtps://: stored byte for byte")

# msmtp, STARTTLS + AUTH, from a file with LF line endings (msmtp sends CRLF)
body = message("msmtp").replace(b"From: Sender <sender@remote.example>", b"From: alice@example.test")
check(run(["msmtp", "--host=127.0.0.1", "--port=%d" % ports["submission"], "--tls=on", "--tls-starttls=on",
           "--tls-trust-file=" + store.cert, "--auth=plain", "--user=alice@example.test",
           "--passwordeval=echo alice-pw", "--from=alice@example.test", "bob@example.test"],
          stdin=body.replace(b"\r\n", b"\n")) == 0, "msmtp STARTTLS + AUTH")
check(newest("bob@example.test") == body, "msmtp: stored byte for byte")

# smtplib: 8-bit body with BODY=8BITMIME
body = message("smtplib-8bit", "Grüße, café, 日本語\r\n".encode())
with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=20) as s:
    s.ehlo("python.example")
    check(s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("chunking"), "EHLO extensions")
    s.sendmail("sender@remote.example", ["alice@example.test"], body, mail_options=["BODY=8BITMIME"])
check(newest("alice@example.test") == body, "smtplib 8BITMIME: stored byte for byte")

# smtplib send_message with SMTPUTF8 addresses (RFC 6531)
msg = email.message.EmailMessage(policy=email.policy.SMTPUTF8)
msg["From"] = "José <josé@remote.example>"
msg["To"] = "alice@example.test"
msg["Subject"] = "SMTPUTF8 ✓"
msg.set_content("UTF-8 everywhere\n")
with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=20) as s:
    s.send_message(msg)
stored = newest("alice@example.test")
check(b"Return-Path: <jos\xc3\xa9@remote.example>" in tool.messages("alice@example.test")[-1]["raw"],
      "SMTPUTF8 sender kept in Return-Path")
expected = msg.as_bytes(policy=email.policy.SMTPUTF8.clone(linesep="\r\n"))
check(stored == expected, "smtplib send_message: stored byte for byte")

# smtplib on submission: STARTTLS, login, sender check
with smtplib.SMTP("127.0.0.1", ports["submission"], timeout=20) as s:
    s.starttls(context=ssl.create_default_context(cafile=store.cert))
    s.login("bob@example.test", "bob-pw")
    try:
        s.sendmail("alice@example.test", ["alice@example.test"], message("forged"))
        check(False, "a forged sender must be refused")
    except smtplib.SMTPSenderRefused as e:
        check(e.smtp_code == 553, "forged sender refused with 553 5.7.1")
    try:
        s.sendmail("bob@example.test", ["someone@[192.0.2.1]"], message("relay"))
        check(False, "relaying to an address literal must be refused")
    except smtplib.SMTPRecipientsRefused as e:
        code = list(e.recipients.values())[0][0]
        check(code == 550, "authenticated relay to an address literal refused")

check(tool.integrity() == "ok", "store integrity")
check(daemon.stop() == 0, "smtpd stopped")
print("0 failed")
