"""test_smtp_memory.py: what smtpd holds for messages in flight is bounded (issue 11,
hardening 3-5), measured on the running daemon from /proc (RssAnon: heap and stacks, without
the file pages of the spool and the store, which the kernel can drop):

  - many sessions each send megabytes of DATA and then stall before the final dot: the heap
    stays within [server] message_memory plus a fixed overhead (the rest is spooled to disk);
  - BDAT chunks sent before MAIL are read and dropped (503), not kept while the session idles;
  - a message with a 10 MB header line is delivered and the heap comes back down afterwards;
  - a 68 MB message peaks at far less than one copy of it in the heap.
Every read has a timeout, every process is stopped, everything is on 127.0.0.1."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, StoreTool, check, binary_dir  # noqa: E402

MIB = 1024 * 1024
CONFIG = """
[server]
message_memory = %d
spool_limit = %d
[smtpd]
hostname = "mx.example.test"
listen = ["127.0.0.1:0"]
data_timeout = 120
command_timeout = 120
""" % (16 * MIB, 2048 * MIB)

store = Store(CONFIG, users=(("alice@example.test", "alice-pw"),), storage_extra="max_message_size = %d\n" % (100 * MIB))
tool = StoreTool(store)
# Under AddressSanitizer (the test command's build) freed memory waits in a quarantine before
# it is reused, which would count as heap here: turn the quarantine off for this daemon.
env = dict(os.environ)
env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0",
                                               "thread_local_quarantine_size_kb=0"]))
daemon = Process([os.path.join(binary_dir(), "smtpd", "smtpd"), "-c", store.config], env=env)
port = daemon.wait_listening(["smtp"])["smtp"]


def anon_kib():
    return daemon.rss_kib("RssAnon")


def open_transaction():
    c = LineClient(port, timeout=60)
    assert c.line().startswith("220 ")
    c.send("EHLO client.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    while not c.line().startswith("354"):
        pass
    return c


def unread_bytes():
    """Bytes waiting in the receive queues of smtpd's connections (/proc/net/tcp rx_queue)."""
    total = 0
    with open("/proc/net/tcp") as f:
        for row in f.readlines()[1:]:
            fields = row.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # local port, ESTABLISHED
                total += int(fields[4].split(":")[1], 16)
    return total


def wait_consumed(timeout=60):
    """Waits until smtpd has read everything sent to it: the event, not a sleep."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if unread_bytes() == 0:
            return True
        time.sleep(0.05)
    return False


def send_all(clients, payload):
    """Sends payload on every client in parallel; returns when every byte was taken."""
    threads = [threading.Thread(target=c.sock.sendall, args=(payload,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return all(not t.is_alive() for t in threads)


# A few transactions first, so the allocator and SQLite reach their working size.
for i in range(3):
    c = open_transaction()
    c.send("Subject: warm %d\r\n\r\nhello\r\n.\r\n" % i)
    assert c.line().startswith("250 "), "warm-up delivery"
    c.close()
baseline = anon_kib()
print("baseline RssAnon %d KiB" % baseline)

# --- 1. stalled DATA: 40 sessions x 8 MB, no final dot -------------------------------------
SESSIONS, EACH = 40, 8 * MIB
clients = [open_transaction() for _ in range(SESSIONS)]
line = b"x" * 998 + b"\r\n"
payload = b"Subject: stalled\r\n\r\n" + line * (EACH // len(line))
check(send_all(clients, payload), "%d sessions sent %d MB of DATA each and stalled" % (SESSIONS, EACH // MIB))
check(wait_consumed(), "smtpd has read every byte sent")
probe = LineClient(port)
check(probe.line().startswith("220 "), "smtpd still answers new connections")
probe.close()
grown = anon_kib() - baseline
print("stalled DATA: %d MB in flight, RssAnon grew %d KiB" % (SESSIONS * EACH // MIB, grown))
check(grown < 48 * 1024, "heap bounded by message_memory (16 MiB) + overhead, not %d MB in flight: grew %d KiB"
      % (SESSIONS * EACH // MIB, grown))
for c in clients:
    c.close()
check(tool.count("alice@example.test") == 3, "nothing of the stalled messages was stored")

# --- 2. BDAT before MAIL: read, refused, dropped ------------------------------------------
before = anon_kib()
clients = []
for _ in range(10):
    c = LineClient(port, timeout=60)
    assert c.line().startswith("220 ")
    c.send("EHLO client.example\r\n")
    while not c.line().startswith("250 "):
        pass
    clients.append(c)
chunk = 8 * MIB
check(send_all(clients, b"BDAT %d\r\n" % chunk + b"y" * chunk), "10 x BDAT %d MB before MAIL sent" % (chunk // MIB))
replies = [c.line() for c in clients]
check(all(r.startswith("503 ") for r in replies), "each refused with 503: %s" % replies[0])
grown = anon_kib() - before
check(grown < 24 * 1024, "the refused chunks are not kept while the sessions idle: grew %d KiB" % grown)
for c in clients:
    c.close()

# --- 3. a 10 MB header line, then the heap comes back ---------------------------------------
before = anon_kib()
c = open_transaction()
c.send(b"Subject: long\r\nX-Long: " + b"z" * (10 * MIB) + b"\r\n\r\nbody\r\n.\r\n")
reply = c.line()
check(reply.startswith("250 "), "a 10 MB header line is delivered: %s" % reply)
c.send("QUIT\r\n")
c.line()
c.close()
after = anon_kib()
print("10 MB header line: RssAnon %d -> %d KiB" % (before, after))
check(after - before < 16 * 1024, "RssAnon afterwards within 16 MiB of before: %+d KiB" % (after - before))

# --- 4. a 68 MB message: the heap never holds a copy ---------------------------------------
before = anon_kib()
peak = [before]
sampling = [True]


def sample():
    while sampling[0]:
        try:
            peak[0] = max(peak[0], anon_kib())
        except (OSError, ValueError):
            return
        time.sleep(0.02)


sampler = threading.Thread(target=sample)
sampler.start()
c = open_transaction()
big_line = b"m" * 998 + b"\r\n"
c.sock.sendall(b"Subject: big\r\n\r\n" + big_line * (68 * MIB // len(big_line)) + b".\r\n")
reply = c.line()
sampling[0] = False
sampler.join(10)
check(reply.startswith("250 "), "a 68 MB message is delivered: %s" % reply)
c.close()
print("68 MB message: RssAnon peak %+d KiB over %d KiB" % (peak[0] - before, before))
check(peak[0] - before < 34 * 1024, "the heap peaked below half the message: %+d KiB" % (peak[0] - before))
check("spooled=yes" in daemon.output, "the large messages went through the spool (logged)")
messages = tool.messages("alice@example.test")
check(len(messages) == 5 and len(messages[-1]["raw"]) > 68 * MIB - 2 * MIB, "the 68 MB message is stored whole")

check(daemon.stop() == 0, "smtpd stops cleanly")
check("ERROR" not in daemon.output, "no sanitizer report")
