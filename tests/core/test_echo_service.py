"""test_echo_service.py: the connection core as a process: SIGTERM (graceful), SIGHUP
(certificate reload), --inetd over a pipe and over a socket, and the memory cost of
1,000 idle connections (printed; benchmarks, not tests, judge it)."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import LineClient, Process, Store, check  # noqa: E402

echo = sys.argv[1]
store = Store()  # for its certificate

# --- SIGTERM: the session in flight completes, then the process exits 0 -----------------
p = Process([echo, "--listen", "127.0.0.1:0", "--grace", "5"])
port = int(p.wait_for(r"READY echo 127.0.0.1:(\d+)").group(1))
c = LineClient(port)
check(c.line().startswith("+OK echo"), "greeting")
c.send("SLEEP 300\r\n")
check(c.line() == "+OK sleeping", "the request is in flight")
p.signal(signal.SIGTERM)
check(c.line() == "+OK slept", "request in flight completed after SIGTERM")
c.send("QUIT\r\n")
check(c.line() == "+OK bye", "session could finish")
check(p.stop() == 0, "exit status 0 after SIGTERM")
check("stopping: no new connections" in p.output, "stop logged")
check("closed duration=" in p.output and " in=" in p.output and " out=" in p.output,
      "connection close logged with duration and bytes")

# --- SIGHUP: reloads the certificate; a broken one keeps the old -------------------------
p = Process([echo, "--listen", "127.0.0.1:0", "--cert", store.cert, "--key", store.key])
p.wait_for(r"model=concurrent")
p.signal(signal.SIGHUP)
p.wait_for(r"SIGHUP: reloading")
with open(store.cert, "w") as f:
    f.write("garbage\n")
p.signal(signal.SIGHUP)
p.wait_for(r"TLS reload failed, keeping the old certificate")
check(p.proc.poll() is None, "still running after a failed reload")
check(p.stop() == 0, "stopped")

# --- --inetd over a pipe (socat STDIO style) -----------------------------------------------
r = subprocess.run([echo, "--inetd", "--log-level", "off"], input=b"hello\r\nQUIT\r\n", capture_output=True,
                   timeout=20)
check(r.stdout == b"+OK echo conn=1 worker=0\r\n+OK hello\r\n+OK bye\r\n", "inetd over pipes: %r" % r.stdout)

# --- --inetd over a socket (inetd, systemd Accept=yes) -------------------------------------
ours, theirs = socket.socketpair()
proc = subprocess.Popen([echo, "--inetd", "--log-level", "off"], stdin=theirs, stdout=theirs,
                        stderr=subprocess.DEVNULL)
theirs.close()
c = LineClient(0, sock=ours)
check(c.line().startswith("+OK echo"), "inetd over a socket: greeting")
c.send("ping\r\nQUIT\r\n")
check(c.line() == "+OK ping", "inetd over a socket: echo")
check(c.line() == "+OK bye", "inetd over a socket: bye")
check(proc.wait(10) == 0, "inetd process exits after its one session")

# --- started as root with a user: binds first, then serves as that user ---------------------
if os.geteuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    p = Process([echo, "--listen", "127.0.0.1:0", "--user", "nobody"])
    port = int(p.wait_for(r"READY echo 127.0.0.1:(\d+)").group(1))
    p.wait_for(r"dropped privileges to user=nobody")
    with open("/proc/%d/status" % p.proc.pid) as f:
        uids = [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]
    check(all(int(u) == nobody.pw_uid for u in uids[0]) and all(int(g) == nobody.pw_gid for g in uids[1]),
          "real, effective, saved and fs uid/gid are nobody's after binding: %r" % uids)
    c = LineClient(port)
    check(c.line().startswith("+OK echo"), "serves after dropping privileges")
    c.close()
    check(p.stop() == 0, "stopped")
    r = subprocess.run([echo, "--listen", "127.0.0.1:0", "--user", "no-such-user-hikyaku"], capture_output=True,
                       timeout=20)
    check(r.returncode != 0 and b"does not exist" in r.stderr, "an unknown user refuses to start")
else:
    print("note: not root; privilege dropping is exercised when the tests run as root (CI)")

# --- memory per idle connection -------------------------------------------------------------


def open_sockets(pid):
    """The sockets process `pid` holds open (its listeners and its connections)."""
    count = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            count += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass  # closed while we looked
    return count


def wait_until(event, what, bound=20):
    """Polls `event` until it holds (the test fails after `bound` seconds): waiting for the
    server's side of a change, never a guessed sleep."""
    deadline = time.time() + bound
    while not event() and time.time() < deadline:
        time.sleep(0.01)
    check(event(), "within %d s: %s" % (bound, what))


p = Process([echo, "--listen", "127.0.0.1:0", "--workers", "2", "--log-level", "warn"])
port = int(p.wait_for(r"READY echo 127.0.0.1:(\d+)").group(1))
listening = open_sockets(p.proc.pid)
warm = [LineClient(port) for _ in range(50)]
for w in warm:
    w.line()
for w in warm:
    w.close()
wait_until(lambda: open_sockets(p.proc.pid) <= listening, "the server closed the 50 warm-up connections")
before = p.rss_kib()
idle = []
for i in range(1000):
    cl = LineClient(port)
    idle.append(cl)
for cl in idle:
    cl.line()
wait_until(lambda: open_sockets(p.proc.pid) >= listening + 1000, "the server holds the 1000 idle connections")
after = p.rss_kib()
per = (after - before) * 1024 / 1000
print("memory: echo service RSS %d KiB -> %d KiB for 1000 idle connections: %.0f bytes per connection"
      % (before, after, per))
c = idle[-1]
c.send("still alive\r\n")
check(c.line() == "+OK still alive", "the 1000th idle connection is served")
for cl in idle:
    cl.close()
check(p.stop() == 0, "stopped")
print("0 failed")
