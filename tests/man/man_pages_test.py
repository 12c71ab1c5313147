#!/usr/bin/python3
"""man_pages_test.py: each man page (man/*.scd) and its program's --help say the same.

For every program: each option that --help prints, at every level of subcommands, appears
in the man page as a bold word (*--config*), and each bold option in the man page is one
that --help prints; each command path (mailctl "user add") is a bold term starting a line
of the page, and each such term of its COMMANDS section is a real command; for a daemon,
each role that `--inetd --role` lists is in the page. imapd(8) is checked against imapd's
--help once imapd is built, and until then against the command line every daemon shares
(smtpd's). hikyaku.toml(5): its keys, table by table, are the keys the loader reads
(common/config.cpp) and the keys of the example, conf/hikyaku.toml.

Must never: read outside the repository and the build tree; pass when a page is missing.
Usage: man_pages_test.py SOURCE_DIR smtpd=PATH pop3d=PATH [imapd=PATH] deliverd=PATH mailctl=PATH
       mailcli=PATH
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


def help_sections(argv):
    """(options, subcommands) that `argv --help` prints."""
    p = run(argv + ["--help"])
    if p.returncode != 0:
        fail("%s --help exited %d: %s" % (" ".join(argv), p.returncode, p.stderr))
        return set(), []
    options, subcommands, section = set(), [], None
    for line in p.stdout.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        m = re.match(r"^\s+(\S+)", line)
        if not m:
            continue
        if section == "Options":
            first = m.group(1).split("=")[0]
            for name in first.split(","):
                if name.startswith("-"):
                    options.add(name)
        elif section == "Subcommands":
            subcommands.append(m.group(1))
    return options, subcommands


def walk(program):
    """Every option of every level, and every command path that takes no further command
    ("user add", not "user")."""
    options, paths = set(), []
    pending = [[]]
    while pending:
        path = pending.pop(0)
        opts, subs = help_sections([program] + path)
        options |= opts
        if path and not subs:
            paths.append(" ".join(path))
        pending += [path + [s] for s in subs]
    return options, paths


def page_text(source, name):
    path = os.path.join(source, "man", name + ".scd")
    if not os.path.exists(path):
        fail("missing man page %s" % path)
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


def bold_options(text):
    return set(re.findall(r"\*(--?[A-Za-z0-9][-A-Za-z0-9]*)\*", text))


def section(text, title):
    m = re.search(r"^# %s\n(.*?)(?=^# |\Z)" % re.escape(title), text, re.M | re.S)
    return m.group(1) if m else ""


def check_program(name, page, program, expect_commands):
    before = len(failures)
    text = page_text(SOURCE, page)
    if not text:
        return
    options, paths = walk(program)
    if not options:
        fail("%s: --help printed no options" % name)
    in_page = bold_options(text)
    for o in sorted(options - in_page):
        fail("%s: option %s of --help is not in man/%s.scd" % (name, o, page))
    for o in sorted(in_page - options):
        fail("man/%s.scd: option %s is not in %s --help" % (page, o, name))
    for p in paths:
        if not re.search(r"^\*%s\*" % re.escape(p).replace("\\ ", r"\*? \*?"), text, re.M):
            fail("%s: command '%s' of --help is not a term of man/%s.scd" % (name, p, page))
    if expect_commands:
        terms = set()
        for line in section(text, "COMMANDS").splitlines():
            m = re.match(r"^\*([a-z][a-z0-9 *]*?)\*(?:\s|$)", line)
            if m:
                terms.add(m.group(1).replace("*", "").strip())
        for t in sorted(terms - set(paths)):
            fail("man/%s.scd: command '%s' is not in %s --help" % (page, t, name))
        if not terms:
            fail("man/%s.scd: no COMMANDS section with terms" % page)
    if len(failures) == before:
        print("ok: %s: %d options, %d commands match man/%s.scd" % (name, len(options), len(paths), page))


def check_roles(name, page, program, mailctl):
    """The roles `--inetd --role` lists are the roles the page names."""
    text = page_text(SOURCE, page)
    with tempfile.TemporaryDirectory(prefix="hikyaku-man-") as tmp:
        conf = os.path.join(tmp, "hikyaku.toml")
        with open(conf, "w") as f:
            f.write('[storage]\npath = "%s/store.db"\n[log]\nlevel = "off"\n' % tmp)
        run([mailctl, "-c", conf, "init"], check=True)
        p = run([program, "-c", conf, "--inetd", "--role", "no-such-role"], stdin=subprocess.DEVNULL)
    m = re.search(r"%s serves (.*)$" % re.escape(name), p.stderr, re.M)
    if p.returncode != 2 or not m:
        fail("%s --inetd --role no-such-role: exit %d, no list of roles: %r" % (name, p.returncode, p.stderr))
        return
    roles = [r.strip() for r in m.group(1).split(",")]
    described = section(text, "DESCRIPTION")
    before = len(failures)
    for role in roles:
        if not re.search(r"^\*%s\* \(key " % re.escape(role), described, re.M):
            fail("man/%s.scd: role %s (from %s) is not described" % (page, role, name))
    if len(failures) == before:
        print("ok: %s: roles %s in man/%s.scd" % (name, ", ".join(roles), page))


def config_keys_from_loader():
    with open(os.path.join(SOURCE, "common", "config.cpp"), encoding="utf-8") as f:
        code = f.read()
    keys = {}
    for block in re.finditer(r'TableReader r\(table\("(\w+)"\).*?\n    \}', code, re.S):
        keys[block.group(1)] = set(re.findall(r'\br\.\w+\("(\w+)"', block.group(0)))
    return keys


def config_keys_from_example():
    keys, table = {}, None
    with open(os.path.join(SOURCE, "conf", "hikyaku.toml"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\[(\w+)\]", line)
            if m:
                table = m.group(1)
                keys.setdefault(table, set())
                continue
            m = re.match(r"^#?\s*(\w+)\s*=", line)  # commented keys show defaults too
            if m and table:
                keys[table].add(m.group(1))
    return keys


def config_keys_from_page(text):
    keys = {}
    for m in re.finditer(r"^# \[(\w+)\]\n(.*?)(?=^# |\Z)", text, re.M | re.S):
        keys[m.group(1)] = set(re.findall(r"^\*(\w+)\* =", m.group(2), re.M))
    return keys


def check_config_page():
    text = page_text(SOURCE, "hikyaku.toml.5")
    if not text:
        return
    page = config_keys_from_page(text)
    before = len(failures)
    for origin, keys in (("common/config.cpp", config_keys_from_loader()), ("conf/hikyaku.toml",
                                                                             config_keys_from_example())):
        if not keys:
            fail("%s: found no keys" % origin)
        for table in sorted(set(keys) | set(page)):
            for k in sorted(keys.get(table, set()) - page.get(table, set())):
                fail("%s: [%s] %s is not in man/hikyaku.toml.5.scd" % (origin, table, k))
            for k in sorted(page.get(table, set()) - keys.get(table, set())):
                fail("man/hikyaku.toml.5.scd: [%s] %s is not in %s" % (table, k, origin))
    if len(failures) == before:
        print("ok: hikyaku.toml(5): %d keys in %d tables" % (sum(len(v) for v in page.values()), len(page)))


if __name__ == "__main__":
    SOURCE = sys.argv[1]
    programs = dict(arg.split("=", 1) for arg in sys.argv[2:])
    for daemon in ("smtpd", "pop3d"):
        check_program(daemon, daemon + ".8", programs[daemon], False)
        check_roles(daemon, daemon + ".8", programs[daemon], programs["mailctl"])
    if "imapd" in programs:
        check_program("imapd", "imapd.8", programs["imapd"], False)
        check_roles("imapd", "imapd.8", programs["imapd"], programs["mailctl"])
    else:  # not built yet: its page promises the command line every daemon shares
        check_program("imapd (the shared daemon command line)", "imapd.8", programs["smtpd"], False)
    check_program("deliverd", "deliverd.8", programs["deliverd"], False)
    check_program("mailctl", "mailctl.8", programs["mailctl"], True)
    check_program("mailcli", "mailcli.1", programs["mailcli"], True)
    check_config_page()
    if failures:
        print("%d difference(s) between man pages and the programs" % len(failures))
        sys.exit(1)
