// mailctl: the administrator's tool for the mailbox store (DESIGN "Interface contract").
//
//   mailctl -c CONF init
//   mailctl -c CONF domain add|del NAME | domain list
//   mailctl -c CONF user add ADDRESS [--password-stdin] [--quota SIZE]
//   mailctl -c CONF user del ADDRESS | user passwd ADDRESS [--password-stdin]
//   mailctl -c CONF user quota ADDRESS SIZE | user list [DOMAIN]
//   mailctl -c CONF user import [FILE]      (FILE or "-"/absent: stdin; see user_import.h)
//   mailctl -c CONF pw [--password-stdin]   (prints the argon2id hash; store not opened)
//   mailctl -c CONF alias add ALIAS USER | alias del ALIAS [USER] | alias list [DOMAIN]
//   mailctl -c CONF mailbox list ADDRESS
//   mailctl -c CONF stats
//
// Exit 0 on success; otherwise one line "mailctl: <what went wrong>" on stderr and a
// non-zero exit (1 refused or failed, 2 bad command line). A bad line of an import list
// reads "mailctl: FILE:LINE: <reason>", and then no user of the list is added.
//
// Must never: take a password from argv (only a no-echo prompt or --password-stdin); echo
// or log a password; leave a change half-done (every store call is one transaction, and a
// password is read and confirmed before anything is written).
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <hikyaku_version.h>

#include "common/config.h"
#include "mailctl/user_import.h"
#include "storage/store.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using hikyaku::mailctl::parse_size;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::string human_size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char out[32];
    std::snprintf(out, sizeof out, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return out;
}

// Reads one line from a terminal with echo off.
Result<std::string> prompt_no_echo(const std::string& prompt) {
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty)
        return make_error(Errc::invalid_argument, "no terminal to prompt for the password; use --password-stdin");
    int fd = ::fileno(tty);
    termios saved{};
    bool restore = ::tcgetattr(fd, &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::fputs(prompt.c_str(), tty);
    std::fflush(tty);
    std::string line;
    int c;
    bool got_any = false;
    while ((c = std::fgetc(tty)) != EOF && c != '\n') {
        got_any = true;
        line += static_cast<char>(c);
    }
    if (restore) ::tcsetattr(fd, TCSAFLUSH, &saved);
    std::fclose(tty);
    if (!got_any && c == EOF) return make_error(Errc::invalid_argument, "no password given");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// The password: the first line of stdin with --password-stdin, else typed twice at a
// no-echo prompt ("Password for ADDRESS: ", or "Password: " without an address).
Result<std::string> read_password(bool from_stdin, const std::string& address) {
    if (from_stdin) {
        std::string line;
        if (!std::getline(std::cin, line)) return make_error(Errc::invalid_argument, "no password on standard input");
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) return make_error(Errc::invalid_argument, "empty password on standard input");
        return line;
    }
    auto first = prompt_no_echo(address.empty() ? std::string("Password: ") : "Password for " + address + ": ");
    if (!first) return first;
    auto second = prompt_no_echo("Repeat the password: ");
    if (!second) return second;
    if (*first != *second) return make_error(Errc::invalid_argument, "the two passwords differ; nothing changed");
    return first;
}

int fail(const std::string& message) {
    std::cerr << "mailctl: " << message << "\n";
    return kExitFailed;
}

int fail(const Error& error) { return fail(error.message); }

// How errors name the user list of `user import`.
std::string list_name(const std::string& file) { return file.empty() || file == "-" ? "stdin" : file; }

// The user list of `user import`, read whole and checked before the store is opened.
Result<std::vector<UserImport>> read_import_list(const std::string& file) {
    if (file.empty() || file == "-") return mailctl::read_import(std::cin, list_name(file));
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) return make_error(Errc::invalid_argument, file + " is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(Errc::io_error, "cannot open " + file + ": " + std::strerror(errno));
    return mailctl::read_import(in, file);
}

struct Arguments {
    std::string config_path = "/etc/hikyaku/hikyaku.toml";
    std::string name;        // domain, address, alias
    std::string second;      // alias target, quota size
    std::string quota;
    bool password_stdin = false;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailctl: administer the hikyaku mailbox store (domains, users, aliases, mailboxes)"};
    app.set_version_flag("--version", std::string("mailctl (hikyaku) ") + HIKYAKU_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // "-c CONF" may also follow the subcommand
    Arguments args;
    app.add_option("-c,--config", args.config_path, "configuration file (TOML)")->capture_default_str();

    auto* init = app.add_subcommand("init", "create the store (or upgrade its schema)");

    auto* domain = app.add_subcommand("domain", "local domains")->require_subcommand(1);
    auto* domain_add = domain->add_subcommand("add", "add a local domain");
    domain_add->add_option("NAME", args.name)->required();
    auto* domain_del = domain->add_subcommand("del", "remove a local domain without users or aliases");
    domain_del->add_option("NAME", args.name)->required();
    auto* domain_list = domain->add_subcommand("list", "list local domains");

    auto* user = app.add_subcommand("user", "users (mailbox owners)")->require_subcommand(1);
    auto* user_add = user->add_subcommand("add", "add a user with INBOX, Sent, Drafts, Trash, Junk");
    user_add->add_option("ADDRESS", args.name)->required();
    user_add->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");
    user_add->add_option("--quota", args.quota, "quota: bytes, or with K/M/G; default from the configuration");
    auto* user_del = user->add_subcommand("del", "remove a user, their mailboxes and messages");
    user_del->add_option("ADDRESS", args.name)->required();
    auto* user_passwd = user->add_subcommand("passwd", "set a user's password");
    user_passwd->add_option("ADDRESS", args.name)->required();
    user_passwd->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");
    auto* user_quota = user->add_subcommand("quota", "set a user's quota (0 = unlimited)");
    user_quota->add_option("ADDRESS", args.name)->required();
    user_quota->add_option("SIZE", args.second, "bytes, or with K/M/G")->required();
    auto* user_list = user->add_subcommand("list", "list users with usage and quota");
    user_list->add_option("DOMAIN", args.name);
    auto* user_import = user->add_subcommand(
        "import", "add users with given password hashes, all or none: one 'ADDRESS HASH [QUOTA]' a line "
                  "(HASH from 'mailctl pw' or 'doveadm pw -s ARGON2ID'; # comments; at most 1000000 users)");
    user_import->add_option("FILE", args.name, "the list; '-' or absent: standard input");

    auto* alias = app.add_subcommand("alias", "aliases (an address delivering to users)")->require_subcommand(1);
    auto* alias_add = alias->add_subcommand("add", "make ALIAS deliver to USER too");
    alias_add->add_option("ALIAS", args.name)->required();
    alias_add->add_option("USER", args.second)->required();
    auto* alias_del = alias->add_subcommand("del", "remove ALIAS, or only its target USER");
    alias_del->add_option("ALIAS", args.name)->required();
    alias_del->add_option("USER", args.second);
    auto* alias_list = alias->add_subcommand("list", "list aliases and their targets");
    alias_list->add_option("DOMAIN", args.name);

    auto* mailbox = app.add_subcommand("mailbox", "a user's mailboxes")->require_subcommand(1);
    auto* mailbox_list = mailbox->add_subcommand("list", "list a user's mailboxes with counts");
    mailbox_list->add_option("ADDRESS", args.name)->required();

    auto* stats = app.add_subcommand("stats", "counts and sizes of the store");

    auto* pw = app.add_subcommand("pw", "print the argon2id hash of a password for 'user import' (the store is not opened)");
    pw->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "mailctl: " << e.what() << " (see mailctl --help)\n";
        return kExitUsage;
    }

    auto config = load_config(args.config_path);
    if (!config) return fail(config.error());

    StoreOptions options;
    options.path = config->storage.path;
    options.max_message_size = config->storage.max_message_size;
    options.default_quota = config->storage.default_quota;
    options.create = init->parsed();

    // Read and check everything from the user before the store is touched.
    std::optional<std::uint64_t> quota;
    if (user_add->parsed() && !args.quota.empty()) {
        quota = parse_size(args.quota);
        if (!quota) return fail("bad quota '" + args.quota + "' (bytes, or a number with K, M or G)");
    }
    if (user_quota->parsed()) {
        quota = parse_size(args.second);
        if (!quota) return fail("bad quota '" + args.second + "' (bytes, or a number with K, M or G)");
    }
    std::string password;
    if (pw->parsed()) {
        auto p = read_password(args.password_stdin, "");
        if (!p) return fail(p.error());
        auto hash = hash_password(*p, options);
        if (!hash) return fail(hash.error());
        std::cout << *hash << "\n";
        return 0;
    }
    std::vector<UserImport> imports;
    if (user_import->parsed()) {
        auto list = read_import_list(args.name);
        if (!list) return fail(list.error());
        imports = std::move(*list);
    }
    if (user_add->parsed() || user_passwd->parsed()) {
        auto address = normalize_address(args.name);
        if (auto s = validate_address(address); !s) return fail(s.error());
        auto p = read_password(args.password_stdin, address);
        if (!p) return fail(p.error());
        password = std::move(*p);
    }

    auto opened = open_store(options);
    if (!opened) return fail(opened.error());
    Store& store = **opened;

    if (init->parsed()) {
        auto s = store.stats();
        if (!s) return fail(s.error());
        std::cout << "store " << options.path << " ready (schema version " << s->schema_version << ")\n";
        return 0;
    }
    if (domain_add->parsed()) {
        if (auto s = store.add_domain(args.name); !s) return fail(s.error());
        return 0;
    }
    if (domain_del->parsed()) {
        if (auto s = store.remove_domain(args.name); !s) return fail(s.error());
        return 0;
    }
    if (domain_list->parsed()) {
        auto domains = store.list_domains();
        if (!domains) return fail(domains.error());
        for (const auto& d : *domains) std::cout << d << "\n";
        return 0;
    }
    if (user_add->parsed()) {
        auto u = store.add_user(args.name, password, quota.value_or(0));
        if (!u) return fail(u.error());
        return 0;
    }
    if (user_import->parsed()) {
        auto added = store.import_users(imports);
        if (!added) return fail(list_name(args.name) + ": " + added.error().message + "; nothing imported");
        std::cout << "imported " << added->size() << " users\n";
        return 0;
    }
    if (user_del->parsed()) {
        if (auto s = store.remove_user(args.name); !s) return fail(s.error());
        return 0;
    }
    if (user_passwd->parsed()) {
        if (auto s = store.set_password(args.name, password); !s) return fail(s.error());
        return 0;
    }
    if (user_quota->parsed()) {
        if (auto s = store.set_quota(args.name, *quota); !s) return fail(s.error());
        return 0;
    }
    if (user_list->parsed()) {
        auto users = store.list_users(args.name);
        if (!users) return fail(users.error());
        for (const auto& u : *users) {
            auto usage = store.quota_usage(u.id);
            if (!usage) return fail(usage.error());
            std::cout << u.address << "  " << usage->messages << " messages  " << human_size(usage->used_bytes)
                      << " of " << (u.quota_bytes ? human_size(u.quota_bytes) : std::string("unlimited")) << "\n";
        }
        return 0;
    }
    if (alias_add->parsed()) {
        if (auto s = store.add_alias(args.name, args.second); !s) return fail(s.error());
        return 0;
    }
    if (alias_del->parsed()) {
        if (auto s = store.remove_alias(args.name, args.second); !s) return fail(s.error());
        return 0;
    }
    if (alias_list->parsed()) {
        auto aliases = store.list_aliases(args.name);
        if (!aliases) return fail(aliases.error());
        for (const auto& a : *aliases) {
            std::cout << a.address << " ->";
            for (const auto& t : a.targets) std::cout << " " << t;
            std::cout << "\n";
        }
        return 0;
    }
    if (mailbox_list->parsed()) {
        auto u = store.find_user(args.name);
        if (!u) return fail(u.error());
        auto boxes = store.list_mailboxes(u->id);
        if (!boxes) return fail(boxes.error());
        for (const auto& b : *boxes) {
            auto st = store.mailbox_status(b.id);
            if (!st) return fail(st.error());
            std::string use(special_use_attribute(b.special_use));
            std::cout << b.name << "  " << st->messages << " messages  " << st->unseen << " unseen  "
                      << human_size(st->size) << "  uidvalidity " << b.uidvalidity << "  uidnext " << b.uidnext
                      << (use.empty() ? "" : "  " + use) << (b.subscribed ? "  subscribed" : "") << "\n";
        }
        return 0;
    }
    if (stats->parsed()) {
        auto s = store.stats();
        if (!s) return fail(s.error());
        std::cout << "schema_version " << s->schema_version << "\n"
                  << "domains " << s->domains << "\n"
                  << "users " << s->users << "\n"
                  << "aliases " << s->aliases << "\n"
                  << "mailboxes " << s->mailboxes << "\n"
                  << "messages " << s->messages << "\n"
                  << "entries " << s->entries << "\n"
                  << "message_bytes " << s->message_bytes << "\n"
                  << "file_bytes " << s->file_bytes << "\n";
        return 0;
    }
    return fail("no command given (see mailctl --help)");
}
