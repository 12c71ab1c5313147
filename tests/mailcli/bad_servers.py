"""bad_servers.py: mailcli against hostile fake servers (SMTP and POP3 roles): garbage instead
of a greeting, an over-long line, a connection closed in the middle of a reply or of a
message, a server that never answers, and a TLS port that speaks plaintext. Each must end
quickly with a one-line error and its exit code, never a hang or a crash (the sanitizers
would abort).
Usage: bad_servers.py MAILCLI
Must never: wait longer than the client's --timeout plus a margin.
"""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import check  # noqa: E402

MAILCLI = sys.argv[1]
EXIT_CONNECTION, EXIT_TLS, EXIT_PROTOCOL = 3, 4, 6


def fake_server(script):
    """Serves each connection with `script(conn)` in a thread; returns the port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            def one(c=conn):
                try:
                    script(c)
                except OSError:
                    pass
                finally:
                    time.sleep(0.2)
                    c.close()
            threading.Thread(target=one, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def reader(conn):
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        line, _, buf = buf.partition(b"\n")
        yield line.rstrip(b"\r")


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
    time.sleep(5)


def long_line(conn):
    conn.sendall(b"220-" + b"x" * 200000)
    time.sleep(5)


def smtp_close_mid_reply(conn):
    conn.sendall(b"220 hi\r\n")
    lines = reader(conn)
    next(lines)
    conn.sendall(b"250-hello\r\n250-SIZE 10")


def smtp_silent(conn):
    time.sleep(10)


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
    time.sleep(5)


def pop_err_greeting(conn):
    conn.sendall(b"-ERR go away\r\n")


def pop_close_mid_list(conn):
    conn.sendall(b"+OK ready\r\n")
    for line in reader(conn):
        if line == b"CAPA":
            conn.sendall(b"+OK\r\nUSER\r\n.\r\n")
        elif line.startswith(b"USER") or line.startswith(b"PASS"):
            conn.sendall(b"+OK\r\n")
        elif line == b"LIST":
            conn.sendall(b"+OK 2 messages\r\n1 100\r\n2 2")
            return


def pop_bad_list(conn):
    conn.sendall(b"+OK ready\r\n")
    for line in reader(conn):
        if line == b"CAPA":
            conn.sendall(b"-ERR no\r\n")
        elif line.startswith(b"USER") or line.startswith(b"PASS"):
            conn.sendall(b"+OK\r\n")
        elif line == b"LIST":
            conn.sendall(b"+OK\r\nnot a scan line\r\n.\r\n")
        else:
            return


def pop_long_status(conn):
    conn.sendall(b"+OK " + b"y" * 100000 + b"\r\n")
    time.sleep(5)


expect("SMTP garbage greeting", garbage, SEND, EXIT_PROTOCOL, ["not an SMTP reply"])
expect("SMTP over-long line", long_line, SEND, EXIT_PROTOCOL, ["longer than"])
expect("SMTP closes mid-reply", smtp_close_mid_reply, SEND, EXIT_CONNECTION, ["closed"])
expect("SMTP silent server", smtp_silent, SEND, EXIT_CONNECTION, ["timed out"])
expect("SMTP closes after 354", smtp_close_at_data, SEND, EXIT_CONNECTION, ["closed"])
expect("SMTP SIZE exceeded", smtp_too_big, SEND, EXIT_PROTOCOL, ["SIZE"])
expect("SMTP endless multi-line reply", smtp_many_lines, SEND, EXIT_PROTOCOL, ["lines"])
expect("SMTP implicit TLS to a plaintext server", garbage, ["--tls", "tls"] + SEND[2:], EXIT_TLS, ["TLS"])
expect("SMTP STARTTLS not offered", smtp_too_big, ["--tls", "starttls"] + SEND[2:], EXIT_TLS, ["STARTTLS"])
expect("POP3 garbage greeting", garbage, POP, EXIT_PROTOCOL, ["refused"])
expect("POP3 -ERR greeting", pop_err_greeting, POP, EXIT_PROTOCOL, ["go away"])
expect("POP3 closes mid-LIST", pop_close_mid_list, POP, EXIT_CONNECTION, ["closed"])
expect("POP3 malformed LIST", pop_bad_list, POP, EXIT_PROTOCOL, ["malformed"])
expect("POP3 over-long status line", pop_long_status, POP, EXIT_PROTOCOL, ["longer than"])
expect("POP3 silent server", smtp_silent, POP, EXIT_CONNECTION, ["timed out"])

# Nothing listening: connection refused.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
r, _ = run(closed_port, SEND)
check(r.returncode == EXIT_CONNECTION and b"cannot connect" in r.stderr, "connection refused: exit 3 (%r)" % r.stderr)
# Usage errors.
r = subprocess.run([MAILCLI, "send", "--to", "x@y"], capture_output=True, timeout=30)
check(r.returncode == 2, "missing --subject: usage exit 2")
r = subprocess.run([MAILCLI, "--accounts", "/nonexistent.toml", "pop", "list"], capture_output=True, timeout=30)
check(r.returncode == 2 and b"accounts file" in r.stderr, "missing explicit accounts file: exit 2")
print("all passed")
