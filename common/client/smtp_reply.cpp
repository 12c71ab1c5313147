// smtp_reply.cpp: SMTP replies and EHLO keywords, client side (see smtp_reply.h).
#include "common/client/smtp_reply.h"

#include <algorithm>

#include "common/client/line_scan.h"
#include "common/text/address.h"

namespace hikyaku::client {

namespace {

constexpr std::size_t kBadLineShown = 80;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The decimal value of a SIZE parameter (RFC 1870 4: 1*20DIGIT); 0 when absent or unusable.
std::size_t size_value(std::string_view digits) {
    if (digits.empty() || digits.size() > 18) return 0;
    std::size_t v = 0;
    for (char c : digits) {
        if (!is_digit(c)) return 0;
        v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    return v;
}

}  // namespace

const char* to_string(SmtpReplyStatus status) {
    switch (status) {
        case SmtpReplyStatus::incomplete: return "incomplete";
        case SmtpReplyStatus::complete: return "complete";
        case SmtpReplyStatus::not_a_reply: return "not an SMTP reply";
        case SmtpReplyStatus::mixed_codes: return "reply lines with different codes";
        case SmtpReplyStatus::line_too_long: return "line too long";
        case SmtpReplyStatus::too_many_lines: return "reply too long";
    }
    return "?";
}

std::string SmtpReply::text() const {
    std::string out;
    for (const auto& l : lines) {
        if (!out.empty()) out += ' ';
        out += l;
    }
    return out;
}

bool parse_reply_line(std::string_view line, int& code, bool& last, std::string_view& text) {
    if (line.size() < 3) return false;
    if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2])) return false;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        last = true;
        text = {};
        return true;
    }
    if (line[3] != ' ' && line[3] != '-') return false;
    last = line[3] == ' ';
    text = line.substr(4);
    return true;
}

bool SmtpReplyParser::take_line(std::string_view line) {
    int code = 0;
    bool last = false;
    std::string_view text;
    if (!parse_reply_line(line, code, last, text)) {
        status_ = SmtpReplyStatus::not_a_reply;
        bad_line_ = std::string(line.substr(0, kBadLineShown));
    } else if (!reply_.lines.empty() && code != reply_.code) {
        status_ = SmtpReplyStatus::mixed_codes;
        bad_line_ = std::string(line.substr(0, kBadLineShown));
    } else if (reply_.lines.size() == limits_.max_lines) {
        status_ = SmtpReplyStatus::too_many_lines;
    } else {
        reply_.code = code;
        reply_.lines.emplace_back(text);
        if (last) status_ = SmtpReplyStatus::complete;
    }
    return !done();
}

std::size_t SmtpReplyParser::feed(std::string_view input) {
    if (done()) return 0;
    bool too_long = false;
    const std::size_t taken = take_lines(
        input, [this] { return limits_.max_line; }, [this](std::string_view line) { return take_line(line); },
        too_long);
    if (too_long) status_ = SmtpReplyStatus::line_too_long;
    return taken;
}

std::string SmtpReplyParser::error_message() const {
    switch (status_) {
        case SmtpReplyStatus::not_a_reply: return "not an SMTP reply: \"" + bad_line_ + "\"";
        case SmtpReplyStatus::mixed_codes:
            return "reply lines with different codes (" + std::to_string(reply_.code) + ", then \"" + bad_line_ + "\")";
        case SmtpReplyStatus::line_too_long:
            return "the server sent a line longer than " + std::to_string(limits_.max_line) + " bytes";
        case SmtpReplyStatus::too_many_lines:
            return "a reply of more than " + std::to_string(limits_.max_lines) + " lines";
        case SmtpReplyStatus::incomplete:
        case SmtpReplyStatus::complete: break;
    }
    return {};
}

void SmtpReplyParser::reset() {
    status_ = SmtpReplyStatus::incomplete;
    reply_ = SmtpReply{};
    bad_line_.clear();
}

SmtpExtensions parse_ehlo(const SmtpReply& reply) {
    SmtpExtensions ext;
    // The first line is the server's greeting to us, not an extension (RFC 5321 4.1.1.1).
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string line = text::ascii_lowercase(reply.lines[i]);
        const std::string_view view(line);
        const std::size_t sp = view.find(' ');
        const std::string_view keyword = view.substr(0, sp);
        const std::string_view rest = sp == std::string_view::npos ? std::string_view() : view.substr(sp + 1);
        if (keyword == "starttls") ext.starttls = true;
        else if (keyword == "8bitmime") ext.eight_bit_mime = true;
        else if (keyword == "smtputf8") ext.smtputf8 = true;
        else if (keyword == "pipelining") ext.pipelining = true;
        else if (keyword == "chunking") ext.chunking = true;
        else if (keyword == "size") {
            ext.size = true;
            ext.size_limit = size_value(rest);
        } else if (keyword == "auth" || keyword.starts_with("auth=")) {
            // "AUTH=LOGIN PLAIN" is the pre-standard form some servers still send.
            std::string_view mechs = keyword == "auth" ? rest : view.substr(5);
            while (!mechs.empty()) {
                const std::size_t end = std::min(mechs.find(' '), mechs.size());
                const std::string_view m = mechs.substr(0, end);
                if (m == "plain") ext.auth_plain = true;
                if (m == "login") ext.auth_login = true;
                mechs.remove_prefix(std::min(end + 1, mechs.size()));
            }
        }
    }
    return ext;
}

}  // namespace hikyaku::client
