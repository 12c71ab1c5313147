"""imap_transcripts.py: runs every tests/imap/transcripts/*.txt against a fresh imapd and a
fresh store, then checks what the store holds afterwards. Every process is stopped, every read
has a timeout, everything listens on 127.0.0.1 only.

Usage: imap_transcripts.py IMAPD STORE_TOOL [NAME...]

Besides the harness's C:/C+/S:/S~/S*/S?/CLOSED lines, a transcript may hold:
    #! seed FILE...            messages from tests/imap/messages/ (LF turned into CRLF) put into
                               alice@example.test's INBOX before the session, in this order,
                               with the internal date 14-Nov-2023 22:13:20 +0000
    #! seed-nested DEPTH       ...and a message of DEPTH nested multiparts (store_snapshot.h)
    #! role imaps              connect to the implicit-TLS listener (default: imap)
    #! config KEY = VALUE      a line added to [imapd]
    #! server KEY = VALUE      a line added to [server]
    #! storage KEY = VALUE     a line added to [storage] (max_message_size = 2048)
    #! quota ADDRESS BYTES [--messages N]
                               the user's quota (and message quota), set before the session
                               (mailctl user quota)
    #! daemon-only WHY         not run in process (tests/imap/imap_inprocess_test.cpp)
    #! expect-mailbox TEXT     after the session, the store has a line "mailbox alice@example.test
                               TEXT" (or "mailbox TEXT" when TEXT starts with an address):
                               a mailbox's entries, as "INBOX: 1(\\Seen) 2()"
    #! expect-mailboxes TEXT   ... a line "mailboxes alice@example.test: TEXT" (all, by name)
    #! expect-subscribed TEXT  ... a line "subscribed alice@example.test: TEXT"
    #! expect-log REGEX        imapd's log (debug level) matches REGEX somewhere
    ! client NAME              the next lines talk over connection NAME (opened on first use;
                               the transcript reads its greeting); the first one is "A"
    ! deliver FILE             a message from messages/ delivered to alice's INBOX now, as
                               smtpd would (another process: imapd hears of it by the store's
                               change notification)
    ! repeat N TEXT            TEXT (escapes as in C+ lines) sent N times, nothing added
    ! snapshot                 remembers what the store holds (store_snapshot.h)
    ! unchanged                the store holds exactly what it held at the last "! snapshot"
    TLS                        a line of its own: this connection starts TLS here
In S: and S~ lines, {size:N} is the size of seeded message N, {total} the sum of their sizes.
Users: alice@example.test / alice-pw and bob@example.test / bob-pw.
"""
import glob
import os
import re
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, run_transcript  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
USERS = (("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw"))
ADDRESSES = [u for u, _ in USERS]


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message(name):
    with open(os.path.join(HERE, "messages", name), "rb") as f:
        return crlf(f.read())


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Run:
    """One transcript: its store, its daemon and its connections."""

    def __init__(self, imapd, tool, path):
        self.imapd, self.tool, self.path = imapd, tool, path
        self.name = os.path.basename(path)
        self.text = open(path, encoding="utf-8").read()
        self.directives = [line[3:].split(None, 1) for line in self.text.splitlines() if line.startswith("#! ")]

    def values(self, key):
        return [rest[0] if rest else "" for k, *rest in self.directives if k == key]

    def tool_run(self, *args):
        r = subprocess.run([self.tool, self.store.db] + list(args), capture_output=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("imap-store-tool %s: %s" % (" ".join(args[:2]), r.stderr.decode()))
        return r.stdout.decode("utf-8", "replace")

    def snapshot(self):
        return self.tool_run("snapshot", *ADDRESSES)

    def deliver(self, name):
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(message(name))
            f.flush()
            self.tool_run("deliver", "alice@example.test", f.name)

    def connect(self):
        client = LineClient(self.ports[self.role], timeout=20)
        if self.role == "imaps":
            client.sock = self.tls.wrap_socket(client.sock, server_hostname="localhost")
        return client

    def directive(self, client, text, where):
        words = text.split(None, 2)
        if words[0] == "deliver":
            self.deliver(words[1])
        elif words[0] == "repeat":
            client.send(unescape(words[2]) * int(words[1]))
        elif words[0] == "snapshot":
            self.saved = self.snapshot()
        elif words[0] == "unchanged":
            now = self.snapshot()
            assert now == self.saved, "%s\n   the store changed:\n--- before\n%s--- after\n%s" % (where, self.saved, now)
        else:
            raise ValueError("%s: unknown directive" % where)

    def run(self):
        known = {"seed", "seed-nested", "role", "config", "server", "storage", "quota", "daemon-only", "expect-mailbox",
                 "expect-mailboxes", "expect-subscribed", "expect-log"}
        for key, *_ in self.directives:
            if key not in known:
                raise ValueError("%s: unknown directive %s" % (self.name, key))
        self.role = (self.values("role") or ["imap"])[0].strip()
        storage_extra = "".join(v + "\n" for v in self.values("storage"))
        self.store = Store(users=USERS, storage_extra=storage_extra)
        self.store.write_config('[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n' +
                                "".join(v + "\n" for v in self.values("config")) +
                                "[server]\n" + "".join(v + "\n" for v in self.values("server")))
        for q in self.values("quota"):
            self.store.mailctl("user", "quota", *q.split())
        seeded = []
        for names in self.values("seed"):
            for seed in names.split():
                self.deliver(seed)
                seeded.append(message(seed))
        for depth in self.values("seed-nested"):
            self.tool_run("nested", "alice@example.test", depth.strip())

        def substitute(line):
            line = line.replace("{total}", str(sum(len(d) for d in seeded)))
            return re.sub(r"\{size:(\d+)\}", lambda m: str(len(seeded[int(m.group(1)) - 1])), line)

        lines = [substitute(line) if line.startswith(("S: ", "S~ ")) else line for line in self.text.splitlines()]
        self.tls = ssl.create_default_context(cafile=self.store.cert)
        self.saved = None
        daemon = Process([self.imapd, "-c", self.store.config])
        clients = {}
        try:
            self.ports = daemon.wait_listening(["imap", "imaps"])
            current = clients["A"] = self.connect()
            for number, line in enumerate(lines, 1):
                where = "%s:%d: %s" % (self.name, number, line)
                try:
                    if line.startswith("! client "):
                        name = line.split()[2]
                        if name not in clients:
                            clients[name] = self.connect()
                        current = clients[name]
                    elif line == "TLS":
                        assert not current.buffer, "%s: plaintext left before TLS: %r" % (where, current.buffer)
                        current.sock = self.tls.wrap_socket(current.sock, server_hostname="localhost")
                    elif line.startswith("! "):
                        self.directive(current, line[2:], where)
                    else:
                        run_transcript(current, line, "%s:%d" % (self.name, number))
                except (AssertionError, EOFError, OSError) as e:
                    daemon.stop()
                    raise AssertionError("%s\n%s\n--- imapd log:\n%s" % (where, e, daemon.output[-6000:]))
            for c in clients.values():
                c.close()
        finally:
            code = daemon.stop()
        output = daemon.output
        assert code == 0, "%s: imapd exited %s\n%s" % (self.name, code, output[-3000:])
        assert "ERROR" not in output and "runtime error" not in output, \
            "%s: sanitizer report\n%s" % (self.name, output[-3000:])
        assert "alice-pw" not in output and "bob-pw" not in output, "%s: a password reached the log" % self.name
        for pattern in self.values("expect-log"):
            assert re.search(pattern, output, re.M), "%s: no log line matches %r\n%s" % (self.name, pattern, output[-3000:])
        after = self.snapshot().splitlines()
        for kind, separator in (("mailbox", " "), ("mailboxes", ": "), ("subscribed", ": ")):
            for want in self.values("expect-" + kind):
                owner = "" if re.match(r"[^ :]+@[^ :]+[ :]", want) else "alice@example.test" + separator
                full = kind + " " + owner + want.rstrip()
                assert full in after, "%s: the store has no line %r:\n%s" % (self.name, full, "\n".join(after))


def main():
    imapd, tool = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    paths = sorted(glob.glob(os.path.join(HERE, "transcripts", "*.txt")))
    if names:
        paths = [p for p in paths if os.path.basename(p)[:-4] in names]
    assert paths, "no transcripts"
    failed = 0
    for path in paths:
        try:
            Run(imapd, tool, path).run()
            print("ok:", os.path.basename(path))
        except Exception as e:  # report every transcript, then fail
            failed += 1
            print("FAIL: %s: %s" % (os.path.basename(path), e))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
