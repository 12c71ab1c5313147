"""bad_servers.py: mailcli against hostile fake servers (SMTP and POP3 roles): garbage instead
of a greeting, an over-long line, a connection closed in the middle of a reply or of a
message, a server that never answers, one that stalls or trickles in the middle of a
message, and a TLS port that speaks plaintext; and pop fetch over 3 connections from a fake
maildrop where one session breaks (the others finish its work), where the maildrop is locked
(the first session does all), or where all stall (one error). Each must end
quickly with a one-line error and its exit code, never a hang or a crash (the sanitizers
would abort).
Usage: bad_servers.py MAILCLI
Must never: wait longer than the client's --timeout plus a margin.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from harness import check  # noqa: E402
from fake_servers import fake_server, lines as reader, until_client_closes  # noqa: E402

MAILCLI = sys.argv[1]
EXIT_CONNECTION, EXIT_TLS, EXIT_PROTOCOL = 3, 4, 6


def run(port, args, timeout=3):
    start = time.time()
    r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "--host", "127.0.0.1", "--port", str(port),
                        "--timeout", str(timeout)] + args, input=b"body\n", capture_output=True, timeout=60)
    return r, time.time() - start


SEND = ["--tls", "none", "send", "--from", "a@example.test", "--to", "b@example.test", "--subject", "s"]
POP = ["--tls", "none", "--user", "u", "--password-stdin", "pop", "list"]


def expect(name, script, args, code, words):
    port = fake_server(script)
    r, elapsed = run(port, args)
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == code, "%s: exit %d (got %d: %r)" % (name, code, r.returncode, err))
    check(err.count("\n") == 1 and err.startswith("mailcli: ") and any(w in err for w in words),
          "%s: one clear line (%r)" % (name, err))
    check(elapsed < 15, "%s: no hang (%.1f s)" % (name, elapsed))


def garbage(conn):
    conn.sendall(b"\x00\xff HELLO? \x1b[31m\r\n")
    until_client_closes(conn)


def long_line(conn):
    conn.sendall(b"220-" + b"x" * 200000)
    until_client_closes(conn)


def smtp_close_mid_reply(conn):
    conn.sendall(b"220 hi\r\n")
    lines = reader(conn)
    next(lines)
    conn.sendall(b"250-hello\r\n250-SIZE 10")


def smtp_silent(conn):
    until_client_closes(conn)


def smtp_close_at_data(conn):
    conn.sendall(b"220 hi\r\n")
    for line in reader(conn):
        if line.startswith(b"EHLO"):
            conn.sendall(b"250-hi\r\n250 SIZE 1000\r\n")
        elif line.startswith(b"MAIL") or line.startswith(b"RCPT"):
            conn.sendall(b"250 ok\r\n")
        elif line == b"DATA":
            conn.sendall(b"354 go\r\n")
            return


def smtp_too_big(conn):
    conn.sendall(b"220 hi\r\n")
    for line in reader(conn):
        if line.startswith(b"EHLO"):
            conn.sendall(b"250-hi\r\n250 SIZE 10\r\n")
        elif line.startswith(b"QUIT"):
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"500 unexpected\r\n")


def smtp_many_lines(conn):
    conn.sendall(b"220-x\r\n" * 5000)
    until_client_closes(conn)


def pop_err_greeting(conn):
    conn.sendall(b"-ERR go away\r\n")


def pop_long_status(conn):
    conn.sendall(b"+OK " + b"y" * 100000 + b"\r\n")
    until_client_closes(conn)


def pop_server(capa, list_reply, retr=None):
    """A POP3 server that logs anyone in and answers CAPA and LIST with the given bytes, and
    RETR 1 with `retr(conn)`; it closes after LIST when there is no `retr`, else after RETR."""
    def script(conn):
        conn.sendall(b"+OK ready\r\n")
        for line in reader(conn):
            if line == b"CAPA":
                conn.sendall(capa)
            elif line.startswith(b"USER") or line.startswith(b"PASS"):
                conn.sendall(b"+OK\r\n")
            elif line == b"LIST":
                conn.sendall(list_reply)
                if retr is None:
                    return
            elif line == b"RETR 1" and retr:
                retr(conn)
                return
            else:
                return
    return script


pop_close_mid_list = pop_server(b"+OK\r\nUSER\r\n.\r\n", b"+OK 2 messages\r\n1 100\r\n2 2")
pop_bad_list = pop_server(b"-ERR no\r\n", b"+OK\r\nnot a scan line\r\n.\r\n")


def pop_retr(body_script):
    """A POP3 server with one message whose RETR body is sent by `body_script(conn)`."""
    return pop_server(b"-ERR no\r\n", b"+OK\r\n1 100\r\n.\r\n", body_script)


def stall_mid_retr(conn):
    conn.sendall(b"+OK 100 octets\r\nSubject: x\r\n\r\nfirst line\r\n")
    until_client_closes(conn)


def trickle_retr(conn):
    conn.sendall(b"+OK 100 octets\r\nSubject: x\r\n")
    for _ in range(20):  # one byte every 0.5 s, never a line end: slower than a line per --timeout
        conn.sendall(b"y")
        time.sleep(0.5)


READ = ["--tls", "none", "--user", "u", "--password-stdin", "pop", "read", "1"]

expect("SMTP garbage greeting", garbage, SEND, EXIT_PROTOCOL, ["not an SMTP server"])
expect("SMTP over-long line", long_line, SEND, EXIT_PROTOCOL, ["longer than"])
expect("SMTP closes mid-reply", smtp_close_mid_reply, SEND, EXIT_CONNECTION, ["closed"])
expect("SMTP silent server", smtp_silent, SEND, EXIT_CONNECTION, ["timed out"])
expect("SMTP closes after 354", smtp_close_at_data, SEND, EXIT_CONNECTION, ["closed"])
expect("SMTP SIZE exceeded", smtp_too_big, SEND, EXIT_PROTOCOL, ["SIZE"])
expect("SMTP endless multi-line reply", smtp_many_lines, SEND, EXIT_PROTOCOL, ["lines"])
expect("SMTP implicit TLS to a plaintext server", garbage, ["--tls", "tls"] + SEND[2:], EXIT_TLS, ["TLS"])
expect("SMTP STARTTLS not offered", smtp_too_big, ["--tls", "starttls"] + SEND[2:], EXIT_TLS, ["STARTTLS"])
expect("POP3 garbage greeting", garbage, POP, EXIT_PROTOCOL, ["not a POP3 server"])
expect("POP3 -ERR greeting", pop_err_greeting, POP, EXIT_PROTOCOL, ["go away"])
expect("POP3 closes mid-LIST", pop_close_mid_list, POP, EXIT_CONNECTION, ["closed"])
expect("POP3 malformed LIST", pop_bad_list, POP, EXIT_PROTOCOL, ["malformed"])
expect("POP3 over-long status line", pop_long_status, POP, EXIT_PROTOCOL, ["longer than"])
expect("POP3 silent server", smtp_silent, POP, EXIT_CONNECTION, ["timed out"])
expect("POP3 stalls in the middle of RETR", pop_retr(stall_mid_retr), READ, EXIT_CONNECTION, ["timed out"])
expect("POP3 trickles a line of RETR", pop_retr(trickle_retr), READ, EXIT_CONNECTION, ["timed out"])

# Nothing listening: connection refused.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
r, _ = run(closed_port, SEND)
check(r.returncode == EXIT_CONNECTION and b"cannot connect" in r.stderr, "connection refused: exit 3 (%r)" % r.stderr)
# Usage errors.
r = subprocess.run([MAILCLI, "--accounts", "/dev/null", "send", "--subject", "x"], capture_output=True, timeout=30)
check(r.returncode == 2 and b"recipient" in r.stderr, "no recipient: usage exit 2")
r = subprocess.run([MAILCLI, "--accounts", "/nonexistent.toml", "pop", "list"], capture_output=True, timeout=30)
check(r.returncode == 2 and b"accounts file" in r.stderr, "missing explicit accounts file: exit 2")

# --- pop fetch over several connections: a failed one is replaced, all failing fail -----------
MAILDROP = 250


def pop_message(n):
    return b"Subject: m%d\r\n\r\n" % n + b"line %d\r\n" % n * (n % 7 + 1)


def maildrop(fail_session=None, stall_all=False, locking=False):
    """A POP3 maildrop of MAILDROP messages with UIDL; session number `fail_session` (counted
    from 1 as they log in) closes in the middle of its first RETR; with `stall_all`, every
    RETR stalls; with `locking`, the maildrop is locked from PASS to QUIT (RFC 1939 8): a
    second session is refused with [IN-USE], and the holder answers RETR only once two were
    refused (so they certainly tried while it held the lock; bounded). Records each RETR
    that was answered whole in `served`."""
    state = {"sessions": 0, "served": [], "holder": None, "refused": 0}
    lock = threading.Lock()

    def script(conn):
        with lock:
            state["sessions"] += 1
            number = state["sessions"]
        conn.sendall(b"+OK ready\r\n")
        for line in reader(conn):
            words = line.split(b" ")
            if line == b"CAPA":
                conn.sendall(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
            elif words[0] == b"PASS" and locking:
                with lock:
                    free = state["holder"] is None
                    if free:
                        state["holder"] = number
                    else:
                        state["refused"] += 1
                if not free:
                    conn.sendall(b"-ERR [IN-USE] maildrop is locked by another session\r\n")
                    return
                conn.sendall(b"+OK\r\n")
            elif words[0] in (b"USER", b"PASS"):
                conn.sendall(b"+OK\r\n")
            elif line == b"LIST":
                conn.sendall(b"+OK\r\n" + b"".join(b"%d %d\r\n" % (i, len(pop_message(i)))
                                                  for i in range(1, MAILDROP + 1)) + b".\r\n")
            elif line == b"UIDL":
                conn.sendall(b"+OK\r\n" + b"".join(b"%d u%d\r\n" % (i, i) for i in range(1, MAILDROP + 1)) + b".\r\n")
            elif words[0] == b"RETR":
                deadline = time.time() + 10
                while locking and state["refused"] < 2 and time.time() < deadline:
                    time.sleep(0.01)
                if stall_all or number == fail_session:
                    conn.sendall(b"+OK\r\nSubject: cut")
                    if stall_all:
                        until_client_closes(conn)
                    return
                n = int(words[1])
                conn.sendall(b"+OK\r\n" + pop_message(n) + b".\r\n")
                with lock:
                    state["served"].append(n)
            elif line == b"QUIT":
                with lock:
                    if state["holder"] == number:
                        state["holder"] = None
                conn.sendall(b"+OK bye\r\n")
                return
            else:
                conn.sendall(b"-ERR what\r\n")
    return script, state


FETCH = ["--tls", "none", "--user", "u", "--password-stdin", "--json", "pop", "fetch", "--keep", "--connections", "3",
         "--to"]
script, state = maildrop(fail_session=2)
box = os.path.join(tempfile.mkdtemp(prefix="mailcli-bad-pop-"), "box")
r, elapsed = run(fake_server(script), FETCH + [box])
check(r.returncode == 0, "pop fetch succeeds when one of 3 connections fails (%r)" % r.stderr)
result = json.loads(r.stdout)
check(result["fetched"] == MAILDROP and result["failed_connections"] == 1 and result["connections"] == 3,
      "every message, one failed connection (%r)" % {k: v for k, v in result.items() if k != "files"})
stored = sorted(open(os.path.join(box, "new", f), "rb").read() for f in os.listdir(os.path.join(box, "new")))
check(stored == sorted(pop_message(i) for i in range(1, MAILDROP + 1)), "each message once, byte for byte")
check(os.listdir(os.path.join(box, "tmp")) == [] and b"a connection failed" in r.stderr, "reported; nothing half-written")
check(state["sessions"] == 3 and len(set(state["served"])) == MAILDROP, "3 sessions shared the work")

script, state = maildrop(locking=True)
box = os.path.join(tempfile.mkdtemp(prefix="mailcli-bad-pop-"), "box")
r, elapsed = run(fake_server(script), FETCH + [box])
result = json.loads(r.stdout or b"{}")
check(r.returncode == 0 and result["fetched"] == MAILDROP and result["failed_connections"] == 2,
      "a locked maildrop: the first session fetches all, the 2 others are refused (%r %r)"
      % ({k: v for k, v in result.items() if k != "files"}, r.stderr))
check(r.stderr.count(b"[IN-USE]") == 2 and r.stderr.count(b"\n") == 2, "each refusal on one line (%r)" % r.stderr)
check(len(os.listdir(os.path.join(box, "new"))) == MAILDROP and sorted(state["served"]) == list(range(1, MAILDROP + 1)),
      "each message once")

script, state = maildrop(stall_all=True)
r, elapsed = run(fake_server(script), FETCH + [os.path.join(tempfile.mkdtemp(prefix="mailcli-bad-pop-"), "box")])
err = r.stderr.decode()
check(r.returncode == EXIT_CONNECTION and "all 3 connections failed" in err and err.count("\n") == 1,
      "pop fetch fails only when all 3 connections failed, in one line (%r)" % err)
check(elapsed < 20, "bounded (%.1f s)" % elapsed)
print("all passed")
