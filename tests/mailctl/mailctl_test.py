#!/usr/bin/python3
# mailctl_test.py: drives the mailctl binary as an administrator would, against a store in
# a temporary directory: every subcommand, its output (what each change did, --json for every
# list, plural forms), its exit code, its one-line errors (an unknown command word named, with
# the nearest one), passwords only from stdin (never argv), `user del` asking on a terminal
# (driven through a pseudo-terminal) and refusing without one, and "nothing half-done": a
# refused command leaves the store byte for byte as it was (compared by a dump of every table). Password hashes
# cross to Dovecot and back: `mailctl pw` output is checked with `doveadm pw -t`, and
# `doveadm pw -s ARGON2ID` output is imported (where doveadm is installed; the test
# dependencies install it).
#
# Must never: touch a store outside its temporary directory; pass a password to mailctl in
# argv (doveadm's -p gets only the test's throwaway passwords).
# Usage: mailctl_test.py PATH/TO/mailctl
import json
import os
import pty
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

MAILCTL = None
DOVEADM = shutil.which("doveadm")

# The shape is_argon2id_phc accepts (bounds aside).
PHC = re.compile(r"\$argon2id\$v=19\$m=[1-9][0-9]*,t=[1-9][0-9]*,p=[1-9][0-9]*"
                 r"\$[A-Za-z0-9+/]{11,88}\$[A-Za-z0-9+/]{22,128}")


def dump(path):
    """Every row of every table, in a stable order."""
    db = sqlite3.connect(path)
    try:
        out = [("user_version", db.execute("PRAGMA user_version").fetchone()[0])]
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        for t in tables:
            out.append((t, db.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2').fetchall()))
        return out
    finally:
        db.close()


class MailctlTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hikyaku-mailctl-")
        self.store = os.path.join(self.tmp.name, "store.db")
        self.conf = os.path.join(self.tmp.name, "hikyaku.toml")
        with open(self.conf, "w") as f:
            f.write(f'[storage]\npath = "{self.store}"\ndefault_quota = 1048576\n')
        # Cheap hashing is not configurable from mailctl: production argon2 cost applies.

    def tearDown(self):
        self.tmp.cleanup()

    def run_ctl(self, *args, stdin=None, expect=0):
        # A session of its own: no controlling terminal, as in CI, even when run from one.
        p = subprocess.run([MAILCTL, "-c", self.conf, *args], input=stdin, capture_output=True, text=True,
                           timeout=120, start_new_session=True)
        if expect is not None:
            self.assertEqual(p.returncode, expect, f"mailctl {' '.join(args)}: rc={p.returncode} "
                                                   f"stdout={p.stdout!r} stderr={p.stderr!r}")
        return p

    def assert_one_line_error(self, p):
        self.assertNotEqual(p.returncode, 0)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("mailctl: "), p.stderr)
        return lines[0]

    def write_list(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def stored_hashes(self):
        db = sqlite3.connect(self.store)
        try:
            return dict(db.execute("SELECT address, password_hash FROM users"))
        finally:
            db.close()

    def pw(self, password):
        p = self.run_ctl("pw", "--password-stdin", stdin=password + "\n")
        self.assertEqual(p.stderr, "")
        self.assertEqual(len(p.stdout.splitlines()), 1, p.stdout)
        self.assertTrue(p.stdout.endswith("\n"))
        return p.stdout.strip()

    def init_with_user(self):
        self.run_ctl("init")
        self.run_ctl("domain", "add", "example.com")
        self.run_ctl("user", "add", "alice@example.com", "--password-stdin", stdin="s3cret pass\n")

    def test_version_and_help(self):
        p = subprocess.run([MAILCTL, "--version"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"mailctl \(hikyaku\) \d+\.\d+\.\d+")
        p = subprocess.run([MAILCTL, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for word in ("init", "domain", "user", "alias", "mailbox", "stats", "pw"):
            self.assertIn(word, p.stdout)
        p = subprocess.run([MAILCTL, "user", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("import", p.stdout)

    def test_usage_errors_are_one_line(self):
        for args in ([], ["bogus"], ["domain"], ["domain", "add"], ["user", "add"], ["user", "del"]):
            p = subprocess.run([MAILCTL, "-c", self.conf, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
            self.assert_one_line_error(p)

    def test_unknown_commands_are_named_with_the_nearest(self):
        cases = [
            (["domain", "remove", "example.com"],
             "mailctl: unknown command 'remove'; did you mean 'domain del'? (commands of 'domain': add, del, list)"),
            (["domian", "list"], "mailctl: unknown command 'domian'; did you mean 'domain'? "
                                 "(commands: init, domain, user, alias, mailbox, stats, index, pw, queue)"),
            (["user", "lst", "--help"], "mailctl: unknown command 'lst'; did you mean 'user list'? "
                                        "(commands of 'user': add, del, passwd, quota, list, import)"),
            (["alias", "frobnicate"], "mailctl: unknown command 'frobnicate' (commands of 'alias': add, del, list)"),
            (["-c", self.conf, "mailbox", "ls", "x@example.com"],
             "mailctl: unknown command 'ls'; did you mean 'mailbox list'? (commands of 'mailbox': list)"),
        ]
        for args, expected in cases:
            p = subprocess.run([MAILCTL, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(self.assert_one_line_error(p), expected)
            self.assertEqual(p.stdout, "")
        # The leaf's own help still works, and says what each positional is.
        p = subprocess.run([MAILCTL, "alias", "del", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("remove only this target", p.stdout)

    def test_missing_store_and_config(self):
        p = self.run_ctl("domain", "list", expect=None)
        line = self.assert_one_line_error(p)
        self.assertIn("mailctl init", line)
        self.assertFalse(os.path.exists(self.store))
        p = subprocess.run([MAILCTL, "-c", os.path.join(self.tmp.name, "nope.toml"), "stats"],
                           capture_output=True, text=True)
        self.assert_one_line_error(p)

    def test_init_is_repeatable(self):
        p = self.run_ctl("init")
        self.assertRegex(p.stdout, r"^created store %s \(schema version \d+\)\n$" % re.escape(self.store))
        before = dump(self.store)
        p = self.run_ctl("init")
        self.assertRegex(p.stdout, r"^store %s ready \(schema version \d+\)\n$" % re.escape(self.store))
        self.assertEqual(dump(self.store), before)

    def test_init_creates_the_folder_and_grants_others_nothing(self):
        nested = os.path.join(self.tmp.name, "var", "lib", "hikyaku", "store.db")
        with open(self.conf, "w") as f:
            f.write(f'[storage]\npath = "{nested}"\n')
        old = os.umask(0)  # the worst case: the modes must not depend on the umask
        try:
            self.run_ctl("init")
        finally:
            os.umask(old)
        mode = lambda p: os.stat(p).st_mode & 0o7777
        self.assertEqual(mode(os.path.dirname(nested)), 0o750)
        self.assertEqual(mode(nested), 0o660)
        self.assertEqual(mode(nested + ".locks"), 0o770)
        self.assertEqual(mode(nested + ".notify"), 0o770)
        # A store from before, readable by everyone, loses that on the next init.
        os.chmod(nested, 0o644)
        os.chmod(nested + ".locks", 0o777)
        self.run_ctl("init")
        self.assertEqual(mode(nested), 0o640)
        self.assertEqual(mode(nested + ".locks"), 0o770)

    def test_init_as_root_hands_the_store_to_the_service_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (CI runs as root; tests/install covers it with the package too)")
        import pwd
        nobody = pwd.getpwnam("nobody")
        nested = os.path.join(self.tmp.name, "new", "store.db")
        with open(self.conf, "w") as f:
            f.write(f'[storage]\npath = "{nested}"\n[server]\nuser = "nobody"\n')
        p = self.run_ctl("init")
        self.assertIn("owned by nobody", p.stdout)
        for path in (os.path.dirname(nested), nested, nested + ".locks", nested + ".notify"):
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid), path)
        self.assertEqual(os.stat(self.tmp.name).st_uid, 0)  # a folder it did not create stays as it was
        with open(self.conf, "w") as f:
            f.write(f'[storage]\npath = "{nested}"\n[server]\nuser = "no-such-user-hikyaku"\n')
        line = self.assert_one_line_error(self.run_ctl("init", expect=1))
        self.assertIn("[server] user 'no-such-user-hikyaku' does not exist", line)

    def test_domains(self):
        self.run_ctl("init")
        self.assertEqual(self.run_ctl("domain", "add", "Example.COM").stdout, "added domain example.com\n")
        self.run_ctl("domain", "add", "example.org")
        self.assertEqual(self.run_ctl("domain", "list").stdout, "example.com\nexample.org\n")
        self.assertEqual(json.loads(self.run_ctl("domain", "list", "--json").stdout),
                         [{"domain": "example.com"}, {"domain": "example.org"}])
        before = dump(self.store)
        self.assertIn("already exists", self.assert_one_line_error(
            self.run_ctl("domain", "add", "example.com", expect=1)))
        self.assert_one_line_error(self.run_ctl("domain", "add", "bad..domain", expect=1))
        self.assert_one_line_error(self.run_ctl("domain", "del", "example.net", expect=1))
        self.assertEqual(dump(self.store), before)
        self.assertEqual(self.run_ctl("domain", "del", "example.org").stdout, "removed domain example.org\n")
        self.assertEqual(self.run_ctl("domain", "list").stdout, "example.com\n")

    def test_users_and_passwords(self):
        self.init_with_user()
        p = self.run_ctl("user", "add", "Bob@example.com", "--password-stdin", "--quota", "2M", stdin="pw-bob\n")
        self.assertEqual(p.stdout, "added user bob@example.com (INBOX, Sent, Drafts, Trash, Junk), quota 2.0 MiB\n")
        self.assertEqual(json.loads(self.run_ctl("user", "list", "--json").stdout), [
            {"address": "alice@example.com", "messages": 0, "used_bytes": 0, "quota_bytes": 1048576,
             "quota_messages": 0},
            {"address": "bob@example.com", "messages": 0, "used_bytes": 0, "quota_bytes": 2097152,
             "quota_messages": 0}])
        out = self.run_ctl("user", "list").stdout.splitlines()
        self.assertEqual(len(out), 2)
        self.assertTrue(out[0].startswith("alice@example.com "), out)
        self.assertIn("of 1.0 MiB", out[0])  # default_quota from the configuration
        self.assertIn("of 2.0 MiB", out[1])
        db = sqlite3.connect(self.store)
        hashes = [r[0] for r in db.execute("SELECT password_hash FROM users")]
        db.close()
        self.assertTrue(all(h.startswith("$argon2id$") for h in hashes))
        self.assertFalse(any("s3cret" in h for h in hashes))

        before = dump(self.store)
        self.assert_one_line_error(self.run_ctl("user", "add", "alice@example.com", "--password-stdin",
                                                stdin="x\n", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "add", "carol@example.net", "--password-stdin",
                                                stdin="x\n", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "add", "not-an-address", "--password-stdin",
                                                stdin="x\n", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "add", "dave@example.com", "--password-stdin",
                                                stdin="", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "add", "dave@example.com", "--password-stdin",
                                                "--quota", "lots", stdin="x\n", expect=1))
        # Without --password-stdin and without a terminal there is no way to give a password.
        p = subprocess.run([MAILCTL, "-c", self.conf, "user", "add", "erin@example.com"], input="pw\n",
                           capture_output=True, text=True, start_new_session=True)
        self.assert_one_line_error(p)
        self.assert_one_line_error(self.run_ctl("user", "del", "ghost@example.com", "--yes", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "passwd", "ghost@example.com", "--password-stdin",
                                                stdin="x\n", expect=1))
        self.assertEqual(dump(self.store), before)

        db = sqlite3.connect(self.store)
        old = db.execute("SELECT password_hash FROM users WHERE address='alice@example.com'").fetchone()[0]
        db.close()
        self.assertEqual(self.run_ctl("user", "passwd", "alice@example.com", "--password-stdin",
                                      stdin="new password\n").stdout, "changed the password of alice@example.com\n")
        db = sqlite3.connect(self.store)
        new = db.execute("SELECT password_hash FROM users WHERE address='alice@example.com'").fetchone()[0]
        db.close()
        self.assertNotEqual(old, new)

        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "0").stdout,
                         "set the quota of bob@example.com to unlimited\n")
        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "3M").stdout,
                         "set the quota of bob@example.com to 3.0 MiB\n")
        # --messages sets the message limit too (RFC 9208 MESSAGE); without it the limit stays.
        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "3M", "--messages", "100").stdout,
                         "set the quota of bob@example.com to 3.0 MiB and 100 messages\n")
        self.assertIn("0 of 100 messages", self.run_ctl("user", "list", "example.com").stdout.splitlines()[1])
        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "2M").stdout,
                         "set the quota of bob@example.com to 2.0 MiB\n")
        self.assertEqual(json.loads(self.run_ctl("user", "list", "--json").stdout)[1]["quota_messages"], 100)
        db = sqlite3.connect(self.store)
        self.assertEqual(db.execute("SELECT quota_bytes, quota_messages FROM users WHERE address='bob@example.com'")
                         .fetchone(), (2097152, 100))
        db.close()
        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "1M", "--messages", "1").stdout,
                         "set the quota of bob@example.com to 1.0 MiB and 1 message\n")
        before = dump(self.store)
        for bad in ("lots", "1K", "", "9223372036854775808"):
            self.assertIn("bad message quota", self.assert_one_line_error(
                self.run_ctl("user", "quota", "bob@example.com", "0", "--messages", bad, expect=1)))
        self.assertIn("no such user", self.assert_one_line_error(
            self.run_ctl("user", "quota", "nobody@example.com", "0", "--messages", "5", expect=1)))
        self.assertEqual(dump(self.store), before)
        self.assertEqual(self.run_ctl("user", "quota", "bob@example.com", "0", "--messages", "0").stdout,
                         "set the quota of bob@example.com to unlimited and unlimited messages\n")
        self.assertIn("unlimited", self.run_ctl("user", "list", "example.com").stdout.splitlines()[1])
        self.assertIn("  0 messages  ", self.run_ctl("user", "list", "example.com").stdout.splitlines()[1])
        self.assertEqual(self.run_ctl("user", "del", "bob@example.com", "--yes").stdout,
                         "removed user bob@example.com and their 0 messages (0 B) in 5 mailboxes\n")
        self.assertEqual(len(self.run_ctl("user", "list").stdout.splitlines()), 1)

    def on_terminal(self, args, answer):
        """Runs mailctl on a pseudo-terminal, answers its [y/N] question with `answer`;
        returns (exit code, everything it wrote to the terminal)."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(MAILCTL, [MAILCTL, "-c", self.conf, *args])
        output, answered = b"", False
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child is gone and the terminal closed
                    break
                if not chunk:
                    break
                output += chunk
                if not answered and b"[y/N]" in output:
                    os.write(fd, answer + b"\n")
                    answered = True
            else:
                os.kill(pid, 9)
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        self.assertTrue(answered, output)
        return os.waitstatus_to_exitcode(status), output.decode()

    def test_user_del_asks_before_deleting_mail(self):
        self.init_with_user()
        self.run_ctl("user", "add", "bob@example.com", "--password-stdin", stdin="pw\n")
        store_tool = os.path.join(os.environ["HIKYAKU_BINARY_DIR"], "tests", "lib", "store-tool")
        for n in (1, 2):
            subprocess.run([store_tool, self.store, "deliver", "bob@example.com"], check=True, timeout=60,
                           input=b"Subject: %d\r\n\r\nbody\r\n" % n)
        before = dump(self.store)
        # No terminal and no --yes: refused, nothing deleted, and told how.
        line = self.assert_one_line_error(self.run_ctl("user", "del", "bob@example.com", expect=1))
        self.assertIn("would delete 2 messages", line)
        self.assertIn("add --yes", line)
        self.assertEqual(dump(self.store), before)
        # On a terminal: "n" keeps everything, "y" deletes.
        code, out = self.on_terminal(["user", "del", "bob@example.com"], b"n")
        self.assertEqual(code, 1, out)
        self.assertIn("Delete user bob@example.com and their 2 messages (", out)
        self.assertIn(") in 5 mailboxes? [y/N]", out)
        self.assertIn("mailctl: nothing deleted", out)
        self.assertEqual(dump(self.store), before)
        code, out = self.on_terminal(["user", "del", "bob@example.com"], b"y")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"removed user bob@example.com and their 2 messages \([0-9]+ B\) in 5 mailboxes")
        self.assertEqual([u["address"] for u in json.loads(self.run_ctl("user", "list", "--json").stdout)],
                         ["alice@example.com"])

    def test_aliases(self):
        self.init_with_user()
        self.run_ctl("user", "add", "bob@example.com", "--password-stdin", stdin="pw\n")
        self.assertEqual(self.run_ctl("alias", "add", "Team@example.com", "alice@example.com").stdout,
                         "alias team@example.com now delivers to alice@example.com\n")
        self.run_ctl("alias", "add", "team@example.com", "bob@example.com")
        self.assertEqual(self.run_ctl("alias", "list").stdout,
                         "team@example.com -> alice@example.com bob@example.com\n")
        self.assertEqual(json.loads(self.run_ctl("alias", "list", "--json").stdout),
                         [{"alias": "team@example.com", "targets": ["alice@example.com", "bob@example.com"]}])
        before = dump(self.store)
        self.assert_one_line_error(self.run_ctl("alias", "add", "team@example.com", "bob@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("alias", "add", "x@example.com", "ghost@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("alias", "add", "alice@example.com", "bob@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("domain", "del", "example.com", expect=1))
        self.assertEqual(dump(self.store), before)
        self.assertEqual(self.run_ctl("alias", "del", "team@example.com", "bob@example.com").stdout,
                         "alias team@example.com no longer delivers to bob@example.com\n")
        self.assertEqual(self.run_ctl("alias", "list").stdout, "team@example.com -> alice@example.com\n")
        self.assertEqual(self.run_ctl("alias", "del", "team@example.com").stdout, "removed alias team@example.com\n")
        self.assertEqual(self.run_ctl("alias", "list").stdout, "")
        self.assertEqual(json.loads(self.run_ctl("alias", "list", "--json").stdout), [])

    def test_mailbox_list_and_stats(self):
        self.init_with_user()
        lines = self.run_ctl("mailbox", "list", "alice@example.com").stdout.splitlines()
        names = [l.split()[0] for l in lines]
        self.assertEqual(names, ["Drafts", "INBOX", "Junk", "Sent", "Trash"])
        self.assertIn("\\Junk", lines[2])
        self.assertIn("0 messages", lines[1])
        self.assert_one_line_error(self.run_ctl("mailbox", "list", "ghost@example.com", expect=1))
        boxes = json.loads(self.run_ctl("mailbox", "list", "alice@example.com", "--json").stdout)
        self.assertEqual([b["name"] for b in boxes], names)
        junk = boxes[2]
        self.assertEqual((junk["special_use"], junk["subscribed"], junk["messages"], junk["uidnext"]),
                         ("\\Junk", True, 0, 1))
        self.assertEqual(boxes[1]["special_use"], "")
        stats = dict(l.split() for l in self.run_ctl("stats").stdout.splitlines())
        self.assertEqual({k: str(v) for k, v in json.loads(self.run_ctl("stats", "--json").stdout).items()}, stats)
        self.assertEqual(stats["domains"], "1")
        self.assertEqual(stats["users"], "1")
        self.assertEqual(stats["mailboxes"], "5")
        self.assertEqual(stats["messages"], "0")

    def test_pw_prints_a_hash_dovecot_verifies(self):
        # No store is needed (nor created): only the configuration, for the cost.
        h = self.pw("pw one")
        self.assertRegex(h, "^" + PHC.pattern + "$")
        self.assertTrue(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), h)  # the production cost
        self.assertLessEqual(len(h), 300)
        self.assertFalse(os.path.exists(self.store))
        self.assertNotEqual(self.pw("pw one"), h)  # a fresh salt each time
        self.assert_one_line_error(self.run_ctl("pw", "--password-stdin", stdin="", expect=1))
        self.assert_one_line_error(self.run_ctl("pw", "--password-stdin", stdin="\n", expect=1))
        self.assert_one_line_error(self.run_ctl("pw", "--password-stdin", stdin="x" * 1025 + "\n", expect=1))
        p = subprocess.run([MAILCTL, "-c", self.conf, "pw"], input="pw\n", capture_output=True, text=True,
                           start_new_session=True)
        self.assert_one_line_error(p)
        if DOVEADM is None:
            self.skipTest("doveadm is not installed (scripts/install-deps.sh test installs dovecot-core)")
        ok = subprocess.run([DOVEADM, "pw", "-t", "{ARGON2ID}" + h, "-p", "pw one"], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = subprocess.run([DOVEADM, "pw", "-t", "{ARGON2ID}" + h, "-p", "pw two"], capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)

    def test_user_import(self):
        self.init_with_user()
        self.run_ctl("domain", "add", "example.org")
        bob, carol = self.pw("bob pw"), self.pw("carol pw")
        path = self.write_list("users.txt",
                               "# migrated from the old server\n"
                               "\n"
                               f"Bob@Example.com {bob}\r\n"
                               f"  carol@example.org\t{{ARGON2ID}}{carol}\t2M\n"
                               "   \n"
                               f"dave@example.com {bob} 0")
        p = self.run_ctl("user", "import", path)
        self.assertEqual(p.stdout, "imported 3 users\n")
        self.assertEqual(p.stderr, "")
        lines = self.run_ctl("user", "list").stdout.splitlines()
        self.assertEqual([l.split()[0] for l in lines],
                         ["alice@example.com", "bob@example.com", "carol@example.org", "dave@example.com"])
        self.assertIn("of 1.0 MiB", lines[1])  # default_quota
        self.assertIn("of 2.0 MiB", lines[2])
        self.assertIn("of 1.0 MiB", lines[3])
        hashes = self.stored_hashes()
        self.assertEqual(hashes["bob@example.com"], bob)
        self.assertEqual(hashes["carol@example.org"], carol)  # {ARGON2ID} dropped
        boxes = lambda a: [l.split()[0] for l in self.run_ctl("mailbox", "list", a).stdout.splitlines()]
        self.assertEqual(boxes("carol@example.org"), boxes("alice@example.com"))

        # Standard input: "-" or no FILE.
        self.assertEqual(self.run_ctl("user", "import", "-", stdin=f"erin@example.com {bob}\n").stdout,
                         "imported 1 user\n")
        self.assertEqual(self.run_ctl("user", "import", stdin=f"frank@example.com {bob}\n").stdout,
                         "imported 1 user\n")
        self.assertEqual(self.run_ctl("user", "import", stdin="# nobody\n").stdout, "imported 0 users\n")

        # A line of exactly 1000 bytes is fine.
        line = f"gina@example.com {bob} 1M".ljust(1000)
        self.assertEqual(self.run_ctl("user", "import", self.write_list("long.txt", line + "\n")).stdout,
                         "imported 1 user\n")

        if DOVEADM is not None:  # a Dovecot hash, prefix and all, moves in as it is
            made = subprocess.run([DOVEADM, "pw", "-s", "ARGON2ID", "-p", "henry pw"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            self.assertTrue(made.startswith("{ARGON2ID}$argon2id$"), made)
            self.run_ctl("user", "import", stdin=f"henry@example.com {made}\n")
            self.assertEqual(self.stored_hashes()["henry@example.com"], made[len("{ARGON2ID}"):])

    def test_user_import_is_all_or_none(self):
        self.init_with_user()
        good = self.pw("pw")
        before = dump(self.store)

        def refused(text, expect_in, name="bad.txt"):
            path = self.write_list(name, text)
            line = self.assert_one_line_error(self.run_ctl("user", "import", path, expect=1))
            self.assertIn(expect_in.replace("FILE", path), line)
            self.assertEqual(dump(self.store), before)
            return line

        ok = f"bob@example.com {good}\ncarol@example.com {good}\n"
        refused(ok + f"dave@example.com {good[:-1]}$\nerin@example.com {good}\n", "FILE:3: the password hash")
        refused(ok + f"dave@example.com secret\n", "FILE:3: the password hash")
        refused(ok + f"dave@example.com {{SHA512-CRYPT}}$6$x$y\n", "FILE:3: the password hash")
        refused(ok + f"dave@example.com {good} lots\n", "FILE:3: bad quota")
        refused(ok + f"dave@example.com {good} 1.5M\n", "FILE:3: bad quota")
        refused(ok + f"dave@example.com {good} 1M extra\n", "FILE:3: too many fields")
        refused(ok + "dave@example.com\n", "FILE:3: no password hash")
        refused(ok + f"dave..x@example.com {good}\n", "FILE:3: bad address")
        refused(ok + f"Bob@example.com {good}\n", "FILE:3: bob@example.com is already on line 1")
        refused(ok + f"dave@example.com {good} 1M".ljust(1001) + "\n", "FILE:3: line longer than 1000 bytes")
        refused(ok + "x" * 100000 + "\n", "FILE:3: line longer than 1000 bytes")
        # What only the store can tell: nothing is written either, and the address is named.
        refused(ok + f"dave@example.net {good}\n", "dave@example.net")
        refused(ok + f"alice@example.com {good}\n", "alice@example.com")
        self.run_ctl("user", "add", "zed@example.com", "--password-stdin", stdin="pw\n")
        self.run_ctl("alias", "add", "team@example.com", "zed@example.com")
        before = dump(self.store)
        refused(ok + f"team@example.com {good}\n", "team@example.com")
        line = self.assert_one_line_error(self.run_ctl("user", "import", "-", stdin=f"x@example.com {good} M\n",
                                                       expect=1))
        self.assertIn("mailctl: stdin:1: bad quota", line)
        self.assert_one_line_error(self.run_ctl("user", "import", os.path.join(self.tmp.name, "none.txt"), expect=1))
        self.assert_one_line_error(self.run_ctl("user", "import", self.tmp.name, expect=1))
        self.assertEqual(dump(self.store), before)

    def test_newer_store_is_refused(self):
        self.run_ctl("init")
        db = sqlite3.connect(self.store)
        db.execute("PRAGMA user_version=999")
        db.commit()
        db.close()
        line = self.assert_one_line_error(self.run_ctl("stats", expect=1))
        self.assertIn("newer", line)


if __name__ == "__main__":
    MAILCTL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
