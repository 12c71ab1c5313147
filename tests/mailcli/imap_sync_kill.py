"""imap_sync_kill.py: `mailcli imap sync` killed with SIGKILL at random points, again and again,
with mail arriving, flags changing and messages expunged on the server between runs; then one
run to the end. The Maildir must then hold every message of the mailbox exactly once, byte for
byte as on the server, with its flags, and nothing half-written (tmp/ empty, every file whole).
The random points come from a seed printed at the start (HIKYAKU_TEST_SEED repeats a run).
Against Dovecot's imapd, or with IMAPD given against hikyaku's imapd (a temporary store; mail
arrives through `imap import --mbox`).
Usage: imap_sync_kill.py MAILCLI [IMAPD]
Must never: touch a system-wide Dovecot; every process it starts is stopped.
"""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import Process, Store, check  # noqa: E402
from dovecot_server import Dovecot  # noqa: E402

MAILCLI = sys.argv[1]
IMAPD = sys.argv[2] if len(sys.argv) > 2 else None
seed = int(os.environ.get("HIKYAKU_TEST_SEED", str(int(time.time()))))
print("seed %d (HIKYAKU_TEST_SEED=%d repeats this run)" % (seed, seed))
rng = random.Random(seed)
if IMAPD:
    store = Store('[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n', users=(("bob@example.test", "bob-pw"),))
    tmp, user, password, port = store.dir, "bob@example.test", b"bob-pw\n", None
else:
    dovecot = Dovecot()
    tmp, user, password, port = dovecot.tmp, "alice", b"alice-pw\n", dovecot.port
mirror = os.path.join(tmp, "mirror")


def base(*args):
    return [MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--tls", "none",
            "--user", user, "--password-stdin", "--timeout", "20"] + list(args)


def mailcli(*args):
    r = subprocess.run(base(*args), input=password, capture_output=True, timeout=120)
    check(r.returncode == 0, "%s exits 0 (%r)" % (" ".join(args), r.stderr[-500:]))
    return r


def message(n, size):
    head = b"From: sender%d@example.test\r\nSubject: message %d\r\n\r\n" % (n, n)
    line = b"%d " % n + b"y" * 70 + b"\r\n"
    return head + line * max(1, size // len(line))


counter = [0]


def put_many(count):
    if IMAPD:  # an mbox imported over IMAP (Status: RO is \Seen)
        mbox = os.path.join(tmp, "arrivals.mbox")
        with open(mbox, "wb") as f:
            for _ in range(count):
                counter[0] += 1
                raw = message(counter[0], rng.choice([500, 4000, 20000, 120000])).replace(b"\r\n", b"\n")
                status = rng.choice([b"", b"Status: RO\n"])
                f.write(b"From x@example.test Thu Nov 26 15:00:00 2026\n" + raw.replace(b"\n\n", b"\n" + status + b"\n", 1)
                        + b"\n")
        mailcli("imap", "import", "--mbox", mbox)
        return
    for _ in range(count):
        counter[0] += 1
        dovecot.put(message(counter[0], rng.choice([500, 4000, 20000, 120000])), name="m%05d" % counter[0],
                    flags=rng.choice(["", "S", "FS"]))


def by_uid(d):
    out = {}
    for path in glob.glob(os.path.join(d, "cur", "*")) + glob.glob(os.path.join(d, "new", "*")):
        name = os.path.basename(path)
        uid = int(name.split(",U=")[1].split(",")[0])
        check(uid not in out, "UID %d is in the Maildir once" % uid)
        with open(path, "rb") as f:
            out[uid] = (f.read(), name.split(":2,")[1])
    return out


if IMAPD:
    imapd = Process([IMAPD, "-c", store.config])
    port = imapd.wait_listening(["imap"])["imap"]
    put_many(300)
else:
    put_many(300)
    dovecot.start()
try:
    kills = 0
    grew = 0  # killed runs that had stored some messages: killed in the middle of a download
    # At least 12 rounds, and on until 4 of them were killed mid-run (a fast machine finishes
    # some syncs before their kill); bounded at 40 rounds.
    for round_number in range(40):
        if round_number >= 12 and kills >= 4:
            break
        proc = subprocess.Popen(base("imap", "sync", "INBOX", "--maildir", mirror, "--connections",
                                     str(rng.choice([1, 2, 4]))),
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.stdin.write(password)
        proc.stdin.close()
        before = len(glob.glob(os.path.join(mirror, "cur", "*")))
        # Killed either at a random moment from the start (logging in, planning, flags), or at
        # a random moment after its first message reached cur/ (in the middle of the download,
        # however long logging in took on this machine).
        if rng.random() < 0.5:
            deadline = time.time() + 30
            while (proc.poll() is None and time.time() < deadline
                   and len(glob.glob(os.path.join(mirror, "cur", "*"))) <= before):
                time.sleep(0.005)
            delay = rng.uniform(0.0, 0.02)  # soon after the first message: mid-download
        else:
            delay = rng.uniform(0.0, 0.3)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            kills += 1
            proc.wait(timeout=30)
            if len(glob.glob(os.path.join(mirror, "cur", "*"))) > before:
                grew += 1
        err = proc.stderr.read()
        check(proc.returncode in (0, -signal.SIGKILL), "round %d: killed or done (%d %r)" % (round_number, proc.returncode, err))
        # The server changes between runs: new mail (work for the next run to be killed in),
        # flags, expunges.
        put_many(60)
        if round_number % 3 == 1:
            mailcli("imap", "flag", "%d:%d" % (rng.randint(1, 50), rng.randint(51, 120)), "+flagged")
        if round_number % 3 == 2:
            uids = [m["uid"] for m in json.loads(mailcli("--json", "imap", "list").stdout)]
            start = rng.randrange(0, len(uids) - 20)
            mailcli("imap", "delete", "--expunge", ",".join(str(u) for u in uids[start:start + rng.randint(1, 20)]))
    check(kills >= 4, "sync was killed in the middle several times (%d)" % kills)
    check(grew >= 2, "killed in the middle of downloads (%d runs had stored some messages)" % grew)

    mailcli("imap", "sync", "INBOX", "--maildir", mirror, "--connections", "4")
    reference = os.path.join(tmp, "reference")
    mailcli("imap", "export", "INBOX", "--maildir", reference, "--connections", "1")
    got, want = by_uid(mirror), by_uid(reference)
    check(sorted(got) == sorted(want), "every message exactly once (%d local, %d on the server)" % (len(got), len(want)))
    check(all(got[u][0] == want[u][0] for u in want), "every file whole, byte for byte as on the server")
    check(all(got[u][1] == want[u][1] for u in want), "the flags of every message")
    check(os.listdir(os.path.join(mirror, "tmp")) == [], "nothing half-written left in tmp/")
    r = mailcli("--json", "imap", "sync", "INBOX", "--maildir", mirror)
    check(b'"new":0' in r.stdout and b'"expunged":0' in r.stdout, "a last run has nothing to do (%r)" % r.stdout)
finally:
    if IMAPD:
        imapd.stop()
    else:
        dovecot.remove()
print("all passed")
