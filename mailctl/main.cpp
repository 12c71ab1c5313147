// mailctl: the administrator's tool for the mailbox store (DESIGN "Interface contract").
//
//   mailctl -c CONF init
//   mailctl -c CONF domain add|del NAME | domain list [--json]
//   mailctl -c CONF user add ADDRESS [--password-stdin] [--quota SIZE]
//   mailctl -c CONF user del ADDRESS [--yes] | user passwd ADDRESS [--password-stdin]
//   mailctl -c CONF user quota ADDRESS SIZE [--messages N] | user list [DOMAIN] [--json]
//   mailctl -c CONF user import [FILE]      (FILE or "-"/absent: stdin; see user_import.h)
//   mailctl -c CONF pw [--password-stdin]   (prints the argon2id hash; store not opened)
//   mailctl -c CONF alias add ALIAS USER | alias del ALIAS [USER] | alias list [DOMAIN] [--json]
//   mailctl -c CONF mailbox list ADDRESS [--json]
//   mailctl -c CONF stats [--json]
//   mailctl -c CONF queue list [--json] | show ID [--json] | retry [ID] | delete ID | hold ID |
//                    release ID                 (the outbound queue: mailctl/queue_commands.h)
//
// Every change prints one line saying what it did ("added user alice@example.org (INBOX,
// Sent, Drafts, Trash, Junk)"); lists print one line per item, or with --json one JSON array
// (stats: one object). `init` creates the store's folder if missing and, run as root with
// [server] user set, hands the store's files and folders to that user (storage/store_files.h).
// `user del` deletes mail: it asks on the terminal first, and without a terminal it refuses
// unless --yes is given.
//
// Exit 0 on success; otherwise one line "mailctl: <what went wrong>" on stderr and a
// non-zero exit (1 refused or failed, 2 bad command line: an unknown command word is named,
// with the nearest known one and the list of valid ones). A bad line of an import list
// reads "mailctl: FILE:LINE: <reason>", and then no user of the list is added.
//
// Must never: take a password from argv (only a no-echo prompt or --password-stdin); echo
// or log a password; leave a change half-done (every store call is one transaction, and a
// password is read and confirmed before anything is written); delete a user's mail without
// a "yes" from the terminal or --yes.
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
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
#include "common/text/json.h"
#include "common/text/suggest.h"
#include "mailctl/queue_commands.h"
#include "mailctl/user_import.h"
#include "storage/message.h"
#include "storage/store.h"
#include "storage/store_files.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using hikyaku::mailctl::parse_count;
using hikyaku::mailctl::parse_size;
using hikyaku::text::json_string;

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

// "1 message", "2 messages", "0 mailboxes".
std::string count_of(std::uint64_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "INBOX, Sent, Drafts" from a list of names.
std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
}

// The controlling terminal, for prompts that must not read from a redirected stdin.
FILE* open_terminal() { return std::fopen("/dev/tty", "r+"); }

// Reads one line from a terminal with echo off.
Result<std::string> prompt_no_echo(const std::string& prompt) {
    FILE* tty = open_terminal();
    if (!tty) return make_error(Errc::invalid_argument, "no terminal to prompt for the password; use --password-stdin");
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

// Asks `question` on the terminal; true only for "y" or "yes". An error when there is no
// terminal: the caller refuses, since a script must say --yes.
Result<bool> confirm(const std::string& question) {
    FILE* tty = open_terminal();
    if (!tty) return make_error(Errc::invalid_argument, "no terminal to ask");
    std::fputs((question + " [y/N] ").c_str(), tty);
    std::fflush(tty);
    std::string answer;
    int c;
    while ((c = std::fgetc(tty)) != EOF && c != '\n') answer += static_cast<char>(std::tolower(c));
    std::fclose(tty);
    while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
    return answer == "y" || answer == "yes";
}

int fail(const std::string& message) {
    std::cerr << "mailctl: " << message << "\n";
    return kExitFailed;
}

int fail(const Error& error) { return fail(error.message); }

int usage_error(const std::string& message) {
    std::cerr << "mailctl: " << message << "\n";
    return kExitUsage;
}

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

// Words administrators reach for that mean one of our commands (checked before typos).
constexpr std::pair<const char*, const char*> kCommandSynonyms[] = {
    {"remove", "del"}, {"rm", "del"},     {"delete", "del"}, {"ls", "list"},
    {"show", "list"},  {"create", "add"}, {"new", "add"},    {"password", "passwd"},
};

// CLI11 reports a mistyped command word as "A subcommand is required", and a --help after
// it prints the parent's help with exit 0. Walks the command words first: the first word
// that names no command where one is expected is reported with the nearest command and the
// list of valid ones. Options are skipped; -c/--config takes the next word as its value.
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
    CLI::App* node = &app;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        std::string word = argv[i];
        if (word == "--") break;
        if (word == "-c" || word == "--config") {
            ++i;
            continue;
        }
        if (word.size() > 1 && word[0] == '-') continue;
        auto subcommands = node->get_subcommands([](CLI::App*) { return true; });
        if (subcommands.empty()) break;  // a leaf: the rest are its arguments
        std::vector<std::string> names;
        CLI::App* next = nullptr;
        for (auto* sub : subcommands) {
            names.push_back(sub->get_name());
            if (sub->get_name() == word) next = sub;
        }
        if (next) {
            node = next;
            path += (path.empty() ? "" : " ") + word;
            continue;
        }
        std::optional<std::string> nearest;
        for (const auto& [synonym, command] : kCommandSynonyms)
            if (word == synonym && std::find(names.begin(), names.end(), command) != names.end()) nearest = command;
        if (!nearest) nearest = text::nearest_word(word, names);
        std::string prefix = path.empty() ? "" : path + " ";
        std::string message = "unknown command '" + word + "'";
        if (nearest) message += "; did you mean '" + prefix + *nearest + "'?";
        message +=
            " (" + (path.empty() ? std::string("commands") : "commands of '" + path + "'") + ": " + joined(names) + ")";
        return message;
    }
    return std::nullopt;
}

struct Arguments {
    std::string config_path = "/etc/hikyaku/hikyaku.toml";
    std::string name;    // domain, address, alias
    std::string second;  // alias target, quota size
    std::string quota;
    std::string quota_messages;  // user quota --messages: a count, "" when not given
    bool password_stdin = false;
    bool json = false;
    bool yes = false;
};

// The service user of [server] user, for init's hand-over. Only root can hand files over.
struct ServiceUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

Result<std::optional<ServiceUser>> service_user_to_hand_over(const Config& config) {
    if (::geteuid() != 0 || config.server.user.empty()) return std::optional<ServiceUser>();
    const passwd* pw = ::getpwnam(config.server.user.c_str());
    if (!pw)
        return make_error(Errc::not_found, "[server] user '" + config.server.user +
                                               "' does not exist; create it first (adduser --system --group "
                                               "--home /var/lib/hikyaku " +
                                               config.server.user + ")");
    return std::optional<ServiceUser>(ServiceUser{pw->pw_name, pw->pw_uid, pw->pw_gid});
}

std::string mailbox_names(Store& store, UserId user) {
    auto boxes = store.list_mailboxes(user);
    if (!boxes) return "mailboxes unknown: " + boxes.error().message;
    // INBOX first, then the order add_user creates them in (the store lists by name).
    std::vector<std::string> names;
    for (const auto& b : *boxes)
        if (b.name == "INBOX") names.push_back(b.name);
    for (SpecialUse use : {SpecialUse::sent, SpecialUse::drafts, SpecialUse::trash, SpecialUse::junk,
                           SpecialUse::archive, SpecialUse::none})
        for (const auto& b : *boxes)
            if (b.special_use == use && b.name != "INBOX") names.push_back(b.name);
    return joined(names);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailctl: administer the hikyaku mailbox store (domains, users, aliases, mailboxes)"};
    app.set_version_flag("--version", std::string("mailctl (hikyaku) ") + HIKYAKU_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // "-c CONF" may also follow the subcommand
    Arguments args;
    app.add_option("-c,--config", args.config_path, "configuration file (TOML)")->capture_default_str();
    auto add_json = [&](CLI::App* list) {
        list->add_flag("--json", args.json, "print one JSON array (one object per line of the text output)");
    };

    auto* init = app.add_subcommand(
        "init", "create the store and its folder (or upgrade its schema); as root, hand it to [server] user");

    auto* domain = app.add_subcommand("domain", "local domains")->require_subcommand(1);
    auto* domain_add = domain->add_subcommand("add", "add a local domain");
    domain_add->add_option("NAME", args.name, "the domain, e.g. example.org")->required();
    auto* domain_del = domain->add_subcommand("del", "remove a local domain without users or aliases");
    domain_del->add_option("NAME", args.name, "the domain to remove")->required();
    auto* domain_list = domain->add_subcommand("list", "list local domains");
    add_json(domain_list);

    auto* user = app.add_subcommand("user", "users (mailbox owners)")->require_subcommand(1);
    auto* user_add = user->add_subcommand("add", "add a user with INBOX, Sent, Drafts, Trash, Junk");
    user_add->add_option("ADDRESS", args.name, "the new user's address, in a local domain")->required();
    user_add->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");
    user_add->add_option("--quota", args.quota, "quota: bytes, or with K/M/G; default from the configuration");
    auto* user_del = user->add_subcommand("del", "remove a user, their mailboxes and messages (asks first)");
    user_del->add_option("ADDRESS", args.name, "the user to remove, with all their mail")->required();
    user_del->add_flag("--yes", args.yes, "do not ask; needed without a terminal");
    auto* user_passwd = user->add_subcommand("passwd", "set a user's password");
    user_passwd->add_option("ADDRESS", args.name, "the user whose password to set")->required();
    user_passwd->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");
    auto* user_quota = user->add_subcommand("quota", "set a user's quota (0 = unlimited)");
    user_quota->add_option("ADDRESS", args.name, "the user whose quota to set")->required();
    user_quota->add_option("SIZE", args.second, "bytes, or with K/M/G; 0 = unlimited")->required();
    user_quota->add_option("--messages", args.quota_messages,
                           "also limit the number of messages (RFC 9208 MESSAGE); 0 = unlimited; "
                           "without it the message limit stays");
    auto* user_list = user->add_subcommand("list", "list users with usage and quota");
    user_list->add_option("DOMAIN", args.name, "only the users of this domain");
    add_json(user_list);
    auto* user_import =
        user->add_subcommand("import",
                             "add users with given password hashes, all or none: one 'ADDRESS HASH [QUOTA]' a line "
                             "(HASH from 'mailctl pw' or 'doveadm pw -s ARGON2ID'; # comments; at most 1000000 users)");
    user_import->add_option("FILE", args.name, "the list; '-' or absent: standard input");

    auto* alias = app.add_subcommand("alias", "aliases (an address delivering to users)")->require_subcommand(1);
    auto* alias_add = alias->add_subcommand("add", "make ALIAS deliver to USER too");
    alias_add->add_option("ALIAS", args.name, "the alias address, in a local domain")->required();
    alias_add->add_option("USER", args.second, "a user the alias delivers to")->required();
    auto* alias_del = alias->add_subcommand("del", "remove ALIAS, or only its target USER");
    alias_del->add_option("ALIAS", args.name, "the alias address")->required();
    alias_del->add_option("USER", args.second, "remove only this target (default: the whole alias)");
    auto* alias_list = alias->add_subcommand("list", "list aliases and their targets");
    alias_list->add_option("DOMAIN", args.name, "only the aliases of this domain");
    add_json(alias_list);

    auto* mailbox = app.add_subcommand("mailbox", "a user's mailboxes")->require_subcommand(1);
    auto* mailbox_list = mailbox->add_subcommand("list", "list a user's mailboxes with counts");
    mailbox_list->add_option("ADDRESS", args.name, "the user whose mailboxes to list")->required();
    add_json(mailbox_list);

    auto* stats = app.add_subcommand("stats", "counts and sizes of the store");
    stats->add_flag("--json", args.json, "print one JSON object");

    auto* index = app.add_subcommand(
        "index",
        "take messages stored before the full-text index existed into it (searches are right without, slower)");

    auto* pw =
        app.add_subcommand("pw", "print the argon2id hash of a password for 'user import' (the store is not opened)");
    pw->add_flag("--password-stdin", args.password_stdin, "read the password from the first line of stdin");

    mailctl::QueueCommands queue;
    mailctl::add_queue_commands(app, queue);

    if (auto unknown = unknown_command(app, argc, argv)) return usage_error(*unknown);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return usage_error(std::string(e.what()) + " (see mailctl --help)");
    }

    auto config = load_config(args.config_path);
    if (!config) return fail(config.error());

    StoreOptions options = storage::store_options(*config);
    options.create = init->parsed();

    // Read and check everything from the user before the store is touched.
    std::optional<std::uint64_t> quota;
    if (user_add->parsed() && !args.quota.empty()) {
        quota = parse_size(args.quota);
        if (!quota) return fail("bad quota '" + args.quota + "' (bytes, or a number with K, M or G)");
    }
    std::optional<std::uint64_t> quota_messages;
    if (user_quota->parsed()) {
        quota = parse_size(args.second);
        if (!quota) return fail("bad quota '" + args.second + "' (bytes, or a number with K, M or G)");
        if (user_quota->count("--messages") > 0) {
            quota_messages = parse_count(args.quota_messages);
            if (!quota_messages) return fail("bad message quota '" + args.quota_messages + "' (a number of messages)");
        }
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
    std::optional<ServiceUser> owner;
    bool created_folder = false;
    bool created_store = false;
    if (init->parsed()) {
        struct stat st {};
        created_store = ::stat(options.path.c_str(), &st) != 0;
        auto found = service_user_to_hand_over(*config);
        if (!found) return fail(found.error());
        owner = *found;
        auto created = create_store_folder(options.path);
        if (!created) return fail(created.error());
        created_folder = *created;
    }

    auto opened = open_store(options);
    if (!opened) return fail(opened.error());
    Store& store = **opened;

    if (queue.parsed()) return mailctl::run_queue_command(queue, store, std::cout, std::cerr);
    if (init->parsed()) {
        auto s = store.stats();
        if (!s) return fail(s.error());
        // Stores made before the modes of store_files.h were readable by everyone.
        if (auto r = restrict_store_modes(options.path); !r) return fail(r.error());
        std::string handed;
        if (owner) {
            if (auto r = hand_over_store(options.path, owner->uid, owner->gid, created_folder); !r)
                return fail(r.error());
            handed = ", owned by " + owner->name;
        }
        std::cout << (created_store ? "created store " : "store ") << options.path << (created_store ? "" : " ready")
                  << " (schema version " << s->schema_version << handed << ")\n";
        return 0;
    }
    if (domain_add->parsed()) {
        if (auto s = store.add_domain(args.name); !s) return fail(s.error());
        std::cout << "added domain " << normalize_address(args.name) << "\n";
        return 0;
    }
    if (domain_del->parsed()) {
        if (auto s = store.remove_domain(args.name); !s) return fail(s.error());
        std::cout << "removed domain " << normalize_address(args.name) << "\n";
        return 0;
    }
    if (domain_list->parsed()) {
        auto domains = store.list_domains();
        if (!domains) return fail(domains.error());
        std::string json;
        for (const auto& d : *domains) {
            if (!args.json) std::cout << d << "\n";
            json += (json.empty() ? "" : ",") + std::string("{\"domain\":") + json_string(d) + "}";
        }
        if (args.json) std::cout << "[" << json << "]\n";
        return 0;
    }
    if (user_add->parsed()) {
        auto u = store.add_user(args.name, password, quota.value_or(0));
        if (!u) return fail(u.error());
        std::cout << "added user " << u->address << " (" << mailbox_names(store, u->id) << ")"
                  << (u->quota_bytes ? ", quota " + human_size(u->quota_bytes) : std::string()) << "\n";
        return 0;
    }
    if (user_import->parsed()) {
        auto added = store.import_users(imports);
        if (!added) return fail(list_name(args.name) + ": " + added.error().message + "; nothing imported");
        std::cout << "imported " << count_of(added->size(), "user", "users") << "\n";
        return 0;
    }
    if (user_del->parsed()) {
        auto u = store.find_user(args.name);
        if (!u) return fail(u.error());
        auto usage = store.quota_usage(u->id);
        if (!usage) return fail(usage.error());
        auto boxes = store.list_mailboxes(u->id);
        if (!boxes) return fail(boxes.error());
        std::string what = count_of(usage->messages, "message", "messages") + " (" + human_size(usage->used_bytes) +
                           ") in " + count_of(boxes->size(), "mailbox", "mailboxes");
        if (!args.yes) {
            auto yes = confirm("Delete user " + u->address + " and their " + what + "?");
            if (!yes)
                return fail("user del " + u->address + " would delete " + what +
                            ": no terminal to ask, so nothing deleted; add --yes to delete");
            if (!*yes) return fail("nothing deleted");
        }
        if (auto s = store.remove_user(u->address); !s) return fail(s.error());
        std::cout << "removed user " << u->address << " and their " << what << "\n";
        return 0;
    }
    if (user_passwd->parsed()) {
        if (auto s = store.set_password(args.name, password); !s) return fail(s.error());
        std::cout << "changed the password of " << normalize_address(args.name) << "\n";
        return 0;
    }
    if (user_quota->parsed()) {
        if (auto s = store.set_quota(args.name, *quota, quota_messages); !s) return fail(s.error());
        std::cout << "set the quota of " << normalize_address(args.name) << " to "
                  << (*quota ? human_size(*quota) : std::string("unlimited"));
        if (quota_messages)
            std::cout << " and "
                      << (*quota_messages ? count_of(*quota_messages, "message", "messages")
                                          : std::string("unlimited messages"));
        std::cout << "\n";
        return 0;
    }
    if (user_list->parsed()) {
        auto users = store.list_users(args.name);
        if (!users) return fail(users.error());
        std::string json;
        for (const auto& u : *users) {
            auto usage = store.quota_usage(u.id);
            if (!usage) return fail(usage.error());
            // "3 messages", or with a message quota "3 of 100 messages".
            const std::string messages = u.quota_messages ? std::to_string(usage->messages) + " of " +
                                                                count_of(u.quota_messages, "message", "messages")
                                                          : count_of(usage->messages, "message", "messages");
            if (!args.json)
                std::cout << u.address << "  " << messages << "  " << human_size(usage->used_bytes) << " of "
                          << (u.quota_bytes ? human_size(u.quota_bytes) : std::string("unlimited")) << "\n";
            json += (json.empty() ? "" : ",") + std::string("{\"address\":") + json_string(u.address) +
                    ",\"messages\":" + std::to_string(usage->messages) +
                    ",\"used_bytes\":" + std::to_string(usage->used_bytes) +
                    ",\"quota_bytes\":" + std::to_string(u.quota_bytes) +
                    ",\"quota_messages\":" + std::to_string(u.quota_messages) + "}";
        }
        if (args.json) std::cout << "[" << json << "]\n";
        return 0;
    }
    if (alias_add->parsed()) {
        if (auto s = store.add_alias(args.name, args.second); !s) return fail(s.error());
        std::cout << "alias " << normalize_address(args.name) << " now delivers to " << normalize_address(args.second)
                  << "\n";
        return 0;
    }
    if (alias_del->parsed()) {
        if (auto s = store.remove_alias(args.name, args.second); !s) return fail(s.error());
        if (args.second.empty()) std::cout << "removed alias " << normalize_address(args.name) << "\n";
        else
            std::cout << "alias " << normalize_address(args.name) << " no longer delivers to "
                      << normalize_address(args.second) << "\n";
        return 0;
    }
    if (alias_list->parsed()) {
        auto aliases = store.list_aliases(args.name);
        if (!aliases) return fail(aliases.error());
        std::string json;
        for (const auto& a : *aliases) {
            std::string targets;
            if (!args.json) std::cout << a.address << " ->";
            for (const auto& t : a.targets) {
                if (!args.json) std::cout << " " << t;
                targets += (targets.empty() ? "" : ",") + json_string(t);
            }
            if (!args.json) std::cout << "\n";
            json += (json.empty() ? "" : ",") + std::string("{\"alias\":") + json_string(a.address) + ",\"targets\":[" +
                    targets + "]}";
        }
        if (args.json) std::cout << "[" << json << "]\n";
        return 0;
    }
    if (mailbox_list->parsed()) {
        auto u = store.find_user(args.name);
        if (!u) return fail(u.error());
        auto boxes = store.list_mailboxes(u->id);
        if (!boxes) return fail(boxes.error());
        std::string json;
        for (const auto& b : *boxes) {
            auto st = store.mailbox_status(b.id);
            if (!st) return fail(st.error());
            std::string use(special_use_attribute(b.special_use));
            if (!args.json)
                std::cout << b.name << "  " << count_of(st->messages, "message", "messages") << "  " << st->unseen
                          << " unseen  " << human_size(st->size) << "  uidvalidity " << b.uidvalidity << "  uidnext "
                          << b.uidnext << (use.empty() ? "" : "  " + use) << (b.subscribed ? "  subscribed" : "")
                          << "\n";
            json += (json.empty() ? "" : ",") + std::string("{\"name\":") + json_string(b.name) +
                    ",\"messages\":" + std::to_string(st->messages) + ",\"unseen\":" + std::to_string(st->unseen) +
                    ",\"size\":" + std::to_string(st->size) + ",\"uidvalidity\":" + std::to_string(b.uidvalidity) +
                    ",\"uidnext\":" + std::to_string(b.uidnext) + ",\"special_use\":" + json_string(use) +
                    ",\"subscribed\":" + (b.subscribed ? "true" : "false") + "}";
        }
        if (args.json) std::cout << "[" << json << "]\n";
        return 0;
    }
    if (index->parsed()) {
        // Batches of one transaction each: the daemons' writes interleave, and an interrupted
        // run keeps what it did.
        TextIndexProgress total;
        for (;;) {
            auto step = store.index_pending_text(200);
            if (!step) return fail(step.error());
            total.indexed += step->indexed;
            total.unindexable += step->unindexable;
            if (step->remaining == 0 || step->indexed + step->unindexable == 0) {
                total.remaining = step->remaining;
                break;
            }
            std::cerr << "indexed " << total.indexed << ", " << step->remaining << " to go\n";
        }
        std::cout << "indexed " << total.indexed << " message(s); " << total.unindexable
                  << " cannot be (no MIME structure, or more than " << (kMaxIndexedText >> 20)
                  << " MiB of text): searches read those\n";
        return 0;
    }
    if (stats->parsed()) {
        auto s = store.stats();
        if (!s) return fail(s.error());
        const std::pair<const char*, std::uint64_t> rows[] = {
            {"schema_version", s->schema_version},
            {"domains", s->domains},
            {"users", s->users},
            {"aliases", s->aliases},
            {"mailboxes", s->mailboxes},
            {"messages", s->messages},
            {"entries", s->entries},
            {"message_bytes", s->message_bytes},
            {"queued", s->queued},
            {"unindexed_pending", s->unindexed_pending},
            {"file_bytes", s->file_bytes},
        };
        std::string json;
        for (const auto& [name, value] : rows) {
            if (!args.json) std::cout << name << " " << value << "\n";
            json += (json.empty() ? "" : ",") + json_string(name) + ":" + std::to_string(value);
        }
        if (args.json) std::cout << "{" << json << "}\n";
        return 0;
    }
    return fail("no command given (see mailctl --help)");
}
