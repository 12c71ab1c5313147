#!/usr/bin/python3
"""package_test.py: the Debian package, from build to purge, on this machine.

Builds the package from the build tree the test command has just built (CPack, packaging/),
installs it with `dpkg -i`, and checks: the files and conffiles, the hikyaku user (system,
no login, in group ssl-cert), the modes and owners of /var/lib/hikyaku, /var/log/hikyaku and
/etc/hikyaku, `systemd-analyze verify` on every unit, the logrotate file. Then it runs the
installed programs as the units would: `mailctl init` as root (the store goes to hikyaku),
each daemon with its unit's ExecStart, started as root and dropping to hikyaku (every thread
checked, no capabilities left), mail sent over SMTP on loopback and read back over POP3 with
the installed mailcli; SIGHUP reloading a TLS key kept root:ssl-cert 0640 (a new certificate
is served) and logging a failed reload and a failed log reopen at error level; a daemon
refusing a store it cannot use; every socket unit's templated service serving one
connection on its socket as hikyaku; a second `dpkg -i` (an upgrade) keeping the edited
configuration and the store. Last, `dpkg --purge`, and nothing may be left: no
package, user, group, folder, unit, enablement link or file owned by the old uid.

Needs root, as CI has: without it the test fails and says so (it cannot pass without doing
its job). It refuses to run where hikyaku is installed or its user or folders exist, unless
an interrupted run of this test left them (its marker file says so); runs are serialised by
a lock. The daemons are the test build's (sanitized) binaries: LeakSanitizer is off for them
because it cannot stop the threads of a process that has changed its user.
Must never: leave the package or anything it made behind, whatever fails; touch system files
beyond what the package touches (its TLS keys live in a temporary folder); sleep and assert.
Usage: package_test.py BUILD_DIR
"""
import fcntl
import glob
import grp
import gzip
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
LOCK = "/run/lock/hikyaku-package-test.lock"
MARKER = "/var/lib/hikyaku/.hikyaku-package-test"
CONFIG = "/etc/hikyaku/hikyaku.toml"
LOG = "/var/log/hikyaku/hikyaku.log"
UNIT_DIR = "/lib/systemd/system"
TLS_ROLES = {"submissions", "pop3s", "imaps"}
GREETING = {"smtpd": "220 ", "pop3d": "+OK", "imapd": "* OK"}
GOODBYE = {"smtpd": b"QUIT\r\n", "pop3d": b"QUIT\r\n", "imapd": b"a LOGOUT\r\n"}
# The installed daemons are the sanitized test build: LeakSanitizer needs to stop every thread
# with ptrace, which a process that switched users (and so is not dumpable) forbids.
DAEMON_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")

failures = []


def check(condition, message):
    if condition:
        print("ok:", message)
    else:
        failures.append(message)
        print("FAIL:", message)
    return condition


def run(argv, check_rc=True, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 300)
    p = subprocess.run(argv, **kwargs)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def installed():
    p = run(["dpkg-query", "-W", "-f=${Status}", "hikyaku"], check_rc=False)
    return p.returncode == 0 and "installed" in p.stdout and "not-installed" not in p.stdout


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def leftovers():
    """What of hikyaku is on this machine: package, user, group, folders."""
    found = []
    if installed():
        found.append("the package hikyaku")
    if user_exists("hikyaku"):
        found.append("user hikyaku")
    if group_exists("hikyaku"):
        found.append("group hikyaku")
    for path in ("/var/lib/hikyaku", "/var/log/hikyaku", "/etc/hikyaku", "/etc/logrotate.d/hikyaku"):
        if os.path.lexists(path):
            found.append(path)
    return found


def purge():
    return run(["dpkg", "--purge", "hikyaku"], check_rc=False)


def mode_owner(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def unit_value(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.strip().split("=", 1)[1]
    return None


# ---- build and install ----------------------------------------------------------------------

def build_package(work):
    start = time.monotonic()
    run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", os.path.join(work, "pkg")])
    debs = glob.glob(os.path.join(work, "pkg", "hikyaku_*.deb"))
    check(len(debs) == 1, "cpack built one package: %s (%.1f s)" % (debs, time.monotonic() - start))
    return debs[0]


def check_installed_files(files, expect_imapd):
    daemons = ["smtpd", "pop3d", "deliverd"] + (["imapd"] if expect_imapd else [])
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    for d in daemons:
        paths = [p for p in by_name.get(d, []) if p.endswith("/sbin/" + d)]
        check(len(paths) == 1 and os.access(paths[0], os.X_OK), "daemon %s installed in sbin: %s" % (d, paths))
        if paths:
            check(mode_owner(paths[0]) == (0o755, "root", "root"), "%s is root:root 0755" % paths[0])
    for tool in ("mailctl", "mailcli"):
        paths = [p for p in by_name.get(tool, []) if p.endswith("/bin/" + tool) and "/sbin/" not in p]
        check(len(paths) == 1 and os.access(paths[0], os.X_OK), "%s installed in bin: %s" % (tool, paths))
    pages = (["smtpd.8", "pop3d.8", "deliverd.8", "mailctl.8", "mailcli.1", "hikyaku.toml.5"] +
             (["imapd.8"] if expect_imapd else []))
    for page in pages:
        name, section = page.rsplit(".", 1)
        paths = [p for p in files if p.endswith("/man/man%s/%s.gz" % (section, page))]
        ok = len(paths) == 1
        if ok:
            with gzip.open(paths[0], "rt") as f:
                text = f.read()
            ok = re.search(r'^\.TH "%s" "%s"' % (re.escape(name.upper()), section), text, re.M) is not None
        check(ok, "man page %s installed and readable: %s" % (page, paths))
    check(CONFIG in files and "/etc/logrotate.d/hikyaku" in files, "configuration and logrotate file installed")
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "hikyaku"]).stdout
    check(CONFIG in conffiles and "/etc/logrotate.d/hikyaku" in conffiles,
          "both are conffiles: %s" % conffiles.strip().replace("\n", "; "))
    units = sorted(os.path.basename(f) for f in files if f.startswith(UNIT_DIR + "/hikyaku-"))
    roles = {"smtpd": ["smtp", "submission", "submissions"], "pop3d": ["pop3", "pop3s"], "imapd": ["imap", "imaps"],
             "deliverd": []}  # deliverd listens nowhere: no socket units
    expected = []
    for d in daemons:
        expected.append("hikyaku-%s.service" % d)
        for r in roles[d]:
            expected += ["hikyaku-%s.socket" % r, "hikyaku-%s@.service" % r]
    check(units == sorted(expected), "systemd units: %s" % " ".join(units))
    return [os.path.join(UNIT_DIR, u) for u in units]


def check_user_and_folders():
    pw = pwd.getpwnam("hikyaku")
    check(pw.pw_uid < 1000 and pw.pw_dir == "/var/lib/hikyaku" and pw.pw_shell.endswith("nologin"),
          "user hikyaku: system uid %d, home %s, shell %s" % (pw.pw_uid, pw.pw_dir, pw.pw_shell))
    check(grp.getgrgid(pw.pw_gid).gr_name == "hikyaku", "its primary group is hikyaku")
    check("hikyaku" in grp.getgrnam("ssl-cert").gr_mem, "hikyaku is in group ssl-cert (TLS keys)")
    for path, expected in (("/var/lib/hikyaku", (0o750, "hikyaku", "hikyaku")),
                           ("/var/log/hikyaku", (0o2750, "hikyaku", "adm")),
                           ("/etc/hikyaku", (0o750, "root", "hikyaku")),
                           (CONFIG, (0o640, "root", "hikyaku"))):
        got = mode_owner(path)
        check(got == expected, "%s: %s:%s %04o" % (path, got[1], got[2], got[0]))


def check_units(unit_paths):
    argv = ["systemd-analyze", "verify"] + ([] if shutil.which("man") else ["--man=no"]) + unit_paths
    p = run(argv, check_rc=False)
    check(p.returncode == 0 and not p.stderr.strip() and not p.stdout.strip(),
          "systemd-analyze verify of %d units%s" % (len(unit_paths), "" if p.returncode == 0 and not p.stderr.strip()
                                                    else ":\n" + p.stdout + p.stderr))


def check_logrotate(work):
    if not check(shutil.which("logrotate") is not None, "logrotate is installed (install-deps.sh test)"):
        return
    p = run(["logrotate", "--debug", "--state", os.path.join(work, "logrotate.state"), "/etc/logrotate.d/hikyaku"],
            check_rc=False)
    check(p.returncode == 0 and "error" not in p.stderr.lower(), "logrotate accepts /etc/logrotate.d/hikyaku%s" %
          ("" if p.returncode == 0 else ":\n" + p.stderr))


# ---- running it -----------------------------------------------------------------------------

def make_tls(work, subject):
    """A key pair in a folder laid out like /etc/ssl/private: root:ssl-cert 0710, the key
    root:ssl-cert 0640. Returns (cert, key)."""
    private = os.path.join(work, "private")
    os.makedirs(private, exist_ok=True)
    ssl_cert = grp.getgrnam("ssl-cert").gr_gid
    os.chown(private, 0, ssl_cert)
    os.chmod(private, 0o710)
    cert, key = os.path.join(work, "cert.pem"), os.path.join(private, "key.pem")
    new_cert, new_key = cert + ".new", key + ".new"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
         "-subj", "/CN=localhost/O=" + subject, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", new_key, "-out", new_cert])
    os.chown(new_key, 0, ssl_cert)
    os.chmod(new_key, 0o640)
    os.chmod(new_cert, 0o644)
    os.replace(new_key, key)  # the renewal as certbot's deploy hook would do it
    os.replace(new_cert, cert)
    return cert, key


def write_config(cert, key):
    with open(CONFIG, "w") as f:
        f.write('[storage]\npath = "/var/lib/hikyaku/store.db"\n'
                '[tls]\ncert = "%s"\nkey = "%s"\n'
                '[server]\nuser = "hikyaku"\nworkers = 1\nshutdown_grace = 2\n'
                '[smtpd]\nhostname = "localhost"\nlisten = ["127.0.0.1:0"]\nsubmission = ["127.0.0.1:0"]\n'
                'submissions = ["127.0.0.1:0"]\n'
                '[pop3d]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n'
                '[imapd]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n'
                '[log]\nlevel = "info"\nfile = "%s"\n' % (cert, key, LOG))


def read_log(path=LOG):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_until(what, predicate, timeout=30):
    """Polls predicate() until it returns something true, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def wait_log(pattern, path=LOG, timeout=30):
    rx = re.compile(pattern, re.M)
    return wait_until("%r in %s:\n%s" % (pattern, path, read_log(path)[-3000:]), lambda: rx.search(read_log(path)),
                      timeout)


def exec_start(unit):
    return shlex.split(unit_value(os.path.join(UNIT_DIR, unit), "ExecStart"))


class Daemon:
    """A daemon started as its unit would start it, as root; its ports from the log."""

    def __init__(self, name):
        self.name = name
        self.process = harness.Process(exec_start("hikyaku-%s.service" % name), env=DAEMON_ENV)
        self.pid = self.process.proc.pid
        self.ports = {}

    def wait_started(self, roles):
        prefix = r"%s\[%d\] \S+ \[t\d+\] " % (self.name, self.pid)
        for role in roles:
            m = wait_log(prefix + r"listening role=%s address=127\.0\.0\.1:(\d+)" % role)
            self.ports[role] = int(m.group(1))
        wait_log(prefix + r"dropped privileges to user=hikyaku")
        # Logged once run() handles signals (the "started" line comes just before it);
        # deliverd, which serves no connection, logs "started" once its signals are set.
        wait_log(prefix + (r"deliverd \(hikyaku\) \S+ started" if self.name == "deliverd" else r"model="))

    def log_line(self, pattern):
        """The first line of this process matching `pattern` (after "NAME[PID] ")."""
        return wait_log(r"%s\[%d\] %s" % (self.name, self.pid, pattern))


def check_credentials(daemon):
    pw = pwd.getpwnam("hikyaku")
    ssl_cert = grp.getgrnam("ssl-cert").gr_gid
    tasks = glob.glob("/proc/%d/task/*/status" % daemon.pid)
    bad = []
    for status in tasks:
        fields = {}
        with open(status) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.split()
        if (fields["Uid"] != [str(pw.pw_uid)] * 4 or fields["Gid"] != [str(pw.pw_gid)] * 4
                or str(ssl_cert) not in fields["Groups"] or int(fields["CapEff"][0], 16) != 0
                or int(fields["CapPrm"][0], 16) != 0):
            bad.append((status, fields["Uid"], fields["Gid"], fields["Groups"], fields["CapEff"]))
    check(tasks and not bad, "%s: all %d threads run as hikyaku (groups with ssl-cert), no capabilities%s" %
          (daemon.name, len(tasks), "" if not bad else ": %s" % bad))


def served_certificate(port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    return ssl.DER_cert_to_PEM_cert(der)


def subject_of(pem):
    p = run(["openssl", "x509", "-noout", "-subject"], input=pem)
    return p.stdout.strip()


def mail_round_trip(tools, smtpd, pop3d, cert):
    context = ssl.create_default_context(cafile=cert)
    with smtplib.SMTP("127.0.0.1", smtpd.ports["smtp"], timeout=30) as s:  # inbound, port 25 role
        s.sendmail("someone@example.org", ["alice@example.test"],
                   b"Subject: inbound\r\n\r\nover the smtp role\r\n")
    with smtplib.SMTP("localhost", smtpd.ports["submission"], timeout=30) as s:  # STARTTLS + AUTH
        s.starttls(context=context)
        s.login("alice@example.test", "alice password")
        s.sendmail("alice@example.test", ["alice@example.test"], b"Subject: submitted\r\n\r\nover submission\r\n")
    p = run([tools["mailcli"], "--host", "localhost", "--port", str(pop3d.ports["pop3"]), "--tls", "starttls",
             "--ca", cert, "--user", "alice@example.test", "--password-stdin", "--json", "pop", "list"],
            input="alice password\n", check_rc=False)
    listing = json.loads(p.stdout) if p.returncode == 0 else []
    check(sorted(m["subject"] for m in listing) == ["inbound", "submitted"],
          "mail sent over SMTP reads back over POP3 (STLS) with the installed mailcli%s" %
          ("" if p.returncode == 0 else ": " + p.stderr))


def check_sighup(smtpd, pop3d, work, cert, key):
    # A renewed certificate, read as hikyaku through group ssl-cert, is served after SIGHUP.
    before = subject_of(served_certificate(pop3d.ports["pop3s"]))
    make_tls(work, "renewed")
    pop3d.process.signal(signal.SIGHUP)
    after = wait_until("the renewed certificate on pop3s", lambda: (lambda s: s if "renewed" in s else None)(
        subject_of(served_certificate(pop3d.ports["pop3s"]))))
    check("renewed" not in before and "renewed" in after,
          "SIGHUP after the drop reloads a root:ssl-cert 0640 key: %s, then %s" % (before, after))
    # A key the service user cannot read: the old one stays, and the failure is an error line.
    os.chmod(key, 0o600)
    pop3d.process.signal(signal.SIGHUP)
    line = pop3d.log_line(r"error \[t\d+\] TLS reload failed, keeping the old certificate: TLS key %s: "
                          r"Permission denied \(reading as user hikyaku\)" % re.escape(key))
    check(line is not None, "a failed TLS reload is logged at error level with the cause")
    check("renewed" in subject_of(served_certificate(pop3d.ports["pop3s"])), "and the old certificate is served")
    os.chmod(key, 0o640)
    # Rotation: the log file renamed, SIGHUP reopens a new one, made by hikyaku, no access for others.
    os.rename(LOG, LOG + ".1")
    smtpd.process.signal(signal.SIGHUP)
    wait_until("a new log file", lambda: os.path.exists(LOG))
    mode, owner, _ = mode_owner(LOG)
    check(owner == "hikyaku" and mode & 0o007 == 0, "SIGHUP reopens the rotated log as hikyaku, mode %04o" % mode)
    # A log folder the service user cannot write: the reopen fails loudly, in the old file and on stderr.
    os.chmod("/var/log/hikyaku", 0o550)
    os.rename(LOG, LOG + ".2")
    smtpd.process.signal(signal.SIGHUP)
    message = r"SIGHUP: cannot open log: .*%s.*; still logging to the file opened before" % re.escape(LOG)
    in_old = wait_log(r"smtpd\[%d\] error \[t\d+\] %s" % (smtpd.pid, message), path=LOG + ".2")
    on_stderr = smtpd.process.wait_for(r"smtpd: error: " + message)
    check(in_old and on_stderr, "a failed log reopen is an error in the old log and on stderr")
    os.chmod("/var/log/hikyaku", 0o2750)


def check_refusal(tools):
    os.chown("/var/lib/hikyaku/store.db", 0, 0)  # as after `mailctl init` as root before this version
    p = run(exec_start("hikyaku-pop3d.service"), check_rc=False, env=DAEMON_ENV, timeout=60)
    refused = re.search(r"pop3d\[\d+\] critical \[t\d+\] cannot read and write the store /var/lib/hikyaku/store.db "
                        r"as user hikyaku: Permission denied \(owner root:root", read_log())
    check(p.returncode == 1 and refused, "pop3d refuses a store hikyaku cannot write (exit %d): %s" %
          (p.returncode, refused.group(0) if refused else read_log()[-1000:]))
    out = run([tools["mailctl"], "init"]).stdout
    check(mode_owner("/var/lib/hikyaku/store.db")[1] == "hikyaku" and "owned by hikyaku" in out,
          "mailctl init as root hands it back: %s" % out.strip())


def serve_one_connection(argv, user, daemon, implicit_tls, ca):
    """Runs argv as `user` with an accepted loopback connection as stdin and stdout, as systemd
    does for Accept=yes; returns (greeting, exit code, stderr)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname(), timeout=30)
        conn, _ = listener.accept()
        child = subprocess.Popen(["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"] + argv,
                                 stdin=conn, stdout=conn, stderr=subprocess.PIPE, env=DAEMON_ENV)
        conn.close()
        try:
            if implicit_tls:
                client = ssl.create_default_context(cafile=ca).wrap_socket(client, server_hostname="localhost")
            greeting = client.recv(4096).decode(errors="replace")
            client.sendall(GOODBYE[daemon])
            while client.recv(4096):
                pass
            client.close()
            code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            stderr = child.stderr.read().decode(errors="replace")
            child.stderr.close()
    return greeting, code, stderr


def check_socket_units(tools):
    """Each socket unit's templated service, run as systemd would: the accepted connection on
    stdin and stdout, as the unit's User (with that user's groups)."""
    for socket_unit in sorted(glob.glob(os.path.join(UNIT_DIR, "hikyaku-*.socket"))):
        role = os.path.basename(socket_unit)[len("hikyaku-"):-len(".socket")]
        template = os.path.join(UNIT_DIR, "hikyaku-%s@.service" % role)
        argv = shlex.split(unit_value(template, "ExecStart"))
        user = unit_value(template, "User")
        daemon = os.path.basename(argv[0])
        ok = (unit_value(socket_unit, "Accept") == "yes" and unit_value(template, "StandardInput") == "socket"
              and unit_value(template, "StandardOutput") == "socket" and user == "hikyaku"
              and argv[-2:] == ["--role", role])
        try:
            greeting, code, stderr = serve_one_connection(argv, user, daemon, role in TLS_ROLES, tools["cert"])
        except (OSError, subprocess.TimeoutExpired) as e:
            greeting, code, stderr = "", None, repr(e)
        check(ok and greeting.startswith(GREETING[daemon]) and code == 0,
              "%s: %s --inetd --role %s as %s greets %r and exits %s%s" %
              (os.path.basename(socket_unit), daemon, role, user, greeting.strip()[:40], code,
               "" if code == 0 else ": " + stderr[-500:]))


def run_programs(work, files, expect_imapd):
    tools = {os.path.basename(f): f for f in files if re.search(r"/s?bin/[^/]+$", f)}
    cert, key = make_tls(work, "first")
    tools["cert"] = cert
    write_config(cert, key)
    out = run([tools["mailctl"], "init"]).stdout  # as root, as the README says
    mode, owner, group = mode_owner("/var/lib/hikyaku/store.db")
    check(owner == "hikyaku" and group == "hikyaku" and mode & 0o007 == 0 and "owned by hikyaku" in out,
          "mailctl init as root makes the store hikyaku's, mode %04o: %s" % (mode, out.strip()))
    run([tools["mailctl"], "domain", "add", "example.test"])
    run([tools["mailctl"], "user", "add", "alice@example.test", "--password-stdin"], input="alice password\n")

    daemons = []
    try:
        smtpd, pop3d = Daemon("smtpd"), Daemon("pop3d")
        daemons += [smtpd, pop3d]
        smtpd.wait_started(["smtp", "submission", "submissions"])
        pop3d.wait_started(["pop3", "pop3s"])
        if expect_imapd:
            imapd = Daemon("imapd")
            daemons.append(imapd)
            imapd.wait_started(["imap", "imaps"])
        deliverd = Daemon("deliverd")  # binds no port: it drops root before opening the store
        daemons.append(deliverd)
        deliverd.wait_started([])
        for d in daemons:
            check_credentials(d)
        mail_round_trip(tools, smtpd, pop3d, cert)
        check_sighup(smtpd, pop3d, work, cert, key)
    finally:
        for d in daemons:
            code = d.process.stop()
            check(code == 0, "%s stops on SIGTERM (exit %s)" % (d.name, code))
    check_refusal(tools)
    check_socket_units(tools)
    # Enabled units must go with the package too.
    run(["systemctl", "enable", "--quiet", "hikyaku-smtpd.service", "hikyaku-submission.socket"])
    check(os.path.islink("/etc/systemd/system/sockets.target.wants/hikyaku-submission.socket"),
          "systemctl enable works on the installed units")


def check_reinstall(deb):
    """Installing again (as an upgrade does) keeps the edited configuration, the store and
    the user, and asks nothing."""
    with open(CONFIG) as f:
        config = f.read()
    uid = pwd.getpwnam("hikyaku").pw_uid
    store = os.stat("/var/lib/hikyaku/store.db")
    p = run(["dpkg", "-i", deb], check_rc=False, stdin=subprocess.DEVNULL)
    with open(CONFIG) as f:
        kept = f.read() == config
    after = os.stat("/var/lib/hikyaku/store.db")
    check(p.returncode == 0 and kept and pwd.getpwnam("hikyaku").pw_uid == uid
          and (after.st_ino, after.st_uid, after.st_size) == (store.st_ino, store.st_uid, store.st_size)
          and mode_owner(CONFIG) == (0o640, "root", "hikyaku"),
          "dpkg -i again keeps the edited configuration, the store and the user%s" %
          ("" if p.returncode == 0 else ":\n" + p.stdout + p.stderr))


# ---- purge ----------------------------------------------------------------------------------

def check_purged(files, uid):
    p = purge()
    check(p.returncode == 0, "dpkg --purge hikyaku%s" % ("" if p.returncode == 0 else ":\n" + p.stdout + p.stderr))
    check(not installed(), "the package is gone")
    check(not user_exists("hikyaku") and not group_exists("hikyaku"), "user and group hikyaku are gone")
    check("hikyaku" not in grp.getgrnam("ssl-cert").gr_mem, "ssl-cert no longer lists hikyaku")
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    check(not left, "every installed file is gone%s" % (": %s" % left if left else ""))
    for path in ("/var/lib/hikyaku", "/var/log/hikyaku", "/etc/hikyaku", "/etc/logrotate.d/hikyaku"):
        check(not os.path.lexists(path), "%s is gone" % path)
    units = (glob.glob(UNIT_DIR + "/hikyaku-*") + glob.glob("/etc/systemd/system/**/hikyaku-*", recursive=True)
             + glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/hikyaku-*", recursive=True))
    check(not units, "no unit, enablement link or systemd state is left%s" % (": %s" % units if units else ""))
    if uid is not None:
        owned = run(["find", "/etc", "/var", "/run", "-xdev", "-uid", str(uid)], check_rc=False).stdout.split()
        check(not owned, "no file owned by the old uid %d in /etc, /var, /run%s" % (uid, ": %s" % owned if owned else ""))


def main():
    if os.geteuid() != 0:
        print("FAIL: the package test installs hikyaku with dpkg -i and purges it again, so it must run as root "
              "(CI does). Run ctest as root, or leave it out with -E package_install.")
        return 1
    if not BUILD or not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
        print("FAIL: usage: package_test.py BUILD_DIR (with CPackConfig.cmake)")
        return 1
    os.umask(0o022)
    with open(LOCK, "w") as lock:
        wait_until("the lock %s (another package test runs)" % LOCK,
                   lambda: not _try_lock(lock), timeout=900)
        if os.path.exists(MARKER):
            print("note: purging what an interrupted run of this test left")
            purge()
        found = leftovers()
        if found:
            print("FAIL: hikyaku is already on this machine (%s); the test installs and purges the package and "
                  "would destroy it. Remove it first (dpkg --purge hikyaku)." % ", ".join(found))
            return 1
        expect_imapd = os.path.exists(os.path.join(BUILD, "imapd", "imapd"))
        work = tempfile.mkdtemp(prefix="hikyaku-package-")
        os.chmod(work, 0o755)  # the service user reads the test's certificate here
        started = time.monotonic()
        uid = None
        files = []
        try:
            deb = build_package(work)
            p = run(["dpkg", "-i", deb], check_rc=False)
            if not check(p.returncode == 0, "dpkg -i %s%s" % (os.path.basename(deb),
                                                               "" if p.returncode == 0 else ":\n" + p.stdout + p.stderr)):
                return 1
            open(MARKER, "w").close()
            uid = pwd.getpwnam("hikyaku").pw_uid
            files = run(["dpkg", "-L", "hikyaku"]).stdout.split("\n")
            files = [f for f in files if f and not os.path.isdir(f)]
            unit_paths = check_installed_files(files, expect_imapd)
            check_user_and_folders()
            check_units(unit_paths)
            check_logrotate(work)
            run_programs(work, files, expect_imapd)
            check_reinstall(deb)
        except Exception as e:  # reported as a failure; the purge below still runs
            failures.append(repr(e))
            print("FAIL:", e)
        finally:
            if installed() or uid is not None:
                check_purged(files, uid)
            shutil.rmtree(work, ignore_errors=True)
        print("package test: %.1f s" % (time.monotonic() - started))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


def _try_lock(lock):
    """True while another process holds the lock."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True


if __name__ == "__main__":
    sys.exit(main())
