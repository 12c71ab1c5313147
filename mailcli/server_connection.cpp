// server_connection.cpp: mailcli's connection policy over the client stack (see
// server_connection.h).
// Must never: print a secret, wait past the timeout, or report a TLS port as anything else
// when the probe did not see TLS.
#include "mailcli/server_connection.h"

#include <algorithm>
#include <cstdio>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\r') continue;
        if (c < 0x20 && c != '\t') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// The --trace transcript: "C: " what mailcli sent, "S: " what the server sent, notes in
// brackets; of a message sent, the first kTraceDataLines lines.
void print_trace(net::TraceEvent event, std::string_view text) {
    switch (event) {
        case net::TraceEvent::sent: std::fprintf(stderr, "C: %s\n", printable(text).c_str()); return;
        case net::TraceEvent::received: std::fprintf(stderr, "S: %s\n", printable(text).c_str()); return;
        case net::TraceEvent::note: std::fprintf(stderr, "   [%s]\n", printable(text).c_str()); return;
        case net::TraceEvent::data: break;
    }
    std::size_t pos = 0, lines = 0;
    while (pos < text.size() && lines < kTraceDataLines) {
        std::size_t lf = text.find('\n', pos);
        if (lf == std::string_view::npos) lf = text.size();
        std::fprintf(stderr, "C: %s\n", printable(text.substr(pos, lf - pos)).c_str());
        pos = lf + 1;
        ++lines;
    }
    if (pos < text.size()) std::fprintf(stderr, "C: [... %zu more bytes not shown]\n", text.size() - pos);
}

ExitCode exit_code_of(net::NetErrc code) {
    switch (code) {
        case net::NetErrc::tls:
        case net::NetErrc::not_tls: return ExitCode::tls;
        case net::NetErrc::too_long: return ExitCode::protocol;
        case net::NetErrc::ok:
        case net::NetErrc::resolve:
        case net::NetErrc::connect:
        case net::NetErrc::timeout:
        case net::NetErrc::closed:
        case net::NetErrc::io: break;
    }
    return ExitCode::connection;
}

// "30", "2.5": seconds as a person writes them.
std::string seconds(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ms.count()) / 1000.0);
    std::string out = buf;
    if (out.ends_with(".0")) out.resize(out.size() - 2);
    return out;
}

// "an SMTP", "a POP3", "an IMAP": the article as the name is spoken.
std::string with_article(std::string_view protocol) {
    const bool vowel_sound = protocol.starts_with('S') || protocol.starts_with('I');
    return (vowel_sound ? "an " : "a ") + std::string(protocol);
}

}  // namespace

ServerConnection::ServerConnection(const ServerSettings& settings, client::ServerKind speaks)
    : settings_(settings), speaks_(speaks), client_(settings.timeout) {
    if (settings_.trace) client_.set_trace(print_trace);
    net::NetStatus status = client_.connect(settings_.host, settings_.port);
    if (!status) fail(status);
    if (settings_.tls == TlsMode::tls) start_tls();
}

void ServerConnection::fail(const net::NetStatus& status) const {
    std::string message = status.message;
    // "timed out waiting for ..." -> "timed out after 30 s waiting for ...": the reader
    // learns which bound it was.
    if (status.code == net::NetErrc::timeout && message.starts_with("timed out ")) {
        message.insert(10, "after " + seconds(settings_.timeout) + " s ");
    }
    if (status.code == net::NetErrc::not_tls) message += " (is it a STARTTLS port? try --tls starttls)";
    throw CliError(exit_code_of(status.code), message);
}

void ServerConnection::start_tls() {
    net::NetStatus status = client_.start_tls(settings_.tls_options, settings_.host);
    if (!status) fail(status);
}

bool ServerConnection::port_speaks_tls() const {
    net::BlockingClient probe(std::min(settings_.timeout, kTlsProbeTimeout));
    if (!probe.connect(settings_.host, settings_.port)) return false;
    // No verification: the question is only whether the server answers in TLS.
    net::ClientTlsOptions any;
    any.insecure = true;
    return probe.start_tls(any, settings_.host).ok();
}

void ServerConnection::await_greeting() {
    if (!client_.buffered().empty()) return;
    const auto start = net::ClientClock::now();
    const auto whole = start + settings_.timeout;
    const bool may_be_tls = settings_.tls != TlsMode::tls;
    const bool tls_port = may_be_tls && client::is_implicit_tls_port(settings_.port);
    net::NetStatus status = client_.fill(tls_port ? std::min(whole, start + kImplicitTlsPatience) : whole);
    if (status.code == net::NetErrc::timeout && may_be_tls) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(net::ClientClock::now() - start);
        client_.trace(net::TraceEvent::note, "no greeting after " + seconds(waited) +
                                                 " s: does the port expect TLS? (a second connection tries)");
        if (port_speaks_tls()) {
            throw CliError(ExitCode::tls, "no greeting from " + settings_.host + " port " +
                                              std::to_string(settings_.port) + " after " + seconds(waited) +
                                              " s: this port expects TLS: use --tls tls");
        }
        if (tls_port && net::ClientClock::now() < whole) status = client_.fill(whole);
    }
    if (!status) fail(status);
    if (client::classify_greeting(client_.buffered()) == client::ServerKind::tls) {
        throw CliError(ExitCode::tls, "the server speaks TLS on this port: use --tls tls");
    }
}

void ServerConnection::wrong_server(std::string_view first_line) const {
    const client::ServerKind kind = client::classify_greeting(first_line);
    if (kind == client::ServerKind::tls) {
        throw CliError(ExitCode::tls, "the server speaks TLS on this port: use --tls tls");
    }
    const std::string said = "\"" + std::string(first_line.substr(0, 80)) + "\"";
    const std::string expected = client::to_string(speaks_);
    if (kind != client::ServerKind::unknown && kind != speaks_) {
        throw CliError(ExitCode::protocol, "this is " + with_article(client::to_string(kind)) + " server, not " +
                                               expected + " (it said " + said + ")");
    }
    throw CliError(ExitCode::protocol, "not " + with_article(expected) + " server: it said " + said);
}

bool ServerConnection::wait_for_data(net::ClientClock::time_point deadline) {
    if (!client_.buffered().empty()) return true;
    const net::NetStatus status = client_.fill(deadline);
    if (status.code == net::NetErrc::timeout) return false;
    if (!status) fail(status);
    return true;
}

void ServerConnection::write_line(std::string_view line, std::string_view trace_as) {
    net::NetStatus status = client_.write_line(line, trace_as);
    if (!status) fail(status);
}

void ServerConnection::write_data(std::string_view bytes) {
    net::NetStatus status = client_.write(bytes);
    if (!status) fail(status);
}

}  // namespace hikyaku::mailcli
