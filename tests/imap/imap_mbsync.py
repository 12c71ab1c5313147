"""imap_mbsync.py: mbsync (isync) keeps a local Maildir and imapd's store equal, both ways.

1. A mailbox of 1,000 messages (sizes from 200 bytes to 20 KB, some flagged) is pulled over
   STARTTLS into an empty Maildir.
2. On the server (imaplib): some messages flagged, some \\Seen, some MOVEd to Archive, some
   expunged; mbsync again.
3. In the Maildir: a flag set by renaming a file, a file removed, a new message written; mbsync
   again pushes them to the server (STORE, expunge, APPEND).
After each run both sides are compared: every mailbox, every message byte for byte (the Maildir
holds LF line ends, the store CRLF) with the same flags. Usage: imap_mbsync.py IMAPD STORE_TOOL.
Everything on 127.0.0.1, every wait bounded, imapd stopped at the end.
"""
import collections
import imaplib
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, StoreTool, check, check_clean_stop  # noqa: E402

imapd, tool_path = sys.argv[1], sys.argv[2]
USER, PASSWORD = "alice@example.test", "alice-pw"
TIMEOUT = 30
COUNT = 1000
# Store flag bits (storage/types.h) and the Maildir info letters for them.
MAILDIR_FLAGS = {"D": 16, "F": 4, "R": 2, "S": 1, "T": 8}

store = Store(users=((USER, PASSWORD),))
store.write_config('[imapd]\nlisten = ["127.0.0.1:0"]\n')
tool = StoreTool(store)
tool.path = tool_path
daemon = Process([imapd, "-c", store.config])
port = daemon.wait_listening(["imap"])["imap"]
work = tempfile.mkdtemp(prefix="hikyaku-mbsync-")
local = os.path.join(work, "mail")
os.makedirs(local)
context = ssl.create_default_context(cafile=store.cert)


def message(n):
    body = b"".join(b"message %d, line %d: the quick brown fox\r\n" % (n, i) for i in range((n * 37) % 500))
    return (b"From: sender%d@remote.example\r\nTo: alice@example.test\r\nSubject: sync test %d\r\n"
            b"Message-ID: <sync%d@remote.example>\r\n\r\n" % (n % 7, n, n) + body + b"end\r\n")


def connect():
    c = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    c.starttls(ssl_context=context)
    typ, _ = c.login(USER, PASSWORD)
    assert typ == "OK"
    return c


# The mailbox is filled over one connection with LITERAL+ (RFC 7888), 50 APPENDs per write:
# imaplib's synchronizing literals wait a delayed ACK (40 ms) each.
filler = LineClient(port, timeout=TIMEOUT)
filler.line()
filler.send("a LOGIN %s %s\r\n" % (USER, PASSWORD))
while not filler.line().startswith("a OK"):
    pass
for first in range(1, COUNT + 1, 50):
    batch = b""
    for n in range(first, min(first + 50, COUNT + 1)):
        flags = b"(\\Flagged) " if n % 10 == 0 else (b"(\\Seen) " if n % 3 == 0 else b"")
        raw = message(n)
        batch += b"A%d APPEND INBOX %s{%d+}\r\n%s\r\n" % (n, flags, len(raw), raw)
    filler.send(batch)
    for n in range(first, min(first + 50, COUNT + 1)):
        reply = filler.line()
        while reply.startswith("* "):
            reply = filler.line()
        assert reply.startswith("A%d OK" % n), reply
filler.send("z LOGOUT\r\n")
filler.close()
check(tool.count(USER) == COUNT, "%d messages appended to the INBOX" % COUNT)

# Host localhost: isync matches the certificate against its DNS names, not its IP address.
with open(os.path.join(work, "mbsyncrc"), "w") as f:
    f.write("IMAPAccount hikyaku\nHost localhost\nPort %d\nUser %s\nPass %s\nSSLType STARTTLS\n"
            "CertificateFile %s\nTimeout %d\n\n"
            "IMAPStore far\nAccount hikyaku\n\n"
            "MaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
            "Channel sync\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\n"
            % (port, USER, PASSWORD, store.cert, TIMEOUT, local, local))


def mbsync(label):
    r = subprocess.run(["mbsync", "-c", os.path.join(work, "mbsyncrc"), "-a"], capture_output=True, timeout=300,
                       env=dict(os.environ, HOME=work))
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    check(r.returncode == 0, "%s: mbsync exit status %d %s" % (label, r.returncode, out[-3000:] if r.returncode else ""))
    return out


def without_tuid(raw):
    """mbsync marks every message it copies with an X-TUID header field (its transaction id, to
    find the copy again after an interrupted run), on either side; it is left out of comparisons."""
    header, sep, body = raw.partition(b"\n\n")
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n?", b"", header + b"\n").rstrip(b"\n") + sep + body


def maildir_messages(name):
    """(LF raw bytes, flags) of each message in the Maildir folder `name`, and their paths."""
    out, paths = [], {}
    folder = os.path.join(local, name)
    for sub in ("new", "cur"):
        for entry in os.listdir(os.path.join(folder, sub)):
            path = os.path.join(folder, sub, entry)
            letters = entry.split(":2,", 1)[1] if ":2," in entry else ""
            flags = sum(MAILDIR_FLAGS[ch] for ch in letters if ch in MAILDIR_FLAGS)
            raw = without_tuid(open(path, "rb").read())
            out.append((raw, flags))
            paths.setdefault(raw, path)
    return out, paths


def server_messages(name):
    return [(without_tuid(m["raw"].replace(b"\r\n", b"\n")), m["flags"]) for m in tool.messages(USER, name)]


def maildir_folders():
    return sorted(name for name in os.listdir(local) if os.path.isdir(os.path.join(local, name, "cur")))


def compare(label):
    """Both sides hold the same mailboxes, messages and flags."""
    server = sorted(tool.mailboxes(USER))
    check(maildir_folders() == server, "%s: the same mailboxes on both sides %r" % (label, server))
    for name in server:
        near, _ = maildir_messages(name)
        far = server_messages(name)
        same = collections.Counter(near) == collections.Counter(far)
        if not same:
            only_near = collections.Counter(near) - collections.Counter(far)
            only_far = collections.Counter(far) - collections.Counter(near)
            print("only in the Maildir:", [(r[:120], f) for r, f in list(only_near)[:3]])
            print("only in the store:", [(r[:120], f) for r, f in list(only_far)[:3]])
        check(same, "%s: %s holds the same %d messages, byte for byte, with the same flags"
              % (label, name, len(far)))


mbsync("first sync")
near, _ = maildir_messages("INBOX")
check(len(near) == COUNT, "first sync: %d messages pulled into the Maildir" % len(near))
compare("first sync")

# Changes on the server: flag, mark seen, move to Archive, expunge.
c = connect()
c.create("Archive")
c.select("INBOX")
for command, args in (("STORE", ("1:50", "+FLAGS", r"(\Flagged)")), ("STORE", ("51:100", "+FLAGS", r"(\Seen)")),
                      ("STORE", ("10", "-FLAGS", r"(\Flagged)"))):
    typ, _ = c.store(*args)
    check(typ == "OK", "server: %s %s" % (command, " ".join(args)))
typ, _ = c._simple_command("MOVE", "101:150", "Archive")
check(typ == "OK" and len(c.response("EXPUNGE")[1]) == 50, "server: MOVE 101:150 Archive, 50 EXPUNGE responses")
c.store("151:160", "+FLAGS", r"(\Deleted)")
typ, data = c.expunge()
check(typ == "OK" and len(data) == 10, "server: EXPUNGE of 10 messages")
c.logout()
check(tool.count(USER) == COUNT - 60 and tool.count(USER, "Archive") == 50, "server: 940 in INBOX, 50 in Archive")

mbsync("second sync")
compare("second sync")

# Changes in the Maildir: a flag, a removal, a new message.
near, paths = maildir_messages("INBOX")
flag_me = sorted(raw for raw, flags in near if not flags & MAILDIR_FLAGS["S"])[0]
path = paths[flag_me]
base = os.path.basename(path)
info = base.split(":2,", 1)[1] if ":2," in base else ""
os.rename(path, os.path.join(local, "INBOX", "cur", base.split(":2,")[0] + ":2," + "".join(sorted(info + "S"))))
remove_me = sorted(raw for raw, _ in near if raw != flag_me)[5]
os.unlink(paths[remove_me])
new_raw = b"From: alice@example.test\nTo: bob@example.test\nSubject: written locally\n\nA new message.\n"
with open(os.path.join(local, "Archive", "new", "1790000000.hikyaku-test.localhost"), "wb") as f:
    f.write(new_raw)
mbsync("third sync")
compare("third sync")
server = server_messages("INBOX")
check(any(raw == flag_me and flags & MAILDIR_FLAGS["S"] for raw, flags in server), "pushed: the flag set locally")
check(all(raw != remove_me for raw, _ in server), "pushed: the message removed locally is expunged")
check(any(raw == new_raw for raw, _ in server_messages("Archive")), "pushed: the new message is in Archive")

out = mbsync("fourth sync (no changes)")
compare("fourth sync")
check_clean_stop(daemon, tool, PASSWORD)
shutil.rmtree(work, ignore_errors=True)
print("all mbsync checks passed")
