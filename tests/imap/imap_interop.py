"""imap_interop.py: imapd against real IMAP clients from Debian, each result compared byte for byte
with what the store holds (tests/lib/store_tool.cpp reads it):

- Python's imaplib over plain IMAP (LOGIN from loopback), STARTTLS and IMAP4_SSL: LIST, SELECT,
  FETCH of every message (RFC822 and BODY.PEEK[]), SEARCH, STORE, APPEND, COPY, MOVE, EXPUNGE,
  IDLE (a delivery from another process announced as EXISTS), FETCH and STORE of a message
  another session expunged (OK [EXPUNGEISSUED], the EXPUNGE only at NOOP);
- curl's imap:// and imaps://: list the mailboxes, fetch a message, search, append;
- fetchmail over IMAP (keep over STARTTLS, then no-keep over implicit TLS) into an mbox;
- getmail6 over IMAP and IMAPS into a Maildir, the second run deleting on the server;
- one session of mutt driven through tmux: open the INBOX, list, read a message, delete one,
  quit; then the store shows the read message \\Seen and the deleted one gone.
Usage: imap_interop.py IMAPD STORE_TOOL. Everything on 127.0.0.1, every wait bounded; every
process started here is stopped (imapd by the harness, tmux's server by its own socket).
"""
import email.utils
import imaplib
import os
import pwd
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Process, Store, StoreTool, check, check_clean_stop  # noqa: E402
from harness import fetchmail as harness_fetchmail  # noqa: E402
from harness import curl as harness_curl  # noqa: E402

imapd, tool_path = sys.argv[1], sys.argv[2]
USER, PASSWORD = "alice@example.test", "alice-pw"
TIMEOUT = 30
SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16  # storage/types.h

store = Store(users=((USER, PASSWORD), ("bob@example.test", "bob-pw")))
store.write_config('[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n')
tool = StoreTool(store)
tool.path = tool_path
work = tempfile.mkdtemp(prefix="hikyaku-imap-")
daemon = Process([imapd, "-c", store.config])
ports = daemon.wait_listening(["imap", "imaps"])
context = ssl.create_default_context(cafile=store.cert)


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message(n, subject=None, body=None):
    subject = subject or "interop message %d" % n
    body = body or b"Body of message %d.\n..a line that starts with a dot\nGr\xc3\xbc\xc3\x9fe\n" % n
    return crlf(b"From: Sender <sender@remote.example>\nTo: alice@example.test\nSubject: " + subject.encode() +
                b"\nDate: " + email.utils.formatdate(1790000000 + n * 60).encode() +
                b"\nMessage-ID: <m%d@remote.example>\n\n" % n + body)


def deliver(raw, address=USER):
    tool.deliver(raw, address)


def stored(mailbox="INBOX", address=USER):
    return tool.messages(address, mailbox)


def stored_raw(mailbox="INBOX", address=USER):
    return [m["raw"] for m in stored(mailbox, address)]


for n in range(1, 6):
    deliver(message(n))
deliver(message(6, body=b"".join(b"line %05d of a longer message\n" % i for i in range(20000))))

# --- imaplib: plain from loopback, STARTTLS, IMAP4_SSL -------------------------------------------


def ok(result, what):
    typ, data = result
    check(typ == "OK", "%s: %s %r" % (what, typ, data[:2] if isinstance(data, list) else data))
    return data


def logout(client, what):
    typ, data = client.logout()  # imaplib answers with the untagged BYE
    check(typ == "BYE", "%s: %s %r" % (what, typ, data))


def fetch_all(client, label, item="RFC822"):
    """Fetches every message of the selected INBOX with `item`; compares with the store."""
    expected = stored()
    typ, data = client.select("INBOX")
    check(typ == "OK" and int(data[0]) == len(expected), "%s: SELECT INBOX says %s EXISTS" % (label, data[0]))
    data = ok(client.fetch("1:*", "(UID %s)" % item), "%s: FETCH 1:* (UID %s)" % (label, item))
    got = [part[1] for part in data if isinstance(part, tuple)]
    uids = [int(re.search(rb"UID (\d+)", part[0]).group(1)) for part in data if isinstance(part, tuple)]
    check(uids == [m["uid"] for m in expected], "%s: UIDs are the stored ones" % label)
    check(got == [m["raw"] for m in expected], "%s: %d messages fetched byte for byte (%s)" % (label, len(got), item))


c = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=TIMEOUT)
check("IMAP4REV1" in c.capabilities and "STARTTLS" in c.capabilities, "imaplib: capabilities %r" % (c.capabilities,))
ok(c.login(USER, PASSWORD), "imaplib plain: LOGIN from loopback")
listing = ok(c.list(), "imaplib plain: LIST")
check(any(line.endswith(b' "INBOX"') or line.endswith(b" INBOX") for line in listing), "LIST shows INBOX: %r" % listing)
fetch_all(c, "imaplib plain")
fetch_all(c, "imaplib plain", "BODY.PEEK[]")
check(all(m["flags"] & SEEN for m in stored()), "imaplib plain: FETCH RFC822 set \\Seen on every message")
data = ok(c.search(None, "SUBJECT", '"interop message 3"'), "imaplib plain: SEARCH SUBJECT")
check(data == [b"3"], "SEARCH SUBJECT finds message 3: %r" % data)
data = ok(c.search(None, "BODY", "00042"), "imaplib plain: SEARCH BODY")
check(data == [b"6"], "SEARCH BODY finds the long message: %r" % data)
ok(c.store("2", "+FLAGS", r"(\Flagged $Important)"), "imaplib plain: STORE +FLAGS")
ok(c.store("1", "-FLAGS", r"(\Seen)"), "imaplib plain: STORE -FLAGS")
entries = stored()
check(entries[1]["flags"] == SEEN | FLAGGED and entries[1]["keywords"] == "$Important",
      "STORE reached the store: flags %d keywords %r" % (entries[1]["flags"], entries[1]["keywords"]))
check(entries[0]["flags"] == 0, "STORE -FLAGS \\Seen reached the store")
appended = message(100, subject="appended by imaplib")
data = ok(c.append("INBOX", r"(\Draft)", imaplib.Time2Internaldate(1790000000), appended), "imaplib: APPEND")
check(b"APPENDUID" in data[0], "APPEND answers APPENDUID: %r" % data)
entries = stored()
check(entries[-1]["raw"] == appended and entries[-1]["flags"] == DRAFT, "APPEND stored byte for byte, \\Draft")
ok(c.create("Archive"), "imaplib: CREATE Archive")
typ, data = c.copy("1:2", "Archive")
check(typ == "OK", "imaplib: COPY 1:2 Archive")
check(stored_raw("Archive") == [m["raw"] for m in entries[:2]], "COPY: Archive holds messages 1 and 2 byte for byte")
typ, data = c._simple_command("MOVE", "3", "Archive")
check(typ == "OK", "imaplib: MOVE 3 Archive")
check(c.response("EXPUNGE")[1] == [b"3"], "MOVE answers * 3 EXPUNGE")
check(stored_raw("Archive")[-1] == entries[2]["raw"] and len(stored()) == len(entries) - 1,
      "MOVE: message 3 is in Archive and no longer in INBOX")
ok(c.store("1", "+FLAGS", r"(\Deleted)"), "imaplib: STORE +FLAGS \\Deleted")
typ, data = c.expunge()
check(typ == "OK" and data == [b"1"], "imaplib: EXPUNGE answers * 1 EXPUNGE: %r" % data)
check(stored_raw() == [m["raw"] for m in entries[1:2] + entries[3:]], "EXPUNGE removed exactly message 1")

# IDLE (RFC 2177, RFC 9051 6.3.13): a message delivered by another process (store-tool writes
# the store directly) reaches the idling client as * N EXISTS; DONE ends the command with OK.
exists = len(stored())
tag = c._new_tag()
c.send(tag + b" IDLE\r\n")
line = c.readline()
check(line.startswith(b"+ "), "imaplib: IDLE answered with a continuation: %r" % line)
idle_message = message(150, subject="arrived during IDLE")
started = time.time()
deliver(idle_message)
line = c.readline()  # the socket's timeout (TIMEOUT) bounds the wait
check(line == b"* %d EXISTS\r\n" % (exists + 1), "imaplib IDLE: %r after %.0f ms" % (line, (time.time() - started) * 1000))
c.send(b"DONE\r\n")
line = c.readline()
while line.startswith(b"* "):  # \Recent or flag updates may come first
    line = c.readline()
check(line.startswith(tag + b" OK"), "imaplib: DONE completes the IDLE: %r" % line)
data = ok(c.fetch(str(exists + 1), "(BODY.PEEK[])"), "imaplib: FETCH the message announced during IDLE")
check(data[0][1] == idle_message, "the message announced during IDLE, byte for byte")

# Another session expunges that message. This session's FETCH and STORE naming it must not see
# the EXPUNGE yet (RFC 9051 7.5.1) and complete OK [EXPUNGEISSUED] for what is left (RFC 9051
# 7.1, RFC 2180 4.1.2; Dovecot answers the same); NOOP then announces the EXPUNGE.
other = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=TIMEOUT)
ok(other.login(USER, PASSWORD), "second session: LOGIN")
ok(other.select("INBOX"), "second session: SELECT INBOX")
ok(other.store(str(exists + 1), "+FLAGS", r"(\Deleted)"), "second session: STORE +FLAGS \\Deleted")
check(other.expunge()[1] == [b"%d" % (exists + 1)], "second session: EXPUNGE of the message")
logout(other, "second session: LOGOUT")
typ, data = c._simple_command("FETCH", "%d" % (exists + 1), "(FLAGS)")
check(typ == "OK" and data[0].startswith(b"[EXPUNGEISSUED]"), "FETCH of a message expunged elsewhere: %s %r" %
      (typ, data))
typ, data = c._simple_command("FETCH", "1:%d" % (exists + 1), "(UID)")
fetched = c.response("FETCH")[1]
check(typ == "OK" and data[0].startswith(b"[EXPUNGEISSUED]") and len(fetched) == exists,
      "FETCH 1:%d answers the %d messages left, OK [EXPUNGEISSUED]: %r" % (exists + 1, exists, data))
typ, data = c._simple_command("STORE", "%d" % (exists + 1), "+FLAGS", r"(\Flagged)")
check(typ == "OK" and data[0].startswith(b"[EXPUNGEISSUED]"), "STORE on it: %s %r" % (typ, data))
typ, _ = c.noop()
check(typ == "OK" and c.response("EXPUNGE")[1] == [b"%d" % (exists + 1)], "NOOP announces * %d EXPUNGE" % (exists + 1))
check(len(stored()) == exists, "the store holds %d messages again" % exists)
logout(c, "imaplib plain: LOGOUT")

c = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=TIMEOUT)
ok(c.starttls(ssl_context=context), "imaplib: STARTTLS")
check("STARTTLS" not in c.capabilities, "imaplib STARTTLS: no STARTTLS offered after TLS")
ok(c.login(USER, PASSWORD), "imaplib STARTTLS: LOGIN")
fetch_all(c, "imaplib STARTTLS", "BODY.PEEK[]")
logout(c, "imaplib STARTTLS: LOGOUT")

c = imaplib.IMAP4_SSL("127.0.0.1", ports["imaps"], ssl_context=context, timeout=TIMEOUT)
ok(c.login(USER, PASSWORD), "imaplib IMAP4_SSL: LOGIN")
fetch_all(c, "imaplib IMAP4_SSL")
typ, data = c.status("Archive", "(MESSAGES UIDNEXT)")
check(typ == "OK" and b"MESSAGES 3" in data[0], "imaplib IMAP4_SSL: STATUS Archive %r" % data)
ok(c.select("Archive", readonly=True), "imaplib IMAP4_SSL: EXAMINE Archive")
data = ok(c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "IMAP4_SSL: FETCH HEADER.FIELDS (SUBJECT)")
subjects = [part[1] for part in data if isinstance(part, tuple)]
check(subjects == [b"Subject: interop message %d\r\n\r\n" % n for n in (1, 2, 3)], "HEADER.FIELDS: %r" % subjects)
logout(c, "imaplib IMAP4_SSL: LOGOUT")

try:
    c = imaplib.IMAP4_SSL("127.0.0.1", ports["imaps"], ssl_context=context, timeout=TIMEOUT)
    c.login(USER, "wrong-password")
    check(False, "a wrong password must be refused")
except imaplib.IMAP4.error as e:
    check("AUTHENTICATIONFAILED" in str(e), "imaplib: wrong password refused: %s" % e)
c.logout()

# --- curl: imap:// and imaps:// (list, fetch, search, append) -------------------------------------


def curl(url, *args):
    return harness_curl(url, USER, PASSWORD, store.cert, *args, timeout=TIMEOUT)


resolve = ["--resolve", "localhost:%d:127.0.0.1" % ports["imaps"]]
for label, base, extra in (("imap://", "imap://127.0.0.1:%d/" % ports["imap"], []),
                           ("imap:// --ssl-reqd", "imap://localhost:%d/" % ports["imap"],
                            ["--ssl-reqd", "--resolve", "localhost:%d:127.0.0.1" % ports["imap"]]),
                           ("imaps://", "imaps://localhost:%d/" % ports["imaps"], resolve)):
    listing = curl(base, *extra).decode()
    names = sorted(re.findall(r'^\* LIST \([^)]*\) "[^"]*" "?([^"\r\n]+)"?\r$', listing, re.M))
    check(names == sorted(tool.mailboxes(USER)), "curl %s: LIST names every mailbox %r" % (label, names))
    entries = stored()
    for entry in entries:
        got = curl(base + "INBOX/;UID=%d" % entry["uid"], *extra)
        check(got == entry["raw"], "curl %s: FETCH UID %d byte for byte (%d octets)" % (label, entry["uid"],
                                                                                    len(entry["raw"])))
    got = curl(base + "INBOX/;MAILINDEX=2;SECTION=HEADER.FIELDS%20(SUBJECT)", *extra)
    check(got == b"Subject: interop message 4\r\n\r\n", "curl %s: FETCH 2 BODY[HEADER.FIELDS (SUBJECT)]: %r" %
          (label, got))
    got = curl(base + "INBOX?SUBJECT%20%22interop%20message%204%22", *extra)
    check(got == b"* SEARCH 2\r\n", "curl %s: SEARCH SUBJECT: %r" % (label, got))
    upload = message(200, subject="uploaded by curl %s" % label)
    path = os.path.join(work, "upload.eml")
    with open(path, "wb") as f:
        f.write(upload)
    curl(base + "INBOX", "--upload-file", path, *extra)
    check(stored_raw()[-1] == upload, "curl %s: APPEND stored byte for byte" % label)

# --- fetchmail over IMAP: keep (STARTTLS), then no-keep (implicit TLS), into an mbox ------------------


def fetchmail(port, keep, implicit_tls):
    return harness_fetchmail("IMAP", port, USER, PASSWORD, store.cert, work, keep, implicit_tls, TIMEOUT)


expected = stored_raw()
got, log = fetchmail(ports["imap"], keep=True, implicit_tls=False)
check("STARTTLS" in log, "fetchmail over the plain port upgraded with STARTTLS")
check(got == [m.replace(b"\r\n", b"\n") for m in expected],
      "fetchmail keep: %d messages in the mbox, byte for byte the stored ones (LF line ends)" % len(got))
check(stored_raw() == expected, "fetchmail keep: the messages are still in the store")
got, _ = fetchmail(ports["imaps"], keep=False, implicit_tls=True)
check(got == [m.replace(b"\r\n", b"\n") for m in expected], "fetchmail no-keep over IMAPS: byte for byte")
check(stored() == [], "fetchmail no-keep: the INBOX is empty afterwards")

# --- getmail6 over IMAP and IMAPS into a Maildir ------------------------------------------------------
for n in range(300, 304):
    deliver(message(n, subject="for getmail %d" % n))


def getmail(port, implicit_tls, delete):
    home = tempfile.mkdtemp(prefix="getmail-", dir=work)
    maildir = os.path.join(home, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    # getmail refuses to deliver as root; as root (CI), it delivers as nobody into a Maildir of theirs.
    deliver_as = ""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chmod(work, 0o755)
        os.chmod(home, 0o755)
        for folder in [maildir] + [os.path.join(maildir, sub) for sub in ("cur", "new", "tmp")]:
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        deliver_as = "user = nobody\n"
    with open(os.path.join(home, "getmailrc"), "w") as f:
        f.write("[retriever]\ntype = %s\nserver = 127.0.0.1\nport = %d\nusername = %s\npassword = %s\n"
                "mailboxes = (\"INBOX\",)\nrecord_mailbox = false\n%s"
                "[destination]\ntype = Maildir\npath = %s/\n%s"
                "[options]\nread_all = true\ndelete = %s\ndelivered_to = false\nreceived = false\nverbose = 2\n"
                % ("SimpleIMAPSSLRetriever" if implicit_tls else "SimpleIMAPRetriever", port, USER, PASSWORD,
                   "ca_certs = %s\n" % store.cert if implicit_tls else "", maildir, deliver_as,
                   "true" if delete else "false"))
    r = subprocess.run(["getmail", "--getmaildir", home, "--rcfile", "getmailrc"], capture_output=True,
                       timeout=120)
    log = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        raise RuntimeError("getmail exit %d:\n%s" % (r.returncode, log[-4000:]))
    files = [os.path.join(maildir, "new", name) for name in os.listdir(os.path.join(maildir, "new"))]
    return sorted(open(path, "rb").read() for path in files)


def getmail_form(raw):
    # getmail writes LF line ends and puts a Return-Path (from the envelope, here unknown) on top.
    return raw.replace(b"\r\n", b"\n")


def without_return_path(raw):
    return re.sub(rb"\AReturn-Path: [^\n]*\n", b"", raw)


expected = stored_raw()
got = getmail(ports["imap"], implicit_tls=False, delete=False)
check([without_return_path(m) for m in got] == sorted(getmail_form(m) for m in expected),
      "getmail IMAP: %d messages in the Maildir, byte for byte the stored ones" % len(got))
check(stored_raw() == expected, "getmail without delete: the store is unchanged")
got = getmail(ports["imaps"], implicit_tls=True, delete=True)
check([without_return_path(m) for m in got] == sorted(getmail_form(m) for m in expected),
      "getmail IMAPS with delete: byte for byte")
check(stored() == [], "getmail with delete: the INBOX is empty afterwards")

# --- mutt in tmux: open, list, read, delete, quit ------------------------------------------------------
for n in range(400, 404):
    deliver(message(n, subject="mutt test %d" % n, body=b"This is the body of mutt message %d.\n" % n))
before = stored()
home = tempfile.mkdtemp(prefix="mutt-", dir=work)
muttrc = os.path.join(home, "muttrc")
with open(muttrc, "w") as f:
    f.write('set folder="imaps://%s@localhost:%d/"\nset spoolfile="+INBOX"\nset imap_pass="%s"\n'
            'set ssl_ca_certificates_file="%s"\nset certificate_file="%s/certificates"\n'
            'set ssl_force_tls=yes\nset imap_passive=yes\nset mail_check=0\nset timeout=1\n'
            'set header_cache=""\nset message_cachedir=""\nset sort=date\nset delete=yes\nset quit=yes\n'
            'set move=no\nset mark_old=no\nset pager_stop=yes\nset wait_key=no\nset confirmappend=no\n'
            'set index_format="%%4C %%Z %%-30.30s"\n'
            % (USER.replace("@", "%40"), ports["imaps"], PASSWORD, store.cert, home))
tmux_socket = os.path.join(home, "tmux.sock")


def tmux(*args):
    return subprocess.run(["tmux", "-S", tmux_socket] + list(args), capture_output=True, text=True, timeout=20,
                          check=True).stdout


def screen_until(pattern, timeout=TIMEOUT):
    """Waits (bounded) until mutt's screen matches `pattern`; returns the screen."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = tmux("capture-pane", "-p", "-t", "mutt")
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.05)
    raise RuntimeError("mutt's screen never matched %r:\n%s" % (pattern, text))


def mutt_running():
    # The tmux server exits with its last session, so a failing list-sessions means mutt quit.
    r = subprocess.run(["tmux", "-S", tmux_socket, "has-session", "-t", "mutt"], capture_output=True, timeout=20)
    return r.returncode == 0


env = dict(os.environ, HOME=home, TERM="xterm", LANG="C.UTF-8", MAIL="")
subprocess.run(["tmux", "-S", tmux_socket, "new-session", "-d", "-s", "mutt", "-x", "120", "-y", "40",
                "mutt -n -F %s" % muttrc], env=env, check=True, timeout=20)
try:
    screen = screen_until(r"mutt test 403")
    check(all(("mutt test %d" % n) in screen for n in range(400, 404)), "mutt: the index lists the 4 messages")
    tmux("send-keys", "-t", "mutt", "Enter")  # read the first message (sorted by date: 400)
    screen_until(r"This is the body of mutt message 400\.")
    check(True, "mutt: the pager shows the first message's body")
    tmux("send-keys", "-t", "mutt", "i")  # back to the index
    screen_until(r"mutt test 403")
    tmux("send-keys", "-t", "mutt", "j", "d")  # the second message, delete
    screen_until(r"^ *2 +N?D +mutt test 401")
    tmux("send-keys", "-t", "mutt", "q")  # quit: with delete=yes mutt expunges without asking
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and mutt_running():
        time.sleep(0.05)
    check(not mutt_running(), "mutt: quit")
finally:
    subprocess.run(["tmux", "-S", tmux_socket, "kill-server"], capture_output=True, timeout=20)
after = stored()
check([m["uid"] for m in after] == [before[0]["uid"]] + [m["uid"] for m in before[2:]],
      "mutt: the deleted message is expunged from the store, the others stay")
check(after[0]["flags"] & SEEN and not any(m["flags"] & SEEN for m in after[1:]),
      "mutt: the message read is \\Seen in the store, the others are not")
check([m["raw"] for m in after] == [before[0]["raw"]] + [m["raw"] for m in before[2:]], "mutt: bytes unchanged")

check_clean_stop(daemon, tool, PASSWORD)
shutil.rmtree(work, ignore_errors=True)
print("all imap interop checks passed")
