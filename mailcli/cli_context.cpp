// cli_context.cpp: settings from flags and the account, and message output (see cli_context.h).
// Must never: print a password, or write an attachment outside the directory given.
#include "mailcli/cli_context.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "mailcli/errors.h"
#include "mailcli/maildir.h"
#include "mailcli/output.h"
#include "mailcli/render.h"

namespace hikyaku::mailcli {

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
    } else if (protocol == Protocol::imap && ctx.account.imap_port) {
        port = ctx.account.imap_port;
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

ServerSettings with_password_now(const ServerSettings& settings) {
    ServerSettings s = settings;
    const std::string password = settings.password ? settings.password() : std::string();
    s.password = [password] { return password; };
    return s;
}

void warn_failed_connections(const DownloadReport& report) {
    for (const auto& e : report.errors) {
        std::fprintf(stderr, "mailcli: a connection failed, others finished its work: %s\n", terminal_safe(e).c_str());
    }
}

void print_message(const Context& ctx, std::string_view key, std::uint64_t number, std::string_view message, bool raw) {
    if (raw) {
        std::fwrite(message.data(), 1, message.size(), stdout);
        return;
    }
    RenderedMessage r = render_message(message);
    if (!ctx.g.json) {
        std::fputs(format_rendered(r).c_str(), stdout);
        return;
    }
    std::string out = "{" + json_string(key) + ":" + std::to_string(number) + ",\"headers\":{";
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
}

void save_attachments(const Context& ctx, const std::string& dir, std::string_view message, const std::string& label) {
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
            json += "{\"path\":" + json_string(path) + ",\"content_type\":" + json_string(a.info.content_type) +
                    ",\"size\":" + std::to_string(a.data.size()) + "}";
        } else {
            std::printf("saved %s (%s, %zu bytes)\n", terminal_safe(path).c_str(), a.info.content_type.c_str(),
                        a.data.size());
        }
    }
    if (ctx.g.json) std::printf("%s]\n", json.c_str());
    else if (atts.empty()) std::printf("%s has no attachments\n", label.c_str());
}

std::string read_stream(std::istream& in, const std::string& what, std::size_t max_size) {
    std::string data;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        data.append(buf, static_cast<std::size_t>(in.gcount()));
        if (data.size() > max_size) {
            throw CliError(ExitCode::failure, what + " is larger than " + std::to_string(max_size >> 20) + " MB");
        }
    }
    return data;
}

std::string read_file(const std::string& path, std::size_t max_size) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError(ExitCode::failure, "cannot read " + path);
    return read_stream(in, path, max_size);
}

}  // namespace hikyaku::mailcli
