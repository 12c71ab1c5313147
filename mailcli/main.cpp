// main.cpp: mailcli, hikyaku's terminal client. The command line (CLI11), the account and
// flags merged into ServerSettings, and one function per subcommand: send (SMTP, and
// --save-sent over IMAP) and pop stat/list/uidl/top/read/save/fetch/delete (POP3); the imap
// commands are imap_commands.cpp's. Every failure ends here as one line on
// stderr and an exit code from errors.h; an unknown subcommand is named, with the nearest
// real one, before CLI11 parses anything (exit 2).
// Must never: take a password from argv, print one, or leave a message half-delivered into
// a Maildir.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common/mime/compose.h"
#include "hikyaku_version.h"
#include "mailcli/accounts.h"
#include "mailcli/attachments.h"
#include "mailcli/cli_context.h"
#include "mailcli/errors.h"
#include "mailcli/imap_commands.h"
#include "mailcli/output.h"
#include "mailcli/pop3_client.h"
#include "mailcli/pop3_download.h"
#include "mailcli/render.h"
#include "mailcli/smtp_client.h"

using namespace hikyaku;
using namespace hikyaku::mailcli;

namespace {

constexpr const char* kTemplateMarker = "-- Write your message above this line; everything from here on is removed. --";

std::string hostname_for_helo() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0 && std::strchr(buf, '.')) return buf;
    return "localhost";
}

std::string random_hex(std::size_t bytes) {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        unsigned v = rd() & 0xff;
        out += hex[v >> 4];
        out += hex[v & 15];
    }
    return out;
}

// The boundary is derived from the Message-ID and Date so that --dry-run with the same
// --message-id and --date prints exactly the bytes that are sent.
std::string boundary_for(const std::string& message_id, const std::string& date) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : message_id + "\n" + date) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[40];
    std::snprintf(buf, sizeof buf, "=_hikyaku_%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// ---- send ---------------------------------------------------------------------------------

struct SendOptions {
    std::vector<std::string> to, cc, bcc, attach;
    std::string subject, body_file, from, date, message_id;
    bool dry_run = false;
    bool save_sent = false;
};

std::string body_from_editor() {
    const char* editor = std::getenv("VISUAL");
    if (!editor || !*editor) editor = std::getenv("EDITOR");
    if (!editor || !*editor) editor = "vi";
    char path[] = "/tmp/mailcli-XXXXXX.txt";
    int fd = mkstemps(path, 4);
    if (fd < 0) throw CliError(ExitCode::failure, "cannot create a temporary file for the editor");
    const std::string tmpl = std::string("\n\n") + kTemplateMarker + "\n";
    (void)!write(fd, tmpl.data(), tmpl.size());
    close(fd);
    const std::string cmd = std::string(editor) + " '" + path + "'";
    int rc = std::system(cmd.c_str());
    std::ifstream in(path, std::ios::binary);
    std::string text = read_stream(in, "the message");
    unlink(path);
    if (rc != 0) throw CliError(ExitCode::failure, "the editor failed; nothing sent");
    if (auto pos = text.find(kTemplateMarker); pos != std::string::npos) text.resize(pos);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.empty()) throw CliError(ExitCode::failure, "empty message; nothing sent");
    return text + "\n";
}

int run_send(Context& ctx, const SendOptions& o) {
    if (o.to.empty() && o.cc.empty() && o.bcc.empty()) {
        throw CliError(ExitCode::usage, "send needs at least one recipient (--to, --cc or --bcc)");
    }
    mime::ComposeInput in;
    in.from = !o.from.empty()             ? o.from
              : !ctx.account.from.empty() ? ctx.account.from
              : !ctx.g.user.empty()       ? ctx.g.user
                                          : ctx.account.user;
    if (in.from.empty()) throw CliError(ExitCode::usage, "no sender: give --from or an account");
    in.to = o.to;
    in.cc = o.cc;
    in.subject = o.subject;
    in.date = !o.date.empty() ? o.date : mime::format_rfc5322_date(std::time(nullptr));
    const std::string from_spec = mime::address_spec(in.from);
    const std::size_t at = from_spec.rfind('@');
    const std::string id_domain = at == std::string::npos ? "localhost" : from_spec.substr(at + 1);
    in.message_id = !o.message_id.empty()
                        ? o.message_id
                        : "<" + std::to_string(std::time(nullptr)) + "." + random_hex(8) + "@" + id_domain + ">";
    in.boundary = boundary_for(in.message_id, in.date);
    in.user_agent = std::string("mailcli (hikyaku ") + HIKYAKU_VERSION + ")";

    if (!o.body_file.empty()) {
        std::ifstream f(o.body_file, std::ios::binary);
        if (!f) throw CliError(ExitCode::failure, "cannot read " + o.body_file);
        in.body = read_stream(f, o.body_file);
    } else if (!isatty(STDIN_FILENO)) {
        in.body = read_stream(std::cin, "the message on stdin");
    } else {
        in.body = body_from_editor();
    }
    for (const auto& path : o.attach) in.attachments.push_back(load_attachment(path));
    mime::ComposedMessage message = mime::compose_message(in);

    if (o.dry_run) {
        std::fwrite(message.bytes.data(), 1, message.bytes.size(), stdout);
        return 0;
    }
    SendRequest req;
    req.helo_name = hostname_for_helo();
    req.mail_from = from_spec;
    for (const auto* list : {&o.to, &o.cc, &o.bcc}) {
        for (const auto& a : *list) {
            std::string spec = mime::address_spec(a);
            if (spec.empty()) continue;
            req.recipients.push_back(spec);
        }
    }
    req.data = message.bytes;
    req.eight_bit = message.eight_bit;
    SendResult r = smtp_send(settings_for(ctx, Protocol::smtp), req);
    std::string saved_in;
    bool save_failed = false;
    if (o.save_sent && r.accepted > 0) {
        try {
            saved_in = save_sent(ctx, message.bytes);
        } catch (const CliError& e) {
            // The message is sent: say what did not work, and exit "partial".
            std::fprintf(stderr, "mailcli: sent, but not saved in Sent: %s\n", terminal_safe(e.what()).c_str());
            save_failed = true;
        }
    }
    if (ctx.g.json) {
        std::string out = "{\"message_id\":" + json_string(in.message_id) +
                          ",\"accepted\":" + std::to_string(r.accepted) + ",\"refused\":[";
        for (std::size_t i = 0; i < r.refused.size(); ++i) {
            if (i) out += ",";
            out += "{\"recipient\":" + json_string(r.refused[i].recipient) +
                   ",\"code\":" + std::to_string(r.refused[i].reply.code) +
                   ",\"text\":" + json_string(r.refused[i].reply.text()) + "}";
        }
        out += "],\"reply\":" + json_string(std::to_string(r.final_reply.code) + " " + r.final_reply.text());
        if (o.save_sent) out += ",\"saved_in\":" + (saved_in.empty() ? std::string("null") : json_string(saved_in));
        out += "}\n";
        std::fputs(out.c_str(), stdout);
    } else {
        std::printf("sent %s to %zu recipient%s: %d %s\n", in.message_id.c_str(), r.accepted,
                    r.accepted == 1 ? "" : "s", r.final_reply.code, terminal_safe(r.final_reply.text()).c_str());
        for (const auto& f : r.refused) {
            std::fprintf(stderr, "mailcli: recipient <%s> refused: %d %s\n", f.recipient.c_str(), f.reply.code,
                         terminal_safe(f.reply.text()).c_str());
        }
    }
    if (!saved_in.empty() && !ctx.g.json) std::printf("saved in %s\n", terminal_safe(saved_in).c_str());
    return r.refused.empty() && !save_failed ? 0 : static_cast<int>(ExitCode::partial);
}

// ---- pop ----------------------------------------------------------------------------------

std::uint32_t check_number(std::uint32_t n, const std::vector<Pop3Listing>& listing) {
    for (const auto& l : listing) {
        if (l.number == n) return n;
    }
    throw CliError(ExitCode::usage, "no message " + std::to_string(n) + " on the server");
}

int run_pop_list(Context& ctx) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    std::vector<Pop3Listing> listing = pop.list();
    std::vector<std::vector<std::string>> rows;
    std::string json = "[";
    for (const auto& l : listing) {
        std::string head = pop.top(l.number, 0);
        std::string date = header_text(head, "Date"), from = header_text(head, "From"),
                    subject = header_text(head, "Subject");
        rows.push_back({std::to_string(l.number), std::to_string(l.size), date, from, subject});
        if (json.size() > 1) json += ",";
        json += "{\"number\":" + std::to_string(l.number) + ",\"size\":" + std::to_string(l.size) +
                ",\"date\":" + json_string(date) + ",\"from\":" + json_string(from) +
                ",\"subject\":" + json_string(subject) + "}";
    }
    pop.quit();
    if (ctx.g.json) {
        std::printf("%s]\n", json.c_str());
    } else if (rows.empty()) {
        std::printf("no messages\n");
    } else {
        std::fputs(format_table({"#", "SIZE", "DATE", "FROM", "SUBJECT"}, rows, {true, true, false, false, false},
                                detect_style())
                       .c_str(),
                   stdout);
    }
    return 0;
}

int run_pop_stat(Context& ctx) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    const Pop3Drop drop = pop.stat();
    pop.quit();
    if (ctx.g.json) {
        std::printf("{\"messages\":%llu,\"octets\":%llu}\n", static_cast<unsigned long long>(drop.messages),
                    static_cast<unsigned long long>(drop.octets));
    } else {
        std::printf("%llu message%s, %llu bytes\n", static_cast<unsigned long long>(drop.messages),
                    drop.messages == 1 ? "" : "s", static_cast<unsigned long long>(drop.octets));
    }
    return 0;
}

int run_pop_uidl(Context& ctx) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    const std::vector<Pop3Uid> uids = pop.uidl();
    pop.quit();
    if (ctx.g.json) {
        std::string out = "[";
        for (const auto& u : uids) {
            if (out.size() > 1) out += ",";
            out += "{\"number\":" + std::to_string(u.number) + ",\"uid\":" + json_string(u.uid) + "}";
        }
        std::printf("%s]\n", out.c_str());
    } else if (uids.empty()) {
        std::printf("no messages\n");
    } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& u : uids) rows.push_back({std::to_string(u.number), u.uid});
        std::fputs(format_table({"#", "UID"}, rows, {true, false}, detect_style()).c_str(), stdout);
    }
    return 0;
}

int run_pop_top(Context& ctx, std::uint32_t n, std::uint32_t lines) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    check_number(n, pop.list());
    const std::string text = pop.top(n, lines);
    pop.quit();
    if (ctx.g.json) {
        std::printf("{\"number\":%u,\"lines\":%u,\"text\":%s}\n", n, lines, json_string(text).c_str());
    } else {
        std::fputs(terminal_safe(text).c_str(), stdout);
    }
    return 0;
}

int run_pop_read(Context& ctx, std::uint32_t n, bool raw) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    check_number(n, pop.list());
    std::string message = pop.retr(n);
    pop.quit();
    print_message(ctx, "number", n, message, raw);
    return 0;
}

int run_pop_save(Context& ctx, std::uint32_t n, const std::string& dir) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    check_number(n, pop.list());
    std::string message = pop.retr(n);
    pop.quit();
    save_attachments(ctx, dir, message, "message " + std::to_string(n));
    return 0;
}

int run_pop_fetch(Context& ctx, const std::string& dir, bool keep, unsigned connections) {
    PopFetchOptions options;
    options.settings = with_password_now(settings_for(ctx, Protocol::pop3));
    options.maildir = dir;
    options.keep = keep;
    options.connections = connections;
    options.progress = !ctx.g.json;
    const PopFetchResult r = fetch_maildrop(options);
    warn_failed_connections(r.download);
    if (ctx.g.json) {
        std::string files;
        for (const auto& f : r.files) files += (files.empty() ? "" : ",") + json_string(f);
        std::printf(
            "{\"fetched\":%zu,\"skipped\":%zu,\"deleted\":%zu,\"connections\":%u,"
            "\"failed_connections\":%u,\"files\":[%s]}\n",
            r.download.messages, r.skipped, r.deleted, r.connections, r.download.connections_failed, files.c_str());
    } else {
        std::printf("fetched %zu, skipped %zu already fetched, deleted %zu on the server\n", r.download.messages,
                    r.skipped, r.deleted);
    }
    return 0;
}

int run_pop_delete(Context& ctx, const std::vector<std::uint32_t>& numbers) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    std::vector<Pop3Listing> listing = pop.list();
    for (std::uint32_t n : numbers) check_number(n, listing);
    for (std::uint32_t n : numbers) pop.dele(n);
    pop.quit();
    if (ctx.g.json) std::printf("{\"deleted\":%zu}\n", numbers.size());
    else std::printf("deleted %zu message%s\n", numbers.size(), numbers.size() == 1 ? "" : "s");
    return 0;
}

// ---- the command line -----------------------------------------------------------------------

// Levenshtein distance of two short words, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Walks the command line as CLI11 will (options of a command and of its parents, values of
// options that take one) and returns "unknown command 'retr' (did you mean 'read'?)" for the
// first word where a command has subcommands and the word is none of them; empty when the
// line names only real commands. Run before parsing, so "pop retr --help" is an error too,
// not the help of "pop".
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
    CLI::App* command = &app;
    auto find_option = [&](const std::string& name) -> const CLI::Option* {
        for (CLI::App* c = command; c; c = c->get_parent()) {
            if (const CLI::Option* o = c->get_option_no_throw(name)) return o;
        }
        return nullptr;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--") return {};
        if (word.starts_with("-")) {
            if (word.find('=') != std::string::npos) continue;
            const CLI::Option* o = find_option(word);
            if (o && o->get_items_expected_max() > 0 && !o->get_positional()) ++i;  // its value
            continue;
        }
        const std::vector<CLI::App*> subcommands = command->get_subcommands([](CLI::App*) { return true; });
        if (subcommands.empty()) return {};  // a positional argument of a leaf command
        CLI::App* next = nullptr;
        std::string nearest;
        std::size_t best = std::string::npos;
        for (CLI::App* sub : subcommands) {
            if (sub->check_name(word)) next = sub;
            const std::size_t d = edit_distance(word, sub->get_name());
            if (d < best) {
                best = d;
                nearest = sub->get_name();
            }
        }
        if (!next) {
            std::string message = "unknown command '" + word + "'";
            if (best <= std::max<std::size_t>(2, word.size() / 2)) message += " (did you mean '" + nearest + "'?)";
            std::string names;
            for (CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();
            return message + "; " + (command == &app ? std::string("mailcli") : "mailcli " + command->get_name()) +
                   " knows " + names;
        }
        command = next;
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailcli: send mail over SMTP, read it over POP3 and IMAP"};
    app.set_version_flag("--version", std::string("mailcli (hikyaku) ") + HIKYAKU_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    // --help shows every default: the fixed ones as "=VALUE" (capture_default_str), the others
    // in words (where the value comes from when the option is not given).
    Context ctx;
    GlobalOptions& g = ctx.g;
    app.add_option("--accounts", g.accounts_path,
                   "accounts file (default: $XDG_CONFIG_HOME/hikyaku/mailcli.toml, else "
                   "~/.config/hikyaku/mailcli.toml; see mailcli(1))");
    app.add_option("--account", g.account,
                   "account name in the accounts file (default: the file's \"default\", or its only account)");
    app.add_option("--host", g.host, "server host name or address (default: the account's host)");
    app.add_option("--port", g.port,
                   "server port (default: the account's smtp_port/pop3_port/imap_port, else by --tls: SMTP 587, 465 "
                   "with tls, 25 with none; POP3 110, 995 with tls; IMAP 143, 993 with tls)")
        ->check(CLI::Range(1, 65535));
    app.add_option("--user", g.user, "user name to log in with (default: the account's user)");
    app.add_option("--tls", g.tls, "starttls, tls or none (default: the account's tls, else starttls)")
        ->check(CLI::IsMember({"starttls", "tls", "none"}));
    app.add_option("--ca", g.ca,
                   "trust this CA certificate (PEM) instead of the system store (default: the account's ca)");
    app.add_flag("--insecure", g.insecure, "do not verify the server's certificate");
    app.add_flag("--password-stdin", g.password_stdin,
                 "read the password from the first line of stdin (default: the account's password_command, "
                 "else a prompt on the terminal)");
    app.add_flag("--trace", g.trace, "print the protocol conversation on stderr (credentials masked)");
    app.add_flag("--json", g.json, "machine-readable output");
    app.add_option("--timeout", g.timeout,
                   "seconds to wait for the server: for a whole reply, and for each line of a message")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();

    SendOptions so;
    CLI::App* send = app.add_subcommand("send", "compose a message and send it over SMTP");
    send->add_option("--to", so.to, "recipient (repeatable)");
    send->add_option("--cc", so.cc, "copy recipient (repeatable)");
    send->add_option("--bcc", so.bcc, "blind copy recipient (repeatable, never in the headers)");
    send->add_option("--subject", so.subject, "subject (default: empty)");
    send->add_option("--attach", so.attach, "file to attach (repeatable)")->check(CLI::ExistingFile);
    send->add_option("--body-file", so.body_file, "message text (default: stdin, or $EDITOR on a terminal)");
    send->add_option("--from", so.from, "sender (default: the account's from, else its user)");
    send->add_option("--date", so.date, "Date header (default: now)");
    send->add_option("--message-id", so.message_id, "Message-ID header (default: generated)");
    send->add_flag("--dry-run", so.dry_run, "print the message instead of sending it");
    send->add_flag("--save-sent", so.save_sent,
                   "also store the sent message in the account's Sent mailbox over IMAP (same host and user)");

    CLI::App* pop = app.add_subcommand("pop", "read mail over POP3");
    pop->require_subcommand(1);
    std::uint32_t number = 0;
    CLI::App* pop_stat = pop->add_subcommand("stat", "number of messages and their total size");
    CLI::App* pop_list = pop->add_subcommand("list", "list messages: number, size, date, from, subject");
    CLI::App* pop_uidl = pop->add_subcommand("uidl", "list messages: number and unique id");
    std::uint32_t top_lines = 10;
    CLI::App* pop_top = pop->add_subcommand("top", "show a message's header and the first lines of its body");
    pop_top->add_option("N", number, "message number")->required();
    pop_top->add_option("LINES", top_lines, "lines of the body to show")->capture_default_str();
    bool raw = false;
    CLI::App* pop_read = pop->add_subcommand("read", "show one message");
    pop_read->add_option("N", number, "message number")->required();
    pop_read->add_flag("--raw", raw, "print the message as it is on the server");
    std::string attach_dir;
    CLI::App* pop_save = pop->add_subcommand("save", "save a message's attachments");
    pop_save->add_option("N", number, "message number")->required();
    pop_save->add_option("--attachments", attach_dir, "directory for the files")->required();
    std::string fetch_dir;
    bool keep = false;
    CLI::App* pop_fetch = pop->add_subcommand("fetch", "download every message into a Maildir");
    pop_fetch->add_option("--to", fetch_dir, "Maildir directory")->required();
    pop_fetch->add_flag("--keep", keep, "leave the messages on the server");
    unsigned pop_connections = 1;
    pop_fetch
        ->add_option("--connections", pop_connections,
                     "connections downloading in parallel (a server that locks the maildrop, as RFC 1939 8 "
                     "allows, admits one)")
        ->check(CLI::Range(1u, kMaxConnections))
        ->capture_default_str();
    std::vector<std::uint32_t> numbers;
    CLI::App* pop_delete = pop->add_subcommand("delete", "delete messages");
    pop_delete->add_option("N", numbers, "message numbers")->required();
    ImapCommands imap_commands(app, ctx);

    if (const std::string unknown = unknown_subcommand(app, argc, argv); !unknown.empty()) {
        std::fprintf(stderr, "mailcli: %s\n", terminal_safe(unknown).c_str());
        return static_cast<int>(ExitCode::usage);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string what = e.what();
        std::fprintf(stderr, "mailcli: %s (see --help)\n", what.c_str());
        return static_cast<int>(ExitCode::usage);
    }

    try {
        const bool explicit_path = !g.accounts_path.empty();
        const std::string path = explicit_path ? g.accounts_path : default_accounts_path();
        ctx.account = load_account(path, explicit_path, g.account);
        if (g.password_stdin) {
            // Read first: for send, the rest of stdin is the message.
            ctx.password_cache = read_password_stdin();
            ctx.have_password = true;
        }
        if (send->parsed()) return run_send(ctx, so);
        if (pop_stat->parsed()) return run_pop_stat(ctx);
        if (pop_list->parsed()) return run_pop_list(ctx);
        if (pop_uidl->parsed()) return run_pop_uidl(ctx);
        if (pop_top->parsed()) return run_pop_top(ctx, number, top_lines);
        if (pop_read->parsed()) return run_pop_read(ctx, number, raw);
        if (pop_save->parsed()) return run_pop_save(ctx, number, attach_dir);
        if (pop_fetch->parsed()) return run_pop_fetch(ctx, fetch_dir, keep, pop_connections);
        if (pop_delete->parsed()) return run_pop_delete(ctx, numbers);
        if (const std::optional<int> rc = imap_commands.run()) return *rc;
        throw CliError(ExitCode::usage, "no command");
    } catch (const CliError& e) {
        std::fprintf(stderr, "mailcli: %s\n", terminal_safe(e.what()).c_str());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailcli: %s\n", terminal_safe(e.what()).c_str());
        return static_cast<int>(ExitCode::failure);
    }
}
