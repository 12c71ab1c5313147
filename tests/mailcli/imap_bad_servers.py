"""imap_bad_servers.py: mailcli imap against hostile and broken fake IMAP servers: garbage or
another protocol instead of a greeting, an unterminated literal, a literal trickled a byte at a
time, a huge literal size, a line
without end, lists nested without end, a mailbox name that is not modified UTF-7, terminal
escapes in a subject, a server that stalls in the middle of a FETCH (one connection and all
of them), BYE in the middle of a session, a refused login. Each ends quickly with one line on
stderr and its exit code (or, for escapes, clean output), never a hang or a crash (the
sanitizers would abort). And the multithreaded download: a connection that fails is replaced
by the others, and the command fails only when every connection failed. And watch: a connection
dropped in IDLE is opened again after a backoff, and a message that arrived meanwhile is reported.
And mailboxes from a server without LIST-STATUS: a STATUS per selectable mailbox.
Usage: imap_bad_servers.py MAILCLI
Must never: wait longer than the client's --timeout plus a margin.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import check  # noqa: E402
from fake_servers import fake_server, lines  # noqa: E402

MAILCLI = sys.argv[1]
EXIT_CONNECTION, EXIT_TLS, EXIT_AUTH, EXIT_PROTOCOL = 3, 4, 5, 6
tmp = tempfile.mkdtemp(prefix="mailcli-imap-bad-")


def run(port, args, timeout=2):
    start = time.time()
    tls = [] if "--tls" in args else ["--tls", "none"]
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port)] + tls +
                       ["--user", "u", "--password-stdin", "--timeout", str(timeout)] + args,
                       input=b"pw\n", capture_output=True, timeout=60)
    return r, time.time() - start


def expect(name, script, args, code, words):
    port = fake_server(script)
    r, elapsed = run(port, args)
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == code, "%s: exit %d (got %d: %r)" % (name, code, r.returncode, err))
    check(err.count("\n") == 1 and err.startswith("mailcli: ") and any(w in err for w in words),
          "%s: one clear line (%r)" % (name, err))
    check("\x1b" not in err, "%s: no escape reaches the terminal" % name)
    check(elapsed < 15, "%s: no hang (%.1f s)" % (name, elapsed))
    return r


def uid_set(text):
    out = []
    for part in text.split(b","):
        a, _, b = part.partition(b":")
        lo, hi = int(a), int(b or a)
        out += range(min(lo, hi), max(lo, hi) + 1)
    return out


def message(uid):
    return b"From: a@example.test\r\nSubject: message %d\r\n\r\n" % uid + b"body\r\n" * (uid * 10)


def imap_server(messages=5, greeting=b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] fake ready\r\n", list_reply=b"",
                fetch_body=None, login=b"OK", make_message=message):
    """A scripted IMAP server with `messages` messages (UIDs 1..n); `fetch_body(conn, tag, uids)`
    answers a UID FETCH of bodies instead of the normal answer (and may stall or close)."""
    def script(conn):
        conn.sendall(greeting)
        for line in lines(conn):
            tag, _, rest = line.partition(b" ")
            words = rest.upper().split(b" ")
            if words[0] == b"LOGIN":
                conn.sendall(tag + b" " + login + b" logged in\r\n")
                if login != b"OK":
                    return
            elif words[0] == b"CAPABILITY":
                conn.sendall(b"* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n" + tag + b" OK done\r\n")
            elif words[0] in (b"SELECT", b"EXAMINE"):
                conn.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT %d] x\r\n%s OK [READ-ONLY] done\r\n"
                             % (messages, messages + 1, tag))
            elif words[0] == b"LIST":
                conn.sendall(list_reply + tag + b" OK done\r\n")
            elif words[0] == b"STATUS":  # one mailbox's counts, as asked
                arg = rest.split(b" ", 1)[1]
                name = arg[:arg.index(b'"', 1) + 1] if arg.startswith(b'"') else arg.split(b" ")[0]
                conn.sendall(b"* STATUS %s (MESSAGES %d UNSEEN 1 UIDNEXT %d UIDVALIDITY 7)\r\n%s OK done\r\n"
                             % (name, len(name.strip(b'"')), messages + 1, tag))
            elif words[:2] == [b"UID", b"SEARCH"]:
                conn.sendall(b"* SEARCH " + b" ".join(b"%d" % i for i in range(1, messages + 1)) + b"\r\n" +
                             tag + b" OK done\r\n")
            elif words[:2] == [b"UID", b"FETCH"]:
                uids = [u for u in uid_set(rest.split(b" ")[2]) if u <= messages]
                if b"BODY.PEEK[]" in rest and fetch_body:
                    if fetch_body(conn, tag, uids) is False:
                        return
                    continue
                out = b""
                for u in uids:
                    body = make_message(u)
                    if b"BODY.PEEK[HEADER.FIELDS" in rest:
                        head = body.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                        out += (b"* %d FETCH (UID %d FLAGS () RFC822.SIZE %d INTERNALDATE \"26-Nov-2026 15:00:00 +0000\" "
                                b"BODY[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)] {%d}\r\n%s)\r\n"
                                % (u, u, len(body), len(head), head))
                    elif b"BODY.PEEK[]" in rest:
                        out += b"* %d FETCH (UID %d FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n" % (u, u, len(body), body)
                    else:
                        out += b"* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (u, u, len(body))
                conn.sendall(out + tag + b" OK done\r\n")
            elif words[0] == b"LOGOUT":
                conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            else:
                conn.sendall(tag + b" BAD unknown\r\n")
    return script


def garbage(conn):
    conn.sendall(b"\x00\xff HELLO? \x1b[31m\r\n")
    time.sleep(5)


def pop3(conn):
    conn.sendall(b"+OK POP3 ready\r\n")
    time.sleep(5)


def no_line_end(conn):
    conn.sendall(b"* OK " + b"x" * 2000000)
    time.sleep(5)


def bodies(script):
    return imap_server(fetch_body=script)


def unterminated_literal(conn, tag, uids):
    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly a part")
    time.sleep(10)
    return False


def literal_then_close(conn, tag, uids):
    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly a part")
    return False


def trickled_literal(conn, tag, uids):
    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {100}\r\n")
    for _ in range(40):  # a byte every 0.3 s: progress, but less than 1 KB per --timeout
        conn.sendall(b"y")
        time.sleep(0.3)
    return False


def huge_literal(conn, tag, uids):
    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {99999999999}\r\n")
    time.sleep(5)
    return False


def deep_lists(conn, tag, uids):
    conn.sendall(b"* 1 FETCH " + b"(" * 5000 + b"\r\n")
    time.sleep(5)
    return False


def stall_mid_fetch(conn, tag, uids):
    body = message(uids[0])
    conn.sendall(b"* 1 FETCH (UID %d BODY[] {%d}\r\n%s)\r\n" % (uids[0], len(body), body))
    conn.sendall(b"* 2 FETCH (UID %d BODY[] {%d}\r\n" % (uids[-1], 500) + b"a" * 100)
    time.sleep(10)
    return False


def bye_mid_fetch(conn, tag, uids):
    conn.sendall(b"* BYE server shutting down \x1b[2J now\r\n")
    return False


READ = ["imap", "read", "1"]
LIST = ["imap", "list"]
expect("garbage greeting", garbage, LIST, EXIT_PROTOCOL, ["not an IMAP server"])
expect("a POP3 server", pop3, LIST, EXIT_PROTOCOL, ["this is a POP3 server, not IMAP"])
expect("a line without end", no_line_end, LIST, EXIT_PROTOCOL, ["longer than"])
expect("unterminated literal", bodies(unterminated_literal), READ, EXIT_CONNECTION, ["timed out"])
expect("a literal trickled a byte at a time", bodies(trickled_literal), READ, EXIT_CONNECTION, ["timed out"])
expect("literal cut by a close", bodies(literal_then_close), READ, EXIT_CONNECTION, ["closed"])
expect("huge literal size", bodies(huge_literal), READ, EXIT_PROTOCOL, ["literal of 99999999999 bytes"])
expect("lists nested without end", bodies(deep_lists), READ, EXIT_PROTOCOL, ["nested lists"])
expect("stall in the middle of a FETCH", bodies(stall_mid_fetch), READ, EXIT_CONNECTION, ["timed out"])
r = expect("BYE in the middle of a FETCH", bodies(bye_mid_fetch), READ, EXIT_CONNECTION, ["BYE server shutting down"])
expect("bad modified UTF-7 in LIST", imap_server(list_reply=b'* LIST () "/" "Bad&AGE"\r\n'), ["imap", "mailboxes"],
       EXIT_PROTOCOL, ["not valid modified UTF-7"])
expect("a refused login", imap_server(login=b"NO [AUTHENTICATIONFAILED]"), LIST, EXIT_AUTH, ["login failed"])
expect("STARTTLS not offered", imap_server(), ["--tls", "starttls"] + LIST, EXIT_TLS, ["STARTTLS"])

# A server without LIST-STATUS: mailboxes asks STATUS of each selectable one.
port = fake_server(imap_server(list_reply=b'* LIST () "/" INBOX\r\n* LIST (\\Noselect) "/" Folder\r\n'
                                          b'* LIST (\\Trash) "/" "Old Trash"\r\n'))
r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--tls", "none",
                    "--user", "u", "--password-stdin", "--timeout", "5", "--trace", "--json", "imap", "mailboxes"],
                   input=b"pw\n", capture_output=True, timeout=60)
boxes = {m["name"]: m for m in json.loads(r.stdout or b"[]")}
check(r.returncode == 0 and boxes["INBOX"]["messages"] == 5 and boxes["Old Trash"]["messages"] == 9
      and boxes["Old Trash"]["special_use"] == "\\Trash", "counts from STATUS without LIST-STATUS (%r)" % boxes)
asked = [l for l in r.stderr.splitlines() if l.startswith(b"C: ") and b" STATUS " in l]
check(len(asked) == 2 and not any(b"Folder" in l for l in asked), "STATUS of each selectable mailbox (%r)" % asked)

# Terminal escapes in a mailbox name (no valid modified UTF-7 holds them) and in messages.
expect("escapes in a mailbox name", imap_server(list_reply=b'* LIST () "/" "Evil\x1b]0;x\x07"\r\n'),
       ["imap", "mailboxes"], EXIT_PROTOCOL, ["not valid modified UTF-7"])


evil_subject = b"Subject: \x1b[31mred\x1b]0;title\x07 =?utf-8?q?=1B[2J?=\r\n"


def evil_message(uid):
    return b"From: \x1b[1mx@example.test\r\n" + evil_subject + b"\r\nbody \x1b[5m\r\n"


port = fake_server(imap_server(messages=1, make_message=evil_message))
for args in (LIST, ["--json"] + LIST, READ):
    r, _ = run(port, args)
    check(r.returncode == 0 and b"\x1b" not in r.stdout and b"\x07" not in r.stdout,
          "%s: no escape sequence from the message reaches the output (%r)" % (" ".join(args), r.stdout[:300]))

# --- the multithreaded download: retry on another connection, fail only if all fail ---------------
fetches = {"n": 0}
lock = threading.Lock()


def first_fetch_fails(conn, tag, uids):
    with lock:
        fetches["n"] += 1
        first = fetches["n"] == 1
    if first:
        conn.sendall(b"* 1 FETCH (UID %d BODY[] {10}\r\nabc" % uids[0])
        return False  # close in the middle of a literal
    out = b""
    for u in uids:
        body = message(u)
        out += b"* %d FETCH (UID %d FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n" % (u, u, len(body), body)
    conn.sendall(out + tag + b" OK done\r\n")


port = fake_server(imap_server(messages=300, fetch_body=first_fetch_fails))
r, _ = run(port, ["--json", "imap", "export", "INBOX", "--maildir", os.path.join(tmp, "retry"), "--connections", "3"])
check(r.returncode == 0, "export succeeds when one connection fails (%r)" % r.stderr)
result = json.loads(r.stdout)
check(result["downloaded"] == 300 and result["failed_connections"] == 1, "every message, one failed connection (%r)" % result)
names = os.listdir(os.path.join(tmp, "retry", "cur"))
check(sorted(int(n.split(",U=")[1].split(",")[0]) for n in names) == list(range(1, 301)), "each UID exactly once")
check(os.listdir(os.path.join(tmp, "retry", "tmp")) == [], "nothing half-written left in tmp/")
check(b"a connection failed" in r.stderr, "the failure is reported on stderr")

port = fake_server(imap_server(messages=300, fetch_body=stall_mid_fetch))
r, elapsed = run(port, ["imap", "export", "INBOX", "--maildir", os.path.join(tmp, "stalled"), "--connections", "4"])
err = r.stderr.decode()
check(r.returncode == EXIT_CONNECTION and "timed out" in err and "all 4 connections failed" in err,
      "export fails only when all connections failed (%r)" % err)
check(err.count("\n") == 1 and elapsed < 20, "one line, bounded (%.1f s)" % elapsed)

# --- watch: a dropped connection is opened again (after a backoff) and what arrived is reported ---
sessions = {"n": 0}


def watched(conn):
    """First session: IDLE, then the connection drops. Second: a sixth message arrives in IDLE."""
    with lock:
        sessions["n"] += 1
        number = sessions["n"]
    exists = 5 if number == 1 else 6
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 IDLE] fake ready\r\n")
    for line in lines(conn):
        tag, _, rest = line.partition(b" ")
        words = rest.upper().split(b" ")
        if words[0] == b"LOGIN":
            conn.sendall(tag + b" OK [CAPABILITY IMAP4rev1 IDLE] in\r\n")
        elif words[0] == b"EXAMINE":
            conn.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT %d] x\r\n%s OK done\r\n"
                         % (exists, exists + 1, tag))
        elif words[0] == b"IDLE":
            conn.sendall(b"+ idling\r\n")
            if number == 1:
                return  # the connection drops in IDLE
        elif line == b"DONE":
            conn.sendall(b"m9 OK idle done\r\n".replace(b"m9", idle_tag))
        elif words[:2] == [b"UID", b"FETCH"]:
            body = message(6)
            head = body.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
            conn.sendall(b"* 6 FETCH (UID 6 FLAGS () RFC822.SIZE %d INTERNALDATE \"26-Nov-2026 15:00:00 +0000\" "
                         b"BODY[HEADER.FIELDS (DATE FROM TO SUBJECT MESSAGE-ID)] {%d}\r\n%s)\r\n%s OK done\r\n"
                         % (len(body), len(head), head, tag))
        elif words[0] == b"LOGOUT":
            conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return
        else:
            conn.sendall(tag + b" BAD unknown\r\n")
        if words[0] == b"IDLE":
            idle_tag = tag


port = fake_server(watched)
start = time.time()
r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port), "--tls", "none",
                    "--user", "u", "--password-stdin", "--timeout", "5", "imap", "watch", "--count", "1"],
                   input=b"pw\n", capture_output=True, timeout=60)
check(r.returncode == 0 and b"UID 6" in r.stdout and b"message 6" in r.stdout,
      "watch reports the message that arrived after it reconnected (%r %r)" % (r.stdout, r.stderr))
check(sessions["n"] == 2 and b"reconnecting in 1 s" in r.stderr, "one reconnection, after a backoff (%r)" % r.stderr)
check(time.time() - start < 30, "bounded")
print("all passed")
