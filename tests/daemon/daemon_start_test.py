#!/usr/bin/python3
"""daemon_start_test.py: what every daemon checks before it serves (common/net/daemon.cpp),
through the real binaries: a store the service user cannot use is refused at start, naming
what is missing; a log file created as root goes to the service user; an unknown --inetd
role is refused with the list of valid ones; --role without --inetd is a usage error.

As root (CI) the service user is "nobody" and the daemon really drops to it; otherwise the
access is taken away with file modes. Loopback only, port 0; every process is stopped.
Usage: daemon_start_test.py smtpd=PATH pop3d=PATH mailctl=PATH
"""
import os
import pwd
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

ROOT = os.geteuid() == 0


def daemon_config(store, extra=""):
    """The store's config with one worker, loopback port 0, and as root [server] user nobody."""
    store.write_config("[server]\nworkers = 1\n%s\n" % ('user = "nobody"' if ROOT else "") +
                       '[smtpd]\nlisten = ["127.0.0.1:0"]\n[pop3d]\nlisten = ["127.0.0.1:0"]\n' + extra)


def test_refuses_a_store_it_cannot_use(programs):
    for name in ("smtpd", "pop3d"):
        store = harness.Store()
        os.chmod(store.dir, 0o755)  # nobody may enter the test's folder
        # As root the store stays root's (0640): nobody cannot write it. Otherwise: read-only.
        os.chmod(store.db, 0o640 if ROOT else 0o440)
        daemon_config(store)
        p = subprocess.run([programs[name], "-c", store.config], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        refused = re.search(r"critical .*(cannot read and write the store %s as user \S+: Permission denied "
                            r"\(owner .*\); as root, 'mailctl init' with \[server\] user set hands the store to "
                            r"that user)" % re.escape(store.db), p.stderr)
        harness.check(p.returncode == 1 and refused, "%s refuses a store it cannot write (exit %d): %s" %
                      (name, p.returncode, refused.group(1) if refused else p.stderr[-1000:]))
        # Given back (as root by mailctl init with [server] user, the folder by hand; otherwise
        # by the mode), it starts.
        if ROOT:
            out = store.mailctl("init").stdout
            harness.check("owned by nobody" in out, "mailctl init hands the store to nobody: %s" % out.strip())
            os.chown(store.dir, pwd.getpwnam("nobody").pw_uid, -1)
        else:
            os.chmod(store.db, 0o640)
        daemon = harness.Process([programs[name], "-c", store.config])
        # "model=" is logged once run() handles signals ("started" comes just before that).
        daemon.wait_for(r"%s\[\d+\] info \[t\d+\] model=" % name)
        code = daemon.stop()
        harness.check(code == 0, "%s starts once the store is usable, and stops (exit %s)%s" % (name, code, "" if code == 0 else ":\n" + daemon.output[-2000:]))


def test_log_file_goes_to_the_service_user(programs):
    if not ROOT:
        print("ok: (not root: the log file root creates is checked when run as root, as in CI)")
        return
    nobody = pwd.getpwnam("nobody").pw_uid
    store = harness.Store()
    os.chmod(store.dir, 0o755)
    store.write_config('[server]\nuser = "nobody"\n')
    store.mailctl("init")
    os.chown(store.dir, nobody, -1)
    logs = os.path.join(store.dir, "logs")
    os.mkdir(logs)
    os.chown(logs, nobody, -1)
    log = os.path.join(logs, "pop3d.log")
    with open(store.config, "w") as f:  # its own [log]: write_config has one already
        f.write('[storage]\npath = "%s"\n[server]\nuser = "nobody"\nworkers = 1\n[pop3d]\nlisten = ["127.0.0.1:0"]\n'
                '[log]\nlevel = "info"\nfile = "%s"\n' % (store.db, log))
    daemon = harness.Process([programs["pop3d"], "-c", store.config])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (os.path.exists(log) and " model=" in open(log).read()):
        time.sleep(0.05)
    st = os.stat(log)
    harness.check(st.st_uid == nobody and st.st_mode & 0o007 == 0,
                  "a log file pop3d creates as root goes to the service user, mode %04o" % (st.st_mode & 0o7777))
    os.rename(log, log + ".1")
    daemon.signal(signal.SIGHUP)  # reopened as nobody: a new file in the folder nobody owns
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not os.path.exists(log):
        time.sleep(0.05)
    harness.check(os.path.exists(log) and os.stat(log).st_uid == nobody, "SIGHUP reopens it as nobody")
    harness.check(daemon.stop() == 0, "pop3d stops")


def test_roles_and_usage(programs):
    store = harness.Store()
    for name, roles in (("smtpd", "smtp, submission, submissions"), ("pop3d", "pop3, pop3s")):
        p = subprocess.run([programs[name], "-c", store.config, "--inetd", "--role", "bogus"], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        expected = "%s: --role bogus: no such role; %s serves %s\n" % (name, name, roles)
        harness.check(p.returncode == 2 and p.stderr.endswith(expected),
                      "%s --inetd --role bogus lists the roles: %s" % (name, p.stderr.strip()[-300:]))
        p = subprocess.run([programs[name], "-c", store.config, "--role", roles.split(",")[0]], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        harness.check(p.returncode == 2 and p.stderr == "%s: --role requires --inetd (see %s --help)\n" % (name, name),
                      "%s --role without --inetd: %r" % (name, p.stderr))


if __name__ == "__main__":
    programs = dict(arg.split("=", 1) for arg in sys.argv[1:])
    test_roles_and_usage(programs)
    test_refuses_a_store_it_cannot_use(programs)
    test_log_file_goes_to_the_service_user(programs)
