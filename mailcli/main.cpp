// main.cpp: mailcli, hikyaku's terminal client. The command line (CLI11), the account and
// flags merged into ServerSettings, and one function per subcommand: send (SMTP) and pop
// list/read/save/fetch/delete (POP3). Every failure ends here as one line on stderr and an
// exit code from errors.h.
// Must never: take a password from argv, print one, or leave a message half-delivered into
// a Maildir.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
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
#include "mailcli/errors.h"
#include "mailcli/maildir.h"
#include "mailcli/output.h"
#include "mailcli/pop3_client.h"
#include "mailcli/render.h"
#include "mailcli/smtp_client.h"

using namespace hikyaku;
using namespace hikyaku::mailcli;

namespace {

constexpr std::size_t kMaxBodySize = 64 * 1024 * 1024;
constexpr const char* kTemplateMarker =
    "-- Write your message above this line; everything from here on is removed. --";

struct GlobalOptions {
    std::string accounts_path;
    std::string account;
    std::string host, user, tls, ca;
    int port = 0;
    bool insecure = false, password_stdin = false, trace = false, json = false;
    int timeout = 30;
};

struct Context {
    GlobalOptions g;
    Account account;
    std::string password_cache;
    bool have_password = false;
};

std::string read_stream(std::istream& in, const std::string& what) {
    std::string data;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        data.append(buf, static_cast<std::size_t>(in.gcount()));
        if (data.size() > kMaxBodySize) throw CliError(ExitCode::failure, what + " is too large");
    }
    return data;
}

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

ServerSettings settings_for(Context& ctx, Protocol protocol) {
    ServerSettings s;
    const GlobalOptions& g = ctx.g;
    s.host = !g.host.empty() ? g.host : ctx.account.host;
    if (s.host.empty()) throw CliError(ExitCode::usage, "no server: give --host or an account");
    s.tls = !g.tls.empty() ? parse_tls_mode(g.tls) : ctx.account.tls;
    std::optional<std::uint16_t> port;
    if (g.port != 0) {
        port = static_cast<std::uint16_t>(g.port);
    } else if (protocol == Protocol::smtp && ctx.account.smtp_port) {
        port = ctx.account.smtp_port;
    } else if (protocol == Protocol::pop3 && ctx.account.pop3_port) {
        port = ctx.account.pop3_port;
    }
    s.port = port ? *port : default_port(protocol, s.tls);
    s.tls_options.ca_file = !g.ca.empty() ? g.ca : ctx.account.ca;
    s.tls_options.insecure = g.insecure || ctx.account.insecure;
    s.user = !g.user.empty() ? g.user : ctx.account.user;
    s.timeout = std::chrono::seconds(g.timeout);
    s.trace = g.trace;
    s.password = [&ctx, user = s.user, host = s.host]() {
        if (!ctx.have_password) {
            if (!ctx.account.password_command.empty()) {
                ctx.password_cache = run_password_command(ctx.account.password_command);
            } else {
                ctx.password_cache = prompt_password("Password for " + user + " at " + host + ": ");
            }
            ctx.have_password = true;
        }
        return ctx.password_cache;
    };
    return s;
}

// ---- send ---------------------------------------------------------------------------------

struct SendOptions {
    std::vector<std::string> to, cc, bcc, attach;
    std::string subject, body_file, from, date, message_id;
    bool dry_run = false;
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
    in.from = !o.from.empty() ? o.from : !ctx.account.from.empty() ? ctx.account.from
              : !ctx.g.user.empty() ? ctx.g.user : ctx.account.user;
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
    req.data = std::move(message.bytes);
    req.eight_bit = message.eight_bit;
    SendResult r = smtp_send(settings_for(ctx, Protocol::smtp), req);
    if (ctx.g.json) {
        std::string out = "{\"message_id\":" + json_string(in.message_id) +
                          ",\"accepted\":" + std::to_string(r.accepted) + ",\"refused\":[";
        for (std::size_t i = 0; i < r.refused.size(); ++i) {
            if (i) out += ",";
            out += "{\"recipient\":" + json_string(r.refused[i].recipient) +
                   ",\"code\":" + std::to_string(r.refused[i].reply.code) +
                   ",\"text\":" + json_string(r.refused[i].reply.text()) + "}";
        }
        out += "],\"reply\":" + json_string(std::to_string(r.final_reply.code) + " " + r.final_reply.text()) + "}\n";
        std::fputs(out.c_str(), stdout);
    } else {
        std::printf("sent %s to %zu recipient%s: %d %s\n", in.message_id.c_str(), r.accepted,
                    r.accepted == 1 ? "" : "s", r.final_reply.code,
                    terminal_safe(r.final_reply.text()).c_str());
        for (const auto& f : r.refused) {
            std::fprintf(stderr, "mailcli: recipient <%s> refused: %d %s\n", f.recipient.c_str(),
                         f.reply.code, terminal_safe(f.reply.text()).c_str());
        }
    }
    return r.refused.empty() ? 0 : static_cast<int>(ExitCode::partial);
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
        std::fputs(format_table({"#", "SIZE", "DATE", "FROM", "SUBJECT"}, rows,
                                {true, true, false, false, false}, detect_style())
                       .c_str(),
                   stdout);
    }
    return 0;
}

int run_pop_read(Context& ctx, std::uint32_t n, bool raw) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    check_number(n, pop.list());
    std::string message = pop.retr(n);
    pop.quit();
    if (raw) {
        std::fwrite(message.data(), 1, message.size(), stdout);
        return 0;
    }
    RenderedMessage r = render_message(message);
    if (ctx.g.json) {
        std::string out = "{\"number\":" + std::to_string(n) + ",\"headers\":{";
        for (std::size_t i = 0; i < r.headers.size(); ++i) {
            if (i) out += ",";
            out += json_string(r.headers[i].first) + ":" + json_string(r.headers[i].second);
        }
        out += "},\"body\":" + json_string(r.body) + ",\"attachments\":[";
        for (std::size_t i = 0; i < r.attachments.size(); ++i) {
            if (i) out += ",";
            out += "{\"filename\":" + json_string(r.attachments[i].filename) +
                   ",\"content_type\":" + json_string(r.attachments[i].content_type) +
                   ",\"size\":" + std::to_string(r.attachments[i].size) + "}";
        }
        out += "]}\n";
        std::fputs(out.c_str(), stdout);
    } else {
        std::fputs(format_rendered(r).c_str(), stdout);
    }
    return 0;
}

int run_pop_save(Context& ctx, std::uint32_t n, const std::string& dir) {
    Pop3Client pop(settings_for(ctx, Protocol::pop3));
    check_number(n, pop.list());
    std::string message = pop.retr(n);
    pop.quit();
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw CliError(ExitCode::failure, "cannot create " + dir);
    }
    std::vector<AttachmentData> atts = extract_attachments(message);
    std::string json = "[";
    std::size_t index = 0;
    for (const auto& a : atts) {
        ++index;
        std::string name = safe_filename(a.info.filename, "attachment-" + std::to_string(index));
        std::string path = write_new_file(dir, name, a.data);
        if (ctx.g.json) {
            if (json.size() > 1) json += ",";
            json += "{\"path\":" + json_string(path) + ",\"content_type\":" +
                    json_string(a.info.content_type) + ",\"size\":" + std::to_string(a.data.size()) + "}";
        } else {
            std::printf("saved %s (%s, %zu bytes)\n", terminal_safe(path).c_str(),
                        a.info.content_type.c_str(), a.data.size());
        }
    }
    if (ctx.g.json) std::printf("%s]\n", json.c_str());
    else if (atts.empty()) std::printf("message %u has no attachments\n", n);
    return 0;
}

int run_pop_fetch(Context& ctx, const std::string& dir, bool keep) {
    ServerSettings settings = settings_for(ctx, Protocol::pop3);
    Pop3Client pop(settings);
    maildir_create(dir);
    std::vector<Pop3Listing> listing = pop.list();
    std::vector<Pop3Uid> uids;
    bool have_uids = true;
    try {
        uids = pop.uidl();
    } catch (const CliError& e) {
        if (keep) throw CliError(ExitCode::protocol, std::string("fetch --keep needs UIDL: ") + e.what());
        have_uids = false;
    }
    const std::string key = settings.user + "@" + settings.host + ":" + std::to_string(settings.port);
    const std::string state = uid_state_path(dir);
    std::set<std::string> seen = have_uids ? load_uid_state(state, key) : std::set<std::string>{};
    std::map<std::uint32_t, std::string> uid_of;
    for (const auto& u : uids) uid_of[u.number] = u.uid;

    ProgressBar bar(listing.size(), !ctx.g.json);
    std::size_t fetched = 0, skipped = 0, deleted = 0, done = 0;
    std::string json_files;
    for (const auto& l : listing) {
        auto it = uid_of.find(l.number);
        const bool known = it != uid_of.end() && seen.count(it->second);
        if (known) {
            ++skipped;
        } else {
            std::string message = pop.retr(l.number);
            std::string path = maildir_deliver(dir, message);
            if (it != uid_of.end()) record_uid(state, key, it->second);
            ++fetched;
            if (!json_files.empty()) json_files += ",";
            json_files += json_string(path);
        }
        if (!keep) {
            pop.dele(l.number);
            ++deleted;
        }
        bar.update(++done, "message " + std::to_string(l.number));
    }
    pop.quit();
    bar.finish();
    if (ctx.g.json) {
        std::printf("{\"fetched\":%zu,\"skipped\":%zu,\"deleted\":%zu,\"files\":[%s]}\n", fetched,
                    skipped, deleted, json_files.c_str());
    } else {
        std::printf("fetched %zu, skipped %zu already fetched, deleted %zu on the server\n",
                    fetched, skipped, deleted);
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

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mailcli: send mail over SMTP and read it over POP3"};
    app.set_version_flag("--version", std::string("mailcli (hikyaku) ") + HIKYAKU_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    Context ctx;
    GlobalOptions& g = ctx.g;
    app.add_option("--accounts", g.accounts_path, "accounts file (default $XDG_CONFIG_HOME/hikyaku/mailcli.toml)");
    app.add_option("--account", g.account, "account name in the accounts file");
    app.add_option("--host", g.host, "server host name");
    app.add_option("--port", g.port, "server port")->check(CLI::Range(1, 65535));
    app.add_option("--user", g.user, "user name to log in with");
    app.add_option("--tls", g.tls, "starttls, tls or none")->check(CLI::IsMember({"starttls", "tls", "none"}));
    app.add_option("--ca", g.ca, "trust this CA certificate (PEM) instead of the system store");
    app.add_flag("--insecure", g.insecure, "do not verify the server's certificate");
    app.add_flag("--password-stdin", g.password_stdin, "read the password from the first line of stdin");
    app.add_flag("--trace", g.trace, "print the protocol conversation on stderr (credentials masked)");
    app.add_flag("--json", g.json, "machine-readable output");
    app.add_option("--timeout", g.timeout, "seconds to wait for the server")->check(CLI::Range(1, 3600));

    SendOptions so;
    CLI::App* send = app.add_subcommand("send", "compose a message and send it over SMTP");
    send->add_option("--to", so.to, "recipient (repeatable)");
    send->add_option("--cc", so.cc, "copy recipient (repeatable)");
    send->add_option("--bcc", so.bcc, "blind copy recipient (repeatable, never in the headers)");
    send->add_option("--subject", so.subject, "subject")->required();
    send->add_option("--attach", so.attach, "file to attach (repeatable)")->check(CLI::ExistingFile);
    send->add_option("--body-file", so.body_file, "message text (default: stdin, or $EDITOR)");
    send->add_option("--from", so.from, "sender (default: the account's from or user)");
    send->add_option("--date", so.date, "Date header (default: now)");
    send->add_option("--message-id", so.message_id, "Message-ID header (default: generated)");
    send->add_flag("--dry-run", so.dry_run, "print the message instead of sending it");

    CLI::App* pop = app.add_subcommand("pop", "read mail over POP3");
    pop->require_subcommand(1);
    CLI::App* pop_list = pop->add_subcommand("list", "list messages: number, size, date, from, subject");
    std::uint32_t number = 0;
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
    std::vector<std::uint32_t> numbers;
    CLI::App* pop_delete = pop->add_subcommand("delete", "delete messages");
    pop_delete->add_option("N", numbers, "message numbers")->required();

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
        if (pop_list->parsed()) return run_pop_list(ctx);
        if (pop_read->parsed()) return run_pop_read(ctx, number, raw);
        if (pop_save->parsed()) return run_pop_save(ctx, number, attach_dir);
        if (pop_fetch->parsed()) return run_pop_fetch(ctx, fetch_dir, keep);
        if (pop_delete->parsed()) return run_pop_delete(ctx, numbers);
        throw CliError(ExitCode::usage, "no command");
    } catch (const CliError& e) {
        std::fprintf(stderr, "mailcli: %s\n", terminal_safe(e.what()).c_str());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mailcli: %s\n", terminal_safe(e.what()).c_str());
        return static_cast<int>(ExitCode::failure);
    }
}
