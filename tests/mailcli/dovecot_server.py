"""dovecot_server.py: a private Dovecot (IMAP, and POP3 if asked) for mailcli's tests and its
benchmark: a temporary configuration, passwd file, self-signed certificate and Maildirs in one
directory, listeners on free loopback ports (plain with STARTTLS, and implicit TLS), special-use
mailboxes Sent, Drafts, Trash, Junk, and the user's Maildir filled straight from files.
Must never: touch a system-wide Dovecot or listen beyond 127.0.0.1; every process it starts is
stopped by stop() (and at exit by the harness).
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Process, free_port  # noqa: E402

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


class Dovecot:
    def __init__(self, users=(("alice", "alice-pw"),), protocols=("imap",), max_connections=20, extra=""):
        if not os.path.exists(DOVECOT):
            # A missing peer is a broken install, not a reason to pass quietly.
            print("FAIL: dovecot is not installed; run scripts/install-deps.sh test")
            sys.exit(1)
        self.tmp = tempfile.mkdtemp(prefix="mailcli-dovecot-")
        os.chmod(self.tmp, 0o755)
        self.cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", self.cert],
                       check=True, capture_output=True)
        if os.getuid() == 0:
            mail_user = internal_user = "dovecot"
            login_user = "dovenull"
        else:
            mail_user = internal_user = login_user = pwd.getpwuid(os.getuid()).pw_name
        self.uid, self.gid = pwd.getpwnam(mail_user).pw_uid, pwd.getpwnam(mail_user).pw_gid
        self.port, self.tls_port = free_port(), free_port()
        self.pop3_port, self.pop3s_port = free_port(), free_port()
        with open(os.path.join(self.tmp, "passwd"), "w") as f:
            for user, password in users:
                f.write("%s:{PLAIN}%s\n" % (user, password))
        for user, _ in users:
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(self.maildir(user), sub))
        imap = ""
        if "imap" in protocols:
            imap = """
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {p}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ps}
    ssl = yes
  }}
}}
""".format(p=self.port, ps=self.tls_port)
        pop3 = ""
        if "pop3" in protocols:
            pop3 = """
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
pop3_uidl_format = %08Xu%08Xv
""".format(p=self.pop3_port, ps=self.pop3s_port)
        self.config = os.path.join(self.tmp, "dovecot.conf")
        with open(self.config, "w") as f:
            f.write("""
base_dir = {t}/run
state_dir = {t}/state
log_path = /dev/stderr
protocols = {protocols}
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
mail_max_userip_connections = {maxc}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {t}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={t}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
}}
{imap}
{pop3}
{extra}
""".format(t=self.tmp, iu=internal_user, lu=login_user, uid=self.uid, gid=self.gid, protocols=" ".join(protocols),
           maxc=max_connections, imap=imap, pop3=pop3, extra=extra))
        self.first_port = self.port if "imap" in protocols else self.pop3_port
        self.server = None

    def maildir(self, user="alice"):
        return os.path.join(self.tmp, "mail", user)

    def put(self, raw, user="alice", name=None, flags=""):
        """Puts a message straight into the user's Maildir (before start(), or for Dovecot to
        find at its next look)."""
        name = name or "%d.%d.test" % (time.time_ns(), os.getpid())
        sub = "cur" if flags else "new"
        path = os.path.join(self.maildir(user), sub, name + (":2," + flags if flags else ""))
        with open(path, "wb") as f:
            f.write(raw)
        return path

    def start(self):
        if os.getuid() == 0:
            for root, dirs, files in os.walk(os.path.join(self.tmp, "mail")):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), self.uid, self.gid)
            os.chown(os.path.join(self.tmp, "mail"), self.uid, self.gid)
        self.server = Process([DOVECOT, "-F", "-c", self.config])
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.first_port), timeout=1).close()
                return self
            except OSError:
                if time.time() > deadline or self.server.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("dovecot did not start:\n" + self.server.output[-3000:])
                time.sleep(0.1)

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
