// pop3_client.cpp: one POP3 session (see pop3_client.h).
// Must never: log in without TLS when STLS was requested, print a password, grow a
// response past its bound.
#include "mailcli/pop3_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/text/base64.h"
#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

bool is_ok(std::string_view line) { return line == "+OK" || line.starts_with("+OK "); }

std::vector<std::string> capabilities(LineStream& s) {
    std::vector<std::string> caps;
    for (std::size_t n = 0;; ++n) {
        std::string line = s.read_line(kMaxPop3StatusLine);
        if (line == ".") return caps;
        if (n > 1000) throw CliError(ExitCode::protocol, "CAPA response too long");
        std::string up;
        for (char c : line) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        caps.push_back(std::move(up));
    }
}

bool has_cap(const std::vector<std::string>& caps, std::string_view prefix) {
    for (const auto& c : caps) {
        if (c == prefix || c.starts_with(std::string(prefix) + " ")) return true;
    }
    return false;
}

bool sasl_plain(const std::vector<std::string>& caps) {
    for (const auto& c : caps) {
        if (c.starts_with("SASL ") && (c + " ").find(" PLAIN ") != std::string::npos) return true;
    }
    return false;
}

// The lines of a body returned by multiline() (each ends with CRLF there), without the CRLFs.
std::vector<std::string_view> body_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = std::min(text.find("\r\n", pos), text.size());
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 2;
    }
    return lines;
}

}  // namespace

std::optional<Pop3Listing> parse_scan_line(std::string_view line) {
    Pop3Listing l;
    const char* end = line.data() + line.size();
    auto [p, ec] = std::from_chars(line.data(), end, l.number);
    if (ec != std::errc() || p == end || *p != ' ' || l.number == 0) return std::nullopt;
    ++p;
    auto [q, ec2] = std::from_chars(p, end, l.size);
    if (ec2 != std::errc() || (q != end && *q != ' ')) return std::nullopt;
    return l;
}

std::optional<Pop3Uid> parse_uid_line(std::string_view line) {
    Pop3Uid u;
    const char* end = line.data() + line.size();
    auto [p, ec] = std::from_chars(line.data(), end, u.number);
    if (ec != std::errc() || p == end || *p != ' ' || u.number == 0) return std::nullopt;
    std::string_view uid = line.substr(static_cast<std::size_t>(p - line.data()) + 1);
    // RFC 1939 7: 1 to 70 characters in the range 0x21 to 0x7E.
    if (uid.empty() || uid.size() > 70) return std::nullopt;
    for (unsigned char c : uid) {
        if (c < 0x21 || c > 0x7e) return std::nullopt;
    }
    u.uid = std::string(uid);
    return u;
}

std::string_view unstuff(std::string_view line) {
    if (line.size() > 1 && line[0] == '.') line.remove_prefix(1);
    return line;
}

Pop3Client::Pop3Client(const ServerSettings& settings) : settings_(settings) {
    if (settings_.user.empty()) throw CliError(ExitCode::usage, "POP3 needs a user (--user)");
    stream_ = std::make_unique<LineStream>(settings_.host, settings_.port, settings_.timeout,
                                           settings_.trace);
    LineStream& s = *stream_;
    if (settings_.tls == TlsMode::tls) s.start_tls(settings_.host, settings_.tls_options);
    std::string greeting = s.read_line(kMaxPop3StatusLine);
    if (!is_ok(greeting)) {
        throw CliError(ExitCode::protocol, "the server refused the connection: " + greeting.substr(0, 200));
    }
    s.write_line("CAPA");
    std::vector<std::string> caps;
    bool have_caps = is_ok(s.read_line(kMaxPop3StatusLine));
    if (have_caps) caps = capabilities(s);
    if (settings_.tls == TlsMode::starttls) {
        if (have_caps && !has_cap(caps, "STLS")) {
            throw CliError(ExitCode::tls, "the server does not offer STLS");
        }
        s.write_line("STLS");
        std::string r = s.read_line(kMaxPop3StatusLine);
        if (!is_ok(r)) throw CliError(ExitCode::tls, "STLS refused: " + r.substr(0, 200));
        s.start_tls(settings_.host, settings_.tls_options);
        s.write_line("CAPA");  // RFC 2595 4: capabilities may change after TLS
        have_caps = is_ok(s.read_line(kMaxPop3StatusLine));
        caps = have_caps ? capabilities(s) : std::vector<std::string>{};
    }
    const std::string password = settings_.password ? settings_.password() : std::string();
    std::string reply;
    if (have_caps && !has_cap(caps, "USER") && sasl_plain(caps)) {
        std::string message;
        message += '\0';
        message += settings_.user;
        message += '\0';
        message += password;
        s.write_line("AUTH PLAIN " + text::base64_encode(message), "AUTH PLAIN ****");
        reply = s.read_line(kMaxPop3StatusLine);
    } else {
        s.write_line("USER " + settings_.user);
        reply = s.read_line(kMaxPop3StatusLine);
        if (is_ok(reply)) {
            s.write_line("PASS " + password, "PASS ****");
            reply = s.read_line(kMaxPop3StatusLine);
        }
    }
    if (!is_ok(reply)) throw CliError(ExitCode::auth, "login failed: " + reply.substr(0, 200));
}

Pop3Client::~Pop3Client() = default;

std::string Pop3Client::status(std::string_view line, std::string_view trace_as) {
    stream_->write_line(line, trace_as);
    std::string reply = stream_->read_line(kMaxPop3StatusLine);
    if (is_ok(reply)) return reply;
    if (reply.starts_with("-ERR")) {
        throw CliError(ExitCode::protocol, std::string(line) + ": " + reply.substr(0, 200));
    }
    throw CliError(ExitCode::protocol, "not a POP3 status line: \"" + reply.substr(0, 80) + "\"");
}

std::string Pop3Client::multiline(std::size_t max_bytes) {
    std::string out;
    std::size_t lines = 0;
    for (;;) {
        std::string line = stream_->read_line(kMaxPop3DataLine, /*quiet=*/lines >= 40);
        if (line == ".") break;
        if (lines == 40) stream_->trace_server("[... more lines not shown]");
        ++lines;
        std::string_view data = unstuff(line);
        if (out.size() + data.size() + 2 > max_bytes) {
            throw CliError(ExitCode::protocol, "a response larger than " +
                                                   std::to_string(max_bytes) + " bytes");
        }
        out += data;
        out += "\r\n";
    }
    return out;
}

std::vector<Pop3Listing> Pop3Client::list() {
    status("LIST");
    std::vector<Pop3Listing> out;
    std::string text = multiline(kMaxPop3Message);
    for (std::string_view line : body_lines(text)) {
        auto l = parse_scan_line(line);
        if (!l) throw CliError(ExitCode::protocol, "malformed LIST line");
        out.push_back(*l);
    }
    return out;
}

std::vector<Pop3Uid> Pop3Client::uidl() {
    status("UIDL");
    std::vector<Pop3Uid> out;
    std::string text = multiline(kMaxPop3Message);
    for (std::string_view line : body_lines(text)) {
        auto u = parse_uid_line(line);
        if (!u) throw CliError(ExitCode::protocol, "malformed UIDL line");
        out.push_back(std::move(*u));
    }
    return out;
}

std::string Pop3Client::top(std::uint32_t number, std::uint32_t lines) {
    status("TOP " + std::to_string(number) + " " + std::to_string(lines));
    return multiline(kMaxPop3Message);
}

std::string Pop3Client::retr(std::uint32_t number) {
    status("RETR " + std::to_string(number));
    return multiline(kMaxPop3Message);
}

void Pop3Client::dele(std::uint32_t number) { status("DELE " + std::to_string(number)); }

void Pop3Client::quit() {
    if (quit_sent_) return;
    quit_sent_ = true;
    status("QUIT");
}

}  // namespace hikyaku::mailcli
