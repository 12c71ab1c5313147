#!/usr/bin/python3
# mailctl_test.py: drives the mailctl binary as an administrator would, against a store in
# a temporary directory: every subcommand, its output, its exit code, its one-line errors,
# passwords only from stdin (never argv), and "nothing half-done": a refused command leaves
# the store byte for byte as it was (compared by a dump of every table). Password hashes
# cross to Dovecot and back: `mailctl pw` output is checked with `doveadm pw -t`, and
# `doveadm pw -s ARGON2ID` output is imported (where doveadm is installed; the test
# dependencies install it).
#
# Must never: touch a store outside its temporary directory; pass a password to mailctl in
# argv (doveadm's -p gets only the test's throwaway passwords).
# Usage: mailctl_test.py PATH/TO/mailctl
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
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
        p = subprocess.run([MAILCTL, "-c", self.conf, *args], input=stdin, capture_output=True, text=True,
                           timeout=120)
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
        for args in ([], ["bogus"], ["domain"], ["domain", "add"], ["user", "add"]):
            p = subprocess.run([MAILCTL, "-c", self.conf, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
            self.assert_one_line_error(p)

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
        self.assertIn("schema version", p.stdout)
        before = dump(self.store)
        self.run_ctl("init")
        self.assertEqual(dump(self.store), before)

    def test_domains(self):
        self.run_ctl("init")
        self.run_ctl("domain", "add", "Example.COM")
        self.run_ctl("domain", "add", "example.org")
        self.assertEqual(self.run_ctl("domain", "list").stdout, "example.com\nexample.org\n")
        before = dump(self.store)
        self.assertIn("already exists", self.assert_one_line_error(
            self.run_ctl("domain", "add", "example.com", expect=1)))
        self.assert_one_line_error(self.run_ctl("domain", "add", "bad..domain", expect=1))
        self.assert_one_line_error(self.run_ctl("domain", "del", "example.net", expect=1))
        self.assertEqual(dump(self.store), before)
        self.run_ctl("domain", "del", "example.org")
        self.assertEqual(self.run_ctl("domain", "list").stdout, "example.com\n")

    def test_users_and_passwords(self):
        self.init_with_user()
        self.run_ctl("user", "add", "bob@example.com", "--password-stdin", "--quota", "2M", stdin="pw-bob\n")
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
        self.assert_one_line_error(self.run_ctl("user", "del", "ghost@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("user", "passwd", "ghost@example.com", "--password-stdin",
                                                stdin="x\n", expect=1))
        self.assertEqual(dump(self.store), before)

        db = sqlite3.connect(self.store)
        old = db.execute("SELECT password_hash FROM users WHERE address='alice@example.com'").fetchone()[0]
        db.close()
        self.run_ctl("user", "passwd", "alice@example.com", "--password-stdin", stdin="new password\n")
        db = sqlite3.connect(self.store)
        new = db.execute("SELECT password_hash FROM users WHERE address='alice@example.com'").fetchone()[0]
        db.close()
        self.assertNotEqual(old, new)

        self.run_ctl("user", "quota", "bob@example.com", "0")
        self.assertIn("unlimited", self.run_ctl("user", "list", "example.com").stdout.splitlines()[1])
        self.run_ctl("user", "del", "bob@example.com")
        self.assertEqual(len(self.run_ctl("user", "list").stdout.splitlines()), 1)

    def test_aliases(self):
        self.init_with_user()
        self.run_ctl("user", "add", "bob@example.com", "--password-stdin", stdin="pw\n")
        self.run_ctl("alias", "add", "team@example.com", "alice@example.com")
        self.run_ctl("alias", "add", "team@example.com", "bob@example.com")
        self.assertEqual(self.run_ctl("alias", "list").stdout,
                         "team@example.com -> alice@example.com bob@example.com\n")
        before = dump(self.store)
        self.assert_one_line_error(self.run_ctl("alias", "add", "team@example.com", "bob@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("alias", "add", "x@example.com", "ghost@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("alias", "add", "alice@example.com", "bob@example.com", expect=1))
        self.assert_one_line_error(self.run_ctl("domain", "del", "example.com", expect=1))
        self.assertEqual(dump(self.store), before)
        self.run_ctl("alias", "del", "team@example.com", "bob@example.com")
        self.assertEqual(self.run_ctl("alias", "list").stdout, "team@example.com -> alice@example.com\n")
        self.run_ctl("alias", "del", "team@example.com")
        self.assertEqual(self.run_ctl("alias", "list").stdout, "")

    def test_mailbox_list_and_stats(self):
        self.init_with_user()
        lines = self.run_ctl("mailbox", "list", "alice@example.com").stdout.splitlines()
        names = [l.split()[0] for l in lines]
        self.assertEqual(names, ["Drafts", "INBOX", "Junk", "Sent", "Trash"])
        self.assertIn("\\Junk", lines[2])
        self.assertIn("0 messages", lines[1])
        self.assert_one_line_error(self.run_ctl("mailbox", "list", "ghost@example.com", expect=1))
        stats = dict(l.split() for l in self.run_ctl("stats").stdout.splitlines())
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
                         "imported 1 users\n")
        self.assertEqual(self.run_ctl("user", "import", stdin=f"frank@example.com {bob}\n").stdout,
                         "imported 1 users\n")
        self.assertEqual(self.run_ctl("user", "import", stdin="# nobody\n").stdout, "imported 0 users\n")

        # A line of exactly 1000 bytes is fine.
        line = f"gina@example.com {bob} 1M".ljust(1000)
        self.assertEqual(self.run_ctl("user", "import", self.write_list("long.txt", line + "\n")).stdout,
                         "imported 1 users\n")

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
