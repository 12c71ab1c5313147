"""harness.py: start hikyaku processes on free loopback ports with a temporary store, and
run protocol transcripts against them. Every process started here is stopped by stop()
or at exit; every read has a timeout, every loop a bound.

Transcript scripts (tests/<protocol>/transcripts/*.txt) are lines sent and lines expected:
    C: EHLO client.example          a line the client sends (CRLF added)
    C+ raw bytes\\r\\n                bytes sent as they are, after Python escape decoding
    S: 250 2.0.0 Ok                 the next line the server sends, exactly
    S~ ^250[ -]                     the next server line, matched by a regular expression
    S* ^250-                        zero or more server lines matching, then the next S line
    S? 250-STARTTLS                 the next line, exactly, when the server offers TLS (the
                                    daemons here always have a certificate; in-process runs
                                    have none and skip it)
    CLOSED                          the server has closed the connection
    # comment, blank lines ignored
"""
import atexit
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_processes = []


def _cleanup():
    for p in _processes:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


def binary_dir():
    return os.environ.get("HIKYAKU_BINARY_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def source_dir():
    return os.environ.get("HIKYAKU_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose output is collected; READY/listening lines give its ports.
    A reader thread drains its stdout and stderr all the time, so a daemon that logs a lot
    (debug level) never blocks on a full pipe while a test is busy elsewhere."""

    def __init__(self, argv, stdin=None, env=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        _processes.append(self.proc)
        self.output = ""
        self.ports = {}
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._drain, args=(s,), daemon=True)
                         for s in (self.proc.stdout, self.proc.stderr)]
        for r in self._readers:
            r.start()

    def _drain(self, stream):
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            with self._lock:
                self.output += chunk.decode("utf-8", "replace")

    def _read_available(self, timeout):
        """Waits up to `timeout` for more output; true if the output grew."""
        with self._lock:
            before = len(self.output)
        deadline = time.time() + timeout
        while True:
            with self._lock:
                if len(self.output) != before:
                    return True
            if time.time() >= deadline:
                return False
            time.sleep(0.01)

    def wait_for(self, pattern, timeout=20):
        """Waits until the collected output matches `pattern`; returns the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern, re.M)
        while time.time() < deadline:
            with self._lock:
                m = rx.search(self.output)
            if m:
                return m
            if not self._read_available(0.05) and self.proc.poll() is not None:
                for r in self._readers:
                    r.join(5)
                with self._lock:
                    m = rx.search(self.output)
                if m:
                    return m
                raise RuntimeError("%s exited (%s) before printing %r:\n%s" %
                                   (self.argv[0], self.proc.returncode, pattern, self.output[-3000:]))
        raise RuntimeError("timeout waiting for %r from %s:\n%s" % (pattern, self.argv[0], self.output[-3000:]))

    def wait_listening(self, roles, timeout=20):
        """Reads the 'listening role=R address=H:P' log lines of the given roles."""
        for role in roles:
            m = self.wait_for(r"listening role=%s address=([\d.]+):(\d+)" % re.escape(role), timeout)
            self.ports[role] = int(m.group(2))
        return self.ports

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for r in self._readers:
            r.join(5)
        return self.proc.returncode

    def rss_kib(self, field="VmRSS"):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def anon_rss_kib(self):
        """Resident private memory (heap, stacks): the store's memory-mapped file pages,
        which are page cache shared with every process and reclaimable, are left out."""
        return self.rss_kib("RssAnon")


class Store:
    """A temporary directory with a config file and a store initialized by mailctl."""

    def __init__(self, extra_config="", domains=("example.test",), users=(("alice@example.test", "alice-pw"),),
                 storage_extra=""):
        self.storage_extra = storage_extra
        self.dir = tempfile.mkdtemp(prefix="hikyaku-test-")
        self.db = os.path.join(self.dir, "store.db")
        self.config = os.path.join(self.dir, "hikyaku.toml")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.write_config(extra_config)
        if os.path.exists(self.mailctl_path()):
            self.mailctl("init")
            for d in domains:
                self.mailctl("domain", "add", d)
            for address, password in users:
                self.mailctl("user", "add", address, "--password-stdin", stdin=password + "\n")

    def write_config(self, extra):
        base = ('[storage]\npath = "%s"\n%s[tls]\ncert = "%s"\nkey = "%s"\n[log]\nlevel = "debug"\n'
                % (self.db, self.storage_extra, self.cert, self.key))
        with open(self.config, "w") as f:
            f.write(base + extra)

    @staticmethod
    def mailctl_path():
        return os.path.join(binary_dir(), "mailctl", "mailctl")

    def mailctl(self, *args, stdin=None, check=True):
        r = subprocess.run([self.mailctl_path(), "-c", self.config] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("mailctl %s failed: %s" % (" ".join(args), r.stderr))
        return r


class LineClient:
    """A blocking client with timeouts; lines are returned without CRLF."""

    def __init__(self, port, host="127.0.0.1", timeout=10, sock=None):
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buffer = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buffer)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            if self.buffer:
                return False
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def run_transcript(client, script, name="transcript", directive=None):
    """Runs a transcript (see the module comment). Raises AssertionError with the line.
    Lines starting with "! " go to directive(client, words, where) (test-specific checks)."""
    for number, raw in enumerate(script.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        where = "%s:%d: %s" % (name, number, line)
        if line.startswith("C: ") or line == "C:":
            client.send(line[3:] + "\r\n")
        elif line.startswith("C+ "):
            client.send(line[3:].encode("latin-1").decode("unicode_escape").encode("latin-1"))
        elif line.startswith("S: ") or line.startswith("S? "):
            got = client.line()
            assert got == line[3:], "%s\n   got: %r" % (where, got)
        elif line.startswith("S~ "):
            got = client.line()
            assert re.search(line[3:], got), "%s\n   got: %r" % (where, got)
        elif line.startswith("S* "):
            rx = re.compile(line[3:])
            for _ in range(1000):
                got = client.line()
                if not rx.search(got):
                    client.buffer = (got + "\r\n").encode() + client.buffer
                    break
        elif line.startswith("! ") and directive:
            directive(client, line[2:], where)
        elif line.strip() == "CLOSED":
            assert client.closed(), "%s\n   the connection is still open" % where
        else:
            raise ValueError("%s: unknown transcript line" % where)


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


class StoreTool:
    """Reads what a store holds (tests/lib/store_tool.cpp), independent of its schema."""

    def __init__(self, store):
        self.store = store
        self.path = os.path.join(binary_dir(), "tests", "lib", "store-tool")

    def run(self, *args, stdin=None):
        r = subprocess.run([self.path, self.store.db] + list(args), input=stdin, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("store-tool %s: %s" % (" ".join(args), r.stderr.decode()))
        return r.stdout

    def count(self, address, mailbox="INBOX"):
        return int(self.run("count", address, mailbox))

    def mailboxes(self, address):
        return self.run("mailboxes", address).decode().splitlines()

    def messages(self, address, mailbox="INBOX"):
        import base64
        import json
        out = []
        for line in self.run("dump", address, mailbox).decode().splitlines():
            entry = json.loads(line)
            entry["raw"] = base64.b64decode(entry["raw"])
            out.append(entry)
        return out

    def deliver(self, raw, *addresses):
        return self.run("deliver", *addresses, stdin=raw)

    def integrity(self):
        return self.run("integrity").decode().strip()


def run_on_terminal(argv, stdin=b"", timeout=120):
    """Runs argv with its stderr on a pseudo-terminal (read as it comes, so it never fills) and
    its stdout on a pipe; returns (exit code, stdout, what reached the terminal)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = p.communicate(stdin, timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        reader.join(timeout=10)
        os.close(master)
    return p.returncode, out, b"".join(chunks)


def delivery_reports(tool, address):
    """The delivery status notifications (multipart/report) in a user's INBOX, parsed."""
    import email
    import email.policy
    out = []
    for m in tool.messages(address):
        parsed = email.message_from_bytes(m["raw"], policy=email.policy.compat32)
        if parsed.get_content_type() == "multipart/report":
            out.append(parsed)
    return out


def dsn_recipient_blocks(report):
    """The per-recipient blocks of an RFC 3464 report (its one message/delivery-status part,
    after the per-message block), as dicts."""
    status = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    if len(status) != 1:
        check(False, "a report has one message/delivery-status part, not %d" % len(status))
    blocks = status[0].get_payload()  # compat32: Message objects, the per-message block first
    return [dict(b.items()) for b in blocks[1:]]


def strip_trace_headers(raw):
    """The message as the client sent it: drops the Return-Path and Received fields (and
    their folded lines) that hikyaku prepends at the top."""
    lines = raw.split(b"\r\n")
    i = 0
    while i < len(lines):
        name = lines[i].split(b":", 1)[0].lower()
        if name in (b"return-path", b"received"):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            continue
        break
    return b"\r\n".join(lines[i:])


def fetchmail(protocol, port, user, password, cert, work, keep, implicit_tls, timeout=30):
    """Runs fetchmail once (one-shot, verbose) against 127.0.0.1:port over `protocol` (POP3 or
    IMAP), checking the certificate `cert` for the name localhost: STARTTLS/STLS on a plain port,
    or implicit TLS. It delivers into an mbox under `work`; returns the messages (with LF line
    ends, fetchmail's local convention) and fetchmail's output."""
    import getpass
    home = tempfile.mkdtemp(prefix="fetchmail-", dir=work)
    mbox = os.path.join(home, "mbox")
    rc = os.path.join(home, "fetchmailrc")
    separator = b"From fetchmail@localhost Thu Jan 01 00:00:00 1970\n"
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll localhost via 127.0.0.1 with proto %s service %d timeout %d\n'
                '  user "%s" there with password "%s" is "%s" here\n'
                '  options %s fetchall no rewrite %s sslcertck sslcommonname localhost sslcertfile "%s"\n'
                '  mda "/bin/sh -c \'{ echo %s; cat; echo; } >> %s\'"\n'
                % (protocol, port, timeout, user, password, getpass.getuser(), "keep" if keep else "no keep",
                   "ssl" if implicit_tls else "sslproto tls1.2+", cert, separator.decode().strip(), mbox))
    os.chmod(rc, 0o600)
    env = dict(os.environ, FETCHMAILHOME=home, HOME=home)
    r = subprocess.run(["fetchmail", "--nodetach", "--invisible", "-f", rc, "-v"], capture_output=True, env=env,
                       timeout=120)
    log = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        raise RuntimeError("fetchmail exit %d:\n%s" % (r.returncode, log[-4000:]))
    parts = open(mbox, "rb").read().split(separator)
    check(parts[0] == b"", "fetchmail: mbox starts with a From line")
    return [p[:-1] for p in parts[1:]], log  # each part ends with the blank line the mda adds


def check_clean_stop(daemon, tool, secret):
    """The store is intact, the daemon stops with status 0, and its log holds no sanitizer
    report and not `secret` (a password)."""
    check(tool.integrity() == "ok", "store integrity")
    check(daemon.stop() == 0, "%s stopped with exit status 0" % os.path.basename(daemon.argv[0]))
    for marker in ("ERROR: AddressSanitizer", "runtime error:", secret):
        check(marker not in daemon.output, "no %r in the daemon's log" % marker)


def curl(url, user, password, cert, *args, timeout=30):
    """Runs curl for `url` as `user` (trusting `cert`); returns what it printed, raises with
    its error message when it fails."""
    r = subprocess.run(["curl", "--silent", "--show-error", "--max-time", str(timeout), "--cacert", cert,
                        "--user", "%s:%s" % (user, password)] + list(args) + [url], capture_output=True,
                       timeout=timeout + 10)
    if r.returncode != 0:
        raise RuntimeError("curl %s failed (%d): %s" % (url, r.returncode, r.stderr.decode("utf-8", "replace")))
    return r.stdout
