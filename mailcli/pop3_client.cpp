// pop3_client.cpp: one POP3 session (see pop3_client.h).
// Must never: log in without TLS when STLS was requested, print a password, grow a
// response past its bound.
#include "mailcli/pop3_client.h"

#include "common/text/base64.h"
#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

constexpr std::size_t kShownStatus = 200;

// The lines of a multi-line body as the trace shows them (the first kTraceDataLines).
void trace_body(const ServerConnection& s, const client::Pop3ResponseParser& p) {
    std::size_t shown = 0;
    for (std::string_view line : client::body_lines(p.body())) {
        if (shown == kTraceDataLines) break;
        s.trace_received(line.starts_with('.') ? "." + std::string(line) : std::string(line));
        ++shown;
    }
    if (p.body_lines() > shown) {
        s.trace_received("[... " + std::to_string(p.body_lines() - shown) + " more lines not shown]");
    }
    s.trace_received(".");
}

}  // namespace

const client::Pop3ResponseParser& Pop3Client::read_response(client::Pop3Body body) {
    parser_.reset(body);
    // A status line whole within the timeout; a body (a message of any size) line by line.
    if (body == client::Pop3Body::none) connection_->read_response(parser_);
    else connection_->read_long_response(parser_);
    if (connection_->tracing()) {
        const client::Pop3Status st = parser_.status();
        if (st == client::Pop3Status::ok || st == client::Pop3Status::err) {
            const std::string indicator = st == client::Pop3Status::ok ? "+OK" : "-ERR";
            connection_->trace_received(parser_.status_text().empty() ? indicator
                                                                      : indicator + " " + parser_.status_text());
            if (st == client::Pop3Status::ok && body != client::Pop3Body::none) trace_body(*connection_, parser_);
        } else if (!parser_.bad_line().empty()) {
            connection_->trace_received(parser_.bad_line());
        }
    }
    const client::Pop3Status st = parser_.status();
    if (st != client::Pop3Status::ok && st != client::Pop3Status::err && st != client::Pop3Status::not_pop3) {
        throw CliError(ExitCode::protocol, parser_.error_message());
    }
    return parser_;
}

const client::Pop3ResponseParser& Pop3Client::exchange(std::string_view line, client::Pop3Body body,
                                                       std::string_view trace_as) {
    connection_->write_line(line, trace_as);
    const auto& p = read_response(body);
    const std::string what(trace_as.empty() ? line : trace_as);
    if (p.status() == client::Pop3Status::err) {
        throw CliError(ExitCode::protocol, what + ": -ERR " + p.status_text().substr(0, kShownStatus));
    }
    if (p.status() == client::Pop3Status::not_pop3) {
        throw CliError(ExitCode::protocol, what + ": " + p.error_message());
    }
    return p;
}

Pop3Client::Pop3Client(const ServerSettings& settings) : settings_(settings) {
    if (settings_.user.empty()) throw CliError(ExitCode::usage, "POP3 needs a user (--user)");
    connection_ = std::make_unique<ServerConnection>(settings_, client::ServerKind::pop3);
    ServerConnection& s = *connection_;
    s.await_greeting();
    const auto& greeting = read_response(client::Pop3Body::none);
    if (greeting.status() == client::Pop3Status::not_pop3) s.wrong_server(greeting.bad_line());
    if (greeting.status() == client::Pop3Status::err) {
        throw CliError(ExitCode::protocol,
                       "the server refused the connection: -ERR " + greeting.status_text().substr(0, kShownStatus));
    }
    // RFC 2449: a server without CAPA answers -ERR; then USER/PASS is all we may assume.
    auto capabilities = [&]() -> std::vector<std::string> {
        s.write_line("CAPA");
        const auto& p = read_response(client::Pop3Body::keep);
        if (p.status() != client::Pop3Status::ok) return {};
        std::vector<std::string> caps;
        for (std::string_view c : client::body_lines(p.body())) caps.emplace_back(c);
        return caps;
    };
    std::vector<std::string> caps = capabilities();
    auto views = [](const std::vector<std::string>& v) { return std::vector<std::string_view>(v.begin(), v.end()); };
    if (settings_.tls == TlsMode::starttls) {
        if (!caps.empty() && !client::has_capability(views(caps), "STLS")) {
            throw CliError(ExitCode::tls, "the server does not offer STLS");
        }
        s.write_line("STLS");
        const auto& r = read_response(client::Pop3Body::none);
        if (r.status() != client::Pop3Status::ok) {
            throw CliError(ExitCode::tls, "STLS refused: " + (r.status() == client::Pop3Status::err
                                                                  ? "-ERR " + r.status_text().substr(0, kShownStatus)
                                                                  : r.error_message()));
        }
        s.start_tls();
        caps = capabilities();  // RFC 2595 4: capabilities may change after TLS
    }
    const std::string password = settings_.password ? settings_.password() : std::string();
    const bool sasl_only = !caps.empty() && !client::has_capability(views(caps), "USER") &&
                           client::has_sasl_mechanism(views(caps), "PLAIN");
    client::Pop3Status outcome;
    std::string why;
    if (sasl_only) {
        std::string message;
        message += '\0';
        message += settings_.user;
        message += '\0';
        message += password;
        s.write_line("AUTH PLAIN " + text::base64_encode(message), "AUTH PLAIN ****");
        const auto& r = read_response(client::Pop3Body::none);
        outcome = r.status();
        why = r.status() == client::Pop3Status::err ? "-ERR " + r.status_text() : r.error_message();
    } else {
        s.write_line("USER " + settings_.user);
        const auto& u = read_response(client::Pop3Body::none);
        outcome = u.status();
        why = u.status() == client::Pop3Status::err ? "-ERR " + u.status_text() : u.error_message();
        if (outcome == client::Pop3Status::ok) {
            s.write_line("PASS " + password, "PASS ****");
            const auto& p = read_response(client::Pop3Body::none);
            outcome = p.status();
            why = p.status() == client::Pop3Status::err ? "-ERR " + p.status_text() : p.error_message();
        }
    }
    if (outcome != client::Pop3Status::ok)
        throw CliError(ExitCode::auth, "login failed: " + why.substr(0, kShownStatus));
}

Pop3Client::~Pop3Client() = default;

Pop3Drop Pop3Client::stat() {
    const auto& p = exchange("STAT", client::Pop3Body::none);
    auto drop = client::parse_drop_listing(p.status_text());
    if (!drop)
        throw CliError(ExitCode::protocol, "malformed STAT reply: \"+OK " + p.status_text().substr(0, 80) + "\"");
    return *drop;
}

std::vector<Pop3Listing> Pop3Client::list() {
    const auto& p = exchange("LIST", client::Pop3Body::keep);
    std::vector<Pop3Listing> out;
    for (std::string_view line : client::body_lines(p.body())) {
        auto l = client::parse_scan_line(line);
        if (!l) throw CliError(ExitCode::protocol, "malformed LIST line: \"" + std::string(line.substr(0, 80)) + "\"");
        out.push_back(*l);
    }
    return out;
}

std::vector<Pop3Uid> Pop3Client::uidl() {
    const auto& p = exchange("UIDL", client::Pop3Body::keep);
    std::vector<Pop3Uid> out;
    for (std::string_view line : client::body_lines(p.body())) {
        auto u = client::parse_uid_line(line);
        if (!u) throw CliError(ExitCode::protocol, "malformed UIDL line: \"" + std::string(line.substr(0, 80)) + "\"");
        out.push_back(std::move(*u));
    }
    return out;
}

std::string Pop3Client::top(std::uint32_t number, std::uint32_t lines) {
    exchange("TOP " + std::to_string(number) + " " + std::to_string(lines), client::Pop3Body::keep);
    return parser_.take_body();
}

std::string Pop3Client::retr(std::uint32_t number) {
    exchange("RETR " + std::to_string(number), client::Pop3Body::keep);
    return parser_.take_body();
}

void Pop3Client::dele(std::uint32_t number) { exchange("DELE " + std::to_string(number), client::Pop3Body::none); }

void Pop3Client::quit() {
    if (quit_sent_) return;
    quit_sent_ = true;
    exchange("QUIT", client::Pop3Body::none);
}

}  // namespace hikyaku::mailcli
