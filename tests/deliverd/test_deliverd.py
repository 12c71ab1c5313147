"""test_deliverd.py: outbound mail end to end (issue 15 "How it is proven").

Two hikyaku installations on one machine, A (a.test, smtpd on 127.0.0.2:25) and B (b.test and
four more domains, smtpd on 127.0.0.3:25, STARTTLS offered), and a local DNS server (dnsmasq)
started here, holding MX records for every test domain; A's deliverd asks only it. Scripted
receivers on other loopback addresses play the faults. Port 25 on 127.0.0.x needs root (CI
runs as root).

Cases: a message from a user of A to a user of B arrives byte for byte apart from the added
headers, with STARTTLS; the receiver down (deferred, retried, delivered when it comes back);
4xx then success; 5xx (a bounce in the sender's INBOX, parseable as RFC 3464); a receiver that
drops the connection in DATA; one that stalls (timeout); null MX; no DNS answer; a message to
5 domains where 1 fails (only that one bounces); mailctl queue list/show/hold/release/retry/
delete with --json; SIGKILL of deliverd during a burst (every message delivered, none lost,
none more than twice); Postfix as the receiver and as the sender.
"""
import json
import os
import pwd
import shutil
import signal
import smtplib
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import (Process, Store, StoreTool, binary_dir, check, delivery_reports,  # noqa: E402
                     dsn_recipient_blocks, free_port, strip_trace_headers)

if os.geteuid() != 0:
    print("FAIL: this test binds port 25 on 127.0.0.2 and 127.0.0.3 and needs root (CI runs as root)")
    sys.exit(1)

WORK = tempfile.mkdtemp(prefix="hikyaku-deliverd-")
os.chmod(WORK, 0o755)  # Postfix's own users work under it
DEADLINE = 60  # seconds any one expected event may take

# ------------------------------------------------------------------ scripted receivers


class Receiver(socketserver.ThreadingTCPServer):
    """An SMTP server on ADDRESS:25 whose behaviour a test picks: accept, tempfail (451 to
    RCPT for the first `fails` transactions), reject (550 5.1.1 to RCPT), drop (closes the
    connection in the middle of DATA), stall (greets, then never answers)."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, behaviour="accept", fails=1):
        self.behaviour = behaviour
        self.fails = fails
        self.messages = []  # (mail from, [rcpt], data bytes)
        self.transactions = 0
        self.lock = threading.Lock()
        super().__init__((address, 25), ReceiverSession)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class ReceiverSession(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        srv = self.server
        self.reply("220 scripted.test ESMTP")
        if srv.behaviour == "stall":
            time.sleep(20)
            return
        sender, rcpts = None, []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-scripted.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                with srv.lock:
                    refuse_temp = srv.behaviour == "tempfail" and srv.transactions < srv.fails
                if srv.behaviour == "reject":
                    self.reply("550 5.1.1 <%s>: no such user here" % cmd[8:].strip("<>"))
                elif refuse_temp:
                    self.reply("451 4.3.0 try again later")
                else:
                    rcpts.append(cmd[8:].strip("<>"))
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                with srv.lock:
                    srv.transactions += 1
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                data = b""
                while True:
                    chunk = self.rfile.readline(1 << 20)
                    if not chunk:
                        return
                    if srv.behaviour == "drop" and len(data) > 10:
                        return  # the connection dies in the middle of the message
                    if chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b".") else chunk
                with srv.lock:
                    srv.messages.append((sender, rcpts, data))
                self.reply("250 2.0.0 queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                with srv.lock:
                    srv.transactions += 1
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.1 not here")


def wait(condition, what, timeout=DEADLINE):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    for name in ("deliverd", "smtpd_a", "smtpd_b", "dns", "postfix"):
        p = globals().get(name)
        if p is not None:
            print("---- %s output (end) ----\n%s" % (name, p.output[-4000:]))
    check(False, "%s (waited %d s)" % (what, timeout))


# ------------------------------------------------------------------ DNS


class BlackHole:
    """A UDP port that reads queries and never answers (no DNS answer)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                self.sock.recv(4096)
            except OSError:
                return


blackhole = BlackHole()
dns_port = free_port()
records = {
    "a.test": "127.0.0.2", "b.test": "127.0.0.3", "c.test": "127.0.0.3", "d.test": "127.0.0.3",
    "e.test": "127.0.0.3", "down.test": "127.0.0.4", "tempok.test": "127.0.0.5", "permfail.test": "127.0.0.6",
    "drop.test": "127.0.0.7", "stall.test": "127.0.0.8", "postfix.test": "127.0.0.9",
}
dns_args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=%d" % dns_port,
            "--listen-address=127.0.0.1", "--bind-interfaces", "--user=nobody", "--group=nogroup", "--pid-file=",
            "--local=/test/", "--log-facility=-", "--log-queries",
            "--dns-rr=nullmx.test,15,000000", "--server=/nodns.test/127.0.0.1#%d" % blackhole.port]
for domain, address in records.items():
    dns_args += ["--mx-host=%s,mx.%s,10" % (domain, domain), "--host-record=mx.%s,%s" % (domain, address)]
dns = Process(dns_args)
dns.wait_for(r"using only locally-known addresses")

# ------------------------------------------------------------------ the two installations

delivery = ('[delivery]\nresolver = "127.0.0.1:%d"\nretry_min = 1\nretry_max = 2\nmax_age = 3600\n'
            'delay_warning = 0\nconnect_timeout = 3\ncommand_timeout = 3\ndata_timeout = 5\n' % dns_port)
a = Store('[smtpd]\nhostname = "mx.a.test"\nlisten = ["127.0.0.2:25"]\nsubmission = ["127.0.0.1:0"]\n' + delivery,
          domains=("a.test",), users=(("alice@a.test", "alice-pw"), ("carol@a.test", "carol-pw")))
b = Store('[smtpd]\nhostname = "mx.b.test"\nlisten = ["127.0.0.3:25"]\nsubmission = []\n' + delivery,
          domains=("b.test", "c.test", "d.test", "e.test"),
          users=(("bob@b.test", "bob-pw"), ("cy@c.test", "pw"), ("dee@d.test", "pw"), ("eve@e.test", "pw")))
tool_a, tool_b = StoreTool(a), StoreTool(b)
smtpd_a = Process([os.path.join(binary_dir(), "smtpd", "smtpd"), "-c", a.config])
ports_a = smtpd_a.wait_listening(["smtp", "submission"])
smtpd_b = Process([os.path.join(binary_dir(), "smtpd", "smtpd"), "-c", b.config])
smtpd_b.wait_listening(["smtp"])
DELIVERD = os.path.join(binary_dir(), "deliverd", "deliverd")


def start_deliverd():
    p = Process([DELIVERD, "-c", a.config])
    p.wait_for(r"deliverd \(hikyaku\) .* started")
    return p


deliverd = start_deliverd()


def message(tag, to, extra_headers=b""):
    return (b"From: Alice <alice@a.test>\r\nTo: " + to.encode() + b"\r\nSubject: " + tag.encode() +
            b"\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\nMessage-ID: <" + tag.encode() + b"@a.test>\r\n" +
            extra_headers + b"\r\nHello from " + tag.encode() + b".\r\n..a line with a leading dot\r\nend\r\n")


def submit(tag, recipients, body=None):
    body = body or message(tag, ", ".join(recipients))
    with smtplib.SMTP("127.0.0.1", ports_a["submission"], timeout=30) as s:
        s.starttls(context=ssl.create_default_context(cafile=a.cert))
        s.login("alice@a.test", "alice-pw")
        refused = s.sendmail("alice@a.test", recipients, body)
        assert not refused, refused
    return body


def queue(store=a):
    r = store.mailctl("queue", "list", "--json")
    return json.loads(r.stdout)


def bounces_for_alice():
    return delivery_reports(tool_a, "alice@a.test")


dsn_fields = dsn_recipient_blocks


# ------------------------------------------------------------------ 1. A to B, byte for byte, with STARTTLS

sent = submit("first", ["bob@b.test"])
wait(lambda: tool_b.count("bob@b.test") == 1, "A's user reaches B's user")
stored = tool_b.messages("bob@b.test")[0]["raw"]
check(strip_trace_headers(stored) == sent, "the message arrives byte for byte apart from the added headers")
check(b"by mx.b.test (hikyaku) with ESMTPS" in stored, "B received it over STARTTLS (ESMTPS)")
check(b"by mx.a.test (hikyaku) with ESMTPSA" in stored, "A's submission Received header is there")
check(stored.count(b"Return-Path:") == 1, "one Return-Path: A's was not sent on")
wait(lambda: queue() == [], "A's queue is empty after delivery")
check(b"status=sent" in deliverd.output.encode(), "deliverd logs status=sent")

# ------------------------------------------------------------------ 2. a message to 5 domains, 1 fails; local too

rejecting = Receiver("127.0.0.6", "reject")
body = submit("five", ["bob@b.test", "cy@c.test", "dee@d.test", "eve@e.test", "nobody@permfail.test", "carol@a.test"])
wait(lambda: all(tool_b.count(x) >= 1 for x in ("cy@c.test", "dee@d.test", "eve@e.test"))
     and tool_b.count("bob@b.test") == 2, "four domains delivered")
check(tool_a.count("carol@a.test") == 1, "the local recipient got it at submission")
wait(lambda: len(bounces_for_alice()) == 1, "one bounce in alice's INBOX")
report = bounces_for_alice()[0]
blocks = dsn_fields(report)
check(len(blocks) == 1 and blocks[0]["Final-Recipient"] == "rfc822; nobody@permfail.test",
      "the bounce names only the failed recipient")
check(blocks[0]["Action"] == "failed" and blocks[0]["Status"] == "5.1.1", "Action: failed, Status: 5.1.1")
check("550 5.1.1" in blocks[0]["Diagnostic-Code"], "Diagnostic-Code carries the remote reply")
headers = [p for p in report.walk() if p.get_content_type() == "text/rfc822-headers"]
check(len(headers) == 1 and b"Subject: five" in headers[0].get_payload(decode=True), "the original headers are attached")
check(report["Auto-Submitted"] == "auto-replied" and report.get_param("report-type") == "delivery-status",
      "multipart/report; report-type=delivery-status, Auto-Submitted")
rejecting.stop()

# ------------------------------------------------------------------ 3. 4xx, then success

tempok = Receiver("127.0.0.5", "tempfail", fails=1)
submit("tempok", ["x@tempok.test"])
wait(lambda: len(tempok.messages) == 1, "a 4xx is retried and then delivered")
check(tempok.transactions >= 2, "the first try was refused with 451")
wait(lambda: queue() == [], "the queue is empty again")
tempok.stop()

# ------------------------------------------------------------------ 4. the receiver down, then back

submit("down", ["x@down.test"])
wait(lambda: any(e["recipient"] == "x@down.test" and e["attempts"] >= 1 for e in queue()), "deferred while down")
entry = [e for e in queue() if e["recipient"] == "x@down.test"][0]
check("refused" in entry["last_reply"] or "connect" in entry["last_reply"],
      "the last reply says the connection failed: %r" % entry["last_reply"])
shown = json.loads(a.mailctl("queue", "show", str(entry["id"]), "--json").stdout)
check(shown["recipient"] == "x@down.test" and shown["sender"] == "alice@a.test", "queue show --json")
check("x@down.test" in a.mailctl("queue", "list").stdout, "queue list (text) shows the entry")
# hold keeps it from being tried; release and retry bring it back
check(a.mailctl("queue", "hold", str(entry["id"])).stdout.startswith("1 queued recipient held"), "queue hold")
check(queue()[0]["held"] is True, "held in the list")
down = Receiver("127.0.0.4", "accept")
check(a.mailctl("queue", "retry").stdout.startswith("0 queued recipients due now"), "retry skips a held entry")
check(a.mailctl("queue", "release", str(entry["id"])).returncode == 0, "queue release")
check(a.mailctl("queue", "retry", str(entry["id"])).returncode == 0, "queue retry ID")
wait(lambda: len(down.messages) == 1, "delivered once the receiver is back")
check(down.messages[0][2].startswith(b"Received: from"), "sent without A's Return-Path")
down.stop()
check(a.mailctl("queue", "show", "99999", check=False).returncode == 1, "queue show of an unknown id fails")
check(a.mailctl("queue", "delete", "abc", check=False).returncode == 1, "a bad id is refused")

# ------------------------------------------------------------------ 5. a receiver that drops the connection in DATA

drop = Receiver("127.0.0.7", "drop")
submit("drop", ["x@drop.test"])
wait(lambda: any(e["recipient"] == "x@drop.test" and e["attempts"] >= 1 for e in queue()), "deferred after a drop in DATA")
entry = [e for e in queue() if e["recipient"] == "x@drop.test"][0]
check("closed" in entry["last_reply"], "the last reply says the connection closed: %r" % entry["last_reply"])
drop.behaviour = "accept"
wait(lambda: len(drop.messages) == 1, "delivered when the receiver behaves")
drop.stop()

# ------------------------------------------------------------------ 6. a receiver that stalls

stall = Receiver("127.0.0.8", "stall")
submit("stall", ["x@stall.test"])
wait(lambda: any(e["recipient"] == "x@stall.test" and e["attempts"] >= 1 for e in queue()), "deferred after a stall")
entry = [e for e in queue() if e["recipient"] == "x@stall.test"][0]
check("timed out" in entry["last_reply"], "the last reply says it timed out: %r" % entry["last_reply"])
check(a.mailctl("queue", "delete", str(entry["id"])).stdout.startswith("1 queued recipient deleted"), "queue delete")
stall.stop()

# ------------------------------------------------------------------ 7. null MX, no DNS answer

before = len(bounces_for_alice())
submit("nullmx", ["x@nullmx.test"])
wait(lambda: len(bounces_for_alice()) == before + 1, "a null MX bounces at once")
blocks = dsn_fields(bounces_for_alice()[-1])
check(blocks[0]["Status"] == "5.1.10", "Status: 5.1.10 (RFC 7505)")
submit("nodns", ["x@nodns.test"])
wait(lambda: any(e["recipient"] == "x@nodns.test" and e["attempts"] >= 1 for e in queue()), "no DNS answer defers",
     timeout=90)
entry = [e for e in queue() if e["recipient"] == "x@nodns.test"][0]
check("MX lookup" in entry["last_reply"], "the last reply names the lookup: %r" % entry["last_reply"])
check(len(bounces_for_alice()) == before + 1, "no bounce for a DNS failure")
a.mailctl("queue", "delete", str(entry["id"]))

# ------------------------------------------------------------------ 8. SIGKILL of deliverd during a burst

BURST = 150
start_count = tool_b.count("bob@b.test")
with smtplib.SMTP("127.0.0.1", ports_a["submission"], timeout=30) as s:
    s.starttls(context=ssl.create_default_context(cafile=a.cert))
    s.login("alice@a.test", "alice-pw")
    for i in range(BURST):
        s.sendmail("alice@a.test", ["bob@b.test"], message("burst-%d" % i, "bob@b.test"))
        if i == BURST // 3:
            deliverd.signal(signal.SIGKILL)
            deliverd.proc.wait(10)
deliverd = start_deliverd()
wait(lambda: tool_b.count("bob@b.test") >= start_count + BURST and queue() == [],
     "every message of the burst delivered after SIGKILL and restart", timeout=120)
ids = [m["raw"].split(b"Message-ID: <", 1)[1].split(b">", 1)[0] for m in tool_b.messages("bob@b.test")]
burst_ids = [i for i in ids if i.startswith(b"burst-")]
check(set(burst_ids) == set(b"burst-%d@a.test" % i for i in range(BURST)), "no message of the burst lost")
check(all(burst_ids.count(i) <= 2 for i in set(burst_ids)), "none delivered more than twice")

# ------------------------------------------------------------------ 9. Postfix as the receiver and as the sender

postfix_ok = shutil.which("postconf") and os.path.exists("/usr/lib/postfix/sbin/master")
check(postfix_ok, "Postfix is installed (scripts/install-deps.sh test)")
pdir = os.path.join(WORK, "postfix")
for sub in ("conf", "queue", "data", "mail"):
    os.makedirs(os.path.join(pdir, sub), exist_ok=True)
pf = pwd.getpwnam("postfix")
nobody = pwd.getpwnam("nobody")
os.chown(os.path.join(pdir, "data"), pf.pw_uid, pf.pw_gid)
os.chown(os.path.join(pdir, "mail"), nobody.pw_uid, nobody.pw_gid)
# As bench/compare runs it: no chroot, no system configuration, master in the foreground.
with open(os.path.join(pdir, "conf", "main.cf"), "w") as f:
    f.write("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {d}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {w}/maillog
maillog_file_prefixes = {w}
myhostname = mx.postfix.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = postfix.test
virtual_mailbox_base = {m}
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
transport_maps = inline:{{b.test=smtp:[127.0.0.3]:25}}
smtp_tls_security_level = none
smtputf8_enable = no
biff = no
""".format(q=os.path.join(pdir, "queue"), d=os.path.join(pdir, "data"), m=os.path.join(pdir, "mail"),
           uid=nobody.pw_uid, gid=nobody.pw_gid, w=pdir))
with open(os.path.join(pdir, "conf", "master.cf"), "w") as f:
    f.write("""127.0.0.9:25 inet n - n - - smtpd
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
virtual    unix - n n -    - virtual
anvil      unix - - n -    1 anvil
scache     unix - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
""")
subprocess.run(["postfix", "-c", os.path.join(pdir, "conf"), "check"], capture_output=True)
postfix = Process(["/usr/lib/postfix/sbin/master", "-c", os.path.join(pdir, "conf"), "-d"],
                  env=dict(os.environ, MAIL_CONFIG=os.path.join(pdir, "conf")))


def postfix_up():
    try:
        with socket.create_connection(("127.0.0.9", 25), timeout=1) as s:
            return s.recv(100).startswith(b"220")
    except OSError:
        return False


wait(postfix_up, "Postfix listens on 127.0.0.9:25")
sent = submit("to-postfix", ["someone@postfix.test"])
inbox = os.path.join(pdir, "mail", "inbox", "new")
wait(lambda: os.path.isdir(inbox) and len(os.listdir(inbox)) == 1, "Postfix accepted hikyaku's delivery")
with open(os.path.join(inbox, os.listdir(inbox)[0]), "rb") as f:
    arrived = f.read().replace(b"\n", b"\r\n")
check(arrived.endswith(sent), "the message reached Postfix's mailbox intact")
before = tool_b.count("bob@b.test")
with smtplib.SMTP("127.0.0.9", 25, timeout=30) as s:
    s.sendmail("someone@postfix.test", ["bob@b.test"], message("from-postfix", "bob@b.test"))
wait(lambda: tool_b.count("bob@b.test") == before + 1, "Postfix as the sender delivers into hikyaku")
postfix.stop()

# ------------------------------------------------------------------ the end

check(tool_a.integrity() == "ok" and tool_b.integrity() == "ok", "both stores pass their integrity check")
check(deliverd.stop() == 0, "deliverd stops cleanly on SIGTERM")
for p in (smtpd_a, smtpd_b):
    p.stop()
dns.stop()
blackhole.sock.close()
shutil.rmtree(WORK, ignore_errors=True)
print("0 failed")
