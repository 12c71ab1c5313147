"""outbound.py: bench/compare's outbound workload (issue 15): N messages of 4 KB to D remote
domains through each sender's queue to one receiver on loopback; the time from the moment
the queue is let go until the receiver has accepted the last message, hikyaku's deliverd
against Postfix's qmgr and smtp, the same receiver in the same run.

The receiver is a hikyaku smtpd on 127.0.0.3:25 serving the D domains (one user each;
counted over POP3 by hikyaku-bench wait-delivered), without TLS, so neither sender
encrypts. Each sender is filled first with its agent held back, so only the delivery is
timed: hikyaku's queue through its submission port (AUTH PLAIN on loopback) with deliverd
not yet started; Postfix's through its smtpd with `defer_transports = smtp`, then cleared,
reloaded and flushed. hikyaku routes by MX records that a dnsmasq started here serves;
Postfix by transport_maps to the same address. Both keep their shipped concurrency
(hikyaku: 20 per destination; Postfix: 20 per destination, 100 processes) and reuse
connections as they ship. Needs root (port 25, Postfix's users).
"""
import os
import pwd
import shutil
import subprocess
import time

DOMAIN_FMT = "r{}.bench.test"


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _queue_files(queue_dir):
    n = 0
    for sub in ("incoming", "active", "deferred", "hold", "maildrop"):
        for _root, _dirs, files in os.walk(os.path.join(queue_dir, sub)):
            n += len(files)
    return n


def run(tmp, build_bins, bench, procs, log, free_port, wait_banner, password, password_hash, count=10000, domains=10,
        with_hikyaku=True, with_peer=True):
    """Returns {server: {"outbound.seconds": s, "outbound.rate": msgs/s}}; log()s what fails."""
    base = os.path.join(tmp, "outbound")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    results = {}
    rcpts = ["u@" + DOMAIN_FMT.format(i) for i in range(domains)]

    # --- the receiver (hikyaku smtpd + pop3d for counting) ------------------------------
    recv = os.path.join(base, "receiver")
    os.makedirs(recv)
    recv_pop3 = free_port()
    recv_conf = os.path.join(recv, "hikyaku.toml")
    _write(recv_conf, f'''[storage]
path = "{recv}/store.db"
[server]
max_connections = 20000
max_connections_per_ip = 20000
[smtpd]
hostname = "mx.receiver.bench.test"
listen = ["127.0.0.3:25"]
submission = []
submissions = []
max_recipients = 1000
[pop3d]
listen = ["127.0.0.1:{recv_pop3}"]
listen_tls = []
[log]
level = "warn"
''')
    mailctl = build_bins["mailctl"]
    subprocess.run([mailctl, "-c", recv_conf, "init"], check=True, capture_output=True)
    for i in range(domains):
        subprocess.run([mailctl, "-c", recv_conf, "domain", "add", DOMAIN_FMT.format(i)], check=True,
                       capture_output=True)
    _write(os.path.join(recv, "users"), "".join(f"{r} {password_hash}\n" for r in rcpts))
    subprocess.run([mailctl, "-c", recv_conf, "user", "import", os.path.join(recv, "users")], check=True,
                   capture_output=True)
    receiver = procs.start("receiver-smtpd", [build_bins["smtpd"], "-c", recv_conf], os.path.join(recv, "smtpd.log"))
    receiver_pop3 = procs.start("receiver-pop3d", [build_bins["pop3d"], "-c", recv_conf],
                                os.path.join(recv, "pop3d.log"))
    wait_banner(recv_pop3, receiver_pop3, "receiver pop3d")
    expected = 0

    def wait_received(target, what):
        ok, f = bench("wait-delivered", "--port", recv_pop3, "--user", ",".join(rcpts), "--password", password,
                      "--count", target, "--timeout", 900, timeout=1000)
        if not ok:
            log(f"outbound {what}: the receiver did not get {target} messages: {f}")
        return ok

    # --- hikyaku: smtpd (submission) + deliverd, routed by MX from a dnsmasq --------------
    if with_hikyaku and build_bins.get("deliverd"):
        hk = os.path.join(base, "hikyaku")
        os.makedirs(hk)
        dns_port = free_port()
        dns_args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", f"--port={dns_port}",
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--user=nobody", "--group=nogroup",
                    "--pid-file=", "--local=/bench.test/", "--cache-size=1000",
                    "--host-record=mx.receiver.bench.test,127.0.0.3"]
        for i in range(domains):
            dns_args.append(f"--mx-host={DOMAIN_FMT.format(i)},mx.receiver.bench.test,10")
        dns = procs.start("dnsmasq", dns_args, os.path.join(hk, "dnsmasq.log"))
        sub_port = free_port()
        hk_conf = os.path.join(hk, "hikyaku.toml")
        _write(hk_conf, f'''[storage]
path = "{hk}/store.db"
[smtpd]
hostname = "sender.bench.test"
listen = []
submission = ["127.0.0.1:{sub_port}"]
submissions = []
[delivery]
resolver = "127.0.0.1:{dns_port}"
[log]
level = "warn"
''')
        subprocess.run([mailctl, "-c", hk_conf, "init"], check=True, capture_output=True)
        subprocess.run([mailctl, "-c", hk_conf, "domain", "add", "bench.test"], check=True, capture_output=True)
        _write(os.path.join(hk, "users"), f"sender@bench.test {password_hash}\n")
        subprocess.run([mailctl, "-c", hk_conf, "user", "import", os.path.join(hk, "users")], check=True,
                       capture_output=True)
        smtpd = procs.start("sender-smtpd", [build_bins["smtpd"], "-c", hk_conf], os.path.join(hk, "smtpd.log"))
        wait_banner(sub_port, smtpd, "hikyaku submission")
        ok, f = bench("smtp", "--port", sub_port, "--clients", 20, "--size", 4096, "--rcpt", ",".join(rcpts),
                      "--from", "sender@bench.test", "--auth", f"sender@bench.test:{password}", "--count", count,
                      "--mode", "reuse", "--duration", 900, "--timeout", 60, timeout=1000)
        queued = int(f.get("smtp.acked", 0))
        if not ok or queued != count:
            log(f"outbound hikyaku: queued {queued} of {count}")
        else:
            t0 = time.time()
            deliverd = procs.start("deliverd", [build_bins["deliverd"], "-c", hk_conf], os.path.join(hk, "deliverd.log"))
            expected += count
            if wait_received(expected, "hikyaku"):
                seconds = time.time() - t0
                results["hikyaku"] = {"outbound.seconds": seconds, "outbound.rate": count / seconds}
            procs.stop(deliverd)
        procs.stop(smtpd)
        procs.stop(dns)

    # --- Postfix: smtpd + qmgr + smtp, routed by transport_maps --------------------------
    if with_peer:
        pd = os.path.join(base, "postfix")
        for sub in ("", "queue", "data"):
            os.makedirs(os.path.join(pd, sub), exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(pd, "data"), pf.pw_uid, pf.pw_gid)
        port = free_port()
        transport = ", ".join(f"{DOMAIN_FMT.format(i)}=smtp:[127.0.0.3]:25" for i in range(domains))
        main_cf = f"""# written by hikyaku bench/compare (outbound): a temporary Postfix that relays
compatibility_level = 3.6
queue_directory = {pd}/queue
data_directory = {pd}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {pd}/maillog
maillog_file_prefixes = {pd}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = sender.bench.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = bench.test
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
transport_maps = inline:{{{transport}}}
smtp_tls_security_level = none
smtputf8_enable = no
biff = no
"""
        _write(os.path.join(pd, "main.cf"), main_cf + "defer_transports = smtp\n")
        _write(os.path.join(pd, "master.cf"), f"""127.0.0.1:{port} inet n - n - - smtpd
pickup     unix n - n 60   1 pickup
cleanup    unix n - n -    0 cleanup
qmgr       unix n - n 300  1 qmgr
rewrite    unix - - n -    - trivial-rewrite
bounce     unix - - n -    0 bounce
defer      unix - - n -    0 bounce
trace      unix - - n -    0 bounce
verify     unix - - n -    1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp       unix - - n -    - smtp
relay      unix - - n -    - smtp
showq      unix n - n -    - showq
error      unix - - n -    - error
retry      unix - - n -    - error
discard    unix - - n -    - discard
anvil      unix - - n -    1 anvil
scache     unix - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
""")
        subprocess.run(["postfix", "-c", pd, "check"], capture_output=True)
        env = dict(os.environ, MAIL_CONFIG=pd)
        master = procs.start("postfix-sender", ["/usr/lib/postfix/sbin/master", "-c", pd, "-d"],
                             os.path.join(pd, "stdout.log"), env=env)
        wait_banner(port, master, "postfix smtpd (sender)")
        ok, f = bench("smtp", "--port", port, "--clients", 20, "--size", 4096, "--rcpt", ",".join(rcpts),
                      "--from", "sender@bench.test", "--count", count, "--mode", "reuse", "--duration", 900,
                      "--timeout", 60, timeout=1000)
        queued = int(f.get("smtp.acked", 0))
        deadline = time.time() + 300
        while _queue_files(os.path.join(pd, "queue")) < queued and time.time() < deadline:
            time.sleep(0.2)
        if not ok or queued != count:
            log(f"outbound postfix: queued {queued} of {count}")
        else:
            _write(os.path.join(pd, "main.cf"), main_cf)
            t0 = time.time()
            subprocess.run(["postfix", "-c", pd, "reload"], capture_output=True, env=env)
            subprocess.run(["postqueue", "-c", pd, "-f"], capture_output=True, env=env)
            expected += count
            if wait_received(expected, "postfix"):
                seconds = time.time() - t0
                results["peer"] = {"outbound.seconds": seconds, "outbound.rate": count / seconds}
        procs.stop(master)

    procs.stop(receiver)
    procs.stop(receiver_pop3)
    if os.path.isdir(base):
        shutil.rmtree(os.path.join(base, "receiver"), ignore_errors=True)
    return results
