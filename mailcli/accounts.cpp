// accounts.cpp: the accounts file and password sources (see accounts.h).
// Must never: echo a password, keep it in argv, or print it in an error.
#include "mailcli/accounts.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <fstream>
#include <iostream>
#include <sstream>
#include <toml++/toml.h>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

constexpr std::size_t kMaxPasswordLength = 4096;

// The keys of an [accounts.NAME] table (documented in accounts.h, the README and mailcli(1)).
constexpr std::string_view kAccountKeys[] = {"host",      "user",      "from", "tls",      "smtp_port",
                                             "pop3_port", "imap_port", "ca",   "insecure", "password_command"};

// "FILE:LINE: unknown key 'KEY' in [accounts.NAME]" for the first key not in `known`.
void reject_unknown_keys(const toml::table& t, std::span<const std::string_view> known, const std::string& origin,
                         const std::string& where) {
    for (const auto& [key, node] : t) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        const auto line = key.source().begin.line != 0 ? key.source().begin.line : node.source().begin.line;
        std::string message = origin;
        if (line != 0) message += ":" + std::to_string(line);
        message += ": unknown key '" + std::string(key.str()) + "'";
        if (!where.empty()) message += " in " + where;
        throw CliError(ExitCode::usage, message);
    }
}

std::optional<std::uint16_t> port_of(const toml::table& t, std::string_view key, const std::string& origin) {
    if (!t.contains(key)) return std::nullopt;
    auto v = t[key].value<std::int64_t>();
    if (!v || *v < 1 || *v > 65535) {
        throw CliError(ExitCode::usage, origin + ": " + std::string(key) + " must be a port number");
    }
    return static_cast<std::uint16_t>(*v);
}

std::string string_of(const toml::table& t, std::string_view key, const std::string& origin) {
    if (!t.contains(key)) return {};
    auto v = t[key].value<std::string>();
    if (!v) throw CliError(ExitCode::usage, origin + ": " + std::string(key) + " must be a string");
    return *v;
}

std::string strip_line_end(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace

std::string default_accounts_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    std::string base;
    if (xdg && *xdg) {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        base = std::string(home) + "/.config";
    } else {
        base = std::string(".");  // not = ".": g++ 12 -O3 gives a false -Wrestrict
    }
    return base + "/hikyaku/mailcli.toml";
}

TlsMode parse_tls_mode(std::string_view text) {
    if (text == "starttls") return TlsMode::starttls;
    if (text == "tls") return TlsMode::tls;
    if (text == "none") return TlsMode::none;
    throw CliError(ExitCode::usage, "TLS mode must be starttls, tls or none, not \"" + std::string(text) + "\"");
}

std::uint16_t default_port(Protocol protocol, TlsMode tls) {
    switch (protocol) {
        case Protocol::smtp: return tls == TlsMode::tls ? 465 : tls == TlsMode::none ? 25 : 587;
        case Protocol::pop3: return tls == TlsMode::tls ? 995 : 110;
        case Protocol::imap: return tls == TlsMode::tls ? 993 : 143;
    }
    return 0;
}

Account parse_account(std::string_view toml_text, const std::string& name, const std::string& origin) {
    toml::table root;
    try {
        root = toml::parse(toml_text, origin);
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << e.source().begin;
        throw CliError(ExitCode::usage, origin + ": " + std::string(e.description()) + " at " + where.str());
    }
    static constexpr std::string_view top_keys[] = {"default", "accounts"};
    reject_unknown_keys(root, top_keys, origin, "");
    if (root.contains("accounts") && !root["accounts"].as_table()) {
        throw CliError(ExitCode::usage, origin + ": accounts must be a table ([accounts.NAME])");
    }
    const toml::table* accounts = root["accounts"].as_table();
    if (accounts) {
        for (const auto& [account, node] : *accounts) {
            const std::string where = "[accounts." + std::string(account.str()) + "]";
            const toml::table* t = node.as_table();
            if (!t) throw CliError(ExitCode::usage, origin + ": " + where + " must be a table");
            if (t->contains("password")) {
                throw CliError(ExitCode::usage,
                               origin + " " + where + ": passwords do not belong in the file; use password_command");
            }
            reject_unknown_keys(*t, kAccountKeys, origin, where);
        }
    }
    std::string chosen = name;
    if (chosen.empty()) chosen = root["default"].value_or(std::string());
    if (chosen.empty()) {
        if (!accounts || accounts->empty()) return Account{};
        if (accounts->size() > 1) {
            throw CliError(ExitCode::usage, origin + " has several accounts; pick one with --account");
        }
        chosen = std::string(accounts->begin()->first.str());
    }
    const toml::table* t = accounts ? (*accounts)[chosen].as_table() : nullptr;
    if (!t) throw CliError(ExitCode::usage, origin + ": no account \"" + chosen + "\"");
    const std::string where = origin + " [accounts." + chosen + "]";
    Account a;
    a.name = chosen;
    a.host = string_of(*t, "host", where);
    a.user = string_of(*t, "user", where);
    a.from = string_of(*t, "from", where);
    if (t->contains("tls")) a.tls = parse_tls_mode(string_of(*t, "tls", where));
    a.smtp_port = port_of(*t, "smtp_port", where);
    a.pop3_port = port_of(*t, "pop3_port", where);
    a.imap_port = port_of(*t, "imap_port", where);
    a.ca = string_of(*t, "ca", where);
    if (t->contains("insecure")) {
        auto v = (*t)["insecure"].value<bool>();
        if (!v) throw CliError(ExitCode::usage, where + ": insecure must be true or false");
        a.insecure = *v;
    }
    a.password_command = string_of(*t, "password_command", where);
    return a;
}

Account load_account(const std::string& path, bool explicit_path, const std::string& name) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (explicit_path || !name.empty()) {
            throw CliError(ExitCode::usage, "cannot read accounts file " + path);
        }
        return Account{};
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_account(text.str(), name, path);
}

std::string run_password_command(const std::string& command) {
    FILE* p = popen(command.c_str(), "r");
    if (!p) throw CliError(ExitCode::auth, "cannot run the password command");
    std::string out;
    char buf[512];
    while (out.size() < kMaxPasswordLength && std::fgets(buf, sizeof buf, p)) {
        out += buf;
        if (out.find('\n') != std::string::npos) break;
    }
    while (std::fgets(buf, sizeof buf, p)) {}
    int rc = pclose(p);
    if (rc != 0) throw CliError(ExitCode::auth, "the password command failed");
    out = out.substr(0, out.find('\n'));
    return strip_line_end(out);
}

std::string read_password_stdin() {
    std::string line;
    if (!std::getline(std::cin, line)) throw CliError(ExitCode::auth, "no password on stdin");
    return strip_line_end(line);
}

std::string prompt_password(const std::string& prompt) {
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        throw CliError(ExitCode::auth,
                       "no terminal to ask for the password (use --password-stdin or password_command)");
    }
    termios old{};
    const bool is_tty = tcgetattr(fd, &old) == 0;
    if (is_tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    (void)!write(fd, prompt.data(), prompt.size());
    std::string line;
    char c;
    while (line.size() < kMaxPasswordLength && read(fd, &c, 1) == 1 && c != '\n') line += c;
    if (is_tty) tcsetattr(fd, TCSAFLUSH, &old);
    (void)!write(fd, "\n", 1);
    close(fd);
    return strip_line_end(line);
}

}  // namespace hikyaku::mailcli
