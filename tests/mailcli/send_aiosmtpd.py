"""send_aiosmtpd.py: mailcli send against Python's aiosmtpd (an independent SMTP server) as a
sink. The bytes the sink receives must equal --dry-run's output exactly; Bcc stays in the
envelope only; STARTTLS with --ca and AUTH PLAIN with --password-stdin work, the trace masks
the password; an unverifiable certificate, a refused password and a refused recipient give
their own exit codes.
Usage: send_aiosmtpd.py MAILCLI
Must never: pass with a message that differs from the dry run by a single byte.
"""
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import check, free_port  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

MAILCLI = sys.argv[1]
EXIT_TLS, EXIT_AUTH, EXIT_PARTIAL = 4, 5, 7


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" and auth_data.password == b"s3cret pw"
    # handled=False: aiosmtpd then sends its own 535 reply.
    return AuthResult(success=ok, handled=False)


def run(args, stdin=b"", timeout=30):
    return subprocess.run([MAILCLI, "--accounts", "/dev/null"] + args, input=stdin,
                          capture_output=True, timeout=timeout)


tmp = tempfile.mkdtemp(prefix="mailcli-aiosmtpd-")
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", key, "-out", cert], check=True, capture_output=True)
attachment = os.path.join(tmp, "données.bin")
with open(attachment, "wb") as f:
    f.write(bytes(range(256)) * 10)
body = "Grüße,\n.a line starting with a dot\n" + "long " * 300 + "\n"

# 1. Plain sink: the received bytes are the dry run's bytes.
sink = Sink()
plain = Controller(sink, hostname="127.0.0.1", port=free_port())
plain.start()
common = ["--from", "Ålice <alice@example.test>", "--to", "Bob <bob@example.test>",
          "--cc", "carol@example.test", "--bcc", "hidden@example.test", "--subject", "Grüße aus Köln",
          "--attach", attachment, "--date", "Thu, 26 Nov 2026 15:00:00 +0000", "--message-id", "<t1@example.test>"]
dry = run(["send"] + common + ["--dry-run"], body.encode())
check(dry.returncode == 0, "dry run exits 0 (%r)" % dry.stderr)
sent = run(["--host", "127.0.0.1", "--port", str(plain.port), "--tls", "none", "send"] + common, body.encode())
check(sent.returncode == 0, "send to aiosmtpd exits 0 (%r)" % sent.stderr)
check(len(sink.messages) == 1, "aiosmtpd received one message")
mail_from, rcpts, content = sink.messages[0]
check(mail_from == "alice@example.test", "envelope sender is the From address")
check(sorted(rcpts) == ["bob@example.test", "carol@example.test", "hidden@example.test"],
      "envelope has To, Cc and Bcc (%r)" % rcpts)
# aiosmtpd keeps the CRLF that ends the last line; the dry run prints the same message.
check(content == dry.stdout, "received message equals the dry run byte for byte")
check(b"hidden@example.test" not in content and b"\r\nBcc:" not in content, "Bcc is not in the headers")
check(all(len(line) <= 998 for line in content.split(b"\r\n")), "no line over 998 octets")
check(all(b < 0x80 for b in content), "the message is 7-bit")

# 2. A refused recipient: sent to the others, reported, exit code 7.
partial = run(["--host", "127.0.0.1", "--port", str(plain.port), "--tls", "none", "send", "--from", "a@example.test",
               "--to", "refused@example.test", "--to", "bob@example.test", "--subject", "x"], b"hi\n")
check(partial.returncode == EXIT_PARTIAL, "a refused recipient gives exit 7 (%d)" % partial.returncode)
check(b"refused@example.test" in partial.stderr and b"550" in partial.stderr, "the refusal is reported with its reply")
check(len(sink.messages) == 2 and sink.messages[1][1] == ["bob@example.test"], "the other recipient got it")
allrefused = run(["--host", "127.0.0.1", "--port", str(plain.port), "--tls", "none", "send", "--from", "a@example.test",
                  "--to", "refused@example.test", "--subject", "x", "--json"], b"hi\n")
check(allrefused.returncode == 6 and len(sink.messages) == 2, "all recipients refused: protocol error, no DATA")
plain.stop()

# 3. STARTTLS + AUTH, verified against --ca; the trace masks the password.
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
sink2 = Sink()
secure = Controller(sink2, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                    authenticator=authenticator, auth_require_tls=True)
secure.start()
base = ["--host", "127.0.0.1", "--port", str(secure.port), "--user", "alice"]
args = ["send", "--from", "alice@example.test", "--to", "bob@example.test", "--subject", "tls"]
ok = run(base + ["--ca", cert, "--password-stdin", "--trace", "--json"] + args, b"s3cret pw\nbody over TLS\n")
check(ok.returncode == 0, "STARTTLS + AUTH PLAIN with --ca exits 0 (%r)" % ok.stderr[-500:])
check(len(sink2.messages) == 1 and sink2.messages[0][2].endswith(b"\r\nbody over TLS\r\n"), "the body came after the password line")
check(b"s3cret" not in ok.stderr and b"czNjcmV0" not in ok.stderr and b"AUTH PLAIN ****" in ok.stderr,
      "the trace masks the credentials")
check(b"C: STARTTLS" in ok.stderr and b"S: 220" in ok.stderr, "the trace shows the conversation")
check(b'"accepted":1' in ok.stdout, "--json reports the accepted count")
untrusted = run(base + ["--password-stdin"] + args, b"s3cret pw\nx\n")
check(untrusted.returncode == EXIT_TLS, "an unverifiable certificate gives exit 4 (%d %r)" % (untrusted.returncode, untrusted.stderr))
insecure = run(base + ["--insecure", "--password-stdin"] + args, b"s3cret pw\nx\n")
check(insecure.returncode == 0, "--insecure skips verification explicitly")
badpw = run(base + ["--ca", cert, "--password-stdin"] + args, b"wrong\nx\n")
check(badpw.returncode == EXIT_AUTH, "a refused password gives exit 5 (%d)" % badpw.returncode)
check(b"wrong" not in badpw.stderr, "the refused password is not printed")
cmdpw = run(base + ["--ca", cert] + args, b"x\n")
check(cmdpw.returncode == EXIT_AUTH and b"terminal" in cmdpw.stderr, "no password source and no terminal: exit 5")
secure.stop()
# An accounts file with a password command.
secure = Controller(Sink(), hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                    authenticator=authenticator, auth_require_tls=True)
accounts = os.path.join(tmp, "mailcli.toml")
with open(accounts, "w") as f:
    f.write('[accounts.t]\nhost = "127.0.0.1"\nuser = "alice"\nsmtp_port = %d\nca = "%s"\n'
            'password_command = "printf \'s3cret pw\\\\n\'"\n' % (secure.port, cert))
secure.start()
viacmd = subprocess.run([MAILCLI, "--accounts", accounts] + args, input=b"via account\n", capture_output=True, timeout=30)
check(viacmd.returncode == 0, "the accounts file and password_command work (%r)" % viacmd.stderr)
secure.stop()
print("all passed")
