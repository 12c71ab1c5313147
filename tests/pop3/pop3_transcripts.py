"""pop3_transcripts.py: runs every tests/pop3/transcripts/*.txt against a fresh pop3d and a
fresh store, then checks what the store holds afterwards. Every process is stopped, every read
has a timeout, everything listens on 127.0.0.1 only.

Usage: pop3_transcripts.py POP3D STORE_TOOL [NAME...]

Besides the harness's C:/C+/S:/S~/S*/CLOSED lines, a transcript may hold:
    #! seed FILE...          messages from tests/pop3/messages/ (LF turned into CRLF) put into
                             alice@example.test's INBOX before the session, in this order
    #! role pop3s            connect to the implicit-TLS listener (default: pop3)
    #! config KEY = VALUE    a line added to [pop3d] (for example autologout = 1)
    #! expect-inbox N        after the session and the daemon's stop: INBOX holds N messages
    #! expect-seeded N...    ...and they are these seeded messages (1-based), in this order
    #! expect-log REGEX      pop3d's log (debug level) matches REGEX somewhere
    TLS                      a line of its own: the client starts TLS here (after STLS)
In S: and S~ lines, {size:N} is the size of seeded message N, {total} the sum of all seeded
sizes, {uidl:N} the UIDL of seeded message N (derived from the store's UIDVALIDITY and UID).
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


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def inbox(tool, store, address="alice@example.test"):
    out = subprocess.run([tool, store.db, "list", address], capture_output=True, text=True, timeout=60,
                         check=True).stdout.split("\n")
    entries = [tuple(int(x) for x in line.split()) for line in out if line and not line.startswith("uidvalidity")]
    uidvalidity = int([line for line in out if line.startswith("uidvalidity")][0].split()[1])
    return entries, uidvalidity


def run_one(pop3d, tool, path):
    name = os.path.basename(path)
    text = open(path).read()
    directives = [line[3:].split(None, 1) for line in text.splitlines() if line.startswith("#! ")]
    seeds, role, config, expect_count, expect_seeded, expect_log = [], "pop3", [], None, None, []
    for key, *rest in directives:
        arg = rest[0] if rest else ""
        if key == "seed":
            seeds += arg.split()
        elif key == "role":
            role = arg.strip()
        elif key == "config":
            config.append(arg)
        elif key == "expect-inbox":
            expect_count = int(arg)
        elif key == "expect-log":
            expect_log.append(arg)
        elif key == "expect-seeded":
            expect_seeded = [int(x) for x in arg.split()]
        else:
            raise ValueError("%s: unknown directive %s" % (name, key))

    store = Store(users=USERS)
    store.write_config('[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n' + "".join(
        c + "\n" for c in config))
    seeded = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(seeds):
            data = crlf(open(os.path.join(HERE, "messages", seed), "rb").read())
            file = os.path.join(tmp, "%d.eml" % i)
            with open(file, "wb") as f:
                f.write(data)
            subprocess.run([tool, store.db, "deliver", "alice@example.test", file], check=True,
                           capture_output=True, timeout=60)
            seeded.append(data)
    entries, uidvalidity = inbox(tool, store)
    assert [size for _, size in entries] == [len(d) for d in seeded], "seeding went wrong: %r" % entries

    def substitute(line):
        line = line.replace("{total}", str(sum(len(d) for d in seeded)))
        line = re.sub(r"\{size:(\d+)\}", lambda m: str(len(seeded[int(m.group(1)) - 1])), line)
        return re.sub(r"\{uidl:(\d+)\}", lambda m: "%08x%08x" % (uidvalidity, entries[int(m.group(1)) - 1][0]),
                      line)

    script = "\n".join(substitute(line) if line.startswith(("S: ", "S~ ")) else line for line in text.splitlines())
    daemon = Process([pop3d, "-c", store.config])
    try:
        ports = daemon.wait_listening(["pop3", "pop3s"])
        client = LineClient(ports[role])
        context = ssl.create_default_context(cafile=store.cert)
        if role == "pop3s":
            client.sock = context.wrap_socket(client.sock, server_hostname="localhost")
        segments = re.split(r"(?m)^TLS$", script)
        for number, segment in enumerate(segments):
            if number > 0:
                assert not client.buffer, "%s: plaintext left before TLS: %r" % (name, client.buffer)
                client.sock = context.wrap_socket(client.sock, server_hostname="localhost")
            try:
                run_transcript(client, segment, "%s (part %d)" % (name, number + 1))
            except (AssertionError, EOFError, OSError) as e:
                daemon.stop()
                raise AssertionError("%s\n--- pop3d log:\n%s" % (e, daemon.output[-4000:]))
        client.close()
    finally:
        code = daemon.stop()
    assert code == 0, "%s: pop3d exited %s\n%s" % (name, code, daemon.output[-3000:])
    assert "ERROR" not in daemon.output and "runtime error" not in daemon.output, \
        "%s: sanitizer report\n%s" % (name, daemon.output[-3000:])
    for pattern in expect_log:
        assert re.search(pattern, daemon.output, re.M), "%s: no log line matches %r\n%s" % (
            name, pattern, daemon.output[-3000:])
    after, _ = inbox(tool, store)
    if expect_count is not None:
        assert len(after) == expect_count, "%s: INBOX holds %d messages, expected %d" % (
            name, len(after), expect_count)
    if expect_seeded is not None:
        want = [entries[i - 1][0] for i in expect_seeded]
        assert [uid for uid, _ in after] == want, "%s: INBOX UIDs %r, expected %r" % (
            name, [u for u, _ in after], want)
    return daemon.output


def main():
    pop3d, tool = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    paths = sorted(glob.glob(os.path.join(HERE, "transcripts", "*.txt")))
    if names:
        paths = [p for p in paths if os.path.basename(p)[:-4] in names]
    assert paths, "no transcripts"
    failed = 0
    for path in paths:
        try:
            output = run_one(pop3d, tool, path)
            if "PASS alice-pw" in output or "alice-pw" in output:
                raise AssertionError("%s: a password reached the log" % path)
            print("ok:", os.path.basename(path))
        except Exception as e:  # report every transcript, then fail
            failed += 1
            print("FAIL: %s: %s" % (os.path.basename(path), e))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
