"""fake_servers.py: scripted loopback servers for mailcli's script tests (bad_servers.py,
cli_usage.py): each accepted connection runs a script on its own thread.
Must never: listen beyond loopback, or let a script block forever (every socket has a
timeout).
"""
import socket
import threading


def until_client_closes(conn, bound=15):
    """Reads and drops what the client sends until it closes the connection (or `bound`
    seconds pass): how a script stays silent, or keeps a reply unfinished, without guessing
    how long the client takes."""
    conn.settimeout(bound)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass  # a reset or the bound: the client is gone or never will be


def fake_server(script, family=socket.AF_INET, address="127.0.0.1"):
    """Serves each connection with `script(conn)` on a thread; returns the port. When the
    script returns, the server's side is shut down for writing and the connection closed once
    the client has closed its side (bounded), so no unread byte turns the close into a reset."""
    listener = socket.socket(family)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.settimeout(20)

            def one(c=conn):
                try:
                    script(c)
                    c.shutdown(socket.SHUT_WR)
                    until_client_closes(c)
                except OSError:
                    pass
                finally:
                    c.close()
            threading.Thread(target=one, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def lines(conn, most=100000):
    """The lines the client sends, without their line ends, until it closes."""
    buf = b""
    for _ in range(most):
        while b"\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        line, _, buf = buf.partition(b"\n")
        yield line.rstrip(b"\r")


def smtp_sink(conn, greeting=b"220 mx.test ESMTP\r\n", got=None, ehlo=b"250-mx.test\r\n250 8BITMIME\r\n"):
    """An SMTP server that accepts every message (un-stuffed lines into `got`), and any
    AUTH when its `ehlo` reply offers it."""
    conn.sendall(greeting)
    data = False
    message = b""
    for line in lines(conn):
        if data:
            if line == b".":
                data = False
                if got is not None:
                    got.append(message)
                conn.sendall(b"250 2.0.0 queued\r\n")
            else:
                message += line + b"\r\n"
        elif line.startswith(b"EHLO"):
            conn.sendall(ehlo)
        elif line.startswith(b"AUTH"):
            conn.sendall(b"235 2.7.0 accepted\r\n")
        elif line == b"DATA":
            data = True
            conn.sendall(b"354 go\r\n")
        elif line == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")
