"""pop3_interop.py: pop3d against real clients and as a process, each result compared byte for
byte with what the store holds.

- Python's poplib over plain (loopback), STLS and POP3_SSL (port 995 role);
- curl's pop3:// and pop3s:// (list, retr, dele);
- fetchmail in one-shot runs (keep over STLS, then no-keep over implicit TLS) delivering into an
  mbox file through an mda command;
- two concurrent sessions, in one process and across two pop3d processes ([IN-USE]);
- pop3d killed (SIGKILL) after DELE: nothing deleted, the maildrop lock not stuck;
- --inetd over pipes;
- a 50 MB message retrieved whole while pop3d's memory stays far below the message size.
Usage: pop3_interop.py POP3D STORE_TOOL. Everything on 127.0.0.1, with timeouts; every process
started here is stopped.
"""
import hashlib
import os
import poplib
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, check  # noqa: E402
from harness import fetchmail as harness_fetchmail  # noqa: E402
from harness import curl as harness_curl  # noqa: E402

pop3d, tool = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
USER, PASSWORD = "alice@example.test", "alice-pw"
TIMEOUT = 30

store = Store(users=((USER, PASSWORD), ("bob@example.test", "bob-pw")))
store.write_config('[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n')
work = tempfile.mkdtemp(prefix="hikyaku-pop3-")


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def deliver(data, address=USER):
    path = os.path.join(work, "seed.eml")
    with open(path, "wb") as f:
        f.write(data)
    subprocess.run([tool, store.db, "deliver", address, path], check=True, capture_output=True, timeout=120)


def inbox(address=USER):
    out = subprocess.run([tool, store.db, "list", address], capture_output=True, text=True, timeout=60,
                         check=True).stdout.split("\n")
    return [int(line.split()[0]) for line in out if line and not line.startswith("uidvalidity")]


def stored(uid, address=USER):
    return subprocess.run([tool, store.db, "cat", address, str(uid)], capture_output=True, timeout=120,
                          check=True).stdout


def stored_all(address=USER):
    return [stored(uid, address) for uid in inbox(address)]


def seed_standard():
    """Messages that exercise stuffing, 8-bit bodies and chunk boundaries."""
    for name in ("plain.eml", "dots.eml", "lines.eml"):
        deliver(crlf(open(os.path.join(HERE, "messages", name), "rb").read()))
    deliver(crlf("From: b@example.test\nSubject: =?utf-8?q?8bit?=\nContent-Type: text/plain; charset=utf-8\n"
                 "Content-Transfer-Encoding: 8bit\n\nGr\u00fc\u00dfe, \u98db\u811a\n.\n".encode()))
    # Over several 256 KiB read chunks, with "." lines on and near the boundaries.
    body = b"".join(b"%s line %06d of a long message\r\n" % (b"." if i % 7 == 0 else b"", i) for i in range(30000))
    deliver(b"From: b@example.test\r\nSubject: long\r\n\r\n" + body)


def unstuffed_lines_to_bytes(lines):
    return b"".join(line + b"\r\n" for line in lines)


def poplib_check(client, label):
    client.user(USER)
    client.pass_(PASSWORD)
    expected = stored_all()
    count, total = client.stat()
    check(count == len(expected) and total == sum(len(m) for m in expected),
          "%s: STAT %d %d matches the store" % (label, count, total))
    _, listing, _ = client.list()
    sizes = [int(line.split()[1]) for line in listing]
    check(sizes == [len(m) for m in expected], "%s: LIST sizes are the stored octet counts" % label)
    _, uidl, _ = client.uidl()
    ids = [line.split()[1] for line in uidl]
    check(len(set(ids)) == len(ids), "%s: UIDL values are unique" % label)
    for n, message in enumerate(expected, 1):
        _, lines, octets = client.retr(n)
        got = unstuffed_lines_to_bytes(lines)
        check(got == message, "%s: RETR %d is byte for byte the stored message (%d octets)" % (label, n, len(message)))
    _, top, _ = client.top(3, 2)
    header_end = expected[2].index(b"\r\n\r\n") + 4
    want = expected[2][:header_end] + b"line 1\r\nline 2\r\n"
    check(unstuffed_lines_to_bytes(top) == want, "%s: TOP 3 2" % label)
    return ids


daemons = []  # every pop3d started, for the log checks at the end


def start(extra=""):
    if extra:
        store.write_config('[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n' + extra)
    p = Process([pop3d, "-c", store.config])
    daemons.append(p)
    ports = p.wait_listening(["pop3", "pop3s"])
    return p, ports


seed_standard()
context = ssl.create_default_context(cafile=store.cert)
daemon, ports = start()

# --- poplib: plain, STLS, POP3_SSL ---------------------------------------------------------------
c = poplib.POP3("127.0.0.1", ports["pop3"], timeout=TIMEOUT)
check(c.getwelcome() == b"+OK hikyaku POP3 server ready", "poplib: greeting")
caps = c.capa()
check("STLS" in caps and "UIDL" in caps and "TOP" in caps and caps.get("SASL") == ["PLAIN", "LOGIN"],
      "poplib: CAPA %r" % sorted(caps))
ids_plain = poplib_check(c, "poplib plain")
c.quit()

c = poplib.POP3("127.0.0.1", ports["pop3"], timeout=TIMEOUT)
c.stls(context=context)
check("STLS" not in c.capa(), "poplib STLS: no STLS offered after TLS")
ids_stls = poplib_check(c, "poplib STLS")
c.quit()
check(ids_plain == ids_stls, "UIDL stable across sessions")

c = poplib.POP3_SSL("127.0.0.1", ports["pop3s"], timeout=TIMEOUT, context=context)
poplib_check(c, "poplib POP3_SSL")
before = inbox()
c.dele(1)
c.quit()
check(inbox() == before[1:], "poplib POP3_SSL: DELE 1 + QUIT removed exactly the first message")

# --- curl: pop3:// and pop3s:// --------------------------------------------------------------------


def curl(url, *args):
    return harness_curl(url, USER, PASSWORD, store.cert, *args, timeout=TIMEOUT)


expected = stored_all()
plain_url = "pop3://127.0.0.1:%d/" % ports["pop3"]
tls_url = "pop3s://localhost:%d/" % ports["pop3s"]
resolve = ["--resolve", "localhost:%d:127.0.0.1" % ports["pop3s"]]
listing = curl(plain_url)
check(listing == b"".join(b"%d %d\r\n" % (n, len(m)) for n, m in enumerate(expected, 1)),
      "curl pop3://: LIST %r" % listing[:200])
for n, message in enumerate(expected, 1):
    check(curl(plain_url + str(n)) == message, "curl pop3://: RETR %d byte for byte" % n)
listing = curl(tls_url, *resolve)
check(listing == b"".join(b"%d %d\r\n" % (n, len(m)) for n, m in enumerate(expected, 1)), "curl pop3s://: LIST")
for n, message in enumerate(expected, 1):
    check(curl(tls_url + str(n), *resolve) == message, "curl pop3s://: RETR %d byte for byte" % n)
# STLS demanded by the client on the plain port
check(curl(plain_url + "2", "--ssl-reqd") == expected[1], "curl pop3:// --ssl-reqd (STLS): RETR 2")
before = inbox()
curl(plain_url + "1", "--request", "DELE", "--head")
check(inbox() == before[1:], "curl pop3://: DELE 1 removed exactly that message")
before = inbox()
curl(tls_url + "2", "--request", "DELE", "--head", *resolve)
check(inbox() == [before[0]] + before[2:], "curl pop3s://: DELE 2 removed exactly that message")

# --- fetchmail: one-shot, keep (STLS) then no-keep (implicit TLS), into an mbox ----------------------
for n in range(3):
    deliver(crlf(b"From: b@example.test\nSubject: for fetchmail %d\n\nbody %d\n..a stuffed line\n" % (n, n)))


def fetchmail(port, keep, implicit_tls):
    return harness_fetchmail("POP3", port, USER, PASSWORD, store.cert, work, keep, implicit_tls, TIMEOUT)


expected = stored_all()
got, log = fetchmail(ports["pop3"], keep=True, implicit_tls=False)
check("STLS" in log or "TLS" in log, "fetchmail over the plain port upgraded with STLS")
check(got == [m.replace(b"\r\n", b"\n") for m in expected],
      "fetchmail keep: %d messages in the mbox, byte for byte the stored ones (LF line ends)" % len(got))
check(stored_all() == expected, "fetchmail keep: the store is unchanged")
got, _ = fetchmail(ports["pop3s"], keep=False, implicit_tls=True)
check(got == [m.replace(b"\r\n", b"\n") for m in expected], "fetchmail no-keep over POP3S: byte for byte")
check(inbox() == [], "fetchmail no-keep: the INBOX is empty afterwards")

# --- two concurrent sessions: [IN-USE], in one process and across processes ---------------------------
seed_standard()


def login(port, user=USER, password=PASSWORD):
    c = LineClient(port, timeout=TIMEOUT)
    assert c.line().startswith("+OK")
    c.send("USER %s\r\n" % user)
    assert c.line().startswith("+OK")
    c.send("PASS %s\r\n" % password)
    return c, c.line()


first, reply = login(ports["pop3"])
check(reply.startswith("+OK Logged in"), "first session logged in")
second, reply = login(ports["pop3"])
check(reply == "-ERR [IN-USE] Maildrop is locked by another POP3 session", "second session: %s" % reply)
other, reply = login(ports["pop3"], "bob@example.test", "bob-pw")
check(reply.startswith("+OK Logged in"), "another user is not blocked")
other.send("QUIT\r\n")
other.line()
daemon2, ports2 = start()
third, reply = login(ports2["pop3"])
check(reply.startswith("-ERR [IN-USE]"), "session in a second pop3d process: %s" % reply)
first.send("QUIT\r\n")
check(first.line().startswith("+OK"), "first session quits")
second.send("USER %s\r\nPASS %s\r\n" % (USER, PASSWORD))
second.line()
check(second.line().startswith("+OK Logged in"), "after QUIT the maildrop is free again")
second.send("QUIT\r\n")
second.line()
check(daemon2.stop() == 0, "second pop3d stopped")

# --- killed after DELE: nothing deleted, the lock dies with the process --------------------------------
before = inbox()
c, reply = login(ports["pop3"])
c.send("DELE 1\r\nDELE 2\r\n")
check(c.line() == "+OK Message 1 deleted" and c.line() == "+OK Message 2 deleted", "DELE 1, DELE 2")
daemon.signal(signal.SIGKILL)
daemon.proc.wait(TIMEOUT)
check(inbox() == before, "pop3d killed after DELE: nothing deleted")
daemon, ports = start()
c, reply = login(ports["pop3"])
check(reply.startswith("+OK Logged in; maildrop has %d messages" % len(before)),
      "after the kill the maildrop is not stuck: %s" % reply)
c.send("DELE 1\r\n")
c.line()
local_port = c.sock.getsockname()[1]
c.close()  # a disconnect (not QUIT) deletes nothing either
daemon.wait_for(r"peer=127\.0\.0\.1:%d closed " % local_port)  # the session has ended
check(inbox() == before, "disconnect after DELE: nothing deleted")

# --- SIGTERM: the session is told, nothing is deleted -----------------------------------------------
daemon.stop()
daemon, ports = start("[server]\nshutdown_grace = 1\n")
c, reply = login(ports["pop3"])
c.send("DELE 1\r\n")
c.line()
daemon.signal(signal.SIGTERM)
check(c.line() == "-ERR [SYS/TEMP] Server shutting down", "SIGTERM: the session hears why it ends")
check(daemon.proc.wait(TIMEOUT) == 0, "SIGTERM: pop3d exits 0")
check(inbox() == before, "SIGTERM after DELE: nothing deleted")

# --- [server] message_reads = "pool": the same bytes when bodies are read on the blocking pool ------
daemon, ports = start('[server]\nmessage_reads = "pool"\n')
c = poplib.POP3("127.0.0.1", ports["pop3"], timeout=TIMEOUT)
poplib_check(c, "poplib, message bodies read on the pool")
c.quit()
check(daemon.stop() == 0, "pop3d with message_reads = pool stopped with exit status 0")
daemon, ports = start('[server]\nmessage_reads = "worker"\n')

# --- --inetd over pipes ------------------------------------------------------------------------
r = subprocess.run([pop3d, "-c", store.config, "--inetd"], capture_output=True, timeout=TIMEOUT,
                   input=("CAPA\r\nUSER %s\r\nPASS %s\r\nSTAT\r\nRETR 1\r\nQUIT\r\n" % (USER, PASSWORD)).encode())
out = r.stdout
first_message = stored(inbox()[0])
check(r.returncode == 0 and out.startswith(b"+OK hikyaku POP3 server ready\r\n"), "--inetd: greeting")
check(b"+OK %d " % len(before) in out, "--inetd: STAT after login: %r" % out[:400])
check(b"+OK %d octets\r\n" % len(first_message) + first_message + b".\r\n" in out, "--inetd: RETR 1")
check(out.endswith(b"+OK hikyaku POP3 server signing off (0 messages deleted, %d left)\r\n" % len(before)),
      "--inetd: QUIT")

# --- a 50 MB message: streamed, never whole in pop3d's memory ---------------------------------------
line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz.\r\n"
big = b"From: b@example.test\r\nSubject: big\r\n\r\n" + b"".join(
    (b"." if i % 1000 == 0 else b"") + line for i in range(50 * 1024 * 1024 // len(line)))
deliver(big)
digest = hashlib.sha256(big).hexdigest()
del big
number = len(inbox())
# Under AddressSanitizer every freed chunk sits in a quarantine (256 MB by default) and stays
# resident, which would measure the sanitizer, not pop3d; a small quarantine keeps it honest.
check(daemon.stop() == 0, "pop3d stopped before the 50 MB test")
env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":"))
daemon = Process([pop3d, "-c", store.config], env=env)
daemons.append(daemon)
ports = daemon.wait_listening(["pop3", "pop3s"])
c, reply = login(ports["pop3"])
rss_before = daemon.anon_rss_kib()
peak = [rss_before]
stop = threading.Event()


def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], daemon.anon_rss_kib())
        time.sleep(0.02)


sampler = threading.Thread(target=sample)
sampler.start()
c.send("RETR %d\r\n" % number)
status = c.line()
h = hashlib.sha256()
size = 0
while True:
    while b"\n" not in c.buffer:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed during RETR")
        c.buffer += chunk
    raw, _, c.buffer = c.buffer.partition(b"\n")
    if raw == b".\r":
        break
    if raw.startswith(b"."):
        raw = raw[1:]
    h.update(raw + b"\n")
    size += len(raw) + 1
stop.set()
sampler.join()
check(status == "+OK %d octets" % size, "50 MB RETR: status line announces %s, got %d octets" % (status, size))
check(h.hexdigest() == digest, "50 MB RETR: byte for byte (sha256)")
growth_mib = (peak[0] - rss_before) / 1024
# Anonymous memory only: the store is read through a memory map (storage/sqlite_db.cpp), so the
# message's file pages show in VmRSS as page cache; what pop3d itself holds is RssAnon.
print("pop3d private memory growth during the 50 MB RETR: %.1f MiB" % growth_mib)
check(growth_mib < 25, "50 MB RETR: pop3d's memory grew by %.1f MiB, far below the message size" % growth_mib)
c.send("QUIT\r\n")
c.line()

check(daemon.stop() == 0, "pop3d stopped with exit status 0")
for marker in ("ERROR: AddressSanitizer", "runtime error:", PASSWORD):
    check(all(marker not in d.output for d in daemons), "no %r in the logs of %d pop3d runs" % (marker, len(daemons)))
shutil.rmtree(work, ignore_errors=True)
print("all pop3 interop checks passed")
