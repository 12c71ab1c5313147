"""imap_hikyaku.py: mailcli imap against hikyaku's own imapd (with smtpd delivering): mail sent
through smtpd read back over IMAP byte for byte, mailboxes with their special use, mkdir/rename/
rmdir of a non-ASCII name, append and import, list/read/raw/save, search, flag, copy, move,
delete to Trash and --expunge, export over 1 and 4 connections (the same files, byte for byte as
`imap raw` gives them, flags in the Maildir info), incremental sync (new mail, flag changes and
expunges, with QRESYNC when imapd announces it, a new UIDVALIDITY refused), watch (IDLE: a message delivered by smtpd
is reported; IDLE renewed, --exec with its environment, reconnecting with a doubling backoff
while imapd restarts), list --limit, save --attachments, terminal escapes in a message kept off
the terminal, the search language (--trace shows the SEARCH, --raw), import --maildir, the
progress bar on a terminal only, send --save-sent, STARTTLS and implicit TLS verified with
--ca, a refused password.
Usage: imap_hikyaku.py MAILCLI SMTPD IMAPD
Must never: leave a daemon running (the harness stops them at exit).
"""
import glob
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Process, Store, check, free_port, run_on_terminal, strip_trace_headers  # noqa: E402

MAILCLI, SMTPD, IMAPD = sys.argv[1:4]
store = Store('[smtpd]\nhostname = "mx.example.test"\nlisten = ["127.0.0.1:0"]\nsubmission = ["127.0.0.1:0"]\n'
              'submissions = []\n[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n',
              users=(("alice@example.test", "alice-pw"), ("bob@example.test", "bob-pw")))
smtpd = Process([SMTPD, "-c", store.config])
smtp_ports = smtpd.wait_listening(["smtp", "submission"])
imapd = Process([IMAPD, "-c", store.config])
imap_ports = imapd.wait_listening(["imap", "imaps"])
tmp = tempfile.mkdtemp(prefix="mailcli-imap-hikyaku-")


def mailcli(*args, user="bob@example.test", password="bob-pw", tls="none", port=None, stdin=b"", timeout=120):
    argv = [MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port or imap_ports["imap"]),
            "--tls", tls, "--ca", store.cert, "--timeout", "20", "--user", user, "--password-stdin"] + list(args)
    return subprocess.run(argv, input=(password + "\n").encode() + stdin, capture_output=True, timeout=timeout)


def ok(r, what):
    check(r.returncode == 0, "%s exits 0 (%d: %r)" % (what, r.returncode, r.stderr[-800:]))
    return r


def jsonout(*args, **kw):
    return json.loads(ok(mailcli("--json", *args, **kw), " ".join(args)).stdout)


def flagset(m):
    return set(m["flags"]) - {"\\Recent"}


def send(subject, body=b"hello\n", extra=()):
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(smtp_ports["smtp"]),
                        "--tls", "none", "send", "--from", "Alice <alice@example.test>", "--to", "bob@example.test",
                        "--subject", subject] + list(extra), input=body, capture_output=True, timeout=60)
    check(r.returncode == 0, "sent %r through smtpd (%r)" % (subject, r.stderr[-300:]))


try:
    fixed = ["--date", "Thu, 26 Nov 2026 15:00:00 +0000", "--message-id", "<imap1@example.test>"]
    dry = subprocess.run([MAILCLI, "--accounts", "/dev/null", "send", "--dry-run", "--from",
                          "Alice <alice@example.test>", "--to", "bob@example.test", "--subject", "über IMAP"] + fixed,
                         input=b"Hello Bob,\n", capture_output=True, timeout=60)
    send("über IMAP", b"Hello Bob,\n", fixed)
    send("second", b"x" * 300000 + b"\n")

    # --- mailboxes, list, read, raw -------------------------------------------------------------
    boxes = {m["name"]: m for m in jsonout("imap", "mailboxes")}
    check(boxes["INBOX"]["messages"] == 2 and boxes["INBOX"]["unseen"] == 2, "INBOX counts (%r)" % boxes.get("INBOX"))
    check({boxes[n]["special_use"] for n in ("Sent", "Drafts", "Trash", "Junk")} ==
          {"\\Sent", "\\Drafts", "\\Trash", "\\Junk"}, "special-use mailboxes from the store")
    listing = jsonout("imap", "list")
    check([m["subject"] for m in listing] == ["über IMAP", "second"], "list (%r)" % listing)
    first = listing[0]["uid"]
    r = ok(mailcli("imap", "raw", str(first)), "raw")
    check(strip_trace_headers(r.stdout) == dry.stdout, "the message read over IMAP is the one composed, byte for byte")
    r = ok(mailcli("imap", "read", str(first), tls="starttls"), "read over STARTTLS verified with --ca")
    check("Subject: über IMAP" in r.stdout.decode() and "Hello Bob," in r.stdout.decode(), "read renders")
    check([m["subject"] for m in jsonout("imap", "list", "--unseen")] == ["über IMAP", "second"], "BODY.PEEK kept \\Seen off")

    # --- search, flag, copy, move, delete ---------------------------------------------------------
    check([m["subject"] for m in jsonout("imap", "search", "larger:100K")] == ["second"], "search larger:")
    check([m["subject"] for m in jsonout("imap", "search", "subject:über", "or", "from:nobody")] == ["über IMAP"],
          "search with a UTF-8 term and or")
    check([m["subject"] for m in jsonout("imap", "search", "-seen", "from:alice")] == ["über IMAP", "second"],
          "search -seen from:")
    ok(mailcli("imap", "flag", str(first), "+seen", "+flagged"), "flag")
    check(flagset(jsonout("imap", "list")[0]) == {"\\Seen", "\\Flagged"}, "flags set")
    ok(mailcli("imap", "mkdir", "Projekte/Köln"), "mkdir a non-ASCII name")
    ok(mailcli("imap", "copy", str(first), "Projekte/Köln"), "copy")
    check([m["subject"] for m in jsonout("imap", "list", "Projekte/Köln")] == ["über IMAP"], "copied")
    ok(mailcli("imap", "rename", "Projekte/Köln", "Projekte/Zürich"), "rename")
    check("Projekte/Zürich" in {m["name"] for m in jsonout("imap", "mailboxes")}, "renamed")
    ok(mailcli("imap", "move", str(first), "Projekte/Zürich", ), "move")
    check([m["subject"] for m in jsonout("imap", "list")] == ["second"], "moved out of INBOX")
    uid = jsonout("imap", "list", "Projekte/Zürich")[0]["uid"]
    r = ok(mailcli("imap", "delete", "--mailbox", "Projekte/Zürich", str(uid)), "delete")
    check(b"to Trash" in r.stdout and len(jsonout("imap", "list", "Trash")) == 1, "deleted to Trash")
    ok(mailcli("imap", "rmdir", "Projekte/Zürich"), "rmdir")

    # --- append, import ---------------------------------------------------------------------------
    eml = os.path.join(tmp, "a.eml")
    with open(eml, "wb") as f:
        f.write(b"From: Dave <dave@example.test>\nSubject: appended\n\nline\n")
    ok(mailcli("imap", "append", "INBOX", eml, "--flag", "seen"), "append")
    r = ok(mailcli("imap", "raw", str(jsonout("imap", "list")[-1]["uid"])), "raw of the appended message")
    check(r.stdout == b"From: Dave <dave@example.test>\r\nSubject: appended\r\n\r\nline\r\n", "appended byte for byte")
    mbox = os.path.join(tmp, "in.mbox")
    with open(mbox, "wb") as f:
        for i in range(40):
            f.write(b"From x@example.test Thu Nov 26 15:00:00 2026\nSubject: bulk %d\n\n%s\n\n" % (i, b"z" * (i * 500)))
    ok(mailcli("imap", "import", "--mbox", mbox), "import --mbox")
    check(len(jsonout("imap", "list")) == 42, "42 messages in INBOX")

    # --- export over 1 and 4 connections, sync ----------------------------------------------------
    def by_uid(d):
        out = {}
        for path in glob.glob(os.path.join(d, "cur", "*")):
            name = os.path.basename(path)
            with open(path, "rb") as f:
                out[int(name.split(",U=")[1].split(",")[0])] = (f.read(), name.split(":2,")[1])
        return out

    one, four, mirror = (os.path.join(tmp, n) for n in ("one", "four", "mirror"))
    ok(mailcli("imap", "export", "INBOX", "--maildir", one, "--connections", "1"), "export over 1 connection")
    ok(mailcli("imap", "export", "INBOX", "--maildir", four, "--connections", "4"), "export over 4 connections")
    check(len(by_uid(one)) == 42 and by_uid(one) == by_uid(four), "parallel export equals single-connection export")
    r = json.loads(ok(mailcli("--json", "imap", "sync", "INBOX", "--maildir", mirror), "first sync").stdout)
    check(r["new"] == 42, "first sync: everything")
    ok(mailcli("imap", "flag", str(jsonout("imap", "list")[0]["uid"]), "+answered"), "a flag changes")
    send("third")
    r = json.loads(ok(mailcli("--json", "imap", "sync", "INBOX", "--maildir", mirror), "second sync").stdout)
    check(r["new"] == 1 and r["flag_changes"] == 1 and r["expunged"] == 0, "second sync: what changed (%r)" % r)

    # --- watch: a message delivered by smtpd is reported ------------------------------------------
    watch = subprocess.Popen([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port",
                              str(imap_ports["imap"]), "--tls", "none", "--user", "bob@example.test",
                              "--password-stdin", "--trace", "--json", "imap", "watch", "--count", "1"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch.stdin.write(b"bob-pw\n")
    watch.stdin.close()
    trace = queue.Queue()
    threading.Thread(target=lambda: [trace.put(l) for l in watch.stderr], daemon=True).start()
    idle, deadline = False, time.time() + 30
    while not idle and time.time() < deadline:
        try:
            idle = trace.get(timeout=1).startswith(b"S: +")
        except queue.Empty:
            pass
    check(idle, "watch is in IDLE")
    send("while watching")
    try:
        watch.wait(timeout=30)
    except subprocess.TimeoutExpired:
        watch.kill()
        watch.wait()
    events = [json.loads(l) for l in watch.stdout.read().decode().splitlines()]
    check(watch.returncode == 0 and [e["subject"] for e in events] == ["while watching"],
          "the delivered message is reported (%r)" % events)

    # --- send --save-sent, implicit TLS, a refused password ---------------------------------------
    accounts = os.path.join(tmp, "mailcli.toml")
    with open(accounts, "w") as f:
        f.write('[accounts.bob]\nhost = "127.0.0.1"\nuser = "bob@example.test"\ntls = "none"\nsmtp_port = %d\n'
                'imap_port = %d\n' % (smtp_ports["submission"], imap_ports["imap"]))
    r = subprocess.run([MAILCLI, "--accounts", accounts, "--password-stdin", "send", "--to", "alice@example.test",
                        "--subject", "kept", "--save-sent"], input=b"bob-pw\nbody\n", capture_output=True, timeout=60)
    check(r.returncode == 0 and b"saved in Sent" in r.stdout, "send --save-sent (%r)" % r.stderr)
    sent = jsonout("imap", "list", "Sent")
    check([m["subject"] for m in sent] == ["kept"] and flagset(sent[0]) == {"\\Seen"}, "the copy in Sent (%r)" % sent)
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "localhost", "--port", str(imap_ports["imaps"]),
                        "--tls", "tls", "--ca", store.cert, "--user", "bob@example.test", "--password-stdin", "--trace",
                        "imap", "mailboxes"], input=b"bob-pw\n", capture_output=True, timeout=60)
    check(r.returncode == 0 and b"bob-pw" not in r.stderr, "implicit TLS; the password masked (%r)" % r.stderr[-300:])
    r = mailcli("imap", "list", password="wrong")
    check(r.returncode == 5 and r.stderr.count(b"\n") == 1, "a refused password: exit 5 (%r)" % r.stderr)
    # --- mailboxes in one LIST-STATUS; list --limit, save, terminal escapes ------------------------
    r = ok(mailcli("--trace", "imap", "mailboxes"), "mailboxes --trace")
    check(b'LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))' in r.stderr
          and not any(l.startswith(b"C: ") and b" STATUS " in l and b" LIST " not in l for l in r.stderr.splitlines()),
          "imapd announces LIST-STATUS: one command (%r)" % r.stderr[-500:])
    listing = jsonout("imap", "list")
    check(jsonout("imap", "list", "--limit", "2") == listing[-2:], "list --limit 2: the two newest, newest last")
    blob = os.path.join(tmp, "blob.bin")
    payload = bytes(range(256)) * 40
    with open(blob, "wb") as f:
        f.write(payload)
    send("with a file", b"see the file\n", ["--attach", blob])
    uid = jsonout("imap", "list", "--limit", "1")[0]["uid"]
    saved = os.path.join(tmp, "saved")
    ok(mailcli("imap", "save", str(uid), "--attachments", saved), "save --attachments")
    with open(os.path.join(saved, "blob.bin"), "rb") as f:
        check(f.read() == payload, "the saved attachment has the original bytes")
    evil = os.path.join(tmp, "evil.eml")
    with open(evil, "wb") as f:
        f.write(b'From: "\x1b[31mMallory" <mallory@example.test>\r\nSubject: \x1b]0;owned\x07 =?utf-8?q?=1B[2J?= evil\r\n'
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                b"body \x1b[5mblink\r\n--b\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Disposition: attachment; filename=\"../\x1b[1mup.txt\"\r\nContent-Transfer-Encoding: base64"
                b"\r\n\r\naGVsbG8K\r\n--b--\r\n")
    ok(mailcli("imap", "mkdir", "Hostile"), "mkdir Hostile")
    ok(mailcli("imap", "append", "Hostile", evil), "append a message full of terminal escapes")
    for args in (("imap", "list", "Hostile"), ("--json", "imap", "list", "Hostile"),
                 ("imap", "read", "1", "--mailbox", "Hostile"), ("--json", "imap", "read", "1", "--mailbox", "Hostile"),
                 ("imap", "search", "--mailbox", "Hostile", "from:mallory")):
        r = ok(mailcli(*args), " ".join(args))
        check(b"\x1b" not in r.stdout + r.stderr and b"\x07" not in r.stdout + r.stderr and b"evil" in r.stdout,
              "%s: no escape from the message reaches the terminal (%r)" % (" ".join(args), r.stdout[:200]))
    hostile = os.path.join(tmp, "hostile")
    r = ok(mailcli("imap", "save", "1", "--mailbox", "Hostile", "--attachments", hostile), "save a hostile name")
    names = os.listdir(hostile)
    check(len(names) == 1 and "\x1b" not in names[0] and "/" not in names[0] and b"\x1b" not in r.stdout
          and not os.path.exists(os.path.join(tmp, "up.txt")), "the file name is made safe, inside DIR (%r)" % names)
    with open(os.path.join(hostile, names[0]), "rb") as f:
        check(f.read() == b"hello\n", "its bytes")

    # --- search: the query language translated, --trace, --raw -----------------------------------
    big = os.path.join(tmp, "big.eml")
    with open(big, "wb") as f:
        f.write(b"From: Carol <carol@example.test>\r\nSubject: q3 report\r\nDate: Tue, 3 Feb 2026 10:00:00 +0000\r\n\r\n"
                + b"y" * 1100000 + b"\r\n")
    ok(mailcli("imap", "append", "INBOX", big), "append a 1.1 MB report")

    def search(*query):
        return [m["subject"] for m in jsonout("imap", "search", *query)]
    check(search("from:carol") == ["q3 report"], "from:")
    check(search('subject:"q3 report"', "larger:1M") == ["q3 report"], 'subject:"..." and larger:1M')
    check(search("larger:1M", "or", "subject:kept") == ["q3 report"], "or")
    check(search("since:2026-01-01", "unseen", "from:carol") == ["q3 report"], "since: and unseen")
    check(search("from:carol", "and", "not", "unseen") == [], "and, not")
    check(search("--raw", "FROM carol LARGER 1000000") == ["q3 report"], "--raw IMAP SEARCH keys")
    r = ok(mailcli("--trace", "imap", "search", 'subject:"q3 report"', "since:2026-01-01", "unseen", "larger:1M",
                   "not", "from:alice"), "search --trace")
    check(b'UID SEARCH RETURN (ALL) SUBJECT "q3 report" SINCE 1-Jan-2026 UNSEEN LARGER 1048576 NOT FROM alice'
          in r.stderr, "the trace shows the IMAP SEARCH it became (%r)" % r.stderr[-600:])

    # --- delete --expunge, import --maildir -------------------------------------------------------
    uid = jsonout("imap", "search", "from:carol")[0]["uid"]
    trash = len(jsonout("imap", "list", "Trash"))
    r = ok(mailcli("imap", "delete", "--expunge", str(uid)), "delete --expunge")
    check(uid not in [m["uid"] for m in jsonout("imap", "list")] and len(jsonout("imap", "list", "Trash")) == trash,
          "expunged, not moved to Trash")
    source = os.path.join(tmp, "source")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(source, sub))
    with open(os.path.join(source, "cur", "100.a.host:2,FRS"), "wb") as f:
        f.write(b"From: Erin <erin@example.test>\nSubject: from a maildir\n\nflagged\n")
    with open(os.path.join(source, "new", "101.b.host"), "wb") as f:
        f.write(b"From: Erin <erin@example.test>\nSubject: new in a maildir\n\nnew\n")
    ok(mailcli("imap", "mkdir", "Imported"), "mkdir Imported")
    ok(mailcli("imap", "import", "--maildir", source, "--to", "Imported"), "import --maildir")
    imported = jsonout("imap", "list", "Imported")
    check([m["subject"] for m in imported] == ["from a maildir", "new in a maildir"], "imported in order")
    check(flagset(imported[0]) == {"\\Flagged", "\\Answered", "\\Seen"} and flagset(imported[1]) == set(),
          "Maildir flags kept (%r)" % imported)

    # --- export: byte for byte, flags in the Maildir info -------------------------------------------
    exported = os.path.join(tmp, "exported")
    ok(mailcli("imap", "export", "Imported", "--maildir", exported), "export Imported")
    files = by_uid(exported)
    for m in imported:
        raw = ok(mailcli("imap", "raw", str(m["uid"]), "--mailbox", "Imported"), "raw").stdout
        check(files[m["uid"]][0] == raw, "UID %d exported byte for byte" % m["uid"])
    check(files[imported[0]["uid"]][1] == "FRS" and files[imported[1]["uid"]][1] == "", "flags in the Maildir info")

    # --- sync: expunges and flag changes (QRESYNC when announced); a new UIDVALIDITY ----------------
    ok(mailcli("imap", "delete", "--expunge", str(jsonout("imap", "list")[1]["uid"])), "an expunge on the server")
    ok(mailcli("imap", "flag", str(jsonout("imap", "list")[2]["uid"]), "+flagged"), "a flag change on the server")
    r = mailcli("--json", "--trace", "imap", "sync", "INBOX", "--maildir", mirror)
    result = json.loads(ok(r, "third sync").stdout)
    check(result["expunged"] == 1 and result["flag_changes"] == 1 and result["new"] == 2,
          "third sync: an expunge, a flag change, two new (%r)" % result)
    caps = [l for l in r.stderr.splitlines() if b"CAPABILITY" in l][-1]
    sent = b"\n".join(l for l in r.stderr.splitlines() if l.startswith(b"C: "))
    if b" QRESYNC" in caps or b" CONDSTORE" in caps:
        check(b" ENABLE " in sent and (b"CHANGEDSINCE" in sent or b"QRESYNC (" in sent),
              "imapd announces CONDSTORE/QRESYNC: sync asks only for what changed")
    else:  # imapd does not announce them (yet): the flags of every known message, SEARCH for expunges
        check(b" ENABLE " not in sent and b"(UID FLAGS)" in sent and b"UID SEARCH" in sent,
              "without CONDSTORE/QRESYNC announced, sync compares every known message's flags")
    check(sorted(by_uid(mirror)) == sorted(m["uid"] for m in jsonout("imap", "list")), "the mirror has the server's UIDs")
    check(os.listdir(os.path.join(mirror, "tmp")) == [], "nothing left in tmp/")
    renamed = os.path.join(tmp, "renamed-mirror")
    ok(mailcli("imap", "sync", "Imported", "--maildir", renamed), "sync Imported")
    ok(mailcli("imap", "rename", "Imported", "Imported-old"), "rename it away")
    ok(mailcli("imap", "mkdir", "Imported"), "a new mailbox of the same name")
    r = mailcli("imap", "sync", "Imported", "--maildir", renamed)
    check(r.returncode == 6 and b"UIDVALIDITY" in r.stderr and r.stderr.count(b"\n") == 1,
          "a new UIDVALIDITY stops sync with one line (%r)" % r.stderr)

    # --- the progress bar: on a terminal only --------------------------------------------------------
    def on_terminal(*args):
        return run_on_terminal([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port",
                                str(imap_ports["imap"]), "--tls", "none", "--user", "bob@example.test",
                                "--password-stdin"] + list(args), b"bob-pw\n")
    code, out, err = on_terminal("imap", "export", "INBOX", "--maildir", os.path.join(tmp, "tty"), "--connections", "4")
    check(code == 0 and b"msgs" in err and b"MB/s" in err and b"ETA" in err, "a progress bar on a terminal (%r)" % err[-200:])
    code, out, err = on_terminal("--json", "imap", "export", "INBOX", "--maildir", os.path.join(tmp, "tty-json"))
    check(code == 0 and b"msgs" not in err and json.loads(out)["downloaded"] > 40, "none with --json (%r)" % err[-200:])
    r = ok(mailcli("imap", "export", "INBOX", "--maildir", os.path.join(tmp, "pipe")), "export on a pipe")
    check(b"msgs" not in r.stderr, "none on a pipe")

    # --- watch: --exec, IDLE renewed, reconnecting with backoff when imapd restarts -----------------
    port = free_port()
    config2 = os.path.join(store.dir, "imapd2.toml")
    with open(store.config) as f:
        text = f.read()
    with open(config2, "w") as f:
        f.write(text.replace('[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n',
                             '[imapd]\nlisten = ["127.0.0.1:%d"]\nlisten_tls = []\n' % port))
    imapd2 = Process([IMAPD, "-c", config2])
    imapd2.wait_listening(["imap"])
    seen_file = os.path.join(tmp, "exec.txt")
    watch = subprocess.Popen([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--tls",
                              "none", "--user", "bob@example.test", "--password-stdin", "--timeout", "5", "--trace",
                              "--json", "imap", "watch", "--count", "2", "--renew", "1", "--exec",
                              'printf "%s|%s|%s|%s\\n" "$MAILCLI_UID" "$MAILCLI_SUBJECT" "$MAILCLI_FROM" '
                              '"$MAILCLI_MAILBOX" >> ' + seen_file],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch.stdin.write(b"bob-pw\n")
    watch.stdin.close()
    trace = queue.Queue()
    threading.Thread(target=lambda: [trace.put(l) for l in watch.stderr], daemon=True).start()

    def wait_trace(pred, count, what):
        n, deadline = 0, time.time() + 30
        while n < count and time.time() < deadline:
            try:
                if pred(trace.get(timeout=1)):
                    n += 1
            except queue.Empty:
                pass
        check(n >= count, what)
    wait_trace(lambda l: l.startswith(b"C: ") and l.rstrip().endswith(b" IDLE"), 2, "IDLE started and renewed after 1 s")
    send("first while watching")
    deadline = time.time() + 30
    while time.time() < deadline and not (os.path.exists(seen_file) and "first while" in open(seen_file).read()):
        time.sleep(0.1)
    check(os.path.exists(seen_file), "the first message is reported and --exec ran")
    imapd2.stop()
    wait_trace(lambda l: b"reconnecting in 1 s" in l, 1, "the dropped connection: reconnecting after 1 s")
    wait_trace(lambda l: b"reconnecting in 2 s" in l, 1, "refused again: the backoff doubles")
    send("second, while imapd was down")
    imapd2 = Process([IMAPD, "-c", config2])
    imapd2.wait_listening(["imap"])
    try:
        watch.wait(timeout=40)
    except subprocess.TimeoutExpired:
        watch.kill()
        watch.wait()
    imapd2.stop()
    events = [json.loads(l) for l in watch.stdout.read().decode().splitlines()]
    check(watch.returncode == 0 and [e["subject"] for e in events] == ["first while watching",
                                                                      "second, while imapd was down"],
          "both reported, one JSON object per line, the second after the reconnection (%r)" % events)
    with open(seen_file) as f:
        ran = f.read().splitlines()
    check(ran == ["%d|%s|Alice <alice@example.test>|INBOX" % (e["uid"], e["subject"]) for e in events],
          "--exec ran once per message with MAILCLI_* set (%r)" % ran)
finally:
    smtpd.stop()
    imapd.stop()
print("all passed")
