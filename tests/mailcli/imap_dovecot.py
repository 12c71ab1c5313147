"""imap_dovecot.py: every `mailcli imap` command against Dovecot's imapd (an independent IMAP
server) started here on loopback ports: mailboxes (special use, counts, a non-ASCII name through
modified UTF-7), mkdir/rename/rmdir, append and import (Maildir with flags, mbox with ">From "),
list (--unseen, --limit, --json), read/raw/save, search (the query language, --raw, a UTF-8
term), flag, move, copy, delete (to Trash, --expunge), export over 1 and 4 connections (the
same files byte for byte), sync (new messages, flag changes, expunges, nothing twice), watch
(IDLE renewed, one line per new message, --exec with its environment), send --save-sent,
STARTTLS and implicit TLS verified with --ca, and a refused password.
Usage: imap_dovecot.py MAILCLI
Must never: touch a system-wide Dovecot; every file lives in a temporary directory.
"""
import glob
import gzip
import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import check  # noqa: E402
from dovecot_server import Dovecot  # noqa: E402
from fake_servers import fake_server, smtp_sink  # noqa: E402

MAILCLI = sys.argv[1]
dovecot = Dovecot()
tmp = dovecot.tmp


def mailcli(*args, stdin=b"alice-pw\n", tls="none", port=None, timeout=60):
    argv = [MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port or dovecot.port), "--tls",
            tls, "--user", "alice", "--password-stdin", "--timeout", "10"] + list(args)
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)


def ok(r, what):
    check(r.returncode == 0, "%s exits 0 (%d: %r)" % (what, r.returncode, r.stderr[-600:]))
    return r


def jsonout(*args):
    r = ok(mailcli("--json", *args), " ".join(args))
    return json.loads(r.stdout)


def flagset(m):
    return set(m["flags"]) - {"\\Recent"}


def message(subject, sender="Alice <alice@example.test>", body="hello\n", date="Thu, 26 Nov 2026 15:00:00 +0000"):
    return ("From: %s\r\nTo: bob@example.test\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\n%s"
            % (sender, subject, date, abs(hash(subject)), body.replace("\n", "\r\n"))).encode()


# The INBOX: three messages straight in the Maildir, one seen and one large.
big = message("large report", body="x" * 2000000 + "\n")
dovecot.put(message("first", sender="Carol <carol@example.test>"), name="1")
dovecot.put(message("second"), name="2", flags="S")
dovecot.put(big, name="3")
dovecot.start()
try:
    # --- mailboxes, mkdir, rename, rmdir ---------------------------------------------------------
    boxes = {m["name"]: m for m in jsonout("imap", "mailboxes")}
    check(boxes["INBOX"]["messages"] == 3 and boxes["INBOX"]["unseen"] == 2, "INBOX counts (%r)" % boxes["INBOX"])
    check(boxes["Sent"]["special_use"] == "\\Sent" and boxes["Trash"]["special_use"] == "\\Trash", "special use")
    check(boxes["INBOX"]["size"] > 2000000, "mailbox size from STATUS SIZE")
    ok(mailcli("imap", "mkdir", "Rechnungen/Köln"), "mkdir with a non-ASCII name")
    r = ok(mailcli("imap", "mailboxes"), "mailboxes as a table")
    check("Rechnungen/Köln" in r.stdout.decode() and "MESSAGES" in r.stdout.decode(), "the name decoded from modified UTF-7")
    r = ok(mailcli("--trace", "imap", "rename", "Rechnungen/Köln", "Rechnungen/Zürich"), "rename")
    check(b"Rechnungen/K&APY-ln" in r.stderr, "the name is sent in modified UTF-7 (%r)" % r.stderr[-400:])
    check("Rechnungen/Zürich" in {m["name"] for m in jsonout("imap", "mailboxes")}, "renamed")
    ok(mailcli("imap", "rmdir", "Rechnungen/Zürich"), "rmdir")
    check("Rechnungen/Zürich" not in {m["name"] for m in jsonout("imap", "mailboxes")}, "removed")
    r = mailcli("imap", "rmdir", "Nowhere")
    check(r.returncode == 6 and r.stderr.count(b"\n") == 1 and b"NO" in r.stderr, "rmdir of a missing mailbox: exit 6")

    # --- append, import -------------------------------------------------------------------------
    ok(mailcli("imap", "mkdir", "Archive"), "mkdir Archive")
    lf_file = os.path.join(tmp, "lf.eml")
    with open(lf_file, "wb") as f:
        f.write(b"From: Dave <dave@example.test>\nSubject: bare LF lines\n\nline one\nline two\n")
    r = ok(mailcli("--json", "imap", "append", "Archive", lf_file, "--flag", "seen"), "append")
    appended = json.loads(r.stdout)
    check(appended[0]["uid"] == 1, "append reports the UID (APPENDUID) (%r)" % appended)
    r = ok(mailcli("imap", "raw", "1", "--mailbox", "Archive"), "raw")
    check(r.stdout == b"From: Dave <dave@example.test>\r\nSubject: bare LF lines\r\n\r\nline one\r\nline two\r\n",
          "appended with CRLF line ends (%r)" % r.stdout)
    check(flagset(jsonout("imap", "list", "Archive")[0]) == {"\\Seen"}, "append --flag seen")

    source = os.path.join(tmp, "source")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(source, sub))
    with open(os.path.join(source, "cur", "100.a.host:2,FS"), "wb") as f:
        f.write(message("from a maildir, flagged"))
    with open(os.path.join(source, "new", "101.b.host"), "wb") as f:
        f.write(message("from a maildir, new"))
    ok(mailcli("imap", "import", "--maildir", source, "--to", "Archive"), "import --maildir")
    mbox = os.path.join(tmp, "in.mbox")
    with open(mbox, "wb") as f:
        f.write(b"From alice@example.test Thu Nov 26 15:00:00 2026\nSubject: mbox one\nStatus: RO\n\n"
                b">From the start\nbody\n\nFrom bob@example.test Thu Nov 26 16:00:00 2026\nSubject: mbox two\n\n"
                b"body two\nFrom here on, no separator (no blank line before it)\n")
    r = ok(mailcli("--json", "imap", "import", "--mbox", mbox, "--to", "Archive"), "import --mbox")
    check(json.loads(r.stdout)["imported"] == 2, "two messages from the mbox")
    listing = jsonout("imap", "list", "Archive")
    subjects = [m["subject"] for m in listing]
    check(subjects == ["bare LF lines", "from a maildir, flagged", "from a maildir, new", "mbox one", "mbox two"],
          "imported in order (%r)" % subjects)
    check(flagset(listing[1]) == {"\\Flagged", "\\Seen"} and flagset(listing[2]) == set(), "Maildir flags kept")
    check(flagset(listing[3]) == {"\\Seen"}, "mbox Status: RO is \\Seen")
    r = ok(mailcli("imap", "raw", str(listing[3]["uid"]), "--mailbox", "Archive"), "raw of the mbox message")
    check(r.stdout.endswith(b"\r\n\r\nFrom the start\r\nbody\r\n"), ">From unescaped, separator blank line dropped (%r)" % r.stdout)

    # --- list, read, raw, save ------------------------------------------------------------------
    inbox = jsonout("imap", "list")
    check([m["subject"] for m in inbox] == ["first", "second", "large report"], "list: oldest first, newest last")
    check(inbox[0]["from"] == "Carol <carol@example.test>" and inbox[2]["size"] == len(big), "from and size")
    check([m["subject"] for m in jsonout("imap", "list", "--unseen")] == ["first", "large report"], "list --unseen")
    check([m["subject"] for m in jsonout("imap", "list", "--limit", "1")] == ["large report"], "list --limit: the newest")
    r = ok(mailcli("imap", "list"), "list as a table")
    check("SUBJECT" in r.stdout.decode() and "\x1b" not in r.stdout.decode(), "a table without colors on a pipe")
    r = ok(mailcli("imap", "read", "1"), "read")
    check("Subject: first" in r.stdout.decode() and "hello" in r.stdout.decode(), "read renders the message")
    check(jsonout("imap", "read", "2")["uid"] == 2, "read --json")
    r = ok(mailcli("imap", "raw", "3"), "raw")
    check(r.stdout == big, "raw gives the message byte for byte (2 MB literal)")
    check(jsonout("imap", "list", "--unseen")[0]["subject"] == "first", "read and raw leave \\Seen alone (BODY.PEEK)")
    r = mailcli("imap", "read", "99")
    check(r.returncode == 2 and b"no message with UID 99" in r.stderr, "a missing UID is a usage error")

    attachment = os.path.join(tmp, "data.gz")
    payload = gzip.compress(bytes(range(256)) * 8, mtime=0)
    with open(attachment, "wb") as f:
        f.write(payload)
    composed = subprocess.run([MAILCLI, "--accounts", "/dev/null", "send", "--dry-run", "--from", "Zoë <zoe@example.test>",
                               "--to", "alice@example.test", "--subject", "Grüße", "--attach", attachment],
                              input=b"Hallo\n", capture_output=True, timeout=30)
    with open(os.path.join(tmp, "composed.eml"), "wb") as f:
        f.write(composed.stdout)
    r = ok(mailcli("--json", "imap", "append", "INBOX", os.path.join(tmp, "composed.eml")), "append a composed message")
    composed_uid = json.loads(r.stdout)[0]["uid"]
    out = os.path.join(tmp, "saved")
    ok(mailcli("imap", "save", str(composed_uid), "--attachments", out), "save")
    with open(os.path.join(out, "data.gz"), "rb") as f:
        check(f.read() == payload, "the saved attachment has the original bytes")

    # --- search ---------------------------------------------------------------------------------
    def search(*query):
        return [m["subject"] for m in jsonout("imap", "search", *query)]
    check(search("from:carol") == ["first"], "from:")
    check(search("subject:second", "or", "larger:1M") == ["second", "large report"], "or, larger: with M")
    check(search("not", "seen", "and", "smaller:1M") == ["first", "Grüße"], "not, and, smaller:")
    check(search("-seen", "since:2026-01-01") == ["first", "large report", "Grüße"], "-term and since: a date")
    check(search("(from:carol", "or", "from:zoë)", "hello") == ["first"], "parentheses, a UTF-8 term, bare word is TEXT")
    check(search("subject:Grüße") == ["Grüße"], "a UTF-8 subject (CHARSET UTF-8, a literal)")
    check(search("--raw", "UNSEEN LARGER 1000000") == ["large report"], "--raw keys")
    r = ok(mailcli("--trace", "imap", "search", "subject:\"large report\"", "not", "flagged"), "search --trace")
    check(b"UID SEARCH RETURN (ALL) SUBJECT \"large report\" NOT FLAGGED" in r.stderr,
          "the trace shows the translated SEARCH (%r)" % r.stderr[-800:])
    r = mailcli("imap", "search", "since:2026-02-30")
    check(r.returncode == 2 and b"not a day" in r.stderr, "a date that does not exist: usage error")
    r = mailcli("imap", "search", "frm:alice")
    check(r.returncode == 2 and b"unknown term" in r.stderr, "an unknown term: usage error")

    # --- flag, copy, move, delete ------------------------------------------------------------------
    ok(mailcli("imap", "flag", "1", "3", "+seen", "+flagged"), "flag +seen +flagged")
    flags = {m["uid"]: flagset(m) for m in jsonout("imap", "list")}
    check(flags[1] == {"\\Seen", "\\Flagged"} and flags[3] == {"\\Seen", "\\Flagged"}, "flags added (%r)" % flags)
    ok(mailcli("imap", "flag", "3", "-flagged", "-seen"), "flag -flagged -seen")
    check({m["uid"]: flagset(m) for m in jsonout("imap", "list")}[3] == set(), "flags removed")
    r = mailcli("imap", "flag", "77", "+seen")
    check(r.returncode == 2 and b"no message with UID 77" in r.stderr, "flag of a missing UID: usage error")
    ok(mailcli("imap", "copy", "1", "Archive"), "copy")
    check(jsonout("imap", "list", "Archive")[-1]["subject"] == "first", "copied")
    ok(mailcli("imap", "move", "2", "Archive"), "move")
    check([m["uid"] for m in jsonout("imap", "list")] == [1, 3, composed_uid], "moved away from INBOX")
    r = ok(mailcli("imap", "delete", str(composed_uid)), "delete")
    check(b"to Trash" in r.stdout and jsonout("imap", "list", "Trash")[0]["subject"] == "Grüße", "delete moves to Trash")
    ok(mailcli("imap", "delete", "1", "--mailbox", "Archive", "--expunge"), "delete --expunge")
    check(1 not in [m["uid"] for m in jsonout("imap", "list", "Archive")], "expunged")

    # --- export: 1 and 4 connections give the same Maildir ----------------------------------------
    for i in range(60):
        dovecot.put(message("bulk %d" % i, body=("line %d\n" % i) * (i * 40)), name="bulk%02d" % i,
                    flags="S" if i % 3 == 0 else "")

    def maildir_by_uid(d):
        out = {}
        for path in glob.glob(os.path.join(d, "cur", "*")) + glob.glob(os.path.join(d, "new", "*")):
            name = os.path.basename(path)
            uid = int(name.split(",U=")[1].split(",")[0])
            check(uid not in out, "UID %d is in %s once" % (uid, d))
            with open(path, "rb") as f:
                out[uid] = (f.read(), name.split(":2,")[1])
        return out

    one, four = os.path.join(tmp, "export1"), os.path.join(tmp, "export4")
    r = ok(mailcli("--json", "imap", "export", "INBOX", "--maildir", one, "--connections", "1"), "export, 1 connection")
    check(json.loads(r.stdout)["downloaded"] == 62 and json.loads(r.stdout)["connections"] == 1, "62 messages")
    r = ok(mailcli("--json", "imap", "export", "INBOX", "--maildir", four, "--connections", "4"), "export, 4 connections")
    check(json.loads(r.stdout)["failed_connections"] == 0, "no connection failed")
    a, b = maildir_by_uid(one), maildir_by_uid(four)
    check(len(a) == 62 and a == b, "parallel export equals single-connection export byte for byte, flags too")
    check(a[3] == (big, "FS") or a[3][0] == big, "a message's bytes as on the server")
    r = mailcli("imap", "export", "INBOX", "--maildir", one)
    check(r.returncode == 2 and b"already holds messages" in r.stderr, "export refuses a Maildir with messages")

    # --- sync: incremental ------------------------------------------------------------------------
    mirror = os.path.join(tmp, "mirror")
    r = ok(mailcli("--json", "imap", "sync", "INBOX", "--maildir", mirror, "--connections", "3"), "first sync")
    check(json.loads(r.stdout)["new"] == 62, "the first sync downloads everything")
    check(maildir_by_uid(mirror) == a, "the mirror equals the export")
    r = ok(mailcli("--json", "imap", "sync", "INBOX", "--maildir", mirror), "second sync")
    result = json.loads(r.stdout)
    check(result["new"] == 0 and result["flag_changes"] == 0 and result["expunged"] == 0, "nothing changed: nothing done")
    ok(mailcli("imap", "flag", "1", "+answered"), "a flag changes on the server")
    ok(mailcli("imap", "delete", "--expunge", "3"), "a message is expunged on the server")
    ok(mailcli("imap", "append", "INBOX", lf_file), "a message arrives")
    r = ok(mailcli("--json", "--trace", "imap", "sync", "INBOX", "--maildir", mirror), "third sync")
    result = json.loads(r.stdout)
    check(result["new"] == 1 and result["flag_changes"] == 1 and result["expunged"] == 1, "one of each (%r)" % result)
    check(b"QRESYNC" in r.stderr and b"CHANGEDSINCE" in r.stderr, "QRESYNC/CONDSTORE used when announced")
    m = maildir_by_uid(mirror)
    check(3 not in m and "R" in m[1][1] and len(m) == 62, "the Maildir follows the server")
    with open(os.path.join(mirror, ".mailcli-imap-sync")) as f:
        state = f.read()
    check("uidvalidity " in state and "highestmodseq " in state and "/INBOX" in state, "the state file (%r)" % state)
    r = mailcli("imap", "sync", "Archive", "--maildir", mirror)
    check(r.returncode == 2 and b"mirrors" in r.stderr, "a Maildir mirrors one mailbox")

    # --- watch: IDLE, renewed, --exec -----------------------------------------------------------
    seen_file = os.path.join(tmp, "exec.txt")
    watch = subprocess.Popen([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(dovecot.port),
                              "--tls", "none", "--user", "alice", "--password-stdin", "--trace", "--json", "imap",
                              "watch", "INBOX", "--count", "2", "--renew", "1", "--exec",
                              'printf "%s|%s|%s\\n" "$MAILCLI_UID" "$MAILCLI_SUBJECT" "$MAILCLI_MAILBOX" >> ' + seen_file],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch.stdin.write(b"alice-pw\n")
    watch.stdin.close()
    trace = queue.Queue()
    threading.Thread(target=lambda: [trace.put(l) for l in watch.stderr], daemon=True).start()
    idles, deadline = 0, time.time() + 30
    while idles < 2 and time.time() < deadline:  # IDLE started, renewed after 1 s, started again
        try:
            line = trace.get(timeout=1)
            if line.startswith(b"C: ") and line.rstrip().endswith(b" IDLE"):
                idles += 1
        except queue.Empty:
            pass
    check(idles >= 2, "watch is in IDLE and renews it (%d)" % idles)
    ok(mailcli("imap", "append", "INBOX", lf_file), "a new message while watching")
    ok(mailcli("imap", "append", "INBOX", os.path.join(tmp, "composed.eml")), "another")
    try:
        watch.wait(timeout=30)
    except subprocess.TimeoutExpired:
        watch.kill()
        watch.wait()
    out = watch.stdout.read()
    check(watch.returncode == 0, "watch --count 2 ends by itself (%r)" % watch.returncode)
    events = [json.loads(l) for l in out.decode().splitlines()]
    check([e["subject"] for e in events] == ["bare LF lines", "Grüße"], "one JSON line per new message (%r)" % events)
    with open(seen_file) as f:
        ran = f.read().splitlines()
    check(ran == ["%d|bare LF lines|INBOX" % events[0]["uid"], "%d|Grüße|INBOX" % events[1]["uid"]],
          "--exec ran per message with MAILCLI_* set (%r)" % ran)

    # --- send --save-sent ---------------------------------------------------------------------------
    got = []
    smtp_port = fake_server(lambda c: smtp_sink(c, got=got, ehlo=b"250-mx.test\r\n250 AUTH PLAIN\r\n"))
    accounts = os.path.join(tmp, "mailcli.toml")
    with open(accounts, "w") as f:
        f.write('[accounts.test]\nhost = "127.0.0.1"\nuser = "alice"\ntls = "none"\nsmtp_port = %d\nimap_port = %d\n'
                % (smtp_port, dovecot.port))
    r = subprocess.run([MAILCLI, "--accounts", accounts, "--password-stdin", "send", "--to", "bob@example.test",
                        "--subject", "kept a copy", "--save-sent"], input=b"alice-pw\nthe text\n",
                       capture_output=True, timeout=60)
    check(r.returncode == 0 and b"saved in Sent" in r.stdout and len(got) == 1, "send --save-sent (%r)" % r.stderr)
    sent = jsonout("imap", "list", "Sent")
    check(len(sent) == 1 and sent[0]["subject"] == "kept a copy" and flagset(sent[0]) == {"\\Seen"}, "a copy in Sent, seen")

    # --- TLS and a refused password ---------------------------------------------------------------
    r = mailcli("imap", "list", tls="starttls")
    check(r.returncode == 4, "STARTTLS without --ca fails verification (exit 4)")
    r = ok(mailcli("--ca", dovecot.cert, "--json", "imap", "mailboxes", tls="starttls"), "STARTTLS verified with --ca")
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "localhost", "--port", str(dovecot.tls_port),
                        "--tls", "tls", "--user", "alice", "--password-stdin", "--ca", dovecot.cert, "--trace", "imap",
                        "list"], input=b"alice-pw\n", capture_output=True, timeout=60)
    check(r.returncode == 0 and b"LOGIN \"alice\" ****" in r.stderr and b"alice-pw" not in r.stderr,
          "implicit TLS works; the trace masks the password (%r)" % r.stderr[-300:])
    r = mailcli("imap", "list", stdin=b"wrong\n")
    check(r.returncode == 5 and b"wrong" not in r.stderr and r.stderr.count(b"\n") == 1,
          "a refused password: exit 5 (%d %r)" % (r.returncode, r.stderr))
finally:
    dovecot.remove()
print("all passed")
