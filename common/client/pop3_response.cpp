// pop3_response.cpp: POP3 responses, client side (see pop3_response.h).
#include "common/client/pop3_response.h"

#include <algorithm>
#include <charconv>

#include "common/client/line_scan.h"
#include "common/text/address.h"

namespace hikyaku::client {

namespace {

constexpr std::size_t kBadLineShown = 80;

// Splits "TOKEN rest" at the first space.
std::string_view first_word(std::string_view s, std::string_view& rest) {
    const std::size_t sp = s.find(' ');
    rest = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
    return s.substr(0, sp);
}

}  // namespace

const char* to_string(Pop3Status status) {
    switch (status) {
        case Pop3Status::incomplete: return "incomplete";
        case Pop3Status::ok: return "+OK";
        case Pop3Status::err: return "-ERR";
        case Pop3Status::not_pop3: return "not a POP3 status line";
        case Pop3Status::line_too_long: return "line too long";
        case Pop3Status::body_too_large: return "response too large";
    }
    return "?";
}

std::optional<std::string_view> parse_status_line(std::string_view line, bool& ok) {
    for (const std::string_view indicator : {std::string_view("+OK"), std::string_view("-ERR")}) {
        if (!line.starts_with(indicator)) continue;
        std::string_view rest = line.substr(indicator.size());
        if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "+OKAY" is not "+OK"
        ok = indicator == "+OK";
        if (!rest.empty()) rest.remove_prefix(1);
        return rest;
    }
    return std::nullopt;
}

bool Pop3ResponseParser::take_status_line(std::string_view line) {
    bool ok = false;
    const auto text = parse_status_line(line, ok);
    if (!text) {
        status_ = Pop3Status::not_pop3;
        bad_line_ = std::string(line.substr(0, kBadLineShown));
        return false;
    }
    status_text_ = std::string(*text);
    if (!ok) status_ = Pop3Status::err;
    else if (body_mode_ == Pop3Body::none) status_ = Pop3Status::ok;
    else in_body_ = true;
    return !done();
}

bool Pop3ResponseParser::take_body_line(std::string_view line) {
    if (line == ".") {
        status_ = Pop3Status::ok;
        return false;
    }
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);  // RFC 1939 3 byte-stuffing
    if (body_octets_ + line.size() + 2 > limits_.max_body) {
        status_ = Pop3Status::body_too_large;
        return false;
    }
    body_octets_ += line.size() + 2;
    ++body_lines_;
    if (body_mode_ == Pop3Body::keep) {
        body_.append(line);
        body_.append("\r\n");
    }
    return true;
}

std::size_t Pop3ResponseParser::feed(std::string_view input) {
    if (done()) return 0;
    bool too_long = false;
    const std::size_t taken = take_lines(
        input, [this] { return in_body_ ? limits_.max_data_line : limits_.max_status_line; },
        [this](std::string_view line) { return in_body_ ? take_body_line(line) : take_status_line(line); }, too_long);
    if (too_long) status_ = Pop3Status::line_too_long;
    return taken;
}

std::string Pop3ResponseParser::error_message() const {
    switch (status_) {
        case Pop3Status::not_pop3: return "not a POP3 status line: \"" + bad_line_ + "\"";
        case Pop3Status::line_too_long:
            return "the server sent a line longer than " +
                   std::to_string(in_body_ ? limits_.max_data_line : limits_.max_status_line) + " bytes";
        case Pop3Status::body_too_large: return "a response larger than " + std::to_string(limits_.max_body) + " bytes";
        case Pop3Status::err: return "-ERR " + status_text_;
        case Pop3Status::incomplete:
        case Pop3Status::ok: break;
    }
    return {};
}

void Pop3ResponseParser::reset(Pop3Body body) {
    body_mode_ = body;
    status_ = Pop3Status::incomplete;
    in_body_ = false;
    status_text_.clear();
    body_.clear();
    body_octets_ = 0;
    body_lines_ = 0;
    bad_line_.clear();
}

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
    const std::string_view uid = line.substr(static_cast<std::size_t>(p - line.data()) + 1);
    if (uid.empty() || uid.size() > 70) return std::nullopt;
    for (unsigned char c : uid) {
        if (c < 0x21 || c > 0x7e) return std::nullopt;
    }
    u.uid = std::string(uid);
    return u;
}

std::optional<Pop3Drop> parse_drop_listing(std::string_view status_text) {
    Pop3Drop d;
    const char* end = status_text.data() + status_text.size();
    auto [p, ec] = std::from_chars(status_text.data(), end, d.messages);
    if (ec != std::errc() || p == end || *p != ' ') return std::nullopt;
    ++p;
    auto [q, ec2] = std::from_chars(p, end, d.octets);
    if (ec2 != std::errc() || (q != end && *q != ' ')) return std::nullopt;
    return d;
}

std::vector<std::string_view> body_lines(std::string_view body) {
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < body.size();) {
        const std::size_t end = std::min(body.find("\r\n", pos), body.size());
        lines.push_back(body.substr(pos, end - pos));
        pos = end + 2;
    }
    return lines;
}

bool has_capability(const std::vector<std::string_view>& capabilities, std::string_view name) {
    const std::string wanted = text::ascii_lowercase(name);
    for (std::string_view c : capabilities) {
        std::string_view rest;
        if (text::ascii_lowercase(first_word(c, rest)) == wanted) return true;
    }
    return false;
}

bool has_sasl_mechanism(const std::vector<std::string_view>& capabilities, std::string_view mechanism) {
    const std::string wanted = text::ascii_lowercase(mechanism);
    for (std::string_view c : capabilities) {
        std::string_view mechs;
        if (text::ascii_lowercase(first_word(c, mechs)) != "sasl") continue;
        while (!mechs.empty()) {
            std::string_view rest;
            if (text::ascii_lowercase(first_word(mechs, rest)) == wanted) return true;
            mechs = rest;
        }
    }
    return false;
}

}  // namespace hikyaku::client
